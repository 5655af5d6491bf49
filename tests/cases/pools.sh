# Pools bound concurrency: a user pool of depth 1 runs one at a time even at -j4.
. "$(dirname "$0")/lib.sh"
mkdir -p data
for i in 1 2 3 4; do echo $i >data/$i.txt; done
cat >vlbuild.rules <<'RULES'
pool single depth=1
source raw = data/*.txt
rule one_at_a_time
    each f in raw
    run  mkdir lock.d || { echo "two jobs at once"; exit 1; }; sleep 0.2; rmdir lock.d; cp $in $out
    out  build/{f.stem}.a
    pool single
rule parallel
    each f in raw
    run  sleep 0.5; cp $in $out
    out  build/{f.stem}.b
RULES
start=$(date +%s.%N)
vl -j4
end=$(date +%s.%N)
expect_rc 0
expect_summary 8 0 0
# the 4 parallel sleeps of 0.5 s overlap: well under 2 s in total
python3 -c "import sys; sys.exit(0 if $end - $start < 1.9 else 1)" || fail "-j4 did not run in parallel"
finish
