/* Image files (PNG, JPEG, PPM/PGM) and patch extraction. */
#include "config.h"
#include <dirent.h>
#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "vq/image.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/vqimg-XXXXXX";
static uint64_t rng;

static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

static size_t image_bytes(const vq_image *img) {
  return (size_t)img->width * img->height * (size_t)img->channels *
         (size_t)(img->depth / 8);
}

static vq_image *random_image(uint32_t w, uint32_t h, int ch, int depth) {
  vq_image *img = NULL;
  size_t i, n;
  CHECK_EQ_INT(vq_image_create(&img, w, h, ch, depth), VQ_OK);
  if (!img) return NULL;
  n = image_bytes(img);
  for (i = 0; i < n; i++)
    ((unsigned char *)img->pixels)[i] = (unsigned char)rnd();
  return img;
}

static int same_image(const vq_image *a, const vq_image *b) {
  return a && b && a->width == b->width && a->height == b->height &&
         a->channels == b->channels && a->depth == b->depth &&
         memcmp(a->pixels, b->pixels, image_bytes(a)) == 0;
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  if (!d) return -1;
  while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static unsigned char *read_whole(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  unsigned char *p = NULL;
  long n;
  *size = 0;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
      fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n)) != NULL &&
      fread(p, 1, (size_t)n, f) == (size_t)n)
    *size = (size_t)n;
  fclose(f);
  return p;
}

/* --- PNG fixtures written with libpng into memory */

typedef struct membuf {
  unsigned char *p;
  size_t n, cap;
} membuf;

static void mem_write(png_structp png, png_bytep d, size_t n) {
  membuf *m = png_get_io_ptr(png);
  if (m->n + n > m->cap) {
    size_t cap = (m->n + n) * 2;
    unsigned char *q = realloc(m->p, cap);
    if (!q) png_error(png, "out of memory");
    m->p = q;
    m->cap = cap;
  }
  memcpy(m->p + m->n, d, n);
  m->n += n;
}

static void mem_flush(png_structp png) { (void)png; }

typedef struct png_spec {
  uint32_t w, h;
  int depth, ctype, interlace;
  const unsigned char *data;   /* packed rows, 16-bit big-endian */
  const png_color *pal;
  int npal;
  const png_byte *trns;        /* palette alpha */
  int ntrns;
  const png_color_16 *trns_color;
  int header_only;
} png_spec;

static void make_png_body(png_structp png, png_infop info,
                          const png_spec *s) {
  png_bytep rows[64];
  size_t rowbytes;
  uint32_t y;
  png_set_IHDR(png, info, s->w, s->h, s->depth, s->ctype,
               s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (s->pal) png_set_PLTE(png, info, s->pal, s->npal);
  if (s->trns || s->trns_color)
    png_set_tRNS(png, info, s->trns, s->ntrns, s->trns_color);
  png_write_info(png, info);
  if (s->header_only) return;
  rowbytes = png_get_rowbytes(png, info);
  for (y = 0; y < s->h && y < 64; y++)
    rows[y] = (png_bytep)s->data + y * rowbytes;
  png_write_image(png, rows);
  png_write_end(png, NULL);
}

/* Encodes s into m (freed by the caller); 0 on success. */
static int make_png(membuf *m, const png_spec *s) {
  png_structp png;
  png_infop info;
  memset(m, 0, sizeof *m);
  png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  info = png ? png_create_info_struct(png) : NULL;
  if (!info) return -1;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return -1;
  }
  png_set_write_fn(png, m, mem_write, mem_flush);
  make_png_body(png, info, s);
  png_destroy_write_struct(&png, &info);
  return 0;
}

static vq_image *read_png_spec(const png_spec *s, uint64_t max_pixels,
                               int *rc) {
  membuf m;
  vq_image *img = NULL;
  vq_diag diag;
  diag.msg[0] = 0;
  CHECK_EQ_INT(make_png(&m, s), 0);
  *rc = vq_image_read_mem(&img, m.p, m.n, max_pixels, "spec.png", &diag);
  if (*rc != VQ_OK) CHECK(strncmp(diag.msg, "spec.png: ", 10) == 0);
  free(m.p);
  return img;
}

/* --- tests */

static void test_create(void) {
  vq_image *img = NULL;
  size_t i;
  int zero = 1;
  CHECK_EQ_INT(vq_image_create(&img, 0, 1, 1, 8), VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_image_create(&img, 1, 0, 1, 8), VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_image_create(&img, 1, 1, 5, 8), VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_image_create(&img, 1, 1, 0, 8), VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_image_create(&img, 1, 1, 1, 12), VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_image_create(NULL, 1, 1, 1, 8), VQ_ERR_INVALID_ARG);
  CHECK(vq_image_create(&img, UINT32_MAX, UINT32_MAX, 4, 16) < 0);
  CHECK(img == NULL);
  CHECK_EQ_INT(vq_image_create(&img, 7, 5, 3, 16), VQ_OK);
  CHECK(img && img->width == 7 && img->height == 5 && img->channels == 3 &&
        img->depth == 16);
  for (i = 0; img && i < image_bytes(img); i++)
    zero &= ((unsigned char *)img->pixels)[i] == 0;
  CHECK(zero);
  vq_image_destroy(img);
  vq_image_destroy(NULL);
}

static const uint32_t sizes[3][2] = {{1, 1}, {7, 5}, {17, 33}};

static void roundtrip(const char *ext, int ch, int depth) {
  char path[128];
  int s;
  for (s = 0; s < 3; s++) {
    vq_image *a = random_image(sizes[s][0], sizes[s][1], ch, depth);
    vq_image *b = NULL;
    vq_diag diag;
    struct stat st;
    mode_t mask = umask(022);
    umask(mask);
    snprintf(path, sizeof path, "%s/rt%s", tmpdir, ext);
    CHECK_EQ_INT(vq_image_write(a, path, &diag), VQ_OK);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == (0666 & ~mask));
    CHECK_EQ_INT(vq_image_read(&b, path, 0, &diag), VQ_OK);
    if (!same_image(a, b))
      fprintf(stderr, "round trip %s %dx%d ch %d depth %d differs\n", ext,
              sizes[s][0], sizes[s][1], ch, depth);
    CHECK(same_image(a, b));
    vq_image_destroy(a);
    vq_image_destroy(b);
    CHECK(unlink(path) == 0);
  }
}

static void test_roundtrips(void) {
  int ch, depth;
  for (depth = 8; depth <= 16; depth += 8) {
    for (ch = 1; ch <= 4; ch++) roundtrip(".png", ch, depth);
    roundtrip(".PNG", 3, depth);
    roundtrip(".pgm", 1, depth);
    roundtrip(".ppm", 3, depth);
    roundtrip(".pnm", 1, depth);
    roundtrip(".pnm", 3, depth);
  }
  CHECK_EQ_INT(count_entries(tmpdir), 0);
}

static void test_write_errors(void) {
  vq_image *img = random_image(3, 2, 4, 8);
  char path[128];
  vq_diag diag;
  int ch;
  for (ch = 2; ch <= 4; ch += 2) {
    img->channels = ch;
    snprintf(path, sizeof path, "%s/alpha.ppm", tmpdir);
    diag.msg[0] = 0;
    CHECK_EQ_INT(vq_image_write(img, path, &diag), VQ_ERR_UNSUPPORTED);
    CHECK(strstr(diag.msg, path) == diag.msg && strstr(diag.msg, "alpha"));
  }
  snprintf(path, sizeof path, "%s/x.gif", tmpdir);
  CHECK_EQ_INT(vq_image_write(img, path, &diag), VQ_ERR_UNSUPPORTED);
  snprintf(path, sizeof path, "%s/no.dir/x.png", tmpdir);
  CHECK_EQ_INT(vq_image_write(img, path, &diag), VQ_ERR_IO);
  CHECK(strstr(diag.msg, path) == diag.msg);
  img->depth = 9;
  snprintf(path, sizeof path, "%s/x.png", tmpdir);
  CHECK_EQ_INT(vq_image_write(img, path, NULL), VQ_ERR_INVALID_ARG);
  img->depth = 8;
  CHECK_EQ_INT(count_entries(tmpdir), 0);
  /* a failed write leaves an existing file alone */
  img->channels = 3;
  snprintf(path, sizeof path, "%s/keep.ppm", tmpdir);
  CHECK_EQ_INT(vq_image_write(img, path, NULL), VQ_OK);
  img->channels = 4;
  CHECK_EQ_INT(vq_image_write(img, path, NULL), VQ_ERR_UNSUPPORTED);
  CHECK_EQ_INT(count_entries(tmpdir), 1);
  CHECK(unlink(path) == 0);
  vq_image_destroy(img);
}

static void test_png_palette(void) {
  static const png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {1, 2, 3}};
  static const png_byte alpha[2] = {0, 128};
  static const unsigned char idx[6] = {0, 1, 2, 2, 1, 0};
  /* 2-bit indices 0 1 2 | 2 1 0 packed MSB first */
  static const unsigned char idx2[2] = {0x18, 0x90};
  static const unsigned char want[6][4] = {
    {255, 0, 0, 0}, {0, 255, 0, 128}, {1, 2, 3, 255},
    {1, 2, 3, 255}, {0, 255, 0, 128}, {255, 0, 0, 0}};
  png_spec s;
  vq_image *img;
  int rc, i, k;
  memset(&s, 0, sizeof s);
  s.w = 3, s.h = 2, s.depth = 8, s.ctype = PNG_COLOR_TYPE_PALETTE;
  s.data = idx, s.pal = pal, s.npal = 3, s.trns = alpha, s.ntrns = 2;
  img = read_png_spec(&s, 0, &rc);
  CHECK_EQ_INT(rc, VQ_OK);
  CHECK(img && img->channels == 4 && img->depth == 8);
  for (i = 0; img && i < 6; i++)
    for (k = 0; k < 4; k++)
      CHECK_EQ_INT(((uint8_t *)img->pixels)[4 * i + k], want[i][k]);
  vq_image_destroy(img);
  /* no tRNS: RGB; 2-bit indices */
  s.trns = NULL, s.ntrns = 0, s.depth = 2, s.data = idx2;
  img = read_png_spec(&s, 0, &rc);
  CHECK_EQ_INT(rc, VQ_OK);
  CHECK(img && img->channels == 3 && img->depth == 8);
  for (i = 0; img && i < 6; i++)
    for (k = 0; k < 3; k++)
      CHECK_EQ_INT(((uint8_t *)img->pixels)[3 * i + k], want[i][k]);
  vq_image_destroy(img);
}

static void test_png_lowbit_gray(void) {
  /* 9 x 2 at 1 bit: rows 101100111 and 010011000 */
  static const unsigned char bits1[4] = {0xb3, 0x80, 0x4c, 0x00};
  static const char *rows1 = "101100111010011000";
  /* 3 x 1 at 2 and 4 bits: values 0, 1, 3 */
  static const unsigned char bits2[1] = {0x1c}, bits4[2] = {0x01, 0xf0};
  png_spec s;
  vq_image *img;
  int rc, i;
  memset(&s, 0, sizeof s);
  s.w = 9, s.h = 2, s.depth = 1, s.ctype = PNG_COLOR_TYPE_GRAY;
  s.data = bits1;
  img = read_png_spec(&s, 0, &rc);
  CHECK_EQ_INT(rc, VQ_OK);
  CHECK(img && img->channels == 1 && img->depth == 8 && img->width == 9);
  for (i = 0; img && i < 18; i++)
    CHECK_EQ_INT(((uint8_t *)img->pixels)[i], rows1[i] == '1' ? 255 : 0);
  vq_image_destroy(img);
  s.w = 3, s.h = 1, s.depth = 2, s.data = bits2;
  img = read_png_spec(&s, 0, &rc);
  CHECK(rc == VQ_OK && img && img->depth == 8);
  CHECK(img && memcmp(img->pixels, "\x00\x55\xff", 3) == 0);
  vq_image_destroy(img);
  s.depth = 4, s.data = bits4;
  img = read_png_spec(&s, 0, &rc);
  CHECK(rc == VQ_OK && img && memcmp(img->pixels, "\x00\x11\xff", 3) == 0);
  vq_image_destroy(img);
}

static void test_png_16bit_trns_interlaced(void) {
  /* 16-bit gray with a tRNS colour: big-endian in the file, native out */
  static const unsigned char g16[4] = {0x12, 0x34, 0xab, 0xcd};
  png_color_16 key;
  unsigned char rgb[9 * 7 * 6];
  png_spec s;
  vq_image *img;
  uint16_t *px;
  int rc, i;
  memset(&s, 0, sizeof s);
  memset(&key, 0, sizeof key);
  key.gray = 0xabcd;
  s.w = 2, s.h = 1, s.depth = 16, s.ctype = PNG_COLOR_TYPE_GRAY;
  s.data = g16, s.trns_color = &key;
  img = read_png_spec(&s, 0, &rc);
  CHECK_EQ_INT(rc, VQ_OK);
  CHECK(img && img->channels == 2 && img->depth == 16);
  px = img ? img->pixels : NULL;
  CHECK(px && px[0] == 0x1234 && px[1] == 0xffff && px[2] == 0xabcd &&
        px[3] == 0);
  vq_image_destroy(img);
  /* Adam7 16-bit RGB */
  for (i = 0; i < (int)sizeof rgb; i++) rgb[i] = (unsigned char)rnd();
  s.w = 9, s.h = 7, s.ctype = PNG_COLOR_TYPE_RGB, s.interlace = 1;
  s.data = rgb, s.trns_color = NULL;
  img = read_png_spec(&s, 0, &rc);
  CHECK_EQ_INT(rc, VQ_OK);
  CHECK(img && img->channels == 3 && img->depth == 16);
  px = img ? img->pixels : NULL;
  for (i = 0; px && i < 9 * 7 * 3; i++)
    CHECK_EQ_INT(px[i], rgb[2 * i] << 8 | rgb[2 * i + 1]);
  vq_image_destroy(img);
}

static void test_limits(void) {
  png_spec s;
  vq_image *img;
  unsigned char *data;
  char path[600];
  size_t size;
  int rc;
  memset(&s, 0, sizeof s);
  s.w = 100000, s.h = 100000, s.depth = 8, s.ctype = PNG_COLOR_TYPE_RGB;
  s.header_only = 1;
  img = read_png_spec(&s, 0, &rc);
  CHECK_EQ_INT(rc, VQ_ERR_LIMIT);
  CHECK(img == NULL);
  s.w = 1000, s.h = 1000;   /* exactly at the limit: fails later */
  img = read_png_spec(&s, 1000000, &rc);
  CHECK_EQ_INT(rc, VQ_ERR_TRUNCATED);
  img = read_png_spec(&s, 999999, &rc);
  CHECK_EQ_INT(rc, VQ_ERR_LIMIT);
  vq_test_srcpath(path, sizeof path, "tests/data/images/rgb17x13.jpg");
  CHECK_EQ_INT(vq_image_read(&img, path, 17 * 13 - 1, NULL), VQ_ERR_LIMIT);
  CHECK_EQ_INT(vq_image_read(&img, path, 17 * 13, NULL), VQ_OK);
  vq_image_destroy(img);
  data = (unsigned char *)"P6 100000 100000 255\n";
  CHECK_EQ_INT(vq_image_read_mem(&img, data, strlen((char *)data), 0, "x",
                                 NULL), VQ_ERR_LIMIT);
  img = random_image(17, 33, 3, 8);
  snprintf(path, sizeof path, "%s/lim.png", tmpdir);
  CHECK_EQ_INT(vq_image_write(img, path, NULL), VQ_OK);
  vq_image_destroy(img);
  data = read_whole(path, &size);
  CHECK_EQ_INT(vq_image_read_mem(&img, data, size, 17 * 33 - 1, "x", NULL),
               VQ_ERR_LIMIT);
  CHECK_EQ_INT(vq_image_read_mem(&img, data, size, 17 * 33, "x", NULL),
               VQ_OK);
  vq_image_destroy(img);
  free(data);
  unlink(path);
}

static int read_str(vq_image **img, const char *s, size_t n,
                    vq_diag *diag) {
  return vq_image_read_mem(img, s, n, 0, "t.pnm", diag);
}

static void test_pnm_parse(void) {
  static const char a[] = "P5\n# comment\n2 # w\n1\n#c\n3\n\x00\x03";
  static const char b[] = "P6 1 1 65535\r\x12\x34\x00\x01\xff\xff";
  static const char c[] = "P5 3 1 1000 \x00\x00\x01\xf4\x03\xe8";
  static const char d[] = "P5 1 1 7\n\x08";
  static const char e[] = "P5 2 1 255\n\x01";
  static const char f[] = "P5 1 1 255\n\x01 trailing";
  vq_image *img = NULL;
  vq_diag diag;
  uint16_t *p;
  CHECK_EQ_INT(read_str(&img, a, sizeof a - 1, &diag), VQ_OK);
  CHECK(img && img->width == 2 && img->height == 1 && img->depth == 8);
  CHECK(img && memcmp(img->pixels, "\x00\xff", 2) == 0);
  vq_image_destroy(img);
  CHECK_EQ_INT(read_str(&img, b, sizeof b - 1, &diag), VQ_OK);
  CHECK(img && img->channels == 3 && img->depth == 16);
  p = img ? img->pixels : NULL;
  CHECK(p && p[0] == 0x1234 && p[1] == 1 && p[2] == 0xffff);
  vq_image_destroy(img);
  CHECK_EQ_INT(read_str(&img, c, sizeof c - 1, &diag), VQ_OK);
  p = img ? img->pixels : NULL;
  CHECK(p && img->depth == 16 && p[0] == 0 && p[1] == 32768 &&
        p[2] == 65535);
  vq_image_destroy(img);
  CHECK_EQ_INT(read_str(&img, d, sizeof d - 1, &diag), VQ_ERR_FORMAT);
  CHECK(strstr(diag.msg, "t.pnm: ") == diag.msg);
  CHECK_EQ_INT(read_str(&img, e, sizeof e - 1, &diag), VQ_ERR_TRUNCATED);
  CHECK_EQ_INT(read_str(&img, f, sizeof f - 1, &diag), VQ_OK);
  vq_image_destroy(img);
  CHECK_EQ_INT(read_str(&img, "P2 1 1 255 7", 12, &diag),
               VQ_ERR_UNSUPPORTED);
  CHECK_EQ_INT(read_str(&img, "P5 0 1 255\n", 11, &diag), VQ_ERR_FORMAT);
  CHECK_EQ_INT(read_str(&img, "P5 1 1 0\n", 9, &diag), VQ_ERR_FORMAT);
  CHECK_EQ_INT(read_str(&img, "P5 1 1 65536\n", 13, &diag),
               VQ_ERR_FORMAT);
  CHECK_EQ_INT(read_str(&img, "P5 x 1 255\n", 11, &diag), VQ_ERR_FORMAT);
  CHECK_EQ_INT(read_str(&img, "P5 1 1 255", 10, &diag), VQ_ERR_TRUNCATED);
  CHECK_EQ_INT(read_str(&img, "GIF89a", 6, &diag), VQ_ERR_FORMAT);
  CHECK_EQ_INT(read_str(&img, "", 0, &diag), VQ_ERR_FORMAT);
  CHECK(img == NULL);
}

static int near(int a, int b, int tol) { return abs(a - b) <= tol; }

static void check_jpeg(const char *rel, int ch, uint32_t w, uint32_t h,
                       int tol) {
  char path[600];
  vq_image *img = NULL;
  vq_diag diag;
  uint32_t x, y;
  int bad = 0;
  vq_test_srcpath(path, sizeof path, rel);
  CHECK_EQ_INT(vq_image_read(&img, path, 0, &diag), VQ_OK);
  CHECK(img && img->channels == ch && img->depth == 8 && img->width == w &&
        img->height == h);
  if (!img || img->width != w || img->height != h) {
    vq_image_destroy(img);
    return;
  }
  for (y = 0; y < h; y++)
    for (x = 0; x < w; x++) {
      const uint8_t *p = (uint8_t *)img->pixels + (y * w + x) * ch;
      if (ch == 1) bad += !near(p[0], 40 + 12 * x + 9 * y, tol);
      else
        bad += !near(p[0], 20 + 10 * x, tol) + !near(p[1], 30 + 8 * y, tol) +
               !near(p[2], 128, tol);
    }
  CHECK_EQ_INT(bad, 0);
  vq_image_destroy(img);
}

static void test_jpeg(void) {
  char path[600];
  vq_image *img = NULL;
  vq_diag diag;
  check_jpeg("tests/data/images/rgb17x13.jpg", 3, 17, 13, 4);
  check_jpeg("tests/data/images/rgb17x13-progressive.jpg", 3, 17, 13, 8);
  check_jpeg("tests/data/images/gray7x5.jpg", 1, 7, 5, 4);
  vq_test_srcpath(path, sizeof path, "tests/data/images/cmyk4x4.jpg");
  CHECK_EQ_INT(vq_image_read(&img, path, 0, &diag), VQ_ERR_UNSUPPORTED);
  CHECK(strstr(diag.msg, path) == diag.msg && strstr(diag.msg, "CMYK"));
  snprintf(path, sizeof path, "%s/missing.png", tmpdir);
  CHECK_EQ_INT(vq_image_read(&img, path, 0, &diag), VQ_ERR_IO);
  CHECK(strstr(diag.msg, path) == diag.msg);
  CHECK(img == NULL);
}

static uint32_t crc32_bytes(const unsigned char *p, size_t n) {
  uint32_t c = 0xffffffffu;
  int k;
  while (n--) {
    c ^= *p++;
    for (k = 0; k < 8; k++) c = c >> 1 ^ (0xedb88320u & (0u - (c & 1)));
  }
  return ~c;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* Recomputes every PNG chunk CRC so that a flipped bit reaches the
 * decoder instead of failing the CRC check. */
static void fix_png_crcs(unsigned char *p, size_t size) {
  size_t at = 8;
  while (at + 12 <= size && be32(p + at) <= size - at - 12) {
    size_t len = be32(p + at);
    uint32_t crc = crc32_bytes(p + at + 4, len + 4);
    unsigned char *c = p + at + 8 + len;
    c[0] = (unsigned char)(crc >> 24), c[1] = (unsigned char)(crc >> 16);
    c[2] = (unsigned char)(crc >> 8), c[3] = (unsigned char)crc;
    at += len + 12;
  }
}

/* Every prefix fails cleanly; random single-bit flips never crash. */
static void mangle(const unsigned char *data, size_t size, const char *name,
                   int check_truncation) {
  unsigned char *copy = malloc(size);
  vq_image *img;
  vq_diag diag;
  size_t n;
  int i, rc, ok = 0;
  for (n = 0; n < size; n++) {
    img = NULL;
    diag.msg[0] = 0;
    rc = vq_image_read_mem(&img, data, n, 1 << 16, name, &diag);
    if (check_truncation) CHECK(rc < 0);
    CHECK(rc == VQ_OK || (img == NULL && strstr(diag.msg, name) == diag.msg
                          && diag.msg[strlen(name) + 2] != 0));
    vq_image_destroy(img);
  }
  for (i = 0; i < 400; i++) {
    size_t bit = rnd() % (size * 8);
    memcpy(copy, data, size);
    copy[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    if (strcmp(name, "png") == 0 && i % 2) fix_png_crcs(copy, size);
    img = NULL;
    diag.msg[0] = 0;
    rc = vq_image_read_mem(&img, copy, size, 1 << 16, name, &diag);
    CHECK(rc == VQ_OK || (rc < 0 && img == NULL && diag.msg[0] != 0));
    ok += rc == VQ_OK;
    vq_image_destroy(img);
  }
  fprintf(stderr, "%s: %d of 400 bit flips still decode\n", name, ok);
  free(copy);
}

static void test_corrupt(void) {
  static const char *exts[3] = {".png", ".ppm", ".pgm"};
  char path[600];
  unsigned char *data;
  size_t size;
  int k;
  for (k = 0; k < 3; k++) {
    vq_image *img = random_image(17, 33, k == 2 ? 1 : 3, 8);
    size_t i;
    /* smooth content so that the PNG filters and zlib do real work */
    for (i = 0; i < image_bytes(img); i++)
      ((uint8_t *)img->pixels)[i] = (uint8_t)(i / 7 + (rnd() & 3));
    snprintf(path, sizeof path, "%s/c%s", tmpdir, exts[k]);
    CHECK_EQ_INT(vq_image_write(img, path, NULL), VQ_OK);
    vq_image_destroy(img);
    data = read_whole(path, &size);
    CHECK(data != NULL);
    if (data) mangle(data, size, exts[k] + 1, 1);
    free(data);
    unlink(path);
  }
  vq_test_srcpath(path, sizeof path, "tests/data/images/rgb17x13.jpg");
  data = read_whole(path, &size);
  CHECK(data != NULL);
  if (data) mangle(data, size, "jpg", 1);
  free(data);
  vq_test_srcpath(path, sizeof path,
                  "tests/data/images/rgb17x13-progressive.jpg");
  data = read_whole(path, &size);
  CHECK(data != NULL);
  if (data) mangle(data, size, "progressive", 1);
  free(data);
}

/* --- patches */

static float luma(int r, int g, int b) {
  return 0.299f * (float)r + 0.587f * (float)g + 0.114f * (float)b;
}

/* 5 x 4 image: pixel (x, y) = (10x + y, 100 + x, 200 + y[, 77]). */
static vq_image *patch_image(int ch) {
  vq_image *img = NULL;
  uint32_t x, y;
  int k;
  CHECK_EQ_INT(vq_image_create(&img, 5, 4, ch, 8), VQ_OK);
  for (y = 0; img && y < 4; y++)
    for (x = 0; x < 5; x++) {
      uint8_t v[4];
      v[0] = (uint8_t)(10 * x + y);
      v[1] = (uint8_t)(100 + x);
      v[2] = (uint8_t)(200 + y);
      v[3] = 77;
      for (k = 0; k < ch; k++)
        ((uint8_t *)img->pixels)[(y * 5 + x) * ch + k] = v[k];
    }
  return img;
}

static void test_patch_params(void) {
  vq_patch_params p;
  vq_image *img = patch_image(3);
  size_t n, d;
  CHECK_EQ_INT(vq_patch_params_init_(&p, VQ_ABI_VERSION + 1, sizeof p),
               VQ_ERR_ABI);
  CHECK_EQ_INT(vq_patch_params_init_(&p, VQ_ABI_VERSION, sizeof p - 1),
               VQ_ERR_ABI);
  CHECK_EQ_INT(vq_patch_params_init_(NULL, VQ_ABI_VERSION, sizeof p),
               VQ_ERR_INVALID_ARG);
  memset(&p, 0, sizeof p);
  CHECK_EQ_INT(vq_image_patch_count(img, &p, &n, &d), VQ_ERR_ABI);
  CHECK_EQ_INT(vq_patch_params_init(&p), VQ_OK);
  CHECK(p.patch == 8 && p.stride == 0 && p.color == VQ_PATCH_LUMA &&
        p.mean_removed == 0);
  /* smaller than one patch: no patches, not an error */
  CHECK_EQ_INT(vq_image_patch_count(img, &p, &n, &d), VQ_OK);
  CHECK(n == 0 && d == 64);
  CHECK_EQ_INT(vq_image_patches(NULL, img, &p), VQ_OK);
  p.patch = 0;
  CHECK_EQ_INT(vq_image_patch_count(img, &p, &n, &d), VQ_ERR_INVALID_ARG);
  p.patch = 257;
  CHECK_EQ_INT(vq_image_patch_count(img, &p, &n, &d), VQ_ERR_INVALID_ARG);
  p.patch = 2, p.stride = -1;
  CHECK_EQ_INT(vq_image_patch_count(img, &p, &n, &d), VQ_ERR_INVALID_ARG);
  p.stride = 4097;
  CHECK_EQ_INT(vq_image_patch_count(img, &p, &n, &d), VQ_ERR_INVALID_ARG);
  p.stride = 0, p.color = (vq_patch_color)5;
  CHECK_EQ_INT(vq_image_patch_count(img, &p, &n, &d), VQ_ERR_INVALID_ARG);
  p.color = VQ_PATCH_LUMA;
  CHECK_EQ_INT(vq_image_patch_count(NULL, &p, &n, &d), VQ_ERR_INVALID_ARG);
  vq_image_destroy(img);
}

static void test_patch_values(void) {
  vq_patch_params p;
  vq_image *rgb = patch_image(3), *rgba = patch_image(4);
  float out[12 * 12], out4[12 * 12];
  size_t n, d;
  int i;
  CHECK_EQ_INT(vq_patch_params_init(&p), VQ_OK);
  p.patch = 2;
  CHECK_EQ_INT(vq_image_patch_count(rgb, &p, &n, &d), VQ_OK);
  CHECK(n == 4 && d == 4);   /* column x = 4 is a partial patch: skipped */
  CHECK_EQ_INT(vq_image_patches(out, rgb, &p), VQ_OK);
  /* patch 1 is (px 1, py 0): pixels (2,0) (3,0) (2,1) (3,1) */
  CHECK(out[4] == luma(20, 102, 200) && out[5] == luma(30, 103, 200));
  CHECK(out[6] == luma(21, 102, 201) && out[7] == luma(31, 103, 201));
  /* patch 2 is (0, 1): pixel (0, 2) first */
  CHECK(out[8] == luma(2, 100, 202));
  /* alpha ignored */
  CHECK_EQ_INT(vq_image_patches(out4, rgba, &p), VQ_OK);
  CHECK(memcmp(out, out4, 16 * sizeof(float)) == 0);
  /* RGB, stride 1: 4 x 3 patches of dimension 12 */
  p.color = VQ_PATCH_RGB, p.stride = 1;
  CHECK_EQ_INT(vq_image_patch_count(rgb, &p, &n, &d), VQ_OK);
  CHECK(n == 12 && d == 12);
  CHECK_EQ_INT(vq_image_patches(out, rgb, &p), VQ_OK);
  /* patch 5 is (1, 1): pixels (1,1) (2,1) (1,2) (2,2) */
  CHECK(out[60] == 11 && out[61] == 101 && out[62] == 201);
  CHECK(out[63] == 21 && out[64] == 102 && out[65] == 201);
  CHECK(out[66] == 12 && out[69] == 22 && out[71] == 202);
  /* mean removal, per channel */
  p.mean_removed = 1;
  CHECK_EQ_INT(vq_image_patches(out, rgb, &p), VQ_OK);
  CHECK(out[60] == 11 - 16.5f && out[61] == 101 - 101.5f &&
        out[62] == 201 - 201.5f && out[71] == 202 - 201.5f);
  for (i = 0; i < 3; i++)
    CHECK(out[60 + i] + out[63 + i] + out[66 + i] + out[69 + i] == 0.0f);
  vq_image_destroy(rgb);
  vq_image_destroy(rgba);
}

static void test_patch_gray16(void) {
  vq_patch_params p;
  vq_image *img = NULL;
  float out[3 * 3 * 3 * 2];
  size_t n, d;
  int i;
  CHECK_EQ_INT(vq_image_create(&img, 3, 7, 2, 16), VQ_OK);
  for (i = 0; i < 21; i++) {
    ((uint16_t *)img->pixels)[2 * i] = (uint16_t)(257 * (i * 10 + 3));
    ((uint16_t *)img->pixels)[2 * i + 1] = 65535;
  }
  CHECK_EQ_INT(vq_patch_params_init(&p), VQ_OK);
  p.patch = 3, p.stride = 4;
  CHECK_EQ_INT(vq_image_patch_count(img, &p, &n, &d), VQ_OK);
  CHECK(n == 2 && d == 9);
  CHECK_EQ_INT(vq_image_patches(out, img, &p), VQ_OK);
  CHECK(out[0] == 3 && out[4] == 43 && out[9] == 123);
  p.color = VQ_PATCH_RGB;
  CHECK_EQ_INT(vq_image_patch_count(img, &p, &n, &d), VQ_OK);
  CHECK(n == 2 && d == 27);
  CHECK_EQ_INT(vq_image_patches(out, img, &p), VQ_OK);
  CHECK(out[12] == 43 && out[13] == 43 && out[14] == 43);
  vq_image_destroy(img);
}

int main(void) {
  rng = vq_test_seed(0x5eed1234) * 0x9e3779b97f4a7c15ULL | 1;
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  test_create();
  test_roundtrips();
  test_write_errors();
  test_png_palette();
  test_png_lowbit_gray();
  test_png_16bit_trns_interlaced();
  test_limits();
  test_pnm_parse();
  test_jpeg();
  test_corrupt();
  test_patch_params();
  test_patch_values();
  test_patch_gray16();
  CHECK_EQ_INT(count_entries(tmpdir), 0);
  rmdir(tmpdir);
  return vq_test_finish("test_image");
}
