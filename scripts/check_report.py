#!/usr/bin/python3
"""Recompute every number of an adx report's headline table from the results file, with h5py and numpy.

usage: check_report.py RESULTS.h5 DIR/index.html [SUMMARY.txt]

Independent of adx: the statistics are recomputed here from the per-image datasets of the images whose
/images/done flag is 1 (docs/metrics.md: mean, sample std, 95% t interval with scipy's t quantile; NaN
values skipped; AD's relative robustness improvement by the delta method of docs/output-format.md), and
compared with the cells as printed (3 decimals for means and half-widths, 1 for percentages). The AD-vs-fill
comparison table too: paired differences and intervals, scipy's paired t-test, Holm's correction over the
table, and the held-out best fill (first half of the images done picks, second half tests). The judge
margins too (tables judge-margins and judge-margins-each): AD minus every other mode, per image averaged
over k (and, for "not own", over the judges that are neither side's own operator), its 95% t interval,
scipy's paired t-test (ttest_rel) and Holm's correction by hand over each table, as the HTML prints them
(cells and 9-digit data attributes), with the count of comparisons in each caption. Also checks
the column headers in order, one row per mode with one cell per column, the cost table (mean mutant
queries and seconds per image), the "unfinished: X of N images done" banner of unfinished files, and, given the output
of `adx summary`, that the terminal shows the same cells. Exits 1 on the first difference.

A file made with `adx explain --no-metrics` (root attribute no_metrics = 1) has no metric to recompute: then
the file must hold no metric dataset (only size, seconds and queries per mode, no robustness@k, judges,
ground truth or ad_vs groups), the page must say "not measured (--no-metrics)" where the metrics would be
and have no headline or comparisons table, its size table (mean and interval per mode) and the cost table
are recomputed as above, and the summary must say the same.
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
        if tag == "table" and a.get("id") in ("headline", "cost", "size"):
            # "size": the headline of a --no-metrics file (read like the headline)
            self.in_table, self.table = True, "cost" if a["id"] == "cost" else "headline"
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


class Comparisons(html.parser.HTMLParser):
    """Rows of <table id="comparisons">: (data-mode, data-metric, data-heldout, [cell texts])."""

    def __init__(self):
        super().__init__()
        self.rows, self.cell, self.inside = [], None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id") == "comparisons":
            self.inside = True
        elif self.inside and tag == "tr" and "data-mode" in a:
            self.rows.append((a["data-mode"], a["data-metric"], a["data-heldout"] == "1", []))
        elif self.inside and self.rows and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None and self.rows:
            self.rows[-1][3].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def holm(p):
    """Holm's step-down adjusted p-values (NaN kept out of the family)."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full(len(p), np.nan)
    idx = [i for i in np.argsort(p, kind="stable") if not np.isnan(p[i])]
    m, run = len(idx), 0.0
    for j, i in enumerate(idx):
        run = max(run, min(1.0, (m - j) * p[i]))
        out[i] = run
    return out


# What a --no-metrics file keeps per mode, and the words that stand where the metrics would be.
KEPT = {"responsibility", "explanation", "size", "seconds", "queries"}
NOT_MEASURED = "not measured (--no-metrics)"


def check_no_metrics(f, report_html, summary_lines, modes, groups):
    """A --no-metrics file: no metric dataset or summary group; the page and the summary say so."""
    for mode in modes:
        extra = set(groups[mode]) - KEPT
        if extra:
            fail(f"--no-metrics file: /modes/{mode} holds metric datasets {sorted(extra)}")
        missing = KEPT - set(groups[mode])
        if missing:
            fail(f"--no-metrics file: /modes/{mode} lacks {sorted(missing)}")
    for name, g in f["summary"].items():
        if name.startswith("ad_vs_") or name == "centre_control":
            fail(f"--no-metrics file: /summary/{name} exists")
        extra = set(g) - {"size", "seconds", "queries"}
        if extra:
            fail(f"--no-metrics file: /summary/{name} holds {sorted(extra)}")
    if "object_mask" in f["images"] or int(f.attrs.get("has_masks", 0)):
        fail("--no-metrics file: ground-truth objects in /images")
    for tid in ('id="headline"', 'id="comparisons"', 'id="judges"', 'id="ground-truth-table"'):
        if tid in report_html:
            fail(f"--no-metrics report has {tid}")
    for tid in ("metrics-absent", "ground-truth-absent", "judges-absent", "plots-absent"):
        m = re.search(r'id="' + tid + r'">([^<]*)', report_html)
        if not m or NOT_MEASURED not in m.group(1):
            fail(f"--no-metrics report: no '{NOT_MEASURED}' in id=\"{tid}\"")
    if summary_lines is not None:
        for want in ("metrics: " + NOT_MEASURED, "ground truth: " + NOT_MEASURED, "judge matrix: " + NOT_MEASURED):
            if not any(ln.startswith(want) for ln in summary_lines):
                fail(f"adx summary lacks '{want}'")
        if any(ln.startswith("mode ") and "rob. colour" in ln for ln in summary_lines):
            fail("adx summary of a --no-metrics file prints the headline table")
    return 0


def check_comparisons(f, report_html, modes, groups, done):
    """The AD-vs-fill table: means, paired difference and interval, relative change, paired t-test p and
    Holm's correction over the table, and the held-out best fill (first half of the images done picks by
    mean, the second half tests), recomputed with numpy/scipy. Returns the count of numbers checked."""
    from scipy.stats import ttest_rel

    ad = next((m for m in modes if m == "ad" or m.startswith("ad:")), None)
    page = Comparisons()
    page.feed(report_html)
    if ad is None:
        if page.rows:
            fail("a comparisons table without an AD mode")
        return 0
    fills = [m for m in modes if not (m == "ad" or m.startswith("ad:"))]
    metrics = ("robustness_colour", "robustness_context")
    order = np.flatnonzero(done)
    half = len(order) // 2
    pick, test = np.zeros_like(done), np.zeros_like(done)
    pick[order[:half]], test[order[half:]] = True, True
    want = []  # (mode, metric, heldout, a, b)
    for mode in fills:
        for q, name in enumerate(metrics):
            want.append((mode, q, False, groups[ad][name][:].astype(np.float64)[done],
                         groups[mode][name][:].astype(np.float64)[done]))
    for q, name in enumerate(metrics):
        if half < 1 or not fills:
            continue
        means = [np.nanmean(groups[m][name][:].astype(np.float64)[pick]) for m in fills]
        means = [-np.inf if np.isnan(v) else v for v in means]
        best = fills[int(np.argmax(means))]
        want.append((best, q, True, groups[ad][name][:].astype(np.float64)[test],
                     groups[best][name][:].astype(np.float64)[test]))
    stats = []
    for mode, q, held, a, b in want:
        keep = ~np.isnan(a) & ~np.isnan(b)
        a, b = a[keep], b[keep]
        if len(a) < 2:
            p = np.nan
        elif np.all(a - b == (a - b)[0]):
            p = 1.0 if (a - b)[0] == 0 else 0.0
        else:
            p = float(ttest_rel(a, b).pvalue)
        stats.append((mode, q, held, a, b, p))
    padj = holm([s[5] for s in stats])
    if [(r[0], r[1], r[2]) for r in page.rows] != [(s[0], metrics[s[1]].split("_")[1], s[2]) for s in stats]:
        fail(f"comparison rows {[(r[0], r[1], r[2]) for r in page.rows]}, want "
             f"{[(s[0], metrics[s[1]].split('_')[1], s[2]) for s in stats]}")
    checked = 0

    def pcell(p):
        return "-" if np.isnan(p) else ("<0.0001" if p < 1e-4 else f"{p:.4f}")

    for (mode, q, held, a, b, p), ph, row in zip(stats, padj, page.rows):
        cells = row[3]  # mode, metric, AD, fill, diff, relative, p, p (Holm)
        if len(cells) != 8:
            fail(f"comparison {mode} {q}: {len(cells)} cells, want 8")
        if abs(float(cells[2]) - a.mean()) > 0.0005 + 1e-6 or abs(float(cells[3]) - b.mean()) > 0.0005 + 1e-6:
            fail(f"comparison {mode} {metrics[q]}: means {cells[2]} {cells[3]}, recomputed {a.mean()} {b.mean()}")
        d = a - b
        got = parse_mean(cells[4])
        if got is None or abs(got[0] - d.mean()) > 0.0005 + 1e-6:
            fail(f"comparison {mode} {metrics[q]}: difference '{cells[4]}', recomputed {d.mean():.6f}")
        if len(d) > 1:
            hw = t975(len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
            if got[1] is None or abs(got[1] - hw) > 0.0005 + 1e-6:
                fail(f"comparison {mode} {metrics[q]}: difference '{cells[4]}', recomputed ±{hw:.6f}")
        if cells[6] != pcell(p) and not (p >= 1e-4 and abs(float(cells[6]) - p) <= 0.0001 + 1e-6):
            fail(f"comparison {mode} {metrics[q]}: p '{cells[6]}', recomputed {p}")
        cell = cells[7].rstrip(" *")
        if cell != pcell(ph) and not (ph >= 1e-4 and abs(float(cell) - ph) <= 0.0001 + 1e-6):
            fail(f"comparison {mode} {metrics[q]}: p (Holm) '{cells[7]}', recomputed {ph}")
        if cells[7].endswith("*") != (ph < 0.05):
            fail(f"comparison {mode} {metrics[q]}: mark '{cells[7]}' for p (Holm) {ph}")
        checked += 5
    return checked


class MarginTable(html.parser.HTMLParser):
    """Rows of <table id=ID> (judge-margins, judge-margins-each): (data-mode, data-judge, data-own,
    [cell texts], [attribute dicts of the cells]), and the text of the note that follows the table."""

    def __init__(self, table_id):
        super().__init__()
        self.id, self.rows, self.cell, self.inside, self.after, self.note = table_id, [], None, False, False, None
        self.found = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id") == self.id:
            self.inside = self.found = True
        elif self.inside and tag == "tr" and "data-mode" in a:
            self.rows.append((a["data-mode"], a["data-judge"], a["data-own"] == "1", [], []))
        elif self.inside and self.rows and tag in ("td", "th"):
            self.cell = []
            self.rows[-1][4].append(a)
        elif self.after and tag == "p" and self.note is None:
            self.note = []

    def handle_endtag(self, tag):
        if tag == "table" and self.inside:
            self.inside, self.after = False, True
        elif self.inside and tag in ("td", "th") and self.cell is not None and self.rows:
            self.rows[-1][3].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "p" and self.after and self.note is not None:
            self.after = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)
        elif self.after and self.note is not None:
            self.note.append(data)


def is_ad(mode):
    return mode == "ad" or mode.startswith("ad:")


def paired_test(a, b):
    """Paired differences of a and b where both are defined: (differences, scipy's paired t-test p). No
    spread: p 0, or 1 when every difference is 0 (scipy gives NaN there); fewer than 2 pairs: NaN."""
    from scipy.stats import ttest_rel

    keep = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[keep], b[keep]
    d = a - b
    if len(d) < 2:
        return d, np.nan
    if np.all(d == d[0]):
        return d, 1.0 if d[0] == 0 else 0.0
    return d, float(ttest_rel(a, b).pvalue)


def judge_margins(f, modes, groups, done):
    """AD's margins over every non-AD mode, recomputed from /modes/<mode>/judges with numpy/scipy
    (docs/metrics.md "Judges", docs/report.md): {"judge-margins": rows, "judge-margins-each": rows}, each row
    (mode, judge label, own, [(differences, p, p Holm) for sufficiency, comprehensiveness]), with Holm by
    hand over the p-values of each table; None without an AD mode or a judge matrix."""
    ad = next((m for m in modes if is_ad(m)), None)
    if ad is None or "judges" not in groups[ad]:
        return None
    names = [n.decode() if isinstance(n, bytes) else n for n in groups[ad]["judges"].attrs["judges"]]

    def own(mode):
        return names.index("ad") if is_ad(mode) else (names.index(mode) if mode in names else -1)

    def over_k(mode):  # [images done, judge, measure]: the mean over the k that are defined
        x = groups[mode]["judges"][:].astype(np.float64)[done]
        with np.errstate(all="ignore"), np.testing.suppress_warnings() as sup:
            sup.filter(RuntimeWarning)
            return np.nanmean(x, axis=1)

    a = over_k(ad)
    tables = {"judge-margins": [], "judge-margins-each": []}
    for m in modes:
        if is_ad(m):
            continue
        b = over_k(m)
        skip = {own(ad), own(m)}
        keep = [j for j in range(len(names)) if j not in skip]
        with np.errstate(all="ignore"), np.testing.suppress_warnings() as sup:
            sup.filter(RuntimeWarning)
            ao, bo = np.nanmean(a[:, keep, :], axis=1), np.nanmean(b[:, keep, :], axis=1)
        tables["judge-margins"].append((m, "not own", False, [paired_test(ao[:, q], bo[:, q]) for q in range(2)]))
        for j, name in enumerate(names):
            tables["judge-margins-each"].append(
                (m, name, j in skip, [paired_test(a[:, j, q], b[:, j, q]) for q in range(2)]))
    for rows in tables.values():
        ph = holm([t[1] for r in rows for t in r[3]])
        for i, r in enumerate(rows):
            r[3][:] = [(d, p, ph[2 * i + q]) for q, (d, p) in enumerate(r[3])]
    return tables


def pcell(p):
    return "-" if np.isnan(p) else ("<0.0001" if p < 1e-4 else f"{p:.4f}")


def check_margin_cell(where, cell, d):
    """A margin cell: '+0.049 ±0.200', '+0.049 (n=1)' or '-', against the differences d."""
    if len(d) == 0:
        if cell != "-":
            fail(f"{where}: '{cell}', want '-'")
        return
    m = re.fullmatch(r"([+-]\d+\.\d{3}) (?:±(\d+\.\d{3})|\(n=(\d+)\))", cell)
    if not m:
        fail(f"{where}: cannot read '{cell}'")
    if abs(float(m.group(1)) - d.mean()) > 0.0005 + 1e-9:
        fail(f"{where}: margin '{cell}', recomputed {d.mean():.6f}")
    if len(d) > 1:
        hw = t975(len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        if m.group(2) is None or abs(float(m.group(2)) - hw) > 0.0005 + 1e-9:
            fail(f"{where}: margin '{cell}', recomputed ±{hw:.6f}")
    elif m.group(3) != "1":
        fail(f"{where}: margin '{cell}' of one pair")


def check_p_cell(where, cell, p, attr=None):
    """A p cell as printed ('0.0123', '<0.0001', '-'), and its data attribute (9 digits) when given."""
    if cell != pcell(p) and not (p >= 1e-4 and abs(float(cell) - p) <= 0.0001 + 1e-6):
        fail(f"{where}: '{cell}', recomputed {p}")
    if attr is not None:
        v = float(attr)
        if np.isnan(p) != np.isnan(v) or (not np.isnan(p) and abs(v - p) > 1e-7 + 1e-6 * p):
            fail(f"{where}: data attribute {attr}, recomputed {p!r}")


def check_judge_margins(f, report_html, summary_lines, modes, groups, done):
    """The report's two margin tables (and, given summary_lines, the terminal's): every margin with its
    95% t interval, scipy's paired t-test p and Holm's p over the table (by hand), the * marks, and the
    count of comparisons in each caption. Returns the count of numbers checked."""
    want = judge_margins(f, modes, groups, done)
    checked = 0
    for tid, title in (("judge-margins", "under the judges that are neither side's own operator"),
                       ("judge-margins-each", "under each judge")):
        page = MarginTable(tid)
        page.feed(report_html)
        if want is None:
            if page.found:
                fail(f"a table {tid} without an AD mode or a judge matrix")
            if summary_lines is not None and any(title in ln for ln in summary_lines):
                fail(f"adx summary has the margins {title} without an AD mode or a judge matrix")
            continue
        rows = want[tid]
        got_keys = [(r[0], r[1], r[2]) for r in page.rows]
        want_keys = [(r[0], r[1], r[2]) for r in rows]
        if got_keys != want_keys:
            fail(f"{tid}: rows {got_keys}, want {want_keys}")
        ncomp = sum(not np.isnan(t[1]) for r in rows for t in r[3])
        note = " ".join("".join(page.note or []).split())
        if f"Holm's correction over the {ncomp} comparisons of this table" not in note:
            fail(f"{tid}: the caption does not say Holm over {ncomp} comparisons: {note}")
        for (mode, judge, own, tests), row in zip(rows, page.rows):
            cells, attrs = row[3], row[4]
            if len(cells) != 8:
                fail(f"{tid} {mode} {judge}: {len(cells)} cells, want 8")
            if cells[0] != mode or cells[1] != judge + (" (own)" if own else ""):
                fail(f"{tid}: row heads {cells[:2]}, want {mode} {judge}{' (own)' if own else ''}")
            for q, (d, p, ph) in enumerate(tests):
                where = f"{tid} {mode} {judge} {('sufficiency', 'comprehensiveness')[q]}"
                check_margin_cell(where, cells[2 + 3 * q], d)
                check_p_cell(where + " p", cells[3 + 3 * q], p, attrs[3 + 3 * q].get("data-p"))
                hcell = cells[4 + 3 * q]
                check_p_cell(where + " p (Holm)", hcell.rstrip(" *"), ph, attrs[4 + 3 * q].get("data-p-holm"))
                if hcell.endswith("*") != (ph < 0.05):
                    fail(f"{where}: mark '{hcell}' for p (Holm) {ph}")
                checked += 3
        if summary_lines is None:
            continue
        ad = next(m for m in modes if is_ad(m))
        head = next((i for i, ln in enumerate(summary_lines)
                     if ln.startswith(f"margin of {ad} over each mode {title}")), None)
        if head is None:
            fail(f"adx summary has no table 'margin of {ad} over each mode {title}'")
        body = summary_lines[head + 2:head + 2 + len(rows)]
        for (mode, judge, own, tests), row, line in zip(rows, page.rows, body):
            label = judge + (" (own)" if own else "")
            if not re.match(re.escape(mode) + r" +" + re.escape(label) + r" ", line):
                fail(f"adx summary {tid}: line '{line}', want the row {mode} {label}")
            pos = len(mode)
            for cell in row[3][2:]:
                i = line.find(cell, pos)
                if i < 0:
                    fail(f"adx summary {tid} {mode} {label}: no '{cell}' after column {pos}: {line}")
                pos = i + len(cell)
        tail = " ".join(summary_lines[head + 2 + len(rows):head + 5 + len(rows)])
        if f"Holm's correction over the {ncomp} comparisons of this table" not in tail:
            fail(f"adx summary {tid}: the caption does not say Holm over {ncomp} comparisons: {tail}")
    return checked


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def parse_mean(cell):
    m = re.fullmatch(r"([+-]?\d+\.\d+) ±(\d+\.\d+)", cell)
    if m:
        return float(m.group(1)), float(m.group(2))
    m = re.fullmatch(r"([+-]?\d+\.\d+) \(n=1\)", cell)
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
    no_metrics = int(f.attrs.get("no_metrics", 0)) == 1
    head = ["size"] if no_metrics else HEAD  # the size table stands for the headline without metrics
    want_header = ["mode", "n"] + (["size"] if no_metrics else LABELS + (AD_LABELS if ad is not None else []))
    if page.header != want_header:
        fail(f"headline columns {page.header}, want {want_header}")
    checked = 0
    for mode in modes:
        cells = page.rows[mode]
        if len(cells) != len(want_header) - 1:
            fail(f"{mode}: {len(cells)} cells, want {len(want_header) - 1}")
        g = groups[mode]
        col = {name: g[name][:].astype(np.float64)[done] for name in head}
        n = np.count_nonzero(~np.isnan(col[head[0]]))
        if cells[0] != str(n):
            fail(f"{mode}: n = '{cells[0]}', want {n}")
        for j, name in enumerate(head):
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
        if ad is None or no_metrics:
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
    summary_lines = open(sys.argv[3], encoding="utf-8").read().splitlines() if len(sys.argv) == 4 else None
    if no_metrics:
        checked += check_no_metrics(f, open(sys.argv[2], encoding="utf-8").read(), summary_lines, modes, groups)
    else:
        checked += check_comparisons(f, open(sys.argv[2], encoding="utf-8").read(), modes, groups, done)
        checked += check_judge_margins(f, open(sys.argv[2], encoding="utf-8").read(), summary_lines, modes,
                                       groups, done)
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
        rows = Comparisons()
        rows.feed(open(sys.argv[2], encoding="utf-8").read())
        for mode, metric, held, cells in rows.rows:  # the terminal's comparison table has the same cells
            name = mode + (" (held out)" if held else "")
            line = next((ln for ln in lines if ln.startswith(name + " ") and f" {metric} " in ln), None)
            if line is None:
                fail(f"adx summary has no comparison row for {name} {metric}")
            pos = 0
            for cell in cells[2:]:
                i = line.find(cell, pos)
                if i < 0:
                    fail(f"adx summary comparison row {name} {metric}: no '{cell}' after column {pos}: {line}")
                pos = i + len(cell)
    what = "size, cost; metrics not measured (--no-metrics)" if no_metrics else "headline, comparisons, judge margins"
    print(f"report check passed: {checked} numbers ({what}) recomputed over {n_done} of {n_all} images")


if __name__ == "__main__":
    main()
