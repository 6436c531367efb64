/* k-means: k-means++ or random init, Lloyd iterations, deterministic for
 * any thread count.
 *
 * Determinism: assignment results depend only on each vector and the
 * codebook (see search.c). Sums are formed per cluster over its members in
 * index order (a counting sort gives that order), in double, and totals
 * over fixed-size chunks are added in chunk order. No result depends on
 * how work was split between threads. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "linalg.h"
#include "vq/kmeans.h"
#include "dsp/dist.h"
#include "kmeanspp.h"

#define SUM_CHUNK 4096

int vq_kmeans_params_init_(vq_kmeans_params *p, uint32_t abi,
                           uint32_t size) {
  if (!p) return VQ_ERR_INVALID_ARG;
  if (abi != VQ_ABI_VERSION || size != sizeof(*p)) return VQ_ERR_ABI;
  memset(p, 0, sizeof *p);
  p->abi_ = abi;
  p->size_ = size;
  p->iters = 25;
  p->init = VQ_INIT_KMEANSPP;
  p->seed = 1234;
  p->nredo = 1;
  p->init_per_centroid = 64;
  return VQ_OK;
}

int vq_kmeans_params_check(const vq_kmeans_params *p, size_t n, size_t d,
                           vq_diag *diag) {
  size_t nt;
  if (!p || p->abi_ != VQ_ABI_VERSION || p->size_ != sizeof(*p))
    return vq_diag_set(diag, VQ_ERR_ABI,
                       "k-means parameters not set up by "
                       "vq_kmeans_params_init()");
  if (d == 0)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "dimension d is 0");
  if (p->k == 0)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "k must be at least 1");
  if (p->k > INT32_MAX)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG,
                       "k = %zu exceeds the limit of %d", p->k, INT32_MAX);
  if (n < p->k)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG,
                       "k = %zu is larger than the number of vectors (%zu)",
                       p->k, n);
  if (p->iters < 0 || p->iters > 1000000)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "iterations %d out of "
                       "range 0..1000000", p->iters);
  if (p->nredo < 1 || p->nredo > 1000)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "nredo %d out of range "
                       "1..1000", p->nredo);
  if (p->init != VQ_INIT_KMEANSPP && p->init != VQ_INIT_RANDOM &&
      p->init != VQ_INIT_GIVEN)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "unknown init method %d",
                       (int)p->init);
  if (!(p->min_share >= 0.0 && p->min_share < 1.0))
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "min_share must be in "
                       "[0, 1)");
  if (p->simvq && p->min_share > 0.0)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "SimVQ codewords are never "
                       "re-seeded: min_share does not apply");
  if (p->min_groups < 0 || (p->min_groups > 1 && !p->groups))
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "min_groups %d needs "
                       "groups and must not be negative", p->min_groups);
  if (p->simvq && p->min_groups > 1)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "SimVQ codewords are never "
                       "re-seeded: min_groups does not apply");
  if (p->simvq && p->spherical)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "SimVQ codebooks are not "
                       "spherical");
  if (p->init == VQ_INIT_GIVEN && p->nredo != 1)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "given centroids are one "
                       "start: nredo must be 1");
  if (!(p->tol >= 0.0 && p->tol < 1.0))
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "tolerance must be in "
                       "[0, 1)");
  if (p->max_per_centroid && vq_mul_size(p->k, p->max_per_centroid, &nt))
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "max_per_centroid too "
                       "large");
  if (p->init_per_centroid && vq_mul_size(p->k, p->init_per_centroid, &nt))
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "init_per_centroid too "
                       "large");
  if (!vq_dist_select(p->kernel))
    return vq_diag_set(diag, VQ_ERR_UNSUPPORTED, "the requested search "
                       "kernel is not available on this CPU or build");
  return VQ_OK;
}

/* Working state of one training run. */
typedef struct km {
  const vq_kmeans_params *p;
  const float *x;        /* training vectors (n x d) */
  const float *w;        /* weights or NULL */
  size_t n, d, k;
  int nt;
  float *c;              /* centroids, k x d */
  int32_t *idx;          /* assignment, n */
  float *dist;           /* squared distance to assigned centroid, n */
  size_t *order;         /* vectors sorted by cluster, n */
  size_t *start;         /* cluster c's members: order[start[c]..start[c+1]) */
  double *wsum;          /* weight per cluster, k */
  double *sse_c;         /* squared error per cluster, k */
  float *xnorm;          /* squared norms of the vectors, n */
  vq_index *ix;
  const vq_dist_impl *impl;
  size_t reseeds;
  int exact_sse;         /* final statistics: exact errors */
  double *z;             /* SimVQ: [Z 1], k x (d + 1), or NULL */
  double *wmap;          /* SimVQ: W, (d + 1) x d */
  double *g;             /* SimVQ: normal equations, (d + 1) x (d + 1) */
  vq_rng split;          /* draws the clusters that light ones split */
  const uint32_t *grp;   /* min_groups: the group of each vector, n */
  uint32_t *ng;          /* groups per cluster, k */
  uint32_t *mark;        /* per group: 1 + the last cluster counting it */
  size_t ngrp;           /* group ids are below this */
  uint32_t *own_grp;     /* grp when it is a subsample's */
} km;

static double weight(const km *s, size_t i) { return s->w ? s->w[i] : 1.0; }

static int check_finite(const float *v, size_t count, int nt) {
  long c, nchunks = (long)((count + SUM_CHUNK - 1) / SUM_CHUNK);
  int bad = 0;
#pragma omp parallel for reduction(| : bad) num_threads(nt)
  for (c = 0; c < nchunks; c++) {
    size_t i = (size_t)c * SUM_CHUNK, e = VQ_MIN(count, i + SUM_CHUNK);
    for (; i < e; i++) bad |= !isfinite(v[i]);
  }
  return bad;
}

/* ---- initialisation ---------------------------------------------------- */

static void init_random(km *s, vq_rng *rng) {
  size_t *perm = s->order, i;
  for (i = 0; i < s->n; i++) perm[i] = i;
  for (i = 0; i < s->k; i++) {
    size_t j = i + (size_t)vq_rng_below(rng, s->n - i), t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
    memcpy(s->c + i * s->d, s->x + perm[i] * s->d, s->d * sizeof(float));
  }
}

/* ---- Lloyd iterations --------------------------------------------------- */

/* Groups vectors by cluster, in index order within each cluster. */
static void sort_by_cluster(km *s) {
  size_t i, c;
  memset(s->start, 0, (s->k + 1) * sizeof(size_t));
  for (i = 0; i < s->n; i++) s->start[s->idx[i] + 1]++;
  for (c = 0; c < s->k; c++) s->start[c + 1] += s->start[c];
  for (i = 0; i < s->n; i++) s->order[s->start[s->idx[i]]++] = i;
  for (c = s->k; c > 0; c--) s->start[c] = s->start[c - 1];
  s->start[0] = 0;
}

/* One cluster: its error (exact in double when s->exact_sse, else from
 * the search distances), then the new centroid as the weighted mean in
 * double. Empty clusters are left to reseed_empty(). */
static void update_cluster(km *s, size_t c, double *acc) {
  float *cc = s->c + c * s->d;
  double ws = 0.0, sse = 0.0;
  size_t m, j;
  memset(acc, 0, s->d * sizeof(double));
  for (m = s->start[c]; m < s->start[c + 1]; m++) {
    size_t i = s->order[m];
    const float *xi = s->x + i * s->d;
    double wi = weight(s, i);
    if (s->exact_sse) {
      double e = 0.0;
      for (j = 0; j < s->d; j++) {
        double t = (double)xi[j] - (double)cc[j];
        e += t * t;
      }
      sse += wi * e;
    } else {
      sse += wi * s->dist[i];
    }
    s->impl->axpy_f64(acc, xi, wi, s->d);
    ws += wi;
  }
  s->wsum[c] = ws;
  s->sse_c[c] = sse;
  if (ws > 0.0) {
    double inv = 1.0 / ws, nrm = 0.0;
    for (j = 0; j < s->d; j++) cc[j] = (float)(acc[j] * inv);
    if (s->p->spherical) {
      for (j = 0; j < s->d; j++) nrm += (double)cc[j] * cc[j];
      if (nrm > 0.0)
        for (j = 0, nrm = 1.0 / sqrt(nrm); j < s->d; j++)
          cc[j] = (float)(cc[j] * nrm);
    }
  }
}

static int update_centroids(km *s) {
  int fail = 0;
  sort_by_cluster(s);
#pragma omp parallel num_threads(s->nt)
  {
    double *acc = malloc(s->d * sizeof(double));
    long c;
    if (!acc) {
#pragma omp atomic write
      fail = 1;
    }
#pragma omp for schedule(dynamic, 8)
    for (c = 0; c < (long)s->k; c++)
      if (acc) update_cluster(s, (size_t)c, acc);
    free(acc);
  }
  return fail ? VQ_ERR_NOMEM : VQ_OK;
}

typedef struct far_item {
  float dist;
  size_t i;
} far_item;

static int cmp_far(const void *a, const void *b) {
  const far_item *x = a, *y = b;
  if (x->dist != y->dist) return x->dist > y->dist ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

/* Moves each empty centroid onto one of the vectors farthest from their
 * centroid (largest distance first, lowest index on ties): a fixed rule,
 * so re-seeding is deterministic. */
static int reseed_empty(km *s) {
  size_t c, e = 0, i, used = 0;
  far_item *f;
  for (c = 0; c < s->k; c++) e += s->wsum[c] == 0.0;
  if (!e) return VQ_OK;
  f = vq_malloc_array(s->n, sizeof *f);
  if (!f) return VQ_ERR_NOMEM;
  for (i = 0; i < s->n; i++) f[i].dist = s->dist[i], f[i].i = i;
  qsort(f, s->n, sizeof *f, cmp_far);
  for (c = 0; c < s->k && used < s->n; c++) {
    if (s->wsum[c] != 0.0) continue;
    memcpy(s->c + c * s->d, s->x + f[used++].i * s->d, s->d * sizeof(float));
    s->reseeds++;
  }
  free(f);
  return VQ_OK;
}

/* Re-seeds every cluster of weight at most light (the empty ones when
 * light is 0) by splitting a heavy one: a cluster drawn with probability
 * proportional to its weight above the mean is shared, its centroid and
 * the light one's moved apart by 1% of its spread in every component
 * (signs alternating), and each keeps half its weight for the draws that
 * follow. The draws come from s->split, so the result is deterministic. */
static void reseed_split(km *s, double light, int by_groups) {
  double total = 0.0, mean;
  size_t c, j, t;
  for (c = 0; c < s->k; c++) total += s->wsum[c];
  mean = total / (double)s->k;
  for (c = 0; c < s->k; c++) {
    double excess = 0.0, u, acc = 0.0, spread;
    float *cc = s->c + c * s->d, *cj;
    int few = by_groups && s->wsum[c] <= mean &&
              s->ng[c] < (uint32_t)s->p->min_groups;
    if (!few && (light > 0.0 ? s->wsum[c] > light : s->wsum[c] != 0.0))
      continue;
    for (j = 0; j < s->k; j++)
      if (s->wsum[j] > mean) excess += s->wsum[j] - mean;
    if (excess <= 0.0) break;
    u = vq_rng_double(&s->split) * excess;
    for (j = 0; j < s->k; j++) {
      if (s->wsum[j] <= mean) continue;
      acc += s->wsum[j] - mean;
      if (acc > u) break;
    }
    if (j == s->k) continue; /* u rounded up to the total: no draw */
    cj = s->c + j * s->d;
    spread = 0.01 * sqrt(s->sse_c[j] / (s->wsum[j] * (double)s->d)) + 1e-6;
    for (t = 0; t < s->d; t++) {
      float dlt = (float)(t % 2 ? -spread : spread);
      cc[t] = cj[t] + dlt;
      cj[t] -= dlt;
    }
    s->wsum[j] *= 0.5, s->wsum[c] = s->wsum[j];
    s->sse_c[j] *= 0.5, s->sse_c[c] = s->sse_c[j];
    s->reseeds++;
  }
}

/* The number of groups among each cluster's vectors of positive weight
 * (s->order and s->start as update_centroids() left them). */
static void count_groups(km *s) {
  size_t c, m;
  memset(s->mark, 0, s->ngrp * sizeof *s->mark);
  for (c = 0; c < s->k; c++) {
    s->ng[c] = 0;
    for (m = s->start[c]; m < s->start[c + 1]; m++) {
      size_t i = s->order[m];
      uint32_t g = s->grp[i];
      if (weight(s, i) > 0.0 && s->mark[g] != (uint32_t)c + 1)
        s->mark[g] = (uint32_t)c + 1, s->ng[c]++;
    }
  }
}

typedef struct usage {
  double sse, wtotal, utilization, perplexity;
} usage;

static usage usage_stats(const km *s) {
  usage u = {0.0, 0.0, 0.0, 1.0};
  double h = 0.0;
  size_t c, used = 0;
  for (c = 0; c < s->k; c++) {
    u.sse += s->sse_c[c];
    u.wtotal += s->wsum[c];
    used += s->wsum[c] > 0.0;
  }
  for (c = 0; c < s->k; c++) {
    double q = s->wsum[c] / u.wtotal;
    if (q > 0.0) h -= q * log(q);
  }
  u.utilization = (double)used / (double)s->k;
  u.perplexity = exp(h);
  return u;
}

static int assign(km *s) {
  int rc = vq_index_update(s->ix, s->c);
  if (rc < 0) return rc;
  return vq_index_search_norms(s->ix, s->idx, s->dist, s->x, s->xnorm, s->n,
                               s->nt);
}

/* Assigns and returns the total weighted squared error (chunk order). */
static int assign_sse(km *s, double *sse) {
  size_t i, nchunks = (s->n + SUM_CHUNK - 1) / SUM_CHUNK, c;
  int rc = assign(s);
  *sse = 0.0;
  for (c = 0; c < nchunks && rc == VQ_OK; c++) {
    double t = 0.0;
    for (i = c * SUM_CHUNK; i < VQ_MIN(s->n, (c + 1) * SUM_CHUNK); i++)
      t += weight(s, i) * s->dist[i];
    *sse += t;
  }
  return rc;
}

/* ---- SimVQ ------------------------------------------------------------- */

/* Z from the starting centroids, W = [I; 0] (so C = Z at first). */
static void simvq_start(km *s) {
  size_t j, a, e = s->d + 1;
  for (j = 0; j < s->k; j++) {
    for (a = 0; a < s->d; a++) s->z[j * e + a] = s->c[j * s->d + a];
    s->z[j * e + s->d] = 1.0;
  }
  for (a = 0; a < e * s->d; a++) s->wmap[a] = a / s->d == a % s->d;
}

/* W from the clusters' weights and means (in s->c after
 * update_centroids): min sum_j wsum_j |z_j W - mean_j|^2 + lambda
 * |W - W_old|^2, lambda a millionth of the mean diagonal of the normal
 * equations (it keeps W where the assignments do not determine it); then
 * C = Z W. Row a of the normal equations is one thread's, summed over j
 * in order. */
static void simvq_update(km *s) {
  size_t e = s->d + 1, d = s->d, a;
  double *b = s->wmap, tr = 0.0, lambda;
  double *bb = s->g + e * e; /* right-hand side, e x d */
  long r;
#pragma omp parallel for num_threads(s->nt) schedule(static)
  for (r = 0; r < (long)e; r++) {
    double *gr = s->g + (size_t)r * e, *br = bb + (size_t)r * d;
    size_t j, c;
    memset(gr, 0, e * sizeof *gr);
    memset(br, 0, d * sizeof *br);
    for (j = 0; j < s->k; j++) {
      double wz = s->wsum[j] * s->z[j * e + (size_t)r];
      const double *zj = s->z + j * e;
      const float *mj = s->c + j * d;
      if (wz == 0.0) continue;
      for (c = 0; c < e; c++) gr[c] += wz * zj[c];
      for (c = 0; c < d; c++) br[c] += wz * mj[c];
    }
  }
  for (a = 0; a < e; a++) tr += s->g[a * e + a];
  lambda = 1e-6 * tr / (double)e + 1e-300;
  for (a = 0; a < e * d; a++) bb[a] += lambda * b[a];
  if (vq_cholesky_solve(s->g, bb, e, d, lambda) == 0)
    memcpy(b, bb, e * d * sizeof *b);
#pragma omp parallel for num_threads(s->nt) schedule(static)
  for (r = 0; r < (long)s->k; r++) {
    const double *zj = s->z + (size_t)r * e;
    float *cj = s->c + (size_t)r * d;
    size_t c, l;
    for (c = 0; c < d; c++) {
      double t = 0.0;
      for (l = 0; l < e; l++) t += zj[l] * b[l * d + c];
      cj[c] = (float)t;
    }
  }
}

/* Runs the iterations; on return s->c holds the final centroids. */
static int lloyd(km *s, int redo, int *iters_run) {
  const vq_kmeans_params *p = s->p;
  double prev = INFINITY;
  int it, rc;
  if (s->z) simvq_start(s);
  vq_rng_seed(&s->split, p->seed ^ 0x5851f42d4c957f2dULL ^ (uint64_t)redo);
  for (it = 1; it <= p->iters; it++) {
    double t0 = vq_now();
    usage u;
    if ((rc = assign(s)) < 0 || (rc = update_centroids(s)) < 0) return rc;
    u = usage_stats(s);
    if (s->z) simvq_update(s);
    else if (p->min_share > 0.0 || s->ng) {
      int early = it <= p->iters - 3;
      if (s->ng && early) count_groups(s);
      reseed_split(s, early ? p->min_share * u.wtotal / (double)s->k : 0.0,
                   early && s->ng);
    }
    else if ((rc = reseed_empty(s)) < 0) return rc;
    *iters_run = it;
    if (p->progress) {
      vq_progress pr;
      memset(&pr, 0, sizeof pr);
      pr.stage = "lloyd";
      pr.iter = it, pr.iters = p->iters, pr.redo = redo, pr.nredo = p->nredo;
      pr.mse = u.sse / (u.wtotal * (double)s->d);
      pr.utilization = u.utilization;
      pr.perplexity = u.perplexity;
      pr.seconds = vq_now() - t0;
      if (p->progress(&pr, p->progress_user)) return VQ_ERR_ABORTED;
    }
    if (p->tol > 0.0 && prev - u.sse <= p->tol * prev) break;
    prev = u.sse;
  }
  return VQ_OK;
}

/* ---- driver ------------------------------------------------------------ */

static void km_free(km *s) {
  vq_free(s->c);
  free(s->idx), free(s->dist), free(s->order), free(s->start);
  free(s->wsum), free(s->sse_c), free(s->xnorm);
  free(s->z), free(s->wmap), free(s->g);
  free(s->ng), free(s->mark), free(s->own_grp);
  vq_index_destroy(s->ix);
}

static int km_alloc(km *s) {
  s->c = vq_aligned_array(s->k, s->d * sizeof(float));
  s->idx = vq_malloc_array(s->n, sizeof(int32_t));
  s->dist = vq_malloc_array(s->n, sizeof(float));
  s->order = vq_malloc_array(s->n, sizeof(size_t));
  s->start = vq_malloc_array(s->k + 1, sizeof(size_t));
  s->wsum = vq_malloc_array(s->k, sizeof(double));
  s->sse_c = vq_malloc_array(s->k, sizeof(double));
  s->xnorm = vq_malloc_array(s->n, sizeof(float));
  s->impl = vq_dist_select(s->p->kernel);
  if (s->p->simvq) {
    size_t e = s->d + 1;
    s->z = vq_malloc_array(s->k, e * sizeof(double));
    s->wmap = vq_malloc_array(e, s->d * sizeof(double));
    s->g = vq_malloc_array(e, (e + s->d) * sizeof(double));
    if (!s->z || !s->wmap || !s->g) return VQ_ERR_NOMEM;
  }
  if (s->grp) {
    s->ng = vq_malloc_array(s->k, sizeof(uint32_t));
    s->mark = vq_malloc_array(s->ngrp, sizeof(uint32_t));
    if (!s->ng || !s->mark) return VQ_ERR_NOMEM;
  }
  if (!s->c || !s->idx || !s->dist || !s->order || !s->start || !s->wsum ||
      !s->sse_c || !s->xnorm)
    return VQ_ERR_NOMEM;
  vq_norms(s->xnorm, s->x, s->n, s->d, s->nt);
  return vq_index_create(&s->ix, s->c, s->k, s->d, s->p->kernel);
}

/* Unit-normalised copy of x for spherical k-means (zero rows stay 0). */
static float *normalised(const float *x, size_t n, size_t d) {
  float *o = vq_aligned_array(n, d * sizeof(float));
  size_t i, j;
  if (!o) return NULL;
  for (i = 0; i < n; i++) {
    const float *src = x + i * d;
    float *dst = o + i * d;
    double nrm = 0.0;
    for (j = 0; j < d; j++) nrm += (double)src[j] * src[j];
    nrm = nrm > 0.0 ? 1.0 / sqrt(nrm) : 0.0;
    for (j = 0; j < d; j++) dst[j] = (float)(src[j] * nrm);
  }
  return o;
}

/* A random subsample of at most k * per_centroid rows, or NULL (and
 * *no = n) when no cap applies. */
static int subsample(const vq_kmeans_params *p, size_t per_centroid,
                     const float *x, const float *w, const uint32_t *g,
                     size_t n, size_t d, float **xo, float **wo,
                     uint32_t **go, size_t *no, vq_rng *rng) {
  size_t cap = per_centroid ? p->k * per_centroid : n, i;
  size_t m = VQ_MIN(n, cap);
  size_t *perm;
  *xo = NULL, *wo = NULL, *no = n;
  if (go) *go = NULL;
  if (m == n) return VQ_OK;
  perm = vq_malloc_array(n, sizeof(size_t));
  *xo = vq_aligned_array(m, d * sizeof(float));
  *wo = w ? vq_malloc_array(m, sizeof(float)) : NULL;
  if (g) *go = vq_malloc_array(m, sizeof(uint32_t));
  if (!perm || !*xo || (w && !*wo) || (g && !*go)) {
    free(perm);
    return VQ_ERR_NOMEM;
  }
  for (i = 0; i < n; i++) perm[i] = i;
  for (i = 0; i < m; i++) {
    size_t r = i + (size_t)vq_rng_below(rng, n - i), t = perm[i];
    perm[i] = perm[r], perm[r] = t;
    memcpy(*xo + i * d, x + perm[i] * d, d * sizeof(float));
    if (w) (*wo)[i] = w[perm[i]];
    if (g) (*go)[i] = g[perm[i]];
  }
  free(perm);
  *no = m;
  return VQ_OK;
}

/* k-means++ on all training vectors, or on a random subsample of
 * k * init_per_centroid of them. */
static int seed_kmeanspp(km *s, vq_rng *rng) {
  float *xs = NULL, *ws = NULL, *nrm;
  size_t m;
  int rc = subsample(s->p, s->p->init_per_centroid, s->x, s->w, NULL, s->n,
                     s->d, &xs, &ws, NULL, &m, rng);
  if (rc < 0 || !xs) {
    if (rc == VQ_OK)
      rc = vq_kmeanspp(s->c, s->x, s->w, s->xnorm, s->n, s->d, s->k, rng,
                       s->nt, s->impl);
    vq_free(xs), free(ws);
    return rc;
  }
  nrm = vq_malloc_array(m, sizeof(float));
  if (!nrm) rc = VQ_ERR_NOMEM;
  else vq_norms(nrm, xs, m, s->d, s->nt);
  if (rc == VQ_OK)
    rc = vq_kmeanspp(s->c, xs, ws, nrm, m, s->d, s->k, rng, s->nt, s->impl);
  free(nrm), vq_free(xs), free(ws);
  return rc;
}

/* Final statistics of centroids cent on the full data (s over it). */
static int final_stats(km *s, vq_kmeans_stats *st) {
  int rc;
  usage u;
  s->exact_sse = 1;
  if ((rc = assign(s)) < 0 || (rc = update_centroids(s)) < 0) return rc;
  u = usage_stats(s);
  st->sse = u.sse;
  st->mse = u.sse / (u.wtotal * (double)s->d);
  st->utilization = u.utilization;
  st->perplexity = u.perplexity;
  return VQ_OK;
}

static int check_inputs(const vq_kmeans_params *p, const float *x, size_t n,
                        size_t d, const float *w, int nt, vq_diag *diag) {
  size_t i;
  double tw = 0.0;
  int rc = vq_kmeans_params_check(p, n, d, diag);
  if (rc < 0) return rc;
  if (!x) return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "no data");
  if (n > SIZE_MAX / d || check_finite(x, n * d, nt))
    return vq_diag_set(diag, VQ_ERR_NONFINITE,
                       "training data contains NaN or infinity");
  if (!w) return VQ_OK;
  if (check_finite(w, n, nt))
    return vq_diag_set(diag, VQ_ERR_NONFINITE,
                       "sample weights contain NaN or infinity");
  for (i = 0; i < n; i++) {
    if (w[i] < 0.0f)
      return vq_diag_set(diag, VQ_ERR_INVALID_ARG,
                         "sample weight %zu is negative", i);
    tw += w[i];
  }
  if (!(tw > 0.0))
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "all sample weights are 0");
  return VQ_OK;
}

static int check_groups(const vq_kmeans_params *p, size_t n, vq_diag *diag) {
  size_t i;
  if (p->min_groups <= 1) return VQ_OK;
  for (i = 0; i < n; i++)
    if (p->groups[i] >= n)
      return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "group %lu of vector %lu "
                         "is not below the %lu vectors",
                         (unsigned long)p->groups[i], (unsigned long)i,
                         (unsigned long)n);
  return VQ_OK;
}

int vq_kmeans_train(float *centroids, vq_kmeans_stats *stats,
                    const vq_kmeans_params *p, const float *x, size_t n,
                    size_t d, const float *weights, vq_diag *diag) {
  double t0 = vq_now(), best_sse = INFINITY;
  vq_kmeans_stats st;
  float *xn = NULL, *xs = NULL, *ws = NULL;
  const uint32_t *grouped;
  km s;
  vq_rng rng;
  int rc, r;
  memset(&s, 0, sizeof s);
  memset(&st, 0, sizeof st);
  if (diag) diag->msg[0] = 0;
  if (!centroids) return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "no output");
  rc = check_inputs(p, x, n, d, weights, vq_threads(p ? p->nthreads : 0),
                    diag);
  if (rc == VQ_OK) rc = check_groups(p, n, diag);
  if (rc < 0) return rc;
  vq_rng_seed(&rng, p->seed);
  /* Spherical k-means works on unit vectors, statistics included. */
  if (p->spherical && !(x = xn = normalised(x, n, d))) {
    rc = VQ_ERR_NOMEM;
    goto done;
  }
  s.p = p, s.d = d, s.k = p->k, s.nt = vq_threads(p->nthreads);
  grouped = p->min_groups > 1 ? p->groups : NULL;
  rc = subsample(p, p->max_per_centroid, x, weights, grouped, n, d, &xs,
                 &ws, &s.own_grp, &s.n, &rng);
  s.x = xs ? xs : x;
  s.w = xs ? ws : weights;
  s.grp = s.own_grp ? s.own_grp : grouped;
  s.ngrp = n;
  if (rc < 0 || (rc = km_alloc(&s)) < 0) goto done;
  for (r = 1; r <= p->nredo; r++) {
    int iters = 0;
    vq_rng run;
    vq_rng_seed(&run, p->seed + 0x9e3779b97f4a7c15ULL * (uint64_t)r);
    s.reseeds = 0;
    if (p->init == VQ_INIT_GIVEN) {
      size_t i;
      for (i = 0; i < s.k * d; i++)
        if (!isfinite(centroids[i])) {
          rc = vq_diag_set(diag, VQ_ERR_NONFINITE, "the given centroids "
                           "hold NaN or infinity");
          goto done;
        }
      memcpy(s.c, centroids, s.k * d * sizeof(float));
    } else if (p->init == VQ_INIT_RANDOM) {
      init_random(&s, &run);
    } else if ((rc = seed_kmeanspp(&s, &run)) < 0) {
      goto done;
    }
    if ((rc = lloyd(&s, r, &iters)) < 0) goto done;
    if (p->nredo > 1) {
      double sse;
      if ((rc = assign_sse(&s, &sse)) < 0) goto done;
      if (!(sse >= best_sse)) best_sse = sse, st.best_redo = r;
    } else {
      st.best_redo = 1;
    }
    if (st.best_redo == r) {
      memcpy(centroids, s.c, s.k * d * sizeof(float));
      st.iterations = iters, st.empty_reseeds = s.reseeds;
    }
  }
  st.n_train = s.n;
  /* Statistics on all n input vectors, not just the training sample. */
  if (xs) {
    km_free(&s);
    memset(&s, 0, sizeof s);
    s.p = p, s.d = d, s.k = p->k, s.n = n, s.nt = vq_threads(p->nthreads);
    s.x = x, s.w = weights;
    if ((rc = km_alloc(&s)) < 0) goto done;
  }
  memcpy(s.c, centroids, s.k * d * sizeof(float));
  if ((rc = final_stats(&s, &st)) < 0) goto done;
  st.seconds = vq_now() - t0;
  if (stats) *stats = st;
done:
  km_free(&s);
  vq_free(xs), vq_free(xn);
  free(ws);
  if (rc < 0 && rc != VQ_ERR_ABORTED && diag && !diag->msg[0])
    vq_diag_set(diag, rc, "k-means: %s", vq_strerror(rc));
  return rc;
}
