#!/usr/bin/python3
"""Residual and product quantization: libvq (vqtrain rvq / pq, vqtok)
against FAISS's ResidualQuantizer, ProductQuantizer and OPQMatrix on the
same float32 data, in one run.

For each data set and configuration (M stages of 8 bits, K = 256, beam 1
and beam 8) both train on the same 80% of the vectors and encode the
held-out 20%; the script decodes both sets of codes (ours with vqtok
decode, FAISS's with rq.decode), computes the held-out MSE per component
with the same numpy code, and prints it with the train and encode times
and the ratios ours / FAISS. Per stage it prints the held-out MSE of every
prefix of the codes of both, and our training MSE and codeword use from
vqtrain --json.

Data: the non-overlapping 8 x 8 BT.601 luma patches of the 24 Kodak
images, shuffled with a fixed seed (64-d, 147,456 vectors), and a 128-d
Gaussian mixture (500,000 vectors).

Product quantization: M = 8 sub-spaces of 8 bits, plain and after OPQ
(ours: vqtrain pq [--opq], 10 rounds; FAISS: OPQMatrix(d, 8) with its
default rounds, then a ProductQuantizer on the rotated data), the same
split, held-out MSE in the original space."""
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import faiss

import benchutil

NBITS = 8                   # bits per stage: K = 256
PQ_M = 8                    # PQ sub-spaces
SEED = 1234                 # FAISS's cp.seed default, and ours
TRAIN_SHARE = 0.8
TARGET_MSE, TARGET_TIME = 1.00, 0.5     # from the issue: ours / FAISS


# ---------------------------------------------------------------- data ---

def kodak_patches(kodak, seed=0):
    """The non-overlapping 8 x 8 BT.601 luma patches of all 24 Kodak
    images, [24 x 6144, 64], in an order shuffled with a fixed seed."""
    out = []
    for y in benchutil.kodak_luma(kodak, 24):
        h, w = y.shape[0] // 8, y.shape[1] // 8
        p = y[:h * 8, :w * 8].reshape(h, 8, w, 8).transpose(0, 2, 1, 3)
        out.append(p.reshape(h * w, 64))
    x = np.concatenate(out)
    x = x[np.random.default_rng(seed).permutation(len(x))]
    return np.ascontiguousarray(x, dtype=np.float32)


def gaussian_mixture(n, d, centres, seed=1):
    """n points around centres random centres (N(0, 16) per component)
    with isotropic unit-variance noise."""
    rng = np.random.default_rng(seed)
    c = rng.normal(0.0, 4.0, (centres, d))
    x = c[rng.integers(0, centres, n)] + rng.normal(0.0, 1.0, (n, d))
    return np.ascontiguousarray(x.astype(np.float32))


def split(x):
    """The first 80% to train on, the rest held out (x is in random
    order already)."""
    n = int(round(TRAIN_SHARE * len(x)))
    return np.ascontiguousarray(x[:n]), np.ascontiguousarray(x[n:])


def mse(x, y):
    """Per-component mean squared difference, in float64, by blocks."""
    if x.shape != y.shape:
        sys.exit("reconstruction is %s, expected %s" % (y.shape, x.shape))
    total = 0.0
    for i in range(0, len(x), 65536):
        diff = x[i:i + 65536].astype(np.float64) - y[i:i + 65536]
        total += float(np.einsum("ij,ij->", diff, diff))
    return total / x.size


# ---------------------------------------------------------------- ours ---

def run(cmd):
    """Runs cmd; (wall seconds, stdout). Exits with its stderr on
    failure."""
    t = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        sys.exit("%s failed (exit %d):\n%s" % (
            " ".join(cmd), res.returncode, res.stderr.strip()))
    return wall, res.stdout


def best_of(cmd, repeat):
    """Fastest of repeat runs of cmd: (wall seconds, its --json object)."""
    best = None
    for _ in range(repeat):
        wall, out = run(cmd)
        if best is None or wall < best[0]:
            best = (wall, json.loads(out))
    return best


def run_ours(tools, paths, m, beam, a, iters, repeat, tmp):
    """vqtrain rvq on the training set, vqtok encode of the held-out set
    with the same beam, vqtok decode of every prefix of the codes."""
    cb = os.path.join(tmp, "cb.safetensors")
    codes = os.path.join(tmp, "codes.npy")
    recon = os.path.join(tmp, "recon.npy")
    train_wall, train = best_of(
        [tools["vqtrain"], "rvq", "--stages", str(m), "-k", str(1 << NBITS),
         "--iters", str(iters), "--beam", str(beam), "--seed", str(SEED),
         "--threads", str(a.threads), "--json", "--quiet"] +
        (["--refine", str(a.refine)] if a.refine else []) +
        [paths["train"], "-o", cb], repeat)
    enc_wall, enc = best_of(
        [tools["vqtok"], "encode", "--codebook", cb, "--beam", str(beam),
         "--threads", str(a.threads), "--json", paths["test"], "-o", codes],
        repeat)
    c = np.load(codes)
    if c.dtype != np.int32 or c.shape != (paths["n_test"], m):
        sys.exit("vqtok encode wrote %s %s, expected int32 (%d, %d)" % (
            c.dtype, c.shape, paths["n_test"], m))
    test = np.load(paths["test"])
    prefix = []
    for s in range(1, m + 1):
        run([tools["vqtok"], "decode", "--codebook", cb, "--stages", str(s),
             codes, "-o", recon])
        prefix.append(mse(test, np.load(recon)))
    return dict(train_s=train_wall, train_lib_s=train["seconds"],
                encode_s=enc_wall, encode_lib_s=enc["seconds"],
                mse=prefix[-1], prefix=prefix, tool_mse=enc["mse"],
                train_mse=train["mse"], train_stage=train["mse_per_stage"],
                use_stage=train["utilization_per_stage"])


def run_ours_pq(tools, paths, opq, a, iters, repeat, tmp):
    """vqtrain pq [--opq] on the training set, vqtok encode and decode of
    the held-out set."""
    cb = os.path.join(tmp, "pq.safetensors")
    codes = os.path.join(tmp, "codes.npy")
    recon = os.path.join(tmp, "recon.npy")
    train_wall, train = best_of(
        [tools["vqtrain"], "pq", "-m", str(PQ_M), "-k", str(1 << NBITS),
         "--iters", str(iters), "--seed", str(SEED), "--threads",
         str(a.threads), "--json", "--quiet"] + (["--opq"] if opq else []) +
        [paths["train"], "-o", cb], repeat)
    enc_wall, enc = best_of(
        [tools["vqtok"], "encode", "--codebook", cb, "--threads",
         str(a.threads), "--json", paths["test"], "-o", codes], repeat)
    run([tools["vqtok"], "decode", "--codebook", cb, codes, "-o", recon])
    full = mse(np.load(paths["test"]), np.load(recon))
    return dict(train_s=train_wall, train_lib_s=train["seconds"],
                encode_s=enc_wall, encode_lib_s=enc["seconds"], mse=full,
                tool_mse=enc["mse"], train_mse=train["mse"])


# --------------------------------------------------------------- FAISS ---

def run_faiss_pq(xtr, xte, opq, iters, repeat):
    """OPQMatrix.train (with opq) and ProductQuantizer.train on the
    training set, apply + compute_codes on the held-out set."""
    d = xtr.shape[1]
    train_s = enc_s = 1e30
    for _ in range(repeat):
        t = time.perf_counter()
        mat = None
        z = xtr
        if opq:
            mat = faiss.OPQMatrix(d, PQ_M)
            mat.train(xtr)
            z = mat.apply_py(xtr)
        pq = faiss.ProductQuantizer(d, PQ_M, NBITS)
        pq.cp.niter = iters
        pq.cp.seed = SEED
        pq.train(z)
        train_s = min(train_s, time.perf_counter() - t)
    for _ in range(repeat):
        t = time.perf_counter()
        codes = pq.compute_codes(mat.apply_py(xte) if opq else xte)
        enc_s = min(enc_s, time.perf_counter() - t)
    y = pq.decode(codes)
    if opq:
        y = mat.reverse_transform(y)
    return dict(train_s=train_s, encode_s=enc_s, mse=mse(xte, y),
                niter=mat.niter if opq else 0)



def faiss_rq(d, m, beam, iters):
    rq = faiss.ResidualQuantizer(d, m, NBITS)
    rq.max_beam_size = beam
    rq.cp.niter = iters
    rq.cp.seed = SEED
    return rq


def run_faiss(xtr, xte, m, beam, iters, repeat):
    """rq.train on the training set, rq.compute_codes on the held-out set
    (each the fastest of repeat runs), and the held-out MSE of every
    prefix of the codes."""
    train_s = enc_s = 1e30
    for _ in range(repeat):
        rq = faiss_rq(xtr.shape[1], m, beam, iters)
        t = time.perf_counter()
        rq.train(xtr)
        train_s = min(train_s, time.perf_counter() - t)
    for _ in range(repeat):
        t = time.perf_counter()
        codes = rq.compute_codes(xte)
        enc_s = min(enc_s, time.perf_counter() - t)
    full = mse(xte, rq.decode(codes))
    # 8-bit codes are one byte per stage; the prefixes from the codebooks
    cbs = faiss.vector_to_array(rq.codebooks).reshape(m, 1 << NBITS, -1)
    acc = np.zeros(xte.shape, dtype=np.float64)
    prefix = []
    for s in range(m):
        acc += cbs[s][codes[:, s]]
        prefix.append(mse(xte, acc))
    if abs(prefix[-1] - full) > 1e-4 * full:
        sys.exit("FAISS codes are not one byte per stage: decode %.6g, "
                 "codebook sums %.6g" % (full, prefix[-1]))
    return dict(train_s=train_s, encode_s=enc_s, mse=full, prefix=prefix)


def faiss_training(d, iters):
    """FAISS's default training, as this script leaves it."""
    rq = faiss_rq(d, 1, 1, iters)
    kinds = [n for n in ("Train_progressive_dim", "Train_refine_codebook",
                         "Train_top_beam", "Skip_codebook_tables")
             if rq.train_type & getattr(faiss.ResidualQuantizer, n)]
    return ("train_type %d (%s): each stage k-means on the residuals of the "
            "whole beam, subsampled to K x %d = %d, %s; cp.niter %d, "
            "progressive_dim_steps %d, apply_pca %s" % (
                rq.train_type, " | ".join(kinds) or "Train_default",
                rq.cp.max_points_per_centroid,
                (1 << NBITS) * rq.cp.max_points_per_centroid,
                "dimensions added in steps" if rq.train_type &
                faiss.ResidualQuantizer.Train_progressive_dim else
                "plain k-means", rq.cp.niter, rq.cp.progressive_dim_steps,
                rq.cp.apply_pca))


# -------------------------------------------------------------- output ---

def config_name(m, beam, kind="rvq"):
    if kind == "pq":
        return "PQ %d x %d bits" % (m, NBITS)
    if kind == "opq":
        return "OPQ + PQ %d x %d bits" % (m, NBITS)
    return "RVQ %d x %d bits, beam %d" % (m, NBITS, beam)


def row_name(r):
    return config_name(r["m"], r["beam"], r.get("kind", "rvq"))


def ratio(a, b, target):
    r = a / b
    return ("**%.2f**" if r <= target else "%.2f") % r


def main_table(rows):
    out = ["| config | data | n train | n test | ours MSE | faiss MSE | "
           "MSE ratio | ours train s | faiss train s | ratio | ours encode "
           "s | faiss encode s | ratio |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        o, f = r["ours"], r["faiss"]
        out.append("| %s | %s | %d | %d | %.4f | %.4f | %s | %.2f | %.2f | "
                   "%s | %.3f | %.3f | %s |" % (
                       row_name(r), r["data"],
                       r["n_train"], r["n_test"], o["mse"], f["mse"],
                       ratio(o["mse"], f["mse"], TARGET_MSE) if f["mse"] > 0
                       else "-", o["train_s"], f["train_s"],
                       ratio(o["train_s"], f["train_s"], TARGET_TIME),
                       o["encode_s"], f["encode_s"],
                       ratio(o["encode_s"], f["encode_s"], TARGET_TIME)))
    return out


def targets(rows):
    def met(key, target):
        return sum(r["ours"][key] <= target * r["faiss"][key] for r in rows)
    n = len(rows)
    return ("Targets (ours / FAISS): MSE <= %.2f in %d of %d rows, train "
            "time <= %.2f in %d of %d, encode time <= %.2f in %d of %d "
            "(bold: met)." % (TARGET_MSE, met("mse", TARGET_MSE), n,
                              TARGET_TIME, met("train_s", TARGET_TIME), n,
                              TARGET_TIME, met("encode_s", TARGET_TIME), n))


def lib_table(rows):
    out = ["| config | data | vqtrain process s | vqtrain \"seconds\" | "
           "vqtok encode process s | vqtok \"seconds\" | vqtok \"mse\" "
           "(held out) | numpy MSE (held out) | vqtrain \"mse\" (train) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        o = r["ours"]
        out.append("| %s | %s | %.2f | %.2f | %.3f | %.3f | %.4f | %.4f | "
                   "%.4f |" % (row_name(r), r["data"],
                               o["train_s"], o["train_lib_s"], o["encode_s"],
                               o["encode_lib_s"], o["tool_mse"], o["mse"],
                               o["train_mse"]))
    return out


def stage_table(rows):
    rows = [r for r in rows if r.get("kind", "rvq") == "rvq"]
    m = max(r["m"] for r in rows)
    out = ["| config | data | | " + " | ".join(
        "%d" % (s + 1) for s in range(m)) + " |",
           "|---|---|---|" + "---|" * m]
    for r in rows:
        o, f = r["ours"], r["faiss"]
        pad = [""] * (m - r["m"])
        for label, vals in (
                ("ours MSE, held out", ["%.4f" % v for v in o["prefix"]]),
                ("faiss MSE, held out", ["%.4f" % v for v in f["prefix"]]),
                ("ours / faiss", ["%.3f" % (a / b) if b > 0 else "-"
                                  for a, b in zip(o["prefix"],
                                                  f["prefix"])]),
                ("ours MSE, train, stage-wise greedy (vqtrain)",
                 ["%.4f" % v for v in o["train_stage"]]),
                ("ours codewords used (vqtrain)",
                 ["%.1f%%" % (100.0 * v) for v in o["use_stage"]])):
            out.append("| %s | %s | %s | %s |" % (
                config_name(r["m"], r["beam"]), r["data"], label,
                " | ".join(vals + pad)))
    return out


def report(rows, header):
    out = header + ["", "Held-out MSE per component; times in seconds, "
                    "ours as whole processes (reading and writing the "
                    "files included), FAISS around its train and "
                    "compute_codes calls (OPQ: with the OPQMatrix train "
                    "and apply):", ""]
    out += main_table(rows)
    out += ["", targets(rows), "",
            "Ours, the tools' own figures beside the process times:", ""]
    out += lib_table(rows)
    if any(r.get("kind", "rvq") == "rvq" for r in rows):
        out += ["", "MSE after each stage (prefixes of the same codes):",
                ""]
        out += stage_table(rows)
    return "\n".join(out)


# ---------------------------------------------------------------- main ---

def machine():
    return "Machine: %s, %d cores, %s, Python %s, numpy %s." % (
        benchutil.cpu_model(), os.cpu_count(), platform.platform(),
        platform.python_version(), np.__version__)


def revision(build):
    r = subprocess.run(["git", "-C", build, "describe", "--always",
                        "--dirty"], capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


def check_tools(build):
    tools = {n: benchutil.program(build, "apps", n)
             for n in ("vqtrain", "vqtok")}
    for cmd in ([tools["vqtrain"], "rvq", "--help"],
                [tools["vqtok"], "--help"]):
        try:
            ok = subprocess.run(cmd, capture_output=True).returncode == 0
        except OSError:
            ok = False
        if not ok:
            sys.exit("`%s` fails: build the tools first (make)" %
                     " ".join(cmd))
    return tools


def parse_args():
    ap = benchutil.tool_args(__doc__)
    ap.add_argument("--mixture", default=None, metavar="NxD",
                    help="Gaussian mixture size (default 500000x128, "
                    "--quick 50000x32)")
    ap.add_argument("--threads", type=int, default=2,
                    help="threads for both (default 2)")
    ap.add_argument("--iters", type=int, default=None,
                    help="k-means iterations per stage for both (default: "
                    "FAISS's rq.cp.niter)")
    ap.add_argument("--refine", type=int, default=0,
                    help="vqtrain rvq --refine N (default 0: not passed)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per timing; the fastest counts (default 1)")
    ap.add_argument("--quick", action="store_true",
                    help="4 stages only, 30,000 Kodak patches and a "
                    "50000 x 32 mixture: a smoke run of a minute or two")
    ap.add_argument("--data", choices=("kodak", "mixture"),
                    help="only one of the two data sets")
    ap.add_argument("--only", choices=("rvq", "pq"),
                    help="only the residual or only the product rows")
    ap.add_argument("--out", help="also write the markdown tables here")
    return ap.parse_args()


def print_row(r):
    o, f = r["ours"], r["faiss"]
    print("%s, %s: MSE ours %.4f, FAISS %.4f (%.3f); train %.2f s / %.2f s "
          "(%.2f); encode %.3f s / %.3f s (%.2f)" % (
              r["data"], row_name(r), o["mse"], f["mse"], o["mse"] / f["mse"],
              o["train_s"], f["train_s"], o["train_s"] / f["train_s"],
              o["encode_s"], f["encode_s"], o["encode_s"] / f["encode_s"]),
          flush=True)


def main():
    a = parse_args()
    tools = check_tools(a.build_dir)
    repeat = max(1, a.repeat)
    iters = a.iters or faiss.ResidualQuantizer(8, 1, NBITS).cp.niter
    stages = (4,) if a.quick else (4, 8)
    n, d = (int(v) for v in (a.mixture or ("50000x32" if a.quick else
                                            "500000x128")).split("x"))
    faiss.omp_set_num_threads(a.threads)
    load0 = os.getloadavg()[0]
    header = [machine(),
              "libvq %s; FAISS %s; loaded: %s." % (
                  revision(a.build_dir), faiss.__version__, benchutil.blas_in_use()),
              "Threads: %d for both (faiss.omp_set_num_threads, --threads)."
              " Every timing is the best of %d run(s)." % (a.threads,
                                                           repeat),
              "FAISS: faiss.ResidualQuantizer(d, M, %d), max_beam_size = "
              "beam (training and encoding), default training: %s." % (
                  NBITS, faiss_training(64, iters)),
              "Ours: vqtrain rvq --iters %d --beam B --seed %d%s (stages "
              "trained on greedy residuals), vqtok encode --beam B." % (
                  iters, SEED, " --refine %d" % a.refine if a.refine
                  else "")]
    print("\n".join(header), flush=True)
    sets = []
    if a.data != "mixture":
        kodak = kodak_patches(a.kodak)
        sets.append(("Kodak 8x8 luma", kodak[:30000] if a.quick else kodak))
    if a.data != "kodak":
        sets.append(("Gaussian mixture %dx%d" % (n, d),
                     gaussian_mixture(n, d, 1024)))
    rows, opq_niter = [], 0
    with tempfile.TemporaryDirectory(prefix="vqbench-") as tmp:
        for name, x in sets:
            xtr, xte = split(x)
            paths = dict(train=os.path.join(tmp, "train.npy"),
                         test=os.path.join(tmp, "test.npy"),
                         n_test=len(xte))
            np.save(paths["train"], xtr)
            np.save(paths["test"], xte)
            for m in stages if a.only != "pq" else ():
                for beam in (1, 8):
                    f = run_faiss(xtr, xte, m, beam, iters, repeat)
                    o = run_ours(tools, paths, m, beam, a, iters, repeat,
                                 tmp)
                    rows.append(dict(data=name, m=m, beam=beam,
                                     n_train=len(xtr), n_test=len(xte),
                                     ours=o, faiss=f))
                    print_row(rows[-1])
            for opq in (False, True) if a.only != "rvq" else ():
                f = run_faiss_pq(xtr, xte, opq, iters, repeat)
                o = run_ours_pq(tools, paths, opq, a, iters, repeat, tmp)
                rows.append(dict(data=name, m=PQ_M, beam=1,
                                 kind="opq" if opq else "pq",
                                 n_train=len(xtr), n_test=len(xte),
                                 ours=o, faiss=f))
                print_row(rows[-1])
                opq_niter = max(opq_niter, f["niter"])
    if opq_niter:
        header.append("FAISS OPQMatrix rounds (niter): %d; ours: vqtrain "
                      "pq --opq (10 rounds on at most 65,536 vectors, from "
                      "the principal axes shared out by variance)." %
                      opq_niter)
    header.append("Load average (1 min) before the run %.2f, after it "
                  "%.2f (the run itself keeps about %d cores busy; more "
                  "means another job shared them)." % (
                      load0, os.getloadavg()[0], a.threads))
    text = report(rows, header)
    print()
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
