/* The 8 x 8 orthonormal DCT-II and its inverse through FFTW's r2r
 * transforms (REDFT10 / REDFT01), scaled so that both are orthonormal:
 * the coefficients' squared error equals the pixels'. FFTW's planner is
 * not thread-safe, so plans are made under a lock; executing them on new
 * arrays is safe from any thread. */
#include "config.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <fftw3.h>
#include <vq/common.h>
#include "codec_priv.h"

struct ic_dct {
  fftwf_plan fwd, inv;
  float fscale[64], iscale[64];
};

static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

int ic_dct_create(ic_dct **out) {
  ic_dct *t = calloc(1, sizeof *t);
  float *a, *b;
  int u, v;
  *out = NULL;
  if (!t) return VQ_ERR_NOMEM;
  pthread_mutex_lock(&planner_lock);
  a = fftwf_malloc(64 * sizeof *a);
  b = fftwf_malloc(64 * sizeof *b);
  if (a && b) {
    unsigned flags = FFTW_ESTIMATE | FFTW_UNALIGNED;
    t->fwd = fftwf_plan_r2r_2d(8, 8, a, b, FFTW_REDFT10, FFTW_REDFT10, flags);
    t->inv = fftwf_plan_r2r_2d(8, 8, a, b, FFTW_REDFT01, FFTW_REDFT01, flags);
  }
  fftwf_free(a);
  fftwf_free(b);
  pthread_mutex_unlock(&planner_lock);
  if (!t->fwd || !t->inv) {
    ic_dct_destroy(t);
    return VQ_ERR_NOMEM;
  }
  /* FFTW's REDFT10 is 2 sum x cos(...) per axis: the orthonormal
     coefficient is s_k / 2 of it, s_0 = sqrt(1/8), s_k = 1/2; REDFT01
     takes y_0 + 2 sum y_k cos(...), so its inputs are c_0 s_0, c_k s_k/2. */
  for (u = 0; u < 8; u++)
    for (v = 0; v < 8; v++) {
      float su = u ? 0.5f : 0.35355339f, sv = v ? 0.5f : 0.35355339f;
      t->fscale[u * 8 + v] = su * sv * 0.25f;
      t->iscale[u * 8 + v] = (u ? su * 0.5f : su) * (v ? sv * 0.5f : sv);
    }
  *out = t;
  return VQ_OK;
}

void ic_dct_destroy(ic_dct *t) {
  if (!t) return;
  pthread_mutex_lock(&planner_lock);
  if (t->fwd) fftwf_destroy_plan(t->fwd);
  if (t->inv) fftwf_destroy_plan(t->inv);
  pthread_mutex_unlock(&planner_lock);
  free(t);
}

void ic_dct_forward(const ic_dct *t, const float *in, float *out) {
  float a[64];
  int i;
  memcpy(a, in, sizeof a);
  fftwf_execute_r2r(t->fwd, a, out);
  for (i = 0; i < 64; i++) out[i] *= t->fscale[i];
}

void ic_dct_inverse(const ic_dct *t, const float *in, float *out) {
  float a[64];
  int i;
  for (i = 0; i < 64; i++) a[i] = in[i] * t->iscale[i];
  fftwf_execute_r2r(t->inv, a, out);
}
