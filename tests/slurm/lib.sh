# Shared by tests/slurm/cluster.sh (one node on this host) and tests/slurm/multinode.sh (nodes in network
# namespaces): packages, the munge daemon, pid handling and the slurm.conf lines both clusters use. Source it after
# setting STATE (the cluster's state dir).

log() { echo "$(basename "$0"): $*" >&2; }
die() { log "$*"; exit 1; }

# Whether a process runs: it exists and is not a zombie (a killed daemon stays one until init reaps it).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) } # the fields after "PID (COMM) ", the state first
  [ "${stat:0:1}" != Z ]
}

# PID from a pid file, only if that process is alive and is the named program (pid files can be stale).
live_pid() {
  local file=$1 name=$2 pid
  [ -s "$file" ] || return 1
  pid=$(cat "$file")
  alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] && echo "$pid"
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

# munged with its own key and socket in $STATE/munge; "$@" prefixes the command (e.g. ip netns exec NS).
start_munged() {
  live_pid "$STATE/munged.pid" munged >/dev/null && return 0
  mkdir -p "$STATE/munge" "$STATE/log"
  # The socket directory must be searchable by every client; the key file itself stays 0400.
  chown munge:munge "$STATE/munge" && chmod 755 "$STATE/munge"
  if [ ! -s "$STATE/munge/munge.key" ]; then
    dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
  fi
  chown munge:munge "$STATE/munge/munge.key" && chmod 400 "$STATE/munge/munge.key"
  "$@" runuser -u munge -- munged --socket="$STATE/munge/munge.socket" --key-file="$STATE/munge/munge.key" \
    --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/munge/munged.log" --seed-file="$STATE/munge/munged.seed" \
    </dev/null >>"$STATE/log/munged.out" 2>&1 9>&- || { cat "$STATE/munge/munged.log" >&2 || true; fail_start "munged failed to start"; }
  cp "$STATE/munge/munged.pid" "$STATE/munged.pid"
}

# TERM the process of a pid file, KILL it after 10 s.
stop_pid() {
  local file=$1 name=$2 pid i
  pid=$(live_pid "$file" "$name") || { rm -f "$file"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$pid" 2>/dev/null; then log "$name ($pid) did not stop in 10 s; killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$file"
}

# The slurm.conf lines every test cluster shares (auth through its own munged, no accounting, no cgroups).
common_config() {
  cat <<CONF
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$STATE/munge/munge.socket
StateSaveLocation=$STATE/ctld
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
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
# Nodes are taken as configured (the CPUs of the NodeName lines, not the host's).
SlurmdParameters=config_overrides
CONF
}

# 90% of this host's memory in MB (memory is not enforced: task/none).
host_memory_mb() { awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo; }
