/* Overflow-checked allocation. Every size computed from untrusted input
 * goes through these helpers. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "internal.h"

int vq_mul_size(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a) return -1;
  *out = a * b;
  return 0;
}

int vq_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
  if (a != 0 && b > UINT64_MAX / a) return -1;
  *out = a * b;
  return 0;
}

void *vq_malloc_array(size_t n, size_t size) {
  size_t bytes;
  if (vq_mul_size(n, size, &bytes)) return NULL;
  return malloc(bytes ? bytes : 1);
}

void *vq_calloc_array(size_t n, size_t size) {
  if (n == 0 || size == 0) return calloc(1, 1);
  if (size > SIZE_MAX / n) return NULL;
  return calloc(n, size);
}

void *vq_realloc_array(void *p, size_t n, size_t size) {
  size_t bytes;
  if (vq_mul_size(n, size, &bytes)) return NULL;
  return realloc(p, bytes ? bytes : 1);
}

void *vq_aligned_array(size_t n, size_t size) {
  size_t bytes;
  void *p = NULL;
  if (vq_mul_size(n, size, &bytes) || bytes > SIZE_MAX - 64) return NULL;
  bytes = (bytes + 63) & ~(size_t)63;
  if (posix_memalign(&p, 64, bytes ? bytes : 64)) return NULL;
  memset(p, 0, bytes ? bytes : 64);
  return p;
}

char *vq_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

void vq_free(void *ptr) { free(ptr); }
