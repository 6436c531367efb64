/* libvq: trained codebooks and their .safetensors files. */
#ifndef VQ_CODEBOOK_H
#define VQ_CODEBOOK_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the codebook file layout written in metadata
 * ("libvq.format_version"). */
#define VQ_CODEBOOK_FORMAT_VERSION 1

/* A codebook (opaque): k codewords of dimension d, a kind ("kmeans", ...)
 * and string metadata. Saved as .safetensors: the tensor "codebook" of
 * shape [k, d], float32, and __metadata__ holding "libvq.kind",
 * "libvq.format_version", "libvq.version" and every entry set here. */
typedef struct vq_codebook vq_codebook;

/* Creates a zero-filled codebook. kind: short ASCII word. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_codebook_create(
    vq_codebook **out, const char *kind, size_t k, size_t d);

/* Loads a codebook file, checking kind, format version and shape. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_codebook_load(
    vq_codebook **out, const char *path, vq_diag *diag);

/* The same from a file's bytes in memory (an embedded codebook); name is
 * used in messages (may be NULL). */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_codebook_load_mem(
    vq_codebook **out, const void *buf, size_t size, const char *name,
    vq_diag *diag);

/* Saves through a temporary file renamed at the end. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_codebook_save(
    const vq_codebook *cb, const char *path, vq_diag *diag);

VQ_EXPORT void vq_codebook_destroy(vq_codebook *cb);

VQ_EXPORT size_t vq_codebook_k(const vq_codebook *cb);
VQ_EXPORT size_t vq_codebook_d(const vq_codebook *cb);
VQ_EXPORT const char *vq_codebook_kind(const vq_codebook *cb);

/* The k x d codewords, row-major; writable. */
VQ_EXPORT float *vq_codebook_data(vq_codebook *cb);
VQ_EXPORT const float *vq_codebook_cdata(const vq_codebook *cb);

/* Further float32 tensors travel in the file beside "codebook", each a
 * matrix [rows, cols] (a 1-D tensor reads as [1, n]): "rotation" [d, d]
 * of OPQ codebooks (vectors are coded as x R), and "projector.mean"
 * [1, d], "projector.encode" [d, d'] and "projector.decode" [d', d] of
 * codebooks trained after a PCA projector (see vq/projector.h). At most
 * VQ_CODEBOOK_MAX_TENSORS; names of letters, digits, '.', '_' and '-',
 * under 48 characters. set_tensor copies rows * cols floats (NULL removes
 * the tensor); tensor() returns it and its shape, or NULL (shape 0 x 0).
 * Unknown names are loaded and saved again unchanged. */
#define VQ_CODEBOOK_MAX_TENSORS 8
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_codebook_set_tensor(
    vq_codebook *cb, const char *name, const float *data, size_t rows,
    size_t cols);
VQ_EXPORT const float *vq_codebook_tensor(const vq_codebook *cb,
                                          const char *name, size_t *rows,
                                          size_t *cols);
VQ_EXPORT size_t vq_codebook_tensor_count(const vq_codebook *cb);
VQ_EXPORT const char *vq_codebook_tensor_name(const vq_codebook *cb,
                                              size_t i);

/* The "rotation" tensor: set_rotation copies r * r floats (r <= 65536;
 * NULL removes it); rotation() returns the matrix and its size in *r, or
 * NULL (*r = 0) when there is none. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_codebook_set_rotation(
    vq_codebook *cb, const float *rotation, size_t r);
VQ_EXPORT const float *vq_codebook_rotation(const vq_codebook *cb,
                                            size_t *r);

/* Sets (or replaces) a metadata entry; keys starting "libvq." other than
 * those listed above are reserved. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_codebook_set_meta(
    vq_codebook *cb, const char *key, const char *value);

/* Metadata value for key, or NULL. */
VQ_EXPORT const char *vq_codebook_meta(const vq_codebook *cb,
                                       const char *key);

VQ_EXPORT size_t vq_codebook_meta_count(const vq_codebook *cb);
VQ_EXPORT int vq_codebook_meta_at(const vq_codebook *cb, size_t i,
                                  const char **key, const char **value);

#ifdef __cplusplus
}
#endif
#endif /* VQ_CODEBOOK_H */
