/* Codebooks: k codewords of dimension d with a kind and string metadata,
 * stored as .safetensors (tensor "codebook", float32 [k, d]). */
#include "config.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "vq/codebook.h"
#include "vq/safetensors.h"

#define KIND_MAX 32
#define NAME_MAX_LEN 48
#define EXTRA_MAX_COUNT ((size_t)1 << 28) /* floats in one extra tensor */

typedef struct vq_cb_tensor {
  char name[NAME_MAX_LEN];
  size_t rows, cols;
  float *data;
} vq_cb_tensor;

struct vq_codebook {
  char kind[KIND_MAX];
  size_t k, d;
  float *data;
  vq_cb_tensor extra[VQ_CODEBOOK_MAX_TENSORS];
  size_t nextra;
  char **mkey, **mval;
  size_t nm, cap;
};

static int valid_kind(const char *kind) {
  size_t i, n = kind ? strlen(kind) : 0;
  if (n == 0 || n >= KIND_MAX) return 0;
  for (i = 0; i < n; i++)
    if (!((kind[i] >= 'a' && kind[i] <= 'z') ||
          (kind[i] >= '0' && kind[i] <= '9') || kind[i] == '_' ||
          kind[i] == '-'))
      return 0;
  return 1;
}

int vq_codebook_create(vq_codebook **out, const char *kind, size_t k,
                       size_t d) {
  vq_codebook *cb;
  size_t n;
  if (!out) return VQ_ERR_INVALID_ARG;
  *out = NULL;
  if (!valid_kind(kind) || k == 0 || d == 0 || vq_mul_size(k, d, &n))
    return VQ_ERR_INVALID_ARG;
  cb = calloc(1, sizeof *cb);
  if (!cb) return VQ_ERR_NOMEM;
  cb->data = vq_aligned_array(n, sizeof(float));
  if (!cb->data) {
    free(cb);
    return VQ_ERR_NOMEM;
  }
  strcpy(cb->kind, kind);
  cb->k = k, cb->d = d;
  *out = cb;
  return VQ_OK;
}

void vq_codebook_destroy(vq_codebook *cb) {
  size_t i;
  if (!cb) return;
  for (i = 0; i < cb->nm; i++) free(cb->mkey[i]), free(cb->mval[i]);
  free(cb->mkey), free(cb->mval);
  vq_free(cb->data);
  for (i = 0; i < cb->nextra; i++) free(cb->extra[i].data);
  free(cb);
}

size_t vq_codebook_k(const vq_codebook *cb) { return cb ? cb->k : 0; }
size_t vq_codebook_d(const vq_codebook *cb) { return cb ? cb->d : 0; }
const char *vq_codebook_kind(const vq_codebook *cb) {
  return cb ? cb->kind : NULL;
}
float *vq_codebook_data(vq_codebook *cb) { return cb ? cb->data : NULL; }
const float *vq_codebook_cdata(const vq_codebook *cb) {
  return cb ? cb->data : NULL;
}

static int valid_name(const char *name) {
  size_t i, n = name ? strlen(name) : 0;
  if (n == 0 || n >= NAME_MAX_LEN || !strcmp(name, "codebook")) return 0;
  for (i = 0; i < n; i++)
    if (!((name[i] >= 'a' && name[i] <= 'z') ||
          (name[i] >= 'A' && name[i] <= 'Z') ||
          (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
          name[i] == '.' || name[i] == '-'))
      return 0;
  return 1;
}

static vq_cb_tensor *find_extra(const vq_codebook *cb, const char *name) {
  size_t i;
  for (i = 0; cb && name && i < cb->nextra; i++)
    if (!strcmp(cb->extra[i].name, name))
      return (vq_cb_tensor *)&cb->extra[i];
  return NULL;
}

int vq_codebook_set_tensor(vq_codebook *cb, const char *name,
                           const float *data, size_t rows, size_t cols) {
  vq_cb_tensor *t;
  float *m = NULL;
  size_t n = 0;
  if (!cb || !valid_name(name)) return VQ_ERR_INVALID_ARG;
  if (data && (rows == 0 || cols == 0 || vq_mul_size(rows, cols, &n) ||
               n > EXTRA_MAX_COUNT))
    return VQ_ERR_INVALID_ARG;
  t = find_extra(cb, name);
  if (!data) {
    if (t) {
      free(t->data);
      *t = cb->extra[--cb->nextra];
    }
    return VQ_OK;
  }
  if (!t && cb->nextra == VQ_CODEBOOK_MAX_TENSORS) return VQ_ERR_LIMIT;
  if (!(m = vq_malloc_array(n, sizeof *m))) return VQ_ERR_NOMEM;
  memcpy(m, data, n * sizeof *m);
  if (!t) {
    t = &cb->extra[cb->nextra++];
    strcpy(t->name, name);
  } else {
    free(t->data);
  }
  t->data = m, t->rows = rows, t->cols = cols;
  return VQ_OK;
}

const float *vq_codebook_tensor(const vq_codebook *cb, const char *name,
                                size_t *rows, size_t *cols) {
  const vq_cb_tensor *t = find_extra(cb, name);
  if (rows) *rows = t ? t->rows : 0;
  if (cols) *cols = t ? t->cols : 0;
  return t ? t->data : NULL;
}

size_t vq_codebook_tensor_count(const vq_codebook *cb) {
  return cb ? cb->nextra : 0;
}

const char *vq_codebook_tensor_name(const vq_codebook *cb, size_t i) {
  return cb && i < cb->nextra ? cb->extra[i].name : NULL;
}

int vq_codebook_set_rotation(vq_codebook *cb, const float *rotation,
                             size_t r) {
  if (!cb || (rotation && (r == 0 || r > 65536))) return VQ_ERR_INVALID_ARG;
  return vq_codebook_set_tensor(cb, "rotation", rotation, r, r);
}

const float *vq_codebook_rotation(const vq_codebook *cb, size_t *r) {
  size_t rows, cols;
  const float *m = vq_codebook_tensor(cb, "rotation", &rows, &cols);
  if (r) *r = m && rows == cols ? rows : 0;
  return m && rows == cols ? m : NULL;
}

static int reserved(const char *key) { return !strncmp(key, "libvq.", 6); }

static int put_meta(vq_codebook *cb, const char *key, const char *value) {
  size_t i;
  char *k, *v;
  for (i = 0; i < cb->nm; i++)
    if (!strcmp(cb->mkey[i], key)) {
      if (!(v = vq_strdup(value))) return VQ_ERR_NOMEM;
      free(cb->mval[i]);
      cb->mval[i] = v;
      return VQ_OK;
    }
  if (cb->nm == cb->cap) {
    size_t nc = cb->cap ? 2 * cb->cap : 16;
    char **a = vq_realloc_array(cb->mkey, nc, sizeof *a), **b;
    if (!a) return VQ_ERR_NOMEM;
    cb->mkey = a;
    if (!(b = vq_realloc_array(cb->mval, nc, sizeof *b))) return VQ_ERR_NOMEM;
    cb->mval = b, cb->cap = nc;
  }
  k = vq_strdup(key), v = vq_strdup(value);
  if (!k || !v) return free(k), free(v), VQ_ERR_NOMEM;
  cb->mkey[cb->nm] = k, cb->mval[cb->nm++] = v;
  return VQ_OK;
}

int vq_codebook_set_meta(vq_codebook *cb, const char *key,
                         const char *value) {
  if (!cb || !key || !key[0] || !value || reserved(key))
    return VQ_ERR_INVALID_ARG;
  return put_meta(cb, key, value);
}

const char *vq_codebook_meta(const vq_codebook *cb, const char *key) {
  size_t i;
  for (i = 0; cb && key && i < cb->nm; i++)
    if (!strcmp(cb->mkey[i], key)) return cb->mval[i];
  return NULL;
}

size_t vq_codebook_meta_count(const vq_codebook *cb) {
  return cb ? cb->nm : 0;
}

int vq_codebook_meta_at(const vq_codebook *cb, size_t i, const char **key,
                        const char **value) {
  if (!cb || i >= cb->nm) return VQ_ERR_INVALID_ARG;
  if (key) *key = cb->mkey[i];
  if (value) *value = cb->mval[i];
  return VQ_OK;
}

int vq_codebook_save(const vq_codebook *cb, const char *path,
                     vq_diag *diag) {
  vq_st_writer *w;
  uint64_t shape[2];
  char ver[16];
  size_t i;
  int rc;
  if (!cb || !path) return VQ_ERR_INVALID_ARG;
  if ((rc = vq_st_writer_create(&w)) < 0) return rc;
  shape[0] = cb->k, shape[1] = cb->d;
  snprintf(ver, sizeof ver, "%d", VQ_CODEBOOK_FORMAT_VERSION);
  rc = vq_st_writer_meta(w, "libvq.kind", cb->kind);
  if (rc == 0) rc = vq_st_writer_meta(w, "libvq.format_version", ver);
  if (rc == 0) rc = vq_st_writer_meta(w, "libvq.version", vq_version_string());
  for (i = 0; rc == 0 && i < cb->nm; i++)
    rc = vq_st_writer_meta(w, cb->mkey[i], cb->mval[i]);
  if (rc == 0)
    rc = vq_st_writer_add(w, "codebook", VQ_DTYPE_F32, 2, shape, cb->data);
  for (i = 0; rc == 0 && i < cb->nextra; i++) {
    uint64_t es[2];
    es[0] = cb->extra[i].rows, es[1] = cb->extra[i].cols;
    rc = vq_st_writer_add(w, cb->extra[i].name, VQ_DTYPE_F32, 2, es,
                          cb->extra[i].data);
  }
  if (rc == 0) rc = vq_st_writer_write(w, path, diag);
  else vq_diag_set(diag, rc, "%s: %s", path, vq_strerror(rc));
  vq_st_writer_destroy(w);
  return rc;
}

/* Kind and format version from the metadata. */
static int check_header(const vq_st *st, const char *path, vq_diag *diag) {
  const char *kind = vq_st_meta(st, "libvq.kind");
  const char *ver = vq_st_meta(st, "libvq.format_version");
  char *end;
  long v;
  if (!kind || !valid_kind(kind))
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: not a libvq codebook "
                       "(no valid libvq.kind in its metadata)", path);
  if (!ver)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: libvq.format_version is "
                       "missing", path);
  v = strtol(ver, &end, 10);
  if (*end || end == ver || v < 1)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: bad libvq.format_version "
                       "'%s'", path, ver);
  if (v > VQ_CODEBOOK_FORMAT_VERSION)
    return vq_diag_set(diag, VQ_ERR_UNSUPPORTED, "%s: codebook format "
                       "version %ld is newer than this library's (%d)",
                       path, v, VQ_CODEBOOK_FORMAT_VERSION);
  return VQ_OK;
}

static int load_tensor(vq_codebook **out, const vq_st *st, const char *path,
                       vq_diag *diag) {
  int i = vq_st_find(st, "codebook"), ndim, rc;
  uint64_t shape[VQ_MAX_DIMS], j;
  vq_dtype dt;
  vq_array *a;
  if (i < 0)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: no tensor named "
                       "'codebook'", path);
  vq_st_tensor_info(st, (size_t)i, NULL, &dt, &ndim, shape);
  if (ndim != 2 || shape[0] == 0 || shape[1] == 0 ||
      shape[0] > INT32_MAX || shape[1] > INT32_MAX)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: tensor 'codebook' must "
                       "have shape [k, d] with k, d >= 1", path);
  if (dt != VQ_DTYPE_F32 && dt != VQ_DTYPE_F16 && dt != VQ_DTYPE_BF16 &&
      dt != VQ_DTYPE_F64)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: tensor 'codebook' is %s, "
                       "not floating point", path, vq_dtype_name(dt));
  if ((rc = vq_st_read(&a, st, (size_t)i, VQ_DTYPE_F32, diag)) < 0) return rc;
  for (j = 0; j < a->count; j++)
    if (!isfinite(((const float *)a->data)[j])) break;
  if (j < a->count) {
    vq_array_destroy(a);
    return vq_diag_set(diag, VQ_ERR_NONFINITE, "%s: codebook holds NaN or "
                       "infinity", path);
  }
  rc = vq_codebook_create(out, vq_st_meta(st, "libvq.kind"),
                          (size_t)shape[0], (size_t)shape[1]);
  if (rc == VQ_OK)
    memcpy((*out)->data, a->data, (size_t)a->count * sizeof(float));
  vq_array_destroy(a);
  return rc;
}

/* The tensors beside "codebook": floating point, 1-D (kept as [1, n]) or
 * 2-D, finite, within EXTRA_MAX_COUNT floats and VQ_CODEBOOK_MAX_TENSORS
 * of them; "rotation" square. */
static int load_extra(vq_codebook *cb, const vq_st *st, const char *path,
                      vq_diag *diag) {
  size_t i, cnt = vq_st_tensor_count(st);
  int rc = VQ_OK;
  for (i = 0; i < cnt && rc == VQ_OK; i++) {
    uint64_t shape[VQ_MAX_DIMS], j, rows, cols;
    const char *name;
    vq_dtype dt;
    vq_array *a;
    int ndim;
    vq_st_tensor_info(st, i, &name, &dt, &ndim, shape);
    if (!strcmp(name, "codebook")) continue;
    rows = ndim == 2 ? shape[0] : 1;
    cols = ndim == 2 ? shape[1] : ndim == 1 ? shape[0] : 0;
    if (!valid_name(name) || (ndim != 1 && ndim != 2) || rows == 0 ||
        cols == 0 || rows > EXTRA_MAX_COUNT || cols > EXTRA_MAX_COUNT ||
        rows * cols > EXTRA_MAX_COUNT)
      return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: tensor '%s' must be a "
                         "vector or matrix of at most %lu values", path,
                         name, (unsigned long)EXTRA_MAX_COUNT);
    if (!strcmp(name, "rotation") && (rows != cols || ndim != 2))
      return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: tensor 'rotation' must "
                         "be square, [r, r]", path);
    if (dt != VQ_DTYPE_F32 && dt != VQ_DTYPE_F16 && dt != VQ_DTYPE_BF16 &&
        dt != VQ_DTYPE_F64)
      return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: tensor '%s' is %s, not "
                         "floating point", path, name, vq_dtype_name(dt));
    if (cb->nextra == VQ_CODEBOOK_MAX_TENSORS)
      return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: more than %d tensors "
                         "beside 'codebook'", path, VQ_CODEBOOK_MAX_TENSORS);
    if ((rc = vq_st_read(&a, st, i, VQ_DTYPE_F32, diag)) < 0) return rc;
    for (j = 0; j < a->count; j++)
      if (!isfinite(((const float *)a->data)[j])) break;
    if (j < a->count) rc = vq_diag_set(diag, VQ_ERR_NONFINITE, "%s: tensor "
                                       "'%s' holds NaN or infinity", path,
                                       name);
    else rc = vq_codebook_set_tensor(cb, name, a->data, (size_t)rows,
                                     (size_t)cols);
    vq_array_destroy(a);
  }
  return rc;
}

static int load_st(vq_codebook **out, vq_st *st, const char *path,
                   vq_diag *diag);

int vq_codebook_load(vq_codebook **out, const char *path, vq_diag *diag) {
  vq_st *st;
  int rc;
  if (!out || !path) return VQ_ERR_INVALID_ARG;
  *out = NULL;
  if (diag) diag->msg[0] = 0;
  if ((rc = vq_st_open(&st, path, NULL, diag)) < 0) return rc;
  return load_st(out, st, path, diag);
}

int vq_codebook_load_mem(vq_codebook **out, const void *buf, size_t size,
                         const char *name, vq_diag *diag) {
  vq_st *st;
  int rc;
  if (!out || !buf) return VQ_ERR_INVALID_ARG;
  *out = NULL;
  if (!name) name = "<memory>";
  if (diag) diag->msg[0] = 0;
  if ((rc = vq_st_parse(&st, buf, size, NULL, name, diag)) < 0) return rc;
  return load_st(out, st, name, diag);
}

/* Builds the codebook from a parsed file and releases st. */
static int load_st(vq_codebook **out, vq_st *st, const char *path,
                   vq_diag *diag) {
  size_t i;
  int rc;
  rc = check_header(st, path, diag);
  if (rc == VQ_OK) rc = load_tensor(out, st, path, diag);
  if (rc == VQ_OK) rc = load_extra(*out, st, path, diag);
  for (i = 0; rc == VQ_OK && i < vq_st_meta_count(st); i++) {
    const char *k, *v;
    vq_st_meta_at(st, i, &k, &v);
    if (!reserved(k)) rc = put_meta(*out, k, v);
  }
  vq_st_destroy(st);
  if (rc < 0) {
    vq_codebook_destroy(*out);
    *out = NULL;
    if (diag && !diag->msg[0]) vq_diag_set(diag, rc, "%s: %s", path,
                                           vq_strerror(rc));
  }
  return rc;
}
