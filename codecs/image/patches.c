/* Square patches cut from an image on a regular grid, as training or
 * coding vectors: luma (BT.601) or RGB, samples in [0, 255]. */
#include "config.h"
#include <string.h>
#include <vq/image.h>

int vq_patch_params_init_(vq_patch_params *p, uint32_t abi, uint32_t size) {
  if (!p) return VQ_ERR_INVALID_ARG;
  if (abi != VQ_ABI_VERSION || size != sizeof(*p)) return VQ_ERR_ABI;
  memset(p, 0, sizeof *p);
  p->abi_ = abi;
  p->size_ = size;
  p->patch = 8;
  p->stride = 0;
  p->color = VQ_PATCH_LUMA;
  p->mean_removed = 0;
  return VQ_OK;
}

/* Validates both arguments; *stride gets the effective step. */
static int patch_check(const vq_image *img, const vq_patch_params *p,
                       int *stride) {
  if (!p || p->abi_ != VQ_ABI_VERSION || p->size_ != sizeof(*p))
    return VQ_ERR_ABI;
  if (!img || !img->pixels || img->width == 0 || img->height == 0 ||
      img->channels < 1 || img->channels > 4 ||
      (img->depth != 8 && img->depth != 16))
    return VQ_ERR_INVALID_ARG;
  if (p->patch < 1 || p->patch > 256 || p->stride < 0 ||
      p->stride > 4096 ||
      (p->color != VQ_PATCH_LUMA && p->color != VQ_PATCH_RGB))
    return VQ_ERR_INVALID_ARG;
  *stride = p->stride ? p->stride : p->patch;
  return VQ_OK;
}

/* Patches along a side of n samples: whole ones, or with pad enough to
 * cover every sample. */
static size_t patch_steps(uint32_t n, int patch, int stride, int pad) {
  if (n < (uint32_t)patch) return pad ? 1 : 0;
  if (pad)
    return ((size_t)(n - (uint32_t)patch) + (size_t)stride - 1) /
               (size_t)stride + 1;
  return (size_t)(n - (uint32_t)patch) / (size_t)stride + 1;
}

static int patch_grid(const vq_image *img, const vq_patch_params *p,
                      size_t *nx, size_t *ny, size_t *count, size_t *dim) {
  int stride, rc = patch_check(img, p, &stride);
  size_t c = p && p->color == VQ_PATCH_RGB ? 3 : 1;
  if (rc != VQ_OK) return rc;
  *nx = patch_steps(img->width, p->patch, stride, p->pad);
  *ny = patch_steps(img->height, p->patch, stride, p->pad);
  /* patch <= 256, so the dimension cannot overflow */
  *dim = (size_t)p->patch * (size_t)p->patch * c;
  if (*nx && *ny > SIZE_MAX / *nx) return VQ_ERR_LIMIT;
  *count = *nx * *ny;
  if (*count && *dim > SIZE_MAX / sizeof(float) / *count)
    return VQ_ERR_LIMIT;
  return VQ_OK;
}

int vq_image_patch_count(const vq_image *img, const vq_patch_params *p,
                         size_t *count, size_t *dim) {
  size_t nx, ny, n, d;
  int rc;
  if (!count || !dim) return VQ_ERR_INVALID_ARG;
  rc = patch_grid(img, p, &nx, &ny, &n, &d);
  if (rc != VQ_OK) return rc;
  *count = n;
  *dim = d;
  return VQ_OK;
}

/* Sample k of the pixel at index i, scaled to [0, 255]. */
static float sample(const vq_image *img, size_t i, int k) {
  size_t at = i * (size_t)img->channels + (size_t)k;
  if (img->depth == 8) return (float)((const uint8_t *)img->pixels)[at];
  return (float)((const uint16_t *)img->pixels)[at] / 257.0f;
}

/* Converts n pixels of row y from column x0 into dst: c = 1 (luma) or 3
 * (RGB); columns and rows past the edges repeat the last ones. */
static void load_row(float *dst, const vq_image *img, size_t y, size_t x0,
                     int n, int c) {
  int x, gray = img->channels < 3;
  size_t row = (y < img->height ? y : img->height - 1) * img->width;
  for (x = 0; x < n; x++) {
    size_t xx = x0 + (size_t)x, i;
    i = row + (xx < img->width ? xx : img->width - 1);
    if (gray) {
      float v = sample(img, i, 0);
      dst[c * x] = v;
      if (c == 3) dst[3 * x + 1] = dst[3 * x + 2] = v;
    } else if (c == 3) {
      dst[3 * x] = sample(img, i, 0);
      dst[3 * x + 1] = sample(img, i, 1);
      dst[3 * x + 2] = sample(img, i, 2);
    } else {
      float r = sample(img, i, 0), g = sample(img, i, 1);
      float b = sample(img, i, 2);
      dst[x] = 0.299f * r + 0.587f * g + 0.114f * b;
    }
  }
}

/* Subtracts each channel's mean (accumulated in double) from a patch. */
static void remove_mean(float *v, size_t pixels, int c) {
  int k;
  for (k = 0; k < c; k++) {
    double sum = 0.0;
    float mean;
    size_t j;
    for (j = 0; j < pixels; j++) sum += v[j * (size_t)c + (size_t)k];
    mean = (float)(sum / (double)pixels);
    for (j = 0; j < pixels; j++) v[j * (size_t)c + (size_t)k] -= mean;
  }
}

int vq_image_patches(float *out, const vq_image *img,
                     const vq_patch_params *p) {
  size_t nx, ny, n, dim, px, py, row;
  int rc = patch_grid(img, p, &nx, &ny, &n, &dim), c, stride, y;
  if (rc != VQ_OK) return rc;
  if (n == 0) return VQ_OK;
  if (!out) return VQ_ERR_INVALID_ARG;
  c = p->color == VQ_PATCH_RGB ? 3 : 1;
  stride = p->stride ? p->stride : p->patch;
  row = (size_t)p->patch * (size_t)c;
  for (py = 0; py < ny; py++)
    for (px = 0; px < nx; px++, out += dim) {
      size_t x0 = px * (size_t)stride, y0 = py * (size_t)stride;
      for (y = 0; y < p->patch; y++)
        load_row(out + (size_t)y * row, img, y0 + (size_t)y, x0, p->patch,
                 c);
      if (p->mean_removed)
        remove_mean(out, (size_t)p->patch * (size_t)p->patch, c);
    }
  return VQ_OK;
}

static uint8_t to_u8(float v) {
  if (!(v > 0.0f)) return 0; /* NaN too */
  if (v >= 255.0f) return 255;
  return (uint8_t)(v + 0.5f);
}

int vq_image_from_patches(vq_image *img, const float *patches,
                          const vq_patch_params *p) {
  size_t nx, ny, px, py, dim, c, x, y;
  if (!img || !patches || !p || p->abi_ != VQ_ABI_VERSION ||
      p->size_ != sizeof(*p) || !img->pixels || img->depth != 8 ||
      p->patch < 1 || p->patch > 256 || (p->stride && p->stride != p->patch) ||
      p->mean_removed)
    return VQ_ERR_INVALID_ARG;
  c = p->color == VQ_PATCH_RGB ? 3 : 1;
  if ((size_t)img->channels != c) return VQ_ERR_INVALID_ARG;
  nx = (img->width + (size_t)p->patch - 1) / (size_t)p->patch;
  ny = (img->height + (size_t)p->patch - 1) / (size_t)p->patch;
  dim = (size_t)p->patch * (size_t)p->patch * c;
  for (py = 0; py < ny; py++)
    for (px = 0; px < nx; px++) {
      const float *v = patches + (py * nx + px) * dim;
      for (y = 0; y < (size_t)p->patch; y++) {
        size_t iy = py * (size_t)p->patch + y;
        uint8_t *row;
        if (iy >= img->height) break;
        row = (uint8_t *)img->pixels + iy * img->width * c;
        for (x = 0; x < (size_t)p->patch; x++) {
          size_t ix = px * (size_t)p->patch + x, k;
          if (ix >= img->width) break;
          for (k = 0; k < c; k++)
            row[ix * c + k] = to_u8(v[(y * (size_t)p->patch + x) * c + k]);
        }
      }
    }
  return VQ_OK;
}
