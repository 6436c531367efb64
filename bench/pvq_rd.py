#!/usr/bin/python3
"""Pyramid VQ: search speed, search optimality and gain-shape
rate-distortion against an entropy-coded scalar quantizer, in one run.

Runs bench_pvq in each of its modes and prints markdown tables:

(a) vq_pvq_search() vectors/s, greedy and with VQ_PVQ_REFINE (where
    N K <= 4096), beside a plain C dot product of each vector with a fixed
    one over the same Laplacian data, and the time ratio search / dot;
    each rate the best of 3 runs of about 0.2 s.
(b) how often the search finds the best codeword, by enumerating all
    V(N, K) <= 20000 codewords for 2 <= N <= 8, K <= 10 (200 Laplacian
    vectors each), and the worst relative loss of correlation.
(c) SNR at 1, 2, 3 and 4 bits per sample for N = 16, 32, 64 on Gaussian
    and Laplacian unit-variance data (20,000 blocks): gain-shape PVQ (shape
    log2 V(N, K) bits, gain |x| by a uniform quantizer at its empirical
    entropy), read off the convex hull of its operating points over K and
    gain step; a uniform scalar quantizer on 10^6 samples with ideal
    entropy coding of its indices, interpolated at the same rate; and the
    rate-distortion bound.

The hull is the upper one of (rate, SNR) in the sense that time-sharing
two operating points can reach: it is taken on (rate, MSE), where
time-sharing is a straight line, and read back in dB. A hull drawn on the
dB values themselves would be wrong here: the PVQ curve is so nearly a
straight line in dB that its chords join K = 1 to the largest K and
overstate the SNR between them.

The full run takes about two minutes on two cores with these counts, none
of them reduced; --quick shrinks every count for a smoke run whose numbers
mean little."""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

import numpy as np

import benchutil

RATES = (1.0, 2.0, 3.0, 4.0)
NS = (16, 32, 64)
SOURCES = ("gaussian", "laplacian")
DB_PER_BIT = 20.0 * math.log10(2.0)            # 6.02 dB
LAPLACE_SLB = 10.0 * math.log10(math.pi / math.e)


def run(bench, *args):
    """bench_pvq's JSON lines as a list of dicts."""
    out = subprocess.run([bench] + [str(a) for a in args], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def machine():
    model = benchutil.cpu_model()
    return "Machine: %s, %d CPUs, %s, Python %s, numpy %s." % (
        model, os.cpu_count(), platform.platform(),
        platform.python_version(), np.__version__)


# ---------------------------------------------------------------- hull ---

def lower_hull(points):
    """The operating points on the lower convex hull of (rate, MSE), left
    to right, up to the lowest MSE (past that more rate buys nothing).
    Between two of them, time-sharing reaches the straight line in MSE."""
    pts = sorted(points, key=lambda p: (p["rate"], -p["snr"]))
    hull = []
    for p in pts:
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = ((b["rate"] - a["rate"]) * (mse(p) - mse(a)) -
                     (mse(b) - mse(a)) * (p["rate"] - a["rate"]))
            if cross > 0:
                break
            hull.pop()
        hull.append(p)
    low = min(range(len(hull)), key=lambda i: mse(hull[i]))
    return hull[:low + 1]


def mse(p):
    """Distortion relative to the source variance."""
    return 10.0 ** (-p["snr"] / 10.0)


def on_hull(hull, r):
    """SNR on the hull at rate r (NaN outside it) and the hull vertices
    around r."""
    x = np.array([p["rate"] for p in hull])
    d = np.array([mse(p) for p in hull])
    if r < x[0] or r > x[-1]:
        return float("nan"), None, None
    i = min(int(np.searchsorted(x, r, side="right")), len(x) - 1)
    return (-10.0 * math.log10(float(np.interp(r, x, d))),
            hull[max(i - 1, 0)], hull[i])


def scalar_at(points, r):
    pts = sorted(points, key=lambda p: p["rate"])
    x = np.array([p["rate"] for p in pts])
    y = np.array([p["snr"] for p in pts])
    return float(np.interp(r, x, y, left=np.nan, right=np.nan))


def bound(source, r):
    """Gaussian: D(R) exactly. Laplacian: the Shannon lower bound on R(D),
    so an upper bound on the achievable SNR."""
    return DB_PER_BIT * r + (LAPLACE_SLB if source == "laplacian" else 0.0)


# -------------------------------------------------------------- tables ---

def table_throughput(rows):
    out = ["| N | K | greedy (M vectors/s) | dot product (M vectors/s) "
           "| greedy / dot time | refine (M vectors/s) | refine / dot "
           "time |", "|---" * 7 + "|"]
    for r in rows:
        ref = ("%.3f" % (r["refine_per_s"] / 1e6), "%.1f" %
               r["ratio_refine"]) if r["refine_per_s"] else ("-", "-")
        out.append("| %d | %d | %.3f | %.2f | **%.1f** | %s | %s |" % (
            r["n"], r["k"], r["search_per_s"] / 1e6, r["dot_per_s"] / 1e6,
            r["ratio"], ref[0], ref[1]))
    big = [r for r in rows if r["n"] >= 32]
    met = [r for r in big if r["ratio"] <= 2.0]
    if big:
        out.append("")
        out.append("Target (greedy search within 2x of the dot product "
                   "for N >= 32): met in %d of %d cases; greedy / dot time "
                   "for N >= 32 from %.1f to %.1f." % (
                       len(met), len(big), min(r["ratio"] for r in big),
                       max(r["ratio"] for r in big)))
    return "\n".join(out)


def table_optimality(rows, total):
    out = ["| N | K | configurations | vectors | greedy optimal | greedy "
           "worst loss | refine optimal | refine worst loss |",
           "|---" * 8 + "|"]

    def line(name, ks, rs):
        vec = sum(r["vectors"] for r in rs)
        g = sum(round(r["greedy_optimal"] * r["vectors"]) for r in rs)
        f = sum(round(r["refine_optimal"] * r["vectors"]) for r in rs)
        out.append("| %s | %s | %d | %d | %.2f%% | %.3g | %.2f%% | %.3g |" % (
            name, ks, len(rs), vec, 100.0 * g / vec,
            max(r["greedy_worst_loss"] for r in rs), 100.0 * f / vec,
            max(r["refine_worst_loss"] for r in rs)))
    for n in sorted({r["n"] for r in rows}):
        rs = [r for r in rows if r["n"] == n]
        line(str(n), "%d-%d" % (min(r["k"] for r in rs),
                                max(r["k"] for r in rs)), rs)
    line("**all**", "", rows)
    miss = ["(%d, %d)" % (r["n"], r["k"]) for r in rows
            if r["refine_optimal"] < 1.0]
    out.append("")
    out.append("Optimal = within a relative %g of the best normalised "
               "correlation found by enumeration; loss = 1 - found / best. "
               "Mean loss over all %d vectors: greedy %.3g, refine %.3g. "
               "(N, K) where the refined search missed the optimum at least "
               "once: %s." % (total["tolerance"], total["vectors"],
                              total["greedy_mean_loss"],
                              total["refine_mean_loss"],
                              ", ".join(miss) or "none"))
    return "\n".join(out)


def table_rd(rd, rdg, scalar):
    out = ["| source | N | R (bits/sample) | PVQ, fixed K: SNR (dB, hull) "
           "| hull K | PVQ, pulses from gain: SNR (dB, hull) "
           "| hull pulses per step | scalar + entropy SNR (dB) "
           "| fixed K - scalar (dB) | pulses from gain - scalar (dB) "
           "| R(D) bound (dB) | pulses from gain below bound (dB) |",
           "|---" * 12 + "|"]
    for (source, n), pts in sorted(rd.items()):
        hull = lower_hull(pts)
        ghull = lower_hull(rdg[(source, n)])
        for r in RATES:
            p, lo, hi = on_hull(hull, r)
            q, glo, ghi = on_hull(ghull, r)
            s = scalar_at(scalar[source], r)
            b = bound(source, r)
            ks = "-" if lo is None else (
                "%d" % lo["k"] if lo["k"] == hi["k"] else
                "%d-%d" % (lo["k"], hi["k"]))
            al = "-" if glo is None else (
                "%g" % glo["alpha"] if glo["alpha"] == ghi["alpha"] else
                "%g-%g" % (glo["alpha"], ghi["alpha"]))
            out.append("| %s | %d | %g | %.2f | %s | %.2f | %s | %.2f | "
                       "%+.2f | **%+.2f** | %.2f | %.2f |"
                       % (source, n, r, p, ks, q, al, s, p - s, q - s, b,
                          b - q))
    out.append("")
    out.append("R(D) bound: Gaussian, 6.02 R dB (the distortion-rate "
               "function itself); Laplacian, 6.02 R + 10 log10(pi / e) = "
               "6.02 R + %.2f dB from the Shannon lower bound on R(D), so "
               "an upper bound on the SNR any code reaches (not always "
               "reachable). Fixed K: every block K pulses, the gain |x| "
               "quantized alone; rate = (log2 V(N, K) + gain entropy) / N. "
               "Pulses from gain (vq_pvq_params.pulses_per_step, vqenc "
               "--pulses-per-step): a block whose gain is q steps gets "
               "round(A q) pulses, A = pulses per step; rate = (mean log2 "
               "V(N, round(A q)) + gain entropy) / N. Hull K, hull pulses "
               "per step: the settings of the hull vertices around R."
               % LAPLACE_SLB)
    return "\n".join(out)


def plot(path, rd, scalar):
    """SNR and SNR minus the bound against rate; needs matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharex=True)
    r = np.linspace(0.0, 5.0, 101)
    for col, source in enumerate(SOURCES):
        top, bot = axes[0][col], axes[1][col]
        pts = sorted(scalar[source], key=lambda p: p["rate"])
        sr = np.array([p["rate"] for p in pts])
        ss = np.array([p["snr"] for p in pts])
        keep = sr <= 5.0
        top.plot(sr[keep], ss[keep], "k--", label="scalar + entropy")
        bot.plot(sr[keep], ss[keep] - bound(source, sr[keep]), "k--")
        for n in NS:
            if (source, n) not in rd:
                continue
            hull = lower_hull(rd[(source, n)])
            hr = np.array([p["rate"] for p in hull])
            hs = np.array([p["snr"] for p in hull])
            keep = hr <= 5.0
            top.plot(hr[keep], hs[keep],
                     label="PVQ N = %d, pulses from gain" % n)
            bot.plot(hr[keep], hs[keep] - bound(source, hr[keep]))
        top.plot(r, bound(source, r), "k:", label="R(D) bound")
        bot.axhline(0.0, color="k", linestyle=":")
        top.set_title(source)
        top.set_ylabel("SNR (dB)")
        bot.set_ylabel("SNR - bound (dB)")
        bot.set_xlabel("rate (bits/sample)")
        top.grid(True, alpha=0.3)
        bot.grid(True, alpha=0.3)
        top.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


# ---------------------------------------------------------------- main ---

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default=os.path.dirname(here))
    ap.add_argument("--quick", action="store_true",
                    help="N = 32 throughput, N = 16 rate-distortion, small "
                    "counts (smoke run)")
    ap.add_argument("--out", help="also write the markdown tables here")
    ap.add_argument("--plot", help="write a PNG of SNR against rate here "
                    "(if matplotlib is installed)")
    a = ap.parse_args()
    bench = os.path.join(a.build_dir, "bench", "bench_pvq")
    if not os.access(bench, os.X_OK):
        sys.exit("%s not built (make && make bench/bench_pvq)" % bench)
    head = machine()
    print(head + "\n", flush=True)
    t0 = time.time()
    if a.quick:
        thr = run(bench, "--throughput", "--n", 32, "--seconds", 0.02,
                  "--repeat", 1)
        opt = run(bench, "--optimality", "--vectors", 20)
        ns, counts = (16,), ("--blocks", 2000)
        scalar_counts = ("--samples", 100000)
    else:
        thr = run(bench, "--throughput")
        opt = run(bench, "--optimality")
        ns, counts, scalar_counts = NS, (), ()
    rd, rdg, scalar = {}, {}, {}
    for source in SOURCES:
        scalar[source] = run(bench, "--scalar", source, *scalar_counts)
        for n in ns:
            pts = run(bench, "--rd", source, "--n", n, *counts)
            rd[(source, n)] = [p for p in pts if p["mode"] == "rd"]
            rdg[(source, n)] = [p for p in pts if p["mode"] == "rd_gain"]
    per = [r for r in opt if r["mode"] == "optimality"]
    total = [r for r in opt if r["mode"] == "optimality_total"][0]
    text = "\n".join([
        head, "",
        "### (a) Search throughput against a dot product "
        "(Laplacian data, one thread)", "", table_throughput(thr), "",
        "### (b) Search optimality against enumeration", "",
        table_optimality(per, total), "",
        "### (c) Rate-distortion, unit-variance i.i.d. sources", "",
        table_rd(rd, rdg, scalar)])
    print(text.split("\n", 2)[2])
    print("\n(%.0f s)" % (time.time() - t0))
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    if a.plot and plot(a.plot, rdg, scalar):
        print("plot: %s" % a.plot)


if __name__ == "__main__":
    main()
