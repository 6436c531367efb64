#!/bin/sh
# The latent codec: vqenc --codebook codes a float latent into token planes
# with neighbour context, vqdec returns the dequantized tensor (the same as
# vqtok's decode of the same tokens), from any stage prefix, channels
# first or last, batches, product codebooks; the codebook found by hash
# (given, embedded, or beside the file) and another one refused; the same
# file for 1 and 2 threads; every truncation and bit flip refused.
set -u
: "${top_builddir:?}" "${top_srcdir:?}" "${srcdir:?}"
PY=${PYTHON3:-/usr/bin/python3}
T="$top_builddir/apps/vqtrain"
K="$top_builddir/apps/vqtok"
E="$top_builddir/apps/vqenc"
D="$top_builddir/apps/vqdec"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$srcdir/tests/cli_lib.sh"

for t in "$T" "$K" "$E" "$D"; do
  [ -x "$t" ] || { echo "$t not built"; exit 1; }
done
"$PY" -c 'import numpy' || { echo "python3 with numpy is required"; exit 1; }

"$PY" - "$tmp" <<'PYEOF' || exit 1
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(11)
def field(*shape):
    # smooth in space: cumulative sums along the last two axes
    a = rng.normal(0, 1, shape)
    return np.cumsum(np.cumsum(a, -1), -2) / 4
lat = field(8, 24, 20).astype(np.float32)
np.save(d + "/lat.npy", lat)
np.save(d + "/lat_hwc.npy", np.ascontiguousarray(lat.transpose(1, 2, 0)))
np.save(d + "/batch.npy", field(2, 8, 12, 10).astype(np.float32))
np.save(d + "/tiny.npy", field(8, 3, 4).astype(np.float32))
bad = lat.copy(); bad[1, 2, 3] = np.nan
np.save(d + "/nan.npy", bad)
np.save(d + "/c7.npy", field(7, 4, 4).astype(np.float32))
PYEOF

expect 0 "train on the latent" "$T" rvq -q --stages 3 -k 64 --iters 8 \
  "$tmp/lat.npy" "$tmp/batch.npy" -o "$tmp/cb.st"
expect 0 "vqenc a latent" "$E" --json --codebook "$tmp/cb.st" \
  "$tmp/lat.npy" -o "$tmp/lat.vq" --threads 1
cp "$tmp/out" "$tmp/enc.json"
expect 0 "vqenc, 2 threads" "$E" --quiet --codebook "$tmp/cb.st" \
  "$tmp/lat.npy" -o "$tmp/lat2.vq" --threads 2
check "same file for 1 and 2 threads" 'cmp -s "$tmp/lat.vq" "$tmp/lat2.vq"'
expect 0 "vqdec a latent" "$D" --codebook "$tmp/cb.st" "$tmp/lat.vq" \
  -o "$tmp/lat-dec.npy"
expect 0 "vqdec, 1 stage" "$D" --stages 1 --codebook "$tmp/cb.st" \
  "$tmp/lat.vq" -o "$tmp/lat-dec1.npy"
expect 0 "vqenc --stages 2 of 3" "$E" --quiet --stages 2 --codebook \
  "$tmp/cb.st" "$tmp/lat.npy" -o "$tmp/lat-p2.vq"
expect 0 "vqdec a 2-stage prefix file" "$D" -q --codebook "$tmp/cb.st" \
  "$tmp/lat-p2.vq" -o "$tmp/lat-p2.npy"
expect 0 "vqdec --stages 2 of the whole file" "$D" -q --stages 2 \
  --codebook "$tmp/cb.st" "$tmp/lat.vq" -o "$tmp/lat-s2.npy"
check "a 2-stage file decodes as the whole file's 2-stage prefix" \
  'cmp -s "$tmp/lat-p2.npy" "$tmp/lat-s2.npy"'
check "and is smaller" \
  '[ $(wc -c < "$tmp/lat-p2.vq") -lt $(wc -c < "$tmp/lat.vq") ]'
# a prefix header claiming a codebook of many stages: the decoder holds
# every stage's token of every vector, so the limits count those
"$PY" - "$tmp/lat-p2.vq" "$tmp/big-book.vq" <<'PYEOF' || exit 1
import struct, sys, zlib
raw = bytearray(open(sys.argv[1], "rb").read())
pos = 10
while raw[pos:pos + 4] != b"HEAD":
    pos += 12 + struct.unpack("<I", raw[pos + 4:pos + 8])[0]
n = struct.unpack("<I", raw[pos + 4:pos + 8])[0]
head = bytearray(raw[pos + 8:pos + 8 + n])
assert head[2] & 4 and head[3] == 3, "not a 3-axis prefix latent"
# [C, H, W] = [8, 2^15, 2^14]: 2^30 tokens of 2 stages, 2^32 values;
# 200 stages of those would be 2^29 * 200 tokens
head[12:20] = struct.pack("<Q", 1 << 15)
head[20:28] = struct.pack("<Q", 1 << 14)
head[38:40] = struct.pack("<H", 200)
raw[pos + 8:pos + 8 + n] = head
raw[pos + 8 + n:pos + 12 + n] = struct.pack(
    "<I", zlib.crc32(b"HEAD" + bytes(head)) & 0xFFFFFFFF)
open(sys.argv[2], "wb").write(bytes(raw))
PYEOF
expect 2 "a header of 200 codebook stages" "$D" --codebook "$tmp/cb.st" \
  "$tmp/big-book.vq" -o "$tmp/x.npy"
says "too large"
expect 1 "vqdec --stages 3 of a 2-stage file" "$D" --stages 3 --codebook \
  "$tmp/cb.st" "$tmp/lat-p2.vq" -o "$tmp/x.npy"
expect 1 "vqenc --stages 4 of 3" "$E" --stages 4 --codebook "$tmp/cb.st" \
  "$tmp/lat.npy" -o "$tmp/x.vq"
says "has 3"
expect 0 "vqtok on the same latent" "$K" encode -q --codebook "$tmp/cb.st" \
  "$tmp/lat.npy" -o "$tmp/tok.npy"
expect 0 "vqtok decode" "$K" decode -q --codebook "$tmp/cb.st" \
  "$tmp/tok.npy" -o "$tmp/tok-dec.npy"
check "latent codec: reconstruction, rate, error" "\"$PY\" - <<PYEOF
import json, os, numpy as np
x = np.load('$tmp/lat.npy'); y = np.load('$tmp/lat-dec.npy')
y1 = np.load('$tmp/lat-dec1.npy'); yt = np.load('$tmp/tok-dec.npy')
assert y.shape == x.shape and y.dtype == np.float32, y.shape
assert np.array_equal(y, yt), 'vqdec and vqtok decode differ'
j = json.load(open('$tmp/enc.json'))
m = ((y - x) ** 2).mean()
assert abs(j['mse'] - m) < 1e-4 * m, (j, m)
assert ((y1 - x) ** 2).mean() > m
assert j['tokens'] == 24 * 20 * 3 and j['log2k'] == 6, j
assert 0 < j['bits_per_token'] < 6, j
assert j['bytes'] == os.path.getsize('$tmp/lat.vq'), j
PYEOF"

# channels last and batches
expect 0 "vqenc hwc" "$E" --quiet --layout hwc --codebook "$tmp/cb.st" \
  "$tmp/lat_hwc.npy" -o "$tmp/hwc.vq"
expect 0 "vqdec hwc" "$D" --codebook "$tmp/cb.st" "$tmp/hwc.vq" \
  -o "$tmp/hwc-dec.npy"
expect 0 "vqenc a batch" "$E" --quiet --codebook "$tmp/cb.st" \
  "$tmp/batch.npy" -o "$tmp/batch.vq"
expect 0 "vqdec a batch" "$D" --codebook "$tmp/cb.st" "$tmp/batch.vq" \
  -o "$tmp/batch-dec.npy"
check "hwc and batch round trips" "\"$PY\" - <<PYEOF
import numpy as np
y = np.load('$tmp/lat-dec.npy'); yh = np.load('$tmp/hwc-dec.npy')
assert np.array_equal(yh, y.transpose(1, 2, 0))
b, bd = np.load('$tmp/batch.npy'), np.load('$tmp/batch-dec.npy')
assert bd.shape == b.shape == (2, 8, 12, 10)
assert ((bd - b) ** 2).mean() < b.var()
PYEOF"

# a product codebook
expect 0 "train pq on the latent" "$T" pq -q -m 2 -k 16 --iters 6 \
  "$tmp/lat.npy" -o "$tmp/pq.st"
expect 0 "vqenc with pq" "$E" --quiet --codebook "$tmp/pq.st" \
  "$tmp/lat.npy" -o "$tmp/pq.vq"
expect 0 "vqdec with pq" "$D" --codebook "$tmp/pq.st" "$tmp/pq.vq" \
  -o "$tmp/pq-dec.npy"
expect 1 "vqdec with pq, --stages" "$D" --stages 1 --codebook "$tmp/pq.st" \
  "$tmp/pq.vq" -o "$tmp/b.npy"

# finding the codebook
mkdir "$tmp/far"
cp "$tmp/lat.vq" "$tmp/far/lat.vq"
expect 1 "no codebook at hand" "$D" "$tmp/far/lat.vq" -o "$tmp/b.npy"
says "cb.st"
cp "$tmp/cb.st" "$tmp/far/cb.st"
expect 0 "the codebook beside the file" "$D" "$tmp/far/lat.vq" \
  -o "$tmp/far.npy"
check "same decode" 'cmp -s "$tmp/far.npy" "$tmp/lat-dec.npy"'
expect 0 "another codebook" "$T" rvq -q --stages 3 -k 64 --iters 8 \
  --seed 7 "$tmp/lat.npy" -o "$tmp/other.st"
expect 2 "decode with another codebook" "$D" --codebook "$tmp/other.st" \
  "$tmp/lat.vq" -o "$tmp/b.npy"
says "other.st"
says "cb.st"
expect 0 "vqenc --embed-codebook" "$E" --quiet --embed-codebook \
  --codebook "$tmp/cb.st" "$tmp/lat.npy" -o "$tmp/far/emb.vq"
rm "$tmp/far/cb.st"
expect 0 "vqdec, embedded codebook" "$D" "$tmp/far/emb.vq" -o "$tmp/emb.npy"
check "same decode from the embedded codebook" \
  'cmp -s "$tmp/emb.npy" "$tmp/lat-dec.npy"'

# bad inputs
expect 2 "NaN in the latent" "$E" --codebook "$tmp/cb.st" "$tmp/nan.npy" \
  -o "$tmp/b.vq"
expect 2 "7 channels for 8" "$E" --codebook "$tmp/cb.st" "$tmp/c7.npy" \
  -o "$tmp/b.vq"
expect 1 "bad layout" "$E" --layout whc --codebook "$tmp/cb.st" \
  "$tmp/lat.npy" -o "$tmp/b.vq"

# autoencoder latents of held-out Kodak images (tests/data/latents): a
# codebook trained on three, the fourth coded well below log2 K bits
L="$srcdir/tests/data/latents"
expect 0 "train on autoencoder latents" "$T" kmeans -q -k 256 --iters 10 \
  "$L/kodim22.npy" "$L/kodim23.npy" "$L/kodim24.npy" -o "$tmp/ae.st"
expect 0 "vqenc an autoencoder latent" "$E" --json --codebook "$tmp/ae.st" \
  "$L/kodim21.npy" -o "$tmp/ae.vq"
cp "$tmp/out" "$tmp/ae.json"
expect 0 "vqdec an autoencoder latent" "$D" --codebook "$tmp/ae.st" \
  "$tmp/ae.vq" -o "$tmp/ae.npy"
check "autoencoder latent: rate and round trip" "\"$PY\" - <<PYEOF
import json, numpy as np
j = json.load(open('$tmp/ae.json'))
x, y = np.load('$L/kodim21.npy'), np.load('$tmp/ae.npy')
assert y.shape == x.shape == (8, 64, 96), y.shape
m = ((y - x) ** 2).mean()
assert abs(m - j['mse']) < 1e-4 * m and m < 0.5 * x.var(), (m, x.var())
assert j['bits_per_token'] < 0.9 * j['log2k'], j
assert j['payload_bits_per_token'] <= j['bits_per_token'], j
print('autoencoder latent: %.3f bits a token (log2 K = %g), mse %.5f, '
      'variance %.5f' % (j['bits_per_token'], j['log2k'], m, x.var()))
PYEOF"

# stage context: the second and third stages' planes are coded with the
# class of the previous stage's codeword at each position (match-class,
# model byte 9) and decode to vqtok's tokens
expect 0 "train rvq on autoencoder latents" "$T" rvq -q --stages 3 -k 64 \
  --iters 8 "$L/kodim22.npy" "$L/kodim23.npy" "$L/kodim24.npy" \
  -o "$tmp/ae3.st"
expect 0 "vqenc with stage context" "$E" --quiet --codebook "$tmp/ae3.st" \
  "$L/kodim21.npy" -o "$tmp/ae3.vq"
expect 0 "vqdec with stage context" "$D" -q --codebook "$tmp/ae3.st" \
  "$tmp/ae3.vq" -o "$tmp/ae3.npy"
expect 0 "vqdec --stages 2 with stage context" "$D" -q --stages 2 \
  --codebook "$tmp/ae3.st" "$tmp/ae3.vq" -o "$tmp/ae3-2.npy"
expect 0 "vqtok on it" "$K" encode -q --codebook "$tmp/ae3.st" \
  "$L/kodim21.npy" -o "$tmp/ae3-tok.npy"
expect 0 "vqtok decode" "$K" decode -q --codebook "$tmp/ae3.st" \
  "$tmp/ae3-tok.npy" -o "$tmp/ae3-tok.npy.npy"
expect 0 "vqtok decode, 2 stages" "$K" decode -q --stages 2 --codebook \
  "$tmp/ae3.st" "$tmp/ae3-tok.npy" -o "$tmp/ae3-tok2.npy"
check "stage context used and exact" "\"$PY\" - <<PYEOF
import struct, numpy as np
raw = open('$tmp/ae3.vq', 'rb').read()
pos, models = 10, []
while pos + 12 <= len(raw):
    n = struct.unpack('<I', raw[pos + 4:pos + 8])[0]
    if raw[pos:pos + 4] == b'DATA': models.append(raw[pos + 8])
    pos += 12 + n
assert len(models) == 3 and models[0] != 9 and 9 in models[1:], models
assert np.array_equal(np.load('$tmp/ae3.npy'), np.load('$tmp/ae3-tok.npy.npy'))
assert np.array_equal(np.load('$tmp/ae3-2.npy'), np.load('$tmp/ae3-tok2.npy'))
print('plane models', models)
PYEOF"

I="$top_builddir/apps/vqinfo"
expect 0 "vqinfo of a latent" "$I" "$tmp/ae3.vq"
check "vqinfo names the planes' models and the codebook" \
  'grep -q "match-class" "$tmp/out" &&
   grep -q "3 stages of 64 codewords of dimension 8" "$tmp/out"'
expect 0 "vqinfo --json of a latent" "$I" --json "$tmp/ae3.vq"
check "vqinfo --json: the latent and its planes" "\"$PY\" - <<PYEOF
import json
j = json.load(open('$tmp/out'))
l = j['latent']
assert j['kind'] == 'latent' and l['shape'] == [8, 64, 96], j
assert l['stages'] == 3 and l['k'] == 64 and l['dim'] == 8, l
assert l['codebook']['name'] == 'ae3.st' and not l['codebook']['embedded']
assert [p['model'] for p in l['planes']][1:].count('match-class') >= 1, l
assert sum(p['bytes'] for p in l['planes']) < j['bytes'], l
PYEOF"

# every truncation and every 7th bit flip of a small file: refused (a
# flip in the container's minor version, byte 9, makes a newer minor
# version, which readers accept: then the output must be the same)
expect 0 "vqenc a tiny latent" "$E" --quiet --codebook "$tmp/cb.st" \
  "$tmp/tiny.npy" -o "$tmp/tiny.vq"
expect 0 "vqdec a tiny latent" "$D" --quiet --codebook "$tmp/cb.st" \
  "$tmp/tiny.vq" -o "$tmp/tiny-dec.npy"
"$PY" "$srcdir/tests/damaged.py" "$tmp/tiny.vq" "$tmp/tiny-dec.npy" 7 \
  "$D" --codebook "$tmp/cb.st"
dmg=$?
check "every damaged file refused" '[ "$dmg" -eq 0 ]'
check "no output after failures" \
  '[ ! -e "$tmp/b.npy" ] && [ ! -e "$tmp/b.vq" ]'

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all latent codec checks passed"
