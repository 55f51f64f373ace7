#!/usr/bin/env bash
# adx explain --no-metrics through the command line (docs/output-format.md "Runs without metrics",
# docs/configuration.md):
#   1. the same small audit twice, with and without --no-metrics, same seed: the --no-metrics file has the
#      root attribute no_metrics = 1 and, per mode, only responsibility, explanation, size, seconds and
#      queries (no metric, robustness@k, judge, ground-truth or ad_vs object: checked with h5py); the file
#      with metrics has them (so the check can fail);
#   2. the explanations are those of the run with metrics: maps, explanations, size and the explainer's
#      queries per image and mode equal; the session's query totals on the log: the explainer's equal in
#      both runs and equal to the sum of the file's `queries`, the metrics' 0 without and > 0 with the
#      metrics (expectations from the run with metrics and from h5py, never from a constant);
#   3. adx summary, adx report, adx show work; summary and report say "not measured (--no-metrics)";
#      scripts/check_report.py (size and cost recomputed with numpy) and scripts/check_verdict.py pass, and
#      check_report.py fails on a page that does not belong to the file;
#   4. the config key no-metrics = true does the same; a bad value exits 2;
#   5. --resume onto a file made with the other setting exits 2, names --no-metrics, and leaves the file
#      byte for byte as it was (sha256); a resume with the same setting completes the file;
#   6. adx merge refuses a --no-metrics part with a part with metrics, merges two --no-metrics parts into
#      a --no-metrics file; adx sanity runs on a --no-metrics file.
# About 15 s on 2 cores.
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
sum() { sha256sum "$1" | cut -d' ' -f1; }

# 1. with and without the metrics
if run "$tmp/none.h5" --no-metrics >"$tmp/none.log" 2>&1; then ok "audit with --no-metrics"; else
  bad "audit with --no-metrics"
  tail "$tmp/none.log"
fi
if run "$tmp/all.h5" >"$tmp/all.log" 2>&1; then ok "the same audit with the metrics"; else
  bad "the same audit with the metrics"
  tail "$tmp/all.log"
fi
# the session totals on the log: "mutant queries this session: explainer E, metrics M"
totals() { sed -n 's/.*mutant queries this session: explainer \([0-9]*\), metrics \([0-9]*\).*/\1 \2/p' "$1"; }
"$PY" - "$tmp/none.h5" "$tmp/all.h5" "$(totals "$tmp/none.log")" "$(totals "$tmp/all.log")" <<'PYEOF' &&
import sys, h5py, numpy as np
KEPT = {"responsibility", "explanation", "size", "seconds", "queries"}
none, allm = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
tn, ta = [list(map(int, t.split())) for t in sys.argv[3:5]]
assert none.attrs["no_metrics"] == 1 and allm.attrs["no_metrics"] == 0
assert none.attrs["finished"] == 1 and allm.attrs["finished"] == 1
assert none.attrs["has_masks"] == 0 and "object_mask" not in none["images"]
done = none["images/done"][...] != 0
assert done.all() and (allm["images/done"][...] != 0).all()
assert list(none.attrs["modes"]) == list(allm.attrs["modes"])
explainer = 0
for name, g in none["modes"].items():
    a = allm["modes"][name]
    assert set(g) == KEPT, (name, sorted(g))
    assert set(a) > KEPT | {"robustness_colour", "robustness_at_k", "judges", "insertion_auc"}, (name, sorted(a))
    # the explanations do not depend on the metrics: maps, masks, size and the explainer's queries
    for ds in ("responsibility", "explanation", "size", "queries"):
        assert np.array_equal(g[ds][...], a[ds][...]), (name, ds)
    assert (g["queries"][...] > 0).all()
    explainer += int(g["queries"][...].sum())
for name, g in none["summary"].items():
    assert not name.startswith("ad_vs_") and name != "centre_control", name
    assert set(g) == {"size", "seconds", "queries"}, (name, sorted(g))
    q = none["modes"][name]["queries"][...]
    assert abs(g["queries"].attrs["mean"] - q.mean()) < 1e-9 and g["queries"].attrs["n"] == len(q)
assert any(n.startswith("ad_vs_") for n in allm["summary"])
# the log: the explainer's queries of both runs are the file's; only the run with metrics asks more
assert tn[0] == explainer and ta[0] == explainer, (tn, ta, explainer)
assert tn[1] == 0 and ta[1] > 0, (tn, ta)
assert ta[0] + ta[1] > tn[0] + tn[1]
PYEOF
  ok "no metric dataset; maps, size and explainer queries equal to the run with metrics; metric queries 0 (log: $(totals "$tmp/none.log") vs $(totals "$tmp/all.log"))" ||
  bad "the --no-metrics file against the run with metrics"

# 3. the readers
"$ADX" summary "$tmp/none.h5" >"$tmp/none.txt" 2>&1 && grep -q "^metrics: not measured (--no-metrics)" "$tmp/none.txt" &&
  grep -q "^ground truth: not measured (--no-metrics)" "$tmp/none.txt" &&
  grep -q "^judge matrix: not measured (--no-metrics)" "$tmp/none.txt" && grep -q "^cost per image" "$tmp/none.txt" &&
  ! grep -q "rob. colour" "$tmp/none.txt" && ok "summary: metrics not measured, cost per image" ||
  bad "summary of a --no-metrics file: $(head -30 "$tmp/none.txt")"
"$ADX" report "$tmp/none.h5" -o "$tmp/rep_none" >"$tmp/rep.log" 2>&1 &&
  grep -q 'id="metrics-absent">Metrics: not measured (--no-metrics)' "$tmp/rep_none/index.html" &&
  grep -q 'data-answer="absent"' "$tmp/rep_none/index.html" && ok "report: metrics not measured" ||
  bad "report of a --no-metrics file: $(cat "$tmp/rep.log")"
"$PY" scripts/check_report.py "$tmp/none.h5" "$tmp/rep_none/index.html" "$tmp/none.txt" >"$tmp/check.log" 2>&1 &&
  ok "$(cat "$tmp/check.log")" || bad "check_report.py on the --no-metrics run: $(cat "$tmp/check.log")"
"$PY" scripts/check_verdict.py "$tmp/none.h5" "$tmp/none.txt" "$tmp/rep_none/index.html" >"$tmp/verdict.log" 2>&1 &&
  grep -q "answers not measured / not measured / not measured" "$tmp/verdict.log" &&
  ok "$(cat "$tmp/verdict.log")" || bad "check_verdict.py on the --no-metrics run: $(cat "$tmp/verdict.log")"
"$ADX" report "$tmp/all.h5" -o "$tmp/rep_all" >/dev/null 2>&1 || bad "report of the run with metrics"
if "$PY" scripts/check_report.py "$tmp/none.h5" "$tmp/rep_all/index.html" >"$tmp/neg.log" 2>&1; then
  bad "check_report.py accepts the page of the run with metrics for the --no-metrics file"
else
  ok "check_report.py refuses a page that is not the file's: $(cat "$tmp/neg.log")"
fi
"$ADX" show "$tmp/none.h5" --image 1 -o "$tmp/panel.png" >"$tmp/show.log" 2>&1 && [ -s "$tmp/panel.png" ] &&
  ok "show" || bad "show of a --no-metrics file: $(cat "$tmp/show.log")"

# 4. the config key
printf '[explain]\nno-metrics = true\n' >"$tmp/nm.ini"
run "$tmp/cfg.h5" -c "$tmp/nm.ini" >"$tmp/cfg.log" 2>&1 && "$PY" -c "
import sys, h5py
f = h5py.File(sys.argv[1], 'r')
assert f.attrs['no_metrics'] == 1 and all(set(g) == {'responsibility', 'explanation', 'size', 'seconds', 'queries'}
                                          for g in f['modes'].values())" "$tmp/cfg.h5" &&
  ok "config key no-metrics = true" || bad "config key no-metrics = true: $(tail -3 "$tmp/cfg.log")"
printf '[explain]\nno-metrics = maybe\n' >"$tmp/bad.ini"
run "$tmp/bad.h5" -c "$tmp/bad.ini" >"$tmp/bad.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q "no-metrics" "$tmp/bad.log" && [ ! -e "$tmp/bad.h5" ] &&
  ok "no-metrics = maybe: exit 2, nothing written" || bad "no-metrics = maybe: exit $rc"

# 5. resume with the other setting: refused, file unchanged; with the same setting: completed
unfinish() { # FILE: the last image not done, the run unfinished (as a killed run leaves it)
  "$PY" -c "
import sys, h5py
with h5py.File(sys.argv[1], 'r+') as f:
    f['images/done'][-1] = 0
    f.attrs['finished'] = 0" "$1"
}
cp "$tmp/none.h5" "$tmp/none_part.h5" && unfinish "$tmp/none_part.h5"
cp "$tmp/all.h5" "$tmp/all_part.h5" && unfinish "$tmp/all_part.h5"
before=$(sum "$tmp/none_part.h5")
run "$tmp/none_part.h5" --resume >"$tmp/r1.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q "was made with --no-metrics" "$tmp/r1.log" && [ "$(sum "$tmp/none_part.h5")" = "$before" ] &&
  ok "resume of a --no-metrics file with the metrics: exit 2, file unchanged" ||
  bad "resume of a --no-metrics file with the metrics: exit $rc: $(cat "$tmp/r1.log")"
before=$(sum "$tmp/all_part.h5")
run "$tmp/all_part.h5" --resume --no-metrics >"$tmp/r2.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q "this run uses --no-metrics" "$tmp/r2.log" && [ "$(sum "$tmp/all_part.h5")" = "$before" ] &&
  ok "resume of a file with metrics with --no-metrics: exit 2, file unchanged" ||
  bad "resume of a file with metrics with --no-metrics: exit $rc: $(cat "$tmp/r2.log")"
run "$tmp/none_part.h5" --resume --no-metrics >"$tmp/r3.log" 2>&1 && "$PY" -c "
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
assert a.attrs['finished'] == 1 and a['images/done'][...].all() and a.attrs['no_metrics'] == 1
for name, g in a['modes'].items():
    for ds in ('responsibility', 'explanation', 'size', 'queries'):
        assert np.array_equal(g[ds][...], b['modes'][name][ds][...]), (name, ds)" "$tmp/none_part.h5" "$tmp/none.h5" &&
  ok "resume with --no-metrics completes the file as the uninterrupted run" ||
  bad "resume with --no-metrics: $(tail -3 "$tmp/r3.log")"

# 6. merge and sanity
run "$tmp/p1.h5" --no-metrics --limit 2 >/dev/null 2>&1 && run "$tmp/p2.h5" --no-metrics --offset 2 --limit 2 >/dev/null 2>&1 &&
  run "$tmp/q2.h5" --offset 2 --limit 2 >/dev/null 2>&1 || bad "the parts of the merge"
"$ADX" merge "$tmp/mix.h5" "$tmp/p1.h5" "$tmp/q2.h5" >"$tmp/mix.log" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--no-metrics" "$tmp/mix.log" && [ ! -e "$tmp/mix.h5" ] &&
  ok "merge of a --no-metrics part with a part with metrics: exit 2" || bad "merge of mixed parts: exit $rc: $(cat "$tmp/mix.log")"
"$ADX" merge "$tmp/m.h5" "$tmp/p1.h5" "$tmp/p2.h5" >"$tmp/m.log" 2>&1 && "$PY" -c "
import sys, h5py
f = h5py.File(sys.argv[1], 'r')
assert f.attrs['no_metrics'] == 1 and f.attrs['finished'] == 1 and f['images/done'][...].all()
assert all(set(g) == {'responsibility', 'explanation', 'size', 'seconds', 'queries'} for g in f['modes'].values())" "$tmp/m.h5" &&
  "$ADX" summary "$tmp/m.h5" >"$tmp/m.txt" 2>&1 && "$ADX" report "$tmp/m.h5" -o "$tmp/rep_m" >/dev/null 2>&1 &&
  "$PY" scripts/check_report.py "$tmp/m.h5" "$tmp/rep_m/index.html" "$tmp/m.txt" >/dev/null 2>&1 &&
  ok "merge of two --no-metrics parts: a --no-metrics file, summary and report checked" ||
  bad "merge of two --no-metrics parts: $(cat "$tmp/m.log")"
cp "$tmp/none.h5" "$tmp/san.h5"
"$ADX" sanity "$tmp/san.h5" --images 2 --levels 1 >"$tmp/san.log" 2>&1 && "$PY" scripts/check_sanity.py "$tmp/san.h5" >>"$tmp/san.log" 2>&1 &&
  ok "sanity on a --no-metrics file" || bad "sanity on a --no-metrics file: $(tail -5 "$tmp/san.log")"
finish
