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
"Usage: vqtrain kmeans -k K [options] DATA.npy... -o CODEBOOK.safetensors\n"
"       vqtrain kmeans -k K --patch P [options] IMAGE|FOLDER... -o OUT\n"
"       vqtrain rvq --stages M -k K [options] DATA.npy|IMAGE... -o OUT\n"
"       vqtrain pq -m M -k K [--opq] [options] DATA.npy -o OUT\n"
"       vqtrain reduce -k K [options] BIG.safetensors|BIG.npy -o OUT\n"
"\n"
"Trains a k-means codebook, a residual quantizer of M stages of K\n"
"codewords (each stage k-means on the residuals of the stages before), or\n"
"a product quantizer of M sub-spaces of K codewords (with --opq after a\n"
"learnt rotation); or reduces a large codebook (a k-means codebook, or\n"
"codewords [K0, D] in a .npy, say exported from a VQGAN) to K codewords\n"
"by k-means over its codewords, writing the map from old to new indices\n"
"(int32 [K0], --map, default OUT.map.npy).\n"
"DATA.npy holds float vectors [N, D], or a latent [C, H, W] (a batch\n"
"[B, C, H, W]; --layout hwc for channels last) whose C-vectors are the\n"
"data; several .npy files are joined. Images (PNG, JPEG, PPM, PGM, or\n"
"folders of them) are cut into P x P patches.\n"
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
"  --projector P           kmeans, rvq: none (default), pca:D (train on\n"
"                          the D leading principal axes), simvq\n"
"                          (codewords C = [Z 1] W, W re-solved by least\n"
"                          squares at every iteration), or pca:D+simvq\n"
"  --whiten                with pca:D, scale the axes to unit variance\n"
"  --layout chw|hwc|nd     how a .npy holds its vectors (default: nd for\n"
"                          [N, D], chw for 3 and 4 axes)\n"
"  --map FILE              reduce: where to write the old-to-new map\n"
"  --init kmeans++|random  initialisation (default kmeans++, random with\n"
"                          simvq; rvq: of the first stage)\n"
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
"  --min-share F           kmeans, rvq: re-seed clusters holding at most F\n"
"                          times the mean by splitting heavy ones, so that\n"
"                          more codewords are used on new data (0 to\n"
"                          0.999; default 0: only empty ones)\n"
"  --min-files M           kmeans: re-seed likewise the clusters no heavier\n"
"                          than the mean whose vectors come from fewer than\n"
"                          M of the input files (images), so that codewords\n"
"                          serve what several share (default: off)\n"
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
  int init_given;              /* --init was given */
  int simvq, pca_dim, whiten;  /* --projector, --whiten */
  cli_layout layout;           /* --layout */
  const char *map;             /* reduce: --map */
  const char *reduce_sha;      /* reduce: SHA-256 of the source codebook */
  vq_patch_params patch;
  int use_patches, json, quiet, verbose;
  const char *out, *weights;
  char **inputs;
  int ninputs;
  int min_files;               /* --min-files */
} opts;

enum {
  OPT_ITERS = 256, OPT_INIT, OPT_NREDO, OPT_TOL, OPT_SEED, OPT_THREADS,
  OPT_MAXPC, OPT_INITPC, OPT_SPHERICAL, OPT_WEIGHTS, OPT_PATCH, OPT_STRIDE, OPT_RGB,
  OPT_MEANREM, OPT_KERNEL, OPT_JSON, OPT_VERSION, OPT_STAGES, OPT_BEAM,
  OPT_REFINE, OPT_INITRES, OPT_OPQ, OPT_OPQROUNDS, OPT_PROJECTOR, OPT_WHITEN,
  OPT_LAYOUT, OPT_MAP, OPT_MINSHARE, OPT_MINFILES
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
  {"min-share", required_argument, 0, OPT_MINSHARE},
  {"min-files", required_argument, 0, OPT_MINFILES},
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
  {"projector", required_argument, 0, OPT_PROJECTOR},
  {"whiten", no_argument, 0, OPT_WHITEN},
  {"layout", required_argument, 0, OPT_LAYOUT},
  {"map", required_argument, 0, OPT_MAP},
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

/* --projector: none, simvq, pca:D, or both joined by '+'. */
static int parse_projector(opts *o, const char *arg) {
  const char *p = arg;
  o->simvq = 0, o->pca_dim = 0;
  if (!strcmp(arg, "none")) return 0;
  while (*p) {
    const char *e = strchr(p, '+');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char item[32];
    if (len == 0 || len >= sizeof item) break;
    memcpy(item, p, len);
    item[len] = 0;
    if (!strcmp(item, "simvq") && !o->simvq) {
      o->simvq = 1;
    } else if (!strncmp(item, "pca:", 4) && !o->pca_dim) {
      if (cli_parse_int(prog, "--projector pca:D", item + 4, 1,
                        VQ_PCA_MAX_DIM, &o->pca_dim))
        return 1;
    } else {
      break;
    }
    if (!e) return 0;
    p = e + 1;
  }
  cli_error(prog, "--projector: expected none, simvq, pca:D or "
            "pca:D+simvq, got '%s'", arg);
  return 1;
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
    case OPT_PROJECTOR: return parse_projector(o, arg) ? 1 : -1;
    case OPT_WHITEN: o->whiten = 1; return -1;
    case OPT_MAP: o->map = arg; return -1;
    case OPT_LAYOUT:
      return cli_parse_layout(prog, "--layout", arg, 1, &o->layout) ? 1 : -1;
    case OPT_INIT:
    case OPT_INITRES: {
      vq_kmeans_init *to = c == OPT_INIT ? &o->km.init : &o->init_residual;
      if (c == OPT_INIT) o->init_given = 1;
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
    case OPT_MINSHARE:
      return cli_parse_double(prog, "--min-share", arg, 0.0, 0.999,
                              &o->km.min_share) ? 1 : -1;
    case OPT_MINFILES:
      return cli_parse_int(prog, "--min-files", arg, 2, 1 << 30,
                           &o->min_files) ? 1 : -1;
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
  if (o->whiten && !o->pca_dim)
    return cli_error(prog, "--whiten needs --projector pca:D"), 1;
  if (o->simvq && !o->init_given) o->km.init = VQ_INIT_RANDOM;
  o->km.simvq = o->simvq;
  return -1;
}

/* Training data: vectors [n, d] owned here or by an array; ends[f] is
 * the number of vectors once file f was read. */
typedef struct data {
  vq_array *arr;
  float *own;
  const float *x;
  size_t n, d;
  size_t *ends;
  int nfiles;
} data;

/* Records the end of a file's vectors; an exit status. */
static int file_done(data *dt) {
  size_t *e = realloc(dt->ends, ((size_t)dt->nfiles + 1) * sizeof *e);
  if (!e) {
    cli_error(prog, "out of memory");
    return VQ_EXIT_DATA;
  }
  dt->ends = e;
  dt->ends[dt->nfiles++] = dt->n;
  return 0;
}

/* Appends the vectors of one .npy to dt: [N, D] rows (more axes
 * flattened with --layout nd), or a latent [C, H, W] / [B, C, H, W] whose
 * C-vectors are the rows ([H, W, C] / [B, H, W, C] with --layout hwc). A
 * single 2-D file is used in place. */
static int load_npy(data *dt, const char *path, cli_layout layout,
                    int single, size_t *cap) {
  vq_diag diag = {{0}};
  vq_array *a;
  size_t c, n, h = 0, w = 0, batch = 1;
  int rc = vq_npy_read(&a, path, VQ_DTYPE_F32, NULL, &diag), chw = 0;
  if (rc < 0) return cli_fail(prog, rc, &diag, path);
  if (a->ndim < 1 || a->count == 0) {
    cli_error(prog, "%s: expected vectors [N, D], found %s", path,
              a->ndim < 1 ? "a scalar" : "an empty array");
    vq_array_destroy(a);
    return VQ_EXIT_DATA;
  }
  if (layout == CLI_LAYOUT_AUTO)
    layout = a->ndim <= 2 ? CLI_LAYOUT_ND : CLI_LAYOUT_CHW;
  if (layout == CLI_LAYOUT_ND || a->ndim < 3) {
    c = a->ndim == 1 ? 1 : (size_t)a->shape[a->ndim - 1];
  } else if (cli_latent_dims(a->ndim, a->shape, layout, &batch, &c, &h,
                             &w) < 0) {
    cli_error(prog, "%s: a latent has 3 or 4 axes, not %d", path, a->ndim);
    vq_array_destroy(a);
    return VQ_EXIT_DATA;
  } else {
    chw = layout == CLI_LAYOUT_CHW;
  }
  n = (size_t)(a->count / c);
  if (dt->d && c != dt->d) {
    cli_error(prog, "%s: vectors of %zu components after ones of %zu", path,
              c, dt->d);
    vq_array_destroy(a);
    return VQ_EXIT_DATA;
  }
  dt->d = c;
  if (single && !chw) { /* in place */
    dt->arr = a, dt->n = n, dt->x = a->data;
    return 0;
  }
  if (n > (SIZE_MAX / sizeof(float)) / c - dt->n) rc = VQ_ERR_LIMIT;
  if (rc == 0 && (dt->n + n) * c > *cap) {
    size_t nc = (dt->n + n) * c * 2;
    float *p = realloc(dt->own, nc * sizeof(float));
    if (!p) rc = VQ_ERR_NOMEM;
    else dt->own = p, *cap = nc;
  }
  if (rc < 0) {
    vq_array_destroy(a);
    return cli_fail(prog, rc, NULL, path);
  }
  if (chw) cli_chw_to_rows(dt->own + dt->n * c, a->data, batch, c, h * w);
  else memcpy(dt->own + dt->n * c, a->data, n * c * sizeof(float));
  dt->n += n, dt->x = dt->own;
  vq_array_destroy(a);
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
    if (kind == CLI_KIND_IMAGE) {
      rc = add_image(dt, files[i], pp, &cap);
      if (rc == 0) rc = file_done(dt);
    } else {
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

/* The training vectors: patches of the images, or the .npy files. */
static int load_input(data *dt, const opts *o) {
  size_t cap = 0;
  int i, rc = 0;
  if (o->use_patches)
    return load_images(dt, o->inputs, o->ninputs, &o->patch);
  for (i = 0; i < o->ninputs && rc == 0; i++) {
    int kind = cli_sniff(o->inputs[i]);
    if (kind == CLI_KIND_IMAGE || kind == CLI_KIND_DIR) {
      cli_error(prog, "%s: images need --patch P", o->inputs[i]);
      return VQ_EXIT_USAGE;
    }
    rc = load_npy(dt, o->inputs[i], o->layout, o->ninputs == 1, &cap);
    if (rc == 0) rc = file_done(dt);
  }
  return rc;
}

/* --projector pca:D: the fitted projector and the training vectors in
 * its space, which the quantizer trains on (dt->x and dt->d are switched
 * to them; x and din keep the originals). */
typedef struct proj {
  size_t din, dz;
  const float *x;
  float *mean, *enc, *dec, *z;
  double kept;           /* share of the variance on the kept axes */
} proj;

static void proj_free(proj *pj) {
  free(pj->mean), free(pj->enc), free(pj->dec), free(pj->z);
}

static int proj_fit(proj *pj, const opts *o, data *dt) {
  vq_diag diag = {{0}};
  double *var = NULL, tot = 0.0, kept = 0.0;
  size_t i, dz = (size_t)o->pca_dim;
  int rc;
  memset(pj, 0, sizeof *pj);
  if (!o->pca_dim) return 0;
  if (dz > dt->d || dt->d > VQ_PCA_MAX_DIM) {
    cli_error(prog, "--projector pca:%d: the vectors have %zu dimensions "
              "(PCA needs D <= %zu and at most %d)", o->pca_dim, dt->d,
              dt->d, VQ_PCA_MAX_DIM);
    return VQ_EXIT_USAGE;
  }
  pj->din = dt->d, pj->dz = dz, pj->x = dt->x;
  pj->mean = malloc(dt->d * sizeof *pj->mean);
  pj->enc = malloc(dt->d * dz * sizeof *pj->enc);
  pj->dec = malloc(dt->d * dz * sizeof *pj->dec);
  pj->z = dt->n <= SIZE_MAX / sizeof(float) / dz
              ? malloc(dt->n * dz * sizeof *pj->z) : NULL;
  var = malloc(dt->d * sizeof *var);
  if (!pj->mean || !pj->enc || !pj->dec || !pj->z || !var) {
    free(var);
    return cli_fail(prog, VQ_ERR_NOMEM, NULL, "PCA");
  }
  rc = vq_pca_train(pj->mean, pj->enc, pj->dec, var, dt->x, dt->n, dt->d,
                    dz, o->whiten, o->km.nthreads, &diag);
  if (rc == 0)
    rc = vq_project(pj->z, dt->x, dt->n, dt->d, dz, pj->mean, pj->enc,
                    o->km.nthreads);
  for (i = 0; i < dt->d; i++) tot += var[i], kept += i < dz ? var[i] : 0.0;
  free(var);
  if (rc < 0) return cli_fail(prog, rc, &diag, "PCA");
  pj->kept = tot > 0.0 ? kept / tot : 1.0;
  dt->x = pj->z, dt->d = dz;
  return 0;
}

/* The projector's tensors and metadata in the codebook. */
static int proj_save(vq_codebook *cb, const proj *pj, const opts *o);

/* The error in the original space of every prefix of the stages of a
 * codebook trained after the projector: mse[s] for stages 1..s+1. */
static int proj_mse(const proj *pj, const float *cb, int stages, size_t k,
                    int beam, int nt, size_t n, double *mse) {
  int32_t *codes = malloc(n * (size_t)stages * sizeof *codes);
  float *zr = malloc(n * pj->dz * sizeof *zr);
  float *xr = malloc(n * pj->din * sizeof *xr);
  int rc = codes && zr && xr ? 0 : VQ_ERR_NOMEM, s;
  if (rc == 0)
    rc = vq_rvq_encode(codes, NULL, cb, stages, k, pj->dz, pj->z, n, beam,
                       nt);
  for (s = 1; s <= stages && rc == 0; s++) {
    double sse = 0.0;
    size_t i;
    rc = vq_rvq_decode(zr, codes, stages, s, cb, k, pj->dz, n);
    if (rc == 0)
      rc = vq_unproject(xr, zr, n, pj->din, pj->dz, pj->mean, pj->dec, nt);
    for (i = 0; rc == 0 && i < n * pj->din; i++) {
      double t = (double)xr[i] - pj->x[i];
      sse += t * t;
    }
    mse[s - 1] = sse / ((double)n * (double)pj->din);
  }
  free(codes), free(zr), free(xr);
  return rc;
}

/* The projector's JSON fields, each followed by ", ". */
static void proj_json(const opts *o, const proj *pj, double zmse) {
  printf("\"projector\": \"%s\", ", pj->dz && o->simvq ? "pca+simvq"
         : pj->dz ? "pca" : o->simvq ? "simvq" : "none");
  if (pj->dz)
    printf("\"input_dim\": %zu, \"whiten\": %s, \"variance_kept\": %.6f, "
           "\"mse_projected\": %.10g, ", pj->din, o->whiten ? "true" : "false",
           pj->kept, zmse);
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

static int proj_save(vq_codebook *cb, const proj *pj, const opts *o) {
  int rc = 0;
  if (o->simvq && (rc = vq_codebook_set_meta(cb, "simvq", "1")) < 0)
    return rc;
  if (!pj->dz) return 0;
  rc |= vq_codebook_set_tensor(cb, "projector.mean", pj->mean, 1, pj->din);
  rc |= vq_codebook_set_tensor(cb, "projector.encode", pj->enc, pj->din,
                               pj->dz);
  rc |= vq_codebook_set_tensor(cb, "projector.decode", pj->dec, pj->dz,
                               pj->din);
  rc |= vq_codebook_set_meta(cb, "projector", "pca");
  rc |= set_meta(cb, "projector.dim", "%zu", pj->dz);
  rc |= set_meta(cb, "projector.input_dim", "%zu", pj->din);
  rc |= set_meta(cb, "projector.whiten", "%d", o->whiten);
  rc |= set_meta(cb, "projector.variance_kept", "%.9g", pj->kept);
  return rc ? VQ_ERR_NOMEM : VQ_OK;
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
  if (p->min_share > 0.0)
    rc |= set_meta(cb, "kmeans.min_share", "%.17g", p->min_share);
  if (o->min_files) rc |= set_meta(cb, "kmeans.min_files", "%d", o->min_files);
  rc |= set_meta(cb, "train.n", "%zu", dt->n);
  rc |= set_meta(cb, "train.mse", "%.17g", st->mse);
  rc |= set_meta(cb, "train.utilization", "%.17g", st->utilization);
  rc |= set_meta(cb, "train.perplexity", "%.17g", st->perplexity);
  rc |= set_meta(cb, "train.iterations", "%d", st->iterations);
  if (o->reduce_sha) {
    rc |= vq_codebook_set_meta(cb, "reduce.source_sha256", o->reduce_sha);
    rc |= set_meta(cb, "reduce.source_k", "%zu", dt->n);
  }
  rc |= patch_meta(cb, o);
  return rc ? VQ_ERR_NOMEM : VQ_OK;
}

static void report(const opts *o, const data *dt, const vq_kmeans_stats *s,
                   const proj *pj, double zmse) {
  if (o->json) {
    printf("{\"k\": %zu, \"d\": %zu, \"n\": %zu, \"n_train\": %zu, "
           "\"mse\": %.10g, \"utilization\": %.6f, \"perplexity\": %.4f, "
           "\"seconds\": %.4f, \"iterations\": %d, \"best_redo\": %d, "
           "\"empty_reseeds\": %zu, ",
           o->km.k, dt->d, dt->n, s->n_train, s->mse, s->utilization,
           s->perplexity, s->seconds, s->iterations, s->best_redo,
           s->empty_reseeds);
    proj_json(o, pj, zmse);
    printf("\"output\": ");
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

static int train_and_save(opts *o, const data *dt, const float *w,
                          const proj *pj) {
  vq_diag diag = {{0}};
  vq_kmeans_stats st;
  vq_codebook *cb;
  double zmse = 0.0;
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
  zmse = st.mse;
  if (rc == 0 && pj->dz)
    rc = proj_mse(pj, vq_codebook_cdata(cb), 1, o->km.k, 1, o->km.nthreads,
                  dt->n, &st.mse);
  if (rc == 0) rc = add_meta(cb, o, dt, &st);
  if (rc == 0) rc = proj_save(cb, pj, o);
  if (rc == 0 && pj->dz)
    rc = set_meta(cb, "train.mse_projected", "%.17g", zmse) ? VQ_ERR_NOMEM
                                                           : 0;
  if (rc == 0) rc = vq_codebook_save(cb, o->out, &diag);
  vq_codebook_destroy(cb);
  if (rc < 0) return cli_fail(prog, rc, &diag, "k-means");
  report(o, dt, &st, pj, zmse);
  if (pj->dz && !o->quiet && !o->json)
    printf("  after PCA to %zu of %zu dimensions (%.2f%% of the variance): "
           "mse %.6g there\n", pj->dz, pj->din, 100.0 * pj->kept, zmse);
  if (st.utilization < 1.0 && !o->quiet && !o->json)
    fprintf(stderr, "%s: warning: %.1f%% of centroids are unused (fewer "
            "distinct vectors than k?)\n", prog, 100.0 * (1 - st.utilization));
  return 0;
}

/* Clears what a command fills and sets the k-means and patch defaults;
 * 0, or an exit status when the library and its headers disagree. */
static int start(opts *o, data *dt, proj *pj) {
  memset(o, 0, sizeof *o);
  memset(dt, 0, sizeof *dt);
  if (pj) memset(pj, 0, sizeof *pj);
  if (vq_kmeans_params_init(&o->km) || vq_patch_params_init(&o->patch))
    return cli_error(prog, "library ABI mismatch"), VQ_EXIT_USAGE;
  return 0;
}

/* --min-files: each vector's file as its k-means group. */
static int file_groups(uint32_t **groups, opts *o, const data *dt) {
  size_t i;
  int f = 0;
  if (dt->nfiles < o->min_files) {
    cli_error(prog, "--min-files %d: only %d input file%s", o->min_files,
              dt->nfiles, dt->nfiles == 1 ? "" : "s");
    return VQ_EXIT_USAGE;
  }
  if (!(*groups = malloc((dt->n ? dt->n : 1) * sizeof **groups))) {
    cli_error(prog, "out of memory");
    return VQ_EXIT_DATA;
  }
  for (i = 0; i < dt->n; i++) {
    while (i >= dt->ends[f]) f++;
    (*groups)[i] = (uint32_t)f;
  }
  o->km.groups = *groups;
  o->km.min_groups = o->min_files;
  return 0;
}

static int cmd_kmeans(int argc, char **argv) {
  opts o;
  data dt;
  proj pj;
  vq_array *w = NULL;
  uint32_t *groups = NULL;
  int rc;
  if ((rc = start(&o, &dt, &pj)) != 0) return rc;
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
  if (rc == 0 && o.min_files) rc = file_groups(&groups, &o, &dt);
  if (rc == 0) rc = proj_fit(&pj, &o, &dt);
  if (rc == 0) rc = train_and_save(&o, &dt, w ? w->data : NULL, &pj);
  proj_free(&pj);
  vq_array_destroy(w);
  vq_array_destroy(dt.arr);
  free(dt.own), free(dt.ends), free(groups);
  return rc;
}

/* ---- vqtrain reduce ---------------------------------------------------- */

/* The codewords of a codebook file as training data [K0, D]. */
static int load_codewords(data *dt, vq_codebook **src, opts *o,
                          char sha[65]) {
  vq_diag diag = {{0}};
  uint8_t dig[32];
  const char *path = o->inputs[0];
  int rc, kind = cli_sniff(path);
  if (kind == CLI_KIND_NPY) {
    if ((rc = load_input(dt, o)) != 0) return rc;
  } else {
    if ((rc = vq_codebook_load(src, path, &diag)) < 0)
      return cli_fail(prog, rc, &diag, path);
    if (strcmp(vq_codebook_kind(*src), "kmeans") ||
        vq_codebook_tensor_count(*src)) {
      cli_error(prog, "%s: a %s codebook%s; reduce takes k-means codebooks "
                "or codewords in a .npy", path, vq_codebook_kind(*src),
                vq_codebook_tensor_count(*src) ? " with a projector" : "");
      return VQ_EXIT_DATA;
    }
    dt->x = vq_codebook_cdata(*src);
    dt->n = vq_codebook_k(*src), dt->d = vq_codebook_d(*src);
  }
  if ((rc = vq_sha256_file(dig, path, &diag)) < 0)
    return cli_fail(prog, rc, &diag, path);
  vq_sha256_hex(sha, dig);
  return 0;
}

/* map [K0]: the new codeword nearest to each old one. */
static int write_map(const opts *o, const data *dt) {
  vq_diag diag = {{0}};
  vq_codebook *cb = NULL;
  int32_t *map = malloc(dt->n * sizeof *map);
  char *path = NULL;
  uint64_t shape[1];
  size_t n;
  int rc = map ? vq_codebook_load(&cb, o->out, &diag) : VQ_ERR_NOMEM;
  if (rc == 0)
    rc = vq_nearest(map, NULL, vq_codebook_cdata(cb), vq_codebook_k(cb),
                    dt->d, dt->x, dt->n, o->km.nthreads);
  if (rc == 0 && !o->map) {
    n = strlen(o->out);
    if (cli_ends_with(o->out, ".safetensors")) n -= 12;
    if ((path = malloc(n + 9))) {
      memcpy(path, o->out, n);
      strcpy(path + n, ".map.npy");
    } else {
      rc = VQ_ERR_NOMEM;
    }
  }
  shape[0] = dt->n;
  if (rc == 0)
    rc = vq_npy_write(o->map ? o->map : path, VQ_DTYPE_I32, 1, shape, map,
                      &diag);
  if (rc == 0 && !o->quiet && !o->json)
    printf("  map from %zu old codewords to %zu: %s\n", dt->n,
           vq_codebook_k(cb), o->map ? o->map : path);
  if (rc < 0) {
    rc = cli_fail(prog, rc, &diag, o->map ? o->map : path);
    remove(o->out);
  }
  vq_codebook_destroy(cb);
  free(map), free(path);
  return rc;
}

static int cmd_reduce(int argc, char **argv) {
  vq_codebook *src = NULL;
  vq_array *w = NULL;
  char sha[65];
  opts o;
  data dt;
  proj pj;
  int rc;
  if ((rc = start(&o, &dt, &pj)) != 0) return rc;
  if ((rc = parse_args(&o, argc, argv)) >= 0) return rc;
  if (o.stages || o.beam || o.refine || o.pq_m || o.opq || o.use_patches ||
      o.pca_dim || o.ninputs != 1 || o.min_files) {
    cli_error(prog, "reduce: one codebook in, and none of --stages, --beam, "
              "--refine, -m, --opq, --patch, --projector pca or "
              "--min-files");
    return VQ_EXIT_USAGE;
  }
  rc = load_codewords(&dt, &src, &o, sha);
  o.reduce_sha = sha;
  if (rc == 0 && o.weights) rc = load_weights(&w, o.weights, dt.n);
  if (rc == 0) rc = train_and_save(&o, &dt, w ? w->data : NULL, &pj);
  if (rc == 0) rc = write_map(&o, &dt);
  vq_array_destroy(w);
  vq_array_destroy(dt.arr);
  free(dt.own), free(dt.ends);
  vq_codebook_destroy(src);
  return rc;
}

/* ---- vqtrain rvq ------------------------------------------------------- */

static void report_rvq(const opts *o, const data *dt, const vq_rvq_stats *s,
                       const proj *pj, double zmse) {
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
           "\"seconds\": %.4f, ", s->mse_before_refine, s->refine_rounds,
           s->seconds);
    proj_json(o, pj, zmse);
    printf("\"output\": ");
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
  proj pj;
  double zmse = 0.0;
  int rc, open_line = 0;
  if ((rc = start(&o, &dt, &pj)) != 0) return rc;
  if (vq_rvq_params_init(&rp))
    return cli_error(prog, "library ABI mismatch"), VQ_EXIT_USAGE;
  o.stages = rp.stages;
  o.beam = 1;
  o.init_residual = rp.init_residual;
  if ((rc = parse_args(&o, argc, argv)) >= 0) return rc;
  if (o.weights || o.km.spherical || o.km.nredo > 1 || o.pq_m || o.opq ||
      o.min_files) {
    cli_error(prog, "rvq: --weights, --spherical, --nredo and --min-files "
              "are k-means options, -m and --opq pq ones");
    return VQ_EXIT_USAGE;
  }
  rc = load_input(&dt, &o);
  if (rc == 0) rc = proj_fit(&pj, &o, &dt);
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
  rp.simvq = o.simvq;
  rp.min_share = o.km.min_share;
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
  zmse = st.mse;
  if (rc == 0 && pj.dz) {
    rc = proj_mse(&pj, vq_codebook_cdata(cb), st.stages, o.km.k, o.beam,
                  o.km.nthreads, dt.n, st.mse_stage);
    st.mse = st.mse_stage[st.stages - 1];
  }
  if (rc == 0) rc = rvq_meta(cb, &o, &dt, &st);
  if (rc == 0) rc = proj_save(cb, &pj, &o);
  if (rc == 0 && pj.dz)
    rc = set_meta(cb, "train.mse_projected", "%.17g", zmse) ? VQ_ERR_NOMEM
                                                           : 0;
  if (rc == 0) rc = vq_codebook_save(cb, o.out, &diag);
  if (rc < 0) {
    rc = cli_fail(prog, rc, &diag, "rvq");
    goto done;
  }
  report_rvq(&o, &dt, &st, &pj, zmse);
  if (pj.dz && !o.quiet && !o.json)
    printf("  after PCA to %zu of %zu dimensions (%.2f%% of the variance): "
           "mse %.6g there\n", pj.dz, pj.din, 100.0 * pj.kept, zmse);
done:
  proj_free(&pj);
  vq_codebook_destroy(cb);
  vq_array_destroy(dt.arr);
  free(dt.own), free(dt.ends);
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
  if ((rc = start(&o, &dt, NULL)) != 0) return rc;
  if (vq_pq_params_init(&pp))
    return cli_error(prog, "library ABI mismatch"), VQ_EXIT_USAGE;
  o.pq_m = pp.m;
  o.opq_rounds = 10;
  if ((rc = parse_args(&o, argc, argv)) >= 0) return rc;
  if (o.weights || o.km.spherical || o.km.nredo > 1 || o.stages != 0 ||
      o.beam || o.refine || o.simvq || o.pca_dim || o.km.min_share > 0.0 ||
      o.min_files) {
    cli_error(prog, "pq: --weights, --spherical, --nredo, --stages, --beam, "
              "--refine, --projector, --min-share and --min-files do not "
              "apply (--opq learns its rotation)");
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
  free(dt.own), free(dt.ends);
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
  if (!strcmp(argv[1], "reduce")) return cmd_reduce(argc - 1, argv + 1);
  cli_error(prog, "unknown command '%s' (try 'vqtrain --help')", argv[1]);
  return VQ_EXIT_USAGE;
}
