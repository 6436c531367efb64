/* libvq: the latent codec. A float tensor from a neural encoder, a
 * latent [C, H, W] or a batch [B, C, H, W] (channels last with hwc), is
 * quantized with a trained codebook (k-means, RVQ or PQ, with or without
 * a projector): its C-vectors become M token planes [H, W] per item,
 * each range-coded with the neighbour models of the entropy coder (left
 * and upper tokens, one adaptive model per stage). The .vq file (stream
 * kind 4, doc/format.md) names the codebook by the SHA-256 of its file
 * and may embed it. */
#ifndef VQ_LATENTCODEC_H
#define VQ_LATENTCODEC_H

#include "common.h"
#include "entropy.h"
#include "image.h"
#include "quantizer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VQ_KIND_LATENT 4
#define VQ_LATENT_MAX_TOKENS ((uint64_t)1 << 32)

typedef struct vq_latent_params {
  uint32_t abi_;          /* set by vq_latent_params_init() */
  uint32_t size_;
  int hwc;                /* 1: channels last ([H, W, C], [B, H, W, C]) */
  int beam;               /* RVQ beam (default 1) */
  int nthreads;           /* <= 0: all cores (default 0) */
  vq_entropy_model model; /* per plane (default VQ_ENTROPY_AUTO) */
  const uint8_t *codebook_sha256; /* 32 bytes: the codebook file's digest
                             (required) */
  const char *codebook_name;/* a file name hint, <= 255 bytes (may be
                             NULL) */
  const void *embed;      /* the codebook file itself, embedded when not
                             NULL (embed_size bytes) */
  size_t embed_size;
  int stages;             /* code the first S stages of a residual
                             codebook (0: all) */
} vq_latent_params;

/* The image a latent of patch vectors stands for (vq_latent_encode_image):
 * the latent is [ceil(height / patch), ceil(width / patch), dim], hwc,
 * dim = patch^2 for luma patches, 3 patch^2 for RGB ones. */
typedef struct vq_latent_image {
  uint32_t width, height;
  int channels;           /* 1 or 3 (RGB patches only): what the decoder
                             returns */
  int patch;              /* P, 1 to 256 */
  int rgb;                /* 1: RGB patches, 0: luma */
} vq_latent_image;

VQ_EXPORT int vq_latent_params_init_(vq_latent_params *p, uint32_t abi,
                                     uint32_t size);
#define vq_latent_params_init(p) \
  vq_latent_params_init_((p), VQ_ABI_VERSION, (uint32_t)sizeof(*(p)))

typedef struct vq_latent_stats {
  uint64_t tokens;        /* B H W M */
  size_t bytes;           /* of the .vq file */
  size_t payload_bytes;   /* of the coded planes */
  double bits_per_token;  /* 8 payload_bytes / tokens */
  double log2k;           /* bits a token would take uncoded */
  double mse;             /* per component */
} vq_latent_stats;

/* Quantizes x (ndim 3 or 4, shape as the layout says; C the quantizer's
 * dimension, finite values) and codes the tokens into a new buffer *out
 * of *size bytes, freed with vq_free(). tokens (may be NULL) receives the
 * B H W M tokens, [B, H, W, M]. Bit-identical for any nthreads. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_latent_encode(
    uint8_t **out, size_t *size, int32_t *tokens, vq_latent_stats *stats,
    const vq_latent_params *p, const vq_quantizer *q, const float *x,
    int ndim, const uint64_t *shape, vq_diag *diag);

/* What a latent .vq holds, from its HEAD and CODE chunks (the buffer must
 * outlive it: book points into it). */
typedef struct vq_latent_info {
  int hwc, ndim;
  uint64_t shape[4];      /* of the decoded tensor */
  int stages;
  uint32_t k, dim;
  int product;            /* 1: a product codebook (every stage needed) */
  int book_stages;        /* stages of the codebook (>= stages, the
                             stages coded) */
  int is_image;           /* 1: the latent is an image's patches */
  vq_latent_image image;  /* then: which image */
  uint8_t sha256[32];
  char name[256];         /* the codebook name hint ("" when none) */
  const uint8_t *book;    /* the embedded codebook file, or NULL */
  size_t book_size;
} vq_latent_info;

/* Parses and checks the container, HEAD and CODE (not the planes).
 * VQ_ERR_FORMAT / TRUNCATED / UNSUPPORTED / LIMIT with a message naming
 * `name`. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_latent_info_read(
    vq_latent_info *info, const void *buf, size_t size, const char *name,
    vq_diag *diag);

/* Decodes the tensor (float32, info.shape, B H W C values) into out from
 * the first `use` stages (0: all), with q built over the codebook the
 * file names (its stages, k and dimension must match); tokens (may be
 * NULL) receives them. Never reads outside buf. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_latent_decode(
    float *out, int32_t *tokens, const vq_quantizer *q, const void *buf,
    size_t size, int use, int nthreads, const char *name, vq_diag *diag);

/* An image as a latent of patch tokens: the image (8-bit, 1 to 4
 * channels, alpha dropped; gray taken as RGB by an RGB codebook) is cut
 * into P x P patches, those past its right and bottom edges completed by
 * repeating its last column and row, and coded as vq_latent_encode()
 * codes the [ceil(H/P), ceil(W/P), dim] latent (p->hwc is ignored). P
 * and the patch colour come from the codebook's metadata (vqtrain
 * --patch P [--rgb]; mean-removed patches are refused). stats->mse is
 * per sample over the image itself. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_latent_encode_image(
    uint8_t **out, size_t *size, vq_latent_stats *stats,
    const vq_latent_params *p, const vq_quantizer *q,
    const vq_codebook *cb, const vq_image *img, vq_diag *diag);

/* Decodes an image stream (info.is_image) into a new 8-bit image of the
 * original size and channels, from the first `use` stages (0: all). */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_latent_decode_image(
    vq_image **img, const vq_quantizer *q, const void *buf, size_t size,
    int use, int nthreads, const char *name, vq_diag *diag);

/* The library's own image codebook, a .safetensors file (residual, 8
 * stages of 256 codewords over 4 x 4 RGB patches, trained on kodim01-20
 * by libvq/data/make.sh): what vqenc --mode rvq uses by default. */
VQ_EXPORT void vq_default_image_codebook(const uint8_t **data,
                                         size_t *size);

#ifdef __cplusplus
}
#endif
#endif /* VQ_LATENTCODEC_H */
