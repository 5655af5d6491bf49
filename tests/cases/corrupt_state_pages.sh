# corrupt_state_pages: a real state.db damaged where the open does not read
# it (the pages of the files table's path index), or cut short: the first
# write that finds the damage ("database disk image is malformed") moves the
# database aside to state.db.corrupt-TIMESTAMP with a warning naming it, the
# build goes on on a fresh database, and the next builds are correct.
. "$(dirname "$0")/lib.sh"
write_pipeline
for i in $(seq 1 300); do echo "item $i" >data/f$i.txt; done
vl --no-cache
expect_summary 901 0 0

# garbles every page of the index on files(path), after a checkpoint
garble_index() {
    python3 - .vlbuild/state.db <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
ps = c.execute("PRAGMA page_size").fetchone()[0]
pages = [r[0] for r in c.execute("SELECT pageno FROM dbstat WHERE name='sqlite_autoindex_files_1'")]
c.close()
assert pages, "no index pages"
with open(sys.argv[1], "r+b") as f:
    for p in pages:
        f.seek((p - 1) * ps)
        f.write(bytes([0x5a]) * ps)
PY
}
garble_index
rm -f .vlbuild/state.db-wal .vlbuild/state.db-shm
echo changed >data/f1.txt
vl --no-cache
expect_rc 0
expect_output "warning: .vlbuild/state.db is damaged"
expect_output "moved it to .vlbuild/state.db.corrupt-"
expect_summary 4 897 0
ls .vlbuild/state.db.corrupt-* >/dev/null 2>&1 || fail "no state.db.corrupt-* aside"
integrity_ok() { python3 -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0]; sys.exit(r!="ok")' "$1"; }
integrity_ok .vlbuild/state.db || fail "the fresh state.db is damaged"
# the records lost with the old database are rebuilt, then all is up to date
vl --no-cache
expect_rc 0
expect_no_output "warning"
vl --no-cache
expect_summary 0 901 0

# cut short in the middle of a table
python3 -c 'import sqlite3; c=sqlite3.connect(".vlbuild/state.db"); c.execute("PRAGMA wal_checkpoint(TRUNCATE)")'
size=$(stat -c %s .vlbuild/state.db)
truncate -s $((size / 2)) .vlbuild/state.db
rm -f .vlbuild/state.db-wal .vlbuild/state.db-shm
vl --no-cache
expect_rc 0
expect_output "moved it to .vlbuild/state.db.corrupt-"
expect_summary 901 0 0
vl --no-cache
expect_summary 0 901 0
finish
