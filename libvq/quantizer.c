/* Codebooks as quantizers: the kind and metadata decide between RVQ
 * (k-means is one stage) and PQ coding, with an optional PCA projector in
 * front. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "vq/quantizer.h"
#include "vq/pq.h"
#include "vq/projector.h"
#include "vq/rvq.h"
#include "internal.h"

struct vq_quantizer {
  const vq_codebook *cb;
  int stages, pq;
  size_t k, d;           /* d: the codewords' dimension (all m sub-spaces
                            together for PQ) */
  size_t din;            /* the vectors' (d without a projector) */
  const float *rot, *mean, *enc, *dec;
};

static int parse_count(const char *s, uint64_t max, uint64_t *out) {
  char *end;
  unsigned long long v;
  if (!s || !*s || *s == '-' || *s == '+' || *s == ' ') return -1;
  v = strtoull(s, &end, 10);
  if (*end || v < 1 || v > max) return -1;
  *out = v;
  return 0;
}

static int setup_pq(vq_quantizer *q, vq_diag *diag) {
  uint64_t m, k;
  size_t r;
  if (parse_count(vq_codebook_meta(q->cb, "pq.m"), VQ_PQ_MAX_M, &m) ||
      parse_count(vq_codebook_meta(q->cb, "pq.k"), VQ_PQ_MAX_K, &k) ||
      k * m != vq_codebook_k(q->cb))
    return vq_diag_set(diag, VQ_ERR_FORMAT, "pq.m and pq.k do not match "
                       "its %lu codewords",
                       (unsigned long)vq_codebook_k(q->cb));
  q->pq = 1, q->stages = (int)m, q->k = (size_t)k;
  q->d = q->din = vq_codebook_d(q->cb) * (size_t)m;
  q->rot = vq_codebook_rotation(q->cb, &r);
  if ((q->rot && r != q->d) ||
      (!q->rot && !strcmp(vq_codebook_kind(q->cb), "opq")))
    return vq_diag_set(diag, VQ_ERR_FORMAT, "an opq codebook needs a "
                       "rotation of %lu x %lu", (unsigned long)q->d,
                       (unsigned long)q->d);
  return VQ_OK;
}

/* The optional PCA projector: projector.mean [1, din], .encode [din, d]
 * and .decode [d, din]. */
static int setup_projector(vq_quantizer *q, vq_diag *diag) {
  size_t r[3], c[3];
  q->mean = vq_codebook_tensor(q->cb, "projector.mean", &r[0], &c[0]);
  q->enc = vq_codebook_tensor(q->cb, "projector.encode", &r[1], &c[1]);
  q->dec = vq_codebook_tensor(q->cb, "projector.decode", &r[2], &c[2]);
  if (!q->mean && !q->enc && !q->dec) return VQ_OK;
  if (!q->mean || !q->enc || !q->dec || r[0] != 1 ||
      c[0] > VQ_PCA_MAX_DIM || r[1] != c[0] || c[1] != q->d ||
      r[2] != q->d || c[2] != c[0] || q->d > c[0] || q->pq)
    return vq_diag_set(diag, VQ_ERR_FORMAT, "its projector tensors do not "
                       "fit together and with codewords of dimension %lu "
                       "(mean [1, D], encode [D, %lu], decode [%lu, D], "
                       "D >= %lu)", (unsigned long)q->d,
                       (unsigned long)q->d, (unsigned long)q->d,
                       (unsigned long)q->d);
  q->din = c[0];
  return VQ_OK;
}

int vq_quantizer_create(vq_quantizer **out, const vq_codebook *cb,
                        vq_diag *diag) {
  vq_quantizer *q;
  const char *kind;
  uint64_t st, k;
  int rc = VQ_OK;
  if (!out || !cb) return VQ_ERR_INVALID_ARG;
  *out = NULL;
  if (!(q = calloc(1, sizeof *q))) return VQ_ERR_NOMEM;
  q->cb = cb;
  kind = vq_codebook_kind(cb);
  q->d = q->din = vq_codebook_d(cb);
  if (!strcmp(kind, "pq") || !strcmp(kind, "opq")) {
    rc = setup_pq(q, diag);
  } else if (!strcmp(kind, "kmeans")) {
    q->stages = 1, q->k = vq_codebook_k(cb);
  } else if (!strcmp(kind, "rvq")) {
    if (parse_count(vq_codebook_meta(cb, "rvq.stages"), VQ_RVQ_MAX_STAGES,
                    &st) ||
        parse_count(vq_codebook_meta(cb, "rvq.k"), INT32_MAX, &k) ||
        st * k != vq_codebook_k(cb))
      rc = vq_diag_set(diag, VQ_ERR_FORMAT, "rvq.stages and rvq.k do not "
                       "match its %lu codewords",
                       (unsigned long)vq_codebook_k(cb));
    else
      q->stages = (int)st, q->k = (size_t)k;
  } else {
    rc = vq_diag_set(diag, VQ_ERR_FORMAT, "a %s codebook (kmeans, rvq, pq "
                     "and opq ones code vectors)", kind);
  }
  if (rc == VQ_OK) rc = setup_projector(q, diag);
  if (rc < 0) {
    free(q);
    return rc;
  }
  *out = q;
  return VQ_OK;
}

void vq_quantizer_destroy(vq_quantizer *q) { free(q); }
int vq_quantizer_stages(const vq_quantizer *q) { return q ? q->stages : 0; }
size_t vq_quantizer_k(const vq_quantizer *q) { return q ? q->k : 0; }
size_t vq_quantizer_dim(const vq_quantizer *q) { return q ? q->din : 0; }
int vq_quantizer_is_product(const vq_quantizer *q) { return q ? q->pq : 0; }

const float *vq_quantizer_stage_codewords(const vq_quantizer *q, int s,
                                          size_t *dim) {
  size_t d;
  if (!q || s < 0 || s >= q->stages) return NULL;
  d = vq_codebook_d(q->cb); /* d / m for product codebooks */
  if (dim) *dim = d;
  return vq_codebook_cdata(q->cb) + (size_t)s * q->k * d;
}

/* Through the projector: codes of z = project(x), errors of
 * unproject(decode(codes)) against x. */
static int proj_encode(const vq_quantizer *q, int32_t *codes, float *err,
                       const float *x, size_t n, int beam, int nt) {
  const float *cb = vq_codebook_cdata(q->cb);
  float *z = vq_malloc_array(n ? n : 1, q->d * sizeof *z);
  float *xr = err ? vq_malloc_array(n ? n : 1, q->din * sizeof *xr) : NULL;
  size_t i, j;
  int rc = z && (xr || !err) ? VQ_OK : VQ_ERR_NOMEM;
  if (rc == VQ_OK)
    rc = vq_project(z, x, n, q->din, q->d, q->mean, q->enc, nt);
  if (rc == VQ_OK)
    rc = vq_rvq_encode(codes, NULL, cb, q->stages, q->k, q->d, z, n, beam,
                       nt);
  if (rc == VQ_OK && err)
    rc = vq_rvq_decode(z, codes, q->stages, q->stages, cb, q->k, q->d, n);
  if (rc == VQ_OK && err)
    rc = vq_unproject(xr, z, n, q->din, q->d, q->mean, q->dec, nt);
  for (i = 0; rc == VQ_OK && err && i < n; i++) {
    double e = 0.0;
    for (j = 0; j < q->din; j++) {
      double t = (double)xr[i * q->din + j] - x[i * q->din + j];
      e += t * t;
    }
    err[i] = (float)e;
  }
  free(z), free(xr);
  return rc;
}

int vq_quantizer_encode(const vq_quantizer *q, int32_t *codes, float *err,
                        const float *x, size_t n, int beam, int nthreads) {
  if (!q || !codes || (!x && n)) return VQ_ERR_INVALID_ARG;
  if (q->pq) {
    if (beam != 1) return VQ_ERR_INVALID_ARG;
    return vq_pq_encode(codes, err, vq_codebook_cdata(q->cb), q->rot,
                        q->stages, q->k, q->d, x, n, nthreads);
  }
  if (q->mean) return proj_encode(q, codes, err, x, n, beam, nthreads);
  return vq_rvq_encode(codes, err, vq_codebook_cdata(q->cb), q->stages,
                       q->k, q->d, x, n, beam, nthreads);
}

int vq_quantizer_decode(const vq_quantizer *q, float *y,
                        const int32_t *codes, size_t n, int use,
                        int nthreads) {
  float *z;
  int rc;
  if (!q || !y || (!codes && n) || use < 1 || use > q->stages ||
      (q->pq && use != q->stages))
    return VQ_ERR_INVALID_ARG;
  if (q->pq)
    return vq_pq_decode(y, codes, vq_codebook_cdata(q->cb), q->rot,
                        q->stages, q->k, q->d, n);
  if (!q->mean)
    return vq_rvq_decode(y, codes, q->stages, use, vq_codebook_cdata(q->cb),
                         q->k, q->d, n);
  if (!(z = vq_malloc_array(n ? n : 1, q->d * sizeof *z)))
    return VQ_ERR_NOMEM;
  rc = vq_rvq_decode(z, codes, q->stages, use, vq_codebook_cdata(q->cb),
                     q->k, q->d, n);
  if (rc == VQ_OK)
    rc = vq_unproject(y, z, n, q->din, q->d, q->mean, q->dec, nthreads);
  free(z);
  return rc;
}
