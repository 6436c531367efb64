#!/usr/bin/python3
"""Images as RVQ patch tokens (vqenc --mode rvq) against the default
transform codec and JPEG at the same size, on the held-out Kodak images.

The library's image codebook (libvq/data/default-rvq.safetensors, 8 stages
of 256 codewords over 4 x 4 RGB patches) was trained on kodim01-20; this
script codes kodim21-24 with 1 to 8 stages (--mode rvq --stages S) and,
for each file, codes the same image with our transform codec at the same
size (vqenc --size BYTES, its own quality search) and with cjpeg
-optimize -sample 2x2 at the largest quality whose file is not larger
(bisection). It prints bits per pixel and PSNR-RGB / PSNR-Y (numpy, from
the decoded images) per stage count, averaged over the images, and the
encode and decode times of vqenc / vqdec --mode rvq as whole processes
(reading the PNG, writing a PPM)."""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import benchutil
import imagemetrics as im
from image_rd import read_rgb

HELD_OUT = ("kodim21.png", "kodim22.png", "kodim23.png", "kodim24.png")


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def metrics(ref, path):
    got = read_rgb(path)
    return im.psnr(ref, got), im.psnr(im.luma(ref), im.luma(got))


def jpeg_at(src_ppm, limit, tmp):
    """The cjpeg file of the largest quality not above limit bytes (the
    quality-1 file when even that is larger)."""
    lo, hi, best = 1, 100, None
    while lo <= hi:
        q = (lo + hi) // 2
        out = os.path.join(tmp, "q%d.jpg" % q)
        subprocess.run(["cjpeg", "-optimize", "-sample", "2x2", "-quality",
                        str(q), "-outfile", out, src_ppm], check=True)
        if os.path.getsize(out) <= limit:
            best, lo = out, q + 1
        else:
            hi = q - 1
    if best is None:
        best = os.path.join(tmp, "q1.jpg")
    dec = os.path.join(tmp, "j.ppm")
    subprocess.run(["djpeg", "-outfile", dec, best], check=True)
    return os.path.getsize(best), dec


def main():
    ap = benchutil.tool_args(__doc__)
    ap.add_argument("--out", help="also write the markdown table here")
    a = ap.parse_args()
    enc = benchutil.program(a.build_dir, "apps", "vqenc")
    dec = benchutil.program(a.build_dir, "apps", "vqdec")
    load0 = os.getloadavg()[0]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in HELD_OUT:
            png = os.path.join(a.kodak, name)
            ref = read_rgb(png)
            px = ref.shape[0] * ref.shape[1]
            ppm = os.path.join(tmp, "src.ppm")
            with open(ppm, "wb") as f:
                f.write(b"P6\n%d %d\n255\n" % (ref.shape[1], ref.shape[0]) +
                        ref.tobytes())
            for s in range(1, 9):
                vq = os.path.join(tmp, "r.vq")
                out = os.path.join(tmp, "r.ppm")
                te = timed([enc, "--quiet", "--mode", "rvq", "--stages",
                            str(s), png, "-o", vq])
                td = timed([dec, "--quiet", vq, "-o", out])
                size = os.path.getsize(vq)
                p_rgb, p_y = metrics(ref, out)
                dvq = os.path.join(tmp, "d.vq")
                dout = os.path.join(tmp, "d.ppm")
                subprocess.run([enc, "--quiet", "--size", str(size), png,
                                "-o", dvq], check=True)
                subprocess.run([dec, "--quiet", dvq, "-o", dout], check=True)
                d_rgb, d_y = metrics(ref, dout)
                jsize, jdec = jpeg_at(ppm, size, tmp)
                j_rgb, j_y = metrics(ref, jdec)
                r = rows.setdefault(s, [])
                r.append((8.0 * size / px, p_rgb, p_y,
                          8.0 * os.path.getsize(dvq) / px, d_rgb, d_y,
                          8.0 * jsize / px, j_rgb, j_y, px / te / 1e6,
                          px / td / 1e6))
                print("%s, %d stages: %.4f bpp, PSNR %.2f dB (Y %.2f); "
                      "transform %.4f bpp %.2f dB; JPEG %.4f bpp %.2f dB" %
                      (name, s, 8.0 * size / px, p_rgb, p_y,
                       8.0 * os.path.getsize(dvq) / px, d_rgb,
                       8.0 * jsize / px, j_rgb), flush=True)
    lines = ["| stages | rvq bpp | rvq PSNR-RGB | rvq PSNR-Y | transform "
             "codec bpp | its PSNR-RGB | its PSNR-Y | JPEG bpp | JPEG "
             "PSNR-RGB | JPEG PSNR-Y | rvq encode (MP/s) | rvq decode "
             "(MP/s) |", "|---" * 12 + "|"]
    for s in sorted(rows):
        m = np.mean(np.array(rows[s]), axis=0)
        lines.append("| %d | %.4f | %.2f | %.2f | %.4f | %.2f | %.2f | %.4f "
                     "| %.2f | %.2f | %.1f | %.1f |" % ((s,) + tuple(m)))
    text = ("Held-out kodim21-24, means over the 4 images; %s, %d cores.\n\n"
            % (benchutil.cpu_model(), os.cpu_count()) + "\n".join(lines))
    benchutil.finish_report(text, load0, 2, a.out)


if __name__ == "__main__":
    sys.exit(main())
