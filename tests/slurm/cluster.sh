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
# shellcheck source=tests/slurm/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

node_state() { sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n1; }

running() {
  live_pid "$STATE/munged.pid" munged >/dev/null && live_pid "$STATE/slurmctld.pid" slurmctld >/dev/null &&
    live_pid "$STATE/slurmd.pid" slurmd >/dev/null && [ -f "$CONF" ] &&
    case "$(node_state)" in idle*|mix*|alloc*|completing*) true ;; *) false ;; esac
}

write_config() {
  local cpus mem
  cpus=$(nproc); [ "$cpus" -ge 2 ] || cpus=2
  mem=$(host_memory_mb)
  cat >"$CONF" <<CONF
# Written by tests/slurm/cluster.sh: a private single-node cluster for tta's tests.
ClusterName=tta-test
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmdSpoolDir=$STATE/slurmd
SlurmdPidFile=$STATE/slurmd.pid
SlurmdLogFile=$STATE/log/slurmd.log
$(common_config)
GresTypes=gpu
# CPUs at least 2 so two tasks can run at once even on one core.
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  # One GPU "slot" so that --gres=gpu:1 is accepted and scheduled. slurmd drops a GPU without a device file, so it
  # points at /dev/null; no GPU is used.
  printf 'NodeName=%s Name=gpu File=/dev/null\n' "$NODE" >"$STATE/gres.conf"
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
