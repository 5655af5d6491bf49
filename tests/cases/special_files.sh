# special_files: inputs and outputs that are not regular files are an error
# naming the file, never a hang: a FIFO among the sources, a command that
# leaves a FIFO or a symlink to /dev/zero as its output.  Each build runs
# under a 20 s limit; an earlier vlbuild blocked in open() on the FIFO and
# hashed /dev/zero forever.
. "$(dirname "$0")/lib.sh"

# vl_limited ARGS...: vl under a time limit; status 124 means it hung
vl_limited() {
    set +e
    out=$(timeout -k 2 20 "$VLBUILD" "$@" 2>&1)
    rc=$?
    set -e
    printf '%s\n' "$out" >>"$root.log"
}

# a FIFO named as an input (a glob matches regular files only)
mkdir -p data
mkfifo data/b.txt
cat >vlbuild.rules <<'RULES'
rule copy
    run  cp $in $out
    in   data/b.txt
    out  build/b.copy
RULES
vl_limited --no-cache
expect_rc 2 # a planning error
expect_output "data/b.txt: is a FIFO, not a regular file"
rm data/b.txt

cat >vlbuild.rules <<'RULES'
rule fifo
    run  mkfifo $out
    out  build/fifo.out
rule endless
    run  ln -s /dev/zero $out
    out  build/zero.out
rule fine
    run  echo ok > $out
    out  build/fine.out
RULES
vl_limited --no-cache -k 0
expect_rc 1
expect_summary 1 0 2
expect_output "build/fifo.out: is a FIFO, not a regular file"
expect_output "build/zero.out: is a device, not a regular file"
expect_no_file build/fifo.out
[ ! -e build/zero.out ] || fail "the symlink to /dev/zero was kept as an output"
expect_file build/fine.out ok
finish
