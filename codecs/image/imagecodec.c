/* Images to .vq files and back (stream kind 3).
 *
 * RGB becomes YCbCr (BT.601, full range), chroma optionally halved both
 * ways (4:2:0). Each plane is cut into 8 x 8 blocks coded by blockcode.c.
 * The image is split into stripes of whole block rows ("tiles"); each
 * tile is one range-coded DATA chunk with its own models, so tiles are
 * coded and decoded in parallel and the stream does not depend on the
 * thread count. Alpha, when present, is coded losslessly as an index
 * stream (entropy.h) in a last DATA chunk. doc/format.md has the bytes. */
#include "config.h"
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <vq/container.h>
#include <vq/entropy.h>
#include <vq/imagecodec.h>
#include "codec_priv.h"
#include "imageio.h"

#define HEAD_VERSION 1
#define HEAD_SIZE (16 + 8 * (1 + IC_BANDS) + 8)
#define TILE_ROWS 256            /* luma rows per tile (a multiple of 16) */
#define MAX_TILES 16384

int vq_image_enc_params_init_(vq_image_enc_params *p, uint32_t abi,
                              uint32_t size) {
  if (abi != VQ_ABI_VERSION || size != sizeof(*p)) return VQ_ERR_ABI;
  memset(p, 0, sizeof *p);
  p->abi_ = abi;
  p->size_ = size;
  p->quality = 75.0f;
  return VQ_OK;
}

/* ---- stream geometry ---------------------------------------------------- */

typedef struct geometry {
  uint32_t width, height;
  int channels;       /* of the image: 1 to 4 */
  int planes;         /* 1 (gray) or 3 */
  int sub;            /* 1 for 4:2:0 */
  uint32_t tile_rows; /* luma rows per tile */
  uint32_t tiles;
  uint32_t pw[3], ph[3];  /* plane sizes */
  uint32_t bw[3], bh[3];  /* plane sizes in blocks */
  ic_quant quant[2];      /* luma, chroma */
  float quality;
  int deblock;            /* deblocking strength in 1/16, 0: off */
} geometry;

static void geometry_layout(geometry *g) {
  int p;
  g->planes = g->channels >= 3 ? 3 : 1;
  g->tiles = (g->height + g->tile_rows - 1) / g->tile_rows;
  for (p = 0; p < 3; p++) {
    int s = p > 0 && g->sub;
    g->pw[p] = s ? (g->width + 1) / 2 : g->width;
    g->ph[p] = s ? (g->height + 1) / 2 : g->height;
    g->bw[p] = (g->pw[p] + 7) / 8;
    g->bh[p] = (g->ph[p] + 7) / 8;
  }
}

/* Block rows of plane p in tile t: [*r0, *r1). */
static void tile_rows(const geometry *g, int p, uint32_t t, uint32_t *r0,
                      uint32_t *r1) {
  uint32_t per = g->tile_rows / 8 / (p > 0 && g->sub ? 2 : 1);
  *r0 = t * per;
  *r1 = *r0 + per < g->bh[p] ? *r0 + per : g->bh[p];
  if (*r0 > *r1) *r0 = *r1;
}

/* Encoder settings; a build with -DIC_TUNE reads each from the
 * environment variable named (for tuning runs only). */
#ifdef IC_TUNE
#include <stdlib.h>
static double tune(const char *name, double def) {
  const char *v = getenv(name);
  return v ? atof(v) : def;
}
#else
#define tune(name, def) (def)
#endif

/* Quantizer steps and encoder choices for a quality in [0, 100]. The
 * base step follows libjpeg's quality scaling (5000 / q below 50,
 * 200 - 2 q above), so that a quality gives roughly the file size JPEG
 * gives it. Chroma steps are 2.6 times coarser; DC steps half the base,
 * the first two bands 0.72 and 0.82 of it (the coarse scales of MS-SSIM
 * see those), the later bands 5% coarser each. Flat luma blocks take
 * steps 0.75 times the base, busy ones 1.3 times. Tuned on Kodak images
 * 1-4 and checked on 13-24 for PSNR-Y and MS-SSIM together. */
static void quant_for_quality(geometry *g, float quality) {
  double band_scale[IC_BANDS] = {1.0, 1.0, 1.0, 1.05, 1.15};
  double qq = quality < 1.0f ? 1.0 : quality, sc, q;
  double lam = tune("VQT_LAMBDA", 0.09), chroma = tune("VQT_CHROMA", 2.6);
  double dcs = tune("VQT_DC", 0.5), tilt = tune("VQT_TILT", 0.05);
  int t, b;
  sc = qq < 50.0 ? 5000.0 / qq : 200.0 - 2.0 * qq;
  if (sc < 1.0) sc = 1.0;
  q = tune("VQT_BASE", 26.0) * sc / 100.0;
  for (b = 0; b < IC_BANDS; b++) band_scale[b] *= 1.0 + tilt * b;
  band_scale[0] *= tune("VQT_B0", 0.72);
  band_scale[1] *= tune("VQT_B1", 0.82);
  for (t = 0; t < 2; t++) {
    double s = t ? chroma * q : q;
    g->quant[t].dc = (float)(s * dcs);
    for (b = 0; b < IC_BANDS; b++)
      g->quant[t].band[b] = (float)(s * band_scale[b]);
    g->quant[t].lambda = (float)(lam * s * s);
    g->quant[t].energy = (float)tune("VQT_ENERGY", 0.0);
    g->quant[t].masking = t ? 0.0f : (float)tune("VQT_MASK", 0.35);
    g->quant[t].beta = t ? 1.0f : (float)tune("VQT_BETA", 1.0);
    g->quant[t].beta = roundf(g->quant[t].beta * 16.0f) / 16.0f;
    g->quant[t].aq = t ? 0 : (int)tune("VQT_AQ", 1.0);
    g->quant[t].aq_scale[0] = roundf((float)tune("VQT_AQ0", 0.75) * 128.0f) /
                              128.0f;
    g->quant[t].aq_scale[1] = 1.0f;
    g->quant[t].aq_scale[2] = roundf((float)tune("VQT_AQ2", 1.3) * 64.0f) /
                              64.0f;
    g->quant[t].aq_lo = (float)tune("VQT_AQLO", 0.3);
    g->quant[t].aq_hi = (float)tune("VQT_AQHI", 3.0);
  }
  g->quality = quality;
  g->deblock = (int)tune("VQT_DEBLOCK", 16.0);
}

static void put_u32(uint8_t *p, uint32_t u) {
  p[0] = (uint8_t)u, p[1] = (uint8_t)(u >> 8);
  p[2] = (uint8_t)(u >> 16), p[3] = (uint8_t)(u >> 24);
}

static void put_f32(uint8_t *p, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  put_u32(p, u);
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static float get_f32(const uint8_t *p) {
  uint32_t u = get_u32(p);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static void head_write(uint8_t *h, const geometry *g) {
  uint32_t q100 = (uint32_t)lrintf(g->quality * 100.0f);
  int t, b, o = 16;
  memset(h, 0, HEAD_SIZE);
  h[0] = VQ_KIND_IMAGE, h[1] = HEAD_VERSION;
  h[2] = (uint8_t)g->channels, h[3] = (uint8_t)g->sub;
  put_u32(h + 4, g->width);
  put_u32(h + 8, g->height);
  h[12] = (uint8_t)g->tile_rows, h[13] = (uint8_t)(g->tile_rows >> 8);
  h[14] = (uint8_t)q100, h[15] = (uint8_t)(q100 >> 8);
  for (t = 0; t < 2; t++) {
    put_f32(h + o, g->quant[t].dc);
    o += 4;
    for (b = 0; b < IC_BANDS; b++, o += 4) put_f32(h + o, g->quant[t].band[b]);
  }
  h[o] = (uint8_t)g->deblock;
  h[o + 1] = (uint8_t)lrintf(g->quant[0].beta * 16.0f);
  h[o + 2] = (uint8_t)lrintf(g->quant[1].beta * 16.0f);
  for (t = 0; t < 2; t++) {
    h[o + 4 + 2 * t] = (uint8_t)(g->quant[t].aq ?
        lrintf(g->quant[t].aq_scale[0] * 128.0f) : 0);
    h[o + 5 + 2 * t] = (uint8_t)(g->quant[t].aq ?
        lrintf(g->quant[t].aq_scale[2] * 64.0f) : 0);
  }
}

static int step_ok(float s) { return s >= 1e-3f && s <= 1e6f; }

static int head_read(geometry *g, const uint8_t *h, size_t size,
                     const char *name, vq_diag *diag) {
  int t, b, o = 16;
  if (size != HEAD_SIZE || h[0] != VQ_KIND_IMAGE)
    return vq_img_fail(diag, VQ_ERR_FORMAT, name, "not an image stream "
                       "(HEAD of %lu bytes, kind %d)", (unsigned long)size,
                       size ? h[0] : -1);
  if (h[1] != HEAD_VERSION)
    return vq_img_fail(diag, VQ_ERR_UNSUPPORTED, name, "image stream "
                       "version %d (this decoder reads %d)", h[1],
                       HEAD_VERSION);
  memset(g, 0, sizeof *g);
  g->channels = h[2], g->sub = h[3];
  g->width = get_u32(h + 4), g->height = get_u32(h + 8);
  g->tile_rows = (uint32_t)h[12] | (uint32_t)h[13] << 8;
  g->quality = (float)((uint32_t)h[14] | (uint32_t)h[15] << 8) / 100.0f;
  if (g->channels < 1 || g->channels > 4 || g->sub > 1 ||
      (g->sub && g->channels < 3) || g->tile_rows < 16 ||
      g->tile_rows % 16 || g->quality > 100.0f)
    return vq_img_fail(diag, VQ_ERR_FORMAT, name, "invalid image header");
  for (t = 0; t < 2; t++) {
    g->quant[t].dc = get_f32(h + o);
    o += 4;
    if (!step_ok(g->quant[t].dc))
      return vq_img_fail(diag, VQ_ERR_FORMAT, name, "invalid quantizer");
    for (b = 0; b < IC_BANDS; b++, o += 4) {
      g->quant[t].band[b] = get_f32(h + o);
      if (!step_ok(g->quant[t].band[b]))
        return vq_img_fail(diag, VQ_ERR_FORMAT, name, "invalid quantizer");
    }
  }
  g->deblock = h[o];
  if (h[o + 1] < 16 || h[o + 1] > 64 || h[o + 2] < 16 || h[o + 2] > 64 ||
      h[o + 3])
    return vq_img_fail(diag, VQ_ERR_FORMAT, name, "invalid image header");
  g->quant[0].beta = h[o + 1] / 16.0f;
  g->quant[1].beta = h[o + 2] / 16.0f;
  for (t = 0; t < 2; t++) {
    uint8_t lo = h[o + 4 + 2 * t], hi = h[o + 5 + 2 * t];
    g->quant[t].aq = lo != 0;
    if ((lo == 0) != (hi == 0) || lo > 128 || (hi && hi < 64))
      return vq_img_fail(diag, VQ_ERR_FORMAT, name, "invalid image header");
    g->quant[t].aq_scale[0] = lo / 128.0f;
    g->quant[t].aq_scale[1] = 1.0f;
    g->quant[t].aq_scale[2] = hi / 64.0f;
  }
  if (g->width < 1 || g->height < 1)
    return vq_img_fail(diag, VQ_ERR_FORMAT, name, "image of %lu x %lu "
                       "pixels", (unsigned long)g->width,
                       (unsigned long)g->height);
  /* what the encoder codes at most; the block and tile counts below must
     not wrap */
  if ((uint64_t)g->width * g->height > ((uint64_t)1 << 32) ||
      g->width > (1u << 30) || g->height > (1u << 28))
    return vq_img_fail(diag, VQ_ERR_LIMIT, name, "image of %lu x %lu "
                       "pixels is beyond the format's limits",
                       (unsigned long)g->width, (unsigned long)g->height);
  geometry_layout(g);
  if (g->tiles > MAX_TILES)
    return vq_img_fail(diag, VQ_ERR_FORMAT, name, "%lu tiles (at most %d)",
                       (unsigned long)g->tiles, MAX_TILES);
  return VQ_OK;
}

int vq_image_info_parse(vq_image_info *info, const void *head, size_t size,
                        vq_diag *diag) {
  geometry g;
  int rc = head_read(&g, head, size, "HEAD", diag);
  if (rc < 0) return rc;
  info->width = g.width, info->height = g.height;
  info->channels = g.channels;
  info->subsample = g.sub ? 420 : 444;
  info->quality = g.quality;
  info->tiles = g.tiles;
  return VQ_OK;
}

/* ---- colour ------------------------------------------------------------ */

/* A sample of img scaled to [0, 255]. */
static float sample(const vq_image *img, size_t i) {
  return img->depth == 16 ? ((const uint16_t *)img->pixels)[i] / 257.0f
                          : ((const uint8_t *)img->pixels)[i];
}

/* Planes at full resolution: Y, Cb, Cr (or Y alone), each w * h. */
static void to_ycbcr(const vq_image *img, float **pl, int planes, int nt) {
  long n = (long)img->width * img->height, i;
  int c = img->channels;
  (void)nt;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
  for (i = 0; i < n; i++) {
    if (planes == 1) {
      pl[0][i] = sample(img, i * c);
    } else {
      float r = sample(img, i * c), g = sample(img, i * c + 1),
            b = sample(img, i * c + 2);
      pl[0][i] = 0.299f * r + 0.587f * g + 0.114f * b;
      pl[1][i] = -0.168736f * r - 0.331264f * g + 0.5f * b + 128.0f;
      pl[2][i] = 0.5f * r - 0.418688f * g - 0.081312f * b + 128.0f;
    }
  }
}

/* Halves a w x h plane both ways (2 x 2 means, edges replicated). */
static void downsample(const float *src, uint32_t w, uint32_t h,
                       float *dst) {
  uint32_t dw = (w + 1) / 2, dh = (h + 1) / 2, x, y;
  for (y = 0; y < dh; y++) {
    uint32_t y0 = 2 * y, y1 = 2 * y + 1 < h ? 2 * y + 1 : h - 1;
    for (x = 0; x < dw; x++) {
      uint32_t x0 = 2 * x, x1 = 2 * x + 1 < w ? 2 * x + 1 : w - 1;
      dst[(size_t)y * dw + x] =
          0.25f * (src[(size_t)y0 * w + x0] + src[(size_t)y0 * w + x1] +
                   src[(size_t)y1 * w + x0] + src[(size_t)y1 * w + x1]);
    }
  }
}

/* Doubles a plane of sw x sh (stride ss) to w x h, each output sample
 * 3/4 of the nearer and 1/4 of the farther source sample per axis. */
static void upsample(const float *src, uint32_t sw, uint32_t sh, size_t ss,
                     float *dst, uint32_t w, uint32_t h, int nt) {
  long yy;
  (void)nt;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
  for (yy = 0; yy < (long)h; yy++) {
    uint32_t y = (uint32_t)yy, ya = y / 2, yb, x;
    float *out = dst + (size_t)y * w;
    if (y & 1) yb = ya + 1 < sh ? ya + 1 : ya;
    else yb = ya > 0 ? ya - 1 : 0;
    for (x = 0; x < w; x++) {
      uint32_t xa = x / 2, xb;
      if (x & 1) xb = xa + 1 < sw ? xa + 1 : xa;
      else xb = xa > 0 ? xa - 1 : 0;
      out[x] = 0.5625f * src[ya * ss + xa] + 0.1875f * src[ya * ss + xb] +
               0.1875f * src[yb * ss + xa] + 0.0625f * src[yb * ss + xb];
    }
  }
}

static uint8_t clamp8(float v) {
  return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)(v + 0.5f);
}

/* ---- tiles -------------------------------------------------------------- */

typedef struct tile_out {
  const uint8_t *data;
  size_t size;
  vq_rc_enc enc;
  int rc;
} tile_out;

/* Fetches block (bx, by) of a plane of w x h (edges replicated), level
 * shifted by 128. */
static void fetch_block(const float *pl, uint32_t w, uint32_t h, uint32_t bx,
                        uint32_t by, float *blk) {
  int i, j;
  for (i = 0; i < 8; i++) {
    uint32_t y = by * 8 + i < h ? by * 8 + i : h - 1;
    for (j = 0; j < 8; j++) {
      uint32_t x = bx * 8 + j < w ? bx * 8 + j : w - 1;
      blk[i * 8 + j] = pl[(size_t)y * w + x] - 128.0f;
    }
  }
}

static void nbr_of(ic_nbr *nb, const ic_block *row, const ic_block *prev,
                   uint32_t bx) {
  nb->left = bx ? &row[bx - 1] : NULL;
  nb->up = prev ? &prev[bx] : NULL;
  nb->upleft = prev && bx ? &prev[bx - 1] : NULL;
}

static int encode_tile(tile_out *out, const geometry *g, float *const *pl,
                       const ic_dct *dct, const ic_costs *costs, uint32_t t) {
  ic_models *m = malloc(2 * sizeof *m);
  ic_block *rows = NULL;
  int p;
  vq_rc_enc_init(&out->enc);
  if (m) rows = malloc(2 * (size_t)g->bw[0] * sizeof *rows);
  if (!m || !rows) {
    free(m);
    return VQ_ERR_NOMEM;
  }
  ic_models_init(&m[0], 0);
  ic_models_init(&m[1], 1);
#ifdef IC_TRAIN
  ic_train_begin(m);
#endif
  for (p = 0; p < g->planes; p++) {
    uint32_t r0, r1, by, bx, bw = g->bw[p];
    ic_block *cur = rows, *prev = NULL;
    tile_rows(g, p, t, &r0, &r1);
    for (by = r0; by < r1; by++) {
      for (bx = 0; bx < bw; bx++) {
        float blk[64], coef[64];
        ic_nbr nb;
        fetch_block(pl[p], g->pw[p], g->ph[p], bx, by, blk);
        ic_dct_forward(dct, blk, coef);
        nbr_of(&nb, cur, prev, bx);
        ic_encode_block(&out->enc, &m[p > 0], &g->quant[p > 0], costs, coef,
                        &nb, &cur[bx], NULL);
      }
      prev = cur;
      cur = cur == rows ? rows + bw : rows;
    }
  }
  free(rows);
  free(m);
  return vq_rc_enc_finish(&out->enc, &out->data, &out->size);
}

static int alpha_encode(uint8_t **out, size_t *size, const vq_image *img) {
  size_t n = (size_t)img->width * img->height, i;
  uint32_t *a = malloc(n * sizeof *a);
  vq_entropy_params ep;
  int c = img->channels, rc;
  if (!a) return VQ_ERR_NOMEM;
  for (i = 0; i < n; i++)
    a[i] = img->depth == 16
               ? (uint32_t)clamp8(((const uint16_t *)img->pixels)[i * c + c - 1]
                                  / 257.0f)
               : ((const uint8_t *)img->pixels)[i * c + c - 1];
  rc = vq_entropy_params_init(&ep);
  ep.alphabet = 256;
  ep.width = img->width;
  if (rc == VQ_OK) rc = vq_entropy_encode(out, size, NULL, &ep, a, n, NULL);
  free(a);
  return rc;
}

static int check_enc_args(const vq_image *img, const vq_image_enc_params *p,
                          vq_diag *diag) {
  if (!p || p->abi_ != VQ_ABI_VERSION || p->size_ != sizeof(*p))
    return vq_img_fail(diag, VQ_ERR_ABI, "vq_image_encode", "parameters "
                       "not set up by vq_image_enc_params_init()");
  if (!img || !img->pixels || img->width < 1 || img->height < 1 ||
      img->channels < 1 || img->channels > 4 ||
      (img->depth != 8 && img->depth != 16))
    return vq_img_fail(diag, VQ_ERR_INVALID_ARG, "vq_image_encode",
                       "invalid image");
  if ((uint64_t)img->width * img->height > ((uint64_t)1 << 32) ||
      img->width > (1u << 30) || img->height > (1u << 28))
    return vq_img_fail(diag, VQ_ERR_LIMIT, "vq_image_encode", "image of "
                       "%lu x %lu pixels is too large to code",
                       (unsigned long)img->width, (unsigned long)img->height);
  if (!(p->quality >= 0.0f && p->quality <= 100.0f))
    return vq_img_fail(diag, VQ_ERR_INVALID_ARG, "vq_image_encode",
                       "quality %g outside [0, 100]", (double)p->quality);
  if (p->subsample != 0 && p->subsample != 420 && p->subsample != 444)
    return vq_img_fail(diag, VQ_ERR_INVALID_ARG, "vq_image_encode",
                       "subsampling %d (420 or 444)", p->subsample);
  return VQ_OK;
}

int vq_image_encode(uint8_t **out, size_t *out_size, const vq_image *img,
                    const vq_image_enc_params *p, vq_diag *diag) {
  geometry g;
  float *pl[3] = {NULL, NULL, NULL}, *full[3] = {NULL, NULL, NULL};
  uint8_t head[HEAD_SIZE], *alpha = NULL;
  size_t alpha_size = 0, n;
  tile_out *tiles = NULL;
  ic_costs *costs = NULL;
  ic_dct *dct = NULL;
  vq_container_writer *w = NULL;
  int rc, i, pi, nt;
  *out = NULL;
  *out_size = 0;
  if ((rc = check_enc_args(img, p, diag)) < 0) return rc;
  memset(&g, 0, sizeof g);
  g.width = img->width, g.height = img->height;
  g.channels = img->channels;
  g.sub = img->channels >= 3 &&
          (p->subsample == 420 || (p->subsample == 0 && p->quality < 90.0f));
  g.tile_rows = (uint32_t)tune("VQT_TILE", TILE_ROWS);
  while ((g.height + g.tile_rows - 1) / g.tile_rows > MAX_TILES)
    g.tile_rows *= 2;
  quant_for_quality(&g, p->quality);
  geometry_layout(&g);
  n = (size_t)g.width * g.height;
  rc = VQ_ERR_NOMEM;
  for (pi = 0; pi < g.planes; pi++)
    if (!(full[pi] = malloc(n * sizeof **full))) goto done;
  nt = p->threads > 0 ? p->threads : 0;
#ifdef _OPENMP
  if (nt <= 0) nt = omp_get_max_threads();
#endif
  to_ycbcr(img, full, g.planes, nt);
  for (pi = 0; pi < g.planes; pi++) {
    if (pi > 0 && g.sub) {
      if (!(pl[pi] = malloc((size_t)g.pw[pi] * g.ph[pi] * sizeof **pl)))
        goto done;
      downsample(full[pi], g.width, g.height, pl[pi]);
    } else {
      pl[pi] = full[pi];
      full[pi] = NULL;
    }
  }
  tiles = calloc(g.tiles, sizeof *tiles);
  costs = malloc(sizeof *costs);
  if (!tiles || !costs) goto done;
  ic_costs_init(costs);
  if ((rc = ic_dct_create(&dct)) < 0) goto done;
  {
    long t;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
#endif
    for (t = 0; t < (long)g.tiles; t++)
      tiles[t].rc = encode_tile(&tiles[t], &g, pl, dct, costs, (uint32_t)t);
    (void)nt;
  }
  rc = VQ_OK;
  for (i = 0; i < (int)g.tiles; i++)
    if (tiles[i].rc < 0) rc = tiles[i].rc;
  if (rc < 0) goto done;
  if (g.channels == 2 || g.channels == 4)
    if ((rc = alpha_encode(&alpha, &alpha_size, img)) < 0) goto done;
  head_write(head, &g);
  if ((rc = vq_container_writer_create(&w)) < 0) goto done;
  rc = vq_container_writer_add(w, "HEAD", head, sizeof head);
  for (i = 0; rc == VQ_OK && i < (int)g.tiles; i++)
    rc = vq_container_writer_add(w, "DATA", tiles[i].data, tiles[i].size);
  if (rc == VQ_OK && alpha)
    rc = vq_container_writer_add(w, "DATA", alpha, alpha_size);
  if (rc == VQ_OK) rc = vq_container_writer_finish(w, out, out_size);
done:
  if (rc == VQ_ERR_NOMEM)
    vq_img_fail(diag, rc, "vq_image_encode", "out of memory");
  vq_container_writer_destroy(w);
  if (tiles)
    for (i = 0; i < (int)g.tiles; i++) vq_rc_enc_clear(&tiles[i].enc);
  free(tiles);
  free(costs);
  ic_dct_destroy(dct);
  vq_free(alpha);
  for (pi = 0; pi < 3; pi++) {
    free(pl[pi]);
    free(full[pi]);
  }
  return rc;
}

/* ---- deblocking ---------------------------------------------------------- */

/* Smooths one line of samples across a block edge between p0 = v[-s] and
 * q0 = v[0] (s: the step across the edge) when the step there is small
 * enough to be a quantization artefact rather than an edge of the image:
 * the two samples on each side move toward each other, by at most tc. */
static void filter_edge(float *v, ptrdiff_t s, float alpha, float beta,
                        float tc) {
  float p1 = v[-2 * s], p0 = v[-s], q0 = v[0], q1 = v[s], d;
  if (fabsf(p0 - q0) >= alpha || fabsf(p1 - p0) >= beta ||
      fabsf(q1 - q0) >= beta)
    return;
  d = ((q0 - p0) * 4.0f + (p1 - q1)) * 0.125f;
  d = d > tc ? tc : d < -tc ? -tc : d;
  v[-s] = p0 + d;
  v[0] = q0 - d;
  d *= 0.5f;
  v[-2 * s] = p1 + 0.5f * d;
  v[s] = q1 - 0.5f * d;
}

/* Filters the block edges of a plane of w x h samples (stride ss): the
 * vertical edges first, then the horizontal ones. Each edge changes the
 * two samples on either side only, so edges are independent and the
 * result does not depend on the thread count. */
static void deblock_plane(float *pl, uint32_t w, uint32_t h, size_t ss,
                          float step, int strength, int nt) {
  float k = strength / 16.0f, alpha = 0.5f * step * k, beta = 0.15f * step * k,
        tc = 0.15f * step * k;
  long y, e;
  (void)nt;
  if (w >= 4) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
    for (y = 0; y < (long)h; y++) {
      uint32_t x;
      for (x = 8; x + 2 <= w; x += 8)
        filter_edge(pl + (size_t)y * ss + x, 1, alpha, beta, tc);
    }
  }
  if (h >= 4) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
    for (e = 1; e < (long)((h - 2) / 8 + 1); e++) {
      uint32_t x, yy = (uint32_t)e * 8;
      if (yy + 2 > h) continue;
      for (x = 0; x < w; x++)
        filter_edge(pl + (size_t)yy * ss + x, (ptrdiff_t)ss, alpha, beta, tc);
    }
  }
}

/* ---- decoder ------------------------------------------------------------- */

/* Decodes tile t into the planes (each padded to whole blocks, stride
 * bw * 8). Returns VQ_OK, VQ_ERR_FORMAT, VQ_ERR_TRUNCATED or
 * VQ_ERR_NOMEM. */
static int decode_tile(const geometry *g, float *const *pl, const ic_dct *dct,
                       const vq_chunk *c, uint32_t t) {
  ic_models *m = malloc(2 * sizeof *m);
  ic_block *rows = NULL;
  vq_rc_dec d;
  int p, bad = 0;
  if (m) rows = malloc(2 * (size_t)g->bw[0] * sizeof *rows);
  if (!m || !rows) {
    free(m);
    return VQ_ERR_NOMEM;
  }
  ic_models_init(&m[0], 0);
  ic_models_init(&m[1], 1);
  vq_rc_dec_init(&d, c->data, c->size);
  for (p = 0; p < g->planes && !bad; p++) {
    uint32_t r0, r1, by, bx, bw = g->bw[p];
    size_t stride = (size_t)bw * 8;
    ic_block *cur = rows, *prev = NULL;
    tile_rows(g, p, t, &r0, &r1);
    for (by = r0; by < r1 && !bad; by++) {
      for (bx = 0; bx < bw; bx++) {
        float coef[64], blk[64], *dst = pl[p] + by * 8 * stride + bx * 8;
        ic_nbr nb;
        int i;
        nbr_of(&nb, cur, prev, bx);
        if (ic_decode_block(&d, &m[p > 0], &g->quant[p > 0], &nb, &cur[bx],
                            coef) < 0 ||
            d.error) {
          bad = 1;
          break;
        }
        ic_dct_inverse(dct, coef, blk);
        for (i = 0; i < 8; i++)
          memcpy(dst + i * stride, blk + i * 8, 8 * sizeof *blk);
      }
      if (d.pos > d.size) bad = 1; /* read past the end: stop early */
      prev = cur;
      cur = cur == rows ? rows + bw : rows;
    }
  }
  free(rows);
  free(m);
  if (d.pos > d.size) return VQ_ERR_TRUNCATED;
  if (bad) return VQ_ERR_FORMAT;
  return vq_rc_dec_finish(&d);
}

static int alpha_decode(vq_image *img, const vq_chunk *c) {
  size_t n = (size_t)img->width * img->height, i;
  uint32_t *a = malloc(n * sizeof *a);
  uint8_t *px = img->pixels;
  int ch = img->channels, rc;
  if (!a) return VQ_ERR_NOMEM;
  rc = vq_entropy_decode(a, n, 256, img->width, c->data, c->size, NULL);
  if (rc == VQ_OK)
    for (i = 0; i < n; i++) px[i * ch + ch - 1] = (uint8_t)a[i];
  free(a);
  return rc;
}

/* Colour conversion of the decoded planes into img. */
static int planes_to_image(const geometry *g, float *const *pl,
                           vq_image *img, int nt) {
  uint8_t *px = img->pixels;
  size_t stride0 = (size_t)g->bw[0] * 8;
  long yy;
  int ch = img->channels;
  float *up[2] = {NULL, NULL};
  if (g->planes == 3) {
    int p;
    for (p = 1; p < 3; p++) {
      size_t s = (size_t)g->bw[p] * 8;
      if (!g->sub) continue;
      up[p - 1] = malloc((size_t)g->width * g->height * sizeof **up);
      if (!up[p - 1]) {
        free(up[0]);
        return VQ_ERR_NOMEM;
      }
      upsample(pl[p], g->pw[p], g->ph[p], s, up[p - 1], g->width, g->height,
               nt);
    }
  }
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
  for (yy = 0; yy < (long)g->height; yy++) {
    uint32_t x, y = (uint32_t)yy;
    for (x = 0; x < g->width; x++) {
      float Y = pl[0][y * stride0 + x] + 128.0f;
      size_t i = ((size_t)y * g->width + x) * ch;
      if (g->planes == 1) {
        px[i] = clamp8(Y);
      } else {
        float cb, cr;
        if (g->sub) {
          cb = up[0][(size_t)y * g->width + x];
          cr = up[1][(size_t)y * g->width + x];
        } else {
          cb = pl[1][y * stride0 + x];
          cr = pl[2][y * stride0 + x];
        }
        /* the chroma planes hold Cb - 128 and Cr - 128 */
        px[i] = clamp8(Y + 1.402f * cr);
        px[i + 1] = clamp8(Y - 0.344136f * cb - 0.714136f * cr);
        px[i + 2] = clamp8(Y + 1.772f * cb);
      }
    }
  }
  free(up[0]);
  free(up[1]);
  return VQ_OK;
}

int vq_image_decode(vq_image **out, const void *buf, size_t size,
                    uint64_t max_pixels, int threads, const char *name,
                    vq_diag *diag) {
  vq_container *c = NULL;
  const vq_chunk *head, **data = NULL;
  geometry g;
  float *pl[3] = {NULL, NULL, NULL};
  vq_image *img = NULL;
  int rc, p, nt = threads;
  uint32_t ndata, t;
  *out = NULL;
  if (!name) name = "<memory>";
  rc = vq_container_parse(&c, buf, size, 0, NULL, name, diag);
  if (rc < 0) return rc;
  head = vq_container_find(c, "HEAD", 0);
  if (!head) {
    rc = vq_img_fail(diag, VQ_ERR_FORMAT, name, "no HEAD chunk");
    goto done;
  }
  if ((rc = head_read(&g, head->data, head->size, name, diag)) < 0)
    goto done;
  if (vq_container_find(c, "CODE", 0) || vq_container_find(c, "BOOK", 0)) {
    rc = vq_img_fail(diag, VQ_ERR_UNSUPPORTED, name, "an image stream with "
                     "a codebook chunk (a later version of the format?)");
    goto done;
  }
  if ((rc = vq_img_check_size(g.width, g.height, max_pixels, name, diag)) < 0)
    goto done;
  ndata = 0;
  data = malloc((g.tiles + 1) * sizeof *data);
  if (!data) {
    rc = vq_img_fail(diag, VQ_ERR_NOMEM, name, "out of memory");
    goto done;
  }
  for (t = 0; t < (uint32_t)vq_container_count(c); t++) {
    const vq_chunk *ch = vq_container_chunk(c, t);
    if (strcmp(ch->type, "DATA")) continue;
    if (ndata <= g.tiles) data[ndata] = ch;
    ndata++;
  }
  if (ndata != g.tiles + (g.channels == 2 || g.channels == 4)) {
    rc = vq_img_fail(diag, VQ_ERR_FORMAT, name, "%lu DATA chunks for %lu "
                     "tiles", (unsigned long)ndata, (unsigned long)g.tiles);
    goto done;
  }
  rc = VQ_ERR_NOMEM;
  for (p = 0; p < g.planes; p++)
    if (!(pl[p] = malloc((size_t)g.bw[p] * g.bh[p] * 64 * sizeof **pl))) {
      vq_img_fail(diag, rc, name, "out of memory");
      goto done;
    }
  if (vq_image_create(&img, g.width, g.height, g.channels, 8) < 0) {
    vq_img_fail(diag, rc, name, "out of memory");
    goto done;
  }
  {
    ic_dct *dct = NULL;
    int *res = calloc(g.tiles, sizeof *res);
    long tt;
    if (!res || (rc = ic_dct_create(&dct)) < 0) {
      free(res);
      rc = VQ_ERR_NOMEM;
      goto done;
    }
#ifdef _OPENMP
    if (nt <= 0) nt = omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
#endif
    for (tt = 0; tt < (long)g.tiles; tt++)
      res[tt] = decode_tile(&g, pl, dct, data[tt], (uint32_t)tt);
    (void)nt;
    ic_dct_destroy(dct);
    rc = VQ_OK;
    for (t = 0; t < g.tiles && rc == VQ_OK; t++) {
      rc = res[t];
      if (rc < 0)
        vq_img_fail(diag, rc, name, rc == VQ_ERR_TRUNCATED
                                        ? "tile %lu is truncated"
                                        : rc == VQ_ERR_NOMEM
                                              ? "out of memory (tile %lu)"
                                              : "tile %lu is corrupt",
                    (unsigned long)t);
    }
    free(res);
    if (rc < 0) goto done;
  }
  if (g.deblock)
    for (p = 0; p < g.planes; p++)
      deblock_plane(pl[p], g.pw[p], g.ph[p], (size_t)g.bw[p] * 8,
                    g.quant[p > 0].band[0], g.deblock, nt);
  if ((rc = planes_to_image(&g, pl, img, nt)) < 0) goto done;
  if (g.channels == 2 || g.channels == 4) {
    rc = alpha_decode(img, data[g.tiles]);
    if (rc < 0) {
      vq_img_fail(diag, rc == VQ_ERR_NOMEM ? rc : VQ_ERR_FORMAT, name,
                  "the alpha stream is %s", rc == VQ_ERR_TRUNCATED
                                                ? "truncated"
                                                : "corrupt");
      if (rc != VQ_ERR_NOMEM && rc != VQ_ERR_TRUNCATED) rc = VQ_ERR_FORMAT;
      goto done;
    }
  }
  *out = img;
  img = NULL;
done:
  vq_image_destroy(img);
  for (p = 0; p < 3; p++) free(pl[p]);
  free(data);
  vq_container_destroy(c);
  return rc;
}
