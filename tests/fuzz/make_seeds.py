#!/usr/bin/python3
"""Writes seed inputs for the fuzz target into a folder: .vq token files
made by vqenc (every model, several dtypes and shapes), their index streams
alone, and the files for the container-only target. Each seed starts with
the target byte that fuzz_decode.c reads (0 tokens, 1 stream, 2 container,
3 PVQ).
  tests/fuzz/make_seeds.py BUILDDIR OUTDIR"""
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np


def chunks(vq):
    pos, out = 10, []
    while pos + 8 <= len(vq):
        t = vq[pos:pos + 4].decode()
        (n,) = struct.unpack("<I", vq[pos + 4:pos + 8])
        out.append((t, vq[pos + 8:pos + 8 + n]))
        pos += 12 + n
    return out


def main():
    build, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(3)
    arrays = {
        "const": np.full((4, 4), 3, dtype="<i4"),
        "empty": np.zeros((0,), dtype="<i4"),
        "scalar": np.array(2, dtype="<u2"),
        "zipf": (np.minimum(rng.zipf(1.5, (12, 10)), 300) - 1).astype("<i4"),
        "grid": np.repeat(rng.integers(0, 40, (6, 1)), 8, 1).astype("<i2"),
        "alt": (np.arange(64) % 2).astype("u1"),
        "signed": rng.integers(-5, 5, (3, 7)).astype("i1"),
        "big": rng.integers(0, 1000, 50).astype(">i8"),
        "bool": rng.random(40) < 0.3,
        "wide": rng.integers(0, 1 << 19, 30).astype("<u4"),
    }
    models = ["auto", "static", "adaptive", "match", "match-static",
              "order1"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, a in arrays.items():
            npy = os.path.join(tmp, name + ".npy")
            np.save(npy, a)
            for m in models:
                vq = os.path.join(tmp, "t.vq")
                r = subprocess.run([os.path.join(build, "apps", "vqenc"), "--quiet",
                                    "--model", m, npy, "-o", vq])
                if r.returncode:
                    continue  # the model does not apply to this array
                data = open(vq, "rb").read()
                base = "%s-%s" % (name, m)
                open(os.path.join(out, base + ".tok"), "wb").write(b"\0" + data)
                if m == "auto":
                    open(os.path.join(out, base + ".box"), "wb").write(
                        b"\2" + data)
                payload = dict(chunks(data)).get("DATA", b"")
                k = int(a.max()) - min(int(a.min()), 0) + 1 if a.size else 1
                w = a.shape[-1] if a.ndim >= 2 else 0
                head = struct.pack("<I", k - 1)[:3] + struct.pack(
                    "<H", a.size) + struct.pack("<H", w)
                open(os.path.join(out, base + ".idx"), "wb").write(
                    b"\1" + head + payload)
        floats = {
            "pvq-small": rng.laplace(size=(3, 20)).astype("<f4"),
            "pvq-1d": rng.normal(size=70).astype("<f4"),
            "pvq-zeros": np.zeros((2, 8), dtype="<f4"),
        }
        for name, a in floats.items():
            npy = os.path.join(tmp, name + ".npy")
            np.save(npy, a)
            for opts in (["--bits", "1"], ["--pulses", "40", "--block", "8"]):
                vq = os.path.join(tmp, "p.vq")
                subprocess.run([os.path.join(build, "apps", "vqenc"), "--quiet"] +
                               opts + [npy, "-o", vq], check=True)
                open(os.path.join(out, "%s-%s.pvq" % (name, opts[1])),
                     "wb").write(b"\3" + open(vq, "rb").read())


if __name__ == "__main__":
    main()
