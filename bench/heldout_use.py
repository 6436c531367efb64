#!/usr/bin/python3
"""Held-out codebook use at large K: the share of K = 1024 ... 65536
codewords that patches of images never seen in training pick, for plain
k-means and for the projectors (vqtrain kmeans --projector), in one run.

Training: the 8 x 8 BT.601 luma patches of kodim01-20 at stride 4
(vqtrain --patch 8 --stride 4, 484,860 vectors; --train-stride S for
another). Held out: kodim21-24,
every 8 x 8 luma patch at stride 1 (1,537,220 vectors, from 24 to 1500 a
codeword) and, for comparison with projector_use.py's split, only the
non-overlapping ones (24,576). Every codebook trains for --iters
iterations (default 10) with 2 threads; vqtok encode --json reports the
use on each held-out set, which the script checks against the codes
vqtok wrote. Configurations: --projector none (default k-means++
seeding, --init random, --min-share 0.1), simvq, pca:16, pca:16+simvq,
pca:16 with --min-share 0.1 and with --min-files 5 as well (clusters
whose patches come from fewer than 5 of the 20 images re-seeded); above K = 4096 only plain k-means and
the 16-dimensional ones, above 16384 only the latter, unless --all (the
64-dimensional ones take 5 to 60 minutes each there on 2 cores).

With --support, each codebook is also measured against its own training
images: how many of the 20 use each codeword (at the training stride) and,
for codewords used by 1, 2, 3-4, 5-9 and 10-20 of them, the share the
held-out images leave unused; and the share used by the training images'
patches at the positions between the training ones (the training
stride, offset by half of it: the same images, patches not trained on;
--train-stride 1 has none).

With --groups, the use by each group of four images (kodim01-04 to
kodim17-20, the training images, and kodim21-24, the held-out ones) over
the patch positions off the training grid: how many codewords four
images' patches not trained on reach when the images were trained on
and when they were not, on the same number of vectors. --projector,
--min-share and --min-files replace pca:16, 0.1 and 5 in the
configurations."""
import json
import os
import subprocess
import tempfile
import time

import numpy as np

import benchutil

TRAIN = ["kodim%02d.png" % i for i in range(1, 21)]
HELD = ["kodim%02d.png" % i for i in range(21, 25)]
CONFIGS = (("none", []), ("none, --init random", ["--init", "random"]),
           ("none, --min-share 0.1", ["--min-share", "0.1"]),
           ("simvq", ["--projector", "simvq"]),
           ("pca:16", ["--projector", "pca:16"]),
           ("pca:16+simvq", ["--projector", "pca:16+simvq"]),
           ("pca:16, --min-share 0.1", ["--projector", "pca:16",
                                        "--min-share", "0.1"]),
           ("pca:16, --min-share 0.1, --min-files 5",
            ["--projector", "pca:16", "--min-share", "0.1", "--min-files",
             "5"]))
# 64-dimensional configurations left out above K = 4096 (and plain
# k-means above 16384) unless --all: each takes 5 to 20 minutes there
UP_TO_4096 = ("none, --init random", "none, --min-share 0.1", "simvq")


def luma_patches(y, stride):
    """All 8 x 8 patches of y at the given stride, rows of 64 floats."""
    h, w = y.shape
    v = np.lib.stride_tricks.sliding_window_view(y, (8, 8))
    v = v[0:h - 7:stride, 0:w - 7:stride]
    return np.ascontiguousarray(v.reshape(-1, 64), dtype=np.float32)


def heldout_sets(ys, tmp):
    dense = np.concatenate([luma_patches(y, 1) for y in ys])
    sparse = np.concatenate([luma_patches(y, 8) for y in ys])
    paths = {}
    for name, x in (("stride 1", dense), ("stride 8", sparse)):
        p = os.path.join(tmp, name.replace(" ", "") + ".npy")
        np.save(p, x)
        paths[name] = (p, len(x))
    return paths


def measure(vqtok, cb, path, k, tmp):
    out = os.path.join(tmp, "codes.npy")
    r = subprocess.run([vqtok, "encode", "--json", "--quiet", "--threads",
                        "2", "--codebook", cb, path, "-o", out],
                       stdout=subprocess.PIPE, check=True)
    j = json.loads(r.stdout)
    codes = np.load(out).reshape(-1)
    used = len(np.unique(codes))
    got = j["utilization_per_stage"][0]
    if abs(got - used / k) > 1e-6:  # printed with 6 decimals
        raise SystemExit("vqtok reports use %.6f, the codes show %.6f" %
                         (got, used / k))
    return used, j["mse"]


def support(vqtok, cb, k, ys, tmp, stride):
    """Per-codeword support (training images using it) and the use at the
    positions between the training patches."""
    sup = np.zeros(k, int)
    between = np.zeros(k, bool)
    out = os.path.join(tmp, "codes.npy")
    for y in ys:
        for off, acc in ((0, None), (stride // 2, between)):
            h, w = y.shape
            v = np.lib.stride_tricks.sliding_window_view(y, (8, 8))
            v = np.ascontiguousarray(
                v[off:h - 7:stride, off:w - 7:stride].reshape(-1, 64),
                dtype=np.float32)
            path = os.path.join(tmp, "support.npy")
            np.save(path, v)
            subprocess.run([vqtok, "encode", "--quiet", "--threads", "2",
                            "--codebook", cb, path, "-o", out], check=True)
            used = np.unique(np.load(out).reshape(-1))
            if acc is None:
                sup[used] += 1
            else:
                acc[used] = True
    return sup, between.mean()


def group_use(vqtok, cb, k, ys, tmp, stride):
    """The share of the codewords used by each group of four images
    (kodim01-04, ..., kodim21-24), over every 8 x 8 patch position that is
    not on the training grid (a multiple of the training stride in both
    coordinates): for the training images the patches not trained on,
    for the held-out ones the same positions."""
    out = os.path.join(tmp, "codes.npy")
    path = os.path.join(tmp, "group.npy")
    shares = []
    for g in range(0, len(ys), 4):
        used = np.zeros(k, bool)
        for y in ys[g:g + 4]:
            np.save(path, luma_patches(y, 1))
            subprocess.run([vqtok, "encode", "--quiet", "--threads", "2",
                            "--codebook", cb, path, "-o", out], check=True)
            h, w = y.shape
            codes = np.load(out).reshape(h - 7, w - 7)
            off = np.ones(codes.shape, bool)
            off[::stride, ::stride] = False
            used[codes[off]] = True
        shares.append(used.mean())
    return shares


def configured(text, a):
    """text with pca:16, --min-share 0.1 and --min-files 5 replaced by the
    values given on the command line."""
    return text.replace("pca:16", a.projector).replace(
        "0.1", a.min_share).replace("--min-files 5",
                                    "--min-files " + a.min_files)


def main():
    ap = benchutil.tool_args(__doc__)
    ap.add_argument("--k", default="1024,4096,16384,65536")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--all", action="store_true",
                    help="every configuration at every K")
    ap.add_argument("--min-share", default="0.1",
                    help="the --min-share of the configurations that use it")
    ap.add_argument("--projector", default="pca:16",
                    help="the PCA projector of the configurations that use "
                    "one (default pca:16)")
    ap.add_argument("--min-files", default="5",
                    help="the --min-files of the configuration that uses it")
    ap.add_argument("--only", help="only the configurations whose name "
                    "contains this text")
    ap.add_argument("--train-stride", type=int, default=4,
                    help="step between training patches (default 4)")
    ap.add_argument("--support", action="store_true",
                    help="also the use by support over the training images")
    ap.add_argument("--groups", action="store_true",
                    help="also the use by each group of four images at the "
                    "positions off the training grid (needs --train-stride "
                    "of 2 or more)")
    ap.add_argument("--out", help="also write the markdown table here")
    a = ap.parse_args()
    if a.groups and a.train_stride < 2:
        raise SystemExit("--groups needs positions off the training grid: "
                         "--train-stride 2 or more")
    vqtrain = benchutil.program(a.build_dir, "apps", "vqtrain")
    vqtok = benchutil.program(a.build_dir, "apps", "vqtok")
    load0 = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        all_y = list(benchutil.kodak_luma(a.kodak, 24))
        train_y = all_y[:20]
        held = heldout_sets(all_y[20:], tmp)
        train = [os.path.join(a.kodak, f) for f in TRAIN]
        for k in [int(v) for v in a.k.split(",")]:
            for name, extra in CONFIGS:
                if not a.all and ((k > 4096 and name in UP_TO_4096) or
                                  (k > 16384 and name == "none")):
                    continue
                name = configured(name, a)
                extra = [a.min_files if v == "5" else configured(v, a)
                         for v in extra]
                if a.only and a.only not in name:
                    continue
                cb = os.path.join(tmp, "cb.safetensors")
                t = time.perf_counter()
                subprocess.run([vqtrain, "kmeans", "-k", str(k), "--patch",
                                "8", "--stride", str(a.train_stride), "--iters",
                                str(a.iters), "--seed", "1", "--threads",
                                "2", "--quiet"] + extra + train +
                               ["-o", cb], check=True)
                secs = time.perf_counter() - t
                row = {"k": k, "config": name, "train_s": secs}
                for hname, (path, n) in held.items():
                    used, mse = measure(vqtok, cb, path, k, tmp)
                    row[hname] = (used, mse, n)
                    if hname == "stride 1":
                        held_used = np.zeros(k, bool)
                        held_used[np.load(os.path.join(tmp, "codes.npy"))
                                  .reshape(-1)] = True
                if a.support:
                    sup, row["between"] = support(vqtok, cb, k, train_y, tmp,
                                                  a.train_stride)
                    row["support"] = [
                        (lo, hi, int(((sup >= lo) & (sup <= hi)).sum()),
                         int(((sup >= lo) & (sup <= hi) & ~held_used).sum()))
                        for lo, hi in ((1, 1), (2, 2), (3, 4), (5, 9),
                                       (10, 20))]
                if a.groups:
                    row["groups"] = group_use(vqtok, cb, k, all_y, tmp,
                                              a.train_stride)
                rows.append(row)
                d, s = row["stride 1"], row["stride 8"]
                print("K %d, %s: stride 1 %d of %d used (%.2f%%), MSE "
                      "%.2f; stride 8 %.2f%%; %.0f s" %
                      (k, name, d[0], k, 100.0 * d[0] / k, d[1],
                       100.0 * s[0] / k, secs), flush=True)
    lines = ["| K | configuration | held-out use, stride 1 | unused | "
             "held-out MSE, stride 1 | held-out use, stride 8 | train s |",
             "|---" * 7 + "|"]
    for r in rows:
        d, s = r["stride 1"], r["stride 8"]
        lines.append("| %d | %s | %.2f%% | %d | %.2f | %.2f%% | %.0f |" %
                     (r["k"], r["config"], 100.0 * d[0] / r["k"],
                      r["k"] - d[0], d[1], 100.0 * s[0] / r["k"],
                      r["train_s"]))
    if a.support:
        lines += ["", "| K | configuration | used between the training "
                  "patches | codewords (held-out unused) by training images "
                  "using them: 1 | 2 | 3-4 | 5-9 | 10-20 |", "|---" * 8 + "|"]
        for r in rows:
            lines.append("| %d | %s | %.2f%% | " % (
                r["k"], r["config"], 100.0 * r["between"]) + " | ".join(
                "%d (%d, %.1f%%)" % (c, u, 100.0 * u / c if c else 0.0)
                for lo, hi, c, u in r["support"]) + " |")
    if a.groups:
        lines += ["", "| K | configuration | use off the training grid by "
                  "kodim01-04 | 05-08 | 09-12 | 13-16 | 17-20 | 21-24 (held "
                  "out) |", "|---" * 8 + "|"]
        for r in rows:
            lines.append("| %d | %s | " % (r["k"], r["config"]) + " | ".join(
                "%.2f%%" % (100.0 * v) for v in r["groups"]) + " |")
    text = ("%s, %d cores; held out: %d vectors at stride 1, %d at stride "
            "8.\n\n" % (benchutil.cpu_model(), os.cpu_count(),
                        rows[0]["stride 1"][2], rows[0]["stride 8"][2]) +
            "\n".join(lines))
    benchutil.finish_report(text, load0, 2, a.out)


if __name__ == "__main__":
    main()
