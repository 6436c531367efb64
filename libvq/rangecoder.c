/* A byte-oriented range coder with 32-bit range and carry propagation
 * through a cached byte and a count of pending 0xFF bytes. Probabilities
 * are 15-bit; every symbol keeps at least MIN_PROB of the range whatever
 * its model says, so an adapted-away symbol stays codable.
 *
 * The decoder mirrors each renormalisation of the encoder, so it consumes
 * exactly the bytes the encoder wrote: reading past the end means the
 * stream was truncated, stopping short means it was not this stream. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "vq/common.h"
#include "vq/rangecoder.h"
#include "rcmodel.h"

#define TOP (1u << 24)
#define MIN_PROB VQ_CDF_MIN_PROB

/* up[s][i] is all ones when entry i + 1 rises after symbol s. */
const uint16_t vq_cdf_up_mask[VQ_CDF_MAX_SYMBOLS][VQ_CDF_MAX_SYMBOLS] = {
#define R(s) { (s) <= 0 ? 0xFFFF : 0, (s) <= 1 ? 0xFFFF : 0, \
  (s) <= 2 ? 0xFFFF : 0, (s) <= 3 ? 0xFFFF : 0, (s) <= 4 ? 0xFFFF : 0, \
  (s) <= 5 ? 0xFFFF : 0, (s) <= 6 ? 0xFFFF : 0, (s) <= 7 ? 0xFFFF : 0, \
  (s) <= 8 ? 0xFFFF : 0, (s) <= 9 ? 0xFFFF : 0, (s) <= 10 ? 0xFFFF : 0, \
  (s) <= 11 ? 0xFFFF : 0, (s) <= 12 ? 0xFFFF : 0, (s) <= 13 ? 0xFFFF : 0, \
  (s) <= 14 ? 0xFFFF : 0, (s) <= 15 ? 0xFFFF : 0 }
  R(0), R(1), R(2), R(3), R(4), R(5), R(6), R(7),
  R(8), R(9), R(10), R(11), R(12), R(13), R(14), R(15)
#undef R
};

void vq_cdf_init(vq_cdf *m, unsigned n, unsigned rate0) {
  unsigned i;
  memset(m, 0, sizeof *m);
  if (n < 2) n = 2;
  if (n > VQ_CDF_MAX_SYMBOLS) n = VQ_CDF_MAX_SYMBOLS;
  m->n = (uint8_t)n;
  m->rate0 = (uint8_t)(rate0 < 1 ? 1 : rate0 > 10 ? 10 : rate0);
  for (i = 0; i <= n; i++) m->cdf[i] = (uint16_t)((VQ_CDF_ONE * i) / n);
  for (; i <= VQ_CDF_MAX_SYMBOLS; i++) m->cdf[i] = VQ_CDF_ONE;
}

void vq_bit_model_init(vq_bit_model *m, unsigned rate0) {
  m->p0 = VQ_CDF_ONE / 2;
  m->rate0 = (uint8_t)(rate0 < 1 ? 1 : rate0 > 10 ? 10 : rate0);
  m->count = 0;
}

/* ---- encoder ----------------------------------------------------------- */

void vq_rc_enc_init(vq_rc_enc *e) {
  memset(e, 0, sizeof *e);
  e->range = 0xFFFFFFFFu;
}

void vq_rc_enc_clear(vq_rc_enc *e) {
  free(e->buf);
  memset(e, 0, sizeof *e);
}

static void put(vq_rc_enc *e, uint8_t b) {
  if (e->size == e->cap) {
    size_t nc = e->cap ? 2 * e->cap : 256;
    uint8_t *nb = nc > e->cap ? realloc(e->buf, nc) : NULL;
    if (!nb) {
      e->error = 1;
      return;
    }
    e->buf = nb, e->cap = nc;
  }
  e->buf[e->size++] = b;
}

/* Moves the top byte of low out, resolving carries. The first byte's
 * slot needs no carry room: the coded value stays below 1. */
static void shift_low(vq_rc_enc *e) {
  if ((uint32_t)e->low < 0xFF000000u || (e->low >> 32) != 0) {
    uint8_t carry = (uint8_t)(e->low >> 32);
    if (e->started) put(e, (uint8_t)(e->cache + carry));
    for (; e->pending; e->pending--) put(e, (uint8_t)(0xFF + carry));
    e->cache = (uint8_t)(e->low >> 24);
    e->started = 1;
  } else {
    e->pending++;
  }
  e->low = (e->low & 0x00FFFFFFu) << 8;
}

static void enc_normalize(vq_rc_enc *e) {
  while (e->range < TOP) {
    e->range <<= 8;
    shift_low(e);
  }
}

/* Codes [lo, lo + f) of total, r = range / total (the last interval
 * also takes the rounding remainder). */
static void enc_interval(vq_rc_enc *e, uint32_t r, uint32_t lo, uint32_t f,
                         uint32_t total) {
  e->low += (uint64_t)r * lo;
  e->range = lo + f < total ? r * f : e->range - r * lo;
  enc_normalize(e);
}

void vq_rc_enc_freq(vq_rc_enc *e, uint32_t lo, uint32_t f, unsigned bits) {
  enc_interval(e, e->range >> bits, lo, f, 1u << bits);
}

void vq_rc_enc_range(vq_rc_enc *e, uint32_t lo, uint32_t f, uint32_t total) {
  enc_interval(e, e->range / total, lo, f, total);
}

/* Codes the interval [lo, hi) of a total of 2^15. */
static void encode(vq_rc_enc *e, uint32_t lo, uint32_t hi) {
  vq_rc_enc_freq(e, lo, hi - lo, VQ_CDF_BITS);
}

void vq_rc_enc_static(vq_rc_enc *e, unsigned s, const uint16_t *cdf,
                      unsigned n) {
  encode(e, vq_cdf_cum(cdf, n, s), vq_cdf_cum(cdf, n, s + 1));
}

void vq_rc_enc_symbol(vq_rc_enc *e, unsigned s, vq_cdf *m) {
  encode(e, vq_cdf_cum(m->cdf, m->n, s), vq_cdf_cum(m->cdf, m->n, s + 1));
  vq_cdf_adapt(m, s);
}

void vq_rc_enc_bit(vq_rc_enc *e, int bit, vq_bit_model *m) {
  uint32_t split = vq_bit_split(m);
  if (bit) encode(e, split, VQ_CDF_ONE);
  else encode(e, 0, split);
  vq_bit_adapt(m, bit != 0);
}

/* v in [0, n), 1 <= n <= 2^16, through a division of the range. */
static void enc_small_uint(vq_rc_enc *e, uint32_t v, uint32_t n) {
  uint32_t r;
  if (n < 2) return;
  r = e->range / n;
  e->low += (uint64_t)r * v;
  e->range = v + 1 < n ? r : e->range - r * v;
  enc_normalize(e);
}

void vq_rc_enc_bits(vq_rc_enc *e, uint32_t v, unsigned nbits) {
  if (nbits) vq_rc_enc_freq(e, v & ((1u << nbits) - 1), 1, nbits);
}

static unsigned bit_length(uint64_t v) {
  unsigned b = 0;
  while (v) b++, v >>= 1;
  return b;
}

/* The top 16 bits of v uniformly in their actual range, the rest raw. */
void vq_rc_enc_uint(vq_rc_enc *e, uint64_t v, uint64_t n) {
  uint64_t max = n - 1; /* n = 0 stands for 2^64 */
  unsigned b = bit_length(max), low = b > 16 ? b - 16 : 0;
  enc_small_uint(e, (uint32_t)(v >> low), (uint32_t)(max >> low) + 1);
  while (low) {
    unsigned k = low > 16 ? 16 : low;
    low -= k;
    vq_rc_enc_bits(e, (uint32_t)(v >> low), k);
  }
}

int vq_rc_enc_finish(vq_rc_enc *e, const uint8_t **out, size_t *size) {
  int i;
  for (i = 0; i < 5; i++) shift_low(e);
  *out = e->buf;
  *size = e->size;
  return e->error ? VQ_ERR_NOMEM : VQ_OK;
}

/* ---- decoder ----------------------------------------------------------- */

void vq_rc_dec_init(vq_rc_dec *d, const uint8_t *buf, size_t size) {
  int i;
  d->buf = buf;
  d->size = buf ? size : 0;
  d->pos = 0;
  d->code = 0;
  d->range = 0xFFFFFFFFu;
  d->error = 0;
  for (i = 0; i < 4; i++) d->code = d->code << 8 | vq_rc_next_byte(d);
  if (d->code >= d->range) d->error = 1;
}

unsigned vq_rc_dec_static(vq_rc_dec *d, const uint16_t *cdf, unsigned n) {
  return vq_rc_dec_cdf(d, cdf, n);
}

unsigned vq_rc_dec_symbol(vq_rc_dec *d, vq_cdf *m) {
  return vq_rc_dec_adaptive(d, m);
}

int vq_rc_dec_bit(vq_rc_dec *d, vq_bit_model *m) {
  return vq_rc_dec_binary(d, m);
}

static uint32_t dec_small_uint(vq_rc_dec *d, uint32_t n) {
  uint32_t r, v;
  if (n < 2) return 0;
  r = d->range / n;
  v = d->code / r;
  if (v > n - 1) v = n - 1;
  d->code -= r * v;
  d->range = v + 1 < n ? r : d->range - r * v;
  if (d->code >= d->range) {
    d->error = 1;
    d->code = 0;
  }
  vq_rc_dec_normalize(d);
  return v;
}

/* As dec_small_uint(d, 2^nbits), with a shift for the division. */
uint32_t vq_rc_dec_bits(vq_rc_dec *d, unsigned nbits) {
  uint32_t v;
  if (!nbits) return 0;
  v = vq_rc_dec_target(d, nbits);
  vq_rc_dec_freq(d, v, 1, nbits);
  return v;
}

uint64_t vq_rc_dec_uint(vq_rc_dec *d, uint64_t n) {
  uint64_t max = n - 1, v;
  unsigned b = bit_length(max), low = b > 16 ? b - 16 : 0;
  v = dec_small_uint(d, (uint32_t)(max >> low) + 1);
  while (low) {
    unsigned k = low > 16 ? 16 : low;
    low -= k;
    v = v << k | vq_rc_dec_bits(d, k);
  }
  if (v > max) {
    d->error = 1;
    return 0;
  }
  return v;
}

int vq_rc_dec_finish(const vq_rc_dec *d) {
  if (d->pos > d->size) return VQ_ERR_TRUNCATED;
  if (d->error || d->pos != d->size) return VQ_ERR_FORMAT;
  return VQ_OK;
}
