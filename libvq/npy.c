/* The .npy format (versions 1.0, 2.0, 3.0): a strict header parser and a
 * writer. The header is a Python dict literal with exactly the keys
 * 'descr', 'fortran_order' and 'shape'; anything else is rejected. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "array_priv.h"

#define NPY_DEFAULT_MAX_BYTES ((uint64_t)1 << 40)
#define NPY_DEFAULT_MAX_HEADER 65536u

typedef struct npy_header {
  vq_dtype dtype;
  int big_endian;
  int fortran;
  int ndim;
  uint64_t shape[VQ_MAX_DIMS];
  int seen;               /* bit mask of keys found */
} npy_header;

typedef struct cursor {
  const char *p, *end;
  const char *name;
  vq_diag *diag;
} cursor;

static void skip_ws(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) c->p++;
}

static int bad(cursor *c, const char *what) {
  return vq_diag_set(c->diag, VQ_ERR_FORMAT, "%s: malformed .npy header: %s",
                     c->name, what);
}

static int expect(cursor *c, char ch) {
  skip_ws(c);
  if (c->p >= c->end || *c->p != ch) return -1;
  c->p++;
  return 0;
}

/* A quoted Python string of plain characters into buf. */
static int read_str(cursor *c, char *buf, size_t size) {
  char q;
  size_t n = 0;
  skip_ws(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return -1;
  q = *c->p++;
  while (c->p < c->end && *c->p != q) {
    unsigned char ch = (unsigned char)*c->p++;
    if (ch == '\\' || ch < 0x20 || ch > 0x7e || n + 1 >= size) return -1;
    buf[n++] = (char)ch;
  }
  if (c->p >= c->end) return -1;
  c->p++;
  buf[n] = 0;
  return 0;
}

static int parse_descr(cursor *c, npy_header *h) {
  static const struct { const char *code; vq_dtype t; } types[] = {
    {"f2", VQ_DTYPE_F16}, {"f4", VQ_DTYPE_F32}, {"f8", VQ_DTYPE_F64},
    {"i1", VQ_DTYPE_I8}, {"i2", VQ_DTYPE_I16}, {"i4", VQ_DTYPE_I32},
    {"i8", VQ_DTYPE_I64}, {"u1", VQ_DTYPE_U8}, {"u2", VQ_DTYPE_U16},
    {"u4", VQ_DTYPE_U32}, {"u8", VQ_DTYPE_U64}, {"b1", VQ_DTYPE_BOOL}};
  char s[32];
  size_t i;
  skip_ws(c);
  if (c->p < c->end && (*c->p == '[' || *c->p == '('))
    return vq_diag_set(c->diag, VQ_ERR_UNSUPPORTED,
                       "%s: structured dtypes are not supported", c->name);
  if (read_str(c, s, sizeof s)) return bad(c, "descr is not a string");
  if (strchr("<>|=", s[0]) == NULL || strlen(s) != 3)
    goto unsupported;
  for (i = 0; i < sizeof types / sizeof *types; i++)
    if (strcmp(s + 1, types[i].code) == 0) break;
  if (i == sizeof types / sizeof *types) goto unsupported;
  h->dtype = types[i].t;
#ifdef WORDS_BIGENDIAN
  h->big_endian = s[0] == '<';
#else
  h->big_endian = s[0] == '>';
#endif
  return VQ_OK;
unsupported:
  return vq_diag_set(c->diag, VQ_ERR_UNSUPPORTED,
                     "%s: unsupported dtype '%s' (object, string, complex "
                     "and datetime arrays are not accepted)", c->name, s);
}

static int parse_bool(cursor *c, int *v) {
  skip_ws(c);
  if ((size_t)(c->end - c->p) >= 4 && memcmp(c->p, "True", 4) == 0)
    return c->p += 4, *v = 1, 0;
  if ((size_t)(c->end - c->p) >= 5 && memcmp(c->p, "False", 5) == 0)
    return c->p += 5, *v = 0, 0;
  return -1;
}

static int parse_uint(cursor *c, uint64_t *v) {
  uint64_t x = 0;
  const char *start;
  skip_ws(c);
  start = c->p;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
    unsigned dgt = (unsigned)(*c->p++ - '0');
    if (x > (UINT64_MAX - dgt) / 10) return -1;
    x = x * 10 + dgt;
  }
  if (c->p == start) return -1;
  if (c->p < c->end && *c->p == 'L') c->p++; /* Python 2 files */
  *v = x;
  return 0;
}

static int parse_shape(cursor *c, npy_header *h) {
  if (expect(c, '(')) return bad(c, "shape is not a tuple");
  h->ndim = 0;
  skip_ws(c);
  if (c->p < c->end && *c->p == ')') return c->p++, VQ_OK;
  for (;;) {
    uint64_t v;
    if (h->ndim == VQ_MAX_DIMS)
      return vq_diag_set(c->diag, VQ_ERR_UNSUPPORTED,
                         "%s: more than %d dimensions", c->name, VQ_MAX_DIMS);
    if (parse_uint(c, &v))
      return bad(c, "shape holds something other than a non-negative "
                    "integer");
    h->shape[h->ndim++] = v;
    skip_ws(c);
    if (c->p < c->end && *c->p == ')') return c->p++, VQ_OK;
    if (expect(c, ',')) return bad(c, "shape tuple");
    skip_ws(c);
    if (c->p < c->end && *c->p == ')') return c->p++, VQ_OK;
  }
}

static int parse_entry(cursor *c, npy_header *h) {
  char key[32];
  int bit, rc;
  if (read_str(c, key, sizeof key)) return bad(c, "expected a quoted key");
  if (expect(c, ':')) return bad(c, "expected ':'");
  if (!strcmp(key, "descr")) bit = 1, rc = parse_descr(c, h);
  else if (!strcmp(key, "fortran_order"))
    bit = 2, rc = parse_bool(c, &h->fortran) ? bad(c, "fortran_order") : 0;
  else if (!strcmp(key, "shape")) bit = 4, rc = parse_shape(c, h);
  else
    return vq_diag_set(c->diag, VQ_ERR_FORMAT,
                       "%s: malformed .npy header: unknown key '%s'",
                       c->name, key);
  if (rc < 0) return rc;
  if (h->seen & bit)
    return vq_diag_set(c->diag, VQ_ERR_FORMAT,
                       "%s: malformed .npy header: duplicate key '%s'",
                       c->name, key);
  h->seen |= bit;
  return VQ_OK;
}

static int parse_dict(cursor *c, npy_header *h) {
  int rc;
  memset(h, 0, sizeof *h);
  if (expect(c, '{')) return bad(c, "not a dict");
  for (;;) {
    skip_ws(c);
    if (c->p < c->end && *c->p == '}') break;
    if ((rc = parse_entry(c, h)) < 0) return rc;
    skip_ws(c);
    if (c->p < c->end && *c->p == ',') c->p++;
    else if (c->p >= c->end || *c->p != '}') return bad(c, "expected ','");
  }
  c->p++;
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\n')) c->p++;
  if (c->p != c->end) return bad(c, "text after the dict");
  if (h->seen != 7)
    return bad(c, "missing 'descr', 'fortran_order' or 'shape'");
  if (h->fortran && h->ndim > 1)
    return vq_diag_set(c->diag, VQ_ERR_UNSUPPORTED,
                       "%s: Fortran-order arrays are not supported; save "
                       "with numpy.ascontiguousarray()", c->name);
  return VQ_OK;
}

static void shape_text(char *buf, size_t size, const npy_header *h) {
  size_t n = 0;
  int i;
  n += (size_t)snprintf(buf, size, "(");
  for (i = 0; i < h->ndim && n < size; i++)
    n += (size_t)snprintf(buf + n, size - n, "%s%llu", i ? ", " : "",
                          (unsigned long long)h->shape[i]);
  if (n < size) snprintf(buf + n, size - n, ")");
}

/* Validates the prelude and header of a file image of size bytes (the
 * data may be absent); *offset is where the data starts and *bytes its
 * length. */
static int parse_header(npy_header *h, size_t *offset, uint64_t *bytes,
                        const unsigned char *buf, size_t size,
                        const vq_npy_limits *lim, const char *name,
                        vq_diag *diag) {
  uint64_t max_bytes = lim && lim->max_bytes ? lim->max_bytes
                                             : NPY_DEFAULT_MAX_BYTES;
  uint32_t max_header = lim && lim->max_header ? lim->max_header
                                               : NPY_DEFAULT_MAX_HEADER;
  size_t pre, hlen;
  uint64_t count = 1;
  cursor c;
  char shp[200];
  int i, rc;
  if (size < 6 || memcmp(buf, "\x93NUMPY", 6) != 0)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: not a .npy file (bad "
                       "magic)", name);
  if (size < 10)
    return vq_diag_set(diag, VQ_ERR_TRUNCATED, "%s: truncated .npy header",
                       name);
  if (buf[6] < 1 || buf[6] > 3 || buf[7] != 0)
    return vq_diag_set(diag, VQ_ERR_UNSUPPORTED,
                       "%s: unsupported .npy version %u.%u", name, buf[6],
                       buf[7]);
  pre = buf[6] == 1 ? 10 : 12;
  if (size < pre)
    return vq_diag_set(diag, VQ_ERR_TRUNCATED, "%s: truncated header", name);
  hlen = buf[6] == 1 ? (size_t)(buf[8] | buf[9] << 8)
                     : (size_t)((uint32_t)buf[8] | (uint32_t)buf[9] << 8 |
                                (uint32_t)buf[10] << 16 |
                                (uint32_t)buf[11] << 24);
  if (hlen > max_header)
    return vq_diag_set(diag, VQ_ERR_LIMIT, "%s: header of %zu bytes exceeds "
                       "the limit of %u", name, hlen, max_header);
  if (hlen > size - pre)
    return vq_diag_set(diag, VQ_ERR_TRUNCATED, "%s: header declares %zu "
                       "bytes but the file ends after %zu", name, hlen,
                       size - pre);
  c.p = (const char *)buf + pre, c.end = c.p + hlen, c.name = name;
  c.diag = diag;
  if ((rc = parse_dict(&c, h)) < 0) return rc;
  for (i = 0; i < h->ndim; i++)
    if (vq_mul_u64(count, h->shape[i], &count)) count = UINT64_MAX;
  shape_text(shp, sizeof shp, h);
  if (count == UINT64_MAX ||
      vq_mul_u64(count, vq_dtype_size(h->dtype), bytes) || *bytes > max_bytes)
    return vq_diag_set(diag, VQ_ERR_LIMIT, "%s: shape %s of %s exceeds the "
                       "size limit of %llu bytes", name, shp,
                       vq_dtype_name(h->dtype),
                       (unsigned long long)max_bytes);
  *offset = pre + hlen;
  return VQ_OK;
}

/* As parse_header(), and the data must fill the rest of the file. */
static int parse_file(npy_header *h, size_t *offset, uint64_t *bytes,
                      const unsigned char *buf, size_t size,
                      const vq_npy_limits *lim, const char *name,
                      vq_diag *diag) {
  size_t avail;
  char shp[200];
  int rc = parse_header(h, offset, bytes, buf, size, lim, name, diag);
  if (rc < 0) return rc;
  shape_text(shp, sizeof shp, h);
  avail = size - *offset;
  if (*bytes > avail)
    return vq_diag_set(diag, VQ_ERR_TRUNCATED, "%s: header declares shape %s "
                       "of %s = %llu bytes but only %zu bytes follow", name,
                       shp, vq_dtype_name(h->dtype),
                       (unsigned long long)*bytes, avail);
  if (*bytes < avail)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: %zu bytes follow the %llu "
                       "bytes of data that shape %s declares", name,
                       avail - (size_t)*bytes, (unsigned long long)*bytes,
                       shp);
  return VQ_OK;
}

int vq_npy_header_info(vq_npy_info *info, const void *buf, size_t size,
                       const char *name, vq_diag *diag) {
  npy_header h;
  uint64_t bytes;
  int rc, i;
  memset(&h, 0, sizeof h);
  rc = parse_header(&h, &info->data_offset, &bytes, buf, size, NULL,
                    name ? name : "<memory>", diag);
  if (rc < 0) return rc;
  info->dtype = h.dtype;
#ifdef WORDS_BIGENDIAN
  info->big_endian = !h.big_endian && vq_dtype_size(h.dtype) > 1;
#else
  info->big_endian = h.big_endian && vq_dtype_size(h.dtype) > 1;
#endif
  info->ndim = h.ndim;
  for (i = 0; i < h.ndim; i++) info->shape[i] = h.shape[i];
  info->data_bytes = bytes;
  return VQ_OK;
}

static int npy_load(vq_array **out, const unsigned char *buf, size_t size,
                    vq_dtype want, const vq_npy_limits *lim, vq_map *map,
                    const char *name, vq_diag *diag) {
  npy_header h;
  size_t off = 0;
  uint64_t bytes = 0;
  int rc;
  *out = NULL;
  if (want != VQ_DTYPE_NONE && want != VQ_DTYPE_F32 && want != VQ_DTYPE_I64)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "%s: can only convert to "
                       "float32 or int64", name);
  rc = parse_file(&h, &off, &bytes, buf, size, lim, name, diag);
  if (rc < 0) return rc;
  return vq_array_from_raw(out, buf + off, h.dtype, h.big_endian, h.ndim,
                           h.shape, want, map, name, diag);
}

int vq_npy_parse(vq_array **out, const void *buf, size_t size, vq_dtype want,
                 const vq_npy_limits *lim, const char *name, vq_diag *diag) {
  if (!out || (!buf && size)) return VQ_ERR_INVALID_ARG;
  return npy_load(out, buf ? buf : "", size, want, lim, NULL,
                  name ? name : "<memory>", diag);
}

int vq_npy_read(vq_array **out, const char *path, vq_dtype want,
                const vq_npy_limits *lim, vq_diag *diag) {
  uint64_t max = lim && lim->max_bytes ? lim->max_bytes
                                       : NPY_DEFAULT_MAX_BYTES;
  vq_map m;
  int rc;
  if (!out || !path) return VQ_ERR_INVALID_ARG;
  *out = NULL;
  /* header and prelude on top of the data limit */
  rc = vq_map_file(&m, path, max + (1u << 20), diag);
  if (rc < 0) return rc;
  rc = npy_load(out, m.data ? m.data : (const unsigned char *)"", m.size,
                want, lim, &m, path, diag);
  vq_map_release(&m); /* no-op when the array took the map */
  return rc;
}

static const char *descr_of(vq_dtype t) {
  switch (t) {
    case VQ_DTYPE_F32: return "<f4";
    case VQ_DTYPE_F64: return "<f8";
    case VQ_DTYPE_I32: return "<i4";
    case VQ_DTYPE_I64: return "<i8";
    case VQ_DTYPE_U16: return "<u2";
    case VQ_DTYPE_U8: return "|u1";
    default: return NULL;
  }
}

/* The header dict padded with spaces and '\n' so the data starts at a
 * multiple of 64 bytes; returns its length (0 on overflow). */
static size_t make_header(char *buf, size_t size, const char *descr,
                          int ndim, const uint64_t *shape, size_t pre) {
  size_t n, total;
  int i;
  n = (size_t)snprintf(buf, size, "{'descr': '%s', 'fortran_order': False, "
                       "'shape': (", descr);
  for (i = 0; i < ndim && n < size; i++)
    n += (size_t)snprintf(buf + n, size - n, "%s%llu", i ? ", " : "",
                          (unsigned long long)shape[i]);
  if (n < size)
    n += (size_t)snprintf(buf + n, size - n, "%s), }", ndim == 1 ? "," : "");
  total = (pre + n + 1 + 63) / 64 * 64;
  if (total - pre > size) return 0;
  memset(buf + n, ' ', total - pre - n - 1);
  buf[total - pre - 1] = '\n';
  return total - pre;
}

size_t vq_npy_canonical_header(unsigned char *buf, size_t cap,
                               vq_dtype dtype, int big_endian, int ndim,
                               const uint64_t *shape) {
  static const struct { vq_dtype t; const char *code; } codes[] = {
    {VQ_DTYPE_F16, "f2"}, {VQ_DTYPE_F32, "f4"}, {VQ_DTYPE_F64, "f8"},
    {VQ_DTYPE_I8, "i1"}, {VQ_DTYPE_I16, "i2"}, {VQ_DTYPE_I32, "i4"},
    {VQ_DTYPE_I64, "i8"}, {VQ_DTYPE_U8, "u1"}, {VQ_DTYPE_U16, "u2"},
    {VQ_DTYPE_U32, "u4"}, {VQ_DTYPE_U64, "u8"}, {VQ_DTYPE_BOOL, "b1"}};
  char descr[4];
  size_t i, hlen;
  for (i = 0; i < sizeof codes / sizeof *codes; i++)
    if (codes[i].t == dtype) break;
  if (i == sizeof codes / sizeof *codes || cap < 10 || ndim < 0 ||
      ndim > VQ_MAX_DIMS)
    return 0;
  descr[0] = vq_dtype_size(dtype) == 1 ? '|' : big_endian ? '>' : '<';
  memcpy(descr + 1, codes[i].code, 3);
  hlen = make_header((char *)buf + 10, cap - 10, descr, ndim, shape, 10);
  if (!hlen || hlen > 65535) return 0;
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)(hlen & 255), buf[9] = (unsigned char)(hlen >> 8);
  return 10 + hlen;
}

int vq_npy_write(const char *path, vq_dtype dtype, int ndim,
                 const uint64_t *shape, const void *data, vq_diag *diag) {
  const char *descr = descr_of(dtype);
  char hdr[512];
  unsigned char pre[12];
  uint64_t count = 1, bytes;
  size_t hlen;
  vq_atomic_file f;
  int i, rc;
  if (!path || !descr || ndim < 0 || ndim > VQ_MAX_DIMS ||
      (ndim && !shape))
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG,
                       "%s: cannot write this array as .npy",
                       path ? path : "(null)");
  for (i = 0; i < ndim; i++)
    if (vq_mul_u64(count, shape[i], &count))
      return vq_diag_set(diag, VQ_ERR_LIMIT, "%s: array too large", path);
  if (vq_mul_u64(count, vq_dtype_size(dtype), &bytes) || bytes > SIZE_MAX ||
      (bytes && !data))
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "%s: bad array", path);
  hlen = make_header(hdr, sizeof hdr, descr, ndim, shape, 10);
  memcpy(pre, "\x93NUMPY\x01\x00", 8);
  pre[8] = (unsigned char)(hlen & 255), pre[9] = (unsigned char)(hlen >> 8);
  if ((rc = vq_atomic_open(&f, path, diag)) < 0) return rc;
  fwrite(pre, 1, 10, f.fp);
  fwrite(hdr, 1, hlen, f.fp);
  if (bytes) fwrite(data, 1, (size_t)bytes, f.fp);
  return vq_atomic_commit(&f, diag);
}
