/* Element types, arrays, and conversions between dtypes. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "array_priv.h"

size_t vq_dtype_size(vq_dtype dtype) {
  switch (dtype) {
    case VQ_DTYPE_I8: case VQ_DTYPE_U8: case VQ_DTYPE_BOOL: return 1;
    case VQ_DTYPE_F16: case VQ_DTYPE_BF16: case VQ_DTYPE_I16:
    case VQ_DTYPE_U16: return 2;
    case VQ_DTYPE_F32: case VQ_DTYPE_I32: case VQ_DTYPE_U32: return 4;
    case VQ_DTYPE_F64: case VQ_DTYPE_I64: case VQ_DTYPE_U64: return 8;
    default: return 0;
  }
}

const char *vq_dtype_name(vq_dtype dtype) {
  switch (dtype) {
    case VQ_DTYPE_F16: return "float16";
    case VQ_DTYPE_BF16: return "bfloat16";
    case VQ_DTYPE_F32: return "float32";
    case VQ_DTYPE_F64: return "float64";
    case VQ_DTYPE_I8: return "int8";
    case VQ_DTYPE_I16: return "int16";
    case VQ_DTYPE_I32: return "int32";
    case VQ_DTYPE_I64: return "int64";
    case VQ_DTYPE_U8: return "uint8";
    case VQ_DTYPE_U16: return "uint16";
    case VQ_DTYPE_U32: return "uint32";
    case VQ_DTYPE_U64: return "uint64";
    case VQ_DTYPE_BOOL: return "bool";
    default: return "none";
  }
}

/* The array header, and its data buffer unless the caller supplies one. */
static int array_new(vq_array **out, vq_dtype dtype, int ndim,
                     const uint64_t *shape, int with_data) {
  vq_array *a;
  uint64_t count = 1, bytes;
  size_t es = vq_dtype_size(dtype);
  int i;
  *out = NULL;
  if (!es || ndim < 0 || ndim > VQ_MAX_DIMS || (ndim && !shape))
    return VQ_ERR_INVALID_ARG;
  for (i = 0; i < ndim; i++)
    if (vq_mul_u64(count, shape[i], &count)) return VQ_ERR_LIMIT;
  if (vq_mul_u64(count, es, &bytes) || bytes > SIZE_MAX - 64)
    return VQ_ERR_LIMIT;
  a = calloc(1, sizeof *a);
  if (!a) return VQ_ERR_NOMEM;
  a->dtype = dtype;
  a->ndim = ndim;
  for (i = 0; i < ndim; i++) a->shape[i] = shape[i];
  a->count = count;
  a->data = with_data ? vq_aligned_array((size_t)bytes, 1) : NULL;
  if (with_data && !a->data) {
    free(a);
    return VQ_ERR_NOMEM;
  }
  *out = a;
  return VQ_OK;
}

int vq_array_alloc(vq_array **out, vq_dtype dtype, int ndim,
                   const uint64_t *shape) {
  return array_new(out, dtype, ndim, shape, 1);
}

int vq_array_create(vq_array **out, vq_dtype dtype, int ndim,
                    const uint64_t *shape) {
  if (!out) return VQ_ERR_INVALID_ARG;
  return vq_array_alloc(out, dtype, ndim, shape);
}

void vq_array_destroy(vq_array *arr) {
  vq_map *m;
  if (!arr) return;
  m = arr->priv_;
  if (m) {
    vq_map_release(m);
    free(m);
  } else {
    vq_free(arr->data);
  }
  free(arr);
}

float vq_half_to_float(uint16_t h) {
  int e = (h >> 10) & 31, f = h & 1023;
  float v;
  if (e == 0) v = ldexpf((float)f, -24);
  else if (e == 31) v = f ? NAN : INFINITY;
  else v = ldexpf((float)(f | 1024), e - 25);
  return (h & 0x8000) ? -v : v;
}

float vq_bf16_to_float(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float v;
  memcpy(&v, &u, 4);
  return v;
}

static int is_float(vq_dtype t) {
  return t == VQ_DTYPE_F16 || t == VQ_DTYPE_BF16 || t == VQ_DTYPE_F32 ||
         t == VQ_DTYPE_F64;
}

/* Element i of src as double (floats) or int64 (integers). */
static double get_f(const void *src, vq_dtype t, uint64_t i) {
  switch (t) {
    case VQ_DTYPE_F16: return vq_half_to_float(((const uint16_t *)src)[i]);
    case VQ_DTYPE_BF16: return vq_bf16_to_float(((const uint16_t *)src)[i]);
    case VQ_DTYPE_F32: return ((const float *)src)[i];
    case VQ_DTYPE_F64: return ((const double *)src)[i];
    case VQ_DTYPE_I8: return ((const int8_t *)src)[i];
    case VQ_DTYPE_I16: return ((const int16_t *)src)[i];
    case VQ_DTYPE_I32: return ((const int32_t *)src)[i];
    case VQ_DTYPE_I64: return (double)((const int64_t *)src)[i];
    case VQ_DTYPE_U8: case VQ_DTYPE_BOOL: return ((const uint8_t *)src)[i];
    case VQ_DTYPE_U16: return ((const uint16_t *)src)[i];
    case VQ_DTYPE_U32: return ((const uint32_t *)src)[i];
    case VQ_DTYPE_U64: return (double)((const uint64_t *)src)[i];
    default: return 0.0;
  }
}

static int64_t get_i(const void *src, vq_dtype t, uint64_t i) {
  switch (t) {
    case VQ_DTYPE_I8: return ((const int8_t *)src)[i];
    case VQ_DTYPE_I16: return ((const int16_t *)src)[i];
    case VQ_DTYPE_I32: return ((const int32_t *)src)[i];
    case VQ_DTYPE_I64: return ((const int64_t *)src)[i];
    case VQ_DTYPE_U8: case VQ_DTYPE_BOOL: return ((const uint8_t *)src)[i];
    case VQ_DTYPE_U16: return ((const uint16_t *)src)[i];
    case VQ_DTYPE_U32: return ((const uint32_t *)src)[i];
    default: return (int64_t)((const uint64_t *)src)[i];
  }
}

int vq_convert(void *dst, vq_dtype dst_type, const void *src,
               vq_dtype src_type, uint64_t count) {
  uint64_t i;
  if (dst_type == src_type) {
    memcpy(dst, src, (size_t)count * vq_dtype_size(src_type));
    return VQ_OK;
  }
  if (dst_type == VQ_DTYPE_F32) {
    for (i = 0; i < count; i++)
      ((float *)dst)[i] = (float)get_f(src, src_type, i);
    return VQ_OK;
  }
  if (dst_type == VQ_DTYPE_I64 && !is_float(src_type)) {
    if (src_type == VQ_DTYPE_U64)
      for (i = 0; i < count; i++)
        if (((const uint64_t *)src)[i] > (uint64_t)INT64_MAX)
          return VQ_ERR_LIMIT;
    for (i = 0; i < count; i++)
      ((int64_t *)dst)[i] = get_i(src, src_type, i);
    return VQ_OK;
  }
  return VQ_ERR_UNSUPPORTED;
}

static void byteswap(void *p, size_t es, uint64_t count) {
  unsigned char *b = p, t;
  uint64_t i;
  size_t k;
  for (i = 0; i < count; i++, b += es)
    for (k = 0; k < es / 2; k++)
      t = b[k], b[k] = b[es - 1 - k], b[es - 1 - k] = t;
}

int vq_array_from_raw(vq_array **out, const void *data, vq_dtype src,
                      int big_endian, int ndim, const uint64_t *shape,
                      vq_dtype want, vq_map *map, const char *name,
                      vq_diag *diag) {
  size_t es = vq_dtype_size(src);
  vq_dtype dst = want == VQ_DTYPE_NONE ? src : want;
  vq_array *a = NULL, *tmp = NULL;
  int rc;
  *out = NULL;
  if (want == VQ_DTYPE_I64 && is_float(src))
    return vq_diag_set(diag, VQ_ERR_UNSUPPORTED,
                       "%s: %s data where integers are expected", name,
                       vq_dtype_name(src));
  if (dst == src && (!big_endian || es == 1) && map &&
      ((uintptr_t)data % es) == 0) {
    /* zero copy: the array keeps the map */
    vq_map *keep = malloc(sizeof *keep);
    if (!keep || (rc = array_new(&a, src, ndim, shape, 0)) < 0) {
      free(keep);
      return vq_diag_set(diag, VQ_ERR_NOMEM, "%s: out of memory", name);
    }
    a->data = (void *)data;
    *keep = *map;
    map->data = NULL, map->size = 0, map->mapped = 0;
    a->priv_ = keep;
    *out = a;
    return VQ_OK;
  }
  rc = vq_array_alloc(&tmp, src, ndim, shape);
  if (rc == VQ_OK && dst != src) rc = vq_array_alloc(&a, dst, ndim, shape);
  if (rc < 0) {
    vq_array_destroy(tmp);
    return vq_diag_set(diag, rc, "%s: %s", name,
                       rc == VQ_ERR_LIMIT ? "array too large"
                                          : "out of memory");
  }
  memcpy(tmp->data, data, (size_t)tmp->count * es);
  if (big_endian && es > 1) byteswap(tmp->data, es, tmp->count);
  if (dst == src) {
    *out = tmp;
    return VQ_OK;
  }
  rc = vq_convert(a->data, dst, tmp->data, src, tmp->count);
  vq_array_destroy(tmp);
  if (rc < 0) {
    vq_array_destroy(a);
    return vq_diag_set(diag, rc, "%s: cannot convert %s to %s", name,
                       vq_dtype_name(src), vq_dtype_name(dst));
  }
  *out = a;
  return VQ_OK;
}
