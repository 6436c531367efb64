/* Large-alphabet adaptive model: a 16-ary tree of adaptive CDFs. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "vq/common.h"
#include "internal.h"
#include "rcmodel.h"
#include "symmodel.h"

int vq_sym_model_init(vq_sym_model *m, uint32_t alphabet, unsigned rate0) {
  uint32_t max;
  size_t level_nodes = 1, i, total = 0;
  unsigned l;
  memset(m, 0, sizeof *m);
  if (alphabet < 1 || alphabet > (1u << VQ_SYM_MAX_BITS))
    return VQ_ERR_INVALID_ARG;
  m->alphabet = alphabet;
  for (max = alphabet - 1; max; max >>= 1) m->bits++;
  m->digits = (m->bits + 3) / 4;
  m->top_bits = m->bits - 4 * (m->digits ? m->digits - 1 : 0);
  if (!m->digits) return VQ_OK;
  /* level 0 has 1 node, each further level 2^top_bits * 16^(l-1) */
  for (l = 0; l < m->digits; l++) {
    m->level_base[l] = total;
    total += level_nodes;
    level_nodes *= l == 0 ? (1u << m->top_bits) : 16;
  }
  m->nodes = vq_malloc_array(total, sizeof *m->nodes);
  if (!m->nodes) return VQ_ERR_NOMEM;
  m->nnodes = total;
  for (i = 0; i < total; i++)
    vq_cdf_init(&m->nodes[i], i == 0 ? (1u << m->top_bits) : 16, rate0);
  return VQ_OK;
}

void vq_sym_model_clear(vq_sym_model *m) {
  free(m->nodes);
  memset(m, 0, sizeof *m);
}

static unsigned shift_of(const vq_sym_model *m, unsigned l) {
  return 4 * (m->digits - 1 - l);
}

/* Levels are stored one after another; within a level, nodes are indexed
 * by the value of the digits above. */
void vq_sym_encode(vq_rc_enc *e, vq_sym_model *m, uint32_t v) {
  uint32_t prefix = 0;
  unsigned l;
  for (l = 0; l < m->digits; l++) {
    unsigned digit = (v >> shift_of(m, l)) &
                     (l == 0 ? (1u << m->top_bits) - 1 : 15u);
    vq_rc_enc_symbol(e, digit, &m->nodes[m->level_base[l] + prefix]);
    prefix = l == 0 ? digit : prefix << 4 | digit;
  }
}

uint32_t vq_sym_decode(vq_rc_dec *d, vq_sym_model *m) {
  uint32_t prefix = 0;
  unsigned l;
  for (l = 0; l < m->digits; l++) {
    unsigned digit = vq_rc_dec_adaptive(d, &m->nodes[m->level_base[l] + prefix]);
    prefix = l == 0 ? digit : prefix << 4 | digit;
  }
  if (prefix >= m->alphabet) {
    d->error = 1;
    return 0;
  }
  return prefix;
}
