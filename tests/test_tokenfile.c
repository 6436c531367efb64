/* Token files: .npy -> .vq -> the same .npy bytes for every integer dtype,
 * byte order, format version and shape; bad inputs rejected; every
 * truncation and every single-bit flip of small files is an error. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "vq/tokenfile.h"
#include "vq/container.h"
#include "internal.h"
#include "testutil.h"

/* A .npy image: version 1 or 2, header dict text, then data. */
static uint8_t *make_npy(size_t *size, int version, const char *descr,
                         const char *shape, const void *data, size_t bytes) {
  char dict[256];
  size_t pre = version == 1 ? 10 : 12, dlen, hlen, total;
  uint8_t *b;
  dlen = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', "
                          "'fortran_order': False, 'shape': %s, }", descr,
                          shape);
  hlen = (pre + dlen + 1 + 63) / 64 * 64 - pre;
  total = pre + hlen + bytes;
  b = malloc(total);
  memcpy(b, "\x93NUMPY", 6);
  b[6] = (uint8_t)version, b[7] = 0;
  if (version == 1) b[8] = (uint8_t)hlen, b[9] = (uint8_t)(hlen >> 8);
  else b[8] = (uint8_t)hlen, b[9] = (uint8_t)(hlen >> 8), b[10] = b[11] = 0;
  memset(b + pre, ' ', hlen);
  memcpy(b + pre, dict, dlen);
  b[pre + hlen - 1] = '\n';
  memcpy(b + pre + hlen, data, bytes);
  *size = total;
  return b;
}

/* Encodes, decodes and compares bytes; returns the .vq (caller frees). */
static uint8_t *round_trip(const uint8_t *npy, size_t size, uint32_t k,
                           size_t *vq_size, vq_tokenfile_stats *st) {
  vq_tokenfile_params p;
  vq_diag diag = {{0}};
  uint8_t *vq = NULL, *back = NULL;
  size_t back_size = 0;
  int rc;
  CHECK_EQ_INT(vq_tokenfile_params_init(&p), VQ_OK);
  p.alphabet = k;
  rc = vq_tokenfile_encode(&vq, vq_size, st, &p, npy, size, &diag);
  CHECK_EQ_INT(rc, VQ_OK);
  if (rc < 0) {
    fprintf(stderr, "  encode: %s\n", diag.msg);
    return NULL;
  }
  rc = vq_tokenfile_decode(&back, &back_size, vq, *vq_size, NULL, "t.vq",
                           &diag);
  CHECK_EQ_INT(rc, VQ_OK);
  if (rc < 0) fprintf(stderr, "  decode: %s\n", diag.msg);
  CHECK_EQ_INT(back_size, size);
  CHECK(back && back_size == size && memcmp(back, npy, size) == 0);
  vq_free(back);
  return vq;
}

static void test_dtypes(vq_rng *r) {
  static const char *descr[] = {"|i1", "|u1", "<i2", ">i2", "<u2", ">u2",
                                "<i4", ">i4", "<u4", "<i8", ">i8", "<u8",
                                "|b1"};
  static const int size[] = {1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8, 1};
  uint8_t data[8 * 600];
  size_t d, i, npy_size, vq_size;
  int version;
  for (d = 0; d < sizeof descr / sizeof *descr; d++)
    for (version = 1; version <= 2; version++) {
      vq_tokenfile_stats st;
      uint8_t *npy, *vq;
      int big = descr[d][0] == '>', b;
      for (i = 0; i < 600; i++) {
        /* small values, some negative for signed types */
        int64_t v = (int64_t)vq_rng_below(r, 300);
        uint64_t u;
        if (descr[d][1] == 'b') v &= 1;
        else if (size[d] == 1 && descr[d][1] == 'u') v &= 255;
        else if (size[d] == 1) v = v % 200 - 100;
        else if (descr[d][1] == 'i') v -= 150;
        u = (uint64_t)v;
        for (b = 0; b < size[d]; b++)
          data[i * size[d] + (big ? size[d] - 1 - b : b)] =
              (uint8_t)(u >> (8 * b));
      }
      npy = make_npy(&npy_size, version, descr[d], "(20, 30)", data,
                     600 * (size_t)size[d]);
      vq = round_trip(npy, npy_size, 0, &vq_size, &st);
      CHECK_EQ_INT(st.count, 600);
      if (descr[d][1] == 'i') CHECK(st.offset < 0);
      free(npy);
      vq_free(vq);
    }
}

static void test_shapes(vq_rng *r) {
  static const char *shapes[] = {"()", "(0,)", "(1,)", "(7,)", "(3, 0)",
                                 "(5, 7)", "(2, 3, 4)", "(1, 1, 1, 1, 1)",
                                 "(100000,)"};
  static const size_t counts[] = {1, 0, 1, 7, 0, 35, 24, 1, 100000};
  int32_t *data = malloc(100000 * sizeof *data);
  size_t s, i, npy_size, vq_size;
  for (s = 0; s < sizeof shapes / sizeof *shapes; s++) {
    vq_tokenfile_stats st;
    uint8_t *npy, *vq;
    for (i = 0; i < counts[s]; i++)
      data[i] = (int32_t)vq_rng_below(r, i % 5 ? 4096 : 16);
    npy = make_npy(&npy_size, 1, "<i4", shapes[s], data,
                   counts[s] * sizeof *data);
    vq = round_trip(npy, npy_size, 4096, &vq_size, &st);
    CHECK_EQ_INT(st.count, counts[s]);
    free(npy);
    vq_free(vq);
  }
  free(data);
}

static void test_rejects(void) {
  vq_tokenfile_params p;
  vq_diag diag = {{0}};
  float f[4] = {0};
  int32_t v[4] = {0, 1, 2, 1 << 21};
  uint8_t *npy, *vq = NULL;
  size_t npy_size, vq_size;
  CHECK_EQ_INT(vq_tokenfile_params_init(&p), VQ_OK);
  npy = make_npy(&npy_size, 1, "<f4", "(4,)", f, sizeof f);
  CHECK_EQ_INT(vq_tokenfile_encode(&vq, &vq_size, NULL, &p, npy, npy_size,
                                   &diag), VQ_ERR_UNSUPPORTED);
  CHECK(strstr(diag.msg, "float32") != NULL);
  free(npy);
  npy = make_npy(&npy_size, 1, "<i4", "(4,)", v, sizeof v);
  CHECK_EQ_INT(vq_tokenfile_encode(&vq, &vq_size, NULL, &p, npy, npy_size,
                                   &diag), VQ_ERR_UNSUPPORTED);
  p.alphabet = 2;
  CHECK_EQ_INT(vq_tokenfile_encode(&vq, &vq_size, NULL, &p, npy, npy_size,
                                   &diag), VQ_ERR_INVALID_ARG);
  CHECK(strstr(diag.msg, "position 2") != NULL);
  free(npy);
  /* not a .npy at all */
  CHECK(vq_tokenfile_encode(&vq, &vq_size, NULL, &p, "hello", 5, &diag) < 0);
  CHECK(vq == NULL);
}

/* Every cut and every bit flip of small files is an error. */
static void test_damage(vq_rng *r) {
  int32_t data[40];
  size_t i, npy_size, vq_size, cut, bit, flips_ok = 0;
  uint8_t *npy, *vq, *back;
  size_t back_size;
  vq_tokenfile_stats st;
  vq_tokenfile_limits lim;
  int t;
  for (t = 0; t < 3; t++) {
    for (i = 0; i < 40; i++)
      data[i] = (int32_t)(t == 0 ? 7 : vq_rng_below(r, t == 1 ? 3 : 5000));
    npy = make_npy(&npy_size, 1, "<i4", "(5, 8)", data, sizeof data);
    vq = round_trip(npy, npy_size, 0, &vq_size, &st);
    for (cut = 0; cut < vq_size; cut++) {
      back = NULL;
      CHECK(vq_tokenfile_decode(&back, &back_size, vq, cut, NULL, NULL,
                                NULL) < 0);
      CHECK(back == NULL);
    }
    /* A flip anywhere is an error, except in the minor version byte
     * (offset 9), which readers accept whatever it says: the output must
     * then be the original, never a silently different file. */
    for (bit = 0; bit < 8 * vq_size; bit++) {
      int rc;
      vq[bit / 8] ^= (uint8_t)(1u << (bit % 8));
      back = NULL;
      rc = vq_tokenfile_decode(&back, &back_size, vq, vq_size, NULL, NULL,
                               NULL);
      if (rc == VQ_OK) {
#ifndef VQ_FUZZING
        CHECK(back_size == npy_size && memcmp(back, npy, npy_size) == 0);
#endif
        if (bit / 8 != 9) flips_ok++;
        vq_free(back);
      }
      vq[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
#ifndef VQ_FUZZING
    CHECK_EQ_INT(flips_ok, 0);
#endif
    /* limits: a file that needs more than allowed is refused */
    vq_tokenfile_limits_default(&lim);
    lim.max_tokens = 39;
    CHECK_EQ_INT(vq_tokenfile_decode(&back, &back_size, vq, vq_size, &lim,
                                     NULL, NULL), VQ_ERR_LIMIT);
    free(npy);
    vq_free(vq);
  }
}

int main(void) {
  vq_rng r;
  vq_rng_seed(&r, vq_test_seed(31));
  test_dtypes(&r);
  test_shapes(&r);
  test_rejects();
  test_damage(&r);
  return vq_test_finish("test_tokenfile");
}
