# shellcheck shell=bash
# The skip policy, sourced by the test runners and tests/integration/lib.sh. The allowed skips, each with
# its reason, are listed in ONE place: tests/allowed-skips.txt. Under `make check` (ADX_CHECK=1) or in CI
# (CI set, and not "false" or "0") the policy is strict: a skip that is not listed fails, and a test that
# cannot run its check fails with the reason. Elsewhere (a developer's machine) such a test says SKIP.
# Allowed skips taken are appended to $ADX_SKIP_LOG when it is set (make check prints their count).
ADX_ALLOWED_SKIPS=${ADX_ALLOWED_SKIPS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/allowed-skips.txt}
export ADX_ALLOWED_SKIPS

skips_strict() {
  [ "${ADX_CHECK:-0}" = 1 ] && return 0
  [ -n "${CI:-}" ] && [ "$CI" != false ] && [ "$CI" != 0 ]
}

# skip_reason KIND ID: print the listed reason; status 1 when KIND ID is not listed.
skip_reason() {
  [ -r "$ADX_ALLOWED_SKIPS" ] || return 1
  awk -v k="$1" -v id="$2" '$1 == k && $2 == id {
      $1 = ""; $2 = ""; sub(/^ +/, ""); if ($0 == "") exit; print; found = 1; exit }
    END { exit !found }' "$ADX_ALLOWED_SKIPS"
}

# skip_record KIND ID: note an allowed skip taken.
skip_record() {
  if [ -n "${ADX_SKIP_LOG:-}" ]; then echo "$1 $2" >>"$ADX_SKIP_LOG"; fi
  return 0
}

# cmocka_skips LOG NAME: every "[  SKIPPED ] test" line of a cmocka log, checked against the list (as
# "cmocka NAME:test"). Prints a line per skip; status 1 when one is not listed and the policy is strict.
cmocka_skips() {
  local log=$1 name=$2 t reason bad=0
  while IFS= read -r t; do
    if reason=$(skip_reason cmocka "$name:$t"); then
      echo "     allowed skip $name:$t ($reason)"
      skip_record cmocka "$name:$t"
    elif skips_strict; then
      echo "     FAIL $name:$t was skipped and is not in tests/allowed-skips.txt (CI / make check: a skip is a failure)"
      bad=1
    else
      echo "     SKIP $name:$t (unlisted: this fails under make check and in CI)"
    fi
  done < <(sed -n 's/^\[  SKIPPED \] \([A-Za-z0-9_]*\)$/\1/p' "$log" | sort -u)
  return $bad
}
