#!/usr/bin/env bash
# make demo: a real audit of Fashion-MNIST test images with the fixture ResNet, on 2 MPI ranks, in AD
# and four fill modes, then the summary table (printed once, by adx explain itself) and the HTML report.
# Settings: configs/demo.ini.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${ADX_DEMO_OUT:-build/demo/results.h5}
ranks=${ADX_DEMO_RANKS:-2}
mkdir -p "$(dirname "$out")"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
echo "adx demo: auditing $(grep -E '^limit' configs/demo.ini | cut -d= -f2 | tr -d ' ') Fashion-MNIST test images on $ranks ranks x $OMP_NUM_THREADS thread(s) -> $out"
mpirun --oversubscribe --bind-to none -np "$ranks" bin/adx explain --config configs/demo.ini --force -o "$out"
report=$(dirname "$out")/report
bin/adx report "$out" -o "$report"
echo
echo "adx demo: done. Results: $out (docs/output-format.md); report: $report/index.html (docs/report.md)"
