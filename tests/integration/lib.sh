# shellcheck shell=bash
# Shared by the integration scripts: `. tests/integration/lib.sh` (or via $ROOT). Not executable, so
# scripts/run-integration.sh does not run it as a test.
#   ok MSG / bad MSG   count a check and print "ok MSG" or "FAIL MSG"
#   finish [NOTE]      print "P passed, F failed [NOTE]"; its status is 0 only when nothing failed
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
