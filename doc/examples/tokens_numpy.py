#!/usr/bin/python3
"""Reconstruct vectors or an image from libvq tokens with numpy alone.

    tokens_numpy.py CODEBOOK.safetensors TOKENS.npy OUT.npy [--stages S]

Reads the codebook (.safetensors: an 8-byte header length, a JSON header,
raw float32 tensors), the tokens (.npy, int32 or uint16, last axis the
stages) and, when it exists, the index TOKENS.json that vqtok writes
beside them; checks that the index names this codebook by its SHA-256;
and sums the codewords of the first S stages of a k-means or residual
codebook, through the PCA projector when the codebook has one. For image
tokens it also assembles the patches into the picture (uint8, cropped to
the size in the index) and saves it as OUT.npy [H, W] or [H, W, 3]."""
import hashlib
import json
import struct
import sys

import numpy as np


def load_codebook(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        if t["dtype"] != "F32":
            sys.exit("%s: tensor %s is %s, expected F32" % (path, name,
                                                          t["dtype"]))
        b, e = t["data_offsets"]
        tensors[name] = np.frombuffer(raw[8 + n + b:8 + n + e],
                                      "<f4").reshape(t["shape"])
    return tensors, meta, hashlib.sha256(raw).hexdigest()


def main(argv):
    if len(argv) not in (4, 6):
        sys.exit(__doc__)
    cb_path, tok_path, out_path = argv[1:4]
    tensors, meta, sha = load_codebook(cb_path)
    stages = int(meta.get("rvq.stages", "1"))
    cb = tensors["codebook"].reshape(stages, -1, tensors["codebook"].shape[1])
    use = int(argv[5]) if len(argv) == 6 else stages
    tokens = np.load(tok_path).astype(np.int64)
    index_path = tok_path[:-4] + ".json"
    try:
        index = json.load(open(index_path))
    except FileNotFoundError:
        index = None
    if index is not None and index["codebook"]["sha256"] != sha:
        sys.exit("%s names another codebook than %s" % (index_path, cb_path))
    grid = tokens.shape[:-1]
    codes = tokens.reshape(-1, stages)
    z = sum(cb[s][codes[:, s]] for s in range(use))
    if "projector.decode" in tensors:
        z = z @ tensors["projector.decode"] + tensors["projector.mean"]
    if index is None or index["source"] != "image":
        np.save(out_path, z.reshape(grid + (z.shape[1],)).astype(np.float32))
        return
    p = int(index["attributes"]["patch.size"])
    c = 3 if index["attributes"]["patch.color"] == "rgb" else 1
    gh, gw = grid
    h, w = index["inputs"][0]["size"]
    img = z.reshape(gh, gw, p, p, c).transpose(0, 2, 1, 3, 4)
    img = img.reshape(gh * p, gw * p, c)[:h, :w]
    img = np.clip(np.floor(img + 0.5), 0, 255).astype(np.uint8)
    np.save(out_path, img[:, :, 0] if c == 1 else img)


if __name__ == "__main__":
    main(sys.argv)
