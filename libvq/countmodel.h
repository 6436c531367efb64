/* Exact-count (enumerative) model for large alphabets: the encoder sends
 * the count of every symbol, then codes each index with the counts that
 * remain, decrementing as it goes. The stream costs the log of the
 * multinomial coefficient plus the table, which beats a rounded static
 * table where many symbols are rare (K = 65536 over 10^6 indices). One
 * division and two Fenwick-tree walks per index. Internal. */
#ifndef VQ_COUNTMODEL_H
#define VQ_COUNTMODEL_H

#include <stddef.h>
#include <stdint.h>
#include "vq/rangecoder.h"

/* Longest stream the model codes: the remaining total must stay well
 * below the range coder's 2^24 floor. */
#define VQ_COUNT_MAX_N ((1u << 22) - 1)

/* Codes counts[alphabet] (summing to n <= VQ_COUNT_MAX_N), then s[0..n).
 * rate: adaptation rate of the table's models. VQ_OK or VQ_ERR_NOMEM. */
int vq_count_encode(vq_rc_enc *e, const uint32_t *s, size_t n,
                    const uint64_t *counts, uint32_t alphabet,
                    unsigned rate);
/* Reads the table (it must sum to n) and n indices. VQ_OK, VQ_ERR_FORMAT
 * or VQ_ERR_NOMEM; truncation shows in vq_rc_dec_finish(). */
int vq_count_decode(vq_rc_dec *d, uint32_t *s, size_t n, uint32_t alphabet,
                    unsigned rate);

#endif /* VQ_COUNTMODEL_H */
