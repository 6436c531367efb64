/* The .vq container: writer/reader round trips, unknown chunks, each
 * structure rule broken once, every truncation and every bit flip of a
 * small file, the limits, and a hand-written file that pins the bytes. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "internal.h"
#include "vq/container.h"
#include "vq/sha256.h"
#include "testutil.h"

/* A raw file assembled byte by byte, to break rules the writer keeps. */
typedef struct raw {
  uint8_t b[4096];
  size_t n;
} raw;

static void raw_u32(raw *r, uint32_t v) {
  int i;
  for (i = 0; i < 4; i++) r->b[r->n++] = (uint8_t)(v >> (8 * i));
}

static void raw_prefix(raw *r, int major, int minor) {
  static const uint8_t sig[8] = {0x89, 'V', 'Q', 'F', 0x0D, 0x0A, 0x1A,
                                 0x0A};
  memcpy(r->b, sig, 8);
  r->b[8] = (uint8_t)major;
  r->b[9] = (uint8_t)minor;
  r->n = 10;
}

static void raw_chunk(raw *r, const char *type, const void *data,
                      uint32_t size) {
  uLong crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)type, 4);
  if (size) crc = crc32(crc, data, size);
  memcpy(r->b + r->n, type, 4);
  r->n += 4;
  raw_u32(r, size);
  if (size) memcpy(r->b + r->n, data, size);
  r->n += size;
  raw_u32(r, (uint32_t)crc);
}

static const uint8_t head1[1] = {7};

/* Fuzzing builds accept CRC mismatches: the assertions that rely on CRCs
 * are skipped there, the rest still hold. */
#ifdef VQ_FUZZING
#define CRC_ENFORCED 0
#else
#define CRC_ENFORCED 1
#endif

/* A valid raw file: HEAD, the given chunk, TAIL. */
static void raw_with(raw *r, const char *type, const void *data,
                     uint32_t size) {
  raw_prefix(r, 1, 0);
  raw_chunk(r, "HEAD", head1, 1);
  raw_chunk(r, type, data, size);
  raw_chunk(r, "TAIL", NULL, 0);
}

/* Parses a copy of buf[0..n) that ends exactly where the input does, so
 * that a read past the end is a read outside the allocation. */
static int parse_copy(const uint8_t *buf, size_t n, unsigned flags,
                      const vq_container_limits *lim, vq_diag *diag) {
  uint8_t *copy = malloc(n ? n : 1);
  vq_container *c = (vq_container *)&c;
  int rc;
  if (!copy) return VQ_ERR_NOMEM;
  if (n) memcpy(copy, buf, n);
  if (diag) diag->msg[0] = 0;
  rc = vq_container_parse(&c, copy, n, flags, lim, "x.vq", diag);
  if ((rc == VQ_OK) != (c != NULL)) {
    fprintf(stderr, "parse returned %d with handle %p\n", rc, (void *)c);
    vq_test_failures++;
  }
  vq_container_destroy(c);
  free(copy);
  return rc;
}

/* Expects rc and a message naming the file and containing what. */
static void expect_fail(const raw *r, int rc, const char *what) {
  vq_diag diag;
  int got = parse_copy(r->b, r->n, 0, NULL, &diag);
  if (got != rc || !strstr(diag.msg, "x.vq") || !strstr(diag.msg, what)) {
    fprintf(stderr, "expected %d with '%s', got %d: '%s'\n", rc, what, got,
            diag.msg);
    vq_test_failures++;
  }
}

static uint8_t *finish(vq_container_writer *w, size_t *n) {
  uint8_t *out = NULL;
  CHECK_EQ_INT(vq_container_writer_finish(w, &out, n), VQ_OK);
  vq_container_writer_destroy(w);
  return out;
}

static void check_chunk(const vq_chunk *ch, const char *type,
                        const void *data, size_t size) {
  CHECK(ch != NULL);
  if (!ch) return;
  CHECK(!strcmp(ch->type, type));
  CHECK_EQ_INT(ch->size, size);
  CHECK(size == 0 || memcmp(ch->data, data, size) == 0);
  CHECK_EQ_INT(ch->crc_ok, 1);
}

/* n DATA chunks of varied sizes (some empty) between HEAD and TAIL. */
static void round_trip_data(size_t n) {
  vq_container_writer *w;
  vq_container *c = NULL;
  uint8_t pay[300], *file;
  size_t size, i, at;
  int major, minor;
  for (i = 0; i < sizeof pay; i++) pay[i] = (uint8_t)(i * 37 + 1);
  CHECK_EQ_INT(vq_container_writer_create(&w), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "HEAD", "K", 1), VQ_OK);
  for (i = 0; i < n; i++)
    CHECK_EQ_INT(vq_container_writer_add(w, "DATA", pay, (i * 7) % 300),
                 VQ_OK);
  file = finish(w, &size);
  CHECK_EQ_INT(vq_container_parse(&c, file, size, 0, NULL, "rt.vq", NULL),
               VQ_OK);
  if (c) {
    vq_container_version(c, &major, &minor);
    CHECK(major == 1 && minor == 0);
    CHECK_EQ_INT(vq_container_count(c), n + 2);
    check_chunk(vq_container_chunk(c, 0), "HEAD", "K", 1);
    CHECK(vq_container_chunk(c, 0)->offset == 10);
    at = 10 + 12 + 1;
    for (i = 0; i < n; i++) {
      const vq_chunk *ch = vq_container_find(c, "DATA", i);
      check_chunk(ch, "DATA", pay, (i * 7) % 300);
      CHECK(ch == vq_container_chunk(c, i + 1));
      CHECK(ch && ch->offset == at && ch->critical && ch->known);
      CHECK(ch && ch->data == file + at + 8);
      at += 12 + (i * 7) % 300;
    }
    CHECK(vq_container_find(c, "DATA", n) == NULL);
    check_chunk(vq_container_chunk(c, n + 1), "TAIL", NULL, 0);
    CHECK(vq_container_chunk(c, n + 2) == NULL);
    CHECK(at + 12 == size);
  }
  vq_container_destroy(c);
  vq_free(file);
}

static void test_round_trips(void) {
  static const uint8_t hash[32] = {1, 2, 3};
  uint8_t code[32 + 255], *big, *file;
  vq_container_writer *w;
  vq_container *c = NULL;
  vq_rng r;
  size_t size, i;
  round_trip_data(0);
  round_trip_data(1);
  round_trip_data(500);
  /* every known type, empty payloads, a 1 MB payload */
  big = malloc((size_t)1 << 20);
  if (!big) return;
  vq_rng_seed(&r, 11);
  for (i = 0; i < (size_t)1 << 20; i++) big[i] = (uint8_t)vq_rng_next(&r);
  memcpy(code, hash, 32);
  memset(code + 32, 'n', 255);
  CHECK_EQ_INT(vq_container_writer_create(&w), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "HEAD", "\x02xyz", 4), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "CODE", code, sizeof code),
               VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "meta", NULL, 0), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "BOOK", NULL, 0), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "DATA", NULL, 0), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "DATA", big, (size_t)1 << 20),
               VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "meta", "a=1\nb=2\n", 8), VQ_OK);
  file = finish(w, &size);
  CHECK(size == 10 + 8 * 12 + 4 + sizeof code + 8 + ((size_t)1 << 20));
  CHECK_EQ_INT(vq_container_parse(&c, file, size, 0, NULL, NULL, NULL),
               VQ_OK);
  CHECK_EQ_INT(vq_container_count(c), 8);
  check_chunk(vq_container_find(c, "HEAD", 0), "HEAD", "\x02xyz", 4);
  check_chunk(vq_container_find(c, "CODE", 0), "CODE", code, sizeof code);
  check_chunk(vq_container_find(c, "meta", 0), "meta", NULL, 0);
  check_chunk(vq_container_find(c, "BOOK", 0), "BOOK", NULL, 0);
  check_chunk(vq_container_find(c, "DATA", 0), "DATA", NULL, 0);
  check_chunk(vq_container_find(c, "DATA", 1), "DATA", big, (size_t)1 << 20);
  check_chunk(vq_container_find(c, "meta", 1), "meta", "a=1\nb=2\n", 8);
  CHECK(vq_container_find(c, "meta", 0)->critical == 0);
  CHECK(vq_container_find(c, "meta", 0)->known == 1);
  CHECK(vq_container_find(c, "HEAD", 1) == NULL);
  CHECK(vq_container_find(c, "nope", 0) == NULL);
  vq_container_destroy(c);
  vq_free(file);
  free(big);
}

static void test_unknown(void) {
  vq_container_writer *w;
  vq_container *c = NULL;
  const vq_chunk *ch;
  vq_diag diag;
  uint8_t *file;
  size_t size;
  CHECK_EQ_INT(vq_container_writer_create(&w), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "HEAD", head1, 1), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "noTE", "hello", 5), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "DATA", "d", 1), VQ_OK);
  file = finish(w, &size);
  CHECK_EQ_INT(vq_container_parse(&c, file, size, 0, NULL, NULL, NULL),
               VQ_OK);
  CHECK_EQ_INT(vq_container_count(c), 4);
  ch = vq_container_chunk(c, 1);
  check_chunk(ch, "noTE", "hello", 5);
  CHECK(ch && !ch->known && !ch->critical);
  CHECK(vq_container_find(c, "noTE", 0) == ch);
  vq_container_destroy(c);
  vq_free(file);
  CHECK_EQ_INT(vq_container_writer_create(&w), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "HEAD", head1, 1), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "XTRa", "x", 1), VQ_OK);
  file = finish(w, &size);
  CHECK_EQ_INT(vq_container_parse(&c, file, size, 0, NULL, "u.vq", &diag),
               VQ_ERR_UNSUPPORTED);
  CHECK(c == NULL);
  CHECK(strstr(diag.msg, "u.vq") && strstr(diag.msg, "XTRa") &&
        strstr(diag.msg, "offset 23"));
  vq_free(file);
}

static void test_structure(void) {
  uint8_t code[40] = {0}, big[300] = {0};
  raw r;
  raw_prefix(&r, 1, 0); /* no chunk at all */
  expect_fail(&r, VQ_ERR_TRUNCATED, "without a TAIL");
  raw_prefix(&r, 1, 0);
  raw_chunk(&r, "DATA", "d", 1);
  raw_chunk(&r, "TAIL", NULL, 0);
  expect_fail(&r, VQ_ERR_FORMAT, "first chunk must be HEAD");
  raw_prefix(&r, 1, 0);
  raw_chunk(&r, "TAIL", NULL, 0);
  expect_fail(&r, VQ_ERR_FORMAT, "first chunk must be HEAD");
  raw_with(&r, "HEAD", head1, 1);
  expect_fail(&r, VQ_ERR_FORMAT, "second HEAD");
  raw_prefix(&r, 1, 0);
  raw_chunk(&r, "HEAD", NULL, 0);
  raw_chunk(&r, "TAIL", NULL, 0);
  expect_fail(&r, VQ_ERR_FORMAT, "HEAD is empty");
  raw_prefix(&r, 1, 0);
  raw_chunk(&r, "HEAD", head1, 1);
  raw_chunk(&r, "DATA", "d", 1);
  expect_fail(&r, VQ_ERR_TRUNCATED, "without a TAIL");
  raw_with(&r, "TAIL", NULL, 0);
  expect_fail(&r, VQ_ERR_FORMAT, "12 bytes after the TAIL");
  raw_with(&r, "DATA", NULL, 0);
  r.b[r.n++] = 0;
  expect_fail(&r, VQ_ERR_FORMAT, "1 byte after the TAIL");
  raw_prefix(&r, 1, 0);
  raw_chunk(&r, "HEAD", head1, 1);
  raw_chunk(&r, "TAIL", "t", 1);
  expect_fail(&r, VQ_ERR_FORMAT, "TAIL is not empty");
  raw_prefix(&r, 1, 0);
  raw_chunk(&r, "HEAD", head1, 1);
  raw_chunk(&r, "CODE", code, 32);
  raw_chunk(&r, "CODE", code, 32);
  raw_chunk(&r, "TAIL", NULL, 0);
  expect_fail(&r, VQ_ERR_FORMAT, "second CODE");
  raw_with(&r, "CODE", code, 31);
  expect_fail(&r, VQ_ERR_FORMAT, "32 bytes of SHA-256");
  raw_with(&r, "CODE", big, 32 + 256);
  expect_fail(&r, VQ_ERR_FORMAT, "32 bytes of SHA-256");
  memcpy(code + 32, "a\xff", 2);
  raw_with(&r, "CODE", code, 34);
  expect_fail(&r, VQ_ERR_FORMAT, "not UTF-8");
  memcpy(code + 32, "a\0b", 3);
  raw_with(&r, "CODE", code, 35);
  expect_fail(&r, VQ_ERR_FORMAT, "not UTF-8");
  raw_prefix(&r, 1, 0);
  raw_chunk(&r, "HEAD", head1, 1);
  raw_chunk(&r, "BOOK", "b", 1);
  raw_chunk(&r, "BOOK", "b", 1);
  raw_chunk(&r, "TAIL", NULL, 0);
  expect_fail(&r, VQ_ERR_FORMAT, "second BOOK");
  raw_with(&r, "DA1A", "d", 1);
  expect_fail(&r, VQ_ERR_FORMAT, "offset 23: chunk type is not four ASCII");
  raw_with(&r, "DAT ", "d", 1);
  expect_fail(&r, VQ_ERR_FORMAT, "not four ASCII letters");
  raw_with(&r, "DATA", "d", 1);
  r.b[0] = 0x8a;
  expect_fail(&r, VQ_ERR_FORMAT, "bad signature");
  raw_with(&r, "DATA", "d", 1);
  r.b[8] = 2;
  expect_fail(&r, VQ_ERR_UNSUPPORTED, "version 2.0");
  raw_with(&r, "DATA", "d", 1);
  r.b[8] = 0;
  expect_fail(&r, VQ_ERR_UNSUPPORTED, "version 0.0");
  raw_with(&r, "DATA", big, 300);
  r.n -= 100;
  expect_fail(&r, VQ_ERR_TRUNCATED, "truncated at offset 31: chunk DATA "
              "needs 304 bytes (payload and CRC), 216 remain");
  raw_with(&r, "DATA", "d", 1);
  r.n -= 20; /* inside the DATA header */
  expect_fail(&r, VQ_ERR_TRUNCATED, "a chunk header needs 8 bytes");
#ifndef VQ_FUZZING
  raw_with(&r, "DATA", "d", 1);
  r.b[31] ^= 1;
  expect_fail(&r, VQ_ERR_FORMAT, "chunk DATA at offset 23: CRC mismatch");
#endif
}

/* A later minor version is read; bytes it adds must come as chunks. */
static void test_minor_version(void) {
  vq_container *c = NULL;
  int major, minor;
  raw r;
  raw_with(&r, "DATA", "d", 1);
  r.b[9] = 7;
  CHECK_EQ_INT(vq_container_parse(&c, r.b, r.n, 0, NULL, NULL, NULL), VQ_OK);
  vq_container_version(c, &major, &minor);
  CHECK(major == 1 && minor == 7);
  vq_container_destroy(c);
  vq_container_version(NULL, &major, NULL);
  CHECK_EQ_INT(major, 0);
}

static void test_writer_rules(void) {
  uint8_t code[32 + 256] = {0}, *out = (uint8_t *)&out;
  vq_container_writer *w;
  size_t n = 1;
  CHECK_EQ_INT(vq_container_writer_create(NULL), VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_container_writer_create(&w), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_finish(w, &out, &n), VQ_ERR_INVALID_ARG);
  CHECK(out == NULL && n == 0);
  CHECK_EQ_INT(vq_container_writer_add(w, "DATA", "d", 1),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_container_writer_add(w, "HEAD", NULL, 0),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_container_writer_add(w, "HEAD", NULL, 1),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_container_writer_add(w, "HEAD", head1, 1), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "HEAD", head1, 1),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_container_writer_add(w, "TAIL", NULL, 0),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_container_writer_add(w, "DAT", "d", 1),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_container_writer_add(w, "DATAX", "d", 1),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_container_writer_add(w, "DA_A", "d", 1),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_container_writer_add(w, "DATA", "d",
                                       (size_t)VQ_CONTAINER_MAX_CHUNK + 1),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_container_writer_add(w, "CODE", code, 31),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_container_writer_add(w, "CODE", code, sizeof code),
               VQ_ERR_INVALID_ARG);
  code[32] = 0xc3; /* a lone lead byte */
  CHECK_EQ_INT(vq_container_writer_add(w, "CODE", code, 33),
               VQ_ERR_INVALID_ARG);
  code[32] = 'c';
  CHECK_EQ_INT(vq_container_writer_add(w, "CODE", code, 33), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "CODE", code, 32),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_container_writer_add(w, "BOOK", "b", 1), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "BOOK", "b", 1),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_container_writer_finish(w, &out, &n), VQ_OK);
  CHECK(n == 10 + 12 * 4 + 1 + 33 + 1);
  vq_free(out);
  CHECK_EQ_INT(vq_container_writer_finish(w, &out, &n), VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_container_writer_add(w, "DATA", "d", 1),
               VQ_ERR_INVALID_ARG);
  vq_container_writer_destroy(w);
  vq_container_writer_destroy(NULL);
  vq_container_destroy(NULL);
}

/* HEAD, CODE with a name, meta, DATA, DATA, TAIL. */
static uint8_t *small_file(size_t *size) {
  uint8_t code[32 + 6];
  vq_container_writer *w;
  vq_sha256_digest(code, "codebook", 8);
  memcpy(code + 32, "cb.bin", 6);
  if (vq_container_writer_create(&w) < 0) return NULL;
  if (vq_container_writer_add(w, "HEAD", "\x01\x10\x00", 3) < 0 ||
      vq_container_writer_add(w, "CODE", code, sizeof code) < 0 ||
      vq_container_writer_add(w, "meta", "k=v\n", 4) < 0 ||
      vq_container_writer_add(w, "DATA", "\x00\x01\x02\x03\x04", 5) < 0 ||
      vq_container_writer_add(w, "DATA", "\xff", 1) < 0) {
    vq_container_writer_destroy(w);
    return NULL;
  }
  return finish(w, size);
}

static void test_truncations(void) {
  size_t n, cut;
  uint8_t *f = small_file(&n);
  CHECK(f != NULL);
  if (!f) return;
  CHECK_EQ_INT(parse_copy(f, n, 0, NULL, NULL), VQ_OK);
  for (cut = 0; cut < n; cut++) {
    vq_diag diag;
    int rc = parse_copy(f, cut, 0, NULL, &diag);
    if (rc >= 0 || (cut >= 8 && rc != VQ_ERR_TRUNCATED) ||
        !strstr(diag.msg, "x.vq")) {
      fprintf(stderr, "cut at %zu: rc %d, '%s'\n", cut, rc, diag.msg);
      vq_test_failures++;
    }
  }
  vq_free(f);
}

/* Which chunk's payload or CRC field holds byte i, or -1. */
static int field_owner(const vq_container *c, size_t i) {
  size_t k;
  for (k = 0; k < vq_container_count(c); k++) {
    const vq_chunk *ch = vq_container_chunk(c, k);
    if (i >= ch->offset + 8 && i < ch->offset + 12 + ch->size) return (int)k;
  }
  return -1;
}

static void test_bit_flips(void) {
  vq_container *ref = NULL, *c;
  size_t n, bit, k;
  uint8_t *f = small_file(&n), *m;
  int rejected = 0;
  if (!f || vq_container_parse(&ref, f, n, 0, NULL, NULL, NULL) < 0) {
    CHECK(!"small file");
    vq_free(f);
    return;
  }
  m = malloc(n);
  for (bit = 0; m && bit < 8 * n; bit++) {
    size_t i = bit / 8;
    int owner = field_owner(ref, i), rc;
    memcpy(m, f, n);
    m[i] ^= (uint8_t)(1u << (bit % 8));
    rc = parse_copy(m, n, 0, NULL, NULL);
    rejected += rc < 0;
    if (i == 9) {
      CHECK_EQ_INT(rc, VQ_OK); /* the minor version: a later 1.x */
    } else if (rc >= 0 && (CRC_ENFORCED || i < 10)) {
      fprintf(stderr, "flip of bit %zu accepted\n", bit);
      vq_test_failures++;
    }
    if (owner < 0) continue;
    /* With LIST_BAD_CRC a flip in a payload or CRC is listed, not fatal;
     * only the CODE name may then break a structure rule. */
    c = NULL;
    rc = vq_container_parse(&c, m, n, VQ_CONTAINER_LIST_BAD_CRC, NULL, NULL,
                            NULL);
    if (rc == VQ_ERR_FORMAT && owner == 1 && i >= 10 + 12 + 3 + 8 + 32)
      continue;
    CHECK_EQ_INT(rc, VQ_OK);
    for (k = 0; c && k < vq_container_count(c); k++)
      CHECK_EQ_INT(vq_container_chunk(c, k)->crc_ok, (int)k != owner);
    CHECK(c && vq_container_chunk(c, 2)->data == m + 10 + 15 + 50 + 8);
    vq_container_destroy(c);
  }
  fprintf(stderr, "%d of %zu bit flips rejected\n", rejected, 8 * n);
  free(m);
  vq_container_destroy(ref);
  vq_free(f);
}

static void test_limits(void) {
  vq_container_limits lim, dflt;
  uint8_t pay[100] = {0};
  raw r;
  vq_container_limits_default(&dflt);
  CHECK(dflt.max_size == (uint64_t)1 << 40);
  CHECK(dflt.max_chunk == 0x7fffffffu && dflt.max_chunks == 65536);
  raw_with(&r, "DATA", pay, 100); /* 3 chunks, 10 + 36 + 101 bytes */
  memset(&lim, 0, sizeof lim);
  CHECK_EQ_INT(parse_copy(r.b, r.n, 0, &lim, NULL), VQ_OK);
  lim.max_chunk = 99;
  CHECK_EQ_INT(parse_copy(r.b, r.n, 0, &lim, NULL), VQ_ERR_LIMIT);
  lim.max_chunk = 100;
  CHECK_EQ_INT(parse_copy(r.b, r.n, 0, &lim, NULL), VQ_OK);
  lim.max_chunks = 2;
  CHECK_EQ_INT(parse_copy(r.b, r.n, 0, &lim, NULL), VQ_ERR_LIMIT);
  lim.max_chunks = 3;
  CHECK_EQ_INT(parse_copy(r.b, r.n, 0, &lim, NULL), VQ_OK);
  lim.max_size = r.n - 1;
  CHECK_EQ_INT(parse_copy(r.b, r.n, 0, &lim, NULL), VQ_ERR_LIMIT);
  lim.max_size = r.n;
  CHECK_EQ_INT(parse_copy(r.b, r.n, 0, &lim, NULL), VQ_OK);
  /* a huge length is refused by the limit before the input is consulted */
  raw_prefix(&r, 1, 0);
  raw_chunk(&r, "HEAD", head1, 1);
  memcpy(r.b + r.n, "DATA\xf0\xff\xff\xff", 8);
  r.n += 8;
  expect_fail(&r, VQ_ERR_LIMIT, "exceeds the limit of 2147483647");
  lim.max_chunk = 0xffffffffu;
  CHECK_EQ_INT(parse_copy(r.b, r.n, 0, &lim, NULL), VQ_ERR_TRUNCATED);
  CHECK_EQ_INT(vq_container_parse(NULL, r.b, r.n, 0, NULL, NULL, NULL),
               VQ_ERR_INVALID_ARG);
  {
    vq_container *c;
    CHECK_EQ_INT(vq_container_parse(&c, NULL, 1, 0, NULL, NULL, NULL),
                 VQ_ERR_INVALID_ARG);
    CHECK_EQ_INT(vq_container_parse(&c, r.b, r.n, 2, NULL, NULL, NULL),
                 VQ_ERR_INVALID_ARG);
  }
}

/* The bytes of a minimal file, written out by hand from doc/format.md. */
static void test_pinned_bytes(void) {
  static const uint8_t want[] = {
    0x89, 'V', 'Q', 'F', 0x0d, 0x0a, 0x1a, 0x0a,  /* signature */
    0x01, 0x00,                                   /* version 1.0 */
    'H', 'E', 'A', 'D', 0x01, 0x00, 0x00, 0x00,   /* HEAD, 1 byte */
    0x01,                                         /* stream kind */
    0xfa, 0x11, 0x21, 0x90,                       /* CRC-32 0x902111fa */
    'D', 'A', 'T', 'A', 0x02, 0x00, 0x00, 0x00,   /* DATA, 2 bytes */
    'h', 'i',
    0x71, 0xdf, 0xe5, 0xec,                       /* CRC-32 0xece5df71 */
    'T', 'A', 'I', 'L', 0x00, 0x00, 0x00, 0x00,   /* TAIL, empty */
    0xe9, 0x59, 0xa2, 0x4a                        /* CRC-32 0x4aa259e9 */
  };
  vq_container_writer *w;
  vq_container *c = NULL;
  uint8_t *file;
  size_t size;
  CHECK_EQ_INT(vq_container_writer_create(&w), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "HEAD", "\x01", 1), VQ_OK);
  CHECK_EQ_INT(vq_container_writer_add(w, "DATA", "hi", 2), VQ_OK);
  file = finish(w, &size);
  CHECK(size == sizeof want && memcmp(file, want, sizeof want) == 0);
  CHECK_EQ_INT(vq_container_parse(&c, want, sizeof want, 0, NULL, NULL,
                                  NULL), VQ_OK);
  CHECK(c && vq_container_chunk(c, 2)->crc == 0x4aa259e9u);
  vq_container_destroy(c);
  vq_free(file);
}

int main(void) {
  test_round_trips();
  test_unknown();
  test_structure();
  test_minor_version();
  test_writer_rules();
  test_truncations();
  test_bit_flips();
  test_limits();
  test_pinned_bytes();
  return vq_test_finish("test_container");
}
