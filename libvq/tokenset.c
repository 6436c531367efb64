/* Token-set index files: JSON written with a fixed layout, read back by
 * the strict parser of json.c with every field checked. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "vq/tokenset.h"
#include "internal.h"
#include "json.h"

#define MAX_ENTRIES ((size_t)1 << 26) /* shards, inputs or attributes */

typedef struct shard {
  char *file;
  uint64_t rows;
} shard;

typedef struct entry {
  char *name;
  size_t shard;
  uint64_t row, rows;
  int ndim;
  uint64_t grid[VQ_TOKENSET_MAX_GRID], size[VQ_TOKENSET_MAX_GRID];
} entry;

typedef struct attr {
  char *key, *val;
} attr;

struct vq_tokenset {
  char sha[65];
  char *cbname, *source, *dtype;
  int stages;
  uint64_t k;
  attr *at;
  size_t na, capa;
  shard *sh;
  size_t ns, caps;
  entry *in;
  size_t ni, capi;
};

static int valid_sha(const char *s) {
  size_t i;
  if (!s || strlen(s) != 64) return 0;
  for (i = 0; i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return 1;
}

static int valid_key(const char *s) {
  size_t i, n = s ? strlen(s) : 0;
  if (n == 0 || n > 64) return 0;
  for (i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' ||
          s[i] == '-'))
      return 0;
  return 1;
}

/* A shard is a plain file name beside the index. */
static int valid_file(const char *s) {
  return s && s[0] && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static int grow(void **p, size_t *cap, size_t n, size_t size) {
  void *q;
  size_t nc;
  if (n < *cap) return VQ_OK;
  if (n >= MAX_ENTRIES) return VQ_ERR_LIMIT;
  nc = *cap ? 2 * *cap : 16;
  if (!(q = vq_realloc_array(*p, nc, size))) return VQ_ERR_NOMEM;
  *p = q, *cap = nc;
  return VQ_OK;
}

int vq_tokenset_create(vq_tokenset **out, const char *sha256,
                       const char *codebook_name, const char *source,
                       const char *dtype, int stages, uint64_t k) {
  vq_tokenset *ts;
  if (!out) return VQ_ERR_INVALID_ARG;
  *out = NULL;
  if (!valid_sha(sha256) || !codebook_name || !source || !dtype ||
      (strcmp(source, "vectors") && strcmp(source, "image") &&
       strcmp(source, "latent")) ||
      (strcmp(dtype, "int32") && strcmp(dtype, "uint16")) || stages < 1 ||
      stages > 65536 || k < 1 || k > ((uint64_t)1 << 31) ||
      (!strcmp(dtype, "uint16") && k > 65536))
    return VQ_ERR_INVALID_ARG;
  if (!(ts = calloc(1, sizeof *ts))) return VQ_ERR_NOMEM;
  memcpy(ts->sha, sha256, 65);
  ts->cbname = vq_strdup(codebook_name);
  ts->source = vq_strdup(source);
  ts->dtype = vq_strdup(dtype);
  ts->stages = stages, ts->k = k;
  if (!ts->cbname || !ts->source || !ts->dtype) {
    vq_tokenset_destroy(ts);
    return VQ_ERR_NOMEM;
  }
  *out = ts;
  return VQ_OK;
}

void vq_tokenset_destroy(vq_tokenset *ts) {
  size_t i;
  if (!ts) return;
  for (i = 0; i < ts->na; i++) free(ts->at[i].key), free(ts->at[i].val);
  for (i = 0; i < ts->ns; i++) free(ts->sh[i].file);
  for (i = 0; i < ts->ni; i++) free(ts->in[i].name);
  free(ts->at), free(ts->sh), free(ts->in);
  free(ts->cbname), free(ts->source), free(ts->dtype);
  free(ts);
}

int vq_tokenset_set_attr(vq_tokenset *ts, const char *key,
                         const char *value) {
  size_t i;
  char *k, *v;
  int rc;
  if (!ts || !valid_key(key) || !value) return VQ_ERR_INVALID_ARG;
  for (i = 0; i < ts->na; i++)
    if (!strcmp(ts->at[i].key, key)) {
      if (!(v = vq_strdup(value))) return VQ_ERR_NOMEM;
      free(ts->at[i].val);
      ts->at[i].val = v;
      return VQ_OK;
    }
  if ((rc = grow((void **)&ts->at, &ts->capa, ts->na, sizeof *ts->at)) < 0)
    return rc;
  k = vq_strdup(key), v = vq_strdup(value);
  if (!k || !v) return free(k), free(v), VQ_ERR_NOMEM;
  ts->at[ts->na].key = k, ts->at[ts->na++].val = v;
  return VQ_OK;
}

const char *vq_tokenset_attr(const vq_tokenset *ts, const char *key) {
  size_t i;
  for (i = 0; ts && key && i < ts->na; i++)
    if (!strcmp(ts->at[i].key, key)) return ts->at[i].val;
  return NULL;
}

int vq_tokenset_add_shard(vq_tokenset *ts, const char *file, uint64_t rows,
                          size_t *index) {
  char *f;
  int rc;
  if (!ts || !valid_file(file)) return VQ_ERR_INVALID_ARG;
  if ((rc = grow((void **)&ts->sh, &ts->caps, ts->ns, sizeof *ts->sh)) < 0)
    return rc;
  if (!(f = vq_strdup(file))) return VQ_ERR_NOMEM;
  ts->sh[ts->ns].file = f, ts->sh[ts->ns].rows = rows;
  if (index) *index = ts->ns;
  ts->ns++;
  return VQ_OK;
}

static int check_input(const vq_tokenset *ts, const vq_token_input *in) {
  uint64_t prod = 1;
  int a;
  if (!in->name || in->shard >= ts->ns || in->ndim < 1 ||
      in->ndim > VQ_TOKENSET_MAX_GRID || in->row > ts->sh[in->shard].rows ||
      in->rows > ts->sh[in->shard].rows - in->row)
    return VQ_ERR_INVALID_ARG;
  for (a = 0; a < in->ndim; a++) {
    if (in->grid[a] && prod > UINT64_MAX / in->grid[a])
      return VQ_ERR_INVALID_ARG;
    prod *= in->grid[a];
  }
  return prod == in->rows ? VQ_OK : VQ_ERR_INVALID_ARG;
}

int vq_tokenset_add_input(vq_tokenset *ts, const vq_token_input *in) {
  entry *e;
  int rc, a;
  if (!ts || !in || check_input(ts, in) < 0) return VQ_ERR_INVALID_ARG;
  if ((rc = grow((void **)&ts->in, &ts->capi, ts->ni, sizeof *ts->in)) < 0)
    return rc;
  e = &ts->in[ts->ni];
  memset(e, 0, sizeof *e);
  if (!(e->name = vq_strdup(in->name))) return VQ_ERR_NOMEM;
  e->shard = in->shard, e->row = in->row, e->rows = in->rows;
  e->ndim = in->ndim;
  memcpy(e->grid, in->grid, sizeof e->grid);
  for (a = 0; a < e->ndim; a++)
    e->size[a] = in->size[a] ? in->size[a] : in->grid[a];
  ts->ni++;
  return VQ_OK;
}

const char *vq_tokenset_sha256(const vq_tokenset *ts) {
  return ts ? ts->sha : NULL;
}
const char *vq_tokenset_codebook_name(const vq_tokenset *ts) {
  return ts ? ts->cbname : NULL;
}
const char *vq_tokenset_source(const vq_tokenset *ts) {
  return ts ? ts->source : NULL;
}
const char *vq_tokenset_dtype(const vq_tokenset *ts) {
  return ts ? ts->dtype : NULL;
}
int vq_tokenset_stages(const vq_tokenset *ts) { return ts ? ts->stages : 0; }
uint64_t vq_tokenset_k(const vq_tokenset *ts) { return ts ? ts->k : 0; }
size_t vq_tokenset_shard_count(const vq_tokenset *ts) {
  return ts ? ts->ns : 0;
}
size_t vq_tokenset_input_count(const vq_tokenset *ts) {
  return ts ? ts->ni : 0;
}

int vq_tokenset_shard(const vq_tokenset *ts, size_t i, const char **file,
                      uint64_t *rows) {
  if (!ts || i >= ts->ns) return VQ_ERR_INVALID_ARG;
  if (file) *file = ts->sh[i].file;
  if (rows) *rows = ts->sh[i].rows;
  return VQ_OK;
}

int vq_tokenset_input(const vq_tokenset *ts, size_t i, vq_token_input *in) {
  const entry *e;
  if (!ts || !in || i >= ts->ni) return VQ_ERR_INVALID_ARG;
  e = &ts->in[i];
  in->name = e->name, in->shard = e->shard, in->row = e->row;
  in->rows = e->rows, in->ndim = e->ndim;
  memcpy(in->grid, e->grid, sizeof in->grid);
  memcpy(in->size, e->size, sizeof in->size);
  return VQ_OK;
}

/* ---- writing ------------------------------------------------------------ */

int vq_tokenset_write(const vq_tokenset *ts, const char *path,
                      vq_diag *diag) {
  vq_atomic_file af;
  FILE *f;
  size_t i;
  int rc, a;
  if (!ts || !path) return VQ_ERR_INVALID_ARG;
  if ((rc = vq_atomic_open(&af, path, diag)) < 0) return rc;
  f = af.fp;
  fprintf(f, "{\n  \"format\": \"libvq-tokens\",\n  \"version\": %d,\n"
          "  \"codebook\": {\"sha256\": \"%s\", \"name\": ",
          VQ_TOKENSET_VERSION, ts->sha);
  vq_json_write_string(f, ts->cbname);
  fprintf(f, "},\n  \"source\": \"%s\",\n  \"dtype\": \"%s\",\n"
          "  \"stages\": %d,\n  \"k\": %llu,\n  \"attributes\": {",
          ts->source, ts->dtype, ts->stages, (unsigned long long)ts->k);
  for (i = 0; i < ts->na; i++) {
    fprintf(f, "%s\n    ", i ? "," : "");
    vq_json_write_string(f, ts->at[i].key);
    fputs(": ", f);
    vq_json_write_string(f, ts->at[i].val);
  }
  fprintf(f, "%s},\n  \"shards\": [", ts->na ? "\n  " : "");
  for (i = 0; i < ts->ns; i++) {
    fprintf(f, "%s\n    {\"file\": ", i ? "," : "");
    vq_json_write_string(f, ts->sh[i].file);
    fprintf(f, ", \"rows\": %llu}", (unsigned long long)ts->sh[i].rows);
  }
  fprintf(f, "%s],\n  \"inputs\": [", ts->ns ? "\n  " : "");
  for (i = 0; i < ts->ni; i++) {
    const entry *e = &ts->in[i];
    fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
    vq_json_write_string(f, e->name);
    fprintf(f, ", \"shard\": %lu, \"row\": %llu, \"rows\": %llu, "
            "\"grid\": [", (unsigned long)e->shard,
            (unsigned long long)e->row, (unsigned long long)e->rows);
    for (a = 0; a < e->ndim; a++)
      fprintf(f, "%s%llu", a ? ", " : "", (unsigned long long)e->grid[a]);
    fputs("], \"size\": [", f);
    for (a = 0; a < e->ndim; a++)
      fprintf(f, "%s%llu", a ? ", " : "", (unsigned long long)e->size[a]);
    fputs("]}", f);
  }
  fprintf(f, "%s]\n}\n", ts->ni ? "\n  " : "");
  return vq_atomic_commit(&af, diag);
}

/* ---- reading ------------------------------------------------------------ */

typedef struct reader {
  const char *path;
  vq_diag *diag;
} reader;

static int bad(const reader *r, const char *what) {
  return vq_diag_set(r->diag, VQ_ERR_FORMAT, "%s: not a valid token index "
                     "(%s)", r->path, what);
}

static const char *get_str(const vq_json *o, const char *key) {
  const vq_json *v = vq_json_get(o, key);
  return v && v->type == VQ_JSON_STRING ? v->str : NULL;
}

static int get_uint(const vq_json *o, const char *key, uint64_t *out) {
  const vq_json *v = vq_json_get(o, key);
  if (!v || v->type != VQ_JSON_NUMBER || !v->is_uint) return -1;
  *out = v->u;
  return 0;
}

static int read_attrs(vq_tokenset *ts, const vq_json *a, const reader *r) {
  size_t i;
  int rc;
  if (!a || a->type != VQ_JSON_OBJECT) return bad(r, "attributes");
  for (i = 0; i < a->n; i++) {
    if (a->items[i].type != VQ_JSON_STRING || !valid_key(a->keys[i]))
      return bad(r, "an attribute is not a string");
    if ((rc = vq_tokenset_set_attr(ts, a->keys[i], a->items[i].str)) < 0)
      return rc == VQ_ERR_NOMEM ? rc : bad(r, "attributes");
  }
  return VQ_OK;
}

static int read_lists(vq_tokenset *ts, const vq_json *root,
                      const reader *r) {
  const vq_json *sh = vq_json_get(root, "shards");
  const vq_json *in = vq_json_get(root, "inputs");
  size_t i;
  int rc;
  if (!sh || sh->type != VQ_JSON_ARRAY) return bad(r, "shards");
  if (!in || in->type != VQ_JSON_ARRAY) return bad(r, "inputs");
  for (i = 0; i < sh->n; i++) {
    const char *file = get_str(&sh->items[i], "file");
    uint64_t rows;
    if (sh->items[i].type != VQ_JSON_OBJECT || !valid_file(file) ||
        get_uint(&sh->items[i], "rows", &rows))
      return bad(r, "a shard needs a plain file name and its rows");
    if ((rc = vq_tokenset_add_shard(ts, file, rows, NULL)) < 0)
      return rc == VQ_ERR_NOMEM ? rc : bad(r, "shards");
  }
  for (i = 0; i < in->n; i++) {
    const vq_json *e = &in->items[i], *g = vq_json_get(e, "grid"), *z;
    vq_token_input t;
    uint64_t s;
    size_t a;
    memset(&t, 0, sizeof t);
    t.name = get_str(e, "name");
    if (e->type != VQ_JSON_OBJECT || !t.name || get_uint(e, "shard", &s) ||
        get_uint(e, "row", &t.row) || get_uint(e, "rows", &t.rows) || !g ||
        g->type != VQ_JSON_ARRAY || g->n < 1 ||
        g->n > VQ_TOKENSET_MAX_GRID)
      return bad(r, "an input needs name, shard, row, rows and grid");
    t.shard = s < SIZE_MAX ? (size_t)s : SIZE_MAX;
    t.ndim = (int)g->n;
    for (a = 0; a < g->n; a++) {
      if (g->items[a].type != VQ_JSON_NUMBER || !g->items[a].is_uint)
        return bad(r, "a grid size is not a whole number");
      t.grid[a] = g->items[a].u;
    }
    if ((z = vq_json_get(e, "size")) != NULL) {
      if (z->type != VQ_JSON_ARRAY || z->n != g->n)
        return bad(r, "an input's size does not match its grid");
      for (a = 0; a < z->n; a++) {
        if (z->items[a].type != VQ_JSON_NUMBER || !z->items[a].is_uint ||
            z->items[a].u == 0)
          return bad(r, "an input's size is not a positive whole number");
        t.size[a] = z->items[a].u;
      }
    }
    if ((rc = vq_tokenset_add_input(ts, &t)) < 0)
      return rc == VQ_ERR_NOMEM ? rc
                                : bad(r, "an input lies outside its shard, "
                                         "or its grid does not make its "
                                         "rows");
  }
  return VQ_OK;
}

int vq_tokenset_read(vq_tokenset **out, const char *path, vq_diag *diag) {
  vq_json *root = NULL;
  const vq_json *cb;
  vq_map m;
  reader r;
  char err[160];
  const char *fmt, *sha, *name, *src, *dt;
  uint64_t ver, stages, k;
  int rc;
  if (!out || !path) return VQ_ERR_INVALID_ARG;
  *out = NULL;
  if (diag) diag->msg[0] = 0;
  r.path = path, r.diag = diag;
  if ((rc = vq_map_file(&m, path, VQ_TOKENSET_MAX_BYTES, diag)) < 0)
    return rc;
  if (vq_json_parse(&root, (const char *)m.data, m.size, err,
                    sizeof err) < 0) {
    vq_map_release(&m);
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: not a token index: %s",
                       path, err);
  }
  vq_map_release(&m);
  fmt = get_str(root, "format");
  cb = vq_json_get(root, "codebook");
  if (root->type != VQ_JSON_OBJECT || !fmt || strcmp(fmt, "libvq-tokens")) {
    rc = bad(&r, "no \"format\": \"libvq-tokens\"");
    goto done;
  }
  if (get_uint(root, "version", &ver) || ver < 1) {
    rc = bad(&r, "version");
    goto done;
  }
  if (ver > VQ_TOKENSET_VERSION) {
    rc = vq_diag_set(diag, VQ_ERR_UNSUPPORTED, "%s: token index version "
                     "%llu is newer than this library's (%d)", path,
                     (unsigned long long)ver, VQ_TOKENSET_VERSION);
    goto done;
  }
  sha = cb && cb->type == VQ_JSON_OBJECT ? get_str(cb, "sha256") : NULL;
  name = cb && cb->type == VQ_JSON_OBJECT ? get_str(cb, "name") : NULL;
  src = get_str(root, "source"), dt = get_str(root, "dtype");
  if (!sha || !name || !src || !dt || get_uint(root, "stages", &stages) ||
      get_uint(root, "k", &k) || stages > 65536) {
    rc = bad(&r, "codebook, source, dtype, stages or k missing");
    goto done;
  }
  rc = vq_tokenset_create(out, sha, name, src, dt, (int)stages, k);
  if (rc == VQ_ERR_INVALID_ARG)
    rc = bad(&r, "bad codebook digest, source, dtype, stages or k");
  if (rc == VQ_OK)
    rc = read_attrs(*out, vq_json_get(root, "attributes"), &r);
  if (rc == VQ_OK) rc = read_lists(*out, root, &r);
done:
  vq_json_free(root);
  if (rc < 0) {
    vq_tokenset_destroy(*out);
    *out = NULL;
    if (diag && !diag->msg[0])
      vq_diag_set(diag, rc, "%s: %s", path, vq_strerror(rc));
  }
  return rc;
}
