/* bench_pvq: pyramid VQ search speed, search optimality and gain-shape
 * rate-distortion, printed as JSON lines on stdout.
 *
 *   bench_pvq --throughput [--n N] [--seconds S] [--repeat R]
 *   bench_pvq --optimality [--vectors V]
 *   bench_pvq --rd gaussian|laplacian --n N [--blocks B]
 *   bench_pvq --scalar gaussian|laplacian [--samples S]
 *   each also [--seed SEED]
 *
 * Throughput: for n in 8..256 (or only N) and k in {2, 8, 32, 128},
 * vq_pvq_search() vectors/s without and with VQ_PVQ_REFINE (the latter
 * where n k <= 4096), and a plain dot product of each vector with a fixed
 * one over the same Laplacian data; each rate is the best of R runs of a
 * vector count calibrated to last about S seconds.
 * Optimality: for 2 <= n <= 8, 1 <= k <= 10 with V(n, k) <= 20000, V
 * Laplacian vectors each; the search against the best codeword found by
 * enumerating every index with vq_pvq_vector().
 * Rate-distortion: gain-shape coding of B blocks of n unit-variance
 * samples, the shape by the search and the gain |x| by a uniform quantizer
 * whose rate is the empirical entropy of its indices; one point per k and
 * gain step; then with the pulses following the gain index
 * (vq_pvq_params.pulses_per_step), one point per pulses-per-step and gain
 * step. Scalar: x -> round(x / step) on S samples, the rate the
 * empirical entropy of the indices. */
#include "config.h"
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vq/vq.h>

#define PI 3.14159265358979323846
#define SQRT_HALF 0.70710678118654752440

/* Refinement is O(n^2) per pass: only for small n k. */
#define REFINE_MAX_NK 4096u
/* The throughput data: about this many floats, reused round-robin. */
#define POOL_FLOATS ((size_t)1 << 20)
/* Optimality: the largest codebook enumerated, and the tolerance. */
#define BRUTE_MAX_V 20000u
#define OPT_REL_TOL 1e-12

enum { MODE_NONE, MODE_THROUGHPUT, MODE_OPTIMALITY, MODE_RD, MODE_SCALAR };

typedef enum source { SRC_GAUSSIAN, SRC_LAPLACIAN } source;

typedef struct opts {
  int mode, repeat;
  source src;
  uint32_t n;
  double seconds;
  size_t vectors, blocks, samples;
  uint64_t seed;
} opts;

static const char *const source_names[] = {"gaussian", "laplacian"};

/* ---- data --------------------------------------------------------------- */

/* splitmix64: small, fast and good enough for test data. */
static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* Uniform in the open interval (0, 1), so that log() stays finite. */
static double rng_unit(uint64_t *s) {
  return ((double)(rng_next(s) >> 11) + 0.5) * 0x1p-53;
}

/* One unit-variance sample: Laplacian by inversion (scale 1 / sqrt 2),
 * Gaussian by Box-Muller. */
static double draw(uint64_t *s, source src) {
  double u = rng_unit(s);
  if (src == SRC_LAPLACIAN)
    return u < 0.5 ? SQRT_HALF * log(2.0 * u)
                   : -SQRT_HALF * log(2.0 * (1.0 - u));
  return sqrt(-2.0 * log(u)) * cos(2.0 * PI * rng_unit(s));
}

static float *draw_array(size_t count, source src, uint64_t *s) {
  float *x = malloc(count * sizeof *x);
  size_t i;
  if (!x) {
    fprintf(stderr, "bench_pvq: out of memory\n");
    return NULL;
  }
  for (i = 0; i < count; i++) x[i] = (float)draw(s, src);
  return x;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Empirical entropy in bits of a histogram of total counts. */
static double entropy_bits(const uint32_t *hist, size_t bins, size_t total) {
  double h = 0.0;
  size_t i;
  for (i = 0; i < bins; i++)
    if (hist[i]) {
      double p = (double)hist[i] / (double)total;
      h -= p * log2(p);
    }
  return h;
}

/* ---- throughput --------------------------------------------------------- */

typedef struct job {
  const float *x;   /* nvec vectors of n floats, used round-robin */
  const float *c;   /* the fixed vector of the dot product */
  size_t nvec;
  uint32_t n, k;
  unsigned flags;
  int32_t *y;
  int err;
} job;

/* Each pass stores what it computed here, so no work can be dropped. */
static volatile double sink;

typedef void (*pass_fn)(job *j, size_t count);

static void pass_search(job *j, size_t count) {
  size_t i, v = 0;
  long acc = 0;
  for (i = 0; i < count; i++) {
    int rc = vq_pvq_search(j->y, NULL, j->x + v * j->n, j->n, j->k,
                           j->flags);
    if (rc < 0) j->err = rc;
    acc += j->y[0];
    if (++v == j->nvec) v = 0;
  }
  sink = (double)acc;
}

/* The reference: a plain loop, built with the same flags as the rest. */
static void pass_dot(job *j, size_t count) {
  size_t i, v = 0;
  uint32_t d;
  double acc = 0.0;
  for (i = 0; i < count; i++) {
    const float *x = j->x + v * j->n;
    float s = 0.0f;
    for (d = 0; d < j->n; d++) s += x[d] * j->c[d];
    acc += s;
    if (++v == j->nvec) v = 0;
  }
  sink = acc;
}

static double time_pass(pass_fn fn, job *j, size_t count) {
  double t = now();
  fn(j, count);
  return now() - t;
}

/* Vectors per second: a count grown until one run takes a tenth of the
 * target, scaled to the target, then the best of o->repeat runs (other
 * load only ever slows a run down). */
static double rate(pass_fn fn, job *j, const opts *o) {
  size_t count = 4;
  double t, best = HUGE_VAL;
  int r;
  while ((t = time_pass(fn, j, count)) < 0.1 * o->seconds)
    count *= 4;
  count = (size_t)((double)count * o->seconds / t) + 1;
  for (r = 0; r < o->repeat; r++)
    if ((t = time_pass(fn, j, count)) < best) best = t;
  return (double)count / best;
}

static int throughput_one(job *j, const opts *o) {
  double search, refine = 0.0, dot;
  int has_refine = j->n * j->k <= REFINE_MAX_NK;
  j->flags = 0;
  search = rate(pass_search, j, o);
  if (has_refine) {
    j->flags = VQ_PVQ_REFINE;
    refine = rate(pass_search, j, o);
  }
  dot = rate(pass_dot, j, o);
  if (j->err < 0) {
    fprintf(stderr, "bench_pvq: search: %s\n", vq_strerror(j->err));
    return 1;
  }
  printf("{\"mode\": \"throughput\", \"n\": %u, \"k\": %u, "
         "\"pool\": %zu, \"search_per_s\": %.6g, \"dot_per_s\": %.6g, "
         "\"ratio\": %.4g, ", j->n, j->k, j->nvec, search, dot,
         dot / search);
  if (has_refine)
    printf("\"refine_per_s\": %.6g, \"ratio_refine\": %.4g}\n", refine,
           dot / refine);
  else
    printf("\"refine_per_s\": null, \"ratio_refine\": null}\n");
  fflush(stdout);
  return 0;
}

static int run_throughput(const opts *o) {
  static const uint32_t ns[] = {8, 16, 32, 64, 128, 256};
  static const uint32_t ks[] = {2, 8, 32, 128};
  uint64_t seed = o->seed;
  size_t a, b;
  int rc = 0;
  for (a = 0; a < sizeof ns / sizeof *ns && !rc; a++) {
    job j = {NULL, NULL, 0, 0, 0, 0, NULL, 0};
    float *x, *c;
    if (o->n && ns[a] != o->n) continue;
    j.n = ns[a];
    j.nvec = POOL_FLOATS / j.n;
    x = draw_array(j.nvec * j.n, SRC_LAPLACIAN, &seed);
    c = draw_array(j.n, SRC_LAPLACIAN, &seed);
    j.y = malloc(j.n * sizeof *j.y);
    j.x = x, j.c = c;
    if (!x || !c || !j.y) rc = 1;
    for (b = 0; b < sizeof ks / sizeof *ks && !rc; b++) {
      j.k = ks[b];
      rc = throughput_one(&j, o);
    }
    free(x), free(c), free(j.y);
  }
  return rc;
}

/* ---- optimality --------------------------------------------------------- */

typedef struct opt_stats {
  size_t count, optimal;
  double worst, sum;   /* relative loss of correlation 1 - got / best */
} opt_stats;

static void stats_add(opt_stats *s, double got, double best) {
  double loss = 1.0 - got / best;
  if (loss < 0.0) loss = 0.0; /* rounding; the enumeration is exhaustive */
  s->count++;
  if (loss <= OPT_REL_TOL) s->optimal++;
  if (loss > s->worst) s->worst = loss;
  s->sum += loss;
}

static void stats_merge(opt_stats *to, const opt_stats *from) {
  to->count += from->count;
  to->optimal += from->optimal;
  to->sum += from->sum;
  if (from->worst > to->worst) to->worst = from->worst;
}

static void stats_print(const char *name, const opt_stats *s) {
  printf("\"%s_optimal\": %.6g, \"%s_worst_loss\": %.6g, "
         "\"%s_mean_loss\": %.6g", name,
         (double)s->optimal / (double)s->count, name, s->worst, name,
         s->sum / (double)s->count);
}

/* <x, y> / |y| in double: the correlation up to the factor 1 / |x|. */
static double proj(const int32_t *y, const float *x, uint32_t n) {
  double xy = 0.0, yy = 0.0;
  uint32_t i;
  for (i = 0; i < n; i++) {
    xy += (double)x[i] * y[i];
    yy += (double)y[i] * y[i];
  }
  return xy / sqrt(yy);
}

/* All v codewords of (n, k), n entries each, in index order. */
static int32_t *enumerate(uint64_t v, uint32_t n, uint32_t k) {
  int32_t *cb = malloc((size_t)v * n * sizeof *cb);
  uint64_t i;
  if (!cb) return NULL;
  for (i = 0; i < v; i++)
    if (vq_pvq_vector(cb + i * n, i, n, k) < 0) {
      free(cb);
      return NULL;
    }
  return cb;
}

static double brute(const int32_t *cb, uint64_t v, const float *x,
                    uint32_t n) {
  double best = -HUGE_VAL, p;
  uint64_t i;
  for (i = 0; i < v; i++)
    if ((p = proj(cb + i * n, x, n)) > best) best = p;
  return best;
}

/* One (n, k): o->vectors random vectors against the enumeration. */
static int optimality_one(opt_stats *greedy, opt_stats *refine, uint32_t n,
                          uint32_t k, uint64_t v, const opts *o,
                          uint64_t *seed) {
  int32_t *cb = enumerate(v, n, k), y[8];
  float x[8];
  size_t t;
  uint32_t i;
  int rc = 0;
  if (!cb) return 1;
  for (t = 0; t < o->vectors && !rc; t++) {
    double best;
    for (i = 0; i < n; i++) x[i] = (float)draw(seed, SRC_LAPLACIAN);
    best = brute(cb, v, x, n);
    rc = vq_pvq_search(y, NULL, x, n, k, 0) < 0;
    stats_add(greedy, proj(y, x, n), best);
    rc |= vq_pvq_search(y, NULL, x, n, k, VQ_PVQ_REFINE) < 0;
    stats_add(refine, proj(y, x, n), best);
  }
  free(cb);
  return rc;
}

static int run_optimality(const opts *o) {
  opt_stats all_g = {0, 0, 0.0, 0.0}, all_r = all_g;
  uint64_t seed = o->seed, v;
  uint32_t n, k;
  size_t configs = 0;
  for (n = 2; n <= 8; n++)
    for (k = 1; k <= 10; k++) {
      opt_stats g = {0, 0, 0.0, 0.0}, r = g;
      if (vq_pvq_count(&v, n, k) < 0 || v > BRUTE_MAX_V) continue;
      if (optimality_one(&g, &r, n, k, v, o, &seed)) {
        fprintf(stderr, "bench_pvq: optimality failed at n %u k %u\n", n,
                k);
        return 1;
      }
      printf("{\"mode\": \"optimality\", \"n\": %u, \"k\": %u, "
             "\"codewords\": %llu, \"vectors\": %zu, ", n, k,
             (unsigned long long)v, g.count);
      stats_print("greedy", &g);
      printf(", ");
      stats_print("refine", &r);
      printf("}\n");
      stats_merge(&all_g, &g);
      stats_merge(&all_r, &r);
      configs++;
    }
  printf("{\"mode\": \"optimality_total\", \"configs\": %zu, "
         "\"vectors\": %zu, \"tolerance\": %g, ", configs, all_g.count,
         OPT_REL_TOL);
  stats_print("greedy", &all_g);
  printf(", ");
  stats_print("refine", &all_r);
  printf("}\n");
  return 0;
}

/* ---- rate-distortion ---------------------------------------------------- */

/* Gain steps 2^-8 .. 2^2, four a factor of 2; scalar steps 2^-6 .. 2^3,
 * eight a factor of 2. */
#define GAIN_STEPS 41
#define SCALAR_STEPS 73

static double gain_step(int i) { return pow(2.0, -8.0 + i / 4.0); }
static double scalar_step(int i) { return pow(2.0, -6.0 + i / 8.0); }

/* Per block the energy |x|^2 and the projection <x, y> / |y| of x on its
 * shape codeword: all a gain quantizer needs to know of the shape. */
static int shapes(double *xx, double *pr, const float *x, size_t blocks,
                  uint32_t n, uint32_t k) {
  unsigned flags = n * k <= REFINE_MAX_NK ? VQ_PVQ_REFINE : 0;
  int32_t *y = malloc(n * sizeof *y);
  size_t b;
  uint32_t i;
  int rc = y ? 0 : VQ_ERR_NOMEM;
  for (b = 0; b < blocks && rc >= 0; b++) {
    const float *xb = x + b * n;
    rc = vq_pvq_search(y, NULL, xb, n, k, flags);
    xx[b] = 0.0;
    for (i = 0; i < n; i++) xx[b] += (double)xb[i] * xb[i];
    pr[b] = rc < 0 ? 0.0 : proj(y, xb, n);
  }
  free(y);
  return rc;
}

/* The gain |x| quantized to q step, q = round(|x| / step): entropy of q
 * in bits per block into *bits, total squared error
 * |x - q step y / |y||^2 = |x|^2 - 2 q step pr + (q step)^2 into *err. */
static int gain_point(double *bits, double *err, const double *xx,
                      const double *pr, size_t blocks, double step) {
  double gmax = 0.0;
  uint32_t *hist;
  size_t b, bins;
  for (b = 0; b < blocks; b++)
    if (xx[b] > gmax) gmax = xx[b];
  bins = (size_t)(sqrt(gmax) / step + 0.5) + 1;
  if (!(hist = calloc(bins, sizeof *hist))) return 1;
  *err = 0.0;
  for (b = 0; b < blocks; b++) {
    size_t q = (size_t)(sqrt(xx[b]) / step + 0.5);
    double g = (double)q * step;
    hist[q]++;
    *err += xx[b] - 2.0 * g * pr[b] + g * g;
  }
  *bits = entropy_bits(hist, bins, blocks);
  free(hist);
  return 0;
}

/* The pulse counts: from 0.25 to 5 bits per sample for the shape alone,
 * every k while small, then about 10% apart. */
static uint32_t next_k(uint32_t k) {
  uint32_t g = (uint32_t)(k * 1.1);
  return g > k ? g : k + 1;
}

static int rd_one(const float *x, double *xx, double *pr, const opts *o,
                  uint32_t k) {
  double shape_bits = vq_pvq_bits(o->n, k), energy = 0.0, bits, err;
  size_t b;
  int i, rc = shapes(xx, pr, x, o->blocks, o->n, k);
  if (rc < 0) {
    fprintf(stderr, "bench_pvq: search: %s\n", vq_strerror(rc));
    return 1;
  }
  for (b = 0; b < o->blocks; b++) energy += xx[b];
  for (i = 0; i < GAIN_STEPS; i++) {
    double step = gain_step(i);
    if (gain_point(&bits, &err, xx, pr, o->blocks, step)) return 1;
    printf("{\"mode\": \"rd\", \"source\": \"%s\", \"n\": %u, \"k\": %u, "
           "\"step\": %.6g, \"shape_bits\": %.6g, \"gain_bits\": %.6g, "
           "\"rate\": %.6g, \"snr\": %.6g}\n", source_names[o->src], o->n,
           k, step, shape_bits, bits, (shape_bits + bits) / o->n,
           10.0 * log10(energy / err));
  }
  fflush(stdout);
  return 0;
}

/* Pulses from the gain (vq_pvq_params.pulses_per_step): the gain |x| to
 * q = round(|x| / step), then round(alpha q) pulses for the shape, the
 * rate the entropy of q plus log2 V of each shape. Points whose rate
 * leaves 0.25 to 5 bits per sample are skipped before searching. */
static const double rd_alphas[] = {2.0, 2.5, 3.0, 3.5, 4.0};

static int rd_gain_one(const float *x, const double *xx, int32_t *y,
                       uint32_t *qs, const opts *o, double alpha,
                       double step) {
  double energy = 0.0, shape_bits = 0.0, gbits, err = 0.0, sumk = 0.0;
  uint32_t *hist, qmax = 0, i;
  size_t b;
  for (b = 0; b < o->blocks; b++) {
    double qf = floor(sqrt(xx[b]) / step + 0.5);
    uint32_t k;
    if (qf > 1e6) return 0; /* far finer than any rate here */
    qs[b] = (uint32_t)qf;
    if (qs[b] > qmax) qmax = qs[b];
    k = (uint32_t)floor(alpha * qs[b] + 0.5);
    if (k > VQ_PVQ_MAX_K) return 0;
    if (qs[b] && k) shape_bits += vq_pvq_bits(o->n, k);
    energy += xx[b];
  }
  if (!(hist = calloc(qmax + 1, sizeof *hist))) return 1;
  for (b = 0; b < o->blocks; b++) hist[qs[b]]++;
  gbits = entropy_bits(hist, qmax + 1, o->blocks);
  free(hist);
  {
    double r = (shape_bits / (double)o->blocks + gbits) / o->n;
    if (r < 0.25 || r > 5.0) return 0;
  }
  for (b = 0; b < o->blocks; b++) {
    const float *xb = x + b * o->n;
    uint32_t k = (uint32_t)floor(alpha * qs[b] + 0.5);
    double g = qs[b] * step, nrm = 0.0;
    if (!qs[b] || !k) {
      err += xx[b];
      continue;
    }
    sumk += k;
    if (vq_pvq_search(y, NULL, xb, o->n, k,
                      o->n * k <= REFINE_MAX_NK ? VQ_PVQ_REFINE : 0) < 0)
      return 1;
    for (i = 0; i < o->n; i++) nrm += (double)y[i] * y[i];
    for (i = 0; i < o->n; i++) {
      double e = xb[i] - g * y[i] / sqrt(nrm);
      err += e * e;
    }
  }
  printf("{\"mode\": \"rd_gain\", \"source\": \"%s\", \"n\": %u, "
         "\"alpha\": %g, \"step\": %.6g, \"mean_k\": %.6g, "
         "\"shape_bits\": %.6g, \"gain_bits\": %.6g, \"rate\": %.6g, "
         "\"snr\": %.6g}\n", source_names[o->src], o->n, alpha, step,
         sumk / (double)o->blocks, shape_bits / (double)o->blocks, gbits,
         (shape_bits / (double)o->blocks + gbits) / o->n,
         10.0 * log10(energy / err));
  return 0;
}

static int run_rd_gain(const float *x, double *xx, const opts *o) {
  int32_t *y = malloc(o->n * sizeof *y);
  uint32_t *qs = malloc(o->blocks * sizeof *qs);
  size_t a, b;
  uint32_t i;
  int s, rc = !y || !qs;
  for (b = 0; b < o->blocks; b++) {
    xx[b] = 0.0;
    for (i = 0; i < o->n; i++)
      xx[b] += (double)x[b * o->n + i] * x[b * o->n + i];
  }
  for (a = 0; a < sizeof rd_alphas / sizeof *rd_alphas && !rc; a++) {
    for (s = 0; s < GAIN_STEPS * 2 && !rc; s++)
      rc = rd_gain_one(x, xx, y, qs, o, rd_alphas[a],
                       pow(2.0, -6.0 + s / 8.0));
    fflush(stdout);
  }
  free(y), free(qs);
  return rc;
}

static int run_rd(const opts *o) {
  uint64_t seed = o->seed;
  uint32_t k = vq_pvq_k_for_bits(o->n, 0.25 * o->n);
  uint32_t kmax = vq_pvq_k_for_bits(o->n, 5.0 * o->n);
  float *x = draw_array(o->blocks * o->n, o->src, &seed);
  double *xx = malloc(o->blocks * sizeof *xx);
  double *pr = malloc(o->blocks * sizeof *pr);
  int rc = !x || !xx || !pr;
  for (k = k ? k : 1; k <= kmax && !rc; k = next_k(k))
    rc = rd_one(x, xx, pr, o, k);
  if (!rc) rc = run_rd_gain(x, xx, o);
  free(x), free(xx), free(pr);
  return rc;
}

/* Uniform scalar quantizer, midpoint reconstruction, ideal entropy coding
 * of the indices. */
static int run_scalar(const opts *o) {
  uint64_t seed = o->seed;
  float *x = draw_array(o->samples, o->src, &seed);
  double amax = 0.0, energy = 0.0;
  size_t i;
  int s;
  if (!x) return 1;
  for (i = 0; i < o->samples; i++) {
    energy += (double)x[i] * x[i];
    if (fabs(x[i]) > amax) amax = fabs(x[i]);
  }
  for (s = 0; s < SCALAR_STEPS; s++) {
    double step = scalar_step(s), err = 0.0;
    long qmax = lround(amax / step);
    uint32_t *hist = calloc((size_t)(2 * qmax + 1), sizeof *hist);
    if (!hist) break;
    for (i = 0; i < o->samples; i++) {
      long q = lround(x[i] / step);
      double e = x[i] - (double)q * step;
      hist[q + qmax]++;
      err += e * e;
    }
    printf("{\"mode\": \"scalar\", \"source\": \"%s\", \"step\": %.6g, "
           "\"rate\": %.6g, \"snr\": %.6g}\n", source_names[o->src], step,
           entropy_bits(hist, (size_t)(2 * qmax + 1), o->samples),
           10.0 * log10(energy / err));
    free(hist);
  }
  free(x);
  return s < SCALAR_STEPS;
}

/* ---- command line ------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f,
"Usage: bench_pvq --throughput [--n N] [--seconds S] [--repeat R]\n"
"       bench_pvq --optimality [--vectors V]\n"
"       bench_pvq --rd gaussian|laplacian --n N [--blocks B]\n"
"       bench_pvq --scalar gaussian|laplacian [--samples S]\n"
"       (each also [--seed SEED])\n"
"Prints PVQ search speed, optimality or rate-distortion as JSON lines.\n");
}

static int parse_source(const char *s, source *src) {
  if (!strcmp(s, "gaussian")) *src = SRC_GAUSSIAN;
  else if (!strcmp(s, "laplacian")) *src = SRC_LAPLACIAN;
  else return -1;
  return 0;
}

static int parse(opts *o, int argc, char **argv) {
  static const struct option lo[] = {
    {"throughput", no_argument, 0, 't'},
    {"optimality", no_argument, 0, 'o'},
    {"rd", required_argument, 0, 'r'},
    {"scalar", required_argument, 0, 'S'},
    {"n", required_argument, 0, 'n'},
    {"seconds", required_argument, 0, 's'},
    {"repeat", required_argument, 0, 'R'},
    {"vectors", required_argument, 0, 'v'},
    {"blocks", required_argument, 0, 'b'},
    {"samples", required_argument, 0, 'm'},
    {"seed", required_argument, 0, 'e'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}
  };
  int ch;
  while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (ch) {
    case 't': o->mode = MODE_THROUGHPUT; break;
    case 'o': o->mode = MODE_OPTIMALITY; break;
    case 'r':
    case 'S':
      o->mode = ch == 'r' ? MODE_RD : MODE_SCALAR;
      if (parse_source(optarg, &o->src) == 0) break;
      fprintf(stderr, "bench_pvq: unknown source %s\n", optarg);
      return -1;
    case 'n': o->n = (uint32_t)strtoul(optarg, NULL, 10); break;
    case 's': o->seconds = atof(optarg); break;
    case 'R': o->repeat = atoi(optarg); break;
    case 'v': o->vectors = (size_t)strtoull(optarg, NULL, 10); break;
    case 'b': o->blocks = (size_t)strtoull(optarg, NULL, 10); break;
    case 'm': o->samples = (size_t)strtoull(optarg, NULL, 10); break;
    case 'e': o->seed = strtoull(optarg, NULL, 10); break;
    case 'h': usage(stdout); exit(0);
    default: return -1;
    }
  }
  if (optind != argc || o->mode == MODE_NONE || o->n > VQ_PVQ_MAX_N ||
      (o->mode == MODE_RD && !o->n) || !(o->seconds > 0.0) ||
      o->repeat < 1 || !o->vectors || !o->blocks || !o->samples)
    return -1;
  return 0;
}

int main(int argc, char **argv) {
  opts o = {MODE_NONE, 3, SRC_GAUSSIAN, 0, 0.2, 200, 20000, 1000000, 1};
  if (parse(&o, argc, argv) < 0) {
    usage(stderr);
    return 1;
  }
  switch (o.mode) {
  case MODE_THROUGHPUT: return run_throughput(&o);
  case MODE_OPTIMALITY: return run_optimality(&o);
  case MODE_RD: return run_rd(&o);
  default: return run_scalar(&o);
  }
}
