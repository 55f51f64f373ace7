#!/usr/bin/python3
"""docs/img/ad-mask-layers.png: how a visibility mask travels through three 3x3 convolutions (stride 1,
2, 1; padding 1) under each AD rule, and what an active position reads. Computed with the independent
reference's window arithmetic (scripts/ad_reference.py), drawn with matplotlib.

    /usr/bin/python3 scripts/make_ad_picture.py [OUT.png]
"""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ad_reference as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYERS = [(1, "conv 3x3, stride 1"), (2, "conv 3x3, stride 2"), (1, "conv 3x3, stride 1")]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "img", "ad-mask-layers.png")
    m = np.ones((16, 16))
    m[4:11, 3:9] = 0  # a hidden block
    m[12:14, 11:13] = 0  # a 2x2 box, ReX's smallest
    rules = ["strict", "ratio:0.5", "loose"]
    fig, axes = plt.subplots(len(rules), 1 + len(LAYERS), figsize=(11, 8.6))
    for r, rule in enumerate(rules):
        cur = torch.from_numpy(m)[None, None]
        ax = axes[r, 0]
        ax.imshow(m, cmap="Greys_r", vmin=0, vmax=1)
        ax.set_title("input mask" if r == 0 else "")
        ax.set_ylabel(rule, fontsize=13)
        for j, (s, name) in enumerate(LAYERS):
            h = ref.box(1.0 - cur, [3, 3], [s, s], (1, 1, 1, 1), [1, 1], False)
            n = ref.box(torch.ones_like(cur), [3, 3], [s, s], (1, 1, 1, 1), [1, 1], False)
            off = ref.deactivate(h, n, rule)
            act = (~off).double()
            partly = (act > 0) & (h > 0)  # active, but its window holds absent inputs
            img = np.where(off[0, 0].numpy(), 0.0, np.where(partly[0, 0].numpy(), 0.55, 1.0))
            ax = axes[r, j + 1]
            ax.imshow(img, cmap="Greys_r", vmin=0, vmax=1)
            if r == 0:
                ax.set_title(f"after {name}")
            cur = act
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("AD: a hidden block and a 2x2 box through three convolutions\n"
                 "black = hidden or deactivated (0);  white = untouched;\n"
                 "grey = active, its window holds hidden inputs and reads them as absent "
                 "(none: zero contribution, partial: rescaled)", fontsize=11)
    fig.tight_layout()
    os.makedirs(os.path.dirname(out), exist_ok=True)
    fig.savefig(out, dpi=80)
    print(out)


if __name__ == "__main__":
    main()
