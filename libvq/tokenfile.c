/* Integer .npy files to .vq and back, byte for byte.
 *
 * The HEAD chunk records the array (dtype, byte order, shape), the
 * mapping of values to indices (value = index + offset, indices below the
 * alphabet size) and the .npy header verbatim, so the decoder rebuilds
 * the very bytes of the input whatever its format version, padding or key
 * order. The DATA chunk is one index stream (entropy.c) whose upper
 * neighbour is one row of the last axis back. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "vq/array.h"
#include "vq/container.h"
#include "vq/tokenfile.h"
#include "internal.h"

#define HEAD_VERSION 1
#define FLAG_BIG_ENDIAN 1u
#define FLAG_NUMPY_HEADER 2u  /* the .npy header is numpy's own: rebuilt */
#define FLAGS_KNOWN 3u
#define MAX_NPY_HEADER (65536 + 12)

int vq_tokenfile_params_init_(vq_tokenfile_params *p, uint32_t abi,
                              uint32_t size) {
  if (abi != VQ_ABI_VERSION || size != sizeof(*p)) return VQ_ERR_ABI;
  memset(p, 0, sizeof *p);
  p->abi_ = abi;
  p->size_ = size;
  p->model = VQ_ENTROPY_AUTO;
  return VQ_OK;
}

void vq_tokenfile_limits_default(vq_tokenfile_limits *lim) {
  lim->max_tokens = (uint64_t)1 << 32;
  lim->max_bytes = (uint64_t)1 << 34;
}

/* ---- values ------------------------------------------------------------- */

static int is_integer(vq_dtype t) {
  return (t >= VQ_DTYPE_I8 && t <= VQ_DTYPE_U64) || t == VQ_DTYPE_BOOL;
}

static int is_signed(vq_dtype t) {
  return t >= VQ_DTYPE_I8 && t <= VQ_DTYPE_I64;
}

/* The range of values a dtype holds, capped to int64. */
static void dtype_range(vq_dtype t, int64_t *lo, int64_t *hi) {
  unsigned bits = 8 * (unsigned)vq_dtype_size(t);
  if (t == VQ_DTYPE_BOOL) *lo = 0, *hi = 1;
  else if (is_signed(t))
    *lo = bits == 64 ? INT64_MIN : -((int64_t)1 << (bits - 1)),
    *hi = bits == 64 ? INT64_MAX : ((int64_t)1 << (bits - 1)) - 1;
  else
    *lo = 0, *hi = bits == 64 ? INT64_MAX : ((int64_t)1 << bits) - 1;
}

/* Element i of native-order data as int64; -1 when a uint64 value does
 * not fit. */
static int get_value(const void *data, vq_dtype t, uint64_t i, int64_t *v) {
  const unsigned char *p = (const unsigned char *)data;
  switch (t) {
  case VQ_DTYPE_I8: { int8_t x; memcpy(&x, p + i, 1); *v = x; break; }
  case VQ_DTYPE_U8:
  case VQ_DTYPE_BOOL: *v = p[i]; break;
  case VQ_DTYPE_I16: { int16_t x; memcpy(&x, p + 2 * i, 2); *v = x; break; }
  case VQ_DTYPE_U16: { uint16_t x; memcpy(&x, p + 2 * i, 2); *v = x; break; }
  case VQ_DTYPE_I32: { int32_t x; memcpy(&x, p + 4 * i, 4); *v = x; break; }
  case VQ_DTYPE_U32: { uint32_t x; memcpy(&x, p + 4 * i, 4); *v = x; break; }
  case VQ_DTYPE_I64: { int64_t x; memcpy(&x, p + 8 * i, 8); *v = x; break; }
  default: {
    uint64_t x;
    memcpy(&x, p + 8 * i, 8);
    if (x > (uint64_t)INT64_MAX) return -1;
    *v = (int64_t)x;
  }
  }
  return 0;
}

/* Stores v (in range for the dtype) as size little- or big-endian bytes. */
static void put_value(unsigned char *p, size_t size, int64_t v, int big) {
  uint64_t u = (uint64_t)v;
  size_t b;
  for (b = 0; b < size; b++)
    p[big ? size - 1 - b : b] = (unsigned char)(u >> (8 * b));
}

/* ---- the HEAD chunk ----------------------------------------------------- */

typedef struct token_head {
  vq_dtype dtype;
  unsigned flags;
  int ndim;
  uint64_t shape[VQ_MAX_DIMS];
  uint32_t alphabet;
  int64_t offset;
  uint64_t width;
  uint32_t npy_header_size;   /* as stored (0 with FLAG_NUMPY_HEADER) */
  const uint8_t *npy_header;
  uint8_t rebuilt[1024];      /* the header, when FLAG_NUMPY_HEADER */
} token_head;

static size_t head_fixed_size(int ndim) {
  return 5 + 8 * (size_t)ndim + 4 + 8 + 8 + 4;
}

/* Serialises h into a new buffer. */
static uint8_t *head_write(const token_head *h, size_t *size) {
  size_t fixed = head_fixed_size(h->ndim), pos = 5;
  uint8_t *b = malloc(fixed + h->npy_header_size);
  int i;
  if (!b) return NULL;
  b[0] = VQ_KIND_TOKENS;
  b[1] = HEAD_VERSION;
  b[2] = (uint8_t)h->dtype;
  b[3] = (uint8_t)h->flags;
  b[4] = (uint8_t)h->ndim;
  for (i = 0; i < h->ndim; i++, pos += 8) vq_put_le(b + pos, h->shape[i], 8);
  vq_put_le(b + pos, h->alphabet, 4), pos += 4;
  vq_put_le(b + pos, (uint64_t)h->offset, 8), pos += 8;
  vq_put_le(b + pos, h->width, 8), pos += 8;
  vq_put_le(b + pos, h->npy_header_size, 4), pos += 4;
  memcpy(b + pos, h->npy_header, h->npy_header_size);
  *size = pos + h->npy_header_size;
  return b;
}

static uint64_t width_of(int ndim, const uint64_t *shape) {
  return ndim >= 2 ? shape[ndim - 1] : 0;
}

/* Parses and checks every field; *count is the number of tokens. */
static int head_read(token_head *h, uint64_t *count, const vq_chunk *c,
                     const vq_tokenfile_limits *lim, const char *name,
                     vq_diag *diag) {
  const uint8_t *b = c->data;
  size_t pos = 5, n = c->size;
  int64_t lo, hi;
  uint64_t bytes;
  int i;
  if (n < 5 || b[0] != VQ_KIND_TOKENS)
    return vq_diag_set(diag, VQ_ERR_UNSUPPORTED, "%s: not a token stream "
                       "(kind %d)", name, n ? b[0] : -1);
  if (b[1] != HEAD_VERSION)
    return vq_diag_set(diag, VQ_ERR_UNSUPPORTED, "%s: token header version "
                       "%u is not supported", name, b[1]);
  h->dtype = (vq_dtype)b[2];
  h->flags = b[3];
  h->ndim = b[4];
  if (!is_integer(h->dtype) || (h->flags & ~FLAGS_KNOWN) ||
      h->ndim > VQ_MAX_DIMS || n < head_fixed_size(h->ndim))
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: invalid token header "
                       "(dtype %u, flags %u, %d dimensions, %zu bytes)",
                       name, b[2], b[3], h->ndim, n);
  *count = 1;
  for (i = 0; i < h->ndim; i++, pos += 8) {
    h->shape[i] = vq_get_le(b + pos, 8);
    if (vq_mul_u64(*count, h->shape[i], count)) *count = UINT64_MAX;
  }
  h->alphabet = (uint32_t)vq_get_le(b + pos, 4), pos += 4;
  h->offset = (int64_t)vq_get_le(b + pos, 8), pos += 8;
  h->width = vq_get_le(b + pos, 8), pos += 8;
  h->npy_header_size = (uint32_t)vq_get_le(b + pos, 4), pos += 4;
  h->npy_header = b + pos;
  if (*count > lim->max_tokens ||
      vq_mul_u64(*count, 4 + vq_dtype_size(h->dtype), &bytes) ||
      bytes > lim->max_bytes - MAX_NPY_HEADER)
    return vq_diag_set(diag, VQ_ERR_LIMIT, "%s: %llu tokens exceed the "
                       "limits (%llu tokens, %llu bytes)", name,
                       (unsigned long long)*count,
                       (unsigned long long)lim->max_tokens,
                       (unsigned long long)lim->max_bytes);
  dtype_range(h->dtype, &lo, &hi);
  if (h->alphabet < 1 || h->alphabet > VQ_ENTROPY_MAX_ALPHABET ||
      h->offset < lo || h->offset > hi ||
      (uint64_t)hi - (uint64_t)h->offset < h->alphabet - 1)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: alphabet %lu at offset "
                       "%lld does not fit %s", name,
                       (unsigned long)h->alphabet, (long long)h->offset,
                       vq_dtype_name(h->dtype));
  if (h->width != width_of(h->ndim, h->shape) ||
      n - pos != h->npy_header_size ||
      ((h->flags & FLAG_NUMPY_HEADER)
           ? h->npy_header_size != 0
           : h->npy_header_size < 10 || h->npy_header_size > MAX_NPY_HEADER))
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: inconsistent token header",
                       name);
  if (h->flags & FLAG_NUMPY_HEADER) {
    size_t len = vq_npy_canonical_header(h->rebuilt, sizeof h->rebuilt,
                                         h->dtype, h->flags & FLAG_BIG_ENDIAN,
                                         h->ndim, h->shape);
    if (!len)
      return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: cannot rebuild the .npy "
                         "header", name);
    h->npy_header = h->rebuilt;
    h->npy_header_size = (uint32_t)len;
  }
  return VQ_OK;
}

int vq_tokenfile_info_parse(vq_tokenfile_info *info, const void *head,
                            size_t head_size, const void *data,
                            size_t data_size, vq_diag *diag) {
  vq_tokenfile_limits lim = {UINT64_MAX, UINT64_MAX};
  vq_chunk c;
  token_head h;
  int rc, i;
  memset(info, 0, sizeof *info);
  memset(&c, 0, sizeof c);
  c.data = head;
  c.size = (uint32_t)head_size;
  if (!head || head_size > UINT32_MAX)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "invalid HEAD chunk");
  rc = head_read(&h, &info->count, &c, &lim, "HEAD", diag);
  if (rc < 0) return rc;
  info->dtype = h.dtype;
  info->big_endian = (h.flags & FLAG_BIG_ENDIAN) != 0;
  info->ndim = h.ndim;
  for (i = 0; i < h.ndim; i++) info->shape[i] = h.shape[i];
  info->alphabet = h.alphabet;
  info->offset = h.offset;
  if (data && data_size >= 2) {
    const uint8_t *d = data;
    info->model = d[0] <= VQ_ENTROPY_LAST_MODEL ? (vq_entropy_model)d[0]
                                           : VQ_ENTROPY_AUTO;
    info->rate = d[1];
  }
  return VQ_OK;
}

/* ---- encoder ------------------------------------------------------------ */

/* Maps the values of arr to indices; sets alphabet and offset. */
static int to_indices(uint32_t *idx, token_head *h, const vq_array *arr,
                      uint32_t alphabet, const char *name, vq_diag *diag) {
  int64_t mn = 0, mx = 0, v;
  uint64_t i;
  for (i = 0; i < arr->count; i++) {
    if (get_value(arr->data, arr->dtype, i, &v) < 0)
      return vq_diag_set(diag, VQ_ERR_UNSUPPORTED, "%s: value at position "
                         "%llu exceeds 2^63 - 1", name,
                         (unsigned long long)i);
    if (alphabet && (v < 0 || v >= (int64_t)alphabet))
      return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "%s: value %lld at "
                         "position %llu is outside [0, %lu)", name,
                         (long long)v, (unsigned long long)i,
                         (unsigned long)alphabet);
    if (i == 0 || v < mn) mn = v;
    if (i == 0 || v > mx) mx = v;
  }
  if (alphabet) {
    h->offset = 0;
    h->alphabet = alphabet;
  } else {
    h->offset = mn < 0 ? mn : 0;
    if ((uint64_t)mx - (uint64_t)h->offset >= VQ_ENTROPY_MAX_ALPHABET)
      return vq_diag_set(diag, VQ_ERR_UNSUPPORTED, "%s: values span [%lld, "
                         "%lld], more than the %u indices a stream holds",
                         name, (long long)h->offset, (long long)mx,
                         VQ_ENTROPY_MAX_ALPHABET);
    h->alphabet = (uint32_t)((uint64_t)mx - (uint64_t)h->offset) + 1;
  }
  for (i = 0; i < arr->count; i++) {
    get_value(arr->data, arr->dtype, i, &v);
    idx[i] = (uint32_t)((uint64_t)v - (uint64_t)h->offset);
  }
  return VQ_OK;
}

static int write_file(uint8_t **out, size_t *out_size, const token_head *h,
                      const uint8_t *payload, size_t payload_size,
                      vq_diag *diag) {
  vq_container_writer *w = NULL;
  size_t hsize;
  uint8_t *head = head_write(h, &hsize);
  int rc = head ? vq_container_writer_create(&w) : VQ_ERR_NOMEM;
  if (rc == VQ_OK) rc = vq_container_writer_add(w, "HEAD", head, hsize);
  if (rc == VQ_OK) rc = vq_container_writer_add(w, "DATA", payload,
                                                payload_size);
  if (rc == VQ_OK) rc = vq_container_writer_finish(w, out, out_size);
  vq_container_writer_destroy(w);
  free(head);
  if (rc < 0) return vq_diag_set(diag, rc, "cannot build the .vq file: %s",
                                 vq_strerror(rc));
  return VQ_OK;
}

int vq_tokenfile_encode(uint8_t **out, size_t *out_size,
                        vq_tokenfile_stats *stats,
                        const vq_tokenfile_params *p, const void *npy,
                        size_t size, vq_diag *diag) {
  const char *name;
  vq_array *arr = NULL;
  vq_entropy_params ep;
  vq_entropy_stats es;
  token_head h;
  uint32_t *idx = NULL;
  uint8_t *payload = NULL;
  size_t payload_size = 0;
  vq_npy_info info;
  int rc, i;
  *out = NULL;
  *out_size = 0;
  if (!p || p->abi_ != VQ_ABI_VERSION || p->size_ != sizeof(*p))
    return vq_diag_set(diag, VQ_ERR_ABI, "token parameters not set up by "
                       "vq_tokenfile_params_init()");
  name = p->name ? p->name : "<memory>";
  if (p->alphabet > VQ_ENTROPY_MAX_ALPHABET)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "alphabet %lu exceeds %u",
                       (unsigned long)p->alphabet, VQ_ENTROPY_MAX_ALPHABET);
  rc = vq_npy_parse(&arr, npy, size, VQ_DTYPE_NONE, NULL, name, diag);
  if (rc < 0) return rc;
  memset(&h, 0, sizeof h);
  h.dtype = arr->dtype;
  if (!is_integer(h.dtype)) {
    rc = vq_diag_set(diag, VQ_ERR_UNSUPPORTED, "%s: %s data is not tokens "
                     "(token files hold integers)", name,
                     vq_dtype_name(h.dtype));
    goto done;
  }
  h.ndim = arr->ndim;
  for (i = 0; i < arr->ndim; i++) h.shape[i] = arr->shape[i];
  h.width = width_of(h.ndim, h.shape);
  if ((rc = vq_npy_header_info(&info, npy, size, name, diag)) < 0) goto done;
  h.npy_header_size = (uint32_t)info.data_offset;
  h.npy_header = npy;
  h.flags = info.big_endian ? FLAG_BIG_ENDIAN : 0;
  /* numpy's own header is rebuilt by the decoder rather than stored */
  if (vq_npy_canonical_header(h.rebuilt, sizeof h.rebuilt, h.dtype,
                              info.big_endian, h.ndim, h.shape) ==
          info.data_offset &&
      memcmp(h.rebuilt, npy, info.data_offset) == 0) {
    h.flags |= FLAG_NUMPY_HEADER;
    h.npy_header_size = 0;
  }
  idx = vq_malloc_array(arr->count ? arr->count : 1, sizeof *idx);
  if (!idx) {
    rc = vq_diag_set(diag, VQ_ERR_NOMEM, "%s: out of memory", name);
    goto done;
  }
  if ((rc = to_indices(idx, &h, arr, p->alphabet, name, diag)) < 0)
    goto done;
  if ((rc = vq_entropy_params_init(&ep)) < 0) goto done;
  ep.alphabet = h.alphabet;
  ep.width = h.width;
  ep.model = p->model;
  rc = vq_entropy_encode(&payload, &payload_size, &es, &ep, idx,
                         arr->count, diag);
  if (rc < 0) goto done;
  if ((rc = write_file(out, out_size, &h, payload, payload_size, diag)) < 0)
    goto done;
  if (stats) {
    stats->count = arr->count;
    stats->alphabet = h.alphabet;
    stats->offset = h.offset;
    stats->input_bytes = size;
    stats->bytes = *out_size;
    stats->payload_bytes = payload_size;
    stats->bits_per_token =
        arr->count ? 8.0 * (double)*out_size / (double)arr->count : 0.0;
    stats->entropy = es;
  }
done:
  vq_free(payload);
  free(idx);
  vq_array_destroy(arr);
  return rc;
}

/* ---- decoder ------------------------------------------------------------ */

/* The DATA chunk, the only one besides HEAD and ancillary chunks. */
static int find_payload(const vq_chunk **data, const vq_container *c,
                        const char *name, vq_diag *diag) {
  size_t i, n = vq_container_count(c), ndata = 0;
  *data = NULL;
  for (i = 0; i < n; i++) {
    const vq_chunk *k = vq_container_chunk(c, i);
    if (!strcmp(k->type, "DATA")) *data = k, ndata++;
    else if (k->critical && strcmp(k->type, "HEAD") && strcmp(k->type, "TAIL"))
      return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: a token file has no %s "
                         "chunk", name, k->type);
  }
  if (ndata != 1)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: a token file has one DATA "
                       "chunk, not %lu", name, (unsigned long)ndata);
  return VQ_OK;
}

/* The stored .npy header must describe what the token header does. */
static int check_npy_header(const token_head *h, const char *name,
                            vq_diag *diag) {
  vq_npy_info info;
  int rc = vq_npy_header_info(&info, h->npy_header, h->npy_header_size,
                              name, NULL), i;
  if (rc == VQ_OK &&
      (info.data_offset != h->npy_header_size || info.dtype != h->dtype ||
       info.big_endian != (int)(h->flags & FLAG_BIG_ENDIAN) ||
       info.ndim != h->ndim))
    rc = VQ_ERR_FORMAT;
  for (i = 0; rc == VQ_OK && i < h->ndim; i++)
    if (info.shape[i] != h->shape[i]) rc = VQ_ERR_FORMAT;
  if (rc < 0)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: the stored .npy header is "
                       "invalid or disagrees with the token header", name);
  return VQ_OK;
}

int vq_tokenfile_decode(uint8_t **out, size_t *out_size, const void *vq,
                        size_t size, const vq_tokenfile_limits *lim,
                        const char *name, vq_diag *diag) {
  vq_tokenfile_limits dl;
  vq_container *c = NULL;
  const vq_chunk *head, *data;
  token_head h;
  uint64_t count = 0, i;
  uint32_t *idx = NULL;
  uint8_t *buf = NULL;
  size_t itemsize, total;
  int rc;
  *out = NULL;
  *out_size = 0;
  if (!lim) vq_tokenfile_limits_default(&dl), lim = &dl;
  if (!name) name = "<memory>";
  rc = vq_container_parse(&c, vq, size, 0, NULL, name, diag);
  if (rc < 0) return rc;
  head = vq_container_find(c, "HEAD", 0);
  if ((rc = head_read(&h, &count, head, lim, name, diag)) < 0 ||
      (rc = check_npy_header(&h, name, diag)) < 0 ||
      (rc = find_payload(&data, c, name, diag)) < 0)
    goto done;
  itemsize = vq_dtype_size(h.dtype);
  total = h.npy_header_size + (size_t)count * itemsize;
  idx = vq_malloc_array(count ? count : 1, sizeof *idx);
  buf = vq_malloc_array(total, 1);
  if (!idx || !buf) {
    rc = vq_diag_set(diag, VQ_ERR_NOMEM, "%s: out of memory for %llu "
                     "tokens", name, (unsigned long long)count);
    goto done;
  }
  rc = vq_entropy_decode(idx, (size_t)count, h.alphabet, (size_t)h.width,
                         data->data, data->size, diag);
  if (rc < 0) {
    char msg[sizeof diag->msg];
    snprintf(msg, sizeof msg, "%s", diag ? diag->msg : "");
    rc = vq_diag_set(diag, rc, "%s: %s", name, msg);
    goto done;
  }
  memcpy(buf, h.npy_header, h.npy_header_size);
  for (i = 0; i < count; i++)
    put_value(buf + h.npy_header_size + i * itemsize, itemsize,
              (int64_t)idx[i] + h.offset, h.flags & FLAG_BIG_ENDIAN);
  *out = buf;
  *out_size = total;
  buf = NULL;
done:
  free(buf);
  free(idx);
  vq_container_destroy(c);
  return rc;
}
