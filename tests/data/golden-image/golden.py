#!/usr/bin/python3
"""Helpers for the golden image streams (standard library only).
  golden.py inputs DIR        writes the source images of make.sh into DIR
  golden.py pam IN.png OUT    rewrites an 8-bit non-interlaced PNG (as
                              vqdec writes them) as a PAM file, whose bytes
                              depend on the pixels alone; images with alpha
                              are checksummed through it"""
import struct
import sys
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 4: 2, 2: 3, 6: 4}  # PNG colour type -> channels
COLOUR_TYPE = {v: k for k, v in CHANNELS.items()}


def chunk(kind, data):
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def write_png(path, w, h, ch, depth, sample):
    """sample(x, y, c) -> int in [0, 2^depth)."""
    fmt = ">H" if depth == 16 else ">B"
    raw = b"".join(
        b"\0" + b"".join(struct.pack(fmt, sample(x, y, c))
                         for x in range(w) for c in range(ch))
        for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, depth, COLOUR_TYPE[ch], 0, 0, 0)
    with open(path, "wb") as f:
        f.write(SIGNATURE + chunk(b"IHDR", ihdr) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def texture(x, y, c):
    """Smooth ramps, an edge and a fixed pseudo-random grain, in [0, 255]."""
    v = (x * 9 + y * 5 + c * 60) % 200 + 20
    if (x // 6 + y // 6) % 3 == 0:
        v = 255 - v
    grain = ((x * 73856093) ^ (y * 19349663) ^ (c * 83492791)) % 17 - 8
    return max(0, min(255, v + grain))


def alpha(x, y):
    return (x * 16 + y * 3) % 256 if (x + y) % 5 else 255


def inputs(d):
    write_png(d + "/rgb17x33.png", 17, 33, 3, 8, texture)
    write_png(d + "/rgb9x640.png", 9, 640, 3, 8, texture)
    write_png(d + "/gray24x20.png", 24, 20, 1, 8, texture)
    write_png(d + "/rgba16x16.png", 16, 16, 4, 8,
              lambda x, y, c: alpha(x, y) if c == 3 else texture(x, y, c))
    write_png(d + "/graya16x16.png", 16, 16, 2, 8,
              lambda x, y, c: alpha(x, y) if c == 1 else texture(x, y, 0))
    write_png(d + "/rgb16bit9x7.png", 9, 7, 3, 16,
              lambda x, y, c: texture(x, y, c) * 257 + (x * 31 + y) % 257
              if texture(x, y, c) < 255 else 65535)


def unfilter(raw, w, h, ch):
    stride, out, prev = w * ch, bytearray(), bytearray(w * ch)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - ch] if i >= ch else 0
            b = prev[i]
            c = prev[i - ch] if i >= ch else 0
            if f == 1:
                p = a
            elif f == 2:
                p = b
            elif f == 3:
                p = (a + b) // 2
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else b if pb <= pc else c
            else:
                p = 0
            line[i] = (line[i] + p) & 255
        out += line
        prev = line
    return bytes(out)


def pam(src, dst):
    b = open(src, "rb").read()
    if b[:8] != SIGNATURE:
        sys.exit("%s: not a PNG" % src)
    pos, idat, ihdr = 8, [], None
    while pos + 8 <= len(b):
        (n,), kind = struct.unpack(">I", b[pos:pos + 4]), b[pos + 4:pos + 8]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", b[pos + 8:pos + 21])
        elif kind == b"IDAT":
            idat.append(b[pos + 8:pos + 8 + n])
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or interlace or ctype not in CHANNELS:
        sys.exit("%s: not an 8-bit non-interlaced gray or RGB PNG" % src)
    ch = CHANNELS[ctype]
    pixels = unfilter(zlib.decompress(b"".join(idat)), w, h, ch)
    tupl = {1: "GRAYSCALE", 2: "GRAYSCALE_ALPHA", 3: "RGB", 4: "RGB_ALPHA"}
    with open(dst, "wb") as f:
        f.write(("P7\nWIDTH %d\nHEIGHT %d\nDEPTH %d\nMAXVAL 255\n"
                 "TUPLTYPE %s\nENDHDR\n" % (w, h, ch, tupl[ch])).encode())
        f.write(pixels)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "inputs":
        inputs(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "pam":
        pam(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
