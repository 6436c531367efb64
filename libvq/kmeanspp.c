/* Greedy k-means++ seeding (as scikit-learn): each step draws 2 + ln k
 * candidates in proportion to w * D^2 and keeps the one that lowers the
 * potential most.
 *
 * The cost is in the candidate distances, n x trials per step; they are
 * computed as ||x||^2 + ||c||^2 - 2 x.c with the register-tiled dot kernel.
 * Sums run over fixed chunks of vectors, chunk totals added in chunk
 * order, so the result does not depend on the number of threads. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "kmeanspp.h"

#define CHUNK 4096
#define MAX_TRIALS 16

typedef struct seeder {
  const float *x, *w, *xnorm;
  size_t n, d, k, trials, nchunks;
  const vq_dist_impl *impl;
  int nt;
  float *pot;        /* D^2 to the nearest chosen centre, n */
  double *prefix;    /* running sums of w * D^2, n */
  float *cd;         /* candidate distances, n x trials */
  float *cand;       /* candidate vectors, trials x d */
  double *part;      /* per-chunk sums, nchunks x trials */
} seeder;

static double wt(const seeder *s, size_t i) { return s->w ? s->w[i] : 1.0; }

/* prefix[i] = sum of w_j pot_j for j <= i, per chunk then offset in chunk
 * order. Returns the total. */
static double mass_prefix(seeder *s) {
  long c;
  double off = 0.0;
#pragma omp parallel for num_threads(s->nt)
  for (c = 0; c < (long)s->nchunks; c++) {
    size_t i = (size_t)c * CHUNK, e = VQ_MIN(s->n, i + CHUNK);
    double t = 0.0;
    for (; i < e; i++) s->prefix[i] = (t += wt(s, i) * s->pot[i]);
    s->part[c] = t;
  }
  for (c = 0; c < (long)s->nchunks; c++) {
    size_t i = (size_t)c * CHUNK, e = VQ_MIN(s->n, i + CHUNK);
    double t = s->part[c];
    if (c)
      for (; i < e; i++) s->prefix[i] += off;
    off += t;
  }
  return off;
}

/* Index of the vector where the running mass first exceeds r. */
static size_t pick(const seeder *s, double r) {
  size_t lo = 0, hi = s->n - 1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->prefix[mid] > r) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/* Distances of every vector to m candidates, and per chunk the potential
 * each candidate would leave. */
static void candidate_dists(seeder *s, size_t m) {
  float cn[MAX_TRIALS];
  size_t l;
  long c;
  for (l = 0; l < m; l++) cn[l] = vq_dist_norm2(s->cand + l * s->d, s->d);
#pragma omp parallel for schedule(dynamic, 1) num_threads(s->nt)
  for (c = 0; c < (long)s->nchunks; c++) {
    size_t i0 = (size_t)c * CHUNK, e = VQ_MIN(s->n, i0 + CHUNK), i, q;
    double sum[MAX_TRIALS] = {0};
    float *cd = s->cd + i0 * m;
    s->impl->dots(cd, s->x + i0 * s->d, e - i0, s->d, s->cand, m);
    for (i = i0; i < e; i++, cd += m)
      for (q = 0; q < m; q++) {
        float v = s->xnorm[i] + cn[q] - 2.0f * cd[q];
        v = v > 0.0f ? v : 0.0f;
        cd[q] = v;
        sum[q] += wt(s, i) * (v < s->pot[i] ? v : s->pot[i]);
      }
    for (q = 0; q < m; q++) s->part[(size_t)c * m + q] = sum[q];
  }
}

static void step(seeder *s, float *centre, vq_rng *rng, double total) {
  size_t m = s->trials, l, best = 0, c, i;
  double best_pot = INFINITY;
  for (l = 0; l < m; l++) {
    size_t j = pick(s, vq_rng_double(rng) * total);
    memcpy(s->cand + l * s->d, s->x + j * s->d, s->d * sizeof(float));
  }
  candidate_dists(s, m);
  for (l = 0; l < m; l++) {
    double pot = 0.0;
    for (c = 0; c < s->nchunks; c++) pot += s->part[c * m + l];
    if (pot < best_pot) best_pot = pot, best = l;
  }
  memcpy(centre, s->cand + best * s->d, s->d * sizeof(float));
  for (i = 0; i < s->n; i++) {
    float v = s->cd[i * m + best];
    if (v < s->pot[i]) s->pot[i] = v;
  }
}

int vq_kmeanspp(float *centroids, const float *x, const float *w,
                const float *xnorm, size_t n, size_t d, size_t k,
                vq_rng *rng, int nthreads, const vq_dist_impl *impl) {
  seeder s;
  size_t ci, i;
  int rc = VQ_OK;
  memset(&s, 0, sizeof s);
  s.x = x, s.w = w, s.xnorm = xnorm, s.n = n, s.d = d, s.k = k;
  s.impl = impl, s.nt = nthreads;
  s.trials = VQ_MIN(MAX_TRIALS, 2 + (size_t)log((double)k));
  s.nchunks = (n + CHUNK - 1) / CHUNK;
  s.pot = vq_malloc_array(n, sizeof(float));
  s.prefix = vq_malloc_array(n, sizeof(double));
  s.cd = vq_malloc_array(n, s.trials * sizeof(float));
  s.cand = vq_aligned_array(s.trials, d * sizeof(float));
  s.part = vq_malloc_array(s.nchunks, s.trials * sizeof(double));
  if (!s.pot || !s.prefix || !s.cd || !s.cand || !s.part) {
    rc = VQ_ERR_NOMEM;
    goto done;
  }
  /* first centre: in proportion to the weights */
  for (i = 0; i < n; i++) s.pot[i] = 1.0f;
  i = pick(&s, vq_rng_double(rng) * mass_prefix(&s));
  memcpy(centroids, x + i * d, d * sizeof(float));
  impl->l2sq_many(s.pot, x, n, d, centroids, 1);
  for (ci = 1; ci < k; ci++) {
    double total = mass_prefix(&s);
    if (!(total > 0.0)) break; /* every vector sits on a centre */
    step(&s, centroids + ci * d, rng, total);
  }
  /* Fewer distinct vectors than k: the rest are random duplicates. */
  for (; ci < k; ci++)
    memcpy(centroids + ci * d, x + vq_rng_below(rng, n) * d,
           d * sizeof(float));
done:
  free(s.pot), free(s.prefix), free(s.cd), vq_free(s.cand), free(s.part);
  return rc;
}
