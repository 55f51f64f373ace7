#!/usr/bin/env bash
# One spelling of an AD variant in every command, the refusals of malformed variants, and the labelling
# of results files written before AD isolated hidden pixels.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
. tests/integration/lib.sh
ADX=${ADX:-$ROOT/bin/adx}
D=${ADX_TEST_DATA:-$ROOT/tests/data}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
M=$D/fashion_resnet.onnx
IMG=$D/img/fashion_0.png
PRE=(--mean 0.2860 --std 0.3530)
/usr/bin/python3 - "$w/box.png" <<'PY'
import struct, sys, zlib
rows = [[0 if 13 <= y < 15 and 13 <= x < 15 else 255 for x in range(28)] for y in range(28)]
raw = b"".join(b"\0" + bytes(r) for r in rows)
ch = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + ch(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))
                              + ch(b"IDAT", zlib.compress(raw)) + ch(b"IEND", b""))
PY
logits() { "$ADX" predict --model "$M" "${PRE[@]}" --logits --mask "$w/box.png" "$@" "$IMG" | sed 's/.*"logits"//'; }

# the flags set what a bare 'ad' means, and a spelled-out mode means the same everywhere
a=$(logits --mode ad --ad-rule strict --ad-renorm partial)
b=$(logits --mode ad:strict:all:partial:every)
[ -n "$a" ] && [ "$a" = "$b" ] && ok "predict: --mode ad --ad-rule strict --ad-renorm partial = ad:strict:all:partial:every" \
  || bad "predict: flags and the spelled-out variant differ ($a / $b)"
a=$(logits --mode ad)
b=$(logits --mode ad:ratio:0.5:all:none:every)
[ "$a" = "$b" ] && ok "predict: bare ad is ad:ratio:0.5:all:none:every" || bad "predict: bare ad is not the documented default"
c=$(logits --mode ad:ratio:0.5:all:leak:every)
[ "$a" != "$c" ] && ok "predict: the 2x2 box hides something under the default, unlike leak" || bad "predict: default = leak"

# refusals, exit 2, with the valid forms
for args in "--mode ad:ratio:0.5:all:bogus" "--mode ad:sometimes" "--mode ad --ad-renorm full" \
  "--mode ad --ad-at sometimes" "--mode ad:strict --ad-rule loose" "--mode fill:zero --ad-pool active"; do
  # shellcheck disable=SC2086
  out=$("$ADX" predict --model "$M" --mask "$w/box.png" $args "$IMG" 2>&1)
  rc=$?
  if [ $rc -eq 2 ] && grep -qE "valid: |bare" <<<"$out"; then ok "predict $args: exit 2, says what is valid"
  else bad "predict $args: rc=$rc: $out"; fi
done
out=$("$ADX" bench --model "$M" --batch 2 --threads 1 --no-conv --seconds 0.05 --visible 0.5 --mode ad:strict --ad-rule loose 2>&1)
[ $? -eq 2 ] && ok "bench: --ad-rule with no bare ad is refused (no silent override)" || bad "bench: $out"
out=$("$ADX" bench --model "$M" --batch 2 --threads 1 --no-conv --seconds 0.05 --visible 0.5 --mode ad,ad:loose --ad-rule strict 2>&1)
grep -q "mode ad:strict:all:none:every" <<<"$out" && grep -q "mode ad:loose:all:none:every" <<<"$out" &&
  ok "bench: bare ad takes the flags, ad:loose keeps its own rule" || bad "bench: $out"
# incremental fill queries in the bench: a hidden box, rates per CPU second; a bad ADX_INCREMENTAL is refused
out=$(ADX_INCREMENTAL=1 "$ADX" bench --model "$M" --batch 2 --threads 1 --no-conv --seconds 0.05 --visible 0.9 --mode fill:zero --hidden-box --cpu-time 2>&1)
grep -q "mutants/CPU s, mode fill:zero, batch 2, random rectangular hidden regions, incremental" <<<"$out" &&
  ok "bench: --hidden-box --cpu-time under ADX_INCREMENTAL=1" || bad "bench incremental: $out"
out=$(ADX_INCREMENTAL=yes "$ADX" bench --model "$M" --batch 2 --threads 1 --no-conv --seconds 0.05 --visible 0.9 --mode fill:zero 2>&1)
[ $? -ne 0 ] && grep -q "ADX_INCREMENTAL is 'yes'" <<<"$out" && ok "bench: ADX_INCREMENTAL=yes is refused" ||
  bad "bench ADX_INCREMENTAL=yes: $out"

# explain records each mode's full variant; a resume with another meaning of 'ad' is refused
export OMP_NUM_THREADS=1
ex=(explain --model "$M" --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz "${PRE[@]}" --limit 2
  --iters 2 --k-colour 2 --k-context 2 --backgrounds 4 --auc-steps 4 --progress off --modes ad,ad:strict,fill:zero)
if "$ADX" "${ex[@]}" --ad-renorm partial -o "$w/r.h5" >"$w/log" 2>&1; then
  v=$(/usr/bin/python3 -c "import h5py,sys; print(','.join(x.decode() if isinstance(x,bytes) else x for x in h5py.File(sys.argv[1],'r').attrs['mode_variants']))" "$w/r.h5")
  [ "$v" = "ad:ratio:0.5:all:partial:every,ad:strict:all:none:every,fill:zero" ] && ok "explain: mode_variants = $v" \
    || bad "explain: mode_variants = $v"
  out=$("$ADX" "${ex[@]}" --resume -o "$w/r.h5" 2>&1)
  rc=$?
  [ $rc -eq 2 ] && grep -q "ad:ratio:0.5:all:partial:every" <<<"$out" && ok "explain --resume with another 'ad' is refused, naming the variants" \
    || bad "explain --resume with another 'ad': rc=$rc $out"
else
  bad "explain failed: $(tail -5 "$w/log")"
fi
# a resume by another adx version says so and goes on (the file's adx_version rewritten to an older one)
if "$ADX" "${ex[@]}" --ad-renorm partial --force -o "$w/v.h5" >"$w/vlog" 2>&1 &&
  /usr/bin/python3 -c "import h5py,sys; f=h5py.File(sys.argv[1],'r+'); f.attrs.modify('adx_version', b'0.0.9')" "$w/v.h5"; then
  out=$("$ADX" "${ex[@]}" --ad-renorm partial --resume --force -o "$w/v.h5" 2>&1)
  rc=$?
  [ $rc -eq 0 ] && grep -q "was started by adx 0.0.9 and is resumed by adx $("$ADX" --version | cut -d' ' -f2)" <<<"$out" &&
    ok "explain --resume by another version notes both versions and goes on" || bad "resume across versions: rc=$rc $out"
  out=$("$ADX" "${ex[@]}" --ad-renorm partial --resume --force -o "$w/r.h5" 2>&1)
  ! grep -q "was started by adx" <<<"$out" && ok "explain --resume by the same version says nothing of versions" ||
    bad "resume, same version: $out"
else
  bad "explain for the version check failed: $(tail -5 "$w/vlog")"
fi
out=$("$ADX" "${ex[@]}" --modes fill:zero --ad-rule strict -o "$w/x.h5" 2>&1)
[ $? -eq 2 ] && [ ! -e "$w/x.h5" ] && ok "explain: --ad-rule with no bare ad is refused, nothing written" || bad "explain: $out"

# sliding takes incremental queries (fill and AD) by default on the oneDNN path (exact there): the log says
# so, and the file equals one computed with ADX_INCREMENTAL=0; ADX_INCREMENTAL=0 turns it off
sl=("${ex[@]}" --explainer sliding --modes ad,fill:zero,fill:blur)
if out=$("$ADX" "${sl[@]}" -o "$w/s1.h5" 2>&1) && out0=$(ADX_INCREMENTAL=0 "$ADX" "${sl[@]}" -o "$w/s0.h5" 2>&1); then
  if [ -z "${ADX_CONV:-}" ] && [ -z "${ADX_LAYOUT:-}" ]; then # the default engine: oneDNN, blocked layout
    grep -q "explainer sliding.*incremental queries (fill and AD)" <<<"$out" && ok "sliding: incremental queries by default" ||
      bad "sliding default: $out"
  fi
  ! grep -q "incremental queries" <<<"$out0" && ok "sliding: ADX_INCREMENTAL=0 turns it off" || bad "sliding, off: $out0"
  /usr/bin/python3 "$ROOT/scripts/h5compare.py" "$w/s0.h5" "$w/s1.h5" >"$w/scmp" 2>&1 &&
    ok "sliding: incremental and full files are equal" || bad "sliding incremental differs: $(head -5 "$w/scmp")"
else
  bad "sliding explain failed: $out $out0"
fi
out=$("$ADX" "${ex[@]}" --explainer rex --modes fill:zero -o "$w/rx.h5" 2>&1)
! grep -q "incremental queries" <<<"$out" && ok "rex: no incremental queries by default" || bad "rex default: $out"

# a results file written before isolation is read, its AD mode labelled with what it computed
out=$("$ADX" summary "$ROOT/tests/fuzz/corpus/results/finished.h5" 2>&1)
grep -q "AD variant: ad = ad:ratio:0.5:all:leak:every" <<<"$out" && ok "summary labels an adx 0.1 file's 'ad' as the leak variant" \
  || bad "summary of an old file: $out"
finish
