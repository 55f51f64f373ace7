#!/usr/bin/python3
"""Cross-check adx's AD forward pass against the independent PyTorch implementation (ad_reference.py).

For each fixture model, rule and pooling, and a few random rectangular masks, runs
`adx predict --mode ad --mask M.png --logits` on the 32 reference inputs and compares the logits
with ad_reference.run(). Fails if any differs by more than 1e-4. Used by tests/integration/test_ad_torch.sh.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ad_reference  # noqa: E402


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


def main():
    adx = os.environ.get("ADX", "bin/adx")
    data = os.environ.get("ADX_TEST_DATA", "tests/data")
    x = np.load(os.path.join(data, "fashion_test32_input.npy")).astype(np.float32)
    rng = np.random.default_rng(2024)
    masks = []
    for _ in range(3):
        h, w = rng.integers(8, 22, size=2)
        y0, x0 = rng.integers(0, 28 - h + 1), rng.integers(0, 28 - w + 1)
        m = np.zeros((28, 28), np.uint8)
        m[y0:y0 + h, x0:x0 + w] = 255
        masks.append(m)
    worst, cases = 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        xin = os.path.join(tmp, "x.npy")
        np.save(xin, x)
        for model in ("fashion_resnet.onnx", "fashion_vgg.onnx"):
            mpath = os.path.join(data, model)
            for rule in ("ratio:0.5", "strict", "loose"):
                for pool in ("all", "active"):
                    for k, m in enumerate(masks):
                        png = os.path.join(tmp, f"m{k}.png")
                        write_png_grey(png, m)
                        out = subprocess.run([adx, "predict", "--model", mpath, "--mode", "ad", "--ad-rule", rule,
                                              "--ad-pool", pool, "--mask", png, "--logits", "--batch", "8", xin],
                                             capture_output=True, text=True)
                        if out.returncode != 0:
                            raise SystemExit(f"adx predict failed: {out.stderr}")
                        got = np.array([json.loads(line)["logits"] for line in out.stdout.splitlines()], np.float32)
                        ref = ad_reference.run(mpath, x, np.repeat(m[None], len(x), 0), rule, pool)
                        d = float(np.max(np.abs(got - ref)))
                        worst = max(worst, d)
                        cases += 1
                        status = "ok" if d <= 1e-4 else "FAIL"
                        print(f"{status} {model} rule={rule} pool={pool} mask={k}: max|adx-torch| = {d:.3g}")
                        if d > 1e-4:
                            raise SystemExit(1)
    print(f"{cases} passed, 0 failed (worst {worst:.3g})")


if __name__ == "__main__":
    main()
