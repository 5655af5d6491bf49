#!/usr/bin/env python3
"""check_hostile.py - judges a hostile-input build (tests/cases/reliability_hostile.sh).

usage: check_hostile.py LOG TRUTH ORIGINALS...
In the project directory: every input data/NAME went through the rules meta,
aug, clip, feat (and clipfeat through its clip).  Each action must have either
a valid output or a FAILED block in LOG whose message names data/NAME; an
original that should decode (TRUTH gives it a frame count) must succeed
everywhere, with that frame count.  Prints one line per problem; exits 1 if
there is one."""
import json
import os
import re
import subprocess
import sys

import numpy as np


def failures(log):
    """output path -> the text of its FAILED block"""
    blocks, current = {}, None
    for line in open(log, errors="replace"):
        line = line.rstrip("\n")
        m = re.match(r"^FAILED: \S+ (.*)$", line)
        if m:
            current = m.group(1).split()[0]
            blocks[current] = ""
        elif line.startswith("[") or line.startswith("vlbuild: ") and " ran, " in line:
            current = None
        elif current:
            blocks[current] += line + "\n"
    return blocks


def check_output(rule, path):
    """None when the output at path is valid, else what is wrong"""
    try:
        if rule == "meta":
            m = json.load(open(path))
            if m.get("frames", 0) <= 0 or m.get("width", 0) <= 0 or m.get("height", 0) <= 0:
                return f"implausible metadata {m}"
        elif rule == "aug":
            r = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0",
                                "-show_entries", "stream=nb_read_packets,width,height", "-of", "json",
                                path], capture_output=True, text=True, timeout=60)
            s = json.loads(r.stdout or "{}").get("streams", [{}])[0]
            if r.returncode or int(s.get("nb_read_packets", 0)) <= 0 or s.get("width") != 32:
                return f"not a 32x32 clip with frames: {r.stderr.strip()} {s}"
        elif rule == "clip":
            a = np.load(path)
            if a.dtype != np.uint8 or a.shape != (8, 32, 32, 3):
                return f"clip {a.dtype} {a.shape}"
        else:
            a = np.load(path)
            if a.dtype != np.float32 or a.ndim != 1 or not np.all(np.isfinite(a)):
                return f"features {a.dtype} {a.shape} finite={np.all(np.isfinite(a))}"
    except Exception as e:  # noqa: BLE001 - any unreadable output is the finding
        return f"unreadable: {e}"
    return None


def main():
    log, truth_path, originals = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    truth = {}
    if os.path.exists(truth_path):
        for line in open(truth_path):
            f = line.rstrip("\n").split("\t")
            if len(f) == 3 and f[2] != "none" and not f[2].endswith("N/A"):
                truth[f[0]] = int(f[2].split(",")[3])
    failed = failures(log)
    problems = []
    outputs = {"meta": "build/meta/{}.json", "aug": "build/aug/{}.mkv",
               "clip": "build/clips/{}.npy", "feat": "build/feat/{}.npy"}
    stats = {"ok": 0, "failed": 0}
    for name in sorted(os.listdir("data")):
        for rule, pattern in outputs.items():
            out = pattern.format(name)
            if out in failed:
                stats["failed"] += 1
                if f"data/{name}" not in failed[out]:
                    problems.append(f"{out}: the error does not name data/{name}: {failed[out]!r}")
                if os.path.exists(out):
                    problems.append(f"{out}: failed, yet the output exists")
                if name in originals and name in truth:
                    problems.append(f"{out}: the good original {name} failed: {failed[out]!r}")
                continue
            if not os.path.exists(out):
                problems.append(f"{out}: neither an output nor an error")
                continue
            stats["ok"] += 1
            bad = check_output(rule, out)
            if bad:
                problems.append(f"{out}: {bad}")
            if rule == "meta" and name in originals and name in truth:
                frames = json.load(open(out))["frames"]
                # corrupted.mp4: 50 packets, 49 decodable (docs/video.md)
                if frames != truth[name] and not (name == "corrupted.mp4" and frames == 50):
                    problems.append(f"{out}: {frames} frames, a decode gives {truth[name]}")
        clip = outputs["clip"].format(name)
        cf = f"build/clipfeat/{name}.npy.npy"
        if os.path.exists(clip):
            if cf in failed:
                problems.append(f"{cf}: features of a good clip failed: {failed[cf]!r}")
            elif not os.path.exists(cf):
                problems.append(f"{cf}: missing")
            elif check_output("clipfeat", cf):
                problems.append(f"{cf}: {check_output('clipfeat', cf)}")
    for p in problems:
        print(p)
    print(f"hostile inputs: {len(os.listdir('data'))} files, {stats['ok']} outputs, "
          f"{stats['failed']} per-file errors, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
