#!/usr/bin/python3
"""Reference judge matrix for tests/metrics/test_judge.c (test_hiding_judges), computed with numpy alone
(no adx code is run). Prints the 0/1 matrix [k][judge][sufficiency, comprehensiveness] of the hiding
judges fill:zero, fill:mean, fill:blur and ad for the good ranking and for its reverse.

The model: x[1,1,4,4] -> Conv 1x1 (weight 1, bias BETA) -> Flatten -> Gemm: logit0 = sum_i w_i y_i,
logit1 = B; class 0 is top-1 iff sum_i w_i y_i > B. Normalisation x = raw / 255. Hidden pixels:
  fill:zero  y = BETA (raw 0 through the conv);  fill:mean  y = mean(x) + BETA;
  fill:blur  y = blur(raw)/255 + BETA (separable Gaussian, sigma max(0.5, 0.1 * 4), radius ceil(3 sigma),
             kernel normalised, borders clamped: docs/ad.md);
  ad         y = 0 (isolating AD: a 1x1 window with its pixel hidden is deactivated, its output zeroed).
Ranking order[j] = (7 j + 3) mod 16; raw[order[j]] = 255 - 13 j; w[order[j]] = ((16 - j) / 16)^2.
k = 5, 10, 20, 40 % of 16 pixels: the top 1, 2, 4, 7.
"""
import math

import numpy as np

BETA, B = 0.2, 5.2
order = [(j * 7 + 3) % 16 for j in range(16)]
raw = np.zeros(16)
w = np.zeros(16)
for j in range(16):
    raw[order[j]] = 255 - 13 * j
    w[order[j]] = ((16 - j) / 16) ** 2
x = raw / 255


def blur(img):
    s = max(0.5, 0.1 * 4)
    rad = max(1, math.ceil(3 * s))
    k = np.array([math.exp(-0.5 * i * i / (s * s)) for i in range(-rad, rad + 1)])
    k /= k.sum()
    im = img.reshape(4, 4)
    tmp = np.zeros((4, 4))
    out = np.zeros((4, 4))
    for y in range(4):
        for c in range(4):
            tmp[y, c] = sum(k[a + rad] * im[y, min(3, max(0, c + a))] for a in range(-rad, rad + 1))
    for y in range(4):
        for c in range(4):
            out[y, c] = sum(k[a + rad] * tmp[min(3, max(0, y + a)), c] for a in range(-rad, rad + 1))
    return out.ravel()


hidden = [np.full(16, BETA), np.full(16, x.mean() + BETA), blur(raw) / 255 + BETA, np.zeros(16)]
for rev in (0, 1):
    o = order[::-1] if rev else order
    print("reversed" if rev else "ranking")
    for n in (1, 2, 4, 7):
        top = np.zeros(16, bool)
        top[o[:n]] = True
        row = []
        for h in hidden:
            suff = np.sum(np.where(top, w * (x + BETA), w * h)) > B
            comp = not np.sum(np.where(top, w * h, w * (x + BETA))) > B
            row.append("%d%d" % (suff, comp))
        print(" ".join(row))
