# Order: with one worker, the action with the most estimated work ahead of
# it starts first (exec/priority.h): the chain of the large input before the
# small ones, though the rules list it last; once each action has run, its
# last duration is the estimate.
. "$(dirname "$0")/lib.sh"
mkdir -p data
echo a >data/a.txt
echo b >data/b.txt
head -c 3000000 /dev/zero >data/z.txt
cat >vlbuild.rules <<'RULES'
source files = data/*.txt
rule copy
    each f in files
    run  echo {f.stem} >> order.log; cp $in $out
    out  build/{f.stem}.copy
rule count
    each c in copy
    run  echo {c.stem}-count >> order.log; wc -c < $in > $out
    out  build/{c.stem}.count
RULES
vl -j 1 --no-cache
expect_rc 0
expect_summary 6 0 0
# z's chain first and whole (once z's copy exists, its count is estimated
# from its size and outranks the small copies), then the rest in the rules' order
expect_file order.log "z
z-count
a
b
a-count
b-count"
# a warm state: a's copy now takes longest (its last run is the history),
# then z's (slept for, so that a loaded machine cannot put b's before it)
rm -rf build order.log
cat >vlbuild.rules <<'RULES'
source files = data/*.txt
rule copy
    each f in files
    run  echo {f.stem} >> order.log; case {f.stem} in a) sleep 0.3;; z) sleep 0.1;; esac; cp $in $out
    out  build/{f.stem}.copy
RULES
vl -j 1 --no-cache
expect_rc 0
rm -rf build order.log
vl -j 1 --no-cache
expect_rc 0
expect_file order.log "a
z
b"
finish
