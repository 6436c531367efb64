# codecs/: front-ends, built into the same library, using only <vq/...>.
libvqcore_la_SOURCES += \
  codecs/image/imageio.h \
  codecs/image/imageio.c \
  codecs/image/png_io.c \
  codecs/image/jpeg_io.c \
  codecs/image/pnm_io.c \
  codecs/image/patches.c \
  codecs/image/codec_priv.h \
  codecs/image/blockcode.c \
  codecs/image/dct.c \
  codecs/image/imagecodec.c \
  codecs/image/compare.c
