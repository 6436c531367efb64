/* libvq: pyramid vector quantization (PVQ). A codeword of dimension n
 * with k pulses is an integer vector y with sum |y_i| = k; there are
 * V(n, k) of them, indexed without a stored codebook. */
#ifndef VQ_PVQ_H
#define VQ_PVQ_H

#include "common.h"
#include "array.h"

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
  VQ_PVQ_REFINE = 1   /* after the search, solve exactly by enumeration
                         when there are at most 32768 ways to spread the
                         pulse magnitudes, else move single pulses between
                         any two coordinates while the correlation grows
                         (O(n^2) a move: for small n k) */
};

/* The codeword y (n entries, k pulses) of greatest normalised correlation
 * <x, y> / |y| with x: a projection onto the pyramid with its gain made
 * consistent with the codeword it gives, then single pulses moved where
 * that raises the correlation (no allocation up to n = 1024, a fixed
 * handful of passes over x). *corr (may be NULL) receives
 * <x, y> / (|x| |y|), 1 for x = 0 (y then has its pulses on the first
 * coordinate). Results are the same on every platform. Errors:
 * VQ_ERR_INVALID_ARG, VQ_ERR_NONFINITE for NaN or infinite x. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_pvq_search(int32_t *y, double *corr,
                                                  const float *x,
                                                  uint32_t n, uint32_t k,
                                                  unsigned flags);

/* Rate-aware search: the pulse count k' <= k and codeword minimising
 * |x|^2 (2 - 2 corr) + lambda log2 V(n, k'), the shape error of x under
 * a perfect gain plus lambda times the index's cost in bits. Pulses are
 * added greedily from none, so the codeword for every k' is on the way;
 * lambda = 0 keeps the k' of greatest correlation (a pulse more can lower
 * it). *k_used (may be NULL) is k', *corr (may be
 * NULL) its correlation. Errors as vq_pvq_search(). */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_pvq_search_rd(
    int32_t *y, uint32_t *k_used, double *corr, const float *x, uint32_t n,
    uint32_t k, double lambda);

/* Scalar gain quantizer, companded by beta (1: uniform; above 1, coarser
 * steps for larger gains, as activity masking wants):
 * q = round((g / step)^(1 / beta)), and back step * q^beta. g >= 0. */
VQ_EXPORT int32_t vq_gain_quantize(float g, float step, float beta);
VQ_EXPORT float vq_gain_dequantize(int32_t q, float step, float beta);

/* Stream kind of a PVQ-coded float matrix in a .vq HEAD chunk. */
#define VQ_KIND_PVQ 2

/* Gain-shape PVQ of a float array, cut along its last axis into blocks of
 * `block` values (the last block of a row may be shorter). */
typedef struct vq_pvq_params {
  uint32_t abi_;          /* set by vq_pvq_params_init() */
  uint32_t size_;
  uint32_t block;         /* values per block, 1..VQ_PVQ_MAX_N (default 32) */
  uint32_t k;             /* pulses per full block; 0 (the default): from
                             bits */
  double bits;            /* shape bits per value when k is 0 (default 2) */
  float step;             /* gain step; 0 (the default): chosen so that
                             gain and shape errors balance */
  float beta;             /* gain companding exponent in [1, 16]
                             (default 1) */
  unsigned flags;         /* VQ_PVQ_REFINE for the refined search */
  int nthreads;           /* <= 0: all cores (default 0) */
  float pulses_per_step;  /* 0 (the default): k pulses in every full
                             block. Above 0 (up to 65536), pulses from the
                             gain: a full block whose gain index is q gets
                             round(pulses_per_step q) (at most
                             VQ_PVQ_MAX_K), so the shape is as fine as the
                             gain and the error the same in loud and quiet
                             blocks; k is then unused, and bits (when step
                             is 0) is the whole rate per value, gains
                             included, that the step is chosen to give */
} vq_pvq_params;

VQ_EXPORT int vq_pvq_params_init_(vq_pvq_params *p, uint32_t abi,
                                  uint32_t size);
#define vq_pvq_params_init(p) \
  vq_pvq_params_init_((p), VQ_ABI_VERSION, (uint32_t)sizeof(*(p)))

typedef struct vq_pvq_stats {
  uint32_t k;             /* pulses per full block (0 when from the gain) */
  double mean_k;          /* pulses per full block, on average */
  float step;             /* gain step used */
  uint64_t blocks;
  size_t bytes;           /* the whole .vq file */
  double bits_per_value;  /* 8 * bytes / values */
  double mse;             /* per value */
  double snr_db;          /* 10 log10(sum x^2 / sum (x - xhat)^2) */
} vq_pvq_stats;

/* Quantizes x (a float32 array of ndim dimensions, C order) and writes the
 * whole .vq file image into *out (vq_free()). The result is the same for
 * any nthreads. Errors: VQ_ERR_INVALID_ARG, VQ_ERR_NONFINITE, NOMEM. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_pvqfile_encode(
    uint8_t **out, size_t *out_size, vq_pvq_stats *stats,
    const vq_pvq_params *p, const float *x, int ndim, const uint64_t *shape,
    vq_diag *diag);

/* Decodes a .vq file of kind VQ_KIND_PVQ into a new float32 array of the
 * original shape (vq_array_destroy()). At most max_values values (0: 2^32)
 * are accepted, checked before anything is allocated. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_pvqfile_decode(
    vq_array **out, const void *vq, size_t size, uint64_t max_values,
    const char *name, vq_diag *diag);

/* What the HEAD chunk of a PVQ file declares. */
typedef struct vq_pvqfile_info {
  int ndim;
  uint64_t shape[8];
  uint32_t block, k;
  float step, beta;
  float pulses_per_step;  /* 0: k pulses in every full block */
} vq_pvqfile_info;

/* Parses the payload of a HEAD chunk of kind VQ_KIND_PVQ (for listers).
 * Returns VQ_ERR_UNSUPPORTED for another kind, VQ_ERR_FORMAT when
 * invalid. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_pvqfile_info_parse(
    vq_pvqfile_info *info, const void *head, size_t head_size,
    vq_diag *diag);

#ifdef __cplusplus
}
#endif
#endif /* VQ_PVQ_H */
