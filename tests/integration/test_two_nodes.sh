#!/usr/bin/env bash
# Two "nodes" on one machine: two network namespaces, each with its own hostname (a UTS namespace per
# process tree), joined by a veth pair with TEST-NET-1 addresses (192.0.2.1, 192.0.2.2). Shared memory
# between them is off (btl tcp,self), as between real nodes; the file system is shared, as a cluster's
# parallel file system would be. All traffic stays inside the namespaces this test creates.
#   1. mpirun --host across both (Open MPI's rsh agent enters the namespace): ranks run on both hosts
#      (the results file's `hosts` attribute), the run survives Open MPI 4.1.4's MPI_ERR_WIN over TCP
#      (the counter falls back to point-to-point), and the file equals a single-host run's;
#   2. SIGKILL of every process of one node mid-run, then --resume across both: equals the single-host run;
#   3. Slurm across them: slurmctld, one slurmd per namespace (NodeName adxn1, adxn2), munged shared
#      through its socket; jobs/audit.sbatch with -N 2 through srun --mpi=pmix equals the single-host run;
#   4. SIGKILL of one node's slurmd and its job's processes mid-run (a job submitted as one config file,
#      whose log prints the exact resume command); Slurm requeues it, slurmd is restarted, the job resumes
#      the file by itself and it equals the single-host run, nothing lost;
#   5. a job array (jobs/audit-array.sbatch, 2 tasks) and adx merge of its parts: equals the single-host run.
# Not covered here: cgroups (proctrack/linuxproc and task/none: no cgroup hierarchy is set up for the
# namespaced slurmds), separate file systems per node, and Slurm's own node-failure requeue (slurmctld
# takes SlurmdTimeout to declare a node dead). Needs root, ip, unshare,
# and for part 3-4 the Slurm packages (scripts/install-deps.sh --with-slurm); without them that part is
# reported as skipped. Everything started is stopped by PID and the namespaces deleted, also on failure.
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
ADX=$(realpath "${ADX:-bin/adx}")
export PATH=$PATH:/usr/sbin:/sbin
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=1
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! command -v unshare >/dev/null; then
  echo "SKIP: needs root, ip (iproute2) and unshare"
  exit 0
fi

T=$(mktemp -d /tmp/adx-2n.XXXXXX)
chmod 755 "$T"
id=$$
NA=adx2n-a-$id NB=adx2n-b-$id VA=v2na$id VB=v2nb$id
HA=adxn1 HB=adxn2 IPA=192.0.2.1 IPB=192.0.2.2
MUNGE_PID=$T/munge/munged.pid

kill_ns() { # SIGKILL every process inside a namespace of ours (all were started by this test)
  local p
  p=$(ip netns pids "$1" 2>/dev/null)
  # shellcheck disable=SC2086
  [ -n "$p" ] && kill -KILL $p 2>/dev/null
  return 0
}
cleanup() {
  kill_ns "$NA"
  kill_ns "$NB"
  if [ -s "$MUNGE_PID" ]; then
    local mp
    mp=$(tr -dc 0-9 <"$MUNGE_PID")
    [ -n "$mp" ] && [ "$(cat "/proc/$mp/comm" 2>/dev/null)" = munged ] && kill -TERM "$mp"
  fi
  sleep 0.5
  ip netns del "$NA" 2>/dev/null
  ip netns del "$NB" 2>/dev/null
  if [ -n "${ADX_KEEP_TMP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---------------------------------------------------------------- the two nodes
setup() {
  ip netns add "$NA" && ip netns add "$NB" &&
    ip link add "$VA" type veth peer name "$VB" &&
    ip link set "$VA" netns "$NA" && ip link set "$VB" netns "$NB" &&
    ip -n "$NA" addr add "$IPA/24" dev "$VA" && ip -n "$NB" addr add "$IPB/24" dev "$VB" &&
    ip -n "$NA" link set lo up && ip -n "$NB" link set lo up &&
    ip -n "$NA" link set "$VA" up && ip -n "$NB" link set "$VB" up
}
if setup; then ok "namespaces $NA ($HA, $IPA) and $NB ($HB, $IPB) joined by a veth pair"; else
  bad "cannot create the namespaces"
  finish
  exit 1
fi
# on NODE: run a command inside that node's namespace under its hostname
on() {
  local ns name
  case "$1" in "$HA") ns=$NA name=$HA ;; "$HB") ns=$NB name=$HB ;; esac
  shift
  # nsenter rather than `ip netns exec`, which remounts /sys and so hides /sys/fs/cgroup from slurmd
  nsenter --net="/run/netns/$ns" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$name" "$@"
}
cat >"$T/agent.sh" <<AGENT
#!/bin/sh
# Open MPI rsh agent (like ssh): HOST COMMAND... runs COMMAND in HOST's namespace under HOST's name
host=\$1; shift
case "\$host" in
  $IPA|$HA) ns=$NA name=$HA ;;
  $IPB|$HB) ns=$NB name=$HB ;;
  *) echo "agent.sh: unknown host \$host" >&2; exit 1 ;;
esac
exec nsenter --net="/run/netns/\$ns" unshare --uts sh -c "hostname \$name; \$*"
AGENT
chmod +x "$T/agent.sh"

# ---------------------------------------------------------------- the audit
# small, and a slower one for the kills (more rex iterations: the kill lands mid-run)
DATA=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
common=(--model "$ROOT/tests/data/fashion_resnet.onnx" --data "$DATA" --scale 1/255 --mean 0.2860 --std 0.3530
  --limit 8 --modes ad,fill:zero --k-colour 3 --k-context 3 --backgrounds 10 --seed 11 --threads 1 --progress off)
fast=(--iters 2)
# the runs that are killed sleep this long after each image (the test hook in src/audit/audit.c), so that
# the kill lands mid-run however fast the engine is
export ADX_DEBUG_IMAGE_DELAY_MS=0
NS=12 # images of the slow audit
slow=(--iters 4 --limit "$NS")
single() { # out args...: the single-host reference, 2 ranks on shared memory
  local out=$1
  shift
  timeout -k 10 600 mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 "$ADX" explain "${common[@]}" "$@" -o "$out"
}
two() { # out args...: mpirun across the two namespaces, one rank on each, TCP only
  local out=$1
  shift
  on "$HA" timeout -k 10 600 mpirun --allow-run-as-root --mca plm_rsh_agent "$T/agent.sh" --mca btl tcp,self \
    --mca oob_tcp_if_include 192.0.2.0/24 --mca btl_tcp_if_include 192.0.2.0/24 --bind-to none \
    --host "$IPA:1,$IPB:1" -np 2 -x OMP_NUM_THREADS -x OMP_WAIT_POLICY -x OPENBLAS_NUM_THREADS -x ADX_DEBUG_IMAGE_DELAY_MS \
    "$ADX" explain "${common[@]}" "$@" -o "$out"
}
hosts_of() { h5dump -a /hosts "$1" 2>/dev/null | tr -d '"' | grep -oE "adxn[12]: [0-9,-]+" | sort | tr '\n' ' '; }
ndone() { HDF5_USE_FILE_LOCKING=FALSE h5dump -d /images/done "$1" 2>/dev/null | awk '/\([0-9]+\):/ {sub(/^.*\): /, ""); n = split($0, a, ","); for (i = 1; i <= n; i++) s += a[i]} END {print s + 0}'; }
same() { # ref got what
  if /usr/bin/python3 scripts/h5compare.py "$1" "$2" >"$T/cmp.log" 2>&1; then ok "$3 equals the single-host run"; else
    bad "$3 differs from the single-host run"
    head -5 "$T/cmp.log"
  fi
}

single "$T/ref.h5" "${fast[@]}" >"$T/ref.log" 2>&1 && ok "single-host reference run" || { bad "single-host run"; tail "$T/ref.log"; }
single "$T/ref_slow.h5" "${slow[@]}" >"$T/ref_slow.log" 2>&1 && ok "single-host reference run (slow)" || { bad "single-host slow run"; tail "$T/ref_slow.log"; }

# ADX_TWO_NODES_PARTS="mpirun slurm" (the default) runs both halves; one name runs that half alone
PARTS=${ADX_TWO_NODES_PARTS:-mpirun slurm}
if [[ " $PARTS " == *" mpirun "* ]]; then
# ---------------------------------------------------------------- 1. mpirun --host across the two nodes
two "$T/two.h5" "${fast[@]}" >"$T/two.log" 2>&1 && ok "mpirun across the two namespaces" || { bad "mpirun across the two namespaces"; tail -20 "$T/two.log"; }
h=$(hosts_of "$T/two.h5")
[ "$h" = "adxn1: 0 adxn2: 1 " ] && ok "ranks ran on both hosts (hosts: $h)" || bad "hosts attribute '$h', expected rank 0 on adxn1, rank 1 on adxn2"
grep -q "falls back to point-to-point" "$T/two.log" && ok "over TCP the counter fell back to point-to-point (said once)" ||
  echo "note: the one-sided window worked over TCP here"
same "$T/ref.h5" "$T/two.h5" "the two-node file"

# ---------------------------------------------------------------- 2. one node killed, resumed
wait_done() { # file n pid: wait until n images of file are done (or the process pid has ended)
  local i
  for ((i = 0; i < 600; i++)); do
    [ "$(ndone "$1")" -ge "$2" ] && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
ADX_DEBUG_IMAGE_DELAY_MS=800 two "$T/kill.h5" "${slow[@]}" >"$T/kill.log" 2>&1 &
pid=$!
wait_done "$T/kill.h5" 2 "$pid"
kill_ns "$NB" # the node dies: its orted and its rank
wait "$pid"
rc=$?
d=$(ndone "$T/kill.h5")
if [ "$rc" -ne 0 ] && [ "$d" -ge 2 ] && [ "$d" -lt "$NS" ]; then
  ok "SIGKILL of node $HB mid-run: mpirun exited $rc with $d of $NS images done"
  two "$T/kill.h5" "${slow[@]}" --resume >"$T/resume.log" 2>&1 && ok "--resume across both nodes" || { bad "--resume across both nodes"; tail "$T/resume.log"; }
  grep -q "$NS images ($((NS - d)) to do)" "$T/resume.log" && ok "the resume redid exactly the $((NS - d)) missing images" ||
    { bad "the resume did not redo exactly the missing images"; grep "images (" "$T/resume.log"; }
  same "$T/ref_slow.h5" "$T/kill.h5" "the killed and resumed file"
else
  bad "the kill did not land mid-run (exit $rc, $d of $NS images done)"
  tail "$T/kill.log"
fi
fi
[[ " $PARTS " == *" slurm "* ]] || { finish; exit; }

# ---------------------------------------------------------------- 3. Slurm across the two nodes
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  echo "SKIP Slurm part: slurm-wlm/munge not installed (scripts/install-deps.sh --with-slurm)"
  finish
  exit
fi
S=$T/slurm
mkdir -p "$S/state" "$S/log" "$S/run"
install -d -m 711 -o munge -g munge "$T/munge" "$T/munge/run"
MSOCK=$T/munge/run/munge.socket
runuser -u munge -- mungekey --create --keyfile="$T/munge/munge.key" 2>/dev/null
runuser -u munge -- munged --socket="$MSOCK" --key-file="$T/munge/munge.key" --pid-file="$MUNGE_PID" \
  --log-file="$T/munge/munged.log" --seed-file="$T/munge/munged.seed" || bad "munged did not start"
cat >"$S/slurm.conf" <<CONF
# Two-node test cluster of tests/integration/test_two_nodes.sh
ClusterName=adxtwo
SlurmctldHost=$HA($IPA)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MSOCK
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool-%n
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd-%n.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd-%n.log
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
SlurmdTimeout=10
KillWait=5
# no NoInAddrAny: it makes slurmd resolve its NodeName, which no resolver here knows; each
# namespace has only its own veth address and loopback anyway
NodeName=$HA NodeAddr=$IPA CPUs=2 State=UNKNOWN
NodeName=$HB NodeAddr=$IPB CPUs=2 State=UNKNOWN
PartitionName=two Nodes=$HA,$HB Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$S/slurm.conf
# Real nodes have a /tmp each; these two share one, where Slurm's PMIx plugin would make the same
# spmix_appdir_<uid>_<job>.<step> directory twice. So each slurmd reads a copy of slurm.conf with its own
# TmpFS (the only difference; slurmctld logs that the node's slurm.conf hash differs, and carries on).
for n in "$HA" "$HB"; do
  mkdir -p "$S/spool-$n" "$S/tmp-$n"
  { cat "$SLURM_CONF"; echo "TmpFS=$S/tmp-$n"; } >"$S/slurm-$n.conf"
done
on "$HA" slurmctld -f "$SLURM_CONF" || bad "slurmctld did not start"
start_slurmd() { on "$1" slurmd -f "$S/slurm-$1.conf" -N "$1" || bad "slurmd on $1 did not start"; }
start_slurmd "$HA"
start_slurmd "$HB"
idle2() { # wait (up to $1 s) until both nodes are idle
  local i st
  for ((i = 0; i < $1 * 5; i++)); do
    st=$(on "$HA" sinfo -h -N -o "%N %t" 2>/dev/null | sort | tr '\n' ' ')
    [ "$st" = "$HA idle $HB idle " ] && return 0
    sleep 0.2
  done
  echo "node states: $st"
  return 1
}
if idle2 30; then ok "Slurm up: slurmctld on $HA, slurmd on $HA and $HB, both idle"; else
  bad "the two slurmd nodes did not come up"
  tail -n 5 "$S/log/"*.log
  finish
  exit 1
fi
export OMPI_MCA_btl=tcp,self OMPI_MCA_btl_tcp_if_include=192.0.2.0/24 OMPI_MCA_oob_tcp_if_include=192.0.2.0/24
export ADX_BIN=$ADX ADX_MAX_REQUEUES=0
sub() { # log out args...: sbatch -N 2 jobs/audit.sbatch from node A; prints the job id
  local log=$1 out=$2
  shift 2
  on "$HA" sbatch --parsable -N 2 --ntasks-per-node=1 --cpus-per-task=1 --output="$log" \
    jobs/audit.sbatch "$ROOT/tests/data/fashion_resnet.onnx" "$DATA" "$out" "${common[@]:4}" "$@"
}
# the same audits as config files, as users submit them: sbatch jobs/audit.sbatch AUDIT.ini
write_ini() { # file output limit iters
  cat >"$1" <<INI
[preprocess]
scale = 1/255
mean = 0.2860
std = 0.3530
[explain]
model = $ROOT/tests/data/fashion_resnet.onnx
data = $DATA
output = $2
limit = $3
iters = $4
modes = ad,fill:zero
k-colour = 3
k-context = 3
backgrounds = 10
seed = 11
threads = 1
INI
}
sub_ini() { # log ini [sbatch options...]
  local log=$1 ini=$2
  shift 2
  on "$HA" sbatch --parsable -N 2 --ntasks-per-node=1 --cpus-per-task=1 --output="$log" "$@" jobs/audit.sbatch "$ini"
}
job_state() { on "$HA" scontrol show job "$1" 2>/dev/null | grep -oE "JobState=[A-Z_]+" | cut -d= -f2; }
job_wait() { # id seconds: wait until the job has ended; prints its state and exit code
  local i st
  for ((i = 0; i < $2 * 5; i++)); do
    st=$(job_state "$1")
    case "$st" in PENDING | RUNNING | CONFIGURING | COMPLETING | "") sleep 0.2 ;; *) break ;; esac
  done
  echo "$st $(on "$HA" scontrol show job "$1" 2>/dev/null | grep -oE " ExitCode=[0-9:]+" | cut -d= -f2)"
}

j=$(sub "$T/job1.log" "$T/slurm.h5" "${fast[@]}")
r=$(job_wait "$j" 300)
[ "$r" = "COMPLETED 0:0" ] && ok "sbatch -N 2 jobs/audit.sbatch through srun --mpi=pmix (job $j)" || { bad "job $j: $r"; tail -20 "$T/job1.log"; }
h=$(hosts_of "$T/slurm.h5")
case "$h" in *"adxn1: "*"adxn2: "*) ok "the job's ranks ran on both nodes (hosts: $h)" ;; *) bad "hosts attribute '$h' of the Slurm run" ;; esac
same "$T/ref.h5" "$T/slurm.h5" "the Slurm two-node file"

# ---------------------------------------------------------------- 4. a node dies under Slurm
# Slurm notices the dead slurmd after SlurmdTimeout, cancels the job "DUE TO NODE FAILURE" and, since
# audit.sbatch asks for --requeue, requeues it. Once the node is back the requeued job starts again (made
# eligible at once here; Slurm would wait about two minutes) and audit.sbatch resumes the file by itself.
# Should Slurm end the job instead (FAILED), the same job is resubmitted, which resumes the same way.
write_ini "$T/kill.ini" "$T/slurm_kill.h5" "$NS" 4
j=$(ADX_DEBUG_IMAGE_DELAY_MS=800 sub_ini "$T/job2.log" "$T/kill.ini")
for ((i = 0; i < 600; i++)); do
  [ "$(ndone "$T/slurm_kill.h5")" -ge 2 ] && break
  sleep 0.1
done
kill_ns "$NB" # slurmd, slurmstepd and the rank of node B
for ((i = 0; i < 600; i++)); do
  st=$(job_state "$j")
  case "$st" in RUNNING | CONFIGURING | COMPLETING) sleep 0.2 ;; *) break ;; esac
done
d=$(ndone "$T/slurm_kill.h5")
grep -q "to resume this run if it stops: cd .* && .*sbatch --nodes=2 --ntasks=2 --cpus-per-task=1 .*audit.sbatch $T/kill.ini" "$T/job2.log" &&
  ok "the job log printed the exact resume command" || { bad "no resume command in the job log"; grep "to resume" "$T/job2.log"; }
case "$st" in
  COMPLETED) bad "job $j finished before its node was killed" ;;
  *) ok "SIGKILL of $HB's slurmd and job processes mid-run: job $j is $st with $d of $NS images done" ;;
esac
[ "$d" -ge 2 ] && [ "$d" -lt "$NS" ] && ok "the kill landed mid-run" || bad "the kill did not land mid-run ($d of $NS done)"
# What a reboot of the node would clear: the killed step's PMIx socket and directory in the spool, and its
# /tmp. Left there, the requeued job's step 0 (same name) fails on that node with "Cannot bind() UNIX
# socket .../stepd.slurm.pmix.J.0: Address already in use" (Slurm 22.05).
rm -rf "$S/spool-$HB"/stepd.slurm.pmix.* "$S/spool-$HB"/pmix.*
rm -rf "${S:?}/tmp-$HB"/*
start_slurmd "$HB"
if ! idle2 60; then
  on "$HA" scontrol update nodename="$HB" state=resume 2>/dev/null
  idle2 30 || bad "$HB did not return after its slurmd restarted"
fi
if [ "$st" = PENDING ]; then
  ok "Slurm requeued job $j after the node failure"
  # let slurmctld forget the killed step first: a requeued job started while the dead node's step 0 is
  # still on record cannot create its own step ("Requested nodes are busy")
  for ((i = 0; i < 150; i++)); do
    [ -z "$(on "$HA" squeue -h -s -j "$j" 2>/dev/null)" ] && break
    sleep 0.2
  done
  on "$HA" scontrol update jobid="$j" starttime=now || bad "cannot make job $j eligible now"
  log=$T/job2.log
  r=$(job_wait "$j" 120)
  if [ "$r" != "COMPLETED 0:0" ]; then
    # Seen once in several runs: the requeued job's step stayed blocked ("Requested nodes are busy"):
    # Slurm 22.05 in these namespaces, not adx. The resume command the job printed does the same work.
    echo "note: the requeued job $j did not complete ($r); cancelled, and resubmitted as its log says"
    on "$HA" scancel "$j"
    job_wait "$j" 60 >/dev/null
    j=$(sub_ini "$T/job3.log" "$T/kill.ini")
    log=$T/job3.log
  fi
else
  echo "note: Slurm ended job $j ($st) instead of requeueing it: resubmitting"
  j=$(sub_ini "$T/job3.log" "$T/kill.ini")
  log=$T/job3.log
fi
[ "${r:-}" = "COMPLETED 0:0" ] && [ "$log" = "$T/job2.log" ] || r=$(job_wait "$j" 300)
[ "$r" = "COMPLETED 0:0" ] && ok "job $j completed after the node came back" || { bad "job $j after the node came back: $r"; tail -20 "$log"; }
grep -q "unfinished: resuming" "$log" && ok "audit.sbatch resumed the file by itself" || bad "audit.sbatch did not resume"
grep -q "$NS images ($((NS - d)) to do)" "$log" && ok "the resume redid exactly the $((NS - d)) missing images" ||
  { bad "the resume did not redo exactly the missing images"; grep "images (" "$log"; }
same "$T/ref_slow.h5" "$T/slurm_kill.h5" "the Slurm killed and resumed file"

# ---------------------------------------------------------------- 5. a job array and adx merge
write_ini "$T/arr.ini" "$T/arr.h5" 8 2
j=$(on "$HA" sbatch --parsable --array=0-1 --ntasks=1 --cpus-per-task=1 --output="$T/arr-%a.log" jobs/audit-array.sbatch "$T/arr.ini")
for ((i = 0; i < 1500; i++)); do
  [ -z "$(on "$HA" squeue -h -j "$j" 2>/dev/null)" ] && break
  sleep 0.2
done
if [ -e "$T/arr.part0.h5" ] && [ -e "$T/arr.part1.h5" ]; then
  ok "job array $j: two tasks wrote arr.part0.h5 and arr.part1.h5"
  mc=$(grep -h "when every task is done:" "$T/arr-0.log" | sed 's/.*when every task is done: //')
  [ -n "$mc" ] && eval "$mc" >"$T/merge.log" 2>&1 && ok "the merge command the tasks printed: $mc" || { bad "merge of the array's parts"; cat "$T/merge.log" "$T/arr-0.log"; }
  same "$T/ref.h5" "$T/arr.h5" "the merged job-array file"
else
  bad "job array $j did not write both parts"
  tail -5 "$T"/arr-*.log
fi
finish
