/* CPU feature probing, clocks and thread counts. */
#include "config.h"
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "internal.h"

unsigned vq_cpu_features(void) {
  unsigned f = 0;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  /* __builtin_cpu_supports checks OS support for the wider registers
   * (XGETBV) as well as the CPUID bits. */
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    f |= VQ_CPU_AVX2;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
      && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
    f |= VQ_CPU_AVX512;
#endif
  return f;
}

double vq_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int vq_threads(int n) {
  if (n > 0) return n;
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}
