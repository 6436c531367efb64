/* libvq: SHA-256 (FIPS 180-4), used to name codebooks by their content. */
#ifndef VQ_SHA256_H
#define VQ_SHA256_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Size in bytes of a SHA-256 digest. */
#define VQ_SHA256_SIZE 32

/* Incremental hashing state, owned by the caller (no heap memory). Set up
 * by vq_sha256_init(); the fields are private to the implementation. */
typedef struct vq_sha256 {
  uint32_t h[8];      /* chaining value */
  uint64_t len;       /* bytes hashed so far */
  uint8_t buf[64];    /* partial block */
  size_t fill;        /* bytes used in buf */
} vq_sha256;

/* Starts a new hash in s. */
VQ_EXPORT void vq_sha256_init(vq_sha256 *s);

/* Hashes size bytes of data (data may be NULL when size is 0). May be
 * called any number of times between init and final. */
VQ_EXPORT void vq_sha256_update(vq_sha256 *s, const void *data, size_t size);

/* Finishes the hash and writes the 32-byte digest. s must be initialised
 * again before it is reused. */
VQ_EXPORT void vq_sha256_final(vq_sha256 *s, uint8_t digest[32]);

/* One-shot SHA-256 of size bytes of data. */
VQ_EXPORT void vq_sha256_digest(uint8_t digest[32], const void *data,
                                size_t size);

/* SHA-256 of the whole file at path (mapped read-only, not copied). Returns
 * 0, or VQ_ERR_IO / VQ_ERR_LIMIT with a message naming the file in diag
 * (may be NULL). */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_sha256_file(uint8_t digest[32],
                                                   const char *path,
                                                   vq_diag *diag);

/* Writes digest as 64 lowercase hex digits and a terminating NUL. */
VQ_EXPORT void vq_sha256_hex(char hex[65], const uint8_t digest[32]);

#ifdef __cplusplus
}
#endif
#endif /* VQ_SHA256_H */
