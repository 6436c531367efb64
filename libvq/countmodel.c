/* Exact-count model: table coding and enumerative index coding.
 *
 * The table: count c of each symbol in turn, as its bit length b (an
 * adaptive CDF chosen by the bit length of the sum of the previous 16
 * counts, so runs of rare or frequent symbols are cheap), then the bit
 * below the leading one through an adaptive bit per b, then the rest raw.
 * Indices: symbol s is the interval [sum of remaining counts below s,
 * + its remaining count) of the remaining total; a Fenwick tree keeps
 * those sums as counts drop. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "vq/common.h"
#include "countmodel.h"
#include "internal.h"

#define CLASSES 24   /* bit lengths 0..23: counts below 2^23 */
#define CONTEXTS 24
#define WINDOW 16
#define ESCAPE 15    /* first CDF: classes 0..14, then 15 = "15 or more" */

typedef struct table_models {
  vq_cdf low[CONTEXTS];
  vq_cdf high[CONTEXTS];
  vq_bit_model second[CLASSES];
} table_models;

static void table_init(table_models *m, unsigned rate) {
  unsigned i;
  for (i = 0; i < CONTEXTS; i++) {
    vq_cdf_init(&m->low[i], ESCAPE + 1, rate);
    vq_cdf_init(&m->high[i], CLASSES - ESCAPE, rate);
  }
  for (i = 0; i < CLASSES; i++) vq_bit_model_init(&m->second[i], rate);
}

static unsigned bit_length(uint64_t v) {
  unsigned b = 0;
  while (v) {
    b++;
    v >>= 1;
  }
  return b;
}

/* Context of symbol i: bit length of the sum of the WINDOW counts before
 * it (window holds them cyclically, sum their total). */
static unsigned context(uint64_t sum) {
  unsigned b = bit_length(sum);
  return b < CONTEXTS ? b : CONTEXTS - 1;
}

static void put_count(vq_rc_enc *e, table_models *m, unsigned ctx,
                      uint32_t c) {
  unsigned b = bit_length(c), rest;
  if (b < ESCAPE) {
    vq_rc_enc_symbol(e, b, &m->low[ctx]);
  } else {
    vq_rc_enc_symbol(e, ESCAPE, &m->low[ctx]);
    vq_rc_enc_symbol(e, b - ESCAPE, &m->high[ctx]);
  }
  if (b < 2) return;
  vq_rc_enc_bit(e, (c >> (b - 2)) & 1, &m->second[b]);
  for (rest = b - 2; rest > 0;) {
    unsigned take = rest < 16 ? rest : 16;
    rest -= take;
    vq_rc_enc_bits(e, (c >> rest) & ((1u << take) - 1), take);
  }
}

static uint32_t get_count(vq_rc_dec *d, table_models *m, unsigned ctx) {
  unsigned b = vq_rc_dec_symbol(d, &m->low[ctx]), rest;
  uint32_t c;
  if (b == ESCAPE) b += vq_rc_dec_symbol(d, &m->high[ctx]);
  if (b < 2) return b;
  c = 2u | (uint32_t)vq_rc_dec_bit(d, &m->second[b]);
  for (rest = b - 2; rest > 0;) {
    unsigned take = rest < 16 ? rest : 16;
    rest -= take;
    c = c << take | vq_rc_dec_bits(d, take);
  }
  return c;
}

/* ---- Fenwick tree over the remaining counts ---------------------------- */

typedef struct fenwick {
  uint32_t *t;   /* [size + 1], 1-based */
  uint32_t size; /* power of two >= alphabet */
} fenwick;

static int fenwick_init(fenwick *f, const uint32_t *c, uint32_t k) {
  uint32_t i;
  f->size = 1;
  while (f->size < k) f->size <<= 1;
  f->t = vq_calloc_array((size_t)f->size + 1, sizeof *f->t);
  if (!f->t) return VQ_ERR_NOMEM;
  for (i = 1; i <= f->size; i++) {
    uint32_t up = i + (i & -i);
    if (i <= k) f->t[i] += c[i - 1];
    if (up <= f->size) f->t[up] += f->t[i];
  }
  return VQ_OK;
}

/* Sum of the remaining counts of the symbols below s. */
static uint32_t fenwick_below(const fenwick *f, uint32_t s) {
  uint32_t sum = 0;
  for (; s; s &= s - 1) sum += f->t[s];
  return sum;
}

static void fenwick_drop(fenwick *f, uint32_t s) {
  for (s++; s <= f->size; s += s & -s) f->t[s]--;
}

/* The symbol whose interval holds target t; *lo gets its start. */
static uint32_t fenwick_find(const fenwick *f, uint32_t t, uint32_t *lo) {
  uint32_t pos = 0, step, left = t;
  for (step = f->size; step; step >>= 1)
    if (f->t[pos + step] <= left) {
      pos += step;
      left -= f->t[pos];
    }
  *lo = t - left;
  return pos;
}

/* The counts (zeroed) and the table's models, for k symbols. */
static int table_alloc(uint32_t **c, table_models **m, uint32_t k,
                       unsigned rate) {
  *c = vq_calloc_array(k, sizeof **c);
  *m = malloc(sizeof **m);
  if (!*c || !*m) {
    free(*c);
    free(*m);
    return VQ_ERR_NOMEM;
  }
  table_init(*m, rate);
  return VQ_OK;
}

/* Count i enters the window of the last WINDOW counts, and *sum with it. */
static void slide(uint64_t *window, uint64_t *sum, uint32_t i, uint32_t c) {
  *sum += c - window[i % WINDOW];
  window[i % WINDOW] = c;
}

int vq_count_encode(vq_rc_enc *e, const uint32_t *s, size_t n,
                    const uint64_t *counts, uint32_t k, unsigned rate) {
  uint64_t window[WINDOW] = {0}, sum = 0;
  uint32_t *c, i, total = (uint32_t)n;
  table_models *m;
  fenwick f;
  size_t j;
  int rc;
  if (n > VQ_COUNT_MAX_N) return VQ_ERR_UNSUPPORTED;
  if (table_alloc(&c, &m, k, rate) < 0) return VQ_ERR_NOMEM;
  for (i = 0; i < k; i++) {
    c[i] = (uint32_t)counts[i];
    put_count(e, m, context(sum), c[i]);
    slide(window, &sum, i, c[i]);
  }
  free(m);
  if ((rc = fenwick_init(&f, c, k)) == VQ_OK) {
    for (j = 0; j < n; j++, total--) {
      vq_rc_enc_range(e, fenwick_below(&f, s[j]), c[s[j]]--, total);
      fenwick_drop(&f, s[j]);
    }
    free(f.t);
  }
  free(c);
  return rc;
}

int vq_count_decode(vq_rc_dec *d, uint32_t *s, size_t n, uint32_t k,
                    unsigned rate) {
  uint64_t window[WINDOW] = {0}, sum = 0, seen = 0;
  uint32_t *c, i, total = (uint32_t)n;
  table_models *m;
  fenwick f;
  size_t j;
  int rc;
  if (n > VQ_COUNT_MAX_N) return VQ_ERR_FORMAT;
  if (table_alloc(&c, &m, k, rate) < 0) return VQ_ERR_NOMEM;
  for (i = 0; i < k && !d->error && d->pos <= d->size; i++) {
    c[i] = get_count(d, m, context(sum));
    seen += c[i];
    if (seen > n) break;
    slide(window, &sum, i, c[i]);
  }
  free(m);
  if (i < k || seen != n) {
    free(c);
    return d->error || d->pos > d->size ? VQ_OK : VQ_ERR_FORMAT;
  }
  if ((rc = fenwick_init(&f, c, k)) == VQ_OK) {
    for (j = 0; j < n; j++, total--) {
      uint32_t r, lo, t = vq_rc_dec_total_target(d, total, &r);
      uint32_t v = fenwick_find(&f, t, &lo);
      vq_rc_dec_range(d, lo, c[v]--, total, r);
      fenwick_drop(&f, v);
      s[j] = v;
    }
    free(f.t);
  }
  free(c);
  return rc;
}
