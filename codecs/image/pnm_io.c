/* Binary PGM (P5) and PPM (P6), as specified by Netpbm: a header of
 * decimal fields separated by whitespace and '#' comments, one whitespace
 * character, then the raster; samples above 255 take two bytes, most
 * significant first. Other maxvals are scaled to the full 8- or 16-bit
 * range so that every image leaves here with maxval 255 or 65535. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "imageio.h"

typedef struct pnm_in {
  const unsigned char *b;
  size_t n, i;
  const char *name;
  vq_diag *diag;
} pnm_in;

static int pnm_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
         c == '\r';
}

/* Skips whitespace and comments; 0 when a field follows, -1 at the end. */
static int pnm_skip(pnm_in *in) {
  while (in->i < in->n) {
    unsigned char c = in->b[in->i];
    if (c == '#') {
      while (in->i < in->n && in->b[in->i] != '\n' && in->b[in->i] != '\r')
        in->i++;
    } else if (pnm_space(c)) {
      in->i++;
    } else {
      return 0;
    }
  }
  return -1;
}

/* Parses one decimal field; values past UINT32_MAX saturate there + 1. */
static int pnm_field(pnm_in *in, const char *what, uint64_t *v) {
  *v = 0;
  if (pnm_skip(in) != 0)
    return vq_img_fail(in->diag, VQ_ERR_TRUNCATED, in->name, "PNM header "
                       "ends before the %s", what);
  if (in->b[in->i] < '0' || in->b[in->i] > '9')
    return vq_img_fail(in->diag, VQ_ERR_FORMAT, in->name, "PNM %s is not "
                       "a number", what);
  for (; in->i < in->n && in->b[in->i] >= '0' && in->b[in->i] <= '9';
       in->i++) {
    *v = *v * 10 + (uint64_t)(in->b[in->i] - '0');
    if (*v > UINT32_MAX) *v = (uint64_t)UINT32_MAX + 1;
  }
  if (in->i == in->n)
    return vq_img_fail(in->diag, VQ_ERR_TRUNCATED, in->name, "PNM header "
                       "ends after the %s", what);
  return VQ_OK;
}

/* Reads the magic number and the three fields; leaves in->i on the
 * first raster byte. */
static int pnm_header(pnm_in *in, int *channels, uint64_t *w, uint64_t *h,
                      uint64_t *maxval) {
  int rc;
  if (in->n < 2)
    return vq_img_fail(in->diag, VQ_ERR_TRUNCATED, in->name, "truncated "
                       "PNM header");
  if (in->b[1] != '5' && in->b[1] != '6')
    return vq_img_fail(in->diag, VQ_ERR_UNSUPPORTED, in->name, "only "
                       "binary PGM (P5) and PPM (P6) are supported, not "
                       "P%c", in->b[1]);
  *channels = in->b[1] == '5' ? 1 : 3;
  in->i = 2;
  if (in->n < 3)
    return vq_img_fail(in->diag, VQ_ERR_TRUNCATED, in->name, "truncated "
                       "PNM header");
  if (!pnm_space(in->b[in->i]) && in->b[in->i] != '#')
    return vq_img_fail(in->diag, VQ_ERR_FORMAT, in->name, "bad PNM magic");
  if ((rc = pnm_field(in, "width", w)) != VQ_OK ||
      (rc = pnm_field(in, "height", h)) != VQ_OK ||
      (rc = pnm_field(in, "maxval", maxval)) != VQ_OK)
    return rc;
  if (*maxval < 1 || *maxval > 65535)
    return vq_img_fail(in->diag, VQ_ERR_FORMAT, in->name, "PNM maxval "
                       "%llu not in 1..65535", (unsigned long long)*maxval);
  if (!pnm_space(in->b[in->i]))
    return vq_img_fail(in->diag, VQ_ERR_FORMAT, in->name, "no whitespace "
                       "after the PNM maxval");
  in->i++;
  return VQ_OK;
}

/* Converts n raster samples into img (already sized), scaling maxval to
 * the full range. Fails on a sample above maxval. */
static int pnm_samples(pnm_in *in, vq_image *img, size_t n,
                       unsigned maxval) {
  const unsigned char *s = in->b + in->i;
  size_t k;
  if (img->depth == 8 && maxval == 255) {
    memcpy(img->pixels, s, n);
    return VQ_OK;
  }
  if (img->depth == 8) {
    uint8_t *d = img->pixels;
    for (k = 0; k < n; k++) {
      if (s[k] > maxval) break;
      d[k] = (uint8_t)((s[k] * 255u + maxval / 2) / maxval);
    }
  } else {
    uint16_t *d = img->pixels;
    for (k = 0; k < n; k++) {
      unsigned v = (unsigned)s[2 * k] << 8 | s[2 * k + 1];
      if (v > maxval) break;
      d[k] = (uint16_t)(maxval == 65535 ? v
                                        : (v * 65535u + maxval / 2) / maxval);
    }
  }
  if (k < n)
    return vq_img_fail(in->diag, VQ_ERR_FORMAT, in->name, "PNM sample "
                       "exceeds maxval %u", maxval);
  return VQ_OK;
}

int vq_pnm_read_mem(vq_image **out, const unsigned char *buf, size_t size,
                    uint64_t max_pixels, const char *name, vq_diag *diag) {
  pnm_in in;
  uint64_t w = 0, h = 0, maxval = 0, need;
  int ch = 1, bps, rc;
  vq_image *img;
  in.b = buf;
  in.n = size;
  in.i = 0;
  in.name = name;
  in.diag = diag;
  if ((rc = pnm_header(&in, &ch, &w, &h, &maxval)) != VQ_OK ||
      (rc = vq_img_check_size(w, h, max_pixels, name, diag)) != VQ_OK)
    return rc;
  bps = maxval > 255 ? 2 : 1;
  /* w, h < 2^32 each; the last factor is at most 6 */
  if (w * h > UINT64_MAX / (uint64_t)(ch * bps) ||
      (need = w * h * (uint64_t)(ch * bps)) > SIZE_MAX)
    return vq_img_fail(diag, VQ_ERR_LIMIT, name, "image too large");
  if (size - in.i < need)
    return vq_img_fail(diag, VQ_ERR_TRUNCATED, name, "PNM raster ends "
                       "early (%zu of %llu bytes)", size - in.i,
                       (unsigned long long)need);
  if (vq_image_create(&img, (uint32_t)w, (uint32_t)h, ch, 8 * bps) != VQ_OK)
    return vq_img_fail(diag, VQ_ERR_NOMEM, name, "out of memory");
  rc = pnm_samples(&in, img, (size_t)(w * h) * (size_t)ch,
                   (unsigned)maxval);
  if (rc != VQ_OK) {
    vq_image_destroy(img);
    return rc;
  }
  *out = img;
  return VQ_OK;
}

/* Writes 16-bit rows most significant byte first. */
static int pnm_write16(const vq_image *img, FILE *fp) {
  size_t row = (size_t)img->width * (size_t)img->channels, k;
  const uint16_t *s = img->pixels;
  unsigned char *tmp = malloc(row * 2);
  uint32_t y;
  int rc = 0;
  if (!tmp) return VQ_ERR_NOMEM;
  for (y = 0; y < img->height && rc == 0; y++, s += row) {
    for (k = 0; k < row; k++) {
      tmp[2 * k] = (unsigned char)(s[k] >> 8);
      tmp[2 * k + 1] = (unsigned char)(s[k] & 0xff);
    }
    if (fwrite(tmp, 2, row, fp) != row) rc = VQ_ERR_IO;
  }
  free(tmp);
  return rc;
}

int vq_pnm_write_fp(const vq_image *img, FILE *fp, const char *path,
                    vq_diag *diag) {
  size_t n = (size_t)img->width * (size_t)img->height *
             (size_t)img->channels;
  int rc = VQ_OK;
  errno = 0;
  if (fprintf(fp, "P%c\n%lu %lu\n%d\n", img->channels == 1 ? '5' : '6',
              (unsigned long)img->width, (unsigned long)img->height,
              img->depth == 8 ? 255 : 65535) < 0)
    rc = VQ_ERR_IO;
  else if (img->depth == 8)
    rc = fwrite(img->pixels, 1, n, fp) == n ? VQ_OK : VQ_ERR_IO;
  else
    rc = pnm_write16(img, fp);
  if (rc == VQ_ERR_NOMEM)
    return vq_img_fail(diag, rc, path, "out of memory");
  if (rc != VQ_OK)
    return vq_img_fail(diag, rc, path, "write failed: %s",
                       strerror(errno ? errno : EIO));
  return VQ_OK;
}
