/* Image codec: round trips of every channel layout and depth at odd sizes
 * (sizes and channels kept, alpha exact, PSNR above a floor), palette
 * PNGs, photographs, PSNR and size that never fall as the quality rises,
 * streams that do not depend on the thread count, every truncation and
 * bit flip of small streams refused, damaged payloads behind valid CRCs
 * that never crash, and absurd headers refused before anything large is
 * allocated. No stream bytes are hard-coded: the format is still moving. */
#include "config.h"
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include "vq/container.h"
#include "vq/image.h"
#include "vq/imagecodec.h"
#include "internal.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Smooth content at quality 90 must come back above this. */
#define PSNR_FLOOR 30.0

static vq_rng rng;

static int has_alpha(int channels) { return channels == 2 || channels == 4; }

/* A sample of img on the 8-bit scale. */
static double sample8(const vq_image *img, size_t i) {
  return img->depth == 16 ? ((const uint16_t *)img->pixels)[i] / 257.0
                          : ((const uint8_t *)img->pixels)[i];
}

/* w x h of channels ch and depth 8 or 16: gradients and slow ripples per
 * channel plus uniform noise of +-noise (8-bit units); alpha a ramp with
 * one pixel in eight random. */
static vq_image *synth(uint32_t w, uint32_t h, int ch, int depth,
                       int noise) {
  vq_image *img = NULL;
  uint32_t x, y;
  int c, colour = has_alpha(ch) ? ch - 1 : ch;
  CHECK_EQ_INT(vq_image_create(&img, w, h, ch, depth), VQ_OK);
  if (!img) return NULL;
  for (y = 0; y < h; y++)
    for (x = 0; x < w; x++)
      for (c = 0; c < ch; c++) {
        size_t i = ((size_t)y * w + x) * (size_t)ch + (size_t)c;
        double v;
        if (c == colour) {
          v = vq_rng_below(&rng, 8) ? (x * 7 + y * 3) % 256
                                    : (double)vq_rng_below(&rng, 256);
        } else {
          v = 128.0 + 60.0 * sin(x * 0.05 + c) + 50.0 * cos(y * 0.07 - c) +
              0.1 * ((double)x - y);
          if (noise)
            v += (double)vq_rng_below(&rng, 2 * (uint64_t)noise + 1) - noise;
          v = v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v;
        }
        if (depth == 16) /* detail below the 8-bit step */
          ((uint16_t *)img->pixels)[i] = (uint16_t)(
              (int)v * 257 + (v < 255.0 ? (int)vq_rng_below(&rng, 257) : 0));
        else
          ((uint8_t *)img->pixels)[i] = (uint8_t)v;
      }
  return img;
}

/* PSNR over the colour channels (alpha ignored), as an oracle for
 * vq_image_compare(); both images must have the same layout. */
static double colour_psnr(const vq_image *a, const vq_image *b) {
  size_t n = (size_t)a->width * a->height, i;
  int ch = a->channels, colour = has_alpha(ch) ? ch - 1 : ch, c;
  double se = 0.0;
  for (i = 0; i < n; i++)
    for (c = 0; c < colour; c++) {
      double d = sample8(a, i * ch + c) - sample8(b, i * ch + c);
      se += d * d;
    }
  if (se == 0.0) return 99.0;
  return 10.0 * log10(255.0 * 255.0 * (double)n * colour / se);
}

/* 1 when b's alpha is a's, rounded to 8 bits. */
static int alpha_exact(const vq_image *a, const vq_image *b) {
  size_t n = (size_t)a->width * a->height, i;
  int ch = a->channels;
  for (i = 0; i < n; i++) {
    size_t k = i * ch + ch - 1;
    unsigned want = a->depth == 16
                        ? (((const uint16_t *)a->pixels)[k] + 128u) / 257u
                        : ((const uint8_t *)a->pixels)[k];
    if (((const uint8_t *)b->pixels)[k] != want) return 0;
  }
  return 1;
}

static uint8_t *encode(size_t *size, const vq_image *img, float quality,
                       int subsample, int threads) {
  vq_image_enc_params p;
  vq_diag diag = {{0}};
  uint8_t *vq = NULL;
  int rc;
  *size = 0;
  CHECK_EQ_INT(vq_image_enc_params_init(&p), VQ_OK);
  p.quality = quality, p.subsample = subsample, p.threads = threads;
  rc = vq_image_encode(&vq, size, img, &p, &diag);
  CHECK_EQ_INT(rc, VQ_OK);
  if (rc < 0) fprintf(stderr, "  encode: %s\n", diag.msg);
  return vq;
}

static vq_image *decode(const uint8_t *vq, size_t size, int threads) {
  vq_diag diag = {{0}};
  vq_image *img = NULL;
  int rc = vq_image_decode(&img, vq, size, 0, threads, "t.vq", &diag);
  CHECK_EQ_INT(rc, VQ_OK);
  if (rc < 0) fprintf(stderr, "  decode: %s\n", diag.msg);
  return img;
}

/* What the HEAD chunk of a stream says; 0 on success. */
static int stream_info(vq_image_info *info, const uint8_t *vq, size_t size) {
  vq_container *c = NULL;
  const vq_chunk *head;
  int rc = vq_container_parse(&c, vq, size, 0, NULL, NULL, NULL);
  if (rc == VQ_OK) {
    head = vq_container_find(c, "HEAD", 0);
    rc = head ? vq_image_info_parse(info, head->data, head->size, NULL)
              : VQ_ERR_FORMAT;
  }
  vq_container_destroy(c);
  return rc;
}

/* Encodes and decodes src, checks the layout, the PSNR against floor
 * (through vq_image_compare() and the oracle) and alpha; returns the
 * PSNR, or -1 when the round trip failed. */
static double round_trip(const vq_image *src, float quality, int subsample,
                         double floor, size_t *bytes) {
  vq_image_info info;
  vq_image *back;
  size_t size;
  uint8_t *vq = encode(&size, src, quality, subsample, 0);
  double psnr = -1.0, psnr_y, ssim, oracle;
  if (bytes) *bytes = size;
  if (!vq) return -1.0;
  back = decode(vq, size, 0);
  CHECK_EQ_INT(stream_info(&info, vq, size), VQ_OK);
  CHECK(info.width == src->width && info.height == src->height);
  CHECK_EQ_INT(info.channels, src->channels);
  if (subsample && src->channels >= 3) CHECK_EQ_INT(info.subsample, subsample);
  CHECK(fabsf(info.quality - quality) < 0.01f);
  if (back && back->width == src->width && back->height == src->height &&
      back->channels == src->channels && back->depth == 8) {
    CHECK_EQ_INT(vq_image_compare(src, back, &psnr, &psnr_y, &ssim), VQ_OK);
    oracle = colour_psnr(src, back);
    CHECK(fabs(psnr - oracle) < 0.01 || (psnr >= 90.0 && oracle >= 90.0));
    /* up to 1e-3 over 1: under 8 x 8 pixels (one window) compare.c sums
     * squares in single precision and a 1 x 1 image gives 1.0001 */
    CHECK(ssim > 0.0 && ssim <= 1.001);
    if (has_alpha(src->channels)) CHECK(alpha_exact(src, back));
  } else {
    CHECK(!"decoded image has the source's size, channels and 8 bits");
  }
  if (psnr <= floor)
    fprintf(stderr, "  %lux%lu ch %d depth %d q %g sub %d: PSNR %.2f dB "
            "<= %.1f\n", (unsigned long)src->width,
            (unsigned long)src->height, src->channels, src->depth,
            (double)quality, subsample, psnr, floor);
  CHECK(psnr > floor);
  vq_image_destroy(back);
  vq_free(vq);
  return psnr;
}

static void test_params(void) {
  vq_image_enc_params p;
  vq_image *img = synth(9, 9, 3, 8, 0);
  uint8_t *vq = (uint8_t *)&p;
  size_t size = 1;
  vq_diag diag = {{0}};
  CHECK_EQ_INT(vq_image_enc_params_init_(&p, VQ_ABI_VERSION + 1, sizeof p),
               VQ_ERR_ABI);
  CHECK_EQ_INT(vq_image_enc_params_init_(&p, VQ_ABI_VERSION, sizeof p - 4),
               VQ_ERR_ABI);
  CHECK_EQ_INT(vq_image_enc_params_init(&p), VQ_OK);
  CHECK(p.quality == 75.0f && p.subsample == 0 && p.threads == 0);
  p.quality = 100.5f;
  CHECK_EQ_INT(vq_image_encode(&vq, &size, img, &p, &diag),
               VQ_ERR_INVALID_ARG);
  CHECK(vq == NULL && size == 0 && strstr(diag.msg, "quality") != NULL);
  p.quality = -1.0f;
  CHECK_EQ_INT(vq_image_encode(&vq, &size, img, &p, NULL), VQ_ERR_INVALID_ARG);
  p.quality = NAN;
  CHECK_EQ_INT(vq_image_encode(&vq, &size, img, &p, NULL), VQ_ERR_INVALID_ARG);
  p.quality = 50.0f, p.subsample = 422;
  CHECK_EQ_INT(vq_image_encode(&vq, &size, img, &p, NULL), VQ_ERR_INVALID_ARG);
  p.subsample = 0;
  img->channels = 5;
  CHECK_EQ_INT(vq_image_encode(&vq, &size, img, &p, NULL), VQ_ERR_INVALID_ARG);
  img->channels = 3, img->depth = 12;
  CHECK_EQ_INT(vq_image_encode(&vq, &size, img, &p, NULL), VQ_ERR_INVALID_ARG);
  img->depth = 8;
  p.size_ = 0;
  CHECK_EQ_INT(vq_image_encode(&vq, &size, img, &p, NULL), VQ_ERR_ABI);
  CHECK(vq == NULL);
  vq_image_destroy(img);
}

/* Every layout at 1 x 1, 7 x 5, 17 x 33 and 300 x 200, 4:4:4 and 4:2:0. */
static void test_round_trips(void) {
  static const uint32_t sizes[4][2] = {{1, 1}, {7, 5}, {17, 33}, {300, 200}};
  static const int layouts[7][2] = {{1, 8}, {2, 8}, {3, 8}, {4, 8},
                                    {1, 16}, {3, 16}, {4, 16}};
  int s, l, sub;
  for (s = 0; s < 4; s++)
    for (l = 0; l < 7; l++)
      for (sub = 0; sub < 2; sub++) {
        int ch = layouts[l][0];
        vq_image *img;
        if (sub && ch < 3) continue;
        img = synth(sizes[s][0], sizes[s][1], ch, layouts[l][1], 2);
        round_trip(img, 90.0f, sub ? 420 : 444, PSNR_FLOOR, NULL);
        vq_image_destroy(img);
      }
}

/* The default subsampling is 4:2:0 below quality 90, 4:4:4 from there;
 * gray streams say 4:4:4. */
static void test_subsample_default(void) {
  vq_image *rgb = synth(40, 24, 3, 8, 0), *gray = synth(40, 24, 1, 8, 0);
  vq_image_info info;
  size_t size;
  uint8_t *vq;
  vq = encode(&size, rgb, 89.0f, 0, 0);
  CHECK(vq && stream_info(&info, vq, size) == VQ_OK && info.subsample == 420);
  vq_free(vq);
  vq = encode(&size, rgb, 90.0f, 0, 0);
  CHECK(vq && stream_info(&info, vq, size) == VQ_OK && info.subsample == 444);
  vq_free(vq);
  vq = encode(&size, rgb, 95.0f, 420, 0);
  CHECK(vq && stream_info(&info, vq, size) == VQ_OK && info.subsample == 420);
  vq_free(vq);
  vq = encode(&size, gray, 50.0f, 420, 0);
  CHECK(vq && stream_info(&info, vq, size) == VQ_OK && info.subsample == 444 &&
        info.channels == 1);
  vq_free(vq);
  /* the lowest quality still decodes to the right size */
  round_trip(rgb, 0.0f, 0, 5.0, NULL);
  vq_image_destroy(rgb);
  vq_image_destroy(gray);
}

static void test_compare(void) {
  vq_image *a = synth(33, 17, 3, 8, 3), *g = synth(33, 17, 1, 8, 0);
  double psnr, psnr_y, ssim;
  CHECK_EQ_INT(vq_image_compare(a, a, &psnr, &psnr_y, &ssim), VQ_OK);
  CHECK(psnr == 99.0 && psnr_y == 99.0 && fabs(ssim - 1.0) < 1e-9);
  CHECK_EQ_INT(vq_image_compare(a, g, &psnr, &psnr_y, &ssim), VQ_OK);
  CHECK(psnr < 40.0);
  g->width = 32;
  CHECK(vq_image_compare(a, g, &psnr, &psnr_y, &ssim) < 0);
  g->width = 33;
  vq_image_destroy(a);
  vq_image_destroy(g);
}

/* --- palette PNGs, written with libpng into memory */

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
    m->p = q, m->cap = cap;
  }
  memcpy(m->p + m->n, d, n);
  m->n += n;
}

static void mem_flush(png_structp png) { (void)png; }

/* A 29 x 19 PNG of 8-bit palette indices (x + 2y) % 16 over a palette of
 * 16 colours on a ramp, with a tRNS chunk when trns; 0 on success. */
static int palette_png(membuf *m, int trns) {
  png_color pal[16];
  png_byte alpha[16], row[29], *rows[19];
  png_structp png;
  png_infop info;
  volatile int y;
  int i;
  memset(m, 0, sizeof *m);
  for (i = 0; i < 16; i++) {
    pal[i].red = (png_byte)(i * 16), pal[i].green = (png_byte)(200 - i * 8);
    pal[i].blue = (png_byte)(60 + i * 4), alpha[i] = (png_byte)(i * 17);
  }
  png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  info = png ? png_create_info_struct(png) : NULL;
  if (!info) return -1;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return -1;
  }
  png_set_write_fn(png, m, mem_write, mem_flush);
  png_set_IHDR(png, info, 29, 19, 8, PNG_COLOR_TYPE_PALETTE,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_set_PLTE(png, info, pal, 16);
  if (trns) png_set_tRNS(png, info, alpha, 16, NULL);
  png_write_info(png, info);
  for (y = 0; y < 19; y++) {
    for (i = 0; i < 29; i++) row[i] = (png_byte)((i + 2 * y) % 16);
    rows[0] = row;
    png_write_rows(png, rows, 1);
  }
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  return 0;
}

static void test_palette(void) {
  int trns;
  for (trns = 0; trns < 2; trns++) {
    membuf m;
    vq_image *img = NULL;
    int rc;
    CHECK_EQ_INT(palette_png(&m, trns), 0);
    rc = vq_image_read_mem(&img, m.p, m.n, 0, "palette.png", NULL);
    CHECK_EQ_INT(rc, VQ_OK);
    CHECK(img && img->channels == (trns ? 4 : 3) && img->depth == 8);
    /* hard edges between palette colours: a lower floor than smooth */
    if (img) round_trip(img, 90.0f, 0, 25.0, NULL);
    vq_image_destroy(img);
    free(m.p);
  }
}

/* --- photographs */

/* A Kodak image: $VQ_KODAK (a folder) or ../shared/data/kodak beside the
 * source tree; the bundled samples/astronaut.png when neither exists. */
static const char *kodak_path(char *buf, size_t size) {
  const char *dir = getenv("VQ_KODAK");
  if (dir) snprintf(buf, size, "%s/kodim23.png", dir);
  else vq_test_srcpath(buf, size, "../shared/data/kodak/kodim23.png");
  if (access(buf, R_OK) == 0) return buf;
  fprintf(stderr, "  %s not found (set VQ_KODAK); using astronaut.png\n",
          buf);
  return vq_test_srcpath(buf, size, "samples/astronaut.png");
}

static void test_photo(void) {
  char path[1024];
  vq_image *img = NULL;
  int rc = vq_image_read(&img, kodak_path(path, sizeof path), 0, NULL);
  CHECK_EQ_INT(rc, VQ_OK);
  if (img) {
    double p90 = round_trip(img, 90.0f, 0, PSNR_FLOOR, NULL);
    double p50 = round_trip(img, 50.0f, 0, 25.0, NULL);
    fprintf(stderr, "  %s: PSNR %.2f dB at q90, %.2f dB at q50\n", path,
            p90, p50);
  }
  vq_image_destroy(img);
}

/* --- quality monotonicity over the PNG files in samples/ */

#define MAX_SAMPLES 8
static vq_image *samples[MAX_SAMPLES];
static int nsamples;

static void add_sample(const char *path) {
  size_t n = strlen(path);
  if (n < 4 || strcmp(path + n - 4, ".png") || nsamples == MAX_SAMPLES)
    return;
  CHECK_EQ_INT(vq_image_read(&samples[nsamples], path, 0, NULL), VQ_OK);
  if (samples[nsamples]) nsamples++;
}

static void test_monotonic(void) {
  double last_psnr = 0.0;
  size_t last_size[MAX_SAMPLES] = {0};
  int q, s;
  CHECK(vq_test_each_file("samples", add_sample) > 0);
  CHECK(nsamples >= 2);
  for (q = 10; q <= 100; q += 10) {
    double sum = 0.0, mean;
    for (s = 0; s < nsamples; s++) {
      size_t size;
      double psnr = round_trip(samples[s], (float)q, 0, 10.0, &size);
      sum += psnr;
      if (size < last_size[s])
        fprintf(stderr, "  sample %d: %zu bytes at q%d, %zu at q%d\n", s,
                size, q, last_size[s], q - 10);
      CHECK(size >= last_size[s]);
      last_size[s] = size;
    }
    mean = sum / nsamples;
    if (mean < last_psnr)
      fprintf(stderr, "  mean PSNR %.3f dB at q%d, %.3f dB at q%d\n", mean,
              q, last_psnr, q - 10);
    CHECK(mean >= last_psnr);
    last_psnr = mean;
  }
}

/* --- threads */

static int same_pixels(const vq_image *a, const vq_image *b) {
  return a && b && a->width == b->width && a->height == b->height &&
         a->channels == b->channels &&
         memcmp(a->pixels, b->pixels, (size_t)a->width * a->height *
                                          (size_t)a->channels) == 0;
}

/* Streams are the same bytes for 1, 2 and all threads and decode to the
 * same pixels on 1 and 2 threads: synthetic images tall enough for at
 * least three stripes (of up to 512 rows) and a photograph. */
static void test_threads(void) {
  static const float quality[3] = {60.0f, 95.0f, 75.0f};
  vq_image *src[3];
  int i;
  src[0] = synth(100, 1100, 4, 8, 4);
  src[1] = synth(140, 1100, 3, 8, 1);
  src[2] = nsamples ? samples[0] : NULL;
  for (i = 0; i < 3 && src[i]; i++) {
    size_t s1, s2, s0;
    uint8_t *v1 = encode(&s1, src[i], quality[i], 0, 1);
    uint8_t *v2 = encode(&s2, src[i], quality[i], 0, 2);
    uint8_t *v0 = encode(&s0, src[i], quality[i], 0, 0);
    vq_image_info info;
    CHECK(v1 && stream_info(&info, v1, s1) == VQ_OK &&
          (i == 2 || info.tiles >= 3));
    CHECK(v1 && v2 && s1 == s2 && memcmp(v1, v2, s1) == 0);
    CHECK(v1 && v0 && s1 == s0 && memcmp(v1, v0, s1) == 0);
    if (v1) {
      vq_image *d1 = decode(v1, s1, 1), *d2 = decode(v1, s1, 2);
      CHECK(same_pixels(d1, d2));
      vq_image_destroy(d1);
      vq_image_destroy(d2);
    }
    vq_free(v0);
    vq_free(v1);
    vq_free(v2);
  }
  vq_image_destroy(src[0]);
  vq_image_destroy(src[1]);
}

/* --- damage */

/* Every cut and every bit flip of small streams is an error; a flip of
 * the minor version byte (offset 9), which readers accept whatever it
 * says, must give the original pixels. */
static void test_damage(void) {
  static const int layouts[3] = {3, 4, 1};
  int l;
  for (l = 0; l < 3; l++) {
    vq_image *img = synth(24, 20, layouts[l], 8, 6), *ref, *back;
    size_t size, cut, bit, flips_ok = 0;
    uint8_t *vq = encode(&size, img, l == 1 ? 90.0f : 70.0f, 0, 0);
    if (!vq) continue;
    ref = decode(vq, size, 0);
    for (cut = 0; cut < size; cut++) {
      back = NULL;
      CHECK(vq_image_decode(&back, vq, cut, 0, 1, NULL, NULL) < 0);
      CHECK(back == NULL);
    }
    for (bit = 0; bit < 8 * size; bit++) {
      int rc;
      vq[bit / 8] ^= (uint8_t)(1u << (bit % 8));
      back = NULL;
      rc = vq_image_decode(&back, vq, size, 0, 1, NULL, NULL);
      if (rc == VQ_OK) {
        CHECK(same_pixels(ref, back));
        if (bit / 8 != 9) flips_ok++;
        vq_image_destroy(back);
      } else {
        CHECK(back == NULL);
      }
      vq[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    CHECK_EQ_INT(flips_ok, 0);
    vq_image_destroy(ref);
    vq_image_destroy(img);
    vq_free(vq);
  }
}

/* Rebuilds a stream from its chunks with chunk k's payload replaced by
 * data[0..size); the writer computes valid CRCs. */
static uint8_t *rebuild(size_t *out_size, const vq_container *c, size_t k,
                        const uint8_t *data, size_t size) {
  vq_container_writer *w = NULL;
  uint8_t *out = NULL;
  size_t i, n = vq_container_count(c);
  int rc = vq_container_writer_create(&w);
  for (i = 0; rc == VQ_OK && i < n; i++) {
    const vq_chunk *ch = vq_container_chunk(c, i);
    if (!strcmp(ch->type, "TAIL")) continue;
    rc = i == k ? vq_container_writer_add(w, ch->type, data, size)
                : vq_container_writer_add(w, ch->type, ch->data, ch->size);
  }
  if (rc == VQ_OK) rc = vq_container_writer_finish(w, &out, out_size);
  vq_container_writer_destroy(w);
  CHECK_EQ_INT(rc, VQ_OK);
  return out;
}

/* Decodes a damaged stream under a small pixel limit: any result but a
 * crash; a decoded image has the size its header claims. */
static void decode_damaged(const uint8_t *vq, size_t size) {
  vq_image_info info;
  vq_image *img = NULL;
  int rc = vq_image_decode(&img, vq, size, 1u << 14, 1, NULL, NULL);
  if (rc == VQ_OK) {
    CHECK(stream_info(&info, vq, size) == VQ_OK && img &&
          img->width == info.width && img->height == info.height &&
          img->channels == info.channels && img->depth == 8);
    vq_image_destroy(img);
  } else {
    CHECK(img == NULL);
  }
}

/* Bit flips and cuts of every chunk payload, HEAD included, behind valid
 * CRCs, so that they reach the image decoder itself. */
static void test_payload_damage(void) {
  static const int layouts[2] = {3, 2};
  int l;
  for (l = 0; l < 2; l++) {
    vq_image *img = synth(24, 20, layouts[l], 8, 6);
    vq_container *c = NULL;
    size_t size, k, j, n;
    uint8_t *vq = encode(&size, img, 80.0f, 444, 0), *buf;
    CHECK(vq && vq_container_parse(&c, vq, size, 0, NULL, NULL, NULL) == 0);
    n = c ? vq_container_count(c) : 0;
    for (k = 0; k < n; k++) {
      const vq_chunk *ch = vq_container_chunk(c, k);
      uint8_t *p;
      if (!strcmp(ch->type, "TAIL") || ch->size == 0) continue;
      p = malloc(ch->size);
      memcpy(p, ch->data, ch->size);
      for (j = 0; j < 8 * (size_t)ch->size; j++) {
        size_t out_size;
        p[j / 8] ^= (uint8_t)(1u << (j % 8));
        if ((buf = rebuild(&out_size, c, k, p, ch->size)) != NULL)
          decode_damaged(buf, out_size);
        vq_free(buf);
        p[j / 8] ^= (uint8_t)(1u << (j % 8));
      }
      for (j = strcmp(ch->type, "HEAD") ? 0 : 1; j < ch->size; j++) {
        size_t out_size;
        if ((buf = rebuild(&out_size, c, k, p, j)) != NULL)
          decode_damaged(buf, out_size);
        vq_free(buf);
      }
      free(p);
    }
    vq_container_destroy(c);
    vq_image_destroy(img);
    vq_free(vq);
  }
}

/* --- absurd headers */

/* Caps the address space at what is mapped now plus 256 MiB, so that a
 * decoder that allocates for a header's claims before checking them fails
 * with VQ_ERR_NOMEM instead of passing. Not under AddressSanitizer, whose
 * reservations do not mix with RLIMIT_AS. Returns 1 when the cap is on. */
static int cap_memory(struct rlimit *old) {
#if defined(UNDER_ASAN) || !defined(RLIMIT_AS)
  (void)old;
  return 0;
#else
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  struct rlimit lim;
  int ok = f && fscanf(f, "%lu", &pages) == 1;
  if (f) fclose(f);
  if (!ok || getrlimit(RLIMIT_AS, old) != 0) return 0;
  lim = *old;
  lim.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) +
                 ((rlim_t)256 << 20);
  if (old->rlim_cur != RLIM_INFINITY && old->rlim_cur < lim.rlim_cur)
    return 0;
  return setrlimit(RLIMIT_AS, &lim) == 0;
#endif
}

/* Offset of the first little-endian 32-bit field equal to v, or -1. */
static long find_u32(const uint8_t *p, size_t n, uint32_t v) {
  size_t i;
  for (i = 0; i + 4 <= n; i++)
    if (((uint32_t)p[i] | (uint32_t)p[i + 1] << 8 |
         (uint32_t)p[i + 2] << 16 | (uint32_t)p[i + 3] << 24) == v)
      return (long)i;
  return -1;
}

static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

/* A real 37 x 29 stream whose HEAD decode_claim() rewrites. */
typedef struct claim_base {
  const vq_container *c;
  const vq_chunk *head;
  long wo, ho;          /* offsets of the width and height fields */
} claim_base;

/* Which DATA chunks decode_claim() writes after the HEAD. */
enum { NO_DATA, SAME_DATA, ZERO_DATA };

/* The HEAD of b with its width and height replaced, behind a valid CRC,
 * followed by no DATA chunk, the stream's own, or one of 4 zero bytes;
 * decoded with max_pixels. */
static int decode_claim(const claim_base *b, uint32_t w, uint32_t h,
                        uint64_t max_pixels, int data) {
  static const uint8_t zeros[4] = {0};
  uint8_t hb[1024], *buf = NULL;
  vq_container_writer *wr = NULL;
  vq_image *img = NULL;
  vq_diag diag = {{0}};
  size_t size = 0, i, n = vq_container_count(b->c);
  int rc;
  if (b->head->size > sizeof hb) return VQ_ERR_INVALID_ARG;
  memcpy(hb, b->head->data, b->head->size);
  put_u32(hb + b->wo, w);
  put_u32(hb + b->ho, h);
  rc = vq_container_writer_create(&wr);
  if (rc == VQ_OK) rc = vq_container_writer_add(wr, "HEAD", hb, b->head->size);
  for (i = 0; data == SAME_DATA && rc == VQ_OK && i < n; i++) {
    const vq_chunk *ch = vq_container_chunk(b->c, i);
    if (!strcmp(ch->type, "DATA"))
      rc = vq_container_writer_add(wr, "DATA", ch->data, ch->size);
  }
  if (data == ZERO_DATA && rc == VQ_OK)
    rc = vq_container_writer_add(wr, "DATA", zeros, sizeof zeros);
  if (rc == VQ_OK) rc = vq_container_writer_finish(wr, &buf, &size);
  vq_container_writer_destroy(wr);
  CHECK_EQ_INT(rc, VQ_OK);
  if (rc < 0) return rc;
  rc = vq_image_decode(&img, buf, size, max_pixels, 1, "claim.vq", &diag);
  if (rc == VQ_OK) vq_image_destroy(img);
  else CHECK(img == NULL && strncmp(diag.msg, "claim.vq: ", 10) == 0);
  vq_free(buf);
  return rc;
}

static int limit_or_format(int rc) {
  return rc == VQ_ERR_LIMIT || rc == VQ_ERR_FORMAT;
}

/* Finds the width and height fields of a 37 x 29 stream by value (so the
 * test does not depend on the HEAD layout) and checks that they are. */
static int claim_init(claim_base *b, const vq_container *c) {
  vq_image_info info;
  uint8_t hb[1024];
  b->c = c;
  b->head = vq_container_find(c, "HEAD", 0);
  if (!b->head || b->head->size > sizeof hb) return -1;
  b->wo = find_u32(b->head->data, b->head->size, 37);
  b->ho = find_u32(b->head->data, b->head->size, 29);
  if (b->wo < 0 || b->ho < 0) return -1;
  memcpy(hb, b->head->data, b->head->size);
  put_u32(hb + b->wo, 41);
  put_u32(hb + b->ho, 31);
  return vq_image_info_parse(&info, hb, b->head->size, NULL) == VQ_OK &&
                 info.width == 41 && info.height == 31
             ? 0
             : -1;
}

static void test_absurd_headers(void) {
  vq_image *img = synth(37, 29, 3, 8, 1);
  vq_container *c = NULL;
  claim_base b;
  struct rlimit old;
  size_t size;
  int capped;
  uint8_t *vq = encode(&size, img, 75.0f, 0, 0);
  vq_image_destroy(img);
  if (!vq || vq_container_parse(&c, vq, size, 0, NULL, NULL, NULL) < 0 ||
      claim_init(&b, c) < 0) {
    CHECK(!"a 37 x 29 stream with its width and height fields");
    vq_container_destroy(c);
    vq_free(vq);
    return;
  }
  CHECK_EQ_INT(decode_claim(&b, 37, 29, 0, SAME_DATA), VQ_OK);
  CHECK_EQ_INT(decode_claim(&b, 37, 29, 37 * 29 - 1, SAME_DATA),
               VQ_ERR_LIMIT);
  capped = cap_memory(&old);
  fprintf(stderr, "  absurd headers %s an address-space cap\n",
          capped ? "under" : "without");
  CHECK_EQ_INT(decode_claim(&b, UINT32_MAX, UINT32_MAX, 0, SAME_DATA),
               VQ_ERR_LIMIT);
  CHECK_EQ_INT(decode_claim(&b, 65536, 65536, 0, SAME_DATA), VQ_ERR_LIMIT);
  CHECK_EQ_INT(decode_claim(&b, 1u << 20, 1u << 20, 1u << 20, SAME_DATA),
               VQ_ERR_LIMIT);
  CHECK_EQ_INT(decode_claim(&b, UINT32_MAX, 1, 0, SAME_DATA), VQ_ERR_LIMIT);
  /* within the default limit, but without the DATA chunks such an image
   * needs: refused before gigabytes of planes are allocated */
  CHECK(limit_or_format(decode_claim(&b, 16384, 16384, 0, SAME_DATA)));
  CHECK(limit_or_format(decode_claim(&b, 16384, 16384, 0, NO_DATA)));
  CHECK(limit_or_format(decode_claim(&b, 1, 1u << 24, 0, SAME_DATA)));
  CHECK(limit_or_format(decode_claim(&b, 1u << 24, 1, 0, NO_DATA)));
  CHECK_EQ_INT(decode_claim(&b, 0, 29, 0, SAME_DATA), VQ_ERR_FORMAT);
  CHECK_EQ_INT(decode_claim(&b, 37, 0, 0, SAME_DATA), VQ_ERR_FORMAT);
  /* Dimensions near 2^32 under a raised limit: refused before the
   * geometry is computed (block and tile counts once wrapped in 32 bits
   * and the colour conversion read past the planes). */
  CHECK(limit_or_format(
      decode_claim(&b, 1, UINT32_MAX, (uint64_t)1 << 32, NO_DATA)));
  CHECK(limit_or_format(
      decode_claim(&b, UINT32_MAX, 1, UINT64_MAX, ZERO_DATA)));
  if (capped) setrlimit(RLIMIT_AS, &old);
  vq_container_destroy(c);
  vq_free(vq);
}

int main(void) {
  int i;
  vq_rng_seed(&rng, vq_test_seed(20240601));
  test_params();
  test_absurd_headers();
  test_round_trips();
  test_subsample_default();
  test_compare();
  test_palette();
  test_photo();
  test_monotonic();
  test_threads();
  test_damage();
  test_payload_damage();
  for (i = 0; i < nsamples; i++) vq_image_destroy(samples[i]);
  return vq_test_finish("test_imagecodec");
}
