#!/bin/sh
# Interoperability with numpy: a codebook written by libvq loads with plain
# numpy (no safetensors package), and files numpy writes load in libvq.
set -u
: "${top_builddir:?}"
PY=${PYTHON3:-}
if [ -z "$PY" ] || ! "$PY" -c 'import numpy' 2>/dev/null; then
  echo "python3 with numpy is required (Debian: python3-numpy)"; exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ST="$top_builddir/tests/test_safetensors"
NPY="$top_builddir/tests/test_npy"

"$ST" --write-codebook "$tmp/cb.safetensors" || exit 1
"$PY" - "$tmp" <<'PYEOF' || exit 1
import json, struct, sys
import numpy as np
d = sys.argv[1]

# libvq -> numpy: read the codebook with numpy, json and struct only.
raw = open(d + "/cb.safetensors", "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
meta = header.pop("__metadata__")
t = header["codebook"]
assert t["dtype"] == "F32" and t["shape"] == [4, 3], t
b, e = t["data_offsets"]
cb = np.frombuffer(raw[8 + n + b:8 + n + e], dtype="<f4").reshape(t["shape"])
assert np.array_equal(cb, np.arange(12, dtype=np.float32).reshape(4, 3) - 2.5)
assert meta["libvq.kind"] == "kmeans" and meta["train.mse"] == "0.125", meta
assert meta["libvq.format_version"] == "1"
print("numpy reads the libvq codebook:", cb.shape, meta["libvq.kind"])

# numpy -> libvq: .npy in several dtypes and byte orders.
a = np.arange(12).reshape(3, 4) * 0.5
np.save(d + "/f64.npy", a)
np.save(d + "/f32be.npy", a.astype(">f4"))
np.save(d + "/f16.npy", a.astype("<f2"))
np.save(d + "/fortran_as_c.npy", np.ascontiguousarray(np.asfortranarray(a)))
# and a hand-made safetensors codebook, as other tools write it
cb = (np.arange(6, dtype="<f4") * 0.25).reshape(2, 3)
hdr = json.dumps({"__metadata__": {"libvq.kind": "kmeans",
                                   "libvq.format_version": "1",
                                   "origin": "numpy"},
                  "codebook": {"dtype": "F32", "shape": [2, 3],
                               "data_offsets": [0, 24]}}).encode()
open(d + "/np.safetensors", "wb").write(struct.pack("<Q", len(hdr)) + hdr +
                                        cb.tobytes())
PYEOF

fails=0
for f in f64 f32be f16 fortran_as_c; do
  "$NPY" --check-npy "$tmp/$f.npy" "$f" || fails=$((fails + 1))
done
# float32 little-endian, the common case
"$PY" -c "
import numpy as np, sys
np.save(sys.argv[1], (np.arange(12).reshape(3, 4) * 0.5).astype('<f4'))
" "$tmp/f32.npy"
"$NPY" --check-npy "$tmp/f32.npy" f32 || fails=$((fails + 1))
"$ST" --check-codebook "$tmp/np.safetensors" || fails=$((fails + 1))
[ "$fails" -eq 0 ] && echo "numpy interoperability OK"
[ "$fails" -eq 0 ]
