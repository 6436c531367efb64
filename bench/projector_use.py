#!/usr/bin/python3
"""Codebook use with projectors: held-out codeword utilization and MSE of
libvq's projectors (vqtrain kmeans / rvq --projector) against plain
k-means, with FAISS k-means as the reference row, in one run.

Data: the non-overlapping 8 x 8 BT.601 luma patches of the 24 Kodak
images (147,456 x 64), shuffled with a fixed seed; every codebook trains
on the first 80% and is measured on the other 20%.

For K = 1024 and 4096 (--k) it trains faiss.Kmeans (25 iterations, seed
1234, no subsampling) and vqtrain kmeans with --projector none (k-means++
and --init random), simvq, pca:16, pca:32 and pca:16+simvq (25
iterations, the tool's default); then vqtrain rvq --stages 2 -k 1024 with
none and simvq. Ours encode the held-out vectors with vqtok encode, which
reports the MSE (per component, in the original space) and the share of
codewords used per stage; the script checks both against the codes it
decodes itself. FAISS's figures come from index.search with the same
numpy code. Training times are whole processes for ours (reading the .npy
included) and around km.train for FAISS."""
import json
import os
import tempfile
import time

import numpy as np
import faiss

import benchutil
import rvq_faiss

ITERS = 25                  # faiss.Kmeans default niter, and ours
SEED = 1234
THREADS = 2
NO_SUBSAMPLING = 1 << 30
OURS = (("none", []), ("none, --init random", ["--init", "random"]),
        ("simvq", ["--projector", "simvq"]),
        ("pca:16", ["--projector", "pca:16"]),
        ("pca:32", ["--projector", "pca:32"]),
        ("pca:16+simvq", ["--projector", "pca:16+simvq"]))
QUICK = ("none", "simvq", "pca:16")
RVQ = (("none", []), ("simvq", ["--projector", "simvq"]))


def assign(x, cb):
    """Nearest codeword of every row of x (faiss.IndexFlatL2), and the
    per-component MSE recomputed in float64."""
    index = faiss.IndexFlatL2(cb.shape[1])
    index.add(np.ascontiguousarray(cb, dtype=np.float32))
    codes = np.empty(len(x), dtype=np.int64)
    total = 0.0
    for i in range(0, len(x), 65536):
        blk = x[i:i + 65536]
        _, idx = index.search(blk, 1)
        codes[i:i + len(blk)] = idx[:, 0]
        diff = blk.astype(np.float64) - cb[idx[:, 0]].astype(np.float64)
        total += float(np.einsum("ij,ij->", diff, diff))
    return total / x.size, codes


def use(codes, k):
    """Share of the k codewords that the codes use, per column."""
    codes = codes.reshape(len(codes), -1)
    return [len(np.unique(codes[:, s])) / k for s in range(codes.shape[1])]


def run_faiss(xtr, xte, k):
    km = faiss.Kmeans(xtr.shape[1], k, niter=ITERS, seed=SEED,
                      max_points_per_centroid=NO_SUBSAMPLING)
    t = time.perf_counter()
    km.train(xtr)
    secs = time.perf_counter() - t
    held, codes = assign(xte, km.centroids)
    return dict(train_mse=assign(xtr, km.centroids)[0], mse=held,
                use=use(codes, k), seconds=secs)


def run_ours(tools, paths, kind, k, args, tmp, warn):
    """vqtrain KIND on the training set, vqtok encode of the held-out set;
    vqtok's MSE and codeword use checked against numpy on the codes."""
    cb, codes, recon = (os.path.join(tmp, n) for n in
                        ("cb.safetensors", "codes.npy", "recon.npy"))
    secs, out = rvq_faiss.run(
        [tools["vqtrain"], kind, "-k", str(k), "--threads", str(THREADS),
         "--json", "--quiet"] + args + [paths["train"], "-o", cb])
    train = json.loads(out)
    enc = json.loads(rvq_faiss.run(
        [tools["vqtok"], "encode", "--codebook", cb, paths["test"], "-o",
         codes, "--json", "--threads", str(THREADS)])[1])
    rvq_faiss.run([tools["vqtok"], "decode", "--codebook", cb, codes, "-o",
                   recon])
    c = np.load(codes)
    mse = rvq_faiss.mse(paths["xte"], np.load(recon))
    mine = use(c, k)
    if abs(enc["mse"] - mse) > 1e-4 * mse:
        warn.append("%s k=%d %s: vqtok mse %.6g, numpy on the decoded "
                    "codes %.6g" % (kind, k, " ".join(args), enc["mse"], mse))
    if np.abs(np.subtract(enc["utilization_per_stage"], mine)).max() > 1e-5:
        warn.append("%s k=%d %s: vqtok utilization_per_stage %s, codes %s"
                    % (kind, k, " ".join(args), enc["utilization_per_stage"],
                       mine))
    return dict(train_mse=train["mse"], mse=enc["mse"],
                use=enc["utilization_per_stage"], seconds=secs,
                projector=train.get("projector"))


def table(rows):
    out = ["| method | K | train MSE | held-out MSE | held-out use | "
           "held-out unused | train s |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append("| %s | %s | %.2f | %.2f | %s | %s | %.1f |" % (
            r["method"], r["K"], r["train_mse"], r["mse"],
            " / ".join("%.1f%%" % (100 * u) for u in r["use"]),
            " / ".join("%d" % round(r["k"] * (1 - u)) for u in r["use"]),
            r["seconds"]))
    return out


def parse_args():
    ap = benchutil.tool_args(__doc__)
    ap.add_argument("--k", default=None, help="comma-separated K list "
                    "(default 1024,4096; --quick 256)")
    ap.add_argument("--quick", action="store_true", help="K = 256, FAISS, "
                    "none, simvq, pca:16 and the RVQ rows: a smoke run")
    ap.add_argument("--out", help="also write the markdown table here")
    return ap.parse_args()


def main():
    a = parse_args()
    tools = rvq_faiss.check_tools(a.build_dir)
    ks = [int(v) for v in (a.k or ("256" if a.quick else "1024,4096"))
          .split(",")]
    rvq_k = 256 if a.quick else 1024
    faiss.omp_set_num_threads(THREADS)
    load0 = os.getloadavg()[0]
    xtr, xte = rvq_faiss.split(rvq_faiss.kodak_patches(a.kodak))
    header = [rvq_faiss.machine(), "Date: %s; libvq %s; FAISS %s." % (
                  time.strftime("%Y-%m-%d %H:%M"),
                  rvq_faiss.revision(a.build_dir), faiss.__version__),
              "Data: %d x %d Kodak 8x8 luma patches, %d train, %d held out."
              " %d threads, %d iterations everywhere." % (
                  len(xtr) + len(xte), xtr.shape[1], len(xtr), len(xte),
                  THREADS, ITERS)]
    print("\n".join(header), flush=True)
    rows, warn = [], []
    with tempfile.TemporaryDirectory(prefix="vqbench-") as tmp:
        paths = dict(train=os.path.join(tmp, "train.npy"),
                     test=os.path.join(tmp, "test.npy"), xte=xte)
        np.save(paths["train"], xtr)
        np.save(paths["test"], xte)
        jobs = []
        for k in ks:
            jobs.append(("FAISS k-means", str(k), k, None, None))
            jobs += [("vqtrain kmeans, " + name, str(k), k, "kmeans", args)
                     for name, args in OURS if not a.quick or name in QUICK]
        jobs += [("vqtrain rvq, " + name, "2 x %d" % rvq_k, rvq_k, "rvq",
                  ["--stages", "2"] + args) for name, args in RVQ]
        for method, label, k, kind, args in jobs:
            r = (run_faiss(xtr, xte, k) if kind is None else
                 run_ours(tools, paths, kind, k, args, tmp, warn))
            r.update(method=method, K=label, k=k)
            rows.append(r)
            print(table([r])[-1], flush=True)
    text = "\n".join(header + [
        "", "MSE per component in the original space; use = share of the "
        "K codewords that the held-out vectors pick (per stage for RVQ); "
        "train s: ours whole vqtrain processes, FAISS around km.train.",
        ""] + table(rows) + ["\nWarning: " + w for w in warn])
    benchutil.finish_report(text, load0, THREADS, a.out)


if __name__ == "__main__":
    main()
