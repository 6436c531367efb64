/* Small dense linear algebra: see linalg.h. */
#include "config.h"
#include <math.h>
#include <string.h>
#include "internal.h"
#include "linalg.h"

void vq_mat_rows(float *out, const float *x, const float *m, size_t n,
                 size_t din, size_t dout, int nt) {
  long i4, n4 = (long)((n + 3) / 4);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (i4 = 0; i4 < n4; i4++) {
    size_t i0 = (size_t)i4 * 4, rows = n - i0 < 4 ? n - i0 : 4, a, b = 0, t;
#if defined(__GNUC__)
    typedef float f4 __attribute__((vector_size(16)));
    if (rows == 4)
      for (; b + 8 <= dout; b += 8) {
        f4 acc[4][2];
        for (t = 0; t < 4; t++) acc[t][0] = acc[t][1] = (f4){0, 0, 0, 0};
        for (a = 0; a < din; a++) {
          f4 m0, m1;
          memcpy(&m0, m + a * dout + b, sizeof m0);
          memcpy(&m1, m + a * dout + b + 4, sizeof m1);
          for (t = 0; t < 4; t++) {
            float v = x[(i0 + t) * din + a];
            f4 vv = {v, v, v, v};
            acc[t][0] += vv * m0;
            acc[t][1] += vv * m1;
          }
        }
        for (t = 0; t < 4; t++) {
          memcpy(out + (i0 + t) * dout + b, &acc[t][0], sizeof acc[t][0]);
          memcpy(out + (i0 + t) * dout + b + 4, &acc[t][1], sizeof acc[t][1]);
        }
      }
#endif
    for (t = 0; t < rows; t++) {
      const float *xi = x + (i0 + t) * din;
      float *o = out + (i0 + t) * dout;
      size_t c;
      for (c = b; c < dout; c++) {
        float sum = 0.0f;
        for (a = 0; a < din; a++) sum += xi[a] * m[a * dout + c];
        o[c] = sum;
      }
    }
  }
}

void vq_covariance(double *c, double *mean, const float *x, size_t n,
                   size_t d, int nt) {
  size_t i;
  long a;
  memset(c, 0, d * d * sizeof *c);
  memset(mean, 0, d * sizeof *mean);
  for (i = 0; i < n; i++)
    for (a = 0; a < (long)d; a++) mean[a] += x[i * d + (size_t)a];
  for (a = 0; a < (long)d; a++) mean[a] /= (double)(n ? n : 1);
  /* each row a of c is one thread's, its sums over the vectors in order */
#pragma omp parallel for num_threads(nt) schedule(static)
  for (a = 0; a < (long)d; a++) {
    double *ca = c + (size_t)a * d;
    size_t j, b;
    for (j = 0; j < n; j++) {
      double v = x[j * d + (size_t)a] - mean[a];
      const float *xj = x + j * d;
      for (b = 0; b < d; b++) ca[b] += v * (xj[b] - mean[b]);
    }
  }
}

void vq_jacobi_svd(double *w, double *vt, double *s, size_t d) {
  size_t p, q, i;
  int sweep, rotated = 1;
  for (p = 0; p < d * d; p++) vt[p] = p % (d + 1) == 0 ? 1.0 : 0.0;
  for (sweep = 0; sweep < 60 && rotated; sweep++) {
    rotated = 0;
    for (p = 0; p + 1 < d; p++)
      for (q = p + 1; q < d; q++) {
        double *wp = w + p * d, *wq = w + q * d, al = 0, be = 0, ga = 0;
        double ze, t, c, sn;
        for (i = 0; i < d; i++) {
          al += wp[i] * wp[i];
          be += wq[i] * wq[i];
          ga += wp[i] * wq[i];
        }
        if (ga == 0.0 || fabs(ga) <= 1e-15 * sqrt(al * be)) continue;
        rotated = 1;
        ze = (be - al) / (2.0 * ga);
        t = (ze >= 0 ? 1.0 : -1.0) / (fabs(ze) + sqrt(1.0 + ze * ze));
        c = 1.0 / sqrt(1.0 + t * t);
        sn = c * t;
        for (i = 0; i < d; i++) {
          double a = wp[i], b = wq[i];
          wp[i] = c * a - sn * b;
          wq[i] = sn * a + c * b;
        }
        wp = vt + p * d, wq = vt + q * d;
        for (i = 0; i < d; i++) {
          double a = wp[i], b = wq[i];
          wp[i] = c * a - sn * b;
          wq[i] = sn * a + c * b;
        }
      }
  }
  for (p = 0; p < d; p++) {
    double t = 0.0;
    for (i = 0; i < d; i++) t += w[p * d + i] * w[p * d + i];
    s[p] = sqrt(t);
  }
}

/* Rows of w divided by s: orthonormal rows u_j; a row whose s is (next to)
 * zero is replaced by a unit vector orthogonal to the others (Gram-Schmidt
 * on the axes). */
void vq_unit_rows(double *w, const double *s, size_t d) {
  double top = 0.0;
  size_t j, i, e, l;
  for (j = 0; j < d; j++)
    if (s[j] > top) top = s[j];
  for (j = 0; j < d; j++)
    if (s[j] > 1e-12 * top && s[j] > 0.0)
      for (i = 0; i < d; i++) w[j * d + i] /= s[j];
  for (j = 0; j < d; j++) {
    if (s[j] > 1e-12 * top && s[j] > 0.0) continue;
    for (e = 0; e < d; e++) {
      double nn = 0.0;
      for (i = 0; i < d; i++) w[j * d + i] = i == e ? 1.0 : 0.0;
      for (l = 0; l < d; l++) {
        double pr = 0.0;
        if (l == j || (!(s[l] > 1e-12 * top && s[l] > 0.0) && l > j))
          continue;
        for (i = 0; i < d; i++) pr += w[l * d + i] * w[j * d + i];
        for (i = 0; i < d; i++) w[j * d + i] -= pr * w[l * d + i];
      }
      for (i = 0; i < d; i++) nn += w[j * d + i] * w[j * d + i];
      if (nn > 0.25) {
        nn = sqrt(nn);
        for (i = 0; i < d; i++) w[j * d + i] /= nn;
        break;
      }
    }
  }
}


int vq_cholesky_solve(double *a, double *b, size_t d, size_t m,
                      double lambda) {
  size_t i, j, l, c;
  for (i = 0; i < d; i++) a[i * d + i] += lambda;
  /* a = L L^T, L in the lower triangle */
  for (j = 0; j < d; j++) {
    double s = a[j * d + j];
    for (l = 0; l < j; l++) s -= a[j * d + l] * a[j * d + l];
    if (!(s > 0.0)) return -1;
    s = sqrt(s);
    a[j * d + j] = s;
    for (i = j + 1; i < d; i++) {
      double t = a[i * d + j];
      for (l = 0; l < j; l++) t -= a[i * d + l] * a[j * d + l];
      a[i * d + j] = t / s;
    }
  }
  for (c = 0; c < m; c++) { /* L y = b, then L^T x = y, column c */
    for (i = 0; i < d; i++) {
      double t = b[i * m + c];
      for (l = 0; l < i; l++) t -= a[i * d + l] * b[l * m + c];
      b[i * m + c] = t / a[i * d + i];
    }
    for (i = d; i-- > 0;) {
      double t = b[i * m + c];
      for (l = i + 1; l < d; l++) t -= a[l * d + i] * b[l * m + c];
      b[i * m + c] = t / a[i * d + i];
    }
  }
  return 0;
}
