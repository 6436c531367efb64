# man/: hand-written pages, installed and distributed.
dist_man_MANS += man/vqtrain.1 man/vqinfo.1 man/vqenc.1 man/vqdec.1 man/vqtok.1 \
  man/libvq.3
