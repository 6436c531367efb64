/* Nearest-codeword search: every kernel against a brute-force oracle,
 * ties, bit-identity between kernels and thread counts. */
#include "config.h"
#include <math.h>
#include <string.h>
#include "internal.h"
#include "vq/search.h"
#include "dsp/dist.h"
#include "testutil.h"

static const vq_kernel kernels[] = {VQ_KERNEL_C, VQ_KERNEL_AVX2,
                                    VQ_KERNEL_AVX512};

static void fill(float *v, size_t m, vq_rng *r, int integers) {
  size_t i;
  for (i = 0; i < m; i++)
    v[i] = integers ? (float)((int)vq_rng_below(r, 5) - 2)
                    : (float)(vq_rng_double(r) * 2.0 - 1.0);
}

/* Exact oracle in double: lowest distance, lowest index on ties. */
static void oracle(int32_t *idx, double *best, const float *cb, size_t k,
                   size_t d, const float *x) {
  size_t c, j;
  *best = INFINITY;
  *idx = -1;
  for (c = 0; c < k; c++) {
    double s = 0.0;
    for (j = 0; j < d; j++) {
      double t = (double)x[j] - cb[c * d + j];
      s += t * t;
    }
    if (s < *best) *best = s, *idx = (int32_t)c;
  }
}

/* Checks one kernel on one shape; returns 1 if the kernel exists. */
static int check_kernel(vq_kernel kern, size_t n, size_t k, size_t d,
                        int integers, vq_rng *r, int32_t *ref_idx,
                        float *ref_dist) {
  float *cb = vq_malloc_array(k * d, sizeof(float));
  float *x = vq_malloc_array(n * d, sizeof(float));
  float *dist = vq_malloc_array(n, sizeof(float));
  int32_t *idx = vq_malloc_array(n, sizeof(int32_t));
  vq_rng r0 = *r;
  vq_index *ix = NULL;
  size_t i;
  int rc, have = 0;
  fill(cb, k * d, &r0, integers);
  fill(x, n * d, &r0, integers);
  rc = vq_index_create(&ix, cb, k, d, kern);
  if (rc == VQ_ERR_UNSUPPORTED) goto done;
  CHECK_EQ_INT(rc, VQ_OK);
  have = 1;
  CHECK_EQ_INT(vq_index_search(ix, idx, dist, x, n, 1), VQ_OK);
  for (i = 0; i < n; i++) {
    int32_t oi;
    double od, got = 0.0;
    size_t j;
    oracle(&oi, &od, cb, k, d, x + i * d);
    for (j = 0; j < d; j++) {
      double t = (double)x[i * d + j] - cb[idx[i] * d + j];
      got += t * t;
    }
    if (integers) {
      CHECK_EQ_INT(idx[i], oi);          /* exact arithmetic: exact ties */
      CHECK(dist[i] == (float)od);
    } else {
      CHECK(got <= od + 1e-5 * (1.0 + od)); /* within rounding of best */
      CHECK(fabs(dist[i] - od) <= 1e-4 * (1.0 + od));
    }
    if (ref_idx) {                       /* same bits as the C kernel */
      CHECK_EQ_INT(idx[i], ref_idx[i]);
      CHECK(memcmp(&dist[i], &ref_dist[i], sizeof(float)) == 0);
    }
  }
  if (!ref_idx) {
    memcpy(ref_idx = malloc(n * sizeof *idx), idx, n * sizeof *idx);
    free(ref_idx);
  }
done:
  vq_index_destroy(ix);
  free(cb), free(x), free(dist), free(idx);
  return have;
}

static void check_shape(size_t n, size_t k, size_t d, int integers,
                        vq_rng *r) {
  int32_t *ref_idx = vq_malloc_array(n, sizeof(int32_t));
  float *ref_dist = vq_malloc_array(n, sizeof(float));
  float *cb = vq_malloc_array(k * d, sizeof(float));
  float *x = vq_malloc_array(n * d, sizeof(float));
  vq_rng r0 = *r;
  size_t kk;
  /* Reference result from the C kernel. */
  fill(cb, k * d, &r0, integers);
  fill(x, n * d, &r0, integers);
  {
    vq_index *ix;
    CHECK_EQ_INT(vq_index_create(&ix, cb, k, d, VQ_KERNEL_C), VQ_OK);
    CHECK_EQ_INT(vq_index_search(ix, ref_idx, ref_dist, x, n, 1), VQ_OK);
    vq_index_destroy(ix);
  }
  for (kk = 0; kk < sizeof kernels / sizeof *kernels; kk++)
    check_kernel(kernels[kk], n, k, d, integers, r, ref_idx, ref_dist);
  vq_rng_next(r);
  free(ref_idx), free(ref_dist), free(cb), free(x);
}

static void check_threads(vq_rng *r) {
  size_t n = 5003, k = 300, d = 24, t;
  float *cb = vq_malloc_array(k * d, sizeof(float));
  float *x = vq_malloc_array(n * d, sizeof(float));
  float *d1 = vq_malloc_array(n, sizeof(float));
  float *d2 = vq_malloc_array(n, sizeof(float));
  int32_t *i1 = vq_malloc_array(n, sizeof(int32_t));
  int32_t *i2 = vq_malloc_array(n, sizeof(int32_t));
  fill(cb, k * d, r, 0);
  fill(x, n * d, r, 0);
  CHECK_EQ_INT(vq_nearest(i1, d1, cb, k, d, x, n, 1), VQ_OK);
  for (t = 2; t <= 4; t++) {
    CHECK_EQ_INT(vq_nearest(i2, d2, cb, k, d, x, n, (int)t), VQ_OK);
    CHECK(memcmp(i1, i2, n * sizeof *i1) == 0);
    CHECK(memcmp(d1, d2, n * sizeof *d1) == 0);
  }
  /* dist may be NULL */
  CHECK_EQ_INT(vq_nearest(i2, NULL, cb, k, d, x, n, 2), VQ_OK);
  CHECK(memcmp(i1, i2, n * sizeof *i1) == 0);
  free(cb), free(x), free(d1), free(d2), free(i1), free(i2);
}

int main(void) {
  static const size_t shapes[][3] = {
      {1, 1, 1}, {7, 3, 5}, {50, 17, 3}, {100, 64, 16}, {333, 100, 33},
      {97, 257, 64}, {40, 1000, 128}, {13, 33, 1}, {241, 31, 7}};
  vq_rng r;
  size_t s, kk;
  int32_t i1;
  vq_rng_seed(&r, vq_test_seed(1));
  for (s = 0; s < sizeof shapes / sizeof *shapes; s++) {
    check_shape(shapes[s][0], shapes[s][1], shapes[s][2], 0, &r);
    check_shape(shapes[s][0], shapes[s][1], shapes[s][2], 1, &r);
  }
  check_threads(&r);
  for (kk = 0; kk < sizeof kernels / sizeof *kernels; kk++) {
    const vq_dist_impl *im = vq_dist_select(kernels[kk]);
    fprintf(stderr, "kernel %d: %s\n", (int)kernels[kk],
            im ? im->name : "not available");
  }
  /* Bad arguments. */
  {
    vq_index *ix;
    float c = 0.0f;
    CHECK_EQ_INT(vq_index_create(&ix, &c, 0, 1, VQ_KERNEL_AUTO),
                 VQ_ERR_INVALID_ARG);
    CHECK_EQ_INT(vq_index_create(&ix, &c, 1, 0, VQ_KERNEL_AUTO),
                 VQ_ERR_INVALID_ARG);
    CHECK_EQ_INT(vq_nearest(&i1, NULL, &c, 1, 1, &c, 1, 1), VQ_OK);
    CHECK_EQ_INT(i1, 0);
  }
  return vq_test_finish("test_search");
}
