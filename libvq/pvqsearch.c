/* Pyramid VQ search: the codeword y with sum |y_i| = k of greatest
 * normalised correlation <x, y> / |y|.
 *
 * Signs follow x, so the search works on magnitudes, scaled so that they
 * sum to k: p_i = |x_i| k / sum |x|. At the best codeword no single
 * pulse moved between two coordinates raises the correlation, which to
 * first order means m_i = floor(g p_i + c) for one gain g and one offset
 * c, with g = yy / xy (xy = sum p_i m_i, yy = sum m_i^2). So the search
 * is a projection made self-consistent: with g = 1, counting passes find
 * the c that places k pulses (to within two, the rest placed or taken
 * back by their rounding remainders); g is re-estimated from the result
 * and the projection done again; then single pulses are moved while that
 * raises the correlation: from where (xy - p_i)^2 / (yy - 2 m_i + 1) is
 * largest to where (xy + p_i)^2 / (yy + 2 m_i + 1) is, compared by
 * cross-multiplication (no division). This places pulses as well as the
 * pulse-at-a-time greedy search (as CELT does it, after a projection for
 * large k) or better, in a fixed handful of passes over the vector
 * instead of one pass per pulse. With VQ_PVQ_REFINE, small problems are
 * solved exactly by enumeration and larger ones refined by moving single
 * pulses between any two coordinates.
 *
 * The passes run four lanes at a time (GCC/Clang vector extensions, plain
 * C otherwise), every lane and every reduction in a fixed order, so the
 * result does not depend on the compiler's choice of instructions: FMA
 * contraction is the one thing to keep out (configure turns it off).
 * The file is compiled a second time with AVX2 enabled
 * (libvq/dsp/pvqsearch_avx2.c): the same passes in the same lane order,
 * in fewer instructions (three-operand forms, blends), so the same
 * codewords; the entry points at the end choose it at run time. */
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
/* Rounds of the self-consistent projection, counting passes per round,
 * the miss left to the one-pulse steps, and the pulse moves after. */
#define ROUNDS 2
#define OFFSET_PASSES 6
#define CLOSE_ENOUGH 2.0f
#define SWAPS 8

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

/* log2 x for x > 0 to about 1e-4, from plain arithmetic on the exponent
 * and mantissa (a libm logf may differ between systems in its last bit,
 * and the search must not). Only steers the counting passes. */
static float approx_log2(float x) {
  int e;
  float m = frexpf(x, &e), t = (m - 0.70710678f) / (m + 0.70710678f);
  float t2 = t * t;
  /* log2(m) = log2(sqrt(1/2)) + 2 atanh(t) / ln 2 */
  return (float)e - 0.5f +
         2.8853901f * t * (1.0f + t2 * (0.33333333f + t2 * 0.2f));
}

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
  /* the sum in a fixed order, the largest (exact whatever the order) in
   * two sets of lanes so that its compare-and-select chain is short */
  v4f s = V4(0.0f), m = V4(0.0f), w = m;
  for (; i + 8 <= n; i += 8) {
    v4f v = v4_abs(v4_load(x + i)), u = v4_abs(v4_load(x + i + 4));
    v4_store(a + i, v);
    v4_store(a + i + 4, u);
    s += v;
    s += u;
    m = v4_select(v > m, v, m);
    w = v4_select(u > w, u, w);
  }
  for (; i + 4 <= n; i += 4) {
    v4f v = v4_abs(v4_load(x + i));
    v4_store(a + i, v);
    s += v;
    m = v4_select(v > m, v, m);
  }
  m = v4_select(w > m, w, m);
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

/* m_i = floor(max(g p_i + c, 0)), with their sum, xy and yy. */
static float project(float *m, const float *p, uint32_t n, float g, float c,
                     float *xy, float *yy) {
  float acc[4] = {0}, axy[4] = {0}, ayy[4] = {0};
  uint32_t i = 0;
#if defined(__GNUC__)
  v4f s = V4(0.0f), sxy = V4(0.0f), syy = V4(0.0f);
  for (; i + 4 <= n; i += 4) {
    v4f pv = v4_load(p + i), t = pv * V4(g) + V4(c), mv;
    mv = v4_floor(v4_select(t > V4(0.0f), t, V4(0.0f)));
    v4_store(m + i, mv);
    s += mv;
    sxy += pv * mv;
    syy += mv * mv;
  }
  v4_store(acc, s), v4_store(axy, sxy), v4_store(ayy, syy);
#endif
  for (; i < n; i++) {
    float t = p[i] * g + c, mi = t > 0.0f ? floorf(t) : 0.0f, u;
    m[i] = mi;
    acc[i & 3] += mi;
    u = p[i] * mi;
    axy[i & 3] += u;
    u = mi * mi;
    ayy[i & 3] += u;
  }
  *xy = lane_sum(axy);
  *yy = lane_sum(ayy);
  return lane_sum(acc);
}

/* sum floor(max(g p_i + c, 0)): the pulses project() would place. The
 * terms are integers, so the sum is exact whatever the order: summed as
 * integers in two sets of lanes (the adds do not wait on each other), and
 * with c >= 0 (g >= 0, p_i >= 0) without the clamp at 0, which cannot
 * bite. These passes are most of the offset search. The int32 lanes do
 * not overflow: the p_i sum to k, g = yy / xy of a codeword placed at
 * gain 1 is at most about 1 + n / k, and |c| stays below 17, so the sum
 * is below about k + 18 n < 2^21. */
static float count(const float *p, uint32_t n, float g, float c) {
  int32_t acc = 0;
  uint32_t i = 0;
#if defined(__GNUC__)
  v4i s = {0, 0, 0, 0}, w = s;
  const v4f vg = V4(g), vc = V4(c);
  if (c >= 0.0f) {
    for (; i + 8 <= n; i += 8) {
      s += __builtin_convertvector(v4_load(p + i) * vg + vc, v4i);
      w += __builtin_convertvector(v4_load(p + i + 4) * vg + vc, v4i);
    }
  } else {
    for (; i + 8 <= n; i += 8) {
      v4f t = v4_load(p + i) * vg + vc, u = v4_load(p + i + 4) * vg + vc;
      s += __builtin_convertvector(v4_select(t > V4(0.0f), t, V4(0.0f)), v4i);
      w += __builtin_convertvector(v4_select(u > V4(0.0f), u, V4(0.0f)), v4i);
    }
  }
  s += w;
  acc = (s[0] + s[1]) + (s[2] + s[3]);
#endif
  for (; i < n; i++) {
    float t = p[i] * g + c;
    acc += t > 0.0f ? (int32_t)t : 0;
  }
  return (float)acc;
}

/* The coordinate of largest (sign 1) or smallest (sign -1, only where
 * m_i > 0) rounding remainder g p_i + c - m_i, the lowest on a tie: where
 * the rounding most nearly gave one pulse more, or least deserved the
 * last one. */
static uint32_t remainder_pick(const float *p, const float *m, uint32_t n,
                               float g, float c, float sign) {
  float bv[4], low = sign > 0 ? -1.0f : 0.5f;
  int32_t bi[4] = {-1, -1, -1, -1};
  uint32_t i = 0, l, b = 4;
#if defined(__GNUC__)
  /* the largest with the lowest index is the same whatever the order of
   * the comparisons: two sets of lanes, merged by value then index */
  v4f vb = V4(-HUGE_VALF), wb = vb;
  v4i vi = {-1, -1, -1, -1}, wi = vi, idx = {0, 1, 2, 3};
  const v4f vg = V4(g), vc = V4(c), vs = V4(sign), vlow = V4(low);
  for (; i + 8 <= n; i += 8) {
    v4f mv = v4_load(m + i), mw = v4_load(m + i + 4);
    v4f r = vs * (v4_load(p + i) * vg + vc - mv);
    v4f u = vs * (v4_load(p + i + 4) * vg + vc - mw);
    v4i take = (r > vb) & (mv > vlow), wtake = (u > wb) & (mw > vlow);
    vb = v4_select(take, r, vb);
    vi = v4i_select(take, idx, vi);
    wb = v4_select(wtake, u, wb);
    wi = v4i_select(wtake, idx + 4, wi);
    idx += 8;
  }
  for (; i + 4 <= n; i += 4) {
    v4f mv = v4_load(m + i);
    v4f r = vs * (v4_load(p + i) * vg + vc - mv);
    v4i take = (r > vb) & (mv > vlow);
    vb = v4_select(take, r, vb);
    vi = v4i_select(take, idx, vi);
    idx += 4;
  }
  {
    v4i w = (wi >= 0) & ((vi < 0) | (wb > vb) | ((wb == vb) & (wi < vi)));
    vb = v4_select(w, wb, vb);
    vi = v4i_select(w, wi, vi);
  }
  v4_store(bv, vb);
  memcpy(bi, &vi, sizeof bi);
#else
  for (l = 0; l < 4; l++) bv[l] = -HUGE_VALF;
#endif
  for (; i < n; i++) {
    float r = sign * (p[i] * g + c - m[i]);
    if (m[i] > low && r > bv[i & 3]) bv[i & 3] = r, bi[i & 3] = (int32_t)i;
  }
  for (l = 0; l < 4; l++)
    if (bi[l] >= 0 && (b == 4 || bv[l] > bv[b] ||
                       (bv[l] == bv[b] && bi[l] < bi[b])))
      b = l;
  return b == 4 ? UINT32_MAX : (uint32_t)bi[b];
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

/* pick(.., 1) and pick(.., -1) in one pass: *add where a pulse more
 * gains most, *del where a pulse less costs least. */
static void pick_both(const float *p, const float *m, uint32_t n, float xy,
                      float yy, uint32_t *add, uint32_t *del) {
  float an[4] = {-1.0f, -1.0f, -1.0f, -1.0f}, ad[4] = {1.0f, 1.0f, 1.0f, 1.0f};
  float dn[4] = {-1.0f, -1.0f, -1.0f, -1.0f}, dd[4] = {1.0f, 1.0f, 1.0f, 1.0f};
  int32_t ai[4] = {-1, -1, -1, -1}, di[4] = {-1, -1, -1, -1};
  uint32_t i = 0;
#if defined(__GNUC__)
  v4f van = V4(-1.0f), vad = V4(1.0f), vdn = van, vdd = vad;
  v4i vai = {-1, -1, -1, -1}, vdi = vai, idx = {0, 1, 2, 3};
  const v4f vxy = V4(xy), vyy = V4(yy + 1.0f), two = V4(2.0f);
  for (; i + 4 <= n; i += 4) {
    v4f mv = v4_load(m + i), pv = v4_load(p + i);
    v4f t = vxy + pv, u = vxy - pv;
    v4f num = t * t, den = vyy + two * mv, unum = u * u, uden = vyy - two * mv;
    v4i take = num * vad > van * den;
    v4i utake = (unum * vdd > vdn * uden) & (mv > V4(0.5f));
    van = v4_select(take, num, van);
    vad = v4_select(take, den, vad);
    vai = v4i_select(take, idx, vai);
    vdn = v4_select(utake, unum, vdn);
    vdd = v4_select(utake, uden, vdd);
    vdi = v4i_select(utake, idx, vdi);
    idx += 4;
  }
  v4_store(an, van), v4_store(ad, vad), v4_store(dn, vdn), v4_store(dd, vdd);
  memcpy(ai, &vai, sizeof ai);
  memcpy(di, &vdi, sizeof di);
#endif
  for (; i < n; i++) {
    uint32_t l = i & 3;
    float t = xy + p[i], num = t * t, den = yy + 1.0f + 2.0f * m[i];
    float u = xy - p[i], unum = u * u, uden = yy + 1.0f - 2.0f * m[i];
    if (num * ad[l] > an[l] * den) an[l] = num, ad[l] = den, ai[l] = (int32_t)i;
    if (m[i] > 0.5f && unum * dd[l] > dn[l] * uden)
      dn[l] = unum, dd[l] = uden, di[l] = (int32_t)i;
  }
  *add = pick_lanes(an, ad, ai);
  *del = pick_lanes(dn, dd, di);
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
  if (i + 1 == s->n || left == 0) { /* the rest all here, or all zero */
    double fxy = xy + a * left, fyy = yy + (double)left * left;
    memset(s->cur + i, 0, (s->n - i) * sizeof *s->cur);
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

/* The offset c that makes project(g, c) place k pulses, to within
 * CLOSE_ENOUGH: counting passes, c interpolated in a bracket once both
 * sides are known (with c >= 0 every coordinate gains a pulse per unit
 * of c, so n per unit is the first guess). Returns c; *placed is the
 * count at c. */
static float offset_for(const float *p, uint32_t n, float g, float fk,
                        float c, float *placed) {
  float cnt = *placed, lo = 0.0f, clo = 0.0f, hi = 0.0f, chi = 0.0f;
  float best = c, bcnt = cnt, stride = 0.25f;
  int has_lo = 0, has_hi = 0;
  uint32_t pass;
  for (pass = 0; pass < OFFSET_PASSES; pass++) {
    if (cnt <= fk) lo = c, clo = cnt, has_lo = 1;
    else hi = c, chi = cnt, has_hi = 1;
    if (has_lo && has_hi) {
      /* counts far apart (few pulses against many: a steep tail of the
       * magnitudes) are interpolated in the logarithm of the count */
      if (chi + 1.0f > 4.0f * (clo + 1.0f))
        c = lo + (hi - lo) * approx_log2((fk + 1.0f) / (clo + 1.0f)) /
                     approx_log2((chi + 1.0f) / (clo + 1.0f));
      else
        c = lo + (hi - lo) * (fk - clo) / (chi - clo);
      if (!(c > lo && c < hi)) c = 0.5f * (lo + hi);
    } else if (has_lo) {
      /* with k <= n, c = 1 gives every coordinate one pulse more than
       * c = 0 does: enough */
      c = fk <= (float)n && c < 1.0f ? 1.0f : c + stride;
      stride *= 2.0f;
    } else {
      c -= stride;
      stride *= 2.0f;
    }
    cnt = count(p, n, g, c);
    if (fabsf(cnt - fk) < fabsf(bcnt - fk)) best = c, bcnt = cnt;
    if (fabsf(bcnt - fk) <= CLOSE_ENOUGH) break;
  }
  *placed = bcnt;
  return best;
}

/* Whether m is already floor(max(g p_i + c, 0)) for some c: the largest
 * m_i - g p_i where m_i > 0 below the smallest m_i + 1 - g p_i. Then a
 * projection at gain g placing as many pulses gives m again. */
static int consistent(const float *p, const float *m, uint32_t n, float g) {
  float lo[4] = {-HUGE_VALF, -HUGE_VALF, -HUGE_VALF, -HUGE_VALF};
  float hi[4] = {HUGE_VALF, HUGE_VALF, HUGE_VALF, HUGE_VALF}, l, h;
  uint32_t i = 0, j;
#if defined(__GNUC__)
  /* largest and smallest are exact in any order: two sets of lanes, so
   * that the compare-and-select chains are half as long; */
  v4f vl = V4(-HUGE_VALF), vh = V4(HUGE_VALF), wl = vl, wh = vh;
  const v4f vg = V4(g);
  for (; i + 8 <= n; i += 8) {
    v4f mv = v4_load(m + i), d = mv - vg * v4_load(p + i);
    v4f mw = v4_load(m + i + 4), dw = mw - vg * v4_load(p + i + 4);
    vl = v4_select((d > vl) & (mv > V4(0.5f)), d, vl);
    vh = v4_select(d < vh, d, vh);
    wl = v4_select((dw > wl) & (mw > V4(0.5f)), dw, wl);
    wh = v4_select(dw < wh, dw, wh);
  }
  for (; i + 4 <= n; i += 4) {
    v4f mv = v4_load(m + i), d = mv - vg * v4_load(p + i);
    vl = v4_select((d > vl) & (mv > V4(0.5f)), d, vl);
    vh = v4_select(d < vh, d, vh);
  }
  vl = v4_select(wl > vl, wl, vl);
  vh = v4_select(wh < vh, wh, vh);
  /* min (d_i + 1) = (min d_i) + 1: rounding is monotonic */
  v4_store(lo, vl), v4_store(hi, vh + V4(1.0f));
#endif
  for (; i < n; i++) {
    float d = m[i] - g * p[i], e = d + 1.0f;
    if (m[i] > 0.5f && d > lo[i & 3]) lo[i & 3] = d;
    if (e < hi[i & 3]) hi[i & 3] = e;
  }
  l = lo[0], h = hi[0];
  for (j = 1; j < 4; j++) {
    if (lo[j] > l) l = lo[j];
    if (hi[j] < h) h = hi[j];
  }
  return l < h;
}

/* One pulse moved from where removing it costs least to where adding
 * one gains most, when that raises xy / sqrt(yy). Returns 0 when no move
 * does. */
static int swap_step(float *m, const float *p, uint32_t n, double *xy,
                     double *yy) {
  uint32_t i, j;
  double nxy, nyy;
  pick_both(p, m, n, (float)*xy, (float)*yy, &i, &j);
  if (i == UINT32_MAX || j == UINT32_MAX || i == j) return 0;
  nxy = *xy + p[i] - p[j];
  nyy = *yy + 2.0 * (m[i] - m[j]) + 2.0;
  if (!(nxy > 0 && nxy * nxy * *yy > *xy * *xy * nyy)) return 0;
  m[i] += 1.0f, m[j] -= 1.0f;
  *xy = nxy, *yy = nyy;
  return 1;
}

/* Places k pulses on the magnitudes p (summing to k) in m. */
static void place(float *m, const float *p, const float *x, uint32_t n,
                  uint32_t k, unsigned flags) {
  float fk = (float)k, g = 1.0f, fxy, fyy;
  double xy = 0.0, yy = 0.0;
  uint32_t round, i;
  for (round = 0; round < ROUNDS; round++) {
    float c = 0.5f, placed = count(p, n, g, c);
    if (fabsf(placed - fk) > CLOSE_ENOUGH)
      c = offset_for(p, n, g, fk, c, &placed);
    placed = project(m, p, n, g, c, &fxy, &fyy);
    xy = fxy, yy = fyy;
    for (; placed != fk; placed += placed < fk ? 1.0f : -1.0f) {
      float sign = placed < fk ? 1.0f : -1.0f;
      i = remainder_pick(p, m, n, g, c, sign);
      if (i == UINT32_MAX) i = 0; /* not reached with finite p */
      xy += sign * p[i];
      yy += sign * 2.0 * m[i] + 1.0;
      m[i] += sign;
    }
    if (!(xy > 0.0)) break;
    g = (float)(yy / xy); /* the gain of the codeword found */
    /* another round at this gain would give the same codeword; the
     * check costs a pass and mostly fails when pulses outnumber a
     * quarter of the coordinates */
    if (round + 1 < ROUNDS && 4 * k <= n && consistent(p, m, n, g)) break;
  }
  for (i = 0; i < SWAPS && swap_step(m, p, n, &xy, &yy); i++) continue;
  if ((flags & VQ_PVQ_REFINE) && k > 1) {
    double dxy = 0.0, dyy = 0.0;
    for (i = 0; i < n; i++) {
      dxy += fabs((double)x[i]) * m[i];
      dyy += (double)m[i] * m[i];
    }
    if (compositions(n, k) <= EXACT_MAX) {
      /* k >= 2 here, and C(n + 1, 2) <= EXACT_MAX means n < 256 */
      float cur[256];
      exact_state st;
      st.x = x, st.n = n, st.cur = cur, st.best = m, st.bxy = dxy;
      st.byy = dyy;
      exact_walk(&st, 0, k, 0.0, 0.0);
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

static int search(int32_t *y, double *corr, const float *x, uint32_t n,
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

static int search_rd(int32_t *y, uint32_t *k_used, double *corr,
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

/* ---- entry points ------------------------------------------------------- */

/* Each build names its own pair: vq_pvq_search_avx2_ and
 * vq_pvq_search_rd_avx2_, or the _generic_ ones (internal.h). */
#ifdef VQ_PVQ_AVX2_VARIANT
#define BUILD_NAME(f) f##_avx2_
#else
#define BUILD_NAME(f) f##_generic_
#endif

int BUILD_NAME(vq_pvq_search)(int32_t *y, double *corr, const float *x,
                              uint32_t n, uint32_t k, unsigned flags) {
  return search(y, corr, x, n, k, flags);
}

int BUILD_NAME(vq_pvq_search_rd)(int32_t *y, uint32_t *k_used,
                                 double *corr, const float *x, uint32_t n,
                                 uint32_t k, double lambda) {
  return search_rd(y, k_used, corr, x, n, k, lambda);
}

#ifndef VQ_PVQ_AVX2_VARIANT
/* The AVX2 build when the CPU has it, asked at every call (the library
 * keeps no global state; the probe reads what the runtime filled in at
 * start, a few loads). */
int vq_pvq_search(int32_t *y, double *corr, const float *x, uint32_t n,
                  uint32_t k, unsigned flags) {
#ifdef VQ_HAVE_AVX2
  if (vq_cpu_features() & VQ_CPU_AVX2)
    return vq_pvq_search_avx2_(y, corr, x, n, k, flags);
#endif
  return search(y, corr, x, n, k, flags);
}

int vq_pvq_search_rd(int32_t *y, uint32_t *k_used, double *corr,
                     const float *x, uint32_t n, uint32_t k, double lambda) {
#ifdef VQ_HAVE_AVX2
  if (vq_cpu_features() & VQ_CPU_AVX2)
    return vq_pvq_search_rd_avx2_(y, k_used, corr, x, n, k, lambda);
#endif
  return search_rd(y, k_used, corr, x, n, k, lambda);
}
#endif
