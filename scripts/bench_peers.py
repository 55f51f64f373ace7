#!/usr/bin/python3
"""PyTorch (eager, CPU) throughput of a benchmark model, for comparison with `adx bench`.

Usage: scripts/bench_peers.py MODEL BATCH THREADS SECONDS
MODEL is the .pt written by scripts/make_bench_models.py ({"arch", "input_shape", "state_dict"}) or the
.onnx next to it (then the .pt with the same stem is used: the same network, exported from the same
torch module). Prints one JSON line: {"peer":"pytorch","batch":B,"threads":T,"images_per_s":R,...}
Protocol as scripts/bench_peers.js: torch.set_num_threads(THREADS), one inter-op thread,
torch.inference_mode(), 2 warm-up runs, then repeated runs for about SECONDS (at least 3).
"""
import json
import os
import sys
import time


def usage(msg):
    sys.stderr.write("bench_peers.py: %s\nusage: bench_peers.py MODEL BATCH THREADS SECONDS\n" % msg)
    sys.exit(2)


def main():
    if len(sys.argv) != 5:
        usage("expected 4 arguments")
    model_path = sys.argv[1]
    try:
        batch, threads, seconds = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    except ValueError:
        usage("BATCH and THREADS must be integers, SECONDS a number")
    if batch < 1 or threads < 1 or not seconds > 0:
        usage("BATCH and THREADS must be >= 1 and SECONDS > 0")
    if model_path.endswith(".onnx"):
        model_path = model_path[: -len(".onnx")] + ".pt"
    if not os.path.exists(model_path):
        usage("%s not found (run scripts/make_bench_models.py)" % model_path)

    import torch

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from make_bench_models import build

    ckpt = torch.load(model_path, map_location="cpu")
    model = build(ckpt["arch"])
    model.load_state_dict(ckpt["state_dict"])
    model.eval()

    g = torch.Generator().manual_seed(42)
    x = torch.rand([batch] + list(ckpt["input_shape"]), generator=g) * 2 - 1
    with torch.inference_mode():
        for _ in range(2):
            model(x)
        calls = 0
        t0 = time.perf_counter()
        while True:
            model(x)
            calls += 1
            t = time.perf_counter() - t0
            if t >= seconds and calls >= 3:
                break
    print(
        json.dumps(
            {
                "peer": "pytorch",
                "version": torch.__version__,
                "batch": batch,
                "threads": threads,
                "images_per_s": round(calls * batch / t, 2),
                "calls": calls,
                "seconds": round(t, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
