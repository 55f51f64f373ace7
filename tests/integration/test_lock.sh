#!/usr/bin/env bash
# One writer per results file (docs/cluster.md#one-writer-per-results-file): rank 0 of the job that
# writes R.h5 holds an fcntl lock on R.h5.lock for the whole run.
#   a. A file locked by another process (a stand-in holder that wrote "host/pid/since" into R.h5.lock):
#      adx explain --resume (1 and 2 ranks), --force, no flag, and adx merge --force into it are refused
#      with exit 2 and a message naming the holder; R.h5 stays byte for byte what it was, and R.h5.lock
#      stays the holder's.
#   b. A slowed 2-rank run (ADX_DEBUG_IMAGE_DELAY_MS) is writing R.h5: a second 2-rank job with --resume
#      is refused (exit 2, naming the first job's host and rank-0 pid) while the first still runs; the
#      first finishes with exit 0, its file equals an uninterrupted run's (scripts/h5compare.py), and
#      R.h5.lock is gone.
#   c. A slowed run SIGKILLed mid-way leaves R.h5.lock behind, unlocked: --resume is not blocked by it,
#      completes the file (equal to the uninterrupted run's) and removes R.h5.lock.
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ADX=${ADX:-bin/adx}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
PY=/usr/bin/python3
t=$(mktemp -d)
holder_pid=
cleanup() {
  [ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null
  rm -rf "$t"
}
trap cleanup EXIT
N=6
DELAY_MS=2500 # the slowed runs: N images on 2 ranks take at least 3 x 2.5 s after the first is written
common=(--model tests/data/fashion_resnet.onnx --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
  --scale 1/255 --mean 0.2860 --std 0.3530 --limit "$N" --iters 2 --modes ad,fill:zero --k-colour 3 --k-context 3
  --backgrounds 10 --auc-steps 4 --seed 7 --progress off)
run() { # np out extra...: in the foreground, 120 s at most
  local np=$1 out=$2
  shift 2
  timeout -k 10 120 mpirun --oversubscribe --bind-to none -np "$np" "$ADX" explain "${common[@]}" "$@" -o "$out"
}
slowed() { # out log: a slowed 2-rank run in the background ($job); returns once a rank wrote an image
  ADX_DEBUG_IMAGE_DELAY_MS=$DELAY_MS timeout -k 10 120 mpirun --oversubscribe --bind-to none -x ADX_DEBUG_IMAGE_DELAY_MS \
    -np 2 "$ADX" explain "${common[@]}" -o "$1" >"$2" 2>&1 &
  job=$!
  for _ in $(seq 600); do
    grep -q "^adx: debug: rank [0-9]* wrote image" "$2" 2>/dev/null && return 0
    kill -0 "$job" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
ranks_of() { pgrep -f -- "^[^ ]*adx explain .*-o $1\$" || true; } # the adx processes writing $1 (unique temp path)
same() { # file name
  if $PY scripts/h5compare.py "$t/ref.h5" "$1" >"$t/cmp.log" 2>&1; then ok "$2 equals the uninterrupted run"; else
    bad "$2 differs from the uninterrupted run"
    head -5 "$t/cmp.log"
  fi
}
refused() { # what log rc holder-text
  if [ "$3" -eq 2 ] && grep -qF "is in use by another adx job ($4" "$2"; then
    ok "$1: exit 2, $(grep -m1 -o "is in use by another adx job ([^)]*)" "$2")"
  else
    bad "$1: exit $3, expected 2 and 'is in use by another adx job ($4'"
    tail -5 "$2"
  fi
}

run 2 "$t/ref.h5" >"$t/ref.log" 2>&1 && ok "uninterrupted reference run" || { bad "reference run"; tail "$t/ref.log"; exit 1; }
[ ! -e "$t/ref.h5.lock" ] && ok "a finished run leaves no ref.h5.lock" || bad "ref.h5.lock left by a clean run"

# a. another process holds held.h5.lock; held.h5 is an unfinished file (images 3.. not done) that a
#    resume would complete and --force would replace
cp "$t/ref.h5" "$t/held.h5"
$PY -c 'import h5py, sys
f = h5py.File(sys.argv[1], "r+")
d = f["images/done"][:]; d[3:] = 0; f["images/done"][:] = d
f.attrs.modify("finished", 0)  # keeps the attribute and its int32 type' "$t/held.h5" || bad "could not prepare held.h5"
cp -p "$t/held.h5" "$t/held.orig"
HOLDER="host otherhost, pid 4242, since 2026-01-02T03:04:05Z"
$PY -c 'import fcntl, sys, time
f = open(sys.argv[1], "a+")
fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fcntl F_SETLK, the lock adx takes
f.truncate(0)
f.write("host otherhost\npid 4242\nsince 2026-01-02T03:04:05Z\n")
f.flush()
print("locked", flush=True)
time.sleep(300)' "$t/held.h5.lock" >"$t/holder.out" 2>&1 &
holder_pid=$!
for _ in $(seq 100); do grep -q locked "$t/holder.out" && break; sleep 0.1; done
grep -q locked "$t/holder.out" || bad "the stand-in holder could not lock held.h5.lock: $(cat "$t/holder.out")"
mt0=$(stat -c %Y "$t/held.h5")
sleep 1.1 # a write by a refused job would change the modification time
timeout 120 "$ADX" explain "${common[@]}" --resume -o "$t/held.h5" >"$t/a1.log" 2>&1
refused "a. --resume (1 rank) on a locked file" "$t/a1.log" $? "$HOLDER"
run 2 "$t/held.h5" --resume >"$t/a2.log" 2>&1
refused "a. --resume (2 ranks) on a locked file" "$t/a2.log" $? "$HOLDER"
timeout 120 "$ADX" explain "${common[@]}" --force -o "$t/held.h5" >"$t/a3.log" 2>&1
refused "a. --force on a locked file" "$t/a3.log" $? "$HOLDER"
timeout 120 "$ADX" explain "${common[@]}" -o "$t/held.h5" >"$t/a4.log" 2>&1
refused "a. a new run (no flag) on a locked file" "$t/a4.log" $? "$HOLDER"
timeout 120 "$ADX" merge --force "$t/held.h5" "$t/ref.h5" >"$t/a5.log" 2>&1
refused "a. adx merge --force into a locked file" "$t/a5.log" $? "$HOLDER"
cmp -s "$t/held.h5" "$t/held.orig" && [ "$(stat -c %Y "$t/held.h5")" = "$mt0" ] &&
  ok "a. held.h5 untouched by the refused jobs (same bytes, same mtime)" || bad "a. held.h5 was changed by a refused job"
[ ! -e "$t/held.h5.creating" ] && ok "a. no held.h5.creating" || bad "a. held.h5.creating left behind"
grep -q "^pid 4242$" "$t/held.h5.lock" 2>/dev/null && ok "a. held.h5.lock is still the holder's" ||
  bad "a. held.h5.lock was removed or rewritten by a refused job"
kill "$holder_pid" 2>/dev/null
wait "$holder_pid" 2>/dev/null
holder_pid=
# the holder is gone: its lock went with it, and the file left behind blocks nothing
run 2 "$t/held.h5" --resume >"$t/a6.log" 2>&1 && ok "a. --resume once the holder is gone" || { bad "a. --resume after the holder ended"; tail -5 "$t/a6.log"; }
grep -q "$N images ($((N - 3)) to do)" "$t/a6.log" && ok "a. it did the $((N - 3)) images not done" || bad "a. the resume did not do exactly the missing images"
same "$t/held.h5" "a. the resumed held.h5"
[ ! -e "$t/held.h5.lock" ] && ok "a. the resume removed held.h5.lock" || bad "a. held.h5.lock left after the resume"

# b. a second job with --resume while a slowed first job writes the file
if slowed "$t/live.h5" "$t/live.log"; then
  first=$(ranks_of "$t/live.h5" | tr '\n' ' ')
  run 2 "$t/live.h5" --resume >"$t/b.log" 2>&1
  rc=$?
  still=0
  kill -0 "$job" 2>/dev/null && still=1
  refused "b. --resume (2 ranks) while a job writes the file" "$t/b.log" "$rc" "host $(hostname), pid "
  pid=$(grep -m1 -o "is in use by another adx job (host [^,]*, pid [0-9]*" "$t/b.log" | grep -o "[0-9]*$")
  case " $first " in
    *" $pid "*) ok "b. the pid named ($pid) is a rank of the first job ($first)" ;;
    *) bad "b. the pid named ('$pid') is not a rank of the first job ($first)" ;;
  esac
  [ "$still" = 1 ] && ok "b. the first job was still running when the second was refused" ||
    bad "b. the first job had ended before the second was refused: nothing was tested (raise DELAY_MS)"
  ! grep -q "images (.* to do)" "$t/b.log" && ok "b. the refused job never opened the file" || bad "b. the refused job opened the file"
  wait "$job"
  rc=$?
  [ "$rc" -eq 0 ] && ok "b. the first job finished (exit 0)" || { bad "b. the first job: exit $rc"; tail -5 "$t/live.log"; }
  same "$t/live.h5" "b. the first job's file"
  [ ! -e "$t/live.h5.lock" ] && ok "b. live.h5.lock removed at the end of the first job" || bad "b. live.h5.lock left behind"
else
  bad "b. the slowed run wrote no image"
  tail -5 "$t/live.log"
fi

# c. SIGKILL of a slowed run mid-way: a stale live lock file, which must not block --resume
if slowed "$t/kill.h5" "$t/kill.log"; then
  victims=$(ranks_of "$t/kill.h5")
  for p in $victims; do kill -KILL "$p"; done
  wait "$job"
  sleep 0.5
  [ -z "$(ranks_of "$t/kill.h5")" ] && ok "c. SIGKILL of every rank ($(echo "$victims" | tr '\n' ' '))" || bad "c. ranks left after SIGKILL"
  if [ -e "$t/kill.h5.lock" ]; then
    ok "c. the kill left kill.h5.lock behind ($(tr '\n' ' ' <"$t/kill.h5.lock"))"
  else
    bad "c. no kill.h5.lock after the kill: the stale case was not tested"
  fi
  partial_or_retry "$t/kill.h5" "c. after the kill" && ok "c. the killed file is partial" || bad "c. the killed file is not partial"
  run 2 "$t/kill.h5" --resume >"$t/c.log" 2>&1
  rc=$?
  [ "$rc" -eq 0 ] && ok "c. --resume is not blocked by the stale lock file (exit 0)" || { bad "c. --resume after the kill: exit $rc"; tail -5 "$t/c.log"; }
  same "$t/kill.h5" "c. the killed and resumed file"
  [ ! -e "$t/kill.h5.lock" ] && ok "c. the resume removed kill.h5.lock" || bad "c. kill.h5.lock left after the resume"
else
  bad "c. the slowed run wrote no image"
  tail -5 "$t/kill.log"
fi
finish
