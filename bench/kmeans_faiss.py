#!/usr/bin/python3
"""k-means and nearest-codeword search: libvq against FAISS on the same
data, in one run.

For every configuration it trains with vqtrain (as a subprocess) and with
faiss.Kmeans, measures the final MSE of both on the full data with the same
numpy code, and prints wall times and the ratios ours / FAISS. Search
throughput is compared with faiss.IndexFlatL2 (k = 1), and our achieved
GFLOP/s with the FMA peak that bench_search measures on this machine."""
import argparse
import glob
import json
import os
import platform
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import faiss

ITERS = 20
REPEAT = 2  # each timing is the best of this many runs (--repeat)


def blas_in_use():
    """Which BLAS faiss loaded (from this process's memory map)."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if "blas" in path or "lapack" in path:
                libs.add(os.path.realpath(path))
    return ", ".join(sorted(libs)) or "unknown"


def kodak_patches(kodak, n, seed=0):
    """n random 8 x 8 BT.601 luma patches from the Kodak PNGs."""
    from skimage import io
    files = sorted(glob.glob(os.path.join(kodak, "*.png")))
    if not files:
        sys.exit("no Kodak images in %s" % kodak)
    rng = np.random.default_rng(seed)
    per = -(-n // len(files))
    out = []
    for f in files:
        im = io.imread(f).astype(np.float32)
        y = 0.299 * im[..., 0] + 0.587 * im[..., 1] + 0.114 * im[..., 2]
        ys = rng.integers(0, y.shape[0] - 8, per)
        xs = rng.integers(0, y.shape[1] - 8, per)
        for a, b in zip(ys, xs):
            out.append(y[a:a + 8, b:b + 8].ravel())
    return np.ascontiguousarray(np.array(out[:n], dtype=np.float32))


def gaussian_mixture(n, d, centres, seed=1):
    rng = np.random.default_rng(seed)
    c = rng.normal(0, 4, (centres, d)).astype(np.float32)
    x = c[rng.integers(0, centres, n)] + rng.normal(0, 1, (n, d))
    return np.ascontiguousarray(x.astype(np.float32))


def mse(x, cb):
    """Exact per-component MSE of x against its nearest codeword in cb."""
    index = faiss.IndexFlatL2(cb.shape[1])
    index.add(cb)
    total = 0.0
    for i in range(0, len(x), 65536):
        blk = x[i:i + 65536]
        _, idx = index.search(blk, 1)
        diff = blk.astype(np.float64) - cb[idx[:, 0]].astype(np.float64)
        total += float((diff * diff).sum())
    return total / x.size


def read_codebook(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    t = json.loads(raw[8:8 + n])["codebook"]
    b, e = t["data_offsets"]
    return np.frombuffer(raw[8 + n + b:8 + n + e],
                         dtype="<f4").reshape(t["shape"])


def run_ours(vqtrain, data_path, k, init, threads, tmp):
    out = os.path.join(tmp, "cb.safetensors")
    cmd = [vqtrain, "kmeans", "-k", str(k), "--iters", str(ITERS),
           "--init", init, "--seed", "1", "--threads", str(threads),
           "--json", data_path, "-o", out]
    best = None
    for _ in range(REPEAT):
        t = time.perf_counter()
        res = subprocess.run(cmd, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if best is None or wall < best[0]:
            best = (wall, json.loads(res.stdout)["seconds"])
    return best[0], best[1], read_codebook(out)


def run_faiss(x, k, threads, subsample):
    faiss.omp_set_num_threads(threads)
    kw = dict(niter=ITERS, seed=1234, verbose=False)
    if not subsample:
        kw["max_points_per_centroid"] = 1 << 30
    best = None
    for _ in range(REPEAT):
        km = faiss.Kmeans(x.shape[1], k, **kw)
        t = time.perf_counter()
        km.train(x)
        t = time.perf_counter() - t
        if best is None or t < best[0]:
            best = (t, np.array(km.centroids))
    return best


def faiss_best(x, k, subsample):
    """FAISS at 1 and 2 threads; the faster run counts."""
    runs = []
    for th in (1, 2):
        t, cb = run_faiss(x, k, th, subsample)
        runs.append((t, th, cb))
    t, th, cb = min(runs, key=lambda r: r[0])
    return t, th, mse(x, cb), {r[1]: r[0] for r in runs}


def bench_kmeans(name, x, k, vqtrain, tmp, rows):
    path = os.path.join(tmp, "data.npy")
    np.save(path, x)
    f_off = faiss_best(x, k, subsample=False)
    f_def = faiss_best(x, k, subsample=True)
    print("%s k=%d: FAISS no-subsample %.2f s (1t %.2f, 2t %.2f) mse %.4f; "
          "default %.2f s mse %.4f" % (name, k, f_off[0], f_off[3][1],
                                       f_off[3][2], f_off[2], f_def[0],
                                       f_def[2]), flush=True)
    for init in ("random", "kmeans++"):
        wall, lib_s, cb = run_ours(vqtrain, path, k, init, 2, tmp)
        m = mse(x, cb)
        rows.append(dict(data=name, k=k, init=init, ours_s=wall,
                         ours_lib_s=lib_s, ours_mse=m, faiss_s=f_off[0],
                         faiss_threads=f_off[1], faiss_mse=f_off[2],
                         faiss_def_s=f_def[0], faiss_def_mse=f_def[2]))
        print("  ours (%s, 2 threads): %.2f s (library %.2f s) mse %.4f -> "
              "time %.2f, mse %.4f of FAISS" % (init, wall, lib_s, m,
                                                wall / f_off[0],
                                                m / f_off[2]), flush=True)


def bench_search(bench_bin, x, k, peak, rows):
    d = x.shape[1]
    rng = np.random.default_rng(3)
    cb = x[rng.choice(len(x), k, replace=False)]
    res = json.loads(subprocess.run([bench_bin, str(len(x)), str(k), str(d),
                                     "2"], check=True, capture_output=True,
                                    text=True).stdout)
    best = 0.0
    for th in (1, 2):
        faiss.omp_set_num_threads(th)
        index = faiss.IndexFlatL2(d)
        index.add(cb)
        index.search(x[:1000], 1)
        t = time.perf_counter()
        index.search(x, 1)
        best = max(best, len(x) / (time.perf_counter() - t))
    # The GEMM route for comparison: OpenBLAS sgemm alone (through numpy,
    # same library FAISS uses), without the argmin pass it would need.
    xt, cbt = np.ascontiguousarray(x), np.ascontiguousarray(cb.T)
    np.dot(xt[:1000], cbt)
    t = time.perf_counter()
    for i in range(0, len(xt), 8192):
        np.dot(xt[i:i + 8192], cbt)
    sgemm = 2.0 * len(x) * k * d / (time.perf_counter() - t) / 1e9
    rows.append(dict(n=len(x), k=k, d=d, ours=res["vectors_per_s"],
                     faiss=best, gflops=res["gflops"], sgemm=sgemm,
                     peak_pct=100.0 * res["gflops"] / peak))
    print("search n=%d k=%d d=%d: ours %.0f vec/s (%.1f GFLOP/s, %.0f%% of "
          "peak), FAISS %.0f vec/s; sgemm alone %.1f GFLOP/s" % (
              len(x), k, d, res["vectors_per_s"], res["gflops"],
              rows[-1]["peak_pct"], best, sgemm), flush=True)


def table(km_rows, search_rows, peak, machine):
    out = ["Machine: %s. FMA peak measured by bench_search: %.1f GFLOP/s "
           "(2 threads)." % (machine, peak), "",
           "| data | k | our init | ours 2t (s) | FAISS best (s) | time "
           "ratio | our MSE | FAISS MSE | MSE ratio | FAISS default (s) | "
           "FAISS default MSE |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in km_rows:
        out.append("| %s | %d | %s | %.2f | %.2f (%dt) | **%.2f** | %.4f | "
                   "%.4f | **%.4f** | %.2f | %.4f |" % (
                       r["data"], r["k"], r["init"], r["ours_s"],
                       r["faiss_s"], r["faiss_threads"],
                       r["ours_s"] / r["faiss_s"], r["ours_mse"],
                       r["faiss_mse"], r["ours_mse"] / r["faiss_mse"],
                       r["faiss_def_s"], r["faiss_def_mse"]))
    out += ["", "| search n x k x d | ours (vec/s) | FAISS IndexFlatL2 "
            "(vec/s) | ratio | ours GFLOP/s | of FMA peak | OpenBLAS sgemm "
            "alone GFLOP/s |",
            "|---|---|---|---|---|---|---|"]
    for r in search_rows:
        out.append("| %d x %d x %d | %.0f | %.0f | %.2fx | %.1f | %.0f%% | "
                   "%.1f |" % (r["n"], r["k"], r["d"], r["ours"], r["faiss"],
                               r["ours"] / r["faiss"], r["gflops"],
                               r["peak_pct"], r["sgemm"]))
    return "\n".join(out)


def tool(build_dir, folder, name):
    """The real executable, not libtool's wrapper script, when in a build
    tree (the wrapper adds a shell start to every timing)."""
    real = os.path.join(build_dir, folder, ".libs", name)
    if os.access(real, os.X_OK):
        libs = os.path.join(build_dir, ".libs")
        os.environ["LD_LIBRARY_PATH"] = libs + os.pathsep + \
            os.environ.get("LD_LIBRARY_PATH", "")
        return real
    return os.path.join(build_dir, folder, name)


def machine():
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d cores, %s" % (model, os.cpu_count(), platform.system())


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-dir", default=os.path.dirname(here),
                    help="where apps/vqtrain and bench/bench_search are")
    ap.add_argument("--kodak", default=os.path.join(here, "..", "..",
                                                    "shared", "data",
                                                    "kodak"))
    ap.add_argument("--quick", action="store_true",
                    help="small sizes, for a smoke run")
    ap.add_argument("--out", help="write the markdown table here")
    ap.add_argument("--repeat", type=int, default=REPEAT,
                    help="runs per timing, the best counts (default 2)")
    a = ap.parse_args()
    globals()["REPEAT"] = max(1, a.repeat)
    vqtrain = tool(a.build_dir, "apps", "vqtrain")
    bench_bin = tool(a.build_dir, "bench", "bench_search")
    for p in (vqtrain, bench_bin):
        if not os.access(p, os.X_OK):
            sys.exit("%s not built (make && make bench/bench_search)" % p)
    print("FAISS %s, BLAS: %s" % (faiss.__version__, blas_in_use()))
    scale = 10 if a.quick else 1
    peak = json.loads(subprocess.run([bench_bin, "--peak", "2"], check=True,
                                     capture_output=True,
                                     text=True).stdout)["fma_peak_gflops"]
    km_rows, search_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        kod = kodak_patches(a.kodak, 200000 // scale)
        for k in (256, 4096 // scale):
            bench_kmeans("kodak 8x8 luma", kod, k, vqtrain, tmp, km_rows)
        gm = gaussian_mixture(500000 // scale, 128, 1024)
        bench_kmeans("gauss mixture 128-d", gm, 1024 // scale, vqtrain, tmp,
                     km_rows)
        bench_search(bench_bin, kod, 4096 // scale, peak, search_rows)
        bench_search(bench_bin, gm[:100000 // scale], 1024 // scale, peak,
                     search_rows)
    text = table(km_rows, search_rows, peak, machine())
    print()
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
