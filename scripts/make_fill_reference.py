#!/usr/bin/python3
"""Reference fixture for the fill values, computed with numpy alone (no adx code is run).

usage: scripts/make_fill_reference.py [OUTDIR]     (default tests/data; the files are committed)

Writes three float32 .npy arrays that tests/metrics/test_metrics.c (test_fill_values_reference) reads:
  fill_ref_raw.npy       [3, 12, 10]  a raw image, integer grey levels in [5, 250] (seeded numpy draw)
  fill_ref_mask.npy      [12, 10]     1 = visible, 0 = hidden
  fill_ref_expected.npy  [7, 3, 12, 10]  the NORMALISED model input for each mode below, in this order:
      fill:zero fill:min fill:max fill:mean fill:blur fill:noise fill:37.5
The normalisation is x = (raw / 255 - MEAN[c]) / STD[c] with the ImageNet mean and std: its mean is not
zero, so "zero in raw pixels" and "zero after normalisation" differ. Fills act in raw pixel space,
before normalisation, as DESIGN.md section 1 and docs/metrics.md define them:
  zero  raw 0;  min / max / mean  the image's own per-channel extreme or mean;  a number  that raw value;
  blur  a separable Gaussian blur of each channel, sigma = 0.1 * min(H, W) (at least 0.5), radius
        ceil(3 sigma) (at least 1), kernel normalised to sum 1, borders clamped (edge replication);
  noise per channel uniform in [min, max] of that channel: lo + (hi - lo) * u, u the draws of adx's
        documented generator (xoshiro256** seeded by splitmix64, u = (next >> 11) * 2^-53) seeded with
        NOISE_SEED, one stream for the whole image, channel after channel, row-major.
"""
import math
import os
import sys

import numpy as np

C, H, W = 3, 12, 10
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
NOISE_SEED = 12345
NUMBER = 37.5
MODES = ["fill:zero", "fill:min", "fill:max", "fill:mean", "fill:blur", "fill:noise", "fill:37.5"]
M64 = (1 << 64) - 1


class Xoshiro:
    """xoshiro256** (Blackman and Vigna), state from four splitmix64 outputs."""

    def __init__(self, seed):
        self.s = []
        x = seed & M64
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & M64

    def next(self):
        s = self.s
        result = (self.rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self.rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next() >> 11) * 2.0**-53


def blur(plane):
    sigma = max(0.1 * min(H, W), 0.5)
    rad = max(math.ceil(3 * sigma), 1)
    i = np.arange(-rad, rad + 1, dtype=np.float64)
    k = np.exp(-0.5 * i * i / (sigma * sigma))
    k /= k.sum()
    p = np.pad(plane.astype(np.float64), rad, mode="edge")
    rows = np.zeros((H + 2 * rad, W))
    for j, kj in enumerate(k):  # horizontal pass
        rows += kj * p[:, j:j + W]
    out = np.zeros((H, W))
    for j, kj in enumerate(k):  # vertical pass
        out += kj * rows[j:j + H, :]
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data")
    rng = np.random.default_rng(2026)
    raw = rng.integers(5, 251, size=(C, H, W)).astype(np.float64)
    yy, xx = np.mgrid[0:H, 0:W]
    mask = ((yy * 7 + xx * 3) % 4 == 0).astype(np.float64)  # a quarter visible, scattered
    gen = Xoshiro(NOISE_SEED)
    sources = {m: np.zeros((C, H, W)) for m in MODES}
    for c in range(C):
        r = raw[c]
        lo, hi = r.min(), r.max()
        sources["fill:zero"][c] = 0.0
        sources["fill:min"][c] = lo
        sources["fill:max"][c] = hi
        sources["fill:mean"][c] = r.mean()
        sources["fill:blur"][c] = blur(r)
        sources["fill:noise"][c] = np.array([lo + (hi - lo) * gen.uniform() for _ in range(H * W)]).reshape(H, W)
        sources["fill:37.5"][c] = NUMBER
    expected = np.zeros((len(MODES), C, H, W))
    for k, m in enumerate(MODES):
        filled = np.where(mask[None] > 0, raw, sources[m])
        for c in range(C):
            expected[k, c] = (filled[c] / 255.0 - MEAN[c]) / STD[c]
    np.save(os.path.join(outdir, "fill_ref_raw.npy"), raw.astype(np.float32))
    np.save(os.path.join(outdir, "fill_ref_mask.npy"), mask.astype(np.float32))
    np.save(os.path.join(outdir, "fill_ref_expected.npy"), expected.astype(np.float32))
    print(f"wrote fill_ref_raw.npy, fill_ref_mask.npy, fill_ref_expected.npy to {outdir}")


if __name__ == "__main__":
    main()
