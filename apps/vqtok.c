/* vqtok: vectors, images and latents to codebook tokens and back. */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"

static const char *prog = "vqtok";

static void usage(FILE *f) {
  fprintf(f,
"Usage: vqtok encode --codebook CB [options] INPUT... -o TOKENS.npy\n"
"       vqtok decode --codebook CB [options] TOKENS.npy|TOKENS.json -o OUT\n"
"       vqtok stats --codebook CB [options] TOKENS.npy|TOKENS.json\n"
"\n"
"encode maps each input to codebook tokens, one per stage of a residual\n"
"codebook (vqtrain rvq; a k-means codebook is one stage) or one per\n"
"sub-space of a product codebook (vqtrain pq):\n"
"  vectors DATA.npy [N, D]           -> tokens [N, M]\n"
"  a latent .npy [C, H, W] ([H, W, C] with --layout hwc; a batch\n"
"    [B, C, H, W] or [B, H, W, C])   -> tokens [H, W, M] ([B, H, W, M])\n"
"  an image (PNG, JPEG, PPM, PGM; a codebook trained on P x P patches)\n"
"                                    -> tokens [ceil(H/P), ceil(W/P), M]\n"
"and writes TOKENS.npy beside an index TOKENS.json that names the\n"
"codebook by its SHA-256. Several inputs or a folder go into one set of\n"
"rows [R, M], in shards of at most --shard-rows rows, with the index\n"
"mapping each input to its rows. decode turns tokens back into vectors,\n"
"latents or images (OUT a folder for several inputs), from all stages or\n"
"the first S; a codebook other than the one the index names is an error.\n"
"stats prints codeword use, perplexity and bits per token per stage, and\n"
"the error of every stage prefix when the inputs can still be read.\n"
"\n"
"Options:\n"
"  --codebook FILE    the codebook (.safetensors, required)\n"
"  -o, --output FILE  encode: the tokens (.npy); decode: the output file\n"
"                     (.npy, or an image for image tokens) or folder\n"
"  --beam B           encode: beam width (default 1, greedy)\n"
"  --dtype T          encode: int32 (default) or uint16 (K <= 65536)\n"
"  --layout L         encode: chw (default for 3-D and 4-D arrays), hwc,\n"
"                     or nd (vectors along the last axis)\n"
"  --shard-rows R     encode: rows per shard (default 16777216)\n"
"  --stages S         decode, stats: use the first S stages (default: all)\n"
"  --threads N        threads (default: all cores; results are the same)\n"
"  --json             print statistics as one JSON object on stdout\n"
"  -q, --quiet        print nothing on success\n"
"  -v, --verbose      progress even when stderr is not a terminal\n"
"  -h, --help         this help\n"
"  --version          print the version\n"
"\n"
"Exit status: 0 success, 1 usage error, 2 bad input data, 3 I/O error.\n");
}

/* ---- codebooks ---------------------------------------------------------- */

/* A codebook and the quantizer over it. */
typedef struct book {
  vq_codebook *cb;
  vq_quantizer *q;
  const char *path;
  char sha[65];
  int stages, pq;
  size_t k, din;         /* din: the vectors' dimension */
  vq_patch_params pp;    /* how its training patches were cut */
  int patches;           /* 1 when trained on image patches */
} book;

/* patch.size, patch.color, patch.mean_removed: image tokens need them. */
static void load_patch_meta(book *b) {
  const char *ps = vq_codebook_meta(b->cb, "patch.size");
  const char *pc = vq_codebook_meta(b->cb, "patch.color");
  const char *pm = vq_codebook_meta(b->cb, "patch.mean_removed");
  int p = ps ? atoi(ps) : 0;
  if (vq_patch_params_init(&b->pp) != 0 || p < 1 || p > 256) return;
  b->pp.patch = p;
  b->pp.color = pc && !strcmp(pc, "rgb") ? VQ_PATCH_RGB : VQ_PATCH_LUMA;
  b->pp.mean_removed = pm && atoi(pm) != 0;
  b->pp.pad = 1;
  b->patches = (size_t)p * (size_t)p *
                   (b->pp.color == VQ_PATCH_RGB ? 3u : 1u) == b->din;
}

static int load_book(book *b, const char *path) {
  vq_diag diag = {{0}};
  uint8_t dig[32];
  int rc = vq_codebook_load(&b->cb, path, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, path);
  b->path = path;
  if ((rc = vq_sha256_file(dig, path, &diag)) < 0)
    return cli_fail(prog, rc, &diag, path);
  vq_sha256_hex(b->sha, dig);
  if ((rc = vq_quantizer_create(&b->q, b->cb, &diag)) < 0) {
    cli_error(prog, "%s: %s", path, diag.msg);
    return VQ_EXIT_DATA;
  }
  b->stages = vq_quantizer_stages(b->q);
  b->k = vq_quantizer_k(b->q);
  b->din = vq_quantizer_dim(b->q);
  b->pq = vq_quantizer_is_product(b->q);
  load_patch_meta(b);
  return 0;
}

/* ---- inputs ------------------------------------------------------------- */

/* One input's vectors [n, d] and the shape of its token grid. */
typedef struct item {
  vq_array *arr;         /* the .npy, when x points into it */
  float *own;            /* or vectors owned here */
  const float *x;
  size_t n;
  int ndim;
  uint64_t grid[VQ_TOKENSET_MAX_GRID], size[VQ_TOKENSET_MAX_GRID];
  const char *source;    /* "vectors", "latent" or "image" */
} item;

static void item_free(item *it) {
  vq_array_destroy(it->arr);
  free(it->own);
  memset(it, 0, sizeof *it);
}

static int load_image_item(const book *b, const char *path, item *it) {
  vq_diag diag = {{0}};
  vq_image *img;
  size_t cnt, dim;
  int rc;
  if (!b->patches) {
    cli_error(prog, "%s: image input needs a codebook trained on image "
              "patches (vqtrain --patch P), and %s was not", path, b->path);
    return VQ_EXIT_DATA;
  }
  if (b->pp.mean_removed) {
    cli_error(prog, "%s: its patches were mean-removed, so its tokens "
              "cannot stand for images", b->path);
    return VQ_EXIT_DATA;
  }
  if ((rc = vq_image_read(&img, path, 0, &diag)) < 0)
    return cli_fail(prog, rc, &diag, path);
  rc = vq_image_patch_count(img, &b->pp, &cnt, &dim);
  if (rc == 0 && !(it->own = malloc(cnt * dim * sizeof(float))))
    rc = VQ_ERR_NOMEM;
  if (rc == 0) rc = vq_image_patches(it->own, img, &b->pp);
  if (rc == 0) {
    it->x = it->own, it->n = cnt, it->ndim = 2, it->source = "image";
    it->size[0] = img->height, it->size[1] = img->width;
    it->grid[0] = (img->height + (uint32_t)b->pp.patch - 1) /
                  (uint32_t)b->pp.patch;
    it->grid[1] = cnt / it->grid[0];
  }
  vq_image_destroy(img);
  return rc < 0 ? cli_fail(prog, rc, NULL, path) : 0;
}

static int load_npy_item(const book *b, const char *path, cli_layout lay,
                         item *it) {
  vq_diag diag = {{0}};
  const uint64_t *sh;
  size_t c, h, w, batch, i;
  int nd, rc = vq_npy_read(&it->arr, path, VQ_DTYPE_F32, NULL, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, path);
  nd = it->arr->ndim, sh = it->arr->shape;
  if (nd < 1 || it->arr->count == 0) {
    cli_error(prog, "%s: an empty array or a scalar", path);
    return VQ_EXIT_DATA;
  }
  if (lay == CLI_LAYOUT_AUTO) lay = nd <= 2 ? CLI_LAYOUT_ND : CLI_LAYOUT_CHW;
  if (lay == CLI_LAYOUT_ND || nd < 3) {
    /* one axis: one vector, or N scalars for a codebook of dimension 1
       (what vqtrain trains such a file as) */
    c = nd == 1 && b->din == 1 ? 1 : (size_t)sh[nd - 1];
    it->n = (size_t)(it->arr->count / c);
    it->ndim = 1, it->grid[0] = it->n, it->source = "vectors";
    it->x = it->arr->data;
  } else if (cli_latent_dims(nd, sh, lay, &batch, &c, &h, &w) < 0) {
    cli_error(prog, "%s: a latent has 3 or 4 axes ([C, H, W] or "
              "[B, C, H, W]), not %d", path, nd);
    return VQ_EXIT_DATA;
  } else {
    int o = nd - 3; /* a batch axis first */
    it->n = batch * h * w, it->source = "latent", it->ndim = nd - 1;
    if (o) it->grid[0] = batch;
    it->grid[o] = h, it->grid[o + 1] = w;
    it->x = it->arr->data;
    if (c == b->din && lay == CLI_LAYOUT_CHW) {
      if (!(it->own = malloc(it->n * c * sizeof *it->own)))
        return cli_fail(prog, VQ_ERR_NOMEM, NULL, path);
      cli_chw_to_rows(it->own, it->arr->data, batch, c, h * w);
      it->x = it->own;
    }
  }
  if (c != b->din) {
    cli_error(prog, "%s: vectors of dimension %zu for a codebook of "
              "dimension %zu", path, c, b->din);
    return VQ_EXIT_DATA;
  }
  for (i = 0; i < it->n * c; i++)
    if (!(it->x[i] - it->x[i] == 0.0f)) {
      cli_error(prog, "%s: value %zu is not finite", path, i);
      return VQ_EXIT_DATA;
    }
  return 0;
}

static int load_item(const book *b, const char *path, cli_layout lay,
                     item *it) {
  int kind = cli_sniff(path);
  memset(it, 0, sizeof *it);
  if (kind < 0) {
    cli_error(prog, "%s: cannot read file", path);
    return VQ_EXIT_IO;
  }
  if (kind == CLI_KIND_IMAGE) return load_image_item(b, path, it);
  if (kind == CLI_KIND_NPY) return load_npy_item(b, path, lay, it);
  cli_error(prog, "%s: not a .npy array or a PNG, JPEG, PPM or PGM image",
            path);
  return VQ_EXIT_DATA;
}

/* ---- file names --------------------------------------------------------- */

/* path without a trailing ".npy" / ".json", then suffix; malloc'd. */
static char *with_suffix(const char *path, const char *suffix) {
  size_t n = strlen(path);
  char *s;
  if (cli_ends_with(path, ".npy")) n -= 4;
  else if (cli_ends_with(path, ".json")) n -= 5;
  if (!(s = malloc(n + strlen(suffix) + 1))) return NULL;
  memcpy(s, path, n);
  strcpy(s + n, suffix);
  return s;
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* ---- encode ------------------------------------------------------------- */

typedef struct enc_opts {
  int beam, threads, json, quiet, verbose, u16;
  cli_layout lay;
  uint64_t shard_rows;
} enc_opts;

/* The rows gathered for the current shard. */
typedef struct shardbuf {
  int32_t *codes;
  size_t rows, cap;      /* in rows */
  int stages;
} shardbuf;

static int shard_append(shardbuf *s, const int32_t *codes, size_t rows) {
  size_t st = (size_t)s->stages;
  if (s->rows + rows > s->cap) {
    size_t nc = (s->rows + rows) * 2;
    int32_t *p = realloc(s->codes, nc * st * sizeof *p);
    if (!p) return VQ_ERR_NOMEM;
    s->codes = p, s->cap = nc;
  }
  memcpy(s->codes + s->rows * st, codes, rows * st * sizeof *codes);
  s->rows += rows;
  return 0;
}

/* Writes codes as int32 or uint16 .npy of the given shape. */
static int write_codes(const char *path, const int32_t *codes, int ndim,
                       const uint64_t *shape, int u16) {
  vq_diag diag = {{0}};
  uint64_t count = 1;
  uint16_t *h = NULL;
  size_t i;
  int a, rc;
  for (a = 0; a < ndim; a++) count *= shape[a];
  if (u16) {
    if (!(h = malloc((count ? count : 1) * sizeof *h)))
      return cli_fail(prog, VQ_ERR_NOMEM, NULL, path);
    for (i = 0; i < count; i++) h[i] = (uint16_t)codes[i];
  }
  rc = vq_npy_write(path, u16 ? VQ_DTYPE_U16 : VQ_DTYPE_I32, ndim, shape,
                    u16 ? (const void *)h : (const void *)codes, &diag);
  free(h);
  return rc < 0 ? cli_fail(prog, rc, &diag, path) : 0;
}

typedef struct encoder {
  const book *b;
  const enc_opts *o;
  const char *out;
  int single;            /* one input: OUT.npy in its own shape */
  vq_tokenset *ts;
  shardbuf sb;
  vq_token_input *pend;  /* inputs of the shard being filled */
  size_t npend, cappend;
  char **written;        /* shard files written so far (removed on error) */
  size_t nwritten;
  double sse;
  uint64_t vectors;
  unsigned char *seen;   /* stages x k: codewords used */
} encoder;

/* OUT-NNNNN.npy for shard i. */
static char *shard_path(const char *out, size_t i) {
  char tail[32], *p;
  snprintf(tail, sizeof tail, "-%05zu.npy", i);
  p = with_suffix(out, tail);
  return p;
}

/* Writes the shard being filled, and files it and its inputs. */
static int flush_shard(encoder *e) {
  const vq_token_input *last = e->npend ? &e->pend[e->npend - 1] : NULL;
  size_t idx = vq_tokenset_shard_count(e->ts), i;
  char *path, **w;
  uint64_t shape[VQ_TOKENSET_MAX_GRID + 1];
  int rc, nd = 2, a;
  path = e->single ? strdup(e->out) : shard_path(e->out, idx);
  if (!path) return cli_fail(prog, VQ_ERR_NOMEM, NULL, e->out);
  if (e->single && last) { /* the input's own shape */
    for (a = 0; a < last->ndim; a++) shape[a] = last->grid[a];
    shape[last->ndim] = (uint64_t)e->b->stages;
    nd = last->ndim + 1;
  } else {
    shape[0] = e->sb.rows, shape[1] = (uint64_t)e->b->stages;
  }
  rc = write_codes(path, e->sb.codes, nd, shape, e->o->u16);
  if (rc == 0 && !(w = realloc(e->written, (e->nwritten + 1) * sizeof *w)))
    rc = cli_fail(prog, VQ_ERR_NOMEM, NULL, path);
  if (rc != 0) {
    free(path);
    return rc;
  }
  e->written = w, e->written[e->nwritten++] = path;
  rc = vq_tokenset_add_shard(e->ts, base_name(path), e->sb.rows, NULL);
  for (i = 0; rc == 0 && i < e->npend; i++) {
    e->pend[i].shard = idx;
    rc = vq_tokenset_add_input(e->ts, &e->pend[i]);
  }
  for (i = 0; i < e->npend; i++) free((char *)e->pend[i].name);
  e->npend = 0, e->sb.rows = 0;
  return rc < 0 ? cli_fail(prog, rc, NULL, e->out) : 0;
}

/* Codes one input and files its rows. */
static int encode_item(encoder *e, const char *name, const item *it) {
  const book *b = e->b;
  size_t st = (size_t)b->stages, i, s;
  int32_t *codes = malloc((it->n ? it->n : 1) * st * sizeof *codes);
  float *err = malloc((it->n ? it->n : 1) * sizeof *err);
  vq_token_input *ti;
  int rc = codes && err ? 0 : VQ_ERR_NOMEM;
  if (rc == 0)
    rc = vq_quantizer_encode(b->q, codes, err, it->x, it->n, e->o->beam,
                             e->o->threads);
  if (rc < 0) {
    free(codes), free(err);
    return cli_fail(prog, rc, NULL, name);
  }
  for (i = 0; i < it->n; i++) e->sse += err[i];
  for (i = 0; i < it->n; i++)
    for (s = 0; s < st; s++) e->seen[s * b->k + (size_t)codes[i * st + s]] = 1;
  e->vectors += it->n;
  free(err);
  if (!e->single && e->sb.rows && e->sb.rows + it->n > e->o->shard_rows &&
      (rc = flush_shard(e)) != 0) {
    free(codes);
    return rc;
  }
  if (e->npend == e->cappend) {
    size_t nc = e->cappend ? 2 * e->cappend : 64;
    vq_token_input *p = realloc(e->pend, nc * sizeof *p);
    if (!p) rc = VQ_ERR_NOMEM;
    else e->pend = p, e->cappend = nc;
  }
  if (rc == 0) rc = shard_append(&e->sb, codes, it->n);
  free(codes);
  if (rc < 0) return cli_fail(prog, rc, NULL, name);
  ti = &e->pend[e->npend];
  memset(ti, 0, sizeof *ti);
  if (!(ti->name = strdup(name))) return cli_fail(prog, VQ_ERR_NOMEM, NULL,
                                                  name);
  ti->row = e->sb.rows - it->n, ti->rows = it->n, ti->ndim = it->ndim;
  memcpy(ti->grid, it->grid, sizeof ti->grid);
  memcpy(ti->size, it->size, sizeof ti->size);
  e->npend++;
  return 0;
}

static int set_attrs(vq_tokenset *ts, const book *b, const item *it,
                     cli_layout lay) {
  char v[32];
  int rc = 0;
  if (!strcmp(it->source, "image")) {
    snprintf(v, sizeof v, "%d", b->pp.patch);
    rc |= vq_tokenset_set_attr(ts, "patch.size", v);
    rc |= vq_tokenset_set_attr(ts, "patch.color", b->pp.color == VQ_PATCH_RGB
                                                      ? "rgb" : "luma");
  } else if (!strcmp(it->source, "latent")) {
    rc |= vq_tokenset_set_attr(ts, "layout", lay == CLI_LAYOUT_HWC ? "hwc"
                                                               : "chw");
  }
  snprintf(v, sizeof v, "%zu", b->din);
  rc |= vq_tokenset_set_attr(ts, "dim", v);
  return rc ? VQ_ERR_NOMEM : VQ_OK;
}

static void print_encode(const encoder *e, size_t ninputs, double secs) {
  const book *b = e->b;
  double mse = e->vectors ? e->sse / ((double)e->vectors * (double)b->din)
                          : 0.0;
  size_t s, c;
  if (e->o->json) {
    printf("{\"inputs\": %zu, \"vectors\": %llu, \"stages\": %d, \"k\": %zu, "
           "\"beam\": %d, \"mse\": %.10g, \"utilization_per_stage\": [",
           ninputs, (unsigned long long)e->vectors, b->stages, b->k,
           e->o->beam, mse);
    for (s = 0; s < (size_t)b->stages; s++) {
      size_t used = 0;
      for (c = 0; c < b->k; c++) used += e->seen[s * b->k + c];
      printf("%s%.6f", s ? ", " : "", (double)used / (double)b->k);
    }
    printf("], \"shards\": %zu, \"seconds\": %.6f}\n",
           vq_tokenset_shard_count(e->ts), secs);
  } else if (!e->o->quiet) {
    fprintf(stderr, "%s: %zu input%s, %llu vectors -> %d tokens each "
            "(K = %zu), mse %.6g, codewords used", e->out, ninputs,
            ninputs == 1 ? "" : "s", (unsigned long long)e->vectors,
            b->stages, b->k, mse);
    for (s = 0; s < (size_t)b->stages; s++) {
      size_t used = 0;
      for (c = 0; c < b->k; c++) used += e->seen[s * b->k + c];
      fprintf(stderr, "%s %.1f%%", s ? "," : "",
              100.0 * (double)used / (double)b->k);
    }
    fputc('\n', stderr);
  }
}

static int cmd_encode(const book *b, char **in, int nin, const char *out,
                      const enc_opts *o) {
  encoder e;
  char **files = NULL, *index = NULL;
  int nf = 0, i, rc, show = cli_show_progress(o->quiet || o->json,
                                              o->verbose);
  double t0 = cli_now();
  size_t j;
  if (b->pq && o->beam > 1) {
    cli_error(prog, "--beam: a product codebook codes each sub-space on "
              "its own");
    return VQ_EXIT_USAGE;
  }
  if (o->u16 && b->k > 65536) {
    cli_error(prog, "--dtype uint16: the codebook has %zu codewords a "
              "stage", b->k);
    return VQ_EXIT_USAGE;
  }
  if (!cli_ends_with(out, ".npy")) {
    cli_error(prog, "-o %s: tokens are written as .npy", out);
    return VQ_EXIT_USAGE;
  }
  if ((rc = cli_expand_images(prog, in, nin, &files, &nf)) != 0) return rc;
  memset(&e, 0, sizeof e);
  e.b = b, e.o = o, e.out = out, e.sb.stages = b->stages;
  e.single = nf == 1 && nin == 1 && cli_sniff(in[0]) != CLI_KIND_DIR;
  if (nf == 0) {
    cli_error(prog, "no inputs (empty folder?)");
    rc = VQ_EXIT_DATA;
    goto done;
  }
  if (!(e.seen = calloc((size_t)b->stages, b->k)) ||
      !(index = with_suffix(out, ".json"))) {
    rc = cli_fail(prog, VQ_ERR_NOMEM, NULL, out);
    goto done;
  }
  for (i = 0; i < nf && rc == 0; i++) {
    item it;
    if (show)
      fprintf(stderr, "\r%s: %d/%d %s\033[K", prog, i + 1, nf,
              base_name(files[i]));
    rc = load_item(b, files[i], o->lay, &it);
    if (rc == 0 && e.ts && strcmp(it.source, vq_tokenset_source(e.ts))) {
      cli_error(prog, "%s: %s, but the inputs before it were %s", files[i],
                it.source, vq_tokenset_source(e.ts));
      rc = VQ_EXIT_DATA;
    }
    if (rc == 0 && !e.ts) {
      rc = vq_tokenset_create(&e.ts, b->sha, base_name(b->path), it.source,
                              o->u16 ? "uint16" : "int32", b->stages, b->k);
      if (rc == 0) rc = set_attrs(e.ts, b, &it, o->lay);
      if (rc < 0) rc = cli_fail(prog, rc, NULL, out);
    }
    if (rc == 0) rc = encode_item(&e, files[i], &it);
    item_free(&it);
  }
  if (show) fputc('\n', stderr);
  if (rc == 0 && (e.sb.rows || e.npend)) rc = flush_shard(&e);
  if (rc == 0) {
    vq_diag diag = {{0}};
    if ((rc = vq_tokenset_write(e.ts, index, &diag)) < 0)
      rc = cli_fail(prog, rc, &diag, index);
  }
  if (rc == 0) print_encode(&e, (size_t)nf, cli_now() - t0);
done:
  for (j = 0; j < e.nwritten; j++) {
    if (rc != 0) remove(e.written[j]);
    free(e.written[j]);
  }
  for (j = 0; j < e.npend; j++) free((char *)e.pend[j].name);
  free(e.written), free(e.pend), free(e.sb.codes), free(e.seen);
  vq_tokenset_destroy(e.ts);
  free(index);
  cli_free_list(files, nf);
  return rc;
}

/* ---- reading tokens back ------------------------------------------------ */

/* The tokens: an index (given, or the sidecar of a .npy) and its shards,
 * or a bare .npy [..., M] without one. */
typedef struct tokens {
  vq_tokenset *ts;       /* NULL for a bare .npy */
  int32_t **shard;       /* rows x stages per shard */
  uint64_t *rows;
  size_t nshards;
  uint64_t grid0;        /* bare .npy: its rows */
} tokens;

static void tokens_free(tokens *t) {
  size_t i;
  for (i = 0; i < t->nshards; i++) free(t->shard[i]);
  free(t->shard), free(t->rows);
  vq_tokenset_destroy(t->ts);
}

/* Reads codes [rows, stages] (any integer .npy of rows * stages values in
 * [0, k)) from path. */
static int read_codes(const book *b, const char *path, int32_t **codes,
                      uint64_t *rows, const char *index) {
  int bare = index == NULL;
  vq_diag diag = {{0}};
  vq_array *a = NULL;
  uint64_t i, st = (uint64_t)b->stages;
  int rc = vq_npy_read(&a, path, VQ_DTYPE_I64, NULL, &diag);
  if (rc < 0) return cli_fail(prog, rc, &diag, path);
  if (a->ndim < 1 || a->shape[a->ndim - 1] != st ||
      (!bare && a->count != *rows * st) || (bare && a->ndim != 2)) {
    if (bare)
      cli_error(prog, "%s: expected tokens [N, %d] for this codebook", path,
                b->stages);
    else
      cli_error(prog, "%s: shard %s should hold %llu rows of %d tokens", index,
                path, (unsigned long long)*rows, b->stages);
    vq_array_destroy(a);
    return VQ_EXIT_DATA;
  }
  *rows = a->count / st;
  if (!(*codes = malloc((a->count ? a->count : 1) * sizeof **codes))) {
    vq_array_destroy(a);
    return cli_fail(prog, VQ_ERR_NOMEM, NULL, path);
  }
  for (i = 0; i < a->count; i++) {
    int64_t v = ((const int64_t *)a->data)[i];
    if (v < 0 || (uint64_t)v >= b->k) {
      cli_error(prog, "%s: token %lld at position %llu is outside [0, %zu)",
                path, (long long)v, (unsigned long long)i, b->k);
      vq_array_destroy(a);
      return VQ_EXIT_DATA;
    }
    (*codes)[i] = (int32_t)v;
  }
  vq_array_destroy(a);
  return 0;
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static int load_tokens(const book *b, const char *path, tokens *t) {
  vq_diag diag = {{0}};
  char *index = NULL;
  size_t i;
  int rc = 0;
  memset(t, 0, sizeof *t);
  if (cli_ends_with(path, ".json")) index = strdup(path);
  else if ((index = with_suffix(path, ".json")) && !file_exists(index))
    free(index), index = NULL;
  if (!index) { /* a bare .npy */
    t->nshards = 1;
    t->shard = calloc(1, sizeof *t->shard);
    t->rows = calloc(1, sizeof *t->rows);
    if (!t->shard || !t->rows) return cli_fail(prog, VQ_ERR_NOMEM, NULL, path);
    return read_codes(b, path, &t->shard[0], &t->rows[0], NULL);
  }
  if ((rc = vq_tokenset_read(&t->ts, index, &diag)) < 0) {
    rc = cli_fail(prog, rc, &diag, index);
    goto done;
  }
  if (strcmp(vq_tokenset_sha256(t->ts), b->sha)) {
    cli_error(prog, "%s: these tokens were made with codebook %s (SHA-256 "
              "%.16s...), not with %s (SHA-256 %.16s...)", index,
              vq_tokenset_codebook_name(t->ts), vq_tokenset_sha256(t->ts),
              b->path, b->sha);
    rc = VQ_EXIT_DATA;
    goto done;
  }
  if (vq_tokenset_stages(t->ts) != b->stages ||
      vq_tokenset_k(t->ts) != b->k) {
    cli_error(prog, "%s: %d x %llu tokens for a codebook of %d x %zu", index,
              vq_tokenset_stages(t->ts),
              (unsigned long long)vq_tokenset_k(t->ts), b->stages, b->k);
    rc = VQ_EXIT_DATA;
    goto done;
  }
  t->nshards = vq_tokenset_shard_count(t->ts);
  t->shard = calloc(t->nshards ? t->nshards : 1, sizeof *t->shard);
  t->rows = calloc(t->nshards ? t->nshards : 1, sizeof *t->rows);
  if (!t->shard || !t->rows) {
    rc = cli_fail(prog, VQ_ERR_NOMEM, NULL, index);
    goto done;
  }
  for (i = 0; i < t->nshards && rc == 0; i++) {
    const char *file;
    char *sp;
    if (vq_tokenset_shard(t->ts, i, &file, &t->rows[i]) < 0 ||
        !(sp = cli_beside(index, file))) {
      rc = cli_fail(prog, VQ_ERR_NOMEM, NULL, index);
      break;
    }
    rc = read_codes(b, sp, &t->shard[i], &t->rows[i], index);
    free(sp);
  }
done:
  free(index);
  return rc;
}

/* Input i of the tokens (a bare .npy is one input of vectors). */
static void token_input(const tokens *t, size_t i, vq_token_input *in) {
  if (t->ts) {
    vq_tokenset_input(t->ts, i, in);
    return;
  }
  memset(in, 0, sizeof *in);
  in->name = "tokens", in->rows = t->rows[0], in->ndim = 1;
  in->grid[0] = in->size[0] = t->rows[0];
}

static size_t token_inputs(const tokens *t) {
  return t->ts ? vq_tokenset_input_count(t->ts) : 1;
}

static const char *token_source(const tokens *t) {
  return t->ts ? vq_tokenset_source(t->ts) : "vectors";
}

/* ---- decode ------------------------------------------------------------- */

/* Writes one input's reconstruction y [rows, din] to path. */
static int write_output(const book *b, const tokens *t,
                        const vq_token_input *in, const float *y,
                        const char *path) {
  vq_diag diag = {{0}};
  const char *src = token_source(t);
  uint64_t shape[VQ_TOKENSET_MAX_GRID + 1];
  int rc, a;
  if (!strcmp(src, "image")) {
    vq_image *img;
    vq_patch_params pp = b->pp;
    const char *ps = vq_tokenset_attr(t->ts, "patch.size");
    if (!b->patches || !ps || atoi(ps) != b->pp.patch || in->ndim != 2 ||
        in->size[0] > UINT32_MAX || in->size[1] > UINT32_MAX) {
      cli_error(prog, "%s: image tokens of %s x %s patches for a codebook "
                "of %d x %d ones", in->name, ps ? ps : "?", ps ? ps : "?",
                b->pp.patch, b->pp.patch);
      return VQ_EXIT_DATA;
    }
    pp.pad = 0, pp.stride = 0;
    rc = vq_image_create(&img, (uint32_t)in->size[1], (uint32_t)in->size[0],
                         pp.color == VQ_PATCH_RGB ? 3 : 1, 8);
    if (rc == 0) rc = vq_image_from_patches(img, y, &pp);
    if (rc == 0) rc = vq_image_write(img, path, &diag);
    vq_image_destroy(img);
    return rc < 0 ? cli_fail(prog, rc, &diag, path) : 0;
  }
  if (!strcmp(src, "latent")) {
    const char *lay = vq_tokenset_attr(t->ts, "layout");
    int hwc = lay && !strcmp(lay, "hwc"), o = in->ndim - 2;
    float *chw = NULL;
    size_t bt = o ? (size_t)in->grid[0] : 1, hw;
    if (in->ndim < 2) {
      cli_error(prog, "%s: a latent's grid needs 2 axes", in->name);
      return VQ_EXIT_DATA;
    }
    hw = (size_t)(in->grid[o] * in->grid[o + 1]);
    if (o) shape[0] = in->grid[0];
    if (hwc) {
      shape[o] = in->grid[o], shape[o + 1] = in->grid[o + 1];
      shape[o + 2] = b->din;
    } else {
      size_t bb, i, j;
      shape[o] = b->din, shape[o + 1] = in->grid[o];
      shape[o + 2] = in->grid[o + 1];
      if (!(chw = malloc((bt * hw != 0 ? bt * hw : 1) * b->din * sizeof *chw)))
        return cli_fail(prog, VQ_ERR_NOMEM, NULL, path);
      for (bb = 0; bb < bt; bb++)
        for (i = 0; i < hw; i++)
          for (j = 0; j < b->din; j++)
            chw[(bb * b->din + j) * hw + i] = y[(bb * hw + i) * b->din + j];
    }
    rc = vq_npy_write(path, VQ_DTYPE_F32, in->ndim + 1, shape,
                      chw ? chw : y, &diag);
    free(chw);
    return rc < 0 ? cli_fail(prog, rc, &diag, path) : 0;
  }
  for (a = 0; a < in->ndim; a++) shape[a] = in->grid[a];
  shape[in->ndim] = b->din;
  rc = vq_npy_write(path, VQ_DTYPE_F32, in->ndim + 1, shape, y, &diag);
  return rc < 0 ? cli_fail(prog, rc, &diag, path) : 0;
}

/* OUT itself for one input, else OUT/<input's base name, its extension
 * .png for images or .npy>. */
static char *output_path(const char *out, const tokens *t,
                         const vq_token_input *in, int many) {
  const char *bn = base_name(in->name), *dot;
  const char *ext = !strcmp(token_source(t), "image") ? ".png" : ".npy";
  size_t n;
  char *p;
  if (!many) return strdup(out);
  dot = strrchr(bn, '.');
  n = dot && dot != bn ? (size_t)(dot - bn) : strlen(bn);
  if (!(p = malloc(strlen(out) + n + 8))) return NULL;
  sprintf(p, "%s/%.*s%s", out, (int)n, bn, ext);
  return p;
}

static int cmd_decode(const book *b, const char *in, const char *out,
                      int use, int threads, int json, int quiet) {
  tokens t;
  size_t i, n, vectors = 0;
  double t0 = cli_now();
  int rc, many;
  if (b->pq && use) {
    cli_error(prog, "--stages: a product codebook needs all its sub-spaces");
    return VQ_EXIT_USAGE;
  }
  if (use == 0) use = b->stages;
  if (use > b->stages) {
    cli_error(prog, "--stages %d: the codebook has %d", use, b->stages);
    return VQ_EXIT_USAGE;
  }
  if ((rc = load_tokens(b, in, &t)) != 0) {
    tokens_free(&t);
    return rc;
  }
  n = token_inputs(&t);
  many = n != 1;
  if (many && mkdir(out, 0777) != 0 && errno != EEXIST) {
    cli_error(prog, "%s: cannot create the folder: %s", out, strerror(errno));
    tokens_free(&t);
    return VQ_EXIT_IO;
  }
  for (i = 0; i < n && rc == 0; i++) {
    vq_token_input ti;
    float *y;
    char *path;
    token_input(&t, i, &ti);
    y = malloc((ti.rows ? ti.rows : 1) * b->din * sizeof *y);
    path = output_path(out, &t, &ti, many);
    if (!y || !path) rc = cli_fail(prog, VQ_ERR_NOMEM, NULL, out);
    if (rc == 0) {
      rc = vq_quantizer_decode(b->q, y,
                               t.shard[ti.shard] + ti.row * (size_t)b->stages,
                               (size_t)ti.rows, use, threads);
      if (rc < 0) rc = cli_fail(prog, rc, NULL, in);
    }
    if (rc == 0) rc = write_output(b, &t, &ti, y, path);
    vectors += (size_t)ti.rows;
    free(y), free(path);
  }
  if (rc == 0 && json)
    printf("{\"inputs\": %zu, \"vectors\": %zu, \"stages_used\": %d, "
           "\"seconds\": %.6f}\n", n, vectors, use, cli_now() - t0);
  else if (rc == 0 && !quiet)
    fprintf(stderr, "%s: %zu vectors of %zu input%s from %d of %d stages\n",
            in, vectors, n, n == 1 ? "" : "s", use, b->stages);
  tokens_free(&t);
  return rc;
}

/* ---- stats -------------------------------------------------------------- */

/* Adds, for every prefix of 1..use stages, the squared error of input
 * ti's reconstruction against the input itself into sse[]; returns 1 when
 * the input cannot be read any more (no error then). */
static int prefix_errors(const book *b, const tokens *t,
                         const vq_token_input *ti, int use, int threads,
                         double *sse) {
  const char *lay = t->ts ? vq_tokenset_attr(t->ts, "layout") : NULL;
  float *y;
  item it;
  size_t i;
  int s, rc;
  if (!t->ts || !file_exists(ti->name)) return 1;
  rc = load_item(b, ti->name, lay && !strcmp(lay, "hwc") ? CLI_LAYOUT_HWC
                              : lay ? CLI_LAYOUT_CHW : CLI_LAYOUT_ND, &it);
  if (rc != 0) return rc;
  if (it.n != ti->rows) {
    cli_error(prog, "%s: %zu vectors now, %llu when it was tokenized",
              ti->name, it.n, (unsigned long long)ti->rows);
    item_free(&it);
    return VQ_EXIT_DATA;
  }
  if (!(y = malloc((it.n ? it.n : 1) * b->din * sizeof *y))) {
    item_free(&it);
    return cli_fail(prog, VQ_ERR_NOMEM, NULL, ti->name);
  }
  for (s = b->pq ? use : 1; s <= use && rc == 0; s++) {
    double e = 0.0;
    rc = vq_quantizer_decode(b->q, y,
                             t->shard[ti->shard] + ti->row * (size_t)b->stages,
                             it.n, (int)s, threads);
    for (i = 0; rc == 0 && i < it.n * b->din; i++) {
      double d = (double)y[i] - it.x[i];
      e += d * d;
    }
    sse[s - 1] += e;
  }
  free(y);
  item_free(&it);
  return rc < 0 ? cli_fail(prog, rc, NULL, ti->name) : 0;
}

static int cmd_stats(const book *b, const char *in, int use, int threads,
                     int json, int quiet) {
  tokens t;
  double sse[VQ_RVQ_MAX_STAGES > VQ_PQ_MAX_M ? VQ_RVQ_MAX_STAGES
                                             : VQ_PQ_MAX_M] = {0};
  uint64_t *cnt = NULL, total = 0, compared = 0;
  size_t i, n, st = (size_t)b->stages, s, c, s0;
  double bits_sum = 0.0;
  int rc, images, have_err = 1;
  (void)quiet;
  if (use == 0 || b->pq) use = b->stages;
  if (use > b->stages) {
    cli_error(prog, "--stages %d: the codebook has %d", use, b->stages);
    return VQ_EXIT_USAGE;
  }
  s0 = b->pq ? (size_t)use - 1 : 0; /* a product needs every sub-space */
  if ((rc = load_tokens(b, in, &t)) != 0) {
    tokens_free(&t);
    return rc;
  }
  images = !strcmp(token_source(&t), "image");
  if (!(cnt = calloc(st * b->k, sizeof *cnt))) {
    tokens_free(&t);
    return cli_fail(prog, VQ_ERR_NOMEM, NULL, in);
  }
  for (i = 0; i < t.nshards; i++) {
    uint64_t r;
    for (r = 0; r < t.rows[i]; r++)
      for (s = 0; s < st; s++) cnt[s * b->k + (size_t)t.shard[i][r * st + s]]++;
    total += t.rows[i];
  }
  n = token_inputs(&t);
  for (i = 0; i < n && rc == 0 && have_err; i++) {
    vq_token_input ti;
    token_input(&t, i, &ti);
    rc = prefix_errors(b, &t, &ti, use, threads, sse);
    if (rc == 1) have_err = 0, rc = 0;
    else compared += ti.rows;
  }
  if (rc != 0) goto done;
  if (json) printf("{\"inputs\": %zu, \"rows\": %llu, \"stages\": %d, "
                   "\"k\": %zu, \"per_stage\": [", n,
                   (unsigned long long)total, b->stages, b->k);
  else printf("%s: %zu input%s, %llu rows of %d tokens (K = %zu, log2 K = "
              "%.2f bits)\n", in, n, n == 1 ? "" : "s",
              (unsigned long long)total, b->stages, b->k, log2((double)b->k));
  for (s = 0; s < st; s++) {
    double h = 0.0;
    size_t used = 0;
    for (c = 0; c < b->k; c++) {
      double q = total ? (double)cnt[s * b->k + c] / (double)total : 0.0;
      used += cnt[s * b->k + c] > 0;
      if (q > 0.0) h -= q * log2(q);
    }
    bits_sum += h;
    if (json)
      printf("%s{\"stage\": %zu, \"used\": %zu, \"utilization\": %.6f, "
             "\"perplexity\": %.4f, \"bits\": %.6f}", s ? ", " : "", s + 1,
             used, (double)used / (double)b->k, pow(2.0, h), h);
    else
      printf("  stage %zu: %zu of %zu codewords used (%.2f%%), perplexity "
             "%.1f, %.3f bits a token\n", s + 1, used, b->k,
             100.0 * (double)used / (double)b->k, pow(2.0, h), h);
  }
  if (json) {
    printf("], \"bits_per_token\": %.6f, \"mse_per_stage\": ",
           st ? bits_sum / (double)st : 0.0);
    if (!have_err || !compared) printf("null");
    for (s = s0; have_err && compared && s < (size_t)use; s++)
      printf("%s%.10g", s > s0 ? ", " : "[",
             sse[s] / ((double)compared * (double)b->din));
    if (have_err && compared) printf("]");
    if (images && have_err && compared) {
      printf(", \"psnr_per_stage\": ");
      for (s = s0; s < (size_t)use; s++)
        printf("%s%.4f", s > s0 ? ", " : "[",
               10.0 * log10(255.0 * 255.0 /
                            fmax(sse[s] / ((double)compared *
                                           (double)b->din), 1e-30)));
      printf("]");
    }
    printf("}\n");
  } else {
    printf("  %.3f bits a token on average (order-0 entropy of each "
           "stage)\n", st ? bits_sum / (double)st : 0.0);
    for (s = s0; have_err && compared && s < (size_t)use; s++) {
      double m = sse[s] / ((double)compared * (double)b->din);
      printf("  stages 1-%zu: mse %.6g", s + 1, m);
      if (images) printf(", PSNR %.2f dB", 10.0 * log10(255.0 * 255.0 /
                                                        fmax(m, 1e-30)));
      putchar('\n');
    }
    if (!have_err || !compared)
      printf("  (no error: the inputs are not at hand)\n");
  }
done:
  free(cnt);
  tokens_free(&t);
  return rc;
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv) {
  static const struct option opts[] = {
    {"codebook", required_argument, 0, 'c'},
    {"output", required_argument, 0, 'o'},
    {"beam", required_argument, 0, 'b'},
    {"dtype", required_argument, 0, 'D'},
    {"layout", required_argument, 0, 'L'},
    {"shard-rows", required_argument, 0, 'R'},
    {"stages", required_argument, 0, 's'},
    {"threads", required_argument, 0, 't'},
    {"json", no_argument, 0, 'j'},
    {"quiet", no_argument, 0, 'q'},
    {"verbose", no_argument, 0, 'v'},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, 'V'},
    {0, 0, 0, 0}
  };
  const char *cbpath = NULL, *out = NULL, *cmd;
  int c, use = 0, rc, encode, stats;
  uint64_t u;
  enc_opts eo;
  book b;
  memset(&eo, 0, sizeof eo);
  eo.beam = 1, eo.shard_rows = (uint64_t)1 << 24;
  if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    usage(stdout);
    return 0;
  }
  if (argc >= 2 && !strcmp(argv[1], "--version")) {
    cli_print_version(prog);
    return 0;
  }
  if (argc < 2 || (strcmp(argv[1], "encode") && strcmp(argv[1], "decode") &&
                   strcmp(argv[1], "stats"))) {
    usage(stderr);
    return VQ_EXIT_USAGE;
  }
  cmd = argv[1];
  encode = !strcmp(cmd, "encode"), stats = !strcmp(cmd, "stats");
  argc--, argv++;
  while ((c = getopt_long(argc, argv, "o:qvh", opts, NULL)) != -1) {
    switch (c) {
      case 'c': cbpath = optarg; break;
      case 'o': out = optarg; break;
      case 'b':
        if (cli_parse_int(prog, "--beam", optarg, 1, VQ_RVQ_MAX_BEAM,
                          &eo.beam))
          return VQ_EXIT_USAGE;
        break;
      case 'D':
        if (!strcmp(optarg, "int32")) eo.u16 = 0;
        else if (!strcmp(optarg, "uint16")) eo.u16 = 1;
        else {
          cli_error(prog, "--dtype: expected int32 or uint16");
          return VQ_EXIT_USAGE;
        }
        break;
      case 'L':
        if (cli_parse_layout(prog, "--layout", optarg, 1, &eo.lay))
          return VQ_EXIT_USAGE;
        break;
      case 'R':
        if (cli_parse_u64(prog, "--shard-rows", optarg, 1, (uint64_t)1 << 40,
                          &u))
          return VQ_EXIT_USAGE;
        eo.shard_rows = u;
        break;
      case 's':
        if (cli_parse_int(prog, "--stages", optarg, 1, VQ_RVQ_MAX_STAGES,
                          &use))
          return VQ_EXIT_USAGE;
        break;
      case 't':
        if (cli_parse_int(prog, "--threads", optarg, 1, 1024, &eo.threads))
          return VQ_EXIT_USAGE;
        break;
      case 'j': eo.json = 1; break;
      case 'q': eo.quiet = 1; break;
      case 'v': eo.verbose++; break;
      case 'h': usage(stdout); return 0;
      case 'V': cli_print_version(prog); return 0;
      default:
        fprintf(stderr, "Try 'vqtok --help'.\n");
        return VQ_EXIT_USAGE;
    }
  }
  if (!cbpath || optind >= argc || (!stats && !out) ||
      (!encode && optind + 1 != argc)) {
    usage(stderr);
    return VQ_EXIT_USAGE;
  }
  memset(&b, 0, sizeof b);
  if ((rc = load_book(&b, cbpath)) != 0) {
    vq_quantizer_destroy(b.q);
    vq_codebook_destroy(b.cb);
    return rc;
  }
  if (encode)
    rc = cmd_encode(&b, argv + optind, argc - optind, out, &eo);
  else if (stats)
    rc = cmd_stats(&b, argv[optind], use, eo.threads, eo.json, eo.quiet);
  else
    rc = cmd_decode(&b, argv[optind], out, use, eo.threads, eo.json,
                    eo.quiet);
  vq_quantizer_destroy(b.q);
  vq_codebook_destroy(b.cb);
  return rc;
}
