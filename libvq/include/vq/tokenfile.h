/* libvq: lossless compression of integer .npy token files into .vq. */
#ifndef VQ_TOKENFILE_H
#define VQ_TOKENFILE_H

#include "common.h"
#include "array.h"
#include "entropy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Stream kind stored in the first byte of a .vq HEAD chunk. */
#define VQ_KIND_TOKENS 1

typedef struct vq_tokenfile_params {
  uint32_t abi_;          /* set by vq_tokenfile_params_init() */
  uint32_t size_;
  uint32_t alphabet;      /* K: every value must lie in [0, K); 0 (the
                             default) takes the range of the data, offset
                             so that negative values work too */
  vq_entropy_model model; /* default VQ_ENTROPY_AUTO */
  const char *name;       /* input name for messages (may be NULL) */
} vq_tokenfile_params;

VQ_EXPORT int vq_tokenfile_params_init_(vq_tokenfile_params *p,
                                        uint32_t abi, uint32_t size);
#define vq_tokenfile_params_init(p) \
  vq_tokenfile_params_init_((p), VQ_ABI_VERSION, (uint32_t)sizeof(*(p)))

typedef struct vq_tokenfile_stats {
  uint64_t count;         /* number of tokens */
  uint32_t alphabet;      /* K of the coded indices */
  int64_t offset;         /* token value = index + offset */
  size_t input_bytes;     /* size of the .npy */
  size_t bytes;           /* size of the .vq */
  size_t payload_bytes;   /* of which the coded indices */
  double bits_per_token;  /* 8 * bytes / count (0 when count = 0) */
  vq_entropy_stats entropy; /* the index stream */
} vq_tokenfile_stats;

/* Compresses the .npy file image npy[0..size) (integer or bool dtype, any
 * shape, format 1-3, either byte order) into a new .vq image *out of
 * *out_size bytes, freed with vq_free(). vq_tokenfile_decode() restores
 * the very same bytes. stats may be NULL.
 * Errors: VQ_ERR_FORMAT/TRUNCATED/LIMIT for a bad .npy,
 * VQ_ERR_UNSUPPORTED for floating-point data or values spanning more than
 * 2^20, VQ_ERR_INVALID_ARG for values outside [0, alphabet). */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_tokenfile_encode(
    uint8_t **out, size_t *out_size, vq_tokenfile_stats *stats,
    const vq_tokenfile_params *p, const void *npy, size_t size,
    vq_diag *diag);

/* Limits a decoder checks before it allocates anything. */
typedef struct vq_tokenfile_limits {
  uint64_t max_tokens;    /* default 2^32 */
  uint64_t max_bytes;     /* largest output plus working memory, default
                             2^34 (16 GiB) */
} vq_tokenfile_limits;

VQ_EXPORT void vq_tokenfile_limits_default(vq_tokenfile_limits *lim);

/* Decodes a .vq token file image vq[0..size) back to the .npy file image
 * *out (vq_free()). lim may be NULL for defaults; name is used in
 * messages. Never reads outside the input; a damaged, truncated or
 * hostile file returns a negative code with diag naming the problem. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_tokenfile_decode(
    uint8_t **out, size_t *out_size, const void *vq, size_t size,
    const vq_tokenfile_limits *lim, const char *name, vq_diag *diag);

/* What a token file's HEAD chunk declares, and the model of its DATA. */
typedef struct vq_tokenfile_info {
  vq_dtype dtype;
  int big_endian;
  int ndim;
  uint64_t shape[8];
  uint64_t count;
  uint32_t alphabet;
  int64_t offset;
  vq_entropy_model model; /* from the first byte of DATA (AUTO if none) */
  int rate;
} vq_tokenfile_info;

/* Parses the payloads of a HEAD chunk and (optionally, NULL) of a DATA
 * chunk, as a file lister would. Returns VQ_ERR_UNSUPPORTED when HEAD is
 * not of kind VQ_KIND_TOKENS, VQ_ERR_FORMAT when it is invalid. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_tokenfile_info_parse(
    vq_tokenfile_info *info, const void *head, size_t head_size,
    const void *data, size_t data_size, vq_diag *diag);

#ifdef __cplusplus
}
#endif
#endif /* VQ_TOKENFILE_H */
