# tests/: one program per module, linked against the convenience library
# so they reach internal symbols; shell tests drive the tools.
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
  srcdir='$(srcdir)'; top_srcdir='$(top_srcdir)'; \
  top_builddir='$(top_builddir)'; PYTHON3='$(PYTHON3)'; \
  MAKE='$(MAKE)'; SAN_CFLAGS='$(SAN_CFLAGS)'; \
  export srcdir top_srcdir top_builddir PYTHON3 MAKE SAN_CFLAGS;

noinst_HEADERS = tests/testutil.h
VQ_TEST_LDADD = libvqcore.la $(VQ_EXT_LIBS)
VQ_TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libvq

VQ_C_TESTS = \
  tests/test_common \
  tests/test_npy \
  tests/test_safetensors \
  tests/test_search \
  tests/test_kmeans \
  tests/test_image \
  tests/test_rangecoder \
  tests/test_symmodel \
  tests/test_entropy \
  tests/test_sha256 \
  tests/test_container \
  tests/test_tokenfile \
  tests/test_pvq \
  tests/test_rvq \
  tests/test_pq \
  tests/test_projector \
  tests/test_tokenset \
  tests/test_imagecodec
check_PROGRAMS += $(VQ_C_TESTS)
TESTS += $(VQ_C_TESTS) \
  tests/test_cli.sh \
  tests/test_codec_cli.sh \
  tests/test_rvq_cli.sh \
  tests/test_tokens_cli.sh \
  tests/test_latent_cli.sh \
  tests/test_rvq_image_cli.sh \
  tests/test_image_cli.sh \
  tests/test_golden.sh \
  tests/test_golden_image.sh \
  tests/test_fuzz_corpus.sh \
  tests/test_python.sh \
  tests/test_example.sh

tests_test_common_SOURCES = tests/test_common.c
tests_test_common_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_common_LDADD = $(VQ_TEST_LDADD)
tests_test_npy_SOURCES = tests/test_npy.c
tests_test_npy_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_npy_LDADD = $(VQ_TEST_LDADD)
tests_test_safetensors_SOURCES = tests/test_safetensors.c
tests_test_safetensors_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_safetensors_LDADD = $(VQ_TEST_LDADD)
tests_test_search_SOURCES = tests/test_search.c
tests_test_search_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_search_LDADD = $(VQ_TEST_LDADD)
tests_test_kmeans_SOURCES = tests/test_kmeans.c
tests_test_kmeans_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_kmeans_LDADD = $(VQ_TEST_LDADD)
tests_test_rangecoder_SOURCES = tests/test_rangecoder.c
tests_test_rangecoder_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_rangecoder_LDADD = $(VQ_TEST_LDADD)
tests_test_symmodel_SOURCES = tests/test_symmodel.c
tests_test_symmodel_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_symmodel_LDADD = $(VQ_TEST_LDADD)
tests_test_entropy_SOURCES = tests/test_entropy.c
tests_test_entropy_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_entropy_LDADD = $(VQ_TEST_LDADD)
tests_test_sha256_SOURCES = tests/test_sha256.c
tests_test_sha256_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_sha256_LDADD = $(VQ_TEST_LDADD)
tests_test_container_SOURCES = tests/test_container.c
tests_test_container_CPPFLAGS = $(VQ_TEST_CPPFLAGS) $(ZLIB_CFLAGS)
tests_test_container_LDADD = $(VQ_TEST_LDADD)
tests_test_tokenfile_SOURCES = tests/test_tokenfile.c
tests_test_tokenfile_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_tokenfile_LDADD = $(VQ_TEST_LDADD)
tests_test_pvq_SOURCES = tests/test_pvq.c
tests_test_pvq_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_pvq_LDADD = $(VQ_TEST_LDADD)
tests_test_rvq_SOURCES = tests/test_rvq.c
tests_test_rvq_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_rvq_LDADD = $(VQ_TEST_LDADD)
tests_test_pq_SOURCES = tests/test_pq.c
tests_test_pq_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_pq_LDADD = $(VQ_TEST_LDADD)
tests_test_projector_SOURCES = tests/test_projector.c
tests_test_projector_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_projector_LDADD = $(VQ_TEST_LDADD)
tests_test_tokenset_SOURCES = tests/test_tokenset.c
tests_test_tokenset_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_tokenset_LDADD = $(VQ_TEST_LDADD)
tests_test_image_SOURCES = tests/test_image.c
tests_test_image_CPPFLAGS = $(VQ_TEST_CPPFLAGS)
tests_test_image_LDADD = $(VQ_TEST_LDADD)
tests_test_imagecodec_SOURCES = tests/test_imagecodec.c
tests_test_imagecodec_CPPFLAGS = $(VQ_TEST_CPPFLAGS) $(PNG_CFLAGS)
tests_test_imagecodec_LDADD = $(VQ_TEST_LDADD)

# The fuzz target, replayed over its committed corpus by every make check
# (make fuzz builds the coverage-guided fuzzer with clang).
check_PROGRAMS += tests/fuzz/replay_decode
tests_fuzz_replay_decode_SOURCES = tests/fuzz/fuzz_decode.c tests/fuzz/replay.c
tests_fuzz_replay_decode_LDADD = libvq.la
fuzz: all
	$(SHELL) $(top_srcdir)/tests/fuzz/build.sh $(top_srcdir) $(top_builddir)
.PHONY: fuzz

EXTRA_DIST += tests/test_cli.sh tests/test_codec_cli.sh tests/test_golden.sh \
  tests/test_rvq_cli.sh tests/test_tokens_cli.sh tests/test_latent_cli.sh \
  tests/test_rvq_image_cli.sh tests/damaged.py \
  tests/test_image_cli.sh tests/test_golden_image.sh \
  tests/test_fuzz_corpus.sh tests/test_python.sh tests/test_example.sh \
  tests/cli_lib.sh tests/fuzz/build.sh tests/fuzz/make_seeds.py \
  tests/fuzz/corpus tests/data
