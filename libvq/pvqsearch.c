/* Pyramid VQ search: the codeword y with sum |y_i| = k of greatest
 * normalised correlation <x, y> / |y|.
 *
 * Signs follow x, so the search works on magnitudes, scaled so that they
 * sum to k: p_i = |x_i| k / sum |x|. For k > n / 2 a projection places
 * most pulses at once, floor(p_i (k - 1) / k); the rest are added one at
 * a time where that raises the correlation most: the largest
 * (xy + p_i)^2 / (yy + 2 m_i + 1), with xy = sum p_i m_i and
 * yy = sum m_i^2, compared by cross-multiplication (no division). With
 * VQ_PVQ_REFINE, small problems are solved exactly by enumeration and
 * larger ones refined by moving single pulses.
 *
 * The passes run four lanes at a time (GCC/Clang vector extensions, plain
 * C otherwise), every lane and every reduction in a fixed order, so the
 * result does not depend on the compiler's choice of instructions: FMA
 * contraction is the one thing to keep out (configure turns it off). */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "vq/pvq.h"
#include "internal.h"

/* Vectors up to this dimension are searched in stack buffers. */
#define STACK_N 1024
/* VQ_PVQ_REFINE: exact enumeration up to this many magnitude vectors. */
#define EXACT_MAX 32768.0

#if defined(__GNUC__)
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
#define V4(a) ((v4f){(a), (a), (a), (a)})
static inline v4f v4_load(const float *p) {
  v4f v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void v4_store(float *p, v4f v) { memcpy(p, &v, sizeof v); }
static inline v4f v4_abs(v4f v) {
  return (v4f)((v4i)v & (v4i){0x7FFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF,
                              0x7FFFFFFF});
}
/* floor(v) for 0 <= v < 2^31 */
static inline v4f v4_floor(v4f v) {
  return __builtin_convertvector(__builtin_convertvector(v, v4i), v4f);
}
static inline v4f v4_select(v4i mask, v4f a, v4f b) {
  return (v4f)((mask & (v4i)a) | (~mask & (v4i)b));
}
static inline v4i v4i_select(v4i mask, v4i a, v4i b) {
  return (mask & a) | (~mask & b);
}
#endif

static inline float lane_sum(const float *acc) {
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

/* a_i = |x_i|, with lane sums of a and the largest a. Returns 0 when x
 * holds a NaN or an infinity. */
static int magnitudes(float *a, const float *x, uint32_t n, float *sum,
                      float *amax) {
  float acc[4] = {0}, mx[4] = {0};
  uint32_t i = 0, l;
#if defined(__GNUC__)
  v4f s = V4(0.0f), m = V4(0.0f);
  for (; i + 4 <= n; i += 4) {
    v4f v = v4_abs(v4_load(x + i));
    v4_store(a + i, v);
    s += v;
    m = v4_select(v > m, v, m);
  }
  v4_store(acc, s), v4_store(mx, m);
#endif
  for (; i < n; i++) {
    a[i] = fabsf(x[i]);
    acc[i & 3] += a[i];
    if (a[i] > mx[i & 3]) mx[i & 3] = a[i];
  }
  *sum = lane_sum(acc);
  *amax = mx[0];
  for (l = 1; l < 4; l++)
    if (mx[l] > *amax) *amax = mx[l];
  if (isfinite(*sum)) return 1;
  for (i = 0; i < n; i++)
    if (!isfinite(x[i])) return 0;
  return 1; /* finite, but the sum overflowed: the caller rescales */
}

/* p_i = a_i r in place. */
static void scale(float *p, uint32_t n, float r) {
  uint32_t i = 0;
#if defined(__GNUC__)
  for (; i + 4 <= n; i += 4) v4_store(p + i, v4_load(p + i) * V4(r));
#endif
  for (; i < n; i++) p[i] *= r;
}

/* m_i = floor(g p_i), with their sum, xy and yy. */
static float project(float *m, const float *p, uint32_t n, float g,
                     float *xy, float *yy) {
  float acc[4] = {0}, axy[4] = {0}, ayy[4] = {0};
  uint32_t i = 0;
#if defined(__GNUC__)
  v4f s = V4(0.0f), sxy = V4(0.0f), syy = V4(0.0f);
  for (; i + 4 <= n; i += 4) {
    v4f pv = v4_load(p + i), mv = v4_floor(pv * V4(g));
    v4_store(m + i, mv);
    s += mv;
    sxy += pv * mv;
    syy += mv * mv;
  }
  v4_store(acc, s), v4_store(axy, sxy), v4_store(ayy, syy);
#endif
  for (; i < n; i++) {
    float mi = floorf(p[i] * g), t;
    m[i] = mi;
    acc[i & 3] += mi;
    t = p[i] * mi;
    axy[i & 3] += t;
    t = mi * mi;
    ayy[i & 3] += t;
  }
  *xy = lane_sum(axy);
  *yy = lane_sum(ayy);
  return lane_sum(acc);
}

/* The best of the lanes' candidates (num / den largest, the lowest index
 * on a tie). */
static uint32_t pick_lanes(const float *bn, const float *bd,
                           const int32_t *bi) {
  uint32_t l, b = 0;
  for (l = 1; l < 4; l++) {
    float lhs = bn[l] * bd[b], rhs = bn[b] * bd[l];
    if (bi[l] >= 0 &&
        (bi[b] < 0 || lhs > rhs || (lhs == rhs && bi[l] < bi[b])))
      b = l;
  }
  return bi[b] < 0 ? UINT32_MAX : (uint32_t)bi[b];
}

/* The coordinate where a pulse more (sign = 1) or less (sign = -1)
 * leaves the largest (xy + sign p_i)^2 / (yy + sign 2 m_i + 1); removal
 * only where m_i > 0. UINT32_MAX when there is none. */
static uint32_t pick(const float *p, const float *m, uint32_t n, float xy,
                     float yy, float sign) {
  float bn[4] = {-1.0f, -1.0f, -1.0f, -1.0f}, bd[4] = {1.0f, 1.0f, 1.0f, 1.0f};
  int32_t bi[4] = {-1, -1, -1, -1};
  float two = 2.0f * sign, sp = sign, low = sign > 0 ? -1.0f : 0.5f;
  uint32_t i = 0;
#if defined(__GNUC__)
  /* two sets of lane candidates, so that one compare-and-select chain
   * does not wait on the other; merged lane by lane at the end */
  v4f vbn = V4(-1.0f), vbd = V4(1.0f), wbn = vbn, wbd = vbd;
  v4i vbi = {-1, -1, -1, -1}, wbi = vbi, idx = {0, 1, 2, 3};
  const v4f vxy = V4(xy), vsp = V4(sp), vyy = V4(yy + 1.0f), vtwo = V4(two);
  const v4f vlow = V4(low);
  for (; i + 8 <= n; i += 8) {
    v4f mv = v4_load(m + i), t = vxy + vsp * v4_load(p + i);
    v4f mw = v4_load(m + i + 4), u = vxy + vsp * v4_load(p + i + 4);
    v4f num = t * t, den = vyy + vtwo * mv;
    v4f wnum = u * u, wden = vyy + vtwo * mw;
    v4i take = (num * vbd > vbn * den) & (mv > vlow);
    v4i wtake = (wnum * wbd > wbn * wden) & (mw > vlow);
    vbn = v4_select(take, num, vbn);
    vbd = v4_select(take, den, vbd);
    vbi = v4i_select(take, idx, vbi);
    wbn = v4_select(wtake, wnum, wbn);
    wbd = v4_select(wtake, wden, wbd);
    wbi = v4i_select(wtake, idx + 4, wbi);
    idx += 8;
  }
  for (; i + 4 <= n; i += 4) {
    v4f mv = v4_load(m + i), t = vxy + vsp * v4_load(p + i);
    v4f num = t * t, den = vyy + vtwo * mv;
    v4i take = (num * vbd > vbn * den) & (mv > vlow);
    vbn = v4_select(take, num, vbn);
    vbd = v4_select(take, den, vbd);
    vbi = v4i_select(take, idx, vbi);
    idx += 4;
  }
  {
    /* the second set's candidate where it is better, or as good with a
     * lower index (it holds the higher indices of each lane's pairs
     * only within a block of 8, so the index decides) */
    v4f lhs = wbn * vbd, rhs = vbn * wbd;
    v4i w = (wbi >= 0) & ((vbi < 0) | (lhs > rhs) | ((lhs == rhs) & (wbi < vbi)));
    vbn = v4_select(w, wbn, vbn);
    vbd = v4_select(w, wbd, vbd);
    vbi = v4i_select(w, wbi, vbi);
  }
  v4_store(bn, vbn), v4_store(bd, vbd);
  memcpy(bi, &vbi, sizeof bi);
#endif
  for (; i < n; i++) {
    uint32_t l = i & 3;
    float t = xy + sp * p[i], num = t * t, den = yy + 1.0f + two * m[i];
    if (m[i] > low && num * bd[l] > bn[l] * den)
      bn[l] = num, bd[l] = den, bi[l] = (int32_t)i;
  }
  return pick_lanes(bn, bd, bi);
}

/* Moves single pulses from one coordinate to another while that raises
 * xy / sqrt(yy), xy from the magnitudes |x_i|. At most k passes, each
 * O(n^2). */
static void refine(float *m, const float *x, uint32_t n, uint32_t k,
                   double *xy, double *yy) {
  uint32_t pass, i, j;
  for (pass = 0; pass < k; pass++) {
    double bxy = *xy, byy = *yy;
    uint32_t bi = n, bj = n;
    for (i = 0; i < n; i++) {
      double ai = fabs((double)x[i]);
      if (m[i] < 0.5f) continue;
      for (j = 0; j < n; j++) {
        double nxy, nyy;
        if (j == i) continue;
        nxy = *xy - ai + fabs((double)x[j]);
        nyy = *yy - 2.0 * m[i] + 2.0 * m[j] + 2.0;
        if (nxy > 0 && nxy * nxy * byy > bxy * bxy * nyy)
          bxy = nxy, byy = nyy, bi = i, bj = j;
      }
    }
    if (bi == n) break;
    m[bi] -= 1.0f, m[bj] += 1.0f;
    *xy = bxy, *yy = byy;
  }
}

/* Exact search: every way of spreading k pulses over the n magnitudes
 * |x_i| (C(n + k - 1, k) of them), depth first, the best xy^2 / yy kept
 * (the one found first on a tie). */
typedef struct exact_state {
  const float *x;
  uint32_t n;
  float *cur, *best;
  double bxy, byy;
} exact_state;

static void exact_walk(exact_state *s, uint32_t i, uint32_t left, double xy,
                       double yy) {
  double a = fabs((double)s->x[i]);
  uint32_t v;
  if (i + 1 == s->n) {
    double fxy = xy + a * left, fyy = yy + (double)left * left;
    s->cur[i] = (float)left;
    if (fxy > 0 && fxy * fxy * s->byy > s->bxy * s->bxy * fyy) {
      s->bxy = fxy, s->byy = fyy;
      memcpy(s->best, s->cur, s->n * sizeof *s->cur);
    }
    return;
  }
  for (v = 0; v <= left; v++) {
    s->cur[i] = (float)v;
    exact_walk(s, i + 1, left - v, xy + a * v, yy + (double)v * v);
  }
}

/* C(n + k - 1, k), capped above EXACT_MAX. */
static double compositions(uint32_t n, uint32_t k) {
  double c = 1.0;
  uint32_t j;
  for (j = 1; j <= k && c <= EXACT_MAX; j++)
    c = c * (double)(n - 1 + j) / j;
  return c;
}

/* One pulse more (sign 1) or less (-1) where pick() says. */
static void step(float *m, const float *p, uint32_t n, float *xy, float *yy,
                 float sign) {
  uint32_t b = pick(p, m, n, *xy, *yy, sign);
  if (b == UINT32_MAX) /* not reached with finite p; stay in bounds */
    for (b = 0; b + 1 < n && sign < 0 && m[b] < 0.5f; b++) continue;
  *xy += sign * p[b];
  *yy += 2.0f * sign * m[b] + 1.0f;
  m[b] += sign;
}

/* Places k pulses on the magnitudes p (summing to k) in m. */
static void place(float *m, const float *p, const float *x, uint32_t n,
                  uint32_t k, unsigned flags) {
  float xy = 0.0f, yy = 0.0f, placed = 0.0f, fk = (float)k;
  /* Projection for many pulses: floor(p_i (k - 1) / k), which leaves at
   * least one pulse to the greedy steps (placing more at once, by a
   * larger gain, lowers the correlation measurably). */
  if (k > n / 2) placed = project(m, p, n, (fk - 1.0f) / fk, &xy, &yy);
  else memset(m, 0, n * sizeof *m);
  for (; placed < fk; placed += 1.0f) step(m, p, n, &xy, &yy, 1.0f);
  for (; placed > fk; placed -= 1.0f) step(m, p, n, &xy, &yy, -1.0f);
  if ((flags & VQ_PVQ_REFINE) && k > 1) {
    double dxy = 0.0, dyy = 0.0;
    uint32_t i;
    for (i = 0; i < n; i++) {
      dxy += fabs((double)x[i]) * m[i];
      dyy += (double)m[i] * m[i];
    }
    if (compositions(n, k) <= EXACT_MAX) {
      /* k >= 2 here, and C(n + 1, 2) <= EXACT_MAX means n < 256 */
      float cur[256];
      exact_state s;
      s.x = x, s.n = n, s.cur = cur, s.best = m, s.bxy = dxy, s.byy = dyy;
      exact_walk(&s, 0, k, 0.0, 0.0);
    } else {
      refine(m, x, n, k, &dxy, &dyy);
    }
  }
}

/* Common set-up: checks, magnitudes scaled to sum k. Returns 1 when the
 * caller should search, 0 when y was set (x = 0), or an error. */
static int start(float *p, const float *x, uint32_t n, uint32_t k) {
  float sum, amax;
  if (!magnitudes(p, x, n, &sum, &amax)) return VQ_ERR_NONFINITE;
  if (!isfinite(sum)) { /* finite values whose sum overflows */
    scale(p, n, 0x1p-32f);
    sum = 0.0f;
    {
      float acc[4] = {0};
      uint32_t i;
      for (i = 0; i < n; i++) acc[i & 3] += p[i];
      sum = lane_sum(acc);
    }
    amax *= 0x1p-32f;
  }
  if (!(sum > 0.0f) || !(amax * ((float)k / sum) > 0.0f)) return 0;
  scale(p, n, (float)k / sum);
  return 1;
}

static int check_args(const int32_t *y, const float *x, uint32_t n,
                      uint32_t k) {
  return y && x && n >= 1 && n <= VQ_PVQ_MAX_N && k <= VQ_PVQ_MAX_K
             ? VQ_OK
             : VQ_ERR_INVALID_ARG;
}

/* Writes y from the magnitudes m and the signs of x; returns the
 * correlation of y with x. */
static double finish(int32_t *y, const float *m, const float *x, uint32_t n,
                     int want_corr) {
  double xx = 0.0, xy = 0.0, yy = 0.0;
  uint32_t i = 0;
#if defined(__GNUC__)
  for (; i + 4 <= n; i += 4) {
    v4i v = __builtin_convertvector(v4_load(m + i), v4i);
    v4i neg = (v4_load(x + i) < V4(0.0f)); /* -1 where x < 0 */
    v = (v ^ neg) - neg;
    memcpy(y + i, &v, sizeof v);
  }
#endif
  for (; i < n; i++) { /* the sign of x without a branch */
    int32_t v = (int32_t)m[i], neg = -(int32_t)(x[i] < 0.0f);
    y[i] = (v ^ neg) - neg;
  }
  if (!want_corr) return 0.0;
  for (i = 0; i < n; i++) {
    xx += (double)x[i] * x[i];
    xy += fabs((double)x[i]) * m[i];
    yy += (double)m[i] * m[i];
  }
  return yy > 0.0 && xx > 0.0 ? xy / sqrt(xx * yy) : 0.0;
}

int vq_pvq_search(int32_t *y, double *corr, const float *x, uint32_t n,
                  uint32_t k, unsigned flags) {
  float sp[STACK_N], sm[STACK_N], *p = sp, *m = sm;
  int rc = check_args(y, x, n, k);
  if (corr) *corr = 0.0;
  if (rc < 0) return rc;
  if (n > STACK_N) {
    p = vq_malloc_array(n, sizeof *p);
    m = vq_malloc_array(n, sizeof *m);
    if (!p || !m) {
      free(p), free(m);
      return VQ_ERR_NOMEM;
    }
  }
  rc = k ? start(p, x, n, k) : 0;
  if (rc == 1) {
    place(m, p, x, n, k, flags);
    rc = VQ_OK;
    if (corr) *corr = finish(y, m, x, n, 1);
    else finish(y, m, x, n, 0);
  } else if (rc == 0) { /* x = 0 (or k = 0): every codeword is as good */
    uint32_t i;
    for (i = 0; i < n; i++)
      if (!isfinite(x[i])) rc = VQ_ERR_NONFINITE;
    if (rc == 0) {
      memset(y, 0, n * sizeof *y);
      y[0] = (int32_t)k;
      if (corr) *corr = k ? 1.0 : 0.0;
    }
  }
  if (p != sp) free(p), free(m);
  return rc;
}

int vq_pvq_search_rd(int32_t *y, uint32_t *k_used, double *corr,
                     const float *x, uint32_t n, uint32_t k, double lambda) {
  double xx = 0.0, best_cost, best_corr = 0.0, dxy = 0.0, dyy = 0.0;
  float *p, *m, *best_m, xy = 0.0f, yy = 0.0f;
  uint32_t i, j, best_k = 0;
  int rc = check_args(y, x, n, k);
  if (k_used) *k_used = 0;
  if (corr) *corr = 0.0;
  if (rc < 0 || !(lambda >= 0.0) || isinf(lambda)) return VQ_ERR_INVALID_ARG;
  p = vq_malloc_array(n, sizeof *p);
  m = vq_calloc_array(n, sizeof *m);
  best_m = vq_calloc_array(n, sizeof *best_m);
  if (!m || !best_m || !p) {
    free(m), free(best_m), free(p);
    return VQ_ERR_NOMEM;
  }
  /* the magnitudes scaled to sum k: the order of the greedy steps does
   * not depend on the scale, and the costs use the exact sums below */
  rc = k ? start(p, x, n, k) : 0;
  if (rc >= 0) {
    for (i = 0; i < n; i++) xx += (double)x[i] * x[i];
    best_cost = 2.0 * xx; /* k' = 0: the whole of x is error, no bits */
    for (j = 1; j <= k && rc == 1; j++) {
      uint32_t b = pick(p, m, n, xy, yy, 1.0f);
      double c, cost;
      if (b == UINT32_MAX) break; /* not reached with finite p */
      xy += p[b];
      yy += 2.0f * m[b] + 1.0f;
      dxy += fabs((double)x[b]);
      dyy += 2.0 * m[b] + 1.0;
      m[b] += 1.0f;
      c = dxy / sqrt(dyy * xx);
      cost = xx * (2.0 - 2.0 * c) + lambda * vq_pvq_bits(n, j);
      if (cost < best_cost) {
        best_cost = cost, best_k = j, best_corr = c;
        memcpy(best_m, m, n * sizeof *m);
      }
    }
    finish(y, best_m, x, n, 0);
    if (k_used) *k_used = best_k;
    if (corr) *corr = best_corr;
    rc = VQ_OK;
  }
  free(m), free(best_m), free(p);
  return rc;
}
