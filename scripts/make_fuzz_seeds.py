#!/usr/bin/python3
"""Make the seed corpora of the fuzz targets, tests/fuzz/corpus/<target>/, from the fixtures.

usage: scripts/make_fuzz_seeds.py        (from the repository root; bin/adx must be built)

Seeds are copies of small fixtures (models, images, IDX files, configs) plus a few made here: a tiny
CNN in ONNX (every spatial operator family adx follows in AD mode, 1x8x8 input), IDX heads cut from
Fashion-MNIST's test set, INI files, and two small results files written by bin/adx explain (one
finished, one stopped part-way). Rerunning replaces the directories.
"""
import glob
import gzip
import os
import shutil
import struct
import subprocess
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = "tests/fuzz/corpus"
FASHION = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


def fresh(target):
    d = os.path.join(OUT, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def copy(paths, d):
    for p in paths:
        if os.path.isfile(p):
            shutil.copy(p, os.path.join(d, os.path.basename(p)))


def tiny_cnn():
    rng = np.random.default_rng(7)

    def w(name, *shape):
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.3, name)

    inits = [w("W1", 4, 1, 3, 3), w("B1", 4), w("S", 4), w("Bb", 4), w("M", 4),
             numpy_helper.from_array(np.ones(4, np.float32), "V"), w("W2", 4, 4, 3, 3), w("W3", 4, 8, 1, 1),
             w("G", 3, 4), w("Gb", 3),
             numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads")]
    nodes = [
        helper.make_node("Conv", ["x", "W1", "B1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "S", "Bb", "M", "V"], ["b1"]),
        helper.make_node("Relu", ["b1"], ["r1"]),
        helper.make_node("Conv", ["r1", "W2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "r1"], ["a1"]),
        helper.make_node("Concat", ["a1", "r1"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "W3"], ["c3"]),
        helper.make_node("MaxPool", ["c3"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Pad", ["p1", "pads"], ["pd"], mode="constant"),
        helper.make_node("AveragePool", ["pd"], ["p2"], kernel_shape=[2, 2], strides=[1, 1]),
        helper.make_node("GlobalAveragePool", ["p2"], ["gp"]),
        helper.make_node("Flatten", ["gp"], ["fl"]),
        helper.make_node("Gemm", ["fl", "G", "Gb"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["y"], axis=1),
    ]
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_fuzz_seeds")
    onnx.checker.check_model(m)
    return m.SerializeToString()


def idx_bytes(arr):
    arr = np.asarray(arr, np.uint8)
    return bytes([0, 0, 8, arr.ndim]) + b"".join(struct.pack(">I", n) for n in arr.shape) + arr.tobytes()


def main():
    d = fresh("onnx")
    copy(sorted(glob.glob("tests/data/models/*.onnx")), d)
    copy(["tests/data/fashion_resnet_bn.onnx"], d)
    with open(os.path.join(d, "tiny_cnn.onnx"), "wb") as f:
        f.write(tiny_cnn())

    d = fresh("png")
    copy(sorted(glob.glob("tests/data/img/*.png") + glob.glob("tests/data/img/io/*.png")
                + glob.glob("tests/data/img/bad/*.png"))[:20], d)
    d = fresh("jpeg")
    copy(sorted(glob.glob("tests/data/img/io/*.jpg") + glob.glob("tests/data/img/bad/*.jpg")
                + glob.glob("tests/data/datasets/folder/*/*.jpeg")), d)

    d = fresh("idx")
    copy(sorted(glob.glob("tests/data/datasets/idx/*")), d)
    with gzip.open(FASHION, "rb") as f:
        raw = f.read(16 + 3 * 784)
    imgs = np.frombuffer(raw[16:], np.uint8).reshape(3, 28, 28)
    with open(os.path.join(d, "fashion3-images-idx3-ubyte"), "wb") as f:
        f.write(idx_bytes(imgs))
    with open(os.path.join(d, "fashion3-images-idx3-ubyte.gz"), "wb") as f:
        f.write(gzip.compress(idx_bytes(imgs), mtime=0))
    with open(os.path.join(d, "rgb2-images-idx4-ubyte"), "wb") as f:
        f.write(idx_bytes(np.stack([imgs[:2]] * 3, axis=-1)))

    d = fresh("config")
    copy(sorted(glob.glob("configs/*.ini")), d)
    with open(os.path.join(d, "preprocess.ini"), "w") as f:
        f.write("; comment\n[preprocess]\nresize = 256\ncrop = 224x224\nscale = 1/255\n"
                "mean = 0.485,0.456,0.406\nstd = 0.229, 0.224, 0.225\n\n[explain]\nmodel = m.onnx\nbatch=8\n")
    with open(os.path.join(d, "multiline.ini"), "w") as f:
        f.write("top = 1\n[explain]\niters = 3\n  continued\n# hash comment\n[empty]\n")

    d = fresh("results")
    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="passive")
    with tempfile.TemporaryDirectory() as t:
        common = ["bin/adx", "explain", "--model", "tests/data/fashion_resnet.onnx", "--data", FASHION,
                  "--scale", "1/255", "--mean", "0.2860", "--std", "0.3530", "--iters", "1", "--k-colour", "1",
                  "--k-context", "1", "--backgrounds", "2", "--auc-steps", "2", "--progress", "off"]
        subprocess.run(common + ["--limit", "2", "--modes", "ad,fill:zero", "-o", f"{t}/finished.h5"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        # an unfinished run: the file as a killed run leaves it (done flags of image 1 cleared by h5py)
        subprocess.run(common + ["--limit", "2", "--modes", "ad", "-o", f"{t}/unfinished.h5"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        import h5py
        with h5py.File(f"{t}/unfinished.h5", "r+") as f:
            f["images/done"][1] = 0
            f.attrs["finished"] = np.int32(0)
        copy([f"{t}/finished.h5", f"{t}/unfinished.h5"], d)
    for t in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, t))
        size = sum(os.path.getsize(os.path.join(OUT, t, x)) for x in files)
        print(f"{t}: {len(files)} seeds, {size} bytes")


if __name__ == "__main__":
    main()
