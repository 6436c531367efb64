/* libvq: n-dimensional arrays and the .npy format. */
#ifndef VQ_ARRAY_H
#define VQ_ARRAY_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element types. Values are fixed. */
typedef enum vq_dtype {
  VQ_DTYPE_NONE = 0,  /* "any": keep the file's type (as a read request) */
  VQ_DTYPE_F16 = 1,
  VQ_DTYPE_F32 = 2,
  VQ_DTYPE_F64 = 3,
  VQ_DTYPE_I8 = 4,
  VQ_DTYPE_I16 = 5,
  VQ_DTYPE_I32 = 6,
  VQ_DTYPE_I64 = 7,
  VQ_DTYPE_U8 = 8,
  VQ_DTYPE_U16 = 9,
  VQ_DTYPE_U32 = 10,
  VQ_DTYPE_U64 = 11,
  VQ_DTYPE_BOOL = 12,
  VQ_DTYPE_BF16 = 13
} vq_dtype;

#define VQ_MAX_DIMS 8

/* Size in bytes of one element of dtype, or 0 for VQ_DTYPE_NONE. */
VQ_EXPORT size_t vq_dtype_size(vq_dtype dtype);

/* Short name of a dtype ("float32", "int32", ...). */
VQ_EXPORT const char *vq_dtype_name(vq_dtype dtype);

/* An array in native byte order and C (row-major) order. Created by the
 * readers below and released with vq_array_destroy(). data may point into a
 * read-only memory map of the file: treat it as const unless the array was
 * made by vq_array_create(). */
typedef struct vq_array {
  vq_dtype dtype;
  int ndim;                     /* 0 for a scalar */
  uint64_t shape[VQ_MAX_DIMS];
  uint64_t count;               /* product of shape (1 for a scalar) */
  void *data;
  void *priv_;                  /* library-owned; do not touch */
} vq_array;

/* Allocates a zero-filled array. shape may be NULL when ndim is 0. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_array_create(
    vq_array **out, vq_dtype dtype, int ndim, const uint64_t *shape);

/* Releases an array from any libvq call. Accepts NULL. */
VQ_EXPORT void vq_array_destroy(vq_array *arr);

/* Limits checked before anything is allocated or mapped. */
typedef struct vq_npy_limits {
  uint64_t max_bytes;     /* largest data section accepted (default 2^40) */
  uint32_t max_header;    /* largest header accepted (default 65536) */
} vq_npy_limits;

/* Reads a .npy file (format versions 1.0, 2.0 and 3.0).
 * want: VQ_DTYPE_NONE keeps the stored element type; VQ_DTYPE_F32 converts
 * any numeric type to float32; VQ_DTYPE_I64 converts any integer or bool
 * type to int64 (floating-point input is then VQ_ERR_UNSUPPORTED).
 * Big-endian data is converted to native order. Fortran order, object
 * and structured dtypes are rejected. Little-endian float32 data is mapped,
 * not copied, when want allows it. lim may be NULL for defaults.
 * On failure *out is NULL and diag (may be NULL) names path and problem. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_npy_read(
    vq_array **out, const char *path, vq_dtype want,
    const vq_npy_limits *lim, vq_diag *diag);

/* As vq_npy_read(), from a memory buffer (copied when needed; buf may be
 * released after the call). name is used in messages (may be NULL). */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_npy_parse(
    vq_array **out, const void *buf, size_t size, vq_dtype want,
    const vq_npy_limits *lim, const char *name, vq_diag *diag);

/* Writes a little-endian C-order .npy file (version 1.0, or 2.0 when the
 * header needs it). dtype must be VQ_DTYPE_F32, I32, U16, I64, U8 or F64.
 * The file is written to a temporary name beside path and renamed at the
 * end: a failed call never leaves a truncated file or clobbers path. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_npy_write(
    const char *path, vq_dtype dtype, int ndim, const uint64_t *shape,
    const void *data, vq_diag *diag);

#ifdef __cplusplus
}
#endif
#endif /* VQ_ARRAY_H */
