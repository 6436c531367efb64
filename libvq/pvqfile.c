/* Float arrays through gain-shape PVQ into .vq files and back.
 *
 * The array is cut along its last axis into blocks; each block becomes a
 * gain, |x|, quantized by vq_gain_quantize(), and a shape, the PVQ
 * codeword nearest to x / |x|. The DATA payload is the gains as one index
 * stream (entropy.c, its size first as a u32) followed by one range-coded
 * body holding the shapes of the blocks whose gain is not 0. Searches run
 * in parallel, block by block; coding is sequential, so the file does not
 * depend on the thread count. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "vq/container.h"
#include "vq/entropy.h"
#include "vq/pvq.h"
#include "internal.h"
#include "pvq_rc.h"

#define HEAD_VERSION 1
#define MAX_BETA 16.0f  /* gain companding exponents beyond are refused */
#define MAX_PPS 65536.0f /* pulses per gain step beyond are refused */
#define HEAD_FROM_GAIN 1 /* HEAD flag: pulses from the gain index */
#define RATE_ROUNDS 40   /* bisection steps choosing the step for a rate */

int32_t vq_gain_quantize(float g, float step, float beta) {
  double c;
  if (!(g > 0.0f) || !(step > 0.0f)) return 0;
  c = g / step;
  if (beta > 1.0f) c = pow(c, 1.0 / beta);
  return c >= 2147483647.0 ? INT32_MAX : (int32_t)floor(c + 0.5);
}

float vq_gain_dequantize(int32_t q, float step, float beta) {
  double g;
  if (q <= 0) return 0.0f;
  g = step * (beta > 1.0f ? pow((double)q, beta) : (double)q);
  return g < 3.4e38 ? (float)g : INFINITY; /* no undefined conversion */
}

int vq_pvq_params_init_(vq_pvq_params *p, uint32_t abi, uint32_t size) {
  if (abi != VQ_ABI_VERSION || size != sizeof(*p)) return VQ_ERR_ABI;
  memset(p, 0, sizeof *p);
  p->abi_ = abi;
  p->size_ = size;
  p->block = 32;
  p->bits = 2.0;
  p->beta = 1.0f;
  return VQ_OK;
}

/* The geometry of an array cut into blocks. */
typedef struct layout {
  uint64_t rows, cols, count, blocks;
  uint32_t block, per_row, k;
  float pps;  /* pulses per gain step; 0: k in every full block */
} layout;

static int layout_of(layout *l, int ndim, const uint64_t *shape,
                     uint32_t block, uint32_t k) {
  int i;
  if (ndim < 1 || ndim > VQ_MAX_DIMS || block < 1 || block > VQ_PVQ_MAX_N)
    return VQ_ERR_INVALID_ARG;
  l->cols = shape[ndim - 1];
  l->rows = 1;
  for (i = 0; i < ndim - 1; i++)
    if (vq_mul_u64(l->rows, shape[i], &l->rows)) return VQ_ERR_LIMIT;
  if (vq_mul_u64(l->rows, l->cols, &l->count)) return VQ_ERR_LIMIT;
  l->block = block;
  l->per_row = (uint32_t)((l->cols + block - 1) / block);
  if (l->cols && l->per_row == 0) return VQ_ERR_LIMIT;
  l->blocks = l->rows * l->per_row;
  l->k = k;
  l->pps = 0.0f;
  return VQ_OK;
}

/* Start and size of block b: the last of a row may be shorter. */
static void block_of(const layout *l, uint64_t b, uint64_t *start,
                     uint32_t *n) {
  uint64_t row = b / l->per_row, j = b % l->per_row;
  uint64_t left = l->cols - j * l->block;
  *n = left < l->block ? (uint32_t)left : l->block;
  *start = row * l->cols + j * l->block;
}

/* Pulses of a block of n values with gain index q: k, or
 * round(pps q) at most VQ_PVQ_MAX_K, for a full block; a shorter one has
 * them in proportion (at least 1). */
static uint32_t pulses_of(const layout *l, uint32_t n, uint32_t q) {
  uint64_t full = l->k, k;
  if (l->pps > 0.0f) {
    double kf = floor((double)l->pps * q + 0.5);
    full = kf >= (double)VQ_PVQ_MAX_K ? VQ_PVQ_MAX_K : (uint64_t)kf;
  }
  if (n == l->block) return (uint32_t)full;
  k = (full * n + l->block / 2) / l->block;
  return (uint32_t)(full && !k ? 1 : k);
}

static uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* ---- encoder ------------------------------------------------------------ */

/* The gain |x| of every block. */
static void gains_all(float *gain, const layout *l, const float *x) {
  uint64_t b, start;
  uint32_t n, i;
  for (b = 0; b < l->blocks; b++) {
    double gg = 0.0;
    block_of(l, b, &start, &n);
    for (i = 0; i < n; i++) gg += (double)x[start + i] * x[start + i];
    gain[b] = (float)sqrt(gg);
  }
}

/* Shapes of every block (magnitudes and signs in y) and correlations, in
 * parallel; q (NULL for a fixed k) holds the gain indices when the
 * pulses follow them. */
static int search_all(int32_t *y, double *corr, const layout *l,
                      const float *x, const uint32_t *q, unsigned flags,
                      int nthreads) {
  int64_t b, nb = (int64_t)l->blocks;
  int err = VQ_OK;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 64) num_threads(nthreads)
#endif
  for (b = 0; b < nb; b++) {
    uint64_t start;
    uint32_t n, k;
    int rc;
    block_of(l, (uint64_t)b, &start, &n);
    k = pulses_of(l, n, q ? q[b] : 1);
    rc = vq_pvq_search(y + start, corr + b, x + start, n, k,
                       n * k <= 4096 ? flags : 0);
    if (rc < 0) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
      err = rc;
    }
  }
  (void)nthreads;
  return err;
}

/* The step where a bit spent on the gain lowers the error as much as a
 * bit spent on the shape: the gain error step^2 / 12 falls by a factor 4
 * per bit, the shape error 2 g^2 (1 - corr) of a block of n values only by
 * 4^(1 / (n - 1)), so at equal slopes the gain error is 1 / (n - 1) of
 * the shape error. */
static float balanced_step(const float *gain, const double *corr,
                           uint64_t blocks, uint32_t n) {
  double e = 0.0, gs = 0.0, s;
  uint64_t b;
  for (b = 0; b < blocks; b++) {
    e += 2.0 * (double)gain[b] * gain[b] * (1.0 - corr[b]);
    gs += gain[b];
  }
  s = blocks ? sqrt(12.0 * e / (double)blocks / (n > 1 ? n - 1.0 : 1.0))
             : 0.0;
  if (!(s > 0.0)) s = blocks ? gs / (double)blocks / 1024.0 : 1.0;
  return s > 1e-30 ? (float)s : 1e-30f;
}

/* Bits of the gains (their empirical entropy) and shapes (log2 V each)
 * at a step, the pulses following the gains; HUGE_VAL when a gain index
 * would not fit the alphabet. hist (VQ_ENTROPY_MAX_ALPHABET counts) is
 * left zero; vbits caches log2 V(block, k), -1 where not yet known. */
static double rate_at(const float *gain, const layout *l, float step,
                      float beta, uint32_t *hist, double *vbits) {
  double bits = 0.0;
  uint64_t b, start;
  uint32_t mx = 0, n, k, q;
  int32_t qi;
  for (b = 0; b < l->blocks; b++) {
    qi = vq_gain_quantize(gain[b], step, beta);
    if (qi < 0 || (uint32_t)qi >= VQ_ENTROPY_MAX_ALPHABET) {
      for (q = 0; q <= mx; q++) hist[q] = 0;
      return HUGE_VAL;
    }
    q = (uint32_t)qi;
    hist[q]++;
    if (q > mx) mx = q;
    block_of(l, b, &start, &n);
    if (!q || !(k = pulses_of(l, n, q))) continue;
    if (n != l->block) bits += vq_pvq_bits(n, k);
    else {
      if (vbits[k] < 0.0) vbits[k] = vq_pvq_bits(n, k);
      bits += vbits[k];
    }
  }
  for (q = 0; q <= mx; q++)
    if (hist[q]) {
      bits -= hist[q] * log2((double)hist[q] / (double)l->blocks);
      hist[q] = 0;
    }
  return bits;
}

/* The step, pulses following the gains, at which the gains and shapes
 * take at most target bits (as rate_at() counts them): bisection in the
 * logarithm of the step between the finest step whose indices fit the
 * alphabet and one that makes every gain index 0. */
static int step_for_rate(float *step, const float *gain, const layout *l,
                         double target, float beta) {
  uint32_t *hist = vq_calloc_array(VQ_ENTROPY_MAX_ALPHABET, sizeof *hist);
  double *vbits = vq_malloc_array(VQ_PVQ_MAX_K + 1, sizeof *vbits);
  double gmax = 0.0, lo, hi, mid;
  uint64_t b;
  int r;
  if (!hist || !vbits) {
    free(hist), free(vbits);
    return VQ_ERR_NOMEM;
  }
  for (b = 0; b <= VQ_PVQ_MAX_K; b++) vbits[b] = -1.0;
  for (b = 0; b < l->blocks; b++)
    if (gain[b] > gmax) gmax = gain[b];
  if (!(gmax > 0.0) || gmax > 1e30) *step = 1.0f;
  else {
    lo = log(gmax) - (double)beta * 19.0 * log(2.0);
    hi = log(gmax) + 1.0;
    if (rate_at(gain, l, (float)exp(lo), beta, hist, vbits) <= target)
      hi = lo;
    for (r = 0; r < RATE_ROUNDS && hi > lo; r++) {
      mid = 0.5 * (lo + hi);
      if (rate_at(gain, l, (float)exp(mid), beta, hist, vbits) > target)
        lo = mid;
      else
        hi = mid;
    }
    *step = (float)exp(hi);
    if (!(*step > 1e-30f)) *step = 1e-30f;
  }
  free(hist), free(vbits);
  return VQ_OK;
}

static double shape_norm(const int32_t *y, uint32_t n) {
  double s = 0.0;
  uint32_t i;
  for (i = 0; i < n; i++) s += (double)y[i] * y[i];
  return sqrt(s);
}

/* The gain index of every block into q, the largest into *mx; refuses
 * indices beyond one stream's alphabet. */
static int quantize_gains(uint32_t *q, uint32_t *mx, const float *gain,
                          const layout *l, float step, float beta,
                          vq_diag *diag) {
  uint64_t b;
  *mx = 0;
  for (b = 0; b < l->blocks; b++) {
    int32_t qi = vq_gain_quantize(gain[b], step, beta);
    if (qi < 0 || (uint32_t)qi >= VQ_ENTROPY_MAX_ALPHABET)
      return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "gain %g is %d steps of "
                         "%g: too many for one stream; use a larger step",
                         gain[b], qi, step);
    q[b] = (uint32_t)qi;
    if (q[b] > *mx) *mx = q[b];
  }
  return VQ_OK;
}

/* Measures the error and codes the gain indices q (largest mx) and the
 * shapes. */
static int code_all(uint8_t **payload, size_t *psize, vq_pvq_stats *st,
                    const layout *l, const float *x, const int32_t *y,
                    const uint32_t *q, uint32_t mx, float step, float beta,
                    vq_diag *diag) {
  vq_entropy_params ep;
  uint8_t *gbuf = NULL;
  size_t gsize = 0;
  const uint8_t *body;
  size_t bsize;
  double err = 0.0, sig = 0.0;
  vq_rc_enc e;
  uint64_t b, full;
  int rc = VQ_OK;
  vq_rc_enc_init(&e);
  for (b = 0; b < l->blocks && rc == VQ_OK; b++) {
    uint64_t start;
    uint32_t n, k, i;
    float gh = vq_gain_dequantize((int32_t)q[b], step, beta);
    double nrm;
    block_of(l, b, &start, &n);
    k = pulses_of(l, n, q[b]);
    if (n == l->block) st->mean_k += k;
    nrm = shape_norm(y + start, n);
    for (i = 0; i < n; i++) {
      double xh = q[b] && k ? (float)((double)gh * y[start + i] / nrm) : 0.0;
      err += (x[start + i] - xh) * (x[start + i] - xh);
      sig += (double)x[start + i] * x[start + i];
    }
    if (q[b] && k) rc = vq_pvq_write(&e, y + start, n, k);
  }
  if (rc == VQ_OK && (rc = vq_entropy_params_init(&ep)) == VQ_OK) {
    ep.alphabet = mx + 1;
    ep.width = l->per_row;
    rc = vq_entropy_encode(&gbuf, &gsize, NULL, &ep, q, (size_t)l->blocks,
                           diag);
  }
  if (rc == VQ_OK) rc = vq_rc_enc_finish(&e, &body, &bsize);
  if (rc == VQ_OK) {
    *payload = malloc(4 + gsize + bsize);
    if (!*payload) rc = VQ_ERR_NOMEM;
  }
  if (rc == VQ_OK) {
    vq_put_le(*payload, gsize, 4);
    memcpy(*payload + 4, gbuf, gsize);
    if (bsize) memcpy(*payload + 4 + gsize, body, bsize);
    *psize = 4 + gsize + bsize;
    full = l->blocks - (l->cols % l->block ? l->rows : 0);
    st->mean_k = full ? st->mean_k / (double)full : 0.0;
    st->mse = l->count ? err / (double)l->count : 0.0;
    st->snr_db = err > 0 ? 10.0 * log10(sig / err) : HUGE_VAL;
  }
  vq_free(gbuf);
  vq_rc_enc_clear(&e);
  return rc;
}

static uint8_t *head_write(size_t *size, int ndim, const uint64_t *shape,
                           const layout *l, float step, float beta,
                           uint32_t alphabet) {
  size_t n = 4 + 8 * (size_t)ndim + 20 + (l->pps > 0.0f ? 4 : 0), pos = 4;
  uint8_t *h = malloc(n);
  int i;
  if (!h) return NULL;
  h[0] = VQ_KIND_PVQ, h[1] = HEAD_VERSION, h[2] = (uint8_t)ndim;
  h[3] = l->pps > 0.0f ? HEAD_FROM_GAIN : 0;
  for (i = 0; i < ndim; i++, pos += 8) vq_put_le(h + pos, shape[i], 8);
  vq_put_le(h + pos, l->block, 4), pos += 4;
  vq_put_le(h + pos, l->k, 4), pos += 4;
  vq_put_le(h + pos, float_bits(step), 4), pos += 4;
  vq_put_le(h + pos, float_bits(beta), 4), pos += 4;
  vq_put_le(h + pos, alphabet, 4), pos += 4;
  if (l->pps > 0.0f) vq_put_le(h + pos, float_bits(l->pps), 4);
  *size = n;
  return h;
}

int vq_pvqfile_encode(uint8_t **out, size_t *out_size, vq_pvq_stats *stats,
                      const vq_pvq_params *p, const float *x, int ndim,
                      const uint64_t *shape, vq_diag *diag) {
  vq_pvq_stats st;
  vq_container_writer *w = NULL;
  layout l;
  int32_t *y = NULL;
  float *gain = NULL, step;
  double *corr = NULL;
  uint8_t *payload = NULL, *head = NULL;
  size_t psize = 0, hsize = 0;
  uint32_t k, alphabet = 1, mx = 0, *q = NULL;
  uint64_t i;
  int rc;
  *out = NULL;
  *out_size = 0;
  memset(&st, 0, sizeof st);
  if (!p || p->abi_ != VQ_ABI_VERSION || p->size_ != sizeof(*p))
    return vq_diag_set(diag, VQ_ERR_ABI, "PVQ parameters not set up by "
                       "vq_pvq_params_init()");
  if (p->block < 1 || p->block > VQ_PVQ_MAX_N || p->k > VQ_PVQ_MAX_K ||
      !(p->beta >= 1.0f) || p->beta > MAX_BETA || !(p->step >= 0.0f) ||
      isinf(p->step) || !(p->pulses_per_step >= 0.0f) ||
      p->pulses_per_step > MAX_PPS ||
      ((p->pulses_per_step > 0.0f ? !p->step : !p->k) &&
       !(p->bits > 0.0 && p->bits <= 64.0)))
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "invalid PVQ parameters "
                       "(block %u, k %u, bits %g, step %g, beta %g, pulses "
                       "per step %g)", p->block, p->k, p->bits, p->step,
                       p->beta, p->pulses_per_step);
  k = p->pulses_per_step > 0.0f ? 0
      : p->k ? p->k : vq_pvq_k_for_bits(p->block, p->bits * p->block);
  if ((rc = layout_of(&l, ndim, shape, p->block, k)) < 0)
    return vq_diag_set(diag, rc, "invalid array shape for PVQ");
  l.pps = p->pulses_per_step;
  for (i = 0; i < l.count; i++)
    if (!isfinite(x[i]))
      return vq_diag_set(diag, VQ_ERR_NONFINITE, "value %llu is not finite",
                         (unsigned long long)i);
  y = vq_malloc_array(l.count ? l.count : 1, sizeof *y);
  gain = vq_malloc_array(l.blocks ? l.blocks : 1, sizeof *gain);
  corr = vq_malloc_array(l.blocks ? l.blocks : 1, sizeof *corr);
  q = vq_malloc_array(l.blocks ? l.blocks : 1, sizeof *q);
  rc = y && gain && corr && q ? VQ_OK : VQ_ERR_NOMEM;
  step = p->step;
  if (rc == VQ_OK) gains_all(gain, &l, x);
  if (rc == VQ_OK && l.pps > 0.0f) {
    /* the step first, then the gain indices that set the pulses */
    if (!(step > 0.0f))
      rc = step_for_rate(&step, gain, &l, p->bits * (double)l.count,
                         p->beta);
    if (rc == VQ_OK)
      rc = quantize_gains(q, &mx, gain, &l, step, p->beta, diag);
    if (rc == VQ_OK)
      rc = search_all(y, corr, &l, x, q, p->flags, vq_threads(p->nthreads));
  } else if (rc == VQ_OK) {
    rc = search_all(y, corr, &l, x, NULL, p->flags, vq_threads(p->nthreads));
    if (!(step > 0.0f))
      step = balanced_step(gain, corr, l.blocks, l.block);
    if (rc == VQ_OK)
      rc = quantize_gains(q, &mx, gain, &l, step, p->beta, diag);
  }
  if (rc == VQ_OK)
    rc = code_all(&payload, &psize, &st, &l, x, y, q, mx, step, p->beta,
                  diag);
  if (rc == VQ_OK) {
    alphabet = mx + 1;
    head = head_write(&hsize, ndim, shape, &l, step, p->beta, alphabet);
    rc = head ? vq_container_writer_create(&w) : VQ_ERR_NOMEM;
  }
  if (rc == VQ_OK) rc = vq_container_writer_add(w, "HEAD", head, hsize);
  if (rc == VQ_OK) rc = vq_container_writer_add(w, "DATA", payload, psize);
  if (rc == VQ_OK) rc = vq_container_writer_finish(w, out, out_size);
  vq_container_writer_destroy(w);
  if (rc == VQ_OK && stats) {
    st.k = k;
    st.step = step;
    st.blocks = l.blocks;
    st.bytes = *out_size;
    st.bits_per_value = l.count ? 8.0 * (double)*out_size / (double)l.count
                                : 0.0;
    *stats = st;
  }
  free(head), free(payload), free(y), free(gain), free(corr), free(q);
  if (rc == VQ_ERR_NOMEM) return vq_diag_set(diag, rc, "out of memory");
  return rc;
}

/* ---- decoder ------------------------------------------------------------ */

typedef struct pvq_head {
  int ndim;
  uint64_t shape[VQ_MAX_DIMS];
  uint32_t block, k, alphabet;
  float step, beta, pps;
} pvq_head;

static int head_read(pvq_head *h, const vq_chunk *c, const char *name,
                     vq_diag *diag) {
  const uint8_t *b = c->data;
  size_t pos = 4;
  int i;
  if (c->size < 4 || b[0] != VQ_KIND_PVQ)
    return vq_diag_set(diag, VQ_ERR_UNSUPPORTED, "%s: not a PVQ stream",
                       name);
  if (b[1] != HEAD_VERSION)
    return vq_diag_set(diag, VQ_ERR_UNSUPPORTED, "%s: PVQ header version %u "
                       "is not supported", name, b[1]);
  h->ndim = b[2];
  if (h->ndim < 1 || h->ndim > VQ_MAX_DIMS || (b[3] & ~HEAD_FROM_GAIN) ||
      c->size != 4 + 8 * (size_t)h->ndim + 20 +
                     (b[3] & HEAD_FROM_GAIN ? 4 : 0))
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: invalid PVQ header", name);
  for (i = 0; i < h->ndim; i++, pos += 8) h->shape[i] = vq_get_le(b + pos, 8);
  h->block = (uint32_t)vq_get_le(b + pos, 4), pos += 4;
  h->k = (uint32_t)vq_get_le(b + pos, 4), pos += 4;
  h->step = bits_float((uint32_t)vq_get_le(b + pos, 4)), pos += 4;
  h->beta = bits_float((uint32_t)vq_get_le(b + pos, 4)), pos += 4;
  h->alphabet = (uint32_t)vq_get_le(b + pos, 4), pos += 4;
  h->pps = b[3] & HEAD_FROM_GAIN ? bits_float((uint32_t)vq_get_le(b + pos, 4))
                                 : 0.0f;
  /* the largest gain must be a finite float too; pulses from the gain
   * leave k 0 */
  if ((b[3] & HEAD_FROM_GAIN) &&
      (!(h->pps > 0.0f) || h->pps > MAX_PPS || h->k != 0))
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: invalid PVQ parameters",
                       name);
  if (h->block < 1 || h->block > VQ_PVQ_MAX_N || h->k > VQ_PVQ_MAX_K ||
      !(h->step > 0.0f) || isinf(h->step) || !(h->beta >= 1.0f) ||
      h->beta > MAX_BETA || h->alphabet < 1 ||
      h->alphabet > VQ_ENTROPY_MAX_ALPHABET ||
      !isfinite(vq_gain_dequantize((int32_t)h->alphabet - 1, h->step,
                                   h->beta)))
    return vq_diag_set(diag, VQ_ERR_FORMAT, "%s: invalid PVQ parameters",
                       name);
  return VQ_OK;
}

int vq_pvqfile_info_parse(vq_pvqfile_info *info, const void *head,
                          size_t head_size, vq_diag *diag) {
  vq_chunk c;
  pvq_head h;
  int rc, i;
  memset(info, 0, sizeof *info);
  memset(&c, 0, sizeof c);
  if (!head || head_size > UINT32_MAX)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "invalid HEAD chunk");
  c.data = head;
  c.size = (uint32_t)head_size;
  if ((rc = head_read(&h, &c, "HEAD", diag)) < 0) return rc;
  info->ndim = h.ndim;
  for (i = 0; i < h.ndim; i++) info->shape[i] = h.shape[i];
  info->block = h.block;
  info->k = h.k;
  info->step = h.step;
  info->beta = h.beta;
  info->pulses_per_step = h.pps;
  return VQ_OK;
}

/* Decodes the payload into a (of the layout's size). */
static int decode_payload(float *a, const layout *l, const pvq_head *h,
                          const vq_chunk *data, int32_t *y, uint32_t *q,
                          const char *name, vq_diag *diag) {
  size_t gsize;
  vq_rc_dec d;
  uint64_t b;
  int rc;
  if (data->size < 4 || (gsize = (size_t)vq_get_le(data->data, 4)) >
                            data->size - 4)
    return vq_diag_set(diag, VQ_ERR_TRUNCATED, "%s: PVQ payload is "
                       "truncated", name);
  rc = vq_entropy_decode(q, (size_t)l->blocks, h->alphabet, l->per_row,
                         data->data + 4, gsize, NULL);
  if (rc < 0)
    return vq_diag_set(diag, rc, "%s: the gains are damaged", name);
  vq_rc_dec_init(&d, data->data + 4 + gsize, data->size - 4 - gsize);
  for (b = 0; b < l->blocks; b++) {
    uint64_t start;
    uint32_t n, k, i;
    float gh = vq_gain_dequantize((int32_t)q[b], h->step, h->beta);
    double nrm;
    block_of(l, b, &start, &n);
    k = pulses_of(l, n, q[b]);
    if (!q[b] || !k) {
      memset(a + start, 0, n * sizeof *a);
      continue;
    }
    if ((rc = vq_pvq_read(&d, y, n, k)) < 0 || d.error) break;
    nrm = shape_norm(y, n);
    for (i = 0; i < n; i++) a[start + i] = (float)((double)gh * y[i] / nrm);
  }
  if (rc == VQ_OK) rc = vq_rc_dec_finish(&d);
  else if (rc != VQ_ERR_NOMEM) rc = VQ_ERR_FORMAT;
  if (rc < 0)
    return vq_diag_set(diag, rc, "%s: the shapes are %s", name,
                       rc == VQ_ERR_TRUNCATED ? "truncated" : "damaged");
  return VQ_OK;
}

int vq_pvqfile_decode(vq_array **out, const void *vq, size_t size,
                      uint64_t max_values, const char *name, vq_diag *diag) {
  vq_container *c = NULL;
  const vq_chunk *head, *data;
  pvq_head h;
  layout l;
  int32_t *y = NULL;
  uint32_t *q = NULL;
  int rc;
  *out = NULL;
  if (!name) name = "<memory>";
  if (!max_values) max_values = (uint64_t)1 << 32;
  rc = vq_container_parse(&c, vq, size, 0, NULL, name, diag);
  if (rc < 0) return rc;
  head = vq_container_find(c, "HEAD", 0);
  data = vq_container_find(c, "DATA", 0);
  if ((rc = head_read(&h, head, name, diag)) < 0) goto done;
  if (!data || vq_container_find(c, "DATA", 1)) {
    rc = vq_diag_set(diag, VQ_ERR_FORMAT, "%s: a PVQ file has one DATA "
                     "chunk", name);
    goto done;
  }
  rc = layout_of(&l, h.ndim, h.shape, h.block, h.k);
  l.pps = h.pps;
  if (rc == VQ_OK && (l.count > max_values || l.blocks > max_values))
    rc = VQ_ERR_LIMIT;
  if (rc < 0) {
    rc = vq_diag_set(diag, rc == VQ_ERR_LIMIT ? rc : VQ_ERR_FORMAT, "%s: "
                     "shape exceeds the limit of %llu values", name,
                     (unsigned long long)max_values);
    goto done;
  }
  y = vq_malloc_array(h.block, sizeof *y);
  q = vq_malloc_array(l.blocks ? l.blocks : 1, sizeof *q);
  rc = y && q ? vq_array_create(out, VQ_DTYPE_F32, h.ndim, h.shape)
              : VQ_ERR_NOMEM;
  if (rc < 0) {
    rc = vq_diag_set(diag, rc, "%s: out of memory", name);
    goto done;
  }
  rc = decode_payload((*out)->data, &l, &h, data, y, q, name, diag);
  if (rc < 0) {
    vq_array_destroy(*out);
    *out = NULL;
  }
done:
  free(y), free(q);
  vq_container_destroy(c);
  return rc;
}
