/* libvq range coder: adaptive multi-symbol CDFs (15-bit, up to 16
 * symbols), adaptive binary contexts, raw bits, intervals of any total
 * below 2^24 and uniform integers up to 2^64. Integer arithmetic only:
 * encoder and decoder agree bit for bit on every platform. The index
 * streams, the PVQ coder and the codecs in codecs/ build on it; the
 * structures are public so that models can live on the caller's stack. */
#ifndef VQ_RANGECODER_H
#define VQ_RANGECODER_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VQ_CDF_BITS 15
#define VQ_CDF_ONE (1u << VQ_CDF_BITS)
#define VQ_CDF_MAX_SYMBOLS 16

/* An adaptive distribution over n <= 16 symbols: cdf[s] is the scaled
 * probability that a symbol is below s (cdf[0] = 0, cdf[n] = 2^15). After
 * each coded symbol the CDF moves toward it by 2^-rate of the distance;
 * rate grows from rate0 to rate0 + 2 over the first 32 symbols, so a new
 * model learns fast and then settles. */
typedef struct vq_cdf {
  uint16_t cdf[VQ_CDF_MAX_SYMBOLS + 1];
  uint8_t n;
  uint8_t rate0;
  uint8_t count;
} vq_cdf;

/* Every symbol keeps at least this much of the 2^15 total. */
#define VQ_CDF_MIN_PROB 4u

/* Scaled cumulative frequency of the symbols below s in cdf[] of n
 * symbols, MIN_PROB per symbol reserved: strictly increasing, 2^15 at
 * s = n. Symbol s is coded as [cum(s), cum(s + 1)) of 2^15, so its cost
 * is -log2((cum(s + 1) - cum(s)) / 2^15) bits (rate estimates). */
static inline uint32_t vq_cdf_cum(const uint16_t *cdf, unsigned n,
                                  unsigned s) {
  uint32_t scale = VQ_CDF_ONE - n * VQ_CDF_MIN_PROB;
  return ((cdf[s] * scale) >> VQ_CDF_BITS) + s * VQ_CDF_MIN_PROB;
}

/* Uniform start. rate0: adaptation speed (4 is a good default; 1..10). */
VQ_EXPORT void vq_cdf_init(vq_cdf *m, unsigned n, unsigned rate0);

/* A binary context: probability of a 0, 15-bit, adaptive as above. */
typedef struct vq_bit_model {
  uint16_t p0;
  uint8_t rate0;
  uint8_t count;
} vq_bit_model;

VQ_EXPORT void vq_bit_model_init(vq_bit_model *m, unsigned rate0);

typedef struct vq_rc_enc {
  uint8_t *buf;
  size_t size, cap;
  uint64_t low;        /* 33 bits: bit 32 is a pending carry */
  uint32_t range;      /* in [2^24, 2^32) between symbols */
  uint8_t cache;       /* last byte not yet written (carry may change it) */
  uint64_t pending;    /* 0xFF bytes waiting behind cache */
  int started;
  int error;           /* out of memory */
} vq_rc_enc;

VQ_EXPORT void vq_rc_enc_init(vq_rc_enc *e);
VQ_EXPORT void vq_rc_enc_clear(vq_rc_enc *e);
/* Codes s with a fixed CDF (cdf[0] = 0 < ... < cdf[n] = 2^15). */
VQ_EXPORT void vq_rc_enc_static(vq_rc_enc *e, unsigned s,
                                const uint16_t *cdf, unsigned n);
/* Codes s with an adaptive model, then adapts it. */
VQ_EXPORT void vq_rc_enc_symbol(vq_rc_enc *e, unsigned s, vq_cdf *m);
VQ_EXPORT void vq_rc_enc_bit(vq_rc_enc *e, int bit, vq_bit_model *m);
/* Codes the interval [lo, lo + f) of a total of 2^bits (bits <= 16,
 * f >= 1, lo + f <= 2^bits): static models with their own tables. */
VQ_EXPORT void vq_rc_enc_freq(vq_rc_enc *e, uint32_t lo, uint32_t f,
                              unsigned bits);
/* Codes the interval [lo, lo + f) of any total in [1, 2^24) (f >= 1,
 * lo + f <= total): one division per symbol; the rounding loss grows
 * with total / range, so keep totals well below 2^24. */
VQ_EXPORT void vq_rc_enc_range(vq_rc_enc *e, uint32_t lo, uint32_t f,
                               uint32_t total);
/* nbits <= 16 raw (equiprobable) bits. */
VQ_EXPORT void vq_rc_enc_bits(vq_rc_enc *e, uint32_t v, unsigned nbits);
/* v in [0, n), n >= 1, any n up to 2^64 - 1 (n = 0 means 2^64). */
VQ_EXPORT void vq_rc_enc_uint(vq_rc_enc *e, uint64_t v, uint64_t n);
/* Ends the stream; *out stays owned by e. Returns 0 or VQ_ERR_NOMEM. */
VQ_EXPORT int vq_rc_enc_finish(vq_rc_enc *e, const uint8_t **out,
                               size_t *size);

typedef struct vq_rc_dec {
  const uint8_t *buf;
  size_t size, pos;
  uint32_t code;       /* offset of the coded value inside the range */
  uint32_t range;
  int error;           /* the stream is truncated or invalid */
} vq_rc_dec;

/* The next input byte, zeros past the end (pos keeps counting, so that
 * vq_rc_dec_finish() reports the truncation). */
static inline uint8_t vq_rc_next_byte(vq_rc_dec *d) {
  uint8_t b = d->pos < d->size ? d->buf[d->pos] : 0;
  if (d->pos <= d->size) d->pos++;
  return b;
}

/* Refills the range to at least 2^24, a byte at a time, as the encoder's
 * renormalisation wrote them. */
static inline void vq_rc_dec_normalize(vq_rc_dec *d) {
  while (d->range < (1u << 24)) {
    d->range <<= 8;
    d->code = d->code << 8 | vq_rc_next_byte(d);
  }
}

/* The two halves of decoding an interval of a total of 2^bits (what
 * vq_rc_enc_freq() codes; inline, as static-table decoding runs on them):
 * the target in [0, 2^bits), which the caller looks up, then the interval
 * [lo, lo + f) of the symbol it found. */
static inline uint32_t vq_rc_dec_target(const vq_rc_dec *d, unsigned bits) {
  uint32_t v = d->code / (d->range >> bits), top = (1u << bits) - 1;
  return v < top ? v : top;
}

/* The same two halves for a total in [1, 2^24) (vq_rc_enc_range()):
 * dec_total_target() returns the target in [0, total) and the scale the
 * second half needs. */
static inline uint32_t vq_rc_dec_total_target(const vq_rc_dec *d,
                                              uint32_t total, uint32_t *r) {
  uint32_t v;
  *r = d->range / total;
  v = d->code / *r;
  return v < total - 1 ? v : total - 1;
}

/* The state stays in locals while refilling: the byte loads may alias
 * the decoder's fields, which would otherwise be stored and reloaded at
 * every byte. */
static inline void vq_rc_dec_range(vq_rc_dec *d, uint32_t lo, uint32_t f,
                                   uint32_t total, uint32_t r) {
  uint32_t code = d->code - r * lo;
  uint32_t range = lo + f < total ? r * f : d->range - r * lo;
  if (code >= range) { /* only a damaged stream gets here */
    d->error = 1;
    code = 0;
  }
  while (range < (1u << 24)) {
    size_t pos = d->pos;
    range <<= 8;
    code = code << 8 | (pos < d->size ? d->buf[pos] : 0);
    if (pos <= d->size) d->pos = pos + 1;
  }
  d->range = range;
  d->code = code;
}

static inline void vq_rc_dec_freq(vq_rc_dec *d, uint32_t lo, uint32_t f,
                                  unsigned bits) {
  vq_rc_dec_range(d, lo, f, 1u << bits, d->range >> bits);
}

/* Starts decoding buf[0..size); never reads outside it. */
VQ_EXPORT void vq_rc_dec_init(vq_rc_dec *d, const uint8_t *buf,
                              size_t size);
VQ_EXPORT unsigned vq_rc_dec_static(vq_rc_dec *d, const uint16_t *cdf,
                                    unsigned n);
VQ_EXPORT unsigned vq_rc_dec_symbol(vq_rc_dec *d, vq_cdf *m);
VQ_EXPORT int vq_rc_dec_bit(vq_rc_dec *d, vq_bit_model *m);
VQ_EXPORT uint32_t vq_rc_dec_bits(vq_rc_dec *d, unsigned nbits);
/* A value out of [0, n) marks the stream invalid (and returns 0). */
VQ_EXPORT uint64_t vq_rc_dec_uint(vq_rc_dec *d, uint64_t n);
/* 0 when every byte was consumed exactly and the stream was valid;
 * VQ_ERR_TRUNCATED when the decoder needed bytes past the end,
 * VQ_ERR_FORMAT for an invalid or over-long stream. */
VQ_EXPORT int vq_rc_dec_finish(const vq_rc_dec *d);

#ifdef __cplusplus
}
#endif
#endif /* VQ_RANGECODER_H */
