"""Every dropout layer of the package against the references users know: time (forward, forward+backward) and memory.

Every time is taken with the course's one timing helper (``spatialdrop_edu.timing.measure``, through
``spatialdrop_edu.analysis.cost``): threads pinned (one by default) and printed, warm-up calls
discarded, the contenders of one case interleaved in a random order per round, the thread's CPU time
on a CPU (a busy machine's scheduler slices do not count), and for each contender the median over
rounds of its ratio to the fastest reference in the same round, with a 95% interval and a verdict
("slower by ×1.52 [1.44, 1.61]" or "within the noise"). The contenders: this package's layer,
PyTorch's own (``torch.nn.Dropout``, ``Dropout1d/2d/3d``), for DropBlock a direct transcription of
the paper's Algorithm 1 and ``torchvision.ops.drop_block2d`` / timm's ``DropBlock2d`` where they
can be imported (otherwise the reason is printed), and a naive implementation with a full-size mask.
Peak extra memory is measured (CPU): every tensor allocated during the call, beyond the output.

    python benchmarks/bench_dropout.py              # the shapes below, CPU (a few minutes)
    python benchmarks/bench_dropout.py --quick      # tiny shapes, a smoke run
    python benchmarks/bench_dropout.py --device cuda
    python benchmarks/bench_dropout.py --compile    # also ours and PyTorch's under torch.compile

Writes a table to the terminal and JSON to benchmarks/results/bench.json. Exits with status 1 if
one of our layers is resolved slower than --threshold (default 1.10) times the fastest reference:
the lower end of its ratio's interval lies above the threshold. A ratio above the threshold whose
interval reaches below it is reported as unresolved, not as a failure: more --rounds resolve it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spatialdrop_edu.analysis import cost  # noqa: E402
from spatialdrop_edu.reproducible import provenance  # noqa: E402

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
    ("Dropout", (8, 16, 14, 14)),
    ("SpatialDropout2d", (8, 16, 14, 14)),
    ("SpatialDropout1d", (8, 16, 64)),
    ("SpatialDropout3d", (2, 4, 4, 8, 8)),
    ("DropBlock2d", (8, 16, 14, 14)),
]


def compiled_case(shape, p, mode, rounds, repeats, device, threads) -> dict:
    """SpatialDropout2d, ours and PyTorch's, each under torch.compile (inductor), timed as the others."""
    import spatialdrop_edu as sde

    torch.compiler.reset()
    fns = {
        "ours (compiled)": torch.compile(sde.SpatialDropout2d(p).train()),
        "torch.nn.Dropout2d (compiled)": torch.compile(torch.nn.Dropout2d(p).train()),
    }
    times = cost.time_layers(
        fns, torch.randn(shape, device=device), mode, rounds=rounds, repeats=repeats, warmup=3, threads=threads
    )
    ref = "torch.nn.Dropout2d (compiled)"
    versus = {name: times.compare(name, ref) for name in fns}
    return cost.timing_row(
        times,
        versus,
        operation="SpatialDropout2d under torch.compile",
        shape=shape,
        mode=mode,
        device=device,
        p=p,
        rounds=rounds,
        repeats=repeats,
        reference=ref,
        skipped={},
    )


def print_table(rows) -> None:
    print(
        f"{'operation':<22} {'shape':<20} {'mode':<16} {'contender':<22} {'ms':>8} "
        f"{'× fastest ref [interval]':>24} {'extra MB':>9}"
    )
    for row in rows:
        for name, ms in row["ms"].items():
            extra = row.get("extra_bytes", {}).get(name)
            low, high = row["interval"][name]
            ratio = f"{row['ratio'][name]:.2f} [{low:.2f}, {high:.2f}]"
            print(
                f"{row['operation'][:22]:<22} {str(tuple(row['shape'])):<20} {row['mode']:<16} {name[:22]:<22} "
                f"{ms:>8.3f} {ratio:>24} {'' if extra is None else f'{extra / 1e6:.3f}':>9}"
            )
        for name, reason in row["skipped"].items():
            print(f"{'':<22} {'':<20} {row['mode']:<16} {name:<22} skipped: {reason}")


def ours_name(row) -> str:
    return "ours" if "ours" in row["ratio"] else "ours (compiled)"


def judge(rows, threshold: float) -> tuple[str, list]:
    """``("within" | "unresolved" | "above", rows whose ratio of ours lies resolved above threshold)``.

    "above": the interval of some row's ratio lies wholly above the threshold (the run fails);
    "unresolved": no such row, but some median ratio is above it; "within": every median is at most it.
    """
    above = [r for r in rows if r["interval"][ours_name(r)][0] > threshold]
    if above:
        return "above", above
    return ("unresolved" if any(r["ratio"][ours_name(r)] > threshold for r in rows) else "within"), []


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes and few rounds (a smoke run)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per case (default: 20, quick: 3)")
    parser.add_argument("--p", type=float, default=0.3, help="drop probability (default: 0.3)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads while timing (default: 1)")
    parser.add_argument("--compile", action="store_true", help="also time SpatialDropout2d under torch.compile")
    parser.add_argument(
        "--threshold",
        type=float,
        default=1.10,
        help="largest accepted ratio of ours to the fastest reference: the run fails where the "
        "ratio's 95%% interval lies wholly above it (default: 1.10)",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "bench.json")
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error(f"--rounds must be a positive int, got {args.rounds}")
    if args.threads < 1:
        parser.error(f"--threads must be a positive int, got {args.threads}")
    device = torch.device(args.device)
    rounds = args.rounds or (3 if args.quick else 20)
    repeats = 1 if args.quick else 3
    machine = provenance(device)
    print(f"p={args.p}, {device}; {machine['cpu']}, torch {machine['torch']}, {machine['cpu_capability']} kernels")
    rows = [
        cost.compare(op, shape, args.p, mode, rounds, repeats, device, threads=args.threads)
        for op, shape in (QUICK_CASES if args.quick else CASES)
        for mode in cost.MODES
    ]
    if args.compile:
        shape = (8, 16, 14, 14) if args.quick else (64, 64, 56, 56)
        rows += [compiled_case(shape, args.p, mode, rounds, repeats, device, args.threads) for mode in cost.MODES]
    print("timing:", rows[0]["timing"].replace("\n", "\n        "))
    print_table(rows)
    for row in rows:
        for warning in row["warnings"]:
            print(f"warning ({row['operation']}, {tuple(row['shape'])}, {row['mode']}): {warning}")
    worst = max(rows, key=lambda r: r["ratio"][ours_name(r)])
    worst_ratio, (worst_low, worst_high) = worst["ratio"][ours_name(worst)], worst["interval"][ours_name(worst)]
    status, above = judge(rows, args.threshold)
    ok = status != "above"
    print(
        f"worst median ratio of ours to the fastest reference: {worst_ratio:.3f} [{worst_low:.3f}, {worst_high:.3f}] "
        f"({worst['operation']}, {tuple(worst['shape'])}, {worst['mode']}): "
        f"{dict(above='ABOVE', unresolved='unresolved against', within='within')[status]} {args.threshold:.2f}"
    )
    for r in above:
        print(
            f"resolved above {args.threshold:.2f}: {r['sentence'][ours_name(r)]} "
            f"({r['operation']}, {tuple(r['shape'])}, {r['mode']})"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "p": args.p,
                "rounds": rounds,
                "repeats": repeats,
                "device": str(device),
                "machine": machine,
                "threshold": args.threshold,
                "within_threshold": ok,
                "results": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
