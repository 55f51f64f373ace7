#!/usr/bin/env bash
# Cross-judging through the command line (docs/metrics.md "Judges", docs/output-format.md):
#   1. --judges none leaves /modes/<mode>/judges and /summary/<mode>/judges_* out; adx summary and the
#      report say the matrix is absent;
#   2. the default (all) writes [N, 4, 6, 2] with the judge and measure names, every value of a done image
#      in [0, 1]; the paste judges' sufficiency recombines (numpy) into the stored robustness@k; the
#      /summary judges_mean and judges_n are recomputed with numpy from the per-image rows;
#   3. adx summary prints the matrix and the margins; adx report has the tables; scripts/check_report.py
#      recomputes the margins, their CIs, paired t-test p and Holm's p over each margin table (numpy/scipy);
#   4. a file without the matrix (as made before cross-judging: the datasets deleted with h5py) is resumed
#      by the same command and finishes without them; --judges with a bad value exits 2 and writes nothing.
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

lim=4
[ -n "${ADX_SANITIZED:-}" ] && lim=3
run() { # OUT [extra flags]
  local out=$1
  shift
  "$ADX" explain --model "$DATA/fashion_resnet.onnx" --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \
    --scale 1/255 --mean 0.2860 --std 0.3530 --limit "$lim" --iters 2 --modes ad,fill:zero,fill:max --k-colour 3 \
    --k-context 3 --backgrounds 8 --auc-steps 4 --seed 5 --progress off -o "$out" "$@"
}

# 1. --judges none
if run "$tmp/none.h5" --judges none >"$tmp/none.log" 2>&1; then ok "audit with --judges none"; else
  bad "audit with --judges none"
  tail "$tmp/none.log"
fi
"$PY" - "$tmp/none.h5" <<'PYEOF' && ok "--judges none: no judge datasets" || bad "--judges none wrote judge datasets"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    for g in f["modes"].values():
        assert "judges" not in g, g.name
    for g in f["summary"].values():
        assert not any(k.startswith("judges") for k in g), g.name
PYEOF
"$ADX" summary "$tmp/none.h5" >"$tmp/none.txt" 2>&1 && grep -q "judge matrix: absent" "$tmp/none.txt" &&
  ok "summary: matrix absent" || bad "summary of a file without judges"
"$ADX" report "$tmp/none.h5" -o "$tmp/rep_none" >/dev/null 2>&1 && grep -q 'id="judges-absent"' "$tmp/rep_none/index.html" &&
  ok "report: matrix absent" || bad "report of a file without judges"
"$PY" scripts/check_report.py "$tmp/none.h5" "$tmp/rep_none/index.html" "$tmp/none.txt" >"$tmp/check0.log" 2>&1 &&
  ok "no margin tables without the matrix: $(cat "$tmp/check0.log")" || bad "check_report.py without judges: $(cat "$tmp/check0.log")"

printf '[explain]\njudges = none\n' >"$tmp/none.ini"
run "$tmp/cfg.h5" -c "$tmp/none.ini" >"$tmp/cfg.log" 2>&1 && "$PY" -c "
import sys, h5py
assert all('judges' not in g for g in h5py.File(sys.argv[1], 'r')['modes'].values())" "$tmp/cfg.h5" &&
  ok "config key judges = none" || bad "config key judges = none"

# 2. the default: all judges
if run "$tmp/all.h5" >"$tmp/all.log" 2>&1; then ok "audit with the judges (default)"; else
  bad "audit with the judges"
  tail "$tmp/all.log"
fi
"$PY" - "$tmp/all.h5" <<'PYEOF' && ok "judge matrix: shape, names, [0,1], robustness@k, summary by numpy" || bad "judge matrix"
import sys, h5py, numpy as np
JUDGES = ["colour", "context", "fill:zero", "fill:mean", "fill:blur", "ad"]
s = lambda v: v.decode() if isinstance(v, bytes) else v
with h5py.File(sys.argv[1], "r") as f:
    done = f["images/done"][...] != 0
    n = done.shape[0]
    assert done.all() and f.attrs["finished"] == 1
    for g in f["modes"].values():
        J = g["judges"][...]
        assert J.shape == (n, 4, 6, 2), J.shape
        assert [s(x) for x in g["judges"].attrs["judges"]] == JUDGES
        assert [s(x) for x in g["judges"].attrs["measures"]] == ["sufficiency", "comprehensiveness"]
        assert np.allclose(g["judges"].attrs["k"], [5, 10, 20, 40])
        v = J[done]
        assert np.isfinite(v).all() and (v >= 0).all() and (v <= 1).all(), v
        # hiding judges are 0/1 per image; paste judges fractions of K = 3
        assert np.isin(v[:, :, 2:, :], [0, 1]).all()
        assert np.allclose(v[:, :, :2, :] * 3, np.round(v[:, :, :2, :] * 3), atol=1e-6)
        # sufficiency of colour and context = robustness@k split by background set (3 + 3 backgrounds)
        rob = g["robustness_at_k"][...][done]
        assert np.allclose((3 * v[:, :, 0, 0] + 3 * v[:, :, 1, 0]) / 6, rob, atol=1e-6), (v[:, :, :2, 0], rob)
        sm = f["summary"][g.name.split("/")[-1]]
        assert np.allclose(sm["judges_mean"][...], v.mean(axis=0), atol=1e-9)
        assert (sm["judges_n"][...] == done.sum()).all()
        sd = v.std(axis=0, ddof=1)
        hw = sm["judges_ci95_high"][...] - sm["judges_mean"][...]
        # t quantile at n-1 dof: 3.1824 (n = 4), 4.3027 (n = 3)
        t = {4: 3.18245, 3: 4.30265}[int(done.sum())]
        assert np.allclose(hw, t * sd / np.sqrt(done.sum()), atol=1e-4)
PYEOF
"$ADX" summary "$tmp/all.h5" >"$tmp/all.txt" 2>&1 && grep -q "judge matrix, sufficiency" "$tmp/all.txt" &&
  grep -q "margin of ad over each mode under each judge" "$tmp/all.txt" && grep -q "colour is itself a fill-type" "$tmp/all.txt" &&
  grep -q "Holm's correction over the [0-9]* comparisons of this table" "$tmp/all.txt" &&
  ok "summary: matrix, margins, own-operator caption, Holm" || bad "summary of the judge matrix"
"$ADX" report "$tmp/all.h5" -o "$tmp/rep_all" >/dev/null 2>&1 && grep -q 'table id="judges"' "$tmp/rep_all/index.html" &&
  grep -q 'table id="judge-margins"' "$tmp/rep_all/index.html" && grep -q 'table id="judge-margins-each"' "$tmp/rep_all/index.html" &&
  ok "report: judge table and margin tables" || bad "report judge table"
# the margins' CIs, p and Holm's p (and every headline number) recomputed with numpy/scipy, page and terminal
"$PY" scripts/check_report.py "$tmp/all.h5" "$tmp/rep_all/index.html" "$tmp/all.txt" >"$tmp/check.log" 2>&1 &&
  ok "$(cat "$tmp/check.log")" || bad "check_report.py on the judged run: $(cat "$tmp/check.log")"

# 4. an older file (no judge matrix), resumed by the same command
cp "$tmp/all.h5" "$tmp/old.h5"
"$PY" - "$tmp/old.h5" <<'PYEOF' || bad "making the old-style file"
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    for g in f["modes"].values():
        del g["judges"]
    for g in f["summary"].values():
        for k in [k for k in g if k.startswith("judges")]:
            del g[k]
    d = f["images/done"]
    d[1] = 0
    f.attrs["finished"] = 0
PYEOF
if run "$tmp/old.h5" --resume >"$tmp/old.log" 2>&1 && grep -q "resumed without it" "$tmp/old.log"; then
  ok "a file without the judge matrix resumes"
else
  bad "resume of a file without the judge matrix"
  tail "$tmp/old.log"
fi
"$PY" -c "
import sys, h5py
f = h5py.File(sys.argv[1], 'r')
assert f.attrs['finished'] == 1 and f['images/done'][...].all()
assert all('judges' not in g for g in f['modes'].values())" "$tmp/old.h5" && ok "resumed file finished, still without judges" ||
  bad "resumed file"
"$ADX" summary "$tmp/old.h5" >/dev/null 2>&1 && ok "summary of the resumed old file" || bad "summary of the resumed old file"

# bad value: exit 2, nothing written
run "$tmp/bad.h5" --judges some >"$tmp/bad.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--judges" "$tmp/bad.log" && [ ! -e "$tmp/bad.h5" ] && ok "--judges some: exit 2, nothing written" ||
  bad "--judges some: exit $rc"
finish
