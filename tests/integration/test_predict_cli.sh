#!/usr/bin/env bash
# adx predict end to end: logits against PyTorch's (tests/data/fashion_*_logits.npy) for .npy input and for
# the fixture PNGs through preprocessing, config files, batching, JSON output, and bad inputs (exit 2 with a
# one-line message naming the file). Run from the repo root with bin/adx built.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
ADX=${ADX:-$(pwd)/bin/adx}
DATA=${ADX_TEST_DATA:-$(pwd)/tests/data}
PY=/usr/bin/python3
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for f in fashion_resnet.onnx fashion_vgg.onnx fashion_test32_input.npy fashion_resnet_logits.npy \
  fashion_vgg_logits.npy img/fashion_0.png; do
  if [ ! -f "$DATA/$f" ]; then
    echo "missing fixture $DATA/$f (run: make fixtures)"
    exit 1
  fi
done

# compare OUT.jsonl REF.npy FIRST N [TOPK]: logits of N lines against rows FIRST.. of REF (max abs 1e-4),
# probs against a float64 softmax of the reference, top list sorted and of length TOPK.
compare() {
  "$PY" - "$@" <<'EOF'
import json, sys
import numpy as np
out, ref, first, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
topk = int(sys.argv[5]) if len(sys.argv) > 5 else 5
lines = open(out).read().splitlines()
assert len(lines) == n, f"{len(lines)} lines, want {n}"
ref = np.load(ref)[first:first + n].astype(np.float64)
rows = [json.loads(l) for l in lines]
got = np.array([r["logits"] for r in rows], dtype=np.float64)
err = np.abs(got - ref).max()
assert err <= 1e-4, f"logits differ from PyTorch by {err}"
e = np.exp(ref - ref.max(axis=1, keepdims=True))
p = e / e.sum(axis=1, keepdims=True)
probs = np.array([r["probs"] for r in rows])
assert np.abs(probs - p).max() <= 1e-4, "probs"
for r, pr in zip(rows, p):
    top, mine = r["top"], r["probs"]
    want = sorted(range(len(mine)), key=lambda c: (-mine[c], c))[:topk]
    assert [c for c, _ in top] == want, f"top classes {top}"
    assert [q for _, q in top] == [mine[c] for c in want], "top probabilities"
    assert top[0][0] == int(np.argmax(pr)), "top-1 differs from PyTorch"
    assert abs(sum(mine) - 1) < 1e-6
print(f"max |logit - torch| = {err:.3g}")
EOF
}

# -------------------------------------------------------------------- numerics
for m in resnet vgg; do
  if "$ADX" predict --model "$DATA/fashion_$m.onnx" --logits "$DATA/fashion_test32_input.npy" >"$tmp/$m.jsonl" \
    2>"$tmp/err" && compare "$tmp/$m.jsonl" "$DATA/fashion_${m}_logits.npy" 0 32; then
    ok "$m: 32 npy images match PyTorch logits"
  else
    bad "$m: npy logits"
    cat "$tmp/err"
  fi
  # the BLAS reference path (ADX_CONV=blas) against the same PyTorch logits
  if ADX_CONV=blas "$ADX" predict --model "$DATA/fashion_$m.onnx" --logits "$DATA/fashion_test32_input.npy" \
    >"$tmp/$m.blas.jsonl" 2>"$tmp/err" && compare "$tmp/$m.blas.jsonl" "$DATA/fashion_${m}_logits.npy" 0 32; then
    ok "$m: 32 npy images match PyTorch logits on the BLAS path too (ADX_CONV=blas)"
  else
    bad "$m: npy logits, ADX_CONV=blas"
    cat "$tmp/err"
  fi
done
# the two paths really differ (else one of them was not taken): rounding, not results
if ! cmp -s "$tmp/resnet.jsonl" "$tmp/resnet.blas.jsonl"; then ok "ADX_CONV=blas takes another path (logits differ in rounding)"; else
  bad "ADX_CONV=blas gave byte-identical output: was the oneDNN path taken at all?"
fi
# an unknown path is refused with the variable named
if ADX_CONV=fast "$ADX" predict --model "$DATA/fashion_resnet.onnx" --logits "$DATA/fashion_test32_input.npy" \
  >/dev/null 2>"$tmp/err"; then
  bad "ADX_CONV=fast accepted"
else
  rc=$?
  [ "$rc" -eq 2 ] && grep -q "ADX_CONV is 'fast'" "$tmp/err" && ok "ADX_CONV=fast refused (exit 2, variable named)" ||
    { bad "ADX_CONV=fast: exit $rc"; cat "$tmp/err"; }
fi
# adx info --build names the convolution path
if "$ADX" info --build >"$tmp/build" 2>&1 && grep -q "^convolution: oneDNN [0-9.]* convolution primitive" "$tmp/build" &&
  ADX_CONV=blas "$ADX" info --build 2>&1 | grep -q "^convolution: im2col + OpenBLAS"; then
  ok "adx info --build names the convolution path"
else
  bad "adx info --build: convolution line"
  cat "$tmp/build"
fi

# names of the N images in an (N,C,H,W) array
if "$PY" -c "
import json, sys
rows = [json.loads(l) for l in open('$tmp/resnet.jsonl')]
assert [r['image'] for r in rows] == ['$DATA/fashion_test32_input.npy[%d]' % i for i in range(32)]
assert 'logits' in rows[0]
"; then ok "npy sample names path[i]"; else bad "npy sample names"; fi

# batch composition does not change the result (batch 5: 6 full batches and one of 2)
"$ADX" predict --model "$DATA/fashion_resnet.onnx" --logits --batch 5 --threads 1 "$DATA/fashion_test32_input.npy" \
  >"$tmp/b5.jsonl" 2>"$tmp/err"
if compare "$tmp/b5.jsonl" "$DATA/fashion_resnet_logits.npy" 0 32; then ok "--batch 5 --threads 1"; else
  bad "--batch 5"
  cat "$tmp/err"
fi

# PNGs through preprocessing: raw/255, mean 0.2860, std 0.3530 (fixtures.json) reproduce the model input
pngs=()
for i in 0 1 2 3 4 5 6 7; do pngs+=("$DATA/img/fashion_$i.png"); done
"$ADX" predict --model "$DATA/fashion_resnet.onnx" --logits --mean 0.2860 --std 0.3530 "${pngs[@]}" \
  >"$tmp/png.jsonl" 2>"$tmp/err"
if compare "$tmp/png.jsonl" "$DATA/fashion_resnet_logits.npy" 0 8; then ok "8 PNGs with --mean/--std"; else
  bad "PNG preprocessing"
  cat "$tmp/err"
fi

# the same settings from a config file; flags override it (--top 2 over top = 3)
cat >"$tmp/c.ini" <<EOF
; adx predict settings
[preprocess]
scale = 1/255
mean = 0.2860
std = 0.3530
[predict]
logits = true
top = 3
[explain]
other = ignored by predict
EOF
"$ADX" predict --model "$DATA/fashion_resnet.onnx" --config "$tmp/c.ini" "${pngs[@]:0:3}" >"$tmp/cfg.jsonl" 2>"$tmp/err"
if compare "$tmp/cfg.jsonl" "$DATA/fashion_resnet_logits.npy" 0 3 3; then ok "--config [preprocess] and [predict]"; else
  bad "--config"
  cat "$tmp/err"
fi
"$ADX" predict --model "$DATA/fashion_resnet.onnx" --config "$tmp/c.ini" --top 2 "${pngs[0]}" >"$tmp/cfg2.jsonl" 2>"$tmp/err"
if compare "$tmp/cfg2.jsonl" "$DATA/fashion_resnet_logits.npy" 0 1 2; then ok "flags override the config"; else
  bad "flag override"
  cat "$tmp/err"
fi

# a single (C,H,W) array, and a file name that needs JSON escaping
"$PY" -c "
import numpy as np
np.save('$tmp/one.npy', np.load('$DATA/fashion_test32_input.npy')[3])
np.save('$tmp/u8.npy', np.zeros((2, 1, 28, 28), np.uint8))
np.save('$tmp/wrong.npy', np.zeros((2, 3), np.float32))
np.save('$tmp/wrong4.npy', np.zeros((1, 3, 28, 28), np.float32))
np.save('$tmp/i64.npy', np.zeros((1, 1, 28, 28), np.int64))
"
weird="$tmp/we\"ird\\na me\ttab.npy"
cp "$tmp/one.npy" "$weird"
"$ADX" predict --model "$DATA/fashion_resnet.onnx" --logits --top 10 "$tmp/one.npy" "$weird" >"$tmp/one.jsonl" 2>"$tmp/err"
if compare <(sed -n 1p "$tmp/one.jsonl") "$DATA/fashion_resnet_logits.npy" 3 1 10 &&
  "$PY" -c "
import json, sys
rows = [json.loads(l) for l in open('$tmp/one.jsonl')]
assert len(rows) == 2
assert rows[0]['image'] == sys.argv[1], rows[0]['image']
assert rows[1]['image'] == sys.argv[2], (rows[1]['image'], sys.argv[2])
assert rows[0]['logits'] == rows[1]['logits']
" "$tmp/one.npy" "$weird"; then ok "(C,H,W) array, JSON-escaped name"; else
  bad "(C,H,W) array / escaping"
  cat "$tmp/err"
fi

# uint8 arrays are fed as is (as floats), without logits by default
if "$ADX" predict --model "$DATA/fashion_resnet.onnx" "$tmp/u8.npy" >"$tmp/u8.jsonl" 2>"$tmp/err" &&
  "$PY" -c "
import json
rows = [json.loads(l) for l in open('$tmp/u8.jsonl')]
assert len(rows) == 2 and 'logits' not in rows[0] and len(rows[0]['top']) == 5
"; then ok "uint8 .npy, no --logits"; else
  bad "uint8 .npy"
  cat "$tmp/err"
fi

if "$ADX" predict --help | grep -q -- "--model"; then ok "--help"; else bad "--help"; fi

# --mode ad and fill with --mask: masks written here (grey PNG, nonzero = visible): all visible, left half
# hidden. All visible: AD equals plain exactly (A1), and so does fill:zero. Half hidden: AD differs from
# plain and from fill:mean; and no AD rule depends on the hidden pixels' content (A2: the image with its
# left half negated gives the same probabilities), while fill:mean does (the control), and so does the
# `leak` variant kept from adx 0.1.
"$PY" - "$tmp" <<'EOF'
import struct, sys, zlib
def png(path, rows):
    raw = b"".join(b"\0" + bytes(r) for r in rows)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
png(sys.argv[1] + "/mask_all.png", [[255] * 28 for _ in range(28)])
png(sys.argv[1] + "/mask_half.png", [[0] * 14 + [255] * 14 for _ in range(28)])
EOF
P=(--model "$DATA/fashion_resnet.onnx" --top 3)
probs() { "$PY" -c 'import json, sys; print(json.dumps(json.loads(open(sys.argv[1]).readline())["probs"]))' "$1"; }
"$PY" -c 'import numpy as np, sys
x = np.load(sys.argv[1])[:1].copy()  # one normalised image [1,1,28,28]
np.save(sys.argv[2], x)
x[..., :14] = -x[..., :14]           # the left half changed
np.save(sys.argv[3], x)' "$DATA/fashion_test32_input.npy" "$tmp/orig.npy" "$tmp/inverted.npy"
if "$ADX" predict "${P[@]}" "$tmp/orig.npy" >"$tmp/plain.json" 2>"$tmp/err" &&
  "$ADX" predict "${P[@]}" --mode ad --mask "$tmp/mask_all.png" "$tmp/orig.npy" >"$tmp/ad_all.json" 2>>"$tmp/err" &&
  "$ADX" predict "${P[@]}" --mode fill:zero --mask "$tmp/mask_all.png" "$tmp/orig.npy" >"$tmp/fz_all.json" 2>>"$tmp/err" &&
  "$ADX" predict "${P[@]}" --mode ad --mask "$tmp/mask_half.png" "$tmp/orig.npy" >"$tmp/ad_half.json" 2>>"$tmp/err" &&
  for r in strict ratio:0.5 loose ratio:0.5:all:leak; do
    "$ADX" predict "${P[@]}" --mode "ad:$r" --mask "$tmp/mask_half.png" "$tmp/orig.npy" >"$tmp/$r.half.json" 2>>"$tmp/err" &&
      "$ADX" predict "${P[@]}" --mode "ad:$r" --mask "$tmp/mask_half.png" "$tmp/inverted.npy" >"$tmp/$r.inv.json" 2>>"$tmp/err" ||
      { bad "--mode ad:$r with --mask: $(cat "$tmp/err")"; exit 1; }
  done &&
  "$ADX" predict "${P[@]}" --mode fill:mean --mask "$tmp/mask_half.png" "$tmp/orig.npy" >"$tmp/fm_half.json" 2>>"$tmp/err" &&
  "$ADX" predict "${P[@]}" --mode fill:mean --mask "$tmp/mask_half.png" "$tmp/inverted.npy" >"$tmp/fm_inv.json" 2>>"$tmp/err"; then
  pl=$(probs "$tmp/plain.json")
  adh=$(probs "$tmp/ad_half.json")
  [ "$(probs "$tmp/ad_all.json")" = "$pl" ] && ok "--mode ad, all visible: the plain probabilities exactly" ||
    bad "--mode ad, all visible: $(probs "$tmp/ad_all.json") differs from plain $pl"
  [ "$(probs "$tmp/fz_all.json")" = "$pl" ] && ok "--mode fill:zero, all visible: the plain probabilities exactly" ||
    bad "--mode fill:zero, all visible: differs from plain"
  [ "$adh" != "$pl" ] && [ "$adh" != "$(probs "$tmp/fm_half.json")" ] &&
    ok "--mode ad, half hidden: differs from plain and from fill:mean" ||
    bad "--mode ad, half hidden: the same answer as plain or fill:mean ($adh)"
  for r in strict ratio:0.5 loose; do
    [ "$(probs "$tmp/$r.inv.json")" = "$(probs "$tmp/$r.half.json")" ] &&
      ok "--mode ad:$r: the hidden half's content changes nothing" ||
      bad "--mode ad:$r depends on hidden pixels: $(probs "$tmp/$r.inv.json") vs $(probs "$tmp/$r.half.json")"
  done
  r=ratio:0.5:all:leak
  [ "$(probs "$tmp/$r.inv.json")" != "$(probs "$tmp/$r.half.json")" ] &&
    ok "--mode ad:$r (adx 0.1): the hidden half's content leaks (control)" ||
    bad "--mode ad:$r does not leak: the isolation checks above could not fail"
  [ "$(probs "$tmp/fm_inv.json")" != "$(probs "$tmp/fm_half.json")" ] &&
    ok "--mode fill:mean: the hidden half's content matters (control)" ||
    bad "--mode fill:mean ignores the hidden half: the AD check above could not fail"
else
  bad "--mode ad / fill with --mask"
  cat "$tmp/err"
fi

# -------------------------------------------------------------------- bad input: exit 2, one line naming the file
head -c 3000 "$DATA/fashion_resnet.onnx" >"$tmp/truncated.onnx"
printf '[preprocess]\nresize = 28\nthis is not ini\n' >"$tmp/syntax.ini"
printf '[preprocess]\nstd = 0\n' >"$tmp/badstd.ini"
printf '[predict]\ntpo = 3\n' >"$tmp/badkey.ini"
printf '[preprocess]\nscale = 1/255\n\n[predcit]\ntop = 3\n' >"$tmp/badsect.ini"

# expect_fail NAME NEEDLE ARGS...: exit status 2, nothing on stdout, one stderr line "adx predict: ...NEEDLE..."
expect_fail() {
  local name=$1 needle=$2
  shift 2
  "$ADX" predict "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  local lines
  lines=$(wc -l <"$tmp/err")
  if [ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] && [ "$lines" -eq 1 ] && grep -q '^adx predict: ' "$tmp/err" &&
    grep -qF -- "$needle" "$tmp/err"; then
    ok "$name -> exit 2: $(cat "$tmp/err")"
  else
    bad "$name: exit $rc, $lines stderr lines, stdout $(wc -c <"$tmp/out") bytes, stderr:"
    cat "$tmp/err"
  fi
}
M=(--model "$DATA/fashion_resnet.onnx")
expect_fail "missing model" "$tmp/nosuch.onnx" --model "$tmp/nosuch.onnx" "${pngs[0]}"
expect_fail "truncated model" "$tmp/truncated.onnx" --model "$tmp/truncated.onnx" "${pngs[0]}"
expect_fail "missing image" "$tmp/nosuch.png" "${M[@]}" "${pngs[0]}" "$tmp/nosuch.png"
expect_fail "not an image" "not_an_image.png" "${M[@]}" "$DATA/img/bad/not_an_image.png"
expect_fail "truncated PNG" "truncated.png" "${M[@]}" "$DATA/img/bad/truncated.png"
expect_fail "huge-dimension PNG" "huge.png" "${M[@]}" "$DATA/img/bad/huge.png"
expect_fail "wrong-shape npy" "[1,28,28]" "${M[@]}" "$tmp/wrong.npy"
expect_fail "wrong-channels npy" "wrong4.npy" "${M[@]}" "$tmp/wrong4.npy"
expect_fail "int64 npy" "i64.npy" "${M[@]}" "$tmp/i64.npy"
expect_fail "RGB image for a grey model, wrong size" "flat_rgb.jpg" "${M[@]}" "$DATA/img/io/flat_rgb.jpg"
expect_fail "no --model" "--model" "${pngs[0]}"
expect_fail "no image" "IMAGE" "${M[@]}"
expect_fail "unknown option" "--frobnicate" "${M[@]}" --frobnicate "${pngs[0]}"
expect_fail "bad --top" "--top" "${M[@]}" --top x "${pngs[0]}"
expect_fail "bad --std" "std" "${M[@]}" --std 0 "${pngs[0]}"
expect_fail "--mode ad without --mask" "--mode ad needs --mask" "${M[@]}" --mode ad "${pngs[0]}"
expect_fail "unknown --mode" "bogus" "${M[@]}" --mode bogus "${pngs[0]}"
expect_fail "--mask with plain" "--mask" "${M[@]}" --mask "${pngs[0]}" "${pngs[0]}"
expect_fail "--ad-rule with plain" "--ad-rule" "${M[@]}" --ad-rule strict "${pngs[0]}"
expect_fail "config syntax error" "syntax.ini:3:" "${M[@]}" --config "$tmp/syntax.ini" "${pngs[0]}"
expect_fail "config bad value" "badstd.ini:2:" "${M[@]}" --config "$tmp/badstd.ini" "${pngs[0]}"
expect_fail "config unknown key" "badkey.ini:2:" "${M[@]}" --config "$tmp/badkey.ini" "${pngs[0]}"
expect_fail "missing config" "nosuch.ini" "${M[@]}" --config "$tmp/nosuch.ini" "${pngs[0]}"
expect_fail "config misspelt section" "badsect.ini:5: unknown section [predcit]" "${M[@]}" --config "$tmp/badsect.ini" "${pngs[0]}"
# adx explain refuses it the same way, before anything is written
"$ADX" explain "${M[@]}" --config "$tmp/badsect.ini" --data "${pngs[0]}" -o "$tmp/sect.h5" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -qF "adx explain: $tmp/badsect.ini:5: unknown section [predcit]" "$tmp/err" && [ ! -e "$tmp/sect.h5" ]; then
  ok "adx explain, config misspelt section -> exit 2, no file: $(cat "$tmp/err")"
else
  bad "adx explain, config misspelt section: exit $rc, file $([ -e "$tmp/sect.h5" ] && echo written || echo absent), stderr:"
  cat "$tmp/err"
fi
# a misspelt [explain] key is refused even with an empty value (an empty value of a known key keeps the default)
printf '[explain]\niters =\ntree_dpeth =\n' >"$tmp/emptykey.ini"
"$ADX" explain "${M[@]}" --config "$tmp/emptykey.ini" --data "${pngs[0]}" -o "$tmp/ek.h5" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -qF "emptykey.ini:3: unknown key 'tree_dpeth' in [explain]" "$tmp/err" && [ ! -e "$tmp/ek.h5" ]; then
  ok "adx explain, misspelt key with an empty value -> exit 2, no file"
else
  bad "adx explain, misspelt key with an empty value: exit $rc, file $([ -e "$tmp/ek.h5" ] && echo written || echo absent), stderr:"
  cat "$tmp/err"
fi

finish
