#!/usr/bin/python3
"""Statistics of the datasets with masks (docs/textured-dataset.md, docs/motif-dataset.md).

    /usr/bin/python3 scripts/ground_truth_stats.py [IMAGES-idx3-ubyte.gz ...]

Without arguments: the three committed subsets under tests/data/datasets/ (textured, textured-offset,
motif; 1000 test images each). For each images file the masks file beside it
("-images-idx3-ubyte" -> "-masks-idx3-ubyte") is read, and the script prints:
  - the object's share of the pixels (a random pixel ranking's expected precision@k);
  - the trivial centre control: pixels ranked by their distance to the image centre ((H-1)/2, (W-1)/2),
    ties in raster order (a stable sort), and its precision@k (share of the top round(k% of H*W)
    pixels inside the mask) and pointing game (is the pixel nearest the centre inside the mask),
    for k in 5, 10, 20, 40 %;
  - the mean distance of the mask's centroid to the centre, in pixels.
Only numpy and the standard library: the IDX files are read with gzip + numpy.
"""
import gzip
import os
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = [os.path.join(ROOT, "tests", "data", "datasets", f"{p}-t10k-images-idx3-ubyte.gz")
           for p in ("textured", "textured-offset", "motif")]
KS = (5, 10, 20, 40)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def stats(images_path):
    masks_path = images_path.replace("-images-idx3-ubyte", "-masks-idx3-ubyte")
    imgs, masks = read_idx(images_path), read_idx(masks_path)
    if imgs.shape != masks.shape:
        raise SystemExit(f"{masks_path}: shape {masks.shape}, images {imgs.shape}")
    n, h, w = masks.shape
    yy, xx = np.mgrid[0:h, 0:w]
    d = np.hypot(yy - (h - 1) / 2, xx - (w - 1) / 2).ravel()
    order = np.argsort(d, kind="stable")
    m = masks.reshape(n, -1).astype(np.float64)
    area = m.sum(1)
    cy = (masks * yy).reshape(n, -1).sum(1) / area
    cx = (masks * xx).reshape(n, -1).sum(1) / area
    out = {"n": n, "shape": (h, w), "mask_share": float(m.mean()),
           "pointing_centre": float(m[:, order[0]].mean()),
           "centroid_dist": float(np.hypot(cy - (h - 1) / 2, cx - (w - 1) / 2).mean())}
    for k in KS:
        top = order[:int(round(k / 100 * h * w))]
        out[f"p@{k}"] = float(m[:, top].mean())
    return out


def main():
    paths = sys.argv[1:] or DEFAULT
    print("| images | n | H x W | object share | centre control: pointing | "
          + " | ".join(f"precision@{k}%" for k in KS) + " | centroid to centre (px) |")
    print("|---|---|---|---|---|" + "---|" * len(KS) + "---|")
    for p in paths:
        s = stats(p)
        print(f"| `{os.path.basename(p)}` | {s['n']} | {s['shape'][0]}x{s['shape'][1]} | {s['mask_share']:.3f} | "
              f"{s['pointing_centre']:.3f} | " + " | ".join(f"{s[f'p@{k}']:.3f}" for k in KS)
              + f" | {s['centroid_dist']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
