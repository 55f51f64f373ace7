#!/usr/bin/python3
"""Markdown tables for docs/experiments-0.1.md (the adx 0.1 runs) from adx results files (docs/output-format.md).

usage: scripts/experiment_table.py RESULTS.h5 [RESULTS.h5 ...]

For each file:
  1. per mode: size, confidence, robustness_colour, robustness_context, robustness@k (k = 5,10,20,40),
     insertion/deletion AUC (and seconds per image), each "mean [ci95_low, ci95_high]" read from the
     /summary/<mode>/<metric> attributes written by adx;
  2. every AD mode against every fill mode: relative improvement (mean_ad - mean_fill) / mean_fill with a
     95% delta-method CI, computed here from the per-image rows (paired over images done with neither value
     NaN), the same estimator adx uses for /summary/ad_vs_<mode> (which covers only the first AD mode).
     Metrics: robustness_colour, robustness_context and robustness@k averaged over the 4 k values;
  3. a check that this script's estimator reproduces adx's /summary/ad_vs_<mode> for the first AD mode.
"""
import sys

import h5py
import numpy as np


def tq(n):
    try:
        from scipy.stats import t

        return float(t.ppf(0.975, n - 1))
    except Exception:  # pragma: no cover
        return 1.96


METRICS = [
    ("size", "size (% of image)", 1),
    ("confidence", "confidence", 3),
    ("robustness_colour", "rob. colour", 3),
    ("robustness_context", "rob. context", 3),
    ("robustness_at_k/k=5", "rob@5%", 3),
    ("robustness_at_k/k=10", "rob@10%", 3),
    ("robustness_at_k/k=20", "rob@20%", 3),
    ("robustness_at_k/k=40", "rob@40%", 3),
    ("insertion_auc", "insertion AUC ↑", 3),
    ("deletion_auc", "deletion AUC ↓", 3),
    ("seconds", "s/image", 1),
]


def esc(mode):
    if mode in (".", ".."):
        return mode.replace(".", "%2E")
    return mode.replace("%", "%25").replace("/", "%2F")


def cell(mean, lo, hi, d):
    if not np.isfinite(mean):
        return "n/a"
    if not np.isfinite(lo):
        return f"{mean:.{d}f}"
    return f"{mean:.{d}f} [{lo:.{d}f}, {hi:.{d}f}]"


def ratio_ci(a, f):
    """(mean_a - mean_f)/mean_f with the delta-method 95% CI, paired, NaN pairs dropped."""
    ok = np.isfinite(a) & np.isfinite(f)
    a, f = a[ok].astype(np.float64), f[ok].astype(np.float64)
    n = len(a)
    if n == 0:
        return np.nan, np.nan, np.nan, 0
    ma, mf = a.mean(), f.mean()
    if mf == 0:
        return np.nan, np.nan, np.nan, n
    r = ma / mf
    if n < 2:
        return r - 1, np.nan, np.nan, n
    v = np.var(a - r * f, ddof=1) / (n * mf * mf)
    h = tq(n) * np.sqrt(v)
    return r - 1, r - 1 - h, r - 1 + h, n


def pct(imp, lo, hi):
    if not np.isfinite(imp):
        return "n/a"
    s = f"{100 * imp:+.0f}%"
    if np.isfinite(lo):
        s += f" [{100 * lo:+.0f}, {100 * hi:+.0f}]"
        if lo > 0 or hi < 0:
            s = f"**{s}**"
    return s


def table(path):
    out = []
    with h5py.File(path, "r") as f:
        a = f.attrs
        modes = [m.decode() if isinstance(m, bytes) else str(m) for m in a["modes"]]
        done = f["images/done"][:].astype(bool)
        nd = int(done.sum())
        hw = int(a["height"]) * int(a["width"])
        mis = int((f["images/flags"][:][done] & 1).sum())
        out.append(f"### `{a['model_path']}`\n")
        out.append(
            f"{nd} images done of {int(a['n'])} (finished = {int(a['finished'])}), {hw} px per image, "
            f"{mis} misclassified (explained class = prediction), explainer `{a['explainer']}`, "
            f"seed {int(a['seed'])}, {int(a['ranks'])} rank(s), adx {a['adx_version']}.\n"
        )
        out.append("Mean [95% CI] per image.\n")
        out.append("| mode | " + " | ".join(m[1] for m in METRICS) + " |")
        out.append("|---" * (len(METRICS) + 1) + "|")
        # Mean and t-based 95% CI from the per-image rows of the images done (NaN skipped), so that the
        # table also covers a run still going or killed (no /summary yet); where /summary exists, its
        # values are checked against these.
        sworst, ncmp = 0.0, 0
        for m in modes:
            g = f["modes"][esc(m)]
            ssum = f["summary"][esc(m)] if "summary" in f and esc(m) in f["summary"] else None
            row = [f"`{m}`"]
            for key, _, d in METRICS:
                if key.startswith("robustness_at_k/k="):
                    ks = list(np.round(g["robustness_at_k"].attrs["k"]).astype(int))
                    v = g["robustness_at_k"][:][done][:, ks.index(int(key.split("=")[1]))]
                else:
                    v = g[key][:][done]
                v = np.asarray(v, dtype=np.float64)
                v = v[np.isfinite(v)]
                mean = v.mean() if len(v) else np.nan
                half = tq(len(v)) * v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan
                if ssum is not None and key in ssum and ssum[key].attrs["n"] > 0 and np.isfinite(mean):
                    sworst = max(sworst, abs(ssum[key].attrs["mean"] - mean))
                    ncmp += 1
                sc = 100.0 if key == "size" else 1.0
                row.append(cell(sc * mean, sc * (mean - half), sc * (mean + half), d))
            out.append("| " + " | ".join(row) + " |")
        out.append("")
        if ncmp:
            out.append(f"(Check: these means match adx's `/summary` to within {sworst:.1e}.)\n")

        ad = [m for m in modes if m == "ad" or m.startswith("ad:")]
        fills = [m for m in modes if m not in ad]

        def col(m, key):
            g = f["modes"][esc(m)]
            if key == "rob_k_mean":
                return g["robustness_at_k"][:][done].mean(axis=1)
            return g[key][:][done]

        for key, title in [
            ("robustness_colour", "robustness_colour"),
            ("robustness_context", "robustness_context"),
            ("rob_k_mean", "robustness@k, mean over k = 5, 10, 20, 40 % (size-fair)"),
        ]:
            out.append(
                f"Relative improvement of each AD variant over each fill mode, **{title}**: "
                "(AD − fill) / fill, paired over images, 95% delta-method CI; bold = CI excludes 0.\n"
            )
            out.append("| AD variant | " + " | ".join(f"vs `{m}`" for m in fills) + " |")
            out.append("|---" * (len(fills) + 1) + "|")
            for m in ad:
                row = [f"`{m}`"]
                for fm in fills:
                    imp, lo, hi, _ = ratio_ci(col(m, key), col(fm, key))
                    row.append(pct(imp, lo, hi))
                out.append("| " + " | ".join(row) + " |")
            out.append("")

        if len(ad) > 1:
            out.append(
                f"Each AD variant against the first one (`{ad[0]}`), paired relative difference, 95% CI; "
                "bold = CI excludes 0.\n"
            )
            keys = [("robustness_colour", "rob. colour"), ("robustness_context", "rob. context"),
                    ("rob_k_mean", "rob@k (mean over k)"), ("insertion_auc", "insertion AUC"),
                    ("deletion_auc", "deletion AUC")]
            out.append("| AD variant | " + " | ".join(k[1] for k in keys) + " |")
            out.append("|---" * (len(keys) + 1) + "|")
            for m in ad[1:]:
                row = [f"`{m}`"]
                for key, _ in keys:
                    imp, lo, hi, _ = ratio_ci(col(m, key), col(ad[0], key))
                    row.append(pct(imp, lo, hi))
                out.append("| " + " | ".join(row) + " |")
            out.append("")

        # check against adx's own /summary/ad_vs_<mode> (first AD mode)
        worst, nvs = 0.0, 0
        for fm in fills:
            g = f["summary"].get("ad_vs_" + esc(fm)) if "summary" in f else None
            if g is None:
                continue
            for key in ("robustness_colour", "robustness_context"):
                at = g[key].attrs
                imp, lo, hi, n = ratio_ci(col(ad[0], key), col(fm, key))
                if np.isfinite(at["improvement"]):
                    nvs += 1
                    worst = max(worst, abs(at["improvement"] - imp))
                    if np.isfinite(at["ci95_low"]) and np.isfinite(lo):
                        worst = max(worst, abs(at["ci95_low"] - lo), abs(at["ci95_high"] - hi))
        if nvs:
            out.append(
                f"(Check: this script's improvements for `{ad[0] if ad else '-'}` match adx's "
                f"`/summary/ad_vs_*` to within {worst:.1e}.)\n"
            )
    return "\n".join(out)


def overview(paths):
    """One table, every file a column: per mode, the mean over k of robustness@k (mean and 95% t
    half-width over the images done) and the explanation size; the best mode of each file in bold."""
    cols, allmodes = [], []
    for path in paths:
        with h5py.File(path, "r") as f:
            done = f["images/done"][:].astype(bool)
            for m in f.attrs["modes"]:
                m = m.decode() if isinstance(m, bytes) else str(m)
                if m not in allmodes:
                    allmodes.append(m)
            res = {}
            for k in f["modes"]:
                g = f["modes"][k]
                v = g["robustness_at_k"][:][done].astype(np.float64).mean(axis=1)
                v = v[np.isfinite(v)]
                half = tq(len(v)) * v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan
                res[str(g.attrs["mode"])] = (v.mean(), half, 100 * np.nanmean(g["size"][:][done]))
            cols.append((f"`{f.attrs['model_path']}` ({int(done.sum())} images)", res))
    order = [m for m in allmodes if m == "ad" or m.startswith("ad:")]
    order += [m for m in allmodes if m not in order]
    out = ["### Robustness@k, mean over k, every file\n",
           "Mean [± 95% half-width] over the images done; size = extracted explanation, % of the image; "
           "bold = the file's best mode.\n",
           "| mode | " + " | ".join(c[0] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for m in order:
        row = [f"`{m}`"]
        for _, res in cols:
            if m not in res:
                row.append("not run")
                continue
            mu, half, size = res[m]
            c = f"{mu:.3f} [±{half:.3f}], size {size:.1f}%"
            row.append(f"**{c}**" if mu == max(r[0] for r in res.values()) else c)
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    print("\n".join(table(p) for p in sys.argv[1:]))
    print(overview(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
