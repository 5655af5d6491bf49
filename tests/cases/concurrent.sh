# Two vlbuilds on one project: the second waits for the first (or, with
# --no-wait, says that it is busy), and the state stays consistent.  The
# first's action sleeps 3 s, long enough for both checks on a loaded machine.
. "$(dirname "$0")/lib.sh"
mkdir -p data
echo 1 >data/a.txt
cat >vlbuild.rules <<'RULES'
source raw = data/*.txt
rule slow
    each f in raw
    run  sleep 3; cp $in $out
    out  build/{f.stem}.out
RULES
"$VLBUILD" >first.log 2>&1 &
first=$!
# until the first holds the lock (its pid in the lock file): a loaded machine
# can take longer than any fixed sleep to start it
for _ in $(seq 1 100); do
    [ "$(head -n 1 .vlbuild/lock 2>/dev/null)" = "$first" ] && break
    sleep 0.1
done
vl --no-wait
expect_rc 2
expect_output "another vlbuild (pid $first) is building this project"
vl
expect_rc 0
expect_output "waiting for another vlbuild (pid $first)"
expect_summary 0 1 0
wait $first
grep -q "1 ran" first.log || fail "first build did not run: $(cat first.log)"
finish
