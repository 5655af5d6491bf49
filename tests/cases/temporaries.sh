# What an interrupted run left half-written beside outputs (OUT.vltmp.PID,
# OUT.vlcache-*) is removed before anything is written into that folder
# again; other files that merely look like temporaries are left alone.
. "$(dirname "$0")/lib.sh"
mkdir -p data
cat >vlbuild.rules <<'RULES'
source raw = data/*.txt
rule copy
    each f in raw
    run  cp $in $out
    out  build/{f.stem}.out
RULES
printf 'a\n' >data/a.txt
printf 'b\n' >data/b.txt
vl
expect_summary 2 0 0
# a killed writer's and a killed restore's leftovers, of a stale and of an
# up-to-date output, and a user's file that is no output's temporary
printf 'half' >build/a.out.vltmp.4242
printf 'half' >build/b.out.vltmp.77
printf 'half' >build/b.out.vlcache-x1y2
printf 'mine' >build/notes.vltmp.1
printf 'A\n' >data/a.txt
vl
expect_summary 1 1 0
expect_no_file build/a.out.vltmp.4242
expect_no_file build/b.out.vltmp.77
expect_no_file build/b.out.vlcache-x1y2
expect_file build/notes.vltmp.1 mine
expect_file build/a.out A
# a no-op writes nothing, so it sweeps nothing
printf 'half' >build/a.out.vltmp.5
vl
expect_summary 0 2 0
expect_file build/a.out.vltmp.5 half
finish
