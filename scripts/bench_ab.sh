#!/usr/bin/env bash
# A/B whole-model throughput: two adx binaries and ONNX Runtime, alternated per case and round, so that
# load on a shared machine hits all three alike (docs/performance.md). Images/s as `adx bench` and
# scripts/bench_peers.js print them; ORT needs build/peers (scripts/bench.sh installs it).
# usage: scripts/bench_ab.sh OLD_ADX NEW_ADX [MODEL:BATCH ...]   (env: ROUNDS=3, S=2 seconds, THREADS=2)
set -u
old=${1:?usage: bench_ab.sh OLD_ADX NEW_ADX [MODEL:BATCH ...]} new=${2:?usage: bench_ab.sh OLD_ADX NEW_ADX [MODEL:BATCH ...]}
shift 2
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(tests/data/fashion_resnet.onnx:64 tests/data/fashion_resnet.onnx:256 build/bench/resnet18.onnx:16)
ROUNDS=${ROUNDS:-3} S=${S:-2} T=${THREADS:-2}
rate() { OMP_NUM_THREADS=$T "$1" bench --model "$2" --batch "$3" --threads "$T" --no-conv --seconds "$S" 2>&1 |
  awk -v b="$3" '/^whole model/ {w = 1; next} w && $1 == b {print $2; exit}'; }
ort() { OMP_NUM_THREADS=$T node scripts/bench_peers.js "$1" "$2" "$T" "$S" 2>&1 |
  sed -n 's/.*"images_per_s": *\([0-9.eE+-]*\).*/\1/p' | head -1; }
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-5s %-24s %5s %10s %10s %10s\n' round model batch old new ort
for r in $(seq 1 "$ROUNDS"); do
  for c in "${cases[@]}"; do
    m=${c%:*} b=${c#*:}
    printf '%-5s %-24s %5s %10s %10s %10s\n' "$r" "$(basename "$m")" "$b" "$(rate "$old" "$m" "$b")" \
      "$(rate "$new" "$m" "$b")" "$(ort "$m" "$b")"
  done
done
