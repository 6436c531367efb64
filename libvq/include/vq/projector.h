/* libvq: linear projectors in front of a quantizer.
 *
 * PCA keeps the dout leading principal axes of the training vectors:
 * z = (x - mean) E with E [d, dout], and back x' = mean + z D with
 * D [dout, d]. Without whitening E's columns are the orthonormal axes and
 * D = E^T, so |x - x'|^2 = |z - z'|^2 + the part of x outside the kept
 * axes; with whitening every kept axis is scaled to unit variance (E
 * divides by the axis's standard deviation, D multiplies it back), which
 * spreads a quantizer's codewords evenly over the axes at the price of
 * no longer minimising the error in the original space.
 *
 * The SimVQ-style reparameterised codebook, the other projector, is a
 * k-means option (vq_kmeans_params.simvq, used by every RVQ stage with
 * vq_rvq_params.simvq). */
#ifndef VQ_PROJECTOR_H
#define VQ_PROJECTOR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VQ_PCA_MAX_DIM 4096

/* Fits PCA to x [n, d]: mean [d], encode [d, dout], decode [dout, d],
 * and variance [d] (may be NULL): the variances of all d axes, largest
 * first (per vector), whose first dout are kept. Axes are unit vectors
 * whose largest component is positive; ties between equal variances keep
 * the input's axis order. 1 <= dout <= d <= VQ_PCA_MAX_DIM; NaN or
 * infinity in x is VQ_ERR_NONFINITE. Cost: n d^2 for the covariance,
 * about 10 d^3 for its eigenvectors (one-sided Jacobi). Bit-identical for
 * any nthreads. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_pca_train(
    float *mean, float *encode, float *decode, double *variance,
    const float *x, size_t n, size_t d, size_t dout, int whiten,
    int nthreads, vq_diag *diag);

/* z [n, dout] = (x [n, d] - mean) encode. Bit-identical for any
 * nthreads. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_project(
    float *z, const float *x, size_t n, size_t d, size_t dout,
    const float *mean, const float *encode, int nthreads);

/* x [n, d] = mean + z [n, dout] decode. Bit-identical for any
 * nthreads. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_unproject(
    float *x, const float *z, size_t n, size_t d, size_t dout,
    const float *mean, const float *decode, int nthreads);

#ifdef __cplusplus
}
#endif
#endif /* VQ_PROJECTOR_H */
