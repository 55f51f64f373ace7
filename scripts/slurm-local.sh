#!/usr/bin/env bash
# A private single-node Slurm (munged + slurmctld + slurmd) under one directory, on loopback only.
# For testing jobs/*.sbatch without a cluster; it never reads or writes system configuration in /etc.
#
# Usage: scripts/slurm-local.sh start|stop|status DIR
#   start   write DIR/slurm.conf, start munged (as the munge user), slurmctld and `slurmd -N localhost`,
#           wait until sinfo shows the node idle (30 s at most) and print `export SLURM_CONF=DIR/slurm.conf`.
#           Idempotent: if everything already runs, only prints the export line; a half-started instance
#           is stopped and started again.
#   stop    cancel any jobs still queued or running, then stop slurmd, slurmctld and munged by the PIDs in
#           their pid files, waiting for each to exit (SIGTERM, then SIGKILL after 10 s). Idempotent.
#   status  one line per daemon (running or not) plus sinfo; exit 0 only when all three run.
#
# Environment: SLURM_LOCAL_CPUS (default 2) sets the node's CPU count; SLURM_LOCAL_PORTS (default
# 20000-29999) is the range in which two free TCP ports are chosen for slurmctld and slurmd.
# Needs root (slurmd runs as root and munged is started as the munge user) and the Debian packages
# slurm-wlm slurmctld slurmd slurm-client munge (scripts/install-deps.sh --with-slurm).
# DIR is created if missing and made traversable (mode go+x) so that the munge user can reach its socket.
# Network: slurmd binds 127.0.0.1 (CommunicationParameters=NoInAddrAny); Slurm 22.05's slurmctld still
# listens on every interface, but answers only requests signed with this instance's private munge key.
# Layout: DIR/slurm.conf, DIR/munge/{munge.key,munged.seed,munged.log,munged.pid,run/munge.socket},
#         DIR/slurm/{state,spool,log/*.log,run/*.pid}.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin

usage() {
  echo "usage: $0 start|stop|status DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
case "$cmd" in start | stop | status) ;; *) usage ;; esac
if [ "$cmd" = start ]; then mkdir -p "$2"; fi
if [ -d "$2" ]; then DIR=$(cd "$2" && pwd); else DIR=$2; fi
CONF=$DIR/slurm.conf
MUNGE_DIR=$DIR/munge
MUNGE_SOCK_DIR=$MUNGE_DIR/run
MUNGE_SOCK=$MUNGE_SOCK_DIR/munge.socket
MUNGE_PID=$MUNGE_DIR/munged.pid
CTLD_PID=$DIR/slurm/run/slurmctld.pid
SLURMD_PID=$DIR/slurm/run/slurmd.pid
CPUS=${SLURM_LOCAL_CPUS:-2}
PORTS=${SLURM_LOCAL_PORTS:-20000-29999}

log() { echo "slurm-local: $*" >&2; }
die() {
  log "$*"
  exit 1
}

# pid_of PIDFILE NAME: print the PID recorded in PIDFILE if that process is alive and its command is NAME.
# Checking the name guards against a stale pid file whose PID has been reused by another process.
pid_of() {
  local pid comm
  [ -s "$1" ] || return 1
  pid=$(tr -dc '0-9' <"$1")
  [ -n "$pid" ] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [ "$comm" = "$2" ] || return 1
  echo "$pid"
}

# stop_one PIDFILE NAME: SIGTERM the daemon, wait up to 10 s, then SIGKILL and wait up to 5 s more.
stop_one() {
  local pid i
  pid=$(pid_of "$1" "$2") || {
    rm -f "$1"
    return 0
  }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$2 (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  kill -0 "$pid" 2>/dev/null && die "$2 (pid $pid) did not exit"
  rm -f "$1"
  log "stopped $2 (pid $pid)"
}

running_count() {
  local n=0
  pid_of "$MUNGE_PID" munged >/dev/null && n=$((n + 1))
  pid_of "$CTLD_PID" slurmctld >/dev/null && n=$((n + 1))
  pid_of "$SLURMD_PID" slurmd >/dev/null && n=$((n + 1))
  echo "$n"
}

node_state() { SLURM_CONF=$CONF sinfo -h -n localhost -o %t 2>/dev/null | head -n1; }

do_stop() {
  # Cancel leftover jobs first so that their slurmstepd and task processes end with the daemons.
  if pid_of "$CTLD_PID" slurmctld >/dev/null; then
    local jobs i
    jobs=$(SLURM_CONF=$CONF timeout 10 squeue -h -o %i 2>/dev/null || true)
    if [ -n "$jobs" ]; then
      log "cancelling jobs: $(tr '\n' ' ' <<<"$jobs")"
      # shellcheck disable=SC2086
      SLURM_CONF=$CONF timeout 10 scancel $jobs 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do
        [ -z "$(SLURM_CONF=$CONF timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
        sleep 0.1
      done
    fi
  fi
  stop_one "$SLURMD_PID" slurmd
  stop_one "$CTLD_PID" slurmctld
  stop_one "$MUNGE_PID" munged
  rm -f "$MUNGE_SOCK" "$MUNGE_SOCK.lock"
}

do_status() {
  local pid all=0
  for d in "munged:$MUNGE_PID" "slurmctld:$CTLD_PID" "slurmd:$SLURMD_PID"; do
    if pid=$(pid_of "${d#*:}" "${d%%:*}"); then
      echo "${d%%:*}: running (pid $pid)"
    else
      echo "${d%%:*}: not running"
      all=1
    fi
  done
  if [ "$all" -eq 0 ]; then
    echo "export SLURM_CONF=$CONF"
    SLURM_CONF=$CONF sinfo 2>&1 || true
  fi
  return "$all"
}

# A TCP port in $PORTS that nothing listens on, different from $1.
free_port() {
  local lo=${PORTS%-*} hi=${PORTS#*-} used p i
  used=$(ss -Hltn 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
  for ((i = 0; i < 200; i++)); do
    p=$((lo + RANDOM % (hi - lo + 1)))
    [ "$p" = "${1:-}" ] && continue
    grep -qx "$p" <<<"$used" || {
      echo "$p"
      return 0
    }
  done
  die "no free TCP port in $PORTS"
}

write_conf() {
  local ctld_port slurmd_port
  ctld_port=$(free_port)
  slurmd_port=$(free_port "$ctld_port")
  cat >"$CONF" <<EOF
# Private single-node Slurm written by scripts/slurm-local.sh; loopback only.
ClusterName=adxlocal
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCK
StateSaveLocation=$DIR/slurm/state
SlurmdSpoolDir=$DIR/slurm/spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$DIR/slurm/log/slurmctld.log
SlurmdLogFile=$DIR/slurm/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=pmix
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
# Bind to the addresses above (127.0.0.1) rather than to every interface.
CommunicationParameters=NoInAddrAny
KillWait=10
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munged() {
  install -d -m 711 -o munge -g munge "$MUNGE_DIR"
  install -d -m 711 -o munge -g munge "$MUNGE_SOCK_DIR"
  if [ ! -s "$MUNGE_DIR/munge.key" ]; then
    runuser -u munge -- mungekey --create --keyfile="$MUNGE_DIR/munge.key"
  fi
  rm -f "$MUNGE_SOCK" "$MUNGE_SOCK.lock"
  runuser -u munge -- munged --socket="$MUNGE_SOCK" --key-file="$MUNGE_DIR/munge.key" \
    --pid-file="$MUNGE_PID" --log-file="$MUNGE_DIR/munged.log" --seed-file="$MUNGE_DIR/munged.seed" ||
    die "munged failed to start; see $MUNGE_DIR/munged.log"
  local i
  for ((i = 0; i < 50; i++)); do
    [ -S "$MUNGE_SOCK" ] && pid_of "$MUNGE_PID" munged >/dev/null && return 0
    sleep 0.1
  done
  die "munged did not create $MUNGE_SOCK; see $MUNGE_DIR/munged.log"
}

do_start() {
  local n i st=
  for c in slurmctld slurmd sinfo squeue scancel munged mungekey runuser; do
    command -v "$c" >/dev/null || die "$c not found: Slurm or munge not installed (scripts/install-deps.sh --with-slurm)"
  done
  [ "$(id -u)" -eq 0 ] || die "must run as root (slurmd runs as root; munged as the munge user)"
  n=$(running_count)
  if [ "$n" -eq 3 ]; then
    case "$(node_state)" in idle* | mix* | alloc* | comp*) st=up ;; *) st=down ;; esac
  fi
  if [ "$n" -eq 3 ] && [ "$st" = up ]; then
    log "already running"
    echo "export SLURM_CONF=$CONF"
    return 0
  fi
  [ "$n" -eq 0 ] || {
    log "partly running ($n of 3 daemons); restarting"
    do_stop
  }
  chmod go+x "$DIR"
  runuser -u munge -- test -x "$DIR" ||
    die "the munge user cannot reach $DIR: make its parent directories traversable (chmod go+x)"
  mkdir -p "$DIR/slurm/state" "$DIR/slurm/spool" "$DIR/slurm/log" "$DIR/slurm/run"
  write_conf
  start_munged
  slurmctld -f "$CONF" ||
    die "slurmctld failed to start; see $DIR/slurm/log/slurmctld.log"
  slurmd -f "$CONF" -N localhost ||
    die "slurmd failed to start; see $DIR/slurm/log/slurmd.log"
  for ((i = 0; i < 300; i++)); do
    st=$(node_state)
    [ "$st" = idle ] && break
    sleep 0.1
  done
  if [ "$st" != idle ]; then
    log "node not idle after 30 s (state '${st:-unknown}'); logs in $DIR/slurm/log"
    tail -n 5 "$DIR/slurm/log/slurmctld.log" "$DIR/slurm/log/slurmd.log" >&2 || true
    do_stop
    exit 1
  fi
  log "up: $(grep -E '^Slurm(ctld|d)Port' "$CONF" | tr '\n' ' ')cpus=$CPUS dir=$DIR"
  echo "export SLURM_CONF=$CONF"
}

case "$cmd" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
esac
