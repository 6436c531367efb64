/* FMA peak of one thread, in FLOP/s (2 per lane per FMA). */
#ifndef VQ_BENCH_FMAPEAK_H
#define VQ_BENCH_FMAPEAK_H
double fma_peak_flops(long iters);
#endif
