/* Small dense linear algebra shared by PQ/OPQ, PCA and SimVQ: products
 * of row blocks with a matrix, covariances, and a one-sided Jacobi SVD.
 * Everything runs in a fixed order whatever the thread count. (No LAPACK:
 * linking OpenBLAS costs every libvq process 6 ms at start; see
 * doc/architecture.md.) */
#ifndef VQ_LINALG_H
#define VQ_LINALG_H

#include <stddef.h>

/* out [n, dout] = x [n, din] M [din, dout]: every element summed over
 * a in order (o[b] += x[a] M[a][b]), four rows and eight columns at a
 * time where the compiler has vector extensions; the same arithmetic
 * either way, so the result depends neither on the thread count nor on
 * the path. out may not alias x. */
void vq_mat_rows(float *out, const float *x, const float *m, size_t n,
                 size_t din, size_t dout, int nt);

/* mean [d] (may be NULL) and covariance c [d, d] (not divided by n) of
 * x [n, d], in double, each row of c summed over the vectors in order. */
void vq_covariance(double *c, double *mean, const float *x, size_t n,
                   size_t d, int nt);

/* One-sided Jacobi SVD of the d x d matrix whose columns are the rows of
 * w (w = A^T, row-major): rotates pairs of rows until all are orthogonal.
 * On return row j of w is s_j u_j (u_j the j-th left singular vector, a
 * column of U), row j of vt the j-th right singular vector, s[j] = |row j
 * of w|. Plain double arithmetic in a fixed order. */
void vq_jacobi_svd(double *w, double *vt, double *s, size_t d);

/* Rows of w divided by s: orthonormal rows u_j; a row whose s is (next to)
 * zero is replaced by a unit vector orthogonal to the others (Gram-Schmidt
 * on the axes). */
void vq_unit_rows(double *w, const double *s, size_t d);

/* Solves (a + lambda I) x = b in place for x (b [d, m] becomes x) by
 * Cholesky on the symmetric positive semi-definite a [d, d] (destroyed).
 * Returns 0, or -1 when a + lambda I is not positive definite. */
int vq_cholesky_solve(double *a, double *b, size_t d, size_t m,
                      double lambda);

#endif /* VQ_LINALG_H */
