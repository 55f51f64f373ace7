#!/usr/bin/env bash
# The OpenMP wait policy adx chooses for itself (src/cli/main.c) and the micro-batch that follows from it
# (adx_engine_chunk), as the run log states them: a short spin when adx's own threads fit its CPUs, passive
# waiting when the node's ranks times threads exceed them, and the user's own setting left alone.
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
ADX=${ADX:-bin/adx}
case $ADX in /*) ;; *) ADX=$ROOT/$ADX ;; esac
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
cpus=$(nproc)
# one image, one mode, no metric: only the log's first line matters
line() { # env assignments... -> the run's "rank(s) x thread(s)" line
  env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u OMPI_COMM_WORLD_LOCAL_SIZE -u SLURM_NTASKS_PER_NODE "$@" \
    timeout 120 "$ADX" explain --model "$ROOT/tests/data/fashion_resnet.onnx" \
    --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --scale 1/255 --limit 1 --modes ad --iters 1 \
    --no-metrics --progress off --force -o "$t/r.h5" 2>&1 | grep 'rank(s) x'
}
l=$(line OMP_NUM_THREADS=1)
case $l in *"OpenMP waits: spin for GOMP_SPINCOUNT, then sleep"*) ok "1 thread on $cpus CPU(s): a short spin" ;; *) bad "1 thread: $l" ;; esac
l=$(line OMP_NUM_THREADS=$((cpus + 1)))
case $l in *"OpenMP waits: passive"*) ok "$((cpus + 1)) threads on $cpus CPU(s): passive" ;; *) bad "$((cpus + 1)) threads: $l" ;; esac
l=$(line OMP_NUM_THREADS=1 OMPI_COMM_WORLD_LOCAL_SIZE=$((cpus + 1)))
case $l in *"OpenMP waits: passive"*) ok "$((cpus + 1)) ranks on the node: passive" ;; *) bad "$((cpus + 1)) local ranks: $l" ;; esac
l=$(line OMP_NUM_THREADS=1 SLURM_NTASKS_PER_NODE=$((cpus + 1)))
case $l in *"OpenMP waits: passive"*) ok "Slurm: $((cpus + 1)) tasks per node: passive" ;; *) bad "$((cpus + 1)) Slurm tasks: $l" ;; esac
l=$(line OMP_NUM_THREADS=1 OMP_WAIT_POLICY=active)
case $l in *"OpenMP waits: active"*) ok "the user's OMP_WAIT_POLICY is kept" ;; *) bad "OMP_WAIT_POLICY=active: $l" ;; esac
# passive waiting: passes of at least 32 samples per thread; spinning: the cache's choice (6 here)
l=$(line OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive)
case $l in *"2 thread(s), passes of 64 samples"*) ok "2 threads, passive: passes of 64" ;; *) bad "2 threads passive: $l" ;; esac
l=$(line OMP_NUM_THREADS=2 GOMP_SPINCOUNT=1000)
case $l in *"2 thread(s), passes of 12 samples"*) ok "2 threads, spinning: passes of 12 (6 per thread)" ;; *) bad "2 threads spinning: $l" ;; esac
l=$(line OMP_NUM_THREADS=1 ADX_CHUNK=5)
case $l in *"passes of 5 samples"*) ok "ADX_CHUNK=5: passes of 5" ;; *) bad "ADX_CHUNK=5: $l" ;; esac
out=$(env ADX_CHUNK=0 "$ADX" explain --model "$ROOT/tests/data/fashion_resnet.onnx" --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --limit 1 -o "$t/bad.h5" 2>&1)
code=$?
[ "$code" -ne 0 ] && [[ $out == *ADX_CHUNK* ]] && [ ! -e "$t/bad.h5" ] && ok "ADX_CHUNK=0 refused (exit $code), no file" || bad "ADX_CHUNK=0: exit $code: $out"
finish
