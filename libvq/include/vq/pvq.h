/* libvq: pyramid vector quantization (PVQ). A codeword of dimension n
 * with k pulses is an integer vector y with sum |y_i| = k; there are
 * V(n, k) of them, indexed without a stored codebook. */
#ifndef VQ_PVQ_H
#define VQ_PVQ_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest dimension the PVQ calls accept. */
#define VQ_PVQ_MAX_N 65536u
/* Largest pulse count (the index of a codeword with more pulses than the
 * direct enumeration handles is split, see vq_pvq_index). */
#define VQ_PVQ_MAX_K 65536u

/* Sets *v = V(n, k), the number of codewords. Returns VQ_OK, VQ_ERR_LIMIT
 * when V(n, k) >= 2^64 (then *v is UINT64_MAX) or VQ_ERR_INVALID_ARG for
 * n = 0, n > VQ_PVQ_MAX_N or k > VQ_PVQ_MAX_K. */
VQ_EXPORT int vq_pvq_count(uint64_t *v, uint32_t n, uint32_t k);

/* log2 V(n, k) for any valid n and k, exact to double precision also
 * beyond 2^64: the bit cost of an ideal index. 0 for k = 0. */
VQ_EXPORT double vq_pvq_bits(uint32_t n, uint32_t k);

/* The largest k whose codewords cost at most bits (log2 V(n, k) <= bits),
 * at most VQ_PVQ_MAX_K: the pulse count for a band of n coefficients
 * given a bit budget. */
VQ_EXPORT uint32_t vq_pvq_k_for_bits(uint32_t n, double bits);

/* The index in [0, V(n, k)) of y (n entries, sum |y_i| = k), and back.
 * The order is fixed: coordinates from the first, for each the value 0,
 * then +1, -1, +2, -2, ... Errors: VQ_ERR_INVALID_ARG when y does not have
 * k pulses or index >= V(n, k); VQ_ERR_LIMIT when V(n, k) >= 2^64. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_pvq_index(uint64_t *index,
                                                 const int32_t *y,
                                                 uint32_t n, uint32_t k);
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_pvq_vector(int32_t *y, uint64_t index,
                                                  uint32_t n, uint32_t k);

/* Search flags. */
enum {
  VQ_PVQ_REFINE = 1   /* after the greedy search, move single pulses
                         while the correlation grows (small n k) */
};

/* The codeword y (n entries, k pulses) of greatest normalised correlation
 * <x, y> / |y| with x: a projection onto the pyramid, then pulses added
 * one at a time where they raise the correlation most. *corr (may be
 * NULL) receives <x, y> / (|x| |y|), 1 for x = 0 (y then has its pulses on
 * the first coordinate). Errors: VQ_ERR_INVALID_ARG, VQ_ERR_NONFINITE for
 * NaN or infinite x. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_pvq_search(int32_t *y, double *corr,
                                                  const float *x,
                                                  uint32_t n, uint32_t k,
                                                  unsigned flags);

#ifdef __cplusplus
}
#endif
#endif /* VQ_PVQ_H */
