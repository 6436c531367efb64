/* Range coder: round trips of mixed operations, long and adversarial
 * streams, coding efficiency, uniform integers up to 2^64, and every
 * truncation and many bit flips of small streams. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "vq/rangecoder.h"
#include "testutil.h"

enum { OP_SYM, OP_BIT, OP_BITS, OP_UINT };

typedef struct op {
  int kind;
  unsigned ctx;       /* model index, or nbits */
  uint64_t v, n;
} op;

/* Contexts 0..7: 2, 4, ..., 16 symbols; context 7 adapts slowly
 * (rate0 6), as a stationary stream wants. */
#define NCTX 8

/* Encodes ops with fresh models; returns a malloc'd copy of the stream. */
static uint8_t *encode_ops(const op *ops, size_t nops, size_t *size) {
  vq_rc_enc e;
  vq_cdf m[NCTX];
  vq_bit_model b[NCTX];
  const uint8_t *out;
  uint8_t *copy;
  size_t i;
  for (i = 0; i < NCTX; i++)
    vq_cdf_init(&m[i], 2 + (unsigned)i * 2, i == 7 ? 6 : 4),
        vq_bit_model_init(&b[i], 5);
  vq_rc_enc_init(&e);
  for (i = 0; i < nops; i++) {
    const op *o = &ops[i];
    if (o->kind == OP_SYM) vq_rc_enc_symbol(&e, (unsigned)o->v, &m[o->ctx]);
    else if (o->kind == OP_BIT) vq_rc_enc_bit(&e, (int)o->v, &b[o->ctx]);
    else if (o->kind == OP_BITS) vq_rc_enc_bits(&e, (uint32_t)o->v, o->ctx);
    else vq_rc_enc_uint(&e, o->v, o->n);
  }
  CHECK_EQ_INT(vq_rc_enc_finish(&e, &out, size), VQ_OK);
  copy = malloc(*size + 1);
  memcpy(copy, out, *size);
  vq_rc_enc_clear(&e);
  return copy;
}

/* Decodes; returns the finish status and the number of matching ops. */
static int decode_ops(const op *ops, size_t nops, const uint8_t *buf,
                      size_t size, size_t *matched) {
  vq_rc_dec d;
  vq_cdf m[NCTX];
  vq_bit_model b[NCTX];
  size_t i;
  for (i = 0; i < NCTX; i++)
    vq_cdf_init(&m[i], 2 + (unsigned)i * 2, i == 7 ? 6 : 4),
        vq_bit_model_init(&b[i], 5);
  vq_rc_dec_init(&d, buf, size);
  *matched = 0;
  for (i = 0; i < nops; i++) {
    const op *o = &ops[i];
    uint64_t v;
    if (o->kind == OP_SYM) v = vq_rc_dec_symbol(&d, &m[o->ctx]);
    else if (o->kind == OP_BIT) v = (uint64_t)vq_rc_dec_bit(&d, &b[o->ctx]);
    else if (o->kind == OP_BITS) v = vq_rc_dec_bits(&d, o->ctx);
    else v = vq_rc_dec_uint(&d, o->n);
    *matched += v == o->v;
  }
  return vq_rc_dec_finish(&d);
}

static void random_ops(op *ops, size_t n, vq_rng *r) {
  size_t i;
  for (i = 0; i < n; i++) {
    op *o = &ops[i];
    o->kind = (int)vq_rng_below(r, 4);
    o->ctx = (unsigned)vq_rng_below(r, NCTX);
    if (o->kind == OP_SYM) {
      unsigned ns = 2 + o->ctx * 2;
      /* skewed: low symbols more likely */
      o->v = vq_rng_below(r, 1 + vq_rng_below(r, ns));
    } else if (o->kind == OP_BIT) {
      o->v = vq_rng_below(r, 10) < 2;
    } else if (o->kind == OP_BITS) {
      o->ctx = (unsigned)vq_rng_below(r, 17);
      o->v = o->ctx ? vq_rng_next(r) & ((1u << o->ctx) - 1) : 0;
    } else {
      unsigned bits = (unsigned)vq_rng_below(r, 65);
      o->n = bits == 64 ? 0 : (vq_rng_next(r) >> (64 - (bits ? bits : 1))) + 1;
      o->v = o->n ? vq_rng_next(r) % o->n : vq_rng_next(r);
    }
  }
}

static void test_round_trip(vq_rng *r) {
  static const size_t lens[] = {0, 1, 2, 10, 100, 5000, 200000};
  size_t l;
  for (l = 0; l < sizeof lens / sizeof *lens; l++) {
    op *ops = malloc((lens[l] + 1) * sizeof *ops);
    size_t size, matched;
    uint8_t *buf;
    random_ops(ops, lens[l], r);
    buf = encode_ops(ops, lens[l], &size);
    CHECK_EQ_INT(decode_ops(ops, lens[l], buf, size, &matched), VQ_OK);
    CHECK_EQ_INT(matched, lens[l]);
    free(buf);
    free(ops);
  }
}

/* Truncation at every length: an error, never success. Bit flips: no
 * crash, and the decoder stops (the container's CRC catches the rest). */
static void test_damage(vq_rng *r) {
  op ops[300];
  size_t size, cut, matched, i, flagged = 0;
  uint8_t *buf, *mut;
  random_ops(ops, 300, r);
  buf = encode_ops(ops, 300, &size);
  for (cut = 0; cut < size; cut++)
    CHECK(decode_ops(ops, 300, buf, cut, &matched) != VQ_OK);
  /* trailing junk is not this stream */
  mut = malloc(size + 1);
  memcpy(mut, buf, size);
  mut[size] = 0;
  CHECK(decode_ops(ops, 300, mut, size + 1, &matched) != VQ_OK);
  for (i = 0; i < size * 8; i++) {
    memcpy(mut, buf, size);
    mut[i / 8] ^= (uint8_t)(1u << (i % 8));
    if (decode_ops(ops, 300, mut, size, &matched) != VQ_OK ||
        matched != 300)
      flagged++;
  }
  fprintf(stderr, "bit flips that changed or failed the decode: %zu of "
          "%zu\n", flagged, size * 8);
  free(mut);
  free(buf);
}

/* Long runs, alternation and a sudden change of distribution; also a
 * 10^7-symbol binary stream. */
static void test_adversarial(vq_rng *r) {
  size_t n = 1000000, i, size, matched;
  op *ops = malloc(10000000 * sizeof *ops);
  uint8_t *buf;
  for (i = 0; i < n; i++) {
    ops[i].kind = OP_SYM;
    ops[i].ctx = 7; /* 16 symbols */
    if (i < n / 4) ops[i].v = 0;                         /* long run */
    else if (i < n / 2) ops[i].v = (i & 1) ? 15 : 0;     /* alternation */
    else if (i < 3 * n / 4) ops[i].v = 15;               /* sudden change */
    else ops[i].v = vq_rng_below(r, 16);                 /* uniform */
  }
  buf = encode_ops(ops, n, &size);
  CHECK_EQ_INT(decode_ops(ops, n, buf, size, &matched), VQ_OK);
  CHECK_EQ_INT(matched, n);
  free(buf);
  n = 10000000;
  for (i = 0; i < n; i++) {
    ops[i].kind = OP_BIT;
    ops[i].ctx = 0;
    ops[i].v = vq_rng_below(r, 100) < 3;
  }
  buf = encode_ops(ops, n, &size);
  CHECK_EQ_INT(decode_ops(ops, n, buf, size, &matched), VQ_OK);
  CHECK_EQ_INT(matched, n);
  free(buf);
  free(ops);
}

/* A stationary 16-symbol stream codes within 2% of its entropy. */
static void test_efficiency(vq_rng *r) {
  size_t n = 1000000, i, size, matched;
  double p[16], h = 0.0, tot = 0.0, bits;
  op *ops = malloc(n * sizeof *ops);
  uint8_t *buf;
  int s;
  for (s = 0; s < 16; s++) tot += p[s] = 1.0 / (s + 1); /* Zipf */
  for (s = 0; s < 16; s++) p[s] /= tot, h -= p[s] * log2(p[s]);
  for (i = 0; i < n; i++) {
    double u = vq_rng_double(r), acc = 0.0;
    for (s = 0; s < 15 && (acc += p[s]) <= u; s++) {}
    ops[i].kind = OP_SYM, ops[i].ctx = 7, ops[i].v = (uint64_t)s;
  }
  buf = encode_ops(ops, n, &size);
  bits = 8.0 * (double)size / (double)n;
  fprintf(stderr, "Zipf-16: %.4f bits/symbol, entropy %.4f (+%.2f%%)\n",
          bits, h, 100.0 * (bits / h - 1.0));
  CHECK(bits < h * 1.02);
  CHECK_EQ_INT(decode_ops(ops, n, buf, size, &matched), VQ_OK);
  CHECK_EQ_INT(matched, n);
  free(buf);
  free(ops);
}

static void test_uint_exhaustive(void) {
  uint64_t n, v;
  op ops[1];
  for (n = 1; n <= 300; n++)
    for (v = 0; v < n; v++) {
      size_t size, matched;
      uint8_t *buf;
      ops[0].kind = OP_UINT, ops[0].n = n, ops[0].v = v;
      buf = encode_ops(ops, 1, &size);
      CHECK_EQ_INT(decode_ops(ops, 1, buf, size, &matched), VQ_OK);
      CHECK_EQ_INT(matched, 1);
      free(buf);
    }
  /* boundaries of 64-bit ranges */
  {
    static const uint64_t ns[] = {0, UINT64_MAX, (uint64_t)1 << 63,
                                  ((uint64_t)1 << 63) + 1, 65536, 65537};
    size_t i;
    for (i = 0; i < sizeof ns / sizeof *ns; i++) {
      uint64_t max = ns[i] - 1, vals[3];
      size_t j;
      vals[0] = 0, vals[1] = max, vals[2] = max / 3;
      for (j = 0; j < 3; j++) {
        size_t size, matched;
        uint8_t *buf;
        ops[0].kind = OP_UINT, ops[0].n = ns[i], ops[0].v = vals[j];
        buf = encode_ops(ops, 1, &size);
        CHECK_EQ_INT(decode_ops(ops, 1, buf, size, &matched), VQ_OK);
        CHECK_EQ_INT(matched, 1);
        free(buf);
      }
    }
  }
}

/* A value past n - 1 (possible only in a damaged stream) is an error. */
static void test_uint_invalid(void) {
  op ops[1];
  size_t size, matched;
  uint8_t *buf;
  /* code v = 2^20 - 1 with n = 2^20, decode with n = 2^20 - 10 */
  ops[0].kind = OP_UINT, ops[0].n = 1u << 20, ops[0].v = (1u << 20) - 1;
  buf = encode_ops(ops, 1, &size);
  ops[0].n = (1u << 20) - 10;
  CHECK(decode_ops(ops, 1, buf, size, &matched) == VQ_ERR_FORMAT);
  free(buf);
}

int main(void) {
  vq_rng r;
  vq_rng_seed(&r, vq_test_seed(11));
  test_round_trip(&r);
  test_damage(&r);
  test_adversarial(&r);
  test_efficiency(&r);
  test_uint_exhaustive();
  test_uint_invalid();
  return vq_test_finish("test_rangecoder");
}
