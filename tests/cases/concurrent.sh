# Two vlbuilds on one project: the second waits for the first (or, with
# --no-wait, says that it is busy), and the state stays consistent.
. "$(dirname "$0")/lib.sh"
mkdir -p data
echo 1 >data/a.txt
cat >vlbuild.rules <<'RULES'
source raw = data/*.txt
rule slow
    each f in raw
    run  sleep 1; cp $in $out
    out  build/{f.stem}.out
RULES
"$VLBUILD" >first.log 2>&1 &
first=$!
sleep 0.3
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
