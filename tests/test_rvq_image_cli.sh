#!/bin/sh
# vqenc --mode rvq: images as range-coded RVQ patch tokens, with the
# library's own codebook or another one; quality from the stages coded
# (size and PSNR rise with them), any prefix decodable, the same file for
# 1 and 2 threads, odd sizes and gray images, the codebook found by hash
# (library, embedded, given, beside the file) and another one refused,
# bad options and codebooks refused, every truncation and bit flip of a
# small file refused.
set -u
: "${top_builddir:?}" "${top_srcdir:?}" "${srcdir:?}"
PY=${PYTHON3:-/usr/bin/python3}
T="$top_builddir/apps/vqtrain"
E="$top_builddir/apps/vqenc"
D="$top_builddir/apps/vqdec"
S="$srcdir/samples/chelsea.png"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$srcdir/tests/cli_lib.sh"

for t in "$T" "$E" "$D"; do
  [ -x "$t" ] || { echo "$t not built"; exit 1; }
done
[ -r "$S" ] || { echo "$S missing"; exit 1; }
"$PY" -c 'import numpy' || { echo "python3 with numpy is required"; exit 1; }

# small images of odd sizes: 13 x 9 RGB and gray, as PPM / PGM
"$PY" - "$tmp" <<'PYEOF' || exit 1
import sys, numpy as np
d = sys.argv[1]
y, x = np.mgrid[0:9, 0:13]
rgb = np.stack([x * 19, y * 27, (x * y * 3) % 256], -1).astype(np.uint8)
open(d + "/odd.ppm", "wb").write(b"P6\n13 9\n255\n" + rgb.tobytes())
open(d + "/odd.pgm", "wb").write(b"P5\n13 9\n255\n" +
                                 rgb[..., 0].tobytes())
PYEOF

json() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$tmp/out" "$1"; }

# quality from stages: size and PSNR rise with them
prev_bytes=0 prev_psnr=0
for s in 1 2 4 8; do
  expect 0 "vqenc --mode rvq --stages $s" "$E" --json --mode rvq --stages $s \
    "$S" -o "$tmp/s$s.vq"
  b=$(json bytes) p=$(json psnr) st=$(json stages)
  check "stages $s: $b bytes, PSNR $p" \
    "[ $st -eq $s ] && \"$PY\" -c 'import sys; sys.exit(not ($b > $prev_bytes and $p > $prev_psnr))'"
  prev_bytes=$b prev_psnr=$p
  eval "psnr$s=$p"
done
check "8 stages of the library's codebook: PSNR above 33 dB ($psnr8)" \
  "\"$PY\" -c 'import sys; sys.exit(not $psnr8 > 33)'"
check "1 stage below 8 stages by 5 dB or more ($psnr1, $psnr8)" \
  "\"$PY\" -c 'import sys; sys.exit(not $psnr8 - $psnr1 > 5)'"

# the decoder gives what the encoder measured; prefixes are the shorter
# files' images (greedy coding: a stage's tokens do not depend on later
# stages)
expect 0 "vqdec" "$D" --json "$tmp/s4.vq" -o "$tmp/s4.png" --compare "$S"
check "vqdec PSNR = vqenc PSNR" "[ \"$(json psnr)\" = \"$psnr4\" ]"
check "vqdec says image" "[ \"$(json kind)\" = image ]"
expect 0 "vqdec --stages 2 of 4" "$D" -q --stages 2 "$tmp/s4.vq" \
  -o "$tmp/s4-2.png"
expect 0 "vqdec 2 of 2" "$D" -q "$tmp/s2.vq" -o "$tmp/s2.png"
check "a 2-stage prefix is the 2-stage file's image" \
  'cmp -s "$tmp/s4-2.png" "$tmp/s2.png"'
expect 1 "vqdec --stages 5 of 4" "$D" --stages 5 "$tmp/s4.vq" -o "$tmp/x.png"
expect 1 "an image to .npy" "$D" "$tmp/s4.vq" -o "$tmp/x.npy"
says "holds an image"

# -q picks the stages: 0 one, 100 all
expect 0 "vqenc -q 0" "$E" --json --mode rvq -q 0 "$S" -o "$tmp/q0.vq"
check "-q 0 codes 1 stage" "[ $(json stages) -eq 1 ]"
expect 0 "vqenc -q 100" "$E" --json --mode rvq -q 100 "$S" -o "$tmp/q100.vq"
check "-q 100 codes all 8" "[ $(json stages) -eq 8 ]"

# the same file for 1 and 2 threads
expect 0 "1 thread" "$E" -q 75 --quiet --mode rvq --threads 1 "$S" \
  -o "$tmp/t1.vq"
expect 0 "2 threads" "$E" -q 75 --quiet --mode rvq --threads 2 "$S" \
  -o "$tmp/t2.vq"
check "same file for 1 and 2 threads" 'cmp -s "$tmp/t1.vq" "$tmp/t2.vq"'

# odd sizes (edge patches completed, cropped back) and gray images
expect 0 "13 x 9 RGB" "$E" --quiet --mode rvq --stages 8 "$tmp/odd.ppm" \
  -o "$tmp/odd.vq"
expect 0 "13 x 9 RGB back" "$D" --json "$tmp/odd.vq" -o "$tmp/odd.png" \
  --compare "$tmp/odd.ppm"
check "13 x 9 RGB decodes at its size (PSNR $(json psnr))" \
  "\"$PY\" -c 'import sys; sys.exit(not $(json psnr) > 20)'"
expect 0 "13 x 9 gray" "$E" --quiet --mode rvq "$tmp/odd.pgm" \
  -o "$tmp/gray.vq"
expect 0 "13 x 9 gray back" "$D" -q "$tmp/gray.vq" -o "$tmp/gray.pgm"
check "a gray image decodes to gray" \
  "[ \"\$(head -c 2 \"$tmp/gray.pgm\")\" = P5 ]"

# another codebook: luma 4 x 4 patches, trained here
expect 0 "train a luma codebook" "$T" rvq -q --stages 2 -k 16 --iters 4 \
  --patch 4 "$S" -o "$tmp/luma.st"
expect 0 "vqenc --codebook" "$E" --json --mode rvq --codebook "$tmp/luma.st" \
  "$S" -o "$tmp/luma.vq"
check "its 2 stages coded" "[ $(json stages) -eq 2 ]"
expect 0 "vqdec finds it beside the file" "$D" -q "$tmp/luma.vq" \
  -o "$tmp/luma.png"
check "luma patches decode to gray" \
  "\"$PY\" -c 'import sys; d = open(sys.argv[1], \"rb\").read(); sys.exit(d[25] != 0)' \"$tmp/luma.png\""
mkdir "$tmp/away"
cp "$tmp/luma.vq" "$tmp/away/luma.vq"
expect 1 "vqdec without its codebook" "$D" "$tmp/away/luma.vq" \
  -o "$tmp/away/x.png"
says "give it with --codebook"
expect 2 "vqdec with the library's codebook given" "$D" \
  --codebook "$top_srcdir/libvq/data/default-rvq.safetensors" \
  "$tmp/away/luma.vq" -o "$tmp/away/x.png"
says "not with"
check "no output after failures" '[ ! -e "$tmp/away/x.png" ]'
expect 0 "--embed-codebook" "$E" --quiet --mode rvq --embed-codebook \
  --codebook "$tmp/luma.st" "$S" -o "$tmp/away/emb.vq"
expect 0 "vqdec of an embedded codebook" "$D" -q "$tmp/away/emb.vq" \
  -o "$tmp/away/emb.png"
check "embedded: the same image" 'cmp -s "$tmp/away/emb.png" "$tmp/luma.png"'
expect 0 "vqdec --codebook the library's own file" "$D" -q \
  --codebook "$top_srcdir/libvq/data/default-rvq.safetensors" \
  "$tmp/s2.vq" -o "$tmp/s2b.png"
check "the committed file is the library's codebook" \
  'cmp -s "$tmp/s2b.png" "$tmp/s2.png"'

# refused: too many stages, rvq on other inputs, unusable codebooks
expect 1 "--stages 9 of 8" "$E" --mode rvq --stages 9 "$S" -o "$tmp/x.vq"
says "has 8"
expect 1 "--mode bogus" "$E" --mode bogus "$S" -o "$tmp/x.vq"
"$PY" -c "import numpy as np; np.save('$tmp/v.npy', np.zeros((4, 3), np.float32))"
expect 1 "--mode rvq on a .npy" "$E" --mode rvq "$tmp/v.npy" -o "$tmp/x.vq"
says "applies to images"
expect 1 "--stages on a dct image" "$E" --stages 2 "$S" -o "$tmp/x.vq"
says "with --mode rvq"
"$PY" -c "import numpy as np; np.save('$tmp/i.npy', np.arange(6))"
expect 1 "--stages on integer tokens" "$E" --stages 2 "$tmp/i.npy" \
  -o "$tmp/x.vq"
says "applies to images"
expect 0 "train a mean-removed codebook" "$T" kmeans -q -k 8 --iters 2 \
  --patch 4 --mean-removed "$S" -o "$tmp/mr.st"
expect 2 "a mean-removed codebook" "$E" --mode rvq --codebook "$tmp/mr.st" \
  "$S" -o "$tmp/x.vq"
says "mean-removed"
expect 0 "train on vectors" "$T" kmeans -q -k 2 --iters 2 "$tmp/v.npy" \
  -o "$tmp/vec.st"
expect 2 "a codebook not of patches" "$E" --mode rvq --codebook \
  "$tmp/vec.st" "$S" -o "$tmp/x.vq"
says "image patches"
check "no output after failures" '[ ! -e "$tmp/x.vq" ]'

# every truncation and every 5th bit flip of a small file: refused (a
# flip in the container's minor version, byte 9, is accepted as a newer
# minor version: then the image must be the same)
expect 0 "vqenc a tiny image" "$E" --quiet --mode rvq --stages 2 \
  "$tmp/odd.ppm" -o "$tmp/tiny.vq"
expect 0 "vqdec a tiny image" "$D" --quiet "$tmp/tiny.vq" \
  -o "$tmp/tiny.png"
"$PY" "$srcdir/tests/damaged.py" "$tmp/tiny.vq" "$tmp/tiny.png" 5 "$D"
dmg=$?
check "every damaged file refused" '[ "$dmg" -eq 0 ]'

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all rvq image checks passed"
