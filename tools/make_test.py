"""`make test`: every check CI runs, steps side by side where they do not slow each other, and a table of where the
time went.

A step is one make target. The steps run in three stages; a stage starts when the one before it has passed:

1. ``lint``, and both editions of the website built (``book``, ``book-student``): three one-thread processes.
2. ``unit``: the unit tests, JOBS pytest-xdist workers (they read the websites stage 1 built).
3. Two lanes at once: ``fingerprint-check`` then the strict ``notebooks`` at normal priority; beside them
   ``notebooks-lax`` at the lowest priority (``nice 19``), whose one-thread kernels take what the strict run's
   two-thread kernels leave of the cores, then the ``browser`` (both editions and JupyterLab, JOBS workers) at normal
   priority, which starts when the lax run ends (before the strict one, which has the cores first) instead of after
   the strict run: a minute or more sooner than one lane of three. Two two-thread kernels side by side slow each
   other by up to an order of magnitude (COURSE.md, "Two kernels side by side"); a lowest-priority neighbour costs
   the strict run little. The unit tests start two-thread kernels too (the grading sandboxes), so nothing runs
   beside them.

Each line a step prints is shown as it comes, after its step's name. The table at the end gives each step's wall time
and result, also when a step failed: the rest of its lane and later stages are then not started (their rows say so),
while the other lanes of its stage finish. Exit status: 0 when every step passed.

    python tools/make_test.py [--dry-run]       # from the repository root; `make test` runs it
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

MAKE = os.environ.get("MAKE", "make")


@dataclass
class Step:
    """One make target run as a step of ``make test``."""

    name: str
    args: list[str]
    nice: int = 0
    seconds: float | None = None
    result: str = "not run"


@dataclass
class Lane:
    """Steps run one after another; lanes of one stage run side by side."""

    steps: list[Step]
    failed: bool = False


def stages() -> list[list[Lane]]:
    """The plan of ``make test``: stages of lanes of steps."""
    return [
        [
            Lane([Step("lint", ["lint"])]),
            Lane([Step("book", ["book"])]),
            Lane([Step("book-student", ["book", "EDITION=student"])]),
        ],
        [Lane([Step("unit", ["unit"])])],
        [
            Lane([Step("fingerprint-check", ["fingerprint-check"]), Step("notebooks", ["notebooks"])]),
            Lane([Step("notebooks-lax", ["notebooks-lax"], nice=19), Step("browser", ["browser-test"])]),
        ],
    ]


_print_lock = threading.Lock()


def _say(prefix: str, line: str) -> None:
    with _print_lock:
        sys.stdout.write(f"[{prefix}] {line}")
        if not line.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()


def run_step(step: Step, *, prefix: bool) -> bool:
    """Run ``step`` (make with its arguments), its output shown line by line; record its wall time and result."""
    command = [MAKE, "--no-print-directory", *step.args]
    if step.nice:
        command = ["nice", "-n", str(step.nice), *command]
    _say(step.name, "$ " + " ".join(command))
    start = time.monotonic()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1
    ) as proc:
        for line in proc.stdout:
            if prefix:
                _say(step.name, line)
            else:
                with _print_lock:
                    sys.stdout.write(line)
                    sys.stdout.flush()
        code = proc.wait()
    step.seconds = time.monotonic() - start
    step.result = "passed" if code == 0 else f"FAILED (exit {code})"
    return code == 0


def run_lane(lane: Lane, *, prefix: bool) -> None:
    for step in lane.steps:
        if not run_step(step, prefix=prefix):
            lane.failed = True
            for later in lane.steps[lane.steps.index(step) + 1 :]:
                later.result = "not run (an earlier step of its lane failed)"
            return


def table(plan: list[list[Lane]], total: float) -> str:
    """The timing table: one row per step, in the order of the plan, and the whole run's wall time."""
    rows = [("stage", "step", "lane", "wall", "result")]
    for number, stage in enumerate(plan, 1):
        for lane_number, lane in enumerate(stage, 1):
            for step in lane.steps:
                wall = "" if step.seconds is None else f"{step.seconds / 60:5.1f} min"
                lane_label = f"{lane_number}" + (f" (nice {step.nice})" if step.nice else "")
                rows.append((str(number), step.name, lane_label, wall, step.result))
    rows.append(("", "make test", "", f"{total / 60:5.1f} min", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="print the plan and run nothing")
    args = parser.parse_args(argv)
    plan = stages()
    if args.dry_run:
        print(table(plan, 0.0))
        return 0
    start = time.monotonic()
    ok = True
    for stage in plan:
        side_by_side = len(stage) > 1
        threads = [threading.Thread(target=run_lane, args=(lane,), kwargs={"prefix": side_by_side}) for lane in stage]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if any(lane.failed for lane in stage):
            ok = False
            break
    for stage in plan:
        for lane in stage:
            for step in lane.steps:
                if step.result == "not run":
                    step.result = "not run (an earlier stage failed)"
    print("\nmake test: where the time went\n" + table(plan, time.monotonic() - start), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
