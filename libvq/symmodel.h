/* Adaptive models for large alphabets (up to 2^20 symbols) on top of the
 * range coder. Internal. */
#ifndef VQ_SYMMODEL_H
#define VQ_SYMMODEL_H

#include "vq/rangecoder.h"

#define VQ_SYM_MAX_BITS 20

/* A symbol of b bits is coded in 4-bit digits from the top, each with an
 * adaptive 16-symbol CDF chosen by the digits above it (a 16-ary tree of
 * CDFs; the top digit may be narrower). Every leaf distribution is thus
 * learnt exactly, as an adaptive K-ary model would, at the cost of
 * ceil(b / 4) coder operations per symbol. */
typedef struct vq_sym_model {
  uint32_t alphabet;
  unsigned bits;        /* b: bits of alphabet - 1 (0 when alphabet is 1) */
  unsigned digits;      /* ceil(b / 4) */
  unsigned top_bits;    /* bits of the top digit */
  vq_cdf *nodes;        /* the tree, level by level */
  size_t nnodes;
  size_t level_base[(VQ_SYM_MAX_BITS + 3) / 4]; /* first node of a level */
} vq_sym_model;

/* alphabet in [1, 2^20]; rate0 as for vq_cdf. Returns 0 or VQ_ERR_*. */
int vq_sym_model_init(vq_sym_model *m, uint32_t alphabet, unsigned rate0);
void vq_sym_model_clear(vq_sym_model *m);

void vq_sym_encode(vq_rc_enc *e, vq_sym_model *m, uint32_t v);
/* A decoded value >= alphabet marks the stream invalid (returns 0). */
uint32_t vq_sym_decode(vq_rc_dec *d, vq_sym_model *m);

#endif /* VQ_SYMMODEL_H */
