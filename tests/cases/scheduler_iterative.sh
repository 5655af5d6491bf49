# scheduler_iterative: the scheduler handles completions in a loop, never by
# recursion.  6,000 actions whose outputs cannot be made (their folder would
# sit under a file) fail as they start; built with -k 0 every one of them is
# tried and reported, with no stack overflow.  (A scheduler whose finish
# started the next action from inside itself crashed here, about 5,800
# frames deep.)  Then a chain of early cutoffs 3,000 long is released in one
# step: every action after the first is decided up to date.
. "$(dirname "$0")/lib.sh"
mkdir -p data
for i in $(seq 1 6000); do : >"data/$i.txt"; done
: >blocker
cat >vlbuild.rules <<'RULES'
source files = data/*.txt
rule copy
    each f in files
    run  cp $in $out
    out  blocker/sub/{f.stem}.copy
RULES
vl -j 2 -k 0 --no-cache
expect_rc 1
expect_summary 0 0 6000
n=$(grep -c '^FAILED: copy blocker/sub/' <<<"$out" || true)
[ "$n" -eq 6000 ] || fail "$n of 6000 failures reported"

# a chain: each rule reads the previous one's output; the head's input
# changes, its output does not, and all the rest is cut off
rm -rf data blocker .vlbuild
echo 1 >seed.txt
{
    printf 'rule r0\n    run  head -c 0 $in > $out\n    in   seed.txt\n    out  build/0.txt\n\n'
    for i in $(seq 1 3000); do
        printf 'rule r%d\n    run  cp $in $out\n    in   build/%d.txt\n    out  build/%d.txt\n\n' \
            "$i" $((i - 1)) "$i"
    done
} >vlbuild.rules
vl -j 2 --no-cache
expect_rc 0
expect_summary 3001 0 0
echo 2 >seed.txt
vl -j 2 --no-cache
expect_rc 0
expect_summary 1 3000 0
finish
