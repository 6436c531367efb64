/* Residual vector quantization: stage-wise k-means training, greedy and
 * beam-search encoding, prefix decoding.
 *
 * Stage s is trained by k-means on what stages 0..s-1 leave of the
 * training vectors (greedy codes). Greedy encoding runs the fast exact
 * search (search.c) on the residual matrix stage by stage. Beam search
 * keeps, for each vector, the B partial codes with the smallest residual
 * norms: at each stage every kept residual r is scored against every
 * codeword c as |r|^2 - 2 r.c + |c|^2, the best B of the B K candidates
 * survive (ties to the earlier candidate, then the lower index), and the
 * survivors' residuals are recomputed exactly. Vectors are independent,
 * so results do not depend on the thread count. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "vq/rvq.h"
#include "vq/search.h"
#include "internal.h"

int vq_rvq_params_init_(vq_rvq_params *p, uint32_t abi, uint32_t size) {
  if (abi != VQ_ABI_VERSION || size != sizeof(*p)) return VQ_ERR_ABI;
  memset(p, 0, sizeof *p);
  p->abi_ = abi;
  p->size_ = size;
  p->stages = 4;
  p->k = 256;
  p->iters = 25;
  p->seed = 1234;
  p->beam = 1;
  p->init = VQ_INIT_KMEANSPP;
  p->init_residual = VQ_INIT_RANDOM;
  p->init_per_centroid = 64;
  return VQ_OK;
}

static int check_shape(int stages, size_t k, size_t d, int beam) {
  if (stages < 1 || stages > VQ_RVQ_MAX_STAGES || k < 1 ||
      k > ((size_t)1 << 24) || d < 1 || beam < 1 || beam > VQ_RVQ_MAX_BEAM)
    return VQ_ERR_INVALID_ARG;
  return VQ_OK;
}

static double sq_norm(const float *v, size_t d) {
  double s = 0.0;
  size_t j;
  for (j = 0; j < d; j++) s += (double)v[j] * v[j];
  return s;
}

/* Greedy: each stage's nearest codeword to the running residual. res
 * (n x d) holds x on entry and the final residuals on exit. */
static int encode_greedy(int32_t *codes, float *res, const float *cb,
                         int stages, size_t k, size_t d, size_t n,
                         int nthreads) {
  int32_t *idx = vq_malloc_array(n ? n : 1, sizeof *idx);
  int s, rc = VQ_OK, nt = nthreads;
  if (!idx) return VQ_ERR_NOMEM;
#ifdef _OPENMP
  if (nt <= 0) nt = omp_get_max_threads();
#endif
  for (s = 0; s < stages && rc == VQ_OK; s++) {
    const float *c = cb + (size_t)s * k * d;
    long i;
    rc = vq_nearest(idx, NULL, c, k, d, res, n, nthreads);
    if (rc < 0) break;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
    for (i = 0; i < (long)n; i++) {
      const float *w = c + (size_t)idx[i] * d;
      float *r = res + (size_t)i * d;
      size_t j;
      for (j = 0; j < d; j++) r[j] -= w[j];
      codes[(size_t)i * stages + s] = idx[i];
    }
  }
  free(idx);
  (void)nt;
  return rc;
}

/* r . c in eight running float sums (a fixed order, so the same bits on
 * every run; compilers turn it into vector code), added in double. */
static double dot8(const float *r, const float *c, size_t d) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  double s = 0.0;
  size_t q, l;
  for (q = 0; q + 8 <= d; q += 8)
    for (l = 0; l < 8; l++) acc[l] += r[q + l] * c[q + l];
  for (; q < d; q++) acc[q & 7] += r[q] * c[q];
  for (l = 0; l < 8; l++) s += acc[l];
  return s;
}

/* dot8(r, c + i d, d) for the four codewords c .. c + 3 d at once, with
 * exactly dot8's arithmetic (lane l of each sums r[q + l] c[q + l] in q
 * order, the lanes then in order in double): the loads of r are shared
 * and the four sums do not wait on each other. */
static void dot8x4(double *out, const float *r, const float *c, size_t d) {
#if defined(__GNUC__)
  typedef float f4 __attribute__((vector_size(16)));
  f4 a[4][2], z = {0, 0, 0, 0};
  float lanes[8];
  size_t q, i, l;
  for (i = 0; i < 4; i++) a[i][0] = a[i][1] = z;
  for (q = 0; q + 8 <= d; q += 8) {
    f4 r0, r1;
    memcpy(&r0, r + q, sizeof r0);
    memcpy(&r1, r + q + 4, sizeof r1);
    for (i = 0; i < 4; i++) {
      f4 c0, c1;
      memcpy(&c0, c + i * d + q, sizeof c0);
      memcpy(&c1, c + i * d + q + 4, sizeof c1);
      a[i][0] += r0 * c0;
      a[i][1] += r1 * c1;
    }
  }
  for (i = 0; i < 4; i++) {
    double s = 0.0;
    size_t t;
    memcpy(lanes, &a[i][0], sizeof a[i][0]);
    memcpy(lanes + 4, &a[i][1], sizeof a[i][1]);
    for (t = q; t < d; t++) lanes[t & 7] += r[t] * c[i * d + t];
    for (l = 0; l < 8; l++) s += lanes[l];
    out[i] = s;
  }
#else
  size_t i;
  for (i = 0; i < 4; i++) out[i] = dot8(r, c + i * d, d);
#endif
}

typedef struct beam_cand {
  double score;
  int parent;
  int32_t code;
} beam_cand;

/* Scratch of one thread for beam search. */
typedef struct beam_work {
  float *res, *next;      /* B x d residuals, current and next */
  double *norm, *next_norm;
  int32_t *hist, *next_hist; /* B x stages codes */
  beam_cand *top;         /* B best candidates, sorted */
  double *xc;             /* with tables: x . c for every codeword */
  double *acc;            /* with tables: a stage's |c|^2 - 2 x . c */
  float *cross;           /* with tables: one candidate's cross terms */
} beam_work;

static void beam_free(beam_work *w) {
  free(w->res), free(w->next), free(w->norm), free(w->next_norm);
  free(w->hist), free(w->next_hist), free(w->top);
  free(w->xc), free(w->acc), free(w->cross);
}

static int beam_alloc(beam_work *w, int beam, int stages, size_t k,
                      size_t d, int tables) {
  memset(w, 0, sizeof *w);
  if (tables) {
    w->xc = vq_malloc_array((size_t)stages * k, sizeof *w->xc);
    w->acc = vq_malloc_array(k, sizeof *w->acc);
    w->cross = vq_malloc_array(k, sizeof *w->cross);
    if (!w->xc || !w->acc || !w->cross) {
      free(w->xc), free(w->acc), free(w->cross);
      return VQ_ERR_NOMEM;
    }
  }
  w->res = vq_malloc_array((size_t)beam * d, sizeof *w->res);
  w->next = vq_malloc_array((size_t)beam * d, sizeof *w->next);
  w->norm = vq_malloc_array((size_t)beam, sizeof *w->norm);
  w->next_norm = vq_malloc_array((size_t)beam, sizeof *w->next_norm);
  w->hist = vq_malloc_array((size_t)beam * stages, sizeof *w->hist);
  w->next_hist = vq_malloc_array((size_t)beam * stages, sizeof *w->hist);
  w->top = vq_malloc_array((size_t)beam, sizeof *w->top);
  if (!w->res || !w->next || !w->norm || !w->next_norm || !w->hist ||
      !w->next_hist || !w->top ||
      (tables && (!w->xc || !w->acc || !w->cross))) {
    beam_free(w);
    return VQ_ERR_NOMEM;
  }
  return VQ_OK;
}

/* Inserts (score, parent, code) into the sorted list top[0..*m) of at
 * most cap entries; an equal score stays behind the entries already in. */
static void beam_insert(beam_cand *top, int *m, int cap, double score,
                        int parent, int32_t code) {
  int i;
  if (*m == cap && score >= top[cap - 1].score) return;
  i = *m < cap ? (*m)++ : cap - 1;
  while (i > 0 && top[i - 1].score > score) {
    top[i] = top[i - 1];
    i--;
  }
  top[i].score = score, top[i].parent = parent, top[i].code = code;
}

/* acc[j] += row[j], four lanes at a time where the compiler has vector
 * extensions; each element the same operation either way. */
static void add_row(float *acc, const float *row, size_t k) {
  size_t j = 0;
#if defined(__GNUC__)
  typedef float f4 __attribute__((vector_size(16)));
  for (; j + 8 <= k; j += 8) {
    f4 a0, a1, r0, r1;
    memcpy(&a0, acc + j, sizeof a0);
    memcpy(&a1, acc + j + 4, sizeof a1);
    memcpy(&r0, row + j, sizeof r0);
    memcpy(&r1, row + j + 4, sizeof r1);
    a0 += r0, a1 += r1;
    memcpy(acc + j, &a0, sizeof a0);
    memcpy(acc + j + 4, &a1, sizeof a1);
  }
#endif
  for (; j < k; j++) acc[j] += row[j];
}

/* Offset of the table of <c_t,a, c_s,j> (t < s) among all stage pairs. */
static size_t pair_offset(int t, int s, size_t k) {
  return ((size_t)s * (size_t)(s - 1) / 2 + (size_t)t) * k * k;
}

/* With tables, r_b . c_j = x . c_j - sum over the stages t before s of
 * <c_t (the candidate's code), c_j>: K additions per stage before, not a
 * d-long dot product. The score |r_b - c_j|^2 is then |r_b|^2 +
 * (|c_j|^2 - 2 x . c_j), the same for every candidate of the stage, plus
 * twice the cross terms (summed in float, as the tables hold them). */
static void encode_beam_one(beam_work *w, int32_t *codes, float *err,
                            const float *x, const float *cb,
                            const double *cnorm, const float *ip, int stages,
                            size_t k, size_t d, int beam) {
  int s, live = 1, b, t, best = 0;
  size_t j;
  memcpy(w->res, x, d * sizeof *x);
  w->norm[0] = sq_norm(x, d);
  if (ip) {
    size_t all = (size_t)stages * k;
    for (j = 0; j + 4 <= all; j += 4) dot8x4(w->xc + j, x, cb + j * d, d);
    for (; j < all; j++) w->xc[j] = dot8(x, cb + j * d, d);
  }
  for (s = 0; s < stages; s++) {
    const float *c = cb + (size_t)s * k * d;
    const double *cn = cnorm + (size_t)s * k;
    int m = 0;
    for (b = 0; b < live; b++) {
      const float *r = w->res + (size_t)b * d;
      if (ip) {
        const double *base = w->acc;
        float *cr = w->cross;
        if (b == 0) { /* once per stage: |c_j|^2 - 2 x . c_j */
          const double *xc = w->xc + (size_t)s * k;
          for (j = 0; j < k; j++) w->acc[j] = cn[j] - 2.0 * xc[j];
        }
        for (t = 0; t < s; t++) {
          const float *row = ip + pair_offset(t, s, k) +
                             (size_t)w->hist[(size_t)b * stages + t] * k;
          if (t == 0) memcpy(cr, row, k * sizeof *cr);
          else add_row(cr, row, k);
        }
        for (j = 0; j < k; j++) {
          double score = w->norm[b] + base[j] +
                         (s ? 2.0 * (double)cr[j] : 0.0);
          /* most candidates lose to the current B-th: one compare */
          if (m < beam || score < w->top[beam - 1].score)
            beam_insert(w->top, &m, beam, score, b, (int32_t)j);
        }
        continue;
      }
      for (j = 0; j < k; j++) {
        beam_insert(w->top, &m, beam,
                    w->norm[b] - 2.0 * dot8(r, c + j * d, d) + cn[j], b,
                    (int32_t)j);
      }
    }
    for (t = 0; t < m; t++) {
      const beam_cand *cd = &w->top[t];
      const float *r = w->res + (size_t)cd->parent * d;
      const float *cj = c + (size_t)cd->code * d;
      float *nr = w->next + (size_t)t * d;
      size_t q;
      (void)j;
      for (q = 0; q < d; q++) nr[q] = r[q] - cj[q];
      w->next_norm[t] = sq_norm(nr, d);
      if (s) memcpy(w->next_hist + (size_t)t * stages,
                    w->hist + (size_t)cd->parent * stages,
                    (size_t)s * sizeof *w->hist);
      w->next_hist[(size_t)t * stages + s] = cd->code;
    }
    live = m;
    {
      float *f = w->res;
      double *g = w->norm;
      int32_t *h = w->hist;
      w->res = w->next, w->next = f;
      w->norm = w->next_norm, w->next_norm = g;
      w->hist = w->next_hist, w->next_hist = h;
    }
  }
  for (t = 1; t < live; t++)
    if (w->norm[t] < w->norm[best]) best = t;
  memcpy(codes, w->hist + (size_t)best * stages,
         (size_t)stages * sizeof *codes);
  if (err) *err = (float)w->norm[best];
}

static int encode_beam(int32_t *codes, float *err, const float *cb,
                       int stages, size_t k, size_t d, const float *x,
                       size_t n, int beam, int nthreads) {
  double *cnorm = vq_malloc_array((size_t)stages * k, sizeof *cnorm);
  size_t j;
  int rc = VQ_OK, nt = nthreads;
  long i;
  float *ip = NULL;
  size_t pairs = (size_t)stages * (size_t)(stages - 1) / 2;
  if (!cnorm) return VQ_ERR_NOMEM;
  for (j = 0; j < (size_t)stages * k; j++) cnorm[j] = sq_norm(cb + j * d, d);
#ifdef _OPENMP
  if (nt <= 0) nt = omp_get_max_threads();
#endif
  /* codebook inner-product tables when they are small and pay: a cross
     term costs one addition against d multiply-adds */
  if (stages > 1 && d >= 8 && pairs * k * k <= ((size_t)1 << 25))
    ip = vq_malloc_array(pairs * k * k, sizeof *ip);
  if (ip) {
    long e;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
    for (e = 0; e < (long)(pairs * k); e++) {
      size_t pr = (size_t)e / k, a = (size_t)e % k, q;
      int s = 1, t;
      while ((size_t)s * (size_t)(s + 1) / 2 <= pr) s++;
      t = (int)(pr - (size_t)s * (size_t)(s - 1) / 2);
      for (q = 0; q < k; q++)
        ip[pair_offset(t, s, k) + a * k + q] =
            (float)dot8(cb + ((size_t)t * k + a) * d,
                        cb + ((size_t)s * k + q) * d, d);
    }
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
#endif
  {
    beam_work w;
    int ok = beam_alloc(&w, beam, stages, k, d, ip != NULL) == VQ_OK;
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 64)
#endif
    for (i = 0; i < (long)n; i++)
      if (ok)
        encode_beam_one(&w, codes + (size_t)i * stages, err ? err + i : NULL,
                        x + (size_t)i * d, cb, cnorm, ip, stages, k, d, beam);
    if (!ok) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
      rc = VQ_ERR_NOMEM;
    } else {
      beam_free(&w);
    }
  }
  (void)nt;
  free(cnorm);
  free(ip);
  return rc;
}

int vq_rvq_encode(int32_t *codes, float *err, const float *codebooks,
                  int stages, size_t k, size_t d, const float *x, size_t n,
                  int beam, int nthreads) {
  int rc;
  if (check_shape(stages, k, d, beam) < 0 || !codebooks || (n && (!x ||
      !codes)))
    return VQ_ERR_INVALID_ARG;
  if (beam > 1)
    return encode_beam(codes, err, codebooks, stages, k, d, x, n, beam,
                       nthreads);
  {
    float *res = vq_malloc_array(n > 0 ? n * d : 1, sizeof *res);
    size_t i;
    if (!res) return VQ_ERR_NOMEM;
    if (n) memcpy(res, x, n * d * sizeof *x);
    rc = encode_greedy(codes, res, codebooks, stages, k, d, n, nthreads);
    if (rc == VQ_OK && err)
      for (i = 0; i < n; i++) err[i] = (float)sq_norm(res + i * d, d);
    free(res);
  }
  return rc;
}

int vq_rvq_decode(float *out, const int32_t *codes, int stages, int use,
                  const float *codebooks, size_t k, size_t d, size_t n) {
  size_t i, j;
  int s;
  if (check_shape(stages, k, d, 1) < 0 || use < 1 || use > stages ||
      !codebooks || (n && (!out || !codes)))
    return VQ_ERR_INVALID_ARG;
  for (i = 0; i < n * (size_t)stages; i++)
    if (codes[i] < 0 || (size_t)codes[i] >= k) return VQ_ERR_INVALID_ARG;
  for (i = 0; i < n; i++) {
    float *o = out + i * d;
    memset(o, 0, d * sizeof *o);
    for (s = 0; s < use; s++) {
      const float *c = codebooks +
                       ((size_t)s * k + (size_t)codes[i * stages + s]) * d;
      for (j = 0; j < d; j++) o[j] += c[j];
    }
  }
  return VQ_OK;
}

#define REFINE_CG_ITERS 25

/* Mean squared error per component of the codes of x (beam encoding);
 * codes gets them. */
static int code_error(double *mse, int32_t *codes, const float *cb,
                      int stages, size_t k, size_t d, const float *x,
                      size_t n, int beam, int nthreads) {
  float *err = vq_malloc_array(n, sizeof *err);
  double sse = 0.0;
  size_t i;
  int rc;
  if (!err) return VQ_ERR_NOMEM;
  rc = vq_rvq_encode(codes, err, cb, stages, k, d, x, n, beam, nthreads);
  for (i = 0; rc == VQ_OK && i < n; i++) sse += err[i];
  *mse = sse / ((double)n * (double)d);
  free(err);
  return rc;
}

/* Rounds of least squares + re-encoding, each kept only when it lowers
 * the error. */
static int refine_rounds(float *cb, vq_rvq_stats *st, const vq_rvq_params *p,
                         const float *x, size_t n, size_t d) {
  size_t size = (size_t)p->stages * p->k * d;
  float *trial = vq_malloc_array(size, sizeof *trial);
  int32_t *codes = vq_malloc_array(n * (size_t)p->stages, sizeof *codes);
  int32_t *next = vq_malloc_array(n * (size_t)p->stages, sizeof *next);
  double cur, mse;
  int r, rc;
  if (!trial || !codes || !next) {
    free(trial), free(codes), free(next);
    return VQ_ERR_NOMEM;
  }
  rc = code_error(&cur, codes, cb, p->stages, p->k, d, x, n, p->beam,
                  p->nthreads);
  st->mse_before_refine = cur;
  for (r = 0; rc == VQ_OK && r < p->refine; r++) {
    memcpy(trial, cb, size * sizeof *cb);
    rc = vq_rvq_refine(trial, codes, p->stages, p->k, d, x, n,
                       REFINE_CG_ITERS, p->nthreads);
    if (rc == VQ_OK)
      rc = code_error(&mse, next, trial, p->stages, p->k, d, x, n, p->beam,
                      p->nthreads);
    if (rc < 0 || !(mse < cur)) break;
    memcpy(cb, trial, size * sizeof *cb);
    memcpy(codes, next, n * (size_t)p->stages * sizeof *codes);
    cur = mse;
    st->refine_rounds++;
  }
  st->mse = cur;
  free(trial), free(codes), free(next);
  return rc;
}

int vq_rvq_train(float *codebooks, vq_rvq_stats *stats,
                 const vq_rvq_params *p, const float *x, size_t n, size_t d,
                 vq_diag *diag) {
  vq_kmeans_params kp;
  vq_rvq_stats st;
  float *res;
  int32_t *codes = NULL;
  double t0 = vq_now(), sse;
  uint8_t *used = NULL;
  int s, rc;
  size_t i;
  if (!p || p->abi_ != VQ_ABI_VERSION || p->size_ != sizeof(*p))
    return vq_diag_set(diag, VQ_ERR_ABI, "RVQ parameters not set up by "
                       "vq_rvq_params_init()");
  if (check_shape(p->stages, p->k, d, p->beam) < 0 || p->refine < 0 ||
      p->refine > 1000)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "RVQ of %d stages of %lu "
                       "codewords, beam %d, dimension %lu: stages must be "
                       "1 to %d, beam 1 to %d", p->stages,
                       (unsigned long)p->k, p->beam, (unsigned long)d,
                       VQ_RVQ_MAX_STAGES, VQ_RVQ_MAX_BEAM);
  if ((rc = vq_kmeans_params_init(&kp)) < 0) return rc;
  kp.k = p->k;
  kp.iters = p->iters;
  kp.max_per_centroid = p->max_per_centroid;
  kp.init_per_centroid = p->init_per_centroid;
  kp.tol = p->tol;
  kp.min_share = p->min_share;
  kp.nthreads = p->nthreads;
  kp.progress = p->progress;
  kp.progress_user = p->progress_user;
  kp.simvq = p->simvq;
  if ((rc = vq_kmeans_params_check(&kp, n, d, diag)) < 0) return rc;
  memset(&st, 0, sizeof st);
  st.stages = p->stages;
  res = vq_malloc_array(n * d, sizeof *res);
  codes = vq_malloc_array(n * (size_t)p->stages, sizeof *codes);
  used = vq_malloc_array(p->k, 1);
  if (!res || !codes || !used) {
    rc = vq_diag_set(diag, VQ_ERR_NOMEM, "out of memory");
    goto done;
  }
  memcpy(res, x, n * d * sizeof *x);
  for (s = 0; s < p->stages; s++) {
    float *c = codebooks + (size_t)s * p->k * d;
    int32_t *one = codes + (size_t)s * n;
    kp.seed = p->seed + (uint64_t)s;
    kp.init = s == 0 ? p->init : p->init_residual;
    rc = vq_kmeans_train(c, NULL, &kp, res, n, d, NULL, diag);
    if (rc < 0) goto done;
    rc = encode_greedy(one, res, c, 1, p->k, d, n, p->nthreads);
    if (rc < 0) goto done;
    memset(used, 0, p->k);
    for (i = 0; i < n; i++) used[one[i]] = 1;
    for (i = 0, sse = 0.0; i < p->k; i++) sse += used[i];
    st.utilization[s] = sse / (double)p->k;
    for (i = 0, sse = 0.0; i < n; i++) sse += sq_norm(res + i * d, d);
    st.mse_stage[s] = sse / ((double)n * (double)d);
  }
  st.mse = st.mse_stage[p->stages - 1];
  st.mse_before_refine = st.mse;
  if (p->refine > 0) {
    rc = refine_rounds(codebooks, &st, p, x, n, d);
    if (rc < 0) {
      rc = vq_diag_set(diag, rc, "out of memory");
      goto done;
    }
  } else if (p->beam > 1) { /* the statistics of the code users will get */
    int32_t *all = vq_malloc_array(n * (size_t)p->stages, sizeof *all);
    rc = all ? code_error(&st.mse, all, codebooks, p->stages, p->k, d, x, n,
                          p->beam, p->nthreads)
             : VQ_ERR_NOMEM;
    free(all);
    if (rc < 0) {
      rc = vq_diag_set(diag, rc, "out of memory");
      goto done;
    }
    st.mse_before_refine = st.mse;
  }
  st.seconds = vq_now() - t0;
  if (stats) *stats = st;
done:
  free(res);
  free(codes);
  free(used);
  return rc;
}

/* ---- joint refinement ----------------------------------------------------
 * Least squares over all codebooks C (stages K x d) given the codes: A is
 * the n x (stages K) matrix with a one per stage in each row, and CGLS
 * minimises |X - A C|^2 starting from the current C. Products with A run
 * over vectors, products with A^T over columns (each thread owns whole
 * columns, summing vectors in order), and every reduction adds fixed
 * chunks in order: the same bits for any thread count. */

#define CHUNK 4096

/* Frobenius inner product of two n x d matrices. */
static double dot_chunked(const double *a, const double *b, size_t n,
                          size_t d, double *part, int nt) {
  long nc = (long)((n + CHUNK - 1) / CHUNK), c;
  double s = 0.0;
  (void)nt;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
  for (c = 0; c < nc; c++) {
    size_t i0 = (size_t)c * CHUNK * d, i1 = ((size_t)c + 1) * CHUNK * d, i;
    double t = 0.0;
    if (i1 > n * d) i1 = n * d;
    for (i = i0; i < i1; i++) t += a[i] * b[i];
    part[c] = t;
  }
  for (c = 0; c < nc; c++) s += part[c];
  return s;
}

/* out (n x d) = A m, m being (stages K) x d. */
static void apply_a(double *out, const double *m, const int32_t *codes,
                    int stages, size_t k, size_t d, size_t n, int nt) {
  long i;
  (void)nt;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
  for (i = 0; i < (long)n; i++) {
    double *o = out + (size_t)i * d;
    int s;
    size_t j;
    memset(o, 0, d * sizeof *o);
    for (s = 0; s < stages; s++) {
      const double *c = m + ((size_t)s * k +
                             (size_t)codes[(size_t)i * stages + s]) * d;
      for (j = 0; j < d; j++) o[j] += c[j];
    }
  }
}

/* out ((stages K) x d) = A^T r, r being n x d. */
static void apply_at(double *out, const double *r, const int32_t *codes,
                     int stages, size_t k, size_t d, size_t n, int nt) {
  long j;
  (void)nt;
  memset(out, 0, (size_t)stages * k * d * sizeof *out);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
  for (j = 0; j < (long)d; j++) {
    size_t i;
    int s;
    for (i = 0; i < n; i++)
      for (s = 0; s < stages; s++)
        out[((size_t)s * k + (size_t)codes[i * stages + s]) * d + j] +=
            r[i * d + (size_t)j];
  }
}

int vq_rvq_refine(float *codebooks, const int32_t *codes, int stages,
                  size_t k, size_t d, const float *x, size_t n, int iters,
                  int nthreads) {
  size_t mk = (size_t)stages * k, i;
  double *c, *p, *s, *r, *q, *part, gamma, alpha, beta, g2, qq;
  int it, nt = nthreads;
  if (check_shape(stages, k, d, 1) < 0 || iters < 0 || !codebooks ||
      (n && (!codes || !x)))
    return VQ_ERR_INVALID_ARG;
  for (i = 0; i < n * (size_t)stages; i++)
    if (codes[i] < 0 || (size_t)codes[i] >= k) return VQ_ERR_INVALID_ARG;
  if (!n || !iters) return VQ_OK;
#ifdef _OPENMP
  if (nt <= 0) nt = omp_get_max_threads();
#endif
  c = vq_malloc_array(mk * d, sizeof *c);
  p = vq_malloc_array(mk * d, sizeof *p);
  s = vq_malloc_array(mk * d, sizeof *s);
  r = vq_malloc_array(n * d, sizeof *r);
  q = vq_malloc_array(n * d, sizeof *q);
  part = vq_malloc_array((n > mk ? n : mk) / CHUNK + 2, sizeof *part);
  if (!c || !p || !s || !r || !q || !part) {
    free(c), free(p), free(s), free(r), free(q), free(part);
    return VQ_ERR_NOMEM;
  }
  for (i = 0; i < mk * d; i++) c[i] = codebooks[i];
  apply_a(q, c, codes, stages, k, d, n, nt);
  for (i = 0; i < n * d; i++) r[i] = x[i] - q[i];
  apply_at(s, r, codes, stages, k, d, n, nt);
  memcpy(p, s, mk * d * sizeof *p);
  gamma = dot_chunked(s, s, mk, d, part, 1);
  for (it = 0; it < iters && gamma > 0.0; it++) {
    apply_a(q, p, codes, stages, k, d, n, nt);
    qq = dot_chunked(q, q, n, d, part, nt);
    if (!(qq > 0.0)) break;
    alpha = gamma / qq;
    for (i = 0; i < mk * d; i++) c[i] += alpha * p[i];
    for (i = 0; i < n * d; i++) r[i] -= alpha * q[i];
    apply_at(s, r, codes, stages, k, d, n, nt);
    g2 = dot_chunked(s, s, mk, d, part, 1);
    beta = g2 / gamma;
    for (i = 0; i < mk * d; i++) p[i] = s[i] + beta * p[i];
    gamma = g2;
  }
  for (i = 0; i < mk * d; i++) codebooks[i] = (float)c[i];
  free(c), free(p), free(s), free(r), free(q), free(part);
  return VQ_OK;
}
