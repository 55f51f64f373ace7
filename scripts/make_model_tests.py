#!/usr/bin/python3
"""Write the small ONNX models and TensorProto files that tests/model/ loads.

Run with Debian's Python (it has numpy and onnx):

    /usr/bin/python3 scripts/make_model_tests.py

Everything goes to tests/data/models/ and is committed. Expected outputs are computed here with plain
numpy (float64, then rounded to float32), never with adx or an ONNX runtime, so the tests compare adx
against an independent reference. The script is deterministic (fixed seed).

Models:
  conv_bn.onnx        Conv -> BatchNormalization -> Relu -> GlobalAveragePool -> Flatten -> Gemm,
                      batch symbolic; conv_bn_input_0.pb / conv_bn_output_0.pb: a batch of 2 and numpy's output
  external.onnx       Conv -> Relu with W and B in external.bin (at nonzero offsets);
                      external_W.pb: the same W stored inline; external_input_0.pb / external_output_0.pb
  view.onnx           Relu -> Shape -> Gather -> Unsqueeze -> Concat -> Reshape -> Gemm (torch's
                      x.view(x.size(0), -1) with a dynamic batch); view_input_0.pb / view_output_0.pb (batch 3)
  view_static.onnx    the same computation exported with a fixed batch of 1 and a constant [1, -1] target;
                      view_static_input_0.pb / view_static_output_0.pb (batch 3: each image on its own)
  lstm.onnx           uses LSTM (node 'lstm_1'), which adx does not support
  truncated.onnx      the first half of conv_bn.onnx
  escape.onnx         a Conv whose weight's external data location is '../escape.bin'
  passthrough.onnx    Identity 'id1' -> Dropout 'drop1' -> Relu -> Identity 'id2' (a graph output)
  custom_domain.onnx  a node 'fancy' of op 'FancyOp' in domain 'com.example'
  unsorted.onnx       two Relu nodes listed consumer first
  symbolic_hw.onnx    input [N,3,H,W] with symbolic H, W
  int_input.onnx      an int64 graph input
  opset5.onnx         a default-domain opset of 5
Tensors:
  tensor_float_data.pb  FLOAT [2,3] in float_data     tensor_int64.pb   INT64 [4] in int64_data
  tensor_double.pb      DOUBLE [3] in double_data      tensor_int32.pb   INT32 [2,2] in raw_data
  tensor_scalar.pb      FLOAT scalar (rank 0), raw     tensor_bad_raw.pb FLOAT [2,3] with 20 raw bytes
  tensor_uint8.pb       UINT8 [2] (unsupported)        tensor_negdim.pb  FLOAT with a dimension of -1
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.external_data_helper import set_external_data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "models")
OPSET = 13
rng = np.random.default_rng(20240611)


def f32(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def save_model(graph, name, opset=OPSET, check=True, extra_opsets=()):
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="adx-tests", producer_version="1")
    model.ir_version = 8
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    if check:
        onnx.checker.check_model(path)  # by path, so external data resolves next to the model
    return path


def save_tensor(arr, name, tensor_name=None):
    t = numpy_helper.from_array(np.asarray(arr), tensor_name or os.path.splitext(name)[0])
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(t.SerializeToString())


def save_proto(t, name):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(t.SerializeToString())


def inp(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


# ----------------------------------------------------------------------------- numpy reference

def conv2d(x, w, b, pad):
    """NCHW convolution, stride 1, dilation 1, symmetric padding; float64."""
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = x.shape
    m, _, kh, kw = w.shape
    oh, ow = h - kh + 1, wd - kw + 1
    y = np.zeros((n, m, oh, ow))
    for i in range(kh):
        for j in range(kw):
            y += np.einsum("nchw,mc->nmhw", x[:, :, i:i + oh, j:j + ow], w[:, :, i, j].astype(np.float64))
    return y + b.astype(np.float64)[None, :, None, None]


def relu(x):
    return np.maximum(x, 0)


# ----------------------------------------------------------------------------- models

def conv_bn():
    W, B = f32(4, 3, 3, 3), f32(4)
    scale, beta, mean, var = f32(4, lo=0.5, hi=1.5), f32(4), f32(4), f32(4, lo=0.5, hi=2.0)
    eps = 1e-3
    GW, GB = f32(5, 4), f32(5)
    inits = [numpy_helper.from_array(a, n) for a, n in [
        (W, "conv.W"), (B, "conv.B"), (scale, "bn.scale"), (beta, "bn.B"), (mean, "bn.mean"), (var, "bn.var"),
        (GW, "fc.W"), (GB, "fc.B")]]
    nodes = [
        helper.make_node("Conv", ["x", "conv.W", "conv.B"], ["c"], name="conv1", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("BatchNormalization", ["c", "bn.scale", "bn.B", "bn.mean", "bn.var"], ["bn"], name="bn1",
                         epsilon=eps),
        helper.make_node("Relu", ["bn"], ["r"], name="relu1"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.W", "fc.B"], ["y"], name="fc", transB=1),
    ]
    g = helper.make_graph(nodes, "conv_bn", [inp("x", ["N", 3, 8, 8])], [inp("y", ["N", 5])], inits)
    path = save_model(g, "conv_bn.onnx")

    x = f32(2, 3, 8, 8, lo=-2, hi=2)
    c = conv2d(x, W, B, 1)
    s = (scale / np.sqrt(var.astype(np.float64) + eps))[None, :, None, None]
    bn = (c - mean[None, :, None, None]) * s + beta[None, :, None, None]
    p = relu(bn).mean(axis=(2, 3))
    y = p @ GW.T.astype(np.float64) + GB
    save_tensor(x, "conv_bn_input_0.pb", "x")
    save_tensor(y.astype(np.float32), "conv_bn_output_0.pb", "y")

    data = open(path, "rb").read()
    with open(os.path.join(OUT, "truncated.onnx"), "wb") as f:
        f.write(data[:len(data) // 2])


def to_external(t, f, location):
    """Move t's raw_data to file f (at its current position) and point t at it."""
    data = t.raw_data
    offset = f.tell()
    f.write(data)
    set_external_data(t, location, offset=offset, length=len(data))
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL


def external():
    W, B = f32(3, 2, 3, 3), f32(3)
    tw, tb = numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "B")
    with open(os.path.join(OUT, "external.bin"), "wb") as f:
        f.write(b"adx-pad")  # 7 bytes, so both offsets are nonzero and unaligned
        to_external(tw, f, "external.bin")
        f.write(b"\0")
        to_external(tb, f, "external.bin")
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv", kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c"], ["y"], name="relu")]
    g = helper.make_graph(nodes, "external", [inp("x", ["N", 2, 5, 5])], [inp("y", ["N", 3, 3, 3])], [tw, tb])
    save_model(g, "external.onnx")
    save_tensor(W, "external_W.pb", "W")
    x = f32(2, 2, 5, 5, lo=-2, hi=2)
    save_tensor(x, "external_input_0.pb", "x")
    save_tensor(relu(conv2d(x, W, B, 0)).astype(np.float32), "external_output_0.pb", "y")


def view():
    GW, GB = f32(4, 18), f32(4)
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Shape", ["r"], ["s"], name="shape"),
        helper.make_node("Constant", [], ["i0"], name="const_i0",
                         value=numpy_helper.from_array(np.array(0, dtype=np.int64))),
        helper.make_node("Gather", ["s", "i0"], ["n"], name="gather", axis=0),
        helper.make_node("Constant", [], ["ax"], name="const_axes",
                         value=numpy_helper.from_array(np.array([0], dtype=np.int64))),
        helper.make_node("Unsqueeze", ["n", "ax"], ["n1"], name="unsqueeze"),
        helper.make_node("Constant", [], ["m1"], name="const_m1",
                         value=numpy_helper.from_array(np.array([-1], dtype=np.int64))),
        helper.make_node("Concat", ["n1", "m1"], ["shp"], name="concat", axis=0),
        helper.make_node("Reshape", ["r", "shp"], ["flat"], name="reshape"),
        helper.make_node("Gemm", ["flat", "fc.W", "fc.B"], ["y"], name="fc", transB=1),
    ]
    inits = [numpy_helper.from_array(GW, "fc.W"), numpy_helper.from_array(GB, "fc.B")]
    g = helper.make_graph(nodes, "view", [inp("x", ["batch", 2, 3, 3])], [inp("y", ["batch", 4])], inits)
    save_model(g, "view.onnx")
    x = f32(3, 2, 3, 3, lo=-2, hi=2)
    y = relu(x.astype(np.float64)).reshape(3, -1) @ GW.T.astype(np.float64) + GB
    save_tensor(x, "view_input_0.pb", "x")
    save_tensor(y.astype(np.float32), "view_output_0.pb", "y")

    # The same with a fixed batch of 1, as torch exports it without dynamic axes.
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Reshape", ["r", "shape"], ["flat"], name="reshape"),
             helper.make_node("Gemm", ["flat", "fc.W", "fc.B"], ["y"], name="fc", transB=1)]
    inits = inits + [numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape")]
    g = helper.make_graph(nodes, "view_static", [inp("x", [1, 2, 3, 3])], [inp("y", [1, 4])], inits)
    save_model(g, "view_static.onnx")
    save_tensor(x, "view_static_input_0.pb", "x")
    save_tensor(y.astype(np.float32), "view_static_output_0.pb", "y")


def lstm():
    hidden, isz = 2, 4
    inits = [numpy_helper.from_array(f32(1, 4 * hidden, isz), "W"),
             numpy_helper.from_array(f32(1, 4 * hidden, hidden), "R")]
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("LSTM", ["r", "W", "R"], ["y"], name="lstm_1", hidden_size=hidden)]
    g = helper.make_graph(nodes, "lstm", [inp("x", [5, "N", isz])], [inp("y", [5, 1, "N", hidden])], inits)
    save_model(g, "lstm.onnx")


def escape():
    W = f32(2, 1, 1, 1)
    tw = numpy_helper.from_array(W, "W")
    set_external_data(tw, "../escape.bin", offset=0, length=len(tw.raw_data))
    tw.ClearField("raw_data")
    tw.data_location = TensorProto.EXTERNAL
    nodes = [helper.make_node("Conv", ["x", "W"], ["y"], name="conv", kernel_shape=[1, 1])]
    g = helper.make_graph(nodes, "escape", [inp("x", ["N", 1, 4, 4])], [inp("y", ["N", 2, 4, 4])], [tw])
    save_model(g, "escape.onnx", check=False)


def small_graphs():
    nodes = [helper.make_node("Identity", ["x"], ["a"], name="id1"),
             helper.make_node("Dropout", ["a"], ["b"], name="drop1"),
             helper.make_node("Relu", ["b"], ["c"], name="relu"),
             helper.make_node("Identity", ["c"], ["y"], name="id2")]
    g = helper.make_graph(nodes, "passthrough", [inp("x", ["N", 4])], [inp("y", ["N", 4])])
    save_model(g, "passthrough.onnx")

    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu"),
             helper.make_node("FancyOp", ["a"], ["y"], name="fancy", domain="com.example")]
    g = helper.make_graph(nodes, "custom", [inp("x", ["N", 4])], [inp("y", ["N", 4])])
    save_model(g, "custom_domain.onnx", check=False, extra_opsets=[("com.example", 1)])

    nodes = [helper.make_node("Relu", ["a"], ["y"], name="second"),
             helper.make_node("Relu", ["x"], ["a"], name="first")]
    g = helper.make_graph(nodes, "unsorted", [inp("x", ["N", 4])], [inp("y", ["N", 4])])
    save_model(g, "unsorted.onnx", check=False)

    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    g = helper.make_graph(nodes, "symbolic", [inp("x", ["N", 3, "H", "W"])], [inp("y", ["N", 3, "H", "W"])])
    save_model(g, "symbolic_hw.onnx")

    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "int_input",
                          [helper.make_tensor_value_info("x", TensorProto.INT64, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.INT64, ["N", 4])])
    save_model(g, "int_input.onnx", check=False)

    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "old",
                          [inp("x", ["N", 4])], [inp("y", ["N", 4])])
    save_model(g, "opset5.onnx", opset=5, check=False)


def tensors():
    save_proto(helper.make_tensor("tf", TensorProto.FLOAT, [2, 3], [1.5, -2.25, 0.0, 3.0, 1e-3, -7.5]),
               "tensor_float_data.pb")
    save_proto(helper.make_tensor("ti64", TensorProto.INT64, [4], [1, -1, 1 << 40, 0]), "tensor_int64.pb")
    save_proto(helper.make_tensor("td", TensorProto.DOUBLE, [3], [0.5, -1.25, 1e10]), "tensor_double.pb")
    save_tensor(np.array([[7, -8], [2147483647, -2147483648]], dtype=np.int32), "tensor_int32.pb", "ti32")
    save_tensor(np.array(2.5, dtype=np.float32), "tensor_scalar.pb", "ts")
    t = helper.make_tensor("bad", TensorProto.FLOAT, [2, 3], b"\0" * 24, raw=True)
    t.raw_data = b"\0" * 20  # 4 bytes short
    save_proto(t, "tensor_bad_raw.pb")
    save_proto(helper.make_tensor("tu8", TensorProto.UINT8, [2], [1, 2]), "tensor_uint8.pb")
    t = TensorProto(name="neg", data_type=TensorProto.FLOAT, dims=[-1, 2])
    save_proto(t, "tensor_negdim.pb")


def main():
    os.makedirs(OUT, exist_ok=True)
    conv_bn()
    external()
    view()
    lstm()
    escape()
    small_graphs()
    tensors()
    print("wrote", OUT)


if __name__ == "__main__":
    main()
