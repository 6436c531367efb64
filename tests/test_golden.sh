#!/bin/sh
# Golden streams: every committed tests/data/golden/*.vq decodes to its
# .npy byte for byte (one file per index model, byte order and header
# form), so a change to the format or the decoders cannot pass unnoticed.
set -u
: "${top_builddir:?}" "${srcdir:?}"
D="$top_builddir/apps/vqdec"
G="$srcdir/tests/data/golden"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x "$D" ] || { echo "vqdec not built"; exit 1; }
n=0 fails=0
for vq in "$G"/*.vq; do
  [ -e "$vq" ] || break
  name=$(basename "$vq" .vq)
  if ! "$D" -q "$vq" -o "$tmp/$name.npy"; then
    echo "FAIL: $name.vq does not decode"; fails=$((fails + 1))
  elif ! cmp -s "$G/$name.npy" "$tmp/$name.npy"; then
    echo "FAIL: $name.vq decodes to other bytes than $name.npy"
    fails=$((fails + 1))
  fi
  n=$((n + 1))
done
[ "$n" -ge 8 ] || { echo "only $n golden streams in $G"; exit 1; }
[ "$fails" -eq 0 ] || exit 1
echo "$n golden streams decode bit-exactly"
