/* Projectors: PCA axes are orthonormal and sorted, a full projection is
 * undone, a partial one loses exactly the discarded variance, whitening
 * gives unit variances; SimVQ codebooks stay the affine image of their
 * seeds, their training error never rises, they are used more on new
 * heavy-tailed data than k-means++ codebooks; every result is the same
 * for 1 and 2 threads; projector tensors survive a save and a load, and
 * malformed ones are refused. */
#include "config.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vq/projector.h"
#include "vq/kmeans.h"
#include "vq/rvq.h"
#include "vq/codebook.h"
#include "vq/safetensors.h"
#include "internal.h"
#include "linalg.h"
#include "testutil.h"

/* Correlated data: three latent factors of decreasing scale mixed into
 * every dimension, a little noise, and an offset. */
static float *correlated(vq_rng *r, size_t n, size_t d) {
  float *x = malloc(n * d * sizeof *x), *mix = malloc(3 * d * sizeof *mix);
  size_t i, j, f;
  for (j = 0; j < 3 * d; j++) mix[j] = (float)(vq_rng_double(r) * 2.0 - 1.0);
  for (i = 0; i < n; i++) {
    double g[3];
    for (f = 0; f < 3; f++)
      g[f] = (vq_rng_double(r) + vq_rng_double(r) - 1.0) * (6.0 - 2.0 * f);
    for (j = 0; j < d; j++) {
      double v = 5.0 + 0.2 * (vq_rng_double(r) - 0.5);
      for (f = 0; f < 3; f++) v += g[f] * mix[f * d + j];
      x[i * d + j] = (float)v;
    }
  }
  free(mix);
  return x;
}

/* Scale mixture of Gaussians: each vector a standard normal one times
 * exp(N(0, sigma^2)), the heavy-tailed energy of image patches. */
static float *scale_mixture(vq_rng *r, size_t n, size_t d, double sigma) {
  float *x = malloc(n * d * sizeof *x);
  size_t i, j;
  for (i = 0; i < n; i++) {
    double u1 = vq_rng_double(r), u2 = vq_rng_double(r), s;
    s = exp(sigma * sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2));
    for (j = 0; j < d; j++) {
      double a = vq_rng_double(r), b = vq_rng_double(r);
      x[i * d + j] = (float)(s * sqrt(-2.0 * log(1.0 - a)) *
                             cos(6.283185307179586 * b));
    }
  }
  return x;
}

typedef struct pca {
  float *mean, *enc, *dec;
  double var[64];
} pca;

static void pca_fit(pca *p, const float *x, size_t n, size_t d, size_t dz,
                    int whiten, int nt) {
  p->mean = malloc(d * sizeof(float));
  p->enc = malloc(d * dz * sizeof(float));
  p->dec = malloc(d * dz * sizeof(float));
  CHECK_EQ_INT(vq_pca_train(p->mean, p->enc, p->dec, p->var, x, n, d, dz,
                            whiten, nt, NULL), VQ_OK);
}

static void pca_free(pca *p) { free(p->mean), free(p->enc), free(p->dec); }

static void test_pca_axes(vq_rng *r) {
  const size_t n = 4000, d = 12;
  float *x = correlated(r, n, d), *z = malloc(n * d * sizeof *z);
  float *y = malloc(n * d * sizeof *y);
  double worst = 0.0, err = 0.0, tot = 0.0;
  size_t a, b, i;
  pca p;
  pca_fit(&p, x, n, d, d, 0, 1);
  for (a = 0; a < d; a++) {
    if (a + 1 < d) CHECK(p.var[a] >= p.var[a + 1]);
    for (b = 0; b < d; b++) {
      double t = 0.0;
      for (i = 0; i < d; i++) t += (double)p.enc[i * d + a] * p.enc[i * d + b];
      t = fabs(t - (a == b));
      if (t > worst) worst = t;
      CHECK(p.dec[b * d + a] == p.enc[a * d + b]);
    }
  }
  CHECK(worst < 1e-5);
  /* three factors carry nearly all the variance */
  for (a = 0; a < d; a++) tot += p.var[a];
  CHECK((p.var[0] + p.var[1] + p.var[2]) / tot > 0.99);
  CHECK_EQ_INT(vq_project(z, x, n, d, d, p.mean, p.enc, 2), VQ_OK);
  CHECK_EQ_INT(vq_unproject(y, z, n, d, d, p.mean, p.dec, 2), VQ_OK);
  for (i = 0; i < n * d; i++) err = fmax(err, fabs((double)y[i] - x[i]));
  CHECK(err < 1e-3);
  fprintf(stderr, "PCA d = %zu: orthonormal to %.2g, reconstruction within "
          "%.2g\n", d, worst, err);
  pca_free(&p);
  free(x), free(z), free(y);
}

/* Keeping dz axes loses the variance of the others, per vector. */
static void test_pca_partial(vq_rng *r) {
  const size_t n = 5000, d = 10, dz = 2;
  float *x = correlated(r, n, d), *z = malloc(n * dz * sizeof *z);
  float *y = malloc(n * d * sizeof *y);
  double sse = 0.0, lost = 0.0;
  size_t i;
  pca p;
  pca_fit(&p, x, n, d, dz, 0, 1);
  CHECK_EQ_INT(vq_project(z, x, n, d, dz, p.mean, p.enc, 1), VQ_OK);
  CHECK_EQ_INT(vq_unproject(y, z, n, d, dz, p.mean, p.dec, 1), VQ_OK);
  for (i = 0; i < n * d; i++) sse += ((double)y[i] - x[i]) * (y[i] - x[i]);
  for (i = dz; i < d; i++) lost += p.var[i];
  sse /= (double)n;
  fprintf(stderr, "PCA %zu of %zu axes: error %.6g per vector, discarded "
          "variance %.6g\n", dz, d, sse, lost);
  CHECK(fabs(sse - lost) <= 1e-3 * lost + 1e-6);
  pca_free(&p);
  free(x), free(z), free(y);
}

static void test_pca_whiten(vq_rng *r) {
  const size_t n = 6000, d = 8, dz = 3;
  float *x = correlated(r, n, d), *z = malloc(n * dz * sizeof *z);
  float *y = malloc(n * d * sizeof *y), *y2 = malloc(n * d * sizeof *y2);
  double m[3] = {0}, v[3] = {0}, diff = 0.0;
  size_t i, j;
  pca p, q;
  pca_fit(&p, x, n, d, dz, 1, 1);
  pca_fit(&q, x, n, d, dz, 0, 1);
  CHECK_EQ_INT(vq_project(z, x, n, d, dz, p.mean, p.enc, 2), VQ_OK);
  for (i = 0; i < n; i++)
    for (j = 0; j < dz; j++) m[j] += z[i * dz + j] / (double)n;
  for (i = 0; i < n; i++)
    for (j = 0; j < dz; j++)
      v[j] += (z[i * dz + j] - m[j]) * (z[i * dz + j] - m[j]) / (double)n;
  for (j = 0; j < dz; j++) {
    CHECK(fabs(m[j]) < 1e-3);
    CHECK(fabs(v[j] - 1.0) < 1e-3);
  }
  /* whitened or not, the same subspace comes back */
  CHECK_EQ_INT(vq_unproject(y, z, n, d, dz, p.mean, p.dec, 1), VQ_OK);
  CHECK_EQ_INT(vq_project(z, x, n, d, dz, q.mean, q.enc, 1), VQ_OK);
  CHECK_EQ_INT(vq_unproject(y2, z, n, d, dz, q.mean, q.dec, 1), VQ_OK);
  for (i = 0; i < n * d; i++) diff = fmax(diff, fabs((double)y[i] - y2[i]));
  CHECK(diff < 1e-3);
  fprintf(stderr, "whitened variances %.6f %.6f %.6f\n", v[0], v[1], v[2]);
  pca_free(&p), pca_free(&q);
  free(x), free(z), free(y), free(y2);
}

static void test_pca_threads_and_errors(vq_rng *r) {
  const size_t n = 3001, d = 24, dz = 7;
  float *x = correlated(r, n, d), *z1 = malloc(n * dz * sizeof *z1);
  float *z2 = malloc(n * dz * sizeof *z2);
  float m[24], e[24 * 24], dd[24 * 24];
  pca a, b;
  vq_diag diag;
  pca_fit(&a, x, n, d, dz, 1, 1);
  pca_fit(&b, x, n, d, dz, 1, 2);
  CHECK(!memcmp(a.enc, b.enc, d * dz * sizeof(float)));
  CHECK(!memcmp(a.dec, b.dec, d * dz * sizeof(float)));
  CHECK(!memcmp(a.mean, b.mean, d * sizeof(float)));
  CHECK_EQ_INT(vq_project(z1, x, n, d, dz, a.mean, a.enc, 1), VQ_OK);
  CHECK_EQ_INT(vq_project(z2, x, n, d, dz, a.mean, a.enc, 2), VQ_OK);
  CHECK(!memcmp(z1, z2, n * dz * sizeof *z1));
  CHECK_EQ_INT(vq_pca_train(m, e, dd, NULL, x, n, d, d + 1, 0, 1, NULL),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_pca_train(m, e, dd, NULL, x, n, d, 0, 0, 1, NULL),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_pca_train(m, e, dd, NULL, x, 0, d, 2, 0, 1, NULL),
               VQ_ERR_INVALID_ARG);
  x[5 * d + 3] = NAN;
  memset(&diag, 0, sizeof diag);
  CHECK_EQ_INT(vq_pca_train(m, e, dd, NULL, x, n, d, 2, 0, 1, &diag),
               VQ_ERR_NONFINITE);
  CHECK(strstr(diag.msg, "vector 5") != NULL);
  /* constant data: no variance, still orthonormal axes, no NaN */
  memset(x, 0, n * d * sizeof *x);
  CHECK_EQ_INT(vq_pca_train(m, e, dd, NULL, x, n, d, 2, 1, 1, NULL), VQ_OK);
  CHECK(isfinite(e[0]) && isfinite(dd[0]));
  pca_free(&a), pca_free(&b);
  free(x), free(z1), free(z2);
}

typedef struct trace {
  double mse[64];
  int n;
} trace;

static int record(const vq_progress *p, void *user) {
  trace *t = user;
  if (t->n < 64) t->mse[t->n++] = p->mse;
  return 0;
}

/* C = [Z 1] W: the trained codewords are an affine map of the seeds, so
 * a least-squares fit of that map reproduces them; the error sequence
 * never rises; the same codebook for 1 and 2 threads. */
static void test_simvq_structure(vq_rng *r) {
  const size_t n = 6000, d = 6, k = 40, e = d + 1;
  float *x = correlated(r, n, d), *c1 = malloc(k * d * sizeof *c1);
  float *c2 = malloc(k * d * sizeof *c2), *seeds = malloc(k * d * sizeof *seeds);
  double g[7 * 7], b[7 * 6], fit = 0.0, scale = 0.0;
  vq_kmeans_params kp;
  vq_kmeans_stats st;
  trace t;
  size_t i, j, a, c;
  int it, rises = 0;
  CHECK_EQ_INT(vq_kmeans_params_init(&kp), VQ_OK);
  /* the seeds: k random rows, fixed here so the test knows Z */
  for (i = 0; i < k; i++)
    memcpy(seeds + i * d, x + (i * 131 % n) * d, d * sizeof *seeds);
  memcpy(c1, seeds, k * d * sizeof *c1);
  kp.k = k, kp.iters = 30, kp.init = VQ_INIT_GIVEN, kp.simvq = 1;
  kp.nthreads = 1, kp.progress = record, kp.progress_user = &t;
  t.n = 0;
  CHECK_EQ_INT(vq_kmeans_train(c1, &st, &kp, x, n, d, NULL, NULL), VQ_OK);
  for (it = 1; it < t.n; it++)
    if (t.mse[it] > t.mse[it - 1] * (1.0 + 1e-6)) rises++;
  CHECK_EQ_INT(rises, 0);
  CHECK(t.mse[t.n - 1] < 0.9 * t.mse[0]);
  fprintf(stderr, "SimVQ: mse %.5g -> %.5g in %d iterations\n", t.mse[0],
          t.mse[t.n - 1], t.n);
  memcpy(c2, seeds, k * d * sizeof *c2);
  kp.nthreads = 2, kp.progress = NULL;
  CHECK_EQ_INT(vq_kmeans_train(c2, NULL, &kp, x, n, d, NULL, NULL), VQ_OK);
  CHECK(!memcmp(c1, c2, k * d * sizeof *c1));
  /* fit W to C = [Z 1] W by least squares and check the residual */
  memset(g, 0, sizeof g), memset(b, 0, sizeof b);
  for (i = 0; i < k; i++)
    for (a = 0; a < e; a++) {
      double za = a < d ? seeds[i * d + a] : 1.0;
      for (c = 0; c < e; c++) g[a * e + c] += za * (c < d ? seeds[i * d + c] : 1.0);
      for (c = 0; c < d; c++) b[a * d + c] += za * c1[i * d + c];
    }
  CHECK_EQ_INT(vq_cholesky_solve(g, b, e, d, 0.0), 0);
  for (i = 0; i < k; i++)
    for (c = 0; c < d; c++) {
      double y = b[d * d + c];
      for (j = 0; j < d; j++) y += seeds[i * d + j] * b[j * d + c];
      fit = fmax(fit, fabs(y - c1[i * d + c]));
      scale = fmax(scale, fabs(c1[i * d + c]));
    }
  fprintf(stderr, "SimVQ codewords from their seeds: worst affine misfit "
          "%.3g of %.3g\n", fit, scale);
  CHECK(fit < 1e-4 * scale);
  /* not spherical */
  kp.spherical = 1;
  CHECK_EQ_INT(vq_kmeans_train(c2, NULL, &kp, x, n, d, NULL, NULL),
               VQ_ERR_INVALID_ARG);
  free(x), free(c1), free(c2), free(seeds);
}

static double use_of(const float *cb, size_t k, size_t d, const float *x,
                     size_t n) {
  int32_t *idx = malloc(n * sizeof *idx);
  unsigned char *seen = calloc(k, 1);
  size_t i, used = 0;
  CHECK_EQ_INT(vq_nearest(idx, NULL, cb, k, d, x, n, 1), VQ_OK);
  for (i = 0; i < n; i++) used += !seen[idx[i]], seen[idx[i]] = 1;
  free(idx), free(seen);
  return (double)used / (double)k;
}

/* Held-out use on heavy-tailed data. k-means++ seeds favour outlying
 * vectors, and Lloyd keeps codewords there whose cells new data rarely
 * reaches; SimVQ seeds drawn from the data keep its density through the
 * affine map, so more of them are used. Neither reaches 100%: with 8
 * new vectors a codeword, cells of equal mass would still leave
 * e^-8 = 0.03% empty, and SimVQ's cells are not equal (W is one affine
 * map for all, fitted to the tails as much as to the centre). The paper's
 * 100% comes from an encoder trained to follow the codebook, which fixed
 * data cannot do. k-means with min_share (light clusters re-seeded by
 * splitting heavy ones) is measured against the same k-means++ run. */
static void test_simvq_heldout(vq_rng *r) {
  const size_t k = 256, d = 16, n = 30 * k, nh = 8 * k;
  float *x = scale_mixture(r, n, d, 0.5), *h = scale_mixture(r, nh, d, 0.5);
  float *ck = malloc(k * d * sizeof *ck), *cs = malloc(k * d * sizeof *cs);
  float *cm = malloc(k * d * sizeof *cm), *c2 = malloc(k * d * sizeof *c2);
  vq_kmeans_params kp;
  vq_kmeans_stats sk, ss, sm;
  double uk, us, um;
  CHECK_EQ_INT(vq_kmeans_params_init(&kp), VQ_OK);
  kp.k = k, kp.iters = 25, kp.nthreads = 2;
  CHECK_EQ_INT(vq_kmeans_train(ck, &sk, &kp, x, n, d, NULL, NULL), VQ_OK);
  /* min_share: light clusters re-seeded by splitting heavy ones; the same
     codebook for 1 and 2 threads */
  kp.min_share = 0.25;
  CHECK_EQ_INT(vq_kmeans_train(cm, &sm, &kp, x, n, d, NULL, NULL), VQ_OK);
  kp.nthreads = 1;
  CHECK_EQ_INT(vq_kmeans_train(c2, NULL, &kp, x, n, d, NULL, NULL), VQ_OK);
  CHECK(!memcmp(cm, c2, k * d * sizeof *cm));
  /* SimVQ codewords are never re-seeded: min_share is refused */
  kp.simvq = 1, kp.init = VQ_INIT_RANDOM;
  CHECK_EQ_INT(vq_kmeans_train(c2, NULL, &kp, x, n, d, NULL, NULL),
               VQ_ERR_INVALID_ARG);
  kp.min_share = 0.0, kp.nthreads = 2;
  CHECK_EQ_INT(vq_kmeans_train(cs, &ss, &kp, x, n, d, NULL, NULL), VQ_OK);
  uk = use_of(ck, k, d, h, nh), us = use_of(cs, k, d, h, nh);
  um = use_of(cm, k, d, h, nh);
  fprintf(stderr, "held-out use, %zu codewords, %zu new vectors: k-means++ "
          "%.1f%% (train mse %.4g), SimVQ %.1f%% (train mse %.4g), "
          "--min-share 0.25 %.1f%% (train mse %.4g, %lu re-seeds)\n", k,
          nh, 100.0 * uk, sk.mse, 100.0 * us, ss.mse, 100.0 * um, sm.mse,
          (unsigned long)sm.empty_reseeds);
  CHECK(us > uk + 0.05);
  CHECK(uk < 1.0);
  /* more codewords in use than k-means++ alone, training error within
     10% */
  CHECK(um > uk + 0.05);
  CHECK(sm.mse < 1.1 * sk.mse);
  CHECK(sm.empty_reseeds > 0);
  free(x), free(h), free(ck), free(cs), free(cm), free(c2);
}

/* RVQ with SimVQ stages: error falls with every stage, and the same
 * codebooks for 1 and 2 threads. */
static void test_simvq_rvq(vq_rng *r) {
  const size_t n = 4000, d = 8, k = 32;
  const int m = 3;
  float *x = correlated(r, n, d);
  float *a = malloc((size_t)m * k * d * sizeof *a);
  float *b = malloc((size_t)m * k * d * sizeof *b);
  vq_rvq_params rp;
  vq_rvq_stats st;
  int s;
  CHECK_EQ_INT(vq_rvq_params_init(&rp), VQ_OK);
  rp.stages = m, rp.k = k, rp.iters = 12, rp.simvq = 1, rp.nthreads = 1;
  rp.init = VQ_INIT_RANDOM;
  CHECK_EQ_INT(vq_rvq_train(a, &st, &rp, x, n, d, NULL), VQ_OK);
  for (s = 1; s < m; s++) CHECK(st.mse_stage[s] <= st.mse_stage[s - 1]);
  rp.nthreads = 2;
  CHECK_EQ_INT(vq_rvq_train(b, NULL, &rp, x, n, d, NULL), VQ_OK);
  CHECK(!memcmp(a, b, (size_t)m * k * d * sizeof *a));
  free(x), free(a), free(b);
}

/* Projector tensors through a file; malformed extra tensors refused. */
static void test_tensors(void) {
  const char *path = "test_projector.tmp.safetensors";
  float mean[5] = {1, 2, 3, 4, 5}, enc[10], dec[10], bad[4] = {0, 1, 2, 3};
  vq_codebook *cb, *back;
  vq_st_writer *w;
  vq_diag diag;
  uint64_t shape[3];
  size_t r, c, i;
  char name[16];
  for (i = 0; i < 10; i++) enc[i] = (float)i, dec[i] = (float)(10 - i);
  CHECK_EQ_INT(vq_codebook_create(&cb, "kmeans", 3, 2), VQ_OK);
  CHECK_EQ_INT(vq_codebook_set_tensor(cb, "projector.mean", mean, 1, 5),
               VQ_OK);
  CHECK_EQ_INT(vq_codebook_set_tensor(cb, "projector.encode", enc, 5, 2),
               VQ_OK);
  CHECK_EQ_INT(vq_codebook_set_tensor(cb, "projector.decode", dec, 2, 5),
               VQ_OK);
  CHECK_EQ_INT(vq_codebook_set_tensor(cb, "codebook", dec, 2, 5),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_codebook_set_tensor(cb, "bad name", dec, 2, 5),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_codebook_save(cb, path, NULL), VQ_OK);
  CHECK_EQ_INT(vq_codebook_load(&back, path, NULL), VQ_OK);
  CHECK_EQ_INT(vq_codebook_tensor_count(back), 3);
  CHECK(!memcmp(vq_codebook_tensor(back, "projector.encode", &r, &c), enc,
                sizeof enc));
  CHECK_EQ_INT(r, 5);
  CHECK_EQ_INT(c, 2);
  CHECK(!memcmp(vq_codebook_tensor(back, "projector.mean", &r, &c), mean,
                sizeof mean));
  CHECK_EQ_INT(r, 1);
  CHECK(vq_codebook_tensor(back, "nothing", &r, &c) == NULL && r == 0);
  vq_codebook_destroy(back);
  for (i = 3; i < VQ_CODEBOOK_MAX_TENSORS; i++) {
    snprintf(name, sizeof name, "extra%zu", i);
    CHECK_EQ_INT(vq_codebook_set_tensor(cb, name, bad, 2, 2), VQ_OK);
  }
  CHECK_EQ_INT(vq_codebook_set_tensor(cb, "onetoomany", bad, 2, 2),
               VQ_ERR_LIMIT);
  CHECK_EQ_INT(vq_codebook_set_tensor(cb, "extra3", NULL, 0, 0), VQ_OK);
  CHECK_EQ_INT(vq_codebook_tensor_count(cb), VQ_CODEBOOK_MAX_TENSORS - 1);
  vq_codebook_destroy(cb);
  /* a 3-D extra tensor, then a NaN in one */
  for (i = 0; i < 2; i++) {
    float cbv[4] = {0, 0, 1, 1};
    CHECK_EQ_INT(vq_st_writer_create(&w), VQ_OK);
    CHECK_EQ_INT(vq_st_writer_meta(w, "libvq.kind", "kmeans"), VQ_OK);
    CHECK_EQ_INT(vq_st_writer_meta(w, "libvq.format_version", "1"), VQ_OK);
    shape[0] = 2, shape[1] = 2;
    CHECK_EQ_INT(vq_st_writer_add(w, "codebook", VQ_DTYPE_F32, 2, shape,
                                  cbv), VQ_OK);
    if (i == 0) {
      shape[0] = 1, shape[1] = 2, shape[2] = 2;
      CHECK_EQ_INT(vq_st_writer_add(w, "projector.encode", VQ_DTYPE_F32, 3,
                                    shape, bad), VQ_OK);
    } else {
      bad[2] = NAN;
      shape[0] = 4;
      CHECK_EQ_INT(vq_st_writer_add(w, "projector.mean", VQ_DTYPE_F32, 1,
                                    shape, bad), VQ_OK);
    }
    CHECK_EQ_INT(vq_st_writer_write(w, path, NULL), VQ_OK);
    vq_st_writer_destroy(w);
    memset(&diag, 0, sizeof diag);
    CHECK_EQ_INT(vq_codebook_load(&back, path, &diag),
                 i == 0 ? VQ_ERR_FORMAT : VQ_ERR_NONFINITE);
    CHECK(strstr(diag.msg, i == 0 ? "projector.encode" : "projector.mean"));
    fprintf(stderr, "refused: %s\n", diag.msg);
  }
  remove(path);
}

int main(void) {
  vq_rng r;
  vq_rng_seed(&r, vq_test_seed(77));
  test_pca_axes(&r);
  test_pca_partial(&r);
  test_pca_whiten(&r);
  test_pca_threads_and_errors(&r);
  test_simvq_structure(&r);
  test_simvq_heldout(&r);
  test_simvq_rvq(&r);
  test_tensors();
  if (vq_test_failures) fprintf(stderr, "%d failures\n", vq_test_failures);
  return vq_test_failures ? 1 : 0;
}
