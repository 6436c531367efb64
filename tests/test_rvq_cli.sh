#!/bin/sh
# vqtrain rvq and vqtok: JSON statistics, codes numpy reads, prefix
# decoding, the same codebook and codes for 1 and 2 threads, PQ/OPQ,
# PCA and SimVQ projectors, exit statuses, no output left behind on
# failure.
set -u
: "${top_builddir:?}" "${top_srcdir:?}" "${srcdir:?}"
PY=${PYTHON3:-/usr/bin/python3}
T="$top_builddir/apps/vqtrain"
K="$top_builddir/apps/vqtok"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$srcdir/tests/cli_lib.sh"

[ -x "$T" ] && [ -x "$K" ] || { echo "tools not built"; exit 1; }
"$PY" -c 'import numpy' || { echo "python3 with numpy is required"; exit 1; }

"$PY" - "$tmp" <<'PYEOF' || exit 1
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(5)
x = (rng.standard_normal((3000, 12)) * np.linspace(2, 0.3, 12))
np.save(d + "/x.npy", x.astype(np.float32))
np.save(d + "/x64.npy", x[:100])                 # float64 works too
np.save(d + "/wide.npy", np.zeros((10, 13), np.float32))
bad = x[:50].astype(np.float32); bad[3, 4] = np.nan
np.save(d + "/nan.npy", bad)
PYEOF

expect 0 "vqtrain rvq --json" "$T" rvq --json --stages 3 -k 32 --iters 8 \
  --threads 1 "$tmp/x.npy" -o "$tmp/cb1.safetensors"
cp "$tmp/out" "$tmp/train.json"
check "train json" "\"$PY\" -c '
import json; j = json.load(open(\"$tmp/train.json\"))
assert j[\"kind\"] == \"rvq\" and j[\"stages\"] == 3 and j[\"k\"] == 32, j
m = j[\"mse_per_stage\"]
assert len(m) == 3 and m[0] > m[1] > m[2] and abs(j[\"mse\"] - m[2]) < 1e-9, j
assert all(0.5 < u <= 1 for u in j[\"utilization_per_stage\"]), j'"
expect 0 "vqtrain rvq --refine" "$T" rvq --json --stages 3 -k 32 --iters 8 \
  --beam 4 --refine 2 "$tmp/x.npy" -o "$tmp/cbr.safetensors"
check "refine json" "\"$PY\" -c '
import json, sys; j = json.load(open(\"$tmp/out\"))
assert j[\"mse\"] <= j[\"mse_before_refine\"] and j[\"refine_rounds\"] >= 0, j'"
expect 0 "vqtrain rvq, 2 threads" "$T" rvq --quiet --stages 3 -k 32 \
  --iters 8 --threads 2 "$tmp/x.npy" -o "$tmp/cb2.safetensors"
check "same codebook for 1 and 2 threads" \
  'cmp -s "$tmp/cb1.safetensors" "$tmp/cb2.safetensors"'

expect 0 "vqtok encode" "$K" encode --json --codebook "$tmp/cb1.safetensors" \
  --threads 1 "$tmp/x.npy" -o "$tmp/c1.npy"
cp "$tmp/out" "$tmp/enc.json"
expect 0 "vqtok encode, 2 threads" "$K" encode -q --threads 2 \
  --codebook "$tmp/cb1.safetensors" "$tmp/x.npy" -o "$tmp/c2.npy"
check "same codes for 1 and 2 threads" 'cmp -s "$tmp/c1.npy" "$tmp/c2.npy"'
expect 0 "vqtok encode --beam 8" "$K" encode -q --beam 8 \
  --codebook "$tmp/cb1.safetensors" "$tmp/x.npy" -o "$tmp/cb8.npy"
for s in 1 2 3; do
  expect 0 "vqtok decode --stages $s" "$K" decode -q --stages $s \
    --codebook "$tmp/cb1.safetensors" "$tmp/c1.npy" -o "$tmp/r$s.npy"
done
expect 0 "vqtok decode, beam codes" "$K" decode -q \
  --codebook "$tmp/cb1.safetensors" "$tmp/cb8.npy" -o "$tmp/rb.npy"
check "codes and reconstructions" "\"$PY\" -c '
import json, numpy as np
d = \"$tmp\"; x = np.load(d + \"/x.npy\"); c = np.load(d + \"/c1.npy\")
assert c.dtype == np.int32 and c.shape == (3000, 3), (c.dtype, c.shape)
assert c.min() >= 0 and c.max() < 32
e = [((x - np.load(d + \"/r%d.npy\" % s)) ** 2).mean() for s in (1, 2, 3)]
t = json.load(open(d + \"/train.json\"))[\"mse_per_stage\"]
assert all(abs(a - b) <= 1e-4 * b for a, b in zip(e, t)), (e, t)
j = json.load(open(d + \"/enc.json\"))
assert abs(j[\"mse\"] - e[2]) <= 1e-4 * e[2], (j, e)
eb = ((x - np.load(d + \"/rb.npy\")) ** 2).mean(); assert eb <= e[2], (eb, e)'"
expect 0 "vqtok encode float64" "$K" encode -q \
  --codebook "$tmp/cb1.safetensors" "$tmp/x64.npy" -o "$tmp/c64.npy"

# bad input
expect 2 "wrong dimension" "$K" encode --codebook "$tmp/cb1.safetensors" \
  "$tmp/wide.npy" -o "$tmp/w.npy"
says "dimension 13"
expect 2 "NaN input" "$K" encode --codebook "$tmp/cb1.safetensors" \
  "$tmp/nan.npy" -o "$tmp/n.npy"
says "not finite"
"$PY" -c "
import numpy as np; c = np.load('$tmp/c1.npy'); c[7, 1] = 32
np.save('$tmp/badc.npy', c); np.save('$tmp/shape.npy', c[:, :2])"
expect 2 "code out of range" "$K" decode --codebook "$tmp/cb1.safetensors" \
  "$tmp/badc.npy" -o "$tmp/b.npy"
says "outside \[0, 32)"
expect 2 "codes of the wrong shape" "$K" decode \
  --codebook "$tmp/cb1.safetensors" "$tmp/shape.npy" -o "$tmp/b.npy"
expect 1 "--stages beyond the codebook" "$K" decode --stages 4 \
  --codebook "$tmp/cb1.safetensors" "$tmp/c1.npy" -o "$tmp/b.npy"
check "no output after failures" \
  '[ ! -e "$tmp/w.npy" ] && [ ! -e "$tmp/n.npy" ] && [ ! -e "$tmp/b.npy" ]'
expect 2 "not a codebook" "$K" encode --codebook "$tmp/x.npy" "$tmp/x.npy" \
  -o "$tmp/b.npy"
expect 3 "missing codebook" "$K" encode --codebook "$tmp/none.safetensors" \
  "$tmp/x.npy" -o "$tmp/b.npy"
expect 1 "no command" "$K" --codebook "$tmp/cb1.safetensors"
expect 1 "no output" "$K" encode --codebook "$tmp/cb1.safetensors" \
  "$tmp/x.npy"
expect 2 "k > n" "$T" rvq --stages 2 -k 200 "$tmp/x64.npy" -o "$tmp/b.st"
expect 1 "rvq --weights" "$T" rvq --stages 2 -k 4 --weights "$tmp/x.npy" \
  "$tmp/x.npy" -o "$tmp/b.st"
check "no codebook after failures" '[ ! -e "$tmp/b.st" ]'
# product codebooks: train, codes [N, M], reconstruction, OPQ, 1 and 2
# threads byte-identical, refusals
expect 0 "vqtrain pq --json" "$T" pq --json -m 4 -k 16 --iters 6 \
  --threads 1 "$tmp/x.npy" -o "$tmp/pq.safetensors"
cp "$tmp/out" "$tmp/pq.json"
expect 0 "vqtrain pq --opq" "$T" pq --json -m 4 -k 16 --iters 6 \
  --opq-rounds 3 --threads 1 "$tmp/x.npy" -o "$tmp/opq1.safetensors"
cp "$tmp/out" "$tmp/opq.json"
expect 0 "vqtrain pq --opq, 2 threads" "$T" pq -q -m 4 -k 16 --iters 6 \
  --opq-rounds 3 --threads 2 "$tmp/x.npy" -o "$tmp/opq2.safetensors"
check "opq 1 and 2 threads identical" \
  'cmp "$tmp/opq1.safetensors" "$tmp/opq2.safetensors"'
for cb in pq opq1; do
  expect 0 "vqtok encode $cb" "$K" encode --json --codebook \
    "$tmp/$cb.safetensors" "$tmp/x.npy" -o "$tmp/$cb-codes.npy"
  cp "$tmp/out" "$tmp/$cb-enc.json"
  expect 0 "vqtok decode $cb" "$K" decode -q --codebook \
    "$tmp/$cb.safetensors" "$tmp/$cb-codes.npy" -o "$tmp/$cb-y.npy"
done
check "pq codes and reconstruction" "\"$PY\" -c '
import json, numpy as np
x = np.load(\"$tmp/x.npy\")
for cb, tj in ((\"pq\", \"pq\"), (\"opq1\", \"opq\")):
    c = np.load(\"$tmp/\" + cb + \"-codes.npy\")
    y = np.load(\"$tmp/\" + cb + \"-y.npy\")
    assert c.shape == (3000, 4) and c.dtype == np.int32 and c.max() < 16
    mse = float(((x - y) ** 2).mean())
    e = json.load(open(\"$tmp/\" + cb + \"-enc.json\"))
    t = json.load(open(\"$tmp/\" + tj + \".json\"))
    assert abs(e[\"mse\"] - mse) < 1e-4 * mse, (e, mse)
    assert abs(t[\"mse\"] - mse) < 1e-4 * mse, (t, mse)
assert json.load(open(\"$tmp/opq.json\"))[\"orthogonality\"] < 1e-5'"
expect 1 "pq -m not dividing" "$T" pq -m 5 -k 4 "$tmp/x.npy" \
  -o "$tmp/b.st"
expect 1 "pq --stages" "$T" pq --stages 2 -k 4 "$tmp/x.npy" -o "$tmp/b.st"
expect 1 "kmeans --opq" "$T" kmeans --opq -k 4 "$tmp/x.npy" -o "$tmp/b.st"
expect 1 "pq decode --stages" "$K" decode --stages 2 --codebook \
  "$tmp/pq.safetensors" "$tmp/pq-codes.npy" -o "$tmp/b.npy"
expect 1 "pq encode --beam" "$K" encode --beam 4 --codebook \
  "$tmp/pq.safetensors" "$tmp/x.npy" -o "$tmp/b.npy"
check "no output after pq failures" '[ ! -e "$tmp/b.st" ] && [ ! -e "$tmp/b.npy" ]'
# projectors: PCA to 4 of the 12 dimensions (vectors of 12 in and out,
# codewords of 4), SimVQ, both with whitening; errors in the original
# space; 1 and 2 threads; bad options and malformed projector tensors
expect 0 "vqtrain rvq --projector pca:4" "$T" rvq --json --stages 2 -k 16 \
  --iters 6 --projector pca:4 --threads 1 "$tmp/x.npy" -o "$tmp/pca1.st"
cp "$tmp/out" "$tmp/pca.json"
expect 0 "pca, 2 threads" "$T" rvq -q --stages 2 -k 16 --iters 6 \
  --projector pca:4 --threads 2 "$tmp/x.npy" -o "$tmp/pca2.st"
check "pca codebook the same for 1 and 2 threads" \
  'cmp -s "$tmp/pca1.st" "$tmp/pca2.st"'
expect 0 "vqtok encode through pca" "$K" encode --json --codebook \
  "$tmp/pca1.st" "$tmp/x.npy" -o "$tmp/pc.npy"
cp "$tmp/out" "$tmp/pcaenc.json"
expect 0 "vqtok decode through pca" "$K" decode -q --codebook \
  "$tmp/pca1.st" "$tmp/pc.npy" -o "$tmp/pr.npy"
expect 0 "vqtok decode through pca, 1 stage" "$K" decode -q --stages 1 \
  --codebook "$tmp/pca1.st" "$tmp/pc.npy" -o "$tmp/pr1.npy"
check "pca: reconstruction, errors in the original space" "\"$PY\" -c '
import json, numpy as np
x = np.load(\"$tmp/x.npy\").astype(np.float64)
r, r1 = np.load(\"$tmp/pr.npy\"), np.load(\"$tmp/pr1.npy\")
assert r.shape == x.shape and r.dtype == np.float32, r.shape
t, e = json.load(open(\"$tmp/pca.json\")), json.load(open(\"$tmp/pcaenc.json\"))
m = ((r - x) ** 2).mean(); m1 = ((r1 - x) ** 2).mean()
assert abs(e[\"mse\"] - m) < 1e-4 * m and abs(t[\"mse\"] - m) < 1e-4 * m, (m, e, t)
assert m1 > m and abs(t[\"mse_per_stage\"][0] - m1) < 1e-4 * m1, (m1, t)
assert t[\"projector\"] == \"pca\" and t[\"d\"] == 4 and t[\"input_dim\"] == 12
assert 0.5 < t[\"variance_kept\"] < 1 and t[\"mse_projected\"] > 0, t
v = np.linalg.eigvalsh(np.cov(x.T, bias=True))[::-1]
assert abs(t[\"variance_kept\"] - v[:4].sum() / v.sum()) < 1e-5, t
assert len(e[\"utilization_per_stage\"]) == 2, e'"
expect 0 "vqtrain kmeans --projector simvq" "$T" kmeans --json -k 16 \
  --iters 8 --projector simvq "$tmp/x.npy" -o "$tmp/sv.st"
check "simvq json" "\"$PY\" -c '
import json; j = json.load(open(\"$tmp/out\"))
assert j[\"projector\"] == \"simvq\" and j[\"empty_reseeds\"] == 0, j'"
expect 0 "vqtok encode, simvq" "$K" encode -q --codebook "$tmp/sv.st" \
  "$tmp/x.npy" -o "$tmp/svc.npy"
expect 0 "vqtrain rvq pca:6+simvq --whiten" "$T" rvq --json --stages 2 \
  -k 16 --iters 6 --projector pca:6+simvq --whiten "$tmp/x.npy" \
  -o "$tmp/pw.st"
check "pca+simvq json" "\"$PY\" -c '
import json; j = json.load(open(\"$tmp/out\"))
assert j[\"projector\"] == \"pca+simvq\" and j[\"whiten\"] is True, j'"
expect 0 "vqtok encode, whitened pca+simvq" "$K" encode -q --codebook \
  "$tmp/pw.st" "$tmp/x.npy" -o "$tmp/pwc.npy"
expect 1 "--whiten without pca" "$T" rvq --whiten -k 4 "$tmp/x.npy" \
  -o "$tmp/b.st"
expect 1 "--projector bogus" "$T" rvq --projector pca:x -k 4 "$tmp/x.npy" \
  -o "$tmp/b.st"
expect 1 "--projector pca:13 of 12" "$T" kmeans --projector pca:13 -k 4 \
  "$tmp/x.npy" -o "$tmp/b.st"
expect 1 "pq --projector" "$T" pq --projector simvq -m 4 -k 4 \
  "$tmp/x.npy" -o "$tmp/b.st"
"$PY" - "$tmp" <<'PYEOF' || exit 1
import json, struct, sys, numpy as np
d = sys.argv[1]
def save(path, tensors, meta):
    head, blobs, off = {"__metadata__": meta}, [], 0
    for name, a in tensors:
        b = np.ascontiguousarray(a, "<f4").tobytes()
        head[name] = {"dtype": "F32", "shape": list(a.shape),
                      "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(head).encode()
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
meta = {"libvq.kind": "kmeans", "libvq.format_version": "1"}
cb = np.zeros((4, 3), np.float32)
save(d + "/badproj.st", [("codebook", cb), ("projector.mean", np.zeros((1, 12))),
     ("projector.encode", np.zeros((12, 2))), ("projector.decode", np.zeros((3, 12)))], meta)
save(d + "/halfproj.st", [("codebook", cb), ("projector.mean", np.zeros((1, 12)))], meta)
PYEOF
for f in badproj halfproj; do
  expect 2 "malformed projector ($f)" "$K" encode --codebook "$tmp/$f.st" \
    "$tmp/x.npy" -o "$tmp/b.npy"
  check "message names the file ($f)" "grep -q '$f.st' \"$tmp/err\""
done
check "no output after projector failures" \
  '[ ! -e "$tmp/b.st" ] && [ ! -e "$tmp/b.npy" ]'
expect 0 "vqtok --help" "$K" --help
expect 0 "vqtok --version" "$K" --version

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all rvq CLI checks passed"
