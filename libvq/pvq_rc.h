/* PVQ codewords through the range coder. Internal. */
#ifndef VQ_PVQ_RC_H
#define VQ_PVQ_RC_H

#include "vq/rangecoder.h"

/* Writes y (n entries, k pulses): its index as a uniform integer below
 * V(n, k) when V(n, k) < 2^64; otherwise the pulses of the first n / 2
 * coordinates as a uniform integer in [0, k], then each half the same
 * way. Returns VQ_OK or a VQ_ERR_* code (bad arguments, memory). */
int vq_pvq_write(vq_rc_enc *e, const int32_t *y, uint32_t n, uint32_t k);
/* Reads what vq_pvq_write wrote; a damaged stream sets d->error. */
int vq_pvq_read(vq_rc_dec *d, int32_t *y, uint32_t n, uint32_t k);

#endif /* VQ_PVQ_RC_H */
