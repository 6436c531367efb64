#!/usr/bin/python3
"""Writes the corpus of malformed .npy and .safetensors files that the
tests must reject. Standard library only; run from this folder."""
import json
import os
import struct


def npy(header, data=b"", magic=b"\x93NUMPY", ver=b"\x01\x00", hlen=None):
    h = header.encode()
    if hlen is None:
        hlen = len(h)
    if ver[0] == 1:
        pre = magic + ver + struct.pack("<H", hlen)
    else:
        pre = magic + ver + struct.pack("<I", hlen)
    return pre + h + data


def dict_hdr(descr="'<f4'", fortran="False", shape="(2, 3)"):
    return "{'descr': %s, 'fortran_order': %s, 'shape': %s, }\n" % (
        descr, fortran, shape)


F6 = struct.pack("<6f", *range(6))
NPY = {
    "bad_magic.npy": npy(dict_hdr(), F6, magic=b"\x93NUMPZ"),
    "bad_version.npy": npy(dict_hdr(), F6, ver=b"\x07\x00"),
    "empty.npy": b"",
    "short_prelude.npy": b"\x93NUMPY\x01",
    "header_len_past_end.npy": npy(dict_hdr(), b"", hlen=5000),
    "truncated_data.npy": npy(dict_hdr(), F6[:20]),
    "trailing_data.npy": npy(dict_hdr(), F6 + b"\0\0\0\0"),
    "fortran_order.npy": npy(dict_hdr(fortran="True"), F6),
    "object_dtype.npy": npy(dict_hdr(descr="'|O'"), F6),
    "structured_dtype.npy": npy(dict_hdr(descr="[('a', '<f4')]"), F6),
    "complex_dtype.npy": npy(dict_hdr(descr="'<c8'"), F6),
    "negative_dim.npy": npy(dict_hdr(shape="(-2, 3)"), F6),
    "float_dim.npy": npy(dict_hdr(shape="(2.0, 3)"), F6),
    "overflow_shape.npy": npy(dict_hdr(shape="(4294967296, 4294967296, 16)"),
                              F6),
    "huge_shape.npy": npy(dict_hdr(shape="(1000000000000, 64)"), F6),
    "not_a_dict.npy": npy("['descr', 'fortran_order', 'shape']\n", F6),
    "duplicate_key.npy": npy("{'descr': '<f4', 'descr': '<f4', "
                             "'fortran_order': False, 'shape': (6,)}\n", F6),
    "missing_shape.npy": npy("{'descr': '<f4', 'fortran_order': False}\n", F6),
    "unknown_key.npy": npy("{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (6,), 'extra': 1}\n", F6),
    "pickle_header.npy": npy("cnumpy\ncore\n", F6),
    "unterminated_dict.npy": npy("{'descr': '<f4', 'fortran_order': False, "
                                 "'shape': (6,)\n", F6),
    "too_many_dims.npy": npy(dict_hdr(shape="(1, 1, 1, 1, 1, 1, 1, 1, 6)"),
                             F6),
    "v2_header_past_end.npy": npy(dict_hdr(), F6, ver=b"\x02\x00",
                                  hlen=0x7fffffff),
}


def st(header, data=b"", raw=None, hlen=None):
    h = raw if raw is not None else json.dumps(header).encode()
    if hlen is None:
        hlen = len(h)
    return struct.pack("<Q", hlen) + h + data


def t(dtype="F32", shape=(2, 3), off=(0, 24)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(off)}


D24 = struct.pack("<6f", *range(6))
ST = {
    "too_short.safetensors": b"\x10\0\0",
    "header_len_past_end.safetensors": st({"a": t()}, D24, hlen=1 << 20),
    "huge_header_len.safetensors": st({"a": t()}, D24, hlen=1 << 62),
    "not_json.safetensors": st(None, D24, raw=b"{not json at all}"),
    "not_object.safetensors": st(None, D24, raw=b"[1, 2, 3]"),
    "truncated_json.safetensors": st(None, D24, raw=b'{"a": {"dtype": "F3'),
    "invalid_utf8.safetensors": st(None, D24,
                                   raw=b'{"\xff\xfe": {"dtype": "F32", '
                                   b'"shape": [2, 3], '
                                   b'"data_offsets": [0, 24]}}'),
    "lone_surrogate.safetensors": st(None, D24,
                                     raw=b'{"\\ud800": {"dtype": "F32", '
                                     b'"shape": [2, 3], '
                                     b'"data_offsets": [0, 24]}}'),
    "deep_nesting.safetensors": st(None, D24, raw=b"{\"a\":" + b"[" * 200 +
                                   b"]" * 200 + b"}"),
    "duplicate_names.safetensors": st(None, D24 + D24,
                                      raw=b'{"a": {"dtype": "F32", '
                                      b'"shape": [2, 3], "data_offsets": '
                                      b'[0, 24]}, "a": {"dtype": "F32", '
                                      b'"shape": [2, 3], "data_offsets": '
                                      b'[24, 48]}}'),
    "offsets_past_end.safetensors": st({"a": t(off=(0, 48))}, D24),
    "overlap.safetensors": st({"a": t(off=(0, 24)), "b": t(off=(12, 36))},
                              D24 + D24[:12]),
    "gap.safetensors": st({"a": t(shape=(2, 2), off=(0, 16)),
                           "b": t(shape=(1,), off=(20, 24))}, D24),
    "trailing_bytes.safetensors": st({"a": t()}, D24 + b"\0" * 8),
    "size_mismatch.safetensors": st({"a": t(shape=(2, 2))}, D24),
    "unknown_dtype.safetensors": st({"a": t(dtype="F8_E4M3X")}, D24),
    "negative_shape.safetensors": st({"a": t(shape=(-2, -3))}, D24),
    "float_offsets.safetensors": st(None, D24,
                                    raw=b'{"a": {"dtype": "F32", "shape": '
                                    b'[2, 3], "data_offsets": [0.0, 24]}}'),
    "extra_key.safetensors": st({"a": dict(t(), extra=1)}, D24),
    "missing_offsets.safetensors": st({"a": {"dtype": "F32",
                                             "shape": [2, 3]}}, D24),
    "begin_after_end.safetensors": st({"a": t(off=(24, 0))}, D24),
    "metadata_not_string.safetensors": st({"__metadata__": {"k": 1},
                                           "a": t()}, D24),
    "metadata_not_object.safetensors": st({"__metadata__": [1],
                                           "a": t()}, D24),
    "shape_overflow.safetensors": st({"a": t(shape=(1 << 40, 1 << 40,
                                                    1 << 40))}, D24),
    "leading_zero.safetensors": st(None, D24,
                                   raw=b'{"a": {"dtype": "F32", "shape": '
                                   b'[02, 3], "data_offsets": [0, 24]}}'),
    "trailing_garbage.safetensors": st(None, D24,
                                       raw=b'{"a": {"dtype": "F32", '
                                       b'"shape": [2, 3], "data_offsets": '
                                       b'[0, 24]}} x'),
}


def main():
    for folder, files in (("npy", NPY), ("safetensors", ST)):
        os.makedirs(folder, exist_ok=True)
        for name, blob in sorted(files.items()):
            with open(os.path.join(folder, name), "wb") as f:
                f.write(blob)


if __name__ == "__main__":
    main()
