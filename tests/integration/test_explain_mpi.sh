#!/usr/bin/env bash
# adx explain under MPI: runs at -np 1, 2 and 4 (oversubscribed) give identical per-image results and
# summaries; a run killed with SIGKILL at a random moment and resumed gives the same file; bad input
# gets exit 2 on every rank; a finished file is not overwritten without --force.
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ADX=${ADX:-bin/adx}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
# under ASan+UBSan (scripts/run-integration-asan.sh sets ADX_SANITIZED) adx runs several times slower:
# fewer images, and fewer iterations in the runs that are killed
if [ -n "${ADX_SANITIZED:-}" ]; then lim=4 slow_iters=10; else lim=8 slow_iters=20; fi
common=(--model tests/data/fashion_resnet.onnx --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
  --scale 1/255 --mean 0.2860 --std 0.3530 --limit "$lim" --iters 4 --modes ad,fill:zero,fill:mean
  --k-colour 5 --k-context 5 --backgrounds 30 --seed 3 --progress lines)
run() { # np out extra...
  local np=$1 out=$2
  shift 2
  mpirun --oversubscribe --bind-to none -np "$np" "$ADX" explain "${common[@]}" -o "$out" "$@"
}

run 1 "$t/np1.h5" >"$t/np1.log" 2>&1 && ok "np 1 run" || { bad "np 1 run"; cat "$t/np1.log"; }
for np in 2 4; do
  run "$np" "$t/np$np.h5" >"$t/np$np.log" 2>&1 && ok "np $np run" || { bad "np $np run"; tail "$t/np$np.log"; }
  /usr/bin/python3 scripts/h5compare.py "$t/np1.h5" "$t/np$np.h5" && ok "np $np equals np 1" || bad "np $np differs from np 1"
done
grep -q "adx: progress" "$t/np1.log" && ok "progress lines" || bad "no progress lines"

# Kill tests use a slower setting (more iterations) so that a kill lands mid-run; if a run still finishes
# before its kill, the kill is retried earlier.
slow=(--iters "$slow_iters")
run 2 "$t/slow.h5" "${slow[@]}" >"$t/slow.log" 2>&1 && ok "reference run (iters $slow_iters)" || { bad "reference run"; tail "$t/slow.log"; }
killed_run() { # out delay mode(all|one): start a 2-rank run, kill it after delay; returns 0 if it was cut short
  local out=$1 delay=$2 mode=$3
  rm -f "$out"
  run 2 "$out" "${slow[@]}" >"$t/kill.log" 2>&1 &
  local pid=$!
  sleep "$delay"
  if [ "$mode" = all ]; then
    pkill -9 -f "adx explain.*$out" || true
    kill -9 "$pid" 2>/dev/null || true
  else
    local victim
    victim=$(pgrep -f "adx explain.*$out" | tail -1)
    [ -n "$victim" ] && kill -9 "$victim"
  fi
  wait "$pid" 2>/dev/null
  local code=$?
  [ "$code" -ne 0 ]
}
for mode in all one; do
  cut=0
  for delay in $(/usr/bin/python3 -c 'import random; d=random.uniform(2.0, 5.0); print(round(d,2), round(d/2,2), round(d/4,2))'); do
    if killed_run "$t/kill_$mode.h5" "$delay" "$mode"; then cut=1; break; fi
  done
  [ "$cut" = 1 ] && ok "SIGKILL ($mode ranks) after ${delay}s stopped the run" || { bad "could not kill a run mid-way ($mode)"; continue; }
  run 2 "$t/kill_$mode.h5" "${slow[@]}" --resume >"$t/resume.log" 2>&1 && ok "resume after SIGKILL ($mode)" || { bad "resume ($mode)"; tail "$t/resume.log"; }
  /usr/bin/python3 scripts/h5compare.py "$t/slow.h5" "$t/kill_$mode.h5" && ok "resumed file equals uninterrupted ($mode)" || bad "resumed file differs ($mode)"
done

# a finished file is refused without --force, on every rank, exit 2; the file is unchanged
sum1=$(sha256sum "$t/np1.h5")
run 2 "$t/np1.h5" >"$t/again.log" 2>&1
code=$?
[ "$code" -eq 2 ] && grep -q "finished run" "$t/again.log" && ok "finished file refused (exit 2)" || { bad "overwrite refusal (exit $code)"; cat "$t/again.log"; }
[ "$sum1" = "$(sha256sum "$t/np1.h5")" ] && ok "refused file unchanged" || bad "refused file changed"

# resume with another config is refused, naming the difference
run 1 "$t/np1.h5" --resume --force --iters 5 >"$t/mismatch.log" 2>&1
code=$?
[ "$code" -eq 2 ] && ok "resume with other settings refused (exit 2): $(head -c 160 "$t/mismatch.log")" || { bad "mismatch resume exit $code"; cat "$t/mismatch.log"; }

# bad input: exit 2 on every rank, no hang
timeout 60 mpirun --oversubscribe -np 2 "$ADX" explain --model tests/data/fashion_resnet.onnx --data /nonexistent -o "$t/x.h5" >"$t/bad.log" 2>&1
code=$?
[ "$code" -eq 2 ] && [ "$(grep -c 'adx explain' "$t/bad.log")" -ge 1 ] && ok "missing dataset: exit 2" || { bad "missing dataset exit $code"; cat "$t/bad.log"; }
timeout 60 mpirun --oversubscribe -np 2 "$ADX" explain "${common[@]}" --iters -3 -o "$t/y.h5" >"$t/bad2.log" 2>&1
code=$?
[ "$code" -eq 2 ] && ok "negative iters: exit 2" || { bad "negative iters exit $code"; cat "$t/bad2.log"; }
mkdir -p "$t/ro" && chmod 500 "$t/ro"
timeout 60 mpirun --oversubscribe -np 2 "$ADX" explain "${common[@]}" -o /proc/adx-nowhere/z.h5 >"$t/bad3.log" 2>&1
code=$?
[ "$code" -ne 0 ] && [ "$code" -ne 124 ] && ok "unwritable output: exit $code, $(tail -1 "$t/bad3.log" | head -c 120)" || { bad "unwritable output exit $code"; cat "$t/bad3.log"; }

finish
