#!/usr/bin/env bash
# up.sh DIR - brings up a one-node Slurm on loopback under DIR, without
# systemd: munged, slurmctld and slurmd (as root), a node with this machine's
# CPUs and two fake GPUs (character devices made with mknod, declared in
# gres.conf), no cgroup plugins, no accounting database.  Prints the
# environment to use it (SLURM_CONF=...) on stdout; `down.sh DIR` stops it.
# Exit status 77 when Slurm or munge are missing or cannot start (the caller
# skips), 1 on other errors.  Installs Debian's packages when missing and
# VL_SLURM_INSTALL is not 0.
set -euo pipefail
dir=$(mkdir -p "$1" && cd "$1" && pwd)
log() { echo "slurm-up: $*" >&2; }
skip() { log "$*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root (slurmd runs jobs as any user, munged and mknod need root)"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
   ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    [ "${VL_SLURM_INSTALL:-1}" != 0 ] || skip "slurmctld, slurmd, slurm-client or munge is not installed"
    log "installing slurmctld slurmd slurm-client munge"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends slurmctld slurmd slurm-client munge; } >"$dir/apt.log" 2>&1 ||
        skip "cannot install Slurm with apt-get (see $dir/apt.log)"
fi
for t in slurmctld slurmd sbatch squeue scancel sinfo munged; do
    command -v $t >/dev/null || skip "$t is missing after the install"
done

mkdir -p "$dir/munge" "$dir/ctld" "$dir/spool" "$dir/log"
chmod 0700 "$dir/munge"
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 0400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed" 2>"$dir/log/munged.err" ||
    skip "munged does not start: $(cat "$dir/log/munged.err")"

# two fake GPUs: gres.conf insists on character devices
gpus=""
for i in 0 1; do
    dev=/dev/vlfakegpu$i
    [ -c $dev ] || mknod $dev c 1 3 2>/dev/null || break
    gpus=$((i + 1))
done
[ "$gpus" = 2 ] || skip "cannot create the fake GPU devices with mknod"

# free ports: slurmctld and slurmd, next to each other
port=$(python3 - <<'PY' 2>/dev/null || echo 16817
import socket
for p in range(16817, 16917, 2):
    ok = True
    for q in (p, p + 1):
        s = socket.socket()
        try: s.bind(("127.0.0.1", q))
        except OSError: ok = False
        finally: s.close()
    if ok: print(p); break
PY
)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
cat >"$dir/slurm.conf" <<CONF
ClusterName=vltest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
GresTypes=gpu
ReturnToService=2
InactiveLimit=0
KillWait=2
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
cat >"$dir/gres.conf" <<CONF
AutoDetect=off
NodeName=localhost Name=gpu File=/dev/vlfakegpu[0-1]
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -D -i -f "$SLURM_CONF" >"$dir/log/slurmctld.out" 2>&1 &
echo $! >"$dir/slurmctld.bgpid"
slurmd -D -N localhost -f "$SLURM_CONF" >"$dir/log/slurmd.out" 2>&1 &
echo $! >"$dir/slurmd.bgpid"

# wait for the node to be idle
for _ in $(seq 1 100); do
    state=$(sinfo -h -N -o '%t' 2>/dev/null | head -n 1 || true)
    [ "$state" = idle ] && break
    sleep 0.2
done
if [ "$state" != idle ]; then
    log "the node did not become idle (state '$state'); logs:"
    tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" "$dir/log/"*.out >&2 || true
    "$(dirname "$0")/down.sh" "$dir" || true
    exit 77
fi
echo "SLURM_CONF=$SLURM_CONF"
