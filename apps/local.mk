# apps/: command-line tools, linked against the installed-form libvq.
bin_PROGRAMS += apps/vqtrain apps/vqinfo apps/vqenc apps/vqdec apps/vqtok
noinst_LTLIBRARIES += libvqcli.la
libvqcli_la_SOURCES = apps/cli.c apps/cli.h
apps_vqtrain_SOURCES = apps/vqtrain.c
apps_vqtrain_LDADD = libvqcli.la libvq.la
apps_vqinfo_SOURCES = apps/vqinfo.c
apps_vqinfo_LDADD = libvqcli.la libvq.la
apps_vqenc_SOURCES = apps/vqenc.c
apps_vqenc_LDADD = libvqcli.la libvq.la
apps_vqdec_SOURCES = apps/vqdec.c
apps_vqdec_LDADD = libvqcli.la libvq.la
apps_vqtok_SOURCES = apps/vqtok.c
apps_vqtok_LDADD = libvqcli.la libvq.la
