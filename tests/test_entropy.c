/* Index-stream coding: round trips for every model over alphabets 1 to
 * 2^20 and lengths 0 to 10^7, adversarial sequences, efficiency against
 * the order-0 entropy, truncation and garbage. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "vq/entropy.h"
#include "internal.h"
#include "testutil.h"

static const vq_entropy_model models[] = {
  VQ_ENTROPY_AUTO, VQ_ENTROPY_STATIC, VQ_ENTROPY_ADAPTIVE, VQ_ENTROPY_MATCH,
  VQ_ENTROPY_ORDER1, VQ_ENTROPY_MATCH_STATIC, VQ_ENTROPY_COUNTS,
  VQ_ENTROPY_MATCH_RECENT
};

/* Encodes and decodes; returns the stream size, or 0 when the model does
 * not apply (then rc tells why). Checks the indices come back. */
static size_t round_trip(const uint32_t *v, size_t n, uint32_t k,
                         size_t width, vq_entropy_model model,
                         vq_entropy_stats *st) {
  vq_entropy_params p;
  vq_diag diag;
  uint8_t *buf;
  uint32_t *w = malloc((n + 1) * sizeof *w);
  size_t size, i, bad = 0;
  int rc;
  CHECK_EQ_INT(vq_entropy_params_init(&p), VQ_OK);
  p.alphabet = k;
  p.width = width;
  p.model = model;
  rc = vq_entropy_encode(&buf, &size, st, &p, v, n, &diag);
  if (rc == VQ_ERR_UNSUPPORTED) {
    free(w);
    return 0;
  }
  CHECK_EQ_INT(rc, VQ_OK);
  if (rc < 0) {
    fprintf(stderr, "  %s\n", diag.msg);
    free(w);
    return 0;
  }
  rc = vq_entropy_decode(w, n, k, width, buf, size, &diag);
  CHECK_EQ_INT(rc, VQ_OK);
  for (i = 0; i < n; i++) bad += w[i] != v[i];
  if (bad)
    fprintf(stderr, "  K=%lu n=%lu model %s: %lu indices differ\n",
            (unsigned long)k, (unsigned long)n,
            vq_entropy_model_name(st->model), (unsigned long)bad);
  CHECK_EQ_INT(bad, 0);
  /* every truncation is an error (streams are exact-length) */
  if (size < 64) {
    size_t cut;
    for (cut = 0; cut < size; cut++)
      CHECK(vq_entropy_decode(w, n, k, width, buf, cut, NULL) < 0);
  } else {
    CHECK(vq_entropy_decode(w, n, k, width, buf, size - 1, NULL) < 0);
    CHECK(vq_entropy_decode(w, n, k, width, buf, size / 2, NULL) < 0);
  }
  vq_free(buf);
  free(w);
  return size;
}

/* Zipf-like draw over k values, scattered by a multiplicative hash so
 * frequent values are spread over the alphabet. */
static uint32_t draw_skewed(vq_rng *r, uint32_t k) {
  double u = vq_rng_double(r);
  uint64_t x = (uint64_t)(pow((double)k, u * u)) - 1;
  return (uint32_t)((x * 2654435761u) % k);
}

static void test_alphabets(vq_rng *r) {
  static const uint32_t ks[] = {1, 2, 3, 16, 17, 255, 4096, 65536, 100003,
                                1u << 20};
  static const size_t lens[] = {0, 1, 2, 5, 1000, 30000};
  static const size_t widths[] = {0, 7};
  size_t a, l, m, wi, i;
  for (a = 0; a < sizeof ks / sizeof *ks; a++)
    for (l = 0; l < sizeof lens / sizeof *lens; l++)
      for (wi = 0; wi < 2; wi++) {
        size_t n = lens[l];
        uint32_t *v = malloc((n + 1) * sizeof *v);
        for (i = 0; i < n; i++)
          v[i] = i % 3 ? draw_skewed(r, ks[a])
                       : (uint32_t)vq_rng_below(r, ks[a]);
        if (n > 2) v[n - 1] = ks[a] - 1; /* the largest index occurs */
        for (m = 0; m < sizeof models / sizeof *models; m++) {
          vq_entropy_stats st;
          size_t size = round_trip(v, n, ks[a], widths[wi], models[m], &st);
          if (models[m] == VQ_ENTROPY_AUTO) CHECK(size > 0);
        }
        free(v);
      }
}

/* Long runs, alternations and sudden changes of statistics. */
static void test_adversarial(vq_rng *r) {
  size_t n = 200000, i, m;
  uint32_t *v = malloc(n * sizeof *v);
  int pattern;
  for (pattern = 0; pattern < 5; pattern++) {
    uint32_t k = pattern < 2 ? 2 : 4096;
    for (i = 0; i < n; i++) {
      switch (pattern) {
      case 0: v[i] = i < n - 1 ? 0 : 1; break;            /* one rare */
      case 1: v[i] = (uint32_t)(i & 1); break;            /* alternation */
      case 2: v[i] = (uint32_t)((i / 1000) % 2 ? 4095 : 0); break; /* runs */
      case 3:                                              /* switch */
        v[i] = i < n / 2 ? (uint32_t)vq_rng_below(r, 16)
                         : 4080 + (uint32_t)vq_rng_below(r, 16);
        break;
      default: v[i] = (uint32_t)(i % 4096); break;        /* a ramp */
      }
    }
    for (m = 0; m < sizeof models / sizeof *models; m++) {
      vq_entropy_stats st;
      size_t size = round_trip(v, n, k, 0, models[m], &st);
      if (models[m] == VQ_ENTROPY_AUTO) {
        fprintf(stderr, "pattern %d: %lu bytes (%s)\n", pattern,
                (unsigned long)size, vq_entropy_model_name(st.model));
        /* a long run or one rare value costs almost nothing */
        if (pattern == 0) CHECK(size < 64);
        if (pattern == 2) CHECK(size < 2000);
        /* an alternation is predictable from the left neighbour */
        if (pattern == 1) CHECK(size < 200);
      }
    }
  }
  free(v);
}

/* A grid whose regions repeat a few codewords each, not always next to
 * each other (as image patches do): the recent list of match-recent
 * codes them by position, which match and match-static cannot. */
static void test_regions(vq_rng *r) {
  enum { H = 64, W = 96, K = 4096, PAL = 6 };
  static uint32_t v[H * W];
  size_t sizes[3], y, x, m;
  const vq_entropy_model which[3] = {VQ_ENTROPY_MATCH,
                                     VQ_ENTROPY_MATCH_STATIC,
                                     VQ_ENTROPY_MATCH_RECENT};
  for (y = 0; y < H; y += 32)
    for (x = 0; x < W; x += 32) {
      uint32_t pal[PAL];
      size_t i, j;
      for (i = 0; i < PAL; i++) pal[i] = (uint32_t)vq_rng_below(r, K);
      for (i = 0; i < 32; i++)
        for (j = 0; j < 32; j++)
          v[(y + i) * W + x + j] = pal[vq_rng_below(r, PAL)];
    }
  for (m = 0; m < 3; m++) {
    vq_entropy_stats st;
    sizes[m] = round_trip(v, H * W, K, W, which[m], &st);
    CHECK(sizes[m] > 0);
  }
  fprintf(stderr, "regions: match %lu, match-static %lu, match-recent %lu "
          "bytes\n", (unsigned long)sizes[0], (unsigned long)sizes[1],
          (unsigned long)sizes[2]);
  /* a 32 x 32 region's 6 codewords, once in the list, cost the outcome
     symbol and a position (about 4 bits in all), against about 5 through
     a table of 36 values or the tree */
  CHECK(sizes[2] * 10 < sizes[1] * 9);
  CHECK(sizes[2] * 10 < sizes[0] * 9);
}

static int by_value(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* Bits per index of the ideal two-part code for v given only that it is
 * order-0: which symbols have which count (the arrangement of the count
 * values over the alphabet), then the arrangement of the indices given
 * the counts (the multinomial coefficient). No code that adapts to the
 * data can do much better; with many rare symbols it lies well above the
 * empirical entropy. */
static double two_part_bound(const uint32_t *v, size_t n, uint32_t k) {
  uint32_t *c = calloc(k, sizeof *c);
  double bits;
  size_t i, run;
  for (i = 0; i < n; i++) c[v[i]]++;
  bits = lgamma((double)n + 1.0) + lgamma((double)k + 1.0);
  for (i = 0; i < k; i++) bits -= lgamma((double)c[i] + 1.0);
  qsort(c, k, sizeof *c, by_value);
  for (i = 0; i < k; i += run) {
    for (run = 1; i + run < k && c[i + run] == c[i]; run++) continue;
    bits -= lgamma((double)run + 1.0);
  }
  free(c);
  return bits / log(2.0) / (double)n;
}

/* Stationary streams of 10^6 indices: within 1% of the empirical order-0
 * entropy for K up to 4096; for K = 65536, where about 50000 distinct
 * indices occur a few times each and the entropy is out of reach of any
 * code (two_part_bound() is 1.3% above it), within 0.5% of that bound. */
static void test_efficiency(vq_rng *r) {
  static const uint32_t ks[] = {16, 256, 4096, 65536};
  size_t n = 1000000, i, a;
  uint32_t *v = malloc(n * sizeof *v);
  for (a = 0; a < sizeof ks / sizeof *ks; a++) {
    vq_entropy_stats st;
    double bound;
    for (i = 0; i < n; i++) v[i] = draw_skewed(r, ks[a]);
    round_trip(v, n, ks[a], 0, VQ_ENTROPY_AUTO, &st);
    bound = two_part_bound(v, n, ks[a]);
    fprintf(stderr, "K=%lu: %.4f bits/index, order-0 entropy %.4f "
            "(+%.3f%%), two-part ideal %.4f (%+.3f%%), %s model\n",
            (unsigned long)ks[a], st.bits_per_symbol, st.entropy,
            100.0 * (st.bits_per_symbol / st.entropy - 1.0), bound,
            100.0 * (st.bits_per_symbol / bound - 1.0),
            vq_entropy_model_name(st.model));
    if (ks[a] <= 4096) CHECK(st.bits_per_symbol <= st.entropy * 1.01);
    else CHECK(st.bits_per_symbol <= bound * 1.005);
  }
  free(v);
}

static void test_long(vq_rng *r) {
  size_t n = 10000000, i;
  uint32_t *v = malloc(n * sizeof *v);
  vq_entropy_stats st;
  for (i = 0; i < n; i++) v[i] = draw_skewed(r, 256);
  CHECK(round_trip(v, n, 256, 0, VQ_ENTROPY_STATIC, &st) > 0);
  free(v);
}

static void test_errors(vq_rng *r) {
  vq_entropy_params p;
  vq_diag diag;
  uint8_t *buf, junk[300];
  uint32_t v[20000], w[64];
  size_t size, i, t;
  CHECK_EQ_INT(vq_entropy_params_init(&p), VQ_OK);
  p.alphabet = 10;
  v[0] = 3, v[1] = 10;
  CHECK_EQ_INT(vq_entropy_encode(&buf, &size, NULL, &p, v, 2, &diag),
               VQ_ERR_INVALID_ARG);
  CHECK(strstr(diag.msg, "position 1") != NULL);
  p.alphabet = 0;
  CHECK_EQ_INT(vq_entropy_encode(&buf, &size, NULL, &p, v, 1, NULL),
               VQ_ERR_INVALID_ARG);
  /* static with too many distinct indices; constant with two */
  p.alphabet = 1u << 20;
  for (i = 0; i < 20000; i++) v[i] = (uint32_t)i * 7;
  p.model = VQ_ENTROPY_STATIC;
  CHECK_EQ_INT(vq_entropy_encode(&buf, &size, NULL, &p, v, 20000, NULL),
               VQ_ERR_UNSUPPORTED);
  p.model = VQ_ENTROPY_CONSTANT;
  CHECK_EQ_INT(vq_entropy_encode(&buf, &size, NULL, &p, v, 2, NULL),
               VQ_ERR_UNSUPPORTED);
  /* headers that lie */
  junk[0] = 9, junk[1] = 0;
  CHECK_EQ_INT(vq_entropy_decode(w, 1, 16, 0, junk, 8, NULL), VQ_ERR_FORMAT);
  junk[0] = VQ_ENTROPY_ADAPTIVE, junk[1] = 0;
  CHECK_EQ_INT(vq_entropy_decode(w, 1, 16, 0, junk, 8, NULL), VQ_ERR_FORMAT);
  CHECK_EQ_INT(vq_entropy_decode(w, 1, 16, 0, junk, 1, NULL),
               VQ_ERR_TRUNCATED);
  /* random bodies behind every model: errors or garbage, never a crash */
  for (t = 0; t < 4000; t++) {
    size_t len = 2 + vq_rng_below(r, sizeof junk - 2);
    uint32_t k = 1 + (uint32_t)vq_rng_below(r, 5000);
    for (i = 0; i < len; i++) junk[i] = (uint8_t)vq_rng_below(r, 256);
    junk[0] = (uint8_t)(1 + t % VQ_ENTROPY_LAST_MODEL);
    junk[1] = junk[0] >= VQ_ENTROPY_ADAPTIVE ? 4 : 0;
    if (vq_entropy_decode(w, 64, k, t % 3, junk, len, NULL) == VQ_OK)
      for (i = 0; i < 64; i++) CHECK(w[i] < k);
  }
}

/* A context the decoder knows: indices drawn from one of four
 * distributions picked by the class of each position. With the classes
 * given, auto mode codes them with match-class, smaller than without, and
 * decoding needs the same classes: none, or another number of them, is
 * an error, as is a class out of range. Random bodies behind the model
 * never crash. */
static void test_context(vq_rng *r) {
  enum { H = 48, W = 64, N = H * W, K = 256, C = 4 };
  static uint32_t v[N], w[N];
  static uint8_t ctx[N], junk[300];
  vq_entropy_params p;
  vq_entropy_stats st, st0;
  vq_diag diag;
  uint8_t *buf = NULL, *buf0 = NULL;
  size_t size = 0, size0 = 0, i, bad = 0;
  int t;
  for (i = 0; i < N; i++) {
    ctx[i] = (uint8_t)vq_rng_below(r, C);
    /* class c draws from its own 64 of the 256 indices, skewed */
    v[i] = (uint32_t)(ctx[i] * 64 + draw_skewed(r, 64));
  }
  CHECK_EQ_INT(vq_entropy_params_init(&p), VQ_OK);
  p.alphabet = K, p.width = W;
  CHECK_EQ_INT(vq_entropy_encode(&buf0, &size0, &st0, &p, v, N, NULL),
               VQ_OK);
  p.context = ctx, p.contexts = C;
  CHECK_EQ_INT(vq_entropy_encode(&buf, &size, &st, &p, v, N, &diag), VQ_OK);
  CHECK_EQ_INT(st.model, VQ_ENTROPY_MATCH_CLASS);
  fprintf(stderr, "context: %lu bytes with the classes (%s), %lu without "
          "(%s)\n", (unsigned long)size, vq_entropy_model_name(st.model),
          (unsigned long)size0, vq_entropy_model_name(st0.model));
  /* 2 bits of the 8 are in the class: at least 1 of them saved */
  CHECK(8.0 * (double)size < 8.0 * (double)size0 - 1.0 * N);
  CHECK_EQ_INT(vq_entropy_decode_context(w, N, K, W, ctx, C, buf, size,
                                         &diag), VQ_OK);
  for (i = 0; i < N; i++) bad += w[i] != v[i];
  CHECK_EQ_INT(bad, 0);
  CHECK_EQ_INT(vq_entropy_decode(w, N, K, W, buf, size, NULL), VQ_ERR_FORMAT);
  CHECK_EQ_INT(vq_entropy_decode_context(w, N, K, W, ctx, C + 1, buf, size,
                                         NULL), VQ_ERR_FORMAT);
  CHECK(vq_entropy_decode_context(w, N, K, W, ctx, C, buf, size - 1,
                                  NULL) < 0);
  /* streams of other models decode with or without the context */
  CHECK_EQ_INT(vq_entropy_decode_context(w, N, K, W, ctx, C, buf0, size0,
                                         NULL), VQ_OK);
  ctx[N / 2] = C;
  CHECK_EQ_INT(vq_entropy_decode_context(w, N, K, W, ctx, C, buf, size,
                                         NULL), VQ_ERR_INVALID_ARG);
  vq_free(buf);
  CHECK_EQ_INT(vq_entropy_encode(&buf, &size, NULL, &p, v, N, NULL),
               VQ_ERR_INVALID_ARG);
  ctx[N / 2] = 0;
  p.contexts = VQ_ENTROPY_MAX_CONTEXTS + 1;
  CHECK_EQ_INT(vq_entropy_encode(&buf, &size, NULL, &p, v, N, NULL),
               VQ_ERR_INVALID_ARG);
  p.context = NULL, p.contexts = 0, p.model = VQ_ENTROPY_MATCH_CLASS;
  CHECK_EQ_INT(vq_entropy_encode(&buf, &size, NULL, &p, v, N, NULL),
               VQ_ERR_INVALID_ARG);
  for (t = 0; t < 2000; t++) {
    size_t len = 2 + vq_rng_below(r, sizeof junk - 2);
    uint32_t k = 1 + (uint32_t)vq_rng_below(r, 5000);
    for (i = 0; i < len; i++) junk[i] = (uint8_t)vq_rng_below(r, 256);
    junk[0] = VQ_ENTROPY_MATCH_CLASS, junk[1] = 4;
    if (vq_entropy_decode_context(w, 256, k, t % 17, ctx, C, junk, len,
                                  NULL) == VQ_OK)
      for (i = 0; i < 256; i++) CHECK(w[i] < k);
  }
  vq_free(buf0);
}

int main(void) {
  vq_rng r;
  vq_rng_seed(&r, vq_test_seed(29));
  test_alphabets(&r);
  test_adversarial(&r);
  test_regions(&r);
  test_efficiency(&r);
  test_long(&r);
  test_errors(&r);
  test_context(&r);
  return vq_test_finish("test_entropy");
}
