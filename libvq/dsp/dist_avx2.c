/* AVX2 + FMA kernels. Register tile: 6 vectors x 16 codewords
 * (12 accumulators), codewords streamed from packed panels in L1. */
#include "config.h"
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "dsp/dist.h"

#define ROWS 6
#define PANEL 16

/* Accumulates dot products of 6 rows (stride d) with one panel. */
static void micro6(__m256 acc[12], const float *x, size_t d,
                   const float *pan) {
  const float *x0 = x, *x1 = x + d, *x2 = x + 2 * d, *x3 = x + 3 * d;
  const float *x4 = x + 4 * d, *x5 = x + 5 * d;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
  __m256 a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  size_t j;
  for (j = 0; j < d; j++) {
    __m256 c0 = _mm256_load_ps(pan + j * PANEL);
    __m256 c1 = _mm256_load_ps(pan + j * PANEL + 8);
    __m256 b;
    b = _mm256_broadcast_ss(x0 + j);
    a0 = _mm256_fmadd_ps(b, c0, a0);
    a1 = _mm256_fmadd_ps(b, c1, a1);
    b = _mm256_broadcast_ss(x1 + j);
    a2 = _mm256_fmadd_ps(b, c0, a2);
    a3 = _mm256_fmadd_ps(b, c1, a3);
    b = _mm256_broadcast_ss(x2 + j);
    a4 = _mm256_fmadd_ps(b, c0, a4);
    a5 = _mm256_fmadd_ps(b, c1, a5);
    b = _mm256_broadcast_ss(x3 + j);
    a6 = _mm256_fmadd_ps(b, c0, a6);
    a7 = _mm256_fmadd_ps(b, c1, a7);
    b = _mm256_broadcast_ss(x4 + j);
    a8 = _mm256_fmadd_ps(b, c0, a8);
    a9 = _mm256_fmadd_ps(b, c1, a9);
    b = _mm256_broadcast_ss(x5 + j);
    a10 = _mm256_fmadd_ps(b, c0, a10);
    a11 = _mm256_fmadd_ps(b, c1, a11);
  }
  acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3, acc[4] = a4;
  acc[5] = a5, acc[6] = a6, acc[7] = a7, acc[8] = a8, acc[9] = a9;
  acc[10] = a10, acc[11] = a11;
}

/* Keeps, per lane, the lowest score and its codeword index. */
static void update_best(float *bv, int32_t *bi, __m256 s, __m256i id) {
  __m256 old = _mm256_load_ps(bv);
  __m256 lt = _mm256_cmp_ps(s, old, _CMP_LT_OQ);
  __m256i oi = _mm256_load_si256((const __m256i *)bi);
  _mm256_store_ps(bv, _mm256_blendv_ps(old, s, lt));
  _mm256_store_si256((__m256i *)bi,
                     _mm256_castps_si256(_mm256_blendv_ps(
                         _mm256_castsi256_ps(oi), _mm256_castsi256_ps(id),
                         lt)));
}

/* Lowest score over lanes; the lowest index among equal scores. */
static void reduce_lanes(int32_t *idx, float *score, const float *bv,
                         const int32_t *bi, size_t lanes) {
  float best = bv[0];
  int32_t b = bi[0];
  size_t l;
  for (l = 1; l < lanes; l++)
    if (bv[l] < best || (bv[l] == best && bi[l] < b)) best = bv[l], b = bi[l];
  *idx = b;
  *score = best;
}

static size_t block_rows(size_t d) {
  size_t rb = (16384 / 4) / (d ? d : 1);
  rb -= rb % ROWS;
  return rb < ROWS ? ROWS : rb > 96 ? 96 : rb;
}

void vq_argmin_avx2(int32_t *idx, float *score, const float *x, size_t n,
                    size_t d, const float *packed, const float *half_norm,
                    size_t npanels, size_t k) {
  size_t rb = block_rows(d), i0, p, r, q;
  float *bv = vq_aligned_array(rb * PANEL, sizeof(float));
  int32_t *bi = vq_aligned_array(rb * PANEL, sizeof(int32_t));
  float *pad = vq_aligned_array(ROWS * d, sizeof(float));
  __m256 acc[12];
  (void)k;
  if (!bv || !bi || !pad) {
    vq_free(bv), vq_free(bi), vq_free(pad);
    vq_argmin_c(idx, score, x, n, d, packed, half_norm, 0, 0);
    return;
  }
  for (i0 = 0; i0 < n; i0 += rb) {
    size_t nb = VQ_MIN(rb, n - i0);
    for (r = 0; r < nb * PANEL; r++) bv[r] = INFINITY, bi[r] = 0;
    for (p = 0; p < npanels; p++) {
      const float *pan = packed + p * d * PANEL;
      __m256 h0 = _mm256_loadu_ps(half_norm + p * PANEL);
      __m256 h1 = _mm256_loadu_ps(half_norm + p * PANEL + 8);
      __m256i id0 = _mm256_add_epi32(
          _mm256_set1_epi32((int32_t)(p * PANEL)),
          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      __m256i id1 = _mm256_add_epi32(id0, _mm256_set1_epi32(8));
      for (r = 0; r < nb; r += ROWS) {
        const float *rows = x + (i0 + r) * d;
        size_t nr = VQ_MIN(ROWS, nb - r);
        if (nr < ROWS) {
          memset(pad, 0, ROWS * d * sizeof(float));
          memcpy(pad, rows, nr * d * sizeof(float));
          rows = pad;
        }
        micro6(acc, rows, d, pan);
        for (q = 0; q < nr; q++) {
          float *v = bv + (r + q) * PANEL;
          int32_t *ix = bi + (r + q) * PANEL;
          update_best(v, ix, _mm256_sub_ps(h0, acc[2 * q]), id0);
          update_best(v + 8, ix + 8, _mm256_sub_ps(h1, acc[2 * q + 1]), id1);
        }
      }
    }
    for (r = 0; r < nb; r++)
      reduce_lanes(idx + i0 + r, score + i0 + r, bv + r * PANEL,
                   bi + r * PANEL, PANEL);
  }
  vq_free(bv), vq_free(bi), vq_free(pad);
}

/* Squared distances of 4 rows to 8 transposed codewords. */
static void l2sq_4x8(float *out, size_t ostride, const float *x, size_t d,
                     const float *ct, size_t mp, size_t nr, size_t nl) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  float tmp[8];
  size_t j, r;
  for (j = 0; j < d; j++) {
    __m256 c = _mm256_load_ps(ct + j * mp), t;
    t = _mm256_sub_ps(_mm256_set1_ps(x[j]), c);
    a0 = _mm256_fmadd_ps(t, t, a0);
    t = _mm256_sub_ps(_mm256_set1_ps(x[(nr > 1) * d + j]), c);
    a1 = _mm256_fmadd_ps(t, t, a1);
    t = _mm256_sub_ps(_mm256_set1_ps(x[(nr > 2) * 2 * d + j]), c);
    a2 = _mm256_fmadd_ps(t, t, a2);
    t = _mm256_sub_ps(_mm256_set1_ps(x[(nr > 3) * 3 * d + j]), c);
    a3 = _mm256_fmadd_ps(t, t, a3);
  }
  for (r = 0; r < nr; r++) {
    _mm256_storeu_ps(tmp, r == 0 ? a0 : r == 1 ? a1 : r == 2 ? a2 : a3);
    memcpy(out + r * ostride, tmp, nl * sizeof(float));
  }
}

/* Squared distances to m codewords, 8 codewords per register and 4 rows
 * at a time; FMA order over j as the reference. */
void vq_l2sq_many_avx2(float *out, const float *x, size_t n, size_t d,
                       const float *c, size_t m) {
  size_t mp = (m + 7) & ~(size_t)7, i, l, j;
  float *ct = vq_aligned_array(mp * d, sizeof(float));
  if (!ct) {
    vq_l2sq_many_c(out, x, n, d, c, m);
    return;
  }
  for (l = 0; l < m; l++)
    for (j = 0; j < d; j++) ct[j * mp + l] = c[l * d + j];
  for (i = 0; i < n; i += 4)
    for (l = 0; l < mp; l += 8)
      l2sq_4x8(out + i * m + l, m, x + i * d, d, ct + l, mp,
               VQ_MIN(4, n - i), VQ_MIN(8, m - l));
  vq_free(ct);
}

/* Squared norms, 8 rows interleaved so the FMA chains overlap. */
void vq_norms_avx2(float *out, const float *x, size_t n, size_t d) {
  size_t i = 0, j, r;
  for (; i + 8 <= n; i += 8) {
    float a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (j = 0; j < d; j++)
      for (r = 0; r < 8; r++) {
        float v = x[(i + r) * d + j];
        a[r] = fmaf(v, v, a[r]);
      }
    memcpy(out + i, a, sizeof a);
  }
  for (; i < n; i++) {
    float a = 0.0f;
    for (j = 0; j < d; j++) a = fmaf(x[i * d + j], x[i * d + j], a);
    out[i] = a;
  }
}

void vq_axpy_f64_avx2(double *acc, const float *x, double w, size_t d) {
  __m256d wv = _mm256_set1_pd(w);
  size_t j = 0;
  for (; j + 4 <= d; j += 4) {
    __m256d xv = _mm256_cvtps_pd(_mm_loadu_ps(x + j));
    _mm256_storeu_pd(acc + j,
                     _mm256_fmadd_pd(wv, xv, _mm256_loadu_pd(acc + j)));
  }
  for (; j < d; j++) acc[j] = fma(w, (double)x[j], acc[j]);
}

/* k-means++ evaluation: one panel (16 vectors, two registers) against 4
 * candidates, 8 FMA chains; same arithmetic as vq_pp_eval_c(). */
static void pp_tile(__m256 acc[8], const float *xt, size_t d,
                    const float *const cq[4]) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
  __m256 a5 = a0, a6 = a0, a7 = a0;
  size_t j;
  for (j = 0; j < d; j++) {
    __m256 x0 = _mm256_load_ps(xt + j * 16), x1 = _mm256_load_ps(xt + j * 16 + 8);
    __m256 b;
    b = _mm256_broadcast_ss(cq[0] + j);
    a0 = _mm256_fmadd_ps(x0, b, a0), a1 = _mm256_fmadd_ps(x1, b, a1);
    b = _mm256_broadcast_ss(cq[1] + j);
    a2 = _mm256_fmadd_ps(x0, b, a2), a3 = _mm256_fmadd_ps(x1, b, a3);
    b = _mm256_broadcast_ss(cq[2] + j);
    a4 = _mm256_fmadd_ps(x0, b, a4), a5 = _mm256_fmadd_ps(x1, b, a5);
    b = _mm256_broadcast_ss(cq[3] + j);
    a6 = _mm256_fmadd_ps(x0, b, a6), a7 = _mm256_fmadd_ps(x1, b, a7);
  }
  acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
  acc[4] = a4, acc[5] = a5, acc[6] = a6, acc[7] = a7;
}

static void pp_finish8(float *out, float *lanes, __m256 dot,
                       const float *xn2, float cn2, const float *pot,
                       const float *w) {
  __m256 v = _mm256_sub_ps(_mm256_add_ps(_mm256_loadu_ps(xn2),
                                         _mm256_set1_ps(cn2)),
                           _mm256_mul_ps(_mm256_set1_ps(2.0f), dot));
  __m256 mn;
  v = _mm256_max_ps(v, _mm256_setzero_ps());
  _mm256_storeu_ps(out, v);
  mn = _mm256_min_ps(v, _mm256_loadu_ps(pot));
  _mm256_storeu_ps(lanes, _mm256_fmadd_ps(_mm256_loadu_ps(w), mn,
                                          _mm256_loadu_ps(lanes)));
}

void vq_pp_eval_avx2(float *out, float *lanes, const float *xt, size_t np,
                     size_t d, const float *c, size_t m, const float *xn2,
                     const float *cn2, const float *pot, const float *w) {
  size_t rows = 16 * np, p, q, t;
  __m256 acc[8];
  for (p = 0; p < np; p++) {
    for (q = 0; q < m; q += 4) {
      const float *cq[4];
      for (t = 0; t < 4; t++) cq[t] = c + VQ_MIN(q + t, m - 1) * d;
      pp_tile(acc, xt + p * d * 16, d, cq);
      for (t = 0; t < 4 && q + t < m; t++) {
        size_t l = q + t, o = p * 16;
        pp_finish8(out + l * rows + o, lanes + l * 16, acc[2 * t], xn2 + o,
                   cn2[l], pot + o, w + o);
        pp_finish8(out + l * rows + o + 8, lanes + l * 16 + 8, acc[2 * t + 1],
                   xn2 + o + 8, cn2[l], pot + o + 8, w + o + 8);
      }
    }
  }
}
