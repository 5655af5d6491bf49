# lock_removed: deleting .vlbuild/lock while a vlbuild builds does not let a
# second vlbuild run the same actions at once: the lock is on the state
# directory, and the file only tells the holder's pid.
. "$(dirname "$0")/lib.sh"
mkdir -p data
echo 1 >data/a.txt
cat >vlbuild.rules <<'RULES'
source raw = data/*.txt
rule slow
    each f in raw
    run  echo start >>../runs.log; sleep 2; cp $in $out; echo end >>../runs.log
    out  build/{f.stem}.out
RULES
mkdir -p sub
mv vlbuild.rules data sub/
cd sub
"$VLBUILD" >../first.log 2>&1 &
first=$!
for i in $(seq 1 100); do [ -s ../runs.log ] && break; sleep 0.05; done
[ -s ../runs.log ] || fail "the first build did not start: $(cat ../first.log)"
rm .vlbuild/lock
vl --no-wait
expect_rc 2
expect_output "another vlbuild"
expect_output "is building this project"
vl
expect_rc 0
expect_output "waiting for another vlbuild"
expect_summary 0 1 0
wait $first || fail "the first build failed: $(cat ../first.log)"
[ "$(tr '\n' ' ' <../runs.log)" = "start end " ] || fail "the action ran twice or at once: $(cat ../runs.log)"
# the lock is taken again with the file gone, and the pid is written anew
rm .vlbuild/lock
vl
expect_summary 0 1 0
grep -qE '^[0-9]+$' .vlbuild/lock || fail "no pid in the new lock file"
finish
