/* AVX-512 kernel. Register tile: 12 vectors x 32 codewords
 * (24 accumulators in zmm registers), codewords from packed panels. */
#include "config.h"
#include <immintrin.h>
#include <math.h>
#include <string.h>
#include "internal.h"
#include "dsp/dist.h"

#define ROWS 12
#define PANEL 32

#define FMA_ROW(r)                                   \
  b = _mm512_set1_ps(x[(r) * d + j]);                \
  a[2 * (r)] = _mm512_fmadd_ps(b, c0, a[2 * (r)]);   \
  a[2 * (r) + 1] = _mm512_fmadd_ps(b, c1, a[2 * (r) + 1])

/* Accumulates dot products of 12 rows (stride d) with one panel. */
static void micro12(__m512 acc[24], const float *x, size_t d,
                   const float *pan) {
  __m512 a[24];
  size_t j;
  int t;
  for (t = 0; t < 24; t++) a[t] = _mm512_setzero_ps();
  for (j = 0; j < d; j++) {
    __m512 c0 = _mm512_load_ps(pan + j * PANEL);
    __m512 c1 = _mm512_load_ps(pan + j * PANEL + 16);
    __m512 b;
    FMA_ROW(0); FMA_ROW(1); FMA_ROW(2); FMA_ROW(3);
    FMA_ROW(4); FMA_ROW(5); FMA_ROW(6); FMA_ROW(7);
    FMA_ROW(8); FMA_ROW(9); FMA_ROW(10); FMA_ROW(11);
  }
  for (t = 0; t < 24; t++) acc[t] = a[t];
}

static void update_best(float *bv, int32_t *bi, __m512 s, __m512i id) {
  __m512 old = _mm512_load_ps(bv);
  __mmask16 lt = _mm512_cmp_ps_mask(s, old, _CMP_LT_OQ);
  _mm512_mask_store_ps(bv, lt, s);
  _mm512_mask_store_epi32(bi, lt, id);
}

static size_t block_rows(size_t d) {
  size_t rb = (16384 / 4) / (d ? d : 1);
  rb -= rb % ROWS;
  return rb < ROWS ? ROWS : rb > 96 ? 96 : rb;
}

static void reduce_lanes(int32_t *idx, float *score, const float *bv,
                         const int32_t *bi) {
  float best = bv[0];
  int32_t b = bi[0];
  size_t l;
  for (l = 1; l < PANEL; l++)
    if (bv[l] < best || (bv[l] == best && bi[l] < b)) best = bv[l], b = bi[l];
  *idx = b;
  *score = best;
}

void vq_argmin_avx512(int32_t *idx, float *score, const float *x, size_t n,
                      size_t d, const float *packed, const float *half_norm,
                      size_t npanels, size_t k) {
  size_t rb = block_rows(d), i0, p, r, q;
  float *bv = vq_aligned_array(rb * PANEL, sizeof(float));
  int32_t *bi = vq_aligned_array(rb * PANEL, sizeof(int32_t));
  float *pad = vq_aligned_array(ROWS * d, sizeof(float));
  __m512 acc[24];
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
      __m512 h0 = _mm512_loadu_ps(half_norm + p * PANEL);
      __m512 h1 = _mm512_loadu_ps(half_norm + p * PANEL + 16);
      __m512i id0 = _mm512_add_epi32(
          _mm512_set1_epi32((int32_t)(p * PANEL)),
          _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                            14, 15));
      __m512i id1 = _mm512_add_epi32(id0, _mm512_set1_epi32(16));
      for (r = 0; r < nb; r += ROWS) {
        const float *rows = x + (i0 + r) * d;
        size_t nr = VQ_MIN(ROWS, nb - r);
        if (nr < ROWS) {
          memset(pad, 0, ROWS * d * sizeof(float));
          memcpy(pad, rows, nr * d * sizeof(float));
          rows = pad;
        }
        micro12(acc, rows, d, pan);
        for (q = 0; q < nr; q++) {
          float *v = bv + (r + q) * PANEL;
          int32_t *ix = bi + (r + q) * PANEL;
          update_best(v, ix, _mm512_sub_ps(h0, acc[2 * q]), id0);
          update_best(v + 16, ix + 16, _mm512_sub_ps(h1, acc[2 * q + 1]),
                      id1);
        }
      }
    }
    for (r = 0; r < nb; r++)
      reduce_lanes(idx + i0 + r, score + i0 + r, bv + r * PANEL,
                   bi + r * PANEL);
  }
  vq_free(bv), vq_free(bi), vq_free(pad);
}

/* Two panels (32 vectors) against 4 candidates: 8 FMA chains. */
static void pp_tile(__m512 acc[8], const float *xt0, const float *xt1,
                    size_t d, const float *c0, const float *c1,
                    const float *c2, const float *c3) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
  __m512 a5 = a0, a6 = a0, a7 = a0;
  size_t j;
  for (j = 0; j < d; j++) {
    __m512 x0 = _mm512_load_ps(xt0 + j * 16), x1 = _mm512_load_ps(xt1 + j * 16);
    __m512 b;
    b = _mm512_set1_ps(c0[j]);
    a0 = _mm512_fmadd_ps(x0, b, a0), a1 = _mm512_fmadd_ps(x1, b, a1);
    b = _mm512_set1_ps(c1[j]);
    a2 = _mm512_fmadd_ps(x0, b, a2), a3 = _mm512_fmadd_ps(x1, b, a3);
    b = _mm512_set1_ps(c2[j]);
    a4 = _mm512_fmadd_ps(x0, b, a4), a5 = _mm512_fmadd_ps(x1, b, a5);
    b = _mm512_set1_ps(c3[j]);
    a6 = _mm512_fmadd_ps(x0, b, a6), a7 = _mm512_fmadd_ps(x1, b, a7);
  }
  acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
  acc[4] = a4, acc[5] = a5, acc[6] = a6, acc[7] = a7;
}

/* Finishes one panel for one candidate (same arithmetic as the C path). */
static void pp_finish(float *out, float *lanes, __m512 dot, const float *xn2,
                      float cn2, const float *pot, const float *w) {
  __m512 v = _mm512_sub_ps(_mm512_add_ps(_mm512_loadu_ps(xn2),
                                         _mm512_set1_ps(cn2)),
                           _mm512_mul_ps(_mm512_set1_ps(2.0f), dot));
  __m512 mn;
  v = _mm512_max_ps(v, _mm512_setzero_ps());
  _mm512_storeu_ps(out, v);
  mn = _mm512_min_ps(v, _mm512_loadu_ps(pot));
  _mm512_storeu_ps(lanes, _mm512_fmadd_ps(_mm512_loadu_ps(w), mn,
                                          _mm512_loadu_ps(lanes)));
}

void vq_pp_eval_avx512(float *out, float *lanes, const float *xt,
                       size_t np, size_t d, const float *c, size_t m,
                       const float *xn2, const float *cn2, const float *pot,
                       const float *w) {
  size_t rows = 16 * np, p, q, t;
  __m512 acc[8];
  for (p = 0; p < np; p += 2) {
    size_t p1 = p + 1 < np ? p + 1 : p; /* odd count: repeat, not stored */
    for (q = 0; q < m; q += 4) {
      const float *cq[4];
      for (t = 0; t < 4; t++) cq[t] = c + VQ_MIN(q + t, m - 1) * d;
      pp_tile(acc, xt + p * d * 16, xt + p1 * d * 16, d, cq[0], cq[1], cq[2],
              cq[3]);
      for (t = 0; t < 4 && q + t < m; t++) {
        size_t l = q + t;
        pp_finish(out + l * rows + p * 16, lanes + l * 16, acc[2 * t],
                  xn2 + p * 16, cn2[l], pot + p * 16, w + p * 16);
        if (p1 != p)
          pp_finish(out + l * rows + p1 * 16, lanes + l * 16, acc[2 * t + 1],
                    xn2 + p1 * 16, cn2[l], pot + p1 * 16, w + p1 * 16);
      }
    }
  }
}
