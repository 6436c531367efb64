/* The range coder's model updates and its adaptive decoding steps as
 * inline functions, so that the library's own hot loops (the large-
 * alphabet tree, the match and order-1 models) run them without a call.
 * rangecoder.c's exported functions are these same functions. Internal. */
#ifndef VQ_RCMODEL_H
#define VQ_RCMODEL_H

#include <string.h>
#include "vq/rangecoder.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* up[s][i] is all ones when entry i + 1 rises after symbol s. */
extern const uint16_t vq_cdf_up_mask[VQ_CDF_MAX_SYMBOLS][VQ_CDF_MAX_SYMBOLS];

static inline unsigned vq_rate_of(unsigned rate0, unsigned count) {
  return rate0 + (count > 15) + (count > 31);
}

/* Entries 0 and n..16 are fixed points of the update (0 and 2^15), so
 * the update runs over entries 1..16 whatever n is: 16 lanes of 16 bits
 * with one shift count. GCC and Clang get it as two 8-lane vectors
 * through their vector extension (plain C operators, no intrinsics); other
 * compilers take the loop. Both give the same bits. */
#if defined(__GNUC__)
typedef uint16_t vq_u16x8 __attribute__((vector_size(16)));

static inline void vq_cdf_adapt(vq_cdf *m, unsigned s) {
  unsigned r = vq_rate_of(m->rate0, m->count), h;
  const vq_u16x8 one = {32768, 32768, 32768, 32768, 32768, 32768, 32768,
                        32768};
  for (h = 0; h < 2; h++) {
    vq_u16x8 v, up;
    memcpy(&v, m->cdf + 1 + 8 * h, sizeof v);
    memcpy(&up, vq_cdf_up_mask[s] + 8 * h, sizeof up);
    v = v + (((one - v) >> r) & up) - ((v >> r) & ~up);
    memcpy(m->cdf + 1 + 8 * h, &v, sizeof v);
  }
  if (m->count < 32) m->count++;
}
#else
static inline void vq_cdf_adapt(vq_cdf *m, unsigned s) {
  unsigned r = vq_rate_of(m->rate0, m->count), i;
  const uint16_t *up = vq_cdf_up_mask[s];
  uint16_t *c = m->cdf + 1;
  for (i = 0; i < VQ_CDF_MAX_SYMBOLS; i++) {
    uint16_t v = c[i], rise = (uint16_t)(VQ_CDF_ONE - v);
    rise = (uint16_t)(rise >> r);
    c[i] = (uint16_t)(v + (rise & up[i]) -
                      ((uint16_t)(v >> r) & (uint16_t)~up[i]));
  }
  if (m->count < 32) m->count++;
}
#endif

static inline void vq_bit_adapt(vq_bit_model *m, int bit) {
  unsigned r = vq_rate_of(m->rate0, m->count);
  if (bit) m->p0 = (uint16_t)(m->p0 - (m->p0 >> r));
  else m->p0 = (uint16_t)(m->p0 + ((VQ_CDF_ONE - m->p0) >> r));
  if (m->count < 32) m->count++;
}

/* The boundary between 0 and 1: p0 scaled, MIN_PROB kept for each. */
static inline uint32_t vq_bit_split(const vq_bit_model *m) {
  return ((m->p0 * (VQ_CDF_ONE - 2 * VQ_CDF_MIN_PROB)) >> VQ_CDF_BITS) +
         VQ_CDF_MIN_PROB;
}

/* Writes cum(0..16) to b[] and returns the number of cum(1..16) at or
 * below t (t < 2^15): those from n on are 2^15 or more, so never counted.
 * (c * 2 scale) >> 16 is cum()'s (c * scale) >> 15. */
#if defined(__SSE2__)
static inline unsigned vq_cdf_search(const uint16_t *cdf, uint16_t scale2,
                                     uint16_t t, uint16_t *b) {
  const __m128i min0 = _mm_setr_epi16(4, 8, 12, 16, 20, 24, 28, 32);
  const __m128i min1 = _mm_setr_epi16(36, 40, 44, 48, 52, 56, 60, 64);
  __m128i sc = _mm_set1_epi16((short)scale2), tv = _mm_set1_epi16((short)t);
  __m128i b0 = _mm_loadu_si128((const __m128i *)(const void *)(cdf + 1));
  __m128i b1 = _mm_loadu_si128((const __m128i *)(const void *)(cdf + 9));
  __m128i z = _mm_setzero_si128(), m;
  b0 = _mm_add_epi16(_mm_mulhi_epu16(b0, sc), min0);
  b1 = _mm_add_epi16(_mm_mulhi_epu16(b1, sc), min1);
  b[0] = 0;
  _mm_storeu_si128((__m128i *)(void *)(b + 1), b0);
  _mm_storeu_si128((__m128i *)(void *)(b + 9), b1);
  /* b <= t exactly when b - t saturates to 0 */
  m = _mm_packs_epi16(_mm_cmpeq_epi16(_mm_subs_epu16(b0, tv), z),
                      _mm_cmpeq_epi16(_mm_subs_epu16(b1, tv), z));
  m = _mm_sad_epu8(_mm_and_si128(m, _mm_set1_epi8(1)), z);
  return (unsigned)(_mm_cvtsi128_si32(m) +
                    _mm_cvtsi128_si32(_mm_srli_si128(m, 8)));
}
#else
static inline unsigned vq_cdf_search(const uint16_t *cdf, uint16_t scale2,
                                     uint16_t t, uint16_t *b) {
  unsigned s = 0, j;
  b[0] = 0;
  for (j = 0; j < VQ_CDF_MAX_SYMBOLS; j++) {
    b[j + 1] = (uint16_t)((((uint32_t)cdf[j + 1] * scale2) >> 16) +
                          VQ_CDF_MIN_PROB * (j + 1));
    s += b[j + 1] <= t;
  }
  return s;
}
#endif

/* The symbol whose scaled interval holds code, for a CDF of n + 1
 * entries; the boundaries are counted without a branch on the data
 * (r * cum(j) <= code exactly when cum(j) <= code / r). */
static inline unsigned vq_rc_dec_cdf(vq_rc_dec *d, const uint16_t *cdf,
                                     unsigned n) {
  uint32_t r = d->range >> VQ_CDF_BITS, t = d->code / r, lo, hi;
  uint32_t scale = VQ_CDF_ONE - n * VQ_CDF_MIN_PROB;
  uint16_t b[VQ_CDF_MAX_SYMBOLS + 1];
  unsigned s;
  if (t > VQ_CDF_ONE - 1) t = VQ_CDF_ONE - 1;
  s = vq_cdf_search(cdf, (uint16_t)(2 * scale), (uint16_t)t, b);
  lo = b[s];
  hi = s + 1 < n ? b[s + 1] : VQ_CDF_ONE;
  vq_rc_dec_range(d, lo, hi - lo, VQ_CDF_ONE, r);
  return s;
}

static inline unsigned vq_rc_dec_adaptive(vq_rc_dec *d, vq_cdf *m) {
  unsigned s = vq_rc_dec_cdf(d, m->cdf, m->n);
  vq_cdf_adapt(m, s);
  return s;
}

static inline int vq_rc_dec_binary(vq_rc_dec *d, vq_bit_model *m) {
  uint32_t r = d->range >> VQ_CDF_BITS, split = vq_bit_split(m);
  int bit = d->code >= r * split;
  if (bit) vq_rc_dec_range(d, split, VQ_CDF_ONE - split, VQ_CDF_ONE, r);
  else vq_rc_dec_range(d, 0, split, VQ_CDF_ONE, r);
  vq_bit_adapt(m, bit);
  return bit;
}

#endif /* VQ_RCMODEL_H */
