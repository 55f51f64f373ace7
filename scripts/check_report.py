#!/usr/bin/python3
"""Recompute every number of an adx report's headline table from the results file, with h5py and numpy.

usage: check_report.py RESULTS.h5 DIR/index.html [SUMMARY.txt]

Independent of adx: the statistics are recomputed here from the per-image datasets of the images whose
/images/done flag is 1 (docs/metrics.md: mean, sample std, 95% t interval with scipy's t quantile; NaN
values skipped; AD's relative robustness improvement by the delta method of docs/output-format.md), and
compared with the cells as printed (3 decimals for means and half-widths, 1 for percentages). Also checks
the column headers in order, one row per mode with one cell per column, the cost table (mean mutant
queries and seconds per image), the "unfinished: X of N images done" banner of unfinished files, and, given the output
of `adx summary`, that the terminal shows the same cells. Exits 1 on the first difference.
"""
import html.parser
import re
import sys

import h5py
import numpy as np

try:
    from scipy.stats import t as student_t

    def t975(dof):
        return float(student_t.ppf(0.975, dof))
except ImportError:  # published table values (Student's t, two-sided 95%)
    _T = {1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764, 5: 2.5706, 6: 2.4469, 7: 2.3646, 8: 2.3060, 9: 2.2622,
          10: 2.2281, 15: 2.1314, 20: 2.0860, 30: 2.0423}

    def t975(dof):
        if dof in _T:
            return _T[dof]
        sys.exit(f"check_report.py: no scipy and no table value for {dof} degrees of freedom")

HEAD = ["robustness_colour", "robustness_context", "size", "confidence", "drop_off", "insertion_auc",
        "deletion_auc"]
# The column headers, in order (docs/report.md): the label of each metric of HEAD, then AD's improvement.
LABELS = ["rob. colour", "rob. context", "size", "confidence", "drop-off", "ins. AUC", "del. AUC"]
AD_LABELS = ["AD vs: colour", "AD vs: context"]


class Headline(html.parser.HTMLParser):
    """Rows of <table id="headline">: {mode: [cell texts]} in column order, its column headers, the rows of
    <table id="cost"> ([mode, cells...] in order), and the page's text."""

    def __init__(self):
        super().__init__()
        self.rows, self.order, self.text, self.header, self.cost = {}, [], [], [], []
        self.in_table = self.in_cell = self.in_th = False
        self.table = None
        self.mode, self.cell = None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id") in ("headline", "cost"):
            self.in_table, self.table = True, a["id"]
        elif self.in_table and self.table == "headline" and tag == "tr" and "data-mode" in a:
            self.mode = a["data-mode"]
            self.rows[self.mode] = []
            self.order.append(self.mode)
        elif self.in_table and self.table == "cost" and tag == "tr":
            self.cost.append([])
        elif self.in_table and self.table == "headline" and tag == "th" and not self.order:
            self.in_th, self.cell = True, ""
        elif self.in_table and self.table == "cost" and tag in ("td", "th") and self.cost:
            self.in_cell, self.cell = True, ""
        elif self.in_table and self.mode is not None and tag == "td":
            self.in_cell, self.cell = True, ""

    def handle_endtag(self, tag):
        if tag == "table" and self.in_table:
            self.in_table = False
        elif tag == "th" and self.in_th:
            self.header.append(self.cell.strip())
            self.in_th = False
        elif tag in ("td", "th") and self.in_cell and self.table == "cost":
            self.cost[-1].append(self.cell.strip())
            self.in_cell = False
        elif tag == "td" and self.in_cell:
            self.rows[self.mode].append(self.cell.strip())
            self.in_cell = False
        elif tag == "tr":
            self.mode = None

    def handle_data(self, data):
        self.text.append(data)
        if self.in_cell or self.in_th:
            self.cell += data


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def parse_mean(cell):
    m = re.fullmatch(r"(-?\d+\.\d+) ±(\d+\.\d+)", cell)
    if m:
        return float(m.group(1)), float(m.group(2))
    m = re.fullmatch(r"(-?\d+\.\d+) \(n=1\)", cell)
    if m:
        return float(m.group(1)), None
    return None


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    f = h5py.File(sys.argv[1], "r")
    page = Headline()
    page.feed(open(sys.argv[2], encoding="utf-8").read())
    modes = [m.decode() if isinstance(m, bytes) else m for m in f.attrs["modes"]]
    done = f["images/done"][:].astype(bool)
    n_all, n_done = len(done), int(done.sum())
    text = " ".join("".join(page.text).split())
    want_banner = f"unfinished: {n_done} of {n_all} images done"
    if int(f.attrs["finished"]) == 0:
        if want_banner not in text:
            fail(f"unfinished file, but the page lacks '{want_banner}'")
    elif "unfinished:" in text:
        fail("finished file, but the page says unfinished")
    if page.order != modes:
        fail(f"headline rows {page.order}, want one per mode {modes}")
    groups = {g.attrs["mode"]: g for g in f["modes"].values()}
    ad = next((m for m in modes if m == "ad" or m.startswith("ad:")), None)
    want_header = ["mode", "n"] + LABELS + (AD_LABELS if ad is not None else [])
    if page.header != want_header:
        fail(f"headline columns {page.header}, want {want_header}")
    checked = 0
    for mode in modes:
        cells = page.rows[mode]
        if len(cells) != len(want_header) - 1:
            fail(f"{mode}: {len(cells)} cells, want {len(want_header) - 1}")
        g = groups[mode]
        col = {name: g[name][:].astype(np.float64)[done] for name in HEAD}
        n = np.count_nonzero(~np.isnan(col["robustness_colour"]))
        if cells[0] != str(n):
            fail(f"{mode}: n = '{cells[0]}', want {n}")
        for j, name in enumerate(HEAD):
            v = col[name][~np.isnan(col[name])]
            cell = cells[1 + j]
            if len(v) == 0:
                if cell != "-":
                    fail(f"{mode} {name}: '{cell}', want '-'")
                continue
            got = parse_mean(cell)
            if got is None:
                fail(f"{mode} {name}: cannot read '{cell}'")
            mean = v.mean()
            half = t975(len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else None
            if abs(got[0] - mean) > 0.0005 + 1e-9:
                fail(f"{mode} {name}: mean {got[0]}, recomputed {mean:.6f}")
            if (half is None) != (got[1] is None) or (half is not None and abs(got[1] - half) > 0.0005 + 1e-9):
                fail(f"{mode} {name}: CI half-width {got[1]}, recomputed {half}")
            checked += 1
        if ad is None:
            continue
        for q, name in enumerate(("robustness_colour", "robustness_context")):
            cell = cells[1 + len(HEAD) + q]
            if mode == ad or mode.startswith("ad:") or mode == "ad":
                if mode == ad and cell != "reference":
                    fail(f"{mode}: AD's own improvement cell is '{cell}'")
                continue
            a = groups[ad][name][:].astype(np.float64)[done]
            b = col[name]
            keep = ~np.isnan(a) & ~np.isnan(b)
            a, b = a[keep], b[keep]
            k = len(a)
            mf = b.mean() if k else np.nan
            if k == 0 or mf == 0:
                if cell != "-":
                    fail(f"AD vs {mode} {name}: '{cell}', want '-'")
                continue
            ma = a.mean()
            imp = ma / mf - 1
            m = re.fullmatch(r"([+-]\d+\.\d)% (?:±(\d+\.\d)|\(n=1\))", cell)
            if not m:
                fail(f"AD vs {mode} {name}: cannot read '{cell}'")
            if abs(float(m.group(1)) - 100 * imp) > 0.05 + 1e-9:
                fail(f"AD vs {mode} {name}: {m.group(1)}%, recomputed {100 * imp:.3f}%")
            if k > 1:
                cov = np.cov(a, b, ddof=1)
                var = (cov[0, 0] / mf**2 - 2 * ma * cov[0, 1] / mf**3 + ma**2 * cov[1, 1] / mf**4) / k
                half = 100 * t975(k - 1) * np.sqrt(var)
                if m.group(2) is None or abs(float(m.group(2)) - half) > 0.05 + 1e-9:
                    fail(f"AD vs {mode} {name}: ±{m.group(2)}, recomputed ±{half:.3f}")
            checked += 1
    # the cost table: mean mutant queries (1 decimal) and seconds (3 decimals) per image, a row per mode
    if [r[0] for r in page.cost[1:]] != modes or page.cost[0] != ["mode", "mutant queries", "seconds"]:
        fail(f"cost table rows {page.cost}, want a header and one row per mode {modes}")
    for row in page.cost[1:]:
        for name, cell, tol in (("queries", row[1], 0.05), ("seconds", row[2], 0.0005)):
            v = groups[row[0]][name][:].astype(np.float64)[done]
            got = parse_mean(cell)
            if got is None or abs(got[0] - v.mean()) > tol + 1e-9:
                fail(f"cost {row[0]} {name}: '{cell}', recomputed mean {v.mean():.6f}")
            if len(v) > 1:
                half = t975(len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
                if got[1] is None or abs(got[1] - half) > tol + 1e-9:
                    fail(f"cost {row[0]} {name}: '{cell}', recomputed half-width {half:.6f}")
            checked += 1
    if len(sys.argv) == 4:  # the terminal table: the same cells, in the same order, on the mode's line
        lines = open(sys.argv[3], encoding="utf-8").read().splitlines()
        if int(f.attrs["finished"]) == 0 and not any(want_banner in ln for ln in lines):
            fail(f"adx summary lacks '{want_banner}'")
        head = next((ln for ln in lines if ln.startswith("mode ")), "")
        pos = 0
        for label in want_header:
            i = head.find(label, pos)
            if i < 0:
                fail(f"adx summary header: no '{label}' after column {pos}: {head}")
            pos = i + len(label)
        for mode in modes:
            line = next((ln for ln in lines if ln.startswith(mode + " ")), None)
            if line is None:
                fail(f"adx summary has no row for {mode}")
            pos = 0
            for cell in page.rows[mode]:
                cell = "(reference)" if cell == "reference" else cell
                i = line.find(cell, pos)
                if i < 0:
                    fail(f"adx summary row {mode}: no '{cell}' after column {pos}: {line}")
                pos = i + len(cell)
    print(f"report check passed: {checked} headline numbers recomputed over {n_done} of {n_all} images")


if __name__ == "__main__":
    main()
