/* Static (two-pass) frequency model for large alphabets: the encoder
 * counts the stream, sends a compact table of the symbols it uses and
 * their frequencies, and both sides code with that fixed table. Internal.
 */
#ifndef VQ_STATMODEL_H
#define VQ_STATMODEL_H

#include "vq/rangecoder.h"

#define VQ_STAT_BITS 16                 /* frequencies sum to 2^16 */
#define VQ_STAT_MAX_USED 16384          /* most distinct symbols */

typedef struct vq_stat_model {
  uint32_t alphabet;
  uint32_t used;        /* distinct symbols, in [2, VQ_STAT_MAX_USED] */
  unsigned precision;   /* significant bits per transmitted frequency */
  uint32_t *sym;        /* [used] rank -> symbol, increasing */
  uint32_t *sent;       /* [used] frequencies as transmitted */
  uint32_t *freq;       /* [used] normalised: sum 2^16, each >= 1 */
  uint32_t *cum;        /* [used + 1] cumulative freq */
  uint32_t *rank;       /* [alphabet] symbol -> rank (encoder) */
  uint16_t *lut;        /* [2^12] rank of the symbol holding target
                           t = 16 j, for t >> 4 = j (decoder) */
} vq_stat_model;

/* Builds the encoder's model from counts[alphabet] with frequencies
 * rounded to precision significant bits (1..16). Returns VQ_OK,
 * VQ_ERR_UNSUPPORTED when fewer than 2 or more than VQ_STAT_MAX_USED
 * symbols occur, or VQ_ERR_NOMEM. */
int vq_stat_model_build(vq_stat_model *m, const uint64_t *counts,
                        uint32_t alphabet, unsigned precision);
/* Bits that coding counts[] with m costs, table excluded. */
double vq_stat_model_cost(const vq_stat_model *m, const uint64_t *counts);
void vq_stat_model_clear(vq_stat_model *m);

void vq_stat_table_write(vq_rc_enc *e, const vq_stat_model *m);
/* Reads a table for alphabet and builds the decoder's model. Returns
 * VQ_OK, VQ_ERR_FORMAT (invalid table) or VQ_ERR_NOMEM. */
int vq_stat_table_read(vq_rc_dec *d, vq_stat_model *m, uint32_t alphabet);

static inline void vq_stat_encode(vq_rc_enc *e, const vq_stat_model *m,
                                  uint32_t s) {
  uint32_t r = m->rank[s];
  vq_rc_enc_freq(e, m->cum[r], m->freq[r], VQ_STAT_BITS);
}

/* Inline: this is the inner loop of static decoding. The table gives the
 * rank for the first target of a bucket of 16; the ranks after it are
 * walked (rarely more than one step). */
static inline uint32_t vq_stat_decode(vq_rc_dec *d, const vq_stat_model *m) {
  uint32_t t = vq_rc_dec_target(d, VQ_STAT_BITS), k = m->lut[t >> 4];
  while (m->cum[k + 1] <= t) k++;
  vq_rc_dec_freq(d, m->cum[k], m->freq[k], VQ_STAT_BITS);
  return m->sym[k];
}

#endif /* VQ_STATMODEL_H */
