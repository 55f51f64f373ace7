#!/usr/bin/env bash
# jobs/audit.sbatch under a real Slurm: starts a private single-node Slurm on loopback
# (scripts/slurm-local.sh, under a temp dir, stopped again on any exit), then submits the audit of 8
# Fashion-MNIST test images as 2 tasks x 1 CPU with `sbatch --wait`, three times:
#   1. interrupted: as soon as adx has started, the batch script gets SIGUSR1 (what --signal=B:USR1@120
#      sends before the time limit; self-requeue disabled with ADX_MAX_REQUEUES=0). It must stop adx
#      gracefully: job exit 1, the file unfinished (finished = 0), not every image done;
#   2. resubmitted: the script must add --resume by itself, adx must compute only the missing images, the
#      job exit 0, and the file hold every /images/done = 1, finished = 1, ranks = 2, threads_per_rank = 1;
#      the log has the ranks x threads line, the srun --mpi=pmix line and adx's progress lines;
#   3. resubmitted onto the finished file: exit 2 (adx refuses to overwrite) and the file untouched.
# Finally the daemons must be gone after slurm-local.sh stop.
# Installs the Slurm packages with scripts/install-deps.sh --with-slurm when they are missing. If that is
# impossible, if not root (slurmd and munged need it), or if bin/adx has no explain --resume, it fails with
# the reason under make check or in CI, and elsewhere prints "SKIP: ..." and exits 0 (lib.sh cannot_run).
# Job 1 must leave a partial file (retried with seeded delays, then a fallback that cannot miss), and job 2
# must prove it resumed (scripts/resume_probe.py). Run from anywhere; about 30 s (longer when loaded).
# shellcheck disable=SC2015 # `check && ok ... || bad ...`: ok always succeeds
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
ADX=${ADX:-$ROOT/bin/adx}
case "$ADX" in /*) ;; *) ADX=$ROOT/$ADX ;; esac
DATA=${ADX_TEST_DATA:-$ROOT/tests/data}
MODEL=$DATA/fashion_resnet.onnx
IMAGES=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
# Cheap explainer settings: the point is the Slurm machinery, not the explanations.
EXTRA="--limit 16 --modes ad,fill:zero --iters 20 --backgrounds 10 --k-colour 5 --k-context 5"

# ---------------------------------------------------------------- prerequisites
if [ "$(id -u)" -ne 0 ]; then
  cannot_run "needs root (the private slurmd runs as root and munged as the munge user)"
fi
have_slurm() {
  local c
  for c in slurmctld slurmd sbatch sinfo squeue scontrol scancel munged mungekey; do
    command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || return 1
  done
}
if ! have_slurm; then
  echo "Slurm not installed: running scripts/install-deps.sh --with-slurm"
  if ! scripts/install-deps.sh --with-slurm >/tmp/adx-install-slurm.log 2>&1 || ! have_slurm; then
    cannot_run "Slurm packages are not installed and could not be installed (see /tmp/adx-install-slurm.log)"
  fi
fi
export PATH=$PATH:/usr/sbin
if [ ! -x "$ADX" ] || ! "$ADX" explain --help 2>/dev/null | grep -q -- "--resume"; then
  cannot_run "adx explain not built or without --resume ($ADX; run make)"
fi
for f in "$MODEL" "$IMAGES"; do
  if [ ! -f "$f" ]; then
    echo "missing input $f (make fixtures; scripts/install-deps.sh)"
    exit 1
  fi
done
command -v h5dump >/dev/null || {
  echo "missing h5dump (hdf5-tools; scripts/install-deps.sh)"
  exit 1
}

# ---------------------------------------------------------------- private Slurm
tmp=$(mktemp -d)
chmod 711 "$tmp" # the munge user must reach its socket under $tmp/slurm
cleanup() {
  "$ROOT/scripts/slurm-local.sh" stop "$tmp/slurm" >/dev/null 2>&1 ||
    "$ROOT/scripts/slurm-local.sh" stop "$tmp/slurm"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if ! conf=$("$ROOT/scripts/slurm-local.sh" start "$tmp/slurm" 2>"$tmp/start.log"); then
  cat "$tmp/start.log"
  echo "FAIL private Slurm did not start"
  exit 1
fi
eval "$conf"
echo "slurm up: $SLURM_CONF"

# submit LOG OUT [sbatch flags]: start jobs/audit.sbatch in the background with `sbatch --wait`;
# the job id goes to LOG.id, sbatch's exit status (the job's) is collected with `wait`.
submit() {
  local log=$1 out=$2
  shift 2
  ADX_BIN=$ADX ADX_EXTRA=$EXTRA timeout 300 sbatch --wait --parsable --chdir="$ROOT" --ntasks=2 \
    --cpus-per-task=1 --time=5 --output="$log" "$@" jobs/audit.sbatch "$MODEL" "$IMAGES" "$out" \
    >"$log.id" 2>"$log.sbatch" &
}
# finish_job LOG PID: sets JOB_RC to the job's exit code once it has ended (no command substitution:
# the sbatch process must stay this shell's child for `wait`). `sbatch --wait` passes the job's exit code
# through, but it polls at growing intervals (a job that ends after 11 s returned after 42 s here), so the
# job's end is also watched with scontrol: once the job has ended, sbatch gets 3 s to return (its status
# must then agree with scontrol's ExitCode) before it is stopped and scontrol's code is used.
finish_job() {
  local log=$1 pid=$2 jid="" st="" code="" i
  for ((i = 0; i < 3000; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    [ -n "$jid" ] || jid=$(tr -dc '0-9' <"$log.id" 2>/dev/null)
    if [ -n "$jid" ]; then
      st=$(scontrol -o show job "$jid" 2>/dev/null)
      case "$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$st")" in
        COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | PREEMPTED | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
          code=$(sed -n 's/.*ExitCode=\([0-9]*\):.*/\1/p' <<<"$st")
          break
          ;;
      esac
    fi
    sleep 0.1
  done
  for ((i = 0; i < 30; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    JOB_RC=${code:-timeout}
    return
  fi
  wait "$pid"
  local rc=$?
  if [ -n "$code" ] && [ "$code" != "$rc" ]; then
    echo "sbatch --wait exit $rc differs from the job's ExitCode $code" >>"$log.sbatch"
    JOB_RC=mismatch
    return
  fi
  JOB_RC=$rc
}
run_job() { # LOG OUT [flags]: submit and wait; sets JOB_RC
  submit "$@"
  finish_job "$1" $!
}
done_flags() { h5dump -y -w 0 -d /images/done "$1" 2>/dev/null | awk '/DATA \{/ {f = 1; next} f && /\}/ {f = 0} f' | tr -d ' ,\n'; }
attr() { h5dump -a "/$2" "$1" 2>/dev/null | awk '/\(0\):/ {print $2; exit}'; }
show() {
  echo "---- $1"
  cat "$1" "$1.sbatch" 2>/dev/null | tail -n 30
}
out=$tmp/out.h5

# ---------------------------------------------------------------- 1. stopped by SIGUSR1
# The stop must leave some but not all images done (scripts/resume_probe.py), else it is retried: three
# seeded delays after adx starts (ADX_KILL_SEED, printed), then a fallback that cannot miss
# (ADX_DEBUG_IMAGE_DELAY_MS: each rank sleeps after every image and says so; the signal comes right after
# the first).
kill_seed
cut=0
for d in $(seeded_delays 1 1.0 3.0) first; do
  rm -f "$out"
  log=$tmp/job1.log
  rm -f "$log" "$log".*
  t0=$(date +%s)
  if [ "$d" = first ]; then
    ADX_DEBUG_IMAGE_DELAY_MS=1500 ADX_MAX_REQUEUES=0 submit "$log" "$out"
  else
    ADX_MAX_REQUEUES=0 submit "$log" "$out"
  fi
  spid=$!
  started=0
  for ((i = 0; i < 600; i++)); do # adx prints its header once the model and the data are loaded
    if grep -q "^adx explain: 16 images" "$log" 2>/dev/null; then
      started=1
      break
    fi
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.1
  done
  if [ "$started" = 1 ] && jid=$(tr -dc '0-9' <"$log.id") && [ -n "$jid" ]; then
    if [ "$d" = first ]; then
      for ((i = 0; i < 600; i++)); do
        grep -q "^adx: debug: rank [0-9]* wrote image" "$log" 2>/dev/null && break
        sleep 0.1
      done
    else
      sleep "$d"
    fi
    scancel --signal=USR1 --batch "$jid"
  else
    bad "adx did not start in job 1"
  fi
  finish_job "$log" "$spid"
  rc=$JOB_RC
  msg=$(/usr/bin/python3 scripts/resume_probe.py snap "$out" "$tmp/snap.json" 2>&1) && cut=1
  echo "job 1 (signal after $d): exit $rc in $(($(date +%s) - t0)) s; $msg"
  [ "$cut" = 1 ] && break
  [ "$started" = 1 ] || break
done
[ "$cut" = 1 ] && ok "file left with some but not all images done ($msg)" ||
  bad "could not stop job 1 mid-way (ADX_KILL_SEED=$ADX_KILL_SEED)"
[ "$rc" = 1 ] && ok "interrupted job exits 1" || bad "interrupted job exits $rc"
grep -q "time limit near (SIGUSR1): stopping adx" "$log" && ok "log: SIGUSR1 handled" || bad "log lacks the SIGUSR1 line"
grep -q "not requeueing: ADX_MAX_REQUEUES=0" "$log" && ok "log: no requeue with ADX_MAX_REQUEUES=0" ||
  bad "log lacks the no-requeue line"
todo=0
if [ -f "$out" ]; then
  d=$(done_flags "$out")
  todo=$(tr -cd 0 <<<"$d" | wc -c)
  [ "${#d}" = 16 ] && [ "$todo" -gt 0 ] && [ "$todo" -lt 16 ] && ok "file not complete (done flags $d)" ||
    bad "after the interruption /images/done = '$d', want 16 flags, some but not all 1"
  [ "$(attr "$out" finished)" = 0 ] && ok "file unfinished" || bad "finished = '$(attr "$out" finished)', want 0"
else
  bad "no results file after the interruption"
fi
[ "$fail" -eq 0 ] || show "$log"

# ---------------------------------------------------------------- 2. resubmitted: resumed automatically
f0=$fail
log=$tmp/job2.log
t0=$(date +%s)
run_job "$log" "$out"
rc=$JOB_RC
echo "job 2: exit $rc in $(($(date +%s) - t0)) s"
[ "$rc" = 0 ] && ok "resumed job exits 0" || bad "resumed job exits $rc"
grep -q "is unfinished: resuming it" "$log" && grep -qE "^adx-audit: srun .* --resume( |$)" "$log" &&
  ok "log: --resume added for the unfinished file" || bad "no automatic --resume in the log"
grep -qE "^adx explain: 16 images \($todo to do\)" "$log" && ok "only the $todo missing images computed" ||
  bad "log does not show '16 images ($todo to do)'"
/usr/bin/python3 scripts/resume_probe.py check "$out" "$tmp/snap.json" "$log" >"$tmp/probe.log" 2>&1 &&
  ok "$(cat "$tmp/probe.log")" || bad "$(cat "$tmp/probe.log")"
grep -q "adx-audit: job .*: 2 ranks x 1 threads, launcher srun" "$log" && ok "log: ranks x threads from the allocation" ||
  bad "log lacks the ranks x threads line"
grep -q "srun --mpi=pmix --cpus-per-task=1 --ntasks=2 " "$log" && ok "log: launched with srun --mpi=pmix" ||
  bad "log lacks the srun line"
grep -qE "^adx: progress [0-9]+/16 images" "$log" && ok "log: progress lines" || bad "log has no progress lines"
if [ -f "$out" ]; then
  d=$(done_flags "$out")
  [ "$d" = 1111111111111111 ] && ok "all 16 images done" || bad "/images/done = '$d', want all 1"
  [ "$(attr "$out" finished)" = 1 ] && ok "run finished" || bad "finished = '$(attr "$out" finished)'"
  [ "$(attr "$out" ranks)" = 2 ] && ok "2 ranks recorded" || bad "ranks = '$(attr "$out" ranks)'"
  [ "$(attr "$out" threads_per_rank)" = 1 ] && ok "1 thread per rank recorded" ||
    bad "threads_per_rank = '$(attr "$out" threads_per_rank)'"
fi
[ "$fail" -eq "$f0" ] || show "$log"

# ---------------------------------------------------------------- 3. finished file: refused, untouched
if [ -f "$out" ]; then
  sum=$(sha256sum <"$out")
  log=$tmp/job3.log
  run_job "$log" "$out"
rc=$JOB_RC
  [ "$rc" = 2 ] && ok "resubmission onto a finished file exits 2" || {
    bad "resubmission onto a finished file exits $rc"
    show "$log"
  }
  grep -q "already finished" "$log" && ok "log: explains that the file is finished" || bad "log lacks 'already finished'"
  [ "$(sha256sum <"$out")" = "$sum" ] && ok "finished file untouched" || bad "finished file changed"
fi

# ---------------------------------------------------------------- daemons gone after stop
pids=$(cat "$tmp"/slurm/slurm/run/*.pid "$tmp"/slurm/munge/munged.pid 2>/dev/null)
"$ROOT/scripts/slurm-local.sh" stop "$tmp/slurm" 2>/dev/null
alive=""
for p in $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
[ -z "$alive" ] && ok "daemons stopped" || bad "daemons still running:$alive"

finish
