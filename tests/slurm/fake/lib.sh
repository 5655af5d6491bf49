# lib.sh - what the fake Slurm commands share (sourced, not run).
# shellcheck shell=bash
#
# The fakes (sbatch, squeue, scancel here, and slurm-fake-job, which plays
# slurmd for one job) run batch jobs on this machine, in the background, and
# answer as Slurm's client commands do, so that the Slurm runner is tested on
# any machine (tests/cases/slurm_fake.sh; the real one-node Slurm test is
# tests/cases/slurm.sh).  Put this folder first on PATH and name a state
# folder in VL_FAKE_SLURM_DIR.
#
# State, in $VL_FAKE_SLURM_DIR:
#   next_id          the last job id handed out
#   scancel.log      one line per scancel call: its arguments
#   squeue_fail      N: the next N squeue calls fail as if slurmctld were down
#   jobs/ID/         one per job:
#     args           sbatch's arguments, one a line
#     name, output, chdir, script (a copy, taken at submission, as Slurm does)
#     limit_s        --time in seconds (absent: no limit)
#     fate           "STATE SECONDS" from --comment=fake:STATE@SECONDS: the job
#                    is ended with STATE that long after it starts
#     gpus           N from --gres=gpu:N
#     state          "STATE REASON", as squeue's %T %r print them
#     end_ms         when it ended (Unix ms)
#     pgid           the process group of the running script
#     kill           "STATE": the job is being ended with STATE (scancel, the
#                    time limit, the fate); the state is COMPLETING until every
#                    process of the group is gone
#     lock           flock(1) file for state changes
# Settings (environment): VL_FAKE_SLURM_PENDING_S (0.1) how long a job waits
# in the queue; VL_FAKE_SLURM_KILL_WAIT (0.5) seconds from SIGTERM to SIGKILL
# (Slurm's KillWait); VL_FAKE_SLURM_MIN_AGE (300) seconds an ended job stays
# in squeue (Slurm's MinJobAge; 0: gone at once); VL_FAKE_SLURM_PARTITIONS
# ("debug gpu") the partitions sbatch accepts.

fake_tool=$(basename "$0")
fake_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

fake_die() {
    echo "$fake_tool: error: $*" >&2
    exit 1
}

[ -n "${VL_FAKE_SLURM_DIR:-}" ] || fake_die "VL_FAKE_SLURM_DIR is not set (the fake Slurm keeps its jobs there)"
S=$VL_FAKE_SLURM_DIR
mkdir -p "$S/jobs"

fake_now_ms() { date +%s%3N; }

# fake_state ID: prints "STATE REASON" of job ID, or nothing when Slurm
# would not know it (never submitted, or ended more than MinJobAge ago)
fake_state() {
    local job=$S/jobs/$1 line end
    [ -f "$job/state" ] || return 0
    line=$(cat "$job/state")
    if [ -f "$job/end_ms" ]; then
        end=$(cat "$job/end_ms")
        [ $(($(fake_now_ms) - end)) -lt "$(fake_min_age_ms)" ] || return 0
    fi
    echo "$line"
}

fake_min_age_ms() { awk -v s="${VL_FAKE_SLURM_MIN_AGE:-300}" 'BEGIN { print int(s * 1000) }'; }

# fake_set_state ID STATE REASON: the caller holds the job's lock
fake_set_state() {
    local job=$S/jobs/$1
    echo "$2 $3" >"$job/state.tmp"
    case $2 in
    PENDING | RUNNING | COMPLETING) ;;
    *) # whole or not at all: squeue reads it without the lock, and an empty
       # end time read mid-write made a just-ended job look long gone
        fake_now_ms >"$job/end_ms.tmp"
        mv "$job/end_ms.tmp" "$job/end_ms"
        ;;
    esac
    mv "$job/state.tmp" "$job/state"
}

fake_final() {
    case $1 in
    PENDING | RUNNING | COMPLETING | "") return 1 ;;
    *) return 0 ;;
    esac
}

# fake_reason STATE: the reason Slurm gives a job that ended so
fake_reason() {
    case $1 in
    FAILED) echo NonZeroExitCode ;;
    TIMEOUT) echo TimeLimit ;;
    OUT_OF_MEMORY) echo OutOfMemory ;;
    NODE_FAIL) echo NodeDown ;;
    *) echo None ;;
    esac
}

# fake_end ID STATE: ends job ID with STATE as slurmctld does: a pending job
# at once; a running one gets SIGTERM (SIGKILL for OUT_OF_MEMORY and
# NODE_FAIL), SIGKILL after KillWait, and shows COMPLETING until its
# processes are gone (slurm-fake-job sets the state then).  Fails (1) when
# the job has ended already.  The caller holds the job's lock.
fake_end() {
    local id=$1 state=$2 job=$S/jobs/$1 now pgid sig=TERM
    local current
    current=$(cut -d' ' -f1 "$job/state")
    fake_final "$current" && return 1
    [ ! -f "$job/kill" ] || return 0 # being ended already
    echo "$state" >"$job/kill"
    if [ "$current" = PENDING ]; then
        fake_set_state "$id" "$state" "$(fake_reason "$state")"
        return 0
    fi
    now=$(date '+%Y-%m-%dT%H:%M:%S')
    case $state in
    TIMEOUT) echo "slurmstepd: error: *** JOB $id ON fakenode CANCELLED AT $now DUE TO TIME LIMIT ***" ;;
    CANCELLED) echo "slurmstepd: error: *** JOB $id ON fakenode CANCELLED AT $now ***" ;;
    OUT_OF_MEMORY)
        echo "slurmstepd: error: Detected 1 oom_kill event in StepId=$id.batch. Some of the step tasks have been OOM Killed."
        sig=KILL
        ;;
    NODE_FAIL) sig=KILL ;;
    esac >>"$(cat "$job/output")"
    fake_set_state "$id" COMPLETING None
    pgid=$(cat "$job/pgid")
    kill -"$sig" -- -"$pgid" 2>/dev/null || true
    if [ $sig = TERM ]; then
        (
            sleep "${VL_FAKE_SLURM_KILL_WAIT:-0.5}"
            kill -KILL -- -"$pgid" 2>/dev/null
        ) </dev/null >/dev/null 2>&1 9>&- &
    fi
    return 0
}

# fake_group_alive PGID: 0 while a process of group PGID is alive (zombies
# do not count: an orphan's may wait long for this machine's init to reap it)
fake_group_alive() {
    ps -e -o pgid= -o stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

# fake_locked ID COMMAND...: runs COMMAND holding job ID's lock
fake_locked() {
    local id=$1 rc=0
    shift
    exec 9>"$S/jobs/$id/lock"
    flock 9
    "$@" || rc=$?
    exec 9>&-
    return $rc
}

# fake_slurm_stop: kills every job's processes (for a test's exit trap)
fake_slurm_stop() {
    local f
    for f in "$S"/jobs/*/pgid "$S"/jobs/*/supervisor; do
        [ ! -f "$f" ] || kill -KILL -- -"$(cat "$f")" 2>/dev/null || true
    done
    return 0
}
