#!/usr/bin/python3
"""Check adx against PyTorch on torchvision models exported by scripts/make_zoo.py (not in the repo).

For every ONNX file in build/zoo (or DIR): `adx predict --logits` on the shared input must match
PyTorch's logits (max |diff| <= 1e-4 * max(1, max|logit|)), and AD must keep A1 (all visible: logits
bit-identical to plain), A2 (strict rule: noise in the hidden region changes nothing), and AD on a small
visible box must give the same bits with Conv crops (ADX_AD_BAND=1, the default) as with whole layers (0),
and one image at a time on 2 threads (each Conv's output rows split in bands across the threads) must give
the bits of the batch of 2.
Then incremental fill and AD queries (src/engine/incr.c) against the full recomputation on the families
present of resnet18, mobilenet_v2 (depthwise convs), squeezenet1_1 (channel Concat), densenet121 and vgg11:
the cmocka binary tests/engine/test_incremental in its zoo mode (ADX_INCR_TEST, default
build/release/tests/engine/test_incremental), bit for bit on the oneDNN path (fill within 1e-5 of the logit
scale with the same top-1 elsewhere).
usage: check_zoo.py [DIR]
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_ad_torch import write_png_grey  # noqa: E402

ADX = os.environ.get("ADX", "bin/adx")


def predict(model, x_path, extra=(), env=None, batch="2"):
    out = subprocess.run([ADX, "predict", "--model", model, "--logits", "--batch", batch, *extra, x_path],
                         capture_output=True, text=True, env=None if env is None else {**os.environ, **env})
    if out.returncode:
        raise RuntimeError(out.stderr.strip())
    return np.array([json.loads(l)["logits"] for l in out.stdout.splitlines()], np.float32), out.stderr


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "build/zoo"
    files = sorted(f for f in os.listdir(d) if f.endswith(".onnx"))
    x = np.load(os.path.join(d, "input_224.npy"))
    bad = 0
    with tempfile.TemporaryDirectory() as t:
        xp = os.path.join(t, "x.npy")
        np.save(xp, x)
        m = np.zeros((224, 224), np.uint8)
        m[40:150, 60:200] = 255
        mp, ap = os.path.join(t, "m.png"), os.path.join(t, "all.png")
        write_png_grey(mp, m)
        write_png_grey(ap, np.full((224, 224), 255, np.uint8))
        small = np.zeros((224, 224), np.uint8)  # a small visible box: AD computes crops of each Conv
        small[100:140, 30:90] = 255
        sp = os.path.join(t, "small.png")
        write_png_grey(sp, small)
        noisy = x.copy()
        rng = np.random.default_rng(0)
        noisy[:, :, m == 0] = rng.normal(0, 3, size=noisy[:, :, m == 0].shape)
        npth = os.path.join(t, "noisy.npy")
        np.save(npth, noisy)
        for f in files:
            name = f.split("_op")[0].replace("_bn", "")
            ref = np.load(os.path.join(d, f"{name}_logits.npy"))
            try:
                got, _ = predict(os.path.join(d, f), xp)
                err = float(np.max(np.abs(got - ref)))
                tol = 1e-4 * max(1.0, float(np.max(np.abs(ref))))
                ad_all, _ = predict(os.path.join(d, f), xp, ["--mode", "ad", "--mask", ap])
                a1 = np.array_equal(ad_all, got)
                s1, warn = predict(os.path.join(d, f), xp, ["--mode", "ad", "--ad-rule", "strict", "--mask", mp])
                s2, _ = predict(os.path.join(d, f), npth, ["--mode", "ad", "--ad-rule", "strict", "--mask", mp])
                a2 = np.array_equal(s1, s2)
                # crops (ADX_AD_BAND=1, the default) against whole layers: the same bits
                c1, _ = predict(os.path.join(d, f), xp, ["--mode", "ad", "--mask", sp], {"ADX_AD_BAND": "1"})
                c0, _ = predict(os.path.join(d, f), xp, ["--mode", "ad", "--mask", sp], {"ADX_AD_BAND": "0"})
                crop = np.array_equal(c0, c1)
                # one image at a time on 2 threads (each Conv's rows split in bands): the batch's bits
                b1, _ = predict(os.path.join(d, f), xp, ["-t", "2"], batch="1")
                rows = np.array_equal(b1, got)
                ok = err <= tol and a1 and a2 and crop and rows
                fb = "fallback" if "warning" in warn else "followed"
                print(f"{'ok  ' if ok else 'FAIL'} {f:34s} max|adx-torch| {err:.2e} (tol {tol:.1e})  A1 {a1}  A2 {a2}  crops {crop}  batch-1 rows {rows}  AD {fb}")
                bad += not ok
            except RuntimeError as e:
                print(f"FAIL {f:34s} {e}")
                bad += 1
    nbad_incr, nincr = incremental(d)
    print(f"{len(files) + nincr - bad - nbad_incr} passed, {bad + nbad_incr} failed")
    sys.exit(1 if bad or nbad_incr else 0)


INCR_FAMILIES = ["resnet18", "mobilenet_v2", "squeezenet1_1", "densenet121", "vgg11"]


def incremental(d):
    """Incremental vs full fill queries on the zoo families present: (failures, checks)."""
    test = os.environ.get("ADX_INCR_TEST", "build/release/tests/engine/test_incremental")
    models = [os.path.join(d, f"{m}_op13.onnx") for m in INCR_FAMILIES]
    models = [m for m in models if os.path.exists(m)]
    if not models:
        return 0, 0
    if not os.path.exists(test):
        print(f"FAIL incremental: {test} is not built (make {test})")
        return 1, 1
    env = dict(os.environ, ADX_INCR_ZOO=",".join(models), ADX_INCR_ZOO_INPUT=os.path.join(d, "input_224.npy"))
    out = subprocess.run([test], capture_output=True, text=True, env=env)
    lines = [l for l in (out.stdout + out.stderr).splitlines() if "conv samples" in l or "worst" in l
             or "ERROR" in l]
    ok = out.returncode == 0
    print(f"{'ok  ' if ok else 'FAIL'} incremental fill and AD queries on {len(models)} families")
    for l in lines:
        print("     " + l.strip())
    return (0 if ok else 1), 1


if __name__ == "__main__":
    main()
