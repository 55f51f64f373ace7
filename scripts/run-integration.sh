#!/usr/bin/env bash
# Run every executable tests/integration/*.sh from the repo root (bin/adx built); each exits 0 on pass.
# ADX=path selects the binary under test; ADX_INTEGRATION_SKIP="name ..." leaves scripts out (by base
# name, e.g. test_slurm), and says so; under make check or in CI only the names listed as
# "integration NAME" (or "integration-asan NAME" in the ASan pass) in tests/allowed-skips.txt may be left
# out (scripts/skips.sh).
# INTEGRATION_JOBS scripts run at once (default: one per core; 1 runs them one after another). Most of a
# script's time is single-threaded (Python checks, one-rank runs, sleeps waiting for a kill or a lock), so
# two at a time fill 2 cores; the 2- and 4-rank runs are oversubscribed anyway (mpirun --oversubscribe).
# Each script writes to its own log, kept in INTEGRATION_LOG_DIR (default build/test-out/integration, or
# build/test-out/integration-asan in the ASan pass); results print in name order, each when it and those
# before it are done, with the script's own wall time. The longest scripts start first, so that the pool
# ends on short ones. The scripts that start Slurm daemons (test_slurm, test_two_nodes) never run beside
# each other.
set -u
. "$(dirname "$0")/skips.sh"
ADX_INTEGRATION_SKIP=${ADX_INTEGRATION_SKIP:-}
export ADX_TEST_DATA=${ADX_TEST_DATA:-$(pwd)/tests/data}
export ADX=${ADX:-$(pwd)/bin/adx}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
jobs=${INTEGRATION_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
# started first, longest first (from the per-script times this runner prints); the rest follow in name order
LONG="test_two_nodes test_explain_mpi test_faults test_ad_torch test_sanity test_store test_lock test_merge test_slurm"
EXCLUSIVE=" test_slurm test_two_nodes "
pass=0; fail=0
kind=integration # the kind of allowed skip: the ASan pass (ADX_SANITIZED) has its own
[ -n "${ADX_SANITIZED:-}" ] && kind=integration-asan
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# every script's whole output is kept (replaced on the next run), passing or not: a slow pass can be read
keep=${INTEGRATION_LOG_DIR:-build/test-out/$kind}
mkdir -p "$keep" 2>/dev/null || keep=""

scripts=() # every script, in name order; skipped ones get their result line now, printed in order later
for t in tests/integration/*.sh; do
  [ -x "$t" ] || continue
  i=${#scripts[@]}
  scripts+=("$t")
  name=$(basename "$t" .sh)
  case " $ADX_INTEGRATION_SKIP " in
    *" $name "*)
      if reason=$(skip_reason "$kind" "$name"); then
        echo "SKIP $t (ADX_INTEGRATION_SKIP; allowed: $reason)" >"$logs/$i.line"
        skip_record "$kind" "$name"
        echo skip >"$logs/$i.rc"
      elif ! skips_strict; then
        echo "SKIP $t (ADX_INTEGRATION_SKIP; not in tests/allowed-skips.txt: this fails under make check and in CI)" >"$logs/$i.line"
        echo skip >"$logs/$i.rc"
      else
        echo "FAIL $t left out by ADX_INTEGRATION_SKIP but not in tests/allowed-skips.txt" >"$logs/$i.line"
        echo fail >"$logs/$i.rc"
      fi
      ;;
  esac
done
todo=() # the indices to run, in start order
for name in $LONG; do
  for i in "${!scripts[@]}"; do
    [ "$(basename "${scripts[$i]}" .sh)" = "$name" ] && [ ! -e "$logs/$i.rc" ] && todo+=("$i")
  done
done
for i in "${!scripts[@]}"; do
  case " $LONG " in *" $(basename "${scripts[$i]}" .sh) "*) continue ;; esac
  [ -e "$logs/$i.rc" ] || todo+=("$i")
done

declare -A idx_of=() # running: pid -> index
excl_busy=""      # the index of the exclusive script running, if any
shown=0           # scripts[0 .. shown-1] have been printed
show_done() {     # print every result that is ready, in name order
  local i t rc
  while [ "$shown" -lt "${#scripts[@]}" ] && [ -e "$logs/$shown.rc" ]; do
    i=$shown t=${scripts[$i]} rc=$(cat "$logs/$i.rc")
    case "$rc" in
      skip) cat "$logs/$i.line" ;;
      fail) fail=$((fail + 1)); cat "$logs/$i.line" ;;
      0) pass=$((pass + 1)); echo "PASS $t ($(cat "$logs/$i.secs")s)" ;;
      *) fail=$((fail + 1)); echo "FAIL $t (exit $rc, $(cat "$logs/$i.secs")s)"; tail -40 "$logs/$i.log" ;;
    esac
    if [ -n "$keep" ] && [ -e "$logs/$i.log" ]; then mv -f "$logs/$i.log" "$keep/$(basename "$t" .sh).log"; fi
    rm -f "$logs/$i.log"
    shown=$((shown + 1))
  done
}
start_next() { # start the first script in todo that may start now; status 1 if none may
  local k i name
  for k in "${!todo[@]}"; do
    i=${todo[$k]} name=$(basename "${scripts[$i]}" .sh)
    case "$EXCLUSIVE" in *" $name "*) [ -n "$excl_busy" ] && continue; excl_busy=$i ;; esac
    unset "todo[$k]"
    date +%s >"$logs/$i.start"
    # a background job of a non-interactive shell ignores SIGINT and SIGQUIT, and so would everything it
    # starts: env gives the script the default handling back (its traps and adx's handlers need it)
    env --default-signal=INT,QUIT "${scripts[$i]}" >"$logs/$i.log" 2>&1 </dev/null &
    idx_of[$!]=$i
    return 0
  done
  return 1
}
while :; do
  while [ "${#idx_of[@]}" -lt "$jobs" ] && start_next; do :; done
  [ "${#idx_of[@]}" -eq 0 ] && break
  wait -n -p pid "${!idx_of[@]}"
  rc=$?
  i=${idx_of[$pid]}
  unset "idx_of[$pid]"
  [ "$excl_busy" = "$i" ] && excl_busy=""
  echo $(($(date +%s) - $(cat "$logs/$i.start"))) >"$logs/$i.secs"
  echo "$rc" >"$logs/$i.rc"
  show_done
done
show_done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
