/* JPEG reading through libjpeg-turbo: gray or RGB, 8 bits.
 *
 * libjpeg's default error handler calls exit(); ours formats the message
 * and longjmps back. As in png_io.c the setjmp lives in a function without
 * locals and all state is in a caller-owned struct. libjpeg treats a
 * premature end of data as a warning and pads with gray; we fail instead,
 * so a truncated file is never taken for a complete image. */
#include "config.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>
#include "imageio.h"

/* A progressive file can hold any number of scans, each a full pass over
 * the coefficients; cap them as djpeg -maxscans does. */
#define MAX_SCANS 1000

typedef struct jpg_rd {
  struct jpeg_decompress_struct d;
  struct jpeg_error_mgr err;
  struct jpeg_progress_mgr progress;
  jmp_buf jump;
  int code;                   /* error code when jumping */
  char msg[JMSG_LENGTH_MAX];
  const unsigned char *buf;
  size_t size;
  vq_image *img;
  uint64_t max_pixels;
  const char *name;
  vq_diag *diag;
} jpg_rd;

static int jpg_code(int msg_code) {
  switch (msg_code) {
  case JERR_BAD_PRECISION:
  case JERR_SOF_UNSUPPORTED:
  case JERR_NOT_COMPILED:
    return VQ_ERR_UNSUPPORTED;
  case JERR_OUT_OF_MEMORY:
    return VQ_ERR_NOMEM;
  default:
    return VQ_ERR_FORMAT;
  }
}

static void jpg_error_exit(j_common_ptr c) {
  jpg_rd *r = c->client_data;
  (*c->err->format_message)(c, r->msg);
  r->code = jpg_code(c->err->msg_code);
  longjmp(r->jump, 1);
}

static void jpg_emit_message(j_common_ptr c, int level) {
  jpg_rd *r = c->client_data;
  if (level >= 0) return;
  if (c->err->msg_code == JWRN_JPEG_EOF) {
    (*c->err->format_message)(c, r->msg);
    r->code = VQ_ERR_TRUNCATED;
    longjmp(r->jump, 1);
  }
  c->err->num_warnings++;
}

static void jpg_output_message(j_common_ptr c) { (void)c; }

static void jpg_progress(j_common_ptr c) {
  jpg_rd *r = c->client_data;
  if (r->d.input_scan_number <= MAX_SCANS) return;
  snprintf(r->msg, sizeof r->msg, "more than %d scans", MAX_SCANS);
  r->code = VQ_ERR_LIMIT;
  longjmp(r->jump, 1);
}

/* Reads the header and picks the output colour space. */
static int jpg_header(jpg_rd *r) {
  J_COLOR_SPACE cs;
  jpeg_read_header(&r->d, TRUE);
  cs = r->d.jpeg_color_space;
  if (cs == JCS_CMYK || cs == JCS_YCCK)
    return vq_img_fail(r->diag, VQ_ERR_UNSUPPORTED, r->name, "CMYK JPEG "
                       "is not supported");
  if (cs != JCS_GRAYSCALE && cs != JCS_YCbCr && cs != JCS_RGB)
    return vq_img_fail(r->diag, VQ_ERR_UNSUPPORTED, r->name, "JPEG with %d "
                       "components in an unknown colour space",
                       r->d.num_components);
  r->d.out_color_space = cs == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  return vq_img_check_size(r->d.image_width, r->d.image_height,
                           r->max_pixels, r->name, r->diag);
}

static int jpg_decode_body(jpg_rd *r) {
  size_t stride;
  int rc;
  jpeg_create_decompress(&r->d);
  r->progress.progress_monitor = jpg_progress;
  r->d.progress = &r->progress;
  jpeg_mem_src(&r->d, r->buf, (unsigned long)r->size);
  rc = jpg_header(r);
  if (rc != VQ_OK) return rc;
  jpeg_start_decompress(&r->d);
  if (r->d.output_components != 1 && r->d.output_components != 3)
    return vq_img_fail(r->diag, VQ_ERR_UNSUPPORTED, r->name, "JPEG "
                       "decodes to %d components", r->d.output_components);
  if (vq_image_create(&r->img, r->d.output_width, r->d.output_height,
                      r->d.output_components, 8) != VQ_OK)
    return vq_img_fail(r->diag, VQ_ERR_NOMEM, r->name, "out of memory");
  stride = (size_t)r->img->width * (size_t)r->img->channels;
  while (r->d.output_scanline < r->d.output_height) {
    JSAMPROW row = (JSAMPROW)r->img->pixels +
                   (size_t)r->d.output_scanline * stride;
    jpeg_read_scanlines(&r->d, &row, 1);
  }
  jpeg_finish_decompress(&r->d);
  return VQ_OK;
}

static int jpg_decode(jpg_rd *r) {
  if (setjmp(r->jump))
    return vq_img_fail(r->diag, r->code, r->name, "JPEG error: %s",
                       r->msg);
  return jpg_decode_body(r);
}

int vq_jpeg_read_mem(vq_image **out, const unsigned char *buf, size_t size,
                     uint64_t max_pixels, const char *name, vq_diag *diag) {
  jpg_rd *r;
  int rc;
  if ((unsigned long)size != size)
    return vq_img_fail(diag, VQ_ERR_LIMIT, name, "file too large");
  /* jmp_buf and the decoder state are large: keep them off the stack */
  r = calloc(1, sizeof *r);
  if (!r) return vq_img_fail(diag, VQ_ERR_NOMEM, name, "out of memory");
  r->buf = buf;
  r->size = size;
  r->max_pixels = max_pixels;
  r->name = name;
  r->diag = diag;
  r->d.err = jpeg_std_error(&r->err);
  r->err.error_exit = jpg_error_exit;
  r->err.emit_message = jpg_emit_message;
  r->err.output_message = jpg_output_message;
  r->d.client_data = r;
  rc = jpg_decode(r);
  jpeg_destroy_decompress(&r->d);
  if (rc == VQ_OK) *out = r->img;
  else vq_image_destroy(r->img);
  free(r);
  return rc;
}

/* ---- writing ------------------------------------------------------------ */

/* Quality of the JPEG files vq_image_write() makes. */
#define WRITE_QUALITY 95

typedef struct jpg_wr {
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr err;
  jmp_buf jump;
  int code;
  char msg[JMSG_LENGTH_MAX];
  const vq_image *img;
  FILE *fp;
  unsigned char *row;         /* one row of 8-bit samples */
} jpg_wr;

static void jpg_wr_error_exit(j_common_ptr c) {
  jpg_wr *w = c->client_data;
  (*c->err->format_message)(c, w->msg);
  w->code = jpg_code(c->err->msg_code);
  longjmp(w->jump, 1);
}

static void jpg_encode_body(jpg_wr *w) {
  const vq_image *img = w->img;
  size_t n = (size_t)img->width * (size_t)img->channels, y, i;
  jpeg_create_compress(&w->c);
  jpeg_stdio_dest(&w->c, w->fp);
  w->c.image_width = img->width;
  w->c.image_height = img->height;
  w->c.input_components = img->channels;
  w->c.in_color_space = img->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&w->c);
  jpeg_set_quality(&w->c, WRITE_QUALITY, TRUE);
  w->c.optimize_coding = TRUE;
  jpeg_start_compress(&w->c, TRUE);
  for (y = 0; y < img->height; y++) {
    JSAMPROW row;
    if (img->depth == 16) {
      const uint16_t *src = (const uint16_t *)img->pixels + y * n;
      for (i = 0; i < n; i++)
        w->row[i] = (unsigned char)((src[i] * 255u + 32767u) / 65535u);
      row = w->row;
    } else {
      row = (JSAMPROW)img->pixels + y * n;
    }
    jpeg_write_scanlines(&w->c, &row, 1);
  }
  jpeg_finish_compress(&w->c);
}

static int jpg_encode(jpg_wr *w, const char *path, vq_diag *diag) {
  if (setjmp(w->jump))
    return vq_img_fail(diag, w->code, path, "JPEG error: %s", w->msg);
  jpg_encode_body(w);
  return VQ_OK;
}

int vq_jpeg_write_fp(const vq_image *img, FILE *fp, const char *path,
                     vq_diag *diag) {
  jpg_wr *w;
  int rc;
  if (img->channels != 1 && img->channels != 3)
    return vq_img_fail(diag, VQ_ERR_UNSUPPORTED, path, "JPEG holds 1 or 3 "
                       "channels, not %d (alpha needs .png)", img->channels);
  w = calloc(1, sizeof *w);
  if (w) w->row = malloc((size_t)img->width * (size_t)img->channels);
  if (!w || !w->row) {
    if (w) free(w);
    return vq_img_fail(diag, VQ_ERR_NOMEM, path, "out of memory");
  }
  w->img = img;
  w->fp = fp;
  w->c.err = jpeg_std_error(&w->err);
  w->err.error_exit = jpg_wr_error_exit;
  w->err.output_message = jpg_output_message;
  w->c.client_data = w;
  rc = jpg_encode(w, path, diag);
  jpeg_destroy_compress(&w->c);
  free(w->row);
  free(w);
  return rc;
}
