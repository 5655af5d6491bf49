# The media module is loaded only when a media action's body runs: a vlbuild
# without it still reads, plans and no-ops a video pipeline, runs shell
# commands, and fails a media action with a message naming the module.
. "$(dirname "$0")/lib.sh"
ORIG_VLBUILD=$VLBUILD
mkdir bin
cp "$VLBUILD" bin/vlbuild # alone: no vlbuild-media.so beside it
VLBUILD=$root/bin/vlbuild
cat >vlbuild.rules <<'RULES'
rule clip
    do   synth class=left size=32x32 frames=4 fps=4 codec=mpeg4
    out  data/clip.mp4
rule note
    run  echo hello > $out
    out  note.txt
RULES
vl -n
expect_rc 0
expect_output "2 would run"
vl note
expect_rc 0
expect_summary 1 0 0
expect_file note.txt hello
vl clip
expect_rc 1
expect_output "cannot load vlbuild's media module"
expect_output "bin/vlbuild-media.so"
expect_no_file data/clip.mp4
# a truncated module (an interrupted copy) is refused by name, not a crash
head -c 4096 "$(dirname "$ORIG_VLBUILD")/vlbuild-media.so" >bin/vlbuild-media.so
vl clip
expect_rc 1
expect_output "vlbuild-media.so is not a whole shared object"
expect_no_file data/clip.mp4
# with the module beside it, the same binary builds the clip
cp "$(dirname "$ORIG_VLBUILD")/vlbuild-media.so" bin/
vl clip
expect_rc 0
expect_summary 1 0 0
finish
