#!/usr/bin/env bash
# Run the engine-level test binaries (core, model, ops, ad, engine) under valgrind memcheck.
# Any memory error or definite leak fails the run; so does a cmocka skip that tests/allowed-skips.txt
# does not list, under make check or in CI (scripts/skips.sh).
set -u
dir=${1:?usage: run-valgrind.sh DIR}
. "$(dirname "$0")/skips.sh"
export ADX_TEST_DATA=${ADX_TEST_DATA:-$(pwd)/tests/data}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ADX_VALGRIND=1
# Engine-level tests take the BLAS reference path here: oneDNN's JIT kernels under valgrind cost minutes
# per test. The oneDNN path itself is still run under valgrind by ops/test_conv (its oneDNN cases set the
# path explicitly) and under ASan by the whole suite.
export ADX_CONV=blas
# The tests are single-threaded here: VALGRIND_JOBS of them (default: one per core) run at once, each into
# its own log; the results are printed in the usual order, each when it and those before it are done.
jobs=${VALGRIND_JOBS:-$(nproc 2>/dev/null || echo 1)}
tests=()
for layer in core model ops ad engine io explain metrics report; do
  [ -d "$dir/$layer" ] || continue
  while IFS= read -r t; do tests+=("$t"); done < <(find "$dir/$layer" -type f -perm -u+x -name 'test_*' | sort)
done
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# the runner: each test's valgrind output to N.log, its wall time to N.secs, then its exit status to N.rc
# (written last)
for i in "${!tests[@]}"; do printf '%s %s\n' "$i" "${tests[$i]}"; done |
  xargs -P "$jobs" -L 1 sh -c 's=$(date +%s); valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite "$2" >"$0/$1.log" 2>&1; echo $? >"$0/$1.rc.tmp"; echo $(($(date +%s) - s)) >"$0/$1.secs"
    mv "$0/$1.rc.tmp" "$0/$1.rc"' "$logs" &
runner=$!
pass=0; fail=0
for i in "${!tests[@]}"; do
  while [ ! -e "$logs/$i.rc" ] && kill -0 "$runner" 2>/dev/null; do sleep 0.2; done
  rc=$(cat "$logs/$i.rc" 2>/dev/null || echo "not run")
  t=${tests[$i]} log=$logs/$i.log
  if [ "$rc" = 0 ] && cmocka_skips "$log" "${t#"$dir"/}"; then
    pass=$((pass + 1)); echo "PASS valgrind ${t#"$dir"/} ($(cat "$logs/$i.secs")s)"
  else
    fail=$((fail + 1)); echo "FAIL valgrind ${t#"$dir"/} (exit $rc)"; grep -E "==[0-9]+==|FAILED|Error" "$log" | head -40
  fi
  rm -f "$log"
done
wait "$runner"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
