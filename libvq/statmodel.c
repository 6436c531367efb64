/* Static frequency model: counting, normalisation to 2^16, and the
 * table that travels in the stream.
 *
 * Table layout, inside the range-coded stream: the number of distinct
 * symbols U (uniform in [2, min(K, VQ_STAT_MAX_USED)]), the precision P
 * (4 raw bits, P - 1), then for each used symbol in increasing order the
 * gap from the previous one and its frequency. Gaps and frequencies are
 * coded as a bit-length class through adaptive CDFs followed by the bits
 * below the leading one; a frequency sends only its top P - 1 such bits,
 * the encoder having rounded it to P significant bits. Both sides then
 * normalise the transmitted values to a total of 2^16 the same way, so a
 * coarser table trades a little coding loss for fewer table bits; the
 * encoder picks the P that minimises the sum. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "statmodel.h"

#define TOTAL (1u << VQ_STAT_BITS)
#define GAP_ESCAPE 15   /* class 15 means 15 + an extra uniform digit */
#define GAP_CLASSES 21  /* gaps below 2^20 */

static unsigned bitlen(uint64_t v) {
  unsigned b = 0;
  while (v) b++, v >>= 1;
  return b;
}

void vq_stat_model_clear(vq_stat_model *m) {
  free(m->sym);
  free(m->sent);
  free(m->freq);
  free(m->cum);
  free(m->rank);
  free(m->lut);
  memset(m, 0, sizeof *m);
}

static int alloc_model(vq_stat_model *m, uint32_t alphabet, uint32_t used) {
  m->alphabet = alphabet;
  m->used = used;
  m->sym = vq_malloc_array(used, sizeof *m->sym);
  m->sent = vq_malloc_array(used, sizeof *m->sent);
  m->freq = vq_malloc_array(used, sizeof *m->freq);
  m->cum = vq_malloc_array((size_t)used + 1, sizeof *m->cum);
  if (!m->sym || !m->sent || !m->freq || !m->cum) return VQ_ERR_NOMEM;
  return VQ_OK;
}

/* Sorts ranks by frequency, largest first, ties by rank: a total order,
 * so the adjustment below is the same on every platform. */
typedef struct by_freq {
  uint32_t f, r;
} by_freq;

static int cmp_freq(const void *a, const void *b) {
  const by_freq *x = a, *y = b;
  if (x->f != y->f) return x->f > y->f ? -1 : 1;
  return x->r < y->r ? -1 : x->r > y->r;
}

/* freq[i] >= 1 proportional to w[i] (each >= 1), summing to exactly
 * 2^16; used <= VQ_STAT_MAX_USED keeps that possible. The rounding error
 * is spread one unit at a time over the largest entries. */
static int normalise(uint32_t *freq, const uint64_t *w, uint32_t used) {
  uint64_t total = 0, sum = 0;
  int64_t d;
  by_freq *order;
  uint32_t i;
  for (i = 0; i < used; i++) total += w[i];
  for (i = 0; i < used; i++) {
    uint64_t f = (w[i] * TOTAL + total / 2) / total;
    freq[i] = f ? (uint32_t)f : 1u;
    sum += freq[i];
  }
  d = (int64_t)TOTAL - (int64_t)sum;
  if (d == 0) return VQ_OK;
  order = vq_malloc_array(used, sizeof *order);
  if (!order) return VQ_ERR_NOMEM;
  for (i = 0; i < used; i++) order[i].f = freq[i], order[i].r = i;
  qsort(order, used, sizeof *order, cmp_freq);
  /* passes over the ranks in that order, one unit to (or from) each; a
     rank at 1 gives nothing, so the passes that take walk only the ranks
     still above 1 (kept in order): the work is O(used + |d|), not
     O(used |d|) */
  while (d > 0)
    for (i = 0; i < used && d > 0; i++) freq[order[i].r]++, d--;
  if (d < 0) {
    uint32_t live = 0, j;
    for (i = 0; i < used; i++)
      if (freq[order[i].r] > 1) order[live++] = order[i];
    while (d < 0 && live > 0) {
      for (i = 0; i < live && d < 0; i++) freq[order[i].r]--, d++;
      for (i = 0, j = 0; i < live; i++)
        if (freq[order[i].r] > 1) order[j++] = order[i];
      live = j;
    }
  }
  free(order);
  return VQ_OK;
}

/* Rounds f to p significant bits, staying below 2^16. */
static uint32_t round_sig(uint32_t f, unsigned p) {
  unsigned len = bitlen(f), drop;
  uint32_t g;
  if (len <= p) return f;
  drop = len - p;
  g = ((f + (1u << (drop - 1))) >> drop) << drop;
  return g < TOTAL ? g : (f >> drop) << drop;
}

static int finish_model(vq_stat_model *m) {
  uint64_t *w = vq_malloc_array(m->used, sizeof *w);
  uint32_t i;
  int rc;
  if (!w) return VQ_ERR_NOMEM;
  for (i = 0; i < m->used; i++) w[i] = m->sent[i];
  rc = normalise(m->freq, w, m->used);
  free(w);
  if (rc < 0) return rc;
  m->cum[0] = 0;
  for (i = 0; i < m->used; i++) m->cum[i + 1] = m->cum[i] + m->freq[i];
  return VQ_OK;
}

int vq_stat_model_build(vq_stat_model *m, const uint64_t *counts,
                        uint32_t alphabet, unsigned precision) {
  uint32_t used = 0, s, i;
  uint64_t *w;
  int rc;
  memset(m, 0, sizeof *m);
  for (s = 0; s < alphabet; s++) used += counts[s] != 0;
  if (used < 2 || used > VQ_STAT_MAX_USED) return VQ_ERR_UNSUPPORTED;
  if ((rc = alloc_model(m, alphabet, used)) < 0) goto fail;
  rc = VQ_ERR_NOMEM;
  m->precision = precision < 1 ? 1 : precision > 16 ? 16 : precision;
  m->rank = vq_calloc_array(alphabet, sizeof *m->rank);
  w = vq_malloc_array(used, sizeof *w);
  if (!m->rank || !w) {
    free(w);
    goto fail;
  }
  for (s = 0, i = 0; s < alphabet; s++)
    if (counts[s]) {
      m->rank[s] = i;
      m->sym[i] = s;
      w[i++] = counts[s];
    }
  /* the exact frequencies, then rounded as they will be sent */
  rc = normalise(m->freq, w, used);
  free(w);
  if (rc < 0) goto fail;
  for (i = 0; i < used; i++)
    m->sent[i] = round_sig(m->freq[i], m->precision);
  if ((rc = finish_model(m)) < 0) goto fail;
  return VQ_OK;
fail:
  vq_stat_model_clear(m);
  return rc;
}

double vq_stat_model_cost(const vq_stat_model *m, const uint64_t *counts) {
  double bits = 0.0;
  uint32_t i;
  for (i = 0; i < m->used; i++)
    bits += (double)counts[m->sym[i]] *
            (VQ_STAT_BITS - log2((double)m->freq[i]));
  return bits;
}

/* ---- the table --------------------------------------------------------- */

typedef struct table_models {
  vq_cdf gap[2];        /* context: previous gap was 0 */
  vq_cdf len[16];       /* context: previous frequency's bit length - 1 */
} table_models;

static void models_init(table_models *t) {
  unsigned i;
  for (i = 0; i < 2; i++) vq_cdf_init(&t->gap[i], 16, 4);
  for (i = 0; i < 16; i++) vq_cdf_init(&t->len[i], 16, 4);
}

static uint32_t max_used(uint32_t alphabet) {
  return alphabet < VQ_STAT_MAX_USED ? alphabet : VQ_STAT_MAX_USED;
}

/* Writes the low nbits of v as raw bits, 16 at a time. */
static void put_raw(vq_rc_enc *e, uint32_t v, unsigned nbits) {
  while (nbits) {
    unsigned k = nbits > 16 ? 16 : nbits;
    nbits -= k;
    vq_rc_enc_bits(e, v >> nbits, k);
  }
}

static uint32_t get_raw(vq_rc_dec *d, unsigned nbits) {
  uint32_t v = 0;
  while (nbits) {
    unsigned k = nbits > 16 ? 16 : nbits;
    nbits -= k;
    v = v << k | vq_rc_dec_bits(d, k);
  }
  return v;
}

void vq_stat_table_write(vq_rc_enc *e, const vq_stat_model *m) {
  table_models t;
  uint32_t i, prev = 0;
  unsigned gctx = 0, lctx = 0;
  models_init(&t);
  vq_rc_enc_uint(e, m->used - 2, max_used(m->alphabet) - 1);
  vq_rc_enc_bits(e, m->precision - 1, 4);
  for (i = 0; i < m->used; i++) {
    uint32_t gap = m->sym[i] - (i ? prev + 1 : 0), f = m->sent[i];
    unsigned c = bitlen(gap), len = bitlen(f), keep;
    vq_rc_enc_symbol(e, c < GAP_ESCAPE ? c : GAP_ESCAPE, &t.gap[gctx]);
    if (c >= GAP_ESCAPE) vq_rc_enc_uint(e, c - GAP_ESCAPE,
                                        GAP_CLASSES - GAP_ESCAPE);
    if (c > 1) put_raw(e, gap, c - 1);
    gctx = gap == 0;
    vq_rc_enc_symbol(e, len - 1, &t.len[lctx]);
    keep = len - 1 < m->precision - 1 ? len - 1 : m->precision - 1;
    put_raw(e, f >> (len - 1 - keep), keep);
    lctx = len - 1;
    prev = m->sym[i];
  }
}

static int build_lut(vq_stat_model *m) {
  uint32_t r = 0, j;
  m->lut = vq_malloc_array(TOTAL >> 4, sizeof *m->lut);
  if (!m->lut) return VQ_ERR_NOMEM;
  for (j = 0; j < TOTAL >> 4; j++) {
    while (m->cum[r + 1] <= 16 * j) r++;
    m->lut[j] = (uint16_t)r;
  }
  return VQ_OK;
}

int vq_stat_table_read(vq_rc_dec *d, vq_stat_model *m, uint32_t alphabet) {
  table_models t;
  uint64_t next = 0;
  uint32_t used, i;
  unsigned gctx = 0, lctx = 0;
  int rc;
  memset(m, 0, sizeof *m);
  if (alphabet < 2) return VQ_ERR_FORMAT;
  models_init(&t);
  used = (uint32_t)vq_rc_dec_uint(d, max_used(alphabet) - 1) + 2;
  if (d->error) return VQ_ERR_FORMAT;
  if ((rc = alloc_model(m, alphabet, used)) < 0) goto fail;
  m->precision = vq_rc_dec_bits(d, 4) + 1;
  for (i = 0; i < used; i++) {
    unsigned c = vq_rc_dec_symbol(d, &t.gap[gctx]), len, keep;
    uint32_t gap = 0;
    if (c >= GAP_ESCAPE)
      c += (unsigned)vq_rc_dec_uint(d, GAP_CLASSES - GAP_ESCAPE);
    if (c) gap = 1u << (c - 1) | (c > 1 ? get_raw(d, c - 1) : 0);
    gctx = gap == 0;
    next += gap;
    if (next >= alphabet) break;
    m->sym[i] = (uint32_t)next++;
    len = vq_rc_dec_symbol(d, &t.len[lctx]) + 1;
    keep = len - 1 < m->precision - 1 ? len - 1 : m->precision - 1;
    m->sent[i] = (1u << keep | get_raw(d, keep)) << (len - 1 - keep);
    lctx = len - 1;
  }
  rc = VQ_ERR_FORMAT;
  if (i < used || d->error) goto fail;
  if ((rc = finish_model(m)) < 0 || (rc = build_lut(m)) < 0) goto fail;
  return VQ_OK;
fail:
  vq_stat_model_clear(m);
  return rc;
}
