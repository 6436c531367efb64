/* PCA projectors: the covariance's eigenvectors by one-sided Jacobi on
 * the symmetric d x d matrix (its SVD is its eigen-decomposition), and
 * the projections as row-block products in a fixed order. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "vq/projector.h"
#include "internal.h"
#include "linalg.h"

#define ROW_BLOCK 256

static int check_dims(size_t d, size_t dout) {
  return d >= 1 && d <= VQ_PCA_MAX_DIM && dout >= 1 && dout <= d;
}

int vq_pca_train(float *mean, float *encode, float *decode, double *variance,
                 const float *x, size_t n, size_t d, size_t dout, int whiten,
                 int nthreads, vq_diag *diag) {
  double *c = NULL, *mu = NULL, *vt = NULL, *s = NULL;
  size_t *order = NULL, i, j;
  int nt = vq_threads(nthreads), rc = VQ_OK;
  if (!mean || !encode || !decode || !x || n == 0 || !check_dims(d, dout))
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "PCA from %lu to %lu "
                       "dimensions of %lu vectors: needs 1 <= output <= "
                       "input <= %d and at least one vector",
                       (unsigned long)d, (unsigned long)dout,
                       (unsigned long)n, VQ_PCA_MAX_DIM);
  for (i = 0; i < n * d; i++)
    if (!isfinite(x[i]))
      return vq_diag_set(diag, VQ_ERR_NONFINITE, "vector %lu holds NaN or "
                         "infinity", (unsigned long)(i / d));
  c = vq_malloc_array(d * d, sizeof *c);
  vt = vq_malloc_array(d * d, sizeof *vt);
  mu = vq_malloc_array(d, sizeof *mu);
  s = vq_malloc_array(d, sizeof *s);
  order = vq_malloc_array(d, sizeof *order);
  if (!c || !vt || !mu || !s || !order) {
    rc = vq_diag_set(diag, VQ_ERR_NOMEM, "out of memory");
    goto done;
  }
  vq_covariance(c, mu, x, n, d, nt);
  for (i = 0; i < d * d; i++)
    if (!isfinite(c[i])) {
      rc = vq_diag_set(diag, VQ_ERR_NONFINITE, "the covariance of the "
                       "vectors overflows");
      goto done;
    }
  vq_jacobi_svd(c, vt, s, d);
  vq_unit_rows(c, s, d);
  for (i = 0; i < d; i++) { /* axes by decreasing variance, stable */
    size_t t = i;
    while (t > 0 && s[order[t - 1]] < s[i]) order[t] = order[t - 1], t--;
    order[t] = i;
  }
  for (i = 0; i < d; i++) mean[i] = (float)mu[i];
  for (j = 0; j < dout; j++) {
    const double *u = c + order[j] * d;
    double var = s[order[j]] / (double)n, top = 0.0, sign = 1.0, scale;
    double floor = s[order[0]] / (double)n * 1e-9;
    for (i = 0; i < d; i++)
      if (fabs(u[i]) > top) top = fabs(u[i]), sign = u[i] < 0 ? -1.0 : 1.0;
    scale = whiten ? sqrt(var > floor ? var : (floor > 0 ? floor : 1e-30))
                   : 1.0;
    for (i = 0; i < d; i++) {
      encode[i * dout + j] = (float)(sign * u[i] / scale);
      decode[j * d + i] = (float)(sign * u[i] * scale);
    }
  }
  if (variance)
    for (j = 0; j < d; j++) variance[j] = s[order[j]] / (double)n;
done:
  free(c), free(vt), free(mu), free(s), free(order);
  return rc;
}

int vq_project(float *z, const float *x, size_t n, size_t d, size_t dout,
               const float *mean, const float *encode, int nthreads) {
  long b, nb = (long)((n + ROW_BLOCK - 1) / ROW_BLOCK);
  int nt = vq_threads(nthreads), fail = 0;
  if (!z || (!x && n) || !mean || !encode || !check_dims(d, dout))
    return VQ_ERR_INVALID_ARG;
#pragma omp parallel num_threads(nt)
  {
    float *t = vq_malloc_array(ROW_BLOCK, d * sizeof *t);
    if (!t) {
#pragma omp atomic write
      fail = 1;
    }
#pragma omp for schedule(static)
    for (b = 0; b < nb; b++) {
      size_t i0 = (size_t)b * ROW_BLOCK, rows = VQ_MIN(ROW_BLOCK, n - i0);
      size_t i, a;
      if (!t) continue;
      for (i = 0; i < rows; i++)
        for (a = 0; a < d; a++)
          t[i * d + a] = x[(i0 + i) * d + a] - mean[a];
      vq_mat_rows(z + i0 * dout, t, encode, rows, d, dout, 1);
    }
    free(t);
  }
  return fail ? VQ_ERR_NOMEM : VQ_OK;
}

int vq_unproject(float *x, const float *z, size_t n, size_t d, size_t dout,
                 const float *mean, const float *decode, int nthreads) {
  size_t i, a;
  if (!x || (!z && n) || !mean || !decode || !check_dims(d, dout))
    return VQ_ERR_INVALID_ARG;
  vq_mat_rows(x, z, decode, n, dout, d, vq_threads(nthreads));
  for (i = 0; i < n; i++)
    for (a = 0; a < d; a++) x[i * d + a] += mean[a];
  return VQ_OK;
}
