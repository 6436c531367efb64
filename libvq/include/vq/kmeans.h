/* libvq: k-means codebook training. */
#ifndef VQ_KMEANS_H
#define VQ_KMEANS_H

#include "common.h"
#include "search.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vq_kmeans_init {
  VQ_INIT_KMEANSPP = 0,  /* greedy k-means++ with 2 + ln k local trials
                            (at most 16) */
  VQ_INIT_RANDOM = 1,    /* k distinct points drawn at random */
  VQ_INIT_GIVEN = 2      /* the centroids passed in (a warm start; with
                            nredo 1) */
} vq_kmeans_init;

typedef struct vq_kmeans_params {
  uint32_t abi_;          /* set by vq_kmeans_params_init(); do not touch */
  uint32_t size_;
  size_t k;               /* number of centroids (required, >= 1) */
  int iters;              /* Lloyd iterations (default 25) */
  vq_kmeans_init init;    /* default VQ_INIT_KMEANSPP */
  uint64_t seed;          /* default 1234 */
  int nredo;              /* restarts, keeping the lowest MSE (default 1) */
  double tol;             /* stop when the relative MSE decrease falls
                             below tol (default 0: run all iterations) */
  size_t max_per_centroid;/* train on a random subsample of at most
                             k * max_per_centroid points (0 = all, default) */
  size_t init_per_centroid;/* k-means++ seeds from a random subsample of
                             at most k * init_per_centroid points (0 = all;
                             default 64); the Lloyd iterations use all */
  int spherical;          /* cosine k-means on unit-normalised vectors with
                             unit-norm centroids; statistics are measured
                             on the normalised vectors (default 0) */
  int nthreads;           /* <= 0: all cores (default 0) */
  vq_kernel kernel;       /* search kernel (default AUTO) */
  vq_progress_fn progress;/* called after every iteration (may be NULL) */
  void *progress_user;
  int simvq;              /* SimVQ-style reparameterised codebook: the
                             centroids are C = [Z 1] W, Z the k initial
                             centroids (kept), W a (d + 1) x d affine map
                             re-solved by weighted least squares from the
                             assignments at every iteration, so that every
                             codeword moves, used or not, and none is
                             re-seeded. The codewords keep the spread of
                             their seeds: with VQ_INIT_RANDOM (seeds drawn
                             from the data) they follow its density, which
                             keeps them in use on new data at some cost in
                             error. Not with spherical. (default 0) */
  double min_share;       /* > 0: a cluster holding at most min_share times
                             the mean cluster weight is re-seeded, as empty
                             ones are, by splitting a heavy cluster (drawn
                             with probability proportional to its weight
                             above the mean; both centroids moved 1% of its
                             spread apart), in every iteration but the last
                             three. Fewer codewords then serve rare vectors
                             only, so more are used on new data. 0: only
                             empty clusters, moved onto the farthest
                             vectors. In [0, 1); not with simvq (default 0)
                             */
  const uint32_t *groups; /* with min_groups: the group of each training
                             vector (its source file or image), n ids
                             below n */
  int min_groups;         /* >= 2: a cluster no heavier than the mean whose
                             vectors come from fewer than min_groups
                             groups is re-seeded as light ones are (see
                             min_share), in every iteration but the last
                             three, so that codewords serve what several
                             sources share rather than one source's
                             particulars, and more of them are used on new
                             data. 0 or 1: off (default 0); not with
                             simvq */
} vq_kmeans_params;

/* Fills p with defaults. Returns VQ_ERR_ABI if the caller was compiled
 * against an incompatible header. Use the macro. */
VQ_EXPORT int vq_kmeans_params_init_(vq_kmeans_params *p, uint32_t abi,
                                     uint32_t size);
#define vq_kmeans_params_init(p) \
  vq_kmeans_params_init_((p), VQ_ABI_VERSION, (uint32_t)sizeof(*(p)))

/* Checks p against data of n vectors of dimension d. */
VQ_EXPORT int vq_kmeans_params_check(const vq_kmeans_params *p, size_t n,
                                     size_t d, vq_diag *diag);

/* Final statistics of a training run, measured on all n input vectors. */
typedef struct vq_kmeans_stats {
  double mse;             /* mean squared error per component */
  double sse;             /* total squared error (weighted) */
  double utilization;     /* share of centroids with at least one point */
  double perplexity;      /* exp(entropy of centroid usage) */
  double seconds;         /* wall time of the whole call */
  int iterations;         /* Lloyd iterations run in the kept restart */
  int best_redo;          /* restart that was kept, from 1 */
  size_t n_train;         /* vectors used for training (after subsampling) */
  size_t empty_reseeds;   /* empty clusters re-seeded in the kept restart */
} vq_kmeans_stats;

/* Trains k centroids on x (n x d, row-major float32).
 * centroids: output, k x d floats, caller-owned (with VQ_INIT_GIVEN also
 * the input: the starting centroids).
 * stats: output, may be NULL.
 * weights: optional per-vector non-negative weights (NULL: all 1).
 * Errors: VQ_ERR_INVALID_ARG for bad parameters (k > n, d = 0, ...),
 * VQ_ERR_NONFINITE if x or weights hold NaN/Inf, VQ_ERR_ABORTED when the
 * callback stops the run. The result is bit-identical for any nthreads.
 * When fewer than k distinct vectors exist, duplicate centroids result and
 * utilization reports it. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_kmeans_train(
    float *centroids, vq_kmeans_stats *stats, const vq_kmeans_params *p,
    const float *x, size_t n, size_t d, const float *weights,
    vq_diag *diag);

#ifdef __cplusplus
}
#endif
#endif /* VQ_KMEANS_H */
