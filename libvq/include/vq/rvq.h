/* libvq: residual vector quantization. M stages of K codewords each; a
 * vector is coded as one index per stage and reconstructed as the sum of
 * the chosen codewords, so any prefix of the stages is a coarser code of
 * the same vector. */
#ifndef VQ_RVQ_H
#define VQ_RVQ_H

#include "common.h"
#include "kmeans.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VQ_RVQ_MAX_STAGES 64
#define VQ_RVQ_MAX_BEAM 256

typedef struct vq_rvq_params {
  uint32_t abi_;          /* set by vq_rvq_params_init(); do not touch */
  uint32_t size_;
  int stages;             /* M, 1..VQ_RVQ_MAX_STAGES (default 4) */
  size_t k;               /* K codewords per stage (default 256) */
  int iters;              /* k-means iterations per stage (default 25) */
  uint64_t seed;          /* default 1234; stage s uses seed + s */
  int beam;               /* beam width B for the statistics' final
                             encoding (default 1 = greedy); each stage is
                             trained on greedy residuals */
  int refine;             /* rounds of joint refinement after the stages
                             are trained: all codebooks re-solved by least
                             squares given the codes, then every vector
                             re-encoded with the beam (default 0); a round
                             that does not lower the error is undone */
  size_t max_per_centroid;/* k-means subsampling cap (0 = all, default) */
  vq_kmeans_init init;    /* seeding of the first stage's k-means
                             (default VQ_INIT_KMEANSPP) */
  vq_kmeans_init init_residual; /* seeding of the later stages (default
                             VQ_INIT_RANDOM: residuals have heavy tails,
                             and k-means++ spends codewords on outlying
                             training residuals that new data does not
                             share; on 8 x 8 Kodak patches, 4 x 8 bits,
                             held-out MSE 102.7 against 108.0) */
  size_t init_per_centroid;/* k-means++ seeding subsample (default 64, as
                             vq_kmeans_params) */
  double tol;             /* k-means early stop (default 0) */
  int nthreads;           /* <= 0: all cores (default 0) */
  vq_progress_fn progress;/* called after every k-means iteration */
  void *progress_user;
  int simvq;              /* every stage a SimVQ-style reparameterised
                             codebook (vq_kmeans_params.simvq; default 0);
                             refinement frees the codewords again */
  double min_share;       /* every stage's k-means: vq_kmeans_params.
                             min_share (default 0) */
} vq_rvq_params;

VQ_EXPORT int vq_rvq_params_init_(vq_rvq_params *p, uint32_t abi,
                                  uint32_t size);
#define vq_rvq_params_init(p) \
  vq_rvq_params_init_((p), VQ_ABI_VERSION, (uint32_t)sizeof(*(p)))

typedef struct vq_rvq_stats {
  int stages;
  double mse;                               /* after all stages */
  double mse_stage[VQ_RVQ_MAX_STAGES];      /* after stages 1..s+1 */
  double utilization[VQ_RVQ_MAX_STAGES];    /* share of codewords used */
  double mse_before_refine;                 /* mse of the stage-wise codebooks
                                               (beam encoding) */
  int refine_rounds;                        /* refinement rounds kept */
  double seconds;
} vq_rvq_stats;

/* Trains M stages on x (n x d): stage s is k-means on the residuals the
 * stages before it leave. codebooks: output, M x K x d floats, stage by
 * stage. Bit-identical for any thread count. Errors as vq_kmeans_train()
 * (K > n, NaN/Inf, ...). */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_rvq_train(
    float *codebooks, vq_rvq_stats *stats, const vq_rvq_params *p,
    const float *x, size_t n, size_t d, vq_diag *diag);

/* Given the codes of n vectors, replaces the codebooks by the least-
 * squares solution of x = sum of the coded codewords (conjugate
 * gradients on the normal equations, iters steps from the current
 * codebooks; the error never grows). Bit-identical for any thread
 * count. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_rvq_refine(
    float *codebooks, const int32_t *codes, int stages, size_t k, size_t d,
    const float *x, size_t n, int iters, int nthreads);

/* Codes n vectors: codes gets n x stages indices (row-major). beam 1 is
 * greedy; wider beams keep the best `beam` partial codes at every stage
 * (ties to the lower index). When err is not NULL it gets, for each
 * vector, the squared error of its code. Bit-identical for any thread
 * count. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_rvq_encode(
    int32_t *codes, float *err, const float *codebooks, int stages,
    size_t k, size_t d, const float *x, size_t n, int beam, int nthreads);

/* Reconstructs n vectors from the first `use` of the `stages` indices of
 * each (0 < use <= stages): out is n x d. Indices outside [0, K) are
 * VQ_ERR_INVALID_ARG. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_rvq_decode(
    float *out, const int32_t *codes, int stages, int use,
    const float *codebooks, size_t k, size_t d, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* VQ_RVQ_H */
