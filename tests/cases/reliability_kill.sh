# reliability_kill: SIGKILL vlbuild, and separately a running action's
# process (one whose death vlbuild must report: reported_processes in
# common.sh), at seeded random moments of a small quickstart build, rebuilding
# each time; at the end every output equals a clean build's byte for byte,
# state.db passes PRAGMA integrity_check, the cache verifies, and no
# temporary file is left anywhere.  docs/reliability.md describes it.
#   VL_KILL_COUNT   kills to make (default 50)
#   VL_KILL_SEED    seed of the moments and choices (default 11)
#   VL_KILL_BUDGET  seconds after which no new round starts (default 200); the
#                   test then says how many kills it made, and fails only
#                   below 10
source "$(dirname "$0")/lib.sh"
source "$VL_SOURCE_DIR/tests/reliability/common.sh"

# Under the sanitizers, LeakSanitizer checks for leaks as vlbuild exits by
# stopping its threads from a tracer: a clone child of vlbuild, which this
# test's kills of "a process of vlbuild's" can hit.  A killed tracer leaves
# vlbuild's threads stopped, or its exiting thread spinning beside the dead
# tracer, forever: the two "hangs" this test used to find under ASan.  The
# leak check stays on in every other test.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

count=${VL_KILL_COUNT:-50}
seed=${VL_KILL_SEED:-11}
budget=${VL_KILL_BUDGET:-200}
RANDOM=$seed
vars=(per_class=1 epochs=1)
targets=(report digest)

# the quickstart plus a shell rule whose output grows in steps, so that a kill
# lands in the middle of writing it; it begins with `set -e`, so its cat and
# sleep are killed too
make_project() {
    quickstart_copy "$1"
    cat >>"$1/vlbuild.rules" <<'RULES'

rule digest
    each f in features:*.npy
    run  set -e; for i in 1 2 3; do cat $in; sleep 0.02; done > $out
    out  build/digest/{f.stem}.bin
RULES
}

build() {
    "$VLBUILD" --no-wait -j 2 -k 0 "${vars[@]}" "${targets[@]}" >"$root/run.log" 2>&1
}

t0=$SECONDS
make_project ref
(cd ref && build) || { cat "$root/run.log"; fail "the reference build failed"; finish; }
ref_secs=$((SECONDS - t0))
make_project proj
cd proj

kills=0 vl_kills=0 action_kills=0 started_kills=0 rounds=0 finished=0
span=30 # in 50 ms steps: the length of the last build that was not cut
outputs() { tree_files build models data; }

# one round: start a build, maybe kill vlbuild or one of its processes
while [ "$kills" -lt "$count" ]; do
    if [ $((SECONDS - t0)) -gt "$budget" ]; then
        echo "note: time budget of ${budget}s spent after $kills kills in $rounds rounds"
        break
    fi
    rounds=$((rounds + 1))
    started=${EPOCHREALTIME/./}
    "$VLBUILD" --no-wait -j 2 -k 0 "${vars[@]}" "${targets[@]}" >"$root/run.log" 2>&1 &
    pid=$!
    killed=0
    procs=""
    if [ $((RANDOM % 10)) -lt 6 ]; then
        # vlbuild itself, at a moment drawn within the last uncut build's time
        for i in $(seq 1 $((RANDOM % span + 1))); do
            sleep 0.05
            kill -0 "$pid" 2>/dev/null || break
        done
        if kill -0 "$pid" 2>/dev/null; then
            procs=$(descendants "$pid")
            kill -KILL "$pid" 2>/dev/null && killed=1 vl_kills=$((vl_kills + 1))
        fi
    else
        # a running action: the shell of a `run` rule, or a process started
        # by a command that reports their deaths (the labels and digest
        # rules'), each time one is seen with probability 1/4
        for j in $(seq 1 1000); do
            kill -0 "$pid" 2>/dev/null || break
            mapfile -t kids < <(reported_processes "$pid")
            if [ "${#kids[@]}" -gt 0 ] && [ $((RANDOM % 4)) = 0 ]; then
                victim=${kids[$((RANDOM % ${#kids[@]}))]}
                parent=$(ps -o ppid= -p "$victim" 2>/dev/null || true)
                if kill -KILL "$victim" 2>/dev/null; then
                    killed=1 action_kills=$((action_kills + 1))
                    [ "${parent// /}" = "$pid" ] || started_kills=$((started_kills + 1))
                fi
                break
            fi
            sleep 0.03
        done
    fi
    # a build of this project takes seconds: a minute is a hang; say where
    for i in $(seq 1 1200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        fail "round $rounds: vlbuild (pid $pid) still runs after a minute: a hang"$'\n'"$(
            ps -L -o pid,lwp,stat,wchan:30,etime,cmd -p "$pid" $(descendants "$pid") 2>&1)"$'\n'"$(tail -n 20 "$root/run.log")"
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        break
    fi
    set +e
    wait "$pid" 2>/dev/null
    rc=$?
    set -e
    # the actions' processes die with vlbuild (PR_SET_PDEATHSIG); wait for
    # anything they started, as a user's next build would not race them
    [ -n "${procs:-}" ] && { wait_gone $procs || fail "round $rounds: processes outlived vlbuild"; }
    cat "$root/run.log" >>"$root.log"
    echo "round $rounds: exit status $rc, killed $killed, span $span, $((SECONDS - t0)) s" >>"$root.log"
    if sanitizer_report "$root/run.log"; then
        fail "round $rounds: sanitizer report"$'\n'"$(cat "$root/run.log")"
        break
    fi
    grep -q 'corrupt' "$root/run.log" && fail "round $rounds: state called corrupt"$'\n'"$(cat "$root/run.log")"
    kills=$((kills + killed))
    case "$rc" in
    0) finished=$((finished + 1))
       [ "$killed" = 0 ] && span=$(((${EPOCHREALTIME/./} - started) / 50000 + 1)) ;;
    1) [ "$killed" = 1 ] || fail "round $rounds: an action failed unprovoked"$'\n'"$(cat "$root/run.log")" ;;
    137) [ "$killed" = 1 ] || fail "round $rounds: vlbuild died of SIGKILL unprovoked" ;;
    *) fail "round $rounds: exit status $rc"$'\n'"$(cat "$root/run.log")"; break ;;
    esac
    # a finished build leaves nothing to interrupt: undo some of it (outputs
    # only: temporaries that a kill left must stay for the final check)
    if [ "$rc" = 0 ]; then
        mapfile -t outs < <(outputs)
        case $((RANDOM % 6)) in
        0 | 1 | 2) for f in "${outs[@]}"; do [ $((RANDOM % 3)) = 0 ] && rm -f "$f"; done ;;
        3) rm -f "${outs[@]}" ;; # restored from the cache
        4) rm -rf .vlbuild/cache/ac .vlbuild/cache/cas
           rm -f build/features/* models/* ;; # features and training run again
        5) rm -rf .vlbuild/cache/ac .vlbuild/cache/cas
           rm -f "${outs[@]}" ;; # everything runs again
        esac
    fi
done

echo "$kills kills ($vl_kills of vlbuild, $action_kills of an action's process, $started_kills of them" \
    "started by its shell) in $rounds rounds," \
    "$finished builds finished; reference build ${ref_secs}s; $((SECONDS - t0))s in all"
[ "$kills" -ge 10 ] || fail "only $kills kills"

vl --no-wait -j 2 -k 0 "${vars[@]}" "${targets[@]}"
expect_rc 0
vl --no-wait -j 2 "${vars[@]}" "${targets[@]}"
expect_rc 0
expect_output " 0 ran, 0 restored, "
same_tree ../ref build data models || fail "outputs differ from the clean build's"
integrity_ok .vlbuild/state.db || fail "state.db is damaged"
expect_no_file .vlbuild/state.db.corrupt
vl cache verify
expect_rc 0
# Temporaries left by killed writers are removed when their action runs
# again; one restored from the cache instead leaves a side file's temporary
# (a trainer's resume file), so by default they are listed, and
# VL_RELIABILITY_STRICT=1 fails on any (docs/reliability.md).
left=$(temporaries . | grep -v '^./\.vlbuild/cache/tmp/' || true)
if [ -n "$left" ]; then
    if [ "${VL_RELIABILITY_STRICT:-0}" = 1 ]; then
        fail "temporary files left in the project:"$'\n'"$left"
    else
        echo "note: $(printf '%s\n' "$left" | wc -l) temporary file(s) left in the project:"$'\n'"$left"
    fi
fi
left=$(temporaries .vlbuild/cache)
[ -z "$left" ] || echo "note: $(printf '%s\n' "$left" | wc -l) temporary file(s) in the cache's tmp/ (vlbuild cache gc removes them after an hour)"
finish
