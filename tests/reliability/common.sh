# common.sh - helpers shared by the reliability cases (tests/cases/reliability_*.sh),
# sourced after tests/cases/lib.sh.  See docs/reliability.md.

# quickstart_copy DIR: a copy of the quickstart's rules (never its build
# products, which a developer's run may have left there) in DIR
quickstart_copy() {
    mkdir -p "$1"
    cp "$VL_SOURCE_DIR"/examples/quickstart/*.rules "$1"/
}

# sanitizer_report FILE: succeeds when FILE holds a sanitizer's report
sanitizer_report() {
    grep -qE 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer' "$1"
}

# integrity_ok DB: PRAGMA integrity_check says ok (sqlite3 CLI, else python3)
integrity_ok() {
    local r
    if command -v sqlite3 >/dev/null 2>&1; then
        r=$(sqlite3 "$1" 'PRAGMA integrity_check;' 2>&1) || true
    else
        r=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' "$1" 2>&1) || true
    fi
    [ "$r" = ok ] || { echo "integrity_check of $1: $r" >&2; return 1; }
}

# temporaries DIR...: lists the files that writers leave only while writing:
# <path>.vltmp.<pid>[.<thread>] (src/util/fs.c, npy.c, clipwriter.c,
# videowriter.c, safetensors), <path>.vlcache-<pid>-... (cache restores) and
# anything in a cache's tmp/ folder.
temporaries() {
    find "$@" -type f \( -name '*.vltmp.*' -o -name '*.vlcache-*' -o -path '*/cache/tmp/*' \) 2>/dev/null | sort
}

# descendants PID: the pids of every descendant of PID, children first
descendants() {
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do
        echo "$c"
        descendants "$c"
    done
}

# reported_processes PID: the processes of vlbuild (PID) whose death it must
# report: its children (the shells of `run` actions; built-ins are threads),
# and what a command started when the command begins with `set -e`, the mark
# of one written to fail when any step does (docs/rules.md, "When a command
# fails").  What another command starts may die unseen, as in any shell:
# `echo "$(cmd)"` drops cmd's status.
reported_processes() {
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do
        echo "$c"
        case "$(tr '\0' ' ' 2>/dev/null <"/proc/$c/cmdline" || true)" in
        "/bin/sh -c set -e"*) descendants "$c" ;;
        esac
    done
}

# wait_gone PID...: waits (at most 10 s) until none of the pids is alive
wait_gone() {
    local i p alive
    for i in $(seq 1 200); do
        alive=0
        for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && return 0
        sleep 0.05
    done
    echo "processes still alive after 10 s: $*" >&2
    return 1
}

# same_tree REF DIR...: every file under the named folders of REF and of the
# current directory is the same, byte for byte, except the run's timings:
# "seconds" in the metrics logs and the timeline of report.html (which must
# still be whole).  Temporaries (see `temporaries`) are left out.  Prints
# each difference; fails when there is one.
tree_files() {
    find "$@" -type f ! -name '*.vltmp.*' ! -name '*.vlcache-*' 2>/dev/null | sort
}
same_tree() {
    local ref="$1" f bad=0
    shift
    diff <(cd "$ref" && tree_files "$@") <(tree_files "$@") >&2 || bad=1
    for f in $(cd "$ref" && tree_files "$@"); do
        [ -f "$f" ] || continue
        case "$f" in
        *.jsonl)
            cmp -s <(sed 's/"seconds":[0-9.e+-]*//' "$ref/$f") <(sed 's/"seconds":[0-9.e+-]*//' "$f") ||
                { echo "differs: $f" >&2; bad=1; } ;;
        */report.html)
            tail -c 200 "$f" | grep -q '</html>' || { echo "incomplete: $f" >&2; bad=1; } ;;
        *) cmp -s "$ref/$f" "$f" || { echo "differs: $f" >&2; bad=1; } ;;
        esac
    done
    return $bad
}
