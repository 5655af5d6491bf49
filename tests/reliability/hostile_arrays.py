#!/usr/bin/env python3
"""hostile_arrays.py - .npy and safetensors files that lie, for
tests/cases/reliability_hostile_train.sh.

usage: hostile_arrays.py npy-features DIR | npy-clips DIR | safetensors DIR
Writes well-formed files good_*.npy (features: float32 [6], two classes
a_*/b_*; clips: uint8 [4,8,8,3]) and hostile bad_*.npy / bad_*.safetensors
files; prints the names of the hostile ones."""
import json
import os
import struct
import sys

import numpy as np


def npy(header, data=b"", version=(1, 0), raw_len=None, magic=b"\x93NUMPY"):
    """a .npy file with header (a dict's text) padded as numpy pads it"""
    text = header.encode("latin1")
    lenfmt = "<H" if version[0] == 1 else "<I"
    pre = len(magic) + 2 + struct.calcsize(lenfmt)
    pad = (64 - (pre + len(text) + 1) % 64) % 64
    text = text + b" " * pad + b"\n"
    n = len(text) if raw_len is None else raw_len
    return magic + bytes(version) + struct.pack(lenfmt, n) + text + data


def hdr(descr="<f4", fortran=False, shape=(6,)):
    return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, repr(tuple(shape)))


def features(d):
    rng = np.random.default_rng(5)
    for i in range(6):
        for cls, shift in (("a", 0.0), ("b", 3.0)):
            np.save(os.path.join(d, f"good_{cls}{i}.npy"), (rng.standard_normal(6) + shift).astype(np.float32))
    f6 = np.arange(6, dtype=np.float32).tobytes()
    bad = {
        "shape_bigger": npy(hdr(shape=(100,)), f6),
        "shape_smaller": npy(hdr(shape=(2,)), f6),
        "shape_overflow": npy(hdr(shape=(2**62, 2**62, 16)), f6),
        "shape_huge": npy(hdr(shape=(2**40,)), f6),
        "shape_negative": npy(hdr(shape=(-1,)), f6),
        "shape_garbage": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,,), }", f6),
        "shape_scalar": npy(hdr(shape=()), f6[:4]),
        "shape_empty": npy(hdr(shape=(0,)), b""),
        "shape_other_d": npy(hdr(shape=(7,)), f6 + f6[:4]),
        "dtype_f8": npy(hdr("<f8"), np.zeros(6).tobytes()),
        "dtype_big_endian": npy(hdr(">f4"), f6),
        "dtype_u1": npy(hdr("|u1"), bytes(6)),
        "dtype_object": npy(hdr("|O"), bytes(48)),
        "fortran": npy(hdr(fortran=True, shape=(2, 3)), f6),
        "nan": npy(hdr(), np.array([0, 1, np.nan, 2, 3, 4], dtype=np.float32).tobytes()),
        "inf": npy(hdr(), np.array([0, 1, np.inf, 2, 3, 4], dtype=np.float32).tobytes()),
        "data_truncated": npy(hdr(), f6[:10]),
        "header_len_past_eof": npy(hdr(), f6, raw_len=60000),
        "header_len_zero": npy(hdr(), f6, raw_len=0),
        "header_huge_v2": npy(hdr(), f6, version=(2, 0), raw_len=0xFFFFFFF0),
        "header_not_dict": npy("[1, 2, 3]", f6),
        "header_unterminated": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,", f6),
        "version_9": npy(hdr(), f6, version=(9, 0)),
        "bad_magic": npy(hdr(), f6, magic=b"\x93NUMPZ"),
        "empty": b"",
        "magic_only": b"\x93NUMPY",
        "random": bytes(np.random.default_rng(7).integers(0, 256, 512, dtype=np.uint8)),
    }
    for name, data in bad.items():
        open(os.path.join(d, f"bad_{name}.npy"), "wb").write(data)
        print(f"bad_{name}.npy")


def clips(d):
    rng = np.random.default_rng(6)
    for i in range(4):
        for cls in "ab":
            np.save(os.path.join(d, f"good_{cls}{i}.npy"), rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8))
    c = bytes(4 * 8 * 8 * 3)
    bad = {
        "clip_t_bigger": npy(hdr("|u1", shape=(400, 8, 8, 3)), c),
        "clip_overflow": npy(hdr("|u1", shape=(2**31, 2**31, 2**31, 3)), c),
        "clip_5d": npy(hdr("|u1", shape=(1, 4, 8, 8, 3)), c),
        "clip_4_channels": npy(hdr("|u1", shape=(4, 8, 6, 4)), c),
        "clip_f4": npy(hdr("<f4", shape=(4, 8, 8, 3)), c * 4),
        "clip_other_size": npy(hdr("|u1", shape=(4, 16, 4, 3)), c),
        "clip_zero_frames": npy(hdr("|u1", shape=(0, 8, 8, 3)), b""),
        "clip_truncated": npy(hdr("|u1", shape=(4, 8, 8, 3)), c[:100]),
    }
    for name, data in bad.items():
        open(os.path.join(d, f"bad_{name}.npy"), "wb").write(data)
        print(f"bad_{name}.npy")


def st(header, data=b"", raw_len=None):
    """a safetensors file: u64 header length, JSON header, data"""
    text = json.dumps(header).encode() if isinstance(header, dict) else header
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text) if raw_len is None else raw_len) + text + data


def safetensors(d):
    w = {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}
    f24 = bytes(24)
    bad = {
        "header_len_huge": st({"w": w}, f24, raw_len=2**64 - 1),
        "header_len_past_eof": st({"w": w}, f24, raw_len=4096),
        "header_len_zero": st({"w": w}, f24, raw_len=0),
        "header_not_json": st(b"{\"w\": {\"dtype\": ", f24),
        "header_array": st(b"[1, 2, 3]", f24),
        "offsets_past_end": st({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 2400]}}, f24),
        "offsets_reversed": st({"w": {"dtype": "F32", "shape": [0], "data_offsets": [24, 0]}}, f24),
        "offsets_overlap": st({"w": w, "v": {"dtype": "F32", "shape": [6], "data_offsets": [0, 24]}}, f24),
        "offsets_gap": st({"w": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}, f24),
        "shape_lies": st({"w": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 24]}}, f24),
        "shape_overflow": st({"w": {"dtype": "F32", "shape": [2**62, 8], "data_offsets": [0, 24]}}, f24),
        "shape_negative": st({"w": {"dtype": "F32", "shape": [-2, -3], "data_offsets": [0, 24]}}, f24),
        "dtype_unknown": st({"w": {"dtype": "Q99", "shape": [2, 3], "data_offsets": [0, 24]}}, f24),
        "metadata_not_strings": st({"__metadata__": {"model": 5}, "w": w}, f24),
        "deep_nesting": st(b"[" * 100000 + b"]" * 100000, f24),
        "empty": b"",
        "random": bytes(np.random.default_rng(8).integers(0, 256, 300, dtype=np.uint8)),
        "valid_but_foreign": st({"__metadata__": {"format": "something-else"}, "w": w}, f24),
    }
    for name, data in bad.items():
        open(os.path.join(d, f"bad_{name}.safetensors"), "wb").write(data)
        print(f"bad_{name}.safetensors")


if __name__ == "__main__":
    kind, d = sys.argv[1], sys.argv[2]
    os.makedirs(d, exist_ok=True)
    {"npy-features": features, "npy-clips": clips, "safetensors": safetensors}[kind](d)
