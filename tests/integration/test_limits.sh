#!/usr/bin/env bash
# Resource caps under `ulimit -v` (docs/reliability.md): with an address-space cap that is enough, a few
# images are explained; models and images that declare huge sizes are refused with exit 2 and a message
# naming the file and the field, before anything is allocated -- not a crash and not an out-of-memory
# kill. The huge models are built here with the onnx Python package (an independent writer).
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ADX=${ADX:-bin/adx}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
VLIMIT_KB=${VLIMIT_KB:-1048576} # 1 GiB of address space: adx needs about 0.8 GiB for this workload
FASHION=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
common=(--data "$FASHION" --scale 1/255 --mean 0.2860 --std 0.3530 --limit 2 --iters 2 --modes ad,fill:zero
  --k-colour 2 --k-context 2 --backgrounds 4 --progress off)
capped() { # out log cmd...: run under ulimit -v in a subshell; returns the exit status
  local log=$1
  shift
  (ulimit -v "$VLIMIT_KB" && exec "$@") >"$log" 2>&1
}

/usr/bin/python3 - "$t" <<'PY' || { echo "FAIL cannot build the test models"; exit 1; }
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
t = sys.argv[1]
def save(name, inshape, nodes, inits, outshape):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, inshape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, outshape)], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), f"{t}/{name}.onnx")
gap = [helper.make_node("GlobalAveragePool", ["x"], ["g"]), helper.make_node("Flatten", ["g"], ["y"])]
# a graph input of 3 x 100000 x 100000 (120 GB per image as float32)
save("huge_input", ["N", 3, 100000, 100000], gap, [], ["N", 3])
# an initializer that declares 100000 x 100000 elements and carries no data
w = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[100000, 100000, 1, 1], raw_data=b"")
save("huge_init", ["N", 1, 28, 28], [helper.make_node("Conv", ["x", "W"], ["c"])] + [
    helper.make_node("GlobalAveragePool", ["c"], ["g"]), helper.make_node("Flatten", ["g"], ["y"])], [w], ["N", 1])
# every tensor is under the per-tensor cap (2^28 elements per image = 1 GiB), but a batch of 64 needs
# 64 GiB of activations: refused by the activation cap before the engine allocates
k = numpy_helper.from_array(np.ones((256, 1, 1, 1), np.float32), "K")
save("huge_batch", ["N", 1, 1024, 1024], [helper.make_node("Conv", ["x", "K"], ["c"]),
     helper.make_node("GlobalAveragePool", ["c"], ["g"]), helper.make_node("Flatten", ["g"], ["y"])], [k], ["N", 256])
PY

# 1. enough memory: two images explained, exit 0
capped "$t/ok.log" "$ADX" explain --model tests/data/fashion_resnet.onnx "${common[@]}" -o "$t/ok.h5"
code=$?
[ "$code" -eq 0 ] && ok "explain under ulimit -v $VLIMIT_KB" || { bad "explain under ulimit -v exit $code"; tail -5 "$t/ok.log"; }

# 2. huge declared sizes: exit 2 with the file and the field named
check_refusal() { # name log want_regex cmd...
  local name=$1 log=$2 want=$3
  shift 3
  capped "$log" "$@"
  local code=$?
  if [ "$code" -eq 2 ] && grep -Eq "$want" "$log"; then
    ok "$name: exit 2: $(grep -E "$want" "$log" | head -1 | cut -c1-200)"
  else
    bad "$name: exit $code (want 2 and /$want/)"
    tail -5 "$log"
  fi
}
check_refusal "huge graph input" "$t/in.log" "huge_input.onnx: graph input 'x' has shape \[1,3,100000,100000\].*max_tensor_elems" \
  "$ADX" explain --model "$t/huge_input.onnx" "${common[@]}" -o "$t/x.h5"
check_refusal "huge initializer" "$t/init.log" "huge_init.onnx: initializer.*'W'.*(elements|limit)" \
  "$ADX" explain --model "$t/huge_init.onnx" "${common[@]}" -o "$t/x.h5"
check_refusal "activations of a batch over the cap" "$t/batch.log" \
  "huge_batch.onnx: a batch of 64 needs 64\.0 GiB of activations.*over the limit of 16\.0 GiB" \
  "$ADX" explain --model "$t/huge_batch.onnx" "${common[@]}" -o "$t/x.h5"
check_refusal "--max-tensor-elems" "$t/mte.log" "node '.*' \(Conv\): output '.*' would have shape \[1,256,1024,1024\].*over the limit of 2000000 elements" \
  "$ADX" explain --model "$t/huge_batch.onnx" --max-tensor-elems 2000000 "${common[@]}" -o "$t/x.h5"
printf '[explain]\nmax_activation_mem = 4M\n' >"$t/cap.ini"
check_refusal "max_activation_mem from a config file" "$t/cfg.log" \
  "fashion_resnet.onnx: a batch of 64 needs [0-9.]+ MiB of activations.*over the limit of 4\.0 MiB" \
  "$ADX" explain --model tests/data/fashion_resnet.onnx --config "$t/cap.ini" "${common[@]}" -o "$t/x.h5"
check_refusal "image over the pixel cap" "$t/png.log" "huge.png.*(pixels|limit)" \
  "$ADX" predict --model tests/data/fashion_resnet.onnx tests/data/img/bad/huge.png
# the same caps on adx predict, from the command line and from a config file (either key spelling)
png=tests/data/img/fashion_0.png
check_refusal "predict --max-image-pixels" "$t/pp.log" "fashion_0.png: PNG image is 28x28 \(784 pixels\), over the limit of 100 pixels" \
  "$ADX" predict --model tests/data/fashion_resnet.onnx --max-image-pixels 100 "$png"
printf '[predict]\nmax_image_pixels = 100\n' >"$t/pcap.ini"
check_refusal "predict max_image_pixels from a config file" "$t/pc.log" "over the limit of 100 pixels" \
  "$ADX" predict --model tests/data/fashion_resnet.onnx --config "$t/pcap.ini" "$png"
check_refusal "predict --max-activation-mem" "$t/pa.log" \
  "fashion_resnet.onnx: a batch of 16 needs [0-9.]+ MiB of activations.*over the limit of 4\.0 KiB" \
  "$ADX" predict --model tests/data/fashion_resnet.onnx --max-activation-mem 4K "$png"
check_refusal "predict --max-tensor-elems" "$t/pt.log" "output '.*' would have shape \[1,256,1024,1024\].*over the limit of 2000000 elements" \
  "$ADX" predict --model "$t/huge_batch.onnx" --max-tensor-elems 2000000 "$png"
for f in "$t"/x.h5 "$t"/x.h5.creating; do [ -e "$f" ] && bad "a refused run left $f"; done
# --batch 1 lets the same capped model pass the activation check (1 GiB): the limit is per batch
"$ADX" explain --model tests/data/fashion_resnet.onnx --max-activation-mem 4M --batch 1 "${common[@]}" -o "$t/b1.h5" >"$t/b1.log" 2>&1 &&
  ok "--batch 1 fits --max-activation-mem 4M" || { bad "--batch 1 under a 4M cap"; tail -3 "$t/b1.log"; }

finish
