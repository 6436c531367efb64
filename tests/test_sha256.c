/* SHA-256: the FIPS 180 examples, padding boundaries, incremental updates
 * in every split against one-shot hashing, files and hex output. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"
#include "vq/sha256.h"
#include "testutil.h"

static int hex_is(const uint8_t d[32], const char *want) {
  char hex[65];
  vq_sha256_hex(hex, d);
  if (strcmp(hex, want)) {
    fprintf(stderr, "digest %s, expected %s\n", hex, want);
    return 0;
  }
  return 1;
}

static int digest_is(const void *data, size_t n, const char *want) {
  uint8_t d[32];
  vq_sha256_digest(d, data, n);
  return hex_is(d, want);
}

/* FIPS 180-2 appendix B and the NIST example values. */
static void test_vectors(void) {
  static const char m448[] =
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  static const char m896[] =
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
      "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
  char a[64];
  memset(a, 'a', sizeof a);
  CHECK(digest_is("", 0, "e3b0c44298fc1c149afbf4c8996fb924"
                  "27ae41e4649b934ca495991b7852b855"));
  CHECK(digest_is(NULL, 0, "e3b0c44298fc1c149afbf4c8996fb924"
                  "27ae41e4649b934ca495991b7852b855"));
  CHECK(digest_is("abc", 3, "ba7816bf8f01cfea414140de5dae2223"
                  "b00361a396177a9cb410ff61f20015ad"));
  CHECK(digest_is(m448, strlen(m448), "248d6a61d20638b8e5c026930c3e6039"
                  "a33ce45964ff2167f6ecedd419db06c1"));
  CHECK(digest_is(m896, strlen(m896), "cf5b16a778af8380036ce59e7b049237"
                  "0b249b11e8f07a51afac45037afee9d1"));
  /* 55 bytes: the length fits the last block; 64: a whole padding block */
  CHECK(digest_is(a, 55, "9f4390f8d30c2dd92ec9f095b65e2b9a"
                  "e9b0a925a5258e241c9f1e910f734318"));
  CHECK(digest_is(a, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209"
                  "f439851db43d0ba5997337df154668eb"));
}

/* One million 'a', fed in pieces of odd sizes that straddle blocks. */
static void test_million(void) {
  static const size_t pieces[] = {1, 63, 65, 7, 128, 999, 3, 64, 4097};
  char *a = malloc(5000);
  vq_sha256 s;
  uint8_t d[32];
  size_t left = 1000000, i = 0;
  if (!a) {
    CHECK(!"out of memory");
    return;
  }
  memset(a, 'a', 5000);
  vq_sha256_init(&s);
  while (left) {
    size_t n = VQ_MIN(left, pieces[i++ % (sizeof pieces / sizeof *pieces)]);
    vq_sha256_update(&s, a, n);
    left -= n;
  }
  vq_sha256_final(&s, d);
  CHECK(hex_is(d, "cdc76e5c9914fb9281a1c7e284d73e67"
               "f1809a48a497200e046d39ccc7112cd0"));
  free(a);
}

/* Every length 0..200 of a pattern: one-shot, byte by byte and split in
 * two at every point agree; the digests chained together match a value
 * computed once with an independent implementation. */
static void test_lengths(void) {
  uint8_t pat[200], d1[32], d2[32], all[201 * 32];
  vq_sha256 s;
  size_t n, i, cut;
  for (i = 0; i < sizeof pat; i++) pat[i] = (uint8_t)(i * 131 + 7);
  for (n = 0; n <= sizeof pat; n++) {
    vq_sha256_digest(d1, pat, n);
    memcpy(all + 32 * n, d1, 32);
    vq_sha256_init(&s);
    for (i = 0; i < n; i++) vq_sha256_update(&s, pat + i, 1);
    vq_sha256_final(&s, d2);
    CHECK(memcmp(d1, d2, 32) == 0);
    for (cut = 0; cut <= n; cut++) {
      vq_sha256_init(&s);
      vq_sha256_update(&s, pat, cut);
      vq_sha256_update(&s, NULL, 0);
      vq_sha256_update(&s, pat + cut, n - cut);
      vq_sha256_final(&s, d2);
      if (memcmp(d1, d2, 32)) {
        fprintf(stderr, "length %zu split at %zu differs\n", n, cut);
        vq_test_failures++;
      }
    }
  }
  CHECK(digest_is(all, sizeof all, "f9be27f65ce096e9153691cee0f5949b"
                  "0e477b1afb72e8fa01644e3860e834c5"));
}

static void test_file(void) {
  char dir[] = "/tmp/vqsha-XXXXXX", path[256];
  uint8_t d[32], want[32], buf[3000];
  vq_diag diag;
  FILE *f;
  size_t i;
  if (!mkdtemp(dir)) {
    CHECK(!"mkdtemp failed");
    return;
  }
  snprintf(path, sizeof path, "%s/x.bin", dir);
  for (i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i ^ (i >> 8));
  f = fopen(path, "wb");
  CHECK(f != NULL);
  if (f) {
    CHECK(fwrite(buf, 1, sizeof buf, f) == sizeof buf);
    fclose(f);
  }
  vq_sha256_digest(want, buf, sizeof buf);
  CHECK_EQ_INT(vq_sha256_file(d, path, &diag), VQ_OK);
  CHECK(memcmp(d, want, 32) == 0);
  f = fopen(path, "wb");
  if (f) fclose(f);
  CHECK_EQ_INT(vq_sha256_file(d, path, &diag), VQ_OK);
  CHECK(hex_is(d, "e3b0c44298fc1c149afbf4c8996fb924"
               "27ae41e4649b934ca495991b7852b855"));
  unlink(path);
  diag.msg[0] = 0;
  CHECK_EQ_INT(vq_sha256_file(d, path, &diag), VQ_ERR_IO);
  CHECK(strstr(diag.msg, path) != NULL);
  CHECK_EQ_INT(vq_sha256_file(d, dir, &diag), VQ_ERR_IO);
  rmdir(dir);
}

static void test_hex(void) {
  uint8_t d[32];
  char hex[65];
  size_t i;
  for (i = 0; i < 32; i++) d[i] = (uint8_t)(i * 8 + 1);
  memset(hex, 'x', sizeof hex);
  vq_sha256_hex(hex, d);
  CHECK(strlen(hex) == 64);
  CHECK(!strcmp(hex, "0109111921293139414951596169717981899199a1a9b1b9"
                "c1c9d1d9e1e9f1f9"));
}

int main(void) {
  test_vectors();
  test_million();
  test_lengths();
  test_file();
  test_hex();
  return vq_test_finish("test_sha256");
}
