#!/usr/bin/env bash
# The report's numbers, without a browser (test_report_chromium.sh checks the page in Chromium):
#   1. a 6-image audit (4 under ASan) in ad, fill:zero and fill:mean (cheap settings), whose per-image metrics are then
#      replaced by synthetic values in which every mode differs from every other in every metric, and every
#      headline column from every other (means and spreads), so that a swapped, shifted or dropped column,
#      or one mode's numbers shown for another, cannot pass;
#   2. adx report and adx summary on it: scripts/check_report.py recomputes every headline cell with numpy
#      (means, CI half-widths, AD's improvement over each fill mode), the AD-vs-fill comparisons and the judge
#      margins (synthetic judge values too: margins, CIs, paired t-test p, Holm's p over each table) with
#      scipy, and checks the terminal tables too;
#   3. negative controls: the same page with two headline columns swapped, with two modes' rows swapped,
#      with two column headers swapped, and with Bonferroni in place of Holm in the per-judge margin table,
#      must be refused by check_report.py;
#   4. an unfinished copy (done flags 0 after the third image, finished = 0): banner and numbers over 3.
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

R=$tmp/r.h5
lim=6
[ -n "${ADX_SANITIZED:-}" ] && lim=4 # under ASan+UBSan (run-integration-asan.sh): fewer images
if "$ADX" explain --model "$DATA/fashion_resnet.onnx" --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \
  --scale 1/255 --mean 0.2860 --std 0.3530 --limit "$lim" --iters 2 --modes ad,fill:zero,fill:mean --k-colour 2 \
  --k-context 2 --backgrounds 6 --auc-steps 4 --seed 3 --progress off -o "$R" >"$tmp/explain.log" 2>&1; then
  ok "$lim-image audit in 3 modes"
else
  bad "audit"
  tail "$tmp/explain.log"
  finish
  exit 1
fi

# synthetic metrics: value = 0.08 + 0.11 j + 0.035 m + (j + 1) (m + 1) 0.004 (i - 2.5) for metric j, mode m,
# image i; robustness_colour of image 4 (the last under ASan) is NaN in fill:zero (skipped, so n differs there); queries and
# seconds differ by mode too (the cost table)
"$PY" - "$R" <<'PYEOF' || bad "writing the synthetic metrics"
import sys
import h5py
import numpy as np
HEAD = ["robustness_colour", "robustness_context", "size", "confidence", "drop_off", "insertion_auc", "deletion_auc"]
with h5py.File(sys.argv[1], "r+") as f:
    modes = [m.decode() if isinstance(m, bytes) else m for m in f.attrs["modes"]]
    groups = {g.attrs["mode"]: g for g in f["modes"].values()}
    n = f["images/done"].shape[0]
    i = np.arange(n, dtype=np.float64)
    for m, mode in enumerate(modes):
        for j, name in enumerate(HEAD):
            v = 0.08 + 0.11 * j + 0.035 * m + (j + 1) * (m + 1) * 0.004 * (i - 2.5)
            if mode == "fill:zero" and name == "robustness_colour":
                v[min(4, n - 1)] = np.nan  # image 4, or the last one under ASan (4 images)
            groups[mode][name][...] = v.astype(np.float32)
        groups[mode]["queries"][...] = (100 + 37 * m + 3 * i).astype(np.int64)
        groups[mode]["seconds"][...] = (0.5 + 0.25 * m + 0.01 * (m + 1) * i).astype(np.float32)
    # the judge matrix [n, k, judge, measure]: AD ahead under some judges, behind under others, by different
    # amounts against the noise, so that the margins' p-values spread from <0.0001 to 1 and Holm differs
    # from Bonferroni; fill:zero's context judge undefined on image 1 (fewer pairs in those cells)
    rng = np.random.default_rng(11)
    J = groups[modes[0]]["judges"].shape[1:]
    for m, mode in enumerate(modes):
        shift = np.zeros(J)
        if m == 0:
            shift[:, :, 0] = [0.30, 0.12, 0.00, -0.20, 0.05, 0.25]
            shift[:, :, 1] = [-0.08, 0.20, 0.35, 0.02, -0.30, 0.10]
        v = 0.45 + 0.02 * m + shift + 0.10 * rng.standard_normal((n,) + J)
        if mode == "fill:zero":
            v[1, :, 1, :] = np.nan
        groups[mode]["judges"][...] = np.clip(v, 0, 1).astype(np.float32)
PYEOF

mkdir -p "$tmp/html"
if "$ADX" report "$R" -o "$tmp/html/full" >"$tmp/report.log" 2>&1 && "$ADX" summary "$R" >"$tmp/summary.txt" 2>&1; then
  ok "adx report and adx summary"
else
  bad "adx report / summary"
  tail "$tmp/report.log" "$tmp/summary.txt"
fi
if "$PY" scripts/check_report.py "$R" "$tmp/html/full/index.html" "$tmp/summary.txt" >"$tmp/check.log" 2>&1; then
  ok "$(cat "$tmp/check.log")"
else
  bad "check_report.py on the synthetic file: $(cat "$tmp/check.log")"
fi

# negative controls: check_report.py must refuse a page with two columns swapped, or two rows swapped
"$PY" - "$tmp/html/full/index.html" "$tmp/cols.html" "$tmp/rows.html" <<'PYEOF'
import re
import sys
page = open(sys.argv[1], encoding="utf-8").read()
start = page.index('id="headline"')
end = page.index("</table>", start)
table = page[start:end]
def swap_cells(row):
    cells = re.findall(r"<td[^>]*>.*?</td>", row, flags=re.S)
    a, b = cells[5], cells[6]  # confidence and drop_off
    return row.replace(a, "\0A", 1).replace(b, a, 1).replace("\0A", b, 1)
rows = re.findall(r"<tr data-mode=.*?</tr>", table, flags=re.S)
cols = table
for r in rows:
    cols = cols.replace(r, swap_cells(r), 1)
open(sys.argv[2], "w", encoding="utf-8").write(page[:start] + cols + page[end:])
body = [re.sub(r'data-mode="[^"]*"', "", r, count=1) for r in rows]
heads = [re.search(r'<tr data-mode="[^"]*"', r).group(0) for r in rows]
sw = table
for k, r in enumerate(rows):  # the rows' cells swapped between the first two modes
    j = {0: 1, 1: 0}.get(k, k)
    sw = sw.replace(r, "\0%d" % k, 1)
for k in range(len(rows)):
    j = {0: 1, 1: 0}.get(k, k)
    sw = sw.replace("\0%d" % k, heads[k] + body[j][len("<tr "):], 1)
open(sys.argv[3], "w", encoding="utf-8").write(page[:start] + sw + page[end:])
labels = page[:start] + table.replace("<th>ins. AUC</th><th>del. AUC</th>", "<th>del. AUC</th><th>ins. AUC</th>", 1) + page[end:]
assert labels != page
open(sys.argv[2].replace("cols", "labels"), "w", encoding="utf-8").write(labels)
# the per-judge margin table with Bonferroni (p x N, capped at 1) in place of Holm: text and attributes
start = page.index('id="judge-margins-each"')
end = page.index("</table>", start)
table = page[start:end]
n = sum(1 for v in re.findall(r'data-p="([^"]*)"', table) if v != "nan")
def bonferroni(m):
    p = float(m.group(1))
    b = min(1.0, p * n)
    cell = "<0.0001" if b < 1e-4 else f"{b:.4f}"
    return f'<td class="num" data-p="{m.group(1)}">{m.group(2)}</td><td class="num" data-p-holm="{b:.9g}">{cell}{" *" if b < 0.05 else ""}</td>'
bonf = re.sub(r'<td class="num" data-p="([^"]*)">([^<]*)</td><td class="num" data-p-holm="[^"]*">[^<]*</td>',
              lambda m: m.group(0) if m.group(1) == "nan" else bonferroni(m), table)
assert bonf != table
open(sys.argv[2].replace("cols", "bonferroni"), "w", encoding="utf-8").write(page[:start] + bonf + page[end:])
PYEOF
for v in cols rows labels; do
  if "$PY" scripts/check_report.py "$R" "$tmp/$v.html" >"$tmp/neg.log" 2>&1; then
    bad "check_report.py accepted a page with two $v swapped"
  else
    ok "check_report.py refuses two $v swapped: $(cat "$tmp/neg.log")"
  fi
done
if "$PY" scripts/check_report.py "$R" "$tmp/bonferroni.html" >"$tmp/neg.log" 2>&1; then
  bad "check_report.py accepted Bonferroni in place of Holm in the judge-margin table"
else
  ok "check_report.py refuses Bonferroni in place of Holm: $(cat "$tmp/neg.log")"
fi

# an unfinished copy: the first 3 images done
P=$tmp/partial.h5
cp "$R" "$P"
"$PY" -c 'import h5py, sys
with h5py.File(sys.argv[1], "r+") as f:
    d = f["images/done"]; v = d[()]; v[3:] = 0; d[...] = v; f.attrs["finished"] = 0' "$P"
if "$ADX" report "$P" -o "$tmp/html/partial" >"$tmp/report.log" 2>&1 && "$ADX" summary "$P" >"$tmp/summary-p.txt" 2>&1 &&
  "$PY" scripts/check_report.py "$P" "$tmp/html/partial/index.html" "$tmp/summary-p.txt" >"$tmp/check.log" 2>&1; then
  ok "unfinished file: $(cat "$tmp/check.log")"
else
  bad "unfinished file: $(cat "$tmp/check.log")"
  tail -5 "$tmp/report.log"
fi

finish
