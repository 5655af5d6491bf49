#!/usr/bin/env bash
# down.sh DIR - stops what up.sh DIR started: slurmd, slurmctld, munged.
dir=$1
for d in slurmd slurmctld; do
    [ -f "$dir/$d.bgpid" ] || continue
    pid=$(cat "$dir/$d.bgpid")
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
done
# jobs' step daemons may outlive slurmd for a moment
if [ -f "$dir/munge/munged.pid" ]; then
    munged --stop --socket="$dir/munge/munge.sock" >/dev/null 2>&1 ||
        kill "$(cat "$dir/munge/munged.pid")" 2>/dev/null || true
fi
exit 0
