# A state.db replaced by garbage: a clear warning, a full rebuild, no crash.
. "$(dirname "$0")/lib.sh"
write_pipeline
echo x >data/a.txt
vl
expect_summary 4 0 0
head -c 10000 /dev/urandom >.vlbuild/state.db
rm -f .vlbuild/state.db-wal .vlbuild/state.db-shm
vl
expect_rc 0
expect_output "warning: .vlbuild/state.db is not a usable state database"
expect_output "moved it to .vlbuild/state.db.corrupt"
# the state is gone, but the artifact cache still has every output
expect_summary 0 0 0 4
vl
expect_summary 0 4 0
# a database of someone else's
rm -f .vlbuild/state.db*
python3 -c "import sqlite3; c=sqlite3.connect('.vlbuild/state.db'); c.execute('create table t(x)'); c.commit()"
vl
expect_output "holds tables that vlbuild did not write"
expect_summary 0 0 0 4
# without the cache, everything really runs again
rm -f .vlbuild/state.db*
vl --no-cache
expect_summary 4 0 0
# a newer schema is refused, not clobbered
python3 -c "import sqlite3; c=sqlite3.connect('.vlbuild/state.db'); c.execute('pragma user_version=99'); c.commit()"
vl
expect_rc 2
expect_output "written by a newer vlbuild"
finish
