#!/usr/bin/python3
"""Writes seed inputs for the fuzz target into a folder: .vq token files
made by vqenc (every model, several dtypes and shapes), their index streams
alone, the files for the container-only target, PVQ-coded arrays and
small coded images and latents with their codebooks embedded. Each seed
starts with the target byte that fuzz_decode.c reads (0 tokens, 1 stream,
2 container, 3 PVQ, 4 image, 21 latent).
  tests/fuzz/make_seeds.py BUILDDIR OUTDIR"""
import os
import struct
import subprocess
import sys
import tempfile

import zlib

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
              "match-recent", "order1"]
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
            for opts in (["--bits", "1"], ["--bits", "3"],
                         ["--pulses", "40", "--block", "8"]):
                vq = os.path.join(tmp, "p.vq")
                subprocess.run([os.path.join(build, "apps", "vqenc"), "--quiet"] +
                               opts + [npy, "-o", vq], check=True)
                open(os.path.join(out, "%s-%s.pvq" % (name, opts[1])),
                     "wb").write(b"\3" + open(vq, "rb").read())
        image_seeds(build, out, tmp)
        latent_seeds(build, out, tmp)


def write_png(path, a):
    """a: uint8 array [H, W] or [H, W, C] with C in 1..4."""
    h, w = a.shape[:2]
    ch = 1 if a.ndim == 2 else a.shape[2]
    ctype = {1: 0, 2: 4, 3: 2, 4: 6}[ch]
    raw = b"".join(b"\0" + a[y].tobytes() for y in range(h))

    def chunk(t, d):
        return (struct.pack(">I", len(d)) + t + d +
                struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(
            ">IIBBBBB", w, h, 8, ctype, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def image_seeds(build, out, tmp):
    """Small images (odd sizes, every channel layout, both subsamplings,
    two tiles) coded by vqenc at low and high quality."""
    rng = np.random.default_rng(4)
    y, x = np.mgrid[0:140, 0:17]
    ramp = (x * 9 + y * 2) % 256
    images = {
        "gray1x1": np.full((1, 1), 77, dtype="u1"),
        "gray8x8": ramp[:8, :8].astype("u1"),
        "graya5x3": np.stack([ramp[:3, :5], rng.integers(0, 256, (3, 5))],
                             -1).astype("u1"),
        "rgb17x13": np.stack([ramp[:13], ramp[:13][::-1], 255 - ramp[:13]],
                             -1).astype("u1"),
        "rgba9x9": rng.integers(0, 256, (9, 9, 4)).astype("u1"),
        "rgb17x140": np.stack([ramp, ramp.T[:17, :140].T, ramp // 2],
                              -1).astype("u1"),
    }
    for name, a in images.items():
        png = os.path.join(tmp, name + ".png")
        write_png(png, a)
        for opts in (["-q", "20"], ["-q", "90", "--subsample", "420"],
                     ["-q", "60", "--subsample", "444"]):
            if name == "rgb17x140" and opts[1] == "90":
                continue  # keep the seeds small
            vq = os.path.join(tmp, "i.vq")
            subprocess.run([os.path.join(build, "apps", "vqenc"), "--quiet"] +
                           opts + [png, "-o", vq], check=True)
            tag = "q" + opts[1] + ("-" + opts[3] if len(opts) > 2 else "")
            open(os.path.join(out, "%s-%s.img" % (name, tag)),
                 "wb").write(b"\4" + open(vq, "rb").read())


def latent_seeds(build, out, tmp):
    """Tiny latents (channels first and last, a batch) coded by vqenc with
    embedded k-means, residual and product codebooks."""
    rng = np.random.default_rng(5)
    tool = lambda name: os.path.join(build, "apps", name)
    train = os.path.join(tmp, "lt.npy")
    np.save(train, rng.normal(0, 1, (4, 6, 6)).astype(np.float32))
    books = {"km": ["kmeans", "-k", "5"],
             "rvq": ["rvq", "--stages", "2", "-k", "4"],
             "pq": ["pq", "-m", "2", "-k", "3"]}
    lats = {"chw": rng.normal(0, 1, (4, 3, 5)),
            "batch": rng.normal(0, 1, (2, 4, 2, 3)),
            "hwc": rng.normal(0, 1, (2, 3, 4))}
    for bname, args in books.items():
        cb = os.path.join(tmp, bname + ".safetensors")
        subprocess.run([tool("vqtrain")] + args + ["-q", "--iters", "3",
                       train, "-o", cb], check=True)
        for lname, a in lats.items():
            npy = os.path.join(tmp, lname + ".npy")
            np.save(npy, a.astype(np.float32))
            vq = os.path.join(tmp, "l.vq")
            subprocess.run([tool("vqenc"), "--quiet", "--embed-codebook",
                            "--codebook", cb] +
                           (["--layout", "hwc"] if lname == "hwc" else []) +
                           [npy, "-o", vq], check=True)
            open(os.path.join(out, "%s-%s.lat" % (bname, lname)),
                 "wb").write(b"\x15" + open(vq, "rb").read())
    # an autoencoder latent (tests/data/latents) whose second stage is
    # coded with the first stage's classes (match-class); its stage-two
    # plane alone also seeds the stream target, with the context bit set
    lat = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "data", "latents")
    cb = os.path.join(tmp, "ae.safetensors")
    subprocess.run([tool("vqtrain"), "rvq", "--stages", "2", "-k", "16",
                    "-q", "--iters", "4", os.path.join(lat, "kodim22.npy"),
                    "-o", cb], check=True)
    vq = os.path.join(tmp, "l.vq")
    subprocess.run([tool("vqenc"), "--quiet", "--embed-codebook",
                    "--codebook", cb, os.path.join(lat, "kodim21.npy"),
                    "-o", vq], check=True)
    data = open(vq, "rb").read()
    planes = [d for t, d in chunks(data) if t == "DATA"]
    assert planes[1][0] == 9, "the second plane is not match-class"
    open(os.path.join(out, "ae-rvq16-class.lat"), "wb").write(b"\x15" + data)
    head = struct.pack("<I", 15)[:3] + struct.pack("<H", 6144 | 0x4000) + \
        struct.pack("<H", 96)
    open(os.path.join(out, "ae-rvq16-class.idx"), "wb").write(
        b"\1" + head + planes[1])
    # images as RVQ patch tokens (vqenc --mode rvq), luma and RGB 2 x 2
    # patches, odd sizes, a stage prefix
    y, x = np.mgrid[0:5, 0:7]
    rgb = np.stack([x * 30, y * 50, (x + y) * 20], -1).astype(np.uint8)
    ppm = os.path.join(tmp, "i.ppm")
    open(ppm, "wb").write(b"P6\n7 5\n255\n" + rgb.tobytes())
    for bname, extra in (("luma", []), ("rgb", ["--rgb"])):
        cb = os.path.join(tmp, bname + ".safetensors")
        subprocess.run([tool("vqtrain"), "rvq", "--stages", "2", "-k", "4",
                        "--patch", "2", "-q", "--iters", "3"] + extra +
                       [ppm, "-o", cb], check=True)
        for stages in ("1", "2"):
            vq = os.path.join(tmp, "i.vq")
            subprocess.run([tool("vqenc"), "--quiet", "--mode", "rvq",
                            "--embed-codebook", "--codebook", cb,
                            "--stages", stages, ppm, "-o", vq], check=True)
            open(os.path.join(out, "img-%s-%s.lat" % (bname, stages)),
                 "wb").write(b"\x15" + open(vq, "rb").read())


if __name__ == "__main__":
    main()
