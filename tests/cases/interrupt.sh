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
# the actions running at the signal left nothing behind; those that had
# finished are complete and recorded
finished=0
for f in build/*.out; do
    [ -e "$f" ] || continue
    grep -q partial "$f" && fail "half-written output $f survived"
    finished=$((finished + 1))
done
vl -j2
expect_rc 0
# exactly what had not finished runs now: the other slow actions and the aggregate
expect_summary $((7 - finished)) "$finished" 0
expect_file build/all.txt "1
2
3
4
5
6"
vl
expect_summary 0 7 0
finish
