/* Private interface between the image file readers and writers. Not
 * installed; everything here sits on top of <vq/image.h> only. */
#ifndef VQ_CODECS_IMAGEIO_H
#define VQ_CODECS_IMAGEIO_H

#include <stdio.h>
#include <vq/image.h>

/* Writes "name: <fmt ...>" into diag (when not NULL) and returns code.
 * The latent codec (codecs/latent) reports its errors with it too. */
int vq_img_fail(vq_diag *diag, int code, const char *name, const char *fmt,
                ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Checks 1 <= width, height and width * height <= max_pixels (0: the
 * default limit). Returns 0, VQ_ERR_FORMAT or VQ_ERR_LIMIT. */
int vq_img_check_size(uint64_t width, uint64_t height, uint64_t max_pixels,
                      const char *name, vq_diag *diag);

/* 1 when uint16_t samples are stored least significant byte first. */
int vq_img_little_endian(void);

/* Format readers: buf holds the whole file; size is at least the length of
 * the signature the dispatcher matched. */
int vq_png_read_mem(vq_image **out, const unsigned char *buf, size_t size,
                    uint64_t max_pixels, const char *name, vq_diag *diag);
int vq_jpeg_read_mem(vq_image **out, const unsigned char *buf, size_t size,
                     uint64_t max_pixels, const char *name, vq_diag *diag);
int vq_pnm_read_mem(vq_image **out, const unsigned char *buf, size_t size,
                    uint64_t max_pixels, const char *name, vq_diag *diag);

/* Format writers: fp is the temporary file; the caller checks for stream
 * errors, closes and renames. img has been validated. */
int vq_png_write_fp(const vq_image *img, FILE *fp, const char *path,
                    vq_diag *diag);
int vq_pnm_write_fp(const vq_image *img, FILE *fp, const char *path,
                    vq_diag *diag);
/* JPEG at quality 95, 4:2:0, optimised Huffman tables; 1 or 3 channels. */
int vq_jpeg_write_fp(const vq_image *img, FILE *fp, const char *path,
                     vq_diag *diag);

#endif /* VQ_CODECS_IMAGEIO_H */
