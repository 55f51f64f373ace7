#!/usr/bin/env bash
# adx explain under MPI: runs at -np 1, 2 and 4 (oversubscribed) give identical per-image results and
# summaries; a run killed with SIGKILL at a random moment and resumed gives the same file (and is proved
# to have resumed); bad input gets exit 2 on every rank (each rank's status seen); a finished file is not
# overwritten without --force; a resume with other settings is refused, naming the setting.
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ADX=${ADX:-bin/adx}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
# under ASan+UBSan (scripts/run-integration-asan.sh sets ADX_SANITIZED) adx runs several times slower:
# fewer images, fewer iterations in the runs that are killed, and smaller metric settings (the same code paths)
if [ -n "${ADX_SANITIZED:-}" ]; then lim=4 slow_iters=10 metric=(--k-colour 3 --k-context 3 --backgrounds 10); else
  lim=8 slow_iters=20 metric=(--k-colour 5 --k-context 5 --backgrounds 30); fi
common=(--model tests/data/fashion_resnet.onnx --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
  --scale 1/255 --mean 0.2860 --std 0.3530 --limit "$lim" --iters 4 --modes ad,fill:zero,fill:mean
  "${metric[@]}" --seed 3 --progress lines)
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

# Kill tests use a slower setting (more iterations) so that a kill lands mid-run. After each kill the file
# must hold some but not all images (scripts/resume_probe.py), else the kill is retried: three seeded
# delays (ADX_KILL_SEED, printed), then a fallback that cannot miss (ADX_DEBUG_IMAGE_DELAY_MS: each rank
# sleeps after every image and says so; the kill comes right after the first). After --resume, the images
# done before the kill must have kept their results (nothing recomputed) and adx must say "(K to do)".
kill_seed
slow=(--iters "$slow_iters")
run 2 "$t/slow.h5" "${slow[@]}" >"$t/slow.log" 2>&1 && ok "reference run (iters $slow_iters)" || { bad "reference run"; tail "$t/slow.log"; }
killed_run() { # out delay|first mode(all|one): start a 2-rank run, kill it; 0 if it left a partial file
  local out=$1 delay=$2 mode=$3 pid
  rm -f "$out"
  if [ "$delay" = first ]; then
    ADX_DEBUG_IMAGE_DELAY_MS=1500 mpirun --oversubscribe --bind-to none -x ADX_DEBUG_IMAGE_DELAY_MS -np 2 "$ADX" explain \
      "${common[@]}" "${slow[@]}" -o "$out" >"$t/kill.log" 2>&1 &
    pid=$!
    for _ in $(seq 600); do grep -q "^adx: debug: rank [0-9]* wrote image" "$t/kill.log" && break; sleep 0.1; done
  else
    run 2 "$out" "${slow[@]}" >"$t/kill.log" 2>&1 &
    pid=$!
    sleep "$delay"
  fi
  if [ "$mode" = all ]; then
    pkill -9 -f "adx explain.*$out" || true
    kill -9 "$pid" 2>/dev/null || true
  else
    local victim
    victim=$(pgrep -f "adx explain.*$out" | tail -1)
    [ -n "$victim" ] && kill -9 "$victim"
  fi
  wait "$pid" 2>/dev/null
  local code=$? msg
  [ "$code" -ne 0 ] || { echo "   kill ($mode) after $delay: the run finished first"; return 1; }
  msg=$(/usr/bin/python3 scripts/resume_probe.py snap "$out" "$t/snap.json" 2>&1)
  local rc=$?
  echo "   kill ($mode) after $delay: exit $code, $msg"
  # before the first image: the next seeded delays are shorter still, so the loop goes to the fallback
  case "$msg" in "no image done yet"* | "the file is absent"*) early=1 ;; esac
  return $rc
}
k=0
for mode in all one; do
  cut=0 early=0
  k=$((k + 1))
  for delay in $(seeded_delays "$k" 2.0 5.0) first; do
    [ "$delay" != first ] && [ "$early" = 1 ] && continue
    if killed_run "$t/kill_$mode.h5" "$delay" "$mode"; then cut=1; break; fi
  done
  [ "$cut" = 1 ] && ok "SIGKILL ($mode ranks) after ${delay} left a partial file" ||
    { bad "could not kill a run mid-way ($mode; ADX_KILL_SEED=$ADX_KILL_SEED)"; continue; }
  run 2 "$t/kill_$mode.h5" "${slow[@]}" --resume >"$t/resume.log" 2>&1 && ok "resume after SIGKILL ($mode)" || { bad "resume ($mode)"; tail "$t/resume.log"; }
  /usr/bin/python3 scripts/resume_probe.py check "$t/kill_$mode.h5" "$t/snap.json" "$t/resume.log" >"$t/probe.log" 2>&1 &&
    ok "($mode) $(cat "$t/probe.log")" || bad "($mode) $(cat "$t/probe.log")"
  /usr/bin/python3 scripts/h5compare.py "$t/slow.h5" "$t/kill_$mode.h5" && ok "resumed file equals uninterrupted ($mode)" || bad "resumed file differs ($mode)"
done

# a finished file is refused without --force, on every rank, exit 2; the file is unchanged
sum1=$(sha256sum "$t/np1.h5")
run 2 "$t/np1.h5" >"$t/again.log" 2>&1
code=$?
[ "$code" -eq 2 ] && grep -q "finished run" "$t/again.log" && ok "finished file refused (exit 2)" || { bad "overwrite refusal (exit $code)"; cat "$t/again.log"; }
[ "$sum1" = "$(sha256sum "$t/np1.h5")" ] && ok "refused file unchanged" || bad "refused file changed"

# resume with other settings is refused, naming the setting that differs
run 1 "$t/np1.h5" --resume --force --iters 5 >"$t/mismatch.log" 2>&1
code=$?
[ "$code" -eq 2 ] && grep -qE "different configuration .*' there, '[^']*--iters 5[^']*' in this run" "$t/mismatch.log" &&
  ok "resume with --iters 5 refused (exit 2), naming it: $(head -c 240 "$t/mismatch.log")" ||
  { bad "mismatch resume (--iters): exit $code, the message must name --iters 5"; cat "$t/mismatch.log"; }
run 1 "$t/np1.h5" --resume --force --seed 4 >"$t/mismatch2.log" 2>&1
code=$?
[ "$code" -eq 2 ] && grep -qE "seed 3 but this run uses 4|seed[^']*3[^']*' there, '[^']*seed[^']*4" "$t/mismatch2.log" &&
  ok "resume with --seed 4 refused (exit 2), naming seeds 3 and 4" ||
  { bad "mismatch resume (--seed): exit $code, the message must name seed 3 and 4"; cat "$t/mismatch2.log"; }

# bad input: exit 2 on every rank, no hang. Each rank runs under a wrapper that prints its own exit status,
# so every rank's line is seen (mpirun reports only the first failing process); rank 0 names the problem.
per_rank() { # log extra...: a 2-rank run whose ranks each append "rank R exit C" to $log.ranks
  local log=$1
  shift
  rm -f "$log.ranks"
  timeout -k 10 60 mpirun --oversubscribe -np 2 sh -c '"$0" explain "$@"; echo "rank $OMPI_COMM_WORLD_RANK exit $?" >>"'"$log.ranks"'"' \
    "$ADX" "$@" >"$log" 2>&1
}
every_rank_exit2() { # log: both ranks' lines present, each exit 2
  [ "$(grep -c '^rank [01] exit 2$' "$1.ranks" 2>/dev/null)" -eq 2 ] && grep -q '^rank 0 exit' "$1.ranks" && grep -q '^rank 1 exit' "$1.ranks"
}
per_rank "$t/bad.log" --model tests/data/fashion_resnet.onnx --data /nonexistent -o "$t/x.h5"
every_rank_exit2 "$t/bad.log" && grep -q "adx explain: /nonexistent: cannot open" "$t/bad.log" &&
  ok "missing dataset: exit 2 on both ranks ($(tr '\n' ';' <"$t/bad.log.ranks")), naming /nonexistent" ||
  { bad "missing dataset: ranks $(tr '\n' ';' <"$t/bad.log.ranks" 2>/dev/null)"; cat "$t/bad.log"; }
per_rank "$t/bad2.log" "${common[@]}" --iters -3 -o "$t/y.h5"
every_rank_exit2 "$t/bad2.log" && grep -q "iters" "$t/bad2.log" &&
  ok "negative iters: exit 2 on both ranks, naming iters" ||
  { bad "negative iters: ranks $(tr '\n' ';' <"$t/bad2.log.ranks" 2>/dev/null)"; cat "$t/bad2.log"; }
timeout -k 10 60 mpirun --oversubscribe -np 2 "$ADX" explain "${common[@]}" -o /proc/adx-nowhere/z.h5 >"$t/bad3.log" 2>&1
code=$?
[ "$code" -ne 0 ] && [ "$code" -ne 124 ] && ok "unwritable output: exit $code, $(tail -1 "$t/bad3.log" | head -c 120)" || { bad "unwritable output exit $code"; cat "$t/bad3.log"; }

finish
