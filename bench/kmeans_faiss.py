#!/usr/bin/python3
"""k-means and nearest-codeword search: libvq against FAISS on the same
float32 data, in one run.

For each data set and k it trains with faiss.Kmeans (subsampling off and at
its default, 1 and 2 threads) and with vqtrain (--init random and
kmeans++, 1 and 2 threads), measures the final MSE of every codebook on the
full data with the same numpy code, and prints times and the ratios
ours / FAISS. Search throughput is compared with faiss.IndexFlatL2 (k = 1)
on the same vectors, and our GFLOP/s with the FMA peak that bench_search
measures on this machine."""
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
from benchutil import kodak_luma, read_codebook

ITERS = 20
FAISS_DEFAULT_MPC = 256     # faiss.Kmeans max_points_per_centroid default
NO_SUBSAMPLING = 1 << 30
THREADS = (1, 2)
INITS = ("random", "kmeans++")


# ---------------------------------------------------------------- data ---

def kodak_patches(kodak, n, seed=0):
    """n 8 x 8 BT.601 luma patches at random positions of the Kodak PNGs
    (the same number from each image)."""
    images = list(kodak_luma(kodak))
    rng = np.random.default_rng(seed)
    per = -(-n // len(images))
    out = []
    for y in images:
        rows = rng.integers(0, y.shape[0] - 8 + 1, per)
        cols = rng.integers(0, y.shape[1] - 8 + 1, per)
        out.extend(y[r:r + 8, c:c + 8].ravel() for r, c in zip(rows, cols))
    return np.ascontiguousarray(np.array(out[:n], dtype=np.float32))


def gaussian_mixture(n, d, centres, seed=1):
    """n points around centres random centres (N(0, 16) per component)
    with isotropic unit-variance noise."""
    rng = np.random.default_rng(seed)
    c = rng.normal(0.0, 4.0, (centres, d))
    x = c[rng.integers(0, centres, n)] + rng.normal(0.0, 1.0, (n, d))
    return np.ascontiguousarray(x.astype(np.float32))


def mse(x, cb):
    """Per-component MSE of x against its nearest codeword: the neighbour
    from faiss.IndexFlatL2, then the squared error recomputed in float64."""
    index = faiss.IndexFlatL2(cb.shape[1])
    index.add(np.ascontiguousarray(cb, dtype=np.float32))
    total = 0.0
    for i in range(0, len(x), 65536):
        blk = x[i:i + 65536]
        _, idx = index.search(blk, 1)
        diff = blk.astype(np.float64) - cb[idx[:, 0]].astype(np.float64)
        total += float(np.einsum("ij,ij->", diff, diff))
    return total / x.size


# ------------------------------------------------------------- k-means ---

def run_ours(vqtrain, data_path, k, init, threads, repeat, tmp):
    """Best of repeat vqtrain runs, timed as whole processes."""
    out = os.path.join(tmp, "cb.safetensors")
    cmd = [vqtrain, "kmeans", "-k", str(k), "--iters", str(ITERS),
           "--init", init, "--seed", "1", "--threads", str(threads),
           "--json", "--quiet", data_path, "-o", out]
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        res = subprocess.run(cmd, check=True, capture_output=True,
                             text=True)
        wall = time.perf_counter() - t
        if best is None or wall < best["wall"]:
            best = dict(wall=wall, stats=json.loads(res.stdout))
    best["cb"] = read_codebook(out)
    return best


def run_faiss(x, k, threads, mpc, repeat):
    """Best of repeat faiss.Kmeans trainings: (seconds, centroids)."""
    faiss.omp_set_num_threads(threads)
    best = None
    for _ in range(repeat):
        km = faiss.Kmeans(x.shape[1], k, niter=ITERS, seed=1234,
                          max_points_per_centroid=mpc, verbose=False)
        t = time.perf_counter()
        km.train(x)
        t = time.perf_counter() - t
        if best is None or t < best[0]:
            best = (t, np.array(km.centroids))
    return best


def faiss_setting(x, k, mpc, repeat):
    """FAISS at 1 and 2 threads; the faster run and its MSE count."""
    runs = {th: run_faiss(x, k, th, mpc, repeat) for th in THREADS}
    th = min(runs, key=lambda t: runs[t][0])
    return dict(times={t: r[0] for t, r in runs.items()}, s=runs[th][0],
                threads=th, mse=mse(x, runs[th][1]),
                n_train=min(len(x), k * mpc))


def bench_kmeans(name, x, k, vqtrain, repeat, tmp):
    path = os.path.join(tmp, "data.npy")
    np.save(path, x)
    off = faiss_setting(x, k, NO_SUBSAMPLING, repeat)
    if k * FAISS_DEFAULT_MPC >= len(x):
        dflt = dict(off, same=True)   # the default does not subsample here
    else:
        dflt = dict(faiss_setting(x, k, FAISS_DEFAULT_MPC, repeat),
                    same=False)
    print("%s, k = %d: FAISS no subsampling %.2f s (%s), MSE %.4f; default "
          "%.2f s (n_train %d), MSE %.4f" % (
              name, k, off["s"], fmt_threads(off["times"]), off["mse"],
              dflt["s"], dflt["n_train"], dflt["mse"]), flush=True)
    rows = []
    for init in INITS:
        for th in sorted(THREADS, reverse=True):
            r = run_ours(vqtrain, path, k, init, th, repeat, tmp)
            m = mse(x, r["cb"])
            rows.append(dict(data=name, k=k, n=len(x), d=x.shape[1],
                             init=init, threads=th, wall=r["wall"],
                             lib=r["stats"]["seconds"],
                             iterations=r["stats"]["iterations"], mse=m,
                             lib_mse=r["stats"]["mse"], off=off, dflt=dflt))
            print("  ours %-8s %dt: %.2f s (library %.2f s), MSE %.4f "
                  "(vqtrain says %.4f): time %.2f, MSE %.4f of FAISS" % (
                      init, th, r["wall"], r["stats"]["seconds"], m,
                      r["stats"]["mse"], r["wall"] / off["s"],
                      m / off["mse"]), flush=True)
    return rows


# -------------------------------------------------------------- search ---

def run_peak(bench_bin):
    res = subprocess.run([bench_bin, "--peak", "--threads", "2"],
                         check=True, capture_output=True, text=True)
    return json.loads(res.stdout)


def best_peak(a, b):
    """Field-wise maximum of two --peak reports: a peak is a maximum, and
    load from other processes only lowers a reading."""
    return {1: max(a["fma_peak_gflops_1t"], b["fma_peak_gflops_1t"]),
            2: max(a["fma_peak_gflops"], b["fma_peak_gflops"]),
            "runs": a["runs"] + b["runs"]}


def faiss_search_rate(x, cb, threads, repeat):
    """Vectors/s of IndexFlatL2.search(x, 1), best of repeat."""
    faiss.omp_set_num_threads(threads)
    index = faiss.IndexFlatL2(cb.shape[1])
    index.add(cb)
    index.search(x[:4096], 1)
    best = 0.0
    for _ in range(repeat):
        t = time.perf_counter()
        index.search(x, 1)
        best = max(best, len(x) / (time.perf_counter() - t))
    return best


def sgemm_gflops(x, cb, repeat):
    """The matrix product x cb^T alone through numpy (the OpenBLAS that
    FAISS loaded), in blocks of 8192 rows, without the argmin after it."""
    cbt = np.ascontiguousarray(cb.T)
    np.dot(x[:4096], cbt)
    best = 1e30
    for _ in range(repeat):
        t = time.perf_counter()
        for i in range(0, len(x), 8192):
            np.dot(x[i:i + 8192], cbt)
        best = min(best, time.perf_counter() - t)
    return 2.0 * x.shape[0] * cb.shape[0] * x.shape[1] / best / 1e9


def bench_search(name, bench_bin, x, k, repeat, tmp):
    """Ours against IndexFlatL2 on x and k codewords drawn from x."""
    rng = np.random.default_rng(3)
    cb = np.ascontiguousarray(x[rng.choice(len(x), k, replace=False)])
    xpath, cpath = os.path.join(tmp, "q.npy"), os.path.join(tmp, "c.npy")
    np.save(xpath, x)
    np.save(cpath, cb)
    rows = []
    for th in THREADS:
        res = subprocess.run([bench_bin, "--data", xpath, "--codebook",
                              cpath, "--threads", str(th), "--repeat",
                              str(max(3, repeat))], check=True,
                             capture_output=True, text=True)
        ours = json.loads(res.stdout)
        theirs = faiss_search_rate(x, cb, th, max(3, repeat))
        rows.append(dict(data=name, n=len(x), k=k, d=x.shape[1], threads=th,
                         ours=ours["vectors_per_s"], gflops=ours["gflops"],
                         kernel=ours["kernel"], faiss=theirs))
        print("search %s, %d x %d x %d, %dt: ours %.0f vectors/s (%s, "
              "%.1f GFLOP/s), FAISS %.0f vectors/s" % (
                  name, len(x), k, x.shape[1], th, ours["vectors_per_s"],
                  ours["kernel"], ours["gflops"], theirs), flush=True)
    rows[-1]["sgemm"] = sgemm_gflops(x, cb, repeat)
    return rows


# -------------------------------------------------------------- output ---

def fmt_threads(times):
    return ", ".join("%dt %.2f" % (t, s) for t, s in sorted(times.items()))


def faiss_table(rows):
    seen, out = set(), [
        "| data | k | setting | n_train | 1 thread (s) | 2 threads (s) | "
        "MSE (faster run) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        if (r["data"], r["k"]) in seen:
            continue
        seen.add((r["data"], r["k"]))
        for label, f in (("no subsampling", r["off"]),
                         ("default (256/centroid)", r["dflt"])):
            same = " (= no subsampling)" if f.get("same") else ""
            out.append("| %s | %d | %s%s | %d | %.2f | %.2f | %.4f |" % (
                r["data"], r["k"], label, same, f["n_train"], f["times"][1],
                f["times"][2], f["mse"]))
    return out


def kmeans_table(rows):
    out = ["| data | k | our init | threads | ours, process (s) | ours, "
           "library (s) | our MSE | time / FAISS | MSE / FAISS | "
           "time / FAISS default | MSE / FAISS default |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        off, dflt = r["off"], r["dflt"]
        out.append("| %s | %d | %s | %d | %.2f | %.2f | %.4f | **%.2f** | "
                   "**%.4f** | %.2f | %.4f |" % (
                       r["data"], r["k"], r["init"], r["threads"], r["wall"],
                       r["lib"], r["mse"], r["wall"] / off["s"],
                       r["mse"] / off["mse"], r["wall"] / dflt["s"],
                       r["mse"] / dflt["mse"]))
    return out


def search_table(rows, peak):
    out = ["| data | n x k x d | threads | ours (vectors/s) | FAISS "
           "IndexFlatL2 (vectors/s) | ours / FAISS | ours GFLOP/s | of FMA "
           "peak | sgemm alone, 2t (GFLOP/s) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        sg = "%.1f" % r["sgemm"] if "sgemm" in r else ""
        out.append("| %s | %d x %d x %d | %d | %s | %s | %.2fx | %.1f | "
                   "**%.0f%%** | %s |" % (
                       r["data"], r["n"], r["k"], r["d"], r["threads"],
                       "{:,.0f}".format(r["ours"]),
                       "{:,.0f}".format(r["faiss"]), r["ours"] / r["faiss"],
                       r["gflops"], 100.0 * r["gflops"] / peak[r["threads"]],
                       sg))
    return out


def report(km_rows, search_rows, peak, header):
    isa = ", ".join("%s %.1f / %.1f" % (r["isa"], r["gflops_1t"],
                                          r["gflops"]) for r in peak["runs"])
    out = header + ["",
                    "FMA peak (bench_search --peak, best of the runs before "
                    "and after): %.1f GFLOP/s on 1 thread, %.1f on 2 "
                    "(1t / 2t per run: %s)." % (peak[1], peak[2], isa), "",
                    "FAISS k-means, %d iterations:" % ITERS, ""]
    out += faiss_table(km_rows)
    out += ["", "Ours (vqtrain) against FAISS's faster run without "
            "subsampling, and against its default:", ""]
    out += kmeans_table(km_rows)
    out += ["", "Nearest-codeword search (codewords drawn from the data; "
            "peak share against the peak at the same thread count):", ""]
    out += search_table(search_rows, peak)
    return "\n".join(out)


# ---------------------------------------------------------------- main ---

def machine():
    return "%s, %d cores, %s %s" % (benchutil.cpu_model(), os.cpu_count(),
                                    platform.system(), platform.release())


def parse_args():
    ap = benchutil.tool_args(__doc__)
    ap.add_argument("--quick", action="store_true",
                    help="a tenth of the sizes, one run each: smoke test")
    ap.add_argument("--repeat", type=int, default=2,
                    help="runs per timing; the fastest counts (default 2)")
    ap.add_argument("--only", choices=("kmeans", "search"),
                    help="run one half of the benchmark")
    ap.add_argument("--out", help="also write the markdown tables here")
    return ap.parse_args()


def main():
    a = parse_args()
    repeat = 1 if a.quick else max(1, a.repeat)
    scale = 10 if a.quick else 1
    vqtrain = benchutil.program(a.build_dir, "apps", "vqtrain")
    bench_bin = benchutil.program(a.build_dir, "bench", "bench_search")
    for p in (vqtrain, bench_bin):
        if not os.access(p, os.X_OK):
            sys.exit("%s is not built: make && make bench/bench_search" % p)
    header = ["Machine: %s." % machine(),
              "FAISS %s; loaded: %s." % (faiss.__version__,
                                          benchutil.blas_in_use()),
              "Every timing is the best of %d run(s)." % repeat]
    print("\n".join(header), flush=True)
    peak0 = run_peak(bench_bin)
    print("FMA peak: %s" % json.dumps(peak0), flush=True)
    km_rows, search_rows = [], []
    with tempfile.TemporaryDirectory(prefix="vqbench-") as tmp:
        kodak = kodak_patches(a.kodak, 200000 // scale)
        mix = gaussian_mixture(500000 // scale, 128, 1024)
        for name, x, k in (("Kodak 8x8 luma", kodak, 256),
                           ("Kodak 8x8 luma", kodak, 4096 // scale),
                           ("Gaussian mixture", mix, 1024 // scale)):
            if a.only != "search":
                km_rows += bench_kmeans(name, x, k, vqtrain, repeat, tmp)
        if a.only != "kmeans":
            search_rows += bench_search("Kodak 8x8 luma", bench_bin, kodak,
                                        4096 // scale, repeat, tmp)
            search_rows += bench_search("Gaussian mixture", bench_bin, mix,
                                        1024 // scale, repeat, tmp)
    peak = best_peak(peak0, run_peak(bench_bin))
    text = report(km_rows, search_rows, peak, header)
    print()
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
