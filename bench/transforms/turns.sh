#!/bin/bash
# bench/transforms/turns.sh - an A/B of commands on a shared machine.
#   turns.sh REPS NAME1 'CMD1' NAME2 'CMD2' ...
# Runs the commands in turn, REPS times (so that other processes' load falls
# on all of them alike), each under /usr/bin/time, and prints for each the
# median CPU time (user + sys) and wall time, then the load average.  PREP,
# when set, is run (eval) before every command, e.g. to delete outputs.
set -euo pipefail
reps=$1
shift
names=()
cmds=()
while [ $# -gt 0 ]; do
    names+=("$1")
    cmds+=("$2")
    shift 2
done
t=$(mktemp)
declare -A cpu wall
for _ in $(seq "$reps"); do
    for i in "${!cmds[@]}"; do
        eval "${PREP:-true}"
        /usr/bin/time -f "%e %U %S" -o "$t" bash -c "${cmds[$i]}" >/dev/null 2>&1
        read -r w u s <"$t"
        cpu[$i]+="$(echo "$u $s" | awk '{print $1+$2}') "
        wall[$i]+="$w "
    done
done
rm -f "$t"
median() { echo "$@" | tr ' ' '\n' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for i in "${!cmds[@]}"; do
    echo "${names[$i]}: cpu median $(median ${cpu[$i]}) s, wall median $(median ${wall[$i]}) s (cpu: ${cpu[$i]})"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
