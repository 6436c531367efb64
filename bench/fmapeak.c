/* FMA peak loops. Each function carries its own target attribute, so the
 * rest of bench_search is built for the baseline ISA and runs anywhere;
 * fma_available() checks the CPU before a loop runs. Zen 4/5 and Intel
 * cores have a 4-cycle FMA latency and two FMA pipes: 16 zmm or 12 ymm
 * independent chains keep both pipes busy. */
#include "config.h"
#include "fmapeak.h"
#if defined(VQ_HAVE_AVX2) || defined(VQ_HAVE_AVX512)
#include <immintrin.h>
#endif

#define CHAINS512 16
#define CHAINS256 12

#ifdef VQ_HAVE_AVX512
__attribute__((target("avx512f,fma")))
static double run512(long iters) {
  /* a -> a * b + c converges to c / (1 - b) = 1: no overflow, no
   * denormals, and the result is used, so nothing is optimised away. */
  __m512 a[CHAINS512], b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-3f);
  float sink[16];
  long it;
  int i;
  for (i = 0; i < CHAINS512; i++) a[i] = _mm512_set1_ps((float)i);
  for (it = 0; it < iters; it++) {
#pragma GCC unroll 16
    for (i = 0; i < CHAINS512; i++) a[i] = _mm512_fmadd_ps(a[i], b, c);
  }
  for (i = 1; i < CHAINS512; i++) a[0] = _mm512_add_ps(a[0], a[i]);
  _mm512_storeu_ps(sink, a[0]);
  return sink[0] == -1.0f ? 0.0 : 2.0 * 16 * CHAINS512 * (double)iters;
}
#endif

#ifdef VQ_HAVE_AVX2
__attribute__((target("avx2,fma")))
static double run256(long iters) {
  __m256 a[CHAINS256], b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-3f);
  float sink[8];
  long it;
  int i;
  for (i = 0; i < CHAINS256; i++) a[i] = _mm256_set1_ps((float)i);
  for (it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (i = 0; i < CHAINS256; i++) a[i] = _mm256_fmadd_ps(a[i], b, c);
  }
  for (i = 1; i < CHAINS256; i++) a[0] = _mm256_add_ps(a[0], a[i]);
  _mm256_storeu_ps(sink, a[0]);
  return sink[0] == -1.0f ? 0.0 : 2.0 * 8 * CHAINS256 * (double)iters;
}
#endif

const char *fma_isa_name(fma_isa isa) {
  return isa == FMA_AVX512 ? "avx512" : "avx2";
}

int fma_available(fma_isa isa) {
#if defined(VQ_HAVE_AVX2) || defined(VQ_HAVE_AVX512)
  __builtin_cpu_init();
#endif
#ifdef VQ_HAVE_AVX512
  if (isa == FMA_AVX512) return __builtin_cpu_supports("avx512f") != 0;
#endif
#ifdef VQ_HAVE_AVX2
  if (isa == FMA_AVX2)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return 0;
}

double fma_run(fma_isa isa, long iters) {
  if (!fma_available(isa)) return 0.0;
#ifdef VQ_HAVE_AVX512
  if (isa == FMA_AVX512) return run512(iters);
#endif
#ifdef VQ_HAVE_AVX2
  if (isa == FMA_AVX2) return run256(iters);
#endif
  return 0.0;
}
