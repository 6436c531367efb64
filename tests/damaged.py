#!/usr/bin/python3
"""Every truncation and every STEP-th single-bit flip of a small .vq file
must be refused by its decoder: exit status 1, 2 or 3, a message naming
the damaged file, and no output file. A flip in the container's minor
version (byte 9) makes a newer minor version, which readers accept: then
the output must equal GOOD. Exits 1 when any case fails.

  damaged.py FILE.vq GOOD STEP DECODER [ARGS...]

runs DECODER ARGS cut.vq -o cut.EXT (EXT that of GOOD) beside FILE.vq."""
import os
import subprocess
import sys


def main():
    vq, good_path, step = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cmd = sys.argv[4:]
    d = os.path.dirname(os.path.abspath(vq))
    cut = os.path.join(d, "cut.vq")
    out = os.path.join(d, "cut" + os.path.splitext(good_path)[1])
    raw = open(vq, "rb").read()
    good = open(good_path, "rb").read()
    bad, same = [], 0
    cases = [(raw[:n], 0) for n in range(len(raw))]
    cases += [(raw[:i // 8] + bytes([raw[i // 8] ^ (1 << (i % 8))]) +
               raw[i // 8 + 1:], i // 8 == 9)
              for i in range(0, 8 * len(raw), step)]
    for k, (data, minor) in enumerate(cases):
        open(cut, "wb").write(data)
        r = subprocess.run(cmd + [cut, "-o", out], capture_output=True)
        if minor and r.returncode == 0 and open(out, "rb").read() == good:
            same += 1
        elif r.returncode not in (1, 2, 3) or os.path.exists(out) or \
                b"cut.vq" not in r.stderr:
            bad.append((k, r.returncode, r.stderr[:200]))
        if os.path.exists(out):
            os.remove(out)
    print("%d damaged files: %d refused, %d read the same (minor version), "
          "%d accepted otherwise or crashed: %s" % (len(cases),
          len(cases) - same - len(bad), same, len(bad), bad[:3]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
