/* Minimal test harness shared by the C tests. */
#ifndef VQ_TESTUTIL_H
#define VQ_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

static int vq_test_failures;

#if defined(__GNUC__)
#define VQ_TEST_UNUSED __attribute__((unused))
#else
#define VQ_TEST_UNUSED
#endif

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
              #cond);                                                    \
      vq_test_failures++;                                                \
    }                                                                    \
  } while (0)

#define CHECK_EQ_INT(a, b)                                               \
  do {                                                                   \
    long long va_ = (long long)(a), vb_ = (long long)(b);                \
    if (va_ != vb_) {                                                    \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, \
              __LINE__, #a, #b, va_, vb_);                               \
      vq_test_failures++;                                                \
    }                                                                    \
  } while (0)

/* Seed from VQ_TEST_SEED when set, else the fixed default; printed so a
 * failure can be replayed. */
VQ_TEST_UNUSED static unsigned long long vq_test_seed(unsigned long long dflt) {
  const char *s = getenv("VQ_TEST_SEED");
  unsigned long long v = s ? strtoull(s, NULL, 0) : dflt;
  fprintf(stderr, "seed %llu (set VQ_TEST_SEED to override)\n", v);
  return v;
}

/* Path of a file under $srcdir (for make distcheck). */
VQ_TEST_UNUSED static const char *vq_test_srcpath(char *buf, size_t size, const char *rel) {
  const char *s = getenv("srcdir");
  snprintf(buf, size, "%s/%s", s ? s : ".", rel);
  return buf;
}

#include <dirent.h>
#include <string.h>

/* Calls fn on every file of $srcdir/rel (sorted order not needed); returns
 * the number of files seen, or -1 when the folder cannot be read. */
VQ_TEST_UNUSED static int vq_test_each_file(const char *rel,
                                            void (*fn)(const char *path)) {
  char dir[1024], path[2048];
  struct dirent *e;
  DIR *d;
  int n = 0;
  vq_test_srcpath(dir, sizeof dir, rel);
  d = opendir(dir);
  if (!d) return -1;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    fn(path);
    n++;
  }
  closedir(d);
  return n;
}

VQ_TEST_UNUSED static int vq_test_finish(const char *name) {
  if (vq_test_failures) {
    fprintf(stderr, "%s: %d check(s) failed\n", name, vq_test_failures);
    return 1;
  }
  fprintf(stderr, "%s: all checks passed\n", name);
  return 0;
}

#endif
