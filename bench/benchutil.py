"""Helpers the benchmark scripts share: the Kodak images as BT.601 luma,
libvq codebooks read with numpy alone, the tools' real binaries, and what
the machine and process run on."""
import glob
import json
import os
import platform
import struct
import sys

import numpy as np


def kodak_luma(kodak, count=None):
    """The Kodak PNGs of folder kodak, sorted by name, as float32 BT.601
    luma arrays; exits when there are none (or not exactly count)."""
    from PIL import Image
    files = sorted(glob.glob(os.path.join(kodak, "*.png")))
    if not files or (count is not None and len(files) != count):
        sys.exit("expected %s Kodak PNGs in %s (use --kodak DIR)" %
                 (count or "the", kodak))
    for f in files:
        rgb = np.asarray(Image.open(f).convert("RGB"), dtype=np.float32)
        yield 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def read_codebook(path):
    """Tensor "codebook" of a safetensors file, with numpy alone."""
    with open(path, "rb") as f:
        raw = f.read()
    (hlen,) = struct.unpack("<Q", raw[:8])
    t = json.loads(raw[8:8 + hlen])["codebook"]
    if t["dtype"] != "F32":
        sys.exit("%s: codebook is %s, expected F32" % (path, t["dtype"]))
    b, e = t["data_offsets"]
    return np.frombuffer(raw[8 + hlen + b:8 + hlen + e],
                         dtype="<f4").reshape(t["shape"])


def program(build, folder, name):
    """The real executable of a tool in a libtool build tree: the shell
    wrapper apps/NAME costs tens of milliseconds per run, which timings
    must not count, so the binary in .libs/ is used, with the library's
    directory on LD_LIBRARY_PATH (the wrapper is kept for static builds)."""
    real = os.path.join(build, folder, ".libs", name)
    if not os.access(real, os.X_OK):
        return os.path.join(build, folder, name)
    lib = os.path.join(os.path.abspath(build), ".libs")
    paths = os.environ.get("LD_LIBRARY_PATH", "")
    if lib not in paths.split(":"):
        os.environ["LD_LIBRARY_PATH"] = lib + (":" + paths if paths else "")
    return real


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (what platform reports when
    it has none)."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return model


def blas_in_use():
    """BLAS, LAPACK and OpenMP libraries in this process (after importing
    faiss), from the memory map."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            base = os.path.basename(path)
            if any(s in base for s in ("blas", "lapack", "gomp", "omp")):
                libs.add(os.path.realpath(path))
    return ", ".join(sorted(libs)) or "unknown"


def tool_args(doc):
    """An argument parser with the options every Kodak benchmark takes:
    --build-dir (the tree holding apps/vqtrain and apps/vqtok) and
    --kodak (the 24 Kodak PNGs, ../shared/data/kodak beside the
    repository)."""
    import argparse
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--build-dir", default=os.path.dirname(here),
                    help="build tree holding apps/vqtrain and apps/vqtok "
                    "(default: the source tree)")
    ap.add_argument("--kodak", default=os.path.join(
        os.path.dirname(os.path.dirname(here)), "shared", "data", "kodak"),
                    help="folder of the 24 Kodak PNGs")
    return ap


def finish_report(text, load0, threads, out=None):
    """Appends the load average before and after the run to a report,
    prints it, and writes it to out when given."""
    text += ("\n\nLoad average (1 min) before the run %.2f, after it %.2f "
             "(the run keeps about %d cores busy; more means another job "
             "shared them)." % (load0, os.getloadavg()[0], threads))
    print()
    print(text)
    if out:
        with open(out, "w") as f:
            f.write(text + "\n")
