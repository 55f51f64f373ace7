# shellcheck shell=bash
# Shared by the integration scripts: `. tests/integration/lib.sh` (or via $ROOT). Not executable, so
# scripts/run-integration.sh does not run it as a test.
#   ok MSG / bad MSG   count a check and print "ok MSG" or "FAIL MSG"
#   finish [NOTE]      print "P passed, F failed [NOTE]"; its status is 0 only when nothing failed
#   cannot_run REASON  the script cannot run its check: under make check or in CI (scripts/skips.sh) it
#                      fails with the reason (exit 1); elsewhere it prints "SKIP: REASON" and exits 0
#   cannot_check NAME REASON   one part cannot run: a failure under make check or in CI, else a skip line
#   kill_seed          print and export ADX_KILL_SEED (from the environment to replay a run, else random)
#   seeded_delays K A B  kill delays for the K-th killing loop of a script: a uniform d in [A, B] drawn
#                      from ADX_KILL_SEED and K, then d/2 and d/4 (stdout, one line)
#   partial_or_retry FILE NOTE  after a kill: 0 if FILE exists with some but not all images done, else
#                      print why and return 1 (the caller retries with another delay)
# Open MPI refuses to run as root without the two variables below (the test machines run as root).
pass=0
fail=0
ok() {
  pass=$((pass + 1))
  echo "ok   $*"
}
bad() {
  fail=$((fail + 1))
  echo "FAIL $*"
}
finish() {
  echo "$pass passed, $fail failed${1:+ $1}"
  [ "$fail" -eq 0 ]
}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../scripts" && pwd)/skips.sh"
cannot_run() {
  if skips_strict; then
    fail=$((fail + 1))
    echo "FAIL cannot run the check (CI / make check: a skip is a failure): $*"
    exit 1
  fi
  echo "SKIP: $* (this fails under make check and in CI)"
  exit 0
}
cannot_check() {
  if skips_strict; then
    bad "$1: cannot run (CI / make check: a skip is a failure): $2"
  else
    echo "skip $1 ($2; this fails under make check and in CI)"
  fi
}

# Kill delays are seeded, so that a failing case can be replayed: ADX_KILL_SEED=S reruns with the same ones.
kill_seed() {
  ADX_KILL_SEED=${ADX_KILL_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
  export ADX_KILL_SEED
  echo "kill delays seeded with ADX_KILL_SEED=$ADX_KILL_SEED (set it to replay)"
}
seeded_delays() {
  /usr/bin/python3 -c 'import random, sys
r = random.Random(int(sys.argv[1]) * 1000003 + int(sys.argv[2]))
d = r.uniform(float(sys.argv[3]), float(sys.argv[4]))
print(round(d, 2), round(d / 2, 2), round(d / 4, 2))' "$ADX_KILL_SEED" "$1" "$2" "$3"
}
partial_or_retry() {
  local out
  out=$(/usr/bin/python3 "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../scripts" && pwd)/resume_probe.py" partial "$1" 2>&1)
  local rc=$?
  echo "   $2: $out"
  return $rc
}
