#!/usr/bin/python3
"""Recompute every ground-truth number of an adx results file with numpy, independently of adx.

usage: check_ground_truth.py RESULTS.h5

From the stored responsibility maps (/modes/<mode>/responsibility) and object masks (/images/object_mask)
of every image whose /images/done flag is 1, following docs/metrics.md ("Ground truth"):
  - the ranking of a map: responsibility descending (NaN last), ties by squared distance to the map's
    first maximum (lowest pixel index among the maxima), then by pixel index;
  - pointing game: 1 if the ranking's first pixel is an object pixel;
  - energy in object: sum of max(r, 0) on object pixels / sum of max(r, 0) (NaN values count 0; NaN if 0);
  - precision@k: share of object pixels among the first ceil(k * HW / 100) pixels (k in percent, the
    attribute k of precision_at_k);
  - the centre control: the ranking by distance to the centre ((H-1)/2, (W-1)/2), nearest first, ties by
    pixel index, and the map dmax - d for its energy;
  - an empty mask gives NaN everywhere;
and compares them with /modes/<mode>/{pointing_game, energy_in_object, precision_at_k} and
/images/centre_*, then the /summary means and counts (NaN skipped) of a finished file. Exits 1 on any
difference > 1e-6 (NaN must match NaN). A file without masks (root attribute has_masks 0 or absent) must
hold no ground-truth object; then it prints "ground truth: absent" and exits 0.
"""
import sys

import h5py
import numpy as np

TOL = 1e-6
GT = ("pointing_game", "energy_in_object", "precision_at_k")


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def ranking(resp):
    r = resp.astype(np.float32).ravel()
    key = np.where(np.isnan(r), -np.inf, r).astype(np.float64)
    am = int(np.argmax(key))  # the first maximum
    w = resp.shape[1]
    idx = np.arange(r.size)
    d2 = (idx // w - am // w) ** 2 + (idx % w - am % w) ** 2
    return np.lexsort((idx, d2, -key))


def centre(h, w):
    y, x = np.divmod(np.arange(h * w), w)
    d4 = (2 * y - (h - 1)) ** 2 + (2 * x - (w - 1)) ** 2
    order = np.lexsort((np.arange(h * w), d4))
    d = np.sqrt(d4.astype(np.float64)) / 2
    return order, (d.max() - d).astype(np.float32)


def gt(mapv, order, mask, ks):
    m = mask.ravel() != 0
    hw = m.size
    if not m.any():
        return np.nan, np.nan, np.full(len(ks), np.nan)
    pg = 1.0 if m[order[0]] else 0.0
    v = mapv.ravel().astype(np.float64)
    pos = np.where(np.isnan(v) | (v < 0), 0.0, v)
    energy = pos[m].sum() / pos.sum() if pos.sum() > 0 else np.nan
    pk = []
    for k in ks:
        n = min(hw, max(1, (int(round(k)) * hw + 99) // 100))
        pk.append(m[order[:n]].sum() / n)
    return pg, energy, np.array(pk)


def same(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return bool(np.all((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= TOL)))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    f = h5py.File(sys.argv[1], "r")
    has = int(f.attrs.get("has_masks", 0))
    names = []
    f.visit(names.append)
    gt_objects = [n for n in names if n.split("/")[-1] in GT + ("object_mask", "centre_control")
                  or n.split("/")[-1].startswith("centre_")]
    if not has:
        if gt_objects:
            fail("has_masks is 0 but the file holds ground-truth objects: %s" % gt_objects[:3])
        print("ground truth: absent")
        return
    done = f["images/done"][...] != 0
    masks = f["images/object_mask"]
    h, w = masks.shape[1], masks.shape[2]
    ks = [float(k) for k in f["images/centre_precision_at_k"].attrs["k"]]
    corder, cmap = centre(h, w)
    groups = {g.attrs["mode"]: g for g in f["modes"].values()}
    if isinstance(next(iter(groups)), bytes):
        groups = {k.decode(): v for k, v in groups.items()}
    checked = 0
    cols = {}  # (mode or None, metric) -> per-image values
    for i in np.nonzero(done)[0]:
        mask = masks[i]
        want = gt(cmap, corder, mask, ks)
        got = (f["images/centre_pointing_game"][i], f["images/centre_energy_in_object"][i],
               f["images/centre_precision_at_k"][i])
        for name, a, b in zip(GT, want, got):
            if not same(a, b):
                fail("image %d centre control %s: stored %s, numpy %s" % (i, name, b, a))
            checked += np.size(a)
        for mode, g in groups.items():
            resp = g["responsibility"][i]
            want = gt(resp, ranking(resp), mask, ks)
            got = (g["pointing_game"][i], g["energy_in_object"][i], g["precision_at_k"][i])
            for name, a, b in zip(GT, want, got):
                if not same(a, b):
                    fail("image %d mode %s %s: stored %s, numpy %s" % (i, mode, name, b, a))
                checked += np.size(a)
    # the summary of a finished file: mean and n over the images done, NaN skipped
    if int(f.attrs.get("finished", 0)):
        sums = {}
        for g in f["summary"].values():
            if "mode" in g.attrs:
                m = g.attrs["mode"]
                sums[m.decode() if isinstance(m, bytes) else m] = g
        targets = [("centre", f["summary/centre_control"], "images/centre_")]
        targets += [(m, sums[m], None) for m in groups]
        for label, sg, prefix in targets:
            for j, name in enumerate(GT):
                data = f[prefix + name][...] if prefix else groups[label][name][...]
                data = data[done].astype(np.float64)
                cols_ = [(name, data)] if j < 2 else [
                    ("precision_at_k/k=%g" % k, data[:, q]) for q, k in enumerate(ks)]
                for key, v in cols_:
                    s = sg[key]
                    v = v[~np.isnan(v)]
                    mean = v.mean() if v.size else np.nan
                    if int(s.attrs["n"]) != v.size or not same(mean, s.attrs["mean"]):
                        fail("summary %s %s: stored mean %s n %d, numpy %s n %d" %
                             (label, key, s.attrs["mean"], int(s.attrs["n"]), mean, v.size))
                    checked += 1
    print("ground truth: %d values of %d images x (%d modes + centre control) agree with numpy (tol %g)" %
          (checked, int(done.sum()), len(groups), TOL))


if __name__ == "__main__":
    main()
