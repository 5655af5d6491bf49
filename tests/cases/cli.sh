# The command line: targets by rule, source or path; include and default;
# warnings; explain, status, graph, clean, --trace, -n, --help, --version.
. "$(dirname "$0")/lib.sh"
mkdir -p data lib
echo a >data/a.txt
echo b >data/b.txt
cat >lib/common.rules <<'RULES'
var suffix = .up
RULES
cat >vlbuild.rules <<'RULES'
include lib/common.rules
source raw = data/*.txt
source none = nothing/*.mp4
rule up
    each f in raw
    run  tr a-z A-Z < $in > $out
    out  build/{f.stem}$suffix
rule both
    in   up
    run  cat $in > $out
    out  build/both.txt
rule stamped
    do   stamp label=all-done
    in   both
    out  build/stamp.txt
default both
RULES
vl -n
expect_rc 0
expect_output "warning: vlbuild.rules:3:15: source none: 'nothing/*.mp4' matches no file"
expect_output "[1/3] up build/a.up (no record of a previous run)"
expect_output "3 would run"
expect_no_file build/a.up

# a target by path builds just its chain; the path is normalised first
vl build/./b.up
expect_summary 1 0 0
expect_file build/b.up "B"
# the default
vl
expect_summary 2 1 0
expect_no_file build/stamp.txt
# a rule name, with a trace
vl --trace trace.json stamped
expect_summary 1 3 0
grep -q "^all-done" build/stamp.txt || fail "stamp action did not write its label"
python3 -c "import json; t=json.load(open('trace.json')); assert t['traceEvents'][0]['cat']=='stamped'" ||
    fail "trace is not valid Chrome trace JSON"
vl nosuchtarget
expect_rc 2
expect_output "unknown target 'nosuchtarget'"

# explain names the input that changed
echo changed >data/a.txt
vl explain stamped
expect_rc 0
expect_output "build/stamp.txt (rule stamped, vlbuild.rules:12): will run if its rebuilt inputs change"
expect_output "build/a.up (rule up, vlbuild.rules:4): will run: input data/a.txt changed"
vl status
expect_output "up                                1          1"
vl graph
expect_output '"data/a.txt" -> "a:build/a.up"'
vl -q
expect_no_output "[1/"
expect_summary 2 1 0

# clean removes what vlbuild made, and only that
vl clean
expect_output "removed 4 files"
expect_no_file build/a.up
expect_file data/a.txt
vl targets
expect_output "stamped"
expect_output "raw"
# bash completion offers the rules of the project
out=$(PATH="$(dirname "$VLBUILD"):$PATH" bash -c '
    source "$VL_SOURCE_DIR/scripts/completion/vlbuild.bash"
    COMP_WORDS=(vlbuild st); COMP_CWORD=1; _vlbuild; printf "%s\n" "${COMPREPLY[@]}"')
expect_output "stamped"
expect_output "status"
vl --version
expect_output "vlbuild 0."
vl --help
expect_output "usage: vlbuild"
vl -j 0
expect_rc 2
expect_output "-j expects a count of 1 or more"
finish
