#!/usr/bin/env python3
"""Engine benchmark: vlbuild against ninja and make on the same pipeline.

For N inputs data/iNNNNNN.txt (one line each) every tool builds:

    meta   per input   cp  data/X.txt            -> build/meta/X.meta
    scale  per input   cat data/X.txt X.meta     -> build/scale/X.scale
    feat   per input   cp  X.scale               -> build/feat/X.feat
    train  aggregate   xargs cat < LIST          -> build/model.txt   (LIST names every feat)

so 3N + 1 actions. Each tool gets its own copy of the tree under one temporary
directory in /tmp. Measured side by side, in one run, interleaving the tools in
every repetition:

  * the full build (informational);
  * the steady-state no-op build: one untimed no-op first (vlbuild re-hashes files
    written within its racy-timestamp window, so its first no-op after a build is
    not steady state; the warm-up is given to every tool alike), then the median
    of --noop-runs timed no-ops;
  * the rebuild after one input's content changed: median of --change-runs runs,
    each writing new content into one input (the same input in every tool's tree)
    and timing the build.

Wall time is measured around the child process, CPU time (user + system of the
tool and the children it waited for) from os.wait4's rusage; peak RSS is %M of
/usr/bin/time in separate, untimed runs (a full build and one steady no-op).
--dry-run times `vlbuild -n` on a tree never built instead, for N whose full
build would take too long; --tree re-measures a tree kept by --keep.

Correctness is checked after every build: build/model.txt has 2N lines (each feat
holds its input's line twice, as scale concatenates the input and its meta), and
its distinct lines are exactly the N current input contents; vlbuild's summary
must say `0 ran` on a no-op and `4 ran` after one change, ninja must say
`no work to do` and make `is up to date` on a no-op.

Stdlib only. Usage: see bench/engine/README.md or --help.
"""

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

VLBUILD_RULES = """\
source raw = data/*.txt

rule meta
    each f in raw
    run  cp $in $out
    out  build/meta/{f.stem}.meta

rule scale
    each f in raw
    in   build/meta/{f.stem}.meta
    run  cat $in > $out
    out  build/scale/{f.stem}.scale

rule feat
    each s in scale
    run  cp $in $out
    out  build/feat/{s.stem}.feat

rule train
    in   feat
    run  xargs cat < $in_list > $out
    out  build/model.txt
"""

# make: pattern rules over a wildcard (what a make user writes); the aggregate
# writes its list with $(file ...) so no command line carries N paths.
# Output directories are created at layout time so no action runs mkdir.
MAKEFILE = """\
SRCS  := $(sort $(wildcard data/*.txt))
FEATS := $(SRCS:data/%.txt=build/feat/%.feat)

build/model.txt: $(FEATS)
\t$(file >build/train.list,$(FEATS))
\txargs cat < build/train.list > $@

build/meta/%.meta: data/%.txt
\tcp $< $@

build/scale/%.scale: data/%.txt build/meta/%.meta
\tcat $^ > $@

build/feat/%.feat: build/scale/%.scale
\tcp $< $@
"""


def stem(i):
    return "i%06d" % i


def content(i, rev):
    return "input %d rev %d\n" % (i, rev)


def write_ninja(path, n):
    with open(path, "w") as f:
        f.write("rule cp\n  command = cp $in $out\n")
        f.write("rule cat\n  command = cat $in > $out\n")
        f.write("rule train\n  command = xargs cat < $out.rsp > $out\n"
                "  rspfile = $out.rsp\n  rspfile_content = $in\n")
        feats = []
        for i in range(n):
            s = stem(i)
            f.write("build build/meta/%s.meta: cp data/%s.txt\n" % (s, s))
            f.write("build build/scale/%s.scale: cat data/%s.txt build/meta/%s.meta\n"
                    % (s, s, s))
            f.write("build build/feat/%s.feat: cp build/scale/%s.scale\n" % (s, s))
            feats.append("build/feat/%s.feat" % s)
        f.write("build build/model.txt: train " + " ".join(feats) + "\n")
        f.write("default build/model.txt\n")


def layout(root, tool, n):
    d = os.path.join(root, tool)
    os.makedirs(os.path.join(d, "data"))
    for i in range(n):
        with open(os.path.join(d, "data", stem(i) + ".txt"), "w") as f:
            f.write(content(i, 0))
    if tool == "vlbuild":
        with open(os.path.join(d, "vlbuild.rules"), "w") as f:
            f.write(VLBUILD_RULES)
    elif tool == "ninja":
        write_ninja(os.path.join(d, "build.ninja"), n)
    elif tool == "make":
        for sub in ("meta", "scale", "feat"):
            os.makedirs(os.path.join(d, "build", sub))
        with open(os.path.join(d, "Makefile"), "w") as f:
            f.write(MAKEFILE)
    return d


def command(tool, d, jobs, exe):
    if tool == "vlbuild":
        return [exe["vlbuild"], "-C", d, "-j", str(jobs), "-q"]
    if tool == "ninja":
        return [exe["ninja"], "-C", d, "-j", str(jobs)]
    return [exe["make"], "-C", d, "-j", str(jobs)]


TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_timed(cmd, rss=False):
    """Run cmd; return (wall seconds, peak RSS in MiB or None, exit status, output,
    CPU seconds (user + system of the tool and the children it waited for)).

    With rss, the peak RSS is measured by /usr/bin/time (%M), whose child is forked
    from a small process. os.wait4's ru_maxrss of a child of this Python process
    would also count the Python image the child was forked from (Linux records the
    old image's high-water mark at exec), so it is only the fallback, an upper bound.
    Timed runs are run without /usr/bin/time, as the tool alone.
    """
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile() as tf:
        full = cmd
        if rss and TIME:
            full = [TIME, "-f", "%M", "-o", tf.name] + cmd
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
        peak = None
        if rss:
            peak = ru.ru_maxrss / 1024.0
            if TIME:
                try:
                    peak = int(open(tf.name).read().split()[-1]) / 1024.0
                except (ValueError, IndexError):
                    pass
    return wall, peak, p.returncode, text, ru.ru_utime + ru.ru_stime


class Failure(Exception):
    pass


def check(tool, d, n, kind, rc, text):
    """Check one build's exit status, summary and train output."""
    if rc != 0:
        raise Failure("%s %s build exited %d:\n%s" % (tool, kind, rc, text[-2000:]))
    if tool == "vlbuild":
        # the summary line: "vlbuild: R ran, [...,] U up to date, F failed, ..."
        m = re.search(r"^vlbuild: (\d+) ran, .*?(\d+) failed", text, re.M)
        if not m:
            raise Failure("vlbuild printed no summary:\n" + text[-2000:])
        ran, failed = int(m.group(1)), int(m.group(2))
        want = {"full": 3 * n + 1, "noop": 0, "change": 4}[kind]
        if ran != want or failed:
            raise Failure("vlbuild %s build: %d ran, %d failed (want %d ran)"
                          % (kind, ran, failed, want))
    elif kind == "noop":
        if tool == "ninja" and "no work to do" not in text:
            raise Failure("ninja no-op did work:\n" + text[-2000:])
        if tool == "make" and "is up to date" not in text:
            raise Failure("make no-op did work:\n" + text[-2000:])
    with open(os.path.join(d, "build", "model.txt")) as f:
        lines = f.read().splitlines()
    if len(lines) != 2 * n:
        raise Failure("%s %s build: model.txt has %d lines, want %d"
                      % (tool, kind, len(lines), 2 * n))
    want = set()
    for name in os.listdir(os.path.join(d, "data")):
        with open(os.path.join(d, "data", name)) as f:
            want.add(f.read().rstrip("\n"))
    if len(want) != n:
        raise Failure("%s: data/ holds %d distinct inputs, want %d" % (tool, len(want), n))
    if set(lines) != want:
        raise Failure("%s %s build: model.txt does not hold the current inputs"
                      % (tool, kind))


def median(xs):
    return statistics.median(xs)


def fmt_s(x):
    return "%.3f s" % x


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "nproc %d; %s; %s %s; Python %s" % (
        os.cpu_count(), cpu, platform.system(), platform.release(),
        platform.python_version())


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def version(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
        return (r.stdout or r.stderr).splitlines()[0].strip()
    except (OSError, IndexError):
        return "?"


def git_describe():
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True).stdout.strip()
        return head + (" (src/ has uncommitted changes)" if dirty else "")
    except OSError:
        return "?"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def dry_run(args, exe, n):
    """vlbuild -n on a tree that was never built: graph and plan, nothing runs.

    A cheap stand-in when a full build of N inputs would take too long: it parses,
    globs, expands the graph, opens the state and plans 3N+1 actions (all with no
    record, so all would run), and reports wall time, CPU time and peak RSS."""
    root = tempfile.mkdtemp(prefix="vlbench-engine-dry-", dir=args.dir)
    try:
        vl = snapshot(exe, os.path.join(root, "bin"))
        print("machine: " + machine())
        print("vlbuild: %s, sha256 %s, copied from %s" % (
            version([vl, "--version"]), sha256(vl), os.path.abspath(exe)))
        print("load:    " + load())
        d = layout(root, "vlbuild", n)
        print("tree:    %s   N=%d inputs, %d actions, vlbuild -n (dry run) only"
              % (root, n, 3 * n + 1))
        walls, cpus, rsss = [], [], []
        for r in range(args.noop_runs):
            wall, rss, rc, text, cpu = run_timed([vl, "-C", d, "-n", "-q"], rss=True)
            m = re.search(r"^vlbuild: (\d+) would run", text, re.M)
            if rc != 0 or not m or int(m.group(1)) != 3 * n + 1:
                print("CHECK FAILED: dry run exited %d:\n%s" % (rc, text[-2000:]))
                return 1
            walls.append(wall)
            cpus.append(cpu)
            rsss.append(rss)
        print("load:    " + load() + " (at the end)")
        print("dry run  vlbuild  wall median %.3f s (runs %s), CPU median %.3f s, "
              "peak RSS max %.1f MiB (%d KiB)" % (
                  median(walls), " ".join("%.3f" % x for x in walls), median(cpus),
                  max(rsss), int(max(rsss) * 1024)))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


# what vlbuild loads from its own directory (vlbuild-exec: older vlbuilds)
HELPERS = ("vlbuild-exec", "vlbuild-media.so", "vlbuild-http.so")


def snapshot(src, bindir):
    """Copy the vlbuild binary, and the helpers beside it, into bindir."""
    os.makedirs(bindir, exist_ok=True)
    dst = os.path.join(bindir, "vlbuild")
    shutil.copy2(src, dst)
    for h in HELPERS:
        hp = os.path.join(os.path.dirname(os.path.abspath(src)), h)
        if os.path.exists(hp):
            shutil.copy2(hp, os.path.join(bindir, h))
    return dst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of inputs (3N+1 actions)")
    ap.add_argument("--tools", default="vlbuild,ninja,make",
                    help="comma-separated subset of vlbuild,ninja,make "
                         "(default: all three)")
    ap.add_argument("-j", "--jobs", type=int, default=2,
                    help="parallel jobs for every tool (default 2)")
    ap.add_argument("--noop-runs", type=int, default=7,
                    help="timed steady-state no-op runs per tool (>= 5, default 7)")
    ap.add_argument("--change-runs", type=int, default=5,
                    help="timed one-input-changed runs per tool (>= 3, default 5)")
    ap.add_argument("--vlbuild", default=os.path.join(REPO, "build", "vlbuild"),
                    help="the vlbuild binary (default: build/vlbuild); it is copied "
                         "into the tree first, so a rebuild during the run cannot "
                         "change it")
    ap.add_argument("--ninja", default=shutil.which("ninja") or "ninja")
    ap.add_argument("--make", default=shutil.which("make") or "make")
    ap.add_argument("--dir", default="/tmp",
                    help="parent of the temporary tree (default /tmp)")
    ap.add_argument("--json", help="also write the raw figures to this file")
    ap.add_argument("--keep", action="store_true", help="keep the trees")
    ap.add_argument("--dry-run", action="store_true",
                    help="vlbuild alone: only time `vlbuild -n` (graph and plan, nothing "
                         "runs) on a tree that was never built, --noop-runs times; for N "
                         "whose full build takes too long")
    ap.add_argument("--tree", help="re-measure a tree kept by an earlier --keep run of "
                    "the same N and tools: no layout and no full build (so no full-build "
                    "figures); its own vlbuild snapshot (TREE/bin/vlbuild) is used "
                    "unless --vlbuild is given, which replaces it. Implies --keep")
    args = ap.parse_args()

    tools = [t for t in args.tools.split(",") if t]
    for t in tools:
        if t not in ("vlbuild", "ninja", "make"):
            ap.error("unknown tool " + t)
    if args.noop_runs < 5 or args.change_runs < 3:
        ap.error("need at least 5 no-op runs and 3 change runs")
    n = args.n
    if n < 1:
        ap.error("N must be at least 1")
    if args.dry_run:
        return dry_run(args, args.vlbuild, n)

    exe = {"ninja": args.ninja, "make": args.make}
    reuse = bool(args.tree)
    if reuse:
        root = os.path.abspath(args.tree)
        args.keep = True
        for t in tools:
            if not os.path.isdir(os.path.join(root, t)):
                ap.error("%s has no %s tree" % (root, t))
        exe["vlbuild"] = os.path.join(root, "bin", "vlbuild")
        if "vlbuild" in tools and args.vlbuild != ap.get_default("vlbuild"):
            # an explicit --vlbuild replaces the tree's snapshot (same state format
            # assumed; the checks still demand 0 ran on every no-op)
            snapshot(args.vlbuild, os.path.join(root, "bin"))
    else:
        root = tempfile.mkdtemp(prefix="vlbench-engine-", dir=args.dir)
    if "vlbuild" in tools and not reuse:
        # Snapshot the binary and its helpers: vlbuild starts programs from its
        # own directory for every shell action, and build/ may be relinked while
        # we run.
        exe["vlbuild"] = snapshot(args.vlbuild, os.path.join(root, "bin"))

    print("machine: " + machine())
    if "vlbuild" in tools:
        print("vlbuild: %s, sha256 %s, copied from %s%s" % (
            version([exe["vlbuild"], "--version"]), sha256(exe["vlbuild"]),
            os.path.abspath(args.vlbuild) if not reuse or
            args.vlbuild != ap.get_default("vlbuild") else "TREE/bin/vlbuild",
            "" if reuse or args.vlbuild != ap.get_default("vlbuild")
            else " (repository HEAD %s)" % git_describe()))
    if "ninja" in tools:
        print("ninja:   %s" % version([exe["ninja"], "--version"]))
    if "make" in tools:
        print("make:    %s" % version([exe["make"], "--version"]))
    print("load:    " + load())
    print("rss:     %s" % ("/usr/bin/time %M" if TIME else
                           "os.wait4 ru_maxrss (upper bound: counts the forking Python image)"))
    print("tree:    %s   N=%d inputs, %d actions, -j%d, tools %s"
          % (root, n, 3 * n + 1, args.jobs, ",".join(tools)))
    sys.stdout.flush()

    res = {t: {"full": None, "full_rss": None, "first_noop": None, "noop": [],
               "noop_rss": None, "change": [],
               "noop_cpu": [], "change_cpu": []} for t in tools}
    dirs = {}
    try:
        t0 = time.perf_counter()
        for t in tools:
            dirs[t] = os.path.join(root, t) if reuse else layout(root, t, n)
        if not reuse:
            print("layout:  %.1f s" % (time.perf_counter() - t0))

        for t in tools if not reuse else []:
            wall, rss, rc, text, _ = run_timed(command(t, dirs[t], args.jobs, exe),
                                               rss=True)
            check(t, dirs[t], n, "full", rc, text)
            res[t]["full"], res[t]["full_rss"] = wall, rss
            print("full     %-8s %9.2f s  peak RSS %7.1f MiB" % (t, wall, rss))
            sys.stdout.flush()

        # First no-op (not counted): vlbuild re-hashes the files the full build
        # wrote within its racy-timestamp window here. Every tool gets one.
        time.sleep(0.05)
        for t in tools:
            wall, _, rc, text, _ = run_timed(command(t, dirs[t], args.jobs, exe))
            check(t, dirs[t], n, "noop", rc, text)
            res[t]["first_noop"] = wall
            print("no-op #1 %-8s %9.3f s  (first no-op after the build, not counted)"
                  % (t, wall))

        for r in range(args.noop_runs):
            for t in tools:  # interleaved, so drift hits every tool alike
                wall, _, rc, text, cpu = run_timed(command(t, dirs[t], args.jobs, exe))
                check(t, dirs[t], n, "noop", rc, text)
                res[t]["noop"].append(wall)
                res[t]["noop_cpu"].append(cpu)
        for t in tools:
            print("no-op    %-8s median %.3f s  runs %s  (CPU median %.3f s)" % (
                t, median(res[t]["noop"]),
                " ".join("%.3f" % x for x in res[t]["noop"]), median(res[t]["noop_cpu"])))
        for t in tools:  # one more steady no-op, under /usr/bin/time, for memory
            _, rss, rc, text, _ = run_timed(command(t, dirs[t], args.jobs, exe), rss=True)
            check(t, dirs[t], n, "noop", rc, text)
            res[t]["noop_rss"] = rss
            print("no-op    %-8s peak RSS %.1f MiB" % (t, rss))
        sys.stdout.flush()

        for r in range(args.change_runs):
            i = (r * 7919 + n // 2) % n
            time.sleep(0.05)  # leave the previous build's timestamps behind
            for t in tools:
                path = os.path.join(dirs[t], "data", stem(i) + ".txt")
                with open(path) as f:
                    rev = int(f.read().split()[-1]) + 1
                with open(path, "w") as f:
                    f.write(content(i, rev))
            for t in tools:
                wall, _, rc, text, cpu = run_timed(command(t, dirs[t], args.jobs, exe))
                check(t, dirs[t], n, "change", rc, text)
                res[t]["change"].append(wall)
                res[t]["change_cpu"].append(cpu)
        for t in tools:
            print("change   %-8s median %.3f s  runs %s  (CPU median %.3f s)" % (
                t, median(res[t]["change"]),
                " ".join("%.3f" % x for x in res[t]["change"]), median(res[t]["change_cpu"])))
        print("checks:  passed (after every build model.txt has %d lines holding the "
              "%d current inputs%s)" % (
                  2 * n, n, "; vlbuild ran 0 actions on every no-op and 4 on every "
                  "change" if "vlbuild" in tools else ""))
    except Failure as e:
        print("CHECK FAILED: %s" % e)
        print("tree kept at " + root)
        return 1

    print("load:    " + load() + " (at the end)")
    print()
    def opt(x, f):
        return "-" if x is None else f % x

    def ratio(a, b):
        return "-" if a is None or b is None else "%.2fx" % (a / b)

    # wall: the figures the targets are about; CPU (user + system, the tool and its
    # children): a cross-check that moves less with other load on the machine.
    cols = [
        ("full build", lambda r: r["full"], "%.2f s"),
        ("no-op (median of %d)" % args.noop_runs, lambda r: median(r["noop"]), "%.3f s"),
        ("one input changed (median of %d)" % args.change_runs,
         lambda r: median(r["change"]), "%.3f s"),
        ("no-op CPU", lambda r: median(r["noop_cpu"]), "%.3f s"),
        ("one change CPU", lambda r: median(r["change_cpu"]), "%.3f s"),
        ("peak RSS, no-op", lambda r: r["noop_rss"], "%.1f MiB"),
        ("peak RSS, full build", lambda r: r["full_rss"], "%.1f MiB"),
    ]
    print("| N=%d, -j%d | %s |" % (n, args.jobs, " | ".join(c[0] for c in cols)))
    print("| --- |" + " ---: |" * len(cols))
    for t in tools:
        print("| %s | %s |" % (t, " | ".join(opt(c[1](res[t]), c[2]) for c in cols)))
    if "vlbuild" in tools:
        for t in tools:
            if t != "vlbuild":
                print("| vlbuild / %s | %s |" % (t, " | ".join(
                    ratio(c[1](res["vlbuild"]), c[1](res[t])) for c in cols)))

    if "vlbuild" in tools and len(tools) > 1:
        # The runs of a repetition are back to back, so the median of the per-run
        # ratios moves less with other load on the machine than the ratio of medians.
        print()
        print("paired ratios (median over repetitions of vlbuild's wall time / the other's, "
              "the runs back to back):")
        for t in tools:
            if t != "vlbuild":
                print("  vlbuild / %s: no-op %.2fx, one input changed %.2fx" % (
                    t, median([a / b for a, b in zip(res["vlbuild"]["noop"], res[t]["noop"])]),
                    median([a / b for a, b in zip(res["vlbuild"]["change"],
                                                  res[t]["change"])])))

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"n": n, "jobs": args.jobs, "machine": machine(),
                       "results": res}, f, indent=1)
    if args.keep:
        print("tree kept at " + root)
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
