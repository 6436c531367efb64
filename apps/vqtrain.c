/* vqtrain: trains codebooks from .npy vectors or image patches. */
#include "config.h"
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char *prog = "vqtrain";

static void usage(FILE *f) {
  fprintf(f,
"Usage: vqtrain kmeans -k K [options] DATA.npy -o CODEBOOK.safetensors\n"
"       vqtrain kmeans -k K --patch P [options] IMAGE|FOLDER... -o OUT\n"
"       vqtrain rvq --stages M -k K [options] DATA.npy -o OUT\n"
"       vqtrain pq -m M -k K [--opq] [options] DATA.npy -o OUT\n"
"\n"
"Trains a k-means codebook, a residual quantizer of M stages of K\n"
"codewords (each stage k-means on the residuals of the stages before), or\n"
"a product quantizer of M sub-spaces of K codewords (with --opq after a\n"
"learnt rotation).\n"
"DATA.npy holds float vectors [N, D] (more dimensions are flattened to\n"
"[N, last]); images (PNG, JPEG, PPM, PGM, or folders of them) are cut\n"
"into P x P patches.\n"
"\n"
"Options:\n"
"  -k K                    number of centroids (required)\n"
"  -o FILE                 output codebook (.safetensors, required)\n"
"  --iters N               Lloyd iterations (default 25; per stage)\n"
"  --stages M              rvq: number of stages (default 4)\n"
"  -m M                    pq: sub-spaces, dividing the dimension\n"
"                          (default 8)\n"
"  --opq                   pq: learn a rotation first (OPQ)\n"
"  --opq-rounds N          pq: OPQ rounds (default 10; implies --opq)\n"
"  --beam B                rvq: beam width of the final statistics\n"
"                          and of the refinement (default 1, greedy)\n"
"  --refine N              rvq: rounds of joint least-squares refinement\n"
"                          of all stages, each kept if it lowers the\n"
"                          error (default 0)\n"
"  --init kmeans++|random  initialisation (default kmeans++; rvq: of the\n"
"                          first stage)\n"
"  --init-residual kmeans++|random\n"
"                          rvq: initialisation of the later stages\n"
"                          (default random)\n"
"  --nredo R               restarts, keeping the lowest MSE (default 1)\n"
"  --tol X                 stop when the relative MSE gain is below X\n"
"  --seed S                random seed (default 1234)\n"
"  --threads T             threads (default: all cores)\n"
"  --max-per-centroid P    train on at most K*P random vectors\n"
"  --init-sample P         k-means++ seeds from at most K*P random vectors\n"
"                          (default 64; 0: all)\n"
"  --spherical             cosine k-means (unit-norm centroids)\n"
"  --weights W.npy         per-vector weights [N]\n"
"  --patch P               image patch size (required for images)\n"
"  --stride S              step between patches (default P)\n"
"  --rgb                   RGB patches (default: luma)\n"
"  --mean-removed          subtract each patch's mean\n"
"  --kernel NAME           search kernel: auto, c, avx2, avx512\n"
"  --json                  print final statistics as JSON on stdout\n"
"  -q, --quiet             no progress or summary\n"
"  -v, --verbose           progress even when stderr is not a terminal\n"
"  -h, --help              this help\n"
"  --version               print the version\n"
"\n"
"Exit status: 0 success, 1 usage error, 2 bad input data, 3 I/O error.\n");
}

typedef struct opts {
  vq_kmeans_params km;
  int stages, beam, refine;
  int pq_m, opq, opq_rounds;   /* pq: sub-spaces, OPQ on, its rounds */
  vq_kmeans_init init_residual; /* rvq: seeding of stages after the first */
  vq_patch_params patch;
  int use_patches, json, quiet, verbose;
  const char *out, *weights;
  char **inputs;
  int ninputs;
} opts;

enum {
  OPT_ITERS = 256, OPT_INIT, OPT_NREDO, OPT_TOL, OPT_SEED, OPT_THREADS,
  OPT_MAXPC, OPT_INITPC, OPT_SPHERICAL, OPT_WEIGHTS, OPT_PATCH, OPT_STRIDE, OPT_RGB,
  OPT_MEANREM, OPT_KERNEL, OPT_JSON, OPT_VERSION, OPT_STAGES, OPT_BEAM,
  OPT_REFINE, OPT_INITRES, OPT_OPQ, OPT_OPQROUNDS
};

static const struct option long_opts[] = {
  {"iters", required_argument, 0, OPT_ITERS},
  {"init", required_argument, 0, OPT_INIT},
  {"nredo", required_argument, 0, OPT_NREDO},
  {"tol", required_argument, 0, OPT_TOL},
  {"seed", required_argument, 0, OPT_SEED},
  {"threads", required_argument, 0, OPT_THREADS},
  {"max-per-centroid", required_argument, 0, OPT_MAXPC},
  {"init-sample", required_argument, 0, OPT_INITPC},
  {"spherical", no_argument, 0, OPT_SPHERICAL},
  {"weights", required_argument, 0, OPT_WEIGHTS},
  {"patch", required_argument, 0, OPT_PATCH},
  {"stride", required_argument, 0, OPT_STRIDE},
  {"rgb", no_argument, 0, OPT_RGB},
  {"mean-removed", no_argument, 0, OPT_MEANREM},
  {"kernel", required_argument, 0, OPT_KERNEL},
  {"json", no_argument, 0, OPT_JSON},
  {"stages", required_argument, 0, OPT_STAGES},
  {"beam", required_argument, 0, OPT_BEAM},
  {"refine", required_argument, 0, OPT_REFINE},
  {"init-residual", required_argument, 0, OPT_INITRES},
  {"opq", no_argument, 0, OPT_OPQ},
  {"opq-rounds", required_argument, 0, OPT_OPQROUNDS},
  {"quiet", no_argument, 0, 'q'},
  {"verbose", no_argument, 0, 'v'},
  {"help", no_argument, 0, 'h'},
  {"version", no_argument, 0, OPT_VERSION},
  {0, 0, 0, 0}
};

static int parse_kernel(const char *s, vq_kernel *k) {
  if (!strcmp(s, "auto")) *k = VQ_KERNEL_AUTO;
  else if (!strcmp(s, "c")) *k = VQ_KERNEL_C;
  else if (!strcmp(s, "avx2")) *k = VQ_KERNEL_AVX2;
  else if (!strcmp(s, "avx512")) *k = VQ_KERNEL_AVX512;
  else return -1;
  return 0;
}

/* Returns -1 to continue, or an exit status. */
static int parse_one(opts *o, int c, const char *arg) {
  uint64_t u;
  switch (c) {
    case 'k':
      if (cli_parse_u64(prog, "-k", arg, 1, INT32_MAX, &u)) return 1;
      o->km.k = (size_t)u;
      return -1;
    case 'o': o->out = arg; return -1;
    case OPT_ITERS:
      return cli_parse_int(prog, "--iters", arg, 0, 1000000, &o->km.iters)
                 ? 1 : -1;
    case OPT_INIT:
    case OPT_INITRES: {
      vq_kmeans_init *to = c == OPT_INIT ? &o->km.init : &o->init_residual;
      if (!strcmp(arg, "kmeans++")) *to = VQ_INIT_KMEANSPP;
      else if (!strcmp(arg, "random")) *to = VQ_INIT_RANDOM;
      else {
        cli_error(prog, "%s: expected kmeans++ or random, got '%s'",
                  c == OPT_INIT ? "--init" : "--init-residual", arg);
        return 1;
      }
      return -1;
    }
    case OPT_NREDO:
      return cli_parse_int(prog, "--nredo", arg, 1, 1000, &o->km.nredo)
                 ? 1 : -1;
    case OPT_TOL:
      return cli_parse_double(prog, "--tol", arg, 0.0, 0.999, &o->km.tol)
                 ? 1 : -1;
    case OPT_SEED:
      if (cli_parse_u64(prog, "--seed", arg, 0, UINT64_MAX, &u)) return 1;
      o->km.seed = u;
      return -1;
    case OPT_THREADS:
      return cli_parse_int(prog, "--threads", arg, 1, 1024,
                           &o->km.nthreads) ? 1 : -1;
    case OPT_MAXPC:
      if (cli_parse_u64(prog, "--max-per-centroid", arg, 1, 1u << 30, &u))
        return 1;
      o->km.max_per_centroid = (size_t)u;
      return -1;
    case OPT_INITPC:
      if (cli_parse_u64(prog, "--init-sample", arg, 0, 1u << 30, &u))
        return 1;
      o->km.init_per_centroid = (size_t)u;
      return -1;
    case OPT_SPHERICAL: o->km.spherical = 1; return -1;
    case OPT_WEIGHTS: o->weights = arg; return -1;
    case OPT_PATCH:
      o->use_patches = 1;
      return cli_parse_int(prog, "--patch", arg, 1, 256, &o->patch.patch)
                 ? 1 : -1;
    case OPT_STRIDE:
      return cli_parse_int(prog, "--stride", arg, 1, 4096, &o->patch.stride)
                 ? 1 : -1;
    case OPT_RGB: o->patch.color = VQ_PATCH_RGB; return -1;
    case OPT_MEANREM: o->patch.mean_removed = 1; return -1;
    case OPT_KERNEL:
      if (parse_kernel(arg, &o->km.kernel) == 0) return -1;
      cli_error(prog, "--kernel: expected auto, c, avx2 or avx512");
      return 1;
    case OPT_JSON: o->json = 1; return -1;
    case OPT_STAGES:
      return cli_parse_int(prog, "--stages", arg, 1, VQ_RVQ_MAX_STAGES,
                           &o->stages) ? 1 : -1;
    case OPT_REFINE:
      return cli_parse_int(prog, "--refine", arg, 0, 1000, &o->refine)
                 ? 1 : -1;
    case OPT_BEAM:
      return cli_parse_int(prog, "--beam", arg, 1, VQ_RVQ_MAX_BEAM, &o->beam)
                 ? 1 : -1;
    case 'm':
      return cli_parse_int(prog, "-m", arg, 1, VQ_PQ_MAX_M, &o->pq_m) ? 1
                                                                    : -1;
    case OPT_OPQ: o->opq = 1; return -1;
    case OPT_OPQROUNDS:
      o->opq = 1;
      return cli_parse_int(prog, "--opq-rounds", arg, 1, 1000,
                           &o->opq_rounds) ? 1 : -1;
    case 'q': o->quiet = 1; return -1;
    case 'v': o->verbose++; return -1;
    case 'h': usage(stdout); return 0;
    case OPT_VERSION: cli_print_version(prog); return 0;
    default:
      fprintf(stderr, "Try 'vqtrain --help'.\n");
      return 1;
  }
}

static int parse_args(opts *o, int argc, char **argv) {
  int c, rc;
  optind = 1;
  while ((c = getopt_long(argc, argv, "k:m:o:qvh", long_opts, NULL)) != -1)
    if ((rc = parse_one(o, c, optarg)) >= 0) return rc;
  o->inputs = argv + optind;
  o->ninputs = argc - optind;
  if (!o->km.k) return cli_error(prog, "-k is required"), 1;
  if (!o->out) return cli_error(prog, "-o is required"), 1;
  if (o->ninputs < 1) return cli_error(prog, "no input given"), 1;
  if (!o->use_patches && o->ninputs > 1)
    return cli_error(prog, "several inputs need --patch (images)"), 1;
  return -1;
}

/* Training data: vectors [n, d] owned here or by an array. */
typedef struct data {
  vq_array *arr;
  float *own;
  const float *x;
  size_t n, d;
} data;

static int load_npy(data *dt, const char *path) {
  vq_diag diag = {{0}};
  int rc = vq_npy_read(&dt->arr, path, VQ_DTYPE_F32, NULL, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, path);
  if (dt->arr->ndim < 1 || dt->arr->count == 0) {
    cli_error(prog, "%s: expected vectors [N, D], found %s", path,
              dt->arr->ndim < 1 ? "a scalar" : "an empty array");
    return VQ_EXIT_DATA;
  }
  dt->d = dt->arr->ndim == 1 ? 1 : (size_t)dt->arr->shape[dt->arr->ndim - 1];
  dt->n = (size_t)(dt->arr->count / dt->d);
  dt->x = dt->arr->data;
  return 0;
}

/* Reads one image's patches into dt->own (grown as needed). */
static int add_image(data *dt, const char *path, const vq_patch_params *pp,
                     size_t *cap) {
  vq_diag diag = {{0}};
  vq_image *img;
  size_t cnt, dim;
  int rc = vq_image_read(&img, path, 0, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, path);
  rc = vq_image_patch_count(img, pp, &cnt, &dim);
  if (rc == 0 && dt->d && dim != dt->d) rc = VQ_ERR_INVALID_ARG;
  if (rc == 0 && cnt > (SIZE_MAX / sizeof(float)) / dim - dt->n)
    rc = VQ_ERR_LIMIT;
  if (rc == 0 && (dt->n + cnt) * dim > *cap) {
    size_t nc = (dt->n + cnt) * dim * 2;
    float *p = realloc(dt->own, nc * sizeof(float));
    if (!p) rc = VQ_ERR_NOMEM;
    else dt->own = p, *cap = nc;
  }
  if (rc == 0) rc = vq_image_patches(dt->own + dt->n * dim, img, pp);
  vq_image_destroy(img);
  if (rc < 0) return cli_fail(prog, rc, NULL, path);
  dt->n += cnt, dt->d = dim;
  return 0;
}

static int load_images(data *dt, char **in, int nin,
                       const vq_patch_params *pp) {
  char **files;
  int nf, i, rc;
  size_t cap = 0;
  if ((rc = cli_expand_images(prog, in, nin, &files, &nf)) != 0) return rc;
  for (i = 0; i < nf && rc == 0; i++) {
    int kind = cli_sniff(files[i]);
    if (kind == CLI_KIND_IMAGE) rc = add_image(dt, files[i], pp, &cap);
    else {
      cli_error(prog, "%s: %s", files[i], kind < 0 ? "cannot read file"
                : "not a PNG, JPEG, PPM or PGM image");
      rc = kind < 0 ? VQ_EXIT_IO : VQ_EXIT_DATA;
    }
  }
  cli_free_list(files, nf);
  if (rc == 0 && dt->n == 0) {
    cli_error(prog, "the images are smaller than one %d x %d patch",
              pp->patch, pp->patch);
    rc = VQ_EXIT_DATA;
  }
  dt->x = dt->own;
  return rc;
}

static int load_weights(vq_array **w, const char *path, size_t n) {
  vq_diag diag = {{0}};
  int rc = vq_npy_read(w, path, VQ_DTYPE_F32, NULL, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, path);
  if ((*w)->count != n) {
    cli_error(prog, "%s: %llu weights for %zu vectors", path,
              (unsigned long long)(*w)->count, n);
    return VQ_EXIT_DATA;
  }
  return 0;
}

/* The training vectors: patches of the images, or the .npy. */
static int load_input(data *dt, const opts *o) {
  int kind;
  if (o->use_patches)
    return load_images(dt, o->inputs, o->ninputs, &o->patch);
  kind = cli_sniff(o->inputs[0]);
  if (kind == CLI_KIND_IMAGE || kind == CLI_KIND_DIR) {
    cli_error(prog, "%s: images need --patch P", o->inputs[0]);
    return VQ_EXIT_USAGE;
  }
  return load_npy(dt, o->inputs[0]);
}

/* Progress line on stderr; *user is set while a line is open. */
static int progress(const vq_progress *p, void *user) {
  int *open_line = user;
  if (p->nredo > 1) fprintf(stderr, "\rrun %d/%d ", p->redo, p->nredo);
  else fputc('\r', stderr);
  fprintf(stderr, "iter %d/%d  mse %.6g  used %.1f%%  perplexity %.1f  "
          "%.2f s   ", p->iter, p->iters, p->mse, 100.0 * p->utilization,
          p->perplexity, p->seconds);
  *open_line = p->iter != p->iters;
  if (!*open_line) fputc('\n', stderr);
  return 0;
}

static int set_meta(vq_codebook *cb, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int set_meta(vq_codebook *cb, const char *key, const char *fmt, ...) {
  char buf[128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return vq_codebook_set_meta(cb, key, buf);
}

/* How image patches were cut, when they were the input. */
static int patch_meta(vq_codebook *cb, const opts *o) {
  int rc = 0;
  if (!o->use_patches) return 0;
  rc |= set_meta(cb, "patch.size", "%d", o->patch.patch);
  rc |= set_meta(cb, "patch.stride", "%d",
                 o->patch.stride ? o->patch.stride : o->patch.patch);
  rc |= set_meta(cb, "patch.color", "%s",
                 o->patch.color == VQ_PATCH_RGB ? "rgb" : "luma");
  rc |= set_meta(cb, "patch.mean_removed", "%d", o->patch.mean_removed);
  return rc;
}

static int add_meta(vq_codebook *cb, const opts *o, const data *dt,
                    const vq_kmeans_stats *st) {
  const vq_kmeans_params *p = &o->km;
  int rc = 0;
  rc |= set_meta(cb, "kmeans.k", "%zu", p->k);
  rc |= set_meta(cb, "kmeans.iters", "%d", p->iters);
  rc |= set_meta(cb, "kmeans.init", "%s",
                 p->init == VQ_INIT_RANDOM ? "random" : "kmeans++");
  rc |= set_meta(cb, "kmeans.seed", "%llu", (unsigned long long)p->seed);
  rc |= set_meta(cb, "kmeans.nredo", "%d", p->nredo);
  rc |= set_meta(cb, "kmeans.tol", "%.17g", p->tol);
  rc |= set_meta(cb, "kmeans.max_per_centroid", "%zu", p->max_per_centroid);
  rc |= set_meta(cb, "kmeans.init_per_centroid", "%zu",
                 p->init_per_centroid);
  rc |= set_meta(cb, "kmeans.spherical", "%d", p->spherical);
  rc |= set_meta(cb, "kmeans.weighted", "%d", o->weights != NULL);
  rc |= set_meta(cb, "train.n", "%zu", dt->n);
  rc |= set_meta(cb, "train.mse", "%.17g", st->mse);
  rc |= set_meta(cb, "train.utilization", "%.17g", st->utilization);
  rc |= set_meta(cb, "train.perplexity", "%.17g", st->perplexity);
  rc |= set_meta(cb, "train.iterations", "%d", st->iterations);
  rc |= patch_meta(cb, o);
  return rc ? VQ_ERR_NOMEM : VQ_OK;
}

static void report(const opts *o, const data *dt, const vq_kmeans_stats *s) {
  if (o->json) {
    printf("{\"k\": %zu, \"d\": %zu, \"n\": %zu, \"n_train\": %zu, "
           "\"mse\": %.10g, \"utilization\": %.6f, \"perplexity\": %.4f, "
           "\"seconds\": %.4f, \"iterations\": %d, \"best_redo\": %d, "
           "\"empty_reseeds\": %zu, \"output\": ",
           o->km.k, dt->d, dt->n, s->n_train, s->mse, s->utilization,
           s->perplexity, s->seconds, s->iterations, s->best_redo,
           s->empty_reseeds);
    cli_json_string(stdout, o->out);
    printf("}\n");
  } else if (!o->quiet) {
    printf("%s: %zu centroids x %zu dims from %zu vectors\n", o->out,
           o->km.k, dt->d, dt->n);
    printf("  mse %.6g", s->mse);
    if (o->use_patches && s->mse > 0)
      printf(" (PSNR %.2f dB)", 10.0 * log10(255.0 * 255.0 / s->mse));
    printf(", utilization %.1f%%, perplexity %.1f, %d iterations, %.2f s\n",
           100.0 * s->utilization, s->perplexity, s->iterations, s->seconds);
  }
}

static int train_and_save(opts *o, const data *dt, const float *w) {
  vq_diag diag = {{0}};
  vq_kmeans_stats st;
  vq_codebook *cb;
  int open_line = 0;
  int rc = vq_codebook_create(&cb, "kmeans", o->km.k, dt->d);
  if (rc < 0) return cli_fail(prog, rc, NULL, "codebook");
  if (cli_show_progress(o->quiet || o->json, o->verbose)) {
    o->km.progress = progress;
    o->km.progress_user = &open_line;
  }
  rc = vq_kmeans_train(vq_codebook_data(cb), &st, &o->km, dt->x, dt->n,
                       dt->d, w, &diag);
  if (open_line) fputc('\n', stderr);
  if (rc == 0) rc = add_meta(cb, o, dt, &st);
  if (rc == 0) rc = vq_codebook_save(cb, o->out, &diag);
  vq_codebook_destroy(cb);
  if (rc < 0) return cli_fail(prog, rc, &diag, "k-means");
  report(o, dt, &st);
  if (st.utilization < 1.0 && !o->quiet && !o->json)
    fprintf(stderr, "%s: warning: %.1f%% of centroids are unused (fewer "
            "distinct vectors than k?)\n", prog, 100.0 * (1 - st.utilization));
  return 0;
}

static int cmd_kmeans(int argc, char **argv) {
  opts o;
  data dt;
  vq_array *w = NULL;
  int rc;
  memset(&o, 0, sizeof o);
  memset(&dt, 0, sizeof dt);
  if (vq_kmeans_params_init(&o.km) || vq_patch_params_init(&o.patch))
    return cli_error(prog, "library ABI mismatch"), VQ_EXIT_USAGE;
  if ((rc = parse_args(&o, argc, argv)) >= 0) return rc;
  if (o.stages || o.beam || o.refine || o.pq_m || o.opq) {
    cli_error(prog, "kmeans: --stages, --beam and --refine are rvq "
              "options, -m and --opq pq ones");
    return VQ_EXIT_USAGE;
  }
  if (o.km.kernel != VQ_KERNEL_AUTO) {
    vq_index *probe;
    float one = 0.0f;
    if (vq_index_create(&probe, &one, 1, 1, o.km.kernel) < 0) {
      cli_error(prog, "--kernel: not available on this CPU or build");
      return VQ_EXIT_USAGE;
    }
    vq_index_destroy(probe);
  }
  rc = load_input(&dt, &o);
  if (rc == 0 && o.weights) rc = load_weights(&w, o.weights, dt.n);
  if (rc == 0) rc = train_and_save(&o, &dt, w ? w->data : NULL);
  vq_array_destroy(w);
  vq_array_destroy(dt.arr);
  free(dt.own);
  return rc;
}

/* ---- vqtrain rvq ------------------------------------------------------- */

static void report_rvq(const opts *o, const data *dt, const vq_rvq_stats *s) {
  int i;
  if (o->json) {
    printf("{\"kind\": \"rvq\", \"stages\": %d, \"k\": %zu, \"d\": %zu, "
           "\"n\": %zu, \"beam\": %d, \"mse\": %.10g, \"mse_per_stage\": [",
           s->stages, o->km.k, dt->d, dt->n, o->beam, s->mse);
    for (i = 0; i < s->stages; i++)
      printf("%s%.10g", i ? ", " : "", s->mse_stage[i]);
    printf("], \"utilization_per_stage\": [");
    for (i = 0; i < s->stages; i++)
      printf("%s%.6f", i ? ", " : "", s->utilization[i]);
    printf("], \"mse_before_refine\": %.10g, \"refine_rounds\": %d, "
           "\"seconds\": %.4f, \"output\": ", s->mse_before_refine,
           s->refine_rounds, s->seconds);
    cli_json_string(stdout, o->out);
    printf("}\n");
  } else if (!o->quiet) {
    printf("%s: %d stages of %zu codewords x %zu dims from %zu vectors\n",
           o->out, s->stages, o->km.k, dt->d, dt->n);
    for (i = 0; i < s->stages; i++)
      printf("  stage %d: mse %.6g, utilization %.1f%%\n", i + 1,
             s->mse_stage[i], 100.0 * s->utilization[i]);
    if (s->refine_rounds)
      printf("  refined in %d rounds: mse %.6g -> %.6g\n", s->refine_rounds,
             s->mse_before_refine, s->mse);
    printf("  mse %.6g (beam %d), %.2f s\n", s->mse, o->beam, s->seconds);
  }
}

static int rvq_meta(vq_codebook *cb, const opts *o, const data *dt,
                    const vq_rvq_stats *st) {
  char list[VQ_RVQ_MAX_STAGES * 24];
  size_t len;
  int rc = 0, i;
  rc |= set_meta(cb, "rvq.stages", "%d", st->stages);
  rc |= set_meta(cb, "rvq.k", "%zu", o->km.k);
  rc |= set_meta(cb, "rvq.iters", "%d", o->km.iters);
  rc |= set_meta(cb, "rvq.seed", "%llu", (unsigned long long)o->km.seed);
  rc |= set_meta(cb, "rvq.beam", "%d", o->beam);
  rc |= set_meta(cb, "rvq.init", "%s,%s",
                 o->km.init == VQ_INIT_RANDOM ? "random" : "kmeans++",
                 o->init_residual == VQ_INIT_RANDOM ? "random" : "kmeans++");
  rc |= set_meta(cb, "rvq.refine_rounds", "%d", st->refine_rounds);
  rc |= set_meta(cb, "train.n", "%zu", dt->n);
  rc |= set_meta(cb, "train.mse", "%.17g", st->mse);
  for (i = 0, len = 0; i < st->stages; i++)
    len += (size_t)snprintf(list + len, sizeof list - len, "%s%.9g",
                            i ? "," : "", st->mse_stage[i]);
  rc |= vq_codebook_set_meta(cb, "train.mse_per_stage", list);
  for (i = 0, len = 0; i < st->stages; i++)
    len += (size_t)snprintf(list + len, sizeof list - len, "%s%.6f",
                            i ? "," : "", st->utilization[i]);
  rc |= vq_codebook_set_meta(cb, "train.utilization_per_stage", list);
  rc |= patch_meta(cb, o);
  return rc ? VQ_ERR_NOMEM : VQ_OK;
}

static int cmd_rvq(int argc, char **argv) {
  vq_diag diag = {{0}};
  vq_rvq_params rp;
  vq_rvq_stats st;
  vq_codebook *cb = NULL;
  opts o;
  data dt;
  int rc, open_line = 0;
  memset(&o, 0, sizeof o);
  memset(&dt, 0, sizeof dt);
  if (vq_kmeans_params_init(&o.km) || vq_patch_params_init(&o.patch) ||
      vq_rvq_params_init(&rp))
    return cli_error(prog, "library ABI mismatch"), VQ_EXIT_USAGE;
  o.stages = rp.stages;
  o.beam = 1;
  o.init_residual = rp.init_residual;
  if ((rc = parse_args(&o, argc, argv)) >= 0) return rc;
  if (o.weights || o.km.spherical || o.km.nredo > 1 || o.pq_m || o.opq) {
    cli_error(prog, "rvq: --weights, --spherical and --nredo are k-means "
              "options, -m and --opq pq ones");
    return VQ_EXIT_USAGE;
  }
  rc = load_input(&dt, &o);
  if (rc) goto done;
  rp.stages = o.stages;
  rp.k = o.km.k;
  rp.iters = o.km.iters;
  rp.seed = o.km.seed;
  rp.beam = o.beam;
  rp.refine = o.refine;
  rp.max_per_centroid = o.km.max_per_centroid;
  rp.init = o.km.init;
  rp.init_residual = o.init_residual;
  rp.init_per_centroid = o.km.init_per_centroid;
  rp.tol = o.km.tol;
  rp.nthreads = o.km.nthreads;
  if (cli_show_progress(o.quiet || o.json, o.verbose)) {
    rp.progress = progress;
    rp.progress_user = &open_line;
  }
  if ((size_t)o.stages * o.km.k > ((size_t)1 << 31)) {
    cli_error(prog, "rvq: %d stages of %zu codewords is too many",
              o.stages, o.km.k);
    rc = VQ_EXIT_USAGE;
    goto done;
  }
  rc = vq_codebook_create(&cb, "rvq", (size_t)o.stages * o.km.k, dt.d);
  if (rc < 0) {
    rc = cli_fail(prog, rc, NULL, "codebook");
    goto done;
  }
  rc = vq_rvq_train(vq_codebook_data(cb), &st, &rp, dt.x, dt.n, dt.d, &diag);
  if (open_line) fputc('\n', stderr);
  if (rc == 0) rc = rvq_meta(cb, &o, &dt, &st);
  if (rc == 0) rc = vq_codebook_save(cb, o.out, &diag);
  if (rc < 0) {
    rc = cli_fail(prog, rc, &diag, "rvq");
    goto done;
  }
  report_rvq(&o, &dt, &st);
done:
  vq_codebook_destroy(cb);
  vq_array_destroy(dt.arr);
  free(dt.own);
  return rc;
}

static int cmd_pq(int argc, char **argv) {
  vq_diag diag = {{0}};
  vq_pq_params pp;
  vq_pq_stats st;
  vq_codebook *cb = NULL;
  float *rot = NULL;
  opts o;
  data dt;
  int rc = 0, open_line = 0;
  memset(&o, 0, sizeof o);
  memset(&dt, 0, sizeof dt);
  if (vq_kmeans_params_init(&o.km) || vq_patch_params_init(&o.patch) ||
      vq_pq_params_init(&pp))
    return cli_error(prog, "library ABI mismatch"), VQ_EXIT_USAGE;
  o.pq_m = pp.m;
  o.opq_rounds = 10;
  if ((rc = parse_args(&o, argc, argv)) >= 0) return rc;
  if (o.weights || o.km.spherical || o.km.nredo > 1 || o.stages != 0 ||
      o.beam || o.refine) {
    cli_error(prog, "pq: --weights, --spherical, --nredo, --stages, --beam "
              "and --refine do not apply");
    return VQ_EXIT_USAGE;
  }
  rc = load_input(&dt, &o);
  if (rc) goto done;
  if (dt.d % (size_t)o.pq_m) {
    cli_error(prog, "pq: -m %d does not divide the dimension %zu", o.pq_m,
              dt.d);
    rc = VQ_EXIT_USAGE;
    goto done;
  }
  pp.m = o.pq_m;
  pp.k = o.km.k;
  pp.iters = o.km.iters;
  pp.seed = o.km.seed;
  pp.init = o.km.init;
  if (o.km.max_per_centroid) pp.max_per_centroid = o.km.max_per_centroid;
  pp.opq = o.opq ? o.opq_rounds : 0;
  pp.nthreads = o.km.nthreads;
  if (cli_show_progress(o.quiet || o.json, o.verbose)) {
    pp.progress = progress;
    pp.progress_user = &open_line;
  }
  rc = vq_codebook_create(&cb, o.opq ? "opq" : "pq",
                          (size_t)o.pq_m * o.km.k, dt.d / (size_t)o.pq_m);
  if (rc == 0 && o.opq && !(rot = malloc(dt.d * dt.d * sizeof *rot)))
    rc = VQ_ERR_NOMEM;
  if (rc < 0) {
    rc = cli_fail(prog, rc, NULL, "codebook");
    goto done;
  }
  rc = vq_pq_train(vq_codebook_data(cb), rot, &st, &pp, dt.x, dt.n, dt.d,
                   &diag);
  if (open_line) fputc('\n', stderr);
  if (rc == 0 && rot) rc = vq_codebook_set_rotation(cb, rot, dt.d);
  if (rc == 0) {
    rc |= set_meta(cb, "pq.m", "%d", o.pq_m);
    rc |= set_meta(cb, "pq.k", "%zu", o.km.k);
    rc |= set_meta(cb, "pq.d", "%zu", dt.d);
    rc |= set_meta(cb, "pq.iters", "%d", o.km.iters);
    rc |= set_meta(cb, "pq.seed", "%llu", (unsigned long long)o.km.seed);
    rc |= set_meta(cb, "pq.opq_rounds", "%d", st.opq_rounds);
    rc |= set_meta(cb, "train.n", "%zu", dt.n);
    rc |= set_meta(cb, "train.mse", "%.17g", st.mse);
    rc |= set_meta(cb, "train.utilization", "%.17g", st.utilization);
    rc = rc ? VQ_ERR_NOMEM : VQ_OK;
  }
  if (rc == 0) rc = vq_codebook_save(cb, o.out, &diag);
  if (rc < 0) {
    rc = cli_fail(prog, rc, &diag, "pq");
    goto done;
  }
  if (o.json)
    printf("{\"n\": %zu, \"d\": %zu, \"m\": %d, \"k\": %zu, \"mse\": "
           "%.10g, \"utilization\": %.6f, \"opq_rounds\": %d, "
           "\"orthogonality\": %.3g, \"seconds\": %.6f}\n", dt.n, dt.d,
           o.pq_m, o.km.k, st.mse, st.utilization, st.opq_rounds,
           st.orthogonality, st.seconds);
  else if (!o.quiet)
    printf("pq: %zu vectors of %zu, %d sub-spaces of %zu codewords%s: mse "
           "%.6g, utilization %.2f%%, %.2f s\n", dt.n, dt.d, o.pq_m, o.km.k,
           o.opq ? " after OPQ" : "", st.mse, 100.0 * st.utilization,
           st.seconds);
done:
  vq_codebook_destroy(cb);
  vq_array_destroy(dt.arr);
  free(dt.own);
  free(rot);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return VQ_EXIT_USAGE;
  }
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    cli_print_version(prog);
    return 0;
  }
  if (!strcmp(argv[1], "kmeans")) return cmd_kmeans(argc - 1, argv + 1);
  if (!strcmp(argv[1], "rvq")) return cmd_rvq(argc - 1, argv + 1);
  if (!strcmp(argv[1], "pq")) return cmd_pq(argc - 1, argv + 1);
  cli_error(prog, "unknown command '%s' (try 'vqtrain --help')", argv[1]);
  return VQ_EXIT_USAGE;
}
