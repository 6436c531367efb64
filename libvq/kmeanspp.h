/* Greedy k-means++ seeding (internal). */
#ifndef VQ_KMEANSPP_H
#define VQ_KMEANSPP_H

#include "internal.h"
#include "dsp/dist.h"

/* Chooses k centres among the n vectors x (n x d) by greedy k-means++ with
 * 2 + ln k trials per step (at most 16), sampling in proportion to
 * w * D^2 (w may be NULL). xnorm: squared norms of x. The result does not
 * depend on nthreads. */
int vq_kmeanspp(float *centroids, const float *x, const float *w,
                const float *xnorm, size_t n, size_t d, size_t k,
                vq_rng *rng, int nthreads, const vq_dist_impl *impl);

#endif
