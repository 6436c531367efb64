/* Makes priors.h, the starting distributions of the image codec's
 * models: encodes the training images at a sweep of qualities with a
 * training build of the codec (IC_TRAIN: models start uniform and every
 * coded symbol is counted), then turns each model's counts into a CDF.
 *   make priors     (trains on samples/*.png, rewrites priors.h)
 * The training images are the bundled samples, not the Kodak benchmark
 * set. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vq/vq.h>
#include "codec_priv.h"

int main(int argc, char **argv) {
  static const float qualities[] = {5, 10, 20, 30, 40, 50, 60, 70, 80, 90,
                                    95};
  FILE *tmp = tmpfile();
  size_t i, q, s, n = IC_MODELS_COUNT;
  int a;
  ic_models m;
  if (argc < 2 || !tmp) {
    fprintf(stderr, "usage: train_priors IMAGE... > priors.h\n");
    return 1;
  }
  for (a = 1; a < argc; a++) {
    vq_image *img;
    vq_diag diag;
    if (vq_image_read(&img, argv[a], 0, &diag) < 0) {
      fprintf(stderr, "train_priors: %s\n", diag.msg);
      return 1;
    }
    for (q = 0; q < sizeof qualities / sizeof *qualities; q++) {
      vq_image_enc_params p;
      uint8_t *out;
      size_t size;
      if (vq_image_enc_params_init(&p) < 0) return 1;
      p.quality = qualities[q];
      p.threads = 1;
      if (vq_image_encode(&out, &size, img, &p, &diag) < 0) {
        fprintf(stderr, "train_priors: %s\n", diag.msg);
        return 1;
      }
      vq_free(out);
    }
    vq_image_destroy(img);
  }
  ic_train_dump(tmp);
  rewind(tmp);
  ic_models_init(&m, 0); /* for the symbol count of every model */
  printf("/* Starting distributions of the image codec's models, made by\n"
         " * train_priors.c from the bundled samples; do not edit. A row\n"
         " * whose last entry is not 32768 means no prior. */\n"
         "static const uint16_t ic_priors[2][%lu][17] = {\n",
         (unsigned long)n);
  for (i = 0; i < 2 * n; i++) {
    const vq_cdf *c = (const vq_cdf *)(const void *)&m + i % n;
    unsigned long long cnt[16], total = 0;
    double acc = 0.0, sum = 0.0;
    unsigned k;
    for (s = 0; s < 16; s++) {
      if (fscanf(tmp, "%llu", &cnt[s]) != 1) return 1;
      if (s < c->n) total += cnt[s];
    }
    if (i % n == 0) printf("%s {\n", i ? "}," : "");
    printf("  {");
    if (total < 32) { /* too few to say anything */
      for (k = 0; k <= 16; k++)
        printf("%s0", k == 0 ? "" : k == 9 ? ",\n   " : ", ");
      printf("},\n");
      continue;
    }
    for (s = 0; s < c->n; s++) sum += (double)cnt[s] + 0.5;
    for (k = 0; k <= 16; k++) {
      unsigned v;
      if (k == 0) v = 0;
      else if (k >= c->n) v = k == c->n ? 32768u : 0u;
      else {
        acc += (double)cnt[k - 1] + 0.5;
        v = (unsigned)(32768.0 * acc / sum + 0.5);
      }
      printf("%s%u", k == 0 ? "" : k == 9 ? ",\n   " : ", ", v);
    }
    printf("},\n");
  }
  printf("}\n};\n");
  fclose(tmp);
  return 0;
}
