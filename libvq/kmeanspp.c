/* Greedy k-means++ seeding (as scikit-learn): each step draws 2 + ln k
 * candidates in proportion to w * D^2 and keeps the one that lowers the
 * potential most.
 *
 * The cost is in the candidate distances, n x trials per step. They are
 * computed as ||x||^2 + ||c||^2 - 2 x.c by a kernel that holds 16 vectors
 * per register (the copy of the data is stored in transposed panels of
 * 16), and many are skipped: since ||x - c|| >= | ||x|| - ||c|| |, a candidate
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

#define PANEL 16           /* vectors per transposed panel */
#define BLOCK 128          /* vectors per pruning block (whole panels) */
#define CHUNK_BLOCKS 16    /* blocks per parallel work item */
#define MAX_TRIALS 16

typedef struct block {
  float lo, hi;            /* norm range */
  float maxpot;            /* largest D^2 */
  double mass;             /* sum of w * D^2 */
} block;

typedef struct seeder {
  float *xt;               /* vectors sorted by norm, in transposed panels:
                              xt[(p * d + j) * PANEL + r] is component j of
                              vector p * PANEL + r; rows past n are 0 */
  float *w;                /* weights (1 when unweighted, 0 past n) */
  float *xn2, *nrm;        /* squared norms and norms */
  size_t n, np, d, k, trials, nblocks, nchunks;
  const vq_dist_impl *impl;
  int nt;
  float *pot;              /* D^2 to the nearest chosen centre, n */
  block *b;
  float *cd;               /* per block: trials x BLOCK distances */
  unsigned *active;        /* per block: bit l set if candidate l is computed */
  float *cand;             /* candidate vectors, trials x d */
  float cn2[MAX_TRIALS], cn[MAX_TRIALS];
  double *part;            /* per-chunk sums, nchunks x trials */
} seeder;

static double wt(const seeder *s, size_t i) { return s->w[i]; }

/* Copies vector i out of the transposed panels. */
static void get_row(const seeder *s, float *dst, size_t i) {
  const float *src = s->xt + (i / PANEL) * s->d * PANEL + i % PANEL;
  size_t j;
  for (j = 0; j < s->d; j++) dst[j] = src[j * PANEL];
}

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
 * each candidate would leave: reached rows go through per-lane float sums
 * (lanes, per candidate), skipped blocks add their mass to sum[]. */
static void block_dists(seeder *s, size_t bi, size_t m, double *sum,
                        float *lanes, float *cbuf) {
  size_t i0 = bi * BLOCK, q, na = 0, l;
  size_t map[MAX_TRIALS];
  float cn2[MAX_TRIALS], tmpl[MAX_TRIALS * PANEL];
  float *cd = s->cd + bi * s->trials * BLOCK;
  unsigned act = 0;
  for (q = 0; q < m; q++) {
    if (!reaches(s, bi, q)) {
      sum[q] += s->b[bi].mass;
      continue;
    }
    act |= 1u << q;
    memcpy(cbuf + na * s->d, s->cand + q * s->d, s->d * sizeof(float));
    cn2[na] = s->cn2[q];
    map[na++] = q;
  }
  s->active[bi] = act;
  if (!na) return;
  for (q = 0; q < na; q++)
    memcpy(tmpl + q * PANEL, lanes + map[q] * PANEL, PANEL * sizeof(float));
  s->impl->pp_eval(cd, tmpl, s->xt + i0 * s->d, BLOCK / PANEL, s->d, cbuf,
                   na, s->xn2 + i0, cn2, s->pot + i0, s->w + i0);
  /* results came out in active order; put them in candidate order */
  for (q = na; q-- > 0;) {
    l = map[q];
    memcpy(lanes + l * PANEL, tmpl + q * PANEL, PANEL * sizeof(float));
    if (l != q) memmove(cd + l * BLOCK, cd + q * BLOCK, BLOCK * sizeof(float));
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
      float lanes[MAX_TRIALS * PANEL] = {0};
      size_t r;
      for (bi = b0; bi < be && cbuf; bi++)
        block_dists(s, bi, m, sum, lanes, cbuf);
      for (q = 0; q < m; q++) {
        for (r = 0; r < PANEL; r++) sum[q] += lanes[q * PANEL + r];
        s->part[(size_t)c * m + q] = sum[q];
      }
    }
    vq_free(cbuf);
  }
}

static void step(seeder *s, float *centre, vq_rng *rng, double total) {
  size_t m = s->trials, l, best = 0, c, bi, i;
  double best_pot = INFINITY;
  for (l = 0; l < m; l++) get_row(s, s->cand + l * s->d, draw(s, rng, total));
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
    const float *cd = s->cd + (bi * s->trials + best) * BLOCK;
    for (i = bi * BLOCK; i < e; i++) {
      float v = cd[i - bi * BLOCK];
      if (v < s->pot[i]) s->pot[i] = v, moved = 1;
    }
    if (moved) block_stats(s, bi);
  }
}

/* D^2 of every vector to the first centre. */
static void first_potential(seeder *s, const float *c) {
  size_t i, j;
  for (i = 0; i < s->n; i++) {
    const float *src = s->xt + (i / PANEL) * s->d * PANEL + i % PANEL;
    float acc = 0.0f;
    for (j = 0; j < s->d; j++) {
      float t = src[j * PANEL] - c[j];
      acc = fmaf(t, t, acc);
    }
    s->pot[i] = acc;
  }
  for (i = 0; i < s->nblocks; i++) block_stats(s, i);
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
    const float *src = x + o[i].i * s->d;
    float *dst = s->xt + (i / PANEL) * s->d * PANEL + i % PANEL;
    size_t j;
    for (j = 0; j < s->d; j++) dst[j * PANEL] = src[j];
    s->xn2[i] = xnorm[o[i].i];
    s->nrm[i] = sqrtf(xnorm[o[i].i]);
    s->w[i] = w ? w[o[i].i] : 1.0f;
  }
  free(o);
  for (i = 0; i < s->nblocks; i++) {
    s->b[i].lo = s->nrm[i * BLOCK];
    s->b[i].hi = s->nrm[VQ_MIN(s->n, (i + 1) * BLOCK) - 1];
  }
  return VQ_OK;
}

static void seeder_free(seeder *s) {
  vq_free(s->xt), free(s->w), free(s->xn2), free(s->nrm), free(s->pot);
  free(s->b), free(s->cd), free(s->active), vq_free(s->cand), free(s->part);
}

/* Arrays cover np = nblocks * BLOCK rows; rows past n stay 0. */
static int seeder_alloc(seeder *s) {
  s->xt = vq_aligned_array(s->np, s->d * sizeof(float));
  s->w = vq_calloc_array(s->np, sizeof(float));
  s->xn2 = vq_calloc_array(s->np, sizeof(float));
  s->nrm = vq_calloc_array(s->np, sizeof(float));
  s->pot = vq_calloc_array(s->np, sizeof(float));
  s->b = vq_calloc_array(s->nblocks, sizeof(block));
  s->cd = vq_malloc_array(s->np, s->trials * sizeof(float));
  s->active = vq_calloc_array(s->nblocks, sizeof(unsigned));
  s->cand = vq_aligned_array(s->trials, s->d * sizeof(float));
  s->part = vq_malloc_array(s->nchunks, s->trials * sizeof(double));
  if (!s->xt || !s->w || !s->xn2 || !s->nrm || !s->pot ||
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
  s.np = s.nblocks * BLOCK;
  s.nchunks = (s.nblocks + CHUNK_BLOCKS - 1) / CHUNK_BLOCKS;
  if ((rc = seeder_alloc(&s)) < 0 ||
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
      get_row(&s, centroids, draw(&s, rng, total));
      first_potential(&s, centroids);
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
