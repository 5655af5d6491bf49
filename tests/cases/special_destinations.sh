# special_destinations: what vlbuild writes outside the actions' outputs
# (--trace FILE, .vlbuild/state.db and its -wal and -shm, .vlbuild/lock) is
# never replaced when it is a FIFO, a device or a symbolic link: vlbuild
# refuses with a message naming the file, and the file stays what it was.
# (A --trace onto /dev/full, as root, used to rename a regular file over the
# device node.)
. "$(dirname "$0")/lib.sh"
write_pipeline
echo x >data/a.txt

# --trace onto a FIFO, a link and (as root, a node of our own) a device
mkfifo t.fifo
vl --trace t.fifo
expect_rc 2
expect_output "cannot write t.fifo: is a FIFO, not a regular file"
[ -p t.fifo ] || fail "the FIFO was replaced"
echo keep >target.json
ln -s target.json t.link
vl --trace t.link
expect_rc 2
expect_output "cannot write t.link: is a symbolic link"
[ -L t.link ] || fail "the link was replaced"
expect_file target.json keep
if mknod t.null c 1 3 2>/dev/null; then
    vl --trace t.null
    expect_rc 2
    expect_output "cannot write t.null: is a device, not a regular file"
    [ -c t.null ] || fail "the device node was replaced"
fi
expect_no_file build/model.txt # refused before building anything
vl --trace t.json
expect_rc 0
expect_summary 4 0 0
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' t.json || fail "the trace is not JSON"

# the state database and its side files
mv .vlbuild/state.db real.db
rm -f .vlbuild/state.db-wal .vlbuild/state.db-shm
ln -s ../real.db .vlbuild/state.db
vl
expect_rc 2
expect_output "cannot write .vlbuild/state.db: is a symbolic link"
[ -L .vlbuild/state.db ] || fail "the state link was replaced"
rm .vlbuild/state.db
mv real.db .vlbuild/state.db
mkfifo .vlbuild/state.db-wal
vl
expect_rc 2
expect_output "cannot write .vlbuild/state.db-wal: is a FIFO"
[ -p .vlbuild/state.db-wal ] || fail "the -wal FIFO was replaced"
rm .vlbuild/state.db-wal

# the lock: a FIFO is refused at once (no open that blocks), a link too
rm -f .vlbuild/lock
mkfifo .vlbuild/lock
set +e
out=$(timeout 20 "$VLBUILD" 2>&1)
rc=$?
set -e
expect_rc 2
expect_output "cannot write .vlbuild/lock: is a FIFO"
[ -p .vlbuild/lock ] || fail "the lock FIFO was replaced"
rm .vlbuild/lock
ln -s ../target.json .vlbuild/lock
vl
expect_rc 2
expect_output "cannot write .vlbuild/lock: is a symbolic link"
expect_file target.json keep
rm .vlbuild/lock
vl
expect_summary 0 4 0
finish
