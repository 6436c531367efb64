/* PVQ: codeword counts against an independent formula, the exhaustive
 * index bijection for small (n, k), the 64-bit boundary, split coding
 * beyond it, and the search against a brute-force optimum. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "vq/container.h"
#include "vq/pvq.h"
#include "internal.h"
#include "pvq_rc.h"
#include "testutil.h"

/* V(n, k) by its closed form sum_i 2^i C(n, i) C(k - 1, i - 1), in double
 * (exact for the small values it is used on). */
static double count_formula(uint32_t n, uint32_t k) {
  double v = 0.0;
  uint32_t i, j;
  if (k == 0) return 1.0;
  for (i = 1; i <= n && i <= k; i++) {
    double c1 = 1.0, c2 = 1.0;
    for (j = 0; j < i; j++) c1 = c1 * (n - j) / (j + 1);
    for (j = 0; j < i - 1; j++) c2 = c2 * (k - 1 - j) / (j + 1);
    v += ldexp(c1 * c2, (int)i);
  }
  return v;
}

static void test_counts(void) {
  uint32_t n, k;
  uint64_t v;
  CHECK_EQ_INT(vq_pvq_count(&v, 2, 1), VQ_OK);
  CHECK_EQ_INT(v, 4);
  CHECK_EQ_INT(vq_pvq_count(&v, 3, 2), VQ_OK);
  CHECK_EQ_INT(v, 18);
  CHECK_EQ_INT(vq_pvq_count(&v, 8, 0), VQ_OK);
  CHECK_EQ_INT(v, 1);
  for (n = 1; n <= 40; n++)
    for (k = 0; k <= 24; k++) {
      double f = count_formula(n, k);
      if (f >= 9e15) continue; /* beyond exact doubles */
      CHECK_EQ_INT(vq_pvq_count(&v, n, k), VQ_OK);
      CHECK((double)v == f);
      CHECK(fabs(vq_pvq_bits(n, k) - log2(f)) < 1e-9);
    }
  CHECK_EQ_INT(vq_pvq_count(&v, 0, 1), VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_pvq_count(&v, 1, VQ_PVQ_MAX_K + 1), VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_pvq_count(&v, 1024, 64), VQ_ERR_LIMIT);
}

/* Every index of every small (n, k) maps to a codeword with k pulses and
 * back: a bijection, since the sizes agree. All (n, k) with V < 10^6 for
 * n <= 16, and the cheap rows beyond: k = 1 up to n = 1024, k = 2 up to
 * n = 128. */
static void test_bijection(void) {
  uint32_t n, k, pairs = 0;
  uint64_t total = 0;
  int32_t *y = malloc(1024 * sizeof *y);
  for (n = 1; n <= 1024; n++)
    for (k = 0; k <= 40; k++) {
      uint64_t v, i, back;
      size_t bad = 0;
      if (n > 16 && (k > 2 || (k == 2 && n > 128))) break;
      if (vq_pvq_count(&v, n, k) < 0 || v >= 1000000) break;
      for (i = 0; i < v; i++) {
        uint32_t j, s = 0;
        if (vq_pvq_vector(y, i, n, k) < 0) { bad++; continue; }
        for (j = 0; j < n; j++) s += (uint32_t)abs(y[j]);
        if (s != k || vq_pvq_index(&back, y, n, k) < 0 || back != i) bad++;
      }
      CHECK_EQ_INT(bad, 0);
      CHECK(vq_pvq_vector(y, v, n, k) == VQ_ERR_INVALID_ARG);
      pairs++;
      total += v;
    }
  fprintf(stderr, "bijection: %u (n, k) pairs, %llu codewords\n", pairs,
          (unsigned long long)total);
  CHECK(pairs > 1000);
  free(y);
}

/* Around 2^64: the last (n, k) that fits, its extreme indices and random
 * ones; larger n with few pulses. */
static void test_boundary(vq_rng *r) {
  static const uint32_t ns[] = {2, 3, 8, 16, 64, 256, 1024, 4096, 65536};
  size_t a;
  int32_t *y = malloc(65536 * sizeof *y);
  for (a = 0; a < sizeof ns / sizeof *ns; a++) {
    uint32_t n = ns[a], k = 1, t;
    uint64_t v, back;
    while (k < VQ_PVQ_MAX_K && vq_pvq_count(&v, n, k + 1) == VQ_OK) k++;
    CHECK_EQ_INT(vq_pvq_count(&v, n, k), VQ_OK);
    if (k < VQ_PVQ_MAX_K) {
      uint64_t w;
      CHECK_EQ_INT(vq_pvq_count(&w, n, k + 1), VQ_ERR_LIMIT);
      CHECK(vq_pvq_bits(n, k + 1) >= 64.0);
    }
    CHECK(vq_pvq_bits(n, k) < 64.0);
    /* the last index is -k on the first coordinate */
    CHECK_EQ_INT(vq_pvq_vector(y, v - 1, n, k), VQ_OK);
    CHECK_EQ_INT(y[0], -(int32_t)k);
    for (t = 0; t < 20; t++) {
      uint64_t i = t == 0 ? 0 : t == 1 ? v - 1 : vq_rng_below(r, v);
      CHECK_EQ_INT(vq_pvq_vector(y, i, n, k), VQ_OK);
      CHECK_EQ_INT(vq_pvq_index(&back, y, n, k), VQ_OK);
      CHECK(back == i);
    }
  }
  free(y);
}

/* Random codewords through the range coder, direct and split. */
static void test_coding(vq_rng *r) {
  static const uint32_t cases[][2] = {{4, 3},   {16, 8},   {64, 16},
                                      {256, 128}, {1024, 512}, {3, 60000},
                                      {100, 1}, {65536, 3}};
  size_t c;
  for (c = 0; c < sizeof cases / sizeof *cases; c++) {
    uint32_t n = cases[c][0], k = cases[c][1], i, t;
    int32_t *ys = calloc((size_t)8 * n, sizeof *ys), *z = calloc(n, sizeof *z);
    vq_rc_enc e;
    vq_rc_dec d;
    const uint8_t *buf;
    size_t size;
    double bits;
    vq_rc_enc_init(&e);
    for (t = 0; t < 8; t++) {
      int32_t *y = ys + (size_t)t * n;
      for (i = 0; i < k; i++) y[vq_rng_below(r, n)]++;
      for (i = 0; i < n; i++) if (vq_rng_below(r, 2)) y[i] = -y[i];
      CHECK_EQ_INT(vq_pvq_write(&e, y, n, k), VQ_OK);
    }
    CHECK_EQ_INT(vq_rc_enc_finish(&e, &buf, &size), VQ_OK);
    bits = 8.0 * (double)size / 8.0;
    fprintf(stderr, "coding n=%u k=%u: %.1f bits per codeword, log2 V = "
            "%.1f\n", n, k, bits, vq_pvq_bits(n, k));
    CHECK(bits < vq_pvq_bits(n, k) + 8.0 * log2(k + 2.0) + 8.0);
    vq_rc_dec_init(&d, buf, size);
    for (t = 0; t < 8; t++) {
      CHECK_EQ_INT(vq_pvq_read(&d, z, n, k), VQ_OK);
      CHECK(memcmp(z, ys + (size_t)t * n, n * sizeof *z) == 0);
    }
    CHECK_EQ_INT(vq_rc_dec_finish(&d), VQ_OK);
    vq_rc_enc_clear(&e);
    free(ys), free(z);
  }
}

static double corr_of(const int32_t *y, const float *x, uint32_t n) {
  double xy = 0.0, yy = 0.0, xx = 0.0;
  uint32_t i;
  for (i = 0; i < n; i++) {
    xy += (double)x[i] * y[i];
    yy += (double)y[i] * y[i];
    xx += (double)x[i] * x[i];
  }
  return yy > 0 && xx > 0 ? xy / sqrt(xx * yy) : 0.0;
}

/* The search, plain and refined, against the best of all codewords. */
static void test_search(vq_rng *r) {
  uint32_t n, k, i, t, runs = 0, opt[2] = {0, 0};
  double worst[2] = {0.0, 0.0};
  float x[8];
  int32_t y[8], best[8];
  for (n = 2; n <= 8; n++)
    for (k = 1; k <= 10; k++) {
      uint64_t v, idx;
      if (vq_pvq_count(&v, n, k) < 0 || v > 20000) break;
      for (t = 0; t < 30; t++) {
        double bc = -2.0, c, got;
        int f;
        for (i = 0; i < n; i++) /* Laplacian-like */
          x[i] = (float)(log(vq_rng_double(r) + 1e-12) *
                         (vq_rng_below(r, 2) ? 1.0 : -1.0));
        for (idx = 0; idx < v; idx++) {
          if (vq_pvq_vector(y, idx, n, k) < 0) break;
          c = corr_of(y, x, n);
          if (c > bc) bc = c, memcpy(best, y, n * sizeof *y);
        }
        for (f = 0; f < 2; f++) {
          uint32_t s = 0;
          CHECK_EQ_INT(vq_pvq_search(y, &got, x, n, k,
                                     f ? VQ_PVQ_REFINE : 0), VQ_OK);
          for (i = 0; i < n; i++) s += (uint32_t)abs(y[i]);
          CHECK_EQ_INT(s, k);
          CHECK(fabs(got - corr_of(y, x, n)) < 1e-9);
          if (got >= bc - 1e-12) opt[f]++;
          if (1.0 - got / bc > worst[f]) worst[f] = 1.0 - got / bc;
        }
        runs++;
      }
    }
  fprintf(stderr, "search: %u cases; optimal %.2f%% greedy, %.2f%% refined; "
          "worst loss %.3f%% greedy, %.3f%% refined\n", runs,
          100.0 * opt[0] / runs, 100.0 * opt[1] / runs, 100.0 * worst[0],
          100.0 * worst[1]);
  /* every case here is small enough for the exact pass: the refined
   * search is the optimum; the plain one nearly always */
  CHECK_EQ_INT(opt[1], runs);
  CHECK(worst[1] < 1e-12);
  CHECK(opt[0] >= runs * 0.97);
  CHECK(worst[0] < 0.05);
}

/* A codeword searched for itself comes back: decode(encode(x)) is a
 * fixed point. */
static void test_fixed_point(vq_rng *r) {
  static const uint32_t cases[][2] = {{4, 2}, {8, 5}, {16, 16}, {32, 7},
                                      {64, 40}, {128, 128}};
  size_t c;
  for (c = 0; c < sizeof cases / sizeof *cases; c++) {
    uint32_t n = cases[c][0], k = cases[c][1], i, t, same = 0;
    int32_t *y = calloc(n, sizeof *y), *z = calloc(n, sizeof *z);
    float *x = calloc(n, sizeof *x);
    for (t = 0; t < 50; t++) {
      memset(y, 0, n * sizeof *y);
      for (i = 0; i < k; i++) y[vq_rng_below(r, n)]++;
      for (i = 0; i < n; i++) {
        if (vq_rng_below(r, 2)) y[i] = -y[i];
        x[i] = (float)y[i] * 0.37f;
      }
      CHECK_EQ_INT(vq_pvq_search(z, NULL, x, n, k, 0), VQ_OK);
      same += memcmp(y, z, n * sizeof *y) == 0;
    }
    CHECK_EQ_INT(same, 50);
    free(y), free(z), free(x);
  }
}

/* With a fixed gain step, coding the decoded array again gives the same
 * file. */
static void test_file_fixed_point(vq_rng *r) {
  static const uint64_t shape[1] = {1000};
  float x[1000];
  size_t i, s1, s2;
  uint8_t *v1, *v2;
  vq_array *a = NULL;
  vq_pvq_params p;
  for (i = 0; i < 1000; i++)
    x[i] = (float)(vq_rng_double(r) - 0.5) * 3.0f;
  CHECK_EQ_INT(vq_pvq_params_init(&p), VQ_OK);
  p.block = 16;
  p.k = 9;
  p.step = 0.05f;
  CHECK_EQ_INT(vq_pvqfile_encode(&v1, &s1, NULL, &p, x, 1, shape, NULL),
               VQ_OK);
  CHECK_EQ_INT(vq_pvqfile_decode(&a, v1, s1, 0, NULL, NULL), VQ_OK);
  CHECK_EQ_INT(vq_pvqfile_encode(&v2, &s2, NULL, &p, a->data, 1, shape,
                                 NULL), VQ_OK);
  CHECK(s1 == s2 && memcmp(v1, v2, s1) == 0);
  vq_array_destroy(a);
  vq_free(v1), vq_free(v2);
}

/* The rate-aware search keeps fewer pulses as lambda grows (at lambda = 0
 * the count of best correlation, which need not be k: a pulse more can
 * lower it), and always returns a codeword of the pulses it reports. */
static void test_search_rd(vq_rng *r) {
  static const double lambdas[] = {0.0, 0.01, 0.1, 1.0, 100.0};
  float x[32];
  int32_t y[32];
  uint32_t i, t, prev, used;
  size_t l;
  for (t = 0; t < 20; t++) {
    for (i = 0; i < 32; i++)
      x[i] = (float)(log(vq_rng_double(r) + 1e-12) *
                     (vq_rng_below(r, 2) ? 1.0 : -1.0));
    prev = 1000;
    for (l = 0; l < sizeof lambdas / sizeof *lambdas; l++) {
      uint32_t s = 0;
      double c;
      CHECK_EQ_INT(vq_pvq_search_rd(y, &used, &c, x, 32, 24, lambdas[l]),
                   VQ_OK);
      for (i = 0; i < 32; i++) s += (uint32_t)abs(y[i]);
      CHECK_EQ_INT(s, used);
      CHECK(used <= prev);
      if (l == 0) CHECK(used >= 1 && c > 0.5);
      prev = used;
    }
    CHECK(prev < 24);
  }
}

static void test_search_edges(void) {
  float x[4] = {0, 0, 0, 0}, bad[2] = {1.0f, NAN};
  int32_t y[4];
  double c;
  uint32_t k;
  CHECK_EQ_INT(vq_pvq_search(y, &c, x, 4, 5, 0), VQ_OK);
  CHECK_EQ_INT(y[0], 5);
  CHECK_EQ_INT(vq_pvq_search(y, &c, bad, 2, 3, 0), VQ_ERR_NONFINITE);
  CHECK_EQ_INT(vq_pvq_search(y, &c, x, 0, 3, 0), VQ_ERR_INVALID_ARG);
  for (k = 0; k < 40; k++) { /* the pulse count for a budget */
    double b = 3.0 * k;
    uint32_t kk = vq_pvq_k_for_bits(16, b);
    CHECK(kk == 0 || vq_pvq_bits(16, kk) <= b);
    CHECK(vq_pvq_bits(16, kk + 1) > b);
  }
}

/* Gain-shape PVQ of a float array into a .vq file and back, with k
 * pulses in every block (pps 0) or pulses from the gain: the decoded
 * error is the one reported, more bits give less error, the file is the
 * same for 1 and 2 threads, and damage is detected; from the gain, the
 * rate asked is the rate written to within the coder's overheads. */
static void test_file_mode(vq_rng *r, float pps) {
  static const uint64_t shape[2] = {40, 70}; /* blocks of 32, 32 and 6 */
  float *x = malloc(40 * 70 * sizeof *x);
  double prev = HUGE_VAL;
  size_t i, size, cut;
  uint8_t *vq, *vq2;
  vq_pvq_params p;
  vq_pvq_stats st;
  vq_array *a = NULL;
  int b, bad = 0;
  for (i = 0; i < 40 * 70; i++)
    x[i] = (float)(log(vq_rng_double(r) + 1e-12) *
                   (vq_rng_below(r, 2) ? 1.0 : -1.0) * (1 + i / 700));
  CHECK_EQ_INT(vq_pvq_params_init(&p), VQ_OK);
  p.pulses_per_step = pps;
  for (b = 1; b <= 4; b++) {
    double err = 0.0;
    vq_pvqfile_info info;
    const vq_chunk *head;
    vq_container *c = NULL;
    p.bits = b;
    p.nthreads = 1;
    CHECK_EQ_INT(vq_pvqfile_encode(&vq, &size, &st, &p, x, 2, shape, NULL),
                 VQ_OK);
    p.nthreads = 2;
    CHECK_EQ_INT(vq_pvqfile_encode(&vq2, &size, NULL, &p, x, 2, shape, NULL),
                 VQ_OK);
    CHECK(memcmp(vq, vq2, size) == 0);
    CHECK_EQ_INT(vq_pvqfile_decode(&a, vq, size, 0, "t.vq", NULL), VQ_OK);
    CHECK(a && a->ndim == 2 && a->shape[0] == 40 && a->shape[1] == 70);
    for (i = 0; a && i < 40 * 70; i++) {
      double e = x[i] - ((float *)a->data)[i];
      err += e * e;
    }
    CHECK(fabs(err / (40 * 70) - st.mse) <= 1e-6 * st.mse + 1e-12);
    CHECK(st.mse < prev);
    CHECK_EQ_INT(vq_container_parse(&c, vq, size, 0, NULL, "t.vq", NULL),
                 VQ_OK);
    head = c ? vq_container_find(c, "HEAD", 0) : NULL;
    CHECK(head && vq_pvqfile_info_parse(&info, head->data, head->size,
                                        NULL) == VQ_OK);
    if (head) {
      CHECK(info.pulses_per_step == pps && info.step == st.step);
      CHECK(pps > 0 ? info.k == 0 && st.k == 0 && st.mean_k > 0
                    : info.k == st.k && st.mean_k == st.k);
    }
    vq_container_destroy(c);
    if (pps > 0)
      CHECK(st.bits_per_value > 0.9 * b && st.bits_per_value < 1.1 * b + 0.35);
    fprintf(stderr, "pvq file (pulses per step %g): %d bits/value asked, "
            "%.3f written, %.1f pulses a block, SNR %.2f dB\n", pps, b,
            st.bits_per_value, st.mean_k, st.snr_db);
    prev = st.mse;
    vq_array_destroy(a);
    a = NULL;
    if (b == 1) {
      for (cut = 0; cut < size; cut += 7)
        bad += vq_pvqfile_decode(&a, vq, cut, 0, NULL, NULL) == VQ_OK;
      for (i = 0; i < 8 * size; i += 5) {
        vq[i / 8] ^= (uint8_t)(1u << (i % 8));
        if (vq_pvqfile_decode(&a, vq, size, 0, NULL, NULL) == VQ_OK &&
            i / 8 != 9)
          bad++;
        vq_array_destroy(a);
        a = NULL;
        vq[i / 8] ^= (uint8_t)(1u << (i % 8));
      }
#ifndef VQ_FUZZING
      CHECK_EQ_INT(bad, 0);
#endif
      CHECK_EQ_INT(vq_pvqfile_decode(&a, vq, size, 100, NULL, NULL),
                   VQ_ERR_LIMIT);
    }
    vq_free(vq), vq_free(vq2);
  }
  x[5] = NAN;
  CHECK_EQ_INT(vq_pvqfile_encode(&vq, &size, NULL, &p, x, 2, shape, NULL),
               VQ_ERR_NONFINITE);
  free(x);
}

/* Headers with pulses from the gain: the flag needs its field, a positive
 * pulses-per-step and k = 0; unknown flags are refused. */
static void test_head_from_gain(void) {
  uint8_t h[4 + 8 + 24];
  vq_pvqfile_info info;
  float one = 1.0f, three = 3.0f, zero = 0.0f;
  memset(h, 0, sizeof h);
  h[0] = VQ_KIND_PVQ, h[1] = 1, h[2] = 1, h[3] = 1;
  h[4] = 64;                  /* shape (64) */
  h[12] = 16;                 /* block 16, k 0 */
  memcpy(h + 20, &one, 4);    /* step (little-endian hosts) */
  memcpy(h + 24, &one, 4);    /* beta */
  h[28] = 10;                 /* gain alphabet */
  memcpy(h + 32, &three, 4);  /* pulses per step */
  CHECK_EQ_INT(vq_pvqfile_info_parse(&info, h, sizeof h, NULL), VQ_OK);
  CHECK(info.pulses_per_step == 3.0f && info.block == 16);
  CHECK_EQ_INT(vq_pvqfile_info_parse(&info, h, sizeof h - 4, NULL),
               VQ_ERR_FORMAT);
  h[16] = 5;                  /* k set as well */
  CHECK_EQ_INT(vq_pvqfile_info_parse(&info, h, sizeof h, NULL),
               VQ_ERR_FORMAT);
  h[16] = 0;
  memcpy(h + 32, &zero, 4);
  CHECK_EQ_INT(vq_pvqfile_info_parse(&info, h, sizeof h, NULL),
               VQ_ERR_FORMAT);
  memcpy(h + 32, &three, 4);
  h[3] = 3;                   /* an unknown flag */
  CHECK_EQ_INT(vq_pvqfile_info_parse(&info, h, sizeof h, NULL),
               VQ_ERR_FORMAT);
}

static void test_file(vq_rng *r) {
  test_file_mode(r, 0.0f);
  test_file_mode(r, 3.0f);
  test_head_from_gain();
}

/* The AVX2 build of the search gives the generic build's codewords and
 * correlations bit for bit: varied sizes, pulse counts, magnitudes
 * (ties, sparse, tiny, huge), with and without VQ_PVQ_REFINE, and the
 * rate-aware search. Runs where the CPU has AVX2 (where vq_pvq_search()
 * uses that build); elsewhere there is nothing to compare. */
static void test_avx2_same(vq_rng *r) {
#ifdef VQ_HAVE_AVX2
  static const uint32_t ns[] = {1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33,
                                64, 100, 128, 255, 256, 1024, 1500};
  static const uint32_t ks[] = {1, 2, 3, 5, 8, 16, 31, 32, 100, 128, 1000,
                                65536};
  static float x[1500];
  static int32_t ya[1500], yb[1500];
  size_t a, b, t, i, cases = 0, bad = 0;
  if (!(vq_cpu_features() & VQ_CPU_AVX2)) {
    fprintf(stderr, "no AVX2 on this CPU: the generic search only\n");
    return;
  }
  for (a = 0; a < sizeof ns / sizeof *ns; a++)
    for (b = 0; b < sizeof ks / sizeof *ks; b++)
      for (t = 0; t < 30; t++) {
        uint32_t n = ns[a], k = ks[b];
        unsigned flags = t % 5 == 4 && n * k <= 4096 ? VQ_PVQ_REFINE : 0;
        double ca = 0.0, cb = 0.0;
        int ra, rb;
        for (i = 0; i < n; i++) {
          double u = vq_rng_double(r) - 0.5, v;
          switch (t % 4) {
          case 0: v = u; break;
          case 1: v = (double)(int)(8.0 * u); break;          /* ties */
          case 2: v = vq_rng_double(r) < 0.1 ? 100.0 * u : 0.01 * u; break;
          default: v = u * pow(10.0, (double)(t % 60) - 30.0); break;
          }
          x[i] = (float)v;
        }
        ra = vq_pvq_search_generic_(ya, &ca, x, n, k, flags);
        rb = vq_pvq_search_avx2_(yb, &cb, x, n, k, flags);
        cases++;
        if (ra != rb || (ra == 0 && (memcmp(ya, yb, n * sizeof *ya) ||
                                     ca != cb)))
          bad++;
        if (n <= 256 && k <= 128 && t < 3) {
          uint32_t ka = 0, kb = 0;
          ra = vq_pvq_search_rd_avx2_(ya, &ka, &ca, x, n, k, 0.01);
          rb = vq_pvq_search_rd_generic_(yb, &kb, &cb, x, n, k, 0.01);
          cases++;
          if (ra != rb || ka != kb || (ra == 0 && memcmp(ya, yb, n * 4)))
            bad++;
        }
      }
  fprintf(stderr, "AVX2 search against generic: %lu of %lu cases differ\n",
          (unsigned long)bad, (unsigned long)cases);
  CHECK_EQ_INT(bad, 0);
#else
  (void)r;
#endif
}

int main(void) {
  vq_rng r;
  vq_rng_seed(&r, vq_test_seed(37));
  test_file(&r);
  test_counts();
  test_bijection();
  test_boundary(&r);
  test_coding(&r);
  test_search(&r);
  test_fixed_point(&r);
  test_search_rd(&r);
  test_file_fixed_point(&r);
  test_search_edges();
  test_avx2_same(&r);
  return vq_test_finish("test_pvq");
}
