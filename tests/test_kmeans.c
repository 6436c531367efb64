/* k-means: cluster recovery, monotone objective, empty clusters, k = n,
 * determinism across thread counts and kernels, bad input. */
#include "config.h"
#include <math.h>
#include <string.h>
#include "internal.h"
#include "vq/kmeans.h"
#include "vq/search.h"
#include "testutil.h"

static vq_rng rng;

static double gauss(void) {
  double u = vq_rng_double(&rng) + 1e-12, v = vq_rng_double(&rng);
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* n points around c centres in d dims; centres spread over [-100, 100]. */
static float *blobs(size_t n, size_t d, size_t c, double noise,
                    float *centres) {
  float *x = vq_malloc_array(n * d, sizeof(float));
  size_t i, j;
  for (i = 0; i < c * d; i++)
    centres[i] = (float)(200.0 * vq_rng_double(&rng) - 100.0);
  for (i = 0; i < n; i++)
    for (j = 0; j < d; j++)
      x[i * d + j] = centres[(i % c) * d + j] + (float)(noise * gauss());
  return x;
}

static vq_kmeans_params params(size_t k, int iters) {
  vq_kmeans_params p;
  vq_kmeans_params_init(&p);
  p.k = k;
  p.iters = iters;
  return p;
}

/* k-means++ recovers 8 separated blobs in one run; random init, which
 * can merge blobs, is given 2 blobs and 8 restarts. */
static void test_recovery(vq_kmeans_init init) {
  size_t n = 1600, d = 5, c = init == VQ_INIT_RANDOM ? 2 : 8, i, j, t;
  float centres[8 * 5], out[8 * 5];
  float *x = blobs(n, d, c, 0.1, centres);
  vq_kmeans_params p = params(c, 20);
  vq_kmeans_stats st;
  p.init = init;
  p.nredo = init == VQ_INIT_RANDOM ? 8 : 1;
  CHECK_EQ_INT(vq_kmeans_train(out, &st, &p, x, n, d, NULL, NULL), VQ_OK);
  /* every true centre has a centroid within 0.05 */
  for (t = 0; t < c; t++) {
    double best = INFINITY;
    for (i = 0; i < c; i++) {
      double e = 0.0;
      for (j = 0; j < d; j++) {
        double q = out[i * d + j] - centres[t * d + j];
        e += q * q;
      }
      if (e < best) best = e;
    }
    CHECK(sqrt(best) < 0.05);
  }
  CHECK(st.utilization == 1.0);
  CHECK(fabs(st.mse - 0.01) < 0.002); /* noise variance per component */
  CHECK(fabs(st.perplexity - (double)c) < 1e-9);
  free(x);
}

typedef struct trace {
  double mse[64];
  int n;
} trace;

static int record(const vq_progress *pr, void *user) {
  trace *t = user;
  if (t->n < 64) t->mse[t->n++] = pr->mse;
  return 0;
}

static void test_monotone(void) {
  size_t n = 3000, d = 8, k = 40;
  float centres[40 * 8], *out = malloc(k * d * sizeof(float));
  float *x = blobs(n, d, 40, 30.0, centres);
  vq_kmeans_params p = params(k, 30);
  vq_kmeans_stats st;
  trace t = {{0}, 0};
  int i;
  p.init = VQ_INIT_RANDOM;
  p.progress = record;
  p.progress_user = &t;
  CHECK_EQ_INT(vq_kmeans_train(out, &st, &p, x, n, d, NULL, NULL), VQ_OK);
  CHECK_EQ_INT(t.n, 30);
  for (i = 1; i < t.n; i++) CHECK(t.mse[i] <= t.mse[i - 1] * (1 + 1e-6));
  CHECK(st.mse <= t.mse[t.n - 1] * (1 + 1e-6));
  free(x), free(out);
}

static void test_empty_and_duplicates(void) {
  /* 50 copies of A, 50 of B, one far point C: random init often puts two
   * centroids on copies of one point, leaving a cluster empty. */
  size_t n = 101, d = 3, i;
  float x[101 * 3], out[3 * 3];
  size_t reseeds = 0;
  uint64_t seed;
  for (i = 0; i < n; i++) {
    float v = i < 50 ? 0.0f : i < 100 ? 10.0f : 1000.0f;
    x[i * d] = v, x[i * d + 1] = -v, x[i * d + 2] = 0.5f * v;
  }
  for (seed = 1; seed <= 20; seed++) {
    vq_kmeans_params p = params(3, 10);
    vq_kmeans_stats st;
    p.init = VQ_INIT_RANDOM;
    p.seed = seed;
    CHECK_EQ_INT(vq_kmeans_train(out, &st, &p, x, n, d, NULL, NULL), VQ_OK);
    CHECK(st.mse == 0.0);
    CHECK(st.utilization == 1.0);
    reseeds += st.empty_reseeds;
  }
  CHECK(reseeds > 0); /* the re-seeding path ran */
  /* Fewer distinct points than k: documented duplicate centroids. */
  {
    vq_kmeans_params p = params(5, 5);
    vq_kmeans_stats st;
    float o5[5 * 3];
    CHECK_EQ_INT(vq_kmeans_train(o5, &st, &p, x, n, d, NULL, NULL), VQ_OK);
    CHECK(st.mse == 0.0);
    CHECK(fabs(st.utilization - 0.6) < 1e-12);
    for (i = 0; i < 15; i++) CHECK(isfinite(o5[i]));
  }
}

static void test_k_equals_n(void) {
  size_t n = 37, d = 4;
  float c[37 * 4], *x, *out = malloc(n * d * sizeof(float));
  vq_kmeans_params p = params(n, 5);
  vq_kmeans_stats st;
  x = blobs(n, d, n, 0.0, c);
  CHECK_EQ_INT(vq_kmeans_train(out, &st, &p, x, n, d, NULL, NULL), VQ_OK);
  CHECK(st.mse == 0.0);
  CHECK(st.utilization == 1.0);
  free(x), free(out);
}

static void train_copy(float *out, vq_kmeans_stats *st, int threads,
                       vq_kernel kern, const float *x, size_t n, size_t d,
                       size_t k, const float *w) {
  vq_kmeans_params p = params(k, 8);
  p.nthreads = threads;
  p.kernel = kern;
  p.nredo = 2;
  CHECK_EQ_INT(vq_kmeans_train(out, st, &p, x, n, d, w, NULL), VQ_OK);
}

static void test_determinism(void) {
  size_t n = 20011, d = 19, k = 70, i;
  float c[70 * 19], *x = blobs(n, d, 70, 20.0, c);
  float *w = malloc(n * sizeof(float));
  float *a = malloc(k * d * sizeof(float)), *b = malloc(k * d * sizeof(float));
  vq_kmeans_stats sa, sb;
  int t;
  for (i = 0; i < n; i++) w[i] = (float)(0.5 + vq_rng_double(&rng));
  train_copy(a, &sa, 1, VQ_KERNEL_AUTO, x, n, d, k, w);
  for (t = 2; t <= 3; t++) {
    train_copy(b, &sb, t, VQ_KERNEL_AUTO, x, n, d, k, w);
    CHECK(memcmp(a, b, k * d * sizeof(float)) == 0);
    CHECK(sa.mse == sb.mse && sa.perplexity == sb.perplexity);
  }
  /* every kernel gives the same bits (those the CPU has) */
  {
    static const vq_kernel kern[] = {VQ_KERNEL_C, VQ_KERNEL_AVX2,
                                     VQ_KERNEL_AVX512};
    size_t q;
    for (q = 0; q < 3; q++) {
      vq_kmeans_params p = params(k, 8);
      p.kernel = kern[q];
      if (vq_kmeans_params_check(&p, n, d, NULL) == VQ_ERR_UNSUPPORTED) {
        fprintf(stderr, "kernel %d not available here\n", (int)kern[q]);
        continue;
      }
      train_copy(b, &sb, 2, kern[q], x, n, d, k, w);
      CHECK(memcmp(a, b, k * d * sizeof(float)) == 0);
    }
  }
  free(x), free(w), free(a), free(b);
}

static void test_options(void) {
  size_t n = 4000, d = 6, k = 16, i, j;
  float c[16 * 6], *x = blobs(n, d, 16, 5.0, c), out[16 * 6], one[6];
  float *w = malloc(n * sizeof(float));
  double mean[6] = {0}, tw = 0.0, m1;
  vq_kmeans_params p = params(k, 10);
  vq_kmeans_stats st;
  /* k = 1 with weights: the weighted mean */
  for (i = 0; i < n; i++) {
    w[i] = (float)(i % 3 + 1);
    tw += w[i];
    for (j = 0; j < d; j++) mean[j] += w[i] * (double)x[i * d + j];
  }
  p.k = 1;
  CHECK_EQ_INT(vq_kmeans_train(one, &st, &p, x, n, d, w, NULL), VQ_OK);
  for (j = 0; j < d; j++) CHECK(fabs(one[j] - mean[j] / tw) < 1e-4);
  /* spherical: unit-norm centroids */
  p.k = k;
  p.spherical = 1;
  CHECK_EQ_INT(vq_kmeans_train(out, &st, &p, x, n, d, NULL, NULL), VQ_OK);
  for (i = 0; i < k; i++) {
    double nrm = 0.0;
    for (j = 0; j < d; j++) nrm += (double)out[i * d + j] * out[i * d + j];
    CHECK(fabs(nrm - 1.0) < 1e-5);
  }
  CHECK(st.mse * (double)d < 2.0); /* measured on the unit vectors */
  /* subsampling cap */
  p.spherical = 0;
  p.max_per_centroid = 10;
  CHECK_EQ_INT(vq_kmeans_train(out, &st, &p, x, n, d, NULL, NULL), VQ_OK);
  CHECK_EQ_INT(st.n_train, 160);
  CHECK(isfinite(st.mse) && st.mse > 0.0);
  /* restarts never do worse than the first run */
  p.max_per_centroid = 0;
  p.init = VQ_INIT_RANDOM;
  CHECK_EQ_INT(vq_kmeans_train(out, &st, &p, x, n, d, NULL, NULL), VQ_OK);
  m1 = st.mse;
  p.nredo = 4;
  CHECK_EQ_INT(vq_kmeans_train(out, &st, &p, x, n, d, NULL, NULL), VQ_OK);
  CHECK(st.mse <= m1);
  CHECK(st.best_redo >= 1 && st.best_redo <= 4);
  /* tolerance stops early on easy data */
  p.nredo = 1;
  p.iters = 100;
  p.tol = 1e-4;
  CHECK_EQ_INT(vq_kmeans_train(out, &st, &p, x, n, d, NULL, NULL), VQ_OK);
  CHECK(st.iterations < 100);
  free(x), free(w);
}

static int stop_now(const vq_progress *pr, void *user) {
  (void)pr, (void)user;
  return 1;
}

static void test_bad_input(void) {
  float x[40], out[40], w[10];
  vq_kmeans_params p = params(4, 5), q;
  vq_diag diag;
  size_t i;
  for (i = 0; i < 40; i++) x[i] = (float)i;
  for (i = 0; i < 10; i++) w[i] = 1.0f;
  diag.msg[0] = 0;
  p.k = 11; /* k > n */
  CHECK_EQ_INT(vq_kmeans_train(out, NULL, &p, x, 10, 4, NULL, &diag),
               VQ_ERR_INVALID_ARG);
  CHECK(strstr(diag.msg, "larger than") != NULL);
  p.k = 0;
  CHECK_EQ_INT(vq_kmeans_train(out, NULL, &p, x, 10, 4, NULL, NULL),
               VQ_ERR_INVALID_ARG);
  p.k = 4;
  CHECK_EQ_INT(vq_kmeans_train(out, NULL, &p, x, 10, 0, NULL, NULL),
               VQ_ERR_INVALID_ARG);
  x[17] = NAN;
  CHECK_EQ_INT(vq_kmeans_train(out, NULL, &p, x, 10, 4, NULL, &diag),
               VQ_ERR_NONFINITE);
  x[17] = INFINITY;
  CHECK_EQ_INT(vq_kmeans_train(out, NULL, &p, x, 10, 4, NULL, NULL),
               VQ_ERR_NONFINITE);
  x[17] = 17.0f;
  w[3] = -1.0f;
  CHECK_EQ_INT(vq_kmeans_train(out, NULL, &p, x, 10, 4, w, NULL),
               VQ_ERR_INVALID_ARG);
  memset(w, 0, sizeof w);
  CHECK_EQ_INT(vq_kmeans_train(out, NULL, &p, x, 10, 4, w, NULL),
               VQ_ERR_INVALID_ARG);
  w[0] = NAN;
  CHECK_EQ_INT(vq_kmeans_train(out, NULL, &p, x, 10, 4, w, NULL),
               VQ_ERR_NONFINITE);
  CHECK_EQ_INT(vq_kmeans_params_init_(&q, VQ_ABI_VERSION + 1, sizeof q),
               VQ_ERR_ABI);
  CHECK_EQ_INT(vq_kmeans_params_init_(&q, VQ_ABI_VERSION, sizeof q - 4),
               VQ_ERR_ABI);
  memset(&q, 0, sizeof q);
  q.k = 2;
  CHECK_EQ_INT(vq_kmeans_train(out, NULL, &q, x, 10, 4, NULL, NULL),
               VQ_ERR_ABI);
  p.progress = stop_now;
  CHECK_EQ_INT(vq_kmeans_train(out, NULL, &p, x, 10, 4, NULL, NULL),
               VQ_ERR_ABORTED);
  p.progress = NULL;
  p.iters = 0; /* initialisation only */
  CHECK_EQ_INT(vq_kmeans_train(out, NULL, &p, x, 10, 4, NULL, NULL), VQ_OK);
}

/* Sources sharing most content and each holding some of its own: 8
 * training sources of 1000 vectors, 80% around 64 shared centres and 20%
 * around 4 centres of their own; 2 new sources alike, with their own
 * centres too. Plain k-means spends codewords on the training sources'
 * own clusters, which new sources never reach; with min_groups 3 those
 * clusters are re-seeded into what the sources share, so more codewords
 * are used on the new sources. It costs error here: the training
 * sources' own vectors, far from the shared content on this data, pull
 * the shared codewords they fall to, and the new sources' own content
 * loses the scattered codewords that were near it; within 10% in all
 * (printed: the shared part alone). The same codebook
 * for 1 and 2 threads and with a subsample; bad groups refused. */
static void test_min_groups(void) {
  enum { D = 8, SHARED = 64, OWN = 4, PER = 1000, G = 8, H = 2, K = 128 };
  const size_t n = (size_t)G * PER, nh = (size_t)H * PER;
  float *shared = vq_malloc_array(SHARED * D, sizeof(float));
  float *own = vq_malloc_array((G + H) * OWN * D, sizeof(float));
  float *x = vq_malloc_array((n + nh) * D, sizeof(float)), *h = x + n * D;
  float *c0 = vq_malloc_array(K * D, sizeof(float));
  float *c1 = vq_malloc_array(K * D, sizeof(float));
  float *c2 = vq_malloc_array(K * D, sizeof(float));
  uint32_t *groups = vq_malloc_array(n, sizeof(uint32_t));
  int32_t *idx = vq_malloc_array(nh, sizeof(int32_t));
  float *dist = vq_malloc_array(nh, sizeof(float));
  unsigned char seen[K];
  double use[2], mse[2], mse_shared[2];
  vq_kmeans_params p = params(K, 20);
  size_t i, j, g, t;
  for (i = 0; i < SHARED * D; i++)
    shared[i] = (float)(200.0 * vq_rng_double(&rng) - 100.0);
  for (i = 0; i < (size_t)(G + H) * OWN * D; i++)
    own[i] = (float)(200.0 * vq_rng_double(&rng) - 100.0);
  for (g = 0; g < G + H; g++)
    for (i = 0; i < PER; i++) {
      const float *c = i % 5 ? shared + (size_t)vq_rng_below(&rng, SHARED) * D
                             : own + (g * OWN + (i / 5) % OWN) * D;
      for (j = 0; j < D; j++)
        x[(g * PER + i) * D + j] = c[j] + (float)(4.0 * gauss());
      if (g < G) groups[g * PER + i] = (uint32_t)g;
    }
  p.nthreads = 2;
  CHECK_EQ_INT(vq_kmeans_train(c0, NULL, &p, x, n, D, NULL, NULL), VQ_OK);
  p.groups = groups, p.min_groups = 3;
  CHECK_EQ_INT(vq_kmeans_train(c1, NULL, &p, x, n, D, NULL, NULL), VQ_OK);
  p.nthreads = 1;
  CHECK_EQ_INT(vq_kmeans_train(c2, NULL, &p, x, n, D, NULL, NULL), VQ_OK);
  CHECK(!memcmp(c1, c2, K * D * sizeof *c1));
  for (t = 0; t < 2; t++) {
    double e = 0.0, es = 0.0;
    size_t used = 0, ns = 0;
    CHECK_EQ_INT(vq_nearest(idx, dist, t ? c1 : c0, K, D, h, nh, 1), VQ_OK);
    memset(seen, 0, sizeof seen);
    for (i = 0; i < nh; i++) {
      used += !seen[idx[i]], seen[idx[i]] = 1;
      e += dist[i];
      if (i % PER % 5) es += dist[i], ns++;
    }
    use[t] = (double)used / K, mse[t] = e / (double)(nh * D);
    mse_shared[t] = es / (double)(ns * D);
  }
  fprintf(stderr, "new sources: %.1f%% of %d codewords used, mse %.3f "
          "(shared content %.3f); with min_groups 3 %.1f%%, mse %.3f "
          "(%.3f)\n", 100.0 * use[0], K, mse[0], mse_shared[0],
          100.0 * use[1], mse[1], mse_shared[1]);
  CHECK(use[1] >= use[0] + 0.05);
  CHECK(mse[1] <= 1.1 * mse[0]);
  /* a subsample carries its vectors' groups */
  p.max_per_centroid = 20;
  CHECK_EQ_INT(vq_kmeans_train(c2, NULL, &p, x, n, D, NULL, NULL), VQ_OK);
  p.max_per_centroid = 0;
  groups[5] = (uint32_t)n;
  CHECK_EQ_INT(vq_kmeans_train(c2, NULL, &p, x, n, D, NULL, NULL),
               VQ_ERR_INVALID_ARG);
  groups[5] = 0;
  p.groups = NULL;
  CHECK_EQ_INT(vq_kmeans_train(c2, NULL, &p, x, n, D, NULL, NULL),
               VQ_ERR_INVALID_ARG);
  p.groups = groups, p.simvq = 1, p.init = VQ_INIT_RANDOM;
  CHECK_EQ_INT(vq_kmeans_train(c2, NULL, &p, x, n, D, NULL, NULL),
               VQ_ERR_INVALID_ARG);
  free(shared), free(own), free(x), free(c0), free(c1), free(c2);
  free(groups), free(idx), free(dist);
}

int main(void) {
  vq_rng_seed(&rng, vq_test_seed(7));
  test_recovery(VQ_INIT_KMEANSPP);
  test_recovery(VQ_INIT_RANDOM);
  test_monotone();
  test_empty_and_duplicates();
  test_k_equals_n();
  test_determinism();
  test_options();
  test_bad_input();
  test_min_groups();
  return vq_test_finish("test_kmeans");
}
