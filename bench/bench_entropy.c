/* bench_entropy: index-stream coding speed and size on one thread.
 *
 *   bench_entropy TOKENS.npy [--model auto|static|adaptive|match|...]
 *                 [--repeat R]
 *
 * Reads an integer .npy (values >= 0), codes it as one index stream with
 * the alphabet max + 1 and the upper neighbour one row of the last axis
 * back (as vqenc does), and prints one JSON object: the model chosen, the
 * stream size, bits per index, the order-0 entropy, and the best of R
 * encode and decode times as million indices per second: encoding with
 * the chosen model alone, and in auto mode (every model tried). Decoding
 * is checked against the input. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vq/vq.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int load(const char *path, uint32_t **idx, size_t *n, uint32_t *k,
                size_t *width) {
  vq_diag diag = {{0}};
  vq_array *a = NULL;
  const int64_t *v;
  int64_t mx = 0;
  size_t i;
  if (vq_npy_read(&a, path, VQ_DTYPE_I64, NULL, &diag) < 0) {
    fprintf(stderr, "bench_entropy: %s\n", diag.msg);
    return -1;
  }
  v = a->data;
  *n = (size_t)a->count;
  *width = a->ndim >= 2 ? (size_t)a->shape[a->ndim - 1] : 0;
  *idx = malloc((*n + 1) * sizeof **idx);
  for (i = 0; i < *n; i++) {
    if (v[i] < 0 || v[i] >= (int64_t)VQ_ENTROPY_MAX_ALPHABET) {
      fprintf(stderr, "bench_entropy: %s: value %lld out of range\n", path,
              (long long)v[i]);
      vq_array_destroy(a);
      return -1;
    }
    if (v[i] > mx) mx = v[i];
    (*idx)[i] = (uint32_t)v[i];
  }
  *k = (uint32_t)mx + 1;
  vq_array_destroy(a);
  return 0;
}

/* Best time of repeat encodings; *buf holds the last stream. */
static double time_encode(uint8_t **buf, size_t *size, vq_entropy_stats *st,
                          const vq_entropy_params *p, const uint32_t *idx,
                          size_t n, int repeat) {
  vq_diag diag = {{0}};
  double best = 1e30, t;
  int r;
  for (r = 0; r < repeat; r++) {
    vq_free(*buf);
    *buf = NULL;
    t = now();
    if (vq_entropy_encode(buf, size, st, p, idx, n, &diag) < 0) {
      fprintf(stderr, "bench_entropy: %s\n", diag.msg);
      exit(1);
    }
    t = now() - t;
    if (t < best) best = t;
  }
  return best;
}

int main(int argc, char **argv) {
  vq_entropy_params p;
  vq_entropy_stats st;
  vq_diag diag = {{0}};
  uint32_t *idx, *back, k;
  uint8_t *buf = NULL;
  size_t n, width, size = 0, i;
  double tenc, tdec = 1e30, tauto, t;
  int repeat = 5, r, a;
  const char *path = NULL;
  vq_entropy_model model = VQ_ENTROPY_AUTO;
  for (a = 1; a < argc; a++) {
    if (!strcmp(argv[a], "--repeat") && a + 1 < argc) {
      repeat = atoi(argv[++a]);
    } else if (!strcmp(argv[a], "--model") && a + 1 < argc) {
      const char *name = argv[++a];
      int m;
      for (m = VQ_ENTROPY_AUTO; m <= VQ_ENTROPY_LAST_MODEL; m++)
        if (!strcmp(name, vq_entropy_model_name((vq_entropy_model)m)))
          model = (vq_entropy_model)m;
    } else {
      path = argv[a];
    }
  }
  if (!path || repeat < 1) {
    fprintf(stderr, "usage: bench_entropy TOKENS.npy [--model M] "
            "[--repeat R]\n");
    return 1;
  }
  if (load(path, &idx, &n, &k, &width) < 0) return 1;
  back = malloc((n + 1) * sizeof *back);
  vq_entropy_params_init(&p);
  p.alphabet = k;
  p.width = width;
  p.model = model;
  tauto = time_encode(&buf, &size, &st, &p, idx, n, repeat);
  /* the model the encoder kept, alone */
  p.model = st.model;
  p.rate = st.rate;
  tenc = time_encode(&buf, &size, &st, &p, idx, n, repeat);
  for (r = 0; r < repeat; r++) {
    t = now();
    if (vq_entropy_decode(back, n, k, width, buf, size, &diag) < 0) {
      fprintf(stderr, "bench_entropy: decode: %s\n", diag.msg);
      return 1;
    }
    t = now() - t;
    if (t < tdec) tdec = t;
  }
  for (i = 0; i < n; i++)
    if (back[i] != idx[i]) {
      fprintf(stderr, "bench_entropy: index %zu differs\n", i);
      return 1;
    }
  printf("{\"file\": \"%s\", \"n\": %zu, \"alphabet\": %lu, \"width\": %zu, "
         "\"model\": \"%s\", \"rate\": %d, \"bytes\": %zu, "
         "\"bits_per_symbol\": %.6f, \"entropy\": %.6f, "
         "\"encode_msym_s\": %.2f, \"decode_msym_s\": %.2f, "
         "\"auto_encode_msym_s\": %.2f}\n", path, n,
         (unsigned long)k, width, vq_entropy_model_name(st.model), st.rate,
         size, st.bits_per_symbol, st.entropy, (double)n / tenc / 1e6,
         (double)n / tdec / 1e6, (double)n / tauto / 1e6);
  vq_free(buf);
  free(idx);
  free(back);
  return 0;
}
