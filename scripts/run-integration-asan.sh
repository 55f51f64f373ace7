#!/usr/bin/env bash
# The integration suite (tests/integration/*.sh) against the AddressSanitizer + UndefinedBehaviorSanitizer
# build of adx (build/asan/adx, made by make check-asan), leak checking on. Every adx process -- each
# rank of every `mpirun -np 2` run, the resumed runs after SIGKILL/SIGTERM, the refusals, predict, report
# -- writes any sanitizer report to its own log file; one report fails the run, whatever the test said.
# Leak suppressions (scripts/lsan.supp) cover third-party libraries only, never adx code.
#   test_slurm is left out: it tests the job scripts under a real Slurm, which runs the installed release
#   binary. test_two_nodes too: it tests the wiring across namespaces (MPI over TCP, PMIx, Slurm), and the
#   ranks it starts in the second namespace would not inherit the sanitizer's log settings. test_limits runs without its `ulimit -v` (ASan reserves terabytes of shadow address space);
#   its refusals still run, and under ASan an attempt to allocate a refused size would abort.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export ADX=${ADX:-$(pwd)/build/asan/adx}
for b in "$ADX" build/asan/tests/io/test_results; do
  [ -x "$b" ] || { echo "run-integration-asan: $b is not built (make check-asan)"; exit 1; }
done
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
export ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=0:exitcode=86:log_path=$logdir/asan
# use_tls=0: gcc 12's LeakSanitizer crashes in its tracer ("Tracer caught signal 11", on a bogus dynamic-TLS
# range "DTLS 13 at 0x3b3e-0x400004c40") at the exit of some single-rank runs, so thread-local storage is not
# scanned. That can only add reports, never hide one; the one library that keeps memory only through TLS,
# libgomp, is suppressed in lsan.supp.
export LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp:print_suppressions=0:use_tls=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87:log_path=$logdir/ubsan
# keep Open MPI plugins loaded so leak stacks name them (unloaded modules show as <unknown module>)
export OMPI_MCA_mca_base_component_disable_dlclose=1
# test_results_mpi runs the results-store unit test under mpirun: its ASan build
export ADX_RESULTS_TEST=${ADX_RESULTS_TEST:-build/asan/tests/io/test_results}
export ADX_SANITIZED=1 VLIMIT_KB=unlimited
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=passive
export ADX_INTEGRATION_SKIP="test_slurm test_two_nodes ${ADX_INTEGRATION_SKIP:-}"
scripts/run-integration.sh
code=$?
# the reading commands on a small 2-rank run (test_report_chromium, when it is skipped for time, runs them
# too): summary, report, show
w=$(mktemp -d)
if OMP_NUM_THREADS=1 mpirun --oversubscribe --bind-to none -np 2 "$ADX" explain --model tests/data/fashion_resnet.onnx \
  --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --limit 3 --iters 2 --modes ad,fill:zero \
  --k-colour 2 --k-context 2 --backgrounds 4 --auc-steps 4 --progress off -o "$w/r.h5" >"$w/log" 2>&1 &&
  "$ADX" summary "$w/r.h5" >>"$w/log" 2>&1 && "$ADX" report "$w/r.h5" -o "$w/report" >>"$w/log" 2>&1 &&
  "$ADX" show "$w/r.h5" --image 1 -o "$w/one.png" >>"$w/log" 2>&1; then
  echo "PASS explain (2 ranks), summary, report, show"
else
  echo "FAIL explain, summary, report or show"
  tail -20 "$w/log"
  code=1
fi
rm -rf "$w"
n=$(find "$logdir" -type f | wc -l)
if [ "$n" -gt 0 ]; then
  echo "FAIL: $n sanitizer report(s) from adx under the integration suite:"
  for f in "$logdir"/*; do
    echo "== $f"
    head -60 "$f"
  done
  code=1
else
  echo "no sanitizer reports from any adx process"
fi
exit $code
