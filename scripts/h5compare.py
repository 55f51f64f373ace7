#!/usr/bin/python3
"""Compare two adx results files dataset by dataset (h5py only).

usage: h5compare.py A.h5 B.h5
Every dataset and attribute must be equal, except run metadata that legitimately differs between runs
(created, ranks, threads_per_rank, wall_seconds, finished_at, hosts) and wall-clock timings (the 'seconds' metric and its summary).
Prints the first differences and exits 1 if any.
"""
import sys

import h5py
import numpy as np

SKIP_ATTRS = {"created", "ranks", "threads_per_rank", "config", "wall_seconds", "finished_at", "hosts"}
TIMING = "seconds"


def walk(f):
    out = {}

    def visit(name, obj):
        out[name] = obj

    f.visititems(visit)
    return out


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def main():
    fa, fb = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
    bad = []
    for k in set(fa.attrs) | set(fb.attrs):
        if k in SKIP_ATTRS:
            continue
        if k not in fa.attrs or k not in fb.attrs or not same(fa.attrs[k], fb.attrs[k]):
            bad.append(f"root attribute {k}")
    oa, ob = walk(fa), walk(fb)
    for name in sorted(set(oa) | set(ob)):
        if name not in oa or name not in ob:
            bad.append(f"{name}: only in one file")
            continue
        if TIMING in name.split("/"):
            continue
        a, b = oa[name], ob[name]
        if isinstance(a, h5py.Dataset) and not same(a[()], b[()]):
            bad.append(f"{name}: data differs")
        for k in set(a.attrs) | set(b.attrs):
            if k not in a.attrs or k not in b.attrs or not same(a.attrs[k], b.attrs[k]):
                bad.append(f"{name}: attribute {k} differs")
    for line in bad[:20]:
        print("DIFF", line)
    if bad:
        print(f"{len(bad)} differences")
        sys.exit(1)
    print(f"equal: {len(oa)} objects compared")


if __name__ == "__main__":
    main()
