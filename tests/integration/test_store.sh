#!/usr/bin/env bash
# The bounded write buffer of the results store (--flush-images / --flush-seconds, docs/scaling.md):
#   - with --flush-images 4, SIGKILL of every rank mid-run leaves a readable file whose done images came
#     in whole flushes; --resume redoes the rest and the file equals an uninterrupted run's;
#   - SIGTERM flushes what the buffer holds before the file is closed (exit 1, finished = 0), and the
#     resumed file equals the uninterrupted run's;
#   - --flush-images 1 (every image written at once) gives the same file as the default;
#   - bad values are refused with exit 2.
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ADX=${ADX:-bin/adx}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
N=12
# under ASan+UBSan (scripts/run-integration-asan.sh sets ADX_SANITIZED) lighter explanations and metrics: the
# same buffer, kill and resume paths at a quarter of the cost; the release pass runs the full settings
if [ -n "${ADX_SANITIZED:-}" ]; then size=(--iters 2 --k-colour 2 --k-context 2 --backgrounds 4); else
  size=(--iters 4 --k-colour 3 --k-context 3 --backgrounds 10); fi
common=(--model tests/data/fashion_resnet.onnx --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
  --scale 1/255 --mean 0.2860 --std 0.3530 --limit "$N" "${size[@]}" --modes ad,fill:zero --seed 9 --threads 1
  --progress off)
# the kill and SIGTERM runs are slowed per image (ADX_DEBUG_IMAGE_DELAY_MS), so that the signal lands mid-run
# however fast the engine is; the others run at full speed
export ADX_DEBUG_IMAGE_DELAY_MS=0
run() { # out extra...
  local out=$1
  shift
  timeout -k 10 300 mpirun --oversubscribe --bind-to none -x ADX_DEBUG_IMAGE_DELAY_MS -np 2 "$ADX" explain "${common[@]}" -o "$out" "$@"
}
ndone() { HDF5_USE_FILE_LOCKING=FALSE h5dump -d /images/done "$1" 2>/dev/null | awk '/\([0-9]+\):/ {sub(/^.*\): /, ""); n = split($0, a, ","); for (i = 1; i <= n; i++) s += a[i]} END {print s + 0}'; }
same() {
  if /usr/bin/python3 scripts/h5compare.py "$1" "$2" >"$t/cmp.log" 2>&1; then ok "$3 equals the uninterrupted run"; else
    bad "$3 differs from the uninterrupted run"
    head -5 "$t/cmp.log"
  fi
}
ranks_of() { pgrep -f -- "-o $1" | while read -r p; do [ "$(cat /proc/"$p"/comm 2>/dev/null)" = adx ] && echo "$p"; done; }

run "$t/ref.h5" >"$t/ref.log" 2>&1 && ok "uninterrupted run (default buffer)" || { bad "uninterrupted run"; tail "$t/ref.log"; }
run "$t/one.h5" --flush-images 1 >"$t/one.log" 2>&1 && ok "--flush-images 1 run" || bad "--flush-images 1 run"
same "$t/ref.h5" "$t/one.h5" "--flush-images 1"

# SIGKILL of every rank once the first flush is in the file
ADX_DEBUG_IMAGE_DELAY_MS=300 run "$t/kill.h5" --flush-images 4 --flush-seconds 1000 >"$t/kill.log" 2>&1 &
pid=$!
for ((i = 0; i < 600; i++)); do
  [ "$(ndone "$t/kill.h5")" -ge 4 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
for p in $(ranks_of "$t/kill.h5"); do kill -KILL "$p"; done
wait "$pid"
d=$(ndone "$t/kill.h5")
if [ "$d" -ge 4 ] && [ "$d" -lt "$N" ]; then
  ok "SIGKILL of both ranks with $d of $N images done"
  [ $((d % 4)) -eq 0 ] && ok "the done images came in whole flushes of 4" || bad "$d done images: not whole flushes of 4"
  "$ADX" summary "$t/kill.h5" >"$t/sum.log" 2>&1 && ok "the killed file is readable (adx summary)" || { bad "adx summary of the killed file"; tail -3 "$t/sum.log"; }
  run "$t/kill.h5" --resume --flush-images 4 >"$t/resume.log" 2>&1 && ok "--resume after the kill" || { bad "--resume after the kill"; tail "$t/resume.log"; }
  grep -q "$N images ($((N - d)) to do)" "$t/resume.log" && ok "the resume redid the $((N - d)) images not flushed" || bad "the resume did not redo exactly the missing images"
  same "$t/ref.h5" "$t/kill.h5" "the killed and resumed file"
else
  bad "the kill did not land mid-run ($d of $N done)"
fi

# SIGTERM: the buffer is flushed before the file is closed
ADX_DEBUG_IMAGE_DELAY_MS=1000 run "$t/term.h5" --flush-images 1000 --flush-seconds 1000 >"$t/term.log" 2>&1 &
pid=$!
# the signal lands once a rank has written its first image (each rank then sleeps 1 s per image, 6 images
# each): a fixed sleep could land before the first image on a slow machine, or under ASan
for ((i = 0; i < 1200; i++)); do
  grep -q "^adx: debug: rank [0-9]* wrote image" "$t/term.log" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
for p in $(ranks_of "$t/term.h5"); do kill -TERM "$p"; done
wait "$pid"
rc=$?
d=$(ndone "$t/term.h5")
fin=$(h5dump -a /finished "$t/term.h5" 2>/dev/null | awk '/\(0\):/ {print $2}')
if [ "$rc" -ne 0 ] && [ "$d" -gt 0 ] && [ "$fin" = 0 ]; then
  ok "SIGTERM with nothing flushed yet: exit $rc, the buffer's $d images reached the file, finished = 0"
  run "$t/term.h5" --resume >"$t/term2.log" 2>&1 && ok "--resume after SIGTERM" || bad "--resume after SIGTERM"
  same "$t/ref.h5" "$t/term.h5" "the stopped and resumed file"
else
  bad "SIGTERM: exit $rc, $d images done, finished '$fin' (expected non-zero, > 0, 0)"
  tail -5 "$t/term.log"
fi

"$ADX" explain "${common[@]}" -o "$t/bad.h5" --flush-images 0 >"$t/bad.log" 2>&1
[ $? -eq 2 ] && grep -q "flush-images" "$t/bad.log" && ok "--flush-images 0 refused (exit 2)" || bad "--flush-images 0 not refused"
"$ADX" explain "${common[@]}" -o "$t/bad.h5" --flush-seconds -1 >"$t/bad.log" 2>&1
[ $? -eq 2 ] && grep -q "flush-seconds" "$t/bad.log" && ok "--flush-seconds -1 refused (exit 2)" || bad "--flush-seconds -1 not refused"
finish
