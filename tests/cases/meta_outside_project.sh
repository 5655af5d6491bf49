# meta_outside_project: `vlbuild meta FILE` in a folder that is no project
# (no vlbuild.rules, no .vlbuild/) keeps its cache in $XDG_CACHE_HOME/vlbuild
# (default ~/.cache/vlbuild) and creates nothing in the current folder.
. "$(dirname "$0")/lib.sh"
command -v ffmpeg >/dev/null || { echo "SKIPPED: needs the ffmpeg command"; exit 77; }

mkdir -p home work
ffmpeg -v error -f lavfi -i testsrc=size=64x48:rate=12:duration=1 -c:v mpeg4 work/a.avi
cd work
export HOME=$root/home
unset XDG_CACHE_HOME
vl meta a.avi
expect_rc 0
expect_output "64x48"
[ "$(ls -A)" = "a.avi" ] || fail "meta created files in the current folder: $(ls -A)"
expect_file "$HOME/.cache/vlbuild/state.db"

export XDG_CACHE_HOME=$root/xdg
vl meta --json a.avi
expect_rc 0
expect_output '"frames"'
[ "$(ls -A)" = "a.avi" ] || fail "meta created files in the current folder: $(ls -A)"
expect_file "$XDG_CACHE_HOME/vlbuild/state.db"

# in a project the cache stays in the project's state directory
touch vlbuild.rules
vl meta a.avi
expect_rc 0
expect_file .vlbuild/state.db
finish
