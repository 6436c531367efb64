/* libvq: a trained codebook as a quantizer.
 *
 * k-means and residual codebooks (vqtrain kmeans, rvq; a k-means codebook
 * is one stage), product codebooks (pq, opq) and codebooks trained after
 * a PCA projector all code a vector as `stages` indices below k and
 * decode those back; this is the one interface to all of them that the
 * tools and the latent codec use. */
#ifndef VQ_QUANTIZER_H
#define VQ_QUANTIZER_H

#include "common.h"
#include "codebook.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vq_quantizer vq_quantizer;

/* A quantizer over cb, which must outlive it. Checks the kind ("kmeans",
 * "rvq", "pq", "opq"), the metadata that shapes it (rvq.stages, rvq.k,
 * pq.m, pq.k) and its extra tensors (an OPQ rotation, PCA projector
 * tensors that fit together); VQ_ERR_FORMAT with a message otherwise. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_quantizer_create(
    vq_quantizer **out, const vq_codebook *cb, vq_diag *diag);
VQ_EXPORT void vq_quantizer_destroy(vq_quantizer *q);

VQ_EXPORT int vq_quantizer_stages(const vq_quantizer *q); /* indices a vector */
VQ_EXPORT size_t vq_quantizer_k(const vq_quantizer *q);   /* per stage */
VQ_EXPORT size_t vq_quantizer_dim(const vq_quantizer *q); /* of the vectors */
/* 1 for product codebooks: every index is needed to decode (no prefix)
 * and the beam does not apply. */
VQ_EXPORT int vq_quantizer_is_product(const vq_quantizer *q);
/* The k codewords of stage s (0-based; sub-space s for product
 * codebooks), k rows of *dim floats in the space the codebook works in
 * (after the projector, when there is one). NULL for a bad stage. */
VQ_EXPORT const float *vq_quantizer_stage_codewords(const vq_quantizer *q,
                                                    int s, size_t *dim);

/* codes [n, stages] of x [n, dim]; err (may be NULL) gets each vector's
 * squared error in the original space. beam: 1 greedy, up to
 * VQ_RVQ_MAX_BEAM for residual codebooks. Bit-identical for any
 * nthreads. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_quantizer_encode(
    const vq_quantizer *q, int32_t *codes, float *err, const float *x,
    size_t n, int beam, int nthreads);

/* y [n, dim] from the first `use` indices of each row of codes
 * [n, stages] (use = stages for product codebooks); indices outside
 * [0, k) are VQ_ERR_INVALID_ARG. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_quantizer_decode(
    const vq_quantizer *q, float *y, const int32_t *codes, size_t n,
    int use, int nthreads);

#ifdef __cplusplus
}
#endif
#endif /* VQ_QUANTIZER_H */
