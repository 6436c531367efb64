/* libvq: exact nearest-codeword search. */
#ifndef VQ_SEARCH_H
#define VQ_SEARCH_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A codebook prepared for repeated exact L2 search (opaque): norms and a
 * SIMD-friendly packed copy. */
typedef struct vq_index vq_index;

/* Kernel choice. AUTO picks the fastest the CPU supports; the others force
 * one path (VQ_ERR_UNSUPPORTED when the CPU or build lacks it). */
typedef enum vq_kernel {
  VQ_KERNEL_AUTO = 0,
  VQ_KERNEL_C = 1,
  VQ_KERNEL_AVX2 = 2,
  VQ_KERNEL_AVX512 = 3
} vq_kernel;

/* Builds an index over k codewords of dimension d (row-major, copied). */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_index_create(
    vq_index **out, const float *codebook, size_t k, size_t d,
    vq_kernel kernel);

/* Releases an index. Accepts NULL. */
VQ_EXPORT void vq_index_destroy(vq_index *ix);

/* Replaces the codewords (same k and d) without reallocating. */
VQ_EXPORT int vq_index_update(vq_index *ix, const float *codebook);

/* Name of the kernel in use ("c", "avx2", "avx512"). */
VQ_EXPORT const char *vq_index_kernel_name(const vq_index *ix);

/* For each of the n vectors x (row-major, n x d) finds the nearest codeword
 * in squared L2 distance: idx[i] gets its index (the lowest on ties) and,
 * when dist is not NULL, dist[i] gets ||x_i - c||^2 as computed through
 * ||x||^2 + ||c||^2 - 2 x.c (clamped at 0). nthreads <= 0 uses all cores.
 * Results do not depend on nthreads. */
VQ_EXPORT int vq_index_search(const vq_index *ix, int32_t *idx, float *dist,
                              const float *x, size_t n, int nthreads);

/* One-shot form of the above. */
VQ_EXPORT int vq_nearest(int32_t *idx, float *dist, const float *codebook,
                         size_t k, size_t d, const float *x, size_t n,
                         int nthreads);

#ifdef __cplusplus
}
#endif
#endif /* VQ_SEARCH_H */
