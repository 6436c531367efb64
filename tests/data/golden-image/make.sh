#!/bin/sh
# Regenerates the golden image streams in this folder. It writes small
# source images (their pixels are formulas in golden.py, so nothing else
# is needed), encodes each with vqenc as listed below, and records in
# SHA256SUMS the SHA-256 of what vqdec makes of each stream: the PPM or
# PGM file, or for images with alpha a PAM file made from the PNG (PNM
# bytes depend on the pixels alone; PNG bytes also on zlib).
#
# Rerun it whenever the image stream changes on purpose, from a built
# tree; it replaces every .vq here and SHA256SUMS, and running it twice
# gives the same files:
#   tests/data/golden-image/make.sh [BUILDDIR]     (default: .)
# then check the new files with make check and commit them together.
# tests/test_golden_image.sh decodes every stream and checks the sums.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-.}" && pwd)
PY=${PYTHON3:-/usr/bin/python3}
E="$build/apps/vqenc"
D="$build/apps/vqdec"
[ -x "$E" ] && [ -x "$D" ] || { echo "make.sh: $E not built" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" "$here/golden.py" inputs "$tmp"
rm -f "$here"/*.vq
: > "$tmp/SHA256SUMS"
# stream name, source image, decoded form, vqenc options
while read -r name src ext opts; do
  "$E" --quiet --threads 1 $opts "$tmp/$src.png" -o "$here/$name.vq"
  if [ "$ext" = pam ]; then
    "$D" -q "$here/$name.vq" -o "$tmp/$name.png"
    "$PY" "$here/golden.py" pam "$tmp/$name.png" "$tmp/$name.pam"
  else
    "$D" -q "$here/$name.vq" -o "$tmp/$name.$ext"
  fi
  (cd "$tmp" && sha256sum "$name.$ext") >> "$tmp/SHA256SUMS"
done <<LIST
rgb17x33-q50        rgb17x33     ppm  -q 50
rgb17x33-q95        rgb17x33     ppm  -q 95
rgb17x33-q70-444    rgb17x33     ppm  -q 70 --subsample 444
rgb9x640-q75        rgb9x640     ppm  -q 75
gray24x20-q50       gray24x20    pgm  -q 50
gray24x20-q95       gray24x20    pgm  -q 95
rgba16x16-q50       rgba16x16    pam  -q 50
rgba16x16-q95       rgba16x16    pam  -q 95
graya16x16-q70      graya16x16   pam  -q 70
rgb16bit9x7-q80     rgb16bit9x7  ppm  -q 80
LIST
mv "$tmp/SHA256SUMS" "$here/SHA256SUMS"
echo "wrote $(wc -l < "$here/SHA256SUMS") golden image streams in $here"
