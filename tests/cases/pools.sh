# Pools bound concurrency: a user pool of depth 1 runs one at a time even at
# -j4, while actions in the cpu pool do run side by side.  No timings: the
# actions themselves observe what runs alongside them.
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
    run  mkdir -p par; touch par/{f.stem}; n=0; while [ $(ls par | wc -l) -lt 2 ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done; ls par | wc -l > $out
    out  build/{f.stem}.b
RULES
vl -j4
expect_rc 0
expect_summary 8 0 0
# every parallel action saw at least one other one started beside it
for f in build/*.b; do
    [ "$(cat "$f")" -ge 2 ] || fail "$f ran alone: the cpu pool did not run actions side by side"
done
finish
