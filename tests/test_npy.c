/* .npy: round trips, versions, byte orders, conversions, the malformed
 * corpus, and every truncation and many bit flips of valid files. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/vqnpy-XXXXXX";

static void tmp_path(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", tmpdir, name);
}

static void test_round_trips(void) {
  static const vq_dtype types[] = {VQ_DTYPE_F32, VQ_DTYPE_F64, VQ_DTYPE_I32,
                                   VQ_DTYPE_I64, VQ_DTYPE_U16, VQ_DTYPE_U8};
  static const uint64_t shapes[][3] = {{0}, {0}, {1}, {3, 4}, {2, 3, 4}};
  static const int ndims[] = {0, 1, 1, 2, 3};
  unsigned char buf[24 * 8];
  char path[256];
  size_t t, s, i;
  for (i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 37 + 11);
  tmp_path(path, sizeof path, "rt.npy");
  for (t = 0; t < sizeof types / sizeof *types; t++)
    for (s = 0; s < 5; s++) {
      vq_array *a = NULL;
      uint64_t count = 1;
      int d;
      for (d = 0; d < ndims[s]; d++) count *= shapes[s][d];
      CHECK_EQ_INT(vq_npy_write(path, types[t], ndims[s], shapes[s], buf,
                                NULL), VQ_OK);
      CHECK_EQ_INT(vq_npy_read(&a, path, VQ_DTYPE_NONE, NULL, NULL), VQ_OK);
      if (!a) continue;
      CHECK_EQ_INT(a->dtype, types[t]);
      CHECK_EQ_INT(a->ndim, ndims[s]);
      CHECK_EQ_INT(a->count, count);
      for (d = 0; d < ndims[s]; d++) CHECK_EQ_INT(a->shape[d], shapes[s][d]);
      CHECK(memcmp(a->data, buf, (size_t)count * vq_dtype_size(types[t]))
            == 0);
      vq_array_destroy(a);
    }
}

/* A file image made by hand: version, descr, shape text, raw data. */
static size_t build(unsigned char *out, int ver, const char *descr,
                    const char *shape, const void *data, size_t bytes) {
  char hdr[256];
  size_t pre = ver == 1 ? 10 : 12, n;
  n = (size_t)snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': "
                       "False, 'shape': %s, }", descr, shape);
  while ((pre + n + 1) % 64) hdr[n++] = ' ';
  hdr[n++] = '\n';
  memcpy(out, "\x93NUMPY", 6);
  out[6] = (unsigned char)ver, out[7] = 0;
  out[8] = (unsigned char)n, out[9] = (unsigned char)(n >> 8);
  if (ver > 1) out[10] = out[11] = 0;
  memcpy(out + pre, hdr, n);
  memcpy(out + pre + n, data, bytes);
  return pre + n + bytes;
}

static void expect_f32(const unsigned char *img, size_t size,
                       const float *want, size_t n) {
  vq_array *a = NULL;
  size_t i;
  CHECK_EQ_INT(vq_npy_parse(&a, img, size, VQ_DTYPE_F32, NULL, "t", NULL),
               VQ_OK);
  if (!a) return;
  CHECK_EQ_INT(a->count, n);
  for (i = 0; i < n && i < a->count; i++) {
    float g = ((float *)a->data)[i];
    CHECK(g == want[i] || (isnan(g) && isnan(want[i])));
  }
  vq_array_destroy(a);
}

static void test_conversions(void) {
  unsigned char img[1024];
  static const uint16_t half[] = {0x3c00, 0xc000, 0x0001, 0x7c00, 0x3555};
  static const float half_f[] = {1.0f, -2.0f, 5.9604645e-8f, INFINITY,
                                 0.33325195f};
  static const unsigned char be_f4[] = {0x3f, 0x80, 0, 0, 0xc0, 0x20, 0, 0};
  static const float be_f[] = {1.0f, -2.5f};
  static const int16_t i2[] = {-3, 7, 32767};
  static const float i2_f[] = {-3.0f, 7.0f, 32767.0f};
  static const double f8[] = {0.1, -1e30};
  static const float f8_f[] = {0.1f, -1e30f};
  static const unsigned char b1[] = {1, 0, 1};
  static const float b1_f[] = {1, 0, 1};
  vq_array *a = NULL;
  size_t n;
  int v;
  for (v = 1; v <= 3; v++) {
    n = build(img, v, "<f2", "(5,)", half, sizeof half);
    expect_f32(img, n, half_f, 5);
  }
  n = build(img, 1, ">f4", "(2,)", be_f4, sizeof be_f4);
  expect_f32(img, n, be_f, 2);
  n = build(img, 1, "<i2", "(3,)", i2, sizeof i2);
  expect_f32(img, n, i2_f, 3);
  CHECK_EQ_INT(vq_npy_parse(&a, img, n, VQ_DTYPE_I64, NULL, "t", NULL), VQ_OK);
  CHECK(a && ((int64_t *)a->data)[0] == -3 && ((int64_t *)a->data)[2] == 32767);
  vq_array_destroy(a);
  n = build(img, 2, "<f8", "(2,)", f8, sizeof f8);
  expect_f32(img, n, f8_f, 2);
  CHECK_EQ_INT(vq_npy_parse(&a, img, n, VQ_DTYPE_I64, NULL, "t", NULL),
               VQ_ERR_UNSUPPORTED);
  n = build(img, 1, "|b1", "(3,)", b1, sizeof b1);
  expect_f32(img, n, b1_f, 3);
  /* big-endian kept as its type is converted to native order */
  n = build(img, 1, ">f4", "(2,)", be_f4, sizeof be_f4);
  CHECK_EQ_INT(vq_npy_parse(&a, img, n, VQ_DTYPE_NONE, NULL, "t", NULL),
               VQ_OK);
  CHECK(a && a->dtype == VQ_DTYPE_F32 && ((float *)a->data)[1] == -2.5f);
  vq_array_destroy(a);
  CHECK(vq_bf16_to_float(0x3f80) == 1.0f);
  CHECK(vq_bf16_to_float(0xc0a0) == -5.0f);
}

static void test_zero_copy(void) {
  char path[256];
  float v[6] = {1, 2, 3, 4, 5, 6};
  uint64_t shape[2] = {2, 3};
  vq_array *a = NULL;
  tmp_path(path, sizeof path, "zc.npy");
  CHECK_EQ_INT(vq_npy_write(path, VQ_DTYPE_F32, 2, shape, v, NULL), VQ_OK);
  CHECK_EQ_INT(vq_npy_read(&a, path, VQ_DTYPE_F32, NULL, NULL), VQ_OK);
  CHECK(a && a->priv_ != NULL);          /* served from the file map */
  CHECK(a && memcmp(a->data, v, sizeof v) == 0);
  vq_array_destroy(a);
}

static int corpus_files;

static void reject_one(const char *path) {
  vq_array *a = NULL;
  vq_diag diag;
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  int rc;
  diag.msg[0] = 0;
  rc = vq_npy_read(&a, path, VQ_DTYPE_F32, NULL, &diag);
  corpus_files++;
  if (rc >= 0 || a || !strstr(diag.msg, base)) {
    fprintf(stderr, "%s: not rejected properly (rc %d, '%s')\n", base, rc,
            diag.msg);
    vq_test_failures++;
  }
  vq_array_destroy(a);
}

static void test_corpus(void) {
  int n = vq_test_each_file("tests/data/bad/npy", reject_one);
  CHECK(n > 0);
  fprintf(stderr, "rejected %d malformed .npy files\n", n);
}

/* Every prefix and many single-bit flips: an error or a sound array. */
static void test_mutations(void) {
  unsigned char img[512], mut[512];
  float v[12];
  size_t n, cut, i;
  vq_rng r;
  for (i = 0; i < 12; i++) v[i] = (float)i * 1.5f;
  n = build(img, 1, "<f4", "(3, 4)", v, sizeof v);
  for (cut = 0; cut < n; cut++) {
    vq_array *a = NULL;
    CHECK(vq_npy_parse(&a, img, cut, VQ_DTYPE_F32, NULL, "t", NULL) < 0);
    CHECK(a == NULL);
  }
  vq_rng_seed(&r, 3);
  for (i = 0; i < 4000; i++) {
    vq_array *a = NULL;
    size_t bit = (size_t)vq_rng_below(&r, n * 8);
    memcpy(mut, img, n);
    mut[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    if (vq_npy_parse(&a, mut, n, VQ_DTYPE_NONE, NULL, "t", NULL) == VQ_OK) {
      size_t bytes = (size_t)a->count * vq_dtype_size(a->dtype);
      CHECK(bytes <= n);
      vq_array_destroy(a);
    }
  }
}

/* make check's Python test calls: test_npy --check-npy FILE KIND */
static int check_python_file(const char *path, const char *kind) {
  vq_array *a = NULL;
  vq_diag diag;
  uint64_t i;
  int rc = vq_npy_read(&a, path, VQ_DTYPE_F32, NULL, &diag);
  if (rc < 0) {
    fprintf(stderr, "%s\n", diag.msg);
    return 1;
  }
  /* the Python side wrote arange(12).reshape(3, 4) * 0.5 */
  rc = a->ndim != 2 || a->shape[0] != 3 || a->shape[1] != 4;
  for (i = 0; !rc && i < a->count; i++)
    rc = ((float *)a->data)[i] != 0.5f * (float)i;
  printf("%s (%s): %s\n", path, kind, rc ? "WRONG" : "ok");
  vq_array_destroy(a);
  return rc;
}

int main(int argc, char **argv) {
  char path[256];
  if (argc == 4 && !strcmp(argv[1], "--check-npy"))
    return check_python_file(argv[2], argv[3]);
  if (!mkdtemp(tmpdir)) return 1;
  test_round_trips();
  test_conversions();
  test_zero_copy();
  test_corpus();
  test_mutations();
  tmp_path(path, sizeof path, "rt.npy");
  unlink(path);
  tmp_path(path, sizeof path, "zc.npy");
  unlink(path);
  rmdir(tmpdir);
  return vq_test_finish("test_npy");
}
