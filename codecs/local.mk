# codecs/: front-ends, built into the same library, using only <vq/...>.
libvqcore_la_SOURCES += \
  codecs/image/imageio.c \
  codecs/image/patches.c
