# `**` follows symbolic links to folders but not one that leads back to a
# folder the walk is in: two links to `.` used to make a glob endless, one
# link made 3 files 123 sources 40 levels deep.
. "$(dirname "$0")/lib.sh"
mkdir -p data/b
echo a >data/a.txt
echo c >data/b/c.txt
echo d >top.txt
ln -s . l1
ln -s . l2
ln -s .. data/b/up
mkdir -p linked
echo e >linked/e.txt
ln -s ../linked data/other     # a link that is no cycle is followed
cat >vlbuild.rules <<'RULES'
source all = **/*.txt
source again = **/**/**/data/**/*.txt
rule list
    in  all again
    run printf '%s\n' $in > $out
    out build/list.out
RULES
set +e
out=$(timeout 20 "$VLBUILD" 2>&1)
rc=$?
set -e
expect_rc 0
expect_output "vlbuild.rules:1:8: source all: skipping l1, a symbolic link to a folder above it (a cycle)"
expect_output "skipping l2"
expect_output "skipping data/b/up"
want='data/a.txt
data/b/c.txt
data/other/e.txt
linked/e.txt
top.txt
data/a.txt
data/b/c.txt
data/other/e.txt'
[ "$(cat build/list.out)" = "$want" ] || fail "sources: $(cat build/list.out)"
finish
