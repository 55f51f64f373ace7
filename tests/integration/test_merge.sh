#!/usr/bin/env bash
# adx merge: the results files of an audit split with --offset/--limit (what jobs/audit-array.sbatch's
# tasks write) merge into the file one run over the whole range writes; refused, with exit 2 and the
# reason: overlapping inputs, inputs from different settings or models, an unfinished input, an existing
# output without --force, an input given twice.
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ADX=${ADX:-bin/adx}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
# under ASan+UBSan (scripts/run-integration-asan.sh sets ADX_SANITIZED) smaller metric settings in the runs
# that make the inputs (the same datasets, merged the same way); the release pass keeps the larger ones
if [ -n "${ADX_SANITIZED:-}" ]; then size=(--k-colour 2 --k-context 2 --backgrounds 4 --auc-steps 4); else
  size=(--k-colour 3 --k-context 3 --backgrounds 10); fi
common=(--model tests/data/fashion_resnet.onnx --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
  --scale 1/255 --mean 0.2860 --std 0.3530 --iters 2 --modes ad,fill:zero "${size[@]}" --seed 4 --threads 1
  --progress off)
ex() { "$ADX" explain "${common[@]}" "$@" >>"$t/runs.log" 2>&1; }
ex --offset 0 --limit 6 -o "$t/all.h5" && ok "whole run (images 0-5)" || bad "whole run"
ex --offset 0 --limit 3 -o "$t/a.h5" && ok "slice 0-2" || bad "slice 0-2"
ex --offset 3 --limit 3 -o "$t/b.h5" && ok "slice 3-5" || bad "slice 3-5"
ex --offset 2 --limit 2 -o "$t/over.h5" && ok "slice 2-3 (overlaps both)" || bad "slice 2-3"
ex --offset 3 --limit 3 --seed 5 -o "$t/seed.h5" && ok "slice 3-5 with another seed" || bad "slice 3-5, seed 5"
ex --offset 3 --limit 3 --k-colour 4 -o "$t/kc.h5" && ok "slice 3-5 with another setting" || bad "slice 3-5, k-colour 4"
ex --offset 3 --limit 3 --model tests/data/fashion_resnet_bn.onnx -o "$t/bn.h5" && ok "slice 3-5 of another model" || bad "slice 3-5, another model"

"$ADX" merge "$t/m.h5" "$t/b.h5" "$t/a.h5" >"$t/m.log" 2>&1 && ok "merge of the two slices (given out of order)" || { bad "merge"; cat "$t/m.log"; }
/usr/bin/python3 scripts/h5compare.py "$t/all.h5" "$t/m.h5" >"$t/cmp.log" 2>&1 && ok "the merged file equals the whole run" || { bad "the merged file differs from the whole run"; head "$t/cmp.log"; }
"$ADX" summary "$t/m.h5" >/dev/null 2>&1 && ok "adx summary reads the merged file" || bad "adx summary of the merged file"

refused() { # what expected-words... -- merge args
  local what=$1 words=$2
  shift 2
  "$ADX" merge "$@" >"$t/r.log" 2>&1
  local rc=$?
  if [ "$rc" -eq 2 ] && grep -q "$words" "$t/r.log"; then ok "refused: $what ($(head -c 160 "$t/r.log"))"; else
    bad "$what: exit $rc, expected 2 and '$words'"
    cat "$t/r.log"
  fi
}
refused "overlapping inputs" "overlap" "$t/o.h5" "$t/a.h5" "$t/over.h5"
refused "another seed" "different seeds" "$t/o.h5" "$t/a.h5" "$t/seed.h5"
refused "another setting" "different settings" "$t/o.h5" "$t/a.h5" "$t/kc.h5"
refused "another model" "different models" "$t/o.h5" "$t/a.h5" "$t/bn.h5"
refused "not a results file" "not an HDF5 file" "$t/o.h5" "$t/a.h5" tests/data/fashion_vgg.onnx
[ ! -e "$t/o.h5" ] && ok "no output left behind by a refused merge" || bad "a refused merge left $t/o.h5"
refused "an existing output" "exists" "$t/m.h5" "$t/a.h5" "$t/b.h5"
"$ADX" merge --force "$t/m.h5" "$t/a.h5" "$t/b.h5" >/dev/null 2>&1 && ok "--force overwrites the output" || bad "--force"
refused "an input given twice" "twice" "$t/o.h5" "$t/a.h5" "$t/a.h5"
# an unfinished input: a copy of a slice with finished = 0
cp "$t/b.h5" "$t/unf.h5"
/usr/bin/python3 -c 'import h5py,sys; f=h5py.File(sys.argv[1],"r+"); f.attrs["finished"]=f.attrs["finished"]*0' "$t/unf.h5"
refused "an unfinished input" "unfinished" "$t/o.h5" "$t/a.h5" "$t/unf.h5"
"$ADX" merge "$t/o.h5" >/dev/null 2>&1
[ $? -eq 2 ] && ok "no input: exit 2" || bad "no input: not exit 2"
finish
