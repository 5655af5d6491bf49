# closed_std_fds: vlbuild started with stdin, stdout or stderr closed opens
# /dev/null onto them before anything else, so that no file it opens (the
# lock, the state database, a command's log) takes fd 0, 1 or 2 and receives
# status lines.  (With stdout closed, the summary used to land in .vlbuild/lock.)
. "$(dirname "$0")/lib.sh"
write_pipeline
echo x >data/a.txt

lock_is_a_pid() {
    grep -qE '^[0-9]+$' .vlbuild/lock && [ "$(wc -l <.vlbuild/lock)" -eq 1 ] ||
        fail "line ${BASH_LINENO[0]}: .vlbuild/lock holds: $(head -c 300 .vlbuild/lock)"
}

"$VLBUILD" >&- 2>stderr.txt || fail "the build with stdout closed failed: $(cat stderr.txt)"
lock_is_a_pid
expect_file build/model.txt
integrity_ok() { python3 -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0]; sys.exit(r!="ok")' "$1"; }
integrity_ok .vlbuild/state.db || fail "state.db damaged"

echo y >data/b.txt
"$VLBUILD" 2>&- >stdout.txt || fail "the build with stderr closed failed"
lock_is_a_pid
grep -q '^vlbuild: 4 ran' stdout.txt || fail "no summary on stdout: $(cat stdout.txt)"

echo z >data/c.txt
"$VLBUILD" <&- >&- 2>&- || fail "the build with all three closed failed"
lock_is_a_pid
vl
expect_summary 0 10 0
finish
