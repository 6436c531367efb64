/* Plain-C reference kernels and run-time dispatch. The reference uses
 * fmaf() in the same order as the SIMD kernels, so every path returns the
 * same bits; it is the oracle the SIMD paths are tested against. */
#include "config.h"
#include <math.h>
#include "internal.h"
#include "dsp/dist.h"

void vq_dist_pack(float *packed, float *half_norm, const float *codebook,
                  size_t k, size_t d, size_t panel) {
  size_t npanels = (k + panel - 1) / panel, p, j, c;
  for (p = 0; p < npanels; p++) {
    for (c = 0; c < panel; c++) {
      size_t i = p * panel + c;
      float *dst = packed + p * d * panel + c;
      if (i < k) {
        const float *src = codebook + i * d;
        for (j = 0; j < d; j++) dst[j * panel] = src[j];
        half_norm[i] = 0.5f * vq_dist_norm2(src, d);
      } else {
        for (j = 0; j < d; j++) dst[j * panel] = 0.0f;
        half_norm[i] = INFINITY;
      }
    }
  }
}

float vq_dist_norm2(const float *x, size_t d) {
  float acc = 0.0f;
  size_t j;
  for (j = 0; j < d; j++) acc = fmaf(x[j], x[j], acc);
  return acc;
}

void vq_argmin_c(int32_t *idx, float *score, const float *x, size_t n,
                 size_t d, const float *packed, const float *half_norm,
                 size_t npanels, size_t k) {
  size_t i, c, j;
  (void)npanels;
  /* With panel = 1 the packed layout is the row-major codebook. */
  for (i = 0; i < n; i++) {
    const float *xi = x + i * d;
    float best = INFINITY;
    int32_t bi = 0;
    for (c = 0; c < k; c++) {
      const float *cc = packed + c * d;
      float dot = 0.0f, s;
      for (j = 0; j < d; j++) dot = fmaf(xi[j], cc[j], dot);
      s = half_norm[c] - dot;
      if (s < best) best = s, bi = (int32_t)c;
    }
    idx[i] = bi;
    score[i] = best;
  }
}

void vq_l2sq_many_c(float *out, const float *x, size_t n, size_t d,
                    const float *c, size_t m) {
  size_t i, l, j;
  for (i = 0; i < n; i++) {
    for (l = 0; l < m; l++) {
      float acc = 0.0f;
      for (j = 0; j < d; j++) {
        float t = x[i * d + j] - c[l * d + j];
        acc = fmaf(t, t, acc);
      }
      out[i * m + l] = acc;
    }
  }
}

void vq_pp_eval_c(float *out, float *lanes, const float *xt, size_t np,
                  size_t d, const float *c, size_t m, const float *xn2,
                  const float *cn2, const float *pot, const float *w) {
  size_t p, q, r, j;
  for (p = 0; p < np; p++)
    for (q = 0; q < m; q++)
      for (r = 0; r < 16; r++) {
        size_t i = p * 16 + r;
        float dot = 0.0f, v;
        for (j = 0; j < d; j++)
          dot = fmaf(xt[(p * d + j) * 16 + r], c[q * d + j], dot);
        v = (xn2[i] + cn2[q]) - 2.0f * dot;
        v = v > 0.0f ? v : 0.0f;
        out[q * 16 * np + i] = v;
        lanes[q * 16 + r] =
            fmaf(w[i], v < pot[i] ? v : pot[i], lanes[q * 16 + r]);
      }
}

void vq_norms_c(float *out, const float *x, size_t n, size_t d) {
  size_t i;
  for (i = 0; i < n; i++) out[i] = vq_dist_norm2(x + i * d, d);
}

void vq_axpy_f64_c(double *acc, const float *x, double w, size_t d) {
  size_t j;
  for (j = 0; j < d; j++) acc[j] = fma(w, (double)x[j], acc[j]);
}

static const vq_dist_impl impl_c = {
  "c", VQ_KERNEL_C, 1, vq_argmin_c, vq_l2sq_many_c, vq_pp_eval_c, vq_norms_c,
  vq_axpy_f64_c
};
#ifdef VQ_HAVE_AVX2
static const vq_dist_impl impl_avx2 = {
  "avx2", VQ_KERNEL_AVX2, 16, vq_argmin_avx2, vq_l2sq_many_avx2,
  vq_pp_eval_avx2, vq_norms_avx2, vq_axpy_f64_avx2
};
#endif
#ifdef VQ_HAVE_AVX512
static const vq_dist_impl impl_avx512 = {
  "avx512", VQ_KERNEL_AVX512, 32, vq_argmin_avx512, vq_l2sq_many_avx2,
  vq_pp_eval_avx512, vq_norms_avx2, vq_axpy_f64_avx2
};
#endif

const vq_dist_impl *vq_dist_select(vq_kernel kernel) {
  unsigned f = vq_cpu_features();
  (void)f;
  switch (kernel) {
    case VQ_KERNEL_C:
      return &impl_c;
    case VQ_KERNEL_AVX2:
#ifdef VQ_HAVE_AVX2
      if (f & VQ_CPU_AVX2) return &impl_avx2;
#endif
      return NULL;
    case VQ_KERNEL_AVX512:
#ifdef VQ_HAVE_AVX512
      if ((f & VQ_CPU_AVX512) && (f & VQ_CPU_AVX2)) return &impl_avx512;
#endif
      return NULL;
    case VQ_KERNEL_AUTO:
    default:
#ifdef VQ_HAVE_AVX512
      if ((f & VQ_CPU_AVX512) && (f & VQ_CPU_AVX2)) return &impl_avx512;
#endif
#ifdef VQ_HAVE_AVX2
      if (f & VQ_CPU_AVX2) return &impl_avx2;
#endif
      return &impl_c;
  }
}
