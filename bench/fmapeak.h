/* The machine's single-precision FMA peak: loops of independent FMA chains
 * for each SIMD width, chosen at run time. */
#ifndef VQ_BENCH_FMAPEAK_H
#define VQ_BENCH_FMAPEAK_H

typedef enum fma_isa {
  FMA_AVX2 = 0,   /* 8-lane ymm FMAs */
  FMA_AVX512 = 1  /* 16-lane zmm FMAs */
} fma_isa;

/* Name of an ISA ("avx2", "avx512"). */
const char *fma_isa_name(fma_isa isa);

/* 1 when the loop for isa was compiled in and the CPU runs it. */
int fma_available(fma_isa isa);

/* Runs iters iterations of the loop for isa on the calling thread and
 * returns the floating-point operations done (2 per lane per FMA), or 0
 * when the loop is not available. */
double fma_run(fma_isa isa, long iters);

#endif /* VQ_BENCH_FMAPEAK_H */
