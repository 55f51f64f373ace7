#!/usr/bin/python3
"""Export randomly initialised torchvision models to ONNX for LOCAL cross-checking of adx.

Nothing here is committed and nothing is downloaded (weights=None everywhere). Needs Debian's
Python with python3-torchvision (0.14.x):

    /usr/bin/python3 scripts/make_zoo.py [--out build/zoo] [--models a,b,...] [--size 224]
                                         [--batch 2] [--keep-bn] [--seed N]

For every model it writes, under --out:
  <model>_op<N>.onnx       export at opset 13 (resnet18 also at opset 9 and 17)
  <model>_bn_op13.onnx     with --keep-bn: BatchNormalization kept instead of folded into Conv
  <model>_logits.npy       float32 (batch,1000) eval-mode PyTorch logits for the shared input
  input_<size>.npy         float32 (batch,3,size,size), seeded N(0,1), shared by all models
  manifest.json            model -> files, opsets, op types, export failures

BatchNorm: weights are random but the BN layers would be identities (gamma 1, beta 0, mean 0,
var 1), which would hide Conv/BN folding mistakes. So each BN gets a seeded random affine
(gamma ~ U(0.5,1.5), beta ~ N(0,0.1)), then a few random batches run in train mode with a
cumulative-average momentum so the running statistics are real, and the model is put in eval().
"""
import argparse
import json
import os
import sys
import time
import traceback
import zlib

import numpy as np
import onnx
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ALL_MODELS = ["resnet18", "vgg11", "mobilenet_v2", "mobilenet_v3_small", "squeezenet1_1",
              "densenet121", "googlenet", "shufflenet_v2_x0_5", "efficientnet_b0", "mnasnet0_5",
              "regnet_x_400mf", "convnext_tiny", "alexnet", "resnext50_32x4d", "efficientnet_v2_s",
              "regnet_y_400mf", "mobilenet_v3_large"]
EXTRA_OPSETS = {"resnet18": [9, 17], "convnext_tiny": [17]}
DEFAULT_OPSET = 13


def build(tvm, name):
    if name == "googlenet":
        return tvm.googlenet(weights=None, aux_logits=False, init_weights=True)
    return getattr(tvm, name)(weights=None)


@torch.no_grad()
def calibrate_bn(model, size, gen, batches=4, batch=4):
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        if bn.affine:
            bn.weight.copy_(torch.rand(bn.weight.shape, generator=gen) + 0.5)
            bn.bias.copy_(torch.randn(bn.bias.shape, generator=gen) * 0.1)
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the calibration batches
    if bns:
        model.train()
        for _ in range(batches):
            model(torch.randn(batch, 3, size, size, generator=gen))
        for bn in bns:
            bn.momentum = 0.1
    model.eval()
    return len(bns)


def op_counts(m):
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    return ops


def export(model, x, path, opset, keep_bn=False):
    kw = {"training": torch.onnx.TrainingMode.PRESERVE} if keep_bn else {}
    torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"],
                      output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True, **kw)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "zoo"))
    ap.add_argument("--models", default=",".join(ALL_MODELS))
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep-bn", action="store_true", help="also export <model>_bn_op13.onnx")
    args = ap.parse_args()

    try:
        import torchvision
        import torchvision.models as tvm
    except ImportError:
        print("make_zoo: torchvision is not importable; apt-get install python3-torchvision",
              file=sys.stderr)
        return 2

    import warnings
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)

    gen = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.batch, 3, args.size, args.size, generator=gen)
    in_name = f"input_{args.size}.npy"
    np.save(os.path.join(args.out, in_name), x.numpy().astype(np.float32))

    manifest_path = os.path.join(args.out, "manifest.json")
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    manifest.update({"torch": torch.__version__, "torchvision": torchvision.__version__,
                     "seed": args.seed, "input": in_name, "input_shape": list(x.shape)})
    manifest.setdefault("models", {})

    rows, failures = [], []
    for name in [m for m in args.models.split(",") if m]:
        t0 = time.time()
        entry = {"exports": {}, "failures": {}}
        try:
            torch.manual_seed(args.seed + zlib.crc32(name.encode()) % 100000)
            model = build(tvm, name)
            mgen = torch.Generator().manual_seed(args.seed + 1 + zlib.crc32(name.encode()) % 100000)
            entry["bn_layers"] = calibrate_bn(model, args.size, mgen)
            with torch.no_grad():
                logits = model(x).numpy().astype(np.float32)
            np.save(os.path.join(args.out, f"{name}_logits.npy"), logits)
            entry["logits"] = f"{name}_logits.npy"
            entry["params"] = int(sum(p.numel() for p in model.parameters()))
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            failures.append((name, "build", repr(e)))
            entry["failures"]["build"] = repr(e)
            manifest["models"][name] = entry
            continue

        jobs = [(DEFAULT_OPSET, False)] + [(o, False) for o in EXTRA_OPSETS.get(name, [])]
        if args.keep_bn and entry["bn_layers"]:
            jobs.append((DEFAULT_OPSET, True))
        for opset, keep_bn in jobs:
            fname = f"{name}{'_bn' if keep_bn else ''}_op{opset}.onnx"
            tag = fname[:-5]
            try:
                m = export(model, x, os.path.join(args.out, fname), opset, keep_bn)
                ops = op_counts(m)
                entry["exports"][fname] = {"opset": opset, "keep_bn": keep_bn, "op_types": ops}
                rows.append((tag, opset, ops))
            except Exception as e:  # noqa: BLE001
                msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else repr(e)
                failures.append((name, f"opset {opset}{' keep-bn' if keep_bn else ''}", msg))
                entry["failures"][fname] = msg
        entry["seconds"] = round(time.time() - t0, 1)
        manifest["models"][name] = entry
        print(f"{name}: done in {entry['seconds']}s", flush=True)

    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")

    w = max([len(r[0]) for r in rows] + [5])
    print(f"\n{'model':<{w}}  opset  op types")
    for tag, opset, ops in rows:
        print(f"{tag:<{w}}  {opset:>5}  " + " ".join(f"{k}:{v}" for k, v in sorted(ops.items())))
    if failures:
        print("\nFAILED:")
        for name, what, msg in failures:
            print(f"  {name} ({what}): {msg}")
    print(f"\nwrote {args.out}/ ({len(rows)} ONNX files, {len(failures)} failures)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
