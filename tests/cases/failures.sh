# A failing command: its outputs are removed, nothing is recorded, users do
# not run; -k N keeps going until N failures.
. "$(dirname "$0")/lib.sh"
mkdir -p data
for i in 1 2 3 4; do echo "$i" >data/f$i.txt; done
cat >vlbuild.rules <<'RULES'
source raw = data/*.txt
rule step
    each f in raw
    run  echo partial > $out; grep -qv 3 $in && grep -qv 4 $in && cp $in $out
    out  build/{f.stem}.out
rule all
    in   step
    run  cat $in > $out
    out  build/all.txt
RULES
vl -j1
expect_rc 1
expect_output "FAILED: step build/f3.out"
expect_output "command exited with status 1"
expect_no_file build/f3.out
expect_no_file build/all.txt
# stopped at the first failure: f4 was not started
expect_no_output "step build/f4.out"
expect_summary 2 0 1

# -k 0: keep going past every failure; the independent actions all run
vl -j1 -k 0
expect_rc 1
expect_summary 0 2 2
expect_output "FAILED: step build/f4.out"
expect_no_file build/f4.out
expect_output "1 not run"

# fixed input: the failed ones rerun, nothing else
echo 5 >data/f3.txt
echo 6 >data/f4.txt
vl -j1
expect_rc 0
expect_summary 3 2 0
expect_file build/all.txt "1
2
5
6"

# an action that exits 0 but forgets an output fails
cat >>vlbuild.rules <<'RULES'
rule lazy
    run  true
    out  build/lazy.txt
RULES
vl lazy
expect_rc 1
expect_output "did not write build/lazy.txt"
finish
