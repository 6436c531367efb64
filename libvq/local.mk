# libvq/: the core library. Everything is first built into a convenience
# library (libvqcore) that the tests link to reach internal symbols; the
# installed libvq exports only the VQ_EXPORT symbols.
noinst_LTLIBRARIES += libvqcore.la
libvqcore_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libvq -DVQ_BUILDING_LIBRARY
libvqcore_la_CFLAGS = $(AM_CFLAGS) $(FP_CFLAGS) -fvisibility=hidden \
  $(PNG_CFLAGS) \
  $(JPEG_CFLAGS) $(OPENBLAS_CFLAGS) $(FFTW_CFLAGS) $(SNDFILE_CFLAGS) \
  $(ZLIB_CFLAGS)
libvqcore_la_SOURCES = \
  libvq/internal.h \
  libvq/error.c \
  libvq/alloc.c \
  libvq/rng.c \
  libvq/cpu.c \
  libvq/fileio.c \
  libvq/array.c \
  libvq/array_priv.h \
  libvq/npy.c \
  libvq/json.c \
  libvq/json.h \
  libvq/safetensors.c \
  libvq/codebook.c \
  libvq/search.c \
  libvq/kmeans.c \
  libvq/kmeanspp.c \
  libvq/kmeanspp.h \
  libvq/rangecoder.c \
  libvq/symmodel.c \
  libvq/symmodel.h \
  libvq/rcmodel.h \
  libvq/statmodel.c \
  libvq/statmodel.h \
  libvq/countmodel.c \
  libvq/countmodel.h \
  libvq/entropy.c \
  libvq/rvq.c \
  libvq/sha256.c \
  libvq/container.c \
  libvq/tokenfile.c \
  libvq/tokenset.c \
  libvq/pq.c \
  libvq/linalg.c \
  libvq/linalg.h \
  libvq/projector.c \
  libvq/quantizer.c \
  libvq/pvq.c \
  libvq/pvqsearch.c \
  libvq/pvqfile.c \
  libvq/pvq_rc.h \
  libvq/dsp/dist.c \
  libvq/dsp/dist.h
libvqcore_la_LIBADD =

if HAVE_AVX2
noinst_LTLIBRARIES += libvq_avx2.la
libvq_avx2_la_SOURCES = libvq/dsp/dist_avx2.c
libvq_avx2_la_CPPFLAGS = $(libvqcore_la_CPPFLAGS)
libvq_avx2_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(AVX2_CFLAGS)
libvqcore_la_LIBADD += libvq_avx2.la
# the PVQ search again, for AVX2: no FMA contraction, as in the core
noinst_LTLIBRARIES += libvq_pvq_avx2.la
libvq_pvq_avx2_la_SOURCES = libvq/dsp/pvqsearch_avx2.c
libvq_pvq_avx2_la_CPPFLAGS = $(libvqcore_la_CPPFLAGS)
libvq_pvq_avx2_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(AVX2_CFLAGS) \
  $(FP_CFLAGS)
libvqcore_la_LIBADD += libvq_pvq_avx2.la
endif
if HAVE_AVX512
noinst_LTLIBRARIES += libvq_avx512.la
libvq_avx512_la_SOURCES = libvq/dsp/dist_avx512.c
libvq_avx512_la_CPPFLAGS = $(libvqcore_la_CPPFLAGS)
libvq_avx512_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(AVX512_CFLAGS)
libvqcore_la_LIBADD += libvq_avx512.la
endif

VQ_EXT_LIBS = $(OPENBLAS_LIBS) $(LAPACKE_LIBS) $(FFTW_LIBS) $(PNG_LIBS) \
  $(JPEG_LIBS) $(SNDFILE_LIBS) $(ZLIB_LIBS) -lm

lib_LTLIBRARIES += libvq.la
libvq_la_SOURCES =
libvq_la_LIBADD = libvqcore.la $(VQ_EXT_LIBS)
libvq_la_LDFLAGS = $(AM_LDFLAGS) $(OPENMP_CFLAGS) -no-undefined \
  -version-info $(VQ_LT_VERSION)

vqincludedir = $(includedir)/vq
vqinclude_HEADERS = \
  libvq/include/vq/vq.h \
  libvq/include/vq/common.h \
  libvq/include/vq/array.h \
  libvq/include/vq/safetensors.h \
  libvq/include/vq/search.h \
  libvq/include/vq/kmeans.h \
  libvq/include/vq/codebook.h \
  libvq/include/vq/image.h \
  libvq/include/vq/file.h \
  libvq/include/vq/entropy.h \
  libvq/include/vq/sha256.h \
  libvq/include/vq/container.h \
  libvq/include/vq/tokenfile.h \
  libvq/include/vq/tokenset.h \
  libvq/include/vq/pq.h \
  libvq/include/vq/projector.h \
  libvq/include/vq/quantizer.h \
  libvq/include/vq/latentcodec.h \
  libvq/include/vq/pvq.h \
  libvq/include/vq/rangecoder.h \
  libvq/include/vq/imagecodec.h \
  libvq/include/vq/rvq.h

# The default image codebook (vqenc --mode rvq), embedded as a byte array
# generated from the committed .safetensors file (libvq/data/make.sh).
nodist_libvqcore_la_SOURCES = libvq/default_rvq.c
CLEANFILES += libvq/default_rvq.c
EXTRA_DIST += libvq/data/default-rvq.safetensors libvq/data/make.sh
libvq/default_rvq.c: $(top_srcdir)/libvq/data/default-rvq.safetensors
	$(AM_V_GEN)$(MKDIR_P) libvq && { \
	  echo '/* Generated from libvq/data/default-rvq.safetensors. */'; \
	  echo '#include "config.h"'; \
	  echo '#include <vq/latentcodec.h>'; \
	  echo 'static const uint8_t book[] = {'; \
	  od -An -v -tu1 $(top_srcdir)/libvq/data/default-rvq.safetensors | \
	    sed 's/^ *//; s/  */,/g; s/$$/,/'; \
	  echo '};'; \
	  echo 'void vq_default_image_codebook(const uint8_t **data,'; \
	  echo '                               size_t *size) {'; \
	  echo '  *data = book, *size = sizeof book;'; \
	  echo '}'; \
	} > $@.tmp && mv $@.tmp $@
