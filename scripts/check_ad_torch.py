#!/usr/bin/python3
"""Cross-check adx's AD forward pass against the independent PyTorch implementation (ad_reference.py).

Runs `adx predict --mode ad:RULE:POOL:RENORM:AT --mask M.png --logits` and compares the logits with
ad_reference.run() at 1e-4, on:
  * the fixture models (fashion_resnet, fashion_vgg) over their 32 reference inputs, every variant;
  * a small model made here that holds what the fixtures lack: a 3-channel input, Concat, constant Pad,
    Mul and Add with a one-sided broadcast (a squeeze-excitation gate), MaxPool, AveragePool with and
    without count_include_pad, Sigmoid, and global pooling under --ad-pool active;
  * three torchvision families with random weights (ResNet-18, MobileNetV2, DenseNet-121) at 64x64,
    when python3-torchvision is present (ADX_REQUIRE_TORCHVISION=1 makes its absence a failure).
Fails if any case differs by more than 1e-4. Used by tests/integration/test_ad_torch.sh.
"""
import itertools
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ad_reference  # noqa: E402

TOL = 1e-4
# Under ASan+UBSan (make check-asan, ADX_SANITIZED) the subject is adx's memory safety on these code paths,
# not the grid again: every variant of every model runs once, on one of the masks in turn, with 9 of the
# inputs; the release run (make check-integration) checks the whole grid, and the torchvision families.
SANITIZED = bool(os.environ.get("ADX_SANITIZED"))


def write_png_grey(path, img):
    h, w = img.shape
    raw = b"".join(b"\x00" + img[y].astype(np.uint8).tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw)))
        f.write(chunk(b"IEND", b""))


def rect_masks(rng, n, h, w):
    out = []
    for _ in range(n):
        mh, mw = rng.integers(h // 4, 3 * h // 4, size=2)
        y0, x0 = rng.integers(0, h - mh + 1), rng.integers(0, w - mw + 1)
        m = np.zeros((h, w), np.uint8)
        m[y0:y0 + mh, x0:x0 + mw] = 255
        out.append(m)
    # a scatter of small holes, as ReX's finest boxes make
    m = np.full((h, w), 255, np.uint8)
    for _ in range(6):
        y, x = rng.integers(0, h - 2), rng.integers(0, w - 2)
        m[y:y + 2, x:x + 2] = 0
    out.append(m)
    return out


class Mixed(nn.Module):
    """The operators AD handles that the fixtures do not hold, on a 3-channel input."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 6, 3, padding=1)
        self.b = nn.Conv2d(3, 4, 5, stride=2, padding=2)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.c = nn.Conv2d(10, 8, 3, padding=1)
        self.pad = nn.ConstantPad2d((1, 2, 1, 0), 0.5)
        self.d = nn.Conv2d(8, 8, 3, groups=2)
        self.avg1 = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        self.avg2 = nn.AvgPool2d(2, stride=2, padding=1, count_include_pad=True)
        self.se = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        a = self.pool(torch.relu(self.a(x)))  # 24 -> 12
        b = torch.relu(self.b(x))  # 24 -> 12
        y = torch.relu(self.c(torch.cat([a, b], 1)))
        y = self.d(self.pad(y))  # 12 -> 13x15 -> 11x13
        y = torch.sigmoid(self.avg1(y)) + y
        y = self.avg2(y)
        gate = torch.sigmoid(self.se(y.mean(dim=(2, 3), keepdim=True)))
        y = y * gate + 0.25 * y
        return self.fc(y.mean(dim=(2, 3)))


def export(model, x, path, opset=13):
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, torch.from_numpy(x), path, opset_version=opset, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          do_constant_folding=True)


def randomise_bn(model, seed):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.weight.data = 0.5 + torch.rand(n, generator=g)
            m.bias.data = 0.1 * torch.randn(n, generator=g)
            m.running_mean = 0.1 * torch.randn(n, generator=g)
            m.running_var = 0.5 + torch.rand(n, generator=g)


def adx_logits(adx, model, variant, png, xin):
    out = subprocess.run([adx, "predict", "--model", model, "--mode", variant, "--mask", png, "--logits", "--batch",
                          "8", xin], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"adx predict failed on {model} {variant}: {out.stderr}")
    return np.array([json.loads(line)["logits"] for line in out.stdout.splitlines()], np.float32)


def check(adx, tmp, name, model, x, masks, variants, tally):
    xin = os.path.join(tmp, f"{name}_x.npy")
    if SANITIZED:  # 9 inputs: a full batch of 8 and a partial one
        x = x[:9]
    np.save(xin, x)
    for k, m in enumerate(masks):
        png = os.path.join(tmp, f"{name}_m{k}.png")
        write_png_grey(png, m)
        for i, v in enumerate(variants):
            if SANITIZED and (i + i // len(masks)) % len(masks) != k:  # every variant once, on the masks in turn
                continue
            got = adx_logits(adx, model, v, png, xin)
            ref = ad_reference.run(model, x, np.repeat(m[None], len(x), 0), v)
            d = float(np.max(np.abs(got - ref)))
            tally["worst"] = max(tally["worst"], d)
            tally["cases"] += 1
            ok = d <= TOL
            if not ok or k == 0:
                print(f"{'ok' if ok else 'FAIL'} {name} {v} mask={k}: max|adx-torch| = {d:.3g}"
                      f" (logits up to {float(np.max(np.abs(ref))):.3g})")
            if not ok:
                tally["failed"] += 1


def all_variants(rules, pools=("all", "active"), renorms=("none", "partial", "leak"), ats=("every", "checkpoints")):
    return [f"ad:{r}:{p}:{n}:{a}" for r, p, n, a in itertools.product(rules, pools, renorms, ats)]


def main():
    adx = os.environ.get("ADX", "bin/adx")
    data = os.environ.get("ADX_TEST_DATA", "tests/data")
    rng = np.random.default_rng(2024)
    tally = {"worst": 0.0, "cases": 0, "failed": 0}
    torch.manual_seed(7)
    with tempfile.TemporaryDirectory() as tmp:
        x = np.load(os.path.join(data, "fashion_test32_input.npy")).astype(np.float32)
        masks = rect_masks(rng, 1, 28, 28)
        check(adx, tmp, "fashion_resnet", os.path.join(data, "fashion_resnet.onnx"), x, masks,
              all_variants(("ratio:0.5", "strict", "loose")), tally)
        check(adx, tmp, "fashion_vgg", os.path.join(data, "fashion_vgg.onnx"), x, masks[:1],
              all_variants(("ratio:0.5", "strict", "loose"), pools=("all",)), tally)
        # the operators the fixtures lack, 3 channels
        mixed = os.path.join(tmp, "mixed.onnx")
        xm = rng.standard_normal((4, 3, 24, 24)).astype(np.float32)
        export(Mixed(), xm, mixed, opset=9)  # opset 9: Pad keeps its pads as an attribute
        check(adx, tmp, "mixed", mixed, xm, rect_masks(rng, 1, 24, 24),
              all_variants(("ratio:0.5", "strict", "loose", "ratio:0.25")), tally)
        try:
            if os.environ.get("ADX_SANITIZED"):  # the release run covers them; under ASan they take minutes
                raise ImportError("not under ASan")
            import torchvision
        except ImportError:
            if os.environ.get("ADX_REQUIRE_TORCHVISION") == "1" and not os.environ.get("ADX_SANITIZED"):
                raise SystemExit("python3-torchvision is missing: the torchvision cross-check cannot run")
            print("torchvision families not checked here (python3-torchvision missing, or under ASan)")
            torchvision = None
        if torchvision is not None:
            xt = rng.standard_normal((2, 3, 64, 64)).astype(np.float32)
            tv_masks = rect_masks(rng, 1, 64, 64)
            tv_masks[0] = 255 - tv_masks[0]  # a hidden rectangle: a visible one would leave 64 px nets nothing
            tv_variants = ["ad", "ad:ratio:0.5:all:partial:every", "ad:strict:active:none:every",
                           "ad:loose:all:partial:checkpoints", "ad:ratio:0.5:active:none:checkpoints",
                           "ad:ratio:0.5:all:leak:every"]
            for i, fam in enumerate(("resnet18", "mobilenet_v2", "densenet121")):
                net = getattr(torchvision.models, fam)(weights=None)
                randomise_bn(net, 100 + i)
                path = os.path.join(tmp, f"{fam}.onnx")
                export(net, xt, path)
                check(adx, tmp, fam, path, xt, tv_masks, tv_variants, tally)
    print(f"{tally['cases'] - tally['failed']} passed, {tally['failed']} failed (worst {tally['worst']:.3g})")
    if tally["failed"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
