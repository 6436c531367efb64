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

/* Dot products of rows with m <= 16 codewords given transposed
 * (ct[j * 16 + l]), 8 rows at a time: out[i * m + l]. */
static void dots_8x16(float *out, size_t m, const float *x, size_t d,
                      const float *ct, size_t nr) {
  const float *x0 = x, *x1 = x + (nr > 1) * d, *x2 = x + (nr > 2) * 2 * d;
  const float *x3 = x + (nr > 3) * 3 * d, *x4 = x + (nr > 4) * 4 * d;
  const float *x5 = x + (nr > 5) * 5 * d, *x6 = x + (nr > 6) * 6 * d;
  const float *x7 = x + (nr > 7) * 7 * d;
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
  __m512 a5 = a0, a6 = a0, a7 = a0, res[8];
  float tmp[16];
  size_t j, r;
  for (j = 0; j < d; j++) {
    __m512 c = _mm512_load_ps(ct + j * 16);
    a0 = _mm512_fmadd_ps(_mm512_set1_ps(x0[j]), c, a0);
    a1 = _mm512_fmadd_ps(_mm512_set1_ps(x1[j]), c, a1);
    a2 = _mm512_fmadd_ps(_mm512_set1_ps(x2[j]), c, a2);
    a3 = _mm512_fmadd_ps(_mm512_set1_ps(x3[j]), c, a3);
    a4 = _mm512_fmadd_ps(_mm512_set1_ps(x4[j]), c, a4);
    a5 = _mm512_fmadd_ps(_mm512_set1_ps(x5[j]), c, a5);
    a6 = _mm512_fmadd_ps(_mm512_set1_ps(x6[j]), c, a6);
    a7 = _mm512_fmadd_ps(_mm512_set1_ps(x7[j]), c, a7);
  }
  res[0] = a0, res[1] = a1, res[2] = a2, res[3] = a3;
  res[4] = a4, res[5] = a5, res[6] = a6, res[7] = a7;
  for (r = 0; r < nr; r++) {
    _mm512_storeu_ps(tmp, res[r]);
    memcpy(out + r * m, tmp, m * sizeof(float));
  }
}

void vq_dots_avx512(float *out, const float *x, size_t n, size_t d,
                    const float *c, size_t m) {
  float *ct = vq_aligned_array(16 * d, sizeof(float));
  size_t i, j, l;
  if (!ct || m > 16) {
    vq_free(ct);
    vq_dots_c(out, x, n, d, c, m);
    return;
  }
  for (l = 0; l < m; l++)
    for (j = 0; j < d; j++) ct[j * 16 + l] = c[l * d + j];
  for (i = 0; i < n; i += 8)
    dots_8x16(out + i * m, m, x + i * d, d, ct, VQ_MIN(8, n - i));
  vq_free(ct);
}
