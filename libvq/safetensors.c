/* .safetensors: 8-byte little-endian header length, a JSON header, then
 * the data section. The reader checks every dtype, shape and offset
 * against the file, and that the tensors tile the data section. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "array_priv.h"
#include "json.h"
#include "vq/safetensors.h"

#define ST_DEFAULT_MAX_HEADER ((uint64_t)100 << 20)
#define ST_DEFAULT_MAX_TENSORS 65536u
#define ST_DEFAULT_MAX_BYTES ((uint64_t)1 << 40)

typedef struct st_tensor {
  char *name;
  vq_dtype dtype;
  int ndim;
  uint64_t shape[VQ_MAX_DIMS];
  uint64_t begin, end;
} st_tensor;

struct vq_st {
  vq_map map;              /* the file (or a copy of a memory buffer) */
  const unsigned char *data;  /* start of the data section */
  uint64_t data_size;
  st_tensor *t;
  size_t nt;
  char **mkey, **mval;
  size_t nm;
  char *name;
};

static const struct { const char *s; vq_dtype t; } st_types[] = {
  {"F16", VQ_DTYPE_F16}, {"BF16", VQ_DTYPE_BF16}, {"F32", VQ_DTYPE_F32},
  {"F64", VQ_DTYPE_F64}, {"I8", VQ_DTYPE_I8}, {"I16", VQ_DTYPE_I16},
  {"I32", VQ_DTYPE_I32}, {"I64", VQ_DTYPE_I64}, {"U8", VQ_DTYPE_U8},
  {"U16", VQ_DTYPE_U16}, {"U32", VQ_DTYPE_U32}, {"U64", VQ_DTYPE_U64},
  {"BOOL", VQ_DTYPE_BOOL}};

static const char *st_type_name(vq_dtype t) {
  size_t i;
  for (i = 0; i < sizeof st_types / sizeof *st_types; i++)
    if (st_types[i].t == t) return st_types[i].s;
  return NULL;
}

void vq_st_destroy(vq_st *st) {
  size_t i;
  if (!st) return;
  for (i = 0; i < st->nt; i++) free(st->t[i].name);
  for (i = 0; i < st->nm; i++) free(st->mkey[i]), free(st->mval[i]);
  free(st->t), free(st->mkey), free(st->mval), free(st->name);
  vq_map_release(&st->map);
  free(st);
}

static int read_meta(vq_st *st, const vq_json *m, vq_diag *diag) {
  size_t i;
  if (m->type != VQ_JSON_OBJECT)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: __metadata__ is not an "
                       "object", st->name);
  st->mkey = vq_calloc_array(m->n, sizeof(char *));
  st->mval = vq_calloc_array(m->n, sizeof(char *));
  if (!st->mkey || !st->mval) return VQ_ERR_NOMEM;
  for (i = 0; i < m->n; i++) {
    if (m->items[i].type != VQ_JSON_STRING)
      return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: metadata value of '%s' "
                         "is not a string", st->name, m->keys[i]);
    st->mkey[i] = vq_strdup(m->keys[i]);
    st->mval[i] = vq_strdup(m->items[i].str);
    st->nm = i + 1;
    if (!st->mkey[i] || !st->mval[i]) return VQ_ERR_NOMEM;
  }
  return VQ_OK;
}

static int tensor_fail(const vq_st *st, const char *tname, const char *what,
                       vq_diag *diag) {
  return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: tensor '%s': %s", st->name,
                     tname, what);
}

static int read_tensor(vq_st *st, st_tensor *t, const char *tname,
                       const vq_json *v, vq_diag *diag) {
  const vq_json *dt = vq_json_get(v, "dtype"), *sh = vq_json_get(v, "shape");
  const vq_json *off = vq_json_get(v, "data_offsets");
  uint64_t count = 1, bytes;
  size_t i;
  if (v->type != VQ_JSON_OBJECT || v->n != 3 || !dt || !sh || !off)
    return tensor_fail(st, tname, "needs exactly dtype, shape and "
                       "data_offsets", diag);
  if (dt->type != VQ_JSON_STRING) return tensor_fail(st, tname, "bad dtype",
                                                     diag);
  for (i = 0; i < sizeof st_types / sizeof *st_types; i++)
    if (!strcmp(dt->str, st_types[i].s)) break;
  if (i == sizeof st_types / sizeof *st_types)
    return vq_diag_set(diag, VQ_ERR_UNSUPPORTED, "%s: tensor '%s': "
                       "unsupported dtype '%s'", st->name, tname, dt->str);
  t->dtype = st_types[i].t;
  if (sh->type != VQ_JSON_ARRAY || sh->n > VQ_MAX_DIMS)
    return tensor_fail(st, tname, "shape is not an array of at most 8 "
                       "dimensions", diag);
  t->ndim = (int)sh->n;
  for (i = 0; i < sh->n; i++) {
    if (sh->items[i].type != VQ_JSON_NUMBER || !sh->items[i].is_uint)
      return tensor_fail(st, tname, "shape holds a value that is not a "
                         "non-negative integer", diag);
    t->shape[i] = sh->items[i].u;
    if (vq_mul_u64(count, t->shape[i], &count))
      return tensor_fail(st, tname, "shape overflows", diag);
  }
  if (off->type != VQ_JSON_ARRAY || off->n != 2 ||
      off->items[0].type != VQ_JSON_NUMBER || !off->items[0].is_uint ||
      off->items[1].type != VQ_JSON_NUMBER || !off->items[1].is_uint)
    return tensor_fail(st, tname, "data_offsets is not [begin, end]", diag);
  t->begin = off->items[0].u, t->end = off->items[1].u;
  if (t->begin > t->end || t->end > st->data_size)
    return tensor_fail(st, tname, "data_offsets outside the data section",
                       diag);
  if (vq_mul_u64(count, vq_dtype_size(t->dtype), &bytes) ||
      bytes != t->end - t->begin)
    return tensor_fail(st, tname, "size of data_offsets does not match "
                       "dtype and shape", diag);
  t->name = vq_strdup(tname);
  return t->name ? VQ_OK : VQ_ERR_NOMEM;
}

static int cmp_begin(const void *a, const void *b) {
  const st_tensor *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* Tensors must cover the data section exactly, without overlap. */
static int check_tiling(const vq_st *st, vq_diag *diag) {
  st_tensor *s = vq_malloc_array(st->nt, sizeof *s);
  uint64_t at = 0;
  size_t i;
  int rc = VQ_OK;
  if (!s) return VQ_ERR_NOMEM;
  memcpy(s, st->t, st->nt * sizeof *s);
  qsort(s, st->nt, sizeof *s, cmp_begin);
  for (i = 0; i < st->nt && rc == VQ_OK; i++) {
    if (s[i].begin != at)
      rc = vq_diag_set(diag, VQ_ERR_FORMAT, "%s: tensor '%s' %s", st->name,
                       s[i].name, s[i].begin < at ? "overlaps another"
                       : "leaves a gap before it in the data section");
    at = s[i].end;
  }
  if (rc == VQ_OK && at != st->data_size)
    rc = vq_diag_set(diag, VQ_ERR_FORMAT, "%s: %llu bytes of the data "
                     "section belong to no tensor", st->name,
                     (unsigned long long)(st->data_size - at));
  free(s);
  return rc;
}

static int read_header(vq_st *st, const vq_json *root, uint64_t max_tensors,
                       vq_diag *diag) {
  size_t i;
  int rc;
  if (root->type != VQ_JSON_OBJECT)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: header is not a JSON "
                       "object", st->name);
  if (root->n > max_tensors + 1)
    return vq_diag_set(diag, VQ_ERR_LIMIT, "%s: more than %llu tensors",
                       st->name, (unsigned long long)max_tensors);
  st->t = vq_calloc_array(root->n, sizeof *st->t);
  if (!st->t) return VQ_ERR_NOMEM;
  for (i = 0; i < root->n; i++) {
    if (!strcmp(root->keys[i], "__metadata__")) {
      if ((rc = read_meta(st, &root->items[i], diag)) < 0) return rc;
      continue;
    }
    if (!root->keys[i][0])
      return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: tensor with an empty "
                         "name", st->name);
    rc = read_tensor(st, &st->t[st->nt], root->keys[i], &root->items[i],
                     diag);
    if (rc < 0) return rc;
    st->nt++;
  }
  return check_tiling(st, diag);
}

/* Parses st->map; st->name is set. */
static int st_load(vq_st *st, const vq_st_limits *lim, vq_diag *diag) {
  uint64_t max_header = lim && lim->max_header ? lim->max_header
                                               : ST_DEFAULT_MAX_HEADER;
  uint64_t max_tensors = lim && lim->max_tensors ? lim->max_tensors
                                                 : ST_DEFAULT_MAX_TENSORS;
  const unsigned char *b = st->map.data;
  uint64_t n = 0;
  vq_json *root;
  char err[160];
  int i, rc;
  if (st->map.size < 8)
    return vq_diag_set(diag, VQ_ERR_TRUNCATED, "%s: too short for a "
                       ".safetensors file (%zu bytes)", st->name,
                       st->map.size);
  for (i = 7; i >= 0; i--) n = n << 8 | b[i];
  if (n > max_header)
    return vq_diag_set(diag, VQ_ERR_LIMIT, "%s: header length %llu exceeds "
                       "the limit of %llu", st->name, (unsigned long long)n,
                       (unsigned long long)max_header);
  if (n > st->map.size - 8)
    return vq_diag_set(diag, VQ_ERR_TRUNCATED, "%s: header length %llu but "
                       "only %zu bytes follow", st->name,
                       (unsigned long long)n, st->map.size - 8);
  if (n < 2 || b[8] != '{')
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: header does not start "
                       "with '{'", st->name);
  st->data = b + 8 + n;
  st->data_size = st->map.size - 8 - n;
  if (vq_json_parse(&root, (const char *)b + 8, (size_t)n, err, sizeof err))
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: bad JSON header: %s",
                       st->name, err);
  rc = read_header(st, root, max_tensors, diag);
  vq_json_free(root);
  if (rc == VQ_ERR_NOMEM)
    vq_diag_set(diag, rc, "%s: out of memory", st->name);
  return rc;
}

static int st_new(vq_st **out, const char *name) {
  *out = calloc(1, sizeof **out);
  if (!*out) return VQ_ERR_NOMEM;
  (*out)->name = vq_strdup(name);
  return (*out)->name ? VQ_OK : VQ_ERR_NOMEM;
}

int vq_st_open(vq_st **out, const char *path, const vq_st_limits *lim,
               vq_diag *diag) {
  uint64_t max = lim && lim->max_bytes ? lim->max_bytes
                                       : ST_DEFAULT_MAX_BYTES;
  vq_st *st;
  int rc;
  if (!out || !path) return VQ_ERR_INVALID_ARG;
  *out = NULL;
  if ((rc = st_new(&st, path)) < 0) return vq_st_destroy(st), rc;
  rc = vq_map_file(&st->map, path, max, diag);
  if (rc == VQ_OK) rc = st_load(st, lim, diag);
  if (rc < 0) return vq_st_destroy(st), rc;
  *out = st;
  return VQ_OK;
}

int vq_st_parse(vq_st **out, const void *buf, size_t size,
                const vq_st_limits *lim, const char *name, vq_diag *diag) {
  vq_st *st;
  int rc;
  if (!out || (!buf && size)) return VQ_ERR_INVALID_ARG;
  *out = NULL;
  if ((rc = st_new(&st, name ? name : "<memory>")) < 0)
    return vq_st_destroy(st), rc;
  if (size) {
    unsigned char *copy = malloc(size);
    if (!copy) return vq_st_destroy(st), VQ_ERR_NOMEM;
    memcpy(copy, buf, size);
    st->map.data = copy, st->map.size = size;
  }
  if ((rc = st_load(st, lim, diag)) < 0) return vq_st_destroy(st), rc;
  *out = st;
  return VQ_OK;
}

size_t vq_st_tensor_count(const vq_st *st) { return st ? st->nt : 0; }
size_t vq_st_meta_count(const vq_st *st) { return st ? st->nm : 0; }

int vq_st_find(const vq_st *st, const char *name) {
  size_t i;
  for (i = 0; st && name && i < st->nt; i++)
    if (!strcmp(st->t[i].name, name)) return (int)i;
  return VQ_ERR_NOT_FOUND;
}

int vq_st_tensor_info(const vq_st *st, size_t i, const char **name,
                      vq_dtype *dtype, int *ndim, uint64_t *shape) {
  if (!st || i >= st->nt) return VQ_ERR_INVALID_ARG;
  if (name) *name = st->t[i].name;
  if (dtype) *dtype = st->t[i].dtype;
  if (ndim) *ndim = st->t[i].ndim;
  if (shape)
    memcpy(shape, st->t[i].shape, (size_t)st->t[i].ndim * sizeof *shape);
  return VQ_OK;
}

int vq_st_read(vq_array **out, const vq_st *st, size_t i, vq_dtype want,
               vq_diag *diag) {
  char name[300];
  if (!out) return VQ_ERR_INVALID_ARG;
  *out = NULL;
  if (!st || i >= st->nt) return VQ_ERR_INVALID_ARG;
  if (want != VQ_DTYPE_NONE && want != VQ_DTYPE_F32 && want != VQ_DTYPE_I64)
    return VQ_ERR_INVALID_ARG;
  snprintf(name, sizeof name, "%s: tensor '%s'", st->name, st->t[i].name);
  return vq_array_from_raw(out, st->data + st->t[i].begin, st->t[i].dtype, 0,
                           st->t[i].ndim, st->t[i].shape, want, NULL, name,
                           diag);
}

const char *vq_st_meta(const vq_st *st, const char *key) {
  size_t i;
  for (i = 0; st && key && i < st->nm; i++)
    if (!strcmp(st->mkey[i], key)) return st->mval[i];
  return NULL;
}

int vq_st_meta_at(const vq_st *st, size_t i, const char **key,
                  const char **value) {
  if (!st || i >= st->nm) return VQ_ERR_INVALID_ARG;
  if (key) *key = st->mkey[i];
  if (value) *value = st->mval[i];
  return VQ_OK;
}

/* ---- writer ------------------------------------------------------------ */

typedef struct st_out {
  char *name;
  vq_dtype dtype;
  int ndim;
  uint64_t shape[VQ_MAX_DIMS];
  uint64_t bytes;
  const void *data;
} st_out;

struct vq_st_writer {
  st_out *t;
  size_t nt, cap_t;
  char **mkey, **mval;
  size_t nm, cap_m;
};

int vq_st_writer_create(vq_st_writer **out) {
  if (!out) return VQ_ERR_INVALID_ARG;
  *out = calloc(1, sizeof **out);
  return *out ? VQ_OK : VQ_ERR_NOMEM;
}

void vq_st_writer_destroy(vq_st_writer *w) {
  size_t i;
  if (!w) return;
  for (i = 0; i < w->nt; i++) free(w->t[i].name);
  for (i = 0; i < w->nm; i++) free(w->mkey[i]), free(w->mval[i]);
  free(w->t), free(w->mkey), free(w->mval);
  free(w);
}

static int valid_text(const char *s) {
  return s && vq_utf8_valid(s, strlen(s));
}

int vq_st_writer_add(vq_st_writer *w, const char *name, vq_dtype dtype,
                     int ndim, const uint64_t *shape, const void *data) {
  st_out *t;
  uint64_t count = 1;
  size_t i;
  int d;
  if (!w || !valid_text(name) || !name[0] ||
      !strcmp(name, "__metadata__") || !st_type_name(dtype) || ndim < 0 ||
      ndim > VQ_MAX_DIMS || (ndim && !shape))
    return VQ_ERR_INVALID_ARG;
  for (i = 0; i < w->nt; i++)
    if (!strcmp(w->t[i].name, name)) return VQ_ERR_INVALID_ARG;
  for (d = 0; d < ndim; d++)
    if (vq_mul_u64(count, shape[d], &count)) return VQ_ERR_LIMIT;
  if (vq_mul_u64(count, vq_dtype_size(dtype), &count)) return VQ_ERR_LIMIT;
  if (count && !data) return VQ_ERR_INVALID_ARG;
  if (w->nt == w->cap_t) {
    size_t nc = w->cap_t ? 2 * w->cap_t : 4;
    st_out *nt = vq_realloc_array(w->t, nc, sizeof *nt);
    if (!nt) return VQ_ERR_NOMEM;
    w->t = nt, w->cap_t = nc;
  }
  t = &w->t[w->nt];
  memset(t, 0, sizeof *t);
  if (!(t->name = vq_strdup(name))) return VQ_ERR_NOMEM;
  t->dtype = dtype, t->ndim = ndim, t->bytes = count, t->data = data;
  for (d = 0; d < ndim; d++) t->shape[d] = shape[d];
  w->nt++;
  return VQ_OK;
}

int vq_st_writer_meta(vq_st_writer *w, const char *key, const char *value) {
  size_t i;
  char *k, *v;
  if (!w || !valid_text(key) || !valid_text(value)) return VQ_ERR_INVALID_ARG;
  for (i = 0; i < w->nm; i++)
    if (!strcmp(w->mkey[i], key)) {
      if (!(v = vq_strdup(value))) return VQ_ERR_NOMEM;
      free(w->mval[i]);
      w->mval[i] = v;
      return VQ_OK;
    }
  if (w->nm == w->cap_m) {
    size_t nc = w->cap_m ? 2 * w->cap_m : 8;
    char **a = vq_realloc_array(w->mkey, nc, sizeof *a), **b;
    if (!a) return VQ_ERR_NOMEM;
    w->mkey = a;
    if (!(b = vq_realloc_array(w->mval, nc, sizeof *b))) return VQ_ERR_NOMEM;
    w->mval = b, w->cap_m = nc;
  }
  k = vq_strdup(key), v = vq_strdup(value);
  if (!k || !v) return free(k), free(v), VQ_ERR_NOMEM;
  w->mkey[w->nm] = k, w->mval[w->nm++] = v;
  return VQ_OK;
}

/* Writes the JSON header to f (a memory stream); offsets in add order. */
static void write_header(const vq_st_writer *w, FILE *f) {
  uint64_t at = 0;
  size_t i;
  int d;
  fputc('{', f);
  if (w->nm) {
    fputs("\"__metadata__\":{", f);
    for (i = 0; i < w->nm; i++) {
      if (i) fputc(',', f);
      vq_json_write_string(f, w->mkey[i]);
      fputc(':', f);
      vq_json_write_string(f, w->mval[i]);
    }
    fputc('}', f);
  }
  for (i = 0; i < w->nt; i++) {
    const st_out *t = &w->t[i];
    if (i || w->nm) fputc(',', f);
    vq_json_write_string(f, t->name);
    fprintf(f, ":{\"dtype\":\"%s\",\"shape\":[", st_type_name(t->dtype));
    for (d = 0; d < t->ndim; d++)
      fprintf(f, "%s%llu", d ? "," : "", (unsigned long long)t->shape[d]);
    fprintf(f, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)at,
            (unsigned long long)(at + t->bytes));
    at += t->bytes;
  }
  fputc('}', f);
}

int vq_st_writer_write(vq_st_writer *w, const char *path, vq_diag *diag) {
  char *hdr = NULL;
  size_t hlen = 0, i;
  unsigned char len8[8];
  uint64_t n;
  vq_atomic_file f;
  FILE *mem;
  int rc, b;
  if (!w || !path) return VQ_ERR_INVALID_ARG;
  mem = open_memstream(&hdr, &hlen);
  if (!mem) return vq_diag_set(diag, VQ_ERR_NOMEM, "%s: out of memory", path);
  write_header(w, mem);
  /* pad with spaces so the data section starts 8-byte aligned */
  while ((8 + ftell(mem)) % 8) fputc(' ', mem);
  if (fclose(mem) != 0 || !hdr) {
    free(hdr);
    return vq_diag_set(diag, VQ_ERR_NOMEM, "%s: out of memory", path);
  }
  for (n = hlen, b = 0; b < 8; b++, n >>= 8) len8[b] = (unsigned char)n;
  if ((rc = vq_atomic_open(&f, path, diag)) < 0) return free(hdr), rc;
  fwrite(len8, 1, 8, f.fp);
  fwrite(hdr, 1, hlen, f.fp);
  free(hdr);
  for (i = 0; i < w->nt; i++)
    if (w->t[i].bytes) fwrite(w->t[i].data, 1, (size_t)w->t[i].bytes, f.fp);
  return vq_atomic_commit(&f, diag);
}
