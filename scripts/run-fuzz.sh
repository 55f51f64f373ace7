#!/usr/bin/env bash
# Run each libFuzzer target DIR/fuzz/fuzz_<t> for SECONDS seconds from its seed corpus and write
# per-target execs, execs/s and coverage to DIR/summary.txt.
# usage: run-fuzz.sh DIR SECONDS TARGET...   (make fuzz FUZZ_SECONDS=N does this for every target)
# New corpus entries go to DIR/work/<t> (tests/fuzz/corpus/ is left as committed); crash, timeout and
# out-of-memory inputs go to DIR/artifacts/<t>/ -- add them to tests/fuzz/regress/<t>/ once fixed.
# Targets in FUZZ_FORK_TARGETS (default: results) run in libFuzzer's fork mode with -ignore_timeouts=1:
# libhdf5 1.10.8 can loop forever on some corrupt files (docs/reliability.md), and fork mode records such an
# input and goes on (-ignore_crashes too: libhdf5 also has memory errors on corrupt files). Every crash or
# timeout input is replayed once and classified by the first stack frame outside the sanitizer, libFuzzer
# and libc: "libhdf5" (a third-party finding, docs/reliability.md) or "adx" (a bug to fix). Only adx
# findings fail the run.
# FUZZ_JOBS=J runs J targets at once (default 1); each line then says how many shared the cores
# (column "jobs"), since execs/s depend on it.
set -u
FUZZ_JOBS=${FUZZ_JOBS:-1}
FUZZ_FORK_TARGETS=${FUZZ_FORK_TARGETS:-results}
dir=${1:?usage: run-fuzz.sh DIR SECONDS TARGET...}
secs=${2:?usage: run-fuzz.sh DIR SECONDS TARGET...}
shift 2
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
summary=$dir/summary.txt
{
  echo "# make fuzz FUZZ_SECONDS=$secs  ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc --all) cores, $(uname -m))"
  printf '%-8s %8s %12s %10s %8s %8s %9s %4s %s\n' target seconds execs execs/s cov ft rss_mb jobs result
} >"$summary"
# classify BIN INPUT: replays the input once; "none" when it no longer fails (a fork-mode child lost to
# the machine, not to the input), "libhdf5" when the innermost frame past the sanitizer/fuzzer/libc is in
# libhdf5, else "adx". A replay's own crash/leak file goes to DIR/replays/, never into the working tree.
classify() {
  local out
  mkdir -p "$dir/replays"
  out=$(timeout 60 "$1" -timeout=10 -runs=1 -artifact_prefix="$dir/replays/" "$2" 2>&1)
  if ! echo "$out" | grep -qE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)|runtime error:'; then
    echo none
    return
  fi
  echo "$out" |
    grep -E '^ +#[0-9]+ 0x' | grep -vE '__sanitizer|__asan|__interceptor|fuzzer::|libc\.so|libstdc|sysdeps|AlarmCallback|__ubsan| in (malloc|calloc|realloc|free|main) | in operator new' |
    head -1 | grep -q 'libhdf5' && echo libhdf5 || echo adx
}
# run_one TARGET: fuzz it, then write its summary line to $dir/$t.line; exit 1 on an adx finding
run_one() {
  local t=$1 bin work art log seeds start fork code took execs rate rss cov ft last nadx nh5 result a
  bin=$dir/fuzz/fuzz_$t
  work=$dir/work/$t art=$dir/artifacts/$t
  mkdir -p "$work" "$art"
  log=$dir/$t.log
  seeds=tests/fuzz/corpus/$t
  start=$(date +%s)
  # -rss_limit_mb / -malloc_limit_mb: an input that makes a parser allocate over 2 GiB is a finding
  fork=()
  case " $FUZZ_FORK_TARGETS " in *" $t "*) fork=(-fork=1 -ignore_timeouts=1 -ignore_crashes=1 -ignore_ooms=1 -timeout=10) ;; esac
  "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    "${fork[@]}" -artifact_prefix="$art/" "$work" "$seeds" >"$log" 2>&1
  code=$?
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  if [ ${#fork[@]} -gt 0 ]; then # fork mode: "#N: cov: C ft: F corp: K exec/s R oom/timeout/crash: a/b/c ..."
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1)
    execs=$(echo "$last" | sed -n 's/^#\([0-9]*\):.*/\1/p')
    rate=$(echo "$last" | sed -n 's/.*exec\/s: *\([0-9]*\).*/\1/p')
  fi
  # slow-unit-*: inputs slower than 10 s once (on a loaded machine that is the machine, not the input);
  # listed, not findings. Everything else is replayed and classified.
  nadx=0 nh5=0 nslow=0 nnone=0
  for a in "$art"/*; do
    [ -f "$a" ] || continue
    case $(basename "$a") in slow-unit-*) nslow=$((nslow + 1)); continue ;; esac
    case $(classify "$bin" "$a") in
      libhdf5) nh5=$((nh5 + 1)) ;;
      none) nnone=$((nnone + 1)) ;;
      *) nadx=$((nadx + 1)) ;;
    esac
  done
  result=ok
  [ "$nh5" -gt 0 ] && result="$result,libhdf5-findings:$nh5"
  [ "$nnone" -gt 0 ] && result="$result,not-reproducible:$nnone"
  [ "$nslow" -gt 0 ] && result="$result,slow-units:$nslow"
  local st=0
  if [ "$nadx" -gt 0 ] || { [ "$code" -ne 0 ] && [ ${#fork[@]} -eq 0 ] && [ "$nh5" -eq 0 ]; }; then
    result="FAIL(exit $code, $nadx adx + $nh5 libhdf5 findings in $art)"
    st=1
  fi
  printf '%-8s %8s %12s %10s %8s %8s %9s %4s %s\n' "$t" "$took" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
    "${rss:-?}" "$FUZZ_JOBS" "$result" >"$dir/$t.line"
  return $st
}

bad=0
pids=()
for t in "$@"; do
  rm -f "$dir/$t.line"
  run_one "$t" &
  pids+=($!)
  # at most FUZZ_JOBS at once
  while [ "$(jobs -rp | wc -l)" -ge "$FUZZ_JOBS" ]; do sleep 1; done
done
for p in "${pids[@]}"; do wait "$p" || bad=1; done
for t in "$@"; do
  if [ -f "$dir/$t.line" ]; then cat "$dir/$t.line"; else echo "$t: no result"; bad=1; fi
done | tee -a "$summary"
echo "summary: $summary"
exit $bad
