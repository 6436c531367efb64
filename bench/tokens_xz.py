#!/usr/bin/python3
"""Token-stream compression: vqenc against xz -9 and zstd -19 --long on the
same .npy files, in one run.

Streams: the k-means indices of the 8 x 8 luma patches of the 24 Kodak
images (K = 256 and K = 4096, codebooks trained by vqtrain on those
patches; one [64, 96] grid per image, portrait images turned), the codes
of a 4-stage residual quantizer of K = 256 on the same patches, and
synthetic Zipf streams; the Kodak grids also with the match-static model
forced (fast to decode). For each it prints the empirical order-0 entropy,
our bits per index (whole .vq file and index stream alone), the sizes
against xz and zstd on the raw .npy, and the index-stream encode and decode
speed on one thread (bench_entropy, best of several runs). Every .vq is
decoded with vqdec and compared byte for byte with its .npy."""
import json
import os
import platform
import subprocess
import sys
import tempfile

import numpy as np

from benchutil import kodak_luma, read_codebook, tool_args


def kodak_grids(kodak):
    """[24, 64, 96, 64]: the non-overlapping 8 x 8 BT.601 luma patches of
    each Kodak image, portrait images turned to landscape."""
    out = []
    for y in kodak_luma(kodak, 24):
        if y.shape[0] > y.shape[1]:
            y = y.T
        h, w = y.shape[0] // 8, y.shape[1] // 8
        p = y[:h * 8, :w * 8].reshape(h, 8, w, 8).transpose(0, 2, 1, 3)
        out.append(p.reshape(h, w, 64))
    return np.stack(out)


def nearest(x, cb):
    """Index of the nearest codeword of each row of x, by blocks."""
    c2 = (cb.astype(np.float64) ** 2).sum(1)
    out = np.empty(len(x), dtype=np.int32)
    for s in range(0, len(x), 8192):
        b = x[s:s + 8192].astype(np.float64)
        out[s:s + 8192] = np.argmin(c2[None, :] - 2.0 * b @ cb.T, axis=1)
    return out


def kodak_streams(vqtrain, kodak, tmp, ks):
    grids = kodak_grids(kodak)
    x = np.ascontiguousarray(grids.reshape(-1, 64))
    np.save(os.path.join(tmp, "patches.npy"), x)
    streams = []
    for k in ks:
        cb_path = os.path.join(tmp, "cb%d.safetensors" % k)
        subprocess.run([vqtrain, "kmeans", "-k", str(k), "--iters", "20",
                        "--seed", "1", "--quiet",
                        os.path.join(tmp, "patches.npy"), "-o", cb_path],
                       check=True)
        idx = nearest(x, read_codebook(cb_path))
        streams.append(("Kodak 8x8 k-means indices, K = %d" % k,
                        idx.reshape(grids.shape[:3])))
    return streams


def rvq_stream(vqtrain, kodak, tmp, stages):
    """The codes of an RVQ of the given stages of K = 256 (vqtrain rvq,
    10 iterations, greedy vqtok encode) on the same Kodak patches, as a
    [24, 64, 96, stages] grid: the upper neighbour one row of the last axis
    back is the same stage of the patch to the left, the previous index the
    stage before in the same patch."""
    grids = kodak_grids(kodak)
    x = np.ascontiguousarray(grids.reshape(-1, 64))
    pat = os.path.join(tmp, "patches.npy")
    np.save(pat, x)
    cb = os.path.join(tmp, "rvq.safetensors")
    codes = os.path.join(tmp, "rvq_codes.npy")
    vqtok = os.path.join(os.path.dirname(vqtrain), "vqtok")
    subprocess.run([vqtrain, "rvq", "--stages", str(stages), "-k", "256",
                    "--iters", "10", "--seed", "1", "--quiet", pat, "-o",
                    cb], check=True)
    subprocess.run([vqtok, "encode", "--quiet", "--codebook", cb, pat, "-o",
                    codes], check=True)
    return np.load(codes).reshape(grids.shape[:3] + (stages,))


def zipf_stream(k, s, n, seed):
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, k + 1) ** s
    return rng.choice(k, n, p=p / p.sum()).astype(np.int32)


def entropy0(v):
    _, c = np.unique(v, return_counts=True)
    q = c / c.sum()
    return float(-(q * np.log2(q)).sum())


def size_of(cmd, path):
    with open(path, "rb") as f:
        r = subprocess.run(cmd, stdin=f, stdout=subprocess.PIPE, check=True)
    return len(r.stdout)


def measure(name, v, tools, tmp, repeat, model="auto"):
    path = os.path.join(tmp, "t.npy")
    np.save(path, v)
    vq = os.path.join(tmp, "t.vq")
    back = os.path.join(tmp, "back.npy")
    r = subprocess.run([tools["vqenc"], "--json", "--model", model, path,
                        "-o", vq], stdout=subprocess.PIPE, check=True)
    j = json.loads(r.stdout)
    subprocess.run([tools["vqdec"], "-q", vq, "-o", back], check=True)
    with open(path, "rb") as a, open(back, "rb") as b:
        if a.read() != b.read():
            sys.exit("%s: vqdec did not restore the .npy" % name)
    r = subprocess.run([tools["bench_entropy"], path, "--model", model,
                        "--repeat", str(repeat)], stdout=subprocess.PIPE,
                       check=True)
    b = json.loads(r.stdout)
    row = {
        "name": name, "n": int(v.size), "k": int(v.max()) + 1,
        "entropy": entropy0(v), "npy": os.path.getsize(path),
        "ours": j["bytes"], "payload_bits": j["payload_bits_per_token"],
        "bits": j["bits_per_token"], "model": j["model"],
        "xz": size_of(["xz", "-9", "-c"], path),
        "zstd": size_of(["zstd", "-19", "--long", "-c", "-q"], path),
        "enc": b["encode_msym_s"], "dec": b["decode_msym_s"],
        "auto_enc": b["auto_encode_msym_s"],
    }
    print("%s: n %d, K %d, H0 %.4f, ours %.4f bits (%d bytes, %s), "
          "xz %d, zstd %d, encode %.1f / decode %.1f M/s" %
          (name, row["n"], row["k"], row["entropy"], row["bits"],
           row["ours"], row["model"], row["xz"], row["zstd"], row["enc"],
           row["dec"]), flush=True)
    return row


def table(rows):
    out = ["| stream | n | K | order-0 entropy (bits) | ours, whole file "
           "(bits/index) | ours, index stream (bits/index) | over entropy "
           "| model | .npy bytes | xz -9 | zstd -19 --long | ours | ours / "
           "xz | ours / zstd | encode (M/s) | decode (M/s) |",
           "|---" * 16 + "|"]
    for r in rows:
        out.append("| %s | %d | %d | %.4f | %.4f | %.4f | %+.2f%% | %s | %d "
                   "| %d | %d | %d | **%.3f** | **%.3f** | %.1f | %.1f |" %
                   (r["name"], r["n"], r["k"], r["entropy"], r["bits"],
                    r["payload_bits"],
                    100.0 * (r["bits"] / r["entropy"] - 1.0), r["model"],
                    r["npy"], r["xz"], r["zstd"], r["ours"],
                    r["ours"] / r["xz"], r["ours"] / r["zstd"], r["enc"],
                    r["dec"]))
    return "\n".join(out)


def tool(build, folder, name):
    p = os.path.join(build, folder, name)
    if not os.access(p, os.X_OK):
        sys.exit("%s not built (make && make bench/bench_entropy)" % p)
    return p


def main():
    ap = tool_args(__doc__)
    ap.add_argument("--quick", action="store_true",
                    help="K = 256 only and short Zipf streams (smoke run)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", help="also write the markdown table here")
    a = ap.parse_args()
    tools = {"vqenc": tool(a.build_dir, "apps", "vqenc"),
             "vqdec": tool(a.build_dir, "apps", "vqdec"),
             "bench_entropy": tool(a.build_dir, "bench", "bench_entropy")}
    vqtrain = tool(a.build_dir, "apps", "vqtrain")
    tool(a.build_dir, "apps", "vqtok")
    print("Machine: %s, %d cores, %s." % (platform.processor() or
          platform.machine(), os.cpu_count(), platform.platform()))
    n = 100000 if a.quick else 1000000
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, v in kodak_streams(vqtrain, a.kodak, tmp,
                                     (256,) if a.quick else (256, 4096)):
            rows.append(measure(name, v, tools, tmp, a.repeat))
            # the model that decodes fast, forced, for comparison
            rows.append(measure(name + ", --model match-static", v, tools,
                                tmp, a.repeat, "match-static"))
        rows.append(measure("Kodak 8x8 RVQ codes, 4 x 256", rvq_stream(
            vqtrain, a.kodak, tmp, 4), tools, tmp, a.repeat))
        for k, s in ((16, 1.0), (256, 1.1), (4096, 1.1), (65536, 1.2)):
            rows.append(measure("Zipf s = %.1f, K = %d" % (s, k),
                                zipf_stream(k, s, n, k), tools, tmp,
                                a.repeat))
    t = table(rows)
    print()
    print(t)
    if a.out:
        with open(a.out, "w") as f:
            f.write(t + "\n")


if __name__ == "__main__":
    main()
