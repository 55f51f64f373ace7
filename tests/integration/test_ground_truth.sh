#!/usr/bin/env bash
# Ground truth end to end (docs/metrics.md "Ground truth", docs/output-format.md):
#   1. a 6-image HDF5 dataset made here from tests/data/fashion_test32_images.npy with /masks = the bright
#      pixels (> 100), image 5's mask empty (its ground truth must be NaN); adx explain in ad and fill:zero
#      with a small budget; scripts/check_ground_truth.py recomputes every ground-truth number of the file
#      with numpy (and the /summary means); adx summary and adx report show the table with the centre
#      control as its last row;
#      the same images and masks as IDX files (masks gzipped) on 2 MPI ranks give the same ground truth;
#   2. negative controls: a copy with one stored precision@k changed, and one with a mask pixel flipped,
#      must be refused by the checker;
#   3. bad input: /masks with the wrong count (HDF5), and an IDX masks file with the wrong size beside its
#      images, give exit 2, a message naming the masks, and no results file;
#   4. the same dataset without /masks: no ground-truth object in the file, "ground truth: absent" in the
#      summary and the report; --resume of the masked run after its dataset lost /masks is refused (exit 2).
# About 10 s on 2 cores.
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
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$PY" - "$DATA/fashion_test32_images.npy" "$DATA/fashion_test32_labels.npy" "$tmp" <<'PYEOF' || bad "making the datasets"
import gzip
import sys
import h5py
import numpy as np
x = np.load(sys.argv[1])[:6].astype(np.uint8)
y = np.load(sys.argv[2])[:6].astype(np.int64)
d = sys.argv[3]
masks = (x > 100).astype(np.uint8)
masks[5] = 0  # an empty mask: NaN ground truth
with h5py.File(d + "/masked.h5", "w") as f:
    f["images"], f["labels"], f["masks"] = x, y, masks
with h5py.File(d + "/plain.h5", "w") as f:
    f["images"], f["labels"] = x, y
with h5py.File(d + "/badcount.h5", "w") as f:
    f["images"], f["labels"], f["masks"] = x, y, masks[:5]
def idx(path, a):
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, a.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in a.shape) + a.tobytes())
idx(d + "/t-images-idx3-ubyte", x)
idx(d + "/t-masks-idx3-ubyte", masks[:, :, :27].copy())  # wrong width
idx(d + "/u-images-idx3-ubyte", x)  # the same images and masks as IDX, the masks gzipped
idx(d + "/u-masks-idx3-ubyte", masks)
with open(d + "/u-masks-idx3-ubyte", "rb") as fi, gzip.open(d + "/u-masks-idx3-ubyte.gz", "wb") as fo:
    fo.write(fi.read())
import os
os.remove(d + "/u-masks-idx3-ubyte")
PYEOF

explain() { # DATA OUT [more options]
  local data=$1 out=$2
  shift 2
  "$ADX" explain --model "$DATA/fashion_resnet.onnx" --data "$data" --scale 1/255 --mean 0.2860 --std 0.3530 \
    --iters 2 --modes ad,fill:zero --k-colour 2 --k-context 2 --backgrounds 6 --auc-steps 4 --seed 3 \
    --progress off -o "$out" "$@"
}

# 1. a masked run, checked by numpy
R=$tmp/r.h5
cp "$tmp/masked.h5" "$tmp/ds.h5" # part 4 takes its masks away
if explain "$tmp/ds.h5" "$R" >"$tmp/explain.log" 2>&1; then
  ok "6-image audit with object masks"
else
  bad "audit with masks"
  tail "$tmp/explain.log"
  finish
  exit 1
fi
"$PY" scripts/check_ground_truth.py "$R" >"$tmp/check.log" 2>&1 && ok "check_ground_truth.py: $(cat "$tmp/check.log")" ||
  { bad "check_ground_truth.py"; cat "$tmp/check.log"; }
"$PY" - "$R" <<'PYEOF' && ok "image 5 (empty mask): NaN ground truth, counted out of the summary" || bad "empty mask"
import sys
import h5py
import numpy as np
f = h5py.File(sys.argv[1], "r")
assert int(f.attrs["has_masks"]) == 1
assert f["images/object_mask"].shape == (6, 28, 28) and f["images/object_mask"].dtype == np.uint8
for name in ("pointing_game", "energy_in_object"):
    assert np.isnan(f["modes/ad/" + name][5]) and np.isnan(f["images/centre_" + name][5])
    assert not np.isnan(f["modes/ad/" + name][:5]).any()
assert int(f["summary/ad/pointing_game"].attrs["n"]) == 5
assert int(f["summary/centre_control/precision_at_k/k=10"].attrs["n"]) == 5
PYEOF
"$ADX" summary "$R" >"$tmp/summary.txt" 2>&1
grep -q "^ground truth (object masks)" "$tmp/summary.txt" && grep -m1 -A4 "^ground truth (object masks)" "$tmp/summary.txt" |
  tail -1 | grep -q "^centre control  *5 " && ok "adx summary: ground-truth table, the centre control last" ||
  { bad "adx summary ground-truth table"; cat "$tmp/summary.txt"; }
if "$ADX" report "$R" -o "$tmp/rep" >"$tmp/report.log" 2>&1 && grep -q 'id="ground-truth-table"' "$tmp/rep/index.html" &&
  grep -q 'data-mode="centre control"' "$tmp/rep/index.html"; then
  ok "adx report: ground-truth table"
else
  bad "adx report ground-truth table"
  tail -3 "$tmp/report.log"
fi

# the same images and masks as IDX files (masks gzipped), on 2 MPI ranks: the same ground truth
if command -v mpirun >/dev/null; then
  if mpirun --oversubscribe --bind-to none -np 2 "$ADX" explain --model "$DATA/fashion_resnet.onnx" \
    --data "$tmp/u-images-idx3-ubyte" --scale 1/255 --mean 0.2860 --std 0.3530 --iters 2 --modes ad,fill:zero \
    --k-colour 2 --k-context 2 --backgrounds 6 --auc-steps 4 --seed 3 --progress off --flush-images 2 \
    -o "$tmp/u.h5" >"$tmp/u.log" 2>&1 && "$PY" scripts/check_ground_truth.py "$tmp/u.h5" >/dev/null &&
    "$PY" - "$R" "$tmp/u.h5" <<'PYEOF'; then
import sys
import h5py
import numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for k in ("images/object_mask", "images/centre_pointing_game", "images/centre_energy_in_object",
          "images/centre_precision_at_k", "modes/ad/pointing_game", "modes/ad/energy_in_object",
          "modes/ad/precision_at_k", "modes/fill:zero/precision_at_k"):
    assert np.array_equal(a[k][...], b[k][...], equal_nan=True), k
PYEOF
    ok "IDX masks (.gz) on 2 ranks: checked, and the same ground truth as the HDF5 run"
  else
    bad "IDX masks on 2 ranks"
    tail "$tmp/u.log"
  fi
else
  cannot_check "IDX masks on 2 ranks" "mpirun is not installed"
fi

# 2. negative controls
cp "$R" "$tmp/bad1.h5"
cp "$R" "$tmp/bad2.h5"
"$PY" - "$tmp/bad1.h5" "$tmp/bad2.h5" <<'PYEOF' || bad "making the negative controls"
import sys
import h5py
with h5py.File(sys.argv[1], "r+") as f:
    d = f["modes/fill:zero/precision_at_k"]
    v = d[2]
    v[1] = v[1] + 0.01
    d[2] = v
with h5py.File(sys.argv[2], "r+") as f:
    m = f["images/object_mask"]
    v = m[1]
    v[14, 14] = 1 - v[14, 14]
    m[1] = v
PYEOF
"$PY" scripts/check_ground_truth.py "$tmp/bad1.h5" >/dev/null 2>&1 && bad "a changed precision@k passes the checker" ||
  ok "a changed precision@k is refused"
"$PY" scripts/check_ground_truth.py "$tmp/bad2.h5" >/dev/null 2>&1 && bad "a flipped mask pixel passes the checker" ||
  ok "a flipped mask pixel is refused"

# 3. masks that do not match the images: exit 2, a message, no file
for case in "badcount.h5:/masks" "t-images-idx3-ubyte:t-masks-idx3-ubyte"; do
  data=${case%%:*} needle=${case#*:}
  explain "$tmp/$data" "$tmp/x.h5" >"$tmp/bad.log" 2>&1
  rc=$?
  if [ "$rc" -eq 2 ] && grep -q -- "$needle" "$tmp/bad.log" && [ ! -e "$tmp/x.h5" ]; then
    ok "$data: mismatched masks -> exit 2, names $needle, no results file"
  else
    bad "$data: mismatched masks gave rc $rc"
    cat "$tmp/bad.log"
    ls "$tmp"
  fi
done

# 4. no masks
P=$tmp/p.h5
if explain "$tmp/plain.h5" "$P" >"$tmp/plain.log" 2>&1; then
  "$PY" scripts/check_ground_truth.py "$P" | grep -q "ground truth: absent" && ok "no masks: no ground-truth object" ||
    bad "no masks: ground-truth objects in the file"
  "$ADX" summary "$P" | grep -q "^ground truth: absent (the dataset has no object masks)" &&
    ok "no masks: adx summary says absent" || bad "no masks: adx summary"
  "$ADX" report "$P" -o "$tmp/rep2" >/dev/null 2>&1 && grep -q 'id="ground-truth-absent"' "$tmp/rep2/index.html" &&
    ok "no masks: adx report says absent" || bad "no masks: adx report"
else
  bad "audit without masks"
  tail "$tmp/plain.log"
fi
cp "$tmp/plain.h5" "$tmp/ds.h5" # the run's dataset, now without /masks
explain "$tmp/ds.h5" "$R" --resume --force >"$tmp/resume.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q "object masks" "$tmp/resume.log" && ok "--resume of a masked file with mask-less data: exit 2" ||
  { bad "resume with masks gone: rc $rc"; cat "$tmp/resume.log"; }
finish
