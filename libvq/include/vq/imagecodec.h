/* libvq image codec: DCT + gain-shape PVQ + adaptive range coding, from
 * and to memory buffers (the .vq container, stream kind 3). Implemented
 * in codecs/image/; doc/format.md specifies the stream. */
#ifndef VQ_IMAGECODEC_H
#define VQ_IMAGECODEC_H

#include "common.h"
#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Stream kind of a coded image in a .vq HEAD chunk. */
#define VQ_KIND_IMAGE 3

typedef struct vq_image_enc_params {
  uint32_t abi_;
  uint32_t size_;
  float quality;    /* 0 (smallest) to 100 (best); default 75. Fractional
                       values are allowed (rate control uses them). */
  int subsample;    /* 420, 444, or 0 (default): 4:2:0 below quality 90 */
  int threads;      /* 0 (default): all cores; the stream does not depend
                       on it */
} vq_image_enc_params;

VQ_EXPORT int vq_image_enc_params_init_(vq_image_enc_params *p,
                                        uint32_t abi, uint32_t size);
#define vq_image_enc_params_init(p) \
  vq_image_enc_params_init_((p), VQ_ABI_VERSION, (uint32_t)sizeof(*(p)))

/* Encodes img (any channels and depth; 16-bit samples are scaled to 8
 * bits, alpha is coded losslessly) into a .vq file in *out (free with
 * vq_free). At most 2^32 pixels, 2^30 columns and 2^28 rows. Returns VQ_OK,
 * VQ_ERR_INVALID_ARG, VQ_ERR_LIMIT or VQ_ERR_NOMEM. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_image_encode(
    uint8_t **out, size_t *out_size, const vq_image *img,
    const vq_image_enc_params *p, vq_diag *diag);

/* Decodes a .vq image file; the result has 8-bit samples and the
 * channels of the original (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA).
 * max_pixels 0 means VQ_IMAGE_MAX_PIXELS; threads 0 means all cores;
 * name labels messages. Returns VQ_OK, VQ_ERR_FORMAT, VQ_ERR_TRUNCATED,
 * VQ_ERR_LIMIT, VQ_ERR_UNSUPPORTED or VQ_ERR_NOMEM. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_image_decode(
    vq_image **out, const void *buf, size_t size, uint64_t max_pixels,
    int threads, const char *name, vq_diag *diag);

/* What the HEAD chunk of an image file declares. */
typedef struct vq_image_info {
  uint32_t width, height;
  int channels;     /* of the decoded image */
  int subsample;    /* 420 or 444 */
  float quality;
  uint32_t tiles;   /* independently coded stripes */
} vq_image_info;

/* Reads the HEAD payload of a stream of kind VQ_KIND_IMAGE. */
VQ_EXPORT int vq_image_info_parse(vq_image_info *info, const void *head,
                                  size_t size, vq_diag *diag);

/* PSNR over all colour channels (alpha ignored), PSNR of BT.601 luma and
 * SSIM of luma (8 x 8 windows, as the average over all window
 * positions with a step of 4) between two images of the same size;
 * either may be gray. 16-bit samples are scaled to 8 bits first. An
 * identical pair gives PSNR 99. */
VQ_EXPORT int vq_image_compare(const vq_image *a, const vq_image *b,
                               double *psnr, double *psnr_y, double *ssim);

#ifdef __cplusplus
}
#endif
#endif /* VQ_IMAGECODEC_H */
