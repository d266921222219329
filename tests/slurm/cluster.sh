#!/usr/bin/env bash
# A real single-node Slurm cluster on this host, for the tests and CI (not a mock).
#
#   tests/slurm/cluster.sh start    install slurm-wlm + munge if missing (apt-get, as root), start munged,
#                                   slurmctld and slurmd with a private config; idempotent (exit 0 if already up)
#   tests/slurm/cluster.sh stop     cancel this cluster's jobs, stop the daemons it started (by PID), keep logs
#   tests/slurm/cluster.sh status   exit 0 when all three daemons run and the node is schedulable
#   tests/slurm/cluster.sh env      print `export SLURM_CONF=…` for the client tools (sbatch, squeue, scontrol, scancel)
#
# State (config, munge key and socket, spool, logs, pid files) lives in $TTA_SLURM_DIR (default /tmp/tta-slurm).
# Ports: $TTA_SLURM_PORT (slurmctld, default 16817) and the next one (slurmd). Nothing outside the state dir is
# touched except the installed packages; a system munged or Slurm, if any, is left alone.
set -euo pipefail

STATE=${TTA_SLURM_DIR:-/tmp/tta-slurm}
CTLD_PORT=${TTA_SLURM_PORT:-16817}
SLURMD_PORT=$((CTLD_PORT + 1))
CONF=$STATE/slurm.conf
NODE=$(hostname -s)
export SLURM_CONF=$CONF

log() { echo "cluster.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# PID from a pid file, only if that process is alive and is the named program (pid files can be stale).
live_pid() {
  local file=$1 name=$2 pid
  [ -s "$file" ] || return 1
  pid=$(cat "$file")
  [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$name" ] && echo "$pid"
}

node_state() { sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n1; }

running() {
  live_pid "$STATE/munged.pid" munged >/dev/null && live_pid "$STATE/slurmctld.pid" slurmctld >/dev/null &&
    live_pid "$STATE/slurmd.pid" slurmd >/dev/null && [ -f "$CONF" ] &&
    case "$(node_state)" in idle*|mix*|alloc*|completing*) true ;; *) false ;; esac
}

install_packages() {
  local tools=(munged slurmctld slurmd sbatch squeue scontrol scancel sinfo)
  local missing=0 t
  for t in "${tools[@]}"; do command -v "$t" >/dev/null || missing=1; done
  [ $missing = 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "Slurm is not installed and installing it needs root: apt-get install slurm-wlm munge"
  command -v apt-get >/dev/null || die "Slurm is not installed and apt-get is not available"
  log "installing slurm-wlm and munge with apt-get"
  # Keep the packages' init scripts from starting system daemons: we start our own, privately.
  local policy=/usr/sbin/policy-rc.d added=0
  if [ ! -e $policy ]; then printf '#!/bin/sh\nexit 101\n' >$policy && chmod +x $policy && added=1; fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge >"$STATE/apt.log" 2>&1 ||
    { DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$STATE/apt.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge >>"$STATE/apt.log" 2>&1; } || rc=$?
  [ $added = 1 ] && rm -f $policy
  [ $rc = 0 ] || { tail -n 20 "$STATE/apt.log" >&2; die "apt-get install slurm-wlm munge failed (log: $STATE/apt.log)"; }
}

write_config() {
  local cpus mem
  cpus=$(nproc); [ "$cpus" -ge 2 ] || cpus=2
  mem=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  cat >"$CONF" <<CONF
# Written by tests/slurm/cluster.sh: a private single-node cluster for tta's tests.
ClusterName=tta-test
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$STATE/munge/munge.socket
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default each job takes the whole node's memory and array tasks run one at a time.
DefMemPerCPU=100
# Finished jobs stay visible to scontrol (there is no slurmdbd, so sacct has nothing) for 10 minutes.
MinJobAge=600
ReturnToService=2
# The node is taken as configured (CPUs at least 2 so two tasks can run at once even on one core).
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  # One GPU "slot" so that --gres=gpu:1 is accepted and scheduled. slurmd drops a GPU without a device file, so it
  # points at /dev/null; no GPU is used.
  printf 'NodeName=%s Name=gpu File=/dev/null\n' "$NODE" >"$STATE/gres.conf"
}

start_munged() {
  live_pid "$STATE/munged.pid" munged >/dev/null && return 0
  mkdir -p "$STATE/munge"
  # The socket directory must be searchable by every client; the key file itself stays 0400.
  chown munge:munge "$STATE/munge" && chmod 755 "$STATE/munge"
  if [ ! -s "$STATE/munge/munge.key" ]; then
    dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
  fi
  chown munge:munge "$STATE/munge/munge.key" && chmod 400 "$STATE/munge/munge.key"
  runuser -u munge -- munged --socket="$STATE/munge/munge.socket" --key-file="$STATE/munge/munge.key" \
    --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/munge/munged.log" --seed-file="$STATE/munge/munged.seed" \
    </dev/null >>"$STATE/log/munged.out" 2>&1 9>&- || { cat "$STATE/munge/munged.log" >&2 || true; fail_start "munged failed to start"; }
  cp "$STATE/munge/munged.pid" "$STATE/munged.pid"
}

start() {
  mkdir -p "$STATE"
  chmod 755 "$STATE"
  install_packages
  (
    flock 9
    if running; then echo "already running"; exit 0; fi
    mkdir -p "$STATE/ctld" "$STATE/slurmd" "$STATE/log"
    write_config
    start_munged
    if ! live_pid "$STATE/slurmctld.pid" slurmctld >/dev/null; then
      # -c: start with an empty job table; -i: ignore unreadable old state.
      slurmctld -c -i -f "$CONF" </dev/null >>"$STATE/log/slurmctld.out" 2>&1 9>&- ||
        { tail -n 20 "$STATE/log/slurmctld.log" >&2; fail_start "slurmctld failed to start"; }
    fi
    if ! live_pid "$STATE/slurmd.pid" slurmd >/dev/null; then
      slurmd -N "$NODE" -f "$CONF" </dev/null >>"$STATE/log/slurmd.out" 2>&1 9>&- ||
        { tail -n 20 "$STATE/log/slurmd.log" >&2; fail_start "slurmd failed to start"; }
    fi
    local i s
    for i in $(seq 1 120); do
      s=$(node_state || true)
      case "$s" in
        idle*|mix*|alloc*) echo "started"; exit 0 ;;
        down*|drain*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
      esac
      sleep 0.25
    done
    tail -n 20 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2 || true
    fail_start "node $NODE did not become idle within 30 s (state: ${s:-none})"
  ) 9>"$STATE/.lock"
}

stop_pid() {
  local file=$1 name=$2 pid i
  pid=$(live_pid "$file" "$name") || { rm -f "$file"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$pid" 2>/dev/null; then log "$name ($pid) did not stop in 10 s; killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$file"
}

# Cancel this cluster's jobs (and wait for them to end) so no job process outlives slurmd, then stop the daemons.
stop_daemons() {
  if live_pid "$STATE/slurmctld.pid" slurmctld >/dev/null; then
    local ids i
    ids=$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
    if [ -n "${ids// /}" ]; then
      # shellcheck disable=SC2086
      scancel $ids 2>/dev/null || true
      for i in $(seq 1 40); do [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break; sleep 0.25; done
    fi
  fi
  stop_pid "$STATE/slurmd.pid" slurmd
  stop_pid "$STATE/slurmctld.pid" slurmctld
  stop_pid "$STATE/munged.pid" munged
  rm -f "$STATE/munge/munged.pid"
}

# A failed start leaves nothing running.
fail_start() {
  log "$*"
  stop_daemons
  exit 1
}

stop() {
  [ -d "$STATE" ] || return 0
  (
    flock 9
    stop_daemons
    echo "stopped"
  ) 9>"$STATE/.lock"
}

status() {
  local name file pid ok=0
  for name in munged slurmctld slurmd; do
    file=$STATE/$name.pid
    if pid=$(live_pid "$file" "$name"); then echo "$name: running (pid $pid)"; else echo "$name: not running"; ok=1; fi
  done
  [ $ok = 0 ] && echo "node $NODE: $(node_state || echo unknown)"
  running
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
