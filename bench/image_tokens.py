#!/usr/bin/python3
"""Image tokens on Kodak: held-out PSNR, codeword use and speed of
vqtrain-trained 8 x 8 patch codebooks as image tokenizers, in one run.

Data: the 24 Kodak PNGs as BT.601 luma; every codebook trains on the
non-overlapping 8 x 8 patches of kodim01 ... kodim20 (stride 8) and is
measured on kodim21 ... kodim24, never seen in training. Configurations:
vqtrain kmeans K = 256, 1024, 4096 (k-means++), 4096 with --init random
and with --projector simvq; vqtrain rvq 2 x 1024, 4 x 1024, 4 x 1024 with
--projector pca:32 and with simvq (25 iterations, the default, 2 threads;
--quick: K = 256 and RVQ 2 x 256). The four held-out images are tokenized
with one `vqtok encode` (shards + index), measured with `vqtok stats`
(codeword use per stage, and the PSNR of every stage prefix over the
padded patches) and decoded with `vqtok decode` to one PNG per image.
Train, encode and decode times are whole processes (image reading and
file writing included); encode also prints vqtok's own "seconds".

Checks, printed as warnings: the index's tokens per image and the token
.npy's shape; encode's mse and use against stats and against the codes;
stats' psnr against its mse; the decoded PNGs' sizes against the
originals and their luma PSNR (numpy, after 8-bit rounding) against the
last prefix."""
import glob
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

import benchutil

THREADS = 2
K4 = ["-k", "4096"]
CONFIGS = [("k-means K = 256", "kmeans", ["-k", "256"]),
           ("k-means K = 1024", "kmeans", ["-k", "1024"]),
           ("k-means K = 4096", "kmeans", K4),
           ("k-means K = 4096, --init random", "kmeans",
            K4 + ["--init", "random"]),
           ("k-means K = 4096, simvq", "kmeans", K4 + ["--projector", "simvq"]),
           ("RVQ 2 x 1024", "rvq", ["--stages", "2", "-k", "1024"]),
           ("RVQ 4 x 1024", "rvq", ["--stages", "4", "-k", "1024"]),
           ("RVQ 4 x 1024, pca:32", "rvq",
            ["--stages", "4", "-k", "1024", "--projector", "pca:32"]),
           ("RVQ 4 x 1024, simvq", "rvq",
            ["--stages", "4", "-k", "1024", "--projector", "simvq"])]
QUICK = [("k-means K = 256", "kmeans", ["-k", "256"]),
         ("RVQ 2 x 256", "rvq", ["--stages", "2", "-k", "256"])]


def run(cmd):
    """Runs cmd; (wall seconds, stdout). Exits with its stderr on failure."""
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit("%s failed (exit %d):\n%s" % (" ".join(cmd), r.returncode,
                                                r.stderr.strip()))
    return wall, r.stdout


def luma(path):
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def psnr(mse):
    return 10 * math.log10(255.0 ** 2 / mse) if mse > 0 else float("inf")


def measure(tools, method, kind, args, train, held, tmp, warn):
    cb, tok = os.path.join(tmp, "cb.safetensors"), os.path.join(tmp, "t.npy")
    index, dec = os.path.join(tmp, "t.json"), os.path.join(tmp, "dec")
    train_s, _ = run([tools["vqtrain"], kind] + args + [
        "--patch", "8", "--threads", str(THREADS), "--json", "--quiet"] +
        train + ["-o", cb])
    enc_s, out = run([tools["vqtok"], "encode", "--codebook", cb, "--json",
                      "--threads", str(THREADS)] + held + ["-o", tok])
    enc = json.loads(out)
    st = json.loads(run([tools["vqtok"], "stats", "--codebook", cb, "--json",
                         "--threads", str(THREADS), index])[1])
    dec_s, _ = run([tools["vqtok"], "decode", "--codebook", cb, "--threads",
                    str(THREADS), index, "-o", dec])
    with open(index) as f:
        idx = json.load(f)
    m, k = idx["stages"], idx["k"]

    def bad(what):
        warn.append("%s: %s" % (method, what))
    codes = np.concatenate([np.load(os.path.join(tmp, s["file"]))
                            for s in idx["shards"]]).reshape(-1, m)
    if len(codes) != enc["vectors"] or enc["vectors"] != st["rows"]:
        bad("%d token rows, encode vectors %d, stats rows %d" %
            (len(codes), enc["vectors"], st["rows"]))
    per_image = set()
    for e in idx["inputs"]:
        h, w = e["size"]
        if e["rows"] != -(-h // 8) * -(-w // 8):
            bad("%s: %d rows for %d x %d" % (e["name"], e["rows"], h, w))
        per_image.add("%d x %d = %d" % (e["rows"], m, e["rows"] * m)
                      if m > 1 else str(e["rows"]))
    mine = [len(np.unique(codes[:, s])) / k for s in range(m)]
    use = [p["utilization"] for p in st["per_stage"]]
    if np.abs(np.subtract(enc["utilization_per_stage"], mine)).max() > 1e-5 \
            or np.abs(np.subtract(use, mine)).max() > 1e-5 or \
            any(p["used"] != round(u * k) for p, u in zip(st["per_stage"],
                                                          mine)):
        bad("use: encode %s, stats %s, codes %s" % (
            enc["utilization_per_stage"], use, mine))
    if len(st["mse_per_stage"]) != m or abs(
            st["mse_per_stage"][-1] - enc["mse"]) > 1e-5 * enc["mse"]:
        bad("stats mse_per_stage %s, encode mse %.7g" % (
            st["mse_per_stage"], enc["mse"]))
    if any(abs(psnr(e) - p) > 1e-3 for e, p in
           zip(st["mse_per_stage"], st["psnr_per_stage"])):
        bad("psnr_per_stage %s for mse_per_stage %s" % (
            st["psnr_per_stage"], st["mse_per_stage"]))
    se = n = 0
    for f in held:
        png = os.path.join(dec, os.path.splitext(os.path.basename(f))[0] +
                           ".png")
        if not os.path.exists(png):
            bad("no decoded %s" % png)
            continue
        size, orig = Image.open(png).size, Image.open(f).size
        if size != orig:
            bad("%s is %d x %d, the original %d x %d" % (
                os.path.basename(png), size[0], size[1], orig[0], orig[1]))
            continue
        y = np.asarray(Image.open(png).convert("L"), dtype=np.float64)
        se += float(((y - luma(f)) ** 2).sum())
        n += y.size
    if n and abs(psnr(se / n) - st["psnr_per_stage"][-1]) > 0.05:
        bad("decoded PNGs %.3f dB, stats %.3f dB" % (
            psnr(se / n), st["psnr_per_stage"][-1]))
    return dict(method=method, tokens=" / ".join(sorted(per_image)),
                psnr=st["psnr_per_stage"], use=use, train=train_s,
                enc_wall=enc_s, enc_json=enc["seconds"], dec=dec_s,
                n=len(held))


def table(rows):
    out = ["| method | tokens / image | held-out PSNR (dB) | PSNR per prefix |"
           " held-out use per stage | train s | encode img/s (JSON) | "
           "decode img/s |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append("| %s | %s | %.2f | %s | %s | %.1f | %.1f (%.1f) | %.1f |"
                   % (r["method"], r["tokens"], r["psnr"][-1],
                      " / ".join("%.2f" % p for p in r["psnr"])
                      if len(r["psnr"]) > 1 else "-",
                      " / ".join("%.1f%%" % (100 * u) for u in r["use"]),
                      r["train"], r["n"] / r["enc_wall"],
                      r["n"] / r["enc_json"], r["n"] / r["dec"]))
    return out


def parse_args():
    ap = benchutil.tool_args(__doc__)
    ap.add_argument("--quick", action="store_true",
                    help="k-means K = 256 and RVQ 2 x 256 only")
    ap.add_argument("--out", help="also write the markdown table here")
    return ap.parse_args()


def main():
    a = parse_args()
    tools = {t: benchutil.program(a.build_dir, "apps", t)
             for t in ("vqtrain", "vqtok")}
    for t in tools.values():
        if subprocess.run([t, "--help"], capture_output=True).returncode:
            sys.exit("`%s --help` fails: build the tools first (make)" % t)
    files = sorted(glob.glob(os.path.join(a.kodak, "kodim*.png")))
    if len(files) != 24:
        sys.exit("expected the 24 Kodak PNGs in %s (use --kodak DIR)" %
                 a.kodak)
    train, held = files[:20], files[20:]
    rev = subprocess.run(["git", "-C", a.build_dir, "describe", "--always",
                          "--dirty"], capture_output=True, text=True)
    load0 = os.getloadavg()[0]
    header = ["Machine: %s, %d cores, %s, Python %s, numpy %s." % (
                  benchutil.cpu_model(), os.cpu_count(), platform.platform(),
                  platform.python_version(), np.__version__),
              "Date: %s; libvq %s." % (time.strftime("%Y-%m-%d %H:%M"),
                                       rev.stdout.strip() or "unknown"),
              "Data: Kodak BT.601 luma, 8 x 8 patches; train kodim01-20 "
              "(stride 8), held out kodim21-24. %d threads, 25 iterations."
              % THREADS]
    print("\n".join(header), flush=True)
    rows, warn = [], []
    for method, kind, args in (QUICK if a.quick else CONFIGS):
        with tempfile.TemporaryDirectory(prefix="vqbench-") as tmp:
            rows.append(measure(tools, method, kind, args, train, held, tmp,
                                warn))
        print(table(rows[-1:])[-1], flush=True)
    text = "\n".join(header + [
        "", "PSNR over the padded 8 x 8 patches of the 4 held-out images "
        "(vqtok stats), of the last stage prefix and of every prefix; use "
        "= share of the K codewords the held-out tokens pick, per stage; "
        "train, encode and decode: whole processes, images/s = 4 / wall "
        "time (in brackets 4 / vqtok encode's JSON \"seconds\").", ""] +
        table(rows) + ["\nWarning: " + w for w in warn])
    benchutil.finish_report(text, load0, THREADS, a.out)
    return 1 if warn else 0


if __name__ == "__main__":
    sys.exit(main())
