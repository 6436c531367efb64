#!/usr/bin/python3
"""Latent codec on real neural latents: vqenc --codebook against log2 K
and against xz -9 (and zstd -19 --long) on the raw token .npy, in one run.

Data: the float32 latents [C, H/8, W/8] of the small autoencoder of
bench/train_autoencoder.py, LATENTS/train/*.npy (kodim01 ... kodim20) to
train the codebooks and LATENTS/held/*.npy (kodim21 ... kodim24) to
measure. For each configuration (k-means K = 256, 1024, 4096; RVQ
2 x 256, 4 x 256, 2 x 1024; RVQ 2 x 256 and 4 x 256 with the projector
pca:6, 2 x 256 with simvq) vqtrain trains a codebook on the C-vectors of
the training latents; each held-out latent is then coded with
`vqenc --codebook CB --json` and decoded with `vqdec`, and quantized with
`vqtok encode`, whose raw tokens .npy is compressed with xz and zstd. The
script checks that vqdec returns exactly `vqtok decode` of those tokens
and that the MSE numpy computes matches vqenc's JSON. Per configuration,
summed over the held-out latents: tokens, our bits per token (whole .vq
file) against log2 K (target <= 0.90) and against xz on the tokens
(target < 1), the latent MSE beside the latent variance, and the encode
plus decode wall time of the two processes."""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchutil import cpu_model, program

# kind, stages, K, projector (vqtrain --projector; None: none)
CONFIGS = [("kmeans", 1, 256, None), ("kmeans", 1, 1024, None),
           ("kmeans", 1, 4096, None), ("rvq", 2, 256, None),
           ("rvq", 4, 256, None), ("rvq", 2, 1024, None),
           ("rvq", 2, 256, "pca:6"), ("rvq", 4, 256, "pca:6"),
           ("rvq", 2, 256, "simvq")]
QUICK = [("kmeans", 1, 256, None), ("rvq", 2, 256, None),
         ("rvq", 2, 256, "pca:6")]


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       **kw)
    if r.returncode != 0:
        sys.exit("%s: exit %d\n%s" % (" ".join(cmd), r.returncode,
                                       r.stderr.decode(errors="replace")))
    return r.stdout


def compressed(cmd, path):
    """Size of the file the compressor leaves beside path (-k keeps it)."""
    out = path + (".xz" if cmd[0] == "xz" else ".zst")
    if os.path.exists(out):
        os.remove(out)
    run(cmd + [path])
    n = os.path.getsize(out)
    os.remove(out)
    return n


def name(kind, m, k, proj):
    return ("k-means K = %d" % k if kind == "kmeans" else
            "RVQ %d x %d" % (m, k)) + (" + %s" % proj if proj else "")


def train(tools, kind, m, k, proj, files, cb):
    cmd = [tools["vqtrain"], kind, "-k", str(k), "--threads", "2"]
    if kind == "rvq":
        cmd += ["--stages", str(m)]
    if proj:
        cmd += ["--projector", proj]
    t = time.time()
    run(cmd + files + ["-o", cb, "-q"])
    return time.time() - t


def measure(tools, kind, m, k, proj, train_files, held_files, tmp):
    cb = os.path.join(tmp, "cb.safetensors")
    row = {"name": name(kind, m, k, proj), "k": k, "tokens": 0,
           "bytes": 0, "payload": 0, "xz": 0, "zstd": 0, "se": 0.0, "n": 0,
           "seconds": 0.0, "problems": []}
    row["train"] = train(tools, kind, m, k, proj, train_files, cb)
    for f in held_files:
        base = os.path.basename(f)
        x = np.load(f)
        vq, y = os.path.join(tmp, "x.vq"), os.path.join(tmp, "y.npy")
        tok, dec = os.path.join(tmp, "tok.npy"), os.path.join(tmp, "dec.npy")
        t = time.time()
        j = json.loads(run([tools["vqenc"], "--codebook", cb, "--json", f,
                            "-o", vq]))
        run([tools["vqdec"], "-q", "--codebook", cb, vq, "-o", y])
        row["seconds"] += time.time() - t
        run([tools["vqtok"], "encode", "-q", "--codebook", cb, f, "-o", tok])
        run([tools["vqtok"], "decode", "-q", "--codebook", cb, tok, "-o",
             dec])
        yv, dv, tv = np.load(y), np.load(dec), np.load(tok)
        if yv.shape != x.shape or yv.dtype != np.float32:
            row["problems"].append("%s: vqdec gave %s %s for %s" % (
                base, yv.dtype, yv.shape, x.shape))
        if not np.array_equal(yv, dv):
            row["problems"].append("%s: vqdec != vqtok decode (max diff %g)"
                                   % (base, np.abs(yv - dv).max()))
        se = float(((yv.astype(np.float64) - x) ** 2).sum())
        mse = se / x.size
        if abs(mse - j["mse"]) > 1e-5 * mse + 1e-12:
            row["problems"].append("%s: JSON mse %.9g, numpy %.9g" % (
                base, j["mse"], mse))
        if j["tokens"] != tv.size:
            row["problems"].append("%s: JSON tokens %d, vqtok %d" % (
                base, j["tokens"], tv.size))
        # bits_per_token counts the whole file (the table's "ours"),
        # payload_bits_per_token the token planes alone
        bpt = 8.0 * j["bytes"] / j["tokens"]
        ppt = 8.0 * j["payload_bytes"] / j["tokens"]
        if abs(bpt - j["bits_per_token"]) > 1e-5 * bpt or \
                abs(ppt - j["payload_bits_per_token"]) > 1e-5 * ppt or \
                abs(j["log2k"] - np.log2(k)) > 1e-6 or \
                j["bytes"] != os.path.getsize(vq):
            row["problems"].append("%s: JSON bytes/bits_per_token/log2k "
                                   "inconsistent: %s" % (base, j))
        row["tokens"] += j["tokens"]
        row["bytes"] += j["bytes"]
        row["payload"] += j["payload_bytes"]
        row["se"] += se
        row["n"] += x.size
        row["xz"] += compressed(["xz", "-9", "-k", "-q"], tok)
        if tools["zstd"]:
            row["zstd"] += compressed(["zstd", "-19", "--long", "-k", "-q"],
                                      tok)
    row["bits"] = 8.0 * row["bytes"] / row["tokens"]
    row["mse"] = row["se"] / row["n"]
    print("%s: %d tokens, %.4f bits/token (log2 K %g), xz %.4f, mse %.6g, "
          "%.2f s%s" % (row["name"], row["tokens"], row["bits"], np.log2(k),
                        8.0 * row["xz"] / row["tokens"], row["mse"],
                        row["seconds"], "".join("\n  PROBLEM " + p
                                                for p in row["problems"])),
          flush=True)
    return row


def bold(text, met):
    return "**%s**" % text if met else text


def table(rows, var, zstd):
    head = ["config", "tokens", "ours (bits/token)", "payload (bits/token)",
            "log2 K", "ours / log2 K", "xz -9 (bits/token)", "ours / xz"]
    if zstd:
        head += ["zstd -19 --long (bits/token)", "ours / zstd"]
    head += ["latent MSE", "latent variance", "MSE / variance",
             "encode + decode (s)", "train (s)"]
    out = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for r in rows:
        n, lk = r["tokens"], np.log2(r["k"])
        xz = 8.0 * r["xz"] / n
        cells = [r["name"], "%d" % n, "%.4f" % r["bits"],
                 "%.4f" % (8.0 * r["payload"] / n), "%g" % lk,
                 bold("%.3f" % (r["bits"] / lk), r["bits"] / lk <= 0.90),
                 "%.4f" % xz, bold("%.3f" % (r["bits"] / xz), r["bits"] < xz)]
        if zstd:
            zs = 8.0 * r["zstd"] / n
            cells += ["%.4f" % zs, "%.3f" % (r["bits"] / zs)]
        cells += ["%.6g" % r["mse"], "%.6g" % var, "%.4f" % (r["mse"] / var),
                  "%.3f" % r["seconds"], "%.1f" % r["train"]]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default=os.path.dirname(here))
    ap.add_argument("--latents", default="/tmp/latents",
                    help="folder with train/ and held/ latents (.npy)")
    ap.add_argument("--quick", action="store_true",
                    help="k-means K = 256 and RVQ 2 x 256 only")
    ap.add_argument("--out", help="also write the markdown table here")
    a = ap.parse_args()
    tools = {}
    for t in ("vqtrain", "vqenc", "vqdec", "vqtok"):
        tools[t] = program(a.build_dir, "apps", t)
        if not os.access(tools[t], os.X_OK):
            sys.exit("%s not built (make)" % tools[t])
    tools["zstd"] = shutil.which("zstd")
    train_files = sorted(glob.glob(os.path.join(a.latents, "train", "*.npy")))
    held_files = sorted(glob.glob(os.path.join(a.latents, "held", "*.npy")))
    if not train_files or not held_files:
        sys.exit("no latents in %s/train and %s/held (run "
                 "bench/train_autoencoder.py first)" % (a.latents, a.latents))
    held = [np.load(f).astype(np.float64) for f in held_files]
    c = held[0].shape[0]
    allv = np.concatenate([h.reshape(c, -1) for h in held], axis=1)
    var = float(allv.var(axis=1).mean())
    print("Machine: %s, %d cores. Latents: %d train, %d held-out, C = %d, "
          "per-component variance %.6g; %s." % (
              cpu_model(), os.cpu_count(), len(train_files), len(held_files),
              c, var, "zstd " + tools["zstd"] if tools["zstd"] else
              "no zstd"), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, m, k, proj in (QUICK if a.quick else CONFIGS):
            rows.append(measure(tools, kind, m, k, proj, train_files,
                                held_files, tmp))
    t = table(rows, var, bool(tools["zstd"]))
    problems = [p for r in rows for p in r["problems"]]
    print()
    print(t)
    if problems:
        print("\n%d problems:\n  %s" % (len(problems), "\n  ".join(problems)))
    if a.out:
        with open(a.out, "w") as f:
            f.write(t + "\n")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
