# reliability_full_disk: outputs on a full file system (a 4 MB tmpfs) and on a
# read-only one end in a clear error naming the output, with earlier outputs
# and state.db intact and no temporary left; once there is room (or the
# folder is writable again) a rebuild succeeds and equals a clean build.
# Needs root (mount); skips visibly otherwise.  docs/reliability.md.
source "$(dirname "$0")/lib.sh"
source "$VL_SOURCE_DIR/tests/reliability/common.sh"
command -v ffmpeg >/dev/null || { echo "SKIPPED: needs the ffmpeg command"; exit 77; }

mnt="$root/proj/build"
mkdir -p proj/data "$mnt"
if ! mount -t tmpfs -o size=4m tmpfs "$mnt" 2>/dev/null; then
    echo "SKIPPED: cannot mount a tmpfs (needs root and mount rights)"
    exit 77
fi
trap 'umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null; cd /; rm -rf "$root"' EXIT

# three clips of 200 frames: each scaled clip is 1.8 MB, so the third has no room
for i in 1 2 3; do
    ffmpeg -v error -f lavfi -i "testsrc=size=64x48:rate=25:duration=8" -c:v mpeg4 "proj/data/v$i.avi"
done
cat >proj/vlbuild.rules <<'RULES'
source vids = data/*.avi

rule meta
    each v in vids
    do   probe
    out  build/meta/{v.stem}.json

rule clip
    each v in vids
    do   scale size=64x48 frames=0
    out  build/clips/{v.stem}.npy
RULES
cp -r proj ref
umount "$mnt"
(cd ref && "$VLBUILD" -j 2 >/dev/null 2>&1) || fail "the reference build failed"
mount -t tmpfs -o size=4m tmpfs "$mnt"
cd proj

# earlier outputs, then a build that runs out of room
vl -j 2 -- meta
expect_rc 0
cp -r build/meta ../meta.before
vl -j 1 -k 0
expect_rc 1
expect_output "No space left on device"
sanitizer_report <(printf '%s\n' "$out") && fail "sanitizer report"$'\n'"$out"
failed=$(printf '%s\n' "$out" | sed -n 's/^FAILED: clip //p')
[ -n "$failed" ] || fail "no clip failed"
for f in $failed; do
    grep -q "$f" <<<"$(grep -A 3 "^FAILED: clip $f" <<<"$out" || true)" || fail "the error does not name $f"
    expect_no_file "$f"
done
diff -r ../meta.before build/meta || fail "earlier outputs changed"
integrity_ok .vlbuild/state.db || fail "state.db damaged after ENOSPC"
left=$(temporaries build)
[ -z "$left" ] || fail "temporaries left on the full file system:"$'\n'"$left"

# room again: the rebuild finishes and equals the clean build
mount -o remount,size=64m "$mnt"
vl -j 2
expect_rc 0
same_tree ../ref build || fail "outputs after the full disk differ from a clean build's"
integrity_ok .vlbuild/state.db || fail "state.db damaged"

# a read-only output folder: a changed rule cannot write, says so, and
# leaves the earlier outputs and the state as they were
mount -o remount,ro "$mnt"
cp -r build ../build.before
sed -i 's/frames=0/frames=8/' vlbuild.rules
vl -j 2 -k 0
expect_rc 1
expect_output "Read-only file system"
grep -q '^FAILED: clip build/clips/v1.npy' <<<"$out" || fail "the clip of v1 did not fail"$'\n'"$out"
diff -r ../build.before build || fail "outputs on the read-only folder changed"
integrity_ok .vlbuild/state.db || fail "state.db damaged after EROFS"
mount -o remount,rw "$mnt"
vl -j 2
expect_rc 0
python3 -c 'import numpy, sys; a = numpy.load(sys.argv[1]); assert a.shape == (8, 48, 64, 3), a.shape' \
    build/clips/v1.npy || fail "the rebuilt clip is wrong"
vl -j 2
expect_summary 0 6 0

# no room at all: features' one-row .npy fails only when fclose flushes it
# (a second fclose was a double free, exit 134), augment's clip fails in the
# muxer; each fails once, naming its file, and leaves no temporary
cat >>vlbuild.rules <<'RULES'

rule feat
    each v in vids
    do   features per=clip
    out  build/feat/{v.stem}.npy build/feat/{v.stem}.json

rule aug
    each v in vids
    do   augment hflip=0.5 seed=3
    out  build/aug/{v.stem}.mkv
RULES
dd if=/dev/zero of=build/filler bs=64k 2>/dev/null || true
vl -j 2 -k 0 -- feat aug
expect_rc 1
expect_output "No space left on device"
expect_no_output "double free"
sanitizer_report <(printf '%s\n' "$out") && fail "sanitizer report"$'\n'"$out"
for f in build/feat/v1.npy build/feat/v2.npy build/feat/v3.npy build/aug/v1.mkv build/aug/v2.mkv build/aug/v3.mkv; do
    grep -q "$f.*No space left on device" <<<"$(grep -A 3 "^FAILED: .* $f" <<<"$out" || true)" ||
        fail "the failure of $f does not name it and ENOSPC"$'\n'"$out"
    expect_no_file "$f"
done
left=$(temporaries build)
[ -z "$left" ] || fail "temporaries left by features and augment:"$'\n'"$left"
integrity_ok .vlbuild/state.db || fail "state.db damaged after ENOSPC"
rm build/filler
vl -j 2 -- feat aug
expect_rc 0
expect_summary 6 0 0
finish
