/* vqenc: compresses images, token files (integer .npy) and float arrays
 * into .vq files. */
#include "config.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/* Float input: pulses per gain step unless --pulses is given (the
 * rate-distortion hull of bench/pvq_rd.py uses 2 to 4 for blocks of 16 to
 * 64). */
#define DEFAULT_PULSES_PER_STEP 3.0f

static const char *prog = "vqenc";

/* Largest input read into memory. */
#define MAX_INPUT ((uint64_t)1 << 36)

static void usage(FILE *f) {
  fprintf(f,
"Usage: vqenc [options] IN.{png,jpg,ppm,pgm} -o OUT.vq\n"
"       vqenc [options] IN.npy -o OUT.vq\n"
"       vqenc --codebook CB [options] LATENT.npy -o OUT.vq\n"
"       vqenc --mode rvq [--stages S] [options] IMAGE -o OUT.vq\n"
"\n"
"An image (PNG, JPEG, PPM or PGM; 8 or 16 bits, gray, RGB, with or\n"
"without alpha) is coded lossily: YCbCr, 8 x 8 DCT, each band of\n"
"coefficients as a gain and a PVQ shape chosen by rate-distortion cost,\n"
"adaptive range coding. Alpha is kept losslessly; 16-bit samples are\n"
"rounded to 8 bits. vqdec writes the image back.\n"
"\n"
"With --codebook, a float .npy latent [C, H, W] (a batch [B, C, H, W];\n"
"--layout hwc for channels last) is quantized with the trained codebook\n"
"(vqtrain kmeans, rvq or pq) and its token planes are range-coded with\n"
"left, upper and per-stage context; the file names the codebook by its\n"
"SHA-256 (--embed-codebook stores it too). vqdec returns the float32\n"
"latent.\n"
"\n"
"Without it, a float .npy (float16, float32 or float64; weights, latents,\n"
"features) is quantized with gain-shape pyramid VQ: its last axis is cut into\n"
"blocks, each coded as a gain and the nearest PVQ codeword of K pulses.\n"
"vqdec returns a float32 .npy of the same shape.\n"
"\n"
"An integer .npy is a token file, of any shape (codebook\n"
"indices, for example), into a .vq file; vqdec restores the very same\n"
"bytes. Indices are entropy-coded with the model that gives the smallest\n"
"file: a frequency table sent in the stream, adaptive distributions,\n"
"adaptive distributions after 'same as the left / upper neighbour' flags\n"
"(the upper neighbour is one row of the last axis back), the same flags\n"
"then a frequency table, or adaptive distributions conditioned on the\n"
"left neighbour (alphabets up to 256).\n"
"\n"
"Options:\n"
"  -o, --output FILE  the .vq file to write (required)\n"
"\n"
"Image input:\n"
"  -q, --quality Q    0 (smallest) to 100 (best), default 75\n"
"  --size BYTES       search the quality for a file of this size\n"
"  --bpp X            search the quality for X bits per pixel\n"
"  --subsample S      420 or 444 (default: 420 below quality 90)\n"
"  --threads N        threads (default: all cores; the file is the same)\n"
"\n"
"Float input (PVQ):\n"
"  --block N          values per block along the last axis (default 32)\n"
"  --bits B           bits per value, gains included (default 2; sets the\n"
"                     gain step when --step is not given)\n"
"  --pulses-per-step A  a block whose gain is q steps gets round(A q)\n"
"                     pulses, so that loud and quiet blocks get the same\n"
"                     error (default 3)\n"
"  --pulses K         K pulses in every block instead (the gain step then\n"
"                     balanced against the shape error)\n"
"  --step S           gain step\n"
"  --beta B           gain companding exponent, >= 1 (default 1)\n"
"  --refine           refine the pulse search (blocks with N K <= 4096)\n"
"  --threads N        threads for the search (default: all cores)\n"
"\n"
"Image input, --mode rvq:\n"
"  --mode M           dct (default: the transform codec above) or rvq:\n"
"                     the image as 4 x 4 RGB patch tokens of a residual\n"
"                     codebook (the library's own, or --codebook CB\n"
"                     trained by vqtrain rvq --patch P), range-coded as\n"
"                     latents are\n"
"  --stages S         stages coded, 1 to the codebook's (quality; default\n"
"                     4, or from -q: 0 one stage, 100 all; for latents:\n"
"                     all)\n"
"  --codebook CB, --beam B, --embed-codebook: as for latents\n"
"\n"
"Latent input (with --codebook):\n"
"  --codebook CB      the codebook (.safetensors)\n"
"  --layout L         chw (default) or hwc\n"
"  --beam B           residual codebooks: beam width (default 1)\n"
"  --embed-codebook   store the codebook in the file\n"
"\n"
"Integer input (tokens):\n"
"  --alphabet K       token values lie in [0, K) (default: the range of\n"
"                     the data, negative values included)\n"
"  --model M          auto (default), static, adaptive, match,\n"
"                     match-static, match-recent, order1 or counts\n"
"  --json             print statistics as one JSON object on stdout\n"
"  --quiet            print nothing on success\n"
"  -v, --verbose      (accepted for symmetry with vqdec)\n"
"  -h, --help         this help\n"
"  --version          print the version\n"
"\n"
"Exit status: 0 success, 1 usage error, 2 bad input data, 3 I/O error.\n");
}

static int parse_model(const char *s, vq_entropy_model *m) {
  static const vq_entropy_model all[] = {VQ_ENTROPY_AUTO, VQ_ENTROPY_STATIC,
                                         VQ_ENTROPY_ADAPTIVE,
                                         VQ_ENTROPY_MATCH,
                                         VQ_ENTROPY_MATCH_STATIC,
                                         VQ_ENTROPY_ORDER1,
                                         VQ_ENTROPY_COUNTS,
                                         VQ_ENTROPY_MATCH_RECENT};
  size_t i;
  for (i = 0; i < sizeof all / sizeof *all; i++)
    if (!strcmp(s, vq_entropy_model_name(all[i]))) {
      *m = all[i];
      return 0;
    }
  cli_error(prog, "--model: expected auto, static, adaptive, match, "
            "match-static, match-recent, order1 or counts, got '%s'", s);
  return -1;
}

static void print_json(const char *in, const char *out,
                       const vq_tokenfile_stats *st, double seconds) {
  printf("{\"input\": ");
  cli_json_string(stdout, in);
  printf(", \"output\": ");
  cli_json_string(stdout, out);
  printf(", \"kind\": \"tokens\", \"tokens\": %llu, \"alphabet\": %lu, "
         "\"offset\": %lld, \"model\": \"%s\", \"rate\": %d, "
         "\"distinct\": %lu, \"input_bytes\": %zu, \"bytes\": %zu, "
         "\"payload_bytes\": %zu, \"bits_per_token\": %.6f, "
         "\"payload_bits_per_token\": %.6f, \"entropy_bits\": %.6f, "
         "\"seconds\": %.6f}\n",
         (unsigned long long)st->count, (unsigned long)st->alphabet,
         (long long)st->offset, vq_entropy_model_name(st->entropy.model),
         st->entropy.rate, (unsigned long)st->entropy.distinct,
         st->input_bytes, st->bytes, st->payload_bytes, st->bits_per_token,
         st->entropy.bits_per_symbol, st->entropy.entropy, seconds);
}

static void print_pvq_json(const char *in, const char *out,
                           const vq_pvq_stats *st, double seconds) {
  printf("{\"input\": ");
  cli_json_string(stdout, in);
  printf(", \"output\": ");
  cli_json_string(stdout, out);
  printf(", \"kind\": \"pvq\", \"pulses\": %lu, \"mean_pulses\": %.6g, "
         "\"step\": %.9g, \"blocks\": %llu, \"bytes\": %zu, \"bits_per_value\": %.6f, "
         "\"mse\": %.9g, \"snr_db\": %.4f, \"seconds\": %.6f}\n",
         (unsigned long)st->k, st->mean_k, st->step, (unsigned long long)st->blocks,
         st->bytes, st->bits_per_value, st->mse, st->snr_db, seconds);
}

static int encode_pvq(const char *in, const char *out,
                      const vq_pvq_params *p, int json, int quiet) {
  vq_diag diag = {{0}};
  vq_pvq_stats st;
  vq_array *a = NULL;
  uint8_t *vq = NULL;
  size_t vq_size;
  double t0 = cli_now();
  int rc = vq_npy_read(&a, in, VQ_DTYPE_F32, NULL, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, in);
  if (a->ndim < 1) {
    vq_array_destroy(a);
    cli_error(prog, "%s: a scalar has no axis to cut into blocks", in);
    return VQ_EXIT_DATA;
  }
  rc = vq_pvqfile_encode(&vq, &vq_size, &st, p, a->data, a->ndim, a->shape,
                         &diag);
  vq_array_destroy(a);
  if (rc < 0) {
    cli_error(prog, "%s: %s", in, diag.msg[0] ? diag.msg : vq_strerror(rc));
    return cli_exit_code(rc);
  }
  rc = cli_write_file(prog, out, vq, vq_size);
  vq_free(vq);
  if (rc) return rc;
  if (json) print_pvq_json(in, out, &st, cli_now() - t0);
  else if (!quiet)
    fprintf(stderr, "%s: %llu blocks of %u, %lu pulses: %zu bytes, %.4f "
            "bits/value, SNR %.2f dB\n", in, (unsigned long long)st.blocks,
            p->block, (unsigned long)st.k, st.bytes, st.bits_per_value,
            st.snr_db);
  return 0;
}

/* 1 when the .npy at path holds floating-point data. */
/* ---- latents ------------------------------------------------------------ */

typedef struct latent_opts {
  const char *codebook;
  int hwc, beam, embed, threads;
  int stages;          /* --stages (images, --mode rvq); 0: none */
} latent_opts;

/* The codebook at path, or the library's image codebook when path is
 * NULL: its file bytes (*file, to free, NULL for the library's), digest
 * and quantizer. Returns 0 or an exit status. */
static int load_book(const char *path, uint8_t **file, const uint8_t **bytes,
                     size_t *size, uint8_t *dig, vq_codebook **cb,
                     vq_quantizer **q) {
  vq_diag diag = {{0}};
  const char *name = path ? path : "the library's image codebook";
  int rc;
  *file = NULL;
  if (path) {
    if ((rc = cli_read_file(prog, path, (uint64_t)1 << 32, file, size)) != 0)
      return rc;
    *bytes = *file;
  } else {
    vq_default_image_codebook(bytes, size);
  }
  vq_sha256_digest(dig, *bytes, *size);
  if ((rc = vq_codebook_load_mem(cb, *bytes, *size, name, &diag)) < 0)
    return cli_fail(prog, rc, &diag, name);
  if ((rc = vq_quantizer_create(q, *cb, &diag)) < 0) {
    cli_error(prog, "%s: %s", name, diag.msg);
    return VQ_EXIT_DATA;
  }
  return 0;
}

static int encode_latent(const char *in, const char *out,
                         const latent_opts *lo, int json, int quiet) {
  vq_diag diag = {{0}};
  vq_latent_params p;
  vq_latent_stats st;
  vq_codebook *cb = NULL;
  vq_quantizer *q = NULL;
  vq_array *a = NULL;
  uint8_t *file = NULL, *vq = NULL, dig[32];
  size_t fsize = 0, size = 0;
  const uint8_t *bytes = NULL;
  double t0 = cli_now(), file_bits;
  int rc;
  if ((rc = load_book(lo->codebook, &file, &bytes, &fsize, dig, &cb, &q)))
    goto done;
  if ((rc = vq_npy_read(&a, in, VQ_DTYPE_F32, NULL, &diag)) < 0) {
    rc = cli_fail(prog, rc, &diag, in);
    goto done;
  }
  if (vq_latent_params_init(&p) < 0) {
    rc = VQ_EXIT_USAGE;
    goto done;
  }
  p.hwc = lo->hwc, p.beam = lo->beam, p.nthreads = lo->threads;
  p.stages = lo->stages;
  if (lo->stages > vq_quantizer_stages(q) ||
      (lo->stages && vq_quantizer_is_product(q))) {
    cli_error(prog, "--stages %d: %s has %d%s", lo->stages, lo->codebook,
              vq_quantizer_stages(q), vq_quantizer_is_product(q)
                  ? " sub-spaces, all needed" : "");
    rc = VQ_EXIT_USAGE;
    goto done;
  }
  p.codebook_sha256 = dig;
  p.codebook_name = strrchr(lo->codebook, '/') ? strrchr(lo->codebook, '/') + 1
                                               : lo->codebook;
  if (lo->embed) p.embed = file, p.embed_size = fsize;
  if (vq_quantizer_is_product(q) && lo->beam > 1) {
    cli_error(prog, "--beam: a product codebook codes each sub-space on its "
              "own");
    rc = VQ_EXIT_USAGE;
    goto done;
  }
  rc = vq_latent_encode(&vq, &size, NULL, &st, &p, q, a->data, a->ndim,
                        a->shape, &diag);
  if (rc < 0) {
    cli_error(prog, "%s: %s", in, diag.msg);
    rc = cli_exit_code(rc);
    goto done;
  }
  if ((rc = cli_write_file(prog, out, vq, size)) != 0) goto done;
  file_bits = st.tokens ? 8.0 * (double)st.bytes / (double)st.tokens : 0.0;
  if (json) {
    printf("{\"input\": ");
    cli_json_string(stdout, in);
    printf(", \"output\": ");
    cli_json_string(stdout, out);
    printf(", \"kind\": \"latent\", \"tokens\": %llu, \"bytes\": %zu, "
           "\"payload_bytes\": %zu, \"bits_per_token\": %.6f, "
           "\"payload_bits_per_token\": %.6f, \"log2k\": %.6f, \"mse\": "
           "%.10g, \"seconds\": %.6f}\n", (unsigned long long)st.tokens,
           st.bytes, st.payload_bytes, file_bits, st.bits_per_token, st.log2k,
           st.mse, cli_now() - t0);
  } else if (!quiet) {
    fprintf(stderr, "%s: %llu tokens -> %zu bytes, %.3f bits a token "
            "(log2 K = %.2f), mse %.6g\n", out,
            (unsigned long long)st.tokens, st.bytes, file_bits, st.log2k,
            st.mse);
  }
done:
  vq_free(vq);
  vq_array_destroy(a);
  vq_quantizer_destroy(q);
  vq_codebook_destroy(cb);
  free(file);
  return rc;
}

/* An image as RVQ patch tokens (--mode rvq): the first S stages of an
 * image codebook, by default the library's own; quality 0..100 picks S
 * when --stages is not given. */
static int encode_rvq_image(const char *in, const char *out,
                            const latent_opts *lo, double quality,
                            int json, int quiet) {
  vq_diag diag = {{0}};
  vq_latent_params p;
  vq_latent_stats st;
  vq_codebook *cb = NULL;
  vq_quantizer *q = NULL;
  vq_image *img = NULL, *dec = NULL;
  uint8_t *file = NULL, *vq = NULL, dig[32];
  const uint8_t *bytes = NULL;
  size_t fsize = 0, size = 0;
  double t0 = cli_now(), px, psnr = 0, psnr_y = 0, ssim = 0;
  int rc, stages, nstage;
  const char *name = lo->codebook;
  if ((rc = load_book(lo->codebook, &file, &bytes, &fsize, dig, &cb, &q)))
    goto done;
  nstage = vq_quantizer_stages(q);
  stages = lo->stages ? lo->stages
                      : quality >= 0.0
                            ? 1 + (int)(quality / 100.0 * (nstage - 1) + 0.5)
                            : nstage < 4 ? nstage : 4;
  if (stages > nstage) {
    cli_error(prog, "--stages %d: %s has %d", stages,
              name ? name : "the library's image codebook", nstage);
    rc = VQ_EXIT_USAGE;
    goto done;
  }
  if ((rc = vq_image_read(&img, in, 0, &diag)) < 0) {
    rc = cli_fail(prog, rc, &diag, in);
    goto done;
  }
  if (vq_latent_params_init(&p) < 0) {
    rc = VQ_EXIT_USAGE;
    goto done;
  }
  p.beam = lo->beam, p.nthreads = lo->threads, p.stages = stages;
  p.codebook_sha256 = dig;
  p.codebook_name = !name ? "libvq:default-rvq"
                          : strrchr(name, '/') ? strrchr(name, '/') + 1
                                               : name;
  if (lo->embed) p.embed = bytes, p.embed_size = fsize;
  rc = vq_latent_encode_image(&vq, &size, &st, &p, q, cb, img, &diag);
  /* the quality figures need a decode: skipped when nothing prints them */
  if (rc == 0 && (json || !quiet))
    rc = vq_latent_decode_image(&dec, q, vq, size, 0, lo->threads, out,
                                &diag);
  if (rc == 0 && dec) rc = vq_image_compare(img, dec, &psnr, &psnr_y, &ssim);
  if (rc < 0) {
    cli_error(prog, "%s: %s", in, diag.msg[0] ? diag.msg : vq_strerror(rc));
    rc = cli_exit_code(rc);
    goto done;
  }
  if ((rc = cli_write_file(prog, out, vq, size)) != 0) goto done;
  px = (double)img->width * img->height;
  if (json) {
    printf("{\"input\": ");
    cli_json_string(stdout, in);
    printf(", \"output\": ");
    cli_json_string(stdout, out);
    printf(", \"kind\": \"image\", \"mode\": \"rvq\", \"width\": %lu, "
           "\"height\": %lu, \"channels\": %d, \"stages\": %d, "
           "\"codebook_stages\": %d, \"k\": %lu, \"patch\": %d, "
           "\"tokens\": %llu, \"bytes\": %zu, \"bpp\": %.6f, "
           "\"bits_per_token\": %.6f, \"psnr\": %.4f, \"psnr_y\": %.4f, "
           "\"ssim\": %.6f, \"seconds\": %.6f}\n",
           (unsigned long)img->width, (unsigned long)img->height,
           img->channels, stages, nstage, (unsigned long)vq_quantizer_k(q),
           atoi(vq_codebook_meta(cb, "patch.size")),
           (unsigned long long)st.tokens, size, 8.0 * (double)size / px,
           8.0 * (double)size / (double)st.tokens, psnr, psnr_y, ssim,
           cli_now() - t0);
  } else if (!quiet) {
    fprintf(stderr, "%s: %lu x %lu, %d of %d stages: %zu bytes, %.4f bpp, "
            "PSNR %.2f dB (Y %.2f dB), SSIM %.4f\n", in,
            (unsigned long)img->width, (unsigned long)img->height, stages,
            nstage, size, 8.0 * (double)size / px, psnr, psnr_y, ssim);
  }
done:
  vq_free(vq);
  vq_image_destroy(img);
  vq_image_destroy(dec);
  vq_quantizer_destroy(q);
  vq_codebook_destroy(cb);
  free(file);
  return rc;
}

static int is_float_npy(const char *path) {
  vq_array *a = NULL;
  int f;
  if (vq_npy_read(&a, path, VQ_DTYPE_NONE, NULL, NULL) < 0) return 0;
  f = a->dtype == VQ_DTYPE_F16 || a->dtype == VQ_DTYPE_F32 ||
      a->dtype == VQ_DTYPE_F64 || a->dtype == VQ_DTYPE_BF16;
  vq_array_destroy(a);
  return f;
}

static int encode_tokens(const char *in, const char *out,
                         const vq_tokenfile_params *p, int json, int quiet) {
  vq_diag diag = {{0}};
  vq_tokenfile_stats st;
  uint8_t *buf, *vq = NULL;
  size_t size, vq_size;
  double t0 = cli_now();
  int rc = cli_read_file(prog, in, MAX_INPUT, &buf, &size);
  if (rc) return rc;
  rc = vq_tokenfile_encode(&vq, &vq_size, &st, p, buf, size, &diag);
  free(buf);
  if (rc < 0) return cli_fail(prog, rc, &diag, in);
  rc = cli_write_file(prog, out, vq, vq_size);
  vq_free(vq);
  if (rc) return rc;
  if (json) print_json(in, out, &st, cli_now() - t0);
  else if (!quiet)
    fprintf(stderr, "%s: %llu tokens, alphabet %lu: %zu -> %zu bytes, "
            "%.4f bits/token (order-0 entropy %.4f), %s model\n", in,
            (unsigned long long)st.count, (unsigned long)st.alphabet,
            st.input_bytes, st.bytes, st.bits_per_token,
            st.entropy.entropy, vq_entropy_model_name(st.entropy.model));
  return 0;
}

typedef struct image_opts {
  vq_image_enc_params p;
  uint64_t size;      /* target bytes, 0: none */
  double bpp;         /* target bits per pixel, 0: none */
} image_opts;

static int image_encode_at(const vq_image *img, vq_image_enc_params *p,
                           float quality, uint8_t **vq, size_t *size,
                           vq_diag *diag) {
  vq_free(*vq);
  *vq = NULL;
  p->quality = quality;
  return vq_image_encode(vq, size, img, p, diag);
}

/* Bisection on the quality for the largest file not above target; a
 * file within 3% under it ends the search early. */
static int image_encode_target(const vq_image *img, vq_image_enc_params *p,
                               uint64_t target, uint8_t **vq, size_t *size,
                               vq_diag *diag) {
  float lo = 0.0f, hi = 100.0f;
  uint8_t *best = NULL;
  size_t best_size = 0;
  int it, rc;
  float best_q = 0.0f;
  for (it = 0; it < 18; it++) {
    float q = it == 0 ? 0.0f : it == 1 ? 100.0f : 0.5f * (lo + hi);
    rc = image_encode_at(img, p, q, vq, size, diag);
    if (rc < 0) {
      vq_free(best);
      return rc;
    }
    if (*size <= target) {
      if (!best || *size > best_size) {
        vq_free(best);
        best = *vq, best_size = *size, best_q = q;
        *vq = NULL;
      }
      if (it == 1 || (double)*size >= 0.97 * (double)target) break;
      lo = q;
    } else {
      if (it == 0) break; /* even quality 0 is larger: keep it */
      hi = q;
    }
  }
  if (best) {
    vq_free(*vq);
    *vq = best, *size = best_size;
    p->quality = best_q;
  }
  return VQ_OK;
}

static int encode_image(const char *in, const char *out, image_opts *o,
                        int json, int quiet) {
  vq_diag diag = {{0}};
  vq_image *img = NULL, *dec = NULL;
  uint8_t *vq = NULL;
  size_t vq_size = 0;
  double t0 = cli_now(), seconds, psnr = 0, psnr_y = 0, ssim = 0, bpp, px;
  int rc = vq_image_read(&img, in, 0, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, in);
  px = (double)img->width * img->height;
  if (o->bpp > 0.0) {
    o->size = (uint64_t)(o->bpp * px / 8.0);
    if (o->size < 1) o->size = 1; /* the smallest file there is */
  }
  if (o->size) {
    rc = image_encode_target(img, &o->p, o->size, &vq, &vq_size, &diag);
  } else {
    rc = image_encode_at(img, &o->p, o->p.quality, &vq, &vq_size, &diag);
  }
  seconds = cli_now() - t0;
  /* the quality figures need a decode: skipped when nothing prints them */
  if (rc == VQ_OK && (json || !quiet))
    rc = vq_image_decode(&dec, vq, vq_size, 0, o->p.threads, out, &diag);
  if (rc == VQ_OK && dec)
    rc = vq_image_compare(img, dec, &psnr, &psnr_y, &ssim);
  vq_image_destroy(dec);
  if (rc < 0) {
    vq_image_destroy(img);
    vq_free(vq);
    cli_error(prog, "%s: %s", in, diag.msg[0] ? diag.msg : vq_strerror(rc));
    return cli_exit_code(rc);
  }
  rc = cli_write_file(prog, out, vq, vq_size);
  vq_free(vq);
  bpp = 8.0 * (double)vq_size / px;
  if (rc == 0 && json) {
    printf("{\"input\": ");
    cli_json_string(stdout, in);
    printf(", \"output\": ");
    cli_json_string(stdout, out);
    printf(", \"kind\": \"image\", \"width\": %lu, \"height\": %lu, "
           "\"channels\": %d, \"quality\": %.3f, \"bytes\": %zu, "
           "\"bpp\": %.6f, \"psnr\": %.4f, \"psnr_y\": %.4f, "
           "\"ssim\": %.6f, \"seconds\": %.6f}\n",
           (unsigned long)img->width, (unsigned long)img->height,
           img->channels, (double)o->p.quality, vq_size, bpp, psnr, psnr_y,
           ssim, seconds);
  } else if (rc == 0 && !quiet) {
    fprintf(stderr, "%s: %lu x %lu, quality %.1f: %zu bytes, %.4f bpp, "
            "PSNR %.2f dB (Y %.2f dB), SSIM %.4f\n", in,
            (unsigned long)img->width, (unsigned long)img->height,
            (double)o->p.quality, vq_size, bpp, psnr, psnr_y, ssim);
  }
  vq_image_destroy(img);
  return rc;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
    {"output", required_argument, 0, 'o'},
    {"alphabet", required_argument, 0, 'K'},
    {"model", required_argument, 0, 'M'},
    {"block", required_argument, 0, 'B'},
    {"pulses", required_argument, 0, 'P'},
    {"bits", required_argument, 0, 'b'},
    {"step", required_argument, 0, 'S'},
    {"beta", required_argument, 0, 'e'},
    {"pulses-per-step", required_argument, 0, 'A'},
    {"refine", no_argument, 0, 'R'},
    {"threads", required_argument, 0, 't'},
    {"quality", required_argument, 0, 'Q'},
    {"size", required_argument, 0, 'z'},
    {"bpp", required_argument, 0, 'p'},
    {"subsample", required_argument, 0, 's'},
    {"json", no_argument, 0, 'j'},
    {"codebook", required_argument, 0, 'C'},
    {"layout", required_argument, 0, 'L'},
    {"beam", required_argument, 0, 'W'},
    {"embed-codebook", no_argument, 0, 'E'},
    {"mode", required_argument, 0, 'D'},
    {"stages", required_argument, 0, 'G'},
    {"quiet", no_argument, 0, 'u'},
    {"verbose", no_argument, 0, 'v'},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, 'V'},
    {0, 0, 0, 0}
  };
  vq_tokenfile_params p;
  vq_pvq_params pp;
  image_opts io;
  latent_opts lo;
  const char *out = NULL;
  int c, json = 0, quiet = 0, kind, rvq = 0;
  uint64_t k;
  double v, quality = -1.0;
  memset(&io, 0, sizeof io);
  memset(&lo, 0, sizeof lo);
  lo.beam = 1;
  if (vq_tokenfile_params_init(&p) < 0 || vq_pvq_params_init(&pp) < 0 ||
      vq_image_enc_params_init(&io.p) < 0) {
    cli_error(prog, "library and header disagree (ABI)");
    return VQ_EXIT_USAGE;
  }
  while ((c = getopt_long(argc, argv, "o:q:vh", opts, NULL)) != -1) {
    switch (c) {
      case 'o': out = optarg; break;
      case 'K':
        if (cli_parse_u64(prog, "--alphabet", optarg, 1,
                          VQ_ENTROPY_MAX_ALPHABET, &k))
          return VQ_EXIT_USAGE;
        p.alphabet = (uint32_t)k;
        break;
      case 'M':
        if (parse_model(optarg, &p.model)) return VQ_EXIT_USAGE;
        break;
      case 'B':
        if (cli_parse_u64(prog, "--block", optarg, 1, VQ_PVQ_MAX_N, &k))
          return VQ_EXIT_USAGE;
        pp.block = (uint32_t)k;
        break;
      case 'P':
        if (cli_parse_u64(prog, "--pulses", optarg, 1, VQ_PVQ_MAX_K, &k))
          return VQ_EXIT_USAGE;
        pp.k = (uint32_t)k;
        break;
      case 'b':
        if (cli_parse_double(prog, "--bits", optarg, 0.001, 64.0, &v))
          return VQ_EXIT_USAGE;
        pp.bits = v;
        break;
      case 'S':
        if (cli_parse_double(prog, "--step", optarg, 1e-30, 1e30, &v))
          return VQ_EXIT_USAGE;
        pp.step = (float)v;
        break;
      case 'e':
        if (cli_parse_double(prog, "--beta", optarg, 1.0, 16.0, &v))
          return VQ_EXIT_USAGE;
        pp.beta = (float)v;
        break;
      case 'A':
        if (cli_parse_double(prog, "--pulses-per-step", optarg, 1e-3,
                             65536.0, &v))
          return VQ_EXIT_USAGE;
        pp.pulses_per_step = (float)v;
        break;
      case 'R': pp.flags |= VQ_PVQ_REFINE; break;
      case 't':
        if (cli_parse_int(prog, "--threads", optarg, 1, 1024, &pp.nthreads))
          return VQ_EXIT_USAGE;
        io.p.threads = lo.threads = pp.nthreads;
        break;
      case 'q': case 'Q':
        if (cli_parse_double(prog, "--quality", optarg, 0.0, 100.0, &v))
          return VQ_EXIT_USAGE;
        io.p.quality = (float)v;
        quality = v;
        break;
      case 'z':
        if (cli_parse_u64(prog, "--size", optarg, 1, (uint64_t)1 << 40,
                          &io.size))
          return VQ_EXIT_USAGE;
        break;
      case 'p':
        if (cli_parse_double(prog, "--bpp", optarg, 1e-6, 1000.0, &io.bpp))
          return VQ_EXIT_USAGE;
        break;
      case 's':
        if (strcmp(optarg, "420") && strcmp(optarg, "444")) {
          cli_error(prog, "--subsample: expected 420 or 444, got '%s'",
                    optarg);
          return VQ_EXIT_USAGE;
        }
        io.p.subsample = atoi(optarg);
        break;
      case 'j': json = 1; break;
      case 'C': lo.codebook = optarg; break;
      case 'L': {
        cli_layout lay;
        if (cli_parse_layout(prog, "--layout", optarg, 0, &lay))
          return VQ_EXIT_USAGE;
        lo.hwc = lay == CLI_LAYOUT_HWC;
        break;
      }
      case 'W':
        if (cli_parse_int(prog, "--beam", optarg, 1, VQ_RVQ_MAX_BEAM,
                          &lo.beam))
          return VQ_EXIT_USAGE;
        break;
      case 'E': lo.embed = 1; break;
      case 'D':
        if (strcmp(optarg, "dct") && strcmp(optarg, "rvq")) {
          cli_error(prog, "--mode: expected dct or rvq, got '%s'", optarg);
          return VQ_EXIT_USAGE;
        }
        rvq = !strcmp(optarg, "rvq");
        break;
      case 'G':
        if (cli_parse_int(prog, "--stages", optarg, 1, 256, &lo.stages))
          return VQ_EXIT_USAGE;
        break;
      case 'u': quiet = 1; break;
      case 'v': break;
      case 'h': usage(stdout); return 0;
      case 'V': cli_print_version(prog); return 0;
      default:
        fprintf(stderr, "Try 'vqenc --help'.\n");
        return VQ_EXIT_USAGE;
    }
  }
  if (optind + 1 != argc || !out) {
    usage(stderr);
    return VQ_EXIT_USAGE;
  }
  p.name = argv[optind];
  kind = cli_sniff(argv[optind]);
  if (kind == -1) {
    cli_error(prog, "%s: cannot read file", argv[optind]);
    return VQ_EXIT_IO;
  }
  if (kind == CLI_KIND_IMAGE && rvq)
    return encode_rvq_image(argv[optind], out, &lo, quality, json, quiet);
  if (rvq) {
    cli_error(prog, "%s: --mode rvq applies to images", argv[optind]);
    return VQ_EXIT_USAGE;
  }
  if (kind == CLI_KIND_IMAGE && (lo.codebook || lo.stages)) {
    cli_error(prog, "%s: --codebook and --stages code an image with --mode "
              "rvq", argv[optind]);
    return VQ_EXIT_USAGE;
  }
  if (lo.stages && !lo.codebook) {
    cli_error(prog, "%s: --stages applies to images (--mode rvq) and "
              "latents (--codebook)", argv[optind]);
    return VQ_EXIT_USAGE;
  }
  if (kind == CLI_KIND_IMAGE)
    return encode_image(argv[optind], out, &io, json, quiet);
  if (kind != CLI_KIND_NPY) {
    cli_error(prog, "%s: neither an image (PNG, JPEG, PPM, PGM) nor a .npy "
              "file", argv[optind]);
    return VQ_EXIT_DATA;
  }
  if (lo.codebook) {
    if (!is_float_npy(argv[optind])) {
      cli_error(prog, "%s: --codebook codes float latents; this .npy holds "
                "integers", argv[optind]);
      return VQ_EXIT_DATA;
    }
    return encode_latent(argv[optind], out, &lo, json, quiet);
  }
  if (pp.k && pp.pulses_per_step > 0.0f) {
    cli_error(prog, "--pulses and --pulses-per-step exclude each other");
    return VQ_EXIT_USAGE;
  }
  if (!pp.k && !(pp.pulses_per_step > 0.0f))
    pp.pulses_per_step = DEFAULT_PULSES_PER_STEP;
  if (is_float_npy(argv[optind]))
    return encode_pvq(argv[optind], out, &pp, json, quiet);
  return encode_tokens(argv[optind], out, &p, json, quiet);
}
