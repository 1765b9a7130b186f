"""Forward + backward time of this package's spatial dropout against torch.nn.functional's.

For each shape, the implementations run interleaved in the same process (the order alternates
every round, so drift in the machine's speed hits both alike), and the median of the per-round
ratios ours / native is reported. The textbook line ``x * mask / (1 - p)`` is timed too: the same
small mask, but the division by 1 - p is a second full-size operation, forward and backward (for
the book's page on what dropout costs).

    python benchmarks/bench_dropout.py            # the shapes of the issue, CPU
    python benchmarks/bench_dropout.py --quick    # tiny shapes, a smoke run
    python benchmarks/bench_dropout.py --device cuda

Writes a table to the terminal and JSON to benchmarks/results/bench.json. Exits with status 1 if a
median ratio ours / native exceeds --threshold (default 1.10). The channels-last column times our
layer on the same data in (N, ..., C) layout, which PyTorch has no native spatial dropout for.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spatialdrop_edu import spatial_dropout  # noqa: E402

NATIVE = {1: F.dropout1d, 2: F.dropout2d, 3: F.dropout3d}
SHAPES = [  # (spatial dims, channels-first shape)
    (2, (64, 64, 56, 56)),
    (2, (256, 128, 14, 14)),
    (1, (64, 256, 1024)),
    (3, (8, 32, 16, 28, 28)),
]
QUICK_SHAPES = [(2, (8, 16, 14, 14)), (1, (8, 16, 64)), (3, (2, 4, 4, 8, 8))]


def naive(x, p, dims):
    """The textbook line ``x * mask / (1 - p)``: the same small (N, C, 1, ...) mask, but the scaling is
    a second full-size operation (forward and backward), where ours folds it into the small mask."""
    mask = (torch.rand(x.shape[:2] + (1,) * dims, device=x.device) >= p).to(x.dtype)
    return x * mask / (1 - p)


def implementations(dims: int, p: float):
    return {
        "native": lambda x: NATIVE[dims](x, p, True),
        "ours": lambda x: spatial_dropout(x, p, True, dims, "channels_first"),
        "ours_channels_last": lambda x: spatial_dropout(x, p, True, dims, "channels_last"),
        "naive": lambda x: naive(x, p, dims),
    }


def time_fwd_bwd(fn, x, grad, device) -> float:
    x.grad = None
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn(x).backward(grad)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def bench_shape(dims, shape, p, rounds, device):
    last = (shape[0], *shape[2:], shape[1])
    inputs = {
        "cf": torch.randn(shape, device=device, requires_grad=True),
        "cl": torch.randn(last, device=device, requires_grad=True),
    }
    grads = {k: torch.randn_like(v) for k, v in inputs.items()}
    impls = implementations(dims, p)
    layout = {name: ("cl" if name == "ours_channels_last" else "cf") for name in impls}
    for name, fn in impls.items():  # warm-up
        for _ in range(2):
            time_fwd_bwd(fn, inputs[layout[name]], grads[layout[name]], device)
    times = {name: [] for name in impls}
    names = list(impls)
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            times[name].append(time_fwd_bwd(impls[name], inputs[layout[name]], grads[layout[name]], device))
    ratios = {
        name: statistics.median(t / n for t, n in zip(times[name], times["native"]))
        for name in names if name != "native"
    }
    return {
        "spatial_dims": dims,
        "shape": list(shape),
        "native_ms": 1e3 * statistics.median(times["native"]),
        "ours_ms": 1e3 * statistics.median(times["ours"]),
        "median_ratio": {k: round(v, 4) for k, v in ratios.items()},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes and few rounds (a smoke run)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per shape (default: 30, quick: 5)")
    parser.add_argument("--p", type=float, default=0.3, help="drop probability (default: 0.3)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--threshold", type=float, default=1.10, help="largest accepted median ratio (default: 1.10)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "bench.json")
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error(f"--rounds must be a positive int, got {args.rounds}")
    device = torch.device(args.device)
    rounds = args.rounds or (5 if args.quick else 30)
    results = [bench_shape(d, s, args.p, rounds, device) for d, s in (QUICK_SHAPES if args.quick else SHAPES)]

    header = f"{'shape (channels first)':<24} {'native ms':>10} {'ours ms':>9} {'ours/native':>12} {'ours NHWC':>10} {'naive':>7}"
    print(f"forward+backward, p={args.p}, {rounds} interleaved rounds, {device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(header)
    print("-" * len(header))
    worst = 0.0
    for r in results:
        ratio = r["median_ratio"]
        worst = max(worst, ratio["ours"])  # the channels-last column is for information: no native twin
        print(f"{str(tuple(r['shape'])):<24} {r['native_ms']:>10.2f} {r['ours_ms']:>9.2f} {ratio['ours']:>12.3f} "
              f"{ratio['ours_channels_last']:>10.3f} {ratio['naive']:>7.2f}")
    ok = worst <= args.threshold
    print(f"worst median ratio {worst:.3f}: {'within' if ok else 'ABOVE'} {args.threshold:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "p": args.p, "rounds": rounds, "device": str(device), "torch": torch.__version__,
        "threads": torch.get_num_threads(), "machine": platform.machine(), "threshold": args.threshold,
        "within_threshold": ok, "results": results,
    }, indent=2))
    print(f"wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
