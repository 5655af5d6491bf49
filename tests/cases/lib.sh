# lib.sh - shared helpers of the integration cases.  Each case is a bash
# script that makes a project in a fresh temporary directory, runs vlbuild on
# it and asserts on files and on vlbuild's summary line:
#   vlbuild: R ran, C restored, U up to date, F failed[, N not run], S s
set -euo pipefail
: "${VLBUILD:?VLBUILD must name the vlbuild binary}"
root="${VL_TEST_TMP:-/tmp}/$(basename "$0" .sh).$$"
rm -rf "$root"
mkdir -p "$root"
cd "$root"
trap 'cd /; rm -rf "$root"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# vl ARGS...: runs vlbuild, keeping its stdout+stderr in $out and status in $rc
vl() {
    set +e
    out=$("$VLBUILD" "$@" 2>&1)
    rc=$?
    set -e
    printf '%s\n' "$out" >>"$root.log"
}

# expect_summary RAN UPTODATE FAILED [RESTORED]: checks the last summary line
expect_summary() {
    local line want="$1 ran, ${4:-0} restored, $2 up to date, $3 failed"
    line=$(printf '%s\n' "$out" | grep '^vlbuild: .* ran, ' | tail -n 1)
    case "$line" in
    "vlbuild: $want"*) ;;
    *) fail "line ${BASH_LINENO[0]}: expected '$want', got '$line'"$'\n'"$out" ;;
    esac
}

expect_rc() {
    [ "$rc" -eq "$1" ] || fail "line ${BASH_LINENO[0]}: expected exit status $1, got $rc"$'\n'"$out"
}

expect_output() {
    grep -qF -- "$1" <<<"$out" ||
        fail "line ${BASH_LINENO[0]}: expected output to contain '$1'"$'\n'"$out"
}

expect_no_output() {
    if grep -qF -- "$1" <<<"$out"; then
        fail "line ${BASH_LINENO[0]}: expected output not to contain '$1'"$'\n'"$out"
    fi
}

expect_file() {
    [ -f "$1" ] || fail "line ${BASH_LINENO[0]}: expected file $1"
    if [ $# -gt 1 ] && [ "$(cat "$1")" != "$2" ]; then
        fail "line ${BASH_LINENO[0]}: $1 holds '$(cat "$1")', expected '$2'"
    fi
}

expect_no_file() {
    [ ! -e "$1" ] || fail "line ${BASH_LINENO[0]}: expected no file $1"
}

# ran_rules: the rules of the actions that ran, from the [i/n] lines, sorted
ran_lines() {
    printf '%s\n' "$out" | sed -n 's/^\[[0-9]*\/[0-9]*\] //p' | sort
}

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
    fi
    echo "ok"
}

# the pipeline of the engine tests: three chained per-item rules and an aggregate
write_pipeline() {
    mkdir -p data
    cat >vlbuild.rules <<'RULES'
var tag = v1
source raw = data/*.txt

rule meta
    each f in raw
    run  (echo meta-$tag; cat $in) > $out
    out  build/meta/{f.stem}.meta

rule scale
    each f in raw
    in   build/meta/{f.stem}.meta
    run  cat $in > $out
    out  build/scale/{f.stem}.scale

rule feat
    each s in scale
    run  tr a-z A-Z < $in > $out
    out  build/feat/{s.stem}.feat

rule train
    in   feat
    run  cat $in > $out
    out  build/model.txt
RULES
}

# synth_rules COPIES SIZE FRAMES CLASS:SEED...: prints, for each CLASS, a
# rule named CLASS that makes COPIES MPEG-4 synth clips of that class
# (SIZE, FRAMES frames, seed SEED) as data/CLASS/{copy}.mp4: the labelled
# dataset of the training cases (MPEG-4, as libx264's bytes vary with the
# other encoders run in the same process, docs/video.md)
synth_rules() {
    local copies="$1" size="$2" frames="$3" class_seed
    shift 3
    for class_seed in "$@"; do
        cat <<RULES
rule ${class_seed%%:*}
    do     synth class=${class_seed%%:*} size=$size frames=$frames codec=mpeg4 seed=${class_seed#*:}
    copies $copies
    out    data/${class_seed%%:*}/{copy}.mp4
RULES
    done
}

# folder_labels_rule INPUT...: prints rule `labels`, which writes
# data/labels.csv (file,label) labelling each file of the INPUT sets with
# the name of its folder
folder_labels_rule() {
    cat <<RULES
rule labels
    in     $*
    run    { echo file,label; for f in \$in; do echo "\$f,\$(basename "\$(dirname "\$f")")"; done; } > \$out
    out    data/labels.csv
RULES
}
