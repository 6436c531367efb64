/* libvq image front-end: image files and patch extraction. */
#ifndef VQ_IMAGE_H
#define VQ_IMAGE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default limit on width * height for every image reader. */
#define VQ_IMAGE_MAX_PIXELS ((uint64_t)1 << 28)

/* An interleaved image: channels 1 (gray), 2 (gray+alpha), 3 (RGB) or
 * 4 (RGBA); depth 8 (uint8_t samples) or 16 (uint16_t, native order). */
typedef struct vq_image {
  uint32_t width;
  uint32_t height;
  int channels;
  int depth;
  void *pixels;      /* width * height * channels samples, row-major */
} vq_image;

/* Allocates a zero-filled image. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_image_create(
    vq_image **out, uint32_t width, uint32_t height, int channels,
    int depth);

VQ_EXPORT void vq_image_destroy(vq_image *img);

/* Reads PNG (any colour type and depth: palette expanded, 1/2/4-bit gray
 * widened to 8), JPEG (gray or colour; CMYK rejected) or binary PPM/PGM
 * (P5/P6, maxval up to 65535), recognised by content, not name.
 * max_pixels 0 means VQ_IMAGE_MAX_PIXELS. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_image_read(
    vq_image **out, const char *path, uint64_t max_pixels, vq_diag *diag);

VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_image_read_mem(
    vq_image **out, const void *buf, size_t size, uint64_t max_pixels,
    const char *name, vq_diag *diag);

/* Writes PNG, PPM/PGM or JPEG (from the extension .png, .ppm, .pgm, .pnm,
 * .jpg, .jpeg; JPEG at quality 95, without alpha) through a temporary
 * file renamed at the end. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_image_write(
    const vq_image *img, const char *path, vq_diag *diag);

typedef enum vq_patch_color {
  VQ_PATCH_LUMA = 0,   /* BT.601 luma; gray images as they are */
  VQ_PATCH_RGB = 1     /* R, G, B interleaved per pixel; gray replicated */
} vq_patch_color;

typedef struct vq_patch_params {
  uint32_t abi_;
  uint32_t size_;
  int patch;           /* side P of square patches (default 8) */
  int stride;          /* step between patches (default: P) */
  vq_patch_color color;/* default VQ_PATCH_LUMA */
  int mean_removed;    /* subtract each patch's mean (per channel) */
  int pad;             /* 1: cover the whole image, the patches past the
                          right and bottom edges filled by repeating the
                          last column and row (default 0: whole patches
                          only) */
} vq_patch_params;

VQ_EXPORT int vq_patch_params_init_(vq_patch_params *p, uint32_t abi,
                                    uint32_t size);
#define vq_patch_params_init(p) \
  vq_patch_params_init_((p), VQ_ABI_VERSION, (uint32_t)sizeof(*(p)))

/* Number of patches and their dimension for an image (alpha ignored).
 * Patches are taken on a grid from the top-left corner; partial patches at
 * the right and bottom edges are skipped, or with pad completed. */
VQ_EXPORT int vq_image_patch_count(const vq_image *img,
                                   const vq_patch_params *p, size_t *count,
                                   size_t *dim);

/* Extracts patches into out (count x dim floats, caller-owned, sized by
 * vq_image_patch_count()), samples scaled to [0, 255]. Row-major patch
 * order, each patch row-major, channels interleaved. */
VQ_EXPORT int vq_image_patches(float *out, const vq_image *img,
                               const vq_patch_params *p);

/* The inverse for a grid of non-overlapping patches (stride P, no mean
 * removal): writes the ceil(W / P) x ceil(H / P) patches, in the order
 * vq_image_patches() gives them, into img, an 8-bit image the caller
 * created with 1 channel for luma patches or 3 for RGB ones; samples are
 * rounded and clamped to [0, 255], and what lies past the image's right
 * and bottom edges is dropped. */
VQ_EXPORT VQ_WARN_UNUSED_RESULT int vq_image_from_patches(
    vq_image *img, const float *patches, const vq_patch_params *p);

#ifdef __cplusplus
}
#endif
#endif /* VQ_IMAGE_H */
