#!/usr/bin/env bash
# A real Slurm cluster of several hosts on this machine, for the tests and CI: a controller and $TTA_SLURM_NODES
# (default 3) compute nodes, each in its own network namespace with its own address on a bridge this script creates.
#
#   tests/slurm/multinode.sh start          create the bridge, namespaces and veths; start munged and slurmctld in the
#                                           controller's namespace and `slurmd -N nodeN` in each node's; wait until
#                                           every node is idle. Idempotent: starts only what is missing (a killed
#                                           node comes back), and clears what an earlier, broken run left
#   tests/slurm/multinode.sh stop           kill every process in the namespaces (by PID: `ip netns pids`), then
#                                           delete the namespaces, veths and bridge; keeps the logs
#   tests/slurm/multinode.sh status         exit 0 when every daemon runs and every node is schedulable
#   tests/slurm/multinode.sh kill-node N    SIGKILL every process of nodeN's namespace (slurmd, slurmstepd, tasks),
#                                           as if the host died; the namespace stays, so `start` brings it back
#   tests/slurm/multinode.sh exec CMD…      run CMD in the controller's network namespace with SLURM_CONF set: client
#                                           tools and tta runs that submit (--executor=slurm) reach slurmctld there
#   tests/slurm/multinode.sh leftovers      print what of this cluster exists (processes, namespaces, links); for tests
#   tests/slurm/multinode.sh env            print the namespace and `export SLURM_CONF=…`
#
# Hosts: namespace ttan-ctl at $NET.1 (slurmctld, munged) and ttan-nodeN at $NET.(10+N) (slurmd), all on bridge
# ttan-br; veth ttan-H-h (bridge side) and ttan-H-c (namespace side) per host. The bridge has no address of this
# host and the namespaces no route out, so all traffic stays between the cluster's own namespaces.
# Namespaces isolate the network only: every host sees this machine's filesystem, so they share the cache path as
# an NFS mount would give it (this kernel has no NFS server to test with).
# State (config, munge key and socket, spool, logs, pid files) lives in $TTA_SLURM_NODES_DIR (default
# /tmp/tta-slurm-nodes). Ports: $TTA_SLURM_NODES_PORT (slurmctld, default 16827) and the next one (slurmd; each node
# has its own namespace, so they share it). It coexists with tests/slurm/cluster.sh (/tmp/tta-slurm, 16817/16818).
set -euo pipefail

STATE=${TTA_SLURM_NODES_DIR:-/tmp/tta-slurm-nodes}
CTLD_PORT=${TTA_SLURM_NODES_PORT:-16827}
SLURMD_PORT=$((CTLD_PORT + 1))
NODES=${TTA_SLURM_NODES:-3}
NET=${TTA_SLURM_NODES_NET:-10.203.77}
PREFIX=ttan
BRIDGE=$PREFIX-br
CTL_NS=$PREFIX-ctl
CONF=$STATE/slurm.conf
HOST=$(hostname -s)
export SLURM_CONF=$CONF
# shellcheck source=tests/slurm/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

hosts() { echo ctl; seq -f 'node%g' 1 "$NODES"; }
ns_of() { echo "$PREFIX-$1"; }
address_of() { if [ "$1" = ctl ]; then echo "$NET.1"; else echo "$NET.$((10 + ${1#node}))"; fi; }
# nsenter (not `ip netns exec`) switches the network namespace only: the daemons keep this host's mounts, /sys and
# its cgroup tree included, which slurmd needs.
in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }
in_ctl() { in_ns "$CTL_NS" "$@"; }

node_states() { in_ctl sinfo -h -N -o '%N %T' 2>/dev/null || true; }

all_idle() {
  local states n
  states=$(node_states)
  for n in $(hosts | grep node); do
    grep -Eq "^$n (idle|mix|alloc|completing)" <<<"$states" || return 1
  done
}

running() {
  local n
  ip netns pids "$CTL_NS" >/dev/null 2>&1 && live_pid "$STATE/munged.pid" munged >/dev/null &&
    live_pid "$STATE/slurmctld.pid" slurmctld >/dev/null || return 1
  for n in $(hosts | grep node); do live_pid "$STATE/slurmd-$n.pid" slurmd >/dev/null || return 1; done
  all_idle
}

write_config() {
  local mem n
  mem=$(host_memory_mb)
  {
    echo "# Written by tests/slurm/multinode.sh: a private cluster of $NODES nodes in network namespaces."
    echo "ClusterName=tta-nodes"
    echo "SlurmctldHost=$HOST($NET.1)"
    echo "SlurmctldPort=$CTLD_PORT"
    echo "SlurmdPort=$SLURMD_PORT"
    # %n: each node's own spool, pid and log file (they all live on this one filesystem).
    echo "SlurmdSpoolDir=$STATE/spool/%n"
    echo "SlurmdPidFile=$STATE/slurmd-%n.pid"
    echo "SlurmdLogFile=$STATE/log/slurmd-%n.log"
    common_config
    echo "# A node that stops answering is DOWN after 10 s, and its running tasks end NODE_FAIL (tta submits --no-requeue)."
    echo "SlurmdTimeout=10"
    echo "# One CPU per node, so the tasks of one array spread over the nodes. Memory is not enforced (task/none)."
    for n in $(hosts | grep node); do
      echo "NodeName=$n NodeAddr=$(address_of "$n") CPUs=1 RealMemory=$mem State=UNKNOWN"
    done
    echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
  } >"$CONF"
}

# The subnet must be free on this host: no address or route of it outside our own bridge.
check_subnet() {
  if ip -o addr show | grep -v " $BRIDGE " | grep -q "inet $NET\."; then die "$NET.0/24 is in use on this host; set TTA_SLURM_NODES_NET"; fi
  if ip route show | grep -v "dev $BRIDGE" | grep -q "^$NET\."; then die "$NET.0/24 is routed on this host; set TTA_SLURM_NODES_NET"; fi
}

create_network() {
  local h ns
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip link set "$BRIDGE" up
  for h in $(hosts); do
    ns=$(ns_of "$h")
    ip netns pids "$ns" >/dev/null 2>&1 || ip netns add "$ns"
    if ! ip -n "$ns" link show "$PREFIX-$h-c" >/dev/null 2>&1; then
      ip link del "$PREFIX-$h-h" 2>/dev/null || true
      ip link add "$PREFIX-$h-h" type veth peer name "$PREFIX-$h-c"
      ip link set "$PREFIX-$h-c" netns "$ns"
      ip link set "$PREFIX-$h-h" master "$BRIDGE" up
      ip -n "$ns" addr add "$(address_of "$h")/24" dev "$PREFIX-$h-c"
    fi
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "$PREFIX-$h-c" up
  done
}

start_node() {
  local n=$1
  live_pid "$STATE/slurmd-$n.pid" slurmd >/dev/null && return 0
  mkdir -p "$STATE/spool/$n"
  in_ns "$(ns_of "$n")" slurmd -N "$n" -f "$CONF" </dev/null >>"$STATE/log/slurmd-$n.out" 2>&1 9>&- ||
    { tail -n 20 "$STATE/log/slurmd-$n.log" >&2 || true; fail_start "slurmd of $n failed to start"; }
}

start() {
  [ "$(id -u)" = 0 ] || die "network namespaces and the Slurm daemons need root"
  mkdir -p "$STATE"
  chmod 755 "$STATE"
  install_packages
  (
    flock 9
    if running; then echo "already running"; exit 0; fi
    # What a killed test left (processes without their pid files, namespaces): cleared before a fresh start.
    live_pid "$STATE/slurmctld.pid" slurmctld >/dev/null || stop_all
    check_subnet
    mkdir -p "$STATE/ctld" "$STATE/spool" "$STATE/log"
    write_config
    create_network
    start_munged in_ctl
    if ! live_pid "$STATE/slurmctld.pid" slurmctld >/dev/null; then
      # -c: start with an empty job table; -i: ignore unreadable old state.
      in_ctl slurmctld -c -i -f "$CONF" </dev/null >>"$STATE/log/slurmctld.out" 2>&1 9>&- ||
        { tail -n 20 "$STATE/log/slurmctld.log" >&2; fail_start "slurmctld failed to start"; }
    fi
    local n i
    for n in $(hosts | grep node); do start_node "$n"; done
    for i in $(seq 1 120); do
      if all_idle; then echo "started"; exit 0; fi
      # A node that was killed comes back DOWN (not responding); resume it once its slurmd registers again.
      for n in $(node_states | awk '$2 ~ /^(down|drain)/ { print $1 }'); do
        in_ctl scontrol update NodeName="$n" State=RESUME >/dev/null 2>&1 || true
      done
      sleep 0.25
    done
    node_states >&2
    tail -n 20 "$STATE/log/slurmctld.log" >&2 || true
    fail_start "the nodes did not become idle within 30 s"
  ) 9>"$STATE/.lock"
}

# Whether any of these processes is still alive (a zombie counts as gone: it holds nothing any more).
any_alive() {
  local pid
  for pid in "$@"; do alive "$pid" && return 0; done
  return 1
}

# SIGTERM (or the given signal) every process in a namespace, by PID, and wait until they are gone; SIGKILL what is
# left after 5 s. A dying process leaves its namespaces before it is gone, so the PIDs are followed, not the namespace.
kill_namespace() {
  local ns=$1 signal=${2:-TERM} pids=() i
  mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -"$signal" "${pids[@]}" 2>/dev/null || true
  for i in $(seq 1 20); do any_alive "${pids[@]}" || break; sleep 0.25; done
  if any_alive "${pids[@]}"; then
    log "$ns: processes ${pids[*]} did not stop; killing"
    kill -KILL "${pids[@]}" 2>/dev/null || true
    for i in $(seq 1 20); do any_alive "${pids[@]}" || break; sleep 0.25; done
  fi
  # Processes started while the first ones stopped (a task's children): once more, then no further.
  [ -n "${3:-}" ] || [ -z "$(ip netns pids "$ns" 2>/dev/null || true)" ] || kill_namespace "$ns" KILL again
}

# Everything this cluster started: the nodes' processes (slurmd, slurmstepd and the tasks), then the controller's
# (slurmctld, munged); then the namespaces and links. Jobs are not cancelled first: the next start clears the job table.
stop_all() {
  local h ns
  for h in $(hosts | grep node) ctl; do kill_namespace "$(ns_of "$h")"; done
  for h in $(hosts); do
    ns=$(ns_of "$h")
    ip netns pids "$ns" >/dev/null 2>&1 && ip netns del "$ns"
    ip link del "$PREFIX-$h-h" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -f "$STATE"/*.pid "$STATE/munge/munged.pid"
}

# A failed start leaves nothing running.
fail_start() {
  log "$*"
  stop_all
  exit 1
}

stop() {
  [ -d "$STATE" ] || { stop_all; echo "stopped"; return 0; }
  (
    flock 9
    stop_all
    echo "stopped"
  ) 9>"$STATE/.lock"
}

kill_node() {
  local n=node${1:?usage: kill-node N}
  ip netns pids "$(ns_of "$n")" >/dev/null 2>&1 || die "no namespace $(ns_of "$n")"
  kill_namespace "$(ns_of "$n")" KILL
  echo "killed $n"
}

leftovers() {
  local h ns
  for h in $(hosts); do
    ns=$(ns_of "$h")
    ip netns pids "$ns" >/dev/null 2>&1 && echo "namespace $ns: pids $(ip netns pids "$ns" | tr '\n' ' ')"
  done
  ip -o link show | awk -F': ' -v p="$PREFIX-" 'index($2, p) == 1 { sub(/@.*/, "", $2); print "link " $2 }'
  return 0
}

status() {
  local n pid
  if pid=$(live_pid "$STATE/munged.pid" munged); then echo "munged: running (pid $pid)"; else echo "munged: not running"; fi
  if pid=$(live_pid "$STATE/slurmctld.pid" slurmctld); then echo "slurmctld: running (pid $pid)"; else echo "slurmctld: not running"; fi
  for n in $(hosts | grep node); do
    if pid=$(live_pid "$STATE/slurmd-$n.pid" slurmd); then echo "slurmd $n: running (pid $pid)"; else echo "slurmd $n: not running"; fi
  done
  node_states
  running
}

verb=${1:-}
[ $# -gt 0 ] && shift
case "$verb" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kill-node) kill_node "$@" ;;
  exec) [ $# -gt 0 ] || die "usage: $0 exec COMMAND [ARG…]"; exec nsenter --net="/run/netns/$CTL_NS" "$@" ;;
  leftovers) leftovers ;;
  env) echo "# run client tools with: nsenter --net=/run/netns/$CTL_NS …"; echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start|stop|status|kill-node N|exec CMD…|leftovers|env" >&2; exit 2 ;;
esac
