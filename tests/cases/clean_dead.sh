# Dead outputs, as ninja -t cleandead: files that vlbuild wrote in an earlier
# build and that no rule makes any more (a source renamed or deleted, an
# `out` pattern changed).  status names them, `clean TARGET` leaves them,
# clean removes them and forgets their records, and never a file that vlbuild
# did not write, one changed since, or one outside the project through a
# symbolic link.
. "$(dirname "$0")/lib.sh"
mkdir -p proj/data outside proj/build
cd proj
echo a >data/a.txt
echo b >data/b.txt
echo c >data/c.txt
ln -s "$root/outside" build/ext # a folder of outputs that lies outside the project
rules() {
    cat >vlbuild.rules <<RULES
source raw = data/*.txt
rule meta
    each f in raw
    run  cp \$in build/meta/{f.stem}.m; cp \$in build/meta/{f.stem}.$1
    out  build/meta/{f.stem}.m build/meta/{f.stem}.$1
rule ext
    each f in raw
    run  cp \$in \$out
    out  build/ext/{f.stem}.s
rule all
    in   raw
    run  cat \$in > \$out
    out  build/all.txt
RULES
}
rules m2
vl
expect_rc 0
expect_summary 7 0 0
expect_file "$root/outside/a.s" a
echo mine >build/meta/hand.txt # made by hand: never vlbuild's
vl status
expect_no_output "no rule makes"

# a source renamed, another deleted
mv data/a.txt data/a2.txt
rm data/b.txt
echo edited >build/meta/b.m2 # vlbuild wrote it, a user changed it since
vl status
expect_rc 0
expect_output "vlbuild: 3 outputs that no rule makes any more (build/meta/a.m, build/meta/a.m2, build/meta/b.m): \`vlbuild clean\` removes them"
# clean with a target keeps its meaning: that target's outputs only
vl clean all
expect_rc 0
expect_output "vlbuild: removed 1 file"
expect_output "vlbuild: 3 outputs that no rule makes any more left: \`vlbuild clean\` with no target removes them"
expect_file build/meta/a.m a
# clean: every output of the rules, and the dead ones
vl clean
expect_rc 0
expect_output "vlbuild: removed build/meta/a.m (no rule makes it any more)"
expect_output "vlbuild: removed build/meta/b.m (no rule makes it any more)"
expect_output "vlbuild: kept build/meta/b.m2, which no rule makes any more: it changed since vlbuild wrote it"
expect_output "vlbuild: kept build/ext/a.s, which no rule makes any more: a symbolic link on its path leads out of the project"
expect_output "vlbuild: kept build/ext/b.s, which no rule makes any more: a symbolic link on its path leads out of the project"
# live: c's two meta outputs (a2 and c were never built); dead: a.m, a.m2, b.m
expect_output "vlbuild: removed 6 files, 3 of them outputs that no rule makes any more"
left=$(cd build && find . -type f -o -type l | sort | tr '\n' ' ')
[ "$left" = "./ext ./meta/b.m2 ./meta/hand.txt " ] ||
    fail "after clean, build/ holds '$left', expected the link, the edited and the hand-made file"
[ "$(ls "$root/outside" | tr '\n' ' ')" = "a.s b.s " ] ||
    fail "outside the project: '$(ls "$root/outside" | tr '\n' ' ')', expected a.s and b.s to survive"
rows=$(python3 -c "import sqlite3; c=sqlite3.connect('.vlbuild/state.db')
print(c.execute(\"select count(*) from actions where output in ('build/meta/a.m','build/meta/b.m','build/ext/a.s')\").fetchone()[0],
      c.execute(\"select count(*) from files where path in ('build/meta/a.m','build/meta/a.m2','build/meta/b.m','build/meta/b.m2')\").fetchone()[0])")
[ "$rows" = "0 0" ] || fail "records of the dead outputs left (actions, files): $rows"
vl status
expect_no_output "no rule makes"

# a rebuild makes what the rules say, and none of the dead (c's two
# actions restored from the cache)
vl
expect_rc 0
expect_summary 3 0 0 2
expect_file build/meta/a2.m a
expect_file build/meta/c.m2 c
expect_file build/all.txt "a
c"
expect_no_file build/meta/a.m
expect_no_file build/meta/b.m

# an `out` pattern changed: the old second outputs are dead, before and
# after the actions ran again with the new one
rules n2
vl status
expect_output "vlbuild: 2 outputs that no rule makes any more (build/meta/a2.m2, build/meta/c.m2)"
vl
expect_rc 0
expect_summary 2 3 0
vl status
expect_output "vlbuild: 2 outputs that no rule makes any more (build/meta/a2.m2, build/meta/c.m2)"
# clean TARGET takes the target's dead outputs too: those its action wrote
vl clean build/meta/c.m
expect_rc 0
expect_output "vlbuild: removed build/meta/c.m2 (no rule makes it any more)"
expect_output "vlbuild: removed 3 files, 1 of them outputs that no rule makes any more"
expect_output "vlbuild: 1 output that no rule makes any more left: \`vlbuild clean\` with no target removes it"
expect_no_file build/meta/c.m2
expect_file build/meta/a2.m2 a
vl clean
expect_output "vlbuild: removed build/meta/a2.m2 (no rule makes it any more)"
expect_no_file build/meta/a2.m2
expect_file build/meta/hand.txt mine

# records of schema 1 name their first output only: a dead one is found
# (checked against the record's fingerprint), its sidecar is not; a build
# under schema 2 gives the up-to-date records their detail, and then both are
# (build/ext/c.s is dead too, but its folder leads out of the project)
rules m2
vl
expect_rc 0
python3 -c "import sqlite3; c=sqlite3.connect('.vlbuild/state.db')
c.execute('alter table actions drop column detail'); c.execute('pragma user_version=1'); c.commit()"
mv data/c.txt data/c-renamed.txt
vl status
expect_output "vlbuild: 1 output that no rule makes any more (build/meta/c.m): \`vlbuild clean\` removes it"
mv data/c-renamed.txt data/c.txt
vl
expect_summary 0 5 0
mv data/c.txt data/c-renamed.txt
vl status
expect_output "vlbuild: 2 outputs that no rule makes any more (build/meta/c.m, build/meta/c.m2): \`vlbuild clean\` removes them"
finish
