/* The image codec's 8 x 8 block coder.
 *
 * A block's DC is quantized and predicted from its neighbours' quantized
 * DCs (the median predictor of LOCO-I); the 63 AC coefficients, in zigzag
 * order, form five bands. A band is a gain index i (gain i * step) and,
 * when i > 0, a pulse count K and a PVQ shape y with sum |y| = K: the
 * band is reconstructed as i * step * y / |y|. K is coded as its offset
 * from a prediction made from i and the band; the shape coefficient by
 * coefficient, each magnitude in a context of the band, the position and
 * the pulses still to place. The encoder picks i and K by rate-distortion
 * cost, the rates read from the current state of the adaptive models.
 * doc/format.md specifies the bits. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <vq/pvq.h>
#include "codec_priv.h"
#ifndef IC_TRAIN
#include "priors.h"
#endif

const uint8_t ic_band_start[IC_BANDS + 1] = {1, 3, 6, 15, 28, 64};

const uint8_t ic_zigzag[64] = {
  0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,
  12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6,  7,  14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
  58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

/* Predicted pulses per unit of gain index, per band, in tenths (integer
 * arithmetic, so that every platform predicts the same K). */
static const int k_per_gain10[IC_BANDS] = {10, 14, 20, 23, 34};

/* The encoder tries gain indices round(g / step) and one below (IUP
 * above it too), with pulse counts from KSPAN below the prediction of
 * the smaller to KSPAN above that of the larger. */
#ifndef IUP
#define IUP 0
#endif
#ifndef KSPAN
#define KSPAN 2
#endif
#ifndef RATE
#define RATE 4
#endif
#define MAX_GAIN 4095
#define MAX_K 4095
#define MAX_DC (1 << 20)
#define VALUE_MAX (64u + (1u << 24) - 2u)

/* Symbol coding of the encoder; a training build (IC_TRAIN, see
 * train_priors.c) also counts every symbol per model. */
#ifdef IC_TRAIN
#include <stdio.h>
#define IC_MODELS_PER_TYPE (sizeof(ic_models) / sizeof(vq_cdf))
static const ic_models *train_base;
static uint64_t train_counts[2 * IC_MODELS_PER_TYPE][16];

void ic_train_begin(const ic_models *m) { train_base = m; }

void ic_train_dump(FILE *f) {
  size_t i, s;
  for (i = 0; i < 2 * IC_MODELS_PER_TYPE; i++) {
    for (s = 0; s < 16; s++)
      fprintf(f, "%llu ", (unsigned long long)train_counts[i][s]);
    fprintf(f, "\n");
  }
}

static void enc_sym(vq_rc_enc *e, unsigned s, vq_cdf *m) {
  train_counts[m - (const vq_cdf *)(const void *)train_base][s]++;
  vq_rc_enc_symbol(e, s, m);
}
#else
#define enc_sym vq_rc_enc_symbol
#endif

static int kpred(int i, int b) {
  int k = (k_per_gain10[b] * i + 5) / 10;
  return k < 1 ? 1 : k;
}

/* Every model starts from the distribution the training set gave it
 * (priors.h, made by train_priors.c), as if it had seen PRIOR_COUNT
 * symbols, so that it adapts at once but not wildly. */
#ifndef PRIOR_COUNT
#define PRIOR_COUNT 12
#endif

void ic_models_init(ic_models *m, int chroma) {
  vq_cdf *c = (vq_cdf *)(void *)m;
  size_t i, n = sizeof *m / sizeof *c;
  int b, j, k;
  for (i = 0; i < IC_DC_CTX; i++) vq_cdf_init(&m->dc[i], 16, RATE);
  for (b = 0; b < IC_BANDS; b++) {
    for (i = 0; i < IC_GAIN_CTX; i++) vq_cdf_init(&m->gain[b][i], 16, RATE);
    for (i = 0; i < IC_DK_CTX; i++) vq_cdf_init(&m->dk[b][i], 16, RATE);
    for (j = 0; j < IC_POS_CLASSES; j++)
      for (k = 0; k < IC_REM_CLASSES; k++)
        for (i = 0; i < IC_NBR_CLASSES; i++)
          vq_cdf_init(&m->mag[b][j][k][i],
                      k < IC_REM_CLASSES - 1 ? k + 2 : 16, RATE);
  }
  for (i = 0; i < 3; i++) vq_cdf_init(&m->aq[i], 3, RATE);
#ifndef IC_TRAIN
  if (n > sizeof ic_priors[0] / sizeof ic_priors[0][0])
    n = sizeof ic_priors[0] / sizeof ic_priors[0][0];
  for (i = 0; i < n; i++) {
    const uint16_t *p = ic_priors[chroma ? 1 : 0][i];
    if (p[c[i].n] != VQ_CDF_ONE) continue; /* no prior for this model */
    for (k = 0; k <= c[i].n; k++) c[i].cdf[k] = p[k];
    c[i].count = PRIOR_COUNT;
  }
#else
  (void)chroma, (void)n, (void)c;
#endif
}

void ic_costs_init(ic_costs *c) {
  int i;
  for (i = 0; i <= 4096; i++)
    c->bits[i] = (float)-log2((i * 8.0 + 4.0) / 32768.0);
}

static float sym_cost(const ic_costs *c, const vq_cdf *m, unsigned s) {
  uint32_t w = vq_cdf_cum(m->cdf, m->n, s + 1) - vq_cdf_cum(m->cdf, m->n, s);
  return c->bits[w >> 3];
}

/* ---- values: small ones direct, larger ones as a class and raw bits --- */

/* In a 16-symbol model: 0..11 themselves; 12: 12 + 2 bits; 13: 16 +
 * 4 bits; 14: 32 + 5 bits; 15: 64 + an Elias-gamma code (its length
 * uniform below 25, then the bits under the leading 1). In a smaller
 * model the value is the symbol. */
static unsigned value_symbol(uint32_t v, unsigned *extra) {
  if (v < 12) return *extra = 0, (unsigned)v;
  if (v < 16) return *extra = 2, 12;
  if (v < 32) return *extra = 4, 13;
  if (v < 64) return *extra = 5, 14;
  *extra = 0;
  return 15;
}

static const uint32_t class_base[4] = {12, 16, 32, 64};

static unsigned bit_length(uint32_t v) {
  unsigned b = 0;
  while (v) b++, v >>= 1;
  return b;
}

static void put_raw(vq_rc_enc *e, uint32_t v, unsigned nbits) {
  while (nbits > 16) {
    nbits -= 16;
    vq_rc_enc_bits(e, (v >> nbits) & 0xFFFF, 16);
  }
  if (nbits) vq_rc_enc_bits(e, v & ((1u << nbits) - 1), nbits);
}

static uint32_t get_raw(vq_rc_dec *d, unsigned nbits) {
  uint32_t v = 0;
  while (nbits > 16) {
    nbits -= 16;
    v = v << 16 | vq_rc_dec_bits(d, 16);
  }
  if (nbits) v = v << nbits | vq_rc_dec_bits(d, nbits);
  return v;
}

static void put_value(vq_rc_enc *e, vq_cdf *m, uint32_t v) {
  unsigned extra, s;
  if (m->n < 16) {
    enc_sym(e, v, m);
    return;
  }
  s = value_symbol(v, &extra);
  enc_sym(e, s, m);
  if (s < 12) return;
  if (s < 15) {
    put_raw(e, v - class_base[s - 12], extra);
  } else {
    uint32_t g = v - 64 + 1;
    unsigned len = bit_length(g);
    vq_rc_enc_uint(e, len - 1, 25);
    put_raw(e, g, len - 1);
  }
}

static uint32_t get_value(vq_rc_dec *d, vq_cdf *m) {
  unsigned s = vq_rc_dec_symbol(d, m), len;
  static const unsigned extra[3] = {2, 4, 5};
  if (m->n < 16 || s < 12) return s;
  if (s < 15) return class_base[s - 12] + get_raw(d, extra[s - 12]);
  len = (unsigned)vq_rc_dec_uint(d, 25) + 1;
  return ((1u << (len - 1)) | get_raw(d, len - 1)) - 1 + 64;
}

static float value_cost(const ic_costs *c, const vq_cdf *m, uint32_t v) {
  unsigned extra, s;
  if (m->n < 16) return sym_cost(c, m, v);
  s = value_symbol(v, &extra);
  if (s == 15) extra = 4 + bit_length(v - 63); /* log2 25, L - 1 bits */
  return sym_cost(c, m, s) + (float)extra;
}

/* ---- contexts ----------------------------------------------------------- */

static int dc_context(const ic_nbr *nb) {
  unsigned a = (nb->left ? nb->left->dc_res : 0u) +
               (nb->up ? nb->up->dc_res : 0u);
  return a == 0 ? 0 : a <= 2 ? 1 : a <= 6 ? 2 : 3;
}

static int32_t dc_predict(const ic_nbr *nb) {
  int32_t l, u, ul, mx, mn;
  if (!nb->left) return nb->up ? nb->up->dc : 0;
  if (!nb->up) return nb->left->dc;
  l = nb->left->dc, u = nb->up->dc;
  ul = nb->upleft ? nb->upleft->dc : (l + u) / 2;
  mx = l > u ? l : u, mn = l < u ? l : u;
  if (ul >= mx) return mn;
  if (ul <= mn) return mx;
  return l + u - ul;
}

/* From the same band of the left and upper blocks and from the band
 * before in this block (the DC residual for the first band). */
static int gain_context(const ic_nbr *nb, const ic_block *cur, int b) {
  static const uint8_t nbr_class[9] = {0, 1, 2, 3, 3, 4, 4, 4, 4};
  unsigned a = (nb->left ? nb->left->gain[b] : 0u) +
               (nb->up ? nb->up->gain[b] : 0u);
  unsigned prev = b ? cur->gain[b - 1] : (cur->dc_res + 1) / 2;
  return nbr_class[a < 8 ? a : 8] * IC_GAIN_PREV +
         (int)(prev < IC_GAIN_PREV ? prev : IC_GAIN_PREV - 1);
}

static int dk_context(int gain) {
  return gain < IC_DK_CTX ? gain - 1 : IC_DK_CTX - 1;
}

/* The pulses at zigzag position z in the left and upper blocks. */
typedef struct shape_ctx {
  const uint8_t *left, *up;
} shape_ctx;

static const uint8_t no_pulses[64];

static void shape_ctx_of(shape_ctx *sc, const ic_nbr *nb) {
  sc->left = nb->left ? nb->left->mag : no_pulses;
  sc->up = nb->up ? nb->up->mag : no_pulses;
}

/* Position class of zigzag position z in its band: j * IC_POS_CLASSES / n
 * for the j-th of the band's n positions. */
static const uint8_t pos_class[64] = {
  0, 0, 4, 0, 2, 5, 0, 0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 1, 1, 2, 3, 3, 4, 4,
  5, 6, 6, 7, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4,
  4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 6, 7, 7, 7, 7};

static vq_cdf *mag_model(ic_models *m, const shape_ctx *sc, int b, int j,
                         int rem) {
  int z = ic_band_start[b] + j, a = sc->left[z] + sc->up[z];
  return &m->mag[b][pos_class[z]]
                [(rem < IC_REM_CLASSES ? rem : IC_REM_CLASSES) - 1]
                [a < IC_NBR_CLASSES ? a : IC_NBR_CLASSES - 1];
}

/* Bits of a shape with magnitudes y (signs cost a bit per pulse). */
static float shape_cost(ic_models *m, const shape_ctx *sc, const ic_costs *c,
                        int b, const int32_t *y, int n, int k) {
  float bits = 0.0f;
  int j, rem = k;
  for (j = 0; j < n - 1 && rem > 0; j++) {
    uint32_t a = (uint32_t)abs(y[j]);
    bits += value_cost(c, mag_model(m, sc, b, j, rem), a);
    if (a) bits += 1.0f, rem -= (int)a;
  }
  return rem > 0 ? bits + 1.0f : bits;
}

static void put_shape(vq_rc_enc *e, ic_models *m, const shape_ctx *sc, int b,
                      const int32_t *y, int n, int k) {
  int j, rem = k;
  for (j = 0; j < n - 1 && rem > 0; j++) {
    uint32_t a = (uint32_t)abs(y[j]);
    put_value(e, mag_model(m, sc, b, j, rem), a);
    if (a) {
      vq_rc_enc_bits(e, y[j] < 0, 1);
      rem -= (int)a;
    }
  }
  if (rem > 0) vq_rc_enc_bits(e, y[n - 1] < 0, 1);
}

static int get_shape(vq_rc_dec *d, ic_models *m, const shape_ctx *sc, int b,
                     int32_t *y, int n, int k) {
  int j, rem = k;
  memset(y, 0, (size_t)n * sizeof *y);
  for (j = 0; j < n - 1 && rem > 0; j++) {
    uint32_t a = get_value(d, mag_model(m, sc, b, j, rem));
    if (a > (uint32_t)rem) return -1;
    if (a) {
      y[j] = vq_rc_dec_bits(d, 1) ? -(int32_t)a : (int32_t)a;
      rem -= (int)a;
    }
  }
  if (rem > 0) y[n - 1] = vq_rc_dec_bits(d, 1) ? -rem : rem;
  return 0;
}

/* Records the band's pulses for the blocks after it. */
static void band_pulses(ic_block *cur, int b, const int32_t *y, int gain) {
  int j, s = ic_band_start[b], n = ic_band_start[b + 1] - s;
  for (j = 0; j < n; j++) {
    int a = gain ? abs(y[j]) : 0;
    cur->mag[s + j] = (uint8_t)(a < 2 ? a : 2);
  }
}

/* One more pulse on the magnitudes ym for |x| = ax, where it raises the
 * correlation most: maximise (xy + ax[j])^2 / (yy + 2 ym[j] + 1). */
static void add_pulse(const float *ax, int32_t *ym, int n, double *xy,
                      double *yy) {
  double best_num = -1.0, best_den = 1.0;
  int j, best = 0;
  for (j = 0; j < n; j++) {
    double num = *xy + ax[j], den = *yy + 2.0 * ym[j] + 1.0;
    num *= num;
    if (num * best_den > best_num * den) {
      best_num = num, best_den = den, best = j;
    }
  }
  *xy += ax[best];
  *yy += 2.0 * ym[best] + 1.0;
  ym[best]++;
}

/* The gain of index i > 0: step i^beta (beta > 1 compands: the larger
 * the gain, the coarser its steps, as the eye masks errors in busy
 * bands). */
static double gain_value(const ic_quant *q, int b, int i) {
  double g = q->beta > 1.0f ? pow((double)i, q->beta) : (double)i;
  return g * q->band[b];
}

/* ---- the encoder's band choice ------------------------------------------ */

typedef struct band_choice {
  int gain, k;
  int32_t y[64];
  double yy;
} band_choice;

static void choose_band(band_choice *best, ic_models *m, const shape_ctx *sc,
                        const ic_costs *c, const ic_quant *q, int b, int gctx,
                        const float *x, int n, float lambda) {
  const float step = q->band[b];
  vq_cdf *gm = &m->gain[b][gctx];
  float ax[64];
  int32_t ym[64], y[64];
  double g2 = 0.0, g, xy = 0.0, yy = 0.0, best_j;
  int j, i0, ilo, ihi, klo, khi, k;
  for (j = 0; j < n; j++) {
    ax[j] = fabsf(x[j]);
    g2 += (double)x[j] * x[j];
  }
  best->gain = 0, best->k = 0;
  best_j = g2 * (1.0 + q->energy) + lambda * value_cost(c, gm, 0);
  g = sqrt(g2);
  if (g < 0.3 * step) return;
  i0 = (int)(q->beta > 1.0f ? pow(g / step, 1.0 / q->beta) + 0.5
                            : g / step + 0.5);
  if (i0 > MAX_GAIN) i0 = MAX_GAIN;
  ilo = i0 > 1 ? i0 - 1 : 1;
  ihi = i0 < MAX_GAIN ? i0 + IUP : MAX_GAIN;
  if (ihi < 1) ihi = 1;
  klo = kpred(ilo, b) - KSPAN;
  if (klo < 1) klo = 1;
  khi = kpred(ihi, b) + KSPAN;
  if (khi > MAX_K) khi = MAX_K;
  /* the shape for klo pulses, then one pulse at a time up to khi */
  if (vq_pvq_search(y, NULL, x, (uint32_t)n, (uint32_t)klo, 0) < 0) return;
  for (j = 0; j < n; j++) {
    ym[j] = abs(y[j]);
    xy += (double)ax[j] * ym[j];
    yy += (double)ym[j] * ym[j];
  }
  for (k = klo; k <= khi; k++) {
    double corr;
    float shape_bits;
    int i;
    if (k > klo) add_pulse(ax, ym, n, &xy, &yy);
    corr = xy / sqrt(yy);
    shape_bits = shape_cost(m, sc, c, b, ym, n, k);
    for (i = ilo; i <= ihi; i++) {
      int dk = k - kpred(i, b);
      double gq = gain_value(q, b, i), d, r;
      if (dk < -IC_DK_OFFSET || dk >= 16 - IC_DK_OFFSET) continue;
      d = g2 - 2.0 * gq * corr + gq * gq + q->energy * (g - gq) * (g - gq);
      r = value_cost(c, gm, (uint32_t)i) +
          sym_cost(c, &m->dk[b][dk_context(i)], (unsigned)(dk + IC_DK_OFFSET)) +
          shape_bits;
      if (d + lambda * r < best_j) {
        best_j = d + lambda * r;
        best->gain = i, best->k = k, best->yy = yy;
        for (j = 0; j < n; j++) best->y[j] = x[j] < 0.0f ? -ym[j] : ym[j];
      }
    }
  }
}

static void band_rec(float *coef, int b, int gain, const ic_quant *q,
                     const int32_t *y, double yy) {
  int j, s = ic_band_start[b], n = ic_band_start[b + 1] - s;
  float scale = gain ? (float)(gain_value(q, b, gain) / sqrt(yy)) : 0.0f;
  for (j = 0; j < n; j++) coef[ic_zigzag[s + j]] = scale * (float)y[j];
}

static int aq_context(const ic_nbr *nb) {
  return nb->left ? nb->left->aq : 1;
}

/* The block's AC steps: q with every band step scaled for class aq. */
static void aq_apply(ic_quant *qq, const ic_quant *q, int aq) {
  int b;
  *qq = *q;
  if (!q->aq) return;
  for (b = 0; b < IC_BANDS; b++) qq->band[b] = q->band[b] * q->aq_scale[aq];
  qq->lambda = q->lambda * q->aq_scale[aq] * q->aq_scale[aq];
}

void ic_encode_block(vq_rc_enc *e, ic_models *m, const ic_quant *q0,
                     const ic_costs *costs, const float *coef,
                     const ic_nbr *nb, ic_block *cur, float *rec) {
  int32_t dc = (int32_t)lrintf(coef[0] / q0->dc), r;
  double act = 0.0, s2 = (double)q0->band[0] * q0->band[0];
  ic_quant qq, *q = &qq;
  shape_ctx sc;
  float lambda;
  int b, k;
  shape_ctx_of(&sc, nb);
  for (k = 1; k < 64; k++) act += (double)coef[k] * coef[k];
  act /= 63.0;
  cur->aq = 1;
  if (q0->aq) {
    /* flat blocks show errors that busy ones hide: finer steps there */
    cur->aq = act < q0->aq_lo * s2 ? 0 : act > q0->aq_hi * s2 ? 2 : 1;
    enc_sym(e, cur->aq, &m->aq[aq_context(nb)]);
  }
  aq_apply(&qq, q0, cur->aq);
  lambda = q->lambda;
  if (q->masking > 0.0f) {
    /* activity masking: busy blocks hide errors, flat ones show them */
    double w = pow((act + 0.25 * s2) / (1.25 * s2), q->masking);
    lambda *= (float)(w < 0.4 ? 0.4 : w > 2.5 ? 2.5 : w);
  }
  if (dc > MAX_DC) dc = MAX_DC;
  if (dc < -MAX_DC) dc = -MAX_DC;
  r = dc - dc_predict(nb);
  put_value(e, &m->dc[dc_context(nb)], (uint32_t)abs(r));
  if (r) vq_rc_enc_bits(e, r < 0, 1);
  cur->dc = dc;
  cur->dc_res = (uint16_t)(abs(r) < 65535 ? abs(r) : 65535);
  if (rec) rec[0] = dc * q->dc;
  for (b = 0; b < IC_BANDS; b++) {
    int s = ic_band_start[b], n = ic_band_start[b + 1] - s, j;
    float x[64];
    band_choice ch;
    for (j = 0; j < n; j++) x[j] = coef[ic_zigzag[s + j]];
    choose_band(&ch, m, &sc, costs, q, b, gain_context(nb, cur, b), x, n,
                lambda);
    put_value(e, &m->gain[b][gain_context(nb, cur, b)], (uint32_t)ch.gain);
    if (ch.gain) {
      enc_sym(e, (unsigned)(ch.k - kpred(ch.gain, b) + IC_DK_OFFSET),
              &m->dk[b][dk_context(ch.gain)]);
      put_shape(e, m, &sc, b, ch.y, n, ch.k);
    }
    band_pulses(cur, b, ch.y, ch.gain);
    cur->gain[b] = (uint16_t)ch.gain;
    if (rec) band_rec(rec, b, ch.gain, q, ch.y, ch.yy);
  }
}

int ic_decode_block(vq_rc_dec *d, ic_models *m, const ic_quant *q0,
                    const ic_nbr *nb, ic_block *cur, float *coef) {
  ic_quant qq, *q = &qq;
  shape_ctx sc;
  uint32_t a;
  int32_t r, dc;
  int b;
  shape_ctx_of(&sc, nb);
  cur->aq = q0->aq ? (uint8_t)vq_rc_dec_symbol(d, &m->aq[aq_context(nb)]) : 1;
  aq_apply(&qq, q0, cur->aq);
  a = get_value(d, &m->dc[dc_context(nb)]);
  if (a > MAX_DC * 2u) return -1;
  r = a && vq_rc_dec_bits(d, 1) ? -(int32_t)a : (int32_t)a;
  dc = dc_predict(nb) + r;
  if (dc > MAX_DC || dc < -MAX_DC) return -1;
  cur->dc = dc;
  cur->dc_res = (uint16_t)(a < 65535 ? a : 65535);
  coef[0] = dc * q->dc;
  for (b = 0; b < IC_BANDS; b++) {
    int s = ic_band_start[b], n = ic_band_start[b + 1] - s, k, j;
    uint32_t gain = get_value(d, &m->gain[b][gain_context(nb, cur, b)]);
    int32_t y[64];
    double yy = 0.0;
    if (gain > MAX_GAIN) return -1;
    cur->gain[b] = (uint16_t)gain;
    if (!gain) {
      for (j = 0; j < n; j++) coef[ic_zigzag[s + j]] = 0.0f;
      band_pulses(cur, b, y, 0);
      continue;
    }
    k = kpred((int)gain, b) +
        (int)vq_rc_dec_symbol(d, &m->dk[b][dk_context((int)gain)]) -
        IC_DK_OFFSET;
    if (k < 1 || k > MAX_K) return -1;
    if (get_shape(d, m, &sc, b, y, n, k) < 0) return -1;
    band_pulses(cur, b, y, (int)gain);
    for (j = 0; j < n; j++) yy += (double)y[j] * y[j];
    band_rec(coef, b, (int)gain, q, y, yy);
  }
  return 0;
}
