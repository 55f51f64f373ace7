#!/usr/bin/python3
"""The tables of docs/experiments.md from results files written by `adx explain` (+ `adx sanity`), with h5py,
numpy and scipy (independent of adx's own summary code).

usage: experiment_verdict.py RESULTS.h5 ...

For every file, in Markdown:
  - the three questions for EVERY AD mode of the run (not only the reference one): yes / no / unclear, by
    the rules of docs/report.md "Verdict" (paired tests, Holm over the fill modes);
  - ground truth per mode (pointing game, energy in object, precision@10%, mean [95% CI]) and the centre
    control, when the run has object masks;
  - each AD mode's margin over each fill mode under the judges that are neither side's own operator
    (sufficiency / comprehensiveness, mean over k), when the run has the judge matrix;
  - each other AD variant against the default `ad`, paired (ground truth, and the judges but AD's own);
  - the sanity test: Spearman at the last randomisation level per mode, when /sanity exists;
  - position bias: the share of the top 10% in the 5-pixel border band per mode, and the centroid.
"""
import sys

import h5py
import numpy as np
from scipy import stats

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from check_verdict import decide, holm, paired_p  # noqa: E402


def ci(v):
    v = np.asarray(v, dtype=np.float64)
    v = v[~np.isnan(v)]
    if len(v) < 2:
        return (v.mean() if len(v) else np.nan), np.nan, len(v)
    return v.mean(), stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)), len(v)


def fmt(v, d=3):
    m, h, n = ci(v)
    if np.isnan(m):
        return "-"
    return f"{m:.{d}f}" if np.isnan(h) else f"{m:.{d}f} ±{h:.{d}f}"


def is_ad(m):
    return m == "ad" or m.startswith("ad:")


def rank_top(resp, top_pct=10):
    """The ranking of adx (docs/explainers.md): responsibility, then distance to the first maximum, then
    index; the first ceil(top_pct% of H*W) pixels."""
    h, w = resp.shape
    r = resp.ravel().astype(np.float64)
    yy, xx = np.divmod(np.arange(h * w), w)
    am = int(np.argmax(r))
    d2 = (yy - am // w) ** 2 + (xx - am % w) ** 2
    n = (top_pct * h * w + 99) // 100
    return np.lexsort((np.arange(h * w), d2, -r))[:n], yy, xx


def main():
    for path in sys.argv[1:]:
        f = h5py.File(path, "r")
        modes = [m.decode() if isinstance(m, bytes) else m for m in f.attrs["modes"]]
        groups = {g.attrs["mode"]: g for g in f["modes"].values()}
        done = f["images/done"][:].astype(bool)
        ads = [m for m in modes if is_ad(m)]
        fills = [m for m in modes if not is_ad(m)]
        has_masks = int(f.attrs.get("has_masks", 0)) == 1
        has_judges = "judges" in groups[modes[0]]
        print(f"### `{path}`\n")
        print(f"model `{f.attrs['model_path']}`, data `{f.attrs['data_path']}`, explainer "
              f"`{f.attrs['explainer']}`, {int(done.sum())} of {len(done)} images done\n")
        # the three questions per AD mode
        rows = []
        for a in ads:
            ans = []
            if has_masks:
                kj = int(np.argmin([abs(float(k) - 10.0) for k in groups[a]["precision_at_k"].attrs["k"]]))
                diff, p = [], []
                for m in fills:
                    d = (groups[a]["precision_at_k"][:, kj] - groups[m]["precision_at_k"][:, kj]).astype(
                        np.float64)[done]
                    d = d[~np.isnan(d)]
                    diff.append(d.mean() if len(d) else np.nan)
                    p.append(paired_p(d))
                ans.append(decide(diff, holm(p)))
            else:
                ans.append("not measured")
            if has_judges:
                names = [n.decode() if isinstance(n, bytes) else n for n in groups[a]["judges"].attrs["judges"]]

                def own(mode):
                    return names.index("ad") if is_ad(mode) else (names.index(mode) if mode in names else -1)

                def per_image(mode, skip, q):
                    x = groups[mode]["judges"][:].astype(np.float64)[done][:, :, :, q]
                    with np.errstate(all="ignore"), np.testing.suppress_warnings() as sup:
                        sup.filter(RuntimeWarning)
                        keep = [j for j in range(len(names)) if j not in skip]
                        return np.nanmean(np.nanmean(x, axis=1)[:, keep], axis=1)

                diff, p = [], []
                for m in fills:
                    for q in range(2):
                        d = per_image(a, {own(a), own(m)}, q) - per_image(m, {own(a), own(m)}, q)
                        d = d[~np.isnan(d)]
                        diff.append(d.mean() if len(d) else np.nan)
                        p.append(paired_p(d))
                ans.append(decide(diff, holm(p)))
            else:
                ans.append("not measured")
            g = groups[a].name.split("/")[-1]
            if "sanity" in f and g in f["sanity"]:
                last = f["sanity"][g]["spearman"][:, -1]
                m_, h_, n_ = ci(last)
                ans.append("unclear" if n_ < 2 or 2 * n_ < len(last) else "yes" if m_ + h_ < 0.5
                           else "no" if m_ - h_ > 0.5 else "unclear")
            else:
                ans.append("not measured")
            rows.append((a, ans))
        print("| AD mode | localises better (ground truth) | wins under others' judges | passes the sanity test |")
        print("|---|---|---|---|")
        for a, ans in rows:
            print(f"| `{a}` | {ans[0]} | {ans[1]} | {ans[2]} |")
        print()
        if has_masks:
            print("Ground truth, mean ±95% CI half-width over the images done:\n")
            print("| mode | pointing game | energy in object | precision@10% |")
            print("|---|---|---|---|")
            for m in modes + ["centre control"]:
                if m == "centre control":
                    pg, en, pk = (f["images/centre_pointing_game"][:], f["images/centre_energy_in_object"][:],
                                  f["images/centre_precision_at_k"][:, 1])
                else:
                    g = groups[m]
                    pg, en, pk = g["pointing_game"][:], g["energy_in_object"][:], g["precision_at_k"][:, 1]
                print(f"| `{m}` | {fmt(pg[done])} | {fmt(en[done])} | {fmt(pk[done])} |")
            print()
        if has_judges:
            print("Margin of each AD mode over each fill mode under the judges that are neither side's own "
                  "operator, mean over k and those judges, sufficiency / comprehensiveness (±95% CI):\n")
            print("| AD mode | " + " | ".join(f"vs `{m}`" for m in fills) + " |")
            print("|---|" + "---|" * len(fills))
            for a in ads:
                names = [n.decode() if isinstance(n, bytes) else n for n in groups[a]["judges"].attrs["judges"]]
                cells = []
                for m in fills:
                    skip = {names.index("ad"), names.index(m) if m in names else -1}
                    keep = [j for j in range(len(names)) if j not in skip]
                    part = []
                    for q in range(2):
                        xa = groups[a]["judges"][:].astype(np.float64)[done][:, :, keep, q]
                        xf = groups[m]["judges"][:].astype(np.float64)[done][:, :, keep, q]
                        with np.errstate(all="ignore"):
                            part.append(fmt(np.nanmean(xa, axis=(1, 2)) - np.nanmean(xf, axis=(1, 2))))
                    cells.append(" / ".join(part))
                print(f"| `{a}` | " + " | ".join(cells) + " |")
            print()
        others = [a for a in ads if a != "ad"]
        if "ad" in ads and others and (has_masks or has_judges):
            # the default against the other AD variants, paired by image: ground truth (precision@10%) and the
            # judges that are not AD's own operator (every variant's own is the isolating-AD judge); Holm over
            # every comparison of this table
            cols, cells = [], {a: [] for a in others}
            if has_masks:
                cols.append("precision@10%")
            if has_judges:
                cols += ["sufficiency", "comprehensiveness"]
            ps, where = [], []
            for a in others:
                ds = []
                if has_masks:
                    kj = int(np.argmin([abs(float(k) - 10.0) for k in groups[a]["precision_at_k"].attrs["k"]]))
                    ds.append(groups[a]["precision_at_k"][:, kj].astype(np.float64)[done] -
                              groups["ad"]["precision_at_k"][:, kj].astype(np.float64)[done])
                if has_judges:
                    names = [n.decode() if isinstance(n, bytes) else n for n in groups[a]["judges"].attrs["judges"]]
                    keep = [j for j in range(len(names)) if names[j] != "ad"]
                    for q in range(2):
                        with np.errstate(all="ignore"):
                            xa = np.nanmean(groups[a]["judges"][:].astype(np.float64)[done][:, :, keep, q], axis=(1, 2))
                            xd = np.nanmean(groups["ad"]["judges"][:].astype(np.float64)[done][:, :, keep, q],
                                            axis=(1, 2))
                        ds.append(xa - xd)
                for d in ds:
                    d = d[~np.isnan(d)]
                    ps.append(paired_p(d))
                    where.append((a, d))
            ph = holm(ps)
            for (a, d), pv in zip(where, ph):
                m_, h_, _ = ci(d)
                cells[a].append(f"{m_:+.3f} ±{h_:.3f} (p Holm {pv:.2g})")
            print("Each other AD variant against the default `ad`, paired by image (variant minus default; "
                  "judges: all but the isolating-AD one, mean over k; ±95% CI; Holm over the cells of this "
                  "table):\n")
            print("| AD variant | " + " | ".join(cols) + " |")
            print("|---|" + "---|" * len(cols))
            for a in others:
                print(f"| `{a}` | " + " | ".join(cells[a]) + " |")
            print()
        if "sanity" in f:
            lv = [x.decode() if isinstance(x, bytes) else x for x in f["sanity/levels"][:]]
            print(f"Sanity test: Spearman of each mode's maps with those of the model whose top {len(lv)} "
                  f"layers were re-initialised (the last level), over {len(f['sanity/slots'])} images; "
                  "constant maps left out:\n")
            print("| mode | Spearman, last level | maps defined | Spearman, level 1 (top layer only) |")
            print("|---|---|---|---|")
            for m in modes:
                g = groups[m].name.split("/")[-1]
                sp = f["sanity"][g]["spearman"][:]
                print(f"| `{m}` | {fmt(sp[:, -1])} | {int((~np.isnan(sp[:, -1])).sum())} of {len(sp)} | "
                      f"{fmt(sp[:, 0])} |")
            print()
        # position bias from the stored maps
        print("Position bias of the top 10% of each ranking (border band: 5 pixels):\n")
        print("| mode | share in the border band | centroid row | centroid column |")
        print("|---|---|---|---|")
        for m in modes:
            R, C, B = [], [], []
            for r in groups[m]["responsibility"][:][done]:
                if r.min() == r.max():
                    continue
                order, yy, xx = rank_top(r)
                h, w = r.shape
                band = (yy < 5) | (yy >= h - 5) | (xx < 5) | (xx >= w - 5)
                R.append(yy[order].mean()), C.append(xx[order].mean()), B.append(band[order].mean())
            print(f"| `{m}` | {fmt(B)} | {fmt(R, 1)} | {fmt(C, 1)} |")
        h, w = int(f.attrs["height"]), int(f.attrs["width"])
        area = 1 - (h - 10) * (w - 10) / (h * w)
        line = f"| (band area) | {area:.3f} | | |"
        if has_masks:
            mk = f["images/object_mask"][:][done].astype(bool)
            yy, xx = np.divmod(np.arange(h * w), w)
            rr = [yy[m_.ravel()].mean() for m_ in mk if m_.any()]
            cc = [xx[m_.ravel()].mean() for m_ in mk if m_.any()]
            line += f"\n| (object masks) | | {fmt(rr, 1)} | {fmt(cc, 1)} |"
        print(line + "\n")


if __name__ == "__main__":
    main()
