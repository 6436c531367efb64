/* Product quantization and OPQ: one sub-space is k-means, codes decode to
 * their codewords, distance tables add up to the distances, the OPQ
 * rotation is orthogonal and lowers the error on correlated data, results
 * do not depend on the thread count, rotations survive a save and load,
 * bad arguments and bad rotations are refused. */
#include "config.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vq/pq.h"
#include "vq/codebook.h"
#include "vq/safetensors.h"
#include "internal.h"
#include "testutil.h"

/* Strongly correlated data: a few latent factors mixed into every
 * dimension, plus a little noise. */
static float *make_data(vq_rng *r, size_t n, size_t d) {
  float *x = malloc(n * d * sizeof *x), *mix = malloc(4 * d * sizeof *mix);
  size_t i, j, f;
  for (j = 0; j < 4 * d; j++) mix[j] = (float)(vq_rng_double(r) * 2.0 - 1.0);
  for (i = 0; i < n; i++) {
    double g[4];
    for (f = 0; f < 4; f++)
      g[f] = (vq_rng_double(r) + vq_rng_double(r) + vq_rng_double(r) -
              1.5) * (4.0 - (double)f);
    for (j = 0; j < d; j++) {
      double v = 0.1 * (vq_rng_double(r) - 0.5);
      for (f = 0; f < 4; f++) v += g[f] * mix[f * d + j];
      x[i * d + j] = (float)v;
    }
  }
  free(mix);
  return x;
}

static double pq_mse(const float *cb, const float *rot, int m, size_t k,
                     size_t d, const float *x, size_t n) {
  int32_t *codes = malloc(n * (size_t)m * sizeof *codes);
  float *y = malloc(n * d * sizeof *y);
  double s = 0.0;
  size_t i;
  CHECK_EQ_INT(vq_pq_encode(codes, NULL, cb, rot, m, k, d, x, n, 0), VQ_OK);
  CHECK_EQ_INT(vq_pq_decode(y, codes, cb, rot, m, k, d, n), VQ_OK);
  for (i = 0; i < n * d; i++) s += ((double)x[i] - y[i]) * (x[i] - y[i]);
  free(codes), free(y);
  return s / (double)(n * d);
}

static void test_one_subspace_is_kmeans(vq_rng *r) {
  const size_t n = 3000, d = 8, k = 16;
  float *x = make_data(r, n, d);
  float *a = malloc(k * d * sizeof *a), *b = malloc(k * d * sizeof *b);
  vq_pq_params pp;
  vq_kmeans_params kp;
  vq_pq_stats st;
  CHECK_EQ_INT(vq_pq_params_init(&pp), VQ_OK);
  CHECK_EQ_INT(vq_kmeans_params_init(&kp), VQ_OK);
  pp.m = 1, pp.k = k, pp.iters = 12, pp.seed = 5;
  kp.k = k, kp.iters = 12, kp.seed = 5;
  CHECK_EQ_INT(vq_pq_train(a, NULL, &st, &pp, x, n, d, NULL), VQ_OK);
  CHECK_EQ_INT(vq_kmeans_train(b, NULL, &kp, x, n, d, NULL, NULL), VQ_OK);
  CHECK(memcmp(a, b, k * d * sizeof *a) == 0);
  CHECK(fabs(st.mse - pq_mse(a, NULL, 1, k, d, x, n)) < 1e-6 * st.mse);
  free(x), free(a), free(b);
}

static void test_codes_and_tables(vq_rng *r) {
  const size_t n = 2000, d = 12, k = 8, nq = 5;
  const int m = 3;
  float *x = make_data(r, n, d), *cb = malloc(m * k * (d / m) * sizeof *cb);
  float *rot = malloc(d * d * sizeof *rot), *tab, *y;
  int32_t codes[5 * 3];
  vq_pq_params pp;
  size_t q, i;
  int j;
  CHECK_EQ_INT(vq_pq_params_init(&pp), VQ_OK);
  pp.m = m, pp.k = k, pp.iters = 8, pp.opq = 3;
  CHECK_EQ_INT(vq_pq_train(cb, rot, NULL, &pp, x, n, d, NULL), VQ_OK);
  tab = malloc(nq * m * k * sizeof *tab);
  y = malloc(nq * d * sizeof *y);
  /* distances from the queries to the reconstructions of other vectors */
  CHECK_EQ_INT(vq_pq_encode(codes, NULL, cb, rot, m, k, d, x + 100 * d, nq, 1),
               VQ_OK);
  CHECK_EQ_INT(vq_pq_decode(y, codes, cb, rot, m, k, d, nq), VQ_OK);
  CHECK_EQ_INT(vq_pq_distance_tables(tab, cb, rot, m, k, d, x, nq, 2),
               VQ_OK);
  for (q = 0; q < nq; q++)
    for (i = 0; i < nq; i++) {
      double want = 0.0, got = 0.0;
      size_t e;
      for (e = 0; e < d; e++) {
        double t = (double)x[q * d + e] - y[i * d + e];
        want += t * t;
      }
      for (j = 0; j < m; j++)
        got += tab[(q * m + (size_t)j) * k + (size_t)codes[i * m + j]];
      CHECK(fabs(got - want) <= 1e-3 * (want + 1.0));
    }
  /* out-of-range codes are refused */
  codes[4] = (int32_t)k;
  CHECK_EQ_INT(vq_pq_decode(y, codes, cb, rot, m, k, d, nq),
               VQ_ERR_INVALID_ARG);
  free(x), free(cb), free(rot), free(tab), free(y);
}

static void test_opq(vq_rng *r) {
  const size_t n = 6000, d = 16, k = 16;
  const int m = 4;
  size_t ds = d / m, a, b, c;
  float *x = make_data(r, n, d);
  float *cb = malloc(m * k * ds * sizeof *cb), *cb2 = malloc(m * k * ds * 4);
  float *rot = malloc(d * d * sizeof *rot), *rot2 = malloc(d * d * 4);
  vq_pq_params pp;
  vq_pq_stats st;
  double worst = 0.0, plain, opq;
  CHECK_EQ_INT(vq_pq_params_init(&pp), VQ_OK);
  pp.m = m, pp.k = k, pp.iters = 10, pp.opq = 6, pp.opq_sample = 3000;
  pp.nthreads = 1;
  CHECK_EQ_INT(vq_pq_train(cb, rot, &st, &pp, x, n, d, NULL), VQ_OK);
  for (a = 0; a < d; a++)
    for (b = 0; b < d; b++) {
      double t = 0.0;
      for (c = 0; c < d; c++) t += (double)rot[c * d + a] * rot[c * d + b];
      t = fabs(t - (a == b ? 1.0 : 0.0));
      if (t > worst) worst = t;
    }
  CHECK(worst < 1e-5);
  CHECK(st.orthogonality < 1e-5);
  CHECK_EQ_INT(st.opq_rounds, 6);
  opq = pq_mse(cb, rot, m, k, d, x, n);
  CHECK(fabs(opq - st.mse) < 1e-4 * st.mse);
  /* the same with 2 threads, bit for bit */
  pp.nthreads = 2;
  CHECK_EQ_INT(vq_pq_train(cb2, rot2, NULL, &pp, x, n, d, NULL), VQ_OK);
  CHECK(memcmp(cb, cb2, m * k * ds * sizeof *cb) == 0);
  CHECK(memcmp(rot, rot2, d * d * sizeof *rot) == 0);
  /* plain PQ does worse on correlated data; 1 and 2 threads agree */
  pp.opq = 0;
  CHECK_EQ_INT(vq_pq_train(cb2, NULL, NULL, &pp, x, n, d, NULL), VQ_OK);
  plain = pq_mse(cb2, NULL, m, k, d, x, n);
  fprintf(stderr, "pq: mse %.5g plain, %.5g after OPQ\n", plain, opq);
  CHECK(opq < plain);
  pp.nthreads = 1;
  CHECK_EQ_INT(vq_pq_train(cb, NULL, NULL, &pp, x, n, d, NULL), VQ_OK);
  CHECK(memcmp(cb, cb2, m * k * ds * sizeof *cb) == 0);
  free(x), free(cb), free(cb2), free(rot), free(rot2);
}

static void test_rotation_file(vq_rng *r) {
  const char *path = "test_pq_rot.safetensors";
  float rot[9], back[9] = {0};
  vq_codebook *cb, *in;
  vq_st_writer *w;
  uint64_t shape[2] = {2, 3};
  size_t i, n;
  for (i = 0; i < 9; i++) rot[i] = (float)vq_rng_double(r);
  CHECK_EQ_INT(vq_codebook_create(&cb, "opq", 4, 1), VQ_OK);
  CHECK_EQ_INT(vq_codebook_set_rotation(cb, rot, 3), VQ_OK);
  CHECK_EQ_INT(vq_codebook_save(cb, path, NULL), VQ_OK);
  CHECK_EQ_INT(vq_codebook_load(&in, path, NULL), VQ_OK);
  CHECK(vq_codebook_rotation(in, &n) != NULL);
  CHECK_EQ_INT(n, 3);
  memcpy(back, vq_codebook_rotation(in, &n), sizeof back);
  CHECK(memcmp(rot, back, sizeof rot) == 0);
  vq_codebook_destroy(in);
  vq_codebook_destroy(cb);
  /* a non-square rotation is refused */
  CHECK_EQ_INT(vq_st_writer_create(&w), VQ_OK);
  CHECK_EQ_INT(vq_st_writer_meta(w, "libvq.kind", "opq"), VQ_OK);
  CHECK_EQ_INT(vq_st_writer_meta(w, "libvq.format_version", "1"), VQ_OK);
  CHECK_EQ_INT(vq_st_writer_add(w, "codebook", VQ_DTYPE_F32, 2, shape, rot),
               VQ_OK);
  CHECK_EQ_INT(vq_st_writer_add(w, "rotation", VQ_DTYPE_F32, 2, shape, rot),
               VQ_OK);
  CHECK_EQ_INT(vq_st_writer_write(w, path, NULL), VQ_OK);
  vq_st_writer_destroy(w);
  CHECK_EQ_INT(vq_codebook_load(&in, path, NULL), VQ_ERR_FORMAT);
  remove(path);
}

static void test_errors(vq_rng *r) {
  const size_t n = 100, d = 6;
  float *x = make_data(r, n, d), cb[3 * 200 * 2], rot[36];
  int32_t codes[3];
  vq_pq_params pp;
  vq_diag diag = {{0}};
  CHECK_EQ_INT(vq_pq_params_init(&pp), VQ_OK);
  pp.m = 4, pp.k = 4; /* 4 does not divide 6 */
  CHECK_EQ_INT(vq_pq_train(cb, NULL, NULL, &pp, x, n, d, &diag),
               VQ_ERR_INVALID_ARG);
  CHECK(strstr(diag.msg, "divide") != NULL);
  pp.m = 3, pp.k = 200; /* k > n */
  CHECK_EQ_INT(vq_pq_train(cb, NULL, NULL, &pp, x, n, d, NULL),
               VQ_ERR_INVALID_ARG);
  pp.k = 4, pp.opq = 2; /* OPQ needs somewhere for the rotation */
  CHECK_EQ_INT(vq_pq_train(cb, NULL, NULL, &pp, x, n, d, NULL),
               VQ_ERR_INVALID_ARG);
  x[7] = NAN;
  CHECK_EQ_INT(vq_pq_train(cb, rot, NULL, &pp, x, n, d, NULL),
               VQ_ERR_NONFINITE);
  CHECK_EQ_INT(vq_pq_encode(codes, NULL, cb, NULL, 4, 4, d, x, 1, 1),
               VQ_ERR_INVALID_ARG);
  free(x);
}

int main(void) {
  vq_rng r;
  vq_rng_seed(&r, vq_test_seed(91));
  test_one_subspace_is_kmeans(&r);
  test_codes_and_tables(&r);
  test_opq(&r);
  test_rotation_file(&r);
  test_errors(&r);
  return vq_test_finish("test_pq");
}
