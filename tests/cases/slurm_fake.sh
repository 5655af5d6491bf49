# The Slurm executor against the fake Slurm of tests/slurm/fake (sbatch,
# squeue, scancel first on PATH, jobs run here in the background), so that
# it is tested on every machine; tests/cases/slurm.sh runs it on a real
# one-node Slurm where one can be brought up.  Checks: shell and built-in
# actions (synth, probe, stamp through `vlbuild exec-action`) give a local
# build's outputs, batched, and a rerun submits nothing; a failing command or
# built-in fails its action with its log; jobs that end TIMEOUT,
# OUT_OF_MEMORY or CANCELLED, or that Slurm forgets before they reported,
# fail their actions naming how; SIGINT scancels every job and waits for
# them, leaving no outputs; sbatch refusing a job fails its actions with
# sbatch's message and the rule; squeue failing for a while is retried.
fake=$(cd "$(dirname "$0")/../slurm/fake" && pwd)
. "$(dirname "$0")/lib.sh"
export VL_FAKE_SLURM_DIR=$root/fake-slurm PATH="$fake:$PATH"
. "$fake/lib.sh" # fake_slurm_stop
trap 'fake_slurm_stop; cd /; rm -rf "$root"' EXIT
for t in sbatch squeue scancel; do
    [ "$(command -v $t)" = "$fake/$t" ] || { echo "FAIL: $t is not the fake: $(command -v $t)"; exit 1; }
done
jobs_of() { grep -lx "vlbuild:$1" "$VL_FAKE_SLURM_DIR"/jobs/*/name 2>/dev/null | wc -l; }
submitted() { ls "$VL_FAKE_SLURM_DIR/jobs" | wc -l; }
live_jobs() { squeue -h -o '%i' | wc -l; }
# failed RULE TEXT: the log that vlbuild printed for the failed action of
# RULE contains TEXT
failed() {
    local log
    log=$(printf '%s\n' "$out" | awk -v head="FAILED: $1 " \
        'index($0, head) == 1 { on = 1; print; next } /^FAILED: |^vlbuild: .* ran, / { on = 0 } on')
    [ -n "$log" ] || { fail "line ${BASH_LINENO[0]}: no failure of rule $1"$'\n'"$out"; return; }
    grep -qF -- "$2" <<<"$log" ||
        fail "line ${BASH_LINENO[0]}: the log of rule $1 does not say '$2':"$'\n'"$log"
}

mkdir -p proj/data
for i in 1 2 3 4 5 6; do printf 'item %s\n' "$i" >proj/data/$i.txt; done
cat >proj/vlbuild.rules <<'RULES'
source raw = data/*.txt
rule upper
    each f in raw
    run  tr a-z A-Z < $in > $out
    out  build/upper/{f.stem}.txt
rule clip
    do   synth class=left size=32x32 frames=4 fps=4 codec=mpeg4
    out  build/clip.avi
rule meta
    in   clip
    do   probe
    out  build/meta.json
rule stamp
    in   upper meta
    do   stamp label=all-done
    out  build/stamp.txt
rule gpu
    each f in raw
    run  echo "cvd=$CUDA_VISIBLE_DEVICES" > $out
    out  build/gpu/{f.stem}.txt
    pool gpu
default stamp gpu
RULES
printf 'window_ms = 20\npoll_ms = 20\nsqueue_ms = 50\n' >proj/vlbuild.slurm
cp -r proj local
cd "$root/local"
vl -q
expect_rc 0

# ---- shell and built-in actions, through the fake ----
cd "$root/proj"
vl --executor slurm --gpus 2
expect_rc 0
expect_summary 15 0 0
diff -r -x gpu "$root/local/build" build || fail "outputs through Slurm differ from the local build"
# each upper action went out once, batched (6 in one job unless the cache
# lookups of a loaded machine spread them over more than one window)
sent=$(sed -n 's/^# vlbuild slurm job, format 1: \([0-9]*\) actions of rule upper .*/\1/p' \
    "$VL_FAKE_SLURM_DIR"/jobs/*/script | awk '{ n += $1 } END { print n + 0 }')
[ "$sent" = 6 ] || fail "the jobs of rule upper ran $sent actions, not 6"
[ "$(jobs_of upper)" -lt 6 ] || fail "the 6 upper actions were not batched: $(jobs_of upper) jobs"
for r in clip meta stamp; do
    grep -lx "vlbuild:$r" "$VL_FAKE_SLURM_DIR"/jobs/*/name | sed 's/name$/script/' |
        xargs grep -q ' exec-action ' || fail "the $r built-in did not run as a job with exec-action"
done
for f in build/gpu/*.txt; do
    [ "$(cat "$f")" = cvd=0 ] || fail "$f: the gpu action did not get the job's GPU: $(cat "$f")"
done
grep -lx vlbuild:gpu "$VL_FAKE_SLURM_DIR"/jobs/*/name | sed 's/name$/args/' | xargs grep -qx -- --gres=gpu:1 ||
    fail "gpu jobs were not submitted with --gres=gpu:1"
[ -z "$(ls .vlbuild/tmp/slurm 2>/dev/null)" ] || fail "job files left in .vlbuild/tmp/slurm"
before=$(submitted)
vl --executor slurm --gpus 2
expect_summary 0 15 0
[ "$(submitted)" -eq "$before" ] || fail "a rerun submitted jobs"

# ---- a failing command and a failing built-in; sbatch --parsable's ID;CLUSTER ----
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
rule badprobe
    in   data/1.txt
    do   probe
    out  build/bad.json
RULES
export VL_FAKE_SLURM_CLUSTER=vltest
vl --executor slurm -f fail.rules -k 0
unset VL_FAKE_SLURM_CLUSTER
expect_rc 1
expect_summary 10 0 2
failed a "boom on the node"
failed a "vlbuild: command exited with status 3"
failed badprobe "data/1.txt: not a readable media file"
expect_no_output "ended before this action finished"
expect_no_file build/a/3
expect_no_file build/bad.json
expect_file build/b/6 "item 6"

# ---- jobs that Slurm ends: time limit, out of memory, cancelled ----
cat >ends.rules <<'RULES'
rule slowpoke
    run  sleep 30; echo late > $out
    out  build/ends/timeout.txt
rule hog
    run  sleep 30; echo late > $out
    out  build/ends/oom.txt
rule cancelme
    run  scancel --name=vlbuild:cancelme; sleep 30; echo late > $out
    out  build/ends/cancelled.txt
RULES
cat >ends.slurm <<'CONF'
window_ms = 20
poll_ms = 20
squeue_ms = 50
[rule slowpoke]
time = 0:01
[rule hog]
sbatch = --comment=fake:OUT_OF_MEMORY@0.2
CONF
vl --executor slurm -f ends.rules --slurm-config ends.slurm -k 0
expect_rc 1
expect_summary 0 0 3
failed slowpoke "ended before this action finished: TIMEOUT (TimeLimit)"
failed slowpoke "DUE TO TIME LIMIT" # the job's own output comes back
failed hog "ended before this action finished: OUT_OF_MEMORY (OutOfMemory)"
failed hog "oom_kill event"
failed cancelme "ended before this action finished: CANCELLED"
[ -z "$(ls build/ends 2>/dev/null)" ] || fail "outputs of ended jobs were left: $(ls build/ends)"

# a job that squeue forgets as soon as it ends (MinJobAge 0): the actions it
# reported keep their results, the one it did not fails
cat >pair.rules <<'RULES'
source raw = data/*.txt
rule fine
    each f in raw
    run  cp $in $out
    out  build/fine/{f.stem}
rule hog
    run  sleep 30; echo late > $out
    out  build/hog.txt
RULES
export VL_FAKE_SLURM_MIN_AGE=0
vl --executor slurm -f pair.rules --slurm-config ends.slurm -k 0
unset VL_FAKE_SLURM_MIN_AGE
expect_rc 1
expect_summary 6 0 1
failed hog "(Slurm no longer knows it)"
expect_file build/fine/6 "item 6"

# ---- SIGINT: every job is scancelled and waited for; no outputs are left ----
cat >slow.rules <<'RULES'
source raw = data/*.txt
rule slow
    each f in raw
    run  trap 'echo late > $out; exit 1' TERM; echo partial > $out; sleep 30; cp $in $out
    out  build/slow/{f.stem}
RULES
printf 'window_ms = 20\npoll_ms = 20\nsqueue_ms = 50\nbatch = 2\n' >slow.slurm
"$VLBUILD" --executor slurm -f slow.rules --slurm-config slow.slurm >slow.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    [ "$(squeue -h -t RUNNING -o %i | wc -l)" -ge 3 ] && [ "$(ls build/slow 2>/dev/null | wc -l)" -ge 3 ] &&
        break
    sleep 0.05
done
[ "$(squeue -h -t RUNNING -o %i | wc -l)" -eq 3 ] || fail "expected 3 running jobs of 2 actions: $(squeue)"
kill -INT $pid
set +e
wait $pid
rc=$?
set -e
out=$(cat slow.log)
expect_rc 130
[ "$(live_jobs)" -eq 0 ] || fail "vlbuild exited before its jobs ended: $(squeue)"
for job in $(grep -lx vlbuild:slow "$VL_FAKE_SLURM_DIR"/jobs/*/name); do
    id=$(basename "$(dirname "$job")")
    grep -qw "$id" "$VL_FAKE_SLURM_DIR/scancel.log" || fail "job $id was not scancelled"
    [ "$(squeue -h -t all -j "$id" -o %T)" = CANCELLED ] || fail "job $id: $(squeue -h -t all -j "$id")"
done
[ -z "$(ls build/slow 2>/dev/null)" ] || fail "outputs of cancelled actions were left: $(ls build/slow)"

# ---- sbatch refusing a job: its actions fail with sbatch's message ----
rm -rf build
printf 'window_ms = 20\npoll_ms = 20\nsqueue_ms = 50\n[rule hog]\npartition = nosuch\n' >refused.slurm
before=$(jobs_of hog)
vl --executor slurm -f pair.rules --slurm-config refused.slurm -k 0 --no-cache
expect_rc 1
expect_summary 6 0 1
failed hog "sbatch failed for rule hog (status 1): sbatch: error: invalid partition specified: nosuch"
failed hog "Batch job submission failed: Invalid partition name specified"
[ "$(jobs_of hog)" -eq "$before" ] || fail "the fake queued a job it refused"
expect_file build/fine/1 "item 1"

# ---- squeue failing for a while: asked again, the build goes on ----
cat >flaky.rules <<'RULES'
rule wait
    run  sleep 0.5; echo done > $out
    out  build/flaky.txt
RULES
echo 2 >"$VL_FAKE_SLURM_DIR/squeue_fail"
vl --executor slurm -f flaky.rules
expect_rc 0
expect_summary 1 0 0
expect_file build/flaky.txt done
[ "$(cat "$VL_FAKE_SLURM_DIR/squeue_fail")" = 0 ] || fail "squeue was not asked while the job ran"
finish
