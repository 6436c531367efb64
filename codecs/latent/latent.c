/* The latent codec (stream kind 4): a float tensor quantized with a
 * trained codebook, its token planes range-coded one per item and stage
 * with the entropy coder's neighbour models. */
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
#define MAX_STAGES 256
#define MAX_VALUES ((uint64_t)1 << 34) /* floats in a decoded tensor */

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

int vq_latent_encode(uint8_t **out, size_t *size, int32_t *tokens,
                     vq_latent_stats *stats, const vq_latent_params *p,
                     const vq_quantizer *q, const float *x, int ndim,
                     const uint64_t *shape, vq_diag *diag) {
  vq_container_writer *w = NULL;
  vq_entropy_params ep;
  vq_latent_stats st;
  uint8_t head[14 + 8 * 4], code[32 + 255];
  float *rows = NULL, *err = NULL;
  int32_t *codes = NULL;
  uint32_t *plane = NULL;
  size_t hw, i, namelen = 0, nstage, b, s;
  uint64_t n, nv;
  double sse = 0.0;
  dims d;
  int rc, a;
  if (!out || !size) return VQ_ERR_INVALID_ARG;
  *out = NULL, *size = 0;
  if (!p || p->abi_ != VQ_ABI_VERSION || p->size_ != sizeof(*p) || !q ||
      !x || !shape || !p->codebook_sha256)
    return vq_img_fail(diag, VQ_ERR_INVALID_ARG, "latent", "bad arguments");
  nstage = (size_t)vq_quantizer_stages(q);
  if (shape_dims(&d, ndim, shape, p->hwc) < 0 || counts(&d, nstage, &n) < 0)
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
  codes = tokens ? tokens : malloc((size_t)n * nstage * sizeof *codes);
  plane = malloc(hw * sizeof *plane);
  if (!rows || !err || !codes || !plane) {
    rc = vq_img_fail(diag, VQ_ERR_NOMEM, "latent", "out of memory");
    goto done;
  }
  transpose(rows, (float *)x, &d, p->hwc, 1);
  rc = vq_quantizer_encode(q, codes, err, rows, (size_t)n, p->beam,
                           p->nthreads);
  if (rc < 0) {
    rc = vq_img_fail(diag, rc, "latent", "quantization failed");
    goto done;
  }
  for (i = 0; i < (size_t)n; i++) sse += err[i];
  memset(head, 0, sizeof head);
  head[0] = VQ_KIND_LATENT, head[1] = HEAD_VERSION;
  head[2] = (uint8_t)((p->hwc ? FLAG_HWC : 0u) |
                      (vq_quantizer_is_product(q) ? FLAG_PRODUCT : 0u));
  head[3] = (uint8_t)ndim;
  for (a = 0; a < ndim; a++) put_le(head + 4 + 8 * a, shape[a], 8);
  put_le(head + 4 + 8 * ndim, nstage, 2);
  put_le(head + 6 + 8 * ndim, vq_quantizer_k(q), 4);
  put_le(head + 10 + 8 * ndim, d.c, 4);
  memcpy(code, p->codebook_sha256, 32);
  if (namelen) memcpy(code + 32, p->codebook_name, namelen);
  if ((rc = vq_container_writer_create(&w)) < 0 ||
      (rc = vq_container_writer_add(w, "HEAD", head,
                                    14 + 8 * (size_t)ndim)) < 0 ||
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
    for (s = 0; s < nstage && rc == 0; s++) {
      uint8_t *buf = NULL;
      size_t bytes = 0;
      for (i = 0; i < hw; i++)
        plane[i] = (uint32_t)codes[(b * hw + i) * nstage + s];
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
  st.tokens = n * nstage;
  st.bytes = *size;
  st.bits_per_token = st.tokens ? 8.0 * (double)st.payload_bytes /
                                      (double)st.tokens : 0.0;
  st.log2k = log2((double)vq_quantizer_k(q));
  st.mse = sse / (double)nv;
  if (stats) *stats = st;
done:
  vq_container_writer_destroy(w);
  free(rows), free(err), free(plane);
  if (codes != tokens) free(codes);
  return rc;
}

/* ---- reading ------------------------------------------------------------ */

static int head_read(vq_latent_info *in, const vq_chunk *h, const char *name,
                     vq_diag *diag) {
  dims d;
  uint64_t n;
  int a;
  if (!h || h->size < 4 || h->data[0] != VQ_KIND_LATENT)
    return vq_img_fail(diag, VQ_ERR_FORMAT, name, "not a latent stream");
  if (h->data[1] != HEAD_VERSION)
    return vq_img_fail(diag, VQ_ERR_UNSUPPORTED, name,
                       "latent stream layout %d (this library reads %d)",
                       h->data[1], HEAD_VERSION);
  in->ndim = h->data[3];
  if ((h->data[2] & ~(FLAG_HWC | FLAG_PRODUCT)) ||
      (in->ndim != 3 && in->ndim != 4) ||
      h->size != 14 + 8 * (uint32_t)in->ndim)
    return vq_img_fail(diag, VQ_ERR_FORMAT, name, "invalid latent header");
  in->hwc = (h->data[2] & FLAG_HWC) != 0;
  in->product = (h->data[2] & FLAG_PRODUCT) != 0;
  for (a = 0; a < in->ndim; a++) in->shape[a] = get_le(h->data + 4 + 8 * a, 8);
  in->stages = (int)get_le(h->data + 4 + 8 * in->ndim, 2);
  in->k = (uint32_t)get_le(h->data + 6 + 8 * in->ndim, 4);
  in->dim = (uint32_t)get_le(h->data + 10 + 8 * in->ndim, 4);
  if (in->stages < 1 || in->stages > MAX_STAGES || in->k < 1 ||
      in->k > VQ_ENTROPY_MAX_ALPHABET ||
      shape_dims(&d, in->ndim, in->shape, in->hwc) < 0 || d.c != in->dim)
    return vq_img_fail(diag, VQ_ERR_FORMAT, name, "invalid latent header");
  if (counts(&d, (uint64_t)in->stages, &n) < 0)
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

int vq_latent_decode(float *out, int32_t *tokens, const vq_quantizer *q,
                     const void *buf, size_t size, int use, int nthreads,
                     const char *name, vq_diag *diag) {
  vq_container *c = NULL;
  vq_latent_info in;
  int32_t *codes = NULL;
  uint32_t *plane = NULL;
  float *rows = NULL;
  size_t hw, i, b, s, ns;
  uint64_t n = 0;
  dims d;
  int rc;
  if (!out || !q || !buf) return VQ_ERR_INVALID_ARG;
  if (!name) name = "<memory>";
  if ((rc = parse(&c, &in, buf, size, name, diag)) < 0) goto done;
  if (in.stages != vq_quantizer_stages(q) || in.k != vq_quantizer_k(q) ||
      in.dim != vq_quantizer_dim(q) ||
      in.product != vq_quantizer_is_product(q)) {
    rc = vq_img_fail(diag, VQ_ERR_INVALID_ARG, name,
                     "tokens of %d x %u for %u dimensions, and a codebook of "
                     "%d x %lu for %lu", in.stages, in.k, in.dim,
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
  counts(&d, (uint64_t)in.stages, &n);
  hw = (size_t)(d.h * d.w), ns = (size_t)in.stages;
  codes = tokens ? tokens : malloc((size_t)n * ns * sizeof *codes);
  plane = malloc(hw * sizeof *plane);
  rows = malloc((size_t)n * (size_t)d.c * sizeof *rows);
  if (!codes || !plane || !rows) {
    rc = vq_img_fail(diag, VQ_ERR_NOMEM, name, "out of memory");
    goto done;
  }
  for (b = 0; b < (size_t)d.b; b++)
    for (s = 0; s < ns; s++) {
      const vq_chunk *ch = vq_container_find(c, "DATA", b * ns + s);
      vq_diag sub;
      memset(&sub, 0, sizeof sub);
      rc = vq_entropy_decode(plane, hw, in.k, (size_t)d.w, ch->data,
                             ch->size, &sub);
      if (rc < 0) {
        rc = vq_img_fail(diag, rc, name, "token plane %lu: %s",
                         (unsigned long)(b * ns + s), sub.msg);
        goto done;
      }
      for (i = 0; i < hw; i++) codes[(b * hw + i) * ns + s] = (int32_t)plane[i];
    }
  rc = vq_quantizer_decode(q, rows, codes, (size_t)n, use, nthreads);
  if (rc < 0) {
    rc = vq_img_fail(diag, rc, name, "decoding the tokens failed");
    goto done;
  }
  transpose(rows, out, &d, in.hwc, -1);
done:
  vq_container_destroy(c);
  free(plane), free(rows);
  if (codes != tokens) free(codes);
  return rc;
}
