/* Fuzz target for the .vq decoders: the container reader, the token-file
 * decoder and the index-stream (range) decoder behind them, the PVQ array
 * decoder and the image decoder.
 *
 * The first input byte b picks the target; the rest is the file or stream:
 *   0: a whole .vq token file through vq_tokenfile_decode()
 *   1: an index stream through vq_entropy_decode(), with the alphabet,
 *      length and width taken from the next 7 bytes (and, when bit 6 of
 *      the fifth is set, through vq_entropy_decode_context() with 4
 *      classes that follow the position)
 *   2: the container alone, listing CRC failures
 *   3: a PVQ-coded float array through vq_pvqfile_decode()
 *   4: a coded image through vq_image_decode(), at most 2^20 pixels so
 *      that every input runs fast
 *   5 (b == 21): a latent through vq_latent_info_read() and, when it embeds
 *      its codebook (BOOK), vq_latent_decode() with it, at most 2^20
 *      values, and vq_latent_decode_image() for an image's patches
 * Target 4 is chosen when b % 8 == 4, target 5 when b == 21, any other b
 * chooses target b % 4, so inputs written before targets 4 and 5 existed
 * keep their meaning (the corpus had no input starting with 21).
 * Built with clang -fsanitize=fuzzer by 'make fuzz'; every make check
 * replays the committed corpus (tests/fuzz/corpus) through replay.c. */
#include "config.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vq/vq.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_tokens(const uint8_t *d, size_t n) {
  vq_tokenfile_limits lim;
  uint8_t *out = NULL;
  size_t out_size;
  vq_tokenfile_limits_default(&lim);
  lim.max_tokens = 1u << 22;
  lim.max_bytes = (uint64_t)1 << 27;
  if (vq_tokenfile_decode(&out, &out_size, d, n, &lim, "fuzz", NULL) == 0)
    vq_free(out);
}

static void fuzz_stream(const uint8_t *d, size_t n) {
  uint32_t alphabet, *sym;
  uint8_t *ctx = NULL;
  size_t count, width, i;
  int rc;
  if (n < 7) return;
  alphabet = 1 + ((uint32_t)d[0] | (uint32_t)d[1] << 8 |
                  (uint32_t)(d[2] & 0x0F) << 16);
  count = (size_t)d[3] | (size_t)(d[4] & 0x3F) << 8;  /* < 16384 */
  width = (size_t)d[5] | (size_t)d[6] << 8;
  sym = malloc((count + 1) * sizeof *sym);
  if (d[4] & 0x40) ctx = malloc(count + 1);
  if (!sym || ((d[4] & 0x40) && !ctx)) {
    free(sym), free(ctx);
    return;
  }
  for (i = 0; ctx && i < count; i++)
    ctx[i] = (uint8_t)((i * 2654435761u >> 9) % 4);
  rc = ctx ? vq_entropy_decode_context(sym, count, alphabet,
                                       width % (count + 1), ctx, 4, d + 7,
                                       n - 7, NULL)
           : vq_entropy_decode(sym, count, alphabet, width % (count + 1),
                               d + 7, n - 7, NULL);
  if (rc == 0)
    for (i = 0; i < count; i++)
      if (sym[i] >= alphabet) abort(); /* a decoder bug */
  free(sym), free(ctx);
}

static void fuzz_container(const uint8_t *d, size_t n) {
  vq_container *c = NULL;
  if (vq_container_parse(&c, d, n, VQ_CONTAINER_LIST_BAD_CRC, NULL, "fuzz",
                         NULL) == 0) {
    size_t i, k = vq_container_count(c);
    for (i = 0; i < k; i++) {
      const vq_chunk *ch = vq_container_chunk(c, i);
      if (ch->size && (ch->data < d || ch->data + ch->size > d + n)) abort();
    }
  }
  vq_container_destroy(c);
}

static void fuzz_pvq(const uint8_t *d, size_t n) {
  vq_array *a = NULL;
  if (vq_pvqfile_decode(&a, d, n, 1u << 22, "fuzz", NULL) == 0) {
    uint64_t i;
    for (i = 0; i < a->count; i++)
      if (!isfinite(((const float *)a->data)[i])) abort();
    vq_array_destroy(a);
  }
}

static void fuzz_image(const uint8_t *d, size_t n) {
  vq_image *img = NULL;
  if (vq_image_decode(&img, d, n, (uint64_t)1 << 20, 1, "fuzz", NULL) == 0) {
    if (img->depth != 8 || img->channels < 1 || img->channels > 4 ||
        (uint64_t)img->width * img->height > (uint64_t)1 << 20)
      abort(); /* a decoder bug */
    vq_image_destroy(img);
  } else if (img) {
    abort(); /* an error must leave no image */
  }
}

static void fuzz_latent(const uint8_t *d, size_t n) {
  vq_latent_info li;
  vq_codebook *cb = NULL;
  vq_quantizer *q = NULL;
  uint64_t count = 1;
  float *x;
  int a;
  if (vq_latent_info_read(&li, d, n, "fuzz", NULL) != 0) return;
  if (li.book && (li.book < d || li.book + li.book_size > d + n)) abort();
  for (a = 0; a < li.ndim; a++) count *= li.shape[a];
  if (!li.book || count > (1u << 20)) return;
  if (vq_codebook_load_mem(&cb, li.book, li.book_size, "fuzz", NULL) == 0 &&
      vq_quantizer_create(&q, cb, NULL) == 0 &&
      (x = malloc((size_t)count * sizeof *x)) != NULL) {
    if (vq_latent_decode(x, NULL, q, d, n, 0, 1, "fuzz", NULL) == 0) {
      uint64_t i;
      for (i = 0; i < count; i++)
        if (!isfinite(x[i])) abort(); /* codewords are finite */
    }
    free(x);
    if (li.is_image) {
      vq_image *img = NULL;
      if (vq_latent_decode_image(&img, q, d, n, 1, 1, "fuzz", NULL) == 0 &&
          (img->width != li.image.width || img->height != li.image.height ||
           img->channels != li.image.channels))
        abort();
      vq_image_destroy(img);
    }
  }
  vq_quantizer_destroy(q);
  vq_codebook_destroy(cb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (data[0] == 21) {
    fuzz_latent(data + 1, size - 1);
    return 0;
  }
  if (data[0] % 8 == 4) {
    fuzz_image(data + 1, size - 1);
    return 0;
  }
  switch (data[0] % 4) {
  case 0: fuzz_tokens(data + 1, size - 1); break;
  case 1: fuzz_stream(data + 1, size - 1); break;
  case 2: fuzz_container(data + 1, size - 1); break;
  default: fuzz_pvq(data + 1, size - 1); break;
  }
  return 0;
}
