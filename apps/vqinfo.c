/* vqinfo: shows what a libvq file holds. */
#include "config.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char *prog = "vqinfo";

static void usage(FILE *f) {
  fprintf(f,
"Usage: vqinfo [--json] FILE...\n"
"\n"
"Prints what each file holds: for a codebook (.safetensors) its kind,\n"
"shape and metadata; for other .safetensors files their tensors; for .npy\n"
"arrays their type and shape; for .vq files their chunks with sizes and\n"
"CRC status, the container version and what the header declares (token\n"
"files, PVQ-coded arrays, images).\n"
"\n"
"Options:\n"
"  --json         one JSON object per file on stdout\n"
"  -h, --help     this help\n"
"  --version      print the version\n"
"\n"
"Exit status: 0 success, 1 usage error, 2 bad input data, 3 I/O error.\n");
}

static void print_shape(FILE *f, int ndim, const uint64_t *shape, int json) {
  int i;
  fputc(json ? '[' : '(', f);
  for (i = 0; i < ndim; i++)
    fprintf(f, "%s%llu", i ? ", " : "", (unsigned long long)shape[i]);
  if (!json && ndim == 1) fputc(',', f);
  fputc(json ? ']' : ')', f);
}

static void print_meta(const vq_st *st, int json) {
  size_t i, n = vq_st_meta_count(st);
  if (json) printf(", \"metadata\": {");
  for (i = 0; i < n; i++) {
    const char *k, *v;
    if (vq_st_meta_at(st, i, &k, &v) < 0) continue;
    if (json) {
      printf("%s", i ? ", " : "");
      cli_json_string(stdout, k);
      printf(": ");
      cli_json_string(stdout, v);
    } else {
      printf("  %-26s %s\n", k, v);
    }
  }
  if (json) printf("}");
}

/* For a libvq codebook: the shape and type of its "codebook" tensor. */
static void show_codebook(const vq_st *st, int json) {
  int i = vq_st_find(st, "codebook"), ndim;
  uint64_t shape[VQ_MAX_DIMS];
  vq_dtype dt;
  if (i < 0 || vq_st_tensor_info(st, (size_t)i, NULL, &dt, &ndim, shape) < 0
      || ndim != 2)
    return;
  if (json)
    printf(", \"k\": %llu, \"d\": %llu, \"dtype\": \"%s\"",
           (unsigned long long)shape[0], (unsigned long long)shape[1],
           vq_dtype_name(dt));
  else
    printf("  codebook: %llu codewords of dimension %llu, %s\n",
           (unsigned long long)shape[0], (unsigned long long)shape[1],
           vq_dtype_name(dt));
}

/* The .npy format version from the file's bytes 6 and 7. */
static void npy_version(const char *path, char *buf, size_t size) {
  unsigned char b[8];
  FILE *f = fopen(path, "rb");
  snprintf(buf, size, "?");
  if (!f) return;
  if (fread(b, 1, 8, f) == 8) snprintf(buf, size, "%u.%u", b[6], b[7]);
  fclose(f);
}

static int show_safetensors(const char *path, int json) {
  vq_diag diag = {{0}};
  vq_st *st;
  size_t i, n;
  const char *kind;
  int rc = vq_st_open(&st, path, NULL, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, path);
  kind = vq_st_meta(st, "libvq.kind");
  n = vq_st_tensor_count(st);
  if (json) {
    printf("{\"file\": ");
    cli_json_string(stdout, path);
    printf(", \"format\": \"safetensors\", \"kind\": ");
    if (kind) cli_json_string(stdout, kind);
    else printf("null");
    printf(", \"tensors\": [");
  } else {
    printf("%s: safetensors, %s, %zu tensor%s\n", path,
           kind ? kind : "not a libvq file", n, n == 1 ? "" : "s");
  }
  for (i = 0; i < n; i++) {
    const char *name;
    vq_dtype dt;
    int ndim;
    uint64_t shape[VQ_MAX_DIMS];
    if (vq_st_tensor_info(st, i, &name, &dt, &ndim, shape) < 0) continue;
    if (json) {
      printf("%s{\"name\": ", i ? ", " : "");
      cli_json_string(stdout, name);
      printf(", \"dtype\": \"%s\", \"shape\": ", vq_dtype_name(dt));
      print_shape(stdout, ndim, shape, 1);
      printf("}");
    } else {
      printf("  tensor %-19s %-8s ", name, vq_dtype_name(dt));
      print_shape(stdout, ndim, shape, 0);
      printf("\n");
    }
  }
  if (json) printf("]");
  if (kind) show_codebook(st, json);
  print_meta(st, json);
  if (json) printf("}\n");
  vq_st_destroy(st);
  return 0;
}

static int show_npy(const char *path, int json) {
  vq_diag diag = {{0}};
  vq_array *a;
  char ver[16];
  int rc = vq_npy_read(&a, path, VQ_DTYPE_NONE, NULL, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, path);
  npy_version(path, ver, sizeof ver);
  if (json) {
    printf("{\"file\": ");
    cli_json_string(stdout, path);
    printf(", \"format\": \"npy\", \"dtype\": \"%s\", \"shape\": ",
           vq_dtype_name(a->dtype));
    print_shape(stdout, a->ndim, a->shape, 1);
    printf(", \"version\": \"%s\"}\n", ver);
  } else {
    printf("%s: npy %s, %s ", path, ver, vq_dtype_name(a->dtype));
    print_shape(stdout, a->ndim, a->shape, 0);
    printf(", %llu elements\n", (unsigned long long)a->count);
  }
  vq_array_destroy(a);
  return 0;
}

static void show_pvq(const vq_chunk *head, int json) {
  vq_pvqfile_info t;
  if (vq_pvqfile_info_parse(&t, head->data, head->size, NULL) < 0) return;
  if (json) {
    printf(", \"kind\": \"pvq\", \"pvq\": {\"shape\": ");
    print_shape(stdout, t.ndim, t.shape, 1);
    printf(", \"block\": %lu, \"pulses\": %lu, \"pulses_per_step\": %.9g, "
           "\"step\": %.9g, \"beta\": %.9g}", (unsigned long)t.block,
           (unsigned long)t.k, t.pulses_per_step, t.step, t.beta);
  } else {
    printf("  pvq: float32 ");
    print_shape(stdout, t.ndim, t.shape, 0);
    if (t.pulses_per_step > 0)
      printf(", blocks of %lu with %g pulses per gain step, gain step %g, "
             "beta %g\n", (unsigned long)t.block, t.pulses_per_step, t.step,
             t.beta);
    else
      printf(", blocks of %lu with %lu pulses, gain step %g, beta %g\n",
             (unsigned long)t.block, (unsigned long)t.k, t.step, t.beta);
  }
}

static void show_tokens(const vq_chunk *head, const vq_chunk *data,
                        int json) {
  vq_tokenfile_info t;
  if (vq_tokenfile_info_parse(&t, head->data, head->size,
                              data ? data->data : NULL,
                              data ? data->size : 0, NULL) < 0)
    return;
  if (json) {
    printf(", \"kind\": \"tokens\", \"tokens\": {\"dtype\": \"%s\", "
           "\"big_endian\": %s, \"shape\": ", vq_dtype_name(t.dtype),
           t.big_endian ? "true" : "false");
    print_shape(stdout, t.ndim, t.shape, 1);
    printf(", \"count\": %llu, \"alphabet\": %lu, \"offset\": %lld, "
           "\"model\": \"%s\", \"rate\": %d}", (unsigned long long)t.count,
           (unsigned long)t.alphabet, (long long)t.offset,
           vq_entropy_model_name(t.model), t.rate);
  } else {
    printf("  tokens: %s%s ", t.big_endian ? "big-endian " : "",
           vq_dtype_name(t.dtype));
    print_shape(stdout, t.ndim, t.shape, 0);
    printf(", alphabet %lu, offset %lld, %s model", (unsigned long)t.alphabet,
           (long long)t.offset, vq_entropy_model_name(t.model));
    if (t.rate) printf(" (rate %d)", t.rate);
    printf("\n");
  }
}

static const char *channels_name(int channels) {
  switch (channels) {
    case 1: return "gray";
    case 2: return "gray+alpha";
    case 3: return "RGB";
    default: return "RGBA";
  }
}

static void show_image(const vq_chunk *head, int json) {
  vq_image_info t;
  if (vq_image_info_parse(&t, head->data, head->size, NULL) < 0) return;
  if (json) {
    printf(", \"kind\": \"image\", \"image\": {\"width\": %lu, "
           "\"height\": %lu, \"channels\": %d, \"subsample\": %d, "
           "\"quality\": %.2f, \"tiles\": %lu}", (unsigned long)t.width,
           (unsigned long)t.height, t.channels, t.subsample,
           (double)t.quality, (unsigned long)t.tiles);
  } else {
    printf("  image: %lu x %lu, %s, %s, quality %.2f, %lu tile%s\n",
           (unsigned long)t.width, (unsigned long)t.height,
           channels_name(t.channels),
           t.channels < 3 ? "luma only" : t.subsample == 420 ? "4:2:0"
                                                            : "4:4:4",
           (double)t.quality, (unsigned long)t.tiles, t.tiles == 1 ? "" : "s");
  }
}

/* The index model a token plane (an index stream) was coded with. */
static const char *plane_model(const vq_chunk *d) {
  return d->size ? vq_entropy_model_name((vq_entropy_model)d->data[0])
                 : "none";
}

/* A latent: its tensor, codebook and, per token plane (item-major, then
 * stage), the index model and size. */
static void show_latent(const vq_container *c, const uint8_t *buf,
                        size_t size, int json) {
  vq_latent_info t;
  const vq_chunk *d;
  char sha[65];
  size_t i;
  if (vq_latent_info_read(&t, buf, size, NULL, NULL) < 0) return;
  vq_sha256_hex(sha, t.sha256);
  if (json) {
    printf(", \"kind\": \"%s\", \"latent\": {\"shape\": ",
           t.is_image ? "image-tokens" : "latent");
    print_shape(stdout, t.ndim, t.shape, 1);
    printf(", \"layout\": \"%s\", \"stages\": %d, \"codebook_stages\": %d, "
           "\"k\": %lu, \"dim\": %lu, \"product\": %s, \"codebook\": "
           "{\"name\": ", t.hwc ? "hwc" : "chw", t.stages, t.book_stages,
           (unsigned long)t.k, (unsigned long)t.dim,
           t.product ? "true" : "false");
    cli_json_string(stdout, t.name);
    printf(", \"sha256\": \"%s\", \"embedded\": %s}, \"planes\": [", sha,
           t.book ? "true" : "false");
    for (i = 0; (d = vq_container_find(c, "DATA", i)) != NULL; i++)
      printf("%s{\"model\": \"%s\", \"bytes\": %lu}", i ? ", " : "",
             plane_model(d), (unsigned long)d->size);
    printf("]}");
    return;
  }
  printf("  %s: float32 ", t.is_image ? "image tokens" : "latent");
  print_shape(stdout, t.ndim, t.shape, 0);
  printf(" (%s), %d stage%s", t.hwc ? "channels last" : "channels first",
         t.stages, t.stages == 1 ? "" : "s");
  if (t.book_stages != t.stages) printf(" of %d", t.book_stages);
  printf(" of %lu codewords of dimension %lu%s\n", (unsigned long)t.k,
         (unsigned long)t.dim, t.product ? " (product codebook)" : "");
  if (t.is_image)
    printf("  image: %lu x %lu, %s, %d x %d %s patches\n",
           (unsigned long)t.image.width, (unsigned long)t.image.height,
           channels_name(t.image.channels), t.image.patch, t.image.patch,
           t.image.rgb ? "RGB" : "luma");
  printf("  codebook: %s, sha256 %s%s\n  token planes:",
         t.name[0] ? t.name : "(no name)", sha, t.book ? ", embedded" : "");
  for (i = 0; (d = vq_container_find(c, "DATA", i)) != NULL; i++)
    printf("%s %s (%lu bytes)", i ? "," : "", plane_model(d),
           (unsigned long)d->size);
  printf("\n");
}

/* What the HEAD chunk declares, by stream kind. */
static void show_head(const vq_container *c, const uint8_t *buf,
                      size_t size, int json) {
  const vq_chunk *head = vq_container_find(c, "HEAD", 0);
  if (!head || !head->size) return;
  if (head->data[0] == VQ_KIND_PVQ) show_pvq(head, json);
  else if (head->data[0] == VQ_KIND_IMAGE) show_image(head, json);
  else if (head->data[0] == VQ_KIND_LATENT) show_latent(c, buf, size, json);
  else show_tokens(head, vq_container_find(c, "DATA", 0), json);
}

/* A .vq file: its chunks with sizes and CRC status, then what HEAD says.
 * A CRC failure is listed, and makes the exit status 2. */
static int show_vq(const char *path, int json) {
  vq_diag diag = {{0}};
  vq_container *c;
  uint8_t *buf;
  size_t size, i, n;
  int rc = cli_read_file(prog, path, (uint64_t)1 << 40, &buf, &size), major,
      minor, bad = 0;
  if (rc) return rc;
  rc = vq_container_parse(&c, buf, size, VQ_CONTAINER_LIST_BAD_CRC, NULL,
                          path, &diag);
  if (rc < 0) {
    free(buf);
    return cli_fail(prog, rc, &diag, path);
  }
  vq_container_version(c, &major, &minor);
  n = vq_container_count(c);
  if (json) {
    printf("{\"file\": ");
    cli_json_string(stdout, path);
    printf(", \"format\": \"vq\", \"version\": \"%d.%d\", \"bytes\": "
           "%zu, \"chunks\": [", major, minor, size);
  } else {
    printf("%s: vq container %d.%d, %zu bytes, %zu chunk%s\n", path, major,
           minor, size, n, n == 1 ? "" : "s");
  }
  for (i = 0; i < n; i++) {
    const vq_chunk *k = vq_container_chunk(c, i);
    bad += !k->crc_ok;
    if (json)
      printf("%s{\"type\": \"%s\", \"offset\": %llu, \"size\": %lu, "
             "\"crc\": \"%08lx\", \"crc_ok\": %s, \"critical\": %s, "
             "\"known\": %s}", i ? ", " : "", k->type,
             (unsigned long long)k->offset, (unsigned long)k->size,
             (unsigned long)k->crc, k->crc_ok ? "true" : "false",
             k->critical ? "true" : "false", k->known ? "true" : "false");
    else
      printf("  %-4s  offset %-8llu %10lu bytes  crc %08lx %s%s\n", k->type,
             (unsigned long long)k->offset, (unsigned long)k->size,
             (unsigned long)k->crc, k->crc_ok ? "ok" : "MISMATCH",
             k->known ? "" : k->critical ? "  (unknown, critical)"
                                         : "  (unknown, skipped)");
  }
  if (json) printf("]");
  show_head(c, buf, size, json);
  if (json) printf("}\n");
  vq_container_destroy(c);
  free(buf);
  if (bad) {
    cli_error(prog, "%s: %d chunk%s with a CRC mismatch", path, bad,
              bad == 1 ? "" : "s");
    return VQ_EXIT_DATA;
  }
  return 0;
}

static int show(const char *path, int json) {
  switch (cli_sniff(path)) {
    case CLI_KIND_SAFETENSORS: return show_safetensors(path, json);
    case CLI_KIND_NPY: return show_npy(path, json);
    case CLI_KIND_VQ: return show_vq(path, json);
    case CLI_KIND_DIR:
      cli_error(prog, "%s: is a folder", path);
      return VQ_EXIT_USAGE;
    case -1:
      cli_error(prog, "%s: cannot read file", path);
      return VQ_EXIT_IO;
    default:
      cli_error(prog, "%s: not a .safetensors, .npy or .vq file", path);
      return VQ_EXIT_DATA;
  }
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
    {"json", no_argument, 0, 'j'},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, 'V'},
    {0, 0, 0, 0}
  };
  int c, json = 0, i, rc = 0;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
      case 'j': json = 1; break;
      case 'h': usage(stdout); return 0;
      case 'V': cli_print_version(prog); return 0;
      default:
        fprintf(stderr, "Try 'vqinfo --help'.\n");
        return VQ_EXIT_USAGE;
    }
  }
  if (optind >= argc) {
    usage(stderr);
    return VQ_EXIT_USAGE;
  }
  for (i = optind; i < argc; i++) {
    int r = show(argv[i], json);
    if (r && !rc) rc = r;
  }
  return rc;
}
