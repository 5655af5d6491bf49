# explain names what changed in an action's definition: a parameter with its
# old and new value, the action, a run rule's command, an output or an input
# added or removed.  And the state schema's migration: a state.db of schema 1
# (no detail column, as vlbuild wrote it before) opens, keeps its
# fingerprints, rebuilds nothing, and explain then says why it cannot name
# the change until the action runs again.
. "$(dirname "$0")/lib.sh"
mkdir -p d
echo a >d/a.txt
echo b >d/b.txt
rules() {
    cat >vlbuild.rules <<RULES
source s = d/*.txt
rule st
    in   d/a.txt
    do   $1
    out  build/st.txt
rule cmd
    each f in s
    run  $2
    out  $3
rule all
    in   s
    run  cat \$in > \$out
    out  build/all.txt
RULES
}
rules 'stamp label=one' 'cp $in $out' 'build/{f.stem}.c'
vl
expect_rc 0
expect_summary 4 0 0

# a parameter: its name, old and new value
rules 'stamp label=two' 'cp $in $out' 'build/{f.stem}.c'
vl explain build/st.txt
expect_output "build/st.txt (rule st, vlbuild.rules:2): will run: parameter label changed from one to two"
# the action itself
rules 'stamp label=one' 'cp $in $out' 'build/{f.stem}.c'
sed -i 's/^    do   stamp label=one/    run  cp $in $out/' vlbuild.rules
vl explain build/st.txt
expect_output "will run: it was the action stamp version 1 and is now a command"
# a command: old and new text
rules 'stamp label=one' 'tr a-z A-Z < $in > $out' 'build/{f.stem}.c'
vl explain build/a.c
expect_output "build/a.c (rule cmd, vlbuild.rules:6): will run: its command changed from 'cp \$in \$out' to 'tr a-z A-Z < \$in > \$out'"
# an output added
rules 'stamp label=one' 'cp $in $out' 'build/{f.stem}.c build/{f.stem}.c2'
vl explain build/a.c
expect_output "will run: output build/a.c2 added"
# an input added, and one removed
echo c >d/c.txt
vl explain build/all.txt
expect_output "build/all.txt (rule all, vlbuild.rules:10): will run: input d/c.txt added"
rm d/a.txt d/c.txt
rules 'stamp label=one' 'cp $in $out' 'build/{f.stem}.c'
sed -i 's#^    in   d/a.txt#    in   d/b.txt#' vlbuild.rules
vl explain build/all.txt build/st.txt
expect_output "build/all.txt (rule all, vlbuild.rules:10): will run: input d/a.txt removed"
expect_output "build/st.txt (rule st, vlbuild.rules:2): will run: input d/a.txt removed; input d/b.txt added"
# nothing changed: nothing to name
echo a >d/a.txt
rules 'stamp label=one' 'cp $in $out' 'build/{f.stem}.c'
vl explain build/all.txt
expect_output "build/all.txt (rule all, vlbuild.rules:10): up to date"

# an action that waits on a rebuilt input and whose command changed too runs
# whatever that input turns out to be: explain says so, and why
mkdir chain
(
    cd chain
    echo x >x.txt
    printf 'rule one\n    in x.txt\n    run cp $in $out\n    out one.txt\nrule two\n    in one.txt\n    run cat $in > $out\n    out two.txt\n' >vlbuild.rules
    "$VLBUILD" -q >/dev/null
    echo y >x.txt
    sed -i 's/cat \$in > \$out/cat $in >$out/' vlbuild.rules
    "$VLBUILD" explain two.txt
) >chain.out 2>&1
out=$(cat chain.out)
expect_output "two.txt (rule two, vlbuild.rules:5): will run: its command changed from 'cat \$in > \$out' to 'cat \$in >\$out' (and input one.txt is being rebuilt)"

# migration: the state as schema 1 wrote it (the same rows, without detail)
PY=python3
fingerprints() {
    "$PY" -c "import sqlite3; c=sqlite3.connect('.vlbuild/state.db')
for r in c.execute('select path, hex(hash) from files order by path'): print(*r)
for r in c.execute('select output, hex(key) from actions order by output'): print(*r)"
}
"$PY" -c "import sqlite3; c=sqlite3.connect('.vlbuild/state.db')
c.execute('alter table actions drop column detail'); c.execute('pragma user_version=1'); c.commit()"
before=$(fingerprints)
[ -n "$before" ] || fail "no records before the migration"
# an old record cannot say what changed, and says so
rules 'stamp label=three' 'cp $in $out' 'build/{f.stem}.c'
vl explain build/st.txt
expect_output "will run: its action, parameters, outputs or input list changed (its record, from an older vlbuild, does not say which; the next run records it)"
# opened for writing: migrated, nothing rebuilds, every fingerprint and key kept
rules 'stamp label=one' 'cp $in $out' 'build/{f.stem}.c'
vl
expect_rc 0
expect_summary 0 4 0
[ "$(fingerprints)" = "$before" ] || fail "the migration changed fingerprints or keys"
version=$("$PY" -c "import sqlite3; c=sqlite3.connect('.vlbuild/state.db')
print(c.execute('pragma user_version').fetchone()[0], [r[1] for r in c.execute('pragma table_info(actions)')].count('detail'),
      c.execute('select count(*) from actions where detail is null').fetchone()[0])")
# and the up-to-date actions' records got their detail
[ "$version" = "2 1 0" ] ||
    fail "after the migration: schema, detail column, records without detail '$version', expected '2 1 0'"
rules 'stamp label=four' 'cp $in $out' 'build/{f.stem}.c'
vl explain build/st.txt
expect_output "will run: parameter label changed from one to four"
vl
expect_summary 1 3 0
vl
expect_summary 0 4 0
finish
