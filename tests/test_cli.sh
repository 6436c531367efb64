#!/bin/sh
# Command-line tests: exit statuses, outputs, no partial files, determinism.
set -u
: "${top_builddir:?}" "${top_srcdir:?}" "${srcdir:?}"
PY=${PYTHON3:-/usr/bin/python3}
T="$top_builddir/apps/vqtrain"
I="$top_builddir/apps/vqinfo"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$srcdir/tests/cli_lib.sh"

[ -x "$T" ] && [ -x "$I" ] || { echo "tools not built"; exit 1; }
"$PY" -c 'import numpy' || { echo "python3 with numpy is required"; exit 1; }

"$PY" - "$tmp" <<'PYEOF'
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(5)
c = rng.uniform(-50, 50, (16, 8))
x = (c[rng.integers(0, 16, 5000)] + rng.normal(0, 1, (5000, 8))).astype('<f4')
np.save(d + '/x.npy', x)
np.save(d + '/x64.npy', x.astype('<f8'))
np.save(d + '/w.npy', rng.uniform(0.5, 2, 5000).astype('<f4'))
np.save(d + '/small.npy', x[:10])
bad = x.copy(); bad[3, 4] = np.nan
np.save(d + '/nan.npy', bad)
open(d + '/junk.npy', 'wb').write(b'\x93NUMPY\x01\x00garbage')
PYEOF

# --help, --version, usage errors
for tool in "$T" "$I"; do
  expect 0 "$tool --help" "$tool" --help
  check "$tool --help prints usage" 'grep -q Usage "$tmp/out"'
  expect 0 "$tool --version" "$tool" --version
  check "$tool --version" 'grep -q "libvq" "$tmp/out"'
  expect 1 "$tool without arguments" "$tool"
done
expect 1 "unknown command" "$T" frobnicate
expect 1 "unknown option" "$T" kmeans --bogus -k 4 "$tmp/x.npy" -o "$tmp/c.st"
expect 1 "missing -k" "$T" kmeans "$tmp/x.npy" -o "$tmp/c.st"
says "-k is required"
expect 1 "missing -o" "$T" kmeans -k 4 "$tmp/x.npy"
expect 1 "bad -k value" "$T" kmeans -k 12x "$tmp/x.npy" -o "$tmp/c.st"
expect 1 "k = 0" "$T" kmeans -k 0 "$tmp/x.npy" -o "$tmp/c.st"
expect 1 "image without --patch" "$T" kmeans -k 4 \
  "$top_srcdir/samples/astronaut.png" -o "$tmp/c.st"

# bad data and I/O errors
expect 2 "k > n" "$T" kmeans -q -k 11 "$tmp/small.npy" -o "$tmp/c.st"
says "larger than the number of vectors"
expect 2 "NaN in data" "$T" kmeans -q -k 4 "$tmp/nan.npy" -o "$tmp/c.st"
says "NaN"
expect 2 "malformed npy" "$T" kmeans -q -k 4 "$tmp/junk.npy" -o "$tmp/c.st"
says "junk.npy"
expect 3 "missing input" "$T" kmeans -q -k 4 "$tmp/none.npy" -o "$tmp/c.st"
says "none.npy"
expect 3 "unwritable output" "$T" kmeans -q -k 4 "$tmp/x.npy" \
  -o "$tmp/no/such/dir/c.st"
check "no output after failures" '[ ! -e "$tmp/c.st" ]'

# a failed run leaves an existing output untouched and no temporary file
echo "precious" > "$tmp/keep.st"
expect 2 "failure over existing output" "$T" kmeans -q -k 11 \
  "$tmp/small.npy" -o "$tmp/keep.st"
check "existing output kept" '[ "$(cat "$tmp/keep.st")" = precious ]'
check "no temporary files" '[ -z "$(ls "$tmp" | grep tmp-)" ]'

# training, JSON, determinism across threads
expect 0 "train 1 thread" "$T" kmeans -k 16 --iters 15 --threads 1 --json \
  "$tmp/x.npy" -o "$tmp/c1.st"
cp "$tmp/out" "$tmp/json1"
check "json has the statistics" '"$PY" -c "
import json,sys; j=json.load(open(sys.argv[1]))
assert j[\"k\"]==16 and j[\"d\"]==8 and j[\"n\"]==5000 and j[\"iterations\"]==15
assert 0 < j[\"mse\"] < 2 and j[\"utilization\"]==1 and j[\"seconds\"]>=0
assert 1 <= j[\"perplexity\"] <= 16
" "$tmp/json1"'
expect 0 "train 2 threads" "$T" kmeans -q -k 16 --iters 15 --threads 2 \
  "$tmp/x.npy" -o "$tmp/c2.st"
check "identical codebooks for 1 and 2 threads" 'cmp -s "$tmp/c1.st" "$tmp/c2.st"'
expect 0 "float64 input" "$T" kmeans -q -k 16 --iters 15 --threads 2 \
  "$tmp/x64.npy" -o "$tmp/c64.st"
check "float64 input gives the same codebook" 'cmp -s "$tmp/c1.st" "$tmp/c64.st"'
expect 0 "weights, random init, restarts" "$T" kmeans -q -k 8 --init random \
  --nredo 3 --weights "$tmp/w.npy" --seed 9 "$tmp/x.npy" -o "$tmp/cw.st"
# --min-files: clusters whose vectors come from too few input files are
# re-seeded; the same codebook for 1 and 2 threads; more files asked for
# than given, or another command, refused
expect 0 "--min-files 2" "$T" kmeans -q -k 16 --iters 8 --min-files 2 \
  --threads 1 "$tmp/x.npy" "$tmp/x64.npy" "$tmp/small.npy" -o "$tmp/mf1.st"
expect 0 "--min-files 2, 2 threads" "$T" kmeans -q -k 16 --iters 8 \
  --min-files 2 --threads 2 "$tmp/x.npy" "$tmp/x64.npy" "$tmp/small.npy" \
  -o "$tmp/mf2.st"
check "--min-files: same codebook for 1 and 2 threads" \
  'cmp -s "$tmp/mf1.st" "$tmp/mf2.st"'
expect 1 "--min-files 2 of one file" "$T" kmeans -q -k 16 --min-files 2 \
  "$tmp/x.npy" -o "$tmp/c.st"
says "only 1 input file"
expect 1 "--min-files 1" "$T" kmeans -q -k 16 --min-files 1 \
  "$tmp/x.npy" "$tmp/x64.npy" -o "$tmp/c.st"
expect 1 "rvq --min-files" "$T" rvq -q -k 16 --min-files 2 \
  "$tmp/x.npy" "$tmp/x64.npy" -o "$tmp/c.st"
expect 2 "weights of the wrong length" "$T" kmeans -q -k 4 \
  --weights "$tmp/small.npy" "$tmp/x.npy" -o "$tmp/cx.st"

# vqinfo
expect 0 "vqinfo codebook" "$I" "$tmp/c1.st"
check "vqinfo shows kind and shape" 'grep -q kmeans "$tmp/out" && grep -q "(16, 8)" "$tmp/out"'
check "vqinfo shows metadata" 'grep -q "train.mse" "$tmp/out"'
expect 0 "vqinfo --json" "$I" --json "$tmp/c1.st" "$tmp/x.npy"
check "vqinfo json" '"$PY" -c "
import json,sys
a,b=[json.loads(l) for l in open(sys.argv[1])]
assert a[\"kind\"]==\"kmeans\" and a[\"tensors\"][0][\"shape\"]==[16,8]
assert a[\"metadata\"][\"kmeans.k\"]==\"16\"
assert b[\"format\"]==\"npy\" and b[\"shape\"]==[5000,8]
" "$tmp/out"'
expect 2 "vqinfo on junk" "$I" "$tmp/junk.npy"
expect 3 "vqinfo on a missing file" "$I" "$tmp/none.st"

# image patches
expect 0 "train on image patches" "$T" kmeans -q -k 32 --patch 8 --iters 5 \
  --mean-removed "$top_srcdir/samples/astronaut.png" -o "$tmp/img.st"
expect 0 "vqinfo image codebook" "$I" "$tmp/img.st"
check "patch metadata" 'grep -q "patch.size *8" "$tmp/out"'
mkdir "$tmp/imgs" && cp "$top_srcdir/samples/"*.png "$tmp/imgs/"
expect 0 "train on a folder, rgb" "$T" kmeans -q -k 16 --patch 4 --rgb \
  --iters 3 "$tmp/imgs" -o "$tmp/rgb.st"
expect 0 "vqinfo rgb codebook" "$I" "$tmp/rgb.st"
check "rgb patches are 48-d" 'grep -q "(16, 48)" "$tmp/out"'
mkdir "$tmp/empty"
expect 2 "empty folder" "$T" kmeans -q -k 4 --patch 8 "$tmp/empty" -o "$tmp/e.st"
printf 'not an image' > "$tmp/imgs/zz.png"
expect 2 "corrupt image in folder" "$T" kmeans -q -k 4 --patch 8 "$tmp/imgs" \
  -o "$tmp/e.st"
says "zz.png"

[ "$fails" -eq 0 ] && echo "all CLI checks passed"
[ "$fails" -eq 0 ]
