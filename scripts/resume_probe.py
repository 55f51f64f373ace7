#!/usr/bin/python3
"""Prove that a kill left a partial results file and that --resume resumed it (tests/integration).

usage: resume_probe.py partial FILE              exit 0 iff FILE exists with some but not all images done
       resume_probe.py snap FILE SNAP.json [--allow-complete]
                                                  the same check (with --allow-complete: every image may be
                                                  done, for a fault that strikes after the last image), and
                                                  keep the done images' timings in SNAP
       resume_probe.py check FILE SNAP.json [LOG]  after --resume: every image done, finished = 1, and each
                                                  image done before the resume kept its /modes/*/seconds bit
                                                  for bit (a recomputed image gets a new wall-clock time);
                                                  with LOG (the resume's stderr), adx's "N images (K to do)"
                                                  line must say K = the images missing at the kill.

A resume that restarts from zero passes an equality check of the final file (the results are
deterministic) but fails this one. Independent of adx: reads the file with h5py.
"""
import json
import os
import re
import sys

import h5py
import numpy as np


def state(path):
    if not os.path.exists(path):
        return None, "the file is absent"
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        return None, f"the file does not open ({e})"
    return f, None


def partial(path, allow_complete=False):
    f, why = state(path)
    if f is None:
        return None, why
    done = f["images/done"][:].astype(bool)
    n, nd = len(done), int(done.sum())
    if nd == 0:
        return None, f"no image done yet (0 of {n})"
    if nd == n and not allow_complete:
        return None, f"every image was done ({n} of {n}): the kill came too late"
    return (f, done), f"{nd} of {n} images done"


def timings(f, done):
    out = {}
    for name, g in f["modes"].items():
        s = g["seconds"][:]
        out[name] = {str(i): float(s[i]).hex() for i in np.flatnonzero(done)}
    return out


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("partial", "snap", "check"):
        sys.exit(__doc__)
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd in ("partial", "snap"):
        got, msg = partial(path, cmd == "snap" and "--allow-complete" in sys.argv[4:])
        print(msg)
        if got is None:
            return 1
        if cmd == "snap":
            f, done = got
            snap = {"n": len(done), "done": [int(i) for i in np.flatnonzero(done)], "seconds": timings(f, done)}
            with open(sys.argv[3], "w") as o:
                json.dump(snap, o)
        return 0
    snap = json.load(open(sys.argv[3]))
    f, why = state(path)
    if f is None:
        print(f"FAIL after --resume: {why}")
        return 1
    done = f["images/done"][:].astype(bool)
    if not done.all() or int(f.attrs["finished"]) != 1:
        print(f"FAIL after --resume: {int(done.sum())} of {len(done)} done, finished = {int(f.attrs['finished'])}")
        return 1
    changed = []
    for mode, per in snap["seconds"].items():
        s = f["modes"][mode]["seconds"][:]
        changed += [(mode, i) for i, v in per.items() if float(s[int(i)]).hex() != v]
    if changed:
        print(f"FAIL --resume recomputed {len(changed)} results of images done before the kill "
              f"(their timings changed), e.g. {changed[:3]}: it did not resume")
        return 1
    todo = snap["n"] - len(snap["done"])
    if len(sys.argv) > 4:
        m = re.search(r"adx explain: (\d+) images \((\d+) to do\)", open(sys.argv[4], errors="replace").read())
        if not m or int(m.group(2)) != todo:
            print(f"FAIL the resume's log says {m.group(0) if m else 'nothing'}, want {snap['n']} images ({todo} to do)")
            return 1
    print(f"resumed: the {len(snap['done'])} images done before the kill were kept, {todo} computed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
