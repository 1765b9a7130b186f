"""Every dropout layer of the package against the references users know: time (forward, forward+backward) and memory.

For each operation and shape the contenders run interleaved in one process (the order reversed
every other round), and the median over rounds of the ratio to the fastest reference in the same
round is reported (``spatialdrop_edu.analysis.cost``). The contenders: this package's layer,
PyTorch's own (``torch.nn.Dropout``, ``Dropout1d/2d/3d``), for DropBlock a direct transcription of
the paper's Algorithm 1 and ``torchvision.ops.drop_block2d`` / timm's ``DropBlock2d`` where they
can be imported (otherwise the reason is printed), and a naive implementation with a full-size mask.
Peak extra memory is measured (CPU): every tensor allocated during the call, beyond the output.

    python benchmarks/bench_dropout.py              # the shapes below, CPU (a few minutes)
    python benchmarks/bench_dropout.py --quick      # tiny shapes, a smoke run
    python benchmarks/bench_dropout.py --device cuda
    python benchmarks/bench_dropout.py --compile    # also ours and PyTorch's under torch.compile

Writes a table to the terminal and JSON to benchmarks/results/bench.json. Exits with status 1 if
one of our layers is slower than --threshold (default 1.10) times the fastest reference.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spatialdrop_edu.analysis import cost  # noqa: E402

CASES = [  # (operation, channels-first shape): typical conv shapes, a 1-D and a 3-D case
    ("Dropout", (64, 64, 56, 56)),
    ("Dropout", (256, 128, 14, 14)),
    ("SpatialDropout2d", (64, 64, 56, 56)),
    ("SpatialDropout2d", (256, 128, 14, 14)),
    ("SpatialDropout1d", (64, 256, 1024)),
    ("SpatialDropout3d", (8, 32, 16, 28, 28)),
    ("DropBlock2d", (64, 64, 56, 56)),
    ("DropBlock2d", (256, 128, 14, 14)),
]
QUICK_CASES = [
    ("Dropout", (8, 16, 14, 14)), ("SpatialDropout2d", (8, 16, 14, 14)), ("SpatialDropout1d", (8, 16, 64)),
    ("SpatialDropout3d", (2, 4, 4, 8, 8)), ("DropBlock2d", (8, 16, 14, 14)),
]


def compiled_case(shape, p, mode, rounds, device) -> dict:
    """SpatialDropout2d, ours and PyTorch's, each under torch.compile (inductor), timed as the others."""
    import spatialdrop_edu as sde

    torch.compiler.reset()
    fns = {"ours (compiled)": torch.compile(sde.SpatialDropout2d(p).train()),
           "torch.nn.Dropout2d (compiled)": torch.compile(torch.nn.Dropout2d(p).train())}
    times = cost.time_interleaved(fns, torch.randn(shape, device=device), mode, rounds, warmup=3)
    ref = "torch.nn.Dropout2d (compiled)"
    return {"operation": "SpatialDropout2d under torch.compile", "shape": list(shape), "mode": mode,
            "device": str(device), "p": p, "rounds": rounds,
            "ms": {k: 1e3 * sorted(v)[len(v) // 2] for k, v in times.items()},
            "ratio": {k: sorted(a / b for a, b in zip(v, times[ref]))[len(v) // 2] for k, v in times.items()},
            "fastest_reference": ref, "skipped": {}}


def print_table(rows) -> None:
    print(f"{'operation':<22} {'shape':<22} {'mode':<17} {'contender':<24} {'ms':>9} {'× fastest ref':>14} {'extra MB':>9}")
    for row in rows:
        for name, ms in row["ms"].items():
            extra = row.get("extra_bytes", {}).get(name)
            print(f"{row['operation'][:22]:<22} {str(tuple(row['shape'])):<22} {row['mode']:<17} {name[:24]:<24} "
                  f"{ms:>9.2f} {row['ratio'][name]:>14.3f} {'' if extra is None else f'{extra / 1e6:.3f}':>9}")
        for name, reason in row["skipped"].items():
            print(f"{'':<22} {'':<22} {row['mode']:<17} {name:<24} skipped: {reason}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes and few rounds (a smoke run)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per case (default: 10, quick: 3)")
    parser.add_argument("--p", type=float, default=0.3, help="drop probability (default: 0.3)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--compile", action="store_true", help="also time SpatialDropout2d under torch.compile")
    parser.add_argument("--threshold", type=float, default=1.10,
                        help="largest accepted median ratio of ours to the fastest reference (default: 1.10)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "bench.json")
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error(f"--rounds must be a positive int, got {args.rounds}")
    device = torch.device(args.device)
    rounds = args.rounds or (3 if args.quick else 10)
    machine = cost.describe_machine()
    print(f"p={args.p}, {rounds} interleaved rounds, {device}; {machine}")
    rows = [cost.compare(op, shape, args.p, mode, rounds, device)
            for op, shape in (QUICK_CASES if args.quick else CASES) for mode in cost.MODES]
    if args.compile:
        shape = (8, 16, 14, 14) if args.quick else (64, 64, 56, 56)
        rows += [compiled_case(shape, args.p, mode, rounds, device) for mode in cost.MODES]
    print_table(rows)
    worst = max(rows, key=lambda r: r["ratio"]["ours" if "ours" in r["ratio"] else "ours (compiled)"])
    worst_ratio = worst["ratio"].get("ours", worst["ratio"].get("ours (compiled)"))
    ok = worst_ratio <= args.threshold
    print(f"worst median ratio of ours to the fastest reference: {worst_ratio:.3f} "
          f"({worst['operation']}, {tuple(worst['shape'])}, {worst['mode']}): "
          f"{'within' if ok else 'ABOVE'} {args.threshold:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"p": args.p, "rounds": rounds, "device": str(device), "machine": machine,
                                    "threshold": args.threshold, "within_threshold": ok, "results": rows}, indent=2))
    print(f"wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
