#!/usr/bin/python3
"""Recompute every Spearman correlation of an adx results file's /sanity group (adx sanity) from the stored
maps: /modes/<mode>/responsibility of each tested slot against /sanity/<mode>/responsibility at each level.
scipy.stats.spearmanr when scipy is there, else numpy ranks with ties averaged. Both sides NaN (a constant
map) counts as agreement. Exit 1 on a difference over --tol (default 1e-5) or a malformed /sanity.

    /usr/bin/python3 scripts/check_sanity.py RESULTS.h5 [--tol 1e-5]
"""
import argparse
import sys

import h5py
import numpy as np

try:
    from scipy.stats import spearmanr
except ImportError:  # numpy fallback below
    spearmanr = None


def avg_ranks(x):
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    ranks = np.empty(len(x), dtype=np.float64)
    i = 0
    while i < len(x):
        j = i + 1
        while j < len(x) and xs[j] == xs[i]:
            j += 1
        ranks[order[i:j]] = 0.5 * (i + 1 + j)
        i = j
    return ranks


def spearman(a, b):
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if len(a) < 2 or np.isnan(a).any() or np.isnan(b).any() or a.min() == a.max() or b.min() == b.max():
        return float("nan")
    if spearmanr is not None:
        return float(spearmanr(a, b).correlation)
    ra, rb = avg_ranks(a), avg_ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    return float((ra * rb).sum() / np.sqrt((ra * ra).sum() * (rb * rb).sum()))


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--tol", type=float, default=1e-5)
    a = ap.parse_args()
    bad = 0
    with h5py.File(a.results, "r") as f:
        if "sanity" not in f:
            print(f"FAIL {a.results} has no /sanity (run adx sanity first)")
            return 1
        s = f["sanity"]
        slots = s["slots"][:]
        levels = [text(x) for x in s["levels"][:]]
        n, L = len(slots), len(levels)
        done = f["images/done"][:]
        if not all(done[slots]):
            print("FAIL /sanity/slots names an image that is not done")
            bad += 1
        modes = [text(m) for m in f.attrs["modes"]]
        groups = {text(g.attrs["mode"]): name for name, g in f["modes"].items()}
        checked = nan = 0
        worst = 0.0
        for mode in modes:
            name = groups[mode]
            g = s[name]
            if text(g.attrs["mode"]) != mode:
                print(f"FAIL /sanity/{name} is mode {text(g.attrs['mode'])}, not {mode}")
                bad += 1
            resp = g["responsibility"]
            rho = g["spearman"][:]
            H, W = f["modes"][name]["responsibility"].shape[1:]
            if resp.shape != (n, L, H, W) or rho.shape != (n, L):
                print(f"FAIL {mode}: shapes {resp.shape} and {rho.shape}, expected {(n, L, H, W)} and {(n, L)}")
                bad += 1
                continue
            orig = f["modes"][name]["responsibility"]
            for i, slot in enumerate(slots):
                o = orig[slot]
                for l in range(L):
                    want = spearman(o, resp[i, l])
                    got = float(rho[i, l])
                    if np.isnan(want) and np.isnan(got):
                        nan += 1
                        continue
                    d = abs(want - got) if not (np.isnan(want) or np.isnan(got)) else float("inf")
                    worst = max(worst, d)
                    checked += 1
                    if d > a.tol:
                        print(f"FAIL {mode} slot {slot} level {l + 1} ({levels[l]}): stored {got}, recomputed {want}")
                        bad += 1
    how = "scipy.stats.spearmanr" if spearmanr is not None else "numpy average ranks"
    print(f"{'FAIL' if bad else 'ok'}: {checked} Spearman values recomputed with {how} (largest difference "
          f"{worst:.2e}), {nan} undefined on both sides (a constant map), {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
