#!/bin/sh
# vqenc / vqdec on images: exit statuses, --json statistics consistent with
# the files, --size and --bpp targets, --compare, output names, damaged
# files (no output left, none clobbered) and files that do not depend on
# the thread count. The Kodak image comes from $VQ_KODAK (a folder) or
# ../shared/data/kodak beside the source tree, else samples/ stands in.
set -u
: "${top_builddir:?}" "${top_srcdir:?}" "${srcdir:?}"
PY=${PYTHON3:-/usr/bin/python3}
E="$top_builddir/apps/vqenc"
D="$top_builddir/apps/vqdec"
A="$top_srcdir/samples/astronaut.png"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$srcdir/tests/cli_lib.sh"

[ -x "$E" ] && [ -x "$D" ] || { echo "tools not built"; exit 1; }
K="${VQ_KODAK:-$srcdir/../shared/data/kodak}/kodim23.png"
if [ ! -r "$K" ]; then
  echo "note: $K not found (set VQ_KODAK); using samples/coffee.png"
  K="$top_srcdir/samples/coffee.png"
fi

# one JSON object on stdout ($tmp/out); a Python condition on j
json() {
  "$PY" -c "
import json, os, sys
j = json.load(open('$tmp/out'))
sys.exit(0 if ($1) else 1)" || {
    echo "FAIL: $2: $(cat "$tmp/out")"; fails=$((fails + 1)); }
}

# encoding: --json statistics, consistent with the file written
expect 0 "vqenc image" "$E" --quiet "$A" -o "$tmp/a.vq"
check "quiet prints nothing" '[ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ]'
expect 0 "vqenc --json" "$E" --json "$A" -o "$tmp/j.vq"
json "j['kind'] == 'image' and j['width'] == 512 and j['height'] == 512
  and j['channels'] == 3" "vqenc json: kind and size"
json "j['bytes'] == os.path.getsize('$tmp/j.vq')" "json bytes = file size"
json "abs(j['bpp'] - 8 * j['bytes'] / (512 * 512)) < 1e-4" "json bpp"
json "30 < j['psnr'] < 99 and 30 < j['psnr_y'] < 99 and 0.8 < j['ssim'] <= 1
  and j['seconds'] >= 0" "json psnr, psnr_y, ssim, seconds"
json "all(isinstance(j[k], (int, float)) for k in
  ('bytes', 'bpp', 'psnr', 'psnr_y', 'ssim', 'seconds'))" "json numbers"
cp "$tmp/out" "$tmp/enc.json"
check "default quality gives the same file" 'cmp -s "$tmp/a.vq" "$tmp/j.vq"'
expect 0 "vqenc -q 30" "$E" --json -q 30 "$A" -o "$tmp/q30.vq"
json "j['quality'] == 30 and j['bytes'] < $(wc -c < "$tmp/a.vq")" \
  "lower quality, smaller file"

# decoding, --compare
expect 0 "vqdec to PNG" "$D" -q "$tmp/j.vq" -o "$tmp/a.png"
check "quiet vqdec prints nothing" '[ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ]'
expect 0 "vqdec --compare" "$D" "$tmp/j.vq" -o "$tmp/a2.png" --compare "$A"
says "PSNR"
expect 0 "vqdec --compare --json" "$D" --json "$tmp/j.vq" -o "$tmp/a3.ppm" \
  --compare "$A"
json "j['kind'] == 'image' and j['bytes'] == 512 * 512 * 3
  and j['input_bytes'] == os.path.getsize('$tmp/j.vq')" "vqdec json"
json "abs(j['psnr'] - json.load(open('$tmp/enc.json'))['psnr']) < 0.01
  and abs(j['ssim'] - json.load(open('$tmp/enc.json'))['ssim']) < 1e-5" \
  "vqdec --compare agrees with vqenc"
expect 0 "vqdec without --compare, --json" "$D" --json "$tmp/j.vq" \
  -o "$tmp/a4.png"
json "'psnr' not in j" "no PSNR without --compare"
check "PPM output" '[ "$(head -c 2 "$tmp/a3.ppm")" = P6 ]'
expect 0 "compare the PPM with the PNG" "$D" --json "$tmp/j.vq" \
  -o "$tmp/a5.png" --compare "$tmp/a3.ppm"
json "j['psnr'] == 99" "PPM and PNG outputs hold the same pixels"
expect 2 "--compare with another size" "$D" "$tmp/j.vq" -o "$tmp/x.png" \
  --compare "$top_srcdir/samples/chelsea.png"
check "no output after a failed compare" '[ ! -e "$tmp/x.png" ]'
expect 3 "--compare with a missing file" "$D" "$tmp/j.vq" -o "$tmp/x.png" \
  --compare "$tmp/nope.png"

# gray input: PGM output
expect 0 "vqdec to PGM" "$D" -q "$tmp/j.vq" -o "$tmp/a.pgm"
"$PY" -c "
import struct, zlib
w, h = 40, 24
raw = b''.join(b'\0' + bytes((x * 5 + y * 3) % 256 for x in range(w))
               for y in range(h))
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack(
        '>I', zlib.crc32(t + d) & 0xffffffff)
open('$tmp/gray.png', 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(
    b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) +
    chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))"
expect 0 "vqenc gray" "$E" --json "$tmp/gray.png" -o "$tmp/gray.vq"
json "j['channels'] == 1" "gray stays gray"
expect 0 "vqdec gray to PGM" "$D" -q "$tmp/gray.vq" -o "$tmp/gray.pgm"
check "PGM output" '[ "$(head -c 2 "$tmp/gray.pgm")" = P5 ]'

# --size and --bpp hit their targets within 3% from below
target=30000
expect 0 "vqenc --size" "$E" --json --size $target "$K" -o "$tmp/s.vq"
size=$(wc -c < "$tmp/s.vq")
check "--size $target gives $size bytes (<= target, >= 97%)" \
  "[ $size -le $target ] && [ $((size * 100)) -ge $((target * 97)) ]"
json "j['bytes'] == $size" "json bytes after --size"
expect 0 "vqenc --bpp" "$E" --json --bpp 1.5 "$A" -o "$tmp/b.vq"
json "1.5 * 0.97 <= j['bpp'] <= 1.5" "--bpp 1.5 target"
expect 0 "vqenc --size below the smallest file" "$E" --quiet --size 10 "$A" \
  -o "$tmp/tiny.vq"
check "the smallest file is written" '[ -s "$tmp/tiny.vq" ]'

# usage errors: exit 1
expect 1 "vqenc -q 101" "$E" -q 101 "$A" -o "$tmp/x.vq"
expect 1 "vqenc --subsample 422" "$E" --subsample 422 "$A" -o "$tmp/x.vq"
expect 1 "vqenc --size 0" "$E" --size 0 "$A" -o "$tmp/x.vq"
expect 1 "vqenc --threads 0" "$E" --threads 0 "$A" -o "$tmp/x.vq"
expect 1 "vqenc without -o" "$E" "$A"
expect 1 "vqdec an image to .npy" "$D" "$tmp/j.vq" -o "$tmp/x.npy"
says "png"
expect 1 "vqdec to an unknown extension" "$D" "$tmp/j.vq" -o "$tmp/x.bmp"
expect 1 "vqdec to no extension" "$D" "$tmp/j.vq" -o "$tmp/x"
check "no output after usage errors" \
  '[ ! -e "$tmp/x.vq" ] && [ ! -e "$tmp/x.npy" ] && [ ! -e "$tmp/x.bmp" ] &&
   [ ! -e "$tmp/x" ]'

# damaged files: exit 2, no output left behind, an existing output kept
cut_status() {
  expect 2 "$@"; says "cut.vq"
}
size=$(wc -c < "$tmp/j.vq")
for cut in 0 9 40 $((size / 3)) $((size / 2)) $((size - 12)) $((size - 1)); do
  head -c "$cut" "$tmp/j.vq" > "$tmp/cut.vq"
  cut_status "truncated at $cut" "$D" "$tmp/cut.vq" -o "$tmp/cut.png"
  check "no output after a cut at $cut" '[ ! -e "$tmp/cut.png" ]'
done
echo keep > "$tmp/keep.png"
head -c $((size / 2)) "$tmp/j.vq" > "$tmp/cut.vq"
cut_status "truncated, onto an existing file" "$D" "$tmp/cut.vq" \
  -o "$tmp/keep.png"
"$PY" -c "
b = bytearray(open('$tmp/j.vq', 'rb').read()); b[$size // 2] ^= 4
open('$tmp/flip.vq', 'wb').write(b)"
expect 2 "bit flip" "$D" "$tmp/flip.vq" -o "$tmp/keep.png"
says "flip.vq"
check "existing output kept by vqdec" '[ "$(cat "$tmp/keep.png")" = keep ]'
echo keep > "$tmp/keep.vq"
head -c 3000 "$A" > "$tmp/cut.png"
expect 2 "vqenc a truncated PNG" "$E" "$tmp/cut.png" -o "$tmp/keep.vq"
says "cut.png"
expect 3 "vqenc a missing file" "$E" "$tmp/nope.png" -o "$tmp/keep.vq"
check "existing output kept by vqenc" '[ "$(cat "$tmp/keep.vq")" = keep ]'
check "no temporary files left" \
  '[ -z "$(ls "$tmp" | grep -v -E "\.(png|ppm|pgm|vq|json)$" |
          grep -v -x -E "out|err")" ]'

# the thread count changes neither the stream nor the pixels
for t in 1 2; do
  expect 0 "vqenc --threads $t" "$E" --quiet --threads $t -q 80 "$A" \
    -o "$tmp/t$t.vq"
  expect 0 "vqdec --threads $t" "$D" -q --threads $t "$tmp/t1.vq" \
    -o "$tmp/t$t.ppm"
done
check "files identical for 1 and 2 threads" 'cmp -s "$tmp/t1.vq" "$tmp/t2.vq"'
check "pixels identical for 1 and 2 threads" \
  'cmp -s "$tmp/t1.ppm" "$tmp/t2.ppm"'
expect 0 "vqenc --subsample 444 --threads 2" "$E" --quiet --threads 2 \
  --subsample 444 -q 60 "$K" -o "$tmp/u2.vq"
expect 0 "vqenc --subsample 444 --threads 1" "$E" --quiet --threads 1 \
  --subsample 444 -q 60 "$K" -o "$tmp/u1.vq"
check "4:4:4 files identical for 1 and 2 threads" \
  'cmp -s "$tmp/u1.vq" "$tmp/u2.vq"'

if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all checks passed"
