#!/usr/bin/env bash
# Run every cmocka test binary under DIR, one after another (each may use OMP_NUM_THREADS threads); print
# each one's wall time and a closing "N passed, N failed" line; exit 1 on any failure.
# A cmocka skip() is not a pass: under make check or in CI it fails unless tests/allowed-skips.txt lists it
# (scripts/skips.sh).
set -u
dir=${1:?usage: run-tests.sh DIR}
. "$(dirname "$0")/skips.sh"
pass=0; fail=0; failed=()
export ADX_TEST_DATA=${ADX_TEST_DATA:-$(pwd)/tests/data}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
while IFS= read -r t; do
  name=${t#"$dir"/}
  log=$(mktemp)
  start=$(date +%s)
  if "$t" >"$log" 2>&1 && cmocka_skips "$log" "$name" >"$log.skips"; then
    pass=$((pass + 1)); echo "PASS $name ($(($(date +%s) - start))s)"
  else
    fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name ($(($(date +%s) - start))s)"; tail -40 "$log"
  fi
  [ -f "$log.skips" ] || cmocka_skips "$log" "$name" >"$log.skips"
  grep -E "^\[  (PASSED|FAILED|SKIPPED) \]" "$log" | sed 's/^/     /'
  cat "$log.skips"
  # the conformance test checks its SKIP lines against the list itself; count them as allowed skips taken
  sed -n 's/^SKIP \(test_[A-Za-z0-9_]*\): .*/\1/p' "$log" | while IFS= read -r c; do skip_record conformance "$c"; done
  rm -f "$log" "$log.skips"
done < <(find "$dir" -type f -perm -u+x -name 'test_*' | sort)
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
