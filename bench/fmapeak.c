/* Measures the machine's single-precision FMA peak: independent FMA chains
 * (enough to cover the latency) on every SIMD width the CPU has. */
#include "config.h"
#include <immintrin.h>
#include <time.h>
#include "fmapeak.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#ifdef VQ_HAVE_AVX512
__attribute__((target("avx512f,fma")))
static double peak512(long iters) {
  __m512 a[16], b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-3f);
  float sink[16];
  double t;
  long it;
  int i;
  for (i = 0; i < 16; i++) a[i] = _mm512_set1_ps((float)i);
  t = now();
  for (it = 0; it < iters; it++) {
#pragma GCC unroll 16
    for (i = 0; i < 16; i++) a[i] = _mm512_fmadd_ps(a[i], b, c);
  }
  t = now() - t;
  for (i = 1; i < 16; i++) a[0] = _mm512_add_ps(a[0], a[i]);
  _mm512_storeu_ps(sink, a[0]);
  return sink[0] == 12345.0f ? 0.0 : (double)iters * 16 * 32 / t;
}
#endif

#ifdef VQ_HAVE_AVX2
__attribute__((target("avx2,fma")))
static double peak256(long iters) {
  __m256 a[12], b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-3f);
  float sink[8];
  double t;
  long it;
  int i;
  for (i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
  t = now();
  for (it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], b, c);
  }
  t = now() - t;
  for (i = 1; i < 12; i++) a[0] = _mm256_add_ps(a[0], a[i]);
  _mm256_storeu_ps(sink, a[0]);
  return sink[0] == 12345.0f ? 0.0 : (double)iters * 12 * 16 / t;
}
#endif

double fma_peak_flops(long iters) {
  double best = 0.0;
  __builtin_cpu_init();
#ifdef VQ_HAVE_AVX512
  if (__builtin_cpu_supports("avx512f")) {
    double v = peak512(iters);
    if (v > best) best = v;
  }
#endif
#ifdef VQ_HAVE_AVX2
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    double v = peak256(iters);
    if (v > best) best = v;
  }
#endif
  return best;
}
