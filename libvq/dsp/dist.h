/* Distance kernels: fused dot-product + argmin over a packed codebook,
 * and batched squared distances. Internal. */
#ifndef VQ_DSP_DIST_H
#define VQ_DSP_DIST_H

#include <stddef.h>
#include <stdint.h>
#include "vq/search.h"

/* Packed codebook layout shared by every kernel: centroids in panels of
 * `panel` codewords; panel p holds, for j = 0..d-1, the j-th component of
 * its codewords contiguously: packed[(p * d + j) * panel + c]. Codewords
 * past k (padding) are zero with half_norm = +inf so they never win.
 * Every kernel computes, per vector x and codeword c, the score
 *   half_norm[c] - dot(x, c)
 * with dot accumulated by one fused multiply-add per component in order
 * j = 0..d-1 starting from 0, so all kernels produce bit-identical scores
 * and pick the same index (the lowest among equal minimum scores). */
typedef void (*vq_argmin_fn)(int32_t *idx, float *score, const float *x,
                             size_t n, size_t d, const float *packed,
                             const float *half_norm, size_t npanels,
                             size_t k);

typedef struct vq_dist_impl {
  const char *name;
  vq_kernel kernel;
  size_t panel;
  vq_argmin_fn argmin;
  /* out[i * m + l] = ||x_i - c_l||^2 for m codewords (row-major c),
   * accumulated in float by FMA in order j = 0..d-1. */
  void (*l2sq_many)(float *out, const float *x, size_t n, size_t d,
                    const float *c, size_t m);
  /* k-means++ candidate evaluation, see vq_pp_eval_c(). */
  void (*pp_eval)(float *out, float *lanes, const float *xt, size_t np,
                  size_t d, const float *c, size_t m, const float *xn2,
                  const float *cn2, const float *pot, const float *w);
  /* out[i] = ||x_i||^2, FMA chain in order j = 0..d-1. */
  void (*norms)(float *out, const float *x, size_t n, size_t d);
  /* acc[j] = fma(w, x[j], acc[j]) in double. */
  void (*axpy_f64)(double *acc, const float *x, double w, size_t d);
} vq_dist_impl;

/* Squared norms of n rows with the best kernel, in parallel. */
void vq_norms(float *out, const float *x, size_t n, size_t d, int nthreads);

/* vq_index_search() with precomputed squared norms of x (may be NULL). */
int vq_index_search_norms(const vq_index *ix, int32_t *idx, float *dist,
                          const float *x, const float *xnorm, size_t n,
                          int nthreads);

/* The implementation for a kernel request; NULL if the CPU or build lacks
 * it. VQ_KERNEL_AUTO picks the best available. */
const vq_dist_impl *vq_dist_select(vq_kernel kernel);

/* Packs k codewords (row-major k x d) for impl; packed has room for
 * ceil(k / panel) * panel * d floats, half_norm for ceil(k/panel)*panel. */
void vq_dist_pack(float *packed, float *half_norm, const float *codebook,
                  size_t k, size_t d, size_t panel);

/* Squared norm with the same FMA order as the kernels. */
float vq_dist_norm2(const float *x, size_t d);

void vq_argmin_c(int32_t *idx, float *score, const float *x, size_t n,
                 size_t d, const float *packed, const float *half_norm,
                 size_t npanels, size_t k);
void vq_l2sq_many_c(float *out, const float *x, size_t n, size_t d,
                    const float *c, size_t m);
/* Evaluates m candidates (row-major c, m x d) on np panels of 16 vectors
 * stored transposed (xt[(p * d + j) * 16 + r]). For vector i = 16 p + r:
 *   v = max(0, (xn2[i] + cn2[q]) - 2 dot(x_i, c_q))
 * with dot one FMA chain over j; out[q * 16 np + i] = v, and
 *   lanes[q * 16 + r] = fma(w[i], min(v, pot[i]), lanes[q * 16 + r])
 * panel after panel. Every path computes the same bits. */
void vq_pp_eval_c(float *out, float *lanes, const float *xt, size_t np,
                  size_t d, const float *c, size_t m, const float *xn2,
                  const float *cn2, const float *pot, const float *w);
void vq_norms_c(float *out, const float *x, size_t n, size_t d);
void vq_axpy_f64_c(double *acc, const float *x, double w, size_t d);
#ifdef VQ_HAVE_AVX2
void vq_argmin_avx2(int32_t *idx, float *score, const float *x, size_t n,
                    size_t d, const float *packed, const float *half_norm,
                    size_t npanels, size_t k);
void vq_l2sq_many_avx2(float *out, const float *x, size_t n, size_t d,
                       const float *c, size_t m);
void vq_pp_eval_avx2(float *out, float *lanes, const float *xt, size_t np,
                     size_t d, const float *c, size_t m, const float *xn2,
                     const float *cn2, const float *pot, const float *w);
void vq_norms_avx2(float *out, const float *x, size_t n, size_t d);
void vq_axpy_f64_avx2(double *acc, const float *x, double w, size_t d);
#endif
#ifdef VQ_HAVE_AVX512
void vq_argmin_avx512(int32_t *idx, float *score, const float *x, size_t n,
                      size_t d, const float *packed, const float *half_norm,
                      size_t npanels, size_t k);
void vq_pp_eval_avx512(float *out, float *lanes, const float *xt,
                       size_t np, size_t d, const float *c, size_t m,
                       const float *xn2, const float *cn2, const float *pot,
                       const float *w);
#endif

#endif /* VQ_DSP_DIST_H */
