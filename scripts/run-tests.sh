#!/usr/bin/env bash
# Run every cmocka test binary under DIR; print a closing "N passed, N failed" line; exit 1 on any failure.
set -u
dir=${1:?usage: run-tests.sh DIR}
pass=0; fail=0; failed=()
export ADX_TEST_DATA=${ADX_TEST_DATA:-$(pwd)/tests/data}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
while IFS= read -r t; do
  name=${t#"$dir"/}
  log=$(mktemp)
  if "$t" >"$log" 2>&1; then
    pass=$((pass + 1)); echo "PASS $name"
  else
    fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name"; tail -40 "$log"
  fi
  grep -E "^\[  (PASSED|FAILED|SKIPPED) \]" "$log" | sed 's/^/     /'
  rm -f "$log"
done < <(find "$dir" -type f -perm -u+x -name 'test_*' | sort)
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
