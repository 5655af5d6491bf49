# SIGINT in the middle of a build: children stop, their outputs are removed,
# nothing unfinished is recorded, exit status 130; the rebuild is correct.
. "$(dirname "$0")/lib.sh"
mkdir -p data
for i in 1 2 3 4 5 6; do echo "$i" >data/f$i.txt; done
cat >vlbuild.rules <<'RULES'
source raw = data/*.txt
rule slow
    each f in raw
    run  echo partial > $out; sleep 1; cp $in $out
    out  build/{f.stem}.out
rule all
    in   slow
    run  cat $in > $out
    out  build/all.txt
RULES
"$VLBUILD" -j2 >build.log 2>&1 &
pid=$!
sleep 1.5
kill -INT $pid
set +e
wait $pid
rc=$?
set -e
out=$(cat build.log)
expect_rc 130
expect_output "interrupted"
# the two actions running at the signal left nothing behind
for f in build/*.out; do
    [ -e "$f" ] || continue
    grep -q partial "$f" && fail "half-written output $f survived"
done
vl -j2
expect_rc 0
n_ran=$(printf '%s\n' "$out" | sed -n 's/^vlbuild: \([0-9]*\) ran.*/\1/p')
# the two finished before the signal are recorded; the rest runs now
[ "$n_ran" -ge 3 ] && [ "$n_ran" -le 6 ] || fail "unexpected number of actions rerun: $n_ran"
expect_file build/all.txt "1
2
3
4
5
6"
vl
expect_summary 0 7 0
finish
