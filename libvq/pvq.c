/* Pyramid vector quantization: codeword counts, the index bijection and
 * the search.
 *
 * V(m, j), the number of integer vectors of dimension m with j pulses,
 * obeys V(m, j) = V(m - 1, j) + V(m, j - 1) + V(m - 1, j - 1) with
 * V(0, 0) = 1, V(0, j > 0) = 0. The index of y sums, over the
 * coordinates, how many codewords share y's earlier coordinates and put a
 * value earlier in the order 0, +1, -1, +2, -2, ... at this one; that
 * takes the row V(n - 1 - i, .) at coordinate i. Encoding walks the
 * coordinates from the last, so the rows are built upwards two at a time;
 * decoding walks from the first and steps the rows back down with the
 * recurrence solved for V(m - 1, .). Memory is O(k), time O(n k). */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "vq/pvq.h"
#include "internal.h"
#include "pvq_rc.h"

static int check_nk(uint32_t n, uint32_t k) {
  return n >= 1 && n <= VQ_PVQ_MAX_N && k <= VQ_PVQ_MAX_K ? VQ_OK
                                                           : VQ_ERR_INVALID_ARG;
}

static uint64_t sat_add(uint64_t a, uint64_t b) {
  return a + b < a ? UINT64_MAX : a + b;
}

/* row[0..k] := V(m + 1, .) from row = V(m, .), saturating at 2^64 - 1. */
static void row_step_up(uint64_t *row, uint32_t k) {
  uint64_t prev_old = row[0], left = 1; /* V(m, j - 1), V(m + 1, j - 1) */
  uint32_t j;
  row[0] = 1;
  for (j = 1; j <= k; j++) {
    uint64_t old = row[j];
    left = sat_add(sat_add(old, left), prev_old);
    row[j] = left;
    prev_old = old;
  }
}

/* row[0..k] := V(m - 1, .) from row = V(m, .) (exact values only). */
static void row_step_down(uint64_t *row, uint32_t k) {
  uint64_t prev_old = row[0], left = 1; /* V(m, j - 1), V(m - 1, j - 1) */
  uint32_t j;
  row[0] = 1;
  for (j = 1; j <= k; j++) {
    uint64_t old = row[j];
    left = old - prev_old - left;
    row[j] = left;
    prev_old = old;
  }
}

/* row := V(m, 0..k); returns -1 when V(m, k) saturates (stops early). */
static int row_build(uint64_t *row, uint32_t m, uint32_t k) {
  uint32_t i;
  memset(row, 0, ((size_t)k + 1) * sizeof *row);
  row[0] = 1;
  for (i = 0; i < m; i++) {
    row_step_up(row, k);
    if (row[k] == UINT64_MAX) return -1;
  }
  return 0;
}

int vq_pvq_count(uint64_t *v, uint32_t n, uint32_t k) {
  uint64_t *row;
  int rc = check_nk(n, k);
  *v = 0;
  if (rc < 0) return rc;
  row = vq_malloc_array((size_t)k + 1, sizeof *row);
  if (!row) return VQ_ERR_NOMEM;
  rc = row_build(row, n, k) < 0 ? VQ_ERR_LIMIT : VQ_OK;
  *v = rc == VQ_OK ? row[k] : UINT64_MAX;
  free(row);
  return rc;
}

/* log C(a, b) through lgamma. */
static double log_binom(double a, double b) {
  return lgamma(a + 1.0) - lgamma(b + 1.0) - lgamma(a - b + 1.0);
}

/* V(n, k) = sum over i = 1..min(n, k) of 2^i C(n, i) C(k - 1, i - 1): the
 * i nonzero coordinates, their signs, and k split into i positive parts.
 * Summed in the log domain around its largest term. */
double vq_pvq_bits(uint32_t n, uint32_t k) {
  uint64_t v;
  uint32_t i, m;
  double mx = -HUGE_VAL, sum = 0.0, t;
  if (check_nk(n, k) < 0 || k == 0) return 0.0;
  if (vq_pvq_count(&v, n, k) == VQ_OK) return log2((double)v);
  m = n < k ? n : k;
  for (i = 1; i <= m; i++) {
    t = i * log(2.0) + log_binom(n, i) + log_binom(k - 1.0, i - 1.0);
    if (t > mx) mx = t;
  }
  for (i = 1; i <= m; i++)
    sum += exp(i * log(2.0) + log_binom(n, i) + log_binom(k - 1.0, i - 1.0) -
               mx);
  return (mx + log(sum)) / log(2.0);
}

uint32_t vq_pvq_k_for_bits(uint32_t n, double bits) {
  uint32_t lo = 0, hi = VQ_PVQ_MAX_K;
  if (check_nk(n, 0) < 0 || !(bits > 0.0)) return 0;
  while (lo < hi) { /* bits grow with k: the last k within budget */
    uint32_t mid = lo + (hi - lo + 1) / 2;
    if (vq_pvq_bits(n, mid) <= bits) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

static int pulses_ok(const int32_t *y, uint32_t n, uint32_t k) {
  uint64_t s = 0;
  uint32_t i;
  for (i = 0; i < n; i++) {
    if (y[i] < -(int32_t)VQ_PVQ_MAX_K || y[i] > (int32_t)VQ_PVQ_MAX_K)
      return 0;
    s += (uint64_t)(y[i] < 0 ? -(int64_t)y[i] : y[i]);
  }
  return s == k;
}

int vq_pvq_index(uint64_t *index, const int32_t *y, uint32_t n, uint32_t k) {
  uint64_t *row, idx = 0;
  uint32_t *left, i, used = 0;
  int rc = check_nk(n, k);
  *index = 0;
  if (rc < 0) return rc;
  if (!y || !pulses_ok(y, n, k)) return VQ_ERR_INVALID_ARG;
  row = vq_malloc_array((size_t)k + 1, sizeof *row);
  left = vq_malloc_array(n, sizeof *left);
  if (!row || !left) {
    free(row), free(left);
    return VQ_ERR_NOMEM;
  }
  rc = row_build(row, n, k) < 0 ? VQ_ERR_LIMIT : VQ_OK;
  for (i = 0; i < n; i++) { /* pulses left at coordinate i, itself incl. */
    left[i] = k - used;
    used += (uint32_t)(y[i] < 0 ? -y[i] : y[i]);
  }
  if (rc == VQ_OK) {
    memset(row, 0, ((size_t)k + 1) * sizeof *row);
    row[0] = 1; /* V(0, .) */
    for (i = n; i-- > 0;) {
      uint32_t kk = left[i], a = (uint32_t)(y[i] < 0 ? -y[i] : y[i]), b;
      if (a) {
        idx += row[kk];
        for (b = 1; b < a; b++) idx += 2 * row[kk - b];
        if (y[i] < 0) idx += row[kk - a];
      }
      row_step_up(row, k);
    }
    *index = idx;
  }
  free(row);
  free(left);
  return rc;
}

int vq_pvq_vector(int32_t *y, uint64_t index, uint32_t n, uint32_t k) {
  uint64_t *row;
  uint32_t i, kk = k;
  int rc = check_nk(n, k);
  if (rc < 0 || !y) return VQ_ERR_INVALID_ARG;
  row = vq_malloc_array((size_t)k + 1, sizeof *row);
  if (!row) return VQ_ERR_NOMEM;
  if (row_build(row, n, k) < 0) {
    free(row);
    return VQ_ERR_LIMIT;
  }
  if (index >= row[k]) {
    free(row);
    return VQ_ERR_INVALID_ARG;
  }
  row_step_down(row, k); /* V(n - 1, .) */
  for (i = 0; i < n; i++) {
    int32_t v = 0;
    if (index >= row[kk]) {
      uint32_t a;
      index -= row[kk];
      for (a = 1; a <= kk; a++) {
        uint64_t c = row[kk - a];
        if (index < 2 * c) {
          v = index < c ? (int32_t)a : -(int32_t)a;
          if (index >= c) index -= c;
          break;
        }
        index -= 2 * c;
      }
    }
    y[i] = v;
    kk -= (uint32_t)(v < 0 ? -v : v);
    if (i + 1 < n) row_step_down(row, kk);
  }
  free(row);
  return VQ_OK;
}

/* ---- through the range coder ------------------------------------------- */

int vq_pvq_write(vq_rc_enc *e, const int32_t *y, uint32_t n, uint32_t k) {
  uint64_t v, index;
  uint32_t n1, k1 = 0, i;
  int rc = vq_pvq_count(&v, n, k);
  if (rc == VQ_OK) {
    if ((rc = vq_pvq_index(&index, y, n, k)) < 0) return rc;
    vq_rc_enc_uint(e, index, v);
    return VQ_OK;
  }
  if (rc != VQ_ERR_LIMIT) return rc;
  n1 = n / 2; /* n >= 2 here: V(1, k) = 2 */
  for (i = 0; i < n1; i++) k1 += (uint32_t)(y[i] < 0 ? -y[i] : y[i]);
  if (k1 > k) return VQ_ERR_INVALID_ARG;
  vq_rc_enc_uint(e, k1, (uint64_t)k + 1);
  if ((rc = vq_pvq_write(e, y, n1, k1)) < 0) return rc;
  return vq_pvq_write(e, y + n1, n - n1, k - k1);
}

int vq_pvq_read(vq_rc_dec *d, int32_t *y, uint32_t n, uint32_t k) {
  uint64_t v;
  uint32_t n1, k1;
  int rc = vq_pvq_count(&v, n, k);
  if (rc == VQ_OK) {
    uint64_t index = vq_rc_dec_uint(d, v);
    return vq_pvq_vector(y, d->error ? 0 : index, n, k);
  }
  if (rc != VQ_ERR_LIMIT) return rc;
  n1 = n / 2;
  k1 = (uint32_t)vq_rc_dec_uint(d, (uint64_t)k + 1);
  if ((rc = vq_pvq_read(d, y, n1, k1)) < 0) return rc;
  return vq_pvq_read(d, y + n1, n - n1, k - k1);
}
