/* .safetensors and codebook files: round trips, metadata, the malformed
 * corpus, truncations and bit flips; helpers for the Python test. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"
#include "vq/safetensors.h"
#include "vq/codebook.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/vqst-XXXXXX";

static void tmp_path(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", tmpdir, name);
}

static int read_file(const char *path, unsigned char **buf, size_t *n) {
  vq_map m;
  if (vq_map_file(&m, path, 0, NULL) < 0) return -1;
  *buf = malloc(m.size + 1);
  memcpy(*buf, m.data, m.size);
  *n = m.size;
  vq_map_release(&m);
  return 0;
}

static void test_round_trip(void) {
  float a[6] = {1, 2, 3, 4, 5, 6};
  int32_t b[3] = {-1, 0, 7};
  uint16_t h[2] = {0x3c00, 0xc000}; /* 1.0, -2.0 as float16 */
  uint64_t sa[2] = {2, 3}, sb[1] = {3}, sh[1] = {2};
  vq_st_writer *w;
  vq_st *st = NULL;
  vq_array *arr = NULL;
  char path[256];
  const char *k, *v;
  int ndim;
  uint64_t shape[VQ_MAX_DIMS];
  vq_dtype dt;
  tmp_path(path, sizeof path, "rt.safetensors");
  CHECK_EQ_INT(vq_st_writer_create(&w), VQ_OK);
  CHECK_EQ_INT(vq_st_writer_meta(w, "z", "last \"quoted\" \xc3\xa9"), VQ_OK);
  CHECK_EQ_INT(vq_st_writer_meta(w, "a", "1"), VQ_OK);
  CHECK_EQ_INT(vq_st_writer_add(w, "x", VQ_DTYPE_F32, 2, sa, a), VQ_OK);
  CHECK_EQ_INT(vq_st_writer_add(w, "idx", VQ_DTYPE_I32, 1, sb, b), VQ_OK);
  CHECK_EQ_INT(vq_st_writer_add(w, "h", VQ_DTYPE_F16, 1, sh, h), VQ_OK);
  CHECK_EQ_INT(vq_st_writer_add(w, "x", VQ_DTYPE_F32, 2, sa, a),
               VQ_ERR_INVALID_ARG);                       /* duplicate */
  CHECK_EQ_INT(vq_st_writer_meta(w, "bad", "\xff"), VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_st_writer_write(w, path, NULL), VQ_OK);
  vq_st_writer_destroy(w);
  CHECK_EQ_INT(vq_st_open(&st, path, NULL, NULL), VQ_OK);
  if (!st) return;
  CHECK_EQ_INT(vq_st_tensor_count(st), 3);
  CHECK_EQ_INT(vq_st_meta_count(st), 2);
  CHECK(vq_st_meta_at(st, 0, &k, &v) == 0 && !strcmp(k, "z") &&
        !strcmp(v, "last \"quoted\" \xc3\xa9"));
  CHECK(vq_st_meta(st, "a") && !strcmp(vq_st_meta(st, "a"), "1"));
  CHECK(vq_st_meta(st, "nope") == NULL);
  CHECK_EQ_INT(vq_st_find(st, "idx"), 1);
  CHECK_EQ_INT(vq_st_find(st, "nope"), VQ_ERR_NOT_FOUND);
  CHECK_EQ_INT(vq_st_tensor_info(st, 0, NULL, &dt, &ndim, shape), VQ_OK);
  CHECK(dt == VQ_DTYPE_F32 && ndim == 2 && shape[0] == 2 && shape[1] == 3);
  CHECK_EQ_INT(vq_st_read(&arr, st, 0, VQ_DTYPE_NONE, NULL), VQ_OK);
  CHECK(arr && memcmp(arr->data, a, sizeof a) == 0);
  vq_array_destroy(arr);
  CHECK_EQ_INT(vq_st_read(&arr, st, 1, VQ_DTYPE_I64, NULL), VQ_OK);
  CHECK(arr && ((int64_t *)arr->data)[0] == -1 &&
        ((int64_t *)arr->data)[2] == 7);
  vq_array_destroy(arr);
  CHECK_EQ_INT(vq_st_read(&arr, st, 2, VQ_DTYPE_F32, NULL), VQ_OK);
  CHECK(arr && ((float *)arr->data)[0] == 1.0f &&
        ((float *)arr->data)[1] == -2.0f);
  vq_array_destroy(arr);
  vq_st_destroy(st);
}

static void test_codebook(void) {
  vq_codebook *cb, *cb2 = NULL;
  char path[256];
  vq_diag diag;
  size_t i;
  tmp_path(path, sizeof path, "cb.safetensors");
  CHECK_EQ_INT(vq_codebook_create(&cb, "kmeans", 5, 3), VQ_OK);
  for (i = 0; i < 15; i++) vq_codebook_data(cb)[i] = (float)i / 7.0f;
  CHECK_EQ_INT(vq_codebook_set_meta(cb, "train.mse", "0.25"), VQ_OK);
  CHECK_EQ_INT(vq_codebook_set_meta(cb, "train.mse", "0.5"), VQ_OK);
  CHECK_EQ_INT(vq_codebook_set_meta(cb, "libvq.kind", "x"),
               VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_codebook_save(cb, path, NULL), VQ_OK);
  CHECK_EQ_INT(vq_codebook_load(&cb2, path, &diag), VQ_OK);
  if (cb2) {
    CHECK(vq_codebook_k(cb2) == 5 && vq_codebook_d(cb2) == 3);
    CHECK(!strcmp(vq_codebook_kind(cb2), "kmeans"));
    CHECK(memcmp(vq_codebook_cdata(cb2), vq_codebook_cdata(cb),
                 15 * sizeof(float)) == 0);
    CHECK(vq_codebook_meta(cb2, "train.mse") &&
          !strcmp(vq_codebook_meta(cb2, "train.mse"), "0.5"));
    CHECK_EQ_INT(vq_codebook_meta_count(cb2), 1);
  }
  vq_codebook_destroy(cb2);
  /* NaN in a codebook is refused on load */
  vq_codebook_data(cb)[4] = NAN;
  CHECK_EQ_INT(vq_codebook_save(cb, path, NULL), VQ_OK);
  CHECK_EQ_INT(vq_codebook_load(&cb2, path, &diag), VQ_ERR_NONFINITE);
  CHECK(strstr(diag.msg, "NaN") != NULL);
  vq_codebook_destroy(cb);
  CHECK_EQ_INT(vq_codebook_create(&cb, "Bad Kind", 1, 1), VQ_ERR_INVALID_ARG);
  CHECK_EQ_INT(vq_codebook_create(&cb, "kmeans", 0, 1), VQ_ERR_INVALID_ARG);
  unlink(path);
}

static void reject_one(const char *path) {
  vq_st *st = NULL;
  vq_diag diag;
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  int rc;
  diag.msg[0] = 0;
  rc = vq_st_open(&st, path, NULL, &diag);
  if (rc >= 0 || st || !strstr(diag.msg, base)) {
    fprintf(stderr, "%s: not rejected properly (rc %d, '%s')\n", base, rc,
            diag.msg);
    vq_test_failures++;
  }
  vq_st_destroy(st);
}

static void test_corpus(void) {
  int n = vq_test_each_file("tests/data/bad/safetensors", reject_one);
  CHECK(n > 0);
  fprintf(stderr, "rejected %d malformed .safetensors files\n", n);
}

static void test_mutations(void) {
  unsigned char *img, *mut;
  char path[256];
  size_t n, cut, i;
  vq_rng r;
  vq_st *st;
  tmp_path(path, sizeof path, "rt.safetensors");
  if (read_file(path, &img, &n)) {
    CHECK(!"round-trip file missing");
    return;
  }
  for (cut = 0; cut < n; cut++) {
    st = NULL;
    CHECK(vq_st_parse(&st, img, cut, NULL, "t", NULL) < 0 && !st);
  }
  mut = malloc(n);
  vq_rng_seed(&r, 5);
  for (i = 0; i < 5000; i++) {
    size_t bit = (size_t)vq_rng_below(&r, n * 8), t;
    memcpy(mut, img, n);
    mut[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    st = NULL;
    if (vq_st_parse(&st, mut, n, NULL, "t", NULL) == VQ_OK) {
      for (t = 0; t < vq_st_tensor_count(st); t++) {
        vq_array *a = NULL;
        if (vq_st_read(&a, st, t, VQ_DTYPE_NONE, NULL) == VQ_OK)
          vq_array_destroy(a);
      }
      vq_st_destroy(st);
    }
  }
  free(mut);
  free(img);
}

/* For tests/test_python.sh. */
static int write_codebook(const char *path) {
  vq_codebook *cb;
  size_t i;
  vq_diag diag;
  if (vq_codebook_create(&cb, "kmeans", 4, 3) < 0) return 1;
  for (i = 0; i < 12; i++) vq_codebook_data(cb)[i] = (float)i - 2.5f;
  if (vq_codebook_set_meta(cb, "train.mse", "0.125") < 0 ||
      vq_codebook_save(cb, path, &diag) < 0)
    return 1;
  vq_codebook_destroy(cb);
  return 0;
}

static int check_file(const char *path) {
  vq_codebook *cb;
  vq_diag diag;
  size_t i;
  int rc = vq_codebook_load(&cb, path, &diag);
  if (rc < 0) {
    fprintf(stderr, "%s\n", diag.msg);
    return 1;
  }
  rc = vq_codebook_k(cb) != 2 || vq_codebook_d(cb) != 3 ||
       !vq_codebook_meta(cb, "origin") ||
       strcmp(vq_codebook_meta(cb, "origin"), "numpy");
  for (i = 0; !rc && i < 6; i++)
    rc = vq_codebook_cdata(cb)[i] != 0.25f * (float)i;
  printf("%s: %s\n", path, rc ? "WRONG" : "ok");
  vq_codebook_destroy(cb);
  return rc;
}

int main(int argc, char **argv) {
  char path[256];
  if (argc == 3 && !strcmp(argv[1], "--write-codebook"))
    return write_codebook(argv[2]);
  if (argc == 3 && !strcmp(argv[1], "--check-codebook"))
    return check_file(argv[2]);
  if (!mkdtemp(tmpdir)) return 1;
  test_round_trip();
  test_codebook();
  test_corpus();
  test_mutations();
  tmp_path(path, sizeof path, "rt.safetensors");
  unlink(path);
  rmdir(tmpdir);
  return vq_test_finish("test_safetensors");
}
