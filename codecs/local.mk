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
libvqcore_la_SOURCES += codecs/image/priors.h codecs/latent/latent.c

# 'make priors' retrains the models' starting distributions (priors.h)
# on the bundled samples with a counting build of the codec.
EXTRA_PROGRAMS += codecs/image/train_priors
codecs_image_train_priors_SOURCES = codecs/image/train_priors.c \
  codecs/image/blockcode.c codecs/image/imagecodec.c codecs/image/dct.c \
  codecs/image/imageio.c codecs/image/png_io.c codecs/image/jpeg_io.c \
  codecs/image/pnm_io.c
codecs_image_train_priors_CPPFLAGS = $(AM_CPPFLAGS) -DIC_TRAIN \
  $(PNG_CFLAGS) $(JPEG_CFLAGS) $(FFTW_CFLAGS)
codecs_image_train_priors_LDADD = libvq.la $(VQ_EXT_LIBS)
priors: codecs/image/train_priors$(EXEEXT)
	codecs/image/train_priors$(EXEEXT) $(top_srcdir)/samples/*.png \
	  > $(top_srcdir)/codecs/image/priors.h.tmp
	mv $(top_srcdir)/codecs/image/priors.h.tmp \
	  $(top_srcdir)/codecs/image/priors.h
.PHONY: priors
