#!/bin/sh
# vqtok tokens: images, latents and vectors to tokens with an index naming
# the codebook, tokens numpy reads and reconstructs (doc/examples), every
# stage prefix decoded, sharded sets of many inputs, stats, uint16, a
# wrong codebook and malformed indexes refused, nothing left behind.
set -u
: "${top_builddir:?}" "${top_srcdir:?}" "${srcdir:?}"
PY=${PYTHON3:-/usr/bin/python3}
T="$top_builddir/apps/vqtrain"
K="$top_builddir/apps/vqtok"
EX="$top_srcdir/doc/examples/tokens_numpy.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$srcdir/tests/cli_lib.sh"

[ -x "$T" ] && [ -x "$K" ] || { echo "tools not built"; exit 1; }
"$PY" -c 'import numpy' || { echo "python3 with numpy is required"; exit 1; }

# smooth gray test images of sizes that are not multiples of the patch
mkdir "$tmp/imgs"
"$PY" - "$tmp" <<'PYEOF' || exit 1
import sys, numpy as np
d = sys.argv[1]
def pgm(path, a):
    open(path, "wb").write(b"P5\n%d %d\n255\n" % (a.shape[1], a.shape[0]) +
                           a.astype(np.uint8).tobytes())
rng = np.random.default_rng(3)
for name, (h, w) in (("a", (37, 29)), ("b", (48, 64)), ("c", (20, 20))):
    y, x = np.mgrid[0:h, 0:w]
    a = 128 + 60 * np.sin(x / 5.0 + rng.random()) * np.cos(y / 7.0)
    a += rng.normal(0, 4, a.shape)
    pgm("%s/imgs/%s.pgm" % (d, name), np.clip(a, 0, 255))
# a latent [C, H, W] with spatial correlation, and its [H, W, C] twin
c, h, w = 4, 9, 11
lat = np.cumsum(np.cumsum(rng.normal(0, 1, (c, h, w)), 1), 2).astype(np.float32)
np.save(d + "/lat.npy", lat)
np.save(d + "/lat_hwc.npy", np.ascontiguousarray(lat.transpose(1, 2, 0)))
np.save(d + "/latvec.npy", np.ascontiguousarray(lat.reshape(c, -1).T))
PYEOF

expect 0 "train on patches" "$T" rvq -q --stages 3 -k 16 --iters 6 --patch 8 \
  --stride 2 "$tmp/imgs" -o "$tmp/img.st"
expect 0 "encode an image" "$K" encode --json --codebook "$tmp/img.st" \
  "$tmp/imgs/a.pgm" -o "$tmp/a.npy"
cp "$tmp/out" "$tmp/a-enc.json"
check "index beside the tokens" '[ -f "$tmp/a.json" ]'
for s in 1 2 3; do
  expect 0 "decode an image from $s stages" "$K" decode -q --stages $s \
    --codebook "$tmp/img.st" "$tmp/a.npy" -o "$tmp/a$s.pgm"
  expect 0 "numpy example, $s stages" "$PY" "$EX" "$tmp/img.st" \
    "$tmp/a.npy" "$tmp/ex$s.npy" --stages $s
done
check "image tokens: grid, index, numpy reconstruction" "\"$PY\" - <<PYEOF
import hashlib, json, numpy as np
t = np.load('$tmp/a.npy')
assert t.dtype == np.int32 and t.shape == (5, 4, 3), t.shape
ix = json.load(open('$tmp/a.json'))
assert ix['format'] == 'libvq-tokens' and ix['source'] == 'image', ix
sha = hashlib.sha256(open('$tmp/img.st', 'rb').read()).hexdigest()
assert ix['codebook']['sha256'] == sha, ix
assert ix['inputs'][0]['grid'] == [5, 4] and ix['inputs'][0]['size'] == [37, 29]
def pgm(path):
    raw = open(path, 'rb').read()
    parts = raw.split(maxsplit=4)
    w, h = int(parts[1]), int(parts[2])
    return np.frombuffer(parts[4][:w * h], np.uint8).reshape(h, w)
orig = pgm('$tmp/imgs/a.pgm').astype(float)
err = []
for s in (1, 2, 3):
    ours, ex = pgm('$tmp/a%d.pgm' % s), np.load('$tmp/ex%d.npy' % s)
    assert ours.shape == (37, 29) and np.array_equal(ours, ex), s
    err.append(((ours - orig) ** 2).mean())
assert err[0] > err[1] > err[2], err
assert 10 * np.log10(255 ** 2 / err[2]) > 20, err
PYEOF"

# many inputs: shards of at most 70 rows, an index mapping inputs to rows
expect 0 "encode a folder" "$K" encode --json --shard-rows 70 --codebook \
  "$tmp/img.st" "$tmp/imgs" -o "$tmp/set.npy"
cp "$tmp/out" "$tmp/set-enc.json"
expect 0 "same set on 1 thread" "$K" encode -q --threads 1 --shard-rows 70 \
  --codebook "$tmp/img.st" "$tmp/imgs" -o "$tmp/set1.npy"
check "shards the same for 1 and 2 threads" \
  'cmp -s "$tmp/set-00000.npy" "$tmp/set1-00000.npy" && cmp -s "$tmp/set-00001.npy" "$tmp/set1-00001.npy"'
expect 0 "decode a set into a folder" "$K" decode -q --codebook \
  "$tmp/img.st" "$tmp/set.json" -o "$tmp/dec"
check "sharded set: rows, shards, decoded images" "\"$PY\" - <<PYEOF
import json, os, numpy as np
ix = json.load(open('$tmp/set.json'))
assert len(ix['shards']) == 2 and len(ix['inputs']) == 3, ix
sh = [np.load(os.path.join('$tmp', s['file'])) for s in ix['shards']]
assert [len(a) for a in sh] == [s['rows'] for s in ix['shards']] == [68, 9]
single = np.load('$tmp/a.npy').reshape(-1, 3)
a = [i for i in ix['inputs'] if i['name'].endswith('a.pgm')][0]
assert np.array_equal(sh[a['shard']][a['row']:a['row'] + a['rows']], single)
for i in ix['inputs']:
    name = os.path.basename(i['name'])[:-4] + '.png'
    assert os.path.getsize(os.path.join('$tmp/dec', name)) > 0, name
j = json.load(open('$tmp/set-enc.json'))
assert j['inputs'] == 3 and j['vectors'] == 77 and j['shards'] == 2, j
PYEOF"
expect 0 "stats of the set" "$K" stats --json --codebook "$tmp/img.st" \
  "$tmp/set.json"
cp "$tmp/out" "$tmp/stats.json"
check "stats: use, perplexity, bits, errors" "\"$PY\" - <<PYEOF
import json, os, numpy as np
st = json.load(open('$tmp/stats.json'))
ix = json.load(open('$tmp/set.json'))
t = np.concatenate([np.load(os.path.join('$tmp', s['file'])) for s in ix['shards']])
assert st['rows'] == len(t) == 77 and len(st['per_stage']) == 3, st
for s, e in enumerate(st['per_stage']):
    c = np.bincount(t[:, s], minlength=16) / len(t)
    h = -(c[c > 0] * np.log2(c[c > 0])).sum()
    assert e['used'] == (c > 0).sum() and abs(e['bits'] - h) < 1e-5, (e, h)
    assert abs(e['perplexity'] - 2 ** h) < 1e-3 and e['utilization'] <= 1
m = st['mse_per_stage']
assert len(m) == 3 and m[0] > m[1] > m[2] > 0, m
assert len(st['psnr_per_stage']) == 3, st
PYEOF"

# a latent [C, H, W], [H, W, C], and the same vectors [N, C]
expect 0 "train on latent vectors" "$T" rvq -q --stages 2 -k 8 --iters 6 \
  "$tmp/latvec.npy" -o "$tmp/lat.st"
expect 0 "encode a latent" "$K" encode --json --codebook "$tmp/lat.st" \
  "$tmp/lat.npy" -o "$tmp/lt.npy"
cp "$tmp/out" "$tmp/lt-enc.json"
expect 0 "encode a latent, hwc" "$K" encode -q --layout hwc --dtype uint16 \
  --codebook "$tmp/lat.st" "$tmp/lat_hwc.npy" -o "$tmp/lth.npy"
expect 0 "encode the latent's vectors" "$K" encode -q --codebook \
  "$tmp/lat.st" "$tmp/latvec.npy" -o "$tmp/ltv.npy"
expect 0 "decode a latent" "$K" decode -q --codebook "$tmp/lat.st" \
  "$tmp/lt.npy" -o "$tmp/lt-dec.npy"
expect 0 "decode a latent, hwc" "$K" decode -q --codebook "$tmp/lat.st" \
  "$tmp/lth.npy" -o "$tmp/lth-dec.npy"
expect 0 "numpy example, latent" "$PY" "$EX" "$tmp/lat.st" "$tmp/ltv.npy" \
  "$tmp/ltv-ex.npy"
check "latent tokens and reconstruction" "\"$PY\" - <<PYEOF
import json, numpy as np
t, th, tv = np.load('$tmp/lt.npy'), np.load('$tmp/lth.npy'), np.load('$tmp/ltv.npy')
assert t.shape == (9, 11, 2) and th.dtype == np.uint16, (t.shape, th.dtype)
assert np.array_equal(t, th) and np.array_equal(t.reshape(-1, 2), tv)
x = np.load('$tmp/lat.npy'); y = np.load('$tmp/lt-dec.npy')
yh = np.load('$tmp/lth-dec.npy')
assert y.shape == x.shape and y.dtype == np.float32, y.shape
assert np.array_equal(yh, y.transpose(1, 2, 0))
ex = np.load('$tmp/ltv-ex.npy')
assert np.array_equal(ex.T.reshape(x.shape), y)
m = json.load(open('$tmp/lt-enc.json'))['mse']
assert abs(((y - x) ** 2).mean() - m) < 1e-4 * m, m
assert json.load(open('$tmp/lt.json'))['source'] == 'latent'
PYEOF"

# training on latent files, and reducing a large codebook with its map
expect 0 "train on two latents" "$T" kmeans --json -k 8 --iters 5 \
  "$tmp/lat.npy" "$tmp/lat.npy" -o "$tmp/b.st"
check "latents: [C, H, W] files give C-vectors" "\"$PY\" -c '
import json; j = json.load(open(\"$tmp/out\"))
assert j[\"d\"] == 4 and j[\"n\"] == 2 * 9 * 11, j'"
expect 2 "latents of different channels" "$T" kmeans -k 8 "$tmp/lat.npy" \
  "$tmp/lat_hwc.npy" -o "$tmp/b.st"
says "lat_hwc.npy"
rm -f "$tmp/b.st"
expect 0 "train on a latent" "$T" kmeans -q -k 64 --iters 5 "$tmp/lat.npy" \
  "$tmp/lat.npy" -o "$tmp/big.st"
expect 0 "reduce a codebook" "$T" reduce --json -k 8 "$tmp/big.st" \
  --map "$tmp/map.npy" -o "$tmp/small.st"
check "reduced codebook and its map" "\"$PY\" - <<PYEOF
import json, struct, numpy as np
def cb(path):
    raw = open(path, 'rb').read(); n = struct.unpack('<Q', raw[:8])[0]
    h = json.loads(raw[8:8 + n]); t = h['codebook']; b, e = t['data_offsets']
    return np.frombuffer(raw[8 + n + b:8 + n + e], '<f4').reshape(t['shape']), h['__metadata__']
big, _ = cb('$tmp/big.st'); small, meta = cb('$tmp/small.st')
m = np.load('$tmp/map.npy')
assert small.shape == (8, 4) and m.shape == (64,) and m.dtype == np.int32
d = ((big[:, None, :] - small[None]) ** 2).sum(-1)
assert (d[np.arange(64), m] <= d.min(1) + 1e-3).all()
assert meta['reduce.source_k'] == '64' and len(meta['reduce.source_sha256']) == 64
PYEOF"
expect 2 "reduce to more codewords than there are" "$T" reduce -k 65 \
  "$tmp/big.st" -o "$tmp/b.st"

# refusals: another codebook, a malformed index, bad options
expect 0 "another codebook" "$T" rvq -q --stages 3 -k 16 --iters 6 \
  --patch 8 --seed 9 "$tmp/imgs" -o "$tmp/other.st"
expect 2 "decode with another codebook" "$K" decode --codebook \
  "$tmp/other.st" "$tmp/a.npy" -o "$tmp/b.pgm"
says "other.st"
says "img.st"
cp "$tmp/a.npy" "$tmp/bad.npy"
for bad in '{' '{"format": "libvq-tokens", "version": 1}' \
    "$(sed 's/"file": "set-00000.npy"/"file": "..\/set-00000.npy"/' "$tmp/set.json")" \
    "$(sed 's/"rows": 68}/"rows": 69}/' "$tmp/set.json")"; do
  printf '%s' "$bad" > "$tmp/bad.json"
  expect 2 "malformed index" "$K" decode --codebook "$tmp/img.st" \
    "$tmp/bad.json" -o "$tmp/b.pgm"
  says "bad.json"
done
expect 2 "latent for an image codebook" "$K" encode --codebook \
  "$tmp/img.st" "$tmp/lat.npy" -o "$tmp/b.npy"
expect 2 "image for a vector codebook" "$K" encode --codebook \
  "$tmp/lat.st" "$tmp/imgs/a.pgm" -o "$tmp/b.npy"
expect 1 "bad dtype" "$K" encode --dtype int8 --codebook "$tmp/lat.st" \
  "$tmp/lat.npy" -o "$tmp/b.npy"
expect 1 "bad layout" "$K" encode --layout whc --codebook "$tmp/lat.st" \
  "$tmp/lat.npy" -o "$tmp/b.npy"
# a one-axis array: vqtrain reads N scalars, and so does vqtok with that
# codebook of dimension 1 (each token the nearest of the scalars)
"$PY" -c "import numpy as np; np.save('$tmp/s1.npy', np.random.default_rng(4).normal(size=300).astype(np.float32))" || exit 1
expect 0 "train on scalars" "$T" kmeans -q -k 8 --iters 10 "$tmp/s1.npy" \
  -o "$tmp/s1.st"
expect 0 "tokens of scalars" "$K" encode -q --codebook "$tmp/s1.st" \
  "$tmp/s1.npy" -o "$tmp/s1-tok.npy"
check "one token a scalar, the nearest codeword" "\"$PY\" - <<PYEOF
import json, struct, numpy as np
x, t = np.load('$tmp/s1.npy'), np.load('$tmp/s1-tok.npy')
raw = open('$tmp/s1.st', 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
v = json.loads(raw[8:8 + n])['codebook']
a, b = v['data_offsets']
c = np.frombuffer(raw[8 + n + a:8 + n + b], np.float32).reshape(-1)
assert t.shape == (300, 1), t.shape
d = np.abs(x[:, None] - c[None, :])
assert (d[np.arange(300), t[:, 0]] <= d.min(1) + 1e-6).all()
PYEOF"

check "no output after failures" \
  '[ ! -e "$tmp/b.npy" ] && [ ! -e "$tmp/b.json" ] && [ ! -e "$tmp/b.pgm" ]'

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all token CLI checks passed"
