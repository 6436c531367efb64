/* vqdec: decodes .vq files. */
#include "config.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cli.h"

static const char *prog = "vqdec";

#define MAX_INPUT ((uint64_t)1 << 36)

static void usage(FILE *f) {
  fprintf(f,
"Usage: vqdec [options] IN.vq -o OUT.{png,ppm,pgm,jpg,npy}\n"
"\n"
"Decodes a .vq file. An image becomes a PNG, PPM, PGM or JPEG (quality\n"
"95) file, from the extension of OUT; a token file becomes the .npy it\n"
"was made from, byte for byte; a PVQ-coded float array becomes a\n"
"float32 .npy of its shape; a latent becomes its float32 .npy, decoded\n"
"with the codebook the file names (--codebook, else the one embedded in\n"
"the file, else the named file beside it or in the current folder).\n"
"Every length, dimension and checksum is verified before anything is\n"
"allocated or written; a damaged file is reported and no output is left\n"
"behind.\n"
"\n"
"Options:\n"
"  -o, --output FILE  the file to write (required)\n"
"  --compare REF      images: print PSNR and SSIM against the image REF\n"
"  --threads N        decoding threads (default: all cores)\n"
"  --codebook CB      latents: the codebook the file was coded with\n"
"  --stages S         latents: decode from the first S stages\n"
"  --max-memory MB    refuse files that would need more memory than this\n"
"                     (default 16384)\n"
"  --json             print statistics as one JSON object on stdout\n"
"  -q, --quiet        print nothing on success\n"
"  -v, --verbose      print a summary line on stderr (the default)\n"
"  -h, --help         this help\n"
"  --version          print the version\n"
"\n"
"Exit status: 0 success, 1 usage error, 2 bad input data, 3 I/O error.\n");
}

/* The stream kind, the first byte of HEAD, or -1 when the container does
 * not parse (the token decoder then says what is wrong with it). */
static int stream_kind(const uint8_t *b, size_t size) {
  vq_container *c = NULL;
  const vq_chunk *head;
  int kind = -1;
  if (vq_container_parse(&c, b, size, VQ_CONTAINER_LIST_BAD_CRC, NULL, NULL,
                         NULL) == VQ_OK &&
      (head = vq_container_find(c, "HEAD", 0)) != NULL)
    kind = head->data[0];
  vq_container_destroy(c);
  return kind;
}

/* The image extensions vq_image_write() knows, in any case. */
static int is_image_name(const char *path) {
  static const char *const ext[] = {".png", ".ppm", ".pgm", ".pnm", ".jpg",
                                    ".jpeg"};
  const char *dot = strrchr(path, '.');
  size_t i;
  if (!dot || strchr(dot, '/')) return 0;
  for (i = 0; i < sizeof ext / sizeof *ext; i++)
    if (!strcasecmp(dot, ext[i])) return 1;
  return 0;
}

/* Compares img, decoded from in, with the image file ref (when not
 * NULL), writes it to out and destroys it; *bytes is its sample count.
 * Returns 0 or an exit status. */
static int deliver_image(vq_image *img, const char *in, const char *out,
                         const char *ref, size_t *bytes, double *psnr,
                         double *psnr_y, double *ssim) {
  vq_diag diag = {{0}};
  vq_image *r = NULL;
  int rc = 0;
  *bytes = (size_t)img->width * img->height * (size_t)img->channels;
  if (ref && (rc = vq_image_read(&r, ref, 0, &diag)) < 0) {
    rc = cli_fail(prog, rc, &diag, ref);
  } else if (ref && (r->width != img->width || r->height != img->height)) {
    cli_error(prog, "%s: %lu x %lu, but %s is %lu x %lu", ref,
              (unsigned long)r->width, (unsigned long)r->height, in,
              (unsigned long)img->width, (unsigned long)img->height);
    rc = VQ_EXIT_DATA;
  } else if (ref && (rc = vq_image_compare(r, img, psnr, psnr_y, ssim)) < 0) {
    rc = cli_fail(prog, rc, NULL, ref);
  } else if ((rc = vq_image_write(img, out, &diag)) < 0) {
    rc = cli_fail(prog, rc, &diag, out);
  }
  vq_image_destroy(r);
  vq_image_destroy(img);
  return rc;
}

/* Decodes an image stream, writes it, and compares it with ref when
 * given. Returns 0 or an exit status. */
static int decode_image(const uint8_t *buf, size_t size, const char *in,
                        const char *out, const char *ref, int threads,
                        uint64_t max_pixels, size_t *bytes, double *psnr,
                        double *psnr_y, double *ssim) {
  vq_diag diag = {{0}};
  vq_image *img = NULL;
  int rc = vq_image_decode(&img, buf, size, max_pixels, threads, in, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, in);
  return deliver_image(img, in, out, ref, bytes, psnr, psnr_y, ssim);
}

/* Writes the image an RVQ image stream holds and compares it with ref
 * when given. Returns 0 or an exit status. */
static int decode_rvq_image(const vq_quantizer *q, const uint8_t *buf,
                            size_t size, const char *in, const char *out,
                            const char *ref, int use, int threads,
                            size_t *bytes, double *psnr, double *psnr_y,
                            double *ssim) {
  vq_diag diag = {{0}};
  vq_image *img = NULL;
  int rc = vq_latent_decode_image(&img, q, buf, size, use, threads, in,
                                  &diag);
  if (rc < 0) {
    cli_error(prog, "%s", diag.msg);
    return cli_exit_code(rc);
  }
  return deliver_image(img, in, out, ref, bytes, psnr, psnr_y, ssim);
}

/* A latent's codebook: --codebook, the embedded one, or the named file
 * beside the input or in the current folder; its SHA-256 must match. */
static int latent_codebook(vq_codebook **cb, const vq_latent_info *li,
                           const char *in, const char *cbpath) {
  vq_diag diag = {{0}};
  uint8_t *file = NULL, dig[32];
  size_t size = 0;
  char *beside = NULL, hex[65], want[65];
  const char *path = cbpath;
  int rc;
  vq_sha256_hex(want, li->sha256);
  if (!path && li->book) {
    vq_sha256_digest(dig, li->book, li->book_size);
    if (memcmp(dig, li->sha256, 32)) {
      cli_error(prog, "%s: its embedded codebook does not match its SHA-256",
                in);
      return VQ_EXIT_DATA;
    }
    rc = vq_codebook_load_mem(cb, li->book, li->book_size, in, &diag);
    return rc < 0 ? cli_fail(prog, rc, &diag, in) : 0;
  }
  if (!path) {
    const uint8_t *def;
    size_t def_size;
    vq_default_image_codebook(&def, &def_size);
    vq_sha256_digest(dig, def, def_size);
    if (!memcmp(dig, li->sha256, 32)) {
      rc = vq_codebook_load_mem(cb, def, def_size, "the library's image "
                                "codebook", &diag);
      return rc < 0 ? cli_fail(prog, rc, &diag, in) : 0;
    }
  }
  if (!path && li->name[0] && !strchr(li->name, '/') &&
      (beside = cli_beside(in, li->name)) != NULL) {
    if (cli_sniff(beside) == CLI_KIND_SAFETENSORS) path = beside;
    else if (cli_sniff(li->name) == CLI_KIND_SAFETENSORS) path = li->name;
  }
  if (!path) {
    cli_error(prog, "%s: decoding needs its codebook %s(SHA-256 %.16s...); "
              "give it with --codebook", in, li->name, want);
    free(beside);
    return VQ_EXIT_USAGE;
  }
  rc = cli_read_file(prog, path, (uint64_t)1 << 32, &file, &size);
  if (rc == 0) {
    vq_sha256_digest(dig, file, size);
    vq_sha256_hex(hex, dig);
    if (memcmp(dig, li->sha256, 32)) {
      cli_error(prog, "%s was coded with codebook %s (SHA-256 %.16s...), "
                "not with %s (SHA-256 %.16s...)", in, li->name, want, path,
                hex);
      rc = VQ_EXIT_DATA;
    } else if ((rc = vq_codebook_load_mem(cb, file, size, path, &diag)) < 0) {
      rc = cli_fail(prog, rc, &diag, path);
    }
  }
  free(file), free(beside);
  return rc;
}

static int decode_latent(const uint8_t *buf, size_t size, const char *in,
                         const char *out, const char *cbpath, int use,
                         int threads, uint64_t max_bytes, size_t *bytes,
                         const char *ref, double *psnr, double *psnr_y,
                         double *ssim, int *image) {
  vq_diag diag = {{0}};
  vq_latent_info li;
  vq_codebook *cb = NULL;
  vq_quantizer *q = NULL;
  float *x = NULL;
  uint64_t count = 1;
  int rc = vq_latent_info_read(&li, buf, size, in, &diag), a;
  if (rc < 0) return cli_fail(prog, rc, &diag, in);
  if (use && (li.product || use > li.stages)) {
    cli_error(prog, "--stages %d: %s has %s%d", use, in,
              li.product ? "a product codebook, which needs all " : "",
              li.stages);
    return VQ_EXIT_USAGE;
  }
  for (a = 0; a < li.ndim; a++) count *= li.shape[a]; /* checked: < 2^34 */
  *image = li.is_image;
  if (li.is_image != is_image_name(out)) {
    cli_error(prog, "%s holds %s: it decodes to %s, not %s", in,
              li.is_image ? "an image" : "a latent",
              li.is_image ? ".png, .ppm, .pgm, .pnm or .jpg" : ".npy", out);
    return VQ_EXIT_USAGE;
  }
  if (count > max_bytes / 8) {
    cli_error(prog, "%s: a latent of %llu values is over the memory limit",
              in, (unsigned long long)count);
    return VQ_EXIT_DATA;
  }
  if ((rc = latent_codebook(&cb, &li, in, cbpath)) != 0) return rc;
  if ((rc = vq_quantizer_create(&q, cb, &diag)) < 0) {
    cli_error(prog, "%s: %s", cbpath ? cbpath : in, diag.msg);
    rc = VQ_EXIT_DATA;
  } else if (li.is_image) {
    rc = decode_rvq_image(q, buf, size, in, out, ref, use, threads, bytes,
                          psnr, psnr_y, ssim);
  } else if (!(x = malloc((size_t)count * sizeof *x))) {
    rc = cli_fail(prog, VQ_ERR_NOMEM, NULL, in);
  } else if ((rc = vq_latent_decode(x, NULL, q, buf, size, use, threads, in,
                                    &diag)) < 0) {
    cli_error(prog, "%s", diag.msg);
    rc = cli_exit_code(rc);
  } else if ((rc = vq_npy_write(out, VQ_DTYPE_F32, li.ndim, li.shape, x,
                                &diag)) < 0) {
    rc = cli_fail(prog, rc, &diag, out);
  }
  if (!li.is_image) *bytes = (size_t)count * 4;
  free(x);
  vq_quantizer_destroy(q);
  vq_codebook_destroy(cb);
  return rc;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
    {"output", required_argument, 0, 'o'},
    {"max-memory", required_argument, 0, 'm'},
    {"compare", required_argument, 0, 'c'},
    {"threads", required_argument, 0, 't'},
    {"codebook", required_argument, 0, 'C'},
    {"stages", required_argument, 0, 's'},
    {"json", no_argument, 0, 'j'},
    {"quiet", no_argument, 0, 'q'},
    {"verbose", no_argument, 0, 'v'},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, 'V'},
    {0, 0, 0, 0}
  };
  vq_tokenfile_limits lim;
  vq_diag diag = {{0}};
  const char *out = NULL, *in;
  uint8_t *buf, *npy = NULL;
  size_t size, npy_size;
  uint64_t mb;
  double t0;
  const char *kind = "tokens", *ref = NULL, *cbpath = NULL;
  int c, json = 0, quiet = 0, rc, threads = 0, skind, use = 0;
  double psnr = -1.0, psnr_y = 0.0, ssim = 0.0;
  vq_tokenfile_limits_default(&lim);
  while ((c = getopt_long(argc, argv, "o:qvh", opts, NULL)) != -1) {
    switch (c) {
      case 'o': out = optarg; break;
      case 'm':
        if (cli_parse_u64(prog, "--max-memory", optarg, 1, (uint64_t)1 << 30,
                          &mb))
          return VQ_EXIT_USAGE;
        lim.max_bytes = mb << 20;
        break;
      case 'c': ref = optarg; break;
      case 'C': cbpath = optarg; break;
      case 's':
        if (cli_parse_int(prog, "--stages", optarg, 1, 256, &use))
          return VQ_EXIT_USAGE;
        break;
      case 't':
        if (cli_parse_int(prog, "--threads", optarg, 1, 1024, &threads))
          return VQ_EXIT_USAGE;
        break;
      case 'j': json = 1; break;
      case 'q': quiet = 1; break;
      case 'v': quiet = 0; break;
      case 'h': usage(stdout); return 0;
      case 'V': cli_print_version(prog); return 0;
      default:
        fprintf(stderr, "Try 'vqdec --help'.\n");
        return VQ_EXIT_USAGE;
    }
  }
  if (optind + 1 != argc || !out) {
    usage(stderr);
    return VQ_EXIT_USAGE;
  }
  in = argv[optind];
  t0 = cli_now();
  if ((rc = cli_read_file(prog, in, MAX_INPUT, &buf, &size)) != 0) return rc;
  skind = stream_kind(buf, size);
  /* a container too damaged to name its kind: the image decoder says
     what is wrong with it when an image was asked for */
  if (skind == VQ_KIND_IMAGE || (skind < 0 && is_image_name(out))) {
    if (!is_image_name(out)) {
      free(buf);
      cli_error(prog, "%s: an image decodes to .png, .ppm, .pgm, .pnm or "
                ".jpg", out);
      return VQ_EXIT_USAGE;
    }
    /* decoding holds about 20 bytes per pixel */
    uint64_t max_px = lim.max_bytes / 20 < VQ_IMAGE_MAX_PIXELS
                          ? lim.max_bytes / 20 : VQ_IMAGE_MAX_PIXELS;
    rc = decode_image(buf, size, in, out, ref, threads, max_px,
                      &npy_size, &psnr, &psnr_y, &ssim);
    free(buf);
    if (rc) return rc;
    kind = "image";
  } else if (skind == VQ_KIND_LATENT) {
    int image = 0;
    rc = decode_latent(buf, size, in, out, cbpath, use, threads,
                       lim.max_bytes, &npy_size, ref, &psnr, &psnr_y, &ssim,
                       &image);
    free(buf);
    if (rc) return rc;
    kind = image ? "image" : "latent";
  } else if (!cli_ends_with(out, ".npy")) {
    free(buf);
    cli_error(prog, "%s: token, PVQ and latent files decode to .npy, not "
              "%s", in, out);
    return VQ_EXIT_USAGE;
  } else if (skind == VQ_KIND_PVQ) {
    vq_array *a = NULL;
    rc = vq_pvqfile_decode(&a, buf, size, lim.max_bytes / 4, in, &diag);
    free(buf);
    if (rc < 0) return cli_fail(prog, rc, &diag, in);
    rc = vq_npy_write(out, VQ_DTYPE_F32, a->ndim, a->shape, a->data, &diag);
    npy_size = (size_t)a->count * 4;
    vq_array_destroy(a);
    if (rc < 0) return cli_fail(prog, rc, &diag, out);
    kind = "pvq";
  } else {
    rc = vq_tokenfile_decode(&npy, &npy_size, buf, size, &lim, in, &diag);
    free(buf);
    if (rc < 0) return cli_fail(prog, rc, &diag, in);
    rc = cli_write_file(prog, out, npy, npy_size);
    vq_free(npy);
    if (rc) return rc;
  }
  if (json) {
    printf("{\"input\": ");
    cli_json_string(stdout, in);
    printf(", \"output\": ");
    cli_json_string(stdout, out);
    printf(", \"kind\": \"%s\", \"input_bytes\": %zu, \"bytes\": %zu, "
           "\"seconds\": %.6f", kind, size, npy_size, cli_now() - t0);
    if (psnr >= 0.0)
      printf(", \"psnr\": %.4f, \"psnr_y\": %.4f, \"ssim\": %.6f", psnr,
             psnr_y, ssim);
    printf("}\n");
  } else if (!quiet) {
    fprintf(stderr, "%s: %zu -> %zu bytes", in, size, npy_size);
    if (psnr >= 0.0)
      fprintf(stderr, ", PSNR %.2f dB (Y %.2f dB), SSIM %.4f against %s",
              psnr, psnr_y, ssim, ref);
    fprintf(stderr, "\n");
  }
  return 0;
}
