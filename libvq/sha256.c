/* SHA-256 as specified in FIPS 180-4. Portable C: the message schedule
 * and the state are built from bytes in big-endian order explicitly, so
 * the result does not depend on the host byte order. */
#include "config.h"
#include <string.h>
#include "internal.h"
#include "vq/sha256.h"

/* FIPS 180-4, 4.2.2: the first 32 bits of the fractional parts of the
 * cube roots of the first 64 primes. */
static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
  0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
  0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define CH(x, y, z) (((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z) (((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define BSIG0(x) (ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BSIG1(x) (ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SSIG0(x) (ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SSIG1(x) (ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))

static uint32_t load_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* One 64-byte block into the chaining value (FIPS 180-4, 6.2.2). */
static void sha_block(uint32_t h[8], const uint8_t *block) {
  uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
  int t;
  for (t = 0; t < 16; t++) w[t] = load_be32(block + 4 * t);
  for (t = 16; t < 64; t++)
    w[t] = SSIG1(w[t - 2]) + w[t - 7] + SSIG0(w[t - 15]) + w[t - 16];
  a = h[0], b = h[1], c = h[2], d = h[3];
  e = h[4], f = h[5], g = h[6], hh = h[7];
  for (t = 0; t < 64; t++) {
    t1 = hh + BSIG1(e) + CH(e, f, g) + K[t] + w[t];
    t2 = BSIG0(a) + MAJ(a, b, c);
    hh = g, g = f, f = e, e = d + t1;
    d = c, c = b, b = a, a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d;
  h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void vq_sha256_init(vq_sha256 *s) {
  /* FIPS 180-4, 5.3.3: fractional parts of the square roots of the first
   * eight primes. */
  static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                 0xa54ff53a, 0x510e527f, 0x9b05688c,
                                 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, h0, sizeof h0);
  s->len = 0;
  s->fill = 0;
}

void vq_sha256_update(vq_sha256 *s, const void *data, size_t size) {
  const uint8_t *p = data;
  if (!size) return;
  s->len += size;
  if (s->fill) {
    size_t take = VQ_MIN(size, 64 - s->fill);
    memcpy(s->buf + s->fill, p, take);
    s->fill += take, p += take, size -= take;
    if (s->fill < 64) return;
    sha_block(s->h, s->buf);
    s->fill = 0;
  }
  /* Whole blocks straight from the input, without a copy. */
  for (; size >= 64; p += 64, size -= 64) sha_block(s->h, p);
  if (size) memcpy(s->buf, p, size);
  s->fill = size;
}

void vq_sha256_final(vq_sha256 *s, uint8_t digest[32]) {
  uint64_t bits = s->len * 8;
  int i;
  /* Padding (5.1.1): a 1 bit, zeros up to 56 mod 64, the bit length. */
  s->buf[s->fill++] = 0x80;
  if (s->fill > 56) {
    memset(s->buf + s->fill, 0, 64 - s->fill);
    sha_block(s->h, s->buf);
    s->fill = 0;
  }
  memset(s->buf + s->fill, 0, 56 - s->fill);
  store_be32(s->buf + 56, (uint32_t)(bits >> 32));
  store_be32(s->buf + 60, (uint32_t)bits);
  sha_block(s->h, s->buf);
  for (i = 0; i < 8; i++) store_be32(digest + 4 * i, s->h[i]);
  memset(s, 0, sizeof *s);
}

void vq_sha256_digest(uint8_t digest[32], const void *data, size_t size) {
  vq_sha256 s;
  vq_sha256_init(&s);
  vq_sha256_update(&s, data, size);
  vq_sha256_final(&s, digest);
}

int vq_sha256_file(uint8_t digest[32], const char *path, vq_diag *diag) {
  vq_map m;
  int rc;
  if (!digest || !path)
    return vq_diag_set(diag, VQ_ERR_INVALID_ARG, "vq_sha256_file: no "
                       "digest or path");
  if ((rc = vq_map_file(&m, path, 0, diag)) < 0) return rc;
  vq_sha256_digest(digest, m.data, m.size);
  vq_map_release(&m);
  return VQ_OK;
}

void vq_sha256_hex(char hex[65], const uint8_t digest[32]) {
  static const char xd[] = "0123456789abcdef";
  int i;
  for (i = 0; i < 32; i++) {
    hex[2 * i] = xd[digest[i] >> 4];
    hex[2 * i + 1] = xd[digest[i] & 15];
  }
  hex[64] = 0;
}
