/* Residual VQ: error falls with every stage and with wider beams, a beam
 * as wide as the code space is brute force, prefixes decode to partial
 * sums, results do not depend on the thread count, bad arguments are
 * refused. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "vq/rvq.h"
#include "internal.h"
#include "testutil.h"

/* Correlated Gaussian-like data: per-dimension scales from 2 down. */
static float *make_data(vq_rng *r, size_t n, size_t d) {
  float *x = malloc(n * d * sizeof *x);
  size_t i, j;
  for (i = 0; i < n; i++)
    for (j = 0; j < d; j++) {
      double u = vq_rng_double(r) + vq_rng_double(r) + vq_rng_double(r) -
                 1.5;
      x[i * d + j] = (float)(u * 2.0 * (1.0 - 0.8 * (double)j / (double)d));
    }
  return x;
}

static double code_mse(const int32_t *codes, const float *cb, int stages,
                       int use, size_t k, size_t d, const float *x,
                       size_t n) {
  float *y = malloc(n * d * sizeof *y);
  double s = 0.0;
  size_t i;
  CHECK_EQ_INT(vq_rvq_decode(y, codes, stages, use, cb, k, d, n), VQ_OK);
  for (i = 0; i < n * d; i++) s += ((double)x[i] - y[i]) * (x[i] - y[i]);
  free(y);
  return s / (double)(n * d);
}

static void test_train_and_beams(vq_rng *r) {
  const size_t n = 4000, d = 16, k = 32;
  const int stages = 4;
  float *x = make_data(r, n, d), *cb = malloc(stages * k * d * sizeof *cb);
  float *cb2 = malloc(stages * k * d * sizeof *cb2);
  int32_t *codes = malloc(n * stages * sizeof *codes);
  int32_t *codes2 = malloc(n * stages * sizeof *codes2);
  vq_rvq_params p;
  vq_rvq_stats st, st2;
  vq_diag diag;
  double prev = HUGE_VAL, m;
  int s, b;
  CHECK_EQ_INT(vq_rvq_params_init(&p), VQ_OK);
  p.stages = stages;
  p.k = k;
  p.iters = 10;
  p.nthreads = 1;
  CHECK_EQ_INT(vq_rvq_train(cb, &st, &p, x, n, d, &diag), VQ_OK);
  for (s = 0; s < stages; s++) {
    fprintf(stderr, "stage %d: mse %.5f, utilization %.3f\n", s + 1,
            st.mse_stage[s], st.utilization[s]);
    CHECK(st.mse_stage[s] <= prev);
    CHECK(st.utilization[s] > 0.5);
    prev = st.mse_stage[s];
  }
  /* the same with two threads, bit for bit */
  p.nthreads = 2;
  CHECK_EQ_INT(vq_rvq_train(cb2, &st2, &p, x, n, d, &diag), VQ_OK);
  CHECK(memcmp(cb, cb2, stages * k * d * sizeof *cb) == 0);
  /* greedy codes: MSE equals the training statistic; prefixes decode to
     the per-stage errors */
  CHECK_EQ_INT(vq_rvq_encode(codes, NULL, cb, stages, k, d, x, n, 1, 1),
               VQ_OK);
  for (s = 1; s <= stages; s++) {
    m = code_mse(codes, cb, stages, s, k, d, x, n);
    CHECK(fabs(m - st.mse_stage[s - 1]) <= 1e-4 * st.mse_stage[s - 1]);
  }
  /* wider beams: the error does not grow; any thread count, same codes */
  prev = code_mse(codes, cb, stages, stages, k, d, x, n);
  for (b = 2; b <= 16; b *= 2) {
    CHECK_EQ_INT(vq_rvq_encode(codes, NULL, cb, stages, k, d, x, n, b, 1),
                 VQ_OK);
    CHECK_EQ_INT(vq_rvq_encode(codes2, NULL, cb, stages, k, d, x, n, b, 2),
                 VQ_OK);
    CHECK(memcmp(codes, codes2, n * stages * sizeof *codes) == 0);
    m = code_mse(codes, cb, stages, stages, k, d, x, n);
    fprintf(stderr, "beam %d: mse %.5f\n", b, m);
    CHECK(m <= prev * (1.0 + 1e-9));
    prev = m;
  }
  free(x), free(cb), free(cb2), free(codes), free(codes2);
}

/* Joint refinement: the least-squares step never raises the error of
 * the codes it was given, gives the same bits for 1 and 2 threads, and a
 * trained quantizer keeps only rounds that lower its error. */
static void test_refine(vq_rng *r) {
  const size_t n = 3000, d = 8, k = 16;
  const int stages = 3;
  float *x = make_data(r, n, d), *cb = malloc(stages * k * d * sizeof *cb);
  float *a = malloc(stages * k * d * sizeof *a);
  float *b = malloc(stages * k * d * sizeof *b);
  int32_t *codes = malloc(n * stages * sizeof *codes);
  vq_rvq_params p;
  vq_rvq_stats st;
  vq_diag diag;
  double before, after;
  CHECK_EQ_INT(vq_rvq_params_init(&p), VQ_OK);
  p.stages = stages, p.k = k, p.iters = 8;
  CHECK_EQ_INT(vq_rvq_train(cb, &st, &p, x, n, d, &diag), VQ_OK);
  CHECK_EQ_INT(vq_rvq_encode(codes, NULL, cb, stages, k, d, x, n, 1, 1),
               VQ_OK);
  before = code_mse(codes, cb, stages, stages, k, d, x, n);
  memcpy(a, cb, stages * k * d * sizeof *cb);
  memcpy(b, cb, stages * k * d * sizeof *cb);
  CHECK_EQ_INT(vq_rvq_refine(a, codes, stages, k, d, x, n, 20, 1), VQ_OK);
  CHECK_EQ_INT(vq_rvq_refine(b, codes, stages, k, d, x, n, 20, 2), VQ_OK);
  CHECK(memcmp(a, b, stages * k * d * sizeof *a) == 0);
  after = code_mse(codes, a, stages, stages, k, d, x, n);
  fprintf(stderr, "least squares on fixed codes: %.5f -> %.5f\n", before,
          after);
  CHECK(after <= before);
  p.beam = 4, p.refine = 3;
  CHECK_EQ_INT(vq_rvq_train(cb, &st, &p, x, n, d, &diag), VQ_OK);
  fprintf(stderr, "refinement: %.5f -> %.5f in %d rounds\n",
          st.mse_before_refine, st.mse, st.refine_rounds);
  CHECK(st.mse <= st.mse_before_refine);
  CHECK_EQ_INT(vq_rvq_encode(codes, NULL, cb, stages, k, d, x, n, 4, 2),
               VQ_OK);
  CHECK(fabs(code_mse(codes, cb, stages, stages, k, d, x, n) - st.mse) <=
        1e-4 * st.mse);
  free(x), free(cb), free(a), free(b), free(codes);
}

/* A beam of K^M candidates keeps every code: brute force. */
static void test_brute_force(vq_rng *r) {
  const size_t n = 200, d = 3, k = 4;
  const int stages = 3;
  float *x = make_data(r, n, d), cb[3 * 4 * 3], err[200];
  int32_t codes[200 * 3];
  size_t i, j;
  for (j = 0; j < sizeof cb / sizeof *cb; j++)
    cb[j] = (float)(vq_rng_double(r) * 2.0 - 1.0);
  CHECK_EQ_INT(vq_rvq_encode(codes, err, cb, stages, k, d, x, n, 64, 2),
               VQ_OK);
  for (i = 0; i < n; i++) {
    double best = HUGE_VAL;
    int a, b, c;
    for (a = 0; a < 4; a++)
      for (b = 0; b < 4; b++)
        for (c = 0; c < 4; c++) {
          double e = 0.0;
          size_t q;
          for (q = 0; q < d; q++) {
            double v = (double)x[i * d + q] - cb[(0 * 4 + a) * 3 + q] -
                       cb[(1 * 4 + b) * 3 + q] - cb[(2 * 4 + c) * 3 + q];
            e += v * v;
          }
          if (e < best) best = e;
        }
    CHECK(fabs(err[i] - best) <= 1e-4 * (best + 1e-6));
  }
  free(x);
}

static void test_errors(vq_rng *r) {
  float *x = make_data(r, 10, 4), cb[2 * 16 * 4] = {0}, y[40];
  int32_t codes[20];
  vq_rvq_params p;
  vq_diag diag;
  CHECK_EQ_INT(vq_rvq_params_init(&p), VQ_OK);
  p.k = 16; /* more codewords than vectors */
  p.stages = 2;
  CHECK(vq_rvq_train(cb, NULL, &p, x, 10, 4, &diag) == VQ_ERR_INVALID_ARG);
  p.k = 4;
  p.stages = 0;
  CHECK(vq_rvq_train(cb, NULL, &p, x, 10, 4, &diag) == VQ_ERR_INVALID_ARG);
  p.stages = 2;
  x[3] = NAN;
  CHECK(vq_rvq_train(cb, NULL, &p, x, 10, 4, &diag) == VQ_ERR_NONFINITE);
  CHECK(vq_rvq_encode(codes, NULL, cb, 2, 4, 4, x, 10, 0, 1) ==
        VQ_ERR_INVALID_ARG);
  memset(codes, 0, sizeof codes);
  codes[5] = 4; /* out of range */
  CHECK(vq_rvq_decode(y, codes, 2, 2, cb, 4, 4, 10) == VQ_ERR_INVALID_ARG);
  CHECK(vq_rvq_decode(y, codes, 2, 3, cb, 4, 4, 10) == VQ_ERR_INVALID_ARG);
  free(x);
}

int main(void) {
  vq_rng r;
  vq_rng_seed(&r, vq_test_seed(77));
  test_train_and_beams(&r);
  test_refine(&r);
  test_brute_force(&r);
  test_errors(&r);
  return vq_test_finish("test_rvq");
}
