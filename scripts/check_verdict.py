#!/usr/bin/python3
"""Recompute the verdict panel of `adx summary` (docs/report.md, "Verdict") from a results file, with h5py,
numpy and scipy, independently of adx.

usage: check_verdict.py RESULTS.h5 SUMMARY.txt [REPORT.html]

For each of the three questions it derives the answer (yes / no / unclear / not measured) and the numbers
the panel prints, and compares them with the summary's lines (and, given the report, with the data-answer
attributes of its verdict table). Exits 1 on the first difference.

  1. ground truth: precision@k at the k of robustness@k nearest 10%, AD (the first ad mode) minus each fill
     mode, paired over the images done where both are defined; scipy's paired t-test; Holm over the fill
     modes. yes = AD better than every fill (p Holm < 0.05), no = some fill better, else unclear.
  2. judges: per image, the mean over k and over the judges that are neither side's own operator (ad for
     AD, fill:X for fill:X), AD minus fill; one-sample t-test of the differences; Holm over fill modes x
     {sufficiency, comprehensiveness}; the same rule. The summary's "not own" margin table must show the
     same margins and p (Holm) (one family for the table and the verdict).
  3. sanity: /sanity/<ad>/spearman at the last level; mean and 95% t interval of the defined values;
     yes = interval below 0.5, no = interval above 0.5, else (or with fewer than half of the maps defined)
     unclear.
"""
import re
import sys

import h5py
import numpy as np
from scipy import stats

RHO = 0.5


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def holm(p):
    p = np.asarray(p, dtype=np.float64)
    out = np.full(len(p), np.nan)
    idx = [i for i in np.argsort(p, kind="stable") if not np.isnan(p[i])]
    run = 0.0
    for j, i in enumerate(idx):
        run = max(run, min(1.0, (len(idx) - j) * p[i]))
        out[i] = run
    return out


def decide(diff, p):
    ok = [i for i in range(len(diff)) if not (np.isnan(diff[i]) or np.isnan(p[i]))]
    if not ok:
        return "unclear"
    if any(diff[i] < 0 and p[i] < 0.05 for i in ok):
        return "no"
    if all(diff[i] > 0 and p[i] < 0.05 for i in ok):
        return "yes"
    return "unclear"


def pcell(p):
    return "-" if np.isnan(p) else ("<0.0001" if p < 1e-4 else f"{p:.4f}")


def paired_p(d):
    d = d[~np.isnan(d)]
    if len(d) < 2:
        return np.nan
    if np.all(d == d[0]):
        return 1.0 if d[0] == 0 else 0.0
    return float(stats.ttest_1samp(d, 0.0).pvalue)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    f = h5py.File(sys.argv[1], "r")
    text = open(sys.argv[2], encoding="utf-8").read()
    lines = text.splitlines()
    got = {}
    for i, ln in enumerate(lines):
        m = re.match(r"  ([123])\. .*  (not measured|yes|no|unclear)$", ln)
        if m:
            got[int(m.group(1))] = (m.group(2), lines[i + 1].strip())
    if sorted(got) != [1, 2, 3]:
        fail(f"the summary has no verdict panel with three answers: {sorted(got)}")
    modes = [m.decode() if isinstance(m, bytes) else m for m in f.attrs["modes"]]
    groups = {g.attrs["mode"]: g for g in f["modes"].values()}
    done = f["images/done"][:].astype(bool)
    ad = next(m for m in modes if m == "ad" or m.startswith("ad:"))
    fills = [m for m in modes if not (m == "ad" or m.startswith("ad:"))]
    want = {}
    checked = 0
    no_metrics = int(f.attrs.get("no_metrics", 0)) == 1  # adx explain --no-metrics: questions 1 and 2 unmeasured
    for q in (1, 2):
        if no_metrics and "--no-metrics" not in got[q][1]:
            fail(f"question {q} of a --no-metrics file does not say so: {got[q][1]}")
    # 1. ground truth
    if no_metrics or int(f.attrs.get("has_masks", 0)) != 1:
        want[1] = "not measured"
    else:
        ks = [float(k) for k in groups[ad]["precision_at_k"].attrs["k"]]
        kj = int(np.argmin([abs(k - 10.0) for k in ks]))
        col = {m: groups[m]["precision_at_k"][:, kj].astype(np.float64)[done] for m in modes}
        diff, p = [], []
        for m in fills:
            keep = ~np.isnan(col[ad]) & ~np.isnan(col[m])
            d = col[ad][keep] - col[m][keep]
            diff.append(d.mean() if len(d) else np.nan)
            p.append(paired_p(d))
        ph = holm(p)
        want[1] = decide(diff, ph)
        for m, dv, pv in zip(fills, diff, ph):
            cell = f"{m} {dv:+.3f} (p Holm {pcell(pv)})"
            if abs(dv) < 1e-12:  # printf may print -0.000
                cell = cell.replace("+0.000", "")
            if cell not in got[1][1] and cell.replace(f"{dv:+.3f}", "") not in got[1][1]:
                fail(f"ground truth: no '{cell}' in: {got[1][1]}")
            checked += 2
    # 2. judges
    if no_metrics or "judges" not in groups[ad]:
        want[2] = "not measured"
    else:
        names = [n.decode() if isinstance(n, bytes) else n for n in groups[ad]["judges"].attrs["judges"]]

        def own(mode):
            if mode == "ad" or mode.startswith("ad:"):
                return names.index("ad")
            return names.index(mode) if mode in names else -1

        def per_image(mode, skip, q):
            x = groups[mode]["judges"][:].astype(np.float64)[done][:, :, :, q]  # [n, K, J]
            with np.errstate(all="ignore"):
                over_k = np.nanmean(x, axis=1)  # [n, J]
                keep = [j for j in range(len(names)) if j not in skip]
                return np.nanmean(over_k[:, keep], axis=1)

        diff, p = [], []
        for m in fills:
            skip = {own(ad), own(m)}
            for q in range(2):
                d = per_image(ad, skip, q) - per_image(m, skip, q)
                d = d[~np.isnan(d)]
                diff.append(d.mean() if len(d) else np.nan)
                p.append(paired_p(d))
        ph = holm(p)
        want[2] = decide(diff, ph)
        for i, m in enumerate(fills):
            cell = f"{m} {diff[2 * i]:+.3f} / {diff[2 * i + 1]:+.3f} (p Holm {pcell(ph[2 * i])} / {pcell(ph[2 * i + 1])})"
            if cell not in got[2][1]:
                fail(f"judges: no '{cell}' in: {got[2][1]}")
            checked += 4
        # the summary's "not own" margin table is the same family: the same margins and p (Holm)
        head = next((i for i, ln in enumerate(lines) if ln.startswith(
            f"margin of {ad} over each mode under the judges that are neither side's own operator")), None)
        if head is None:
            fail("judges: adx summary has no 'not own' margin table")
        cellre = r"(-|[+-]\d+\.\d{3}(?: ±\d+\.\d{3}| \(n=\d+\))?)"
        for i, m in enumerate(fills):
            line = next((ln for ln in lines[head + 2:head + 2 + len(fills)] if ln.startswith(m + " ")), "")
            r = re.fullmatch(re.escape(m) + r" +not own +" + cellre + r" +(\S+) +(\S+)( \*)? +" + cellre
                             + r" +(\S+) +(\S+)( \*)? *", line)
            if not r:
                fail(f"judges: no 'not own' row for {m} in the margin table: '{line}'")
            for q, (mg, pc, mark) in enumerate(((1, 3, 4), (5, 7, 8))):
                k = 2 * i + q
                if r.group(mg) != "-" and r.group(mg).split()[0] != f"{diff[k]:+.3f}" and abs(diff[k]) >= 5e-4:
                    fail(f"judges: margin table {m}: '{r.group(mg)}', the verdict's {diff[k]:+.3f}")
                if r.group(pc) != pcell(ph[k]) or (r.group(mark) is not None) != (ph[k] < 0.05):
                    fail(f"judges: margin table {m}: p (Holm) '{r.group(pc)}{r.group(mark) or ''}', the "
                         f"verdict's {pcell(ph[k])}")
                checked += 2
    # 3. sanity
    gname = groups[ad].name.split("/")[-1]
    if "sanity" not in f or gname not in f["sanity"]:
        want[3] = "not measured"
    else:
        last = f["sanity"][gname]["spearman"][:, -1]
        v = last[~np.isnan(last)]
        if len(v) < 2 or 2 * len(v) < len(last):  # too few maps left (most constant after randomisation)
            want[3] = "unclear"
        else:
            mean = v.mean()
            half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
            lo, hi = mean - half, mean + half
            want[3] = "yes" if hi < RHO else "no" if lo > RHO else "unclear"
            # shown clipped to [-1, 1], the range of a correlation (the answer uses the interval itself)
            clo, chi = max(lo, -1.0), min(hi, 1.0)
            note = ", clipped to [-1, 1]" if (clo, chi) != (lo, hi) else ""
            if f"is {mean:.3f} (95% CI {clo:.3f} to {chi:.3f}{note}) over {len(v)} of {len(last)} images" not in got[3][1]:
                fail(f"sanity: want mean {mean:.3f} CI {clo:.3f} to {chi:.3f}{note} over {len(v)} of {len(last)}: {got[3][1]}")
            checked += 3
    for q in (1, 2, 3):
        if got[q][0] != want[q]:
            fail(f"question {q}: the summary says '{got[q][0]}', recomputed '{want[q]}' ({got[q][1]})")
    if len(sys.argv) == 4:
        page = open(sys.argv[3], encoding="utf-8").read()
        word = {"not measured": "absent", "yes": "yes", "no": "no", "unclear": "unclear"}
        for q in (1, 2, 3):
            if f'data-question="{q}" data-answer="{word[want[q]]}"' not in page:
                fail(f"report: question {q} is not answered '{want[q]}'")
        if page.find('id="verdict"') > page.find('id="headline-title"'):
            fail("report: the verdict panel does not come before the headline")
    print(f"verdict check passed: answers {want[1]} / {want[2]} / {want[3]}, {checked} numbers recomputed")


if __name__ == "__main__":
    main()
