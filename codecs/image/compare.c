/* Image quality measures: PSNR over the colour channels, PSNR of BT.601
 * luma and SSIM of luma (Wang et al. 2004 on 8 x 8 windows with a step
 * of 4, uniform weights, C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2). */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <vq/imagecodec.h>

static float value(const vq_image *img, size_t i) {
  return img->depth == 16 ? ((const uint16_t *)img->pixels)[i] / 257.0f
                          : ((const uint8_t *)img->pixels)[i];
}

/* Colour channel c (0..2) of pixel i; gray counts as R = G = B. */
static float colour(const vq_image *img, size_t i, int c) {
  int ch = img->channels;
  return value(img, i * ch + (ch >= 3 ? c : 0));
}

static float luma(const vq_image *img, size_t i) {
  if (img->channels < 3) return colour(img, i, 0);
  return 0.299f * colour(img, i, 0) + 0.587f * colour(img, i, 1) +
         0.114f * colour(img, i, 2);
}

static double psnr_of(double sse, double n) {
  double mse = sse / n;
  return mse <= 1e-10 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
}

static double ssim_of(const float *a, const float *b, uint32_t w,
                      uint32_t h) {
  const double c1 = 6.5025, c2 = 58.5225;
  double total = 0.0;
  size_t count = 0;
  uint32_t x, y;
  if (w < 8 || h < 8) { /* one window over the whole image */
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0, n = (double)w * h;
    size_t i;
    for (i = 0; i < (size_t)w * h; i++) {
      double u = a[i], v = b[i];
      sa += u, sb += v, saa += u * u, sbb += v * v, sab += u * v;
    }
    {
      double ma = sa / n, mb = sb / n, va = saa / n - ma * ma,
             vb = sbb / n - mb * mb, cov = sab / n - ma * mb;
      return (2 * ma * mb + c1) * (2 * cov + c2) /
             ((ma * ma + mb * mb + c1) * (va + vb + c2));
    }
  }
  for (y = 0; y + 8 <= h; y += 4)
    for (x = 0; x + 8 <= w; x += 4) {
      double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
      double ma, mb, va, vb, cov;
      int i, j;
      for (i = 0; i < 8; i++)
        for (j = 0; j < 8; j++) {
          double u = a[(size_t)(y + i) * w + x + j];
          double v = b[(size_t)(y + i) * w + x + j];
          sa += u, sb += v, saa += u * u, sbb += v * v, sab += u * v;
        }
      ma = sa / 64, mb = sb / 64;
      va = saa / 64 - ma * ma, vb = sbb / 64 - mb * mb;
      cov = sab / 64 - ma * mb;
      total += (2 * ma * mb + c1) * (2 * cov + c2) /
               ((ma * ma + mb * mb + c1) * (va + vb + c2));
      count++;
    }
  return total / (double)count;
}

int vq_image_compare(const vq_image *a, const vq_image *b, double *psnr,
                     double *psnr_y, double *ssim) {
  size_t n, i;
  double sse = 0.0, sse_y = 0.0;
  float *la, *lb;
  int c;
  if (!a || !b || a->width != b->width || a->height != b->height)
    return VQ_ERR_INVALID_ARG;
  n = (size_t)a->width * a->height;
  la = malloc(n * sizeof *la);
  lb = malloc(n * sizeof *lb);
  if (!la || !lb) {
    free(la);
    free(lb);
    return VQ_ERR_NOMEM;
  }
  for (i = 0; i < n; i++) {
    for (c = 0; c < 3; c++) {
      double d = colour(a, i, c) - colour(b, i, c);
      sse += d * d;
    }
    la[i] = luma(a, i), lb[i] = luma(b, i);
    sse_y += (double)(la[i] - lb[i]) * (la[i] - lb[i]);
  }
  if (psnr) *psnr = psnr_of(sse, 3.0 * (double)n);
  if (psnr_y) *psnr_y = psnr_of(sse_y, (double)n);
  if (ssim) *ssim = ssim_of(la, lb, a->width, a->height);
  free(la);
  free(lb);
  return VQ_OK;
}
