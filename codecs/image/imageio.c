/* Image files: allocation, reading by content, writing by extension
 * through a temporary file renamed into place. The formats themselves
 * live in png_io.c, jpeg_io.c and pnm_io.c. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vq/file.h>
#include "imageio.h"

int vq_img_fail(vq_diag *diag, int code, const char *name, const char *fmt,
                ...) {
  if (diag) {
    va_list ap;
    int n = snprintf(diag->msg, sizeof diag->msg, "%s: ",
                     name ? name : "(image)");
    if (n < 0 || (size_t)n >= sizeof diag->msg) n = 0;
    va_start(ap, fmt);
    vsnprintf(diag->msg + n, sizeof diag->msg - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return code;
}

int vq_img_check_size(uint64_t width, uint64_t height, uint64_t max_pixels,
                      const char *name, vq_diag *diag) {
  if (max_pixels == 0) max_pixels = VQ_IMAGE_MAX_PIXELS;
  if (width == 0 || height == 0)
    return vq_img_fail(diag, VQ_ERR_FORMAT, name, "image has no pixels "
                       "(%llu x %llu)", (unsigned long long)width,
                       (unsigned long long)height);
  /* both factors fit in 32 bits, so the product cannot wrap */
  if (width > UINT32_MAX || height > UINT32_MAX ||
      width * height > max_pixels)
    return vq_img_fail(diag, VQ_ERR_LIMIT, name, "%llu x %llu pixels "
                       "exceed the limit of %llu", (unsigned long long)width,
                       (unsigned long long)height,
                       (unsigned long long)max_pixels);
  return VQ_OK;
}

int vq_img_little_endian(void) {
  uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

/* Bytes of pixel data, or 0 when the size does not fit in size_t. */
static size_t pixel_bytes(uint32_t w, uint32_t h, int channels, int depth) {
  size_t row = (size_t)channels * (size_t)(depth / 8);
  if (w > SIZE_MAX / row) return 0;
  row *= w;
  if (h > SIZE_MAX / row) return 0;
  return row * h;
}

int vq_image_create(vq_image **out, uint32_t width, uint32_t height,
                    int channels, int depth) {
  vq_image *img;
  size_t bytes;
  if (!out) return VQ_ERR_INVALID_ARG;
  *out = NULL;
  if (width == 0 || height == 0 || channels < 1 || channels > 4 ||
      (depth != 8 && depth != 16))
    return VQ_ERR_INVALID_ARG;
  bytes = pixel_bytes(width, height, channels, depth);
  if (bytes == 0) return VQ_ERR_NOMEM;
  img = malloc(sizeof *img);
  if (!img) return VQ_ERR_NOMEM;
  img->pixels = calloc(bytes, 1);
  if (!img->pixels) {
    free(img);
    return VQ_ERR_NOMEM;
  }
  img->width = width;
  img->height = height;
  img->channels = channels;
  img->depth = depth;
  *out = img;
  return VQ_OK;
}

void vq_image_destroy(vq_image *img) {
  if (!img) return;
  free(img->pixels);
  free(img);
}

static int has_prefix(const unsigned char *buf, size_t size,
                      const unsigned char *sig, size_t n) {
  return memcmp(buf, sig, size < n ? size : n) == 0;
}

int vq_image_read_mem(vq_image **out, const void *buf, size_t size,
                      uint64_t max_pixels, const char *name,
                      vq_diag *diag) {
  static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G',
                                           '\r', '\n', 0x1a, '\n'};
  static const unsigned char jpeg_sig[3] = {0xff, 0xd8, 0xff};
  const unsigned char *b = buf;
  if (!out) return VQ_ERR_INVALID_ARG;
  *out = NULL;
  if (!b && size) return VQ_ERR_INVALID_ARG;
  if (size == 0)
    return vq_img_fail(diag, VQ_ERR_FORMAT, name, "empty file");
  if (has_prefix(b, size, png_sig, sizeof png_sig))
    return size < sizeof png_sig
               ? vq_img_fail(diag, VQ_ERR_TRUNCATED, name, "truncated PNG")
               : vq_png_read_mem(out, b, size, max_pixels, name, diag);
  if (has_prefix(b, size, jpeg_sig, sizeof jpeg_sig))
    return size < sizeof jpeg_sig
               ? vq_img_fail(diag, VQ_ERR_TRUNCATED, name, "truncated JPEG")
               : vq_jpeg_read_mem(out, b, size, max_pixels, name, diag);
  if (b[0] == 'P' && (size == 1 || (b[1] >= '1' && b[1] <= '7')))
    return vq_pnm_read_mem(out, b, size, max_pixels, name, diag);
  return vq_img_fail(diag, VQ_ERR_FORMAT, name, "not a PNG, JPEG, PPM or "
                     "PGM file");
}

/* Reads a non-regular file (pipe, device) into a growing buffer of at
 * most max bytes. Returns 0, -1 on a read or allocation error, -2 when
 * the input is longer than max. */
static int read_all(int fd, size_t max, unsigned char **data,
                    size_t *size) {
  size_t cap = 0, n = 0;
  unsigned char *p = NULL;
  for (;;) {
    ssize_t got;
    if (n == cap) {
      unsigned char *q;
      if (cap >= max) {
        free(p);
        return -2;
      }
      cap = cap ? (cap < max / 2 ? cap * 2 : max) : 65536;
      q = realloc(p, cap);
      if (!q) break;
      p = q;
    }
    got = read(fd, p + n, cap - n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) break;
    if (got == 0) {
      *data = p;
      *size = n;
      return 0;
    }
    n += (size_t)got;
  }
  free(p);
  return -1;
}

/* Longest stream worth reading: raw 16-bit RGBA at the pixel limit plus
 * room for headers and metadata. */
static size_t stream_cap(uint64_t max_pixels) {
  uint64_t cap;
  if (max_pixels == 0) max_pixels = VQ_IMAGE_MAX_PIXELS;
  cap = max_pixels > (UINT64_MAX - (64u << 20)) / 8
            ? UINT64_MAX : max_pixels * 8 + (64u << 20);
  return cap > SIZE_MAX ? SIZE_MAX : (size_t)cap;
}

int vq_image_read(vq_image **out, const char *path, uint64_t max_pixels,
                  vq_diag *diag) {
  struct stat st;
  unsigned char *data = NULL;
  size_t size = 0;
  int fd, rc, mapped = 0;
  if (!out || !path) return VQ_ERR_INVALID_ARG;
  *out = NULL;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) != 0) {
    rc = vq_img_fail(diag, VQ_ERR_IO, path, "cannot open: %s",
                     strerror(errno));
    if (fd >= 0) close(fd);
    return rc;
  }
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    if ((uint64_t)st.st_size > SIZE_MAX) {
      close(fd);
      return vq_img_fail(diag, VQ_ERR_LIMIT, path, "file too large");
    }
    size = (size_t)st.st_size;
    data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    mapped = data != MAP_FAILED;
    if (!mapped) data = NULL;
  }
  errno = 0;
  if (!mapped && (rc = read_all(fd, stream_cap(max_pixels), &data,
                                &size)) != 0) {
    rc = rc == -2 ? vq_img_fail(diag, VQ_ERR_LIMIT, path, "input larger "
                                "than any image within the pixel limit")
                  : vq_img_fail(diag, VQ_ERR_IO, path, "cannot read: %s",
                                strerror(errno ? errno : EIO));
    close(fd);
    return rc;
  }
  close(fd);
  rc = vq_image_read_mem(out, data, size, max_pixels, path, diag);
  if (mapped) munmap(data, size);
  else free(data);
  return rc;
}

/* Writer for the extension of path, or NULL. */
typedef int (*writer_fn)(const vq_image *, FILE *, const char *,
                         vq_diag *);

static writer_fn writer_for(const char *path) {
  const char *dot = strrchr(path, '.');
  const char *slash = strrchr(path, '/');
  if (!dot || (slash && dot < slash)) return NULL;
  if (strcasecmp(dot, ".png") == 0) return vq_png_write_fp;
  if (strcasecmp(dot, ".ppm") == 0 || strcasecmp(dot, ".pgm") == 0 ||
      strcasecmp(dot, ".pnm") == 0)
    return vq_pnm_write_fp;
  if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0)
    return vq_jpeg_write_fp;
  return NULL;
}

int vq_image_write(const vq_image *img, const char *path, vq_diag *diag) {
  writer_fn write;
  vq_outfile *f;
  FILE *fp;
  int rc;
  if (!path) return VQ_ERR_INVALID_ARG;
  if (!img || !img->pixels || img->width == 0 || img->height == 0 ||
      img->channels < 1 || img->channels > 4 ||
      (img->depth != 8 && img->depth != 16))
    return vq_img_fail(diag, VQ_ERR_INVALID_ARG, path, "invalid image");
  write = writer_for(path);
  if (!write)
    return vq_img_fail(diag, VQ_ERR_UNSUPPORTED, path, "unknown image "
                       "extension (use .png, .ppm, .pgm, .pnm, .jpg or .jpeg)");
  if (write == vq_pnm_write_fp && img->channels != 1 && img->channels != 3)
    return vq_img_fail(diag, VQ_ERR_UNSUPPORTED, path, "PPM/PGM holds 1 or "
                       "3 channels, not %d (alpha needs .png)",
                       img->channels);
  rc = vq_outfile_open(&f, &fp, path, diag);
  if (rc != VQ_OK) return rc;
  rc = write(img, fp, path, diag);
  if (rc != VQ_OK) {
    vq_outfile_abort(f);
    return rc;
  }
  return vq_outfile_commit(f, diag);
}
