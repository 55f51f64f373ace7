#!/usr/bin/python3
"""Independent reference implementation of adx's Activation-Deactivation (AD) forward pass, in PyTorch.

It reads an ONNX model with the `onnx` package and runs it with torch.nn.functional in float64,
carrying a visibility mask per channel, [B,C,H,W] (1 = active), through the network as docs/ad.md
defines it. A variant is "ad:RULE:POOL:RENORM:AT" (parts left out take the defaults ratio:0.5, all,
none, every):
  * isolation (RENORM none|partial): the graph input is multiplied by its mask, so hidden pixels are
    absent (0); deactivated positions are 0 wherever a value is zeroed, so a window reads them as absent:
    Conv gets no contribution (partial: the sum before the bias is scaled by total / visible weight),
    MaxPool leaves them out (0 when nothing is left), AveragePool leaves them out of the count.
    RENORM leak (adx 0.x): the input is read as it is and pools read zeros as values;
  * window operators (Conv, MaxPool, AveragePool) deactivate a position under the rule, from the
    hidden weight h and total n of its window (box convolutions: Conv sums over all input channels,
    pools work per channel; padding counts neither way, a window wholly in the padding stays active);
  * pointwise operators pass the mask on; Add/Sub/Mul/Div multiply the masks of their masked inputs;
    Concat concatenates them (an unmasked input is all ones); constant Pad pads the mask with ones;
  * AT every: every masked output is multiplied by its mask; AT checkpoints: only values read by a
    strided window or by an operator that ends the spatial part (global pooling, Flatten, Gemm ...).
    A window reads its input as absent only where that input was zeroed (or is the isolated input);
  * GlobalAveragePool: 'all' = plain mean, 'active' = sum / active positions per channel (0 if none);
  * anything else (Flatten, Gemm, ...) ends the mask.
It shares no code with adx. Used by tests/integration/test_ad_torch.sh (scripts/check_ad_torch.py).

usage: ad_reference.py MODEL.onnx INPUT.npy MASKS.npy VARIANT OUT.npy
  INPUT [B,C,H,W] float32, MASKS [B,H,W] uint8 (nonzero = visible); writes logits [B,classes] float32.
"""
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

WINDOW = ("Conv", "MaxPool", "AveragePool")
POINTWISE = ("Relu", "LeakyRelu", "Sigmoid", "Clip", "HardSigmoid", "HardSwish", "Tanh", "BatchNormalization",
             "Dropout", "Identity")
SPATIAL_END = ("GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "Flatten", "Reshape", "Gemm", "MatMul",
               "Transpose")


def parse_variant(v):
    parts = v.split(":")
    assert parts[0] == "ad", v
    parts = parts[1:]
    if parts and parts[0] == "ratio" and len(parts) > 1 and (parts[1][:1].isdigit() or parts[1][:1] == "."):
        rule, parts = "ratio:" + parts[1], parts[2:]
    elif parts:
        rule, parts = parts[0], parts[1:]
    else:
        rule = "ratio:0.5"
    if rule == "ratio":
        rule = "ratio:0.5"
    rest = parts + [None] * (3 - len(parts))
    return rule, rest[0] or "all", rest[1] or "none", rest[2] or "every"


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def deactivate(hidden, total, rule):
    if rule == "strict":
        off = hidden > 0
    elif rule == "loose":
        off = hidden >= total
    else:
        off = hidden > float(rule.split(":")[1]) * total
    return off & (hidden > 0) & (total > 0)


def box(x, k, s, pads, d, per_channel):
    """Sum of x over each window (zero padding). per_channel: one output channel per input channel."""
    pt, pl, pb, pr = pads
    xp = F.pad(x, (pl, pr, pt, pb))
    C = x.shape[1]
    if per_channel:
        ker = torch.ones(C, 1, k[0], k[1], dtype=torch.float64)
        return F.conv2d(xp, ker, stride=s, dilation=d, groups=C)
    ker = torch.ones(1, C, k[0], k[1], dtype=torch.float64)
    return F.conv2d(xp, ker, stride=s, dilation=d)


def window_geometry(op, a, w=None):
    k = list(w.shape[2:]) if op == "Conv" else list(a["kernel_shape"])
    s = list(a.get("strides", [1, 1]))
    d = list(a.get("dilations", [1, 1]))
    p = list(a.get("pads", [0, 0, 0, 0]))
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise SystemExit("ad_reference.py: auto_pad is not implemented here")
    return k, s, (p[0], p[1], p[2], p[3]), d


def run(model_path, x, masks, variant):
    rule, pool, renorm, at = parse_variant(variant)
    model = onnx.load(model_path)
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    inp = model.graph.input[0].name
    xin = torch.from_numpy(x).double()
    m0 = torch.from_numpy((masks != 0).astype(np.float64))[:, None].expand(-1, xin.shape[1], -1, -1).clone()
    isolate = renorm != "leak"
    env[inp] = xin * m0 if isolate else xin
    mk = {inp: m0}
    zeroed = {inp: isolate}  # deactivated positions of the value hold 0 and read as absent
    # checkpoints: values read by a strided window or by an operator that ends the spatial part
    checkpoint = set()
    for node in model.graph.node:
        a = attrs(node)
        if (node.op_type in WINDOW and max(a.get("strides", [1, 1])) > 1) or node.op_type in SPATIAL_END:
            checkpoint.update(i for i in node.input if i)
    for node in model.graph.node:
        a = attrs(node)
        ins = [env[i] if i else None for i in node.input]
        m_in = [mk.get(i) for i in node.input]
        op = node.op_type
        out, m_out = None, None
        absent = m_in and m_in[0] is not None and isolate and zeroed.get(node.input[0], False)
        if op == "Conv":
            w = ins[1].double()
            b = ins[2].double() if len(ins) > 2 and ins[2] is not None else None
            k, s, p, d = window_geometry(op, a, w)
            xp = F.pad(ins[0], (p[1], p[3], p[0], p[2]))
            out = F.conv2d(xp, w, None, stride=s, dilation=d, groups=a.get("group", 1))
            if m_in[0] is not None:
                h = box(1.0 - m_in[0], k, s, p, d, False)
                n = box(torch.ones_like(m_in[0]), k, s, p, d, False)
                act = (~deactivate(h, n, rule)).double()
                if absent and renorm == "partial":
                    scale = torch.where((h > 0) & (act > 0), n / (n - h).clamp(min=1e-300), torch.ones_like(n))
                    out = out * scale
                m_out = act.expand(-1, out.shape[1], -1, -1)
            if b is not None:
                out = out + b.view(1, -1, 1, 1)
        elif op in ("MaxPool", "AveragePool"):
            k, s, p, d = window_geometry(op, a)
            ceil = bool(a.get("ceil_mode", 0))
            if ceil:
                raise SystemExit("ad_reference.py: ceil_mode is not implemented here")
            xv = ins[0]
            if op == "MaxPool":
                if absent:
                    xv = torch.where(m_in[0] > 0, xv, torch.full_like(xv, -float("inf")))
                xp = F.pad(xv, (p[1], p[3], p[0], p[2]), value=-float("inf"))
                out = F.max_pool2d(xp, k, s, dilation=d)
                if absent:  # windows with in-bounds inputs, all absent: 0
                    seen = box(torch.ones_like(m_in[0]), k, s, p, d, True)
                    out = torch.where(torch.isinf(out) & (seen > 0), torch.zeros_like(out), out)
            else:
                ones = torch.ones_like(xv)
                if a.get("count_include_pad", 0):
                    cnt = F.conv2d(F.pad(ones[:, :1], (p[1], p[3], p[0], p[2]), value=1.0),
                                   torch.ones(1, 1, k[0], k[1], dtype=torch.float64), stride=s, dilation=d)
                    cnt = cnt.expand(-1, xv.shape[1], -1, -1)
                else:
                    cnt = box(ones, k, s, p, d, True)
                if absent:
                    cnt = cnt - box(1.0 - m_in[0], k, s, p, d, True)
                    xv = xv * m_in[0]
                tot = box(xv, k, s, p, d, True)
                out = torch.where(cnt > 0, tot / cnt.clamp(min=1), torch.zeros_like(tot))
            if m_in[0] is not None:
                h = box(1.0 - m_in[0], k, s, p, d, True)
                n = box(torch.ones_like(m_in[0]), k, s, p, d, True)
                m_out = (~deactivate(h, n, rule)).double()
        elif op == "BatchNormalization":
            sc, bb, mean, var = [t.double() for t in ins[1:5]]
            eps = a.get("epsilon", 1e-5)
            shp = (1, -1, 1, 1)
            out = (ins[0] - mean.view(shp)) / torch.sqrt(var.view(shp) + eps) * sc.view(shp) + bb.view(shp)
            m_out = m_in[0]
        elif op == "Relu":
            out, m_out = torch.relu(ins[0]), m_in[0]
        elif op == "Clip":
            lo = ins[1].item() if len(ins) > 1 and ins[1] is not None else a.get("min", -float("inf"))
            hi = ins[2].item() if len(ins) > 2 and ins[2] is not None else a.get("max", float("inf"))
            out, m_out = torch.clamp(ins[0], lo, hi), m_in[0]
        elif op == "Sigmoid":
            out, m_out = torch.sigmoid(ins[0]), m_in[0]
        elif op in ("Add", "Sub", "Mul", "Div"):
            fn = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}[op]
            out = fn(ins[0].double(), ins[1].double())
            ms = [m for m, v in zip(m_in, ins) if m is not None and v.shape[2:] == out.shape[2:]]
            if ms:
                m_out = ms[0] if len(ms) == 1 else ms[0] * ms[1]
                m_out = m_out.expand(out.shape).clone()
        elif op == "Concat":
            out = torch.cat(ins, dim=a.get("axis", 1))
            if a.get("axis", 1) in (1, -3) and any(m is not None for m in m_in):
                m_out = torch.cat([m if m is not None else torch.ones_like(v) for m, v in zip(m_in, ins)], dim=1)
        elif op == "Pad":
            mode = a.get("mode", b"constant")
            pads = [int(v) for v in ins[1]] if len(ins) > 1 and ins[1] is not None else list(a["pads"])
            val = ins[2].item() if len(ins) > 2 and ins[2] is not None else a.get("value", 0.0)
            if mode not in (b"constant", "constant") or any(pads[i] for i in (0, 1, 4, 5)):
                raise SystemExit("ad_reference.py: only constant Pad of H and W is implemented here")
            t, l, b_, r = pads[2], pads[3], pads[6], pads[7]
            out = F.pad(ins[0], (l, r, t, b_), value=val)
            if m_in[0] is not None:
                m_out = F.pad(m_in[0], (l, r, t, b_), value=1.0)
        elif op in ("GlobalAveragePool", "ReduceMean"):
            if op == "ReduceMean" and sorted(a.get("axes", [])) not in ([2, 3], [-2, -1]):
                raise SystemExit("ad_reference.py: ReduceMean over other axes than H,W")
            keep = a.get("keepdims", 1) if op == "ReduceMean" else 1
            if m_in[0] is not None and pool == "active":
                cnt = m_in[0].sum(dim=(2, 3), keepdim=True)
                tot = ins[0].sum(dim=(2, 3), keepdim=True)
                out = torch.where(cnt > 0, tot / cnt.clamp(min=1), torch.zeros_like(tot))
            else:
                out = ins[0].mean(dim=(2, 3), keepdim=True)
            if not keep:
                out = out.flatten(1)
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
        elif op == "Constant":
            out = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
        elif op == "Unsqueeze":
            axes = a.get("axes") or [int(v) for v in ins[1]]
            out = ins[0]
            for ax in sorted(axes):
                out = out.unsqueeze(ax)
        elif op == "MatMul":
            out = ins[0].double() @ ins[1].double()
        else:
            raise SystemExit(f"ad_reference.py: operator {op} not implemented here")
        name = node.output[0]
        if m_out is not None:
            if at == "every" or name in checkpoint:
                out = out * m_out
                zeroed[name] = True
            elif op == "Concat" or op == "Pad":
                zeroed[name] = all(zeroed.get(i, True) for i, m in zip(node.input, m_in) if m is not None)
            else:
                zeroed[name] = False
            mk[name] = m_out
        env[name] = out
    return env[model.graph.output[0].name].float().numpy()


def main():
    if len(sys.argv) != 6:
        raise SystemExit(__doc__)
    model, xin, min_, variant, outp = sys.argv[1:]
    x = np.load(xin).astype(np.float32)
    masks = np.load(min_)
    np.save(outp, run(model, x, masks, variant))


if __name__ == "__main__":
    main()
