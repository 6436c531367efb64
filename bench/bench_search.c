/* Nearest-codeword search throughput and the machine's FMA peak.
 *
 *   bench_search N K D THREADS [KERNEL]   search N random vectors among K
 *   bench_search --peak THREADS           FMA peak with THREADS threads
 *
 * Prints one JSON object per run. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <vq/vq.h>
#include "fmapeak.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int peak(int threads) {
  double total = 0.0;
  long iters = 200000000L;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  total += fma_peak_flops(iters);
  printf("{\"threads\": %d, \"fma_peak_gflops\": %.1f}\n", threads,
         total / 1e9);
  return 0;
}

static int search(size_t n, size_t k, size_t d, int threads, int kern) {
  float *x = malloc(n * d * sizeof(float)), *c = malloc(k * d * sizeof(float));
  float *dist = malloc(n * sizeof(float));
  int32_t *idx = malloc(n * sizeof(int32_t));
  unsigned s = 1;
  size_t i;
  vq_index *ix;
  double t, best = 1e30;
  int r;
  if (!x || !c || !dist || !idx) return 1;
  for (i = 0; i < n * d; i++) x[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / 16777216.0f;
  for (i = 0; i < k * d; i++) c[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / 16777216.0f;
  if (vq_index_create(&ix, c, k, d, (vq_kernel)kern) < 0) {
    fprintf(stderr, "kernel not available\n");
    return 1;
  }
  vq_index_search(ix, idx, dist, x, n, threads); /* warm up */
  for (r = 0; r < 3; r++) {
    t = now();
    vq_index_search(ix, idx, dist, x, n, threads);
    t = now() - t;
    if (t < best) best = t;
  }
  printf("{\"n\": %zu, \"k\": %zu, \"d\": %zu, \"threads\": %d, "
         "\"kernel\": \"%s\", \"seconds\": %.4f, \"vectors_per_s\": %.0f, "
         "\"gflops\": %.1f}\n", n, k, d, threads, vq_index_kernel_name(ix),
         best, (double)n / best, 2.0 * (double)n * (double)k * (double)d /
         best / 1e9);
  vq_index_destroy(ix);
  free(x), free(c), free(dist), free(idx);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--peak")) return peak(atoi(argv[2]));
  if (argc == 5 || argc == 6)
    return search((size_t)atol(argv[1]), (size_t)atol(argv[2]),
                  (size_t)atol(argv[3]), atoi(argv[4]),
                  argc == 6 ? atoi(argv[5]) : 0);
  fprintf(stderr, "usage: bench_search N K D THREADS [KERNEL 0-3] | "
          "--peak THREADS\n");
  return 1;
}
