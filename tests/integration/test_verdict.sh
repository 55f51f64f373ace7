#!/usr/bin/env bash
# The verdict panel (docs/report.md "Verdict") end to end:
#   1. a run with nothing to judge by (no masks, --judges none, no adx sanity): all three questions say
#      "not measured", in adx summary and in the report, and the panel comes before the headline;
#   2. an 8-image HDF5 dataset with /masks made here (the bright pixels of tests/data/fashion_test32_images.npy),
#      adx explain with judges, then adx sanity: scripts/check_verdict.py recomputes every answer and the
#      numbers behind it from the file with numpy/scipy and compares them with adx summary and the report;
#   3. both outcomes of every question: copies of the file whose AD values are set (h5py) so that AD clearly
#      wins (precision@k 1, judges 1, Spearman near 0) or clearly loses (0, 0, near 1): adx must answer yes,
#      then no, as the checker recomputes;
#   4. four scattered correlations whose t interval passes +1: shown clipped to [-1, 1].
# About 25 s on 2 cores.
# shellcheck disable=SC2015 # `check && ok ... || bad ...`: ok always succeeds
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
ADX=${ADX:-$ROOT/bin/adx}
case "$ADX" in /*) ;; *) ADX=$ROOT/$ADX ;; esac
DATA=${ADX_TEST_DATA:-$ROOT/tests/data}
PY=/usr/bin/python3
export OMP_WAIT_POLICY=passive OMP_NUM_THREADS=1
[ -x "$ADX" ] || { echo "FAIL $ADX is not built (make)"; exit 1; }
$PY -c 'import h5py, numpy, scipy' 2>/dev/null || cannot_run "python3 h5py, numpy and scipy are needed (scripts/install-deps.sh)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$PY" - "$DATA/fashion_test32_images.npy" "$DATA/fashion_test32_labels.npy" "$tmp" <<'PYEOF' || bad "making the dataset"
import sys
import h5py
import numpy as np
x = np.load(sys.argv[1])[:8].astype(np.uint8)
y = np.load(sys.argv[2])[:8].astype(np.int64)
with h5py.File(sys.argv[3] + "/masked.h5", "w") as f:
    f["images"], f["labels"], f["masks"] = x, y, (x > 60).astype(np.uint8)
with h5py.File(sys.argv[3] + "/plain.h5", "w") as f:
    f["images"], f["labels"] = x, y
PYEOF
audit() { # audit DATA OUT [FLAGS...]
  "$ADX" explain --model "$DATA/fashion_resnet.onnx" --data "$1" --iters 3 --modes ad,fill:zero \
    --k-colour 4 --k-context 4 --backgrounds 8 --auc-steps 4 --seed 5 --progress off -o "$2" "${@:3}" \
    >"$2.log" 2>&1
}

# 1. nothing to judge by
if audit "$tmp/plain.h5" "$tmp/none.h5" --judges none --limit 4 && "$ADX" summary "$tmp/none.h5" >"$tmp/none.txt" 2>&1 &&
  "$ADX" report "$tmp/none.h5" -o "$tmp/none" >/dev/null 2>&1; then
  n=$(grep -cE "^  [123]\. .*  not measured$" "$tmp/none.txt")
  [ "$n" = 3 ] && grep -q "no object masks" "$tmp/none.txt" && grep -q "no judge matrix" "$tmp/none.txt" &&
    grep -q "adx sanity RESULTS.h5" "$tmp/none.txt" &&
    $PY scripts/check_verdict.py "$tmp/none.h5" "$tmp/none.txt" "$tmp/none/index.html" >"$tmp/c0.log" 2>&1 &&
    ok "no masks, no judges, no sanity test: three times 'not measured', saying what is missing" ||
    { bad "not measured"; cat "$tmp/none.txt" "$tmp/c0.log"; }
else
  bad "the plain audit"
  cat "$tmp/none.h5.log"
fi

# 2. a run with everything
R=$tmp/r.h5
if audit "$tmp/masked.h5" "$R" && "$ADX" sanity "$R" --images 6 --levels 1 >"$tmp/sanity.log" 2>&1; then
  ok "an 8-image audit with masks and judges, then adx sanity --images 6 --levels 1"
else
  bad "audit and sanity"
  cat "$R.log" "$tmp/sanity.log"
fi
check() { # check FILE NAME: summary, report, check_verdict.py
  "$ADX" summary "$1" >"$1.txt" 2>&1 && "$ADX" report "$1" -o "$1.rep" >/dev/null 2>&1 &&
    $PY scripts/check_verdict.py "$1" "$1.txt" "$1.rep/index.html" >"$1.ck" 2>&1
}
check "$R" && ok "check_verdict.py recomputes the panel: $(tail -1 "$R.ck")" ||
  { bad "verdict of the real run"; cat "$R.txt" "$R.ck"; }

# 3. AD made to win, then to lose
for side in win lose; do
  cp "$R" "$tmp/$side.h5"
  $PY - "$tmp/$side.h5" "$side" <<'PYEOF'
import sys
import h5py
import numpy as np
f = h5py.File(sys.argv[1], "r+")
win = sys.argv[2] == "win"
g = f["modes/ad"]
p = g["precision_at_k"][:]
p[:, 1] = 1.0 if win else 0.0
g["precision_at_k"][:] = p
j = g["judges"][:]
j[:] = 1.0 if win else 0.0
g["judges"][:] = j
s = f["sanity/ad/spearman"][:]
rng = np.random.default_rng(1)
s[:, -1] = (0.05 if win else 0.95) + 0.02 * rng.standard_normal(len(s))
f["sanity/ad/spearman"][:] = s
PYEOF
  want=$([ $side = win ] && echo yes || echo no)
  check "$tmp/$side.h5" && [ "$(grep -cE "^  [123]\. .*  $want$" "$tmp/$side.h5.txt")" = 3 ] &&
    ok "AD made to $side: three times '$want', as check_verdict.py recomputes" ||
    { bad "AD made to $side"; cat "$tmp/$side.h5.txt" "$tmp/$side.h5.ck"; }
done

# 4. few, scattered correlations: the t interval passes +1; the panel shows it clipped to [-1, 1]
cp "$R" "$tmp/wide.h5"
$PY - "$tmp/wide.h5" <<'PYEOF'
import sys
import h5py
import numpy as np
f = h5py.File(sys.argv[1], "r+")
s = f["sanity/ad/spearman"][:]
s[:, -1] = np.nan
s[:4, -1] = [0.95, -0.6, 0.9, 0.1]
f["sanity/ad/spearman"][:] = s
PYEOF
check "$tmp/wide.h5" && grep -q "to 1.000, clipped to \[-1, 1\]) over 4 of" "$tmp/wide.h5.txt" &&
  grep -qE "^  3\. .*  unclear$" "$tmp/wide.h5.txt" &&
  ok "an interval past +1 is shown clipped to [-1, 1], the answer unclear, as check_verdict.py recomputes" ||
  { bad "the clipped interval"; cat "$tmp/wide.h5.txt" "$tmp/wide.h5.ck"; }
finish
