#!/bin/sh
# Retrains the library's default image codebook (vqenc --mode rvq):
# a residual quantizer of 8 stages of 256 codewords over 4 x 4 RGB
# patches of kodim01-20 (kodim21-24 stay out, for the held-out figures of
# BENCHMARKS.md). The build embeds the file in libvq (default_rvq.c is
# generated from it); a change to it changes its SHA-256, so streams
# coded with the old one then need that file given with --codebook.
#
#   libvq/data/make.sh [BUILDDIR] [KODAK]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-.}
kodak=${2:-$here/../../../shared/data/kodak}
set --
for i in 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20; do
  set -- "$@" "$kodak/kodim$i.png"
done
"$build/apps/vqtrain" rvq --stages 8 -k 256 --patch 4 --rgb --iters 20 \
  --seed 1 --threads 2 --quiet "$@" -o "$here/default-rvq.safetensors"
