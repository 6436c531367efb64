/* The latent codec (stream kind 4): a float tensor quantized with a
 * trained codebook, its token planes range-coded one per item and stage
 * with the entropy coder's neighbour models, a stage's plane also with
 * the class of the previous stage's codeword at each position. */
#include "config.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vq/container.h>
#include <vq/entropy.h>
#include <vq/latentcodec.h>
#include "../image/imageio.h" /* vq_img_fail: "name: message" */

#define HEAD_VERSION 1
#define FLAG_HWC 1u
#define FLAG_PRODUCT 2u
#define FLAG_PREFIX 4u  /* fewer stages coded than the codebook has */
#define FLAG_IMAGE 8u   /* the latent is an image's patches */
#define PREFIX_BYTES 2
#define IMAGE_BYTES 11
#define HEAD_MAX (14 + 8 * 4 + PREFIX_BYTES + IMAGE_BYTES)
#define MAX_STAGES 256
#define MAX_VALUES ((uint64_t)1 << 34) /* floats in a decoded tensor */
#define STAGE_CLASSES 4
#define CLASS_WORK ((uint64_t)1 << 28) /* k * k * dim for stage classes */

typedef struct ranked {
  uint64_t nn;
  uint32_t index;
} ranked;

static int by_nn(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->nn != y->nn) return x->nn < y->nn ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* The class of each of a stage's k codewords (rows of d floats) that the
 * next stage's tokens are coded in: the quarter of the squared distance
 * to its nearest neighbour in the stage it falls in (a codeword in a
 * sparse region leaves larger residuals, and the next stage picks other
 * codewords there). Integer arithmetic on the codewords rounded to 16
 * bits, so that the encoder and the decoder agree on any machine.
 * Returns 1 with the classes, 0 when the stage has none (fewer than 4
 * codewords, more than CLASS_WORK work, a value not finite), or
 * VQ_ERR_NOMEM. */
static int stage_classes(uint8_t *cls, const float *rows, size_t k,
                         size_t d) {
  int32_t *q;
  ranked *r;
  size_t i, j, t;
  float amax = 0.0f;
  int ex = 0;
  if (!rows || k < STAGE_CLASSES || (uint64_t)k * k > CLASS_WORK ||
      (uint64_t)k * k * d > CLASS_WORK)
    return 0;
  for (i = 0; i < k * d; i++) {
    if (!isfinite(rows[i])) return 0;
    if (fabsf(rows[i]) > amax) amax = fabsf(rows[i]);
  }
  q = malloc(k * d * sizeof *q);
  r = malloc(k * sizeof *r);
  if (!q || !r) {
    free(q), free(r);
    return VQ_ERR_NOMEM;
  }
  frexpf(amax, &ex); /* amax < 2^ex: the values round into [-2^15, 2^15] */
  for (i = 0; i < k * d; i++)
    q[i] = (int32_t)floor(ldexp((double)rows[i], 15 - ex) + 0.5);
  for (i = 0; i < k; i++) r[i].nn = UINT64_MAX, r[i].index = (uint32_t)i;
  for (i = 0; i < k; i++)
    for (j = i + 1; j < k; j++) {
      const int32_t *a = q + i * d, *b = q + j * d;
      uint64_t e = 0;
      for (t = 0; t < d; t++) {
        int64_t u = (int64_t)a[t] - b[t];
        e += (uint64_t)(u * u);
      }
      if (e < r[i].nn) r[i].nn = e;
      if (e < r[j].nn) r[j].nn = e;
    }
  qsort(r, k, sizeof *r, by_nn);
  for (i = 0; i < k; i++)
    cls[r[i].index] = (uint8_t)(i * STAGE_CLASSES / k);
  free(q), free(r);
  return 1;
}

/* Each stage's classes, computed when first asked for: state[s] is 0
 * before, 1 when stage s has none, 2 when they are in cls + s k. */
typedef struct class_cache {
  const vq_quantizer *q;
  size_t k;
  uint8_t *cls, *state;
} class_cache;

static int cache_init(class_cache *c, const vq_quantizer *q,
                      size_t nstage) {
  c->q = q;
  c->k = vq_quantizer_k(q);
  /* room for the classes only where a stage can have them */
  c->cls = malloc(nstage * ((uint64_t)c->k * c->k <= CLASS_WORK ? c->k : 1));
  c->state = calloc(nstage, 1);
  return c->cls && c->state ? VQ_OK : VQ_ERR_NOMEM;
}

static void cache_free(class_cache *c) { free(c->cls), free(c->state); }

/* *out: the classes of stage s's codewords, or NULL when it has none. */
static int classes_of(class_cache *c, size_t s, const uint8_t **out) {
  *out = NULL;
  if (!c->state[s]) {
    size_t d = 0;
    const float *rows = vq_quantizer_stage_codewords(c->q, (int)s, &d);
    int rc = (uint64_t)c->k * c->k <= CLASS_WORK
                 ? stage_classes(c->cls + s * c->k, rows, c->k, d)
                 : 0;
    if (rc < 0) return rc;
    c->state[s] = (uint8_t)(rc + 1);
  }
  if (c->state[s] == 2) *out = c->cls + s * c->k;
  return VQ_OK;
}

int vq_latent_params_init_(vq_latent_params *p, uint32_t abi,
                           uint32_t size) {
  if (!p) return VQ_ERR_INVALID_ARG;
  if (abi != VQ_ABI_VERSION || size != sizeof(*p)) return VQ_ERR_ABI;
  memset(p, 0, sizeof *p);
  p->abi_ = abi, p->size_ = size;
  p->beam = 1;
  p->model = VQ_ENTROPY_AUTO;
  return VQ_OK;
}

static void put_le(uint8_t *p, uint64_t v, int bytes) {
  int b;
  for (b = 0; b < bytes; b++) p[b] = (uint8_t)(v >> (8 * b));
}

static uint64_t get_le(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  int b;
  for (b = bytes - 1; b >= 0; b--) v = v << 8 | p[b];
  return v;
}

/* Batch, height, width and channels of a shape in a layout. */
typedef struct dims {
  uint64_t b, h, w, c;
} dims;

static int shape_dims(dims *d, int ndim, const uint64_t *s, int hwc) {
  int o = ndim - 3;
  if (ndim != 3 && ndim != 4) return -1;
  d->b = o ? s[0] : 1;
  d->c = hwc ? s[o + 2] : s[o];
  d->h = hwc ? s[o] : s[o + 1];
  d->w = hwc ? s[o + 1] : s[o + 2];
  return d->b && d->c && d->h && d->w ? 0 : -1;
}

/* Products within limits: n = b h w vectors, n * m tokens, n * c values. */
static int counts(const dims *d, uint64_t m, uint64_t *n) {
  uint64_t hw;
  if (d->h > MAX_VALUES || d->w > MAX_VALUES / d->h) return -1;
  hw = d->h * d->w;
  if (d->b > MAX_VALUES / hw) return -1;
  *n = d->b * hw;
  if (*n > VQ_LATENT_MAX_TOKENS / m || *n > MAX_VALUES / d->c) return -1;
  return 0;
}

/* rows [n, c] from the tensor, or back (dir < 0). */
static void transpose(float *rows, float *x, const dims *d, int hwc,
                      int dir) {
  size_t b, i, j, hw = (size_t)(d->h * d->w), c = (size_t)d->c;
  if (hwc) {
    if (dir > 0) memcpy(rows, x, (size_t)d->b * hw * c * sizeof *rows);
    else memcpy(x, rows, (size_t)d->b * hw * c * sizeof *rows);
    return;
  }
  for (b = 0; b < (size_t)d->b; b++)
    for (j = 0; j < c; j++)
      for (i = 0; i < hw; i++) {
        float *r = rows + (b * hw + i) * c + j, *t = x + (b * c + j) * hw + i;
        if (dir > 0) *r = *t;
        else *t = *r;
      }
}

/* vq_latent_encode(), for an image's patches when im is not NULL (the
 * latent then hwc whatever p says; *sse_out receives the squared error
 * of every value). */
static int encode_core(uint8_t **out, size_t *size, int32_t *tokens,
                       vq_latent_stats *stats, const vq_latent_params *p,
                       const vq_quantizer *q, const float *x, int ndim,
                       const uint64_t *shape, const vq_latent_image *im,
                       float *sse_out, vq_diag *diag) {
  vq_container_writer *w = NULL;
  vq_entropy_params ep;
  vq_latent_stats st;
  uint8_t head[HEAD_MAX], code[32 + 255];
  float *rows = NULL, *err = NULL, *y = NULL;
  int32_t *codes = NULL;
  uint32_t *plane = NULL;
  uint8_t *ctx = NULL;
  class_cache cc = {NULL, 0, NULL, NULL};
  size_t hw, i, namelen = 0, nstage, ncode, b, s, hsize;
  uint64_t n, nv;
  double sse = 0.0;
  dims d;
  int rc, a, hwc;
  if (!out || !size) return VQ_ERR_INVALID_ARG;
  *out = NULL, *size = 0;
  if (!p || p->abi_ != VQ_ABI_VERSION || p->size_ != sizeof(*p) || !q ||
      !x || !shape || !p->codebook_sha256)
    return vq_img_fail(diag, VQ_ERR_INVALID_ARG, "latent", "bad arguments");
  hwc = im ? 1 : p->hwc;
  nstage = (size_t)vq_quantizer_stages(q);
  ncode = p->stages ? (size_t)p->stages : nstage;
  if (p->stages < 0 || ncode > nstage ||
      (vq_quantizer_is_product(q) && ncode != nstage))
    return vq_img_fail(diag, VQ_ERR_INVALID_ARG, "latent",
                       "cannot code %d of the %lu stages of %s codebook",
                       p->stages, (unsigned long)nstage,
                       vq_quantizer_is_product(q) ? "a product" : "this");
  if (shape_dims(&d, ndim, shape, hwc) < 0 || counts(&d, nstage, &n) < 0)
    return vq_img_fail(diag, VQ_ERR_INVALID_ARG, "latent",
                       "a latent has 3 or 4 axes, none empty, and at most "
                       "2^32 tokens");
  if (d.c != vq_quantizer_dim(q))
    return vq_img_fail(diag, VQ_ERR_INVALID_ARG, "latent",
                       "%llu channels for a codebook of dimension %lu",
                       (unsigned long long)d.c,
                       (unsigned long)vq_quantizer_dim(q));
  if (vq_quantizer_k(q) > VQ_ENTROPY_MAX_ALPHABET || nstage > MAX_STAGES)
    return vq_img_fail(diag, VQ_ERR_UNSUPPORTED, "latent",
                       "codebooks of at most %u codewords a stage and %d "
                       "stages", VQ_ENTROPY_MAX_ALPHABET, MAX_STAGES);
  if (p->codebook_name && (namelen = strlen(p->codebook_name)) > 255)
    namelen = 255;
  nv = n * d.c;
  for (i = 0; i < (size_t)nv; i++)
    if (!isfinite(x[i]))
      return vq_img_fail(diag, VQ_ERR_NONFINITE, "latent", "value %lu is not "
                         "finite", (unsigned long)i);
  hw = (size_t)(d.h * d.w);
  rows = malloc((size_t)nv * sizeof *rows);
  err = malloc((size_t)n * sizeof *err);
  codes = malloc((size_t)n * nstage * sizeof *codes);
  plane = malloc(hw * sizeof *plane);
  if (ncode < nstage || sse_out) y = malloc((size_t)nv * sizeof *y);
  ctx = malloc(hw);
  if (!rows || !err || !codes || !plane || !ctx ||
      ((ncode < nstage || sse_out) && !y) || cache_init(&cc, q, nstage) < 0) {
    rc = vq_img_fail(diag, VQ_ERR_NOMEM, "latent", "out of memory");
    goto done;
  }
  transpose(rows, (float *)x, &d, hwc, 1);
  rc = vq_quantizer_encode(q, codes, err, rows, (size_t)n, p->beam,
                           p->nthreads);
  if (rc == 0 && y)
    rc = vq_quantizer_decode(q, y, codes, (size_t)n, (int)ncode,
                             p->nthreads);
  if (rc < 0) {
    rc = vq_img_fail(diag, rc, "latent", "quantization failed");
    goto done;
  }
  if (y) {
    for (i = 0; i < (size_t)nv; i++) {
      float e = (rows[i] - y[i]) * (rows[i] - y[i]);
      if (sse_out) sse_out[i] = e;
      sse += e;
    }
  } else {
    for (i = 0; i < (size_t)n; i++) sse += err[i];
  }
  memset(head, 0, sizeof head);
  head[0] = VQ_KIND_LATENT, head[1] = HEAD_VERSION;
  head[2] = (uint8_t)((hwc ? FLAG_HWC : 0u) |
                      (vq_quantizer_is_product(q) ? FLAG_PRODUCT : 0u) |
                      (ncode < nstage ? FLAG_PREFIX : 0u) |
                      (im ? FLAG_IMAGE : 0u));
  head[3] = (uint8_t)ndim;
  for (a = 0; a < ndim; a++) put_le(head + 4 + 8 * a, shape[a], 8);
  put_le(head + 4 + 8 * ndim, ncode, 2);
  put_le(head + 6 + 8 * ndim, vq_quantizer_k(q), 4);
  put_le(head + 10 + 8 * ndim, d.c, 4);
  hsize = 14 + 8 * (size_t)ndim;
  if (ncode < nstage) put_le(head + hsize, nstage, 2), hsize += PREFIX_BYTES;
  if (im) {
    put_le(head + hsize, im->width, 4);
    put_le(head + hsize + 4, im->height, 4);
    head[hsize + 8] = (uint8_t)im->channels;
    head[hsize + 9] = (uint8_t)(im->patch - 1);
    head[hsize + 10] = (uint8_t)(im->rgb != 0);
    hsize += IMAGE_BYTES;
  }
  memcpy(code, p->codebook_sha256, 32);
  if (namelen) memcpy(code + 32, p->codebook_name, namelen);
  if ((rc = vq_container_writer_create(&w)) < 0 ||
      (rc = vq_container_writer_add(w, "HEAD", head, hsize)) < 0 ||
      (rc = vq_container_writer_add(w, "CODE", code, 32 + namelen)) < 0 ||
      (p->embed && (rc = vq_container_writer_add(w, "BOOK", p->embed,
                                                 p->embed_size)) < 0)) {
    rc = vq_img_fail(diag, rc, "latent", "cannot build the container");
    goto done;
  }
  if ((rc = vq_entropy_params_init(&ep)) < 0) goto done;
  ep.alphabet = (uint32_t)vq_quantizer_k(q);
  ep.width = (size_t)d.w;
  ep.model = p->model;
  memset(&st, 0, sizeof st);
  for (b = 0; b < (size_t)d.b && rc == 0; b++)
    for (s = 0; s < ncode && rc == 0; s++) {
      uint8_t *buf = NULL;
      const uint8_t *c = NULL;
      size_t bytes = 0;
      for (i = 0; i < hw; i++)
        plane[i] = (uint32_t)codes[(b * hw + i) * nstage + s];
      ep.context = NULL, ep.contexts = 0;
      if (s > 0 && (rc = classes_of(&cc, s - 1, &c)) < 0) break;
      if (c) {
        for (i = 0; i < hw; i++)
          ctx[i] = c[codes[(b * hw + i) * nstage + s - 1]];
        ep.context = ctx, ep.contexts = STAGE_CLASSES;
      }
      rc = vq_entropy_encode(&buf, &bytes, NULL, &ep, plane, hw, diag);
      if (rc == 0) rc = vq_container_writer_add(w, "DATA", buf, bytes);
      st.payload_bytes += bytes;
      vq_free(buf);
    }
  if (rc == 0) rc = vq_container_writer_finish(w, out, size);
  if (rc < 0) {
    rc = vq_img_fail(diag, rc, "latent", "cannot code the tokens");
    goto done;
  }
  if (tokens)
    for (i = 0; i < (size_t)n; i++)
      for (s = 0; s < ncode; s++)
        tokens[i * ncode + s] = codes[i * nstage + s];
  st.tokens = n * ncode;
  st.bytes = *size;
  st.bits_per_token = st.tokens ? 8.0 * (double)st.payload_bytes /
                                      (double)st.tokens : 0.0;
  st.log2k = log2((double)vq_quantizer_k(q));
  st.mse = sse / (double)nv;
  if (stats) *stats = st;
done:
  vq_container_writer_destroy(w);
  free(rows), free(err), free(plane), free(codes), free(y);
  free(ctx);
  cache_free(&cc);
  return rc;
}

int vq_latent_encode(uint8_t **out, size_t *size, int32_t *tokens,
                     vq_latent_stats *stats, const vq_latent_params *p,
                     const vq_quantizer *q, const float *x, int ndim,
                     const uint64_t *shape, vq_diag *diag) {
  return encode_core(out, size, tokens, stats, p, q, x, ndim, shape, NULL,
                     NULL, diag);
}

/* ---- reading ------------------------------------------------------------ */

static int head_read(vq_latent_info *in, const vq_chunk *h, const char *name,
                     vq_diag *diag) {
  dims d;
  uint64_t n;
  unsigned flags;
  size_t at;
  int a;
  if (!h || h->size < 4 || h->data[0] != VQ_KIND_LATENT)
    return vq_img_fail(diag, VQ_ERR_FORMAT, name, "not a latent stream");
  if (h->data[1] != HEAD_VERSION)
    return vq_img_fail(diag, VQ_ERR_UNSUPPORTED, name,
                       "latent stream layout %d (this library reads %d)",
                       h->data[1], HEAD_VERSION);
  in->ndim = h->data[3];
  flags = h->data[2];
  at = 14 + 8 * (size_t)in->ndim;
  if ((flags & ~(FLAG_HWC | FLAG_PRODUCT | FLAG_PREFIX | FLAG_IMAGE)) ||
      (in->ndim != 3 && in->ndim != 4) ||
      h->size != at + (flags & FLAG_PREFIX ? PREFIX_BYTES : 0) +
                     (flags & FLAG_IMAGE ? IMAGE_BYTES : 0))
    return vq_img_fail(diag, VQ_ERR_FORMAT, name, "invalid latent header");
  in->hwc = (flags & FLAG_HWC) != 0;
  in->product = (flags & FLAG_PRODUCT) != 0;
  for (a = 0; a < in->ndim; a++) in->shape[a] = get_le(h->data + 4 + 8 * a, 8);
  in->stages = (int)get_le(h->data + 4 + 8 * in->ndim, 2);
  in->k = (uint32_t)get_le(h->data + 6 + 8 * in->ndim, 4);
  in->dim = (uint32_t)get_le(h->data + 10 + 8 * in->ndim, 4);
  in->book_stages = in->stages;
  if (flags & FLAG_PREFIX) {
    in->book_stages = (int)get_le(h->data + at, 2);
    at += PREFIX_BYTES;
    if (in->product || in->book_stages <= in->stages ||
        in->book_stages > MAX_STAGES)
      return vq_img_fail(diag, VQ_ERR_FORMAT, name, "invalid latent header");
  }
  if (in->stages < 1 || in->stages > MAX_STAGES || in->k < 1 ||
      in->k > VQ_ENTROPY_MAX_ALPHABET ||
      shape_dims(&d, in->ndim, in->shape, in->hwc) < 0 || d.c != in->dim)
    return vq_img_fail(diag, VQ_ERR_FORMAT, name, "invalid latent header");
  if (flags & FLAG_IMAGE) {
    vq_latent_image *im = &in->image;
    const uint8_t *e = h->data + at;
    uint64_t p;
    in->is_image = 1;
    im->width = (uint32_t)get_le(e, 4);
    im->height = (uint32_t)get_le(e + 4, 4);
    im->channels = e[8];
    im->patch = e[9] + 1;
    im->rgb = e[10];
    p = (uint64_t)im->patch;
    if (!in->hwc || in->ndim != 3 || im->width < 1 || im->height < 1 ||
        (im->channels != 1 && im->channels != 3) || im->rgb > 1 ||
        (im->channels == 3 && !im->rgb) ||
        in->shape[0] != (im->height + p - 1) / p ||
        in->shape[1] != (im->width + p - 1) / p ||
        in->dim != p * p * (im->rgb ? 3u : 1u))
      return vq_img_fail(diag, VQ_ERR_FORMAT, name, "invalid image header");
  }
  if (counts(&d, (uint64_t)in->book_stages, &n) < 0)
    return vq_img_fail(diag, VQ_ERR_LIMIT, name, "the latent is too large");
  return VQ_OK;
}

static int parse(vq_container **c, vq_latent_info *in, const void *buf,
                 size_t size, const char *name, vq_diag *diag) {
  const vq_chunk *code, *book;
  dims d;
  size_t ndata = 0;
  int rc = vq_container_parse(c, buf, size, 0, NULL, name, diag);
  if (rc < 0) return rc;
  memset(in, 0, sizeof *in);
  if ((rc = head_read(in, vq_container_find(*c, "HEAD", 0), name, diag)) < 0)
    return rc;
  code = vq_container_find(*c, "CODE", 0);
  if (!code)
    return vq_img_fail(diag, VQ_ERR_FORMAT, name,
                       "no codebook reference (CODE)");
  memcpy(in->sha256, code->data, 32);
  memcpy(in->name, code->data + 32, code->size - 32);
  in->name[code->size - 32] = 0;
  if (strlen(in->name) != code->size - 32) in->name[0] = 0;
  if ((book = vq_container_find(*c, "BOOK", 0)) != NULL)
    in->book = book->data, in->book_size = book->size;
  while (vq_container_find(*c, "DATA", ndata)) ndata++;
  shape_dims(&d, in->ndim, in->shape, in->hwc);
  if ((uint64_t)ndata != d.b * (uint64_t)in->stages)
    return vq_img_fail(diag, VQ_ERR_FORMAT, name,
                       "%lu token planes for %llu x %d", (unsigned long)ndata,
                       (unsigned long long)d.b, in->stages);
  return VQ_OK;
}

int vq_latent_info_read(vq_latent_info *info, const void *buf, size_t size,
                        const char *name, vq_diag *diag) {
  vq_container *c = NULL;
  int rc;
  if (!info || !buf) return VQ_ERR_INVALID_ARG;
  if (!name) name = "<memory>";
  rc = parse(&c, info, buf, size, name, diag);
  vq_container_destroy(c);
  return rc;
}

/* vq_latent_decode() of a parsed container c holding in. */
static int decode_parsed(float *out, int32_t *tokens, const vq_quantizer *q,
                         const vq_container *c, vq_latent_info in, int use,
                         int nthreads, const char *name, vq_diag *diag) {
  int32_t *codes = NULL;
  uint32_t *plane = NULL;
  uint8_t *ctx = NULL;
  class_cache cc = {NULL, 0, NULL, NULL};
  float *rows = NULL;
  size_t hw, i, b, s, ns, nb;
  uint64_t n = 0;
  dims d;
  int rc;
  if (in.book_stages != vq_quantizer_stages(q) || in.k != vq_quantizer_k(q) ||
      in.dim != vq_quantizer_dim(q) ||
      in.product != vq_quantizer_is_product(q)) {
    rc = vq_img_fail(diag, VQ_ERR_INVALID_ARG, name,
                     "tokens of %d x %u for %u dimensions, and a codebook of "
                     "%d x %lu for %lu", in.book_stages, in.k, in.dim,
                     vq_quantizer_stages(q),
                     (unsigned long)vq_quantizer_k(q),
                     (unsigned long)vq_quantizer_dim(q));
    goto done;
  }
  if (use == 0) use = in.stages;
  if (use < 1 || use > in.stages || (in.product && use != in.stages)) {
    rc = vq_img_fail(diag, VQ_ERR_INVALID_ARG, name, "cannot decode %d of %d "
                     "stages", use, in.stages);
    goto done;
  }
  shape_dims(&d, in.ndim, in.shape, in.hwc);
  counts(&d, (uint64_t)in.book_stages, &n);
  hw = (size_t)(d.h * d.w), ns = (size_t)in.stages;
  nb = (size_t)in.book_stages;
  codes = calloc((size_t)n * nb, sizeof *codes);
  plane = malloc(hw * sizeof *plane);
  rows = malloc((size_t)n * (size_t)d.c * sizeof *rows);
  ctx = malloc(hw);
  if (!codes || !plane || !rows || !ctx || cache_init(&cc, q, ns) < 0) {
    rc = vq_img_fail(diag, VQ_ERR_NOMEM, name, "out of memory");
    goto done;
  }
  for (b = 0; b < (size_t)d.b; b++)
    for (s = 0; s < ns; s++) {
      const vq_chunk *ch = vq_container_find(c, "DATA", b * ns + s);
      const uint8_t *use_ctx = NULL;
      vq_diag sub;
      memset(&sub, 0, sizeof sub);
      if (s > 0 && ch->size > 0 && ch->data[0] == VQ_ENTROPY_MATCH_CLASS) {
        const uint8_t *cl;
        if ((rc = classes_of(&cc, s - 1, &cl)) < 0) {
          rc = vq_img_fail(diag, rc, name, "out of memory");
          goto done;
        }
        if (!cl) {
          rc = vq_img_fail(diag, VQ_ERR_FORMAT, name, "token plane %lu is "
                           "coded with classes of stage %lu, which has none",
                           (unsigned long)(b * ns + s), (unsigned long)s);
          goto done;
        }
        for (i = 0; i < hw; i++) ctx[i] = cl[codes[(b * hw + i) * nb + s - 1]];
        use_ctx = ctx;
      }
      rc = vq_entropy_decode_context(plane, hw, in.k, (size_t)d.w, use_ctx,
                                     use_ctx ? STAGE_CLASSES : 0, ch->data,
                                     ch->size, &sub);
      if (rc < 0) {
        rc = vq_img_fail(diag, rc, name, "token plane %lu: %s",
                         (unsigned long)(b * ns + s), sub.msg);
        goto done;
      }
      for (i = 0; i < hw; i++) codes[(b * hw + i) * nb + s] = (int32_t)plane[i];
    }
  rc = vq_quantizer_decode(q, rows, codes, (size_t)n, use, nthreads);
  if (rc < 0) {
    rc = vq_img_fail(diag, rc, name, "decoding the tokens failed");
    goto done;
  }
  transpose(rows, out, &d, in.hwc, -1);
  if (tokens)
    for (i = 0; i < (size_t)n; i++)
      for (s = 0; s < ns; s++) tokens[i * ns + s] = codes[i * nb + s];
done:
  free(plane), free(rows), free(codes), free(ctx);
  cache_free(&cc);
  return rc;
}

int vq_latent_decode(float *out, int32_t *tokens, const vq_quantizer *q,
                     const void *buf, size_t size, int use, int nthreads,
                     const char *name, vq_diag *diag) {
  vq_container *c = NULL;
  vq_latent_info in;
  int rc;
  if (!out || !q || !buf) return VQ_ERR_INVALID_ARG;
  if (!name) name = "<memory>";
  rc = parse(&c, &in, buf, size, name, diag);
  if (rc == 0)
    rc = decode_parsed(out, tokens, q, c, in, use, nthreads, name, diag);
  vq_container_destroy(c);
  return rc;
}

/* ---- images as latents of patch tokens ---------------------------------- */

/* The patches an image codebook was trained on, from its metadata. */
static int book_patches(vq_patch_params *pp, const vq_codebook *cb,
                        const vq_quantizer *q, vq_diag *diag) {
  const char *ps = vq_codebook_meta(cb, "patch.size");
  const char *pc = vq_codebook_meta(cb, "patch.color");
  const char *pm = vq_codebook_meta(cb, "patch.mean_removed");
  int p = ps ? atoi(ps) : 0;
  if (vq_patch_params_init(pp) < 0) return VQ_ERR_ABI;
  if (p < 1 || p > 256 || vq_quantizer_is_product(q))
    return vq_img_fail(diag, VQ_ERR_INVALID_ARG, "codebook",
                       "not a codebook of image patches (vqtrain kmeans or "
                       "rvq --patch P)");
  if (pm && atoi(pm) != 0)
    return vq_img_fail(diag, VQ_ERR_INVALID_ARG, "codebook",
                       "its patches were mean-removed, so tokens alone "
                       "cannot give the image back");
  pp->patch = p;
  pp->color = pc && !strcmp(pc, "rgb") ? VQ_PATCH_RGB : VQ_PATCH_LUMA;
  pp->pad = 1;
  if ((size_t)p * (size_t)p * (pp->color == VQ_PATCH_RGB ? 3u : 1u) !=
      vq_quantizer_dim(q))
    return vq_img_fail(diag, VQ_ERR_INVALID_ARG, "codebook",
                       "%d x %d patches do not make its dimension %lu", p, p,
                       (unsigned long)vq_quantizer_dim(q));
  return VQ_OK;
}

int vq_latent_encode_image(uint8_t **out, size_t *size,
                           vq_latent_stats *stats, const vq_latent_params *p,
                           const vq_quantizer *q, const vq_codebook *cb,
                           const vq_image *img, vq_diag *diag) {
  vq_patch_params pp;
  vq_latent_image im;
  uint64_t shape[3];
  size_t count = 0, dim = 0, i, j, x, y, c, nc, ppix;
  float *patches = NULL, *e = NULL;
  double sse = 0.0;
  int rc;
  if (!out || !size) return VQ_ERR_INVALID_ARG;
  *out = NULL, *size = 0;
  if (!img || !q || !cb || !p)
    return vq_img_fail(diag, VQ_ERR_INVALID_ARG, "image", "bad arguments");
  if ((rc = book_patches(&pp, cb, q, diag)) < 0) return rc;
  if ((rc = vq_image_patch_count(img, &pp, &count, &dim)) < 0)
    return vq_img_fail(diag, rc, "image", "cannot cut it into patches");
  memset(&im, 0, sizeof im);
  im.width = img->width, im.height = img->height;
  im.patch = pp.patch, im.rgb = pp.color == VQ_PATCH_RGB;
  im.channels = im.rgb && img->channels >= 3 ? 3 : 1;
  shape[0] = (img->height + (uint32_t)pp.patch - 1) / (uint32_t)pp.patch;
  shape[1] = (img->width + (uint32_t)pp.patch - 1) / (uint32_t)pp.patch;
  shape[2] = dim;
  patches = malloc(count * dim * sizeof *patches);
  e = malloc(count * dim * sizeof *e);
  if (!patches || !e) {
    rc = vq_img_fail(diag, VQ_ERR_NOMEM, "image", "out of memory");
    goto done;
  }
  if ((rc = vq_image_patches(patches, img, &pp)) < 0) {
    rc = vq_img_fail(diag, rc, "image", "cannot cut it into patches");
    goto done;
  }
  rc = encode_core(out, size, NULL, stats, p, q, patches, 3, shape, &im, e,
                   diag);
  if (rc < 0 || !stats) goto done;
  /* the error over the image's own samples, not the completed patches */
  nc = im.rgb ? 3 : 1, ppix = (size_t)pp.patch;
  for (i = 0; i < (size_t)shape[0]; i++)
    for (j = 0; j < (size_t)shape[1]; j++)
      for (y = 0; y < ppix; y++)
        for (x = 0; x < ppix; x++) {
          if (i * ppix + y >= img->height || j * ppix + x >= img->width)
            continue;
          for (c = 0; c < nc; c++)
            sse += e[((i * (size_t)shape[1] + j) * ppix * ppix + y * ppix +
                      x) * nc + c];
        }
  stats->mse = sse / ((double)img->width * img->height * (double)nc);
done:
  free(patches), free(e);
  return rc;
}

int vq_latent_decode_image(vq_image **img, const vq_quantizer *q,
                           const void *buf, size_t size, int use,
                           int nthreads, const char *name, vq_diag *diag) {
  vq_container *c = NULL;
  vq_latent_info in;
  vq_patch_params pp;
  vq_image *rgb = NULL, *out = NULL;
  float *patches = NULL;
  size_t n, i;
  int rc;
  if (!img || !q || !buf) return VQ_ERR_INVALID_ARG;
  *img = NULL;
  if (!name) name = "<memory>";
  if ((rc = parse(&c, &in, buf, size, name, diag)) < 0) goto done;
  if (!in.is_image) {
    rc = vq_img_fail(diag, VQ_ERR_INVALID_ARG, name, "a latent, not an "
                     "image");
    goto done;
  }
  n = (size_t)(in.shape[0] * in.shape[1]) * in.dim; /* checked: < 2^34 */
  if ((rc = vq_patch_params_init(&pp)) < 0) goto done;
  pp.patch = in.image.patch;
  pp.color = in.image.rgb ? VQ_PATCH_RGB : VQ_PATCH_LUMA;
  if (!(patches = malloc(n * sizeof *patches))) {
    rc = vq_img_fail(diag, VQ_ERR_NOMEM, name, "out of memory");
    goto done;
  }
  rc = decode_parsed(patches, NULL, q, c, in, use, nthreads, name, diag);
  if (rc == 0)
    rc = vq_image_create(&rgb, in.image.width, in.image.height,
                         in.image.rgb ? 3 : 1, 8);
  if (rc == 0) rc = vq_image_from_patches(rgb, patches, &pp);
  if (rc < 0) {
    if (!diag || !diag->msg[0])
      vq_img_fail(diag, rc, name, "cannot rebuild the image");
    goto done;
  }
  if (in.image.channels == 1 && in.image.rgb) {
    /* a gray image coded with RGB patches: the mean of the three */
    const uint8_t *s = rgb->pixels;
    uint8_t *d;
    rc = vq_image_create(&out, rgb->width, rgb->height, 1, 8);
    if (rc < 0) goto done;
    d = out->pixels;
    for (i = 0; i < (size_t)rgb->width * rgb->height; i++)
      d[i] = (uint8_t)((s[3 * i] + s[3 * i + 1] + s[3 * i + 2] + 1) / 3);
    vq_image_destroy(rgb);
    rgb = NULL;
  } else {
    out = rgb, rgb = NULL;
  }
  *img = out;
done:
  vq_container_destroy(c);
  vq_image_destroy(rgb);
  free(patches);
  return rc;
}
