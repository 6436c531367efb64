/* libvq: product quantization (PQ) and optimised PQ (OPQ).
 *
 * A vector of dimension d is cut into m sub-vectors of d / m components,
 * each quantized by its own k-means codebook of k codewords: m indices a
 * vector, k^m codewords from m k stored ones. OPQ first rotates the
 * vectors by an orthogonal matrix R learnt with the codebooks (z = x R,
 * rows times R), so that the sub-spaces are where the energy and the
 * correlations are best split. */
#ifndef VQ_PQ_H
#define VQ_PQ_H

#include "common.h"
#include "kmeans.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VQ_PQ_MAX_M 256
#define VQ_PQ_MAX_K 65536u

typedef struct vq_pq_params {
  uint32_t abi_;          /* set by vq_pq_params_init(); do not touch */
  uint32_t size_;
  int m;                  /* sub-spaces, 1..VQ_PQ_MAX_M, dividing d
                             (default 8) */
  size_t k;               /* codewords per sub-space, 1..VQ_PQ_MAX_K
                             (default 256) */
  int iters;              /* k-means iterations per sub-space (default 25) */
  uint64_t seed;          /* default 1234; sub-space j uses seed + j */
  vq_kmeans_init init;    /* k-means seeding (default VQ_INIT_KMEANSPP) */
  size_t max_per_centroid;/* each sub-space's k-means trains on at most
                             k * max_per_centroid random vectors (default
                             256, as FAISS; 0 = all) */
  int opq;                /* OPQ rounds (0 = plain PQ, default): each
                             rotates the data, updates the codebooks by
                             opq_iters k-means iterations from where they
                             were, encodes, and solves the rotation that
                             best maps the data onto its reconstruction
                             (orthogonal Procrustes, an SVD) */
  int opq_iters;          /* k-means iterations per OPQ round (default 4;
                             the first round uses iters) */
  size_t opq_sample;      /* OPQ rounds use at most this many vectors, the
                             first ones of a fixed random permutation
                             (default 65536; 0 = all); the final codebooks
                             are trained on all */
  int nthreads;           /* <= 0: all cores (default 0) */
  vq_progress_fn progress;/* called after every k-means iteration */
  void *progress_user;
} vq_pq_params;

VQ_EXPORT int vq_pq_params_init_(vq_pq_params *p, uint32_t abi,
                                 uint32_t size);
#define vq_pq_params_init(p) \
  vq_pq_params_init_((p), VQ_ABI_VERSION, (uint32_t)sizeof(*(p)))

typedef struct vq_pq_stats {
  double mse;             /* mean squared error per component, all n (the
                             sub-spaces' k-means statistics) */
  double utilization;     /* mean share of each sub-space's codewords used */
  int opq_rounds;         /* OPQ rounds run */
  double orthogonality;   /* max |R^T R - I| (0 without OPQ) */
  double seconds;
} vq_pq_stats;

/* Trains the m codebooks, stored one after another: codebooks holds
 * m * k * (d / m) floats. rotation: d * d floats, written when p->opq > 0
 * (may be NULL otherwise). Errors as vq_kmeans_train(); VQ_ERR_INVALID_ARG
 * when m does not divide d or k > n. Bit-identical for any nthreads. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_pq_train(
    float *codebooks, float *rotation, vq_pq_stats *stats,
    const vq_pq_params *p, const float *x, size_t n, size_t d,
    vq_diag *diag);

/* Codes [n, m] of x [n, d]: for each sub-space the nearest codeword of
 * the (rotated, when rotation is not NULL) sub-vector. err (may be NULL)
 * receives each vector's squared error, the sum of the sub-spaces'
 * squared distances as the search computes them (|z|^2 + |c|^2 - 2 z.c,
 * clamped at 0; in the rotated space, which keeps distances). */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_pq_encode(
    int32_t *codes, float *err, const float *codebooks,
    const float *rotation, int m, size_t k, size_t d, const float *x,
    size_t n, int nthreads);

/* The reconstruction [n, d] of codes [n, m] (rotated back). Codes out of
 * [0, k) are VQ_ERR_INVALID_ARG. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_pq_decode(
    float *x, const int32_t *codes, const float *codebooks,
    const float *rotation, int m, size_t k, size_t d, size_t n);

/* Asymmetric distance tables for search: tables [nq, m, k] with
 * tables[q][j][c] = |q_j - C_j[c]|^2 for the (rotated) sub-vectors of
 * the queries; the squared distance from query q to the reconstruction
 * of codes y is sum_j tables[q][j][y_j]. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_pq_distance_tables(
    float *tables, const float *codebooks, const float *rotation, int m,
    size_t k, size_t d, const float *q, size_t nq, int nthreads);

#ifdef __cplusplus
}
#endif
#endif /* VQ_PQ_H */
