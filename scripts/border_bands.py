#!/usr/bin/python3
"""Share of explanation pixels in each border band (top, bottom, left, right B pixels) per mode, over the
images done in an adx results file, beside the bands' share of the image area. A mechanism that favours
a border shows as a band share well above the area share in one mode and not in the others.

    /usr/bin/python3 scripts/border_bands.py RESULTS.h5 [--band 5] [--markdown]
"""
import argparse

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--band", type=int, default=5)
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    with h5py.File(a.results, "r") as f:
        done = f["images/done"][:].astype(bool)
        modes = [m.decode() if isinstance(m, bytes) else m for m in f.attrs["modes"]]
        variants = f.attrs.get("mode_variants")
        variants = [v.decode() if isinstance(v, bytes) else v for v in variants] if variants is not None else modes
        rows = []
        for mode, var in zip(modes, variants):
            g = next(g for g in f["modes"].values() if g.attrs["mode"] in (mode, mode.encode()))
            e = g["explanation"][:][done].astype(np.float64)
            tot = e.sum()
            b = a.band
            shares = [e[:, :b, :].sum() / tot, e[:, -b:, :].sum() / tot, e[:, :, :b].sum() / tot, e[:, :, -b:].sum() / tot]
            rows.append((var, int(done.sum()), e.mean(), shares))
        H, W = e.shape[1], e.shape[2]
    area = [b * W / (H * W), b * W / (H * W), b * H / (H * W), b * H / (H * W)]
    head = ["mode", "images", "size", f"top {b}", f"bottom {b}", f"left {b}", f"right {b}"]
    if a.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        print(f"| (share of the image area) | | | " + " | ".join(f"{x:.0%}" for x in area) + " |")
        for var, n, size, s in rows:
            print(f"| `{var}` | {n} | {size:.3f} | " + " | ".join(f"{x:.1%}" for x in s) + " |")
    else:
        print(("{:<36} {:>6} {:>6}" + " {:>9}" * 4).format(*head))
        print(("{:<36} {:>6} {:>6}" + " {:>9.1%}" * 4).format("(share of the image area)", "", "", *area))
        for var, n, size, s in rows:
            print(("{:<36} {:>6} {:>6.3f}" + " {:>9.1%}" * 4).format(var, n, size, *s))


if __name__ == "__main__":
    main()
