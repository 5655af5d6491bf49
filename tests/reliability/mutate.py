#!/usr/bin/env python3
"""mutate.py - hostile copies of videos for tests/cases/reliability_hostile.sh.

usage: mutate.py SEED OUTDIR FILE...
For each FILE writes, into OUTDIR, truncated copies (16 bytes, 10%, 50%, 90%
and all but the last byte), copies with bytes flipped (a few anywhere, a few
in the first 512 bytes, 1% of all bytes), and once: zero-length files and
random bytes (bare, and behind a real container's magic) under video
extensions.  Names say what was done: NAME.cut50.EXT, NAME.flipHEAD.EXT, ...
The same SEED gives the same files."""
import os
import random
import sys


def write(outdir, name, data):
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)


def main():
    seed, outdir, files = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    rng = random.Random(seed)
    os.makedirs(outdir, exist_ok=True)
    for path in files:
        data = open(path, "rb").read()
        stem, ext = os.path.splitext(os.path.basename(path))
        n = len(data)
        cuts = {"cut16": 16, "cut10": n // 10, "cut50": n // 2, "cut90": n * 9 // 10, "cutlast": n - 1}
        for tag, k in cuts.items():
            write(outdir, f"{stem}.{tag}{ext}", data[:k])
        for tag, (lo, hi, count) in {"flip": (0, n, 8), "fliphead": (0, min(n, 512), 4),
                                     "flipmany": (0, n, max(1, n // 100))}.items():
            b = bytearray(data)
            for _ in range(count):
                i = rng.randrange(lo, hi)
                b[i] ^= 1 << rng.randrange(8)
            write(outdir, f"{stem}.{tag}{ext}", bytes(b))
    for ext in (".mp4", ".mkv", ".avi", ".webm", ".mov"):
        write(outdir, f"empty{ext}", b"")
        write(outdir, f"random{ext}", bytes(rng.randrange(256) for _ in range(4096)))
    # a real container's first bytes, then noise
    magic = {"mp4": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",
             "mkv": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08",
             "avi": b"RIFF\x00\x10\x00\x00AVI LIST"}
    for ext, head in magic.items():
        write(outdir, f"magic_random.{ext}", head + bytes(rng.randrange(256) for _ in range(8192)))
    write(outdir, "text.mp4", b"this is not a video\n" * 10)


if __name__ == "__main__":
    main()
