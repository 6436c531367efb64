#!/usr/bin/python3
"""Image rate-distortion: vqenc's image codec against JPEG, WebP, AVIF and
JPEG XL on the Kodak images, in one run.

Every codec encodes and decodes every image at each point of its quality
sweep; the script measures bits per pixel (8 bytes / (w h)), PSNR-Y (BT.601
luma computed in float from the RGB of both images), PSNR-RGB (MSE over the
three channels, peak 255) and MS-SSIM on the luma (5 scales, Wang et al.
2003), and the encode and decode wall times of the tools as whole
processes. On the average curves (mean bpp and mean metric over the images
at each setting) it computes the Bjontegaard delta rate (BD-rate, PCHIP
interpolation of ln(rate) against quality) of each codec against JPEG and
of ours against each reference: negative means fewer bits for the same
quality. MS-SSIM enters BD-rate in dB, -10 log10(1 - MS-SSIM).

References (Debian: libjpeg-turbo-progs, webp, libavif-bin, libjxl-tools):
cjpeg -optimize -sample 2x2 (4:2:0), cwebp -q, avifenc -s 6 -y 444 with
--min Q --max Q (AV1 quantizer 0..63), cjxl -d (butteraugli distance),
each on one thread; a tool that is not installed is left out. Ours is
apps/vqenc --quiet -q Q / apps/vqdec --quiet (--quiet: no quality report,
which would cost vqenc a decode); it is left out with a
message while vqenc cannot encode an image.

The tools run one after another, each once per image and setting. cjpeg,
cwebp and cjxl read PPM, avifenc and vqenc the PNG; avifdec writes PNG
without compression (it has no PPM output), the other decoders PPM: a
zlib PNG writer would cost more than most of the decoders."""
import argparse
import glob
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import namedtuple

import numpy as np
from PIL import Image

import benchutil
import imagemetrics as im

METRICS = (("psnr_y", "PSNR-Y"), ("psnr_rgb", "PSNR-RGB"),
           ("msssim_db", "MS-SSIM"))

# name, (encoder, decoder), encoder input, encoded and decoded suffix,
# full sweep, --quick sweep, setting label, encode and decode commands
Codec = namedtuple("Codec", "name tools src ext out sweep quick label "
                   "enc dec")

REFERENCES = (
    Codec("JPEG", ("cjpeg", "djpeg"), "ppm", ".jpg", ".ppm",
          (10, 20, 30, 40, 50, 60, 70, 80, 90, 95), (20, 40, 60, 80, 95),
          "q %s",
          lambda t, q, i, o: [t, "-optimize", "-sample", "2x2", "-quality",
                              str(q), "-outfile", o, i],
          lambda t, i, o: [t, "-outfile", o, i]),
    Codec("WebP", ("cwebp", "dwebp"), "ppm", ".webp", ".ppm",
          (10, 20, 30, 40, 50, 60, 70, 80, 90, 95), (20, 40, 60, 80, 95),
          "q %s",
          lambda t, q, i, o: [t, "-quiet", "-q", str(q), i, "-o", o],
          lambda t, i, o: [t, "-quiet", "-ppm", i, "-o", o]),
    Codec("AVIF", ("avifenc", "avifdec"), "png", ".avif", ".png",
          (8, 14, 20, 26, 32, 38, 44, 50, 56), (10, 20, 30, 40, 50),
          "Q %s",
          lambda t, q, i, o: [t, "-s", "6", "-j", "1", "-y", "444",
                              "--min", str(q), "--max", str(q), i, o],
          lambda t, i, o: [t, "-j", "1", "--png-compress", "0", i, o]),
    Codec("JPEG XL", ("cjxl", "djxl"), "ppm", ".jxl", ".ppm",
          (0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8), (0.5, 1, 2, 4, 8),
          "d %s",
          lambda t, q, i, o: [t, i, o, "-d", str(q), "--num_threads=1"],
          lambda t, i, o: [t, i, o, "--num_threads=1"]),
)

PACKAGES = {"cjpeg": "libjpeg-turbo-progs", "cwebp": "webp",
            "avifenc": "libavif-bin", "cjxl": "libjxl-tools"}

VERSION_FLAGS = {"cjpeg": "-version", "cwebp": "-version",
                 "avifenc": "--version", "cjxl": "--version"}


def ours(build):
    return Codec("ours", tuple(benchutil.program(build, "apps", n)
                               for n in ("vqenc", "vqdec")),
                 "png", ".vq", ".ppm",
                 (10, 20, 30, 40, 50, 60, 70, 80, 90, 95),
                 (20, 40, 60, 80, 95), "q %s",
                 lambda t, q, i, o: [t, "--quiet", "-q", str(q), i, "-o", o],
                 lambda t, i, o: [t, "--quiet", i, "-o", o])


def load_images(folder, count):
    """[(name, PNG path, uint8 RGB array)], sorted by name."""
    files = sorted(glob.glob(os.path.join(folder, "*.png")))[:count]
    if not files:
        sys.exit("no PNG images in %s (use --images DIR)" % folder)
    return [(os.path.basename(f), f, read_rgb(f)) for f in files]


def read_rgb(path):
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def run(cmd):
    """Wall time of cmd; exits with its message when it fails."""
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, errors="replace")
    t = time.perf_counter() - t
    if r.returncode != 0:
        lines = [ln for ln in (r.stderr + r.stdout).splitlines()
                 if ln.strip()]
        # the tool's own error line rather than a usage text after it
        tag = os.path.basename(cmd[0]) + ":"
        msg = next((ln for ln in lines if ln.startswith(tag)),
                   lines[0] if lines else "")
        raise RuntimeError("'%s' failed (exit status %d): %s" % (
            " ".join(os.path.basename(c) for c in cmd), r.returncode,
            msg.strip()))
    return t


def code_one(codec, setting, src, tmp, ref):
    """Encodes and decodes one image: its bytes, times and metrics."""
    enc = os.path.join(tmp, "enc" + codec.ext)
    dec = os.path.join(tmp, "dec" + codec.out)
    for p in (enc, dec):
        if os.path.exists(p):
            os.remove(p)
    te = run(codec.enc(codec.tools[0], setting, src, enc))
    td = run(codec.dec(codec.tools[1], enc, dec))
    got = read_rgb(dec)
    if got.shape != ref.shape:
        raise RuntimeError("%s decoded %s as %s, expected %s" % (
            codec.name, src, got.shape, ref.shape))
    y0, y1 = im.luma(ref), im.luma(got)
    m = im.ms_ssim(y0, y1)
    return {"bytes": os.path.getsize(enc), "enc_s": te, "dec_s": td,
            "psnr_y": im.psnr(y0, y1), "psnr_rgb": im.psnr(ref, got),
            "msssim": m}


def sweep(codec, images, inputs, tmp, settings):
    """Average point per setting, and total times and pixels."""
    points, enc_s, dec_s, pixels = [], 0.0, 0.0, 0
    for s in settings:
        rows = []
        for (name, png, rgb), src in zip(images, inputs[codec.src]):
            r = code_one(codec, s, src, tmp, rgb)
            r["bpp"] = 8.0 * r["bytes"] / (rgb.shape[0] * rgb.shape[1])
            rows.append(r)
            enc_s += r["enc_s"]
            dec_s += r["dec_s"]
            pixels += rgb.shape[0] * rgb.shape[1]
        p = {k: float(np.mean([r[k] for r in rows]))
             for k in ("bpp", "psnr_y", "psnr_rgb", "msssim")}
        p["msssim_db"] = im.ms_ssim_db(p["msssim"])
        p["setting"] = codec.label % s
        points.append(p)
        print("%s %s: %.4f bpp, PSNR-Y %.3f dB, PSNR-RGB %.3f dB, "
              "MS-SSIM %.5f (%.2f dB)" %
              (codec.name, p["setting"], p["bpp"], p["psnr_y"],
               p["psnr_rgb"], p["msssim"], p["msssim_db"]), flush=True)
    return {"name": codec.name, "points": points,
            "enc_mps": pixels / enc_s / 1e6, "dec_mps": pixels / dec_s / 1e6}


def available(codec, images, inputs, tmp):
    """None if the codec can run, else why not."""
    for t in codec.tools:
        if shutil.which(t) is None:
            if codec.name == "ours":
                return "%s not built (make)" % t
            return "%s not found (apt-get install %s)" % (
                t, PACKAGES[codec.tools[0]])
    if codec.name == "ours":
        try:
            code_one(codec, 50, inputs["png"][0], tmp, images[0][2])
        except RuntimeError as e:
            return str(e)
    return None


def bd(ref, test, key, method):
    a, b = ref["points"], test["points"]
    return im.bd_rate([p["bpp"] for p in a], [p[key] for p in a],
                      [p["bpp"] for p in b], [p[key] for p in b], method)


def pct(v):
    return "n/a" if v is None else "%+.2f%%" % v


def tables(results, method):
    jpeg = next((r for r in results if r["name"] == "JPEG"), None)
    head = ["| codec | " + " | ".join("BD-rate vs JPEG, %s" % m
                                      for _, m in METRICS) +
            " | encode (MP/s) | decode (MP/s) |", "|---" * 6 + "|"]
    for r in results:
        if r is jpeg:
            cells = ["(reference)"] * len(METRICS)
        else:
            cells = [pct(jpeg and bd(jpeg, r, k, method))
                     for k, _ in METRICS]
        head.append("| %s | %s | %.2f | %.2f |" % (
            r["name"], " | ".join(cells), r["enc_mps"], r["dec_mps"]))
    out = ["\n".join(head)]
    mine = next((r for r in results if r["name"] == "ours"), None)
    if mine:
        t = ["| ours against | " + " | ".join("BD-rate, %s" % m
                                             for _, m in METRICS) + " |",
             "|---" * 4 + "|"]
        for r in results:
            if r is not mine:
                t.append("| %s | %s |" % (r["name"], " | ".join(
                    pct(bd(r, mine, k, method)) for k, _ in METRICS)))
        out.append("\n".join(t))
    t = ["| codec | setting | bpp | PSNR-Y (dB) | PSNR-RGB (dB) | MS-SSIM "
         "| MS-SSIM (dB) |", "|---" * 7 + "|"]
    for r in results:
        for p in r["points"]:
            t.append("| %s | %s | %.4f | %.3f | %.3f | %.5f | %.2f |" % (
                r["name"], p["setting"], p["bpp"], p["psnr_y"],
                p["psnr_rgb"], p["msssim"], p["msssim_db"]))
    out.append("\n".join(t))
    return out


def plot(path, results):
    """PSNR-Y and MS-SSIM (dB) against bpp; needs matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, (key, label) in zip(axes, (("psnr_y", "PSNR-Y (dB)"),
                                       ("msssim_db", "MS-SSIM (dB)"))):
        for r in results:
            pts = sorted(r["points"], key=lambda p: p["bpp"])
            ax.plot([p["bpp"] for p in pts], [p[key] for p in pts], "o-",
                    markersize=3, label=r["name"],
                    linewidth=2.5 if r["name"] == "ours" else 1.2)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def machine(codecs):
    model = benchutil.cpu_model()
    vers = []
    for c in codecs:
        flag = VERSION_FLAGS.get(c.tools[0])
        if flag:
            r = subprocess.run([c.tools[0], flag], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            line = r.stdout.strip().splitlines()
            vers.append("%s %s" % (c.tools[0], line[0] if line else "?"))
    return "Machine: %s, %d CPUs, %s, numpy %s.\nTools: %s." % (
        model, os.cpu_count(), platform.platform(), np.__version__,
        "; ".join(vers))


def speed_q75(build, images, tmp, repeat):
    """Ours at -q 75 on 1 and 2 threads: megapixels per second of the
    whole command (start-up, PNG reading and PPM writing included), the
    best of repeat runs per image."""
    enc_t, dec_t = [benchutil.program(build, "apps", n)
                    for n in ("vqenc", "vqdec")]
    vq, out = os.path.join(tmp, "s.vq"), os.path.join(tmp, "s.ppm")
    px = sum(rgb.shape[0] * rgb.shape[1] for _, _, rgb in images) / 1e6
    rows = ["| ours at -q 75 | threads | encode (MP/s) | decode (MP/s) |",
            "|---|---|---|---|"]
    for threads in (1, 2):
        te = td = 0.0
        for _, png, _ in images:
            t = ["--threads", str(threads)]
            te += min(run([enc_t, "--quiet", "-q", "75"] + t + [png, "-o",
                                                               vq])
                      for _ in range(repeat))
            td += min(run([dec_t, "--quiet"] + t + [vq, "-o", out])
                      for _ in range(repeat))
        rows.append("| %d images | %d | %.2f | %.2f |" % (
            len(images), threads, px / te, px / td))
    return "\n".join(rows)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default=os.path.dirname(here))
    ap.add_argument("--images", default=os.path.join(
        os.path.dirname(os.path.dirname(here)), "shared", "data", "kodak"))
    ap.add_argument("--quick", action="store_true",
                    help="first 4 images, 5 settings per codec (smoke run)")
    ap.add_argument("--bd", choices=("pchip", "poly"), default="pchip",
                    help="BD-rate interpolation: PCHIP (default) or the "
                    "cubic fit of VCEG-M33")
    ap.add_argument("--out", help="also write the markdown tables here")
    ap.add_argument("--plot", help="write a PNG of the average RD curves "
                    "here (if matplotlib is installed)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per image for the -q 75 speed of ours, the "
                    "best kept (default 3)")
    a = ap.parse_args()
    images = load_images(a.images, 4 if a.quick else None)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {"png": [png for _, png, _ in images], "ppm": []}
        for i, (_, _, rgb) in enumerate(images):
            inputs["ppm"].append(os.path.join(tmp, "in%d.ppm" % i))
            Image.fromarray(rgb).save(inputs["ppm"][-1])
        codecs = []
        for c in REFERENCES + (ours(a.build_dir),):
            why = available(c, images, inputs, tmp)
            if why:
                print("%s left out: %s" % (c.name, why), flush=True)
            else:
                codecs.append(c)
        head = machine(codecs)
        print(head, flush=True)
        print("%d images from %s%s." % (len(images), a.images,
                                         ", --quick" if a.quick else ""))
        results, failed, speed = [], [], None
        for c in codecs:
            try:
                results.append(sweep(c, images, inputs, tmp,
                                     c.quick if a.quick else c.sweep))
            except RuntimeError as e:
                failed.append("%s failed, left out: %s" % (c.name, e))
                print(failed[-1], flush=True)
        if any(c.name == "ours" for c in codecs):
            try:
                speed = speed_q75(a.build_dir, images, tmp, a.repeat)
            except RuntimeError as e:
                failed.append("ours at -q 75 failed: %s" % e)
    if not results:
        sys.exit("no codec to run")
    text = "\n\n".join([head] + tables(results, a.bd) +
                       ([speed] if speed else []))
    print()
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    if a.plot and not plot(a.plot, results):
        print("matplotlib not installed: no plot "
              "(apt-get install python3-matplotlib)")
    if failed:
        sys.exit("\n".join(failed))


if __name__ == "__main__":
    main()
