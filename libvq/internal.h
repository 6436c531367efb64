/* libvq internal helpers: never installed. */
#ifndef VQ_INTERNAL_H
#define VQ_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>
#include "vq/common.h"
#include "vq/array.h"
#include "vq/file.h"

#define VQ_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VQ_MAX(a, b) ((a) > (b) ? (a) : (b))

/* --- alloc.c: overflow-checked allocation (NULL on overflow or failure) */
void *vq_malloc_array(size_t n, size_t size);
void *vq_calloc_array(size_t n, size_t size);
void *vq_realloc_array(void *p, size_t n, size_t size);
/* 64-byte aligned, zero-filled; free with vq_free(). */
void *vq_aligned_array(size_t n, size_t size);
/* Sets *out = a * b; returns 0, or -1 on overflow. */
int vq_mul_size(size_t a, size_t b, size_t *out);
int vq_mul_u64(uint64_t a, uint64_t b, uint64_t *out);
char *vq_strdup(const char *s);

/* --- error.c: diagnostics */
/* Formats a message into diag (if not NULL) and returns code. */
int vq_diag_set(vq_diag *diag, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* --- fileio.c: read-only maps and atomic writes */
typedef struct vq_map {
  const unsigned char *data;
  size_t size;
  int mapped;   /* 1: munmap on release, 0: malloc'd (or empty) */
} vq_map;

int vq_map_file(vq_map *m, const char *path, uint64_t max_size,
                vq_diag *diag);
void vq_map_release(vq_map *m);

typedef struct vq_atomic_file {
  FILE *fp;
  char *tmp_path;
  char *path;
} vq_atomic_file;

/* Opens a temporary file beside path; write through a->fp. */
int vq_atomic_open(vq_atomic_file *a, const char *path, vq_diag *diag);
/* Flushes, closes and renames onto path; on failure removes the temp. */
int vq_atomic_commit(vq_atomic_file *a, vq_diag *diag);
/* Closes and removes the temporary file. */
void vq_atomic_abort(vq_atomic_file *a);

/* --- rng.c: deterministic random numbers (xoshiro256**) */
typedef struct vq_rng {
  uint64_t s[4];
} vq_rng;

void vq_rng_seed(vq_rng *r, uint64_t seed);
uint64_t vq_rng_next(vq_rng *r);
/* Uniform in [0, n), n >= 1, without modulo bias. */
uint64_t vq_rng_below(vq_rng *r, uint64_t n);
/* Uniform double in [0, 1). */
double vq_rng_double(vq_rng *r);

/* --- cpu.c */
enum { VQ_CPU_AVX2 = 1, VQ_CPU_AVX512 = 2 };

/* The PVQ search compiled for AVX2 (libvq/dsp/pvqsearch_avx2.c; only
 * when VQ_HAVE_AVX2, to be called when vq_cpu_features() says so) and
 * the generic build; both give what vq_pvq_search() gives. */
int vq_pvq_search_avx2_(int32_t *y, double *corr, const float *x,
                        uint32_t n, uint32_t k, unsigned flags);
int vq_pvq_search_rd_avx2_(int32_t *y, uint32_t *k_used, double *corr,
                           const float *x, uint32_t n, uint32_t k,
                           double lambda);
int vq_pvq_search_generic_(int32_t *y, double *corr, const float *x,
                           uint32_t n, uint32_t k, unsigned flags);
int vq_pvq_search_rd_generic_(int32_t *y, uint32_t *k_used, double *corr,
                              const float *x, uint32_t n, uint32_t k,
                              double lambda);
/* Bit mask of usable SIMD extensions (CPU and OS support both checked). */
unsigned vq_cpu_features(void);
double vq_now(void);
/* Threads to use for a request: n <= 0 means all available. */
int vq_threads(int n);

/* --- array.c */
/* Converts count elements between dtypes (src in native order). Returns
 * VQ_ERR_UNSUPPORTED for float -> integer, VQ_ERR_NONFINITE never. */
int vq_convert(void *dst, vq_dtype dst_type, const void *src,
               vq_dtype src_type, uint64_t count);
float vq_half_to_float(uint16_t h);
float vq_bf16_to_float(uint16_t h);

/* Little-endian integers of 1 to 8 bytes in byte buffers. */
static inline void vq_put_le(uint8_t *p, uint64_t v, int bytes) {
  int b;
  for (b = 0; b < bytes; b++) p[b] = (uint8_t)(v >> (8 * b));
}

static inline uint64_t vq_get_le(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  int b;
  for (b = bytes - 1; b >= 0; b--) v = v << 8 | p[b];
  return v;
}

/* --- npy.c */
typedef struct vq_npy_info {
  vq_dtype dtype;
  int big_endian;         /* data stored big-endian (multi-byte dtypes) */
  int ndim;
  uint64_t shape[VQ_MAX_DIMS];
  size_t data_offset;     /* where the data starts */
  uint64_t data_bytes;    /* its length as the shape declares */
} vq_npy_info;

/* Parses and checks the prelude and header of a .npy image buf[0..size);
 * the data need not follow (size may end at the header). */
int vq_npy_header_info(vq_npy_info *info, const void *buf, size_t size,
                       const char *name, vq_diag *diag);
/* Writes into buf[0..cap) the version 1.0 prelude and header that numpy
 * writes for this array (dict keys in numpy's order, padded with spaces
 * to a multiple of 64 bytes); returns its size, 0 when it does not fit. */
size_t vq_npy_canonical_header(unsigned char *buf, size_t cap,
                               vq_dtype dtype, int big_endian, int ndim,
                               const uint64_t *shape);

#endif /* VQ_INTERNAL_H */
