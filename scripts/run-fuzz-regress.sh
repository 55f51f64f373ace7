#!/usr/bin/env bash
# Replay the fuzz regression corpus (tests/fuzz/regress/<target>/) and the seed corpus
# (tests/fuzz/corpus/<target>/) through each target's replay driver in DIR (DIR/replay_<target>, built by
# the Makefile without libFuzzer). Each input runs once; a crash or sanitizer report fails the run.
set -u
dir=${1:?usage: run-fuzz-regress.sh DIR}
export ADX_TEST_DATA=${ADX_TEST_DATA:-$(pwd)/tests/data}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
# in the ASan build, one allocation over 1 GiB is a failure: every input here is refused (or decoded) with
# far less, and an oversized allocation from a tiny file is what these inputs guard against
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:max_allocation_size_mb=1024}
pass=0; fail=0
for bin in "$dir"/replay_*; do
  [ -x "$bin" ] || continue
  t=${bin##*/replay_}
  inputs=()
  for d in tests/fuzz/regress/"$t" tests/fuzz/corpus/"$t"; do [ -d "$d" ] && inputs+=("$d"); done
  [ ${#inputs[@]} -gt 0 ] || continue
  log=$(mktemp)
  if TMPDIR=${TMPDIR:-/tmp} "$bin" "${inputs[@]}" >"$log" 2>&1; then
    pass=$((pass + 1)); echo "PASS fuzz replay $t: $(tail -1 "$log")"
  else
    fail=$((fail + 1)); echo "FAIL fuzz replay $t"; tail -30 "$log"
  fi
  rm -f "$log"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
