#!/usr/bin/python3
"""Train two small Fashion-MNIST CNNs and write adx's committed test fixtures.

Run with Debian's Python (it has torch, numpy and onnx):

    /usr/bin/python3 scripts/make_fixtures.py        # or: make fixtures

Outputs (all under tests/data/):
  fashion_resnet.onnx        ResNet-style model, default eval export (torch folds BN into Conv)
  fashion_resnet_bn.onnx     the same weights, exported with BatchNormalization nodes kept
  fashion_vgg.onnx           VGG-style model (Conv/ReLU/MaxPool, Flatten -> Gemm)
  fashion_test32_images.npy  uint8 (32,28,28)     raw pixels of t10k images 0..31
  fashion_test32_input.npy   float32 (32,1,28,28) preprocessed input as the models see it
  fashion_test32_labels.npy  int64 (32,)
  fashion_resnet_logits.npy  float32 (32,10)      PyTorch eval-mode logits
  fashion_vgg_logits.npy     float32 (32,10)
  fashion_png8_pixels.npy    uint8 (8,28,28)      pixels decoded back from img/fashion_{0..7}.png
  img/fashion_{0..7}.png     8-bit greyscale 28x28 PNGs of t10k images 0..7
  fixtures.json              preprocessing, class names, accuracies, training settings

Every ONNX file carries its preprocessing in metadata_props (preprocess.scale, preprocess.mean,
preprocess.std, in the syntax of a config file's [preprocess] keys): adx reads them when no flag or
config key says otherwise. --metadata-only writes just these keys into the committed models (their
graphs and weights are left as they are):

    /usr/bin/python3 scripts/make_fixtures.py --metadata-only

The script is deterministic (fixed seeds, 2 threads). Each exported ONNX file is checked with
onnx.checker and re-evaluated by a small numpy interpreter against the PyTorch logits.

--textured makes only the second, textured dataset and its model (the files above are not touched):

    /usr/bin/python3 scripts/make_fixtures.py --textured

  Every Fashion-MNIST item (uint8, black background) is laid over a 28x28 grey crop of a photograph
  shipped with python3-skimage (TEXTURE_PHOTOS, read from SKIMAGE_DATA with PIL, converted to grey
  with PIL's "L" luma). Per image, with a numpy Generator seeded by TEX_SEED (train) or TEX_SEED + 1
  (t10k), in this order:
    1. a texture: one of the photos, at full size or halved (2x2 box average), uniformly (24 choices);
    2. a position: a uniform random 28x28 crop of it, drawn again until the crop's standard deviation
       is at least TEX_MIN_STD (0..255 units), so that every background has real contrast;
    3. a left-right flip with probability 1/2, then an up-down flip with probability 1/2.
  The composite is  out = a * item + (1 - a) * crop,  a = min(1, item / TEX_ALPHA_T)  per pixel
  (float32, rounded half up to uint8): item pixels >= TEX_ALPHA_T are opaque, the faint edges and
  the black background let the texture through. The same photos serve train and test (different
  crops). No constant value looks like this background, unlike plain Fashion-MNIST's black.
  Training uses one thread (TEX_THREADS) and the same seeded, deterministic set-up as above.

  Outputs:
    build/textured/textured-{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz   the whole composited
        sets (not committed; --build DIR writes elsewhere)
    tests/data/datasets/textured-t10k-{images-idx3,labels-idx1}-ubyte.gz      t10k items 0..999
    tests/data/textured_resnet.onnx       FashionResNet trained on the 60000 textured train images
    tests/data/textured_test32_images.npy uint8 (32,28,28), _input.npy float32 (32,1,28,28),
        _labels.npy int64 (32,); textured_resnet_logits.npy float32 (32,10) PyTorch logits
    fixtures.json "textured": recipe, preprocessing (mean/std of the textured train set in [0,1],
        rounded to 4 decimals), accuracies (t10k items 0..999 and all 10000)

Ground truth (issue 13), each flag making only its own files (docs/textured-dataset.md, docs/motif-dataset.md):

    /usr/bin/python3 scripts/make_fixtures.py --textured-masks    # silhouettes of the textured set
    /usr/bin/python3 scripts/make_fixtures.py --textured-offset   # items at random offsets, 40x40, + model
    /usr/bin/python3 scripts/make_fixtures.py --motif             # 8x8 motifs on 32x32 textures, + model
    /usr/bin/python3 scripts/make_fixtures.py --motif-fill        # only the motif fill experiment

  A masks file sits beside each images file: <prefix>-masks-idx3-ubyte.gz next to
  <prefix>-images-idx3-ubyte.gz, IDX unsigned bytes (N,H,W) like the images, 1 = object pixel. The rules
  are in the docstrings of textured_masks, composite_offset, make_motif and motif_fill_experiment.
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time
import warnings
import zlib

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "/usr/share/datasets/fashion-mnist"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data")

SEED = 20240607
THREADS = 2
MEAN = 0.2860
STD = 0.3530
SCALE = 1.0 / 255.0
N_REF = 32
N_PNG = 8
OPSET = 13
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
MIN_ACC = 0.90

# Training settings per model: epochs, batch size, OneCycle max learning rate, weight decay.
TRAIN = {
    "resnet": dict(epochs=4, batch=128, max_lr=0.01, wd=1e-4),
    "vgg": dict(epochs=4, batch=128, max_lr=0.002, wd=1e-4),
    "textured_resnet": dict(epochs=4, batch=128, max_lr=0.01, wd=1e-4),
    "textured_offset_resnet": dict(epochs=4, batch=128, max_lr=0.01, wd=1e-4),
    "motif_resnet": dict(epochs=4, batch=128, max_lr=0.01, wd=1e-4),
}

# The textured dataset (--textured): see the module docstring for the compositing rule.
SKIMAGE_DATA = "/usr/lib/python3/dist-packages/skimage/data"
# Photographs and natural textures with enough local contrast at 28x28 (PNG only: no JPEG decoder
# differences). Left out: moon, cell, clock_motion (too flat), hubble_deep_field, retina (mostly black).
TEXTURE_PHOTOS = ["astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "coins.png",
                  "grass.png", "gravel.png", "ihc.png", "motorcycle_left.png", "page.png", "text.png"]
TEX_SEED = 20240907
TEX_ALPHA_T = 64.0      # item pixels >= this are opaque
TEX_MIN_STD = 20.0      # minimum standard deviation of a background crop, 0..255 units
TEX_SUBSET = 1000       # t10k items committed under tests/data/datasets/
TEX_MIN_ACC = 0.80
# One training thread: on the shared 2-core machine (load 5-7) an epoch took 250-650 s with two
# threads and 110 s with one.
TEX_THREADS = 1
TEX_BUILD = os.path.join(ROOT, "build", "textured")


# ----------------------------------------------------------------------------- data

def read_idx(path):
    """Parse a gzipped IDX file (ubyte data) into a numpy array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: size mismatch")
    return data.reshape(dims).copy()


def load_split(split):
    imgs = read_idx(os.path.join(DATA_DIR, f"{split}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATA_DIR, f"{split}-labels-idx1-ubyte.gz")).astype(np.int64)
    return imgs, labels


def preprocess(imgs_u8, mean=MEAN, std=STD):
    """uint8 (N,28,28) -> float32 (N,1,28,28): pixel/255, then (x - mean)/std, in float32."""
    x = imgs_u8.astype(np.float32) * np.float32(SCALE)
    x = (x - np.float32(mean)) / np.float32(std)
    return x[:, None, :, :].astype(np.float32)


# ----------------------------------------------------------------------------- models

class BasicBlock(nn.Module):
    """Conv-BN-ReLU-Conv-BN + shortcut (identity or 1x1 conv-BN), Add, ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x if self.shortcut is None else self.shortcut(x)
        return F.relu(out + sc)


class FashionResNet(nn.Module):
    def __init__(self, ncls=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.layer1 = BasicBlock(16, 16, 1)   # 28x28, identity shortcut
        self.layer2 = BasicBlock(16, 32, 2)   # 28 -> 14, projection shortcut
        self.layer3 = BasicBlock(32, 64, 2)   # 14 -> 7, projection shortcut
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, ncls)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


class FashionVGG(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU(),
            nn.MaxPool2d(2),                       # 28 -> 14
            nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(),
            nn.MaxPool2d(2),                       # 14 -> 7
        )
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.flatten(self.features(x), 1)
        return self.fc2(self.drop(F.relu(self.fc1(x))))


MODELS = {"resnet": FashionResNet, "vgg": FashionVGG, "textured_resnet": FashionResNet,
          "textured_offset_resnet": FashionResNet, "motif_resnet": lambda: FashionResNet(MOTIF_NCLS)}


# ----------------------------------------------------------------------------- training

def train(name, xtr, ytr, seed):
    cfg = TRAIN[name]
    torch.manual_seed(seed)
    model = MODELS[name]()
    opt = torch.optim.Adam(model.parameters(), lr=cfg["max_lr"], weight_decay=cfg["wd"])
    n = xtr.shape[0]
    steps = (n + cfg["batch"] - 1) // cfg["batch"]
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["max_lr"], epochs=cfg["epochs"],
                                                steps_per_epoch=steps)
    gen = torch.Generator().manual_seed(seed + 1)
    t0 = time.time()
    for ep in range(cfg["epochs"]):
        model.train()
        perm = torch.randperm(n, generator=gen)
        tot, correct = 0.0, 0
        for i in range(steps):
            idx = perm[i * cfg["batch"]:(i + 1) * cfg["batch"]]
            xb, yb = xtr[idx], ytr[idx]
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * xb.shape[0]
            correct += (out.argmax(1) == yb).sum().item()
        print(f"  [{name}] epoch {ep + 1}/{cfg['epochs']}: loss {tot / n:.4f} "
              f"train acc {correct / n:.4f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    return model, time.time() - t0


@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], batch):
        correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct


# ----------------------------------------------------------------------------- ONNX

def export(model, path, keep_bn=False, hw=(28, 28)):
    dummy = torch.zeros(2, 1, *hw)
    kw = {}
    if keep_bn:
        # In EVAL mode torch 1.13 always fuses Conv+BN (onnx eval peephole pass), whatever
        # do_constant_folding says. PRESERVE on a model in eval() skips that pass and emits
        # inference-mode BatchNormalization (running statistics, no training_mode attribute).
        kw["training"] = torch.onnx.TrainingMode.PRESERVE
        # torch warns about constant folding in PRESERVE mode; it only matters for a model in
        # train() mode, and this one is in eval().
        warnings.filterwarnings("ignore", message="It is recommended that constant folding")
    model.eval()
    torch.onnx.export(model, dummy, path, opset_version=OPSET, input_names=["input"],
                      output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True, **kw)
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    return m


# the preprocessing of each committed model, as text in the syntax of a config file's [preprocess] keys
PREPROCESS_META = {
    "fashion_resnet.onnx": ("1/255", f"{MEAN:.4f}", f"{STD:.4f}"),
    "fashion_resnet_bn.onnx": ("1/255", f"{MEAN:.4f}", f"{STD:.4f}"),
    "fashion_vgg.onnx": ("1/255", f"{MEAN:.4f}", f"{STD:.4f}"),
}


def set_preprocess_metadata(path, scale, mean, std):
    """Record the preprocessing in the model's metadata_props (replacing earlier preprocess.* keys);
    the graph and the weights are not touched."""
    m = onnx.load(path)
    keep = [(p.key, p.value) for p in m.metadata_props if not p.key.startswith("preprocess.")]
    del m.metadata_props[:]
    for k, v in keep + [("preprocess.scale", scale), ("preprocess.mean", mean), ("preprocess.std", std)]:
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    return m


def main_metadata_only(out):
    fx = json.load(open(os.path.join(out, "fixtures.json")))
    tex = fx.get("textured", {}).get("preprocessing")
    meta = dict(PREPROCESS_META)
    if tex:
        meta["textured_resnet.onnx"] = ("1/255", f"{tex['mean'][0]:.4f}", f"{tex['std'][0]:.4f}")
    for fname, (scale, mean, std) in meta.items():
        path = os.path.join(out, fname)
        if os.path.exists(path):
            set_preprocess_metadata(path, scale, mean, std)
            print(f"{path}: preprocess.scale {scale}, preprocess.mean {mean}, preprocess.std {std}")
    return 0


def op_counts(m):
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    return ops


def _pads(attrs, nd):
    p = attrs.get("pads", [0] * (2 * nd))
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("auto_pad")
    return p


def _conv(x, w, b, attrs):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    g = attrs.get("group", 1)
    sh, sw = attrs.get("strides", [1, 1])
    dh, dw = attrs.get("dilations", [1, 1])
    pt, pl, pb, pr = _pads(attrs, 2)
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, m, oh, ow), dtype=np.float64)
    mg = m // g
    for gi in range(g):
        xs = xp[:, gi * cg:(gi + 1) * cg]
        ws = w[gi * mg:(gi + 1) * mg].astype(np.float64)
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
                y[:, gi * mg:(gi + 1) * mg] += np.einsum("nchw,mc->nmhw", patch, ws[:, :, i, j])
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def _maxpool(x, attrs):
    kh, kw = attrs["kernel_shape"]
    sh, sw = attrs.get("strides", [1, 1])
    pt, pl, pb, pr = _pads(attrs, 2)
    if attrs.get("ceil_mode", 0) or attrs.get("dilations", [1, 1]) != [1, 1]:
        raise NotImplementedError("MaxPool ceil_mode/dilations")
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=-np.inf)
    oh = (x.shape[2] + pt + pb - kh) // sh + 1
    ow = (x.shape[3] + pl + pr - kw) // sw + 1
    y = np.full(x.shape[:2] + (oh, ow), -np.inf)
    for i in range(kh):
        for j in range(kw):
            y = np.maximum(y, xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw])
    return y


def run_onnx_numpy(m, x):
    """Tiny float64 reference interpreter for the ops these fixtures use."""
    env = {t.name: onnx.numpy_helper.to_array(t).astype(np.float64) for t in m.graph.initializer}
    env[m.graph.input[0].name] = x.astype(np.float64)
    for node in m.graph.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in node.attribute}
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            y = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
        elif op == "BatchNormalization":
            xx, s, bb, mean, var = ins
            sh = (1, -1, 1, 1)
            y = (xx - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + a.get("epsilon", 1e-5)) \
                * s.reshape(sh) + bb.reshape(sh)
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op in ("Identity", "Dropout"):
            y = ins[0]
        elif op == "GlobalAveragePool":
            y = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == "MaxPool":
            y = _maxpool(ins[0], a)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == "Gemm":
            aa = ins[0].T if a.get("transA", 0) else ins[0]
            bm = ins[1].T if a.get("transB", 0) else ins[1]
            y = a.get("alpha", 1.0) * aa @ bm
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get("beta", 1.0) * ins[2]
        else:
            raise NotImplementedError(f"numpy reference: op {op}")
        env[node.output[0]] = y
    return env[m.graph.output[0].name]


# ----------------------------------------------------------------------------- PNG

def write_png_gray8(path, img):
    """Write an 8-bit greyscale, non-interlaced PNG (filter type 0 on every row)."""
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w = img.shape

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff)

    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))
    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9))
           + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


def read_png_gray8(path):
    """Decode an 8-bit greyscale non-interlaced PNG (all five row filters)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        ln, = struct.unpack(">I", data[pos:pos + 4])
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + ln]
        crc, = struct.unpack(">I", data[pos + 8 + ln:pos + 12 + ln])
        assert crc == zlib.crc32(tag + body) & 0xffffffff, "bad CRC"
        if tag == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif tag == b"IDAT":
            idat += body
        pos += 12 + ln
    w, h, depth, ctype, _, _, interlace = hdr
    assert depth == 8 and ctype == 0 and interlace == 0
    raw = zlib.decompress(idat)
    out = np.zeros((h, w), dtype=np.uint8)
    prev = np.zeros(w, dtype=np.int32)
    for r in range(h):
        ft = raw[r * (w + 1)]
        line = np.frombuffer(raw, np.uint8, w, r * (w + 1) + 1).astype(np.int32)
        cur = np.zeros(w, dtype=np.int32)
        for c in range(w):
            left = cur[c - 1] if c else 0
            up = prev[c]
            ul = prev[c - 1] if c else 0
            if ft == 0:
                pred = 0
            elif ft == 1:
                pred = left
            elif ft == 2:
                pred = up
            elif ft == 3:
                pred = (left + up) // 2
            else:
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else ul)
            cur[c] = (line[c] + pred) & 0xff
        out[r] = cur
        prev = cur
    return out


# ----------------------------------------------------------------------------- textured dataset

def _box2(g):
    """Halve a grey image by 2x2 box averaging (an odd last row/column is dropped)."""
    h, w = (g.shape[0] // 2) * 2, (g.shape[1] // 2) * 2
    return g[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3), dtype=np.float64).astype(np.float32)


def load_textures():
    """The texture sources: every photo of TEXTURE_PHOTOS in grey, at full size and halved."""
    from PIL import Image  # only this mode needs PIL (python3-pil, a dependency of python3-skimage)
    out = []
    for name in TEXTURE_PHOTOS:
        path = os.path.join(SKIMAGE_DATA, name)
        if not os.path.exists(path):
            raise SystemExit(f"{path}: missing (install python3-skimage: scripts/install-deps.sh --with-python)")
        with Image.open(path) as im:
            g = np.asarray(im.convert("L"), dtype=np.float32)
        out += [g, _box2(g)]
    return out


def composite(items_u8, textures, seed):
    """Lay each uint8 28x28 item over a random textured crop (rule: module docstring) -> uint8."""
    rng = np.random.default_rng(seed)
    n, h, w = items_u8.shape
    bg = np.empty((n, h, w), dtype=np.float32)
    for i in range(n):
        t = textures[rng.integers(len(textures))]
        while True:
            y = rng.integers(0, t.shape[0] - h + 1)
            x = rng.integers(0, t.shape[1] - w + 1)
            crop = t[y:y + h, x:x + w]
            if crop.std(dtype=np.float64) >= TEX_MIN_STD:
                break
        if rng.integers(2):
            crop = crop[:, ::-1]
        if rng.integers(2):
            crop = crop[::-1, :]
        bg[i] = crop
    item = items_u8.astype(np.float32)
    a = np.minimum(np.float32(1), item / np.float32(TEX_ALPHA_T))
    out = a * item + (np.float32(1) - a) * bg
    return np.floor(out + np.float32(0.5)).clip(0, 255).astype(np.uint8)


def idx_bytes(arr):
    """An unsigned-byte IDX file's bytes for a uint8 array."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    return struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + arr.tobytes()


def write_idx_gz(path, arr):
    """Gzipped IDX with a zero timestamp and no file name in the header: the same bytes on every run."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(gzip.compress(idx_bytes(arr), compresslevel=9, mtime=0))
    assert np.array_equal(read_idx(path), arr)


def main_textured(out, build):
    name = "textured_resnet"
    seed = TEX_SEED + 100
    torch.set_num_threads(TEX_THREADS)
    t_all = time.time()
    tr_img, tr_lab = load_split("train")
    te_img, te_lab = load_split("t10k")
    textures = load_textures()
    print(f"textures: {len(TEXTURE_PHOTOS)} photos x 2 scales from {SKIMAGE_DATA}", flush=True)
    tr_tex = composite(tr_img, textures, TEX_SEED)
    te_tex = composite(te_img, textures, TEX_SEED + 1)
    for split, imgs, labs in (("train", tr_tex, tr_lab), ("t10k", te_tex, te_lab)):
        write_idx_gz(os.path.join(build, f"textured-{split}-images-idx3-ubyte.gz"), imgs)
        write_idx_gz(os.path.join(build, f"textured-{split}-labels-idx1-ubyte.gz"), labs.astype(np.uint8))
    print(f"wrote the composited sets under {build} ({time.time() - t_all:.0f}s)", flush=True)
    sub_img = os.path.join(out, "datasets", "textured-t10k-images-idx3-ubyte.gz")
    sub_lab = os.path.join(out, "datasets", "textured-t10k-labels-idx1-ubyte.gz")
    write_idx_gz(sub_img, te_tex[:TEX_SUBSET])
    write_idx_gz(sub_lab, te_lab[:TEX_SUBSET].astype(np.uint8))
    # the silhouettes (issue 13; --textured-masks writes only these and records their statistics)
    write_idx_gz(os.path.join(build, "textured-train-masks-idx3-ubyte.gz"), textured_masks(tr_img))
    write_idx_gz(os.path.join(build, "textured-t10k-masks-idx3-ubyte.gz"), textured_masks(te_img))
    write_idx_gz(os.path.join(out, "datasets", "textured-t10k-masks-idx3-ubyte.gz"),
                 textured_masks(te_img[:TEX_SUBSET]))

    # Statistics of the textured training set in [0,1] units; the model is trained with them rounded.
    v = tr_tex.astype(np.float64) / 255.0
    pix_mean, pix_std = float(v.mean()), float(v.std())
    mean, std = round(pix_mean, 4), round(pix_std, 4)
    bg = tr_img == 0
    print(f"textured train set: mean {pix_mean:.5f} std {pix_std:.5f} -> --mean {mean:.4f} --std {std:.4f}; "
          f"background pixels (item 0): mean {v[bg].mean():.4f}, min {v[bg].min():.4f}, max {v[bg].max():.4f}")
    del v

    xtr, ytr = torch.from_numpy(preprocess(tr_tex, mean, std)), torch.from_numpy(tr_lab)
    xte, yte = torch.from_numpy(preprocess(te_tex, mean, std)), torch.from_numpy(te_lab)
    ref_u8 = te_tex[:N_REF].copy()
    ref_x = preprocess(ref_u8, mean, std)
    assert np.array_equal(ref_x, xte[:N_REF].numpy())
    np.save(os.path.join(out, "textured_test32_images.npy"), ref_u8)
    np.save(os.path.join(out, "textured_test32_input.npy"), ref_x)
    np.save(os.path.join(out, "textured_test32_labels.npy"), te_lab[:N_REF].astype(np.int64))

    print(f"training {name} ...", flush=True)
    model, secs = train(name, xtr, ytr, seed)
    correct = evaluate(model, xte, yte)
    acc = correct / xte.shape[0]
    with torch.no_grad():
        sub_logits = model(xte[:TEX_SUBSET]).numpy()
    sub_pred = sub_logits.argmax(1)
    sub_correct = int((sub_pred == te_lab[:TEX_SUBSET]).sum())
    top2 = np.sort(sub_logits, axis=1)[:, -2:]
    margin = float((top2[:, 1] - top2[:, 0]).min())
    print(f"  [{name}] test accuracy {correct}/{xte.shape[0]} = {acc:.4f}; items 0..{TEX_SUBSET - 1}: "
          f"{sub_correct}/{TEX_SUBSET}; smallest top-1 margin there {margin:.2e}  (train {secs:.0f}s)")
    failed = acc < TEX_MIN_ACC
    if failed:
        print(f"  [{name}] ERROR: accuracy below {TEX_MIN_ACC}", file=sys.stderr)
    with torch.no_grad():
        logits = model(torch.from_numpy(ref_x)).numpy().astype(np.float32)
    np.save(os.path.join(out, f"{name}_logits.npy"), logits)
    fname = f"{name}.onnx"
    export(model, os.path.join(out, fname))
    m = set_preprocess_metadata(os.path.join(out, fname), "1/255", f"{mean:.4f}", f"{std:.4f}")
    ops = op_counts(m)
    err = float(np.abs(run_onnx_numpy(m, ref_x) - logits).max())
    print(f"  {fname}: {os.path.getsize(os.path.join(out, fname))} bytes, checker OK, "
          f"numpy-ONNX vs torch max|diff| {err:.2e}\n    ops: {ops}")
    if err > 1e-3:
        print(f"  ERROR: {fname} does not reproduce the torch logits", file=sys.stderr)
        failed = True

    fx_path = os.path.join(out, "fixtures.json")
    fixtures = {}
    if os.path.exists(fx_path):
        with open(fx_path) as f:
            fixtures = json.load(f)
    cfg = TRAIN[name]
    old_masks = fixtures.get("textured", {}).get("masks")  # --textured-masks' statistics, kept
    fixtures["textured"] = {
        "dataset": "Fashion-MNIST items composited onto grey crops of python3-skimage photographs",
        "generator": "/usr/bin/python3 scripts/make_fixtures.py --textured",
        "source": DATA_DIR,
        "textures": {"dir": SKIMAGE_DATA, "photos": TEXTURE_PHOTOS, "scales": [1, 0.5],
                     "min_crop_std": TEX_MIN_STD, "flips": "left-right p=0.5, up-down p=0.5"},
        "rule": f"out = a * item + (1 - a) * crop, a = min(1, item / {TEX_ALPHA_T:g}), rounded to uint8",
        "seeds": {"train": TEX_SEED, "t10k": TEX_SEED + 1},
        "train_pixel_mean": pix_mean,
        "train_pixel_std": pix_std,
        "preprocessing": {
            "scale": SCALE, "mean": [mean], "std": [std],
            "formula": "x = (pixel * scale - mean[c]) / std[c]",
            "layout": "NCHW", "dtype": "float32",
        },
        "subset": {
            "images": "datasets/textured-t10k-images-idx3-ubyte.gz",
            "labels": "datasets/textured-t10k-labels-idx1-ubyte.gz",
            "test_indices": [0, TEX_SUBSET - 1],
        },
        "reference": {
            "test_indices": [0, N_REF - 1],
            "images": "textured_test32_images.npy",
            "input": "textured_test32_input.npy",
            "labels": "textured_test32_labels.npy",
        },
        "models": {
            "resnet": {
                "onnx": fname,
                "logits": f"{name}_logits.npy",
                "subset_correct": sub_correct, "subset_total": TEX_SUBSET,
                "subset_min_top1_margin": margin,
                "test_correct": correct, "test_total": int(xte.shape[0]), "test_accuracy": acc,
                "ref32_correct": int((logits.argmax(1) == te_lab[:N_REF]).sum()),
                "epochs": cfg["epochs"], "batch_size": cfg["batch"],
                "optimizer": f"Adam(wd={cfg['wd']}) + OneCycleLR(max_lr={cfg['max_lr']})",
                "seed": seed,
                "params": int(sum(p.numel() for p in model.parameters())),
                "threads": TEX_THREADS,
                "op_types": {fname: ops},
            },
        },
        "torch_version": torch.__version__,
        "onnx_opset": OPSET,
    }
    if old_masks:
        fixtures["textured"]["masks"] = old_masks
    with open(fx_path, "w") as f:
        json.dump(fixtures, f, indent=2)
        f.write("\n")
    print(f"wrote {fx_path} (total {time.time() - t_all:.0f}s)")
    return 1 if failed else 0


# ----------------------------------------------------------------------------- ground truth (issue 13)
#
# --textured-masks: the silhouette of each item of the textured set (TEX_MASK_T, see the module docstring);
# --textured-offset: the items at random offsets on a larger textured canvas, with masks, and a model;
# --motif: small class motifs on natural textures, one class a flat patch, with masks, and a model.

# a = min(1, item / TEX_ALPHA_T): an item pixel >= TEX_ALPHA_T / 2 has a >= 1/2, so the item makes at least
# half of the composited pixel; fainter item pixels are mostly texture. The silhouette is where a >= 1/2.
TEX_MASK_T = 32
OFF_SIZE = 40           # the offset variant's canvas (OFF_SIZE x OFF_SIZE)
OFF_SEED = TEX_SEED + 20
OFF_MIN_ACC = 0.75
MOTIF_SIZE = 32         # the motif dataset's canvas
MOTIF_K = 8             # a motif is MOTIF_K x MOTIF_K pixels
MOTIF_SEED = TEX_SEED + 40
MOTIF_NTRAIN = 40000
MOTIF_NTEST = 10000
MOTIF_MIN_WIN_STD = 4.0  # every MOTIF_K x MOTIF_K window of a background crop has at least this std
MOTIF_MIN_CONTRAST = 96  # two-tone motifs: hi - lo >= this (0..255 units)
MOTIF_MIN_ACC = 0.90
MOTIF_BOX_FRAC = 0.25    # the fill experiment: a random box of this share of the image area
# The eight motif classes, then "none" (a background without a motif): a training-only class, so that the
# model does not learn "flat" as "no other motif" (without it, a motif hidden by any paste, even a texture,
# read as flat). The test sets hold only the eight motif classes; the model has nine outputs.
MOTIF_CLASSES = ["flat", "checker", "hstripes", "vstripes", "plus", "frame", "x", "triangle", "none"]
MOTIF_NCLS = len(MOTIF_CLASSES)
MOTIF_NONE = MOTIF_NCLS - 1
MOTIF_BUILD = os.path.join(ROOT, "build", "motif")


def motif_patterns():
    """The two-tone patterns, MOTIF_K x MOTIF_K, 1 = the light tone; class 0 (flat) is all ones."""
    k = MOTIF_K
    i, j = np.mgrid[0:k, 0:k]
    pats = [
        np.ones((k, k), bool),                         # flat: one uniform intensity
        ((i // 2) + (j // 2)) % 2 == 0,                # checker, 2x2 cells
        (i // 2) % 2 == 0,                             # horizontal stripes, 2 px
        (j // 2) % 2 == 0,                             # vertical stripes, 2 px
        (np.abs(2 * i - (k - 1)) <= 1) | (np.abs(2 * j - (k - 1)) <= 1),  # plus, 2 px arms
        (i < 2) | (i >= k - 2) | (j < 2) | (j >= k - 2),  # frame, 2 px border
        (i == j) | (i + j == k - 1),                   # x, 1 px diagonals
        i >= j,                                        # lower triangle
    ]
    return [p.astype(np.uint8) for p in pats]


def textured_masks(items_u8):
    """The silhouette of each item: 1 where item >= TEX_MASK_T (a >= 1/2), else 0."""
    return (items_u8 >= TEX_MASK_T).astype(np.uint8)


def _crop_positions_ok(t, size, min_std):
    """Bool map over the top-left corners (y, x) of size x size crops of t: the crop's std >= min_std."""
    t64 = t.astype(np.float64)
    ii = np.pad(t64, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    i2 = np.pad(t64 * t64, ((1, 0), (1, 0))).cumsum(0).cumsum(1)

    def box(a, s):
        return a[s:, s:] - a[:-s, s:] - a[s:, :-s] + a[:-s, :-s]

    n = size * size
    m = box(ii, size) / n
    v = np.maximum(box(i2, size) / n - m * m, 0)
    return np.sqrt(v) >= min_std


def _window_min_std(t, size, k):
    """Per crop corner (y, x) of size x size crops of t: the smallest std of the crop's k x k windows."""
    from numpy.lib.stride_tricks import sliding_window_view
    t64 = t.astype(np.float64)
    ii = np.pad(t64, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    i2 = np.pad(t64 * t64, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    n = k * k
    m = (ii[k:, k:] - ii[:-k, k:] - ii[k:, :-k] + ii[:-k, :-k]) / n
    v = (i2[k:, k:] - i2[:-k, k:] - i2[k:, :-k] + i2[:-k, :-k]) / n - m * m
    s = np.sqrt(np.maximum(v, 0))            # std of the k x k window at each corner
    w = size - k + 1                         # windows per crop side
    s = sliding_window_view(s, w, axis=0).min(axis=-1)
    return sliding_window_view(s, w, axis=1).min(axis=-1)


def _texture_crop(rng, textures, size, ok_maps=None):
    """One background: a source uniformly, then a uniform crop among the allowed ones, then the flips.
    ok_maps[s] (bool, per crop corner) restricts the crops of source s; None: the textured set's rule
    (redraw until the crop's std >= TEX_MIN_STD)."""
    t_i = rng.integers(len(textures))
    t = textures[t_i]
    if ok_maps is None:
        while True:
            y = rng.integers(0, t.shape[0] - size + 1)
            x = rng.integers(0, t.shape[1] - size + 1)
            crop = t[y:y + size, x:x + size]
            if crop.std(dtype=np.float64) >= TEX_MIN_STD:
                break
    else:
        ys, xs = ok_maps[t_i]
        p = rng.integers(len(ys))
        crop = t[ys[p]:ys[p] + size, xs[p]:xs[p] + size]
    if rng.integers(2):
        crop = crop[:, ::-1]
    if rng.integers(2):
        crop = crop[::-1, :]
    return crop


def _blend(item_f32, bg_f32):
    """The textured compositing rule (float32, rounded half up to uint8)."""
    a = np.minimum(np.float32(1), item_f32 / np.float32(TEX_ALPHA_T))
    out = a * item_f32 + (np.float32(1) - a) * bg_f32
    return np.floor(out + np.float32(0.5)).clip(0, 255).astype(np.uint8)


def composite_offset(items_u8, textures, seed, size=OFF_SIZE):
    """Each item's bounding box (pixels > 0) at a uniform random position on a size x size texture crop.
    Per image, in this order: the texture crop and flips as composite() draws them (at this size), then
    the top-left corner y, then x, each uniform in 0..size - box size. Returns (images, masks, corners)."""
    rng = np.random.default_rng(seed)
    n = items_u8.shape[0]
    imgs = np.empty((n, size, size), np.uint8)
    masks = np.zeros((n, size, size), np.uint8)
    corners = np.empty((n, 2), np.int64)
    for i in range(n):
        crop = _texture_crop(rng, textures, size).astype(np.float32)
        it = items_u8[i]
        rows, cols = np.nonzero(it.any(axis=1))[0], np.nonzero(it.any(axis=0))[0]
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        box = it[r0:r1, c0:c1]
        y = rng.integers(0, size - box.shape[0] + 1)
        x = rng.integers(0, size - box.shape[1] + 1)
        canvas = np.zeros((size, size), np.float32)
        canvas[y:y + box.shape[0], x:x + box.shape[1]] = box
        imgs[i] = _blend(canvas, crop)
        masks[i, y:y + box.shape[0], x:x + box.shape[1]] = textured_masks(box)
        corners[i] = (y, x)
    return imgs, masks, corners


def motif_crop_maps(textures, size=MOTIF_SIZE, k=MOTIF_K):
    """Per source, the allowed crop corners: crop std >= TEX_MIN_STD and every k x k window's std >=
    MOTIF_MIN_WIN_STD, so that no flat patch occurs in a background by chance."""
    maps = []
    for t in textures:
        ok = _crop_positions_ok(t, size, TEX_MIN_STD) & (_window_min_std(t, size, k) >= MOTIF_MIN_WIN_STD)
        ys, xs = np.nonzero(ok)
        maps.append((ys, xs))
    return maps


def make_motif(n, textures, maps, seed, size=MOTIF_SIZE, with_none=False):
    """n motif images. Per image, in this order: the class c uniform in 0..MOTIF_NCLS-2 (with_none: in
    0..MOTIF_NCLS-1, class MOTIF_NONE having no motif and an empty mask); the background
    crop and flips (_texture_crop with maps); the motif's top-left corner y, then x, uniform in
    0..size-MOTIF_K; the tones: for the flat class one intensity v uniform in 0..255, for the others a
    contrast d uniform in MOTIF_MIN_CONTRAST..255, then lo uniform in 0..255-d, hi = lo + d. The motif's
    pixels replace the background's (pattern 1 -> hi, 0 -> lo). Returns (images, labels, masks)."""
    rng = np.random.default_rng(seed)
    pats = motif_patterns()
    k = MOTIF_K
    imgs = np.empty((n, size, size), np.uint8)
    labels = np.empty(n, np.int64)
    masks = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        c = int(rng.integers(MOTIF_NCLS if with_none else MOTIF_NCLS - 1))
        crop = _texture_crop(rng, textures, size, maps)
        img = np.floor(crop + np.float32(0.5)).clip(0, 255).astype(np.uint8)
        y = int(rng.integers(0, size - k + 1))
        x = int(rng.integers(0, size - k + 1))
        if c == MOTIF_NONE:
            imgs[i], labels[i] = img, c
            continue
        if c == 0:
            v = int(rng.integers(0, 256))
            patch = np.full((k, k), v, np.uint8)
        else:
            d = int(rng.integers(MOTIF_MIN_CONTRAST, 256))
            lo = int(rng.integers(0, 256 - d))
            patch = np.where(pats[c] == 1, lo + d, lo).astype(np.uint8)
        img[y:y + k, x:x + k] = patch
        masks[i, y:y + k, x:x + k] = 1
        imgs[i] = img
        labels[i] = c
    return imgs, labels, masks


def gauss_blur_np(img, sigma):
    """Separable Gaussian blur with clamped borders, radius ceil(3 sigma) (adx's fill:blur, src/ad/fill.c),
    in float64."""
    rad = max(1, int(np.ceil(3 * sigma)))
    k = np.exp(-0.5 * np.arange(-rad, rad + 1) ** 2 / sigma ** 2)
    k /= k.sum()
    h, w = img.shape
    xi = np.clip(np.arange(w)[:, None] + np.arange(-rad, rad + 1)[None, :], 0, w - 1)
    yi = np.clip(np.arange(h)[:, None] + np.arange(-rad, rad + 1)[None, :], 0, h - 1)
    tmp = (img[:, xi] * k).sum(-1)
    return (tmp[yi, :] * k[None, :, None]).sum(1)


@torch.no_grad()
def motif_fill_experiment(model, te_u8, te_lab, te_masks, mean, std, seed):
    """What the model predicts when a random box of MOTIF_BOX_FRAC of a test image's area is filled (raw pixel
    space, as adx's fill modes: 0, the image's mean, its Gaussian blur with sigma 0.1 * min(H, W)), and, as
    a control that plants no flat patch, with the same box of the next test image whose box holds no motif
    pixel ("texture"). One box per image (numpy Generator seeded by seed: corner y, then x, uniform).
    Shares are given for the images of the other classes (all; box hitting / missing the motif) and for the
    flat class's own images whose motif the box covers entirely (the flat evidence hidden)."""
    rng = np.random.default_rng(seed)
    n, h, w = te_u8.shape
    bh, bw = int(round(h * np.sqrt(MOTIF_BOX_FRAC))), int(round(w * np.sqrt(MOTIF_BOX_FRAC)))
    raw = te_u8.astype(np.float64)
    boxes = np.zeros((n, h, w), bool)
    for j in range(n):
        y = rng.integers(0, h - bh + 1)
        x = rng.integers(0, w - bw + 1)
        boxes[j, y:y + bh, x:x + bw] = True
    obj = te_masks == 1
    hit = (boxes & obj).any(axis=(1, 2))
    covers = ((boxes & obj).sum(axis=(1, 2)) == obj.sum(axis=(1, 2)))
    donor = np.empty_like(raw)
    for j in range(n):
        d = (j + 1) % n
        while (obj[d] & boxes[j]).any():
            d = (d + 1) % n
        donor[j] = raw[d]
    sigma = 0.1 * min(h, w)
    variants = {
        "none": raw,
        "zero": np.where(boxes, 0.0, raw),
        "mean": np.where(boxes, raw.mean(axis=(1, 2), keepdims=True), raw),
        "blur": np.where(boxes, np.stack([gauss_blur_np(r, sigma) for r in raw]), raw),
        "texture": np.where(boxes, donor, raw),
    }
    other = te_lab != 0
    groups = {"other": other, "other_box_hits_motif": other & hit, "other_box_misses_motif": other & ~hit,
              "flat_box_covers_motif": ~other & covers}
    res = {"box": [bh, bw], "blur_sigma": sigma, "counts": {g: int(m.sum()) for g, m in groups.items()}}
    print(f"  fill experiment, {bh}x{bw} box; images: " + ", ".join(f"{g} {int(m.sum())}" for g, m in groups.items()))
    for name, v in variants.items():
        x = ((v.astype(np.float32) * np.float32(SCALE) - np.float32(mean)) / np.float32(std))[:, None]
        pred = np.concatenate([model(torch.from_numpy(x[i:i + 1000].astype(np.float32))).argmax(1).numpy()
                               for i in range(0, len(x), 1000)])
        r = {f"flat_share_{g}": float((pred[m] == 0).mean()) for g, m in groups.items()}
        r["true_class_share_other"] = float((pred[other] == te_lab[other]).mean())
        r.update({f"none_share_{g}": float((pred[m] == MOTIF_NONE).mean()) for g, m in groups.items()})
        res[name] = r
        print(f"  fill {name:7s}: flat predicted for {r['flat_share_other']:.3f} of the other classes' images "
              f"(box hits the motif {r['flat_share_other_box_hits_motif']:.3f}, misses it "
              f"{r['flat_share_other_box_misses_motif']:.3f}; true class kept {r['true_class_share_other']:.3f}); "
              f"flat images, motif covered: still flat {r['flat_share_flat_box_covers_motif']:.3f}; none predicted "
              f"(other, hit) {r['none_share_other']:.3f}, {r['none_share_other_box_hits_motif']:.3f}", flush=True)
    return res


def sha256(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def update_fixtures(out, key, value):
    """Set fixtures.json[key] = value under an exclusive lock (the modes may run in parallel)."""
    import fcntl
    fx_path = os.path.join(out, "fixtures.json")
    with open(fx_path + ".lock", "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        fixtures = {}
        if os.path.exists(fx_path):
            with open(fx_path) as f:
                fixtures = json.load(f)
        if callable(value):
            value(fixtures)
        else:
            fixtures[key] = value
        with open(fx_path + ".tmp", "w") as f:
            json.dump(fixtures, f, indent=2)
            f.write("\n")
        os.replace(fx_path + ".tmp", fx_path)
    os.unlink(fx_path + ".lock")
    return fx_path


def main_textured_masks(out, build):
    """Masks for the textured set: written beside the committed subset and the whole sets in build/.
    The images are composited again and compared byte for byte with the committed subset (sha256)."""
    t0 = time.time()
    tr_img, tr_lab = load_split("train")
    te_img, te_lab = load_split("t10k")
    sub_img = os.path.join(out, "datasets", "textured-t10k-images-idx3-ubyte.gz")
    committed = read_idx(sub_img)
    textures = load_textures()
    te_tex = composite(te_img, textures, TEX_SEED + 1)
    if not np.array_equal(te_tex[:TEX_SUBSET], committed):
        raise SystemExit(f"{sub_img}: the composited images differ from the committed file")
    old_sha = sha256(sub_img)
    tr_tex = composite(tr_img, textures, TEX_SEED)
    tr_mask, te_mask = textured_masks(tr_img), textured_masks(te_img)
    # the whole sets with their masks, as --textured writes them (images and labels the same bytes)
    _write_set(build, "textured-train", tr_tex, tr_lab, tr_mask)
    _write_set(build, "textured-t10k", te_tex, te_lab, te_mask)
    sub_mask = os.path.join(out, "datasets", "textured-t10k-masks-idx3-ubyte.gz")
    write_idx_gz(sub_mask, te_mask[:TEX_SUBSET])
    assert sha256(sub_img) == old_sha
    sub = te_mask[:TEX_SUBSET]
    area = sub.reshape(TEX_SUBSET, -1).sum(1)
    # how far the silhouettes are from the centre: the centroid distance, in pixels
    yy, xx = np.mgrid[0:28, 0:28]
    cy = (sub * yy).reshape(TEX_SUBSET, -1).sum(1) / np.maximum(area, 1)
    cx = (sub * xx).reshape(TEX_SUBSET, -1).sum(1) / np.maximum(area, 1)
    stats = {
        "rule": f"mask = item >= {TEX_MASK_T} (a = min(1, item / {TEX_ALPHA_T:g}) >= 1/2: the item is at least "
                "half of the composited pixel), computed on the Fashion-MNIST item before compositing",
        "generator": "/usr/bin/python3 scripts/make_fixtures.py --textured-masks",
        "subset": "datasets/textured-t10k-masks-idx3-ubyte.gz",
        "subset_images_sha256": old_sha,
        "subset_mask_pixels": int(area.sum()),
        "subset_mask_share": float(area.sum() / sub.size),
        "subset_mask_share_min_max": [float(area.min() / 784), float(area.max() / 784)],
        "subset_mask_centroid_mean_distance_to_centre": float(np.hypot(cy - 13.5, cx - 13.5).mean()),
        "t10k_mask_share": float(te_mask.mean()),
    }
    print(f"textured masks: committed subset {area.sum()} object pixels ({stats['subset_mask_share']:.4f} of "
          f"the pixels; per image {area.min()}..{area.max()}), whole t10k {te_mask.mean():.4f}; images sha256 "
          f"unchanged {old_sha[:16]}... ({time.time() - t0:.0f}s)")
    fx = update_fixtures(out, None, lambda f: f["textured"].__setitem__("masks", stats))
    print(f"wrote {sub_mask}, build masks under {build}, {fx}")
    return 0


def fit_export(name, prefix, tr_u8, tr_lab, te_u8, te_lab, out, mean, std, ncls, seed, min_acc):
    """Train MODELS[name] on tr_u8, evaluate, write the 32 reference inputs and PyTorch logits, export ONNX
    (with preprocess metadata) and check it with the numpy interpreter. Returns (model, entry, failed)."""
    hw = te_u8.shape[1:]
    xtr, ytr = torch.from_numpy(preprocess(tr_u8, mean, std)), torch.from_numpy(tr_lab)
    xte, yte = torch.from_numpy(preprocess(te_u8, mean, std)), torch.from_numpy(te_lab)
    ref_u8 = te_u8[:N_REF].copy()
    ref_x = preprocess(ref_u8, mean, std)
    assert np.array_equal(ref_x, xte[:N_REF].numpy())
    np.save(os.path.join(out, f"{prefix}_test32_images.npy"), ref_u8)
    np.save(os.path.join(out, f"{prefix}_test32_input.npy"), ref_x)
    np.save(os.path.join(out, f"{prefix}_test32_labels.npy"), te_lab[:N_REF].astype(np.int64))
    print(f"training {name} on {tuple(tr_u8.shape)} ...", flush=True)
    model, secs = train(name, xtr, ytr, seed)
    correct = evaluate(model, xte, yte)
    acc = correct / xte.shape[0]
    with torch.no_grad():
        sub_logits = model(xte[:TEX_SUBSET]).numpy()
    sub_correct = int((sub_logits.argmax(1) == te_lab[:TEX_SUBSET]).sum())
    top2 = np.sort(sub_logits, axis=1)[:, -2:]
    margin = float((top2[:, 1] - top2[:, 0]).min())
    print(f"  [{name}] test accuracy {correct}/{xte.shape[0]} = {acc:.4f}; items 0..{TEX_SUBSET - 1}: "
          f"{sub_correct}/{TEX_SUBSET}; smallest top-1 margin there {margin:.2e}  (train {secs:.0f}s)", flush=True)
    failed = acc < min_acc
    if failed:
        print(f"  [{name}] ERROR: accuracy below {min_acc}", file=sys.stderr)
    with torch.no_grad():
        logits = model(torch.from_numpy(ref_x)).numpy().astype(np.float32)
    np.save(os.path.join(out, f"{name}_logits.npy"), logits)
    fname = f"{name}.onnx"
    export(model, os.path.join(out, fname), hw=hw)
    m = set_preprocess_metadata(os.path.join(out, fname), "1/255", f"{mean:.4f}", f"{std:.4f}")
    ops = op_counts(m)
    err = float(np.abs(run_onnx_numpy(m, ref_x) - logits).max())
    print(f"  {fname}: {os.path.getsize(os.path.join(out, fname))} bytes, checker OK, "
          f"numpy-ONNX vs torch max|diff| {err:.2e}\n    ops: {ops}", flush=True)
    if err > 1e-3:
        print(f"  ERROR: {fname} does not reproduce the torch logits", file=sys.stderr)
        failed = True
    cfg = TRAIN[name]
    entry = {
        "onnx": fname, "logits": f"{name}_logits.npy", "classes": ncls,
        "subset_correct": sub_correct, "subset_total": TEX_SUBSET, "subset_min_top1_margin": margin,
        "test_correct": correct, "test_total": int(xte.shape[0]), "test_accuracy": acc,
        "ref32_correct": int((logits.argmax(1) == te_lab[:N_REF]).sum()),
        "epochs": cfg["epochs"], "batch_size": cfg["batch"],
        "optimizer": f"Adam(wd={cfg['wd']}) + OneCycleLR(max_lr={cfg['max_lr']})",
        "seed": seed, "params": int(sum(p.numel() for p in model.parameters())),
        "threads": TEX_THREADS, "train_seconds": round(secs), "op_types": {fname: ops},
    }
    return model, entry, failed


def _write_set(dirpath, prefix, imgs, labs, masks):
    write_idx_gz(os.path.join(dirpath, f"{prefix}-images-idx3-ubyte.gz"), imgs)
    write_idx_gz(os.path.join(dirpath, f"{prefix}-labels-idx1-ubyte.gz"), labs.astype(np.uint8))
    write_idx_gz(os.path.join(dirpath, f"{prefix}-masks-idx3-ubyte.gz"), masks)


def _train_stats(tr_u8):
    v = tr_u8.astype(np.float64) / 255.0
    pix_mean, pix_std = float(v.mean()), float(v.std())
    return pix_mean, pix_std, round(pix_mean, 4), round(pix_std, 4)


def _preprocessing(mean, std):
    return {"scale": SCALE, "mean": [mean], "std": [std], "formula": "x = (pixel * scale - mean[c]) / std[c]",
            "layout": "NCHW", "dtype": "float32"}


def main_textured_offset(out, build):
    name, prefix = "textured_offset_resnet", "textured_offset"
    torch.set_num_threads(TEX_THREADS)
    t0 = time.time()
    tr_img, tr_lab = load_split("train")
    te_img, te_lab = load_split("t10k")
    textures = load_textures()
    tr, tr_m, _ = composite_offset(tr_img, textures, OFF_SEED)
    te, te_m, te_c = composite_offset(te_img, textures, OFF_SEED + 1)
    _write_set(build, "textured-offset-train", tr, tr_lab, tr_m)
    _write_set(build, "textured-offset-t10k", te, te_lab, te_m)
    _write_set(os.path.join(out, "datasets"), "textured-offset-t10k", te[:TEX_SUBSET], te_lab[:TEX_SUBSET],
               te_m[:TEX_SUBSET])
    pix_mean, pix_std, mean, std = _train_stats(tr)
    sub_m = te_m[:TEX_SUBSET]
    area = sub_m.reshape(TEX_SUBSET, -1).sum(1)
    yy, xx = np.mgrid[0:OFF_SIZE, 0:OFF_SIZE]
    cy = (sub_m * yy).reshape(TEX_SUBSET, -1).sum(1) / area
    cx = (sub_m * xx).reshape(TEX_SUBSET, -1).sum(1) / area
    c = (OFF_SIZE - 1) / 2
    print(f"offset sets written ({time.time() - t0:.0f}s); train mean {pix_mean:.5f} std {pix_std:.5f}; "
          f"subset mask share {sub_m.mean():.4f}, centroid distance to centre {np.hypot(cy - c, cx - c).mean():.2f} px",
          flush=True)
    model, entry, failed = fit_export(name, prefix, tr, tr_lab, te, te_lab, out, mean, std, 10, OFF_SEED + 100,
                                      OFF_MIN_ACC)
    value = {
        "dataset": "Fashion-MNIST items at random offsets on grey crops of python3-skimage photographs",
        "generator": "/usr/bin/python3 scripts/make_fixtures.py --textured-offset",
        "source": DATA_DIR, "canvas": [OFF_SIZE, OFF_SIZE],
        "placement": "the item's bounding box (pixels > 0) with its top-left corner uniform in "
                     "0..canvas - box size, per axis (y drawn first)",
        "textures": "as 'textured' (same photos, scales, min_crop_std, flips), crops of canvas size",
        "rule": f"out = a * item + (1 - a) * crop, a = min(1, item / {TEX_ALPHA_T:g}), rounded to uint8",
        "mask_rule": f"item >= {TEX_MASK_T} at the placed position",
        "seeds": {"train": OFF_SEED, "t10k": OFF_SEED + 1},
        "train_pixel_mean": pix_mean, "train_pixel_std": pix_std,
        "preprocessing": _preprocessing(mean, std),
        "subset": {"images": "datasets/textured-offset-t10k-images-idx3-ubyte.gz",
                   "labels": "datasets/textured-offset-t10k-labels-idx1-ubyte.gz",
                   "masks": "datasets/textured-offset-t10k-masks-idx3-ubyte.gz",
                   "test_indices": [0, TEX_SUBSET - 1],
                   "mask_pixels": int(area.sum()), "mask_share": float(sub_m.mean()),
                   "mask_centroid_mean_distance_to_centre": float(np.hypot(cy - c, cx - c).mean()),
                   "corner_mean": [float(te_c[:TEX_SUBSET, 0].mean()), float(te_c[:TEX_SUBSET, 1].mean())]},
        "reference": {"test_indices": [0, N_REF - 1], "images": f"{prefix}_test32_images.npy",
                      "input": f"{prefix}_test32_input.npy", "labels": f"{prefix}_test32_labels.npy"},
        "models": {"resnet": entry},
        "torch_version": torch.__version__, "onnx_opset": OPSET,
    }
    fx = update_fixtures(out, "textured_offset", value)
    print(f"wrote {fx} (total {time.time() - t0:.0f}s)")
    return 1 if failed else 0


def main_motif_fill(out, build):
    """Redo only the fill experiment with the weights and test set that --motif left in build."""
    fx = json.load(open(os.path.join(out, "fixtures.json")))["motif"]
    mean, std = fx["preprocessing"]["mean"][0], fx["preprocessing"]["std"][0]
    model = MODELS["motif_resnet"]()
    model.load_state_dict(torch.load(os.path.join(build, "motif_resnet.pt")))
    model.eval()
    te = read_idx(os.path.join(build, "motif-t10k-images-idx3-ubyte.gz"))
    te_lab = read_idx(os.path.join(build, "motif-t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    te_m = read_idx(os.path.join(build, "motif-t10k-masks-idx3-ubyte.gz"))
    fill = motif_fill_experiment(model, te, te_lab, te_m, mean, std, MOTIF_SEED + 2)
    update_fixtures(out, None, lambda f: f["motif"].__setitem__("fill_experiment", fill))
    return 0


def main_motif(out, build):
    name, prefix = "motif_resnet", "motif"
    torch.set_num_threads(TEX_THREADS)
    t0 = time.time()
    textures = load_textures()
    maps = motif_crop_maps(textures)
    allowed = [len(m[0]) for m in maps]
    # sources without an allowed crop are left out (brick.png at both scales: a wall of smooth bricks
    # whose every 32x32 crop holds a near-uniform 8x8 window)
    names = [f"{p}@{s:g}" for p in TEXTURE_PHOTOS for s in (1, 0.5)]
    keep = [i for i, a in enumerate(allowed) if a > 0]
    dropped = [names[i] for i in range(len(names)) if i not in keep]
    textures, maps = [textures[i] for i in keep], [maps[i] for i in keep]
    print(f"motif: allowed crop corners per source {allowed}; left out {dropped} ({time.time() - t0:.0f}s)",
          flush=True)
    tr, tr_lab, tr_m = make_motif(MOTIF_NTRAIN, textures, maps, MOTIF_SEED, with_none=True)
    te, te_lab, te_m = make_motif(MOTIF_NTEST, textures, maps, MOTIF_SEED + 1)
    _write_set(build, "motif-train", tr, tr_lab, tr_m)
    _write_set(build, "motif-t10k", te, te_lab, te_m)
    _write_set(os.path.join(out, "datasets"), "motif-t10k", te[:TEX_SUBSET], te_lab[:TEX_SUBSET], te_m[:TEX_SUBSET])
    pix_mean, pix_std, mean, std = _train_stats(tr)
    print(f"motif sets written ({time.time() - t0:.0f}s); train mean {pix_mean:.5f} std {pix_std:.5f}; "
          f"class counts train {np.bincount(tr_lab, minlength=MOTIF_NCLS).tolist()}, "
          f"t10k {np.bincount(te_lab, minlength=MOTIF_NCLS).tolist()}", flush=True)
    model, entry, failed = fit_export(name, prefix, tr, tr_lab, te, te_lab, out, mean, std, MOTIF_NCLS,
                                      MOTIF_SEED + 100, MOTIF_MIN_ACC)
    # the PyTorch weights, so that --motif-fill can redo the fill experiment without training
    torch.save(model.state_dict(), os.path.join(build, f"{name}.pt"))
    fill = motif_fill_experiment(model, te, te_lab, te_m, mean, std, MOTIF_SEED + 2)
    value = {
        "dataset": "8x8 class motifs at random positions on grey crops of python3-skimage photographs",
        "generator": "/usr/bin/python3 scripts/make_fixtures.py --motif",
        "canvas": [MOTIF_SIZE, MOTIF_SIZE], "motif_size": MOTIF_K,
        "class_names": MOTIF_CLASSES,
        "patterns": [p.tolist() for p in motif_patterns()],
        "tones": f"flat: one intensity uniform in 0..255; others: contrast d uniform in {MOTIF_MIN_CONTRAST}..255, "
                 "lo uniform in 0..255-d, pattern 1 -> lo + d, 0 -> lo",
        "textures": {"photos": TEXTURE_PHOTOS, "scales": [1, 0.5], "min_crop_std": TEX_MIN_STD,
                     "min_window_std": MOTIF_MIN_WIN_STD, "allowed_corners": allowed,
                     "sources_left_out": dropped,
                     "flips": "left-right p=0.5, up-down p=0.5"},
        "mask_rule": "the motif's 64 pixels",
        "none_class": "class 8 (none, no motif, empty mask) is in the training set only; the test sets hold "
                      "classes 0..7",
        "sizes": {"train": MOTIF_NTRAIN, "t10k": MOTIF_NTEST},
        "seeds": {"train": MOTIF_SEED, "t10k": MOTIF_SEED + 1, "fill_boxes": MOTIF_SEED + 2},
        "train_pixel_mean": pix_mean, "train_pixel_std": pix_std,
        "preprocessing": _preprocessing(mean, std),
        "subset": {"images": "datasets/motif-t10k-images-idx3-ubyte.gz",
                   "labels": "datasets/motif-t10k-labels-idx1-ubyte.gz",
                   "masks": "datasets/motif-t10k-masks-idx3-ubyte.gz",
                   "test_indices": [0, TEX_SUBSET - 1],
                   "class_counts": np.bincount(te_lab[:TEX_SUBSET], minlength=MOTIF_NCLS).tolist()},
        "reference": {"test_indices": [0, N_REF - 1], "images": f"{prefix}_test32_images.npy",
                      "input": f"{prefix}_test32_input.npy", "labels": f"{prefix}_test32_labels.npy"},
        "models": {"resnet": entry},
        "fill_experiment": fill,
        "torch_version": torch.__version__, "onnx_opset": OPSET,
    }
    fx = update_fixtures(out, "motif", value)
    print(f"wrote {fx} (total {time.time() - t0:.0f}s)")
    return 1 if failed else 0


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=OUT, help="output directory (default tests/data)")
    ap.add_argument("--models", default="resnet,vgg", help="comma-separated subset of resnet,vgg")
    ap.add_argument("--textured", action="store_true",
                    help="make only the textured dataset and textured_resnet.onnx (see above)")
    ap.add_argument("--build", default=TEX_BUILD, help="--textured: where the whole composited sets go "
                    "(default build/textured)")
    ap.add_argument("--textured-masks", action="store_true",
                    help="only the textured set's silhouette masks (committed subset and build/textured)")
    ap.add_argument("--textured-offset", action="store_true",
                    help="only the random-offset textured variant, its masks and textured_offset_resnet.onnx")
    ap.add_argument("--motif", action="store_true",
                    help="only the motif dataset, its masks and motif_resnet.onnx (build/motif)")
    ap.add_argument("--motif-fill", action="store_true",
                    help="only the motif fill experiment, from the weights --motif left in build/motif")
    ap.add_argument("--metadata-only", action="store_true",
                    help="only write the preprocess.* metadata_props into the committed models")
    args = ap.parse_args()
    out = args.out
    if args.metadata_only:
        return main_metadata_only(out)

    torch.set_num_threads(THREADS)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.use_deterministic_algorithms(True)
    if args.textured:
        return main_textured(out, args.build)
    if args.textured_masks:
        return main_textured_masks(out, args.build)
    if args.textured_offset:
        return main_textured_offset(out, args.build)
    if args.motif:
        return main_motif(out, MOTIF_BUILD if args.build == TEX_BUILD else args.build)
    if args.motif_fill:
        return main_motif_fill(out, MOTIF_BUILD if args.build == TEX_BUILD else args.build)
    os.makedirs(os.path.join(out, "img"), exist_ok=True)

    tr_img, tr_lab = load_split("train")
    te_img, te_lab = load_split("t10k")
    print(f"train {tr_img.shape}, test {te_img.shape}")
    xtr, ytr = torch.from_numpy(preprocess(tr_img)), torch.from_numpy(tr_lab)
    xte, yte = torch.from_numpy(preprocess(te_img)), torch.from_numpy(te_lab)

    # Reference inputs and images.
    ref_u8 = te_img[:N_REF].copy()
    ref_x = preprocess(ref_u8)
    np.save(os.path.join(out, "fashion_test32_images.npy"), ref_u8)
    np.save(os.path.join(out, "fashion_test32_input.npy"), ref_x)
    np.save(os.path.join(out, "fashion_test32_labels.npy"), te_lab[:N_REF].astype(np.int64))
    assert np.array_equal(ref_x, xte[:N_REF].numpy())

    png_pixels = np.zeros((N_PNG, 28, 28), dtype=np.uint8)
    for i in range(N_PNG):
        p = os.path.join(out, "img", f"fashion_{i}.png")
        write_png_gray8(p, ref_u8[i])
        png_pixels[i] = read_png_gray8(p)
    assert np.array_equal(png_pixels, ref_u8[:N_PNG]), "PNG round trip changed pixels"
    np.save(os.path.join(out, "fashion_png8_pixels.npy"), png_pixels)

    fx_path = os.path.join(out, "fixtures.json")
    fixtures = {}
    if os.path.exists(fx_path):
        with open(fx_path) as f:
            fixtures = json.load(f)
    fixtures.update({
        "dataset": "Fashion-MNIST",
        "source": DATA_DIR,
        "preprocessing": {
            "scale": SCALE, "mean": [MEAN], "std": [STD],
            "formula": "x = (pixel * scale - mean[c]) / std[c]",
            "layout": "NCHW", "dtype": "float32",
        },
        "input_shape": [1, 1, 28, 28],
        "input_name": "input",
        "output_name": "logits",
        "class_names": CLASS_NAMES,
        "reference": {
            "test_indices": [0, N_REF - 1],
            "images": "fashion_test32_images.npy",
            "input": "fashion_test32_input.npy",
            "labels": "fashion_test32_labels.npy",
            "png": [f"img/fashion_{i}.png" for i in range(N_PNG)],
            "png_pixels": "fashion_png8_pixels.npy",
            "png_pixels_equal_images": [0, N_PNG - 1],
        },
        "seed": SEED,
        "torch_version": torch.__version__,
        "onnx_opset": OPSET,
    })
    fixtures.setdefault("models", {})

    failed = False
    for k, name in enumerate(args.models.split(",")):
        print(f"training {name} ...", flush=True)
        model, secs = train(name, xtr, ytr, SEED + 100 * (k + 1))
        correct = evaluate(model, xte, yte)
        acc = correct / xte.shape[0]
        print(f"  [{name}] test accuracy {correct}/{xte.shape[0]} = {acc:.4f}  (train {secs:.0f}s)")
        if acc < MIN_ACC:
            print(f"  [{name}] ERROR: accuracy below {MIN_ACC}", file=sys.stderr)
            failed = True
        with torch.no_grad():
            logits = model(torch.from_numpy(ref_x)).numpy().astype(np.float32)
        np.save(os.path.join(out, f"fashion_{name}_logits.npy"), logits)

        files = {f"fashion_{name}.onnx": False}
        if name == "resnet":
            files["fashion_resnet_bn.onnx"] = True
        entry = {
            "onnx": f"fashion_{name}.onnx",
            "logits": f"fashion_{name}_logits.npy",
            "test_correct": correct, "test_total": int(xte.shape[0]), "test_accuracy": acc,
            "ref32_correct": int((logits.argmax(1) == te_lab[:N_REF]).sum()),
            "epochs": TRAIN[name]["epochs"], "batch_size": TRAIN[name]["batch"],
            "optimizer": f"Adam(wd={TRAIN[name]['wd']}) + OneCycleLR(max_lr={TRAIN[name]['max_lr']})",
            "seed": SEED + 100 * (k + 1),
            "params": int(sum(p.numel() for p in model.parameters())),
            "op_types": {},
        }
        for fname, keep_bn in files.items():
            path = os.path.join(out, fname)
            export(model, path, keep_bn=keep_bn)
            m = set_preprocess_metadata(path, *PREPROCESS_META[fname])
            ops = op_counts(m)
            entry["op_types"][fname] = ops
            has_bn = "BatchNormalization" in ops
            y = run_onnx_numpy(m, ref_x)
            err = float(np.abs(y - logits).max())
            print(f"  {fname}: {os.path.getsize(path)} bytes, checker OK, BN nodes: {has_bn}, "
                  f"numpy-ONNX vs torch max|diff| {err:.2e}")
            print(f"    ops: {ops}")
            if err > 1e-3:
                print(f"  ERROR: {fname} does not reproduce the torch logits", file=sys.stderr)
                failed = True
            if keep_bn and not has_bn:
                print(f"  ERROR: {fname} has no BatchNormalization node", file=sys.stderr)
                failed = True
        if name == "resnet":
            entry["onnx_bn"] = "fashion_resnet_bn.onnx"
        fixtures["models"][name] = entry

    with open(fx_path, "w") as f:
        json.dump(fixtures, f, indent=2)
        f.write("\n")
    print(f"wrote {fx_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
