# The Slurm executor against a real one-node Slurm on loopback (brought up
# by tests/slurm/up.sh, without systemd; skipped with status 77 where it
# cannot be installed or started).  Checks: shell and built-in actions (stamp,
# probe) give outputs byte-identical to a local build; a gpu-pool action sees
# CUDA_VISIBLE_DEVICES; a rerun submits nothing; a failing action fails the
# build and -k 0 goes on; a job cancelled behind vlbuild's back fails its
# actions with Slurm's reason; SIGINT cancels every submitted job.
# The quickstart example is not used: it did not exist when this was written.
slurm_tools=$(cd "$(dirname "$0")/../slurm" && pwd)
. "$(dirname "$0")/lib.sh"
sdir=$(mktemp -d /tmp/vlslurm.XXXXXX) # short: munge's socket path must fit sockaddr_un
trap '"$slurm_tools/down.sh" "$sdir"; rm -rf "$sdir"; cd /; rm -rf "$root"' EXIT
set +e
env_line=$("$slurm_tools/up.sh" "$sdir")
up=$?
set -e
if [ $up -eq 77 ]; then
    echo "SKIP: no Slurm here (see the lines above)"
    exit 77
fi
[ $up -eq 0 ] || { echo "FAIL: tests/slurm/up.sh exited with $up"; exit 1; }
export "$env_line"
jobs_seen() { squeue -h -t all -o '%i' | wc -l; }
live_jobs() { squeue -h -o '%i' | wc -l; }

# ---- one project, built locally and through Slurm ----
mkdir -p proj/data proj/videos
for i in 1 2 3 4 5 6; do printf 'item %s\n' "$i" >proj/data/$i.txt; done
have_videos=0
if command -v ffmpeg >/dev/null; then
    for i in 1 2; do
        ffmpeg -v error -f lavfi -i "testsrc=size=32x24:rate=5" -t 0.$((4 + i)) -pix_fmt yuv420p \
            -c:v mpeg4 proj/videos/v$i.mp4 </dev/null && have_videos=$((have_videos + 1))
    done
fi
cat >proj/vlbuild.rules <<'RULES'
source raw = data/*.txt
source vids = videos/*.mp4
rule upper
    each f in raw
    run  tr a-z A-Z < $in > $out
    out  build/upper/{f.stem}.txt
rule meta
    each v in vids
    do   probe
    out  build/meta/{v.stem}.json
rule stamp
    in   upper meta
    do   stamp label=all-done
    out  build/stamp.txt
rule gpu
    each f in raw
    run  echo "cvd=$CUDA_VISIBLE_DEVICES" > $out
    out  build/gpu/{f.stem}.txt
    pool gpu
default stamp
RULES
cp -r proj local
cd "$root/local"
vl -q
expect_rc 0
cd "$root/proj"
before=$(jobs_seen)
vl --executor slurm -j 8 --gpus 2
expect_rc 0
expect_summary $((7 + have_videos)) 0 0
diff -r "$root/local/build" build || fail "outputs through Slurm differ from the local build"
[ "$have_videos" -eq 0 ] || grep -q '"frames"' build/meta/v1.json || fail "probe on the node wrote no metadata"
[ "$(jobs_seen)" -gt "$before" ] || fail "the build submitted no Slurm job"
[ -z "$(ls .vlbuild/tmp/slurm 2>/dev/null)" ] || fail "job files left in .vlbuild/tmp/slurm"

# a rerun submits nothing
before=$(jobs_seen)
vl --executor slurm
expect_summary 0 $((7 + have_videos)) 0
[ "$(jobs_seen)" -eq "$before" ] || fail "a rerun submitted jobs"

# the gpu pool: each action asks for one GPU and sees which one
vl --executor slurm --gpus 2 gpu
expect_rc 0
expect_summary 6 0 0
for f in build/gpu/*.txt; do
    case "$(cat "$f")" in
    cvd=0 | cvd=1) ;;
    *) fail "$f: CUDA_VISIBLE_DEVICES was not set by --gres=gpu:1: $(cat "$f")" ;;
    esac
done

# ---- failures: -k 1 stops, -k 0 goes on; the log comes back ----
cat >fail.rules <<'RULES'
source raw = data/*.txt
rule a
    each f in raw
    run  if [ {f.stem} = 3 ]; then echo "boom on the node" >&2; exit 3; fi; cp $in $out
    out  build/a/{f.stem}
rule b
    each f in a
    run  cp $in $out
    out  build/b/{f.stem}
RULES
vl --executor slurm -f fail.rules -k 0
expect_rc 1
expect_summary 10 0 1
expect_output "boom on the node"
expect_output "command exited with status 3"
expect_no_file build/a/3
expect_file build/b/6 "item 6"

# an action killed by a signal fails alone; its job goes on
cat >killed.rules <<'RULES'
rule killed
    run  kill -KILL $$$$
    out  build/killed.txt
RULES
vl --executor slurm -f killed.rules
expect_rc 1
expect_output "command killed by signal 9 (Killed) on the node"
expect_no_output "ended before this action finished"

# ---- a job cancelled behind vlbuild's back fails with Slurm's reason ----
cat >cancelled.rules <<'RULES'
rule slow
    run  sleep 60; echo late > $out
    out  build/never.txt
RULES
"$VLBUILD" --executor slurm -f cancelled.rules >cancelled.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ "$(live_jobs)" -gt 0 ] && break; sleep 0.1; done
scancel --name=vlbuild:slow
set +e
wait $pid
rc=$?
set -e
out=$(cat cancelled.log)
expect_rc 1
expect_output "CANCELLED"

# ---- SIGINT cancels every submitted job ----
cat >slow.rules <<'RULES'
source raw = data/*.txt
rule slow
    each f in raw
    run  echo partial > $out; sleep 60; cp $in $out
    out  build/slow/{f.stem}
RULES
printf 'batch = 2\n' >vlbuild.slurm
"$VLBUILD" --executor slurm -f slow.rules >slow.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ "$(live_jobs)" -ge 3 ] && break; sleep 0.1; done
[ "$(live_jobs)" -ge 3 ] || fail "expected 3 jobs of 2 actions in the queue: $(squeue)"
sleep 0.5
kill -INT $pid
set +e
wait $pid
rc=$?
set -e
out=$(cat slow.log)
expect_rc 130
for _ in $(seq 1 100); do [ "$(live_jobs)" -eq 0 ] && break; sleep 0.1; done
[ "$(live_jobs)" -eq 0 ] || fail "jobs left in the queue after SIGINT: $(squeue)"
[ -z "$(ls build/slow 2>/dev/null)" ] || fail "outputs of cancelled actions were left: $(ls build/slow)"
rm vlbuild.slurm
finish
