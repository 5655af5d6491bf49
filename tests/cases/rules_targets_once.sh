# A target named many times, in any spelling or through its set, is one
# target: 20,000 repetitions used to hold 20,000 copies of every set.
. "$(dirname "$0")/lib.sh"
cat >vlbuild.rules <<'RULES'
rule parts
    copies 200
    run  echo {copy} > $out
    out  build/p{copy}.txt
RULES
vl explain build/p1.txt ./build/p1.txt build//p1.txt parts parts
expect_rc 0
n=$(printf '%s\n' "$out" | grep -c '^build/p1.txt (rule parts')
[ "$n" -eq 1 ] || fail "build/p1.txt explained $n times"$'\n'"$out"
n=$(printf '%s\n' "$out" | grep -c '^build/p[0-9]*.txt (rule parts')
[ "$n" -eq 200 ] || fail "$n targets explained, expected 200"
args=()
for _ in $(seq 20000); do args+=(parts); done
vl "${args[@]}"
expect_rc 0
expect_summary 200 0 0
finish
