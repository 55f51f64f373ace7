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
# c and d need mount(8) (root); they are skipped, and say so, where mounting is not permitted.
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ADX=${ADX:-bin/adx}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
PY=/usr/bin/python3
t=$(mktemp -d)
mnts=()
cleanup() {
  for m in "${mnts[@]}"; do umount "$m" 2>/dev/null; umount "$m" 2>/dev/null; done
  rm -rf "$t"
}
trap cleanup EXIT
common=(--model tests/data/fashion_resnet.onnx --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
  --scale 1/255 --mean 0.2860 --std 0.3530 --limit 10 --iters 6 --modes ad,fill:zero --k-colour 3 --k-context 3
  --backgrounds 10 --auc-steps 5 --seed 5 --progress lines)
run() { # out extra...: a 2-rank run in the foreground, 120 s at most
  local out=$1
  shift
  timeout 120 mpirun --oversubscribe --bind-to none -np 2 "$ADX" explain "${common[@]}" -o "$out" "$@"
}
start() { # out log: start a 2-rank run in the background; sets $job and $OUT_NOW (= out)
  rm -f "$1"
  OUT_NOW=$1
  timeout 120 mpirun --oversubscribe --bind-to none -np 2 "$ADX" explain "${common[@]}" -o "$1" >"$2" 2>&1 &
  job=$!
}
ranks_of() { pgrep -f -- "^[^ ]*adx explain .*-o $1\$" || true; } # the adx processes writing $1 (unique temp path)
wait_ranks() { # out: wait until both ranks have started (at most 20 s)
  for _ in $(seq 200); do
    [ "$(ranks_of "$1" | wc -l)" -ge 2 ] && return 0
    sleep 0.1
  done
  return 1
}
resume_equal() { # name out
  local name=$1 out=$2
  run "$out" --resume >"$t/resume.log" 2>&1 && ok "$name: --resume finished" || { bad "$name: --resume exit $?"; tail -5 "$t/resume.log"; return; }
  $PY scripts/h5compare.py "$t/ref.h5" "$out" >"$t/cmp.log" 2>&1 && ok "$name: resumed file equals the uninterrupted run's" ||
    { bad "$name: resumed file differs"; cat "$t/cmp.log"; }
}
finished_attr() { $PY -c 'import h5py,sys; print(int(h5py.File(sys.argv[1],"r").attrs["finished"]))' "$1" 2>/dev/null; }
delays() { $PY -c 'import random; d=random.uniform(1.0, 3.5); print(round(d,2), round(d/2,2), round(d/4,2), 0)'; }

run "$t/ref.h5" >"$t/ref.log" 2>&1 && ok "uninterrupted reference run" || { bad "reference run"; tail "$t/ref.log"; exit 1; }

# a. SIGKILL one rank at a random moment after both started
cut=0
for d in $(delays); do
  start "$t/kill.h5" "$t/kill.log"
  wait_ranks "$t/kill.h5"
  sleep "$d"
  victim=$(ranks_of "$t/kill.h5" | shuf -n 1)
  [ -n "$victim" ] && kill -9 "$victim"
  wait "$job"
  code=$?
  # a run that finished before the fault landed (fast machine) is no cut: retry sooner
  if [ "$code" -ne 0 ] && [ "$code" -ne 124 ] && [ "$(finished_attr "$OUT_NOW")" != 1 ]; then cut=1; break; fi
  [ "$code" -eq 124 ] && { bad "SIGKILL: the job hung (timeout)"; break; }
done
if [ "$cut" = 1 ]; then
  ok "a. SIGKILL of rank pid $victim after ${d}s: job exited $code, no rank left: $(ranks_of "$t/kill.h5" | wc -l)"
  resume_equal "a. SIGKILL" "$t/kill.h5"
else
  bad "a. could not kill a run mid-way"
fi

# b1. SIGTERM to every rank: each finishes the image in hand, the file is closed unfinished, exit 1
cut=0
for d in $(delays); do
  start "$t/term.h5" "$t/term.log"
  wait_ranks "$t/term.h5"
  sleep "$d"
  for p in $(ranks_of "$t/term.h5"); do kill -TERM "$p"; done
  wait "$job"
  code=$?
  # a run that finished before the fault landed (fast machine) is no cut: retry sooner
  if [ "$code" -ne 0 ] && [ "$code" -ne 124 ] && [ "$(finished_attr "$OUT_NOW")" != 1 ]; then cut=1; break; fi
  [ "$code" -eq 124 ] && { bad "SIGTERM: the job hung (timeout)"; break; }
done
if [ "$cut" = 1 ]; then
  fin=$(finished_attr "$t/term.h5")
  if grep -q "interrupted by a signal: .*term.h5 is unfinished; rerun with --resume" "$t/term.log" && [ "$fin" = 0 ]; then
    ok "b. SIGTERM to the ranks after ${d}s: exit $code, 'interrupted', file closed with finished=0"
  else
    bad "b. SIGTERM: exit $code, finished=$fin"
    tail -5 "$t/term.log"
  fi
  $PY -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r"); print(int(f["images/done"][()].sum()))' "$t/term.h5" >"$t/ndone" 2>&1
  echo "   images done at the stop: $(cat "$t/ndone")"
  resume_equal "b. SIGTERM (ranks)" "$t/term.h5"
else
  bad "b. could not stop a run mid-way with SIGTERM"
fi

# b2. SIGTERM to mpirun: Open MPI terminates the ranks (SIGTERM, then SIGKILL after
# odls_base_sigkill_timeout, 1 s by default); the job must end non-zero and the file resume
cut=0
for d in $(delays); do
  start "$t/mterm.h5" "$t/mterm.log"
  wait_ranks "$t/mterm.h5"
  sleep "$d"
  mp=$(pgrep -P "$job" mpirun || true)
  [ -n "$mp" ] && kill -TERM "$mp"
  wait "$job"
  code=$?
  # a run that finished before the fault landed (fast machine) is no cut: retry sooner
  if [ "$code" -ne 0 ] && [ "$code" -ne 124 ] && [ "$(finished_attr "$OUT_NOW")" != 1 ]; then cut=1; break; fi
  [ "$code" -eq 124 ] && { bad "SIGTERM to mpirun: the job hung (timeout)"; break; }
done
sleep 1
if [ "$cut" = 1 ] && [ -z "$(ranks_of "$t/mterm.h5")" ]; then
  ok "b. SIGTERM to mpirun after ${d}s: exit $code, every rank gone"
  resume_equal "b. SIGTERM (mpirun)" "$t/mterm.h5"
else
  bad "b. SIGTERM to mpirun: cut=$cut, ranks left: $(ranks_of "$t/mterm.h5" | wc -l)"
fi

# c. the output directory becomes read-only mid-run (a read-only bind mount stacked on it: files the ranks
#    already opened stay writable, every new open -- such as the reopen for the summary -- gets EROFS)
mkdir -p "$t/rodir"
if mount --bind "$t/rodir" "$t/rodir" 2>/dev/null && umount "$t/rodir"; then
  cut=0
  for d in $(delays); do
    start "$t/rodir/r.h5" "$t/ro.log"
    wait_ranks "$t/rodir/r.h5"
    sleep "$d"
    mount --bind "$t/rodir" "$t/rodir" && mount -o remount,ro,bind "$t/rodir" && mnts+=("$t/rodir")
    wait "$job"
    code=$?
    umount "$t/rodir"
    # a run that finished before the fault landed (fast machine) is no cut: retry sooner
    if [ "$code" -ne 0 ] && [ "$code" -ne 124 ] && [ "$(finished_attr "$OUT_NOW")" != 1 ]; then cut=1; break; fi
    [ "$code" -eq 124 ] && { bad "read-only: the job hung (timeout)"; break; }
  done
  if [ "$cut" = 1 ] && grep -q "$t/rodir/r.h5" "$t/ro.log"; then
    ok "c. read-only output directory after ${d}s: exit $code: $(grep "rodir/r.h5" "$t/ro.log" | grep -v progress | tail -1 | cut -c1-160)"
    resume_equal "c. read-only" "$t/rodir/r.h5"
  else
    bad "c. read-only directory: cut=$cut exit $code"
    tail -5 "$t/ro.log"
  fi
else
  echo "skip c. (bind mounts are not permitted here)"
fi

# d. the disk runs out mid-run: the results file lives on a 4 MiB tmpfs; after the file is created, a
#    filler takes every free byte. Its big datasets are holes until written, so the next image write gets
#    ENOSPC. After the filler is removed, --resume completes the file.
mkdir -p "$t/small"
if mount -t tmpfs -o size=4m tmpfs "$t/small" 2>/dev/null; then
  mnts+=("$t/small")
  cut=0
  for d in $(delays); do
    rm -f "$t/small/filler"
    start "$t/small/r.h5" "$t/full.log"
    wait_ranks "$t/small/r.h5"
    for _ in $(seq 100); do [ -e "$t/small/r.h5" ] && break; sleep 0.1; done
    sleep "$d"
    dd if=/dev/zero of="$t/small/filler" bs=64k >/dev/null 2>&1
    wait "$job"
    code=$?
    # a run that finished before the fault landed (fast machine) is no cut: retry sooner
    if [ "$code" -ne 0 ] && [ "$code" -ne 124 ] && [ "$(finished_attr "$OUT_NOW")" != 1 ]; then cut=1; break; fi
    [ "$code" -eq 124 ] && { bad "disk full: the job hung (timeout)"; break; }
  done
  sleep 1
  if [ "$cut" = 1 ] && grep -q "$t/small/r.h5" "$t/full.log" && [ -z "$(ranks_of "$t/small/r.h5")" ]; then
    ok "d. disk full after ${d}s: exit $code: $(grep "small/r.h5" "$t/full.log" | grep -v progress | head -1 | cut -c1-200)"
    rm -f "$t/small/filler"
    resume_equal "d. disk full" "$t/small/r.h5"
  else
    bad "d. disk full: cut=$cut exit $code"
    tail -8 "$t/full.log"
  fi
else
  echo "skip d. (mounting a tmpfs is not permitted here)"
fi

finish
