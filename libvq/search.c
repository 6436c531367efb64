/* Exact nearest-codeword search over a packed codebook. Work is split into
 * fixed chunks of vectors; each vector's result depends only on its own
 * data and the codebook, so any thread count gives the same output. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "vq/search.h"
#include "dsp/dist.h"

#define CHUNK 240

struct vq_index {
  const vq_dist_impl *impl;
  size_t k, d, npanels;
  float *packed;
  float *half_norm;
};

int vq_index_create(vq_index **out, const float *codebook, size_t k,
                    size_t d, vq_kernel kernel) {
  vq_index *ix;
  size_t kp;
  *out = NULL;
  if (!codebook || k == 0 || d == 0 || k > INT32_MAX) return VQ_ERR_INVALID_ARG;
  ix = calloc(1, sizeof *ix);
  if (!ix) return VQ_ERR_NOMEM;
  ix->impl = vq_dist_select(kernel);
  if (!ix->impl) {
    free(ix);
    return VQ_ERR_UNSUPPORTED;
  }
  ix->k = k;
  ix->d = d;
  ix->npanels = (k + ix->impl->panel - 1) / ix->impl->panel;
  kp = ix->npanels * ix->impl->panel;
  ix->packed = vq_aligned_array(kp, d * sizeof(float));
  ix->half_norm = vq_aligned_array(kp, sizeof(float));
  if (d > SIZE_MAX / sizeof(float) || !ix->packed || !ix->half_norm) {
    vq_index_destroy(ix);
    return VQ_ERR_NOMEM;
  }
  vq_index_update(ix, codebook);
  *out = ix;
  return VQ_OK;
}

void vq_index_destroy(vq_index *ix) {
  if (!ix) return;
  vq_free(ix->packed);
  vq_free(ix->half_norm);
  free(ix);
}

int vq_index_update(vq_index *ix, const float *codebook) {
  if (!ix || !codebook) return VQ_ERR_INVALID_ARG;
  vq_dist_pack(ix->packed, ix->half_norm, codebook, ix->k, ix->d,
               ix->impl->panel);
  return VQ_OK;
}

const char *vq_index_kernel_name(const vq_index *ix) {
  return ix ? ix->impl->name : "none";
}

static void search_chunk(const vq_index *ix, int32_t *idx, float *dist,
                         const float *x, const float *xnorm, size_t nb) {
  float score[CHUNK], nrm[CHUNK];
  size_t i;
  ix->impl->argmin(idx, score, x, nb, ix->d, ix->packed, ix->half_norm,
                   ix->npanels, ix->k);
  if (!dist) return;
  if (!xnorm) ix->impl->norms(nrm, x, nb, ix->d), xnorm = nrm;
  for (i = 0; i < nb; i++) {
    /* ||x-c||^2 = ||x||^2 + 2 (||c||^2 / 2 - x.c) */
    float v = xnorm[i] + 2.0f * score[i];
    dist[i] = v > 0.0f ? v : 0.0f;
  }
}

void vq_norms(float *out, const float *x, size_t n, size_t d, int nthreads) {
  const vq_dist_impl *impl = vq_dist_select(VQ_KERNEL_AUTO);
  long c, nchunks = (long)((n + CHUNK - 1) / CHUNK);
#pragma omp parallel for schedule(static) num_threads(vq_threads(nthreads))
  for (c = 0; c < nchunks; c++) {
    size_t i0 = (size_t)c * CHUNK;
    impl->norms(out + i0, x + i0 * d, VQ_MIN(CHUNK, n - i0), d);
  }
}

int vq_index_search(const vq_index *ix, int32_t *idx, float *dist,
                    const float *x, size_t n, int nthreads) {
  return vq_index_search_norms(ix, idx, dist, x, NULL, n, nthreads);
}

int vq_index_search_norms(const vq_index *ix, int32_t *idx, float *dist,
                          const float *x, const float *xnorm, size_t n,
                          int nthreads) {
  size_t nchunks;
  long c;
  if (!ix || (!idx && n) || (!x && n)) return VQ_ERR_INVALID_ARG;
  nchunks = (n + CHUNK - 1) / CHUNK;
  (void)nthreads;
#pragma omp parallel for schedule(dynamic, 4) num_threads(vq_threads(nthreads))
  for (c = 0; c < (long)nchunks; c++) {
    size_t i0 = (size_t)c * CHUNK, nb = VQ_MIN(CHUNK, n - i0);
    search_chunk(ix, idx + i0, dist ? dist + i0 : NULL, x + i0 * ix->d,
                 xnorm ? xnorm + i0 : NULL, nb);
  }
  return VQ_OK;
}

int vq_nearest(int32_t *idx, float *dist, const float *codebook, size_t k,
               size_t d, const float *x, size_t n, int nthreads) {
  vq_index *ix;
  int rc = vq_index_create(&ix, codebook, k, d, VQ_KERNEL_AUTO);
  if (rc < 0) return rc;
  rc = vq_index_search(ix, idx, dist, x, n, nthreads);
  vq_index_destroy(ix);
  return rc;
}
