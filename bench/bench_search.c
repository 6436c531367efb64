/* bench_search: nearest-codeword search throughput and the machine's FMA
 * peak, printed as one JSON object on stdout.
 *
 *   bench_search [--data X.npy --codebook C.npy | -n N -k K -d D]
 *                [--threads T] [--kernel auto|c|avx2|avx512] [--repeat R]
 *   bench_search --peak [--threads T] [--seconds S] [--repeat R]
 *
 * Search: the best of R timed vq_index_search() calls over all N vectors
 * (after one untimed call), as vectors/s and GFLOP/s = 2 N K D / time.
 * Without files, X and C are uniform random in [0, 1).
 * Peak: for each FMA width the CPU has, GFLOP/s of one thread and of T
 * threads running together, each the best of R runs of about S seconds. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <vq/vq.h>
#include "fmapeak.h"

typedef struct opts {
  const char *data, *codebook;
  size_t n, k, d;
  int threads, repeat, peak;
  vq_kernel kernel;
  double seconds;
} opts;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* GFLOP/s of isa on nthreads threads running iters iterations each from a
 * common start (a barrier); the clock covers the slowest thread. */
static double peak_once(fma_isa isa, int nthreads, long iters) {
  double t0 = 0.0, t1 = 0.0, flops = 0.0;
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads) reduction(+ : flops)
#endif
  {
#ifdef _OPENMP
#pragma omp barrier
#pragma omp master
#endif
    t0 = now();
    flops += fma_run(isa, iters);
#ifdef _OPENMP
#pragma omp barrier
#pragma omp master
#endif
    t1 = now();
  }
  return flops / (t1 - t0) / 1e9;
}

/* The best of repeat runs: a peak is a maximum, and other processes on the
 * machine only ever lower a reading. */
static double peak_gflops(fma_isa isa, int nthreads, long iters,
                          int repeat) {
  double best = 0.0, g;
  int r;
  for (r = 0; r < repeat; r++)
    if ((g = peak_once(isa, nthreads, iters)) > best) best = g;
  return best;
}

static int run_peak(const opts *o) {
  static const fma_isa isas[] = {FMA_AVX512, FMA_AVX2};
  double best1 = 0.0, bestn = 0.0;
  int nthreads = o->threads, i, first = 1;
#ifndef _OPENMP
  nthreads = 1;
#endif
  printf("{\"runs\": [");
  for (i = 0; i < 2; i++) {
    fma_isa isa = isas[i];
    long iters = 1000000;
    double t, g1, gn;
    if (!fma_available(isa)) continue;
    /* Calibrate on one thread so that each measured run lasts S seconds. */
    t = now();
    fma_run(isa, iters);
    t = now() - t;
    iters = (long)((double)iters * o->seconds / (t > 1e-6 ? t : 1e-6));
    g1 = peak_gflops(isa, 1, iters, o->repeat);
    gn = peak_gflops(isa, nthreads, iters, o->repeat);
    printf("%s{\"isa\": \"%s\", \"gflops_1t\": %.1f, \"gflops\": %.1f}",
           first ? "" : ", ", fma_isa_name(isa), g1, gn);
    first = 0;
    if (g1 > best1) best1 = g1;
    if (gn > bestn) bestn = gn;
  }
  printf("], \"threads\": %d, \"fma_peak_gflops_1t\": %.1f, "
         "\"fma_peak_gflops\": %.1f}\n", nthreads, best1, bestn);
  return best1 > 0.0 ? 0 : 1;
}

/* Reads a float32 [rows, cols] matrix; *arr owns it. */
static float *load(vq_array **arr, const char *path, size_t *rows,
                   size_t *cols) {
  vq_diag diag = {{0}};
  int err = vq_npy_read(arr, path, VQ_DTYPE_F32, NULL, &diag);
  if (err < 0) {
    fprintf(stderr, "bench_search: %s\n",
            diag.msg[0] ? diag.msg : vq_strerror(err));
    return NULL;
  }
  if ((*arr)->ndim != 2) {
    fprintf(stderr, "bench_search: %s: expected a 2-d array\n", path);
    return NULL;
  }
  *rows = (size_t)(*arr)->shape[0];
  *cols = (size_t)(*arr)->shape[1];
  return (*arr)->data;
}

static float *random_matrix(size_t rows, size_t cols, unsigned *s) {
  float *m = malloc(rows * cols * sizeof(float));
  size_t i;
  if (!m) return NULL;
  for (i = 0; i < rows * cols; i++) {
    *s = *s * 1103515245u + 12345u;
    m[i] = (float)(*s >> 8) / 16777216.0f;
  }
  return m;
}

/* Best time of o->repeat searches of x [n, d] among c [k, d]. */
static int time_search(const opts *o, const float *x, size_t n,
                       const float *c, size_t k, size_t d) {
  int32_t *idx = malloc(n * sizeof(int32_t));
  float *dist = malloc(n * sizeof(float));
  vq_index *ix = NULL;
  double t, best = 1e30;
  int r, err = -1;
  if (!idx || !dist) goto done;
  err = vq_index_create(&ix, c, k, d, o->kernel);
  if (err < 0) {
    fprintf(stderr, "bench_search: %s\n", vq_strerror(err));
    goto done;
  }
  err = vq_index_search(ix, idx, dist, x, n, o->threads); /* warm-up */
  for (r = 0; r < o->repeat && err >= 0; r++) {
    t = now();
    err = vq_index_search(ix, idx, dist, x, n, o->threads);
    t = now() - t;
    if (t < best) best = t;
  }
  if (err < 0) goto done;
  printf("{\"n\": %zu, \"k\": %zu, \"d\": %zu, \"threads\": %d, "
         "\"kernel\": \"%s\", \"seconds\": %.4f, \"vectors_per_s\": %.0f, "
         "\"gflops\": %.1f}\n", n, k, d, o->threads, vq_index_kernel_name(ix),
         best, (double)n / best,
         2.0 * (double)n * (double)k * (double)d / best / 1e9);
done:
  vq_index_destroy(ix);
  free(idx);
  free(dist);
  return err < 0;
}

static int run_search(const opts *o) {
  vq_array *xa = NULL, *ca = NULL;
  float *x = NULL, *c = NULL;
  size_t n = o->n, k = o->k, d = o->d, cd = o->d;
  unsigned seed = 1;
  int rc = 1;
  if (o->data) {
    x = load(&xa, o->data, &n, &d);
    c = x ? load(&ca, o->codebook, &k, &cd) : NULL;
  } else {
    x = random_matrix(n, d, &seed);
    c = x ? random_matrix(k, d, &seed) : NULL;
  }
  if (x && c && cd != d)
    fprintf(stderr, "bench_search: data has d = %zu, codebook %zu\n", d, cd);
  else if (x && c)
    rc = time_search(o, x, n, c, k, d);
  if (!o->data) {
    free(x);
    free(c);
  }
  vq_array_destroy(xa);
  vq_array_destroy(ca);
  return rc;
}

static int parse_kernel(const char *s, vq_kernel *k) {
  static const char *names[] = {"auto", "c", "avx2", "avx512"};
  int i;
  for (i = 0; i < 4; i++)
    if (!strcmp(s, names[i])) {
      *k = (vq_kernel)i;
      return 0;
    }
  return -1;
}

static void usage(FILE *f) {
  fprintf(f,
"Usage: bench_search [--data X.npy --codebook C.npy | -n N -k K -d D]\n"
"                    [--threads T] [--kernel auto|c|avx2|avx512]\n"
"                    [--repeat R]\n"
"       bench_search --peak [--threads T] [--seconds S] [--repeat R]\n"
"Prints search throughput, or the FMA peak, as JSON.\n");
}

static int parse(opts *o, int argc, char **argv) {
  static const struct option lo[] = {
    {"data", required_argument, 0, 'x'},
    {"codebook", required_argument, 0, 'c'},
    {"threads", required_argument, 0, 't'},
    {"kernel", required_argument, 0, 'K'},
    {"repeat", required_argument, 0, 'r'},
    {"seconds", required_argument, 0, 's'},
    {"peak", no_argument, 0, 'p'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}
  };
  int ch;
  while ((ch = getopt_long(argc, argv, "n:k:d:h", lo, NULL)) != -1) {
    switch (ch) {
    case 'n': o->n = (size_t)strtoull(optarg, NULL, 10); break;
    case 'k': o->k = (size_t)strtoull(optarg, NULL, 10); break;
    case 'd': o->d = (size_t)strtoull(optarg, NULL, 10); break;
    case 'x': o->data = optarg; break;
    case 'c': o->codebook = optarg; break;
    case 't': o->threads = atoi(optarg); break;
    case 'r': o->repeat = atoi(optarg); break;
    case 's': o->seconds = atof(optarg); break;
    case 'p': o->peak = 1; break;
    case 'K':
      if (parse_kernel(optarg, &o->kernel) == 0) break;
      fprintf(stderr, "bench_search: unknown kernel %s\n", optarg);
      return -1;
    case 'h': usage(stdout); exit(0);
    default: return -1;
    }
  }
  if (optind != argc || !o->data != !o->codebook || o->threads < 1 ||
      o->repeat < 1 || o->seconds <= 0.0 || !o->n || !o->k || !o->d)
    return -1;
  return 0;
}

int main(int argc, char **argv) {
  opts o = {NULL, NULL, 100000, 1024, 128, 1, 3, 0, VQ_KERNEL_AUTO, 1.0};
  if (parse(&o, argc, argv) < 0) {
    usage(stderr);
    return 1;
  }
  return o.peak ? run_peak(&o) : run_search(&o);
}
