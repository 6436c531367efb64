/* libvq: the .vq container, a chunked file format in the manner of PNG.
 * An 8-byte signature and a version are followed by chunks {type, length,
 * payload, CRC-32}; doc/format.md specifies the bytes. */
#ifndef VQ_CONTAINER_H
#define VQ_CONTAINER_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version written by this library; a reader accepts any minor version of
 * the same major version. */
#define VQ_CONTAINER_MAJOR 1
#define VQ_CONTAINER_MINOR 0

/* Size of the signature and version that start every file. */
#define VQ_CONTAINER_PREFIX_SIZE 10

/* Largest chunk payload the format allows (as in PNG). */
#define VQ_CONTAINER_MAX_CHUNK 0x7fffffffu

/* Limits a reader enforces before it allocates anything. A field left at
 * 0 takes its default. */
typedef struct vq_container_limits {
  uint64_t max_size;    /* largest input accepted, default 2^40 */
  uint32_t max_chunk;   /* largest chunk payload, default 2^31 - 1 */
  uint32_t max_chunks;  /* most chunks (TAIL included), default 65536 */
} vq_container_limits;

/* Fills lim with the default limits. */
VQ_EXPORT void vq_container_limits_default(vq_container_limits *lim);

/* Flags of vq_container_parse(). */
enum {
  /* Record a CRC mismatch in the chunk's crc_ok instead of failing; the
   * structure rules still apply. For inspection tools such as vqinfo. */
  VQ_CONTAINER_LIST_BAD_CRC = 1
};

/* One chunk of a parsed file. */
typedef struct vq_chunk {
  char type[5];          /* four ASCII letters, NUL-terminated */
  uint64_t offset;       /* of the chunk's type field in the file */
  const uint8_t *data;   /* payload; points into the parsed buffer */
  uint32_t size;         /* payload bytes */
  uint32_t crc;          /* CRC-32 as stored */
  int crc_ok;            /* 1 when the stored CRC matches the chunk */
  int critical;          /* 1 when the type's first letter is uppercase */
  int known;             /* 1 for HEAD, CODE, BOOK, DATA, meta and TAIL */
} vq_chunk;

/* A parsed file (opaque). */
typedef struct vq_container vq_container;

/* Parses and validates the file image buf[0..size) and lists its chunks.
 * Zero-copy: the chunks point into buf, which must outlive *out. flags is
 * 0 or VQ_CONTAINER_LIST_BAD_CRC; lim may be NULL for the defaults; name
 * labels messages (NULL: "<memory>"). Every length is checked against the
 * remaining input and the limits. Returns 0, or VQ_ERR_FORMAT (bad
 * signature, chunk type, CRC or structure), VQ_ERR_TRUNCATED, VQ_ERR_LIMIT,
 * VQ_ERR_UNSUPPORTED (another major version, an unknown critical chunk),
 * VQ_ERR_NOMEM or VQ_ERR_INVALID_ARG, with a message in diag (may be
 * NULL) naming the file, the chunk and its offset. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_container_parse(
    vq_container **out, const void *buf, size_t size, unsigned flags,
    const vq_container_limits *lim, const char *name, vq_diag *diag);

/* Releases a parsed file (not the buffer). Accepts NULL. */
VQ_EXPORT void vq_container_destroy(vq_container *c);

/* The file's version; either output may be NULL. */
VQ_EXPORT void vq_container_version(const vq_container *c, int *major,
                                    int *minor);

/* Number of chunks, TAIL and unknown ancillary chunks included. */
VQ_EXPORT size_t vq_container_count(const vq_container *c);

/* Chunk i in file order (owned by c), or NULL when i is out of range. */
VQ_EXPORT const vq_chunk *vq_container_chunk(const vq_container *c,
                                             size_t i);

/* The n-th (from 0) chunk of a type, e.g. "DATA", or NULL. */
VQ_EXPORT const vq_chunk *vq_container_find(const vq_container *c,
                                            const char *type, size_t n);

/* Writer: builds a file in memory, one chunk at a time. */
typedef struct vq_container_writer vq_container_writer;

/* Creates an empty writer. Returns 0, VQ_ERR_INVALID_ARG or VQ_ERR_NOMEM. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_container_writer_create(
    vq_container_writer **w);

/* Releases a writer and what it holds. Accepts NULL. */
VQ_EXPORT void vq_container_writer_destroy(vq_container_writer *w);

/* Appends a chunk of type (four ASCII letters) with a copy of data[0..size)
 * (data may be NULL when size is 0). The writer keeps the structure rules
 * that readers enforce: the first chunk is HEAD (at least 1 byte), HEAD
 * appears once, CODE (32 bytes of SHA-256 and an optional UTF-8 name of at
 * most 255 bytes) and BOOK at most once, TAIL is added by finish only; a
 * payload is at most VQ_CONTAINER_MAX_CHUNK bytes. Returns 0,
 * VQ_ERR_INVALID_ARG when a rule is broken or the writer is finished, or
 * VQ_ERR_NOMEM. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_container_writer_add(
    vq_container_writer *w, const char *type, const void *data, size_t size);

/* Appends TAIL and hands the whole file to the caller: *out (free with
 * vq_free()) and its size. The writer is then finished: destroy it.
 * Returns 0, VQ_ERR_INVALID_ARG (no HEAD yet, or already finished) or
 * VQ_ERR_NOMEM. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_container_writer_finish(
    vq_container_writer *w, uint8_t **out, size_t *size);

#ifdef __cplusplus
}
#endif
#endif /* VQ_CONTAINER_H */
