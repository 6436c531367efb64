/* libvq: reading and writing .safetensors files. */
#ifndef VQ_SAFETENSORS_H
#define VQ_SAFETENSORS_H

#include "array.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A parsed .safetensors file (opaque). The JSON header is parsed strictly:
 * every dtype, shape and offset is checked against the file before use,
 * tensors must tile the data section without gaps or overlap, and
 * __metadata__ must map strings to strings. */
typedef struct vq_st vq_st;

typedef struct vq_st_limits {
  uint64_t max_header;    /* largest JSON header (default 100 MiB) */
  uint64_t max_tensors;   /* most tensors (default 65536) */
  uint64_t max_bytes;     /* largest file (default 2^40) */
} vq_st_limits;

/* Opens and validates a file (mapped, not read). lim may be NULL. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_st_open(
    vq_st **out, const char *path, const vq_st_limits *lim, vq_diag *diag);

/* Parses a file image in memory; the buffer is copied. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_st_parse(
    vq_st **out, const void *buf, size_t size, const vq_st_limits *lim,
    const char *name, vq_diag *diag);

/* Releases a reader. Accepts NULL. */
VQ_EXPORT void vq_st_destroy(vq_st *st);

/* Number of tensors and metadata entries. */
VQ_EXPORT size_t vq_st_tensor_count(const vq_st *st);
VQ_EXPORT size_t vq_st_meta_count(const vq_st *st);

/* Index of the tensor called name, or VQ_ERR_NOT_FOUND. */
VQ_EXPORT int vq_st_find(const vq_st *st, const char *name);

/* Describes tensor i: name (owned by st), dtype, ndim and shape (at least
 * VQ_MAX_DIMS entries). Any of the outputs may be NULL. */
VQ_EXPORT int vq_st_tensor_info(const vq_st *st, size_t i, const char **name,
                                vq_dtype *dtype, int *ndim, uint64_t *shape);

/* Copies tensor i into a new array converted to want (as vq_npy_read). */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_st_read(
    vq_array **out, const vq_st *st, size_t i, vq_dtype want, vq_diag *diag);

/* Metadata value for key, or NULL when absent (owned by st). */
VQ_EXPORT const char *vq_st_meta(const vq_st *st, const char *key);

/* Metadata entry i (in file order); key and value are owned by st. */
VQ_EXPORT int vq_st_meta_at(const vq_st *st, size_t i, const char **key,
                            const char **value);

/* Writer: collects tensors and metadata, then writes them at once. */
typedef struct vq_st_writer vq_st_writer;

VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_st_writer_create(vq_st_writer **out);
VQ_EXPORT void vq_st_writer_destroy(vq_st_writer *w);

/* Adds a tensor. data is referenced, not copied: keep it alive until
 * vq_st_writer_write() returns. Names must be unique and non-empty. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_st_writer_add(
    vq_st_writer *w, const char *name, vq_dtype dtype, int ndim,
    const uint64_t *shape, const void *data);

/* Adds a metadata entry (both strings copied). */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_st_writer_meta(
    vq_st_writer *w, const char *key, const char *value);

/* Writes the file through a temporary name renamed at the end. Tensors are
 * written in the order added, metadata keys in the order added. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_st_writer_write(
    vq_st_writer *w, const char *path, vq_diag *diag);

#ifdef __cplusplus
}
#endif
#endif /* VQ_SAFETENSORS_H */
