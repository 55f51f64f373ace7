#!/usr/bin/env bash
# Fault injection into a 2-rank `mpirun` audit on loopback (docs/reliability.md). Each scenario must end
# with every rank exited non-zero (never a hang: every run is under `timeout`), and a `--resume` that
# completes the file to one equal to an uninterrupted run's (scripts/h5compare.py: every dataset and
# attribute, except run metadata and wall-clock timings):
#   a. SIGKILL of one rank at a random moment;
#   b. SIGTERM to every rank (what Slurm does on scancel / time limit): a clean stop -- exit 1, message
#      "interrupted", the file closed with finished = 0; and SIGTERM to mpirun itself;
#   c. the output directory turns read-only mid-run (a read-only bind mount stacked on it: as root, chmod
#      does not stop writes);
#   d. the disk runs out mid-run (a small tmpfs filled up while adx writes).
# A resume must be proved, not assumed (scripts/resume_probe.py): after each fault of a, b and d the file
# must exist with some but not all images done, before --resume runs; otherwise the fault is retried
# with another delay (each seeded delay is half the one before: after a fault that came before the
# first image, the rest are skipped). The delays are seeded (ADX_KILL_SEED, printed; set it to replay);
# after the three seeded tries comes a fallback that cannot miss: ADX_DEBUG_IMAGE_DELAY_MS makes each rank sleep after
# every image and say so, and the fault lands right after the first image is written. No mid-way fault
# after all tries is a failure. After --resume, the images done before the fault must have kept their
# results (their wall-clock timings unchanged: nothing recomputed), and adx must have said "(K to do)"
# with K the images missing. c fails only when the summary is written, after the last image: there the
# file may be complete, and the resume must recompute nothing.
# c and d need mount(8) (root): where mounting is not permitted they are skipped, and say so -- except
# under make check or in CI, where that is a failure (tests/integration/lib.sh: cannot_check).
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ADX=${ADX:-bin/adx}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
PY=/usr/bin/python3
PROBE=scripts/resume_probe.py
t=$(mktemp -d)
mnts=()
cleanup() {
  for m in "${mnts[@]}"; do umount "$m" 2>/dev/null; umount "$m" 2>/dev/null; done
  rm -rf "$t"
}
trap cleanup EXIT
kill_seed
THROTTLE_MS=1500 # the fallback's sleep after each image: the images (3 or more a rank) cannot all be done within it
# under ASan+UBSan (scripts/run-integration-asan.sh sets ADX_SANITIZED) every run costs about 4 times as much:
# lighter runs (6 images, fewer iterations and backgrounds) take the same fault and resume paths there;
# the release pass runs the full size
if [ -n "${ADX_SANITIZED:-}" ]; then size=(--limit 6 --iters 3 --backgrounds 5 --auc-steps 3); else
  size=(--limit 10 --iters 6 --backgrounds 10 --auc-steps 5); fi
common=(--model tests/data/fashion_resnet.onnx --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
  --scale 1/255 --mean 0.2860 --std 0.3530 "${size[@]}" --modes ad,fill:zero --k-colour 3 --k-context 3
  --seed 5 --progress lines)
run() { # out extra...: a 2-rank run in the foreground, 120 s at most
  local out=$1
  shift
  timeout -k 10 120 mpirun --oversubscribe --bind-to none -np 2 "$ADX" explain "${common[@]}" -o "$out" "$@"
}
start() { # out log [throttle]: start a 2-rank run in the background; sets $job and $OUT_NOW (= out)
  rm -f "$1"
  OUT_NOW=$1
  if [ "${3:-}" = throttle ]; then
    ADX_DEBUG_IMAGE_DELAY_MS=$THROTTLE_MS timeout -k 10 120 mpirun --oversubscribe --bind-to none -x ADX_DEBUG_IMAGE_DELAY_MS \
      -np 2 "$ADX" explain "${common[@]}" -o "$1" >"$2" 2>&1 &
  else
    timeout -k 10 120 mpirun --oversubscribe --bind-to none -np 2 "$ADX" explain "${common[@]}" -o "$1" >"$2" 2>&1 &
  fi
  job=$!
}
ranks_of() { pgrep -f -- "^[^ ]*adx explain .*-o $1\$" || true; } # the adx processes writing $1 (unique temp path)
# reap: wait for the background job ($job: timeout around mpirun). Once no rank writing $OUT_NOW is left,
# mpirun gets 15 s to exit. Open MPI 4.1's mpirun can deadlock in its teardown after it has reported a rank
# killed by a signal ("PMIX ERROR: UNREACHABLE", then a futex wait; seen under load), and then ignores
# timeout's SIGTERM, which would hang the suite. That is mpirun's bug, not adx's: it is killed and said,
# and the scenario goes on from the file the ranks left (what this test checks).
reap() {
  local idle=0
  while kill -0 "$job" 2>/dev/null; do
    if [ -z "$(ranks_of "$OUT_NOW")" ]; then
      idle=$((idle + 1))
      if [ "$idle" -ge 150 ]; then
        echo "   note: mpirun still running 15 s after its last rank exited (Open MPI teardown hang): killed"
        pkill -9 -P "$job" mpirun
        break
      fi
    else
      idle=0
    fi
    sleep 0.1
  done
  wait "$job"
}
wait_ranks() { # out: wait until both ranks have started (at most 20 s)
  for _ in $(seq 200); do
    [ "$(ranks_of "$1" | wc -l)" -ge 2 ] && return 0
    sleep 0.1
  done
  return 1
}
# pause D LOG: the wait before a fault: D seconds, or for the fallback (D = first) until a rank has
# written its first image (at most 60 s)
pause() {
  if [ "$1" = first ]; then
    for _ in $(seq 600); do
      grep -q "^adx: debug: rank [0-9]* wrote image" "$2" 2>/dev/null && return 0
      sleep 0.1
    done
  else
    sleep "$1"
  fi
}
tries() { echo "$(seeded_delays "$1" "$2" "$3") first"; } # K A B: three seeded delays, then the fallback
# landed NAME CODE [--allow-complete]: did the fault of the last attempt cut the run? The job must have
# failed (not hung, not finished) and the file hold some but not all images done; keeps the snapshot.
# A fault that came before the first image was written sets early=1: the next seeded delays are shorter
# still and would come too early as well, so the loops go straight to the fallback (`early_skip D`).
landed() {
  [ "$2" -eq 124 ] && { bad "$1: the job hung (timeout)"; return 2; }
  [ "$2" -eq 0 ] && { echo "   $1: the run finished before the fault: retry"; return 1; }
  local msg
  msg=$($PY $PROBE snap "$OUT_NOW" "$t/snap.json" ${3:-} 2>&1)
  local rc=$?
  echo "   $1: exit $2, $msg"
  case "$msg" in "no image done yet"* | "the file is absent"*) early=1 ;; esac
  return $rc
}
early_skip() { [ "$1" != first ] && [ "$early" = 1 ]; } # D: skip this seeded try (one came too early)
resume_equal() { # name out
  local name=$1 out=$2
  run "$out" --resume >"$t/resume.log" 2>&1 && ok "$name: --resume finished" || { bad "$name: --resume exit $?"; tail -5 "$t/resume.log"; return; }
  $PY $PROBE check "$out" "$t/snap.json" "$t/resume.log" >"$t/probe.log" 2>&1 && ok "$name: $(cat "$t/probe.log")" ||
    { bad "$name: $(cat "$t/probe.log")"; }
  $PY scripts/h5compare.py "$t/ref.h5" "$out" >"$t/cmp.log" 2>&1 && ok "$name: resumed file equals the uninterrupted run's" ||
    { bad "$name: resumed file differs"; cat "$t/cmp.log"; }
}
finished_attr() { $PY -c 'import h5py,sys; print(int(h5py.File(sys.argv[1],"r").attrs["finished"]))' "$1" 2>/dev/null; }

run "$t/ref.h5" >"$t/ref.log" 2>&1 && ok "uninterrupted reference run" || { bad "reference run"; tail "$t/ref.log"; exit 1; }

# attempt D OUT LOG: start a run (the fallback D = first is throttled) and wait for both ranks, then D
attempt() {
  start "$2" "$3" "$([ "$1" = first ] && echo throttle)"
  wait_ranks "$2"
  pause "$1" "$3"
}

# a. SIGKILL one rank at a random moment after both started
cut=0 early=0
for d in $(tries 1 1.0 3.5); do
  early_skip "$d" && continue
  attempt "$d" "$t/kill.h5" "$t/kill.log"
  victim=$(ranks_of "$t/kill.h5" | shuf -n 1 --random-source=<(yes "$ADX_KILL_SEED"))
  [ -n "$victim" ] && kill -9 "$victim"
  reap
  code=$?
  landed "a. SIGKILL after ${d}" "$code"
  case $? in 0) cut=1; break ;; 2) break ;; esac
done
if [ "$cut" = 1 ]; then
  ok "a. SIGKILL of rank pid $victim after ${d}: job exited $code, no rank left: $(ranks_of "$t/kill.h5" | wc -l)"
  resume_equal "a. SIGKILL" "$t/kill.h5"
else
  bad "a. could not kill a run mid-way (ADX_KILL_SEED=$ADX_KILL_SEED)"
fi

# b1. SIGTERM to every rank: each finishes the image in hand, the file is closed unfinished, exit 1
cut=0 early=0
for d in $(tries 2 1.0 3.5); do
  early_skip "$d" && continue
  attempt "$d" "$t/term.h5" "$t/term.log"
  for p in $(ranks_of "$t/term.h5"); do kill -TERM "$p"; done
  reap
  code=$?
  landed "b. SIGTERM after ${d}" "$code"
  case $? in 0) cut=1; break ;; 2) break ;; esac
done
if [ "$cut" = 1 ]; then
  fin=$(finished_attr "$t/term.h5")
  if grep -q "interrupted by a signal: .*term.h5 is unfinished; rerun with --resume" "$t/term.log" && [ "$fin" = 0 ]; then
    ok "b. SIGTERM to the ranks after ${d}: exit $code, 'interrupted', file closed with finished=0"
  else
    bad "b. SIGTERM: exit $code, finished=$fin"
    tail -5 "$t/term.log"
  fi
  resume_equal "b. SIGTERM (ranks)" "$t/term.h5"
else
  bad "b. could not stop a run mid-way with SIGTERM (ADX_KILL_SEED=$ADX_KILL_SEED)"
fi

# b2. SIGTERM to mpirun: Open MPI terminates the ranks (SIGTERM, then SIGKILL after
# odls_base_sigkill_timeout, 1 s by default); the job must end non-zero and the file resume
cut=0 early=0
for d in $(tries 3 1.0 3.5); do
  early_skip "$d" && continue
  attempt "$d" "$t/mterm.h5" "$t/mterm.log"
  mp=$(pgrep -P "$job" mpirun || true)
  [ -n "$mp" ] && kill -TERM "$mp"
  reap
  code=$?
  landed "b. SIGTERM to mpirun after ${d}" "$code"
  case $? in 0) cut=1; break ;; 2) break ;; esac
done
sleep 1
if [ "$cut" = 1 ] && [ -z "$(ranks_of "$t/mterm.h5")" ]; then
  ok "b. SIGTERM to mpirun after ${d}: exit $code, every rank gone"
  resume_equal "b. SIGTERM (mpirun)" "$t/mterm.h5"
else
  bad "b. SIGTERM to mpirun: cut=$cut, ranks left: $(ranks_of "$t/mterm.h5" | wc -l) (ADX_KILL_SEED=$ADX_KILL_SEED)"
fi

# c. the output directory becomes read-only mid-run (a read-only bind mount stacked on it: files the ranks
#    already opened stay writable, every new open -- such as the reopen for the summary -- gets EROFS).
#    adx fails only when it reopens the file for the summary, after the last image: the file may be
#    complete, and the resume must then recompute nothing.
mkdir -p "$t/rodir"
if mount --bind "$t/rodir" "$t/rodir" 2>/dev/null && umount "$t/rodir"; then
  cut=0 early=0
  for d in $(tries 4 1.0 3.5); do
    early_skip "$d" && continue
    attempt "$d" "$t/rodir/r.h5" "$t/ro.log"
    mount --bind "$t/rodir" "$t/rodir" && mount -o remount,ro,bind "$t/rodir" && mnts+=("$t/rodir")
    reap
    code=$?
    umount "$t/rodir"
    landed "c. read-only after ${d}" "$code" --allow-complete
    case $? in 0) cut=1; break ;; 2) break ;; esac
  done
  if [ "$cut" = 1 ] && grep -q "$t/rodir/r.h5" "$t/ro.log"; then
    ok "c. read-only output directory after ${d}: exit $code: $(grep "rodir/r.h5" "$t/ro.log" | grep -v progress | tail -1 | cut -c1-160)"
    resume_equal "c. read-only" "$t/rodir/r.h5"
  else
    bad "c. read-only directory: cut=$cut exit $code (ADX_KILL_SEED=$ADX_KILL_SEED)"
    tail -5 "$t/ro.log"
  fi
else
  cannot_check "c. read-only directory" "bind mounts are not permitted here (needs root and mount(8))"
fi

# d. the disk runs out mid-run: the results file lives on a 4 MiB tmpfs; after the file is created, a
#    filler takes every free byte. Its big datasets are holes until written, so the next image write gets
#    ENOSPC. After the filler is removed, --resume completes the file.
mkdir -p "$t/small"
if mount -t tmpfs -o size=4m tmpfs "$t/small" 2>/dev/null; then
  mnts+=("$t/small")
  cut=0 early=0
  for d in $(tries 5 1.0 3.5); do
    early_skip "$d" && continue
    rm -f "$t/small/filler"
    start "$t/small/r.h5" "$t/full.log" "$([ "$d" = first ] && echo throttle)"
    wait_ranks "$t/small/r.h5"
    for _ in $(seq 100); do [ -e "$t/small/r.h5" ] && break; sleep 0.1; done
    pause "$d" "$t/full.log"
    dd if=/dev/zero of="$t/small/filler" bs=64k >/dev/null 2>&1
    reap
    code=$?
    rm -f "$t/small/filler" # the probe reads the file; the resume needs the space back
    landed "d. disk full after ${d}" "$code"
    case $? in 0) cut=1; break ;; 2) break ;; esac
  done
  sleep 1
  if [ "$cut" = 1 ] && grep -q "$t/small/r.h5" "$t/full.log" && [ -z "$(ranks_of "$t/small/r.h5")" ]; then
    ok "d. disk full after ${d}: exit $code: $(grep "small/r.h5" "$t/full.log" | grep -v progress | head -1 | cut -c1-200)"
    resume_equal "d. disk full" "$t/small/r.h5"
  else
    bad "d. disk full: cut=$cut exit $code (ADX_KILL_SEED=$ADX_KILL_SEED)"
    tail -8 "$t/full.log"
  fi
else
  cannot_check "d. disk full" "mounting a tmpfs is not permitted here (needs root and mount(8))"
fi

finish
