/* Product quantization and OPQ.
 *
 * Every sub-space is a k-means problem of its own on the gathered
 * sub-vectors (contiguous copies, so that the k-means core and the
 * search kernels see ordinary [n, d / m] data). OPQ alternates, on a
 * sample, between the codebooks for the rotated data (k-means warm
 * started from the previous round) and the rotation for the codes: the
 * orthogonal R minimising |X R - Y| for the reconstructions Y is U V^T
 * from the SVD X^T Y = U S V^T (one-sided Jacobi, here: d x d matrices
 * need no LAPACK, and linking it would cost every libvq process the start
 * of OpenBLAS, 6 ms, 15% of decoding a Kodak image). Products and sums
 * run in a
 * fixed order whatever the thread count. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "vq/pq.h"
#include "vq/search.h"
#include "internal.h"
#include "linalg.h"

int vq_pq_params_init_(vq_pq_params *p, uint32_t abi, uint32_t size) {
  if (abi != VQ_ABI_VERSION || size != sizeof(*p)) return VQ_ERR_ABI;
  memset(p, 0, sizeof *p);
  p->abi_ = abi;
  p->size_ = size;
  p->m = 8;
  p->k = 256;
  p->iters = 25;
  p->seed = 1234;
  p->init = VQ_INIT_KMEANSPP;
  p->opq_iters = 4;
  p->opq_sample = 65536;
  p->max_per_centroid = 256;
  return VQ_OK;
}

static int check_shape(int m, size_t k, size_t d) {
  return m >= 1 && m <= VQ_PQ_MAX_M && k >= 1 && k <= VQ_PQ_MAX_K &&
                 d >= 1 && d % (size_t)m == 0
             ? VQ_OK
             : VQ_ERR_INVALID_ARG;
}

#if defined(__GNUC__)
typedef double vq_d4 __attribute__((vector_size(32)));
#endif

/* o[b] += v * y[b] in double, y float. */
static void axpy_d(double *o, double v, const float *y, size_t d) {
  size_t b = 0;
#if defined(__GNUC__)
  vq_d4 vv = {v, v, v, v};
  for (; b + 4 <= d; b += 4) {
    vq_d4 ov, yv = {y[b], y[b + 1], y[b + 2], y[b + 3]};
    memcpy(&ov, o + b, sizeof ov);
    ov += vv * yv;
    memcpy(o + b, &ov, sizeof ov);
  }
#endif
  for (; b < d; b++) o[b] += v * y[b];
}

/* out = x R. */
static void rotate(float *out, const float *x, const float *r, size_t n,
                   size_t d, int nt) {
  vq_mat_rows(out, x, r, n, d, d, nt);
}

/* out = y R^T (back from the rotated space). */
static int unrotate(float *out, const float *y, const float *r, size_t n,
                    size_t d) {
  float *rt = vq_malloc_array(d * d, sizeof *rt);
  size_t a, b;
  if (!rt) return VQ_ERR_NOMEM;
  for (a = 0; a < d; a++)
    for (b = 0; b < d; b++) rt[b * d + a] = r[a * d + b];
  vq_mat_rows(out, y, rt, n, d, d, 1);
  free(rt);
  return VQ_OK;
}

/* The sub-vectors of sub-space j: sub [n, ds]. */
static void gather(float *sub, const float *z, size_t n, size_t d, size_t ds,
                   int j) {
  size_t i;
  for (i = 0; i < n; i++)
    memcpy(sub + i * ds, z + i * d + (size_t)j * ds, ds * sizeof *sub);
}

/* Codes of z (already rotated) into codes [n, m]. */
static int encode_plain(int32_t *codes, float *err, const float *cb, int m,
                        size_t k, size_t d, const float *z, size_t n,
                        int nt) {
  size_t ds = d / (size_t)m, i;
  float *sub = vq_malloc_array(n, ds * sizeof *sub);
  float *dist = err ? vq_malloc_array(n, sizeof *dist) : NULL;
  int32_t *idx = vq_malloc_array(n, sizeof *idx);
  int j, rc = VQ_OK;
  if (!sub || !idx || (err && !dist)) rc = VQ_ERR_NOMEM;
  if (err && rc == VQ_OK) memset(err, 0, n * sizeof *err);
  for (j = 0; j < m && rc == VQ_OK; j++) {
    gather(sub, z, n, d, ds, j);
    rc = vq_nearest(idx, dist, cb + (size_t)j * k * ds, k, ds, sub, n, nt);
    for (i = 0; i < n && rc >= 0; i++) {
      codes[i * (size_t)m + j] = idx[i];
      if (err) err[i] += dist[i];
    }
  }
  free(sub), free(idx), free(dist);
  return rc < 0 ? rc : VQ_OK;
}

/* The reconstruction in the rotated space. */
static void decode_plain(float *y, const int32_t *codes, const float *cb,
                         int m, size_t k, size_t d, size_t n) {
  size_t ds = d / (size_t)m, i;
  int j;
  for (i = 0; i < n; i++)
    for (j = 0; j < m; j++)
      memcpy(y + i * d + (size_t)j * ds,
             cb + ((size_t)j * k + (size_t)codes[i * (size_t)m + j]) * ds,
             ds * sizeof *y);
}

/* Trains (or, with init VQ_INIT_GIVEN, updates) every sub-space's
 * codebook on z. */
static int train_subspaces(float *cb, const vq_pq_params *p, int iters,
                           vq_kmeans_init init, const float *z, size_t n,
                           size_t d, double *util, double *mse,
                           vq_diag *diag) {
  size_t ds = d / (size_t)p->m;
  float *sub = vq_malloc_array(n, ds * sizeof *sub);
  vq_kmeans_params kp;
  int j, rc;
  if (!sub) return vq_diag_set(diag, VQ_ERR_NOMEM, "out of memory");
  if ((rc = vq_kmeans_params_init(&kp)) < 0) {
    free(sub);
    return rc;
  }
  kp.k = p->k;
  kp.iters = iters;
  kp.init = init;
  kp.max_per_centroid = p->max_per_centroid;
  kp.nthreads = p->nthreads;
  kp.progress = p->progress;
  kp.progress_user = p->progress_user;
  if (util) *util = 0.0;
  if (mse) *mse = 0.0;
  for (j = 0; j < p->m; j++) {
    vq_kmeans_stats ks;
    kp.seed = p->seed + (uint64_t)j;
    gather(sub, z, n, d, ds, j);
    rc = vq_kmeans_train(cb + (size_t)j * p->k * ds, &ks, &kp, sub, n, ds,
                         NULL, diag);
    if (rc < 0) break;
    if (util) *util += ks.utilization / p->m;
    if (mse) *mse += ks.mse / p->m; /* equal sub-space widths */
  }
  free(sub);
  return rc < 0 ? rc : VQ_OK;
}

/* R = U V^T from the SVD of m = x^T y (d x d, accumulated in double in
 * row order). */
static int procrustes(float *r, const float *x, const float *y, size_t n,
                      size_t d, int nt) {
  double *m = vq_calloc_array(d * d, sizeof *m);
  double *w = vq_malloc_array(d * d, sizeof *w);
  double *vt = vq_malloc_array(d * d, sizeof *vt);
  double *s = vq_malloc_array(d, sizeof *s);
  long a;
  int rc = VQ_OK;
  if (!m || !w || !vt || !s) {
    rc = VQ_ERR_NOMEM;
    goto done;
  }
  /* each row a of m is one thread's, its sums over i in order */
#pragma omp parallel for num_threads(nt) schedule(static)
  for (a = 0; a < (long)d; a++) {
    double *ma = m + (size_t)a * d;
    size_t i;
    for (i = 0; i < n; i++) axpy_d(ma, x[i * d + (size_t)a], y + i * d, d);
  }
  for (a = 0; a < (long)(d * d); a++) { /* w = m^T */
    size_t i = (size_t)a / d, j = (size_t)a % d;
    w[a] = m[j * d + i];
    if (!isfinite(w[a])) rc = VQ_ERR_NONFINITE;
  }
  if (rc < 0) goto done;
  vq_jacobi_svd(w, vt, s, d);
  vq_unit_rows(w, s, d);
  /* R[a][b] = sum_j u_j[a] v_j[b] */
  for (a = 0; a < (long)d; a++) {
    size_t b, j;
    for (b = 0; b < d; b++) {
      double t = 0.0;
      for (j = 0; j < d; j++) t += w[j * d + (size_t)a] * vt[j * d + b];
      r[(size_t)a * d + b] = (float)t;
    }
  }
done:
  free(m), free(w), free(vt), free(s);
  return rc;
}

static double orthogonality(const float *r, size_t d) {
  double worst = 0.0;
  size_t a, b, c;
  for (a = 0; a < d; a++)
    for (b = 0; b < d; b++) {
      double t = 0.0;
      for (c = 0; c < d; c++) t += (double)r[c * d + a] * r[c * d + b];
      t = fabs(t - (a == b ? 1.0 : 0.0));
      if (t > worst) worst = t;
    }
  return worst;
}

/* The starting rotation (OPQ's parametric solution): the principal axes
 * of x, shared among the m sub-spaces so that the products of their
 * variances are as equal as possible (each axis in decreasing variance to
 * the sub-space with room whose log-variance sum is lowest). */
static int pca_start(float *r, const float *x, size_t n, size_t d, int m,
                     int nt) {
  double *c = vq_calloc_array(d * d, sizeof *c);
  double *mean = vq_calloc_array(d, sizeof *mean);
  double *w = vq_malloc_array(d, sizeof *w);
  double *load = vq_calloc_array((size_t)m, sizeof *load);
  size_t *fill = vq_calloc_array((size_t)m, sizeof *fill), *order = NULL;
  double *vt = NULL;
  size_t ds = d / (size_t)m, i;
  long a;
  int rc = VQ_OK;
  if (!c || !mean || !w || !load || !fill) {
    rc = VQ_ERR_NOMEM;
    goto done;
  }
  vq_covariance(c, mean, x, n, d, nt);
  /* c is symmetric: its rows are its columns, and its SVD is its eigen-
   * decomposition (variances s, axes the rows of c once made unit) */
  for (a = 0; a < (long)(d * d); a++)
    if (!isfinite(c[a])) {
      rc = VQ_ERR_NONFINITE;
      goto done;
    }
  if (!(vt = vq_malloc_array(d * d, sizeof *vt)) ||
      !(order = vq_malloc_array(d, sizeof *order))) {
    rc = VQ_ERR_NOMEM;
    goto done;
  }
  vq_jacobi_svd(c, vt, w, d);
  vq_unit_rows(c, w, d);
  for (i = 0; i < d; i++) { /* the axes by decreasing variance */
    size_t t = i;
    order[i] = i;
    while (t > 0 && w[order[t - 1]] < w[i]) order[t] = order[t - 1], t--;
    order[t] = i;
  }
  for (i = 0; i < d; i++) {
    size_t ax = order[i], col, b;
    double v = w[ax] > 1e-12 ? log(w[ax]) : log(1e-12);
    int j, best = -1;
    for (j = 0; j < m; j++)
      if (fill[j] < ds && (best < 0 || load[j] < load[best])) best = j;
    col = (size_t)best * ds + fill[best]++;
    load[best] += v;
    for (b = 0; b < d; b++) r[b * d + col] = (float)c[ax * d + b];
  }
done:
  free(c), free(mean), free(w), free(load), free(fill), free(vt), free(order);
  return rc;
}

/* The first count vectors of a fixed random permutation of x. */
static float *sample_rows(const float *x, size_t n, size_t d, size_t count,
                          uint64_t seed) {
  size_t *perm = vq_malloc_array(n, sizeof *perm), i;
  float *out = vq_malloc_array(count, d * sizeof *out);
  vq_rng rng;
  if (!perm || !out) {
    free(perm), free(out);
    return NULL;
  }
  vq_rng_seed(&rng, seed);
  for (i = 0; i < n; i++) perm[i] = i;
  for (i = 0; i < count; i++) {
    size_t j = i + (size_t)vq_rng_below(&rng, n - i), t = perm[i];
    perm[i] = perm[j], perm[j] = t;
    memcpy(out + i * d, x + perm[i] * d, d * sizeof *out);
  }
  free(perm);
  return out;
}

/* OPQ rounds on a sample: leaves the rotation in r and warm codebooks in
 * cb. */
static int opq_rounds(float *cb, float *r, const vq_pq_params *p,
                      const float *x, size_t n, size_t d, int *rounds,
                      vq_diag *diag) {
  size_t ns = p->opq_sample && p->opq_sample < n ? p->opq_sample : n;
  if (ns < p->k) ns = p->k; /* k <= n was checked */
  int nt = vq_threads(p->nthreads), t, rc = VQ_OK;
  float *xs = ns < n ? sample_rows(x, n, d, ns, p->seed ^ 0x6f7071u) : NULL;
  float *z = vq_malloc_array(ns, d * sizeof *z);
  float *y = vq_malloc_array(ns, d * sizeof *y);
  int32_t *codes = vq_malloc_array(ns, (size_t)p->m * sizeof *codes);
  const float *src = xs ? xs : x;
  if ((ns < n && !xs) || !z || !y || !codes) {
    rc = vq_diag_set(diag, VQ_ERR_NOMEM, "out of memory");
    goto done;
  }
  if ((rc = pca_start(r, src, ns, d, p->m, nt)) < 0) {
    vq_diag_set(diag, rc, "OPQ: the data's covariance is not finite");
    goto done;
  }
  for (t = 0; t < p->opq; t++) {
    rotate(z, src, r, ns, d, nt);
    rc = train_subspaces(cb, p, t ? p->opq_iters : p->iters,
                         t ? VQ_INIT_GIVEN : p->init, z, ns, d, NULL, NULL,
                         diag);
    if (rc < 0) goto done;
    if ((rc = encode_plain(codes, NULL, cb, p->m, p->k, d, z, ns, nt)) < 0)
      goto done;
    decode_plain(y, codes, cb, p->m, p->k, d, ns);
    if ((rc = procrustes(r, src, y, ns, d, nt)) < 0) {
      vq_diag_set(diag, rc, "OPQ: the rotation's products are not finite");
      goto done;
    }
    *rounds = t + 1;
  }
done:
  free(xs), free(z), free(y), free(codes);
  return rc;
}

int vq_pq_train(float *codebooks, float *rotation, vq_pq_stats *stats,
                const vq_pq_params *p, const float *x, size_t n, size_t d,
                vq_diag *diag) {
  vq_pq_stats st;
  vq_kmeans_params kp;
  double t0 = vq_now();
  float *z = NULL;
  int nt, rc;
  size_t i;
  if (!p || p->abi_ != VQ_ABI_VERSION || p->size_ != sizeof(*p))
    return vq_diag_set(diag, VQ_ERR_ABI, "PQ parameters not set up by "
                       "vq_pq_params_init()");
  if (!codebooks || !x || check_shape(p->m, p->k, d) < 0 || p->opq < 0 ||
      p->opq > 1000 || p->opq_iters < 0 || (p->opq && !rotation))
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "PQ of %d sub-spaces of "
                       "%lu codewords in dimension %lu: the sub-spaces must "
                       "divide the dimension (1 to %d of them, 1 to %u "
                       "codewords)", p->m, (unsigned long)p->k,
                       (unsigned long)d, VQ_PQ_MAX_M, VQ_PQ_MAX_K);
  /* the k-means checks (k <= n, iterations, NaN in x) with the caller's
   * parameters */
  if ((rc = vq_kmeans_params_init(&kp)) < 0) return rc;
  kp.k = p->k, kp.iters = p->iters, kp.init = p->init;
  kp.max_per_centroid = p->max_per_centroid;
  if ((rc = vq_kmeans_params_check(&kp, n, d / (size_t)p->m, diag)) < 0)
    return rc;
  for (i = 0; i < n * d; i++)
    if (!isfinite(x[i]))
      return vq_diag_set(diag, VQ_ERR_NONFINITE, "vector %lu holds NaN or "
                         "infinity", (unsigned long)(i / d));
  memset(&st, 0, sizeof st);
  nt = vq_threads(p->nthreads);
  if (p->opq) {
    if (!(z = vq_malloc_array(n, d * sizeof *z))) {
      rc = vq_diag_set(diag, VQ_ERR_NOMEM, "out of memory");
      goto done;
    }
    if ((rc = opq_rounds(codebooks, rotation, p, x, n, d, &st.opq_rounds,
                         diag)) < 0)
      goto done;
    rotate(z, x, rotation, n, d, nt);
    /* the final codebooks on all vectors, from the rounds' ones; the
     * error in the rotated space is the error (R keeps distances) */
    rc = train_subspaces(codebooks, p, p->iters, VQ_INIT_GIVEN, z, n, d,
                         &st.utilization, &st.mse, diag);
    st.orthogonality = orthogonality(rotation, d);
  } else {
    rc = train_subspaces(codebooks, p, p->iters, p->init, x, n, d,
                         &st.utilization, &st.mse, diag);
  }
  if (rc < 0) goto done;
  st.seconds = vq_now() - t0;
  if (stats) *stats = st;
done:
  free(z);
  return rc;
}

int vq_pq_encode(int32_t *codes, float *err, const float *codebooks,
                 const float *rotation, int m, size_t k, size_t d,
                 const float *x, size_t n, int nthreads) {
  float *z = NULL;
  int rc;
  if (!codes || !codebooks || !x || check_shape(m, k, d) < 0)
    return VQ_ERR_INVALID_ARG;
  if (rotation) {
    if (!(z = vq_malloc_array(n, d * sizeof *z))) return VQ_ERR_NOMEM;
    rotate(z, x, rotation, n, d, vq_threads(nthreads));
  }
  rc = encode_plain(codes, err, codebooks, m, k, d, z ? z : x, n,
                    vq_threads(nthreads));
  free(z);
  return rc;
}

int vq_pq_decode(float *x, const int32_t *codes, const float *codebooks,
                 const float *rotation, int m, size_t k, size_t d, size_t n) {
  float *y = NULL;
  size_t i;
  int rc;
  if (!x || !codes || !codebooks || check_shape(m, k, d) < 0)
    return VQ_ERR_INVALID_ARG;
  for (i = 0; i < n * (size_t)m; i++)
    if (codes[i] < 0 || (size_t)codes[i] >= k) return VQ_ERR_INVALID_ARG;
  if (!rotation) {
    decode_plain(x, codes, codebooks, m, k, d, n);
    return VQ_OK;
  }
  if (!(y = vq_malloc_array(n, d * sizeof *y))) return VQ_ERR_NOMEM;
  decode_plain(y, codes, codebooks, m, k, d, n);
  rc = unrotate(x, y, rotation, n, d);
  free(y);
  return rc;
}

int vq_pq_distance_tables(float *tables, const float *codebooks,
                          const float *rotation, int m, size_t k, size_t d,
                          const float *q, size_t nq, int nthreads) {
  size_t ds = d / (size_t)(m > 0 ? m : 1);
  float *z = NULL;
  const float *src = q;
  long i;
  if (!tables || !codebooks || !q || check_shape(m, k, d) < 0)
    return VQ_ERR_INVALID_ARG;
  if (rotation) {
    if (!(z = vq_malloc_array(nq, d * sizeof *z))) return VQ_ERR_NOMEM;
    rotate(z, q, rotation, nq, d, vq_threads(nthreads));
    src = z;
  }
#pragma omp parallel for num_threads(vq_threads(nthreads)) schedule(static)
  for (i = 0; i < (long)nq; i++) {
    int j;
    for (j = 0; j < m; j++) {
      const float *qj = src + (size_t)i * d + (size_t)j * ds;
      const float *cj = codebooks + (size_t)j * k * ds;
      float *t = tables + ((size_t)i * (size_t)m + (size_t)j) * k;
      size_t c, e;
      for (c = 0; c < k; c++) {
        float s = 0.0f;
        for (e = 0; e < ds; e++) {
          float v = qj[e] - cj[c * ds + e];
          s += v * v;
        }
        t[c] = s;
      }
    }
  }
  free(z);
  return VQ_OK;
}
