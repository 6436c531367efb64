/* PNG reading and writing through libpng.
 *
 * libpng reports errors by longjmp. Each setjmp sits in a function with no
 * locals of its own; everything that must survive the jump lives in a
 * struct owned by the caller, so no automatic variable is clobbered. */
#include "config.h"
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include "imageio.h"

#define MSG_SIZE 200

typedef struct png_rd {
  png_structp png;
  png_infop info;
  const unsigned char *buf;
  size_t size, pos;
  int truncated;         /* the decoder asked for bytes past the end */
  char msg[MSG_SIZE];    /* libpng's message on error */
  vq_image *img;
  uint64_t max_pixels;
  const char *name;
  vq_diag *diag;
} png_rd;

static void png_on_error(png_structp png, png_const_charp msg) {
  char *dst = png_get_error_ptr(png);
  snprintf(dst, MSG_SIZE, "%s", msg);
  png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

static void png_read_cb(png_structp png, png_bytep out, size_t n) {
  png_rd *r = png_get_io_ptr(png);
  if (n > r->size - r->pos) {
    r->truncated = 1;
    png_error(png, "unexpected end of file");
  }
  memcpy(out, r->buf + r->pos, n);
  r->pos += n;
}

/* Asks libpng for 8- or 16-bit gray, GA, RGB or RGBA in native order. */
static void png_set_transforms(png_rd *r, int color_type, int bit_depth) {
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(r->png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8)
    png_set_expand_gray_1_2_4_to_8(r->png);
  if (png_get_valid(r->png, r->info, PNG_INFO_tRNS))
    png_set_tRNS_to_alpha(r->png);
  if (bit_depth == 16 && vq_img_little_endian()) png_set_swap(r->png);
}

static int png_decode_body(png_rd *r) {
  png_uint_32 w, h, y;
  int bit_depth, color_type, interlace, passes, ch, depth, rc;
  size_t stride;
  png_set_read_fn(r->png, r, png_read_cb);
  /* our own limit applies to width * height; lift libpng's per side one */
  png_set_user_limits(r->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  png_read_info(r->png, r->info);
  png_get_IHDR(r->png, r->info, &w, &h, &bit_depth, &color_type,
               &interlace, NULL, NULL);
  rc = vq_img_check_size(w, h, r->max_pixels, r->name, r->diag);
  if (rc != VQ_OK) return rc;
  png_set_transforms(r, color_type, bit_depth);
  passes = png_set_interlace_handling(r->png);
  png_read_update_info(r->png, r->info);
  ch = png_get_channels(r->png, r->info);
  depth = png_get_bit_depth(r->png, r->info);
  if (ch < 1 || ch > 4 || (depth != 8 && depth != 16))
    return vq_img_fail(r->diag, VQ_ERR_UNSUPPORTED, r->name, "PNG with %d "
                       "channels of %d bits", ch, depth);
  if (vq_image_create(&r->img, w, h, ch, depth) != VQ_OK)
    return vq_img_fail(r->diag, VQ_ERR_NOMEM, r->name, "out of memory");
  stride = (size_t)w * (size_t)ch * (size_t)(depth / 8);
  if (png_get_rowbytes(r->png, r->info) != stride)
    return vq_img_fail(r->diag, VQ_ERR_FORMAT, r->name, "unexpected PNG "
                       "row size");
  for (; passes > 0; passes--)
    for (y = 0; y < h; y++)
      png_read_row(r->png, (png_bytep)r->img->pixels + y * stride, NULL);
  png_read_end(r->png, NULL);
  return VQ_OK;
}

static int png_decode(png_rd *r) {
  if (setjmp(png_jmpbuf(r->png))) {
    int code = r->truncated ? VQ_ERR_TRUNCATED : VQ_ERR_FORMAT;
    if (strstr(r->msg, "ut of memory")) code = VQ_ERR_NOMEM;
    return vq_img_fail(r->diag, code, r->name, "PNG error: %s", r->msg);
  }
  return png_decode_body(r);
}

/* Applies the size limit to the IHDR chunk, which must come first, before
 * libpng reads on to the image data. */
static int png_precheck(const unsigned char *b, size_t size,
                        uint64_t max_pixels, const char *name,
                        vq_diag *diag) {
  uint32_t w, h;
  if (size < 24 || memcmp(b + 12, "IHDR", 4) != 0) return VQ_OK;
  w = (uint32_t)b[16] << 24 | (uint32_t)b[17] << 16 | b[18] << 8 | b[19];
  h = (uint32_t)b[20] << 24 | (uint32_t)b[21] << 16 | b[22] << 8 | b[23];
  if (w == 0 || h == 0) return VQ_OK;   /* libpng names the problem */
  return vq_img_check_size(w, h, max_pixels, name, diag);
}

int vq_png_read_mem(vq_image **out, const unsigned char *buf, size_t size,
                    uint64_t max_pixels, const char *name, vq_diag *diag) {
  png_rd r;
  int rc = png_precheck(buf, size, max_pixels, name, diag);
  if (rc != VQ_OK) return rc;
  memset(&r, 0, sizeof r);
  r.buf = buf;
  r.size = size;
  r.max_pixels = max_pixels;
  r.name = name;
  r.diag = diag;
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, r.msg, png_on_error,
                                 png_on_warning);
  if (r.png) r.info = png_create_info_struct(r.png);
  if (!r.info) {
    png_destroy_read_struct(r.png ? &r.png : NULL, NULL, NULL);
    return vq_img_fail(diag, VQ_ERR_NOMEM, name, "out of memory");
  }
  rc = png_decode(&r);
  png_destroy_read_struct(&r.png, &r.info, NULL);
  if (rc != VQ_OK) {
    vq_image_destroy(r.img);
    return rc;
  }
  *out = r.img;
  return VQ_OK;
}

static const int png_color_types[5] = {
  0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
  PNG_COLOR_TYPE_RGB_ALPHA
};

static void png_encode_body(png_structp png, png_infop info,
                            const vq_image *img, FILE *fp) {
  size_t stride = (size_t)img->width * (size_t)img->channels *
                  (size_t)(img->depth / 8);
  uint32_t y;
  png_init_io(png, fp);
  png_set_IHDR(png, info, img->width, img->height, img->depth,
               png_color_types[img->channels], PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  if (img->depth == 16 && vq_img_little_endian()) png_set_swap(png);
  for (y = 0; y < img->height; y++)
    png_write_row(png, (png_const_bytep)img->pixels + y * stride);
  png_write_end(png, NULL);
}

/* Caller-owned state of one write, out of reach of the longjmp. */
typedef struct png_wr {
  png_structp png;
  png_infop info;
  char msg[MSG_SIZE];
} png_wr;

static int png_encode(png_wr *w, const vq_image *img, FILE *fp) {
  if (setjmp(png_jmpbuf(w->png))) return -1;
  png_encode_body(w->png, w->info, img, fp);
  return 0;
}

int vq_png_write_fp(const vq_image *img, FILE *fp, const char *path,
                    vq_diag *diag) {
  png_wr w;
  int rc;
  memset(&w, 0, sizeof w);
  if (img->width > PNG_UINT_31_MAX || img->height > PNG_UINT_31_MAX)
    return vq_img_fail(diag, VQ_ERR_UNSUPPORTED, path, "PNG sides are "
                       "limited to 2^31 - 1");
  w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, w.msg,
                                  png_on_error, png_on_warning);
  if (w.png) w.info = png_create_info_struct(w.png);
  if (!w.info) {
    png_destroy_write_struct(w.png ? &w.png : NULL, NULL);
    return vq_img_fail(diag, VQ_ERR_NOMEM, path, "out of memory");
  }
  rc = png_encode(&w, img, fp);
  png_destroy_write_struct(&w.png, &w.info);
  if (rc != 0)
    return vq_img_fail(diag, VQ_ERR_IO, path, "PNG error: %s", w.msg);
  return VQ_OK;
}
