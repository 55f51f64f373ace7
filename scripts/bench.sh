#!/usr/bin/env bash
# `make bench`: adx throughput against same-run references, written to build/bench/report.txt.
#   1. ResNet-18 224x224 whole-model images/s: adx vs ONNX Runtime (onnxruntime-node) vs PyTorch (eager),
#      interleaved per (batch, threads) so machine noise hits all three alike; ROUNDS rounds, best kept.
#   2. adx conv layers vs cblas_sgemm of the same M,N,K (ResNet-18, batch 16, 1 and 2 threads).
#   3. AD mutant throughput vs fill:zero mutants and plain forward (fashion_resnet b64, ResNet-18 b16),
#      and the convolution work a mutant costs in each mode (oneDNN's own log, DNNL_VERBOSE).
#   4. A PASS/FAIL line per performance target (see docs/performance.md).
# Environment: BENCH_SECONDS (time per measurement, default 2), BENCH_ROUNDS (default 2),
#   BENCH_BATCHES (default "1 16"), BENCH_THREADS (default "1 2"), ADX (default bin/adx),
#   ADX_PEERS_DIR (default build/peers). OMP_NUM_THREADS is set per run; OPENBLAS_CORETYPE is left alone.
# Peers are installed if missing: onnxruntime-node via npm into build/peers; torch is the Debian
# python3-torch (scripts/install-deps.sh). A peer that cannot run is reported as n/a, not fatal.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

S=${BENCH_SECONDS:-2}
ROUNDS=${BENCH_ROUNDS:-2}
BATCHES=${BENCH_BATCHES:-1 16}
THREADS=${BENCH_THREADS:-1 2}
ADX=${ADX:-bin/adx}
PY=/usr/bin/python3
OUT=build/bench
PEERS=${ADX_PEERS_DIR:-build/peers}
ORT_VERSION=1.30.0
R18=$OUT/resnet18.onnx
FASHION=tests/data/fashion_resnet.onnx
export ADX_PEERS_DIR=$PEERS OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

mkdir -p "$OUT"
REPORT=$OUT/report.txt
exec > >(tee "$REPORT") 2>&1
TEE_PID=$!
T0=$(date +%s)

die() { echo "bench.sh: $*" >&2; exit 1; }
[ -x "$ADX" ] || die "$ADX not found (run make)"

# ---- peers and models -------------------------------------------------------------------------
have_ort=1
if [ ! -f "$PEERS/node_modules/onnxruntime-node/package.json" ]; then
  if command -v npm >/dev/null; then
    echo "bench.sh: installing onnxruntime-node@$ORT_VERSION into $PEERS"
    npm install --prefix "$PEERS" --ignore-scripts --no-audit --no-fund "onnxruntime-node@$ORT_VERSION" >/dev/null ||
      have_ort=0
  else
    have_ort=0
  fi
fi
command -v node >/dev/null || have_ort=0
[ $have_ort = 1 ] || echo "bench.sh: onnxruntime-node unavailable (needs node and npm); ORT columns are n/a"
have_torch=1
$PY -c 'import torch' 2>/dev/null || { have_torch=0; echo "bench.sh: python3-torch missing; torch columns are n/a"; }

if [ ! -f "$R18" ] || [ ! -f "$OUT/resnet18.pt" ]; then
  [ $have_torch = 1 ] || die "$R18 missing and torch unavailable to make it (scripts/install-deps.sh)"
  $PY scripts/make_bench_models.py "$OUT" || die "scripts/make_bench_models.py failed"
fi

# ---- header -----------------------------------------------------------------------------------
echo "adx benchmark report  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')," \
  "$(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), load avg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "adx: $ADX ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))  OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
blas_core=$(OPENBLAS_VERBOSE=2 "$ADX" --version 2>&1 | sed -n 's/^Core: //p' | head -1)
dnnl_isa=$(ONEDNN_VERBOSE=1 OMP_NUM_THREADS=1 "$ADX" bench --model "$FASHION" --batch 1 --threads 1 --no-conv --seconds 0.01 2>&1 |
  sed -n 's/.*info,cpu,isa://p' | head -1)
echo "kernels: OpenBLAS core ${blas_core:-?}, oneDNN ISA ${dnnl_isa:-?}, ADX_CONV=${ADX_CONV:-dnnl (default)}"
echo "peers: onnxruntime-node $([ $have_ort = 1 ] && node -p "require('./$PEERS/node_modules/onnxruntime-node/package.json').version" 2>/dev/null || echo n/a)," \
  "torch $([ $have_torch = 1 ] && $PY -c 'import torch; print(torch.__version__)' 2>/dev/null || echo n/a)," \
  "node $(node --version 2>/dev/null || echo n/a)"
echo "protocol: ${S}s per measurement after warm-up, $ROUNDS interleaved rounds, best round kept"

# ---- 1. whole model: adx vs ORT vs torch --------------------------------------------------------
# adx images/s from the 'whole model' table of `adx bench` (single batch and thread count).
adx_rate() { # model batch threads
  OMP_NUM_THREADS=$3 "$ADX" bench --model "$1" --batch "$2" --threads "$3" --no-conv --seconds "$S" 2>&1 |
    awk -v b="$2" '/^whole model/ {w = 1; next} w && $1 == b {print $2; exit}'
}
json_rate() { sed -n 's/.*"images_per_s": *\([0-9.eE+-]*\).*/\1/p' | head -1; }
ort_rate() { OMP_NUM_THREADS=$3 node scripts/bench_peers.js "$1" "$2" "$3" "$S" 2>&1 | json_rate; }
torch_rate() { OMP_NUM_THREADS=$3 $PY scripts/bench_peers.py "$1" "$2" "$3" "$S" 2>&1 | json_rate; }
best() { # current new -> max, ignoring empty
  if [ -z "$2" ]; then echo "$1"; elif [ -z "$1" ]; then echo "$2"; else awk -v a="$1" -v b="$2" 'BEGIN {print (b > a) ? b : a}'; fi
}

declare -A RA RB RD RO RT
# (model, batch, threads) cases: ResNet-18 at BATCHES x THREADS, the Fashion ResNet fixture at batch 64 and
# 256 with 2 threads. adx = the engine's default path (oneDNN convolutions); adx-direct = ADX_CONV=dnnl-direct (no Winograd); adx-blas = ADX_CONV=blas.
CASES=()
for b in $BATCHES; do for t in $THREADS; do CASES+=("resnet18:$R18:$b:$t"); done; done
for b in ${FASHION_BATCHES:-64 256}; do CASES+=("fashion:$FASHION:$b:2"); done
echo
echo "== whole model, images/s (raw, per round) =="
printf '%-6s %-9s %-5s %-7s %10s %10s %10s %10s %10s\n' round model batch threads adx adx-direct adx-blas ort torch
for r in $(seq 1 "$ROUNDS"); do
  for c in "${CASES[@]}"; do
    IFS=: read -r name model b t <<<"$c"
    k="$name,$b,$t"
    a=$(adx_rate "$model" "$b" "$t")
    d=$(ADX_CONV=dnnl-direct adx_rate "$model" "$b" "$t")
    l=$(ADX_CONV=blas adx_rate "$model" "$b" "$t")
    o=""; [ $have_ort = 1 ] && o=$(ort_rate "$model" "$b" "$t")
    p=""; [ $have_torch = 1 ] && p=$(torch_rate "$model" "$b" "$t")
    printf '%-6s %-9s %-5s %-7s %10s %10s %10s %10s %10s\n' "$r" "$name" "$b" "$t" "${a:-fail}" "${d:-fail}" "${l:-fail}" "${o:-n/a}" "${p:-n/a}"
    RA[$k]=$(best "${RA[$k]:-}" "$a"); RB[$k]=$(best "${RB[$k]:-}" "$l"); RD[$k]=$(best "${RD[$k]:-}" "$d")
    RO[$k]=$(best "${RO[$k]:-}" "$o"); RT[$k]=$(best "${RT[$k]:-}" "$p")
  done
done
ratio() { if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; else echo n/a; fi; }
echo
echo "== whole model, images/s (best of $ROUNDS) =="
printf '%-9s %-5s %-7s %10s %10s %10s %10s %10s %8s %9s\n' model batch threads adx adx-direct adx-blas ORT torch adx/ORT adx/torch
for c in "${CASES[@]}"; do
  IFS=: read -r name model b t <<<"$c"
  k="$name,$b,$t"
  printf '%-9s %-5s %-7s %10s %10s %10s %10s %10s %8s %9s\n' "$name" "$b" "$t" "${RA[$k]:-fail}" "${RD[$k]:-fail}" "${RB[$k]:-fail}" "${RO[$k]:-n/a}" "${RT[$k]:-n/a}" \
    "$(ratio "${RA[$k]:-}" "${RO[$k]:-}")" "$(ratio "${RA[$k]:-}" "${RT[$k]:-}")"
done

# ---- 2. conv layers vs SGEMM ---------------------------------------------------------------------
echo
echo "== adx conv layers vs cblas_sgemm, ResNet-18 batch 16 =="
echo "\$ $ADX bench --model $R18 --batch 16 --threads 1,2 --seconds $S"
CONV=$OUT/conv.txt
OMP_NUM_THREADS=2 "$ADX" bench --model "$R18" --batch 16 --threads 1,2 --seconds "$S" >"$CONV" 2>&1 ||
  echo "bench.sh: adx bench (conv) failed"
cat "$CONV"

# ---- 3. AD mutants --------------------------------------------------------------------------------
AD1=$OUT/ad_fashion.txt AD2=$OUT/ad_resnet18.txt
echo
echo "== AD mutants/s, fashion_resnet 28x28, batch 64, 2 threads =="
echo "\$ $ADX bench --model $FASHION --batch 64 --threads 2 --mode ad,ad:ratio:0.5:all:leak:every,ad:strict:all:none:every,fill:zero --no-conv --seconds $S"
OMP_NUM_THREADS=2 "$ADX" bench --model "$FASHION" --batch 64 --threads 2 --mode ad,ad:ratio:0.5:all:leak:every,ad:strict:all:none:every,fill:zero --no-conv --seconds "$S" \
  >"$AD1" 2>&1 || echo "bench.sh: adx bench (AD, fashion) failed"
cat "$AD1"
echo
echo "== AD mutants/s, ResNet-18 224x224, batch 16, 2 threads =="
echo "\$ $ADX bench --model $R18 --batch 16 --threads 2 --mode ad,ad:ratio:0.5:all:leak:every,ad:strict:all:none:every,fill:zero --no-conv --seconds $S"
OMP_NUM_THREADS=2 "$ADX" bench --model "$R18" --batch 16 --threads 2 --mode ad,ad:ratio:0.5:all:leak:every,ad:strict:all:none:every,fill:zero --no-conv --seconds "$S" \
  >"$AD2" 2>&1 || echo "bench.sh: adx bench (AD, resnet18) failed"
cat "$AD2"

# ---- 3a. convolution work per mutant ------------------------------------------------------------------
# GFLOP of convolution oneDNN executed per sample (2 * ic * oc * oh * ow * kh * kw of every convolution it
# logs, whole layers and AD's crops alike, over the samples run), 1 thread, 50% visible: the work bound
# of the AD/fill ratio whatever the overheads (docs/performance.md, "AD at 50% visible: the work bound").
conv_work() { # model batch mode -> "GFLOP/sample kernel-ms/sample"
  DNNL_VERBOSE=1 OMP_NUM_THREADS=1 "$ADX" bench --model "$1" --batch "$2" --threads 1 --mode "$3" --visible 0.5 \
    --no-conv --seconds 0.5 2>&1 | awk '
    /^mutants\// {m = 1; next}
    m && /onednn_verbose,exec,cpu,convolution/ { # the first one shares its line with the table row
      n = split(substr($0, index($0, "onednn_verbose")), f, ","); s = f[n - 1]; fl = 2
      split("ic oc oh ow kh kw", k, " ")
      for (i = 1; i <= 6; i++) { match(s, k[i] "[0-9]+"); fl *= substr(s, RSTART + 2, RLENGTH - 2) }
      if (s ~ /^mb1_ic[0-9]+oc/ && !first) first = substr(s, 1, index(s, "oc") - 1)
      F += fl; T += f[n]; if (index(s, first "oc") == 1) N++
    }
    END { if (N) printf "%.4f %.3f\n", F / N / 1e9, T / N }'
}
echo
echo "== convolution work per mutant at 50% visible, 1 thread (GFLOP and oneDNN kernel ms per sample) =="
printf '%-16s %-28s %12s %12s %14s\n' model mode GFLOP/sample ms/sample "fill/mode work"
for f in "$FASHION:64:fashion_resnet" "$R18:16:resnet18"; do
  IFS=: read -r model b name <<<"$f"
  wf=$(conv_work "$model" "$b" fill:zero)
  for mode in fill:zero ad:ratio:0.5:all:none:every ad:strict:all:none:every; do
    w=$wf; [ "$mode" = fill:zero ] || w=$(conv_work "$model" "$b" "$mode")
    printf '%-16s %-28s %12s %12s %14s\n' "$name" "$mode" "${w%% *}" "${w##* }" "$(ratio "${wf%% *}" "${w%% *}")"
  done
done
echo "(the first conv layer's executions count the samples; work = what the kernels ran, crops included)"

# ---- 3b. the ReX comparison, from adx's side ---------------------------------------------------------
# The 16 Fashion-MNIST test images ReX 0.3.1 was timed on (docs/performance.md), at ReX's default budget
# (20 iterations, depth 10), minimum box 10 px and 2 px, batch 64, 2 threads, with every metric ("all", the
# default) and without any ("none": --no-metrics, the explanations only).
REX_IDX="31 414 471 600 1042 1174 1380 1394 1619 1703 1716 1782 1929 2221 2405 2511"
REX16=$OUT/rex16.h5
if [ ! -f "$REX16" ]; then
  $PY - "$REX16" $REX_IDX <<'PYEOF' || echo "bench.sh: could not write $REX16 (python3-numpy, python3-h5py)"
import gzip, sys
import h5py, numpy as np
out, idx = sys.argv[1], [int(i) for i in sys.argv[2:]]
d = "/usr/share/datasets/fashion-mnist/"
im = np.frombuffer(gzip.open(d + "t10k-images-idx3-ubyte.gz").read(), np.uint8, offset=16).reshape(-1, 28, 28)
lb = np.frombuffer(gzip.open(d + "t10k-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
with h5py.File(out, "w") as f:
    f["images"] = im[idx]
    f["labels"] = lb[idx].astype(np.int64)
PYEOF
fi
echo
echo "== one explanation per image, the 16 ReX images, fashion_resnet, batch 64, 2 threads =="
echo "(metrics: 'all' = every metric and the judges, adx's default; 'none' = --no-metrics, the explanations only."
echo " queries/img: the explainer's mutants per image in the mode (the results file's queries, the same either way);"
echo " metric q/img: the metrics' own mutants per image and mode, both modes averaged (the run's log; 0 with none);"
echo " s/img: wall time per image in the mode, explainer plus, with 'all', the metrics)"
printf '%-8s %-8s %-10s %12s %13s %12s %10s\n' min-box metrics mode queries/img "metric q/img" s/img wall
for mb in 10 2; do
  for met in all none; do
    extra=(); [ "$met" = none ] && extra=(--no-metrics)
    res=$OUT/rex16_mb${mb}_$met.h5 txt=$OUT/rex16_mb${mb}_$met.txt
    t0=$(date +%s.%N)
    OMP_NUM_THREADS=2 "$ADX" explain --model "$FASHION" --data "$REX16" --modes ad,fill:zero --iters 20 --tree-depth 10 \
      --min-box-size "$mb" --batch 64 --threads 2 --progress off "${extra[@]}" --force -o "$res" >"$txt" 2>&1 ||
      { echo "bench.sh: adx explain (ReX images, min box $mb, metrics $met) failed"; continue; }
    wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
    mq=$(sed -n 's/.*mutant queries this session: .* explanations: [0-9.]* and \([0-9.]*\) per explanation.*/\1/p' "$txt" | head -1)
    awk -v mb="$mb" -v met="$met" -v wall="$wall" -v mq="${mq:-?}" '/^cost per image/ {w = 1; next} /^AD variant/ || /^ground truth/ || NF == 0 {w = 0} w && NF >= 4 {printf "%-8s %-8s %-10s %12s %13s %12s %9ss\n", mb, met, $1, $2, mq, $4, wall}' "$txt"
  done
done
echo "(ReX 0.3.1 with PyTorch, measured on these images by the issue's author, not by this script: 0.38-0.42 s per explanation)"

# ---- 4. targets -----------------------------------------------------------------------------------
check() { # label value op threshold  (value empty -> n/a)
  if ! [[ "$2" =~ ^[0-9]+(\.[0-9]*)?$ ]]; then printf -- '---- %s: n/a\n' "$1"; return; fi
  if awk -v v="$2" -v th="$4" -v op="$3" 'BEGIN {exit !(op == ">=" ? v >= th : v <= th)}'; then
    printf 'PASS %s: %s (target %s %s)\n' "$1" "$2" "$3" "$4"
  else
    printf 'FAIL %s: %s (target %s %s)\n' "$1" "$2" "$3" "$4"
  fi
}
# mutants/s at visible fraction v from the table of mode prefix m ("ad" or "fill")
mut_rate() { awk -v m="$2" -v v="$3" '/^mutants\/s, mode/ {w = ($3 ~ "^" m)} /^whole model/ {w = 0} w && $1 + 0 == v + 0 && $1 ~ /^[0-9]/ {print $2; exit}' "$1"; }
plain_rate() { awk -v b="$2" '/^whole model/ {w = 1; next} /^mutants/ {w = 0} w && $1 == b {print $2; exit}' "$1"; }
conv_ratio() { awk -v t="$2" '$1 == "all" && $2 == "conv" && $4 == t {gsub(/,/, "", $NF); print $NF; exit}' "$1"; }
worst_conv() { # worst per-layer adx/sgemm ratio at thread column c (1-based) -> "ratio node"
  awk -v c="$2" '/^conv layers/ {w = 1; getline; next} /^all conv/ {w = 0} w && NF >= 7 {r = $(4 + 4 * c) + 0; if (!n++ || r < m) {m = r; nm = $1}} END {if (n) printf "%.2f %s\n", m, nm}' "$1"
}

echo
echo "== targets =="
k="resnet18,16,2"
check "conv layers (all, 1 thread) adx/sgemm GFLOP/s" "$(conv_ratio "$CONV" 1)" ">=" 0.80
check "conv layers (all, 2 threads) adx/sgemm GFLOP/s" "$(conv_ratio "$CONV" 2)" ">=" 0.80
for c in 1 2; do
  wc=$(worst_conv "$CONV" "$c")
  [ -n "$wc" ] && check "worst single conv layer, $c thread(s) (${wc#* })" "${wc%% *}" ">=" 0.80
done
check "ResNet-18 b16 t2 adx/ORT images/s" "$(ratio "${RA[$k]:-}" "${RO[$k]:-}")" ">=" 1.2
check "ResNet-18 b16 t2 adx/torch images/s" "$(ratio "${RA[$k]:-}" "${RT[$k]:-}")" ">=" 2.0
for b in ${FASHION_BATCHES:-64 256}; do
  k="fashion,$b,2"
  check "Fashion ResNet b$b t2 adx/ORT images/s" "$(ratio "${RA[$k]:-}" "${RO[$k]:-}")" ">=" 1.0
done
for f in "$AD1:fashion_resnet b64" "$AD2:resnet18 b16"; do
  file=${f%%:*} name=${f#*:}
  # the default (isolating) AD, and adx 0.x's leaking AD measured in the same run as the "before"
  ad50=$(mut_rate "$file" ad:ratio:0.5:all:none:every 0.5) fill50=$(mut_rate "$file" fill 0.5)
  leak50=$(mut_rate "$file" ad:ratio:0.5:all:leak:every 0.5)
  ad100=$(mut_rate "$file" ad:ratio:0.5:all:none:every 1) plain=$(plain_rate "$file" "${name##* b}")
  r_new=$(ratio "$ad50" "$fill50") r_old=$(ratio "$leak50" "$fill50")
  th=1.5; [ "${name%% *}" = resnet18 ] && th=1.9
  check "$name t2 AD/fill:zero mutants/s at 50% visible" "$r_new" ">=" "$th"
  check "$name t2 isolating AD keeps the leaking AD's ratio to fill (leak: $r_old)" "$r_new" ">=" "${r_old:-0}"
  check "$name t2 AD at 100% visible / plain images/s" "$(ratio "$ad100" "$plain")" ">=" 0.90
  # not the default rule: strict isolation switches off every position whose window reads a hidden pixel
  strict50=$(mut_rate "$file" ad:strict:all:none:every 0.5)
  check "$name t2 AD under the strict rule (not the default)/fill:zero at 50% visible" "$(ratio "$strict50" "$fill50")" ">=" "$th"
done
echo
echo "bench.sh: done in $(($(date +%s) - T0))s; report in $REPORT"
exec >&- 2>&-
wait "$TEE_PID" 2>/dev/null || true
