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
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.layer1 = BasicBlock(16, 16, 1)   # 28x28, identity shortcut
        self.layer2 = BasicBlock(16, 32, 2)   # 28 -> 14, projection shortcut
        self.layer3 = BasicBlock(32, 64, 2)   # 14 -> 7, projection shortcut
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

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


MODELS = {"resnet": FashionResNet, "vgg": FashionVGG, "textured_resnet": FashionResNet}


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

def export(model, path, keep_bn=False):
    dummy = torch.zeros(2, 1, 28, 28)
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
    with open(fx_path, "w") as f:
        json.dump(fixtures, f, indent=2)
        f.write("\n")
    print(f"wrote {fx_path} (total {time.time() - t_all:.0f}s)")
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
