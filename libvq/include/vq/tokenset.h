/* libvq: token sets, the index file that goes with token .npy files.
 *
 * vqtok writes codebook tokens as .npy arrays (int32 or uint16, the last
 * axis the stages or sub-spaces) and beside them a small JSON index
 * naming the codebook by the SHA-256 of its file, saying what the tokens
 * came from, and, when many inputs are tokenized together, which rows of
 * which shard belong to each input. doc/tokens.md describes the file. */
#ifndef VQ_TOKENSET_H
#define VQ_TOKENSET_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VQ_TOKENSET_VERSION 1
#define VQ_TOKENSET_MAX_GRID 4      /* axes of one input's token grid */
#define VQ_TOKENSET_MAX_BYTES ((uint64_t)1 << 30) /* largest index read */

typedef struct vq_tokenset vq_tokenset;

/* One input: its name, its rows [row, row + rows) of shard `shard`, and
 * the shape of its token grid without the stage axis (grid[0] * ... *
 * grid[ndim - 1] = rows; [N] for vectors, [H', W'] for an image). */
typedef struct vq_token_input {
  const char *name;
  size_t shard;
  uint64_t row, rows;
  int ndim;
  uint64_t grid[VQ_TOKENSET_MAX_GRID];
  uint64_t size[VQ_TOKENSET_MAX_GRID]; /* the input's extent along each
                             grid axis (an image's height and width in
                             pixels, grid[a] = ceil(size[a] / P)); 0 on
                             adding means the same as grid */
} vq_token_input;

/* A new, empty set. sha256: the codebook file's digest in 64 lowercase
 * hex digits; source: "vectors", "image" or "latent"; dtype: "int32" or
 * "uint16"; stages: tokens per row (1..65536); k: codewords per stage. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_tokenset_create(
    vq_tokenset **out, const char *sha256, const char *codebook_name,
    const char *source, const char *dtype, int stages, uint64_t k);
VQ_EXPORT void vq_tokenset_destroy(vq_tokenset *ts);

/* String attributes (for example "patch.size"); keys of letters, digits,
 * '.', '_' and '-'. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_tokenset_set_attr(
    vq_tokenset *ts, const char *key, const char *value);
VQ_EXPORT const char *vq_tokenset_attr(const vq_tokenset *ts,
                                       const char *key);

/* Appends a shard (a file name relative to the index's folder) of `rows`
 * rows; returns its number in *index (may be NULL). */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_tokenset_add_shard(
    vq_tokenset *ts, const char *file, uint64_t rows, size_t *index);
/* Appends an input; its rows must lie inside its shard. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_tokenset_add_input(
    vq_tokenset *ts, const vq_token_input *in);

VQ_EXPORT const char *vq_tokenset_sha256(const vq_tokenset *ts);
VQ_EXPORT const char *vq_tokenset_codebook_name(const vq_tokenset *ts);
VQ_EXPORT const char *vq_tokenset_source(const vq_tokenset *ts);
VQ_EXPORT const char *vq_tokenset_dtype(const vq_tokenset *ts);
VQ_EXPORT int vq_tokenset_stages(const vq_tokenset *ts);
VQ_EXPORT uint64_t vq_tokenset_k(const vq_tokenset *ts);
VQ_EXPORT size_t vq_tokenset_shard_count(const vq_tokenset *ts);
/* Shard i's file name and rows; VQ_ERR_INVALID_ARG when i is out of
 * range. */
VQ_EXPORT int vq_tokenset_shard(const vq_tokenset *ts, size_t i,
                                const char **file, uint64_t *rows);
VQ_EXPORT size_t vq_tokenset_input_count(const vq_tokenset *ts);
VQ_EXPORT int vq_tokenset_input(const vq_tokenset *ts, size_t i,
                                vq_token_input *in);

/* Writes the index as JSON through a temporary file renamed at the end. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_tokenset_write(
    const vq_tokenset *ts, const char *path, vq_diag *diag);

/* Reads an index strictly: every field present and typed, shard names
 * plain file names (no '/'), inputs inside their shards, grids that
 * multiply to their rows; VQ_ERR_FORMAT naming the file and the field
 * otherwise. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_tokenset_read(
    vq_tokenset **out, const char *path, vq_diag *diag);

#ifdef __cplusplus
}
#endif
#endif /* VQ_TOKENSET_H */
