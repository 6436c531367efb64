/* Token-set indexes: written and read back the same; inputs outside their
 * shards, grids that do not make their rows and bad digests refused on
 * adding; every truncation and many byte changes of a valid file refused
 * or read back consistently, never a crash. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vq/tokenset.h"
#include "internal.h"
#include "testutil.h"

static const char *sha =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static vq_tokenset *sample(void) {
  vq_tokenset *ts;
  vq_token_input in;
  size_t s;
  CHECK_EQ_INT(vq_tokenset_create(&ts, sha, "cb \"x\".safetensors", "image",
                                  "uint16", 4, 1024), VQ_OK);
  CHECK_EQ_INT(vq_tokenset_set_attr(ts, "patch.size", "8"), VQ_OK);
  CHECK_EQ_INT(vq_tokenset_set_attr(ts, "patch.color", "rgb"), VQ_OK);
  CHECK_EQ_INT(vq_tokenset_add_shard(ts, "t-00000.npy", 100, &s), VQ_OK);
  CHECK_EQ_INT(s, 0);
  memset(&in, 0, sizeof in);
  in.name = "photos/a\xc3\xa9.png", in.shard = 0, in.row = 10, in.rows = 60;
  in.ndim = 2, in.grid[0] = 6, in.grid[1] = 10;
  in.size[0] = 41, in.size[1] = 80;
  CHECK_EQ_INT(vq_tokenset_add_input(ts, &in), VQ_OK);
  return ts;
}

static void test_round_trip(void) {
  const char *path = "test_tokenset.tmp.json";
  vq_tokenset *ts = sample(), *back;
  vq_token_input in;
  const char *file;
  uint64_t rows;
  CHECK_EQ_INT(vq_tokenset_write(ts, path, NULL), VQ_OK);
  CHECK_EQ_INT(vq_tokenset_read(&back, path, NULL), VQ_OK);
  CHECK(!strcmp(vq_tokenset_sha256(back), sha));
  CHECK(!strcmp(vq_tokenset_codebook_name(back), "cb \"x\".safetensors"));
  CHECK(!strcmp(vq_tokenset_source(back), "image"));
  CHECK(!strcmp(vq_tokenset_dtype(back), "uint16"));
  CHECK_EQ_INT(vq_tokenset_stages(back), 4);
  CHECK_EQ_INT(vq_tokenset_k(back), 1024);
  CHECK(!strcmp(vq_tokenset_attr(back, "patch.color"), "rgb"));
  CHECK_EQ_INT(vq_tokenset_shard_count(back), 1);
  CHECK_EQ_INT(vq_tokenset_shard(back, 0, &file, &rows), VQ_OK);
  CHECK(!strcmp(file, "t-00000.npy") && rows == 100);
  CHECK_EQ_INT(vq_tokenset_input_count(back), 1);
  CHECK_EQ_INT(vq_tokenset_input(back, 0, &in), VQ_OK);
  CHECK(!strcmp(in.name, "photos/a\xc3\xa9.png"));
  CHECK(in.row == 10 && in.rows == 60 && in.ndim == 2);
  CHECK(in.grid[0] == 6 && in.grid[1] == 10);
  CHECK(in.size[0] == 41 && in.size[1] == 80);
  CHECK_EQ_INT(vq_tokenset_input(back, 1, &in), VQ_ERR_INVALID_ARG);
  vq_tokenset_destroy(back);
  vq_tokenset_destroy(ts);
  remove(path);
}

static void test_refusals(void) {
  vq_tokenset *ts = sample(), *t2;
  vq_token_input in;
  memset(&in, 0, sizeof in);
  in.name = "b", in.shard = 0, in.row = 90, in.rows = 20, in.ndim = 1;
  in.grid[0] = 20;
  CHECK_EQ_INT(vq_tokenset_add_input(ts, &in), VQ_ERR_INVALID_ARG);
  in.row = 80, in.grid[0] = 19; /* grid does not make the rows */
  CHECK_EQ_INT(vq_tokenset_add_input(ts, &in), VQ_ERR_INVALID_ARG);
  in.grid[0] = 20, in.shard = 1;
  CHECK_EQ_INT(vq_tokenset_add_input(ts, &in), VQ_ERR_INVALID_ARG);
  in.shard = 0;
  CHECK_EQ_INT(vq_tokenset_add_input(ts, &in), VQ_OK);
  CHECK_EQ_INT(vq_tokenset_add_shard(ts, "../x.npy", 5, NULL),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_tokenset_set_attr(ts, "bad key", "v"), VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_tokenset_create(&t2, "abc", "n", "image", "int32", 1, 2),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_tokenset_create(&t2, sha, "n", "audio", "int32", 1, 2),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_tokenset_create(&t2, sha, "n", "image", "uint16", 1,
                                  70000), VQ_ERR_INVALID_ARG);
  vq_tokenset_destroy(ts);
}

/* Every prefix of a valid index, and every byte of it replaced by a few
 * others: an error or a consistent read, never a crash. */
static void test_damage(void) {
  const char *path = "test_tokenset.tmp.json", *bad = "test_tokenset.bad.json";
  vq_tokenset *ts = sample(), *back;
  unsigned char *buf;
  size_t size, i;
  FILE *f;
  int refused = 0, read_ok = 0, j;
  static const unsigned char subst[] = {'"', '}', '9', '-', 0, 0xff};
  CHECK_EQ_INT(vq_tokenset_write(ts, path, NULL), VQ_OK);
  vq_tokenset_destroy(ts);
  f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  size = (size_t)ftell(f);
  rewind(f);
  buf = malloc(size);
  CHECK(fread(buf, 1, size, f) == size);
  fclose(f);
  for (i = 0; i < size; i++) {
    vq_diag diag;
    f = fopen(bad, "wb");
    fwrite(buf, 1, i, f);
    fclose(f);
    memset(&diag, 0, sizeof diag);
    if (vq_tokenset_read(&back, bad, &diag) == VQ_OK) {
      read_ok++; /* only whitespace was cut */
      vq_tokenset_destroy(back);
    } else {
      refused++;
      CHECK(strstr(diag.msg, bad) != NULL);
    }
  }
  CHECK(refused >= (int)size - 2);
  for (i = 0; i < size; i++)
    for (j = 0; j < (int)sizeof subst; j++) {
      unsigned char keep = buf[i];
      buf[i] = subst[j];
      f = fopen(bad, "wb");
      fwrite(buf, 1, size, f);
      fclose(f);
      buf[i] = keep;
      if (vq_tokenset_read(&back, bad, NULL) == VQ_OK) {
        vq_token_input in;
        const char *file;
        uint64_t rows;
        /* whatever was read holds together */
        CHECK(vq_tokenset_input_count(back) <= 1);
        if (vq_tokenset_input(back, 0, &in) == VQ_OK) {
          CHECK(vq_tokenset_shard(back, in.shard, &file, &rows) == VQ_OK);
          CHECK(in.row + in.rows <= rows);
        }
        vq_tokenset_destroy(back);
      }
    }
  fprintf(stderr, "%zu truncations: %d refused, %d read (whitespace cut)\n",
          size, refused, read_ok);
  free(buf);
  remove(path);
  remove(bad);
}

int main(void) {
  test_round_trip();
  test_refusals();
  test_damage();
  if (vq_test_failures) fprintf(stderr, "%d failures\n", vq_test_failures);
  return vq_test_failures ? 1 : 0;
}
