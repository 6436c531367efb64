/* Large-alphabet model: round trips for alphabets 1 to 2^20, coding
 * efficiency on a stationary 4096-symbol stream, invalid values and
 * truncation. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "symmodel.h"
#include "testutil.h"

static uint8_t *encode(const uint32_t *v, size_t n, uint32_t k,
                       unsigned rate0, size_t *size) {
  vq_rc_enc e;
  vq_sym_model m;
  const uint8_t *out;
  uint8_t *copy;
  size_t i;
  CHECK_EQ_INT(vq_sym_model_init(&m, k, rate0), VQ_OK);
  vq_rc_enc_init(&e);
  for (i = 0; i < n; i++) vq_sym_encode(&e, &m, v[i]);
  CHECK_EQ_INT(vq_rc_enc_finish(&e, &out, size), VQ_OK);
  copy = malloc(*size + 1);
  memcpy(copy, out, *size);
  vq_rc_enc_clear(&e);
  vq_sym_model_clear(&m);
  return copy;
}

/* Returns the finish status; *ok counts the values that match. */
static int decode(const uint32_t *v, size_t n, uint32_t k, unsigned rate0,
                  const uint8_t *buf, size_t size, size_t *ok) {
  vq_rc_dec d;
  vq_sym_model m;
  size_t i;
  int rc;
  CHECK_EQ_INT(vq_sym_model_init(&m, k, rate0), VQ_OK);
  vq_rc_dec_init(&d, buf, size);
  for (*ok = 0, i = 0; i < n; i++) *ok += vq_sym_decode(&d, &m) == v[i];
  rc = vq_rc_dec_finish(&d);
  vq_sym_model_clear(&m);
  return rc;
}

static void test_alphabets(vq_rng *r) {
  static const uint32_t ks[] = {1, 2, 3, 16, 17, 255, 256, 1000, 4096,
                                65536, 100003, 1u << 20};
  static const size_t lens[] = {0, 1, 1000, 100000};
  size_t a, l, i;
  for (a = 0; a < sizeof ks / sizeof *ks; a++)
    for (l = 0; l < sizeof lens / sizeof *lens; l++) {
      size_t n = lens[l], size, ok;
      uint32_t *v = malloc((n + 1) * sizeof *v);
      uint8_t *buf;
      for (i = 0; i < n; i++) /* half uniform, half skewed to low values */
        v[i] = (uint32_t)(i % 2 ? vq_rng_below(r, ks[a])
                                : vq_rng_below(r, 1 + vq_rng_below(r, ks[a])));
      buf = encode(v, n, ks[a], 4, &size);
      CHECK_EQ_INT(decode(v, n, ks[a], 4, buf, size, &ok), VQ_OK);
      CHECK_EQ_INT(ok, n);
      free(buf);
      free(v);
    }
  {
    vq_sym_model m;
    CHECK_EQ_INT(vq_sym_model_init(&m, 0, 4), VQ_ERR_INVALID_ARG);
    CHECK_EQ_INT(vq_sym_model_init(&m, (1u << 20) + 1, 4),
                 VQ_ERR_INVALID_ARG);
  }
}

/* K = 4096 drawn from a fixed skewed distribution: bits per symbol near
 * the empirical order-0 entropy. */
static void test_efficiency(vq_rng *r) {
  size_t n = 1000000, i, size, ok;
  uint32_t k = 4096, *v = malloc(n * sizeof *v);
  double *cdf = malloc(k * sizeof *cdf), tot = 0.0, h = 0.0, bits;
  size_t *cnt = calloc(k, sizeof *cnt);
  uint8_t *buf;
  uint32_t s;
  for (s = 0; s < k; s++) tot += cdf[s] = 1.0 / pow(s + 1.0, 0.8);
  for (s = 1; s < k; s++) cdf[s] += cdf[s - 1];
  for (i = 0; i < n; i++) {
    double u = vq_rng_double(r) * tot;
    uint32_t lo = 0, hi = k - 1;
    while (lo < hi) {
      uint32_t mid = (lo + hi) / 2;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    /* scatter symbols so frequent ones are not all in one subtree */
    v[i] = (lo * 2654435761u) % k;
    cnt[v[i]]++;
  }
  for (s = 0; s < k; s++)
    if (cnt[s]) h -= (double)cnt[s] / n * log2((double)cnt[s] / n);
  buf = encode(v, n, k, 5, &size);
  bits = 8.0 * (double)size / (double)n;
  fprintf(stderr, "K=4096: %.4f bits/symbol, order-0 entropy %.4f "
          "(+%.2f%%)\n", bits, h, 100.0 * (bits / h - 1.0));
  CHECK(bits < h * 1.03);
  CHECK_EQ_INT(decode(v, n, k, 5, buf, size, &ok), VQ_OK);
  CHECK_EQ_INT(ok, n);
  free(buf), free(v), free(cdf), free(cnt);
}

static void test_damage(vq_rng *r) {
  uint32_t v[200], w[1];
  size_t size, cut, ok, i;
  uint8_t *buf;
  for (i = 0; i < 200; i++) v[i] = (uint32_t)vq_rng_below(r, 4096);
  buf = encode(v, 200, 4096, 4, &size);
  for (cut = 0; cut < size; cut++)
    CHECK(decode(v, 200, 4096, 4, buf, cut, &ok) != VQ_OK);
  free(buf);
  /* 1023 coded with K = 1024 is out of range for K = 1000 */
  w[0] = 1023;
  buf = encode(w, 1, 1024, 4, &size);
  CHECK_EQ_INT(decode(w, 1, 1000, 4, buf, size, &ok), VQ_ERR_FORMAT);
  free(buf);
}

int main(void) {
  vq_rng r;
  vq_rng_seed(&r, vq_test_seed(13));
  test_alphabets(&r);
  test_efficiency(&r);
  test_damage(&r);
  return vq_test_finish("test_symmodel");
}
