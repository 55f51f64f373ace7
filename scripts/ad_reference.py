#!/usr/bin/python3
"""Independent reference implementation of adx's Activation-Deactivation (AD) forward pass, in PyTorch.

It reads an ONNX model with the `onnx` package and runs it with torch.nn.functional, carrying a
visibility mask [B,1,H,W] (1 = active) through the network as docs/ad.md defines it:
  * window operators (Conv, MaxPool, AveragePool): hidden fraction of each receptive-field window,
    counted over in-bounds positions with a box convolution, decides deactivation under the rule;
  * pointwise operators pass the mask; Add/Sub/Mul/Div of two masked values AND their masks;
  * every masked output is multiplied by its mask (deactivated positions are zero);
  * GlobalAveragePool: 'all' = plain mean, 'active' = sum / number of active positions (0 if none);
  * anything else (Flatten, Gemm, ...) ends the mask.
It shares no code with adx. Used by tests/integration/test_ad_torch.sh.

usage: ad_reference.py MODEL.onnx INPUT.npy MASKS.npy RULE POOL OUT.npy
  INPUT [B,C,H,W] float32, MASKS [B,H,W] uint8 (nonzero = visible), RULE strict|loose|ratio:T,
  POOL all|active; writes logits [B,classes] float32.
"""
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def deactivate(hidden, total, rule):
    if rule == "strict":
        return hidden > 0
    if rule == "loose":
        return (hidden >= total) & (hidden > 0)
    t = float(rule.split(":")[1])
    return (hidden > t * total) & (hidden > 0)


def window_mask(mask, k, s, pads, d, rule):
    """Propagate a [B,1,H,W] mask through a window of kernel k, strides s, pads (t,l,b,r), dilations d."""
    hidden = 1.0 - mask
    ones = torch.ones_like(mask)
    ker = torch.ones(1, 1, k[0], k[1], dtype=torch.float64)
    pt, pl, pb, pr = pads
    hp = F.pad(hidden, (pl, pr, pt, pb))
    op = F.pad(ones, (pl, pr, pt, pb))
    h = F.conv2d(hp, ker, stride=s, dilation=d)
    n = F.conv2d(op, ker, stride=s, dilation=d)
    return (~deactivate(h, n, rule)).to(torch.float64) * (n > 0) + (n == 0).to(torch.float64)


def run(model_path, x, masks, rule, pool):
    model = onnx.load(model_path)
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    inp = model.graph.input[0].name
    env[inp] = torch.from_numpy(x).double()
    mk = {inp: torch.from_numpy((masks != 0).astype(np.float64))[:, None]}
    for node in model.graph.node:
        a = attrs(node)
        ins = [env[i] if i else None for i in node.input]
        m_in = [mk.get(i) for i in node.input]
        op = node.op_type
        out, m_out = None, None
        if op == "Conv":
            w = ins[1].double()
            b = ins[2].double() if len(ins) > 2 and ins[2] is not None else None
            k = list(w.shape[2:])
            s = a.get("strides", [1, 1])
            d = a.get("dilations", [1, 1])
            p = a.get("pads", [0, 0, 0, 0])
            xin = F.pad(ins[0], (p[1], p[3], p[0], p[2]))
            out = F.conv2d(xin, w, b, stride=s, dilation=d, groups=a.get("group", 1))
            if m_in[0] is not None:
                m_out = window_mask(m_in[0], k, s, (p[0], p[1], p[2], p[3]), d, rule)
        elif op in ("MaxPool", "AveragePool"):
            k = a["kernel_shape"]
            s = a.get("strides", [1, 1])
            p = a.get("pads", [0, 0, 0, 0])
            if op == "MaxPool":
                xin = F.pad(ins[0], (p[1], p[3], p[0], p[2]), value=-float("inf"))
                out = F.max_pool2d(xin, k, s, ceil_mode=bool(a.get("ceil_mode", 0)))
            else:
                xin = F.pad(ins[0], (p[1], p[3], p[0], p[2]))
                out = F.avg_pool2d(xin, k, s, ceil_mode=bool(a.get("ceil_mode", 0)))
            if m_in[0] is not None:
                m_out = window_mask(m_in[0], k, s, (p[0], p[1], p[2], p[3]), [1, 1], rule)
        elif op == "BatchNormalization":
            sc, bb, mean, var = [t.double() for t in ins[1:5]]
            eps = a.get("epsilon", 1e-5)
            shp = (1, -1, 1, 1)
            out = (ins[0] - mean.view(shp)) / torch.sqrt(var.view(shp) + eps) * sc.view(shp) + bb.view(shp)
            m_out = m_in[0]
        elif op == "Relu":
            out, m_out = torch.relu(ins[0]), m_in[0]
        elif op in ("Add", "Sub", "Mul", "Div"):
            fn = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}[op]
            out = fn(ins[0].double(), ins[1].double())
            ms = [m for m in m_in if m is not None]
            if ms:
                m_out = ms[0] if len(ms) == 1 else ms[0] * ms[1]
        elif op == "GlobalAveragePool":
            if m_in[0] is not None and pool == "active":
                cnt = m_in[0].sum(dim=(2, 3), keepdim=True)
                tot = ins[0].sum(dim=(2, 3), keepdim=True)
                out = torch.where(cnt > 0, tot / cnt.clamp(min=1), torch.zeros_like(tot))
            else:
                out = ins[0].mean(dim=(2, 3), keepdim=True)
        elif op == "Flatten":
            out = torch.flatten(ins[0], a.get("axis", 1))
        elif op == "Reshape":
            shape = [int(v) for v in ins[1]]
            if shape[0] in (0, 1) and ins[0].shape[0] != 1:
                shape[0] = ins[0].shape[0]
            out = ins[0].reshape(shape)
        elif op == "Gemm":
            A, B = ins[0].double(), ins[1].double()
            if a.get("transA", 0):
                A = A.t()
            if a.get("transB", 0):
                B = B.t()
            out = a.get("alpha", 1.0) * A @ B
            if len(ins) > 2 and ins[2] is not None:
                out = out + a.get("beta", 1.0) * ins[2].double()
        elif op in ("Dropout", "Identity"):
            out, m_out = ins[0], m_in[0]
        else:
            raise SystemExit(f"ad_reference.py: operator {op} not implemented here")
        if m_out is not None:
            out = out * m_out
            mk[node.output[0]] = m_out
        env[node.output[0]] = out
    return env[model.graph.output[0].name].float().numpy()


def main():
    if len(sys.argv) != 7:
        raise SystemExit(__doc__)
    model, xin, min_, rule, pool, outp = sys.argv[1:]
    x = np.load(xin).astype(np.float32)
    masks = np.load(min_)
    np.save(outp, run(model, x, masks, rule, pool))


if __name__ == "__main__":
    main()
