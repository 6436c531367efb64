/* vqtok: vectors to codebook tokens and back. */
#include "config.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char *prog = "vqtok";

static void usage(FILE *f) {
  fprintf(f,
"Usage: vqtok encode --codebook CB [options] DATA.npy -o CODES.npy\n"
"       vqtok decode --codebook CB [options] CODES.npy -o DATA.npy\n"
"\n"
"encode maps float vectors [N, D] (more dimensions are flattened to\n"
"[N, last]) to int32 codes [N, M], one index per stage of a residual\n"
"codebook (vqtrain rvq; a k-means codebook is one stage), or one per\n"
"sub-space of a product codebook (vqtrain pq). decode sums the codewords\n"
"back into float32 vectors [N, D], from all stages or the first S (a\n"
"product codebook needs all). A codebook trained after a PCA projector\n"
"codes and decodes vectors of the original dimension through it.\n"
"\n"
"Options:\n"
"  --codebook FILE    the codebook (.safetensors, required)\n"
"  -o, --output FILE  the .npy to write (required)\n"
"  --beam B           encode: beam width (default 1, greedy)\n"
"  --stages S         decode: use the first S stages (default: all)\n"
"  --threads N        threads (default: all cores; results are the same)\n"
"  --json             print statistics as one JSON object on stdout (encode:\n"
"                     mse and the share of each stage's codewords used)\n"
"  -q, --quiet        print nothing on success\n"
"  -h, --help         this help\n"
"  --version          print the version\n"
"\n"
"Exit status: 0 success, 1 usage error, 2 bad input data, 3 I/O error.\n");
}

/* A codebook as stages x k x d (rvq, kmeans), or m sub-spaces of k
 * codewords of d / m components (pq, opq: stages is m, pq set). */
typedef struct book {
  vq_codebook *cb;
  int stages, pq;
  size_t k, d;           /* d: the codewords' dimension */
  const float *rot;
  size_t din;            /* the vectors' dimension (d without a PCA) */
  const float *mean, *enc, *dec; /* PCA projector, or NULL */
} book;

/* The optional PCA projector: projector.mean [1, din], .encode [din, d]
 * and .decode [d, din]. */
static int load_projector(book *b, const char *path) {
  size_t r[3], c[3];
  b->din = b->d;
  b->mean = vq_codebook_tensor(b->cb, "projector.mean", &r[0], &c[0]);
  b->enc = vq_codebook_tensor(b->cb, "projector.encode", &r[1], &c[1]);
  b->dec = vq_codebook_tensor(b->cb, "projector.decode", &r[2], &c[2]);
  if (!b->mean && !b->enc && !b->dec) return 0;
  if (!b->mean || !b->enc || !b->dec || r[0] != 1 || c[0] > VQ_PCA_MAX_DIM ||
      r[1] != c[0] || c[1] != b->d || r[2] != b->d || c[2] != c[0] ||
      b->d > c[0] || b->pq) {
    cli_error(prog, "%s: its projector tensors do not fit together and with "
              "codewords of dimension %zu (mean [1, D], encode [D, %zu], "
              "decode [%zu, D], D >= %zu)", path, b->d, b->d, b->d, b->d);
    return VQ_EXIT_DATA;
  }
  b->din = c[0];
  return 0;
}

static int load_pq(book *b, const char *path) {
  const char *mm = vq_codebook_meta(b->cb, "pq.m");
  const char *mk = vq_codebook_meta(b->cb, "pq.k");
  size_t r;
  b->pq = 1;
  b->stages = mm ? atoi(mm) : 0;
  b->k = mk ? (size_t)strtoull(mk, NULL, 10) : 0;
  b->rot = vq_codebook_rotation(b->cb, &r);
  if (b->stages < 1 || b->stages > VQ_PQ_MAX_M || b->k < 1 ||
      b->k * (size_t)b->stages != vq_codebook_k(b->cb)) {
    cli_error(prog, "%s: pq.m and pq.k do not match its %zu codewords",
              path, vq_codebook_k(b->cb));
    return VQ_EXIT_DATA;
  }
  b->d = b->din = vq_codebook_d(b->cb) * (size_t)b->stages;
  if ((b->rot && r != b->d) ||
      (!b->rot && !strcmp(vq_codebook_kind(b->cb), "opq"))) {
    cli_error(prog, "%s: an opq codebook needs a rotation of %zu x %zu",
              path, b->d, b->d);
    return VQ_EXIT_DATA;
  }
  return 0;
}

static int load_book(book *b, const char *path) {
  vq_diag diag = {{0}};
  const char *kind, *ms, *mk;
  int rc = vq_codebook_load(&b->cb, path, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, path);
  kind = vq_codebook_kind(b->cb);
  b->d = vq_codebook_d(b->cb);
  if (!strcmp(kind, "pq") || !strcmp(kind, "opq")) return load_pq(b, path);
  if (!strcmp(kind, "kmeans")) {
    b->stages = 1;
    b->k = vq_codebook_k(b->cb);
    return load_projector(b, path);
  }
  ms = vq_codebook_meta(b->cb, "rvq.stages");
  mk = vq_codebook_meta(b->cb, "rvq.k");
  if (strcmp(kind, "rvq") || !ms || !mk) {
    cli_error(prog, "%s: a %s codebook (vqtok reads kmeans, rvq, pq and "
              "opq ones)",
              path, kind);
    return VQ_EXIT_DATA;
  }
  b->stages = atoi(ms);
  b->k = (size_t)strtoull(mk, NULL, 10);
  if (b->stages < 1 || b->stages > VQ_RVQ_MAX_STAGES || b->k < 1 ||
      b->k * (size_t)b->stages != vq_codebook_k(b->cb)) {
    cli_error(prog, "%s: rvq.stages %s and rvq.k %s do not match its %zu "
              "codewords", path, ms, mk, vq_codebook_k(b->cb));
    return VQ_EXIT_DATA;
  }
  return load_projector(b, path);
}

/* RVQ codes of x [n, din] through the projector: each vector's squared
 * error in the original space. */
static int proj_encode(const book *b, int32_t *codes, float *err,
                       const float *x, size_t n, int beam, int threads) {
  float *z = malloc(n * b->d * sizeof *z);
  float *xr = malloc(n * b->din * sizeof *xr);
  size_t i, j;
  int rc = z && xr ? 0 : VQ_ERR_NOMEM;
  if (rc == 0)
    rc = vq_project(z, x, n, b->din, b->d, b->mean, b->enc, threads);
  if (rc == 0)
    rc = vq_rvq_encode(codes, NULL, vq_codebook_cdata(b->cb), b->stages,
                       b->k, b->d, z, n, beam, threads);
  if (rc == 0)
    rc = vq_rvq_decode(z, codes, b->stages, b->stages,
                       vq_codebook_cdata(b->cb), b->k, b->d, n);
  if (rc == 0)
    rc = vq_unproject(xr, z, n, b->din, b->d, b->mean, b->dec, threads);
  for (i = 0; rc == 0 && i < n; i++) {
    double e = 0.0;
    for (j = 0; j < b->din; j++) {
      double t = (double)xr[i * b->din + j] - x[i * b->din + j];
      e += t * t;
    }
    err[i] = (float)e;
  }
  free(z), free(xr);
  return rc;
}

/* Share of each stage's codewords that the codes use. */
static void stage_use(const book *b, const int32_t *codes, size_t n,
                      double *use) {
  unsigned char *seen = calloc(b->k, 1);
  int s;
  for (s = 0; s < b->stages; s++) {
    size_t i, cnt = 0;
    use[s] = -1.0;
    if (!seen) continue;
    memset(seen, 0, b->k);
    for (i = 0; i < n; i++) {
      int32_t c = codes[i * (size_t)b->stages + (size_t)s];
      cnt += !seen[c];
      seen[c] = 1;
    }
    use[s] = (double)cnt / (double)b->k;
  }
  free(seen);
}

/* PQ codes and each vector's squared error. */
static int pq_encode(const book *b, int32_t *codes, float *err,
                     const float *x, size_t n, int threads) {
  return vq_pq_encode(codes, err, vq_codebook_cdata(b->cb), b->rot,
                      b->stages, b->k, b->d, x, n, threads);
}

static int cmd_encode(const book *b, const char *in, const char *out,
                      int beam, int threads, int json, int quiet) {
  vq_diag diag = {{0}};
  vq_array *a = NULL;
  int32_t *codes = NULL;
  float *err = NULL;
  double t0 = cli_now(), sse = 0.0;
  uint64_t shape[2];
  size_t n, d, i;
  int rc;
  if (b->pq && beam > 1) {
    cli_error(prog, "--beam: a product codebook codes each sub-space on "
              "its own");
    return VQ_EXIT_USAGE;
  }
  rc = vq_npy_read(&a, in, VQ_DTYPE_F32, NULL, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, in);
  d = a->ndim >= 1 ? (size_t)a->shape[a->ndim - 1] : 0;
  if (d != b->din || a->count == 0) {
    cli_error(prog, "%s: vectors of dimension %zu for a codebook of "
              "dimension %zu", in, d, b->din);
    vq_array_destroy(a);
    return VQ_EXIT_DATA;
  }
  n = (size_t)(a->count / d);
  codes = malloc(n * (size_t)b->stages * sizeof *codes);
  err = malloc(n * sizeof *err);
  if (!codes || !err) {
    rc = VQ_ERR_NOMEM;
  } else {
    const float *x = a->data;
    for (i = 0; i < n * d; i++)
      if (!(x[i] - x[i] == 0.0f)) {
        cli_error(prog, "%s: value %zu is not finite", in, i);
        rc = 1;
        break;
      }
    if (rc == 0 && b->pq)
      rc = pq_encode(b, codes, err, x, n, threads);
    else if (rc == 0 && b->mean)
      rc = proj_encode(b, codes, err, x, n, beam, threads);
    else if (rc == 0)
      rc = vq_rvq_encode(codes, err, vq_codebook_cdata(b->cb), b->stages,
                         b->k, d, x, n, beam, threads);
  }
  vq_array_destroy(a);
  if (rc == 1) rc = VQ_EXIT_DATA;
  else if (rc < 0) rc = cli_fail(prog, rc, NULL, in);
  if (rc == 0) {
    shape[0] = n, shape[1] = (uint64_t)b->stages;
    rc = vq_npy_write(out, VQ_DTYPE_I32, 2, shape, codes, &diag);
    if (rc < 0) rc = cli_fail(prog, rc, &diag, out);
  }
  if (rc == 0) {
    double use[VQ_RVQ_MAX_STAGES > VQ_PQ_MAX_M ? VQ_RVQ_MAX_STAGES
                                               : VQ_PQ_MAX_M];
    int s;
    double t1 = cli_now();
    for (i = 0; i < n; i++) sse += err[i];
    stage_use(b, codes, n, use);
    if (json) {
      printf("{\"vectors\": %zu, \"stages\": %d, \"k\": %zu, \"beam\": %d, "
             "\"mse\": %.10g, \"utilization_per_stage\": [", n, b->stages,
             b->k, beam, sse / ((double)n * (double)d));
      for (s = 0; s < b->stages; s++)
        printf("%s%.6f", s ? ", " : "", use[s]);
      printf("], \"seconds\": %.6f}\n", t1 - t0);
    } else if (!quiet) {
      fprintf(stderr, "%s: %zu vectors -> %d codes each (K = %zu), mse "
              "%.6g, codewords used", in, n, b->stages, b->k,
              sse / ((double)n * (double)d));
      for (s = 0; s < b->stages; s++)
        fprintf(stderr, "%s %.1f%%", s ? "," : "", 100.0 * use[s]);
      fputc('\n', stderr);
    }
  }
  free(codes);
  free(err);
  return rc;
}

static int cmd_decode(const book *b, const char *in, const char *out,
                      int use, int threads, int json, int quiet) {
  vq_diag diag = {{0}};
  vq_array *a = NULL;
  int32_t *codes = NULL;
  float *y = NULL;
  double t0 = cli_now();
  uint64_t shape[2];
  size_t n, i;
  int rc = vq_npy_read(&a, in, VQ_DTYPE_I64, NULL, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, in);
  if (a->ndim != 2 || a->shape[1] != (uint64_t)b->stages) {
    cli_error(prog, "%s: expected codes [N, %d] for this codebook",
              in, b->stages);
    vq_array_destroy(a);
    return VQ_EXIT_DATA;
  }
  if (b->pq && use) {
    cli_error(prog, "--stages: a product codebook needs all its sub-spaces");
    vq_array_destroy(a);
    return VQ_EXIT_USAGE;
  }
  if (use == 0) use = b->stages;
  if (use > b->stages) {
    cli_error(prog, "--stages %d: the codebook has %d", use, b->stages);
    vq_array_destroy(a);
    return VQ_EXIT_USAGE;
  }
  n = (size_t)a->shape[0];
  codes = malloc((n ? n : 1) * (size_t)b->stages * sizeof *codes);
  y = malloc((n ? n : 1) * (b->d + b->din) * sizeof *y);
  if (!codes || !y) {
    rc = cli_fail(prog, VQ_ERR_NOMEM, NULL, in);
    goto done;
  }
  for (i = 0; i < n * (size_t)b->stages; i++) {
    int64_t v = ((const int64_t *)a->data)[i];
    if (v < 0 || (uint64_t)v >= b->k) {
      cli_error(prog, "%s: code %lld at position %zu is outside [0, %zu)",
                in, (long long)v, i, b->k);
      rc = VQ_EXIT_DATA;
      goto done;
    }
    codes[i] = (int32_t)v;
  }
  if (b->pq)
    rc = vq_pq_decode(y, codes, vq_codebook_cdata(b->cb), b->rot, b->stages,
                      b->k, b->d, n);
  else
    rc = vq_rvq_decode(y, codes, b->stages, use, vq_codebook_cdata(b->cb),
                       b->k, b->d, n);
  if (rc == 0 && b->mean) { /* back through the projector */
    float *x = y + n * b->d;
    rc = vq_unproject(x, y, n, b->din, b->d, b->mean, b->dec, threads);
    memmove(y, x, n * b->din * sizeof *y);
  }
  if (rc < 0) {
    rc = cli_fail(prog, rc, NULL, in);
    goto done;
  }
  shape[0] = n, shape[1] = b->din;
  rc = vq_npy_write(out, VQ_DTYPE_F32, 2, shape, y, &diag);
  if (rc < 0) {
    rc = cli_fail(prog, rc, &diag, out);
    goto done;
  }
  if (json)
    printf("{\"vectors\": %zu, \"stages_used\": %d, \"seconds\": %.6f}\n", n,
           use, cli_now() - t0);
  else if (!quiet)
    fprintf(stderr, "%s: %zu vectors from %d of %d stages\n", in, n, use,
            b->stages);
done:
  vq_array_destroy(a);
  free(codes);
  free(y);
  return rc;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
    {"codebook", required_argument, 0, 'c'},
    {"output", required_argument, 0, 'o'},
    {"beam", required_argument, 0, 'b'},
    {"stages", required_argument, 0, 's'},
    {"threads", required_argument, 0, 't'},
    {"json", no_argument, 0, 'j'},
    {"quiet", no_argument, 0, 'q'},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, 'V'},
    {0, 0, 0, 0}
  };
  const char *cbpath = NULL, *out = NULL, *cmd;
  int c, beam = 1, use = 0, threads = 0, json = 0, quiet = 0, rc;
  book b;
  if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    usage(stdout);
    return 0;
  }
  if (argc >= 2 && !strcmp(argv[1], "--version")) {
    cli_print_version(prog);
    return 0;
  }
  if (argc < 2 || (strcmp(argv[1], "encode") && strcmp(argv[1], "decode"))) {
    usage(stderr);
    return VQ_EXIT_USAGE;
  }
  cmd = argv[1];
  argc--, argv++;
  while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
    switch (c) {
      case 'c': cbpath = optarg; break;
      case 'o': out = optarg; break;
      case 'b':
        if (cli_parse_int(prog, "--beam", optarg, 1, VQ_RVQ_MAX_BEAM, &beam))
          return VQ_EXIT_USAGE;
        break;
      case 's':
        if (cli_parse_int(prog, "--stages", optarg, 1, VQ_RVQ_MAX_STAGES,
                          &use))
          return VQ_EXIT_USAGE;
        break;
      case 't':
        if (cli_parse_int(prog, "--threads", optarg, 1, 1024, &threads))
          return VQ_EXIT_USAGE;
        break;
      case 'j': json = 1; break;
      case 'q': quiet = 1; break;
      case 'h': usage(stdout); return 0;
      case 'V': cli_print_version(prog); return 0;
      default:
        fprintf(stderr, "Try 'vqtok --help'.\n");
        return VQ_EXIT_USAGE;
    }
  }
  if (optind + 1 != argc || !out || !cbpath) {
    usage(stderr);
    return VQ_EXIT_USAGE;
  }
  memset(&b, 0, sizeof b);
  if ((rc = load_book(&b, cbpath)) != 0) {
    vq_codebook_destroy(b.cb);
    return rc;
  }
  rc = !strcmp(cmd, "encode")
           ? cmd_encode(&b, argv[optind], out, beam, threads, json, quiet)
           : cmd_decode(&b, argv[optind], out, use, threads, json, quiet);
  vq_codebook_destroy(b.cb);
  return rc;
}
