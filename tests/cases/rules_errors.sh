# Every rules-file error has its message and location.  Each file in
# tests/rules_errors is a rules file whose first line, `# expect: TEXT`,
# names what vlbuild must print; vlbuild must exit with status 2.
. "$(dirname "$0")/lib.sh"
dir="$VL_SOURCE_DIR/tests/rules_errors"
n=0
for case in "$dir"/*.rules; do
    rm -rf ./* .vlbuild
    cp "$case" vlbuild.rules
    expect=$(head -n 1 vlbuild.rules | sed 's/^# expect: //')
    vl -n
    name=$(basename "$case")
    [ "$rc" -eq 2 ] || fail "$name: expected exit status 2, got $rc: $out"
    grep -qF -- "$expect" <<<"$out" || fail "$name: expected '$expect', got: $out"
    n=$((n + 1))
done
[ "$n" -ge 30 ] || fail "only $n error cases found in $dir"
finish
