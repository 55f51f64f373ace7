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
pass=0; fail=0
for layer in core model ops ad engine io explain metrics report; do
  [ -d "$dir/$layer" ] || continue
  for t in $(find "$dir/$layer" -type f -perm -u+x -name 'test_*' | sort); do
    log=$(mktemp)
    if valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
         --show-leak-kinds=definite "$t" >"$log" 2>&1 && cmocka_skips "$log" "${t#"$dir"/}"; then
      pass=$((pass + 1)); echo "PASS valgrind ${t#"$dir"/}"
    else
      fail=$((fail + 1)); echo "FAIL valgrind ${t#"$dir"/}"; grep -E "==[0-9]+==|FAILED|Error" "$log" | head -40
    fi
    rm -f "$log"
  done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
