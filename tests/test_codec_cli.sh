#!/bin/sh
# vqenc / vqdec / vqinfo on token files: byte-identical round trips of
# .npy files numpy wrote, JSON statistics, exit statuses, damaged files,
# and no partial or clobbered output on failure.
set -u
: "${top_builddir:?}" "${top_srcdir:?}" "${srcdir:?}"
PY=${PYTHON3:-/usr/bin/python3}
E="$top_builddir/apps/vqenc"
D="$top_builddir/apps/vqdec"
I="$top_builddir/apps/vqinfo"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$srcdir/tests/cli_lib.sh"

[ -x "$E" ] && [ -x "$D" ] && [ -x "$I" ] || { echo "tools not built"; exit 1; }
"$PY" -c 'import numpy' || { echo "python3 with numpy is required"; exit 1; }

"$PY" - "$tmp" <<'PYEOF' || exit 1
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
z = np.minimum(rng.zipf(1.3, (64, 48)), 4096) - 1
np.save(d + '/grid.npy', z.astype('<i4'))
np.save(d + '/grid_u16.npy', z.astype('<u2'))
np.save(d + '/grid_be.npy', z.astype('>i8'))
np.save(d + '/rvq.npy', rng.integers(0, 256, (1000, 4)).astype('<i4'))
np.save(d + '/signed.npy', rng.integers(-40, 40, (3, 5, 7)).astype('i1'))
np.save(d + '/flags.npy', rng.random(333) < 0.1)
np.save(d + '/empty.npy', np.zeros((0, 3), dtype='<i4'))
np.save(d + '/scalar.npy', np.array(5, dtype='<i4'))
np.save(d + '/const.npy', np.full(100000, 9, dtype='<i4'))
np.save(d + '/float.npy', np.zeros(4, dtype='<f4'))
np.save(d + '/weights.npy', rng.laplace(size=(64, 96)).astype('<f4'))
np.save(d + '/latent.npy', rng.normal(size=(4, 8, 8)).astype('<f8'))
np.save(d + '/wide.npy', np.array([0, 1 << 30], dtype='<i4'))
PYEOF

for tool in "$E" "$D"; do
  expect 0 "$tool --help" "$tool" --help
  check "$tool --help prints usage" 'grep -q Usage "$tmp/out"'
  expect 0 "$tool --version" "$tool" --version
  check "$tool --version" 'grep -q "libvq" "$tmp/out"'
  expect 1 "$tool without arguments" "$tool"
  expect 1 "$tool unknown option" "$tool" --bogus "$tmp/grid.npy" -o "$tmp/x"
done

# byte-identical round trips
for f in grid grid_u16 grid_be rvq signed flags empty scalar const; do
  expect 0 "vqenc $f" "$E" --quiet "$tmp/$f.npy" -o "$tmp/$f.vq"
  expect 0 "vqdec $f" "$D" -q "$tmp/$f.vq" -o "$tmp/$f.back.npy"
  check "$f round trip is byte-identical" \
    'cmp -s "$tmp/$f.npy" "$tmp/$f.back.npy"'
done
check "a constant stream is tiny" \
  '[ "$(wc -c < "$tmp/const.vq")" -lt 300 ]'

# --json statistics, consistent with the file written
expect 0 "vqenc --json" "$E" --json "$tmp/grid.npy" -o "$tmp/j.vq"
check "json parses and matches the file" "\"$PY\" -c '
import json, os, sys
j = json.load(open(\"$tmp/out\"))
assert j[\"tokens\"] == 64 * 48, j
assert j[\"bytes\"] == os.path.getsize(\"$tmp/j.vq\"), j
assert abs(j[\"bits_per_token\"] - 8 * j[\"bytes\"] / j[\"tokens\"]) < 1e-4, j
assert j[\"payload_bits_per_token\"] <= j[\"bits_per_token\"], j
assert j[\"model\"] in (\"static\", \"adaptive\", \"match\", \"match-static\", \"match-recent\", \"order1\", \"counts\"), j
'"
expect 0 "vqdec --json" "$D" --json "$tmp/j.vq" -o "$tmp/j.npy"
check "vqdec json" "\"$PY\" -c '
import json; j = json.load(open(\"$tmp/out\")); assert j[\"kind\"] == \"tokens\"'"

# every model can be forced and still round-trips
for m in static adaptive match match-static match-recent order1 counts; do
  expect 0 "vqenc --model $m" "$E" --quiet --model $m "$tmp/rvq.npy" -o "$tmp/m.vq"
  expect 0 "vqdec model $m" "$D" -q "$tmp/m.vq" -o "$tmp/m.npy"
  check "model $m round trip" 'cmp -s "$tmp/rvq.npy" "$tmp/m.npy"'
done
expect 1 "vqenc --model bogus" "$E" --model bogus "$tmp/rvq.npy" -o "$tmp/m.vq"

# --alphabet
expect 0 "vqenc --alphabet 256" "$E" --quiet --alphabet 256 "$tmp/rvq.npy" \
  -o "$tmp/a.vq"
expect 2 "vqenc --alphabet too small" "$E" --alphabet 100 "$tmp/rvq.npy" \
  -o "$tmp/a2.vq"
says "outside \[0, 100)"
check "no output after a failed encode" '[ ! -e "$tmp/a2.vq" ]'

# float arrays: gain-shape PVQ, back to float32 of the same shape
expect 0 "vqenc float (PVQ)" "$E" --json --bits 3 "$tmp/weights.npy" \
  -o "$tmp/w.vq"
check "PVQ json" "\"$PY\" -c '
import json, os; j = json.load(open(\"$tmp/out\"))
assert j[\"kind\"] == \"pvq\" and j[\"snr_db\"] > 12, j
assert j[\"bytes\"] == os.path.getsize(\"$tmp/w.vq\"), j'"
cp "$tmp/out" "$tmp/w.json"
expect 0 "vqdec PVQ" "$D" -q "$tmp/w.vq" -o "$tmp/w.npy"
check "PVQ decode matches the reported SNR" "\"$PY\" -c '
import json, numpy as np
a = np.load(\"$tmp/weights.npy\"); b = np.load(\"$tmp/w.npy\")
assert b.shape == a.shape and b.dtype == np.float32
snr = 10 * np.log10((a.astype(float) ** 2).sum() / ((a - b) ** 2).sum())
assert abs(snr - json.load(open(\"$tmp/w.json\"))[\"snr_db\"]) < 0.01, snr'"
expect 0 "vqenc float64 3-d, 1 thread" "$E" --quiet --pulses 6 --block 8 \
  --threads 1 "$tmp/latent.npy" -o "$tmp/l1.vq"
expect 0 "vqenc float64 3-d, 2 threads" "$E" --quiet --pulses 6 --block 8 \
  --threads 2 "$tmp/latent.npy" -o "$tmp/l2.vq"
check "PVQ files identical for 1 and 2 threads" 'cmp -s "$tmp/l1.vq" "$tmp/l2.vq"'
expect 0 "vqdec 3-d PVQ" "$D" -q "$tmp/l1.vq" -o "$tmp/l.npy"
check "3-d shape kept" "\"$PY\" -c '
import numpy as np; assert np.load(\"$tmp/l.npy\").shape == (4, 8, 8)'"
expect 1 "vqenc --beta below 1" "$E" --beta 0.5 "$tmp/weights.npy" \
  -o "$tmp/x.vq"
# pulses from the gain: the rate asked is the whole rate; vqinfo shows it
expect 0 "vqenc --pulses-per-step" "$E" --json --pulses-per-step 3 --bits 3 \
  "$tmp/weights.npy" -o "$tmp/wg.vq"
cp "$tmp/out" "$tmp/wg.json"
check "pulses from the gain: json" "\"$PY\" -c '
import json; j = json.load(open(\"$tmp/wg.json\"))
assert j[\"pulses\"] == 0 and j[\"mean_pulses\"] > 0, j
assert 2.5 < j[\"bits_per_value\"] < 3.8 and j[\"snr_db\"] > 12, j'"
expect 0 "vqdec, pulses from the gain" "$D" -q "$tmp/wg.vq" -o "$tmp/wg.npy"
check "pulses from the gain: decode matches the reported SNR" "\"$PY\" -c '
import json, numpy as np
a = np.load(\"$tmp/weights.npy\"); b = np.load(\"$tmp/wg.npy\")
snr = 10 * np.log10((a.astype(float) ** 2).sum() / ((a - b) ** 2).sum())
assert abs(snr - json.load(open(\"$tmp/wg.json\"))[\"snr_db\"]) < 0.01, snr'"
expect 0 "vqinfo, pulses from the gain" "$I" "$tmp/wg.vq"
check "vqinfo shows the pulses per gain step" \
  'grep -q "3 pulses per gain step" "$tmp/out"'
expect 1 "vqenc --pulses with --pulses-per-step" "$E" --pulses 4 \
  --pulses-per-step 3 "$tmp/weights.npy" -o "$tmp/x.vq"
says "exclude each other"

# bad inputs: clear messages naming the file, status 2 or 3
expect 2 "values spanning 2^30" "$E" "$tmp/wide.npy" -o "$tmp/w.vq"
says "wide.npy"
expect 3 "missing input" "$E" "$tmp/nope.npy" -o "$tmp/n.vq"
expect 2 "neither an image nor a .npy" "$E" "$top_srcdir/samples/speech.wav" \
  -o "$tmp/p.vq"
says "neither an image"
expect 1 "vqdec to a non-.npy output" "$D" "$tmp/grid.vq" -o "$tmp/g.png"

# damaged .vq files: truncated, flipped, empty, garbage; an existing output
# file is never clobbered and no temporary file is left
echo keep > "$tmp/keep.npy"
size=$(wc -c < "$tmp/grid.vq")
for cut in 0 7 9 10 20 $((size / 2)) $((size - 4)) $((size - 1)); do
  head -c "$cut" "$tmp/grid.vq" > "$tmp/cut.vq"
  expect 2 "truncated at $cut" "$D" "$tmp/cut.vq" -o "$tmp/keep.npy"
  says "cut.vq"
done
for off in 0 8 12 20 40 $((size / 2)) $((size - 2)); do
  "$PY" -c "
import sys
b = bytearray(open('$tmp/grid.vq', 'rb').read()); b[$off] ^= 0x10
open('$tmp/flip.vq', 'wb').write(b)"
  expect 2 "bit flip at byte $off" "$D" "$tmp/flip.vq" -o "$tmp/keep.npy"
done
check "existing output kept" '[ "$(cat "$tmp/keep.npy")" = keep ]'
check "no temporary files left" \
  '[ -z "$(ls "$tmp" | grep -v -E "\.(npy|vq|json)$" | grep -v -x -E "out|err")" ]'

# vqinfo lists chunks and CRC status
expect 0 "vqinfo on a .vq" "$I" "$tmp/grid.vq"
check "vqinfo lists the chunks" \
  'grep -q HEAD "$tmp/out" && grep -q DATA "$tmp/out" && grep -q TAIL "$tmp/out"'
check "vqinfo shows the tokens" 'grep -q "tokens" "$tmp/out"'
expect 0 "vqinfo --json on a .vq" "$I" --json "$tmp/grid.vq"
check "vqinfo json parses" "\"$PY\" -c '
import json; j = json.load(open(\"$tmp/out\"))
assert [c[\"type\"] for c in j[\"chunks\"]] == [\"HEAD\", \"DATA\", \"TAIL\"], j
assert all(c[\"crc_ok\"] for c in j[\"chunks\"]), j'"
"$PY" -c "
b = bytearray(open('$tmp/grid.vq', 'rb').read()); b[$size - 20] ^= 1
open('$tmp/bad.vq', 'wb').write(b)"
expect 2 "vqinfo on a damaged .vq" "$I" "$tmp/bad.vq"
check "vqinfo reports the CRC failure" 'grep -q -i "crc" "$tmp/out" "$tmp/err"'

if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all checks passed"
