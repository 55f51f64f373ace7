#!/usr/bin/env bash
# adx sanity (cascading model randomisation, docs/metrics.md "Sanity checks") end to end:
#   1. a 4-image audit with `sliding` in ad and fill:zero (cheap settings), then `adx sanity --images 3
#      --levels 2`: exit 0, the table, /sanity with the documented shapes, and scripts/check_sanity.py
#      recomputes every Spearman value from the stored maps (scipy, and numpy ranks with scipy hidden) within
#      1e-5 (and refuses a value changed by 1e-4); the run's own datasets are unchanged (h5py, every /images and /modes dataset), adx summary
#      still reads the file, and explain --resume --force keeps /sanity;
#   2. the same with `rex` and settings from a config file (reproduced bit for bit only if they were read
#      back; rex's randomised maps are often all zero: those Spearman values must be NaN on both sides), and
#      a second sanity run with --levels 1 replaces the group;
#   3. refusals, exit 2 and the file untouched (same bytes): an unfinished file, a missing model, a model
#      whose sha256 differs, a file locked by another job, --levels beyond the model's 10 layers;
#   4. position bias in adx summary (and its table in adx report) recomputed with numpy/scipy, without and
#      with /images/object_mask, and with one constant map (left out).
# About 20 s on 2 cores.
# shellcheck disable=SC2015 # `check && ok ... || bad ...`: ok always succeeds
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
ADX=${ADX:-$ROOT/bin/adx}
case "$ADX" in /*) ;; *) ADX=$ROOT/$ADX ;; esac
DATA=${ADX_TEST_DATA:-$ROOT/tests/data}
PY=/usr/bin/python3
FASHION=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
export OMP_WAIT_POLICY=passive OMP_NUM_THREADS=1
[ -x "$ADX" ] || { echo "FAIL $ADX is not built (make)"; exit 1; }
[ -r "$FASHION" ] || cannot_run "$FASHION is missing (Debian package dataset-fashion-mnist)"
$PY -c 'import h5py, numpy' 2>/dev/null || cannot_run "python3 h5py and numpy are needed (scripts/install-deps.sh)"
t=$(mktemp -d)
holder_pid=
trap '[ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null; rm -rf "$t"' EXIT
cp "$DATA/fashion_resnet.onnx" "$t/model.onnx"

audit() { # audit OUT EXPLAINER [FLAGS...]
  "$ADX" explain --model "$t/model.onnx" --data "$FASHION" --limit 4 --explainer "$2" --iters 6 \
    --modes ad,fill:zero --k-colour 2 --k-context 2 --backgrounds 6 --auc-steps 4 --seed 3 --progress off \
    -o "$1" "${@:3}" >"$1.log" 2>&1
}
# the run's datasets (not /sanity), as a digest
digest() {
  $PY - "$1" <<'PYEOF'
import hashlib, sys
import h5py
h = hashlib.sha256()
with h5py.File(sys.argv[1], "r") as f:
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and not name.startswith("sanity"):
            h.update(name.encode()); h.update(obj[()].tobytes())
    f.visititems(visit)
print(h.hexdigest())
PYEOF
}

# 1. sliding
S=$t/s.h5
audit "$S" sliding && ok "4-image sliding audit in ad, fill:zero" || { bad "audit"; tail "$S.log"; finish; exit 1; }
before=$(digest "$S")
if "$ADX" sanity "$S" --images 3 --levels 2 >"$t/s.out" 2>"$t/s.err"; then
  ok "adx sanity --images 3 --levels 2 (exit 0)"
else
  bad "adx sanity: exit $?"; cat "$t/s.err"
fi
grep -q "^ad  *1 /fc/Gemm  *3  *0 " "$t/s.out" && grep -q "^fill:zero  *1 /fc/Gemm" "$t/s.out" &&
  ok "the table: a row per mode and level, the top layer first" || { bad "table"; cat "$t/s.out"; }
grep -q "gives the file's maps back bit for bit" "$t/s.err" &&
  ok "the trained model gives the file's maps back bit for bit (the run's settings were reconstructed)" ||
  { bad "the trained model did not reproduce the maps"; cat "$t/s.err"; }
$PY - "$S" <<'PYEOF' && ok "/sanity: slots [3], levels [2], responsibility [3,2,28,28] float32, spearman [3,2] float64, seed and init" || bad "/sanity layout"
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r") as f:
    s = f["sanity"]
    assert list(s["slots"][:]) == [0, 1, 2], s["slots"][:]
    lv = [x.decode() if isinstance(x, bytes) else x for x in s["levels"][:]]
    assert lv == ["/fc/Gemm", "/layer3/shortcut/shortcut.0/Conv"], lv
    assert s.attrs["seed"] == 3 and "1/sqrt(fan_in)" in s.attrs["init"] and s.attrs["reproduced"] == 1
    for m in ("ad", "fill:zero"):
        g = s[m]
        assert g.attrs["mode"] == m
        assert g["responsibility"].shape == (3, 2, 28, 28) and g["responsibility"].dtype == np.float32
        assert g["spearman"].shape == (3, 2) and g["spearman"].dtype == np.float64
        assert np.isfinite(g["spearman"][:]).all()  # sliding maps are never constant here
        assert (np.abs(g["spearman"][:]) <= 1).all()
PYEOF
$PY scripts/check_sanity.py "$S" >"$t/check.out" 2>&1 && grep -q "^ok: 12 Spearman values" "$t/check.out" &&
  ok "check_sanity.py recomputes all 12 Spearman values ($(cat "$t/check.out"))" || { bad "check_sanity.py"; cat "$t/check.out"; }
# the same without scipy: numpy's average ranks
$PY -c 'import runpy, sys
sys.modules["scipy"] = sys.modules["scipy.stats"] = None  # import fails as if scipy were absent
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")' scripts/check_sanity.py "$S" >"$t/check-np.out" 2>&1 &&
  grep -q "^ok: 12 Spearman values recomputed with numpy average ranks" "$t/check-np.out" &&
  ok "check_sanity.py without scipy agrees too ($(cat "$t/check-np.out"))" || { bad "check_sanity.py without scipy"; cat "$t/check-np.out"; }
# a negative control: one stored value changed by 1e-4 must be caught
cp "$S" "$t/tamper.h5"
$PY -c 'import h5py, sys
f = h5py.File(sys.argv[1], "r+"); d = f["sanity/ad/spearman"]; v = d[:]; v[1, 1] += 1e-4; d[...] = v' "$t/tamper.h5"
$PY scripts/check_sanity.py "$t/tamper.h5" >"$t/tamper.out" 2>&1 && bad "check_sanity.py missed a tampered value" ||
  ok "check_sanity.py refuses a value off by 1e-4"
[ "$(digest "$S")" = "$before" ] && ok "the run's datasets are unchanged by adx sanity" || bad "adx sanity changed the run's datasets"
"$ADX" summary "$S" >"$t/sum.out" 2>&1 && ok "adx summary reads the file after adx sanity" || { bad "summary"; cat "$t/sum.out"; }
[ ! -e "$S.lock" ] && ok "no lock file left" || bad "$S.lock left behind"
cp "$S" "$t/resumed.h5"
audit "$t/resumed.h5" sliding --resume --force && $PY scripts/check_sanity.py "$t/resumed.h5" >"$t/res.out" 2>&1 &&
  grep -q "^ok: 12 " "$t/res.out" && ok "explain --resume --force on the file keeps /sanity" ||
  { bad "--resume --force after adx sanity"; cat "$t/resumed.h5.log" "$t/res.out"; }

# 2. rex, and a second sanity run replaces /sanity
R=$t/r.h5
# settings from a config file too (a mean and std that are not the model's, a tree depth and box size that
# are not the defaults): the trained model reproduces the maps only if adx sanity applied them all
printf '[preprocess]\nmean = 0.3\nstd = 0.34\n[explain]\ntree-depth = 6\nmin-box-size = 3\n' >"$t/rex.ini"
audit "$R" rex --config "$t/rex.ini" || { bad "rex audit"; tail "$R.log"; }
"$ADX" sanity "$R" --images 3 --levels 2 >"$t/r.out" 2>&1 && "$ADX" sanity "$R" --images 2 --levels 1 --seed 9 >"$t/r2.out" 2>&1 &&
  ok "adx sanity twice on a rex audit" || { bad "adx sanity on rex"; cat "$t/r.out" "$t/r2.out"; }
grep -q "gives the file's maps back bit for bit" "$t/r.out" &&
  ok "rex with a config file: the trained model gives the maps back bit for bit (config file and flags replayed)" ||
  { bad "rex: maps not reproduced"; cat "$t/r.out"; }
# negative control: the same file with its recorded mean changed must not reproduce, and says so
cp "$R" "$t/r7.h5"
$PY -c 'import h5py, sys
f = h5py.File(sys.argv[1], "r+"); c = f.attrs["config"]
c = c.decode() if isinstance(c, bytes) else c
assert "mean = 0.3" in c
f.attrs.modify("config", c.replace("mean = 0.3", "mean = 0.5"))' "$t/r7.h5"
"$ADX" sanity "$t/r7.h5" --images 1 --levels 1 >"$t/r7.out" 2>&1
grep -q "does NOT give the file's maps back" "$t/r7.out" && grep -q "^warning: the trained model did not give" "$t/r7.out" &&
  ok "negative control: a changed recorded setting is caught by the reproduction check" || { bad "reproduction check not discriminative"; cat "$t/r7.out"; }
$PY - "$R" <<'PYEOF' && ok "the second run replaced /sanity (2 images, 1 level, seed 9)" || bad "/sanity not replaced"
import sys
import h5py
with h5py.File(sys.argv[1], "r") as f:
    s = f["sanity"]
    assert s["slots"].shape == (2,) and s["levels"].shape == (1,) and s.attrs["seed"] == 9
    assert s["ad/responsibility"].shape == (2, 1, 28, 28)
PYEOF
$PY scripts/check_sanity.py "$R" >"$t/rcheck.out" 2>&1 && ok "check_sanity.py on rex ($(cat "$t/rcheck.out"))" || { bad "check_sanity.py on rex"; cat "$t/rcheck.out"; }

# 3. refusals: exit 2, a message, the file byte for byte as it was
refused() { # refused WHAT FILE LOG RC PATTERN
  if [ "$4" -eq 2 ] && grep -q -- "$5" "$3" && cmp -s "$2" "$t/ref.copy"; then
    ok "$1: exit 2 ($(head -c 200 "$3" | tr '\n' ' '))"
  else
    bad "$1: exit $4, file $(cmp -s "$2" "$t/ref.copy" && echo unchanged || echo CHANGED)"; cat "$3"
  fi
}
U=$t/u.h5
cp "$S" "$U"
$PY -c 'import h5py, sys
f = h5py.File(sys.argv[1], "r+"); f.attrs.modify("finished", 0)' "$U"
cp "$U" "$t/ref.copy"
"$ADX" sanity "$U" --images 2 --levels 1 >"$t/u.log" 2>&1
refused "an unfinished file" "$U" "$t/u.log" $? "unfinished run"
cp "$S" "$t/ref.copy"
"$ADX" sanity "$S" --levels 11 >"$t/l.log" 2>&1
refused "--levels 11 (the model has 10 layers)" "$S" "$t/l.log" $? "has 10 parameterised layers"
cp "$DATA/fashion_vgg.onnx" "$t/model.onnx"
"$ADX" sanity "$S" --levels 1 >"$t/sha.log" 2>&1
refused "a model file whose sha256 differs" "$S" "$t/sha.log" $? "not the model of the run"
rm "$t/model.onnx"
"$ADX" sanity "$S" --levels 1 >"$t/m.log" 2>&1
refused "a missing model" "$S" "$t/m.log" $? "model.onnx is missing"
cp "$DATA/fashion_resnet.onnx" "$t/model.onnx"
$PY -c 'import fcntl, sys, time
f = open(sys.argv[1], "a+")
fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
f.truncate(0); f.write("host otherhost\npid 4242\nsince 2026-01-02T03:04:05Z\n"); f.flush()
print("locked", flush=True)
time.sleep(120)' "$S.lock" >"$t/holder.out" 2>&1 &
holder_pid=$!
for _ in $(seq 100); do grep -q locked "$t/holder.out" && break; sleep 0.1; done
"$ADX" sanity "$S" --levels 1 >"$t/k.log" 2>&1
refused "a file locked by another adx job" "$S" "$t/k.log" $? "in use by another adx job (host otherhost, pid 4242"
kill "$holder_pid" 2>/dev/null
wait "$holder_pid" 2>/dev/null
holder_pid=
"$ADX" sanity >"$t/n.log" 2>&1
[ $? -eq 2 ] && grep -q "expected one RESULTS.h5" "$t/n.log" && ok "no file: exit 2" || bad "no file"
"$ADX" sanity "$t/nope.h5" >"$t/n2.log" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "nope.h5" "$t/n2.log" && ok "a missing results file: exit $rc, named" || bad "a missing results file: exit $rc"
# 4. position bias in adx summary, recomputed with numpy/scipy from the maps (ranking as docs/explainers.md:
#    responsibility, then distance to the first maximum, then index; top ceil(10%); band 5), without masks and
#    with /images/object_mask (an audit of the same images as an HDF5 dataset whose /masks is a 6x8 box at
#    rows 10-15, cols 4-11 in every image: centroid 12.5, 7.5 by hand)
posck() { # posck FILE SUMMARY_OUT
  $PY - "$1" "$2" <<'PYEOF'
import sys
import h5py
import numpy as np
try:
    from scipy.stats import t as student
    t975 = lambda dof: student.ppf(0.975, dof)
except ImportError:  # Student's t quantiles, two-sided 95%, for the image counts used here
    t975 = {1: 12.706204736, 2: 4.302652730, 3: 3.182446305}.__getitem__
f = h5py.File(sys.argv[1], "r")
out = open(sys.argv[2]).read().splitlines()
done = f["images/done"][:].astype(bool)
H, W = f.attrs["height"], f.attrs["width"]
n_top = (10 * H * W + 99) // 100
yy, xx = np.divmod(np.arange(H * W), W)
band = (yy < 5) | (yy >= H - 5) | (xx < 5) | (xx >= W - 5)
def summ(v):
    v = np.asarray(v, dtype=np.float64)
    m = v.mean()
    half = t975(len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return m, half
def cells(line):
    parts = line.replace("±", " ").split()
    return [float(x) for x in parts[-6:]] if "ground" not in line else [float(x) for x in parts[-4:]]
i0 = next(i for i, l in enumerate(out) if l.startswith("position bias"))
rows = {l.split()[0]: l for l in out[i0 + 3:] if l.strip()}
for name, g in f["modes"].items():
    mode = g.attrs["mode"]
    R, C, B = [], [], []
    for r in g["responsibility"][:][done]:
        r = r.ravel().astype(np.float64)
        if r.min() == r.max():  # a constant map has no ranking: left out
            continue
        am = int(np.argmax(r))
        d2 = (yy - am // W) ** 2 + (xx - am % W) ** 2
        order = np.lexsort((np.arange(H * W), d2, -r))[:n_top]
        R.append(yy[order].mean()); C.append(xx[order].mean()); B.append(band[order].mean())
    got = cells(rows[mode])
    assert int(rows[mode].split()[1]) == len(R), (rows[mode], len(R))
    want = [*summ(R), *summ(C), *summ(B)]
    tol = [0.0051, 0.0051, 0.0051, 0.0051, 0.00051, 0.00051]
    for g_, w_, t_ in zip(got, want, tol):
        assert abs(g_ - w_) <= t_, (mode, got, want)
if "object_mask" in f["images"]:
    got = cells(rows["ground"])
    assert abs(got[0] - 12.5) < 1e-9 and abs(got[2] - 7.5) < 1e-9, got
else:
    assert any(l.startswith("ground-truth centroid: none (the file has no object masks)") for l in out)
print("ok")
PYEOF
}
"$ADX" summary "$S" >"$t/pos.out" 2>&1 && posck "$S" "$t/pos.out" >"$t/pos.ck" 2>&1 &&
  ok "adx summary: position bias per mode (centroid, border share, CIs) as numpy recomputes it; masks absent said" ||
  { bad "position bias in adx summary"; cat "$t/pos.out" "$t/pos.ck"; }
# the same 4 images as an HDF5 dataset with /masks (the box), explained: adx writes /images/object_mask
$PY -c 'import gzip, h5py, numpy as np, sys
raw = gzip.open(sys.argv[1]).read()[16:16 + 4 * 784]
x = np.frombuffer(raw, np.uint8).reshape(4, 28, 28)
m = np.zeros((4, 28, 28), np.uint8); m[:, 10:16, 4:12] = 1
with h5py.File(sys.argv[2], "w") as f:
    f["images"] = x; f["masks"] = m' "$FASHION" "$t/masked.h5"
FASHION="$t/masked.h5" audit "$t/mask.h5" sliding || { bad "an audit of a dataset with masks"; cat "$t/mask.h5.log"; }
$PY -c 'import h5py, numpy as np, sys
f = h5py.File(sys.argv[1], "r+")
assert "object_mask" in f["images"]
f["modes/ad/responsibility"][0] = np.zeros((28, 28), np.float32)  # a constant map: left out, n = 3' "$t/mask.h5"
"$ADX" summary "$t/mask.h5" >"$t/posm.out" 2>&1 && posck "$t/mask.h5" "$t/posm.out" >"$t/posm.ck" 2>&1 &&
  grep -q "^ad  *3 " "$t/posm.out" &&
  ok "adx summary with /images/object_mask: the ground-truth centroid (12.50, 7.50) beside the modes; a constant map left out" ||
  { bad "ground-truth centroid"; cat "$t/posm.out" "$t/posm.ck"; }
"$ADX" report "$t/mask.h5" -o "$t/rep" >"$t/rep.log" 2>&1 && grep -q 'id="position-table"' "$t/rep/index.html" &&
  grep -q 'ground truth (object mask)' "$t/rep/index.html" &&
  ok "adx report: the position bias table, with the ground-truth row" || { bad "report position table"; cat "$t/rep.log"; }
finish
