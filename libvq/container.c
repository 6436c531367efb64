/* The .vq container: a signature, a version, then chunks {type, length,
 * payload, CRC-32} as in PNG (doc/format.md). The reader is zero-copy and
 * strict: each length is checked against the limits and the remaining
 * input before it is used, and the structure rules are enforced as the
 * chunks are met, so a decoder behind it sees only well-formed files. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "internal.h"
#include "json.h"
#include "vq/container.h"

#define CT_DEFAULT_MAX_SIZE ((uint64_t)1 << 40)
#define CT_DEFAULT_MAX_CHUNKS 65536u
#define CT_OVERHEAD 12         /* type, length and CRC around a payload */
#define CT_HASH_SIZE 32        /* SHA-256 at the start of CODE */
#define CT_MAX_NAME 255        /* codebook file name in CODE */

/* Fuzzing builds let corrupted payloads through so that fuzzers reach the
 * decoders behind the container; crc_ok still tells the truth. */
#ifdef VQ_FUZZING
#define CT_ENFORCE_CRC 0
#else
#define CT_ENFORCE_CRC 1
#endif

static const uint8_t signature[8] = {0x89, 'V', 'Q', 'F',
                                     0x0D, 0x0A, 0x1A, 0x0A};
static const char *const known_types[] = {"HEAD", "CODE", "BOOK",
                                          "DATA", "meta", "TAIL"};

struct vq_container {
  int major, minor;
  vq_chunk *chunks;
  size_t n, cap;
};

struct vq_container_writer {
  uint8_t *buf;
  size_t size, cap;
  size_t nchunks;
  int seen_code, seen_book, finished;
};

typedef struct parser {
  const uint8_t *b;
  size_t size;
  unsigned flags;
  vq_container_limits lim;
  const char *name;
  vq_diag *diag;
  int seen_code, seen_book;
} parser;

static uint32_t load_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static void store_le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static int is_letter(unsigned c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int type_known(const char *t) {
  size_t i;
  for (i = 0; i < sizeof known_types / sizeof *known_types; i++)
    if (!memcmp(t, known_types[i], 4)) return 1;
  return 0;
}

/* zlib's CRC-32 over the type bytes and then the payload, as in PNG. */
static uint32_t chunk_crc(const uint8_t *type, const uint8_t *data,
                          uint32_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, type, 4);
  if (size) crc = crc32(crc, data, (uInt)size);
  return (uint32_t)crc;
}

/* The optional name in CODE: UTF-8 text without NUL bytes. */
static int name_valid(const uint8_t *s, size_t n) {
  return !memchr(s, 0, n) && vq_utf8_valid((const char *)s, n);
}

void vq_container_limits_default(vq_container_limits *lim) {
  if (!lim) return;
  lim->max_size = CT_DEFAULT_MAX_SIZE;
  lim->max_chunk = VQ_CONTAINER_MAX_CHUNK;
  lim->max_chunks = CT_DEFAULT_MAX_CHUNKS;
}

static void resolve_limits(vq_container_limits *out,
                           const vq_container_limits *lim) {
  vq_container_limits_default(out);
  if (!lim) return;
  if (lim->max_size) out->max_size = lim->max_size;
  if (lim->max_chunk) out->max_chunk = lim->max_chunk;
  if (lim->max_chunks) out->max_chunks = lim->max_chunks;
}

/* --- reader */

static int read_prefix(parser *p, vq_container *c) {
  size_t n = VQ_MIN(p->size, sizeof signature);
  if (n && memcmp(p->b, signature, n))
    return vq_diag_set(p->diag, VQ_ERR_FORMAT, "%s: not a .vq file (bad "
                       "signature)", p->name);
  if (p->size < VQ_CONTAINER_PREFIX_SIZE)
    return vq_diag_set(p->diag, VQ_ERR_TRUNCATED, "%s: truncated at offset "
                       "%zu: the signature and version need %d bytes",
                       p->name, p->size, VQ_CONTAINER_PREFIX_SIZE);
  c->major = p->b[8];
  c->minor = p->b[9];
  if (c->major != VQ_CONTAINER_MAJOR)
    return vq_diag_set(p->diag, VQ_ERR_UNSUPPORTED, "%s: version %d.%d is "
                       "not supported (this reader knows version %d.x)",
                       p->name, c->major, c->minor, VQ_CONTAINER_MAJOR);
  return VQ_OK;
}

/* Reads the chunk at pos into ch: type letters, the limit, the remaining
 * input and the CRC, in that order, before the payload is touched. */
static int read_chunk(parser *p, size_t pos, vq_chunk *ch) {
  const uint8_t *q = p->b + pos;
  size_t left = p->size - pos;
  uint32_t len, calc;
  if (left < 8)
    return vq_diag_set(p->diag, VQ_ERR_TRUNCATED, "%s: truncated at offset "
                       "%zu: a chunk header needs 8 bytes, %zu remain",
                       p->name, pos, left);
  if (!is_letter(q[0]) || !is_letter(q[1]) || !is_letter(q[2]) ||
      !is_letter(q[3]))
    return vq_diag_set(p->diag, VQ_ERR_FORMAT, "%s: offset %zu: chunk type "
                       "is not four ASCII letters (bytes %02x %02x %02x "
                       "%02x)", p->name, pos, q[0], q[1], q[2], q[3]);
  memcpy(ch->type, q, 4);
  ch->type[4] = 0;
  len = load_le32(q + 4);
  if (len > p->lim.max_chunk)
    return vq_diag_set(p->diag, VQ_ERR_LIMIT, "%s: chunk %s at offset %zu: "
                       "payload of %lu bytes exceeds the limit of %lu",
                       p->name, ch->type, pos, (unsigned long)len,
                       (unsigned long)p->lim.max_chunk);
  if ((uint64_t)len + 4 > left - 8)
    return vq_diag_set(p->diag, VQ_ERR_TRUNCATED, "%s: truncated at offset "
                       "%zu: chunk %s needs %llu bytes (payload and CRC), "
                       "%zu remain", p->name, pos + 8, ch->type,
                       (unsigned long long)len + 4, left - 8);
  ch->offset = pos;
  ch->data = q + 8;
  ch->size = len;
  ch->crc = load_le32(q + 8 + len);
  calc = chunk_crc(q, q + 8, len);
  ch->crc_ok = calc == ch->crc;
  ch->critical = q[0] >= 'A' && q[0] <= 'Z';
  ch->known = type_known(ch->type);
  if (CT_ENFORCE_CRC && !ch->crc_ok &&
      !(p->flags & VQ_CONTAINER_LIST_BAD_CRC))
    return vq_diag_set(p->diag, VQ_ERR_FORMAT, "%s: chunk %s at offset %zu: "
                       "CRC mismatch (stored 0x%08lx, computed 0x%08lx)",
                       p->name, ch->type, pos, (unsigned long)ch->crc,
                       (unsigned long)calc);
  return VQ_OK;
}

static int bad_chunk(const parser *p, const vq_chunk *ch, const char *what) {
  return vq_diag_set(p->diag, VQ_ERR_FORMAT, "%s: chunk %s at offset %llu: "
                     "%s", p->name, ch->type,
                     (unsigned long long)ch->offset, what);
}

/* The structure rules, checked as each chunk is met. TAIL ends the walk,
 * so the only rule left for the caller is that nothing follows it. */
static int check_rules(parser *p, const vq_container *c, const vq_chunk *ch) {
  const char *t = ch->type;
  if (c->n == 0 && strcmp(t, "HEAD"))
    return bad_chunk(p, ch, "the first chunk must be HEAD");
  if (!strcmp(t, "HEAD")) {
    if (c->n) return bad_chunk(p, ch, "a second HEAD chunk");
    if (!ch->size) return bad_chunk(p, ch, "HEAD is empty");
  } else if (!strcmp(t, "CODE")) {
    if (p->seen_code++) return bad_chunk(p, ch, "a second CODE chunk");
    if (ch->size < CT_HASH_SIZE || ch->size > CT_HASH_SIZE + CT_MAX_NAME)
      return bad_chunk(p, ch, "CODE must hold 32 bytes of SHA-256 and a "
                       "name of at most 255 bytes");
    if (!name_valid(ch->data + CT_HASH_SIZE, ch->size - CT_HASH_SIZE))
      return bad_chunk(p, ch, "the codebook name is not UTF-8 text");
  } else if (!strcmp(t, "BOOK")) {
    if (p->seen_book++) return bad_chunk(p, ch, "a second BOOK chunk");
  } else if (!strcmp(t, "TAIL")) {
    if (ch->size) return bad_chunk(p, ch, "TAIL is not empty");
  } else if (!ch->known && ch->critical) {
    return vq_diag_set(p->diag, VQ_ERR_UNSUPPORTED, "%s: chunk %s at offset "
                       "%llu: unknown critical chunk type", p->name, t,
                       (unsigned long long)ch->offset);
  }
  return VQ_OK;
}

static int push_chunk(vq_container *c, const vq_chunk *ch) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 8;
    vq_chunk *a = vq_realloc_array(c->chunks, cap, sizeof *a);
    if (!a) return VQ_ERR_NOMEM;
    c->chunks = a;
    c->cap = cap;
  }
  c->chunks[c->n++] = *ch;
  return VQ_OK;
}

static int read_chunks(parser *p, vq_container *c) {
  size_t pos = VQ_CONTAINER_PREFIX_SIZE;
  vq_chunk ch;
  int rc;
  for (;;) {
    if (pos == p->size)
      return vq_diag_set(p->diag, VQ_ERR_TRUNCATED, "%s: truncated at "
                         "offset %zu: the file ends without a TAIL chunk",
                         p->name, pos);
    if (c->n >= p->lim.max_chunks)
      return vq_diag_set(p->diag, VQ_ERR_LIMIT, "%s: offset %zu: more than "
                         "%lu chunks", p->name, pos,
                         (unsigned long)p->lim.max_chunks);
    memset(&ch, 0, sizeof ch);
    if ((rc = read_chunk(p, pos, &ch)) < 0) return rc;
    if ((rc = check_rules(p, c, &ch)) < 0) return rc;
    if (push_chunk(c, &ch) < 0)
      return vq_diag_set(p->diag, VQ_ERR_NOMEM, "%s: out of memory",
                         p->name);
    pos += CT_OVERHEAD + (size_t)ch.size;
    if (!strcmp(ch.type, "TAIL")) break;
  }
  if (pos != p->size)
    return vq_diag_set(p->diag, VQ_ERR_FORMAT, "%s: %zu byte%s after the "
                       "TAIL chunk at offset %llu", p->name, p->size - pos,
                       p->size - pos == 1 ? "" : "s",
                       (unsigned long long)ch.offset);
  return VQ_OK;
}

int vq_container_parse(vq_container **out, const void *buf, size_t size,
                       unsigned flags, const vq_container_limits *lim,
                       const char *name, vq_diag *diag) {
  parser p;
  vq_container *c;
  int rc;
  if (!out || (!buf && size) || (flags & ~(unsigned)VQ_CONTAINER_LIST_BAD_CRC))
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "vq_container_parse: bad "
                       "arguments");
  *out = NULL;
  memset(&p, 0, sizeof p);
  p.b = buf;
  p.size = size;
  p.flags = flags;
  p.name = name ? name : "<memory>";
  p.diag = diag;
  resolve_limits(&p.lim, lim);
  if ((uint64_t)size > p.lim.max_size)
    return vq_diag_set(diag, VQ_ERR_LIMIT, "%s: %zu bytes exceed the limit "
                       "of %llu", p.name, size,
                       (unsigned long long)p.lim.max_size);
  c = calloc(1, sizeof *c);
  if (!c) return vq_diag_set(diag, VQ_ERR_NOMEM, "%s: out of memory", p.name);
  rc = read_prefix(&p, c);
  if (rc == VQ_OK) rc = read_chunks(&p, c);
  if (rc < 0) return vq_container_destroy(c), rc;
  *out = c;
  return VQ_OK;
}

void vq_container_destroy(vq_container *c) {
  if (!c) return;
  free(c->chunks);
  free(c);
}

void vq_container_version(const vq_container *c, int *major, int *minor) {
  if (major) *major = c ? c->major : 0;
  if (minor) *minor = c ? c->minor : 0;
}

size_t vq_container_count(const vq_container *c) { return c ? c->n : 0; }

const vq_chunk *vq_container_chunk(const vq_container *c, size_t i) {
  return c && i < c->n ? &c->chunks[i] : NULL;
}

const vq_chunk *vq_container_find(const vq_container *c, const char *type,
                                  size_t n) {
  size_t i;
  for (i = 0; c && type && i < c->n; i++)
    if (!strcmp(c->chunks[i].type, type) && n-- == 0) return &c->chunks[i];
  return NULL;
}

/* --- writer */

static int reserve(vq_container_writer *w, size_t more) {
  size_t need, cap;
  uint8_t *b;
  if (more > SIZE_MAX - w->size) return VQ_ERR_NOMEM;
  need = w->size + more;
  if (need <= w->cap) return VQ_OK;
  cap = w->cap ? w->cap : 256;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : 2 * cap;
  b = vq_realloc_array(w->buf, cap, 1);
  if (!b) return VQ_ERR_NOMEM;
  w->buf = b;
  w->cap = cap;
  return VQ_OK;
}

/* Space must be reserved. */
static void put_chunk(vq_container_writer *w, const char *type,
                      const void *data, uint32_t size) {
  uint8_t *q = w->buf + w->size;
  memcpy(q, type, 4);
  store_le32(q + 4, size);
  if (size) memcpy(q + 8, data, size);
  store_le32(q + 8 + size, chunk_crc(q, q + 8, size));
  w->size += CT_OVERHEAD + (size_t)size;
  w->nchunks++;
}

int vq_container_writer_create(vq_container_writer **w) {
  vq_container_writer *n;
  if (!w) return VQ_ERR_INVALID_ARG;
  *w = NULL;
  n = calloc(1, sizeof *n);
  if (!n || reserve(n, VQ_CONTAINER_PREFIX_SIZE) < 0) {
    vq_container_writer_destroy(n);
    return VQ_ERR_NOMEM;
  }
  memcpy(n->buf, signature, sizeof signature);
  n->buf[8] = VQ_CONTAINER_MAJOR;
  n->buf[9] = VQ_CONTAINER_MINOR;
  n->size = VQ_CONTAINER_PREFIX_SIZE;
  *w = n;
  return VQ_OK;
}

void vq_container_writer_destroy(vq_container_writer *w) {
  if (!w) return;
  free(w->buf);
  free(w);
}

/* The rules of check_rules(), applied to what the caller adds. */
static int writer_allows(const vq_container_writer *w, const char *type,
                         const uint8_t *data, size_t size) {
  int head = !strcmp(type, "HEAD");
  if (!strcmp(type, "TAIL") || head != (w->nchunks == 0)) return 0;
  if (head) return size >= 1;
  if (!strcmp(type, "CODE"))
    return !w->seen_code && size >= CT_HASH_SIZE &&
           size <= CT_HASH_SIZE + CT_MAX_NAME &&
           name_valid(data + CT_HASH_SIZE, size - CT_HASH_SIZE);
  if (!strcmp(type, "BOOK")) return !w->seen_book;
  return 1;
}

int vq_container_writer_add(vq_container_writer *w, const char *type,
                            const void *data, size_t size) {
  int i;
  if (!w || !type || w->finished || (!data && size) ||
      size > VQ_CONTAINER_MAX_CHUNK)
    return VQ_ERR_INVALID_ARG;
  for (i = 0; i < 4; i++)
    if (!is_letter((unsigned char)type[i])) return VQ_ERR_INVALID_ARG;
  if (type[4] || !writer_allows(w, type, data, size))
    return VQ_ERR_INVALID_ARG;
  if (reserve(w, CT_OVERHEAD + size) < 0) return VQ_ERR_NOMEM;
  put_chunk(w, type, data, (uint32_t)size);
  if (!strcmp(type, "CODE")) w->seen_code = 1;
  if (!strcmp(type, "BOOK")) w->seen_book = 1;
  return VQ_OK;
}

int vq_container_writer_finish(vq_container_writer *w, uint8_t **out,
                               size_t *size) {
  if (out) *out = NULL;
  if (size) *size = 0;
  if (!w || !out || !size || w->finished || !w->nchunks)
    return VQ_ERR_INVALID_ARG;
  if (reserve(w, CT_OVERHEAD) < 0) return VQ_ERR_NOMEM;
  put_chunk(w, "TAIL", NULL, 0);
  *out = w->buf;
  *size = w->size;
  w->buf = NULL;
  w->size = w->cap = 0;
  w->finished = 1;
  return VQ_OK;
}
