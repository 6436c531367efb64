/* Internal helpers shared by the array readers (npy.c, safetensors.c). */
#ifndef VQ_ARRAY_PRIV_H
#define VQ_ARRAY_PRIV_H

#include "internal.h"

/* Allocates an array with a 64-byte aligned data buffer (zero-filled). */
int vq_array_alloc(vq_array **out, vq_dtype dtype, int ndim,
                   const uint64_t *shape);

/* Builds the array a reader returns from raw little- or big-endian
 * elements of type src at data (count elements, shape as given):
 * converted to want (VQ_DTYPE_NONE keeps src). When map is not NULL and no
 * conversion is needed, the array points into the map and takes it over
 * (*map is cleared); otherwise the data is copied. name: for messages. */
int vq_array_from_raw(vq_array **out, const void *data, vq_dtype src,
                      int big_endian, int ndim, const uint64_t *shape,
                      vq_dtype want, vq_map *map, const char *name,
                      vq_diag *diag);

#endif
