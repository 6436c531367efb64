/* Greedy k-means++ seeding (as scikit-learn): each step draws 2 + ln k
 * candidates in proportion to w * D^2 and keeps the one that lowers the
 * potential most.
 *
 * The cost is in the candidate distances, n x trials per step. They are
 * computed as ||x||^2 + ||c||^2 - 2 x.c with the register-tiled dot kernel,
 * and most are skipped: since ||x - c|| >= | ||x|| - ||c|| |, a candidate
 * cannot lower the potential D^2 of any vector whose norm differs from its
 * own by at least D. Vectors are visited sorted by norm, in blocks that
 * keep their norm range and largest D, so whole blocks are skipped per
 * candidate; as k grows and D shrinks, most blocks are.
 *
 * Sums run over fixed blocks and chunks, added in order, so the result
 * does not depend on the number of threads. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "kmeanspp.h"

#define BLOCK 128          /* vectors per pruning block */
#define CHUNK_BLOCKS 16    /* blocks per parallel work item */
#define MAX_TRIALS 16

typedef struct block {
  float lo, hi;            /* norm range */
  float maxpot;            /* largest D^2 */
  double mass;             /* sum of w * D^2 */
} block;

typedef struct seeder {
  float *x, *w;            /* vectors sorted by norm (copies), weights */
  float *xn2, *nrm;        /* their squared norms and norms */
  size_t n, d, k, trials, nblocks, nchunks;
  const vq_dist_impl *impl;
  int nt;
  float *pot;              /* D^2 to the nearest chosen centre, n */
  block *b;
  float *cd;               /* candidate distances, n x trials */
  unsigned *active;        /* per block: bit l set if candidate l is computed */
  float *cand;             /* candidate vectors, trials x d */
  float cn2[MAX_TRIALS], cn[MAX_TRIALS];
  double *part;            /* per-chunk sums, nchunks x trials */
} seeder;

static double wt(const seeder *s, size_t i) { return s->w ? s->w[i] : 1.0; }

static void block_stats(seeder *s, size_t bi) {
  size_t i = bi * BLOCK, e = VQ_MIN(s->n, i + BLOCK);
  block *b = &s->b[bi];
  b->mass = 0.0;
  b->maxpot = 0.0f;
  for (; i < e; i++) {
    b->mass += wt(s, i) * s->pot[i];
    if (s->pot[i] > b->maxpot) b->maxpot = s->pot[i];
  }
}

/* Draws a vector in proportion to w * D^2: a block by mass, then a row. */
static size_t draw(const seeder *s, vq_rng *rng, double total) {
  double r = vq_rng_double(rng) * total, acc = 0.0;
  size_t bi, last = 0, i, e;
  for (bi = 0; bi < s->nblocks; bi++) {
    if (s->b[bi].mass <= 0.0) continue;
    last = bi;
    if (acc + s->b[bi].mass > r) break;
    acc += s->b[bi].mass;
  }
  if (bi == s->nblocks) bi = last, acc -= s->b[bi].mass;
  r -= acc;
  i = bi * BLOCK, e = VQ_MIN(s->n, i + BLOCK);
  for (acc = 0.0; i < e; i++)
    if ((acc += wt(s, i) * s->pot[i]) > r) return i;
  for (i = e; i-- > bi * BLOCK;) /* rounding: last row with mass */
    if (s->pot[i] > 0.0f) return i;
  return bi * BLOCK;
}

/* Can candidate l lower any potential in block bi? */
static int reaches(const seeder *s, size_t bi, size_t l) {
  const block *b = &s->b[bi];
  float r = sqrtf(b->maxpot);
  return s->cn[l] > b->lo - r && s->cn[l] < b->hi + r;
}

/* One block: distances to the candidates that reach it, and the potential
 * each candidate would leave, added to sum[]. */
static void block_dists(seeder *s, size_t bi, size_t m, double *sum,
                        float *cbuf) {
  size_t i0 = bi * BLOCK, e = VQ_MIN(s->n, i0 + BLOCK), i, q, na = 0;
  size_t map[MAX_TRIALS];
  float *cd = s->cd + i0 * m, tmp[BLOCK * MAX_TRIALS];
  unsigned act = 0;
  for (q = 0; q < m; q++) {
    if (!reaches(s, bi, q)) {
      sum[q] += s->b[bi].mass;
      continue;
    }
    act |= 1u << q;
    memcpy(cbuf + na * s->d, s->cand + q * s->d, s->d * sizeof(float));
    map[na++] = q;
  }
  s->active[bi] = act;
  if (!na) return;
  s->impl->dots(tmp, s->x + i0 * s->d, e - i0, s->d, cbuf, na);
  for (q = 0; q < na; q++) {
    size_t l = map[q];
    double t = 0.0;
    for (i = i0; i < e; i++) {
      float v = s->xn2[i] + s->cn2[l] - 2.0f * tmp[(i - i0) * na + q];
      v = v > 0.0f ? v : 0.0f;
      cd[(i - i0) * m + l] = v;
      t += wt(s, i) * (v < s->pot[i] ? v : s->pot[i]);
    }
    sum[l] += t;
  }
}

static void candidate_dists(seeder *s, size_t m) {
  size_t l;
  long c;
  for (l = 0; l < m; l++) {
    s->cn2[l] = vq_dist_norm2(s->cand + l * s->d, s->d);
    s->cn[l] = sqrtf(s->cn2[l]);
  }
#pragma omp parallel num_threads(s->nt)
  {
    float *cbuf = vq_aligned_array(MAX_TRIALS, s->d * sizeof(float));
#pragma omp for schedule(dynamic, 1)
    for (c = 0; c < (long)s->nchunks; c++) {
      size_t b0 = (size_t)c * CHUNK_BLOCKS, bi, q;
      size_t be = VQ_MIN(s->nblocks, b0 + CHUNK_BLOCKS);
      double sum[MAX_TRIALS] = {0};
      for (bi = b0; bi < be && cbuf; bi++) block_dists(s, bi, m, sum, cbuf);
      for (q = 0; q < m; q++) s->part[(size_t)c * m + q] = sum[q];
    }
    vq_free(cbuf);
  }
}

static void step(seeder *s, float *centre, vq_rng *rng, double total) {
  size_t m = s->trials, l, best = 0, c, bi, i;
  double best_pot = INFINITY;
  for (l = 0; l < m; l++) {
    size_t j = draw(s, rng, total);
    memcpy(s->cand + l * s->d, s->x + j * s->d, s->d * sizeof(float));
  }
  candidate_dists(s, m);
  for (l = 0; l < m; l++) {
    double pot = 0.0;
    for (c = 0; c < s->nchunks; c++) pot += s->part[c * m + l];
    if (pot < best_pot) best_pot = pot, best = l;
  }
  memcpy(centre, s->cand + best * s->d, s->d * sizeof(float));
  for (bi = 0; bi < s->nblocks; bi++) {
    size_t e = VQ_MIN(s->n, (bi + 1) * BLOCK);
    int moved = 0;
    if (!(s->active[bi] >> best & 1u)) continue;
    for (i = bi * BLOCK; i < e; i++) {
      float v = s->cd[i * m + best];
      if (v < s->pot[i]) s->pot[i] = v, moved = 1;
    }
    if (moved) block_stats(s, bi);
  }
}

typedef struct by_norm {
  float nrm;
  size_t i;
} by_norm;

static int cmp_norm(const void *a, const void *b) {
  const by_norm *x = a, *y = b;
  if (x->nrm != y->nrm) return x->nrm < y->nrm ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

/* Copies the vectors (and weights, norms) sorted by norm. */
static int sort_by_norm(seeder *s, const float *x, const float *w,
                        const float *xnorm) {
  by_norm *o = vq_malloc_array(s->n, sizeof(by_norm));
  size_t i;
  if (!o) return VQ_ERR_NOMEM;
  for (i = 0; i < s->n; i++) o[i].nrm = xnorm[i], o[i].i = i;
  qsort(o, s->n, sizeof *o, cmp_norm);
  for (i = 0; i < s->n; i++) {
    memcpy(s->x + i * s->d, x + o[i].i * s->d, s->d * sizeof(float));
    s->xn2[i] = xnorm[o[i].i];
    s->nrm[i] = sqrtf(xnorm[o[i].i]);
    if (w) s->w[i] = w[o[i].i];
  }
  free(o);
  for (i = 0; i < s->nblocks; i++) {
    s->b[i].lo = s->nrm[i * BLOCK];
    s->b[i].hi = s->nrm[VQ_MIN(s->n, (i + 1) * BLOCK) - 1];
  }
  return VQ_OK;
}

static void seeder_free(seeder *s) {
  vq_free(s->x), free(s->w), free(s->xn2), free(s->nrm), free(s->pot);
  free(s->b), free(s->cd), free(s->active), vq_free(s->cand), free(s->part);
}

static int seeder_alloc(seeder *s, int weighted) {
  s->x = vq_aligned_array(s->n, s->d * sizeof(float));
  s->w = weighted ? vq_malloc_array(s->n, sizeof(float)) : NULL;
  s->xn2 = vq_malloc_array(s->n, sizeof(float));
  s->nrm = vq_malloc_array(s->n, sizeof(float));
  s->pot = vq_malloc_array(s->n, sizeof(float));
  s->b = vq_calloc_array(s->nblocks, sizeof(block));
  s->cd = vq_malloc_array(s->n, s->trials * sizeof(float));
  s->active = vq_calloc_array(s->nblocks, sizeof(unsigned));
  s->cand = vq_aligned_array(s->trials, s->d * sizeof(float));
  s->part = vq_malloc_array(s->nchunks, s->trials * sizeof(double));
  if (!s->x || (weighted && !s->w) || !s->xn2 || !s->nrm || !s->pot ||
      !s->b || !s->cd || !s->active || !s->cand || !s->part)
    return VQ_ERR_NOMEM;
  return VQ_OK;
}

int vq_kmeanspp(float *centroids, const float *x, const float *w,
                const float *xnorm, size_t n, size_t d, size_t k,
                vq_rng *rng, int nthreads, const vq_dist_impl *impl) {
  seeder s;
  size_t ci, i;
  int rc;
  memset(&s, 0, sizeof s);
  s.n = n, s.d = d, s.k = k, s.impl = impl, s.nt = nthreads;
  s.trials = VQ_MIN(MAX_TRIALS, 2 + (size_t)log((double)k));
  s.nblocks = (n + BLOCK - 1) / BLOCK;
  s.nchunks = (s.nblocks + CHUNK_BLOCKS - 1) / CHUNK_BLOCKS;
  if ((rc = seeder_alloc(&s, w != NULL)) < 0 ||
      (rc = sort_by_norm(&s, x, w, xnorm)) < 0)
    goto done;
  /* first centre: in proportion to the weights */
  for (i = 0; i < n; i++) s.pot[i] = 1.0f;
  for (i = 0; i < s.nblocks; i++) block_stats(&s, i);
  rc = VQ_OK;
  for (ci = 0; ci < k; ci++) {
    double total = 0.0;
    for (i = 0; i < s.nblocks; i++) total += s.b[i].mass;
    if (!(total > 0.0)) break; /* every vector sits on a centre */
    if (ci == 0) {
      i = draw(&s, rng, total);
      memcpy(centroids, s.x + i * d, d * sizeof(float));
      impl->l2sq_many(s.pot, s.x, n, d, centroids, 1);
      for (i = 0; i < s.nblocks; i++) block_stats(&s, i);
      continue;
    }
    step(&s, centroids + ci * d, rng, total);
  }
  /* Fewer distinct vectors than k: the rest are random duplicates. */
  for (; ci < k; ci++)
    memcpy(centroids + ci * d, x + vq_rng_below(rng, n) * d,
           d * sizeof(float));
done:
  seeder_free(&s);
  return rc;
}
