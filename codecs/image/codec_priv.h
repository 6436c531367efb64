/* Private interface of the image codec: the 8 x 8 block coder (DCT,
 * DC prediction, bands as gain + PVQ shape, context models) shared by
 * the encoder and the decoder. Not installed. */
#ifndef VQ_CODECS_CODEC_PRIV_H
#define VQ_CODECS_CODEC_PRIV_H

#include <stdint.h>
#include <vq/rangecoder.h>

#define IC_BANDS 5
#define IC_GAIN_NBR 5      /* classes of the neighbours' gains */
#define IC_GAIN_PREV 4     /* classes of the band before */
#define IC_GAIN_CTX (IC_GAIN_NBR * IC_GAIN_PREV)
#define IC_DK_CTX 3
#define IC_DC_CTX 4
#define IC_POS_CLASSES 8
#define IC_REM_CLASSES 8
#define IC_NBR_CLASSES 3   /* pulses at the same place next door */
#define IC_DK_OFFSET 8     /* K - predicted K is coded in [-8, 7] */

/* Band b holds the zigzag positions [ic_band_start[b], [b + 1]). */
extern const uint8_t ic_band_start[IC_BANDS + 1];
/* Zigzag position -> row-major index in the 8 x 8 block. */
extern const uint8_t ic_zigzag[64];

/* The adaptive models of one plane type (luma or chroma). */
typedef struct ic_models {
  vq_cdf dc[IC_DC_CTX];
  vq_cdf gain[IC_BANDS][IC_GAIN_CTX];
  vq_cdf dk[IC_BANDS][IC_DK_CTX];
  vq_cdf mag[IC_BANDS][IC_POS_CLASSES][IC_REM_CLASSES][IC_NBR_CLASSES];
  vq_cdf aq[3];          /* the block's step class, by the left one's */
} ic_models;

/* chroma: 0 for the luma models, 1 for chroma. */
void ic_models_init(ic_models *m, int chroma);

#define IC_MODELS_COUNT (sizeof(ic_models) / sizeof(vq_cdf))

/* Quantizer steps of one plane type. */
typedef struct ic_quant {
  float dc;              /* DC step */
  float band[IC_BANDS];  /* gain step per band */
  float beta;            /* gain companding exponent, >= 1 */
  float lambda;          /* encoder: rate-distortion multiplier */
  float energy;          /* encoder: weight of the gain error (contrast) */
  float masking;         /* encoder: exponent of activity masking */
  int aq;                /* 1: each block picks one of three AC steps */
  float aq_scale[3];     /* their factors */
  float aq_lo, aq_hi;    /* encoder: activity thresholds (in steps^2) */
} ic_quant;

/* What later blocks' contexts and predictions need of a block. */
typedef struct ic_block {
  int32_t dc;            /* quantized DC */
  uint8_t aq;            /* step class, 1 when adaptive steps are off */
  uint16_t dc_res;       /* |DC residual|, capped */
  uint16_t gain[IC_BANDS];
  uint8_t mag[64];       /* min(|pulses|, 2) by zigzag position */
} ic_block;

/* Neighbours of a block inside its tile (NULL where absent). */
typedef struct ic_nbr {
  const ic_block *left, *up, *upleft;
} ic_nbr;

/* -log2(width / 2^15) for widths w, indexed by w >> 3. */
typedef struct ic_costs {
  float bits[4097];
} ic_costs;

void ic_costs_init(ic_costs *c);

/* Codes the 64 DCT coefficients of one block (row-major, orthonormal
 * scale) with rate-distortion-optimised choices; fills *cur; writes the
 * dequantized coefficients to rec when not NULL. */
void ic_encode_block(vq_rc_enc *e, ic_models *m, const ic_quant *q,
                     const ic_costs *costs, const float *coef,
                     const ic_nbr *nb, ic_block *cur, float *rec);

/* Decodes one block into its 64 dequantized coefficients. Returns 0, or
 * -1 when the stream is invalid. */
int ic_decode_block(vq_rc_dec *d, ic_models *m, const ic_quant *q,
                    const ic_nbr *nb, ic_block *cur, float *coef);

/* The 8 x 8 DCT-II pair (orthonormal) through FFTW; plans are made once
 * per codec call under a lock and executed on any thread. */
typedef struct ic_dct ic_dct;
int ic_dct_create(ic_dct **out);
void ic_dct_destroy(ic_dct *t);
void ic_dct_forward(const ic_dct *t, const float *in, float *out);
void ic_dct_inverse(const ic_dct *t, const float *in, float *out);

#ifdef IC_TRAIN
#include <stdio.h>
/* Training build only: counts symbols per model (single-threaded). */
void ic_train_begin(const ic_models *m);
void ic_train_dump(FILE *f);
#endif

#endif /* VQ_CODECS_CODEC_PRIV_H */
