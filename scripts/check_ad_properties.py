#!/usr/bin/python3
"""AD's properties (docs/ad.md) checked end to end through `adx predict`, on models made here with
random weights (none of them is in the repository):

  A1 identity   every pixel visible: the logits of every AD variant equal plain's, bit for bit;
  A2 isolation  noise written into the hidden region: bit-identical logits under every isolating variant
                (rule x pooling x renormalisation x placement); the `leak` variant must change them;
  A4 totality   everything hidden: finite logits, the same for every image;
  A5 symmetry   a network with horizontally symmetric kernels, on a 17x17 grid where (H-1) is divisible
                by every stride: AD of the flipped image and mask equals AD of the original within 1e-5;
  small boxes   under the default variant, hiding a 2x2 box (ReX's smallest at 28x28) of the fixture's
                Fashion-MNIST image changes the logits, since the hidden pixels differ from absence.

Used by tests/integration/test_ad_properties_cli.sh. Expected values are never adx's own: A1 compares
with adx's plain pass, A2/A4/A5 are invariances, the small-box case compares with the unmasked pass.
"""
import itertools
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_ad_torch import write_png_grey  # noqa: E402

RULES = ("strict", "ratio:0.5", "ratio:0.25", "loose")
ALL = [f"ad:{r}:{p}:{n}:{a}" for r, p, n, a in
       itertools.product(RULES, ("all", "active"), ("none", "partial", "leak"), ("every", "checkpoints"))]
if os.environ.get("ADX_SANITIZED"):  # under ASan+UBSan (make check-asan) every 5th variant: the code paths, not the grid
    ALL = ALL[::5]


class Res(nn.Module):
    """A small residual network: BN, a strided shortcut, max and average pooling."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.c1 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(16, 16, 3, padding=1)
        self.sc = nn.Conv2d(8, 16, 1, stride=2)
        self.avg = nn.AvgPool2d(3, stride=1, padding=1)
        self.fc = nn.Linear(16, 6)

    def forward(self, x):
        y = self.pool(self.stem(x))
        y = torch.relu(self.c2(torch.relu(self.c1(y))) + self.sc(y))
        return self.fc(self.avg(y).mean(dim=(2, 3)))


class Sym(nn.Module):
    """Horizontally symmetric kernels and symmetric padding: flip-equivariant on a 17x17 grid."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 6, 3, padding=1)
        self.c2 = nn.Conv2d(6, 8, 3, stride=2, padding=1)  # 17 -> 9
        self.mp = nn.MaxPool2d(3, stride=1, padding=1)
        self.c3 = nn.Conv2d(8, 8, 5, stride=2, padding=2)  # 9 -> 5
        self.ap = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)  # 5 -> 3
        self.fc = nn.Linear(8, 4)
        with torch.no_grad():
            for c in (self.c1, self.c2, self.c3):
                c.weight.copy_(0.5 * (c.weight + c.weight.flip(-1)))

    def forward(self, x):
        y = torch.relu(self.c1(x))
        y = self.mp(torch.relu(self.c2(y)))
        y = self.ap(torch.relu(self.c3(y)))
        return self.fc(y.mean(dim=(2, 3)))


def export(model, x, path):
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, torch.from_numpy(x), path, opset_version=13, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


class Adx:
    def __init__(self, exe, tmp):
        self.exe, self.tmp, self.n = exe, tmp, 0

    def logits(self, model, x, mode="plain", mask=None, extra=()):
        """Logits as the exact strings adx printed (bit-exact comparisons), and as floats."""
        self.n += 1
        xin = os.path.join(self.tmp, f"x{self.n}.npy")
        np.save(xin, x)
        cmd = [self.exe, "predict", "--model", model, "--mode", mode, "--logits", *extra]
        if mask is not None:
            png = os.path.join(self.tmp, f"m{self.n}.png")
            write_png_grey(png, mask)
            cmd += ["--mask", png]
        out = subprocess.run(cmd + [xin], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"adx predict failed: {' '.join(cmd)}\n{out.stderr}")
        rows = [json.loads(line)["logits"] for line in out.stdout.splitlines()]
        return [json.dumps(r) for r in rows], np.array(rows, np.float64)


def main():
    exe = os.environ.get("ADX", "bin/adx")
    data = os.environ.get("ADX_TEST_DATA", "tests/data")
    torch.manual_seed(3)
    rng = np.random.default_rng(12)
    passed, failed = 0, 0

    def verdict(ok, what):
        nonlocal passed, failed
        print(("ok   " if ok else "FAIL ") + what)
        passed += ok
        failed += not ok

    with tempfile.TemporaryDirectory() as tmp:
        adx = Adx(exe, tmp)
        res = os.path.join(tmp, "res.onnx")
        x = rng.standard_normal((3, 3, 20, 20)).astype(np.float32)
        export(Res(), x, res)
        plain_s, _ = adx.logits(res, x)
        full = np.full((20, 20), 255, np.uint8)
        hide = full.copy()
        hide[3:12, 5:17] = 0
        hide[15:18, 2:4] = 0
        noisy = x.copy()
        noisy[:, :, hide == 0] = rng.uniform(-5, 5, size=noisy[:, :, hide == 0].shape)
        none = np.zeros((20, 20), np.uint8)
        for v in ALL:
            s, _ = adx.logits(res, x, v, full)
            verdict(s == plain_s, f"A1 {v}: all visible equals plain bit for bit")
            a, _ = adx.logits(res, x, v, hide)
            b, _ = adx.logits(res, noisy, v, hide)
            if ":leak:" in v:
                if v.startswith(("ad:ratio:0.5", "ad:loose")):
                    verdict(a != b, f"A2 control {v}: noise in the hidden region does reach the output")
            else:
                verdict(a == b, f"A2 {v}: noise in the hidden region leaves the logits bit-identical")
            _, z = adx.logits(res, x, v, none)
            verdict(bool(np.all(np.isfinite(z))) and bool(np.all(z == z[0])),
                    f"A4 {v}: all hidden gives finite logits, the same for every image")

        sym = os.path.join(tmp, "sym.onnx")
        xs = rng.standard_normal((4, 2, 17, 17)).astype(np.float32)
        export(Sym(), xs, sym)
        _, p0 = adx.logits(sym, xs)
        _, p1 = adx.logits(sym, xs[..., ::-1].copy())
        verdict(float(np.max(np.abs(p0 - p1))) <= 1e-5, "A5 precondition: the plain output is flip-invariant")
        masks = []
        for _ in range(3):
            m = np.full((17, 17), 255, np.uint8)
            h, w = rng.integers(3, 10, size=2)
            y0, x0 = rng.integers(0, 17 - h), rng.integers(0, 17 - w)
            m[y0:y0 + h, x0:x0 + w] = 0
            masks.append(m)
        for v in ALL:
            worst = 0.0
            for m in masks:
                _, a = adx.logits(sym, xs, v, m)
                _, b = adx.logits(sym, xs[..., ::-1].copy(), v, m[:, ::-1].copy())
                worst = max(worst, float(np.max(np.abs(a - b))))
            verdict(worst <= 1e-5, f"A5 {v}: AD of the flipped image and mask equals AD of the original "
                                   f"(max diff {worst:.2g})")

        # small boxes count, on the fixture model and image a new user would try first
        model = os.path.join(data, "fashion_resnet.onnx")
        img = os.path.join(data, "img", "fashion_0.png")
        pre = ["--mean", "0.2860", "--std", "0.3530"]
        base = subprocess.run([exe, "predict", "--model", model, *pre, "--logits", img], capture_output=True,
                              text=True, check=True)
        l0 = np.array(json.loads(base.stdout)["logits"])
        for (y, x0) in ((13, 13), (6, 10), (20, 16)):
            m = np.full((28, 28), 255, np.uint8)
            m[y:y + 2, x0:x0 + 2] = 0
            png = os.path.join(tmp, "box.png")
            write_png_grey(png, m)
            out = subprocess.run([exe, "predict", "--model", model, *pre, "--logits", "--mode", "ad", "--mask", png,
                                  img], capture_output=True, text=True, check=True)
            d = float(np.max(np.abs(np.array(json.loads(out.stdout)["logits"]) - l0)))
            verdict(d > 1e-3, f"small box: hiding the 2x2 box at ({y},{x0}) under the default 'ad' changes the "
                              f"logits (max |dlogit| = {d:.3g})")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
