#!/usr/bin/env bash
# The work counter's two implementations (src/dist/dist.c):
# - the unit test of the counter on 3 oversubscribed ranks, with the one-sided window, and over TCP with
#   osc/rdma forced, where Open MPI 4.1.4's MPI_Win_allocate fails with MPI_ERR_WIN and the point-to-point
#   fallback is taken for real;
# - adx explain through the same failure: one line on stderr says so, the run finishes, and its file equals
#   a normal run's; ADX_COUNTER=p2p forces the fallback on 3 ranks with the same result.
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
ADX=${ADX:-bin/adx}
B=${ADX_BUILD:-build/release}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mpi=(mpirun --oversubscribe --bind-to none)
broken=(--mca btl tcp,self --mca osc rdma) # what an Ethernet cluster gives: no shared memory, no network atomics

if [ -x "$B/tests/dist/test_dist" ] || make -s "$B/tests/dist/test_dist" >"$t/make.log" 2>&1; then
  timeout 120 "${mpi[@]}" -np 3 "$B/tests/dist/test_dist" >"$t/u1.log" 2>&1 && ok "counter unit test, 3 ranks, window" ||
    { bad "counter unit test, 3 ranks"; tail -20 "$t/u1.log"; }
  ADX_TEST_EXPECT_COUNTER=p2p timeout 120 "${mpi[@]}" -np 3 "${broken[@]}" -x ADX_TEST_EXPECT_COUNTER \
    "$B/tests/dist/test_dist" >"$t/u2.log" 2>&1 && ok "counter unit test, 3 ranks, tcp + osc/rdma: fallback" ||
    { bad "counter unit test, tcp + osc/rdma"; tail -20 "$t/u2.log"; }
else
  bad "cannot build $B/tests/dist/test_dist"
  tail "$t/make.log"
fi

common=(--model tests/data/fashion_resnet.onnx --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
  --scale 1/255 --mean 0.2860 --std 0.3530 --limit 6 --iters 2 --modes ad,fill:zero --k-colour 3 --k-context 3
  --backgrounds 10 --seed 5 --threads 1 --progress off)
msg="work counter falls back to point-to-point"
timeout 300 "${mpi[@]}" -np 2 "$ADX" explain "${common[@]}" -o "$t/ref.h5" >"$t/ref.log" 2>&1 &&
  ok "reference run (window)" || { bad "reference run"; tail "$t/ref.log"; }
grep -q "$msg" "$t/ref.log" && bad "the reference run fell back" || ok "the reference run used the window"

timeout 300 "${mpi[@]}" -np 2 "${broken[@]}" "$ADX" explain "${common[@]}" -o "$t/tcp.h5" >"$t/tcp.log" 2>&1 &&
  ok "tcp + osc/rdma run finishes" || { bad "tcp + osc/rdma run"; tail "$t/tcp.log"; }
[ "$(grep -c "$msg" "$t/tcp.log")" = 1 ] && ok "one line says the counter fell back" ||
  { bad "fallback line missing or repeated"; cat "$t/tcp.log"; }
grep -q "MPI_ERR_WIN" "$t/tcp.log" && ok "the line names the MPI error" || bad "the line does not name MPI_ERR_WIN"
/usr/bin/python3 scripts/h5compare.py "$t/ref.h5" "$t/tcp.h5" >"$t/cmp1.log" 2>&1 && ok "fallback file equals the reference" ||
  { bad "fallback file differs"; head "$t/cmp1.log"; }

ADX_COUNTER=p2p timeout 300 "${mpi[@]}" -np 3 -x ADX_COUNTER "$ADX" explain "${common[@]}" -o "$t/p2p.h5" >"$t/p2p.log" 2>&1 &&
  ok "ADX_COUNTER=p2p run, 3 ranks" || { bad "ADX_COUNTER=p2p run"; tail "$t/p2p.log"; }
/usr/bin/python3 scripts/h5compare.py "$t/ref.h5" "$t/p2p.h5" >"$t/cmp2.log" 2>&1 && ok "p2p file equals the reference" ||
  { bad "p2p file differs"; head "$t/cmp2.log"; }
finish
