#!/bin/sh
# Golden image streams: every committed tests/data/golden-image/*.vq
# decodes to the pixels recorded in its SHA256SUMS (PPM/PGM files, or a
# PAM made from the PNG for images with alpha), on one thread and on two,
# so that no change to the stream or the decoder passes unnoticed. After
# an intended format change, regenerate them with
# tests/data/golden-image/make.sh (see there).
set -u
: "${top_builddir:?}" "${srcdir:?}"
PY=${PYTHON3:-/usr/bin/python3}
D="$top_builddir/apps/vqdec"
G="$srcdir/tests/data/golden-image"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x "$D" ] || { echo "vqdec not built"; exit 1; }
[ -r "$G/SHA256SUMS" ] || { echo "no $G/SHA256SUMS"; exit 1; }
n=0 fails=0
while read -r sum file; do
  name=${file%.*} ext=${file##*.}
  if [ ! -e "$G/$name.vq" ]; then
    echo "FAIL: SHA256SUMS lists $file, but $name.vq is missing"
    fails=$((fails + 1))
    continue
  fi
  for t in 1 2; do
    mkdir -p "$tmp/t$t"
    if [ "$ext" = pam ]; then
      "$D" -q --threads $t "$G/$name.vq" -o "$tmp/t$t/$name.png" &&
        "$PY" "$G/golden.py" pam "$tmp/t$t/$name.png" "$tmp/t$t/$file"
    else
      "$D" -q --threads $t "$G/$name.vq" -o "$tmp/t$t/$file"
    fi || { echo "FAIL: $name.vq does not decode ($t threads)";
            fails=$((fails + 1)); continue; }
    echo "$sum  $file" | (cd "$tmp/t$t" && sha256sum -c --quiet -) \
      >/dev/null 2>&1 || {
      echo "FAIL: $name.vq decodes to other pixels than recorded ($t threads)"
      fails=$((fails + 1)); }
  done
  n=$((n + 1))
done < "$G/SHA256SUMS"
for vq in "$G"/*.vq; do
  [ -e "$vq" ] || break
  name=$(basename "$vq" .vq)
  grep -q "  $name\.[a-z]*\$" "$G/SHA256SUMS" || {
    echo "FAIL: $name.vq has no checksum in SHA256SUMS"; fails=$((fails + 1)); }
done
[ "$n" -ge 8 ] || { echo "only $n golden image streams in $G"; exit 1; }
[ "$fails" -eq 0 ] || exit 1
echo "$n golden image streams decode to their checksums"
