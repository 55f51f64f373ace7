#!/bin/sh
# The AD-defaults experiment of docs/experiments-0.1.md (the adx 0.1 runs).
#
# usage: scripts/experiment.sh [N] [MODEL.onnx ...]
#   N      images per model (default 500, the size the experiment was specified at)
#   MODEL  default: tests/data/fashion_resnet.onnx tests/data/fashion_vgg.onnx
#
# Environment: NP (MPI ranks, default 2), MODES (comma list, default below; the candidate default AD
# variant first, because adx's /summary/ad_vs_<fill> compares the FIRST ad mode), DATA, PREPROC (default
# Fashion-MNIST's: --scale 1/255 --mean 0.2860 --std 0.3530), SEED (default 1),
# ADX (the adx binary, default bin/adx; use a copy for long runs while you rebuild),
# CONFIDENCE (extraction confidence, default: adx's default 0), OUT (default build/exp), EXTRA (more
# `adx explain` options).
#
# Each model gives OUT/<model>_n<N>.h5 (resumed if a run was interrupted) and the tables go to
# OUT/tables_n<N>.md (scripts/experiment_table.py). Cost: ~0.4-0.9 s per image per mode per core.
set -eu

cd "$(dirname "$0")/.."

N=${1:-500}
[ $# -gt 0 ] && shift
if [ $# -eq 0 ]; then
    set -- tests/data/fashion_resnet.onnx tests/data/fashion_vgg.onnx
fi

NP=${NP:-2}
SEED=${SEED:-1}
OUT=${OUT:-build/exp}
DATA=${DATA:-/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz}
MODES=${MODES:-ad:ratio:0.5:all,ad:strict:all,ad:strict:active,ad:ratio:0.25:all,ad:ratio:0.5:active,ad:ratio:0.75:all,ad:loose:all,ad:loose:active,fill:zero,fill:mean,fill:min,fill:max,fill:blur}
EXTRA=${EXTRA:-}
PREPROC=${PREPROC:---scale 1/255 --mean 0.2860 --std 0.3530}
if [ -n "${CONFIDENCE:-}" ]; then
    EXTRA="$EXTRA --confidence $CONFIDENCE"
fi

ADX=${ADX:-bin/adx}
[ -x "$ADX" ] || make bin/adx
mkdir -p "$OUT"

files=""
for model in "$@"; do
    name=$(basename "$model" .onnx)
    h5="$OUT/${name}_n${N}.h5"
    files="$files $h5"
    if [ -f "$h5" ] && /usr/bin/python3 -c 'import sys, h5py; sys.exit(0 if h5py.File(sys.argv[1], "r").attrs["finished"] == 1 else 1)' "$h5" 2>/dev/null; then
        echo "== $h5 is finished; kept (delete it to rerun)" >&2
        continue
    fi
    echo "== $model: $N images -> $h5" >&2
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive \
        OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        mpirun --oversubscribe --bind-to none -np "$NP" \
        "$ADX" explain --model "$model" --data "$DATA" \
        $PREPROC \
        --limit "$N" --batch 256 --seed "$SEED" --progress lines \
        --modes "$MODES" $EXTRA --resume -o "$h5"
done

# shellcheck disable=SC2086
/usr/bin/python3 scripts/experiment_table.py $files > "$OUT/tables_n${N}.md"
echo "tables: $OUT/tables_n${N}.md" >&2
