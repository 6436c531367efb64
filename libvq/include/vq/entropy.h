/* libvq: entropy coding of index streams. */
#ifndef VQ_ENTROPY_H
#define VQ_ENTROPY_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest alphabet an index stream may use. */
#define VQ_ENTROPY_MAX_ALPHABET (1u << 20)

/* How a stream's indices are modelled. Values are fixed: they are stored
 * in the stream's first byte. */
typedef enum vq_entropy_model {
  VQ_ENTROPY_AUTO = 0,      /* encoder only: try each model, keep the
                               smallest stream */
  VQ_ENTROPY_CONSTANT = 1,  /* one index repeated (or an empty stream) */
  VQ_ENTROPY_STATIC = 2,    /* frequency table sent in the stream; at most
                               16384 distinct indices */
  VQ_ENTROPY_ADAPTIVE = 3,  /* 16-ary tree of adaptive CDFs, order 0 */
  VQ_ENTROPY_MATCH = 4,     /* as ADAPTIVE, after flags for "same as the
                               left neighbour" and "same as the upper
                               neighbour" */
  VQ_ENTROPY_ORDER1 = 5,    /* one adaptive tree per value of the left
                               neighbour (order-1 context); alphabets of
                               at most 256 */
  VQ_ENTROPY_MATCH_STATIC = 6, /* the match flags, then a frequency table
                               sent in the stream for the indices that
                               match neither neighbour */
  VQ_ENTROPY_COUNTS = 7,    /* the exact count of every index sent, then
                               each index coded with the counts that
                               remain (enumerative); streams of at most
                               2^22 - 1 indices */
  VQ_ENTROPY_MATCH_RECENT = 8, /* left or upper neighbour, one of the 16
                               indices last coded otherwise, or a table
                               sent in the stream (as match-static): at
                               most two coder operations an index */
  VQ_ENTROPY_MATCH_CLASS = 9 /* as MATCH, the indices that match neither
                               neighbour coded with one adaptive tree per
                               class of a context the caller gives to
                               both ends (vq_entropy_params.context) */
} vq_entropy_model;

/* The last model value. */
#define VQ_ENTROPY_LAST_MODEL VQ_ENTROPY_MATCH_CLASS

/* Most classes a context may have. */
#define VQ_ENTROPY_MAX_CONTEXTS 16

typedef struct vq_entropy_params {
  uint32_t abi_;          /* set by vq_entropy_params_init(); do not touch */
  uint32_t size_;
  uint32_t alphabet;      /* K: every index is below K; 1..2^20 (required) */
  size_t width;           /* row length of a 2-d grid of indices, so that
                             the upper neighbour of index i is i - width
                             (0: a 1-d stream, the default) */
  vq_entropy_model model; /* default VQ_ENTROPY_AUTO */
  int rate;               /* adaptation rate of the adaptive models, 1..10
                             (higher adapts slower); 0, the default, tries
                             4 and 5 */
  const uint8_t *context; /* optional, n entries: a class of every index
                             that the decoder knows before decoding it
                             (the latent codec gives the class of the
                             previous stage's codeword); lets auto mode
                             try VQ_ENTROPY_MATCH_CLASS. NULL: none */
  unsigned contexts;      /* classes of context: 2..16, each entry below */
} vq_entropy_params;

/* Fills p with defaults. Returns VQ_ERR_ABI if the caller was compiled
 * against an incompatible header. Use the macro. */
VQ_EXPORT int vq_entropy_params_init_(vq_entropy_params *p, uint32_t abi,
                                      uint32_t size);
#define vq_entropy_params_init(p) \
  vq_entropy_params_init_((p), VQ_ABI_VERSION, (uint32_t)sizeof(*(p)))

typedef struct vq_entropy_stats {
  vq_entropy_model model; /* the model used */
  int rate;               /* its adaptation rate (adaptive models) */
  size_t bytes;           /* size of the stream */
  double bits_per_symbol; /* 8 * bytes / n (0 when n = 0) */
  double entropy;         /* empirical order-0 entropy, bits per symbol */
  uint32_t distinct;      /* number of distinct indices in the stream */
} vq_entropy_stats;

/* Codes n indices sym[0..n) (each < p->alphabet) into a new buffer *out
 * of *size bytes, freed with vq_free(). stats may be NULL.
 * Errors: VQ_ERR_INVALID_ARG (bad parameters, an index >= alphabet: diag
 * names its position), VQ_ERR_UNSUPPORTED (VQ_ENTROPY_STATIC asked for
 * more than 16384 distinct indices, VQ_ENTROPY_CONSTANT for several),
 * VQ_ERR_NOMEM. The stream depends only on the indices and parameters. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_entropy_encode(
    uint8_t **out, size_t *size, vq_entropy_stats *stats,
    const vq_entropy_params *p, const uint32_t *sym, size_t n,
    vq_diag *diag);

/* Decodes exactly n indices of alphabet K (and the width they were coded
 * with) from buf[0..size) into sym (caller-owned, n entries). The stream
 * must end exactly at size. Never reads outside buf; a damaged stream
 * returns VQ_ERR_TRUNCATED or VQ_ERR_FORMAT (sym then holds garbage). */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_entropy_decode(
    uint32_t *sym, size_t n, uint32_t alphabet, size_t width,
    const void *buf, size_t size, vq_diag *diag);

/* vq_entropy_decode() of a stream that may use VQ_ENTROPY_MATCH_CLASS:
 * context[0..n) and contexts as they were given to the encoder (NULL and
 * 0 for none; a match-class stream then fails with VQ_ERR_FORMAT, as it
 * does when contexts differ from the encoder's). */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_entropy_decode_context(
    uint32_t *sym, size_t n, uint32_t alphabet, size_t width,
    const uint8_t *context, unsigned contexts, const void *buf, size_t size,
    vq_diag *diag);

/* Name of a model ("static", ...). */
VQ_EXPORT const char *vq_entropy_model_name(vq_entropy_model m);

#ifdef __cplusplus
}
#endif
#endif /* VQ_ENTROPY_H */
