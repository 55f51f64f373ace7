#!/usr/bin/env bash
# The MPI path under AddressSanitizer + UndefinedBehaviorSanitizer, leak checking on: a small audit with
# `mpirun -np 2` of the ASan build of adx (make check-asan builds build/asan/adx), a SIGKILL of one rank
# and a --resume, then `summary`. Any sanitizer report fails. Leak suppressions (scripts/lsan.supp) cover
# third-party libraries only (Open MPI and its plugins, hwloc, PMIx, HDF5, OpenBLAS), never adx code.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ADX=${ADX:-build/asan/adx}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
export ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=0:exitcode=86:log_path=$(mktemp -d)/asan
export LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp:print_suppressions=0
# keep Open MPI plugins loaded so leak stacks name them (unloaded modules show as <unknown module>)
export OMPI_MCA_mca_base_component_disable_dlclose=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
logdir=$(dirname "${ASAN_OPTIONS#*log_path=}")
t=$(mktemp -d)
trap 'rm -rf "$t" "$logdir"' EXIT
fail=0
pass=0
ok() { echo "ok $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
[ -x "$ADX" ] || { echo "run-asan-mpi: $ADX is not built (make check-asan)"; exit 1; }
common=(--model tests/data/fashion_resnet.onnx --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
  --scale 1/255 --mean 0.2860 --std 0.3530 --limit 4 --iters 2 --modes ad,fill:zero --k-colour 2 --k-context 2
  --backgrounds 6 --auc-steps 4 --seed 1 --progress off)
reports() { cat "$logdir"/asan.* 2>/dev/null; }
timeout 600 mpirun --oversubscribe --bind-to none -np 2 "$ADX" explain "${common[@]}" -o "$t/a.h5" >"$t/a.log" 2>&1
code=$?
[ "$code" -eq 0 ] && [ -z "$(reports)" ] && ok "mpirun -np 2 explain under ASan+UBSan: exit 0, no reports" ||
  { bad "mpirun -np 2 explain: exit $code"; tail -5 "$t/a.log"; reports | head -60; }
rm -f "$logdir"/asan.*
# SIGKILL of one rank, then --resume (the surviving rank is ended by mpirun: its own report would be void)
timeout 600 mpirun --oversubscribe --bind-to none -np 2 "$ADX" explain "${common[@]}" --iters 6 -o "$t/k.h5" >"$t/k.log" 2>&1 &
job=$!
for _ in $(seq 300); do [ -e "$t/k.h5" ] && break; sleep 0.1; done
sleep 2
victim=$(pgrep -f -- "^[^ ]*adx explain .*-o $t/k.h5\$" | head -1)
[ -n "$victim" ] && kill -9 "$victim"
wait "$job"
rm -f "$logdir"/asan.*
timeout 600 mpirun --oversubscribe --bind-to none -np 2 "$ADX" explain "${common[@]}" --iters 6 -o "$t/k.h5" --resume >"$t/r.log" 2>&1
code=$?
[ "$code" -eq 0 ] && [ -z "$(reports)" ] && ok "--resume after SIGKILL under ASan+UBSan: exit 0, no reports" ||
  { bad "--resume: exit $code"; tail -5 "$t/r.log"; reports | head -60; }
rm -f "$logdir"/asan.*
"$ADX" summary "$t/a.h5" >"$t/s.log" 2>&1
code=$?
[ "$code" -eq 0 ] && [ -z "$(reports)" ] && ok "summary under ASan+UBSan" || { bad "summary: exit $code"; reports | head -40; }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
