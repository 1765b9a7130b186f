"""Run one prepared submission in a fresh kernel; used by :mod:`spatialdrop_edu.course.grading` as a child process.

    python spatialdrop_edu/course/grade_runner.py NOTEBOOK RESULT.json --timeout S --max-output BYTES --cwd DIR

It is run by file path, not with ``-m``, so that the grading process does not import the package
(and torch) once per submission. It writes the executed notebook next to ``RESULT.json``
(``executed.ipynb``) and, per cell, whether it ran and the error it raised. Every cell runs even
after an error; the whole notebook has ``--timeout`` seconds; each cell may print at most
``--max-output`` bytes of text, and 20 times that of figures and other rich output (the rest is
dropped and the cell is reported as flooding).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class CappedClient(NotebookClient):
    """A notebook client that keeps at most ``max_output`` bytes of output per cell (errors always kept)."""

    max_output = 100_000

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_bytes: dict[tuple[int, str], int] = {}
        self.flooded: dict[int, int] = {}

    #: Rich outputs (figures, HTML) may use this many times ``max_output``: a figure is not a flood.
    rich_factor = 20

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] != "error":
            size = len(json.dumps(msg.get("content", {})))
            kind = "text" if msg["msg_type"] == "stream" else "rich"
            used = self.output_bytes.get((cell_index, kind), 0) + size
            self.output_bytes[(cell_index, kind)] = used
            if used > self.max_output * (1 if kind == "text" else self.rich_factor):
                self.flooded[cell_index] = max(used, self.flooded.get(cell_index, 0))
                return None
        return super().output(outs, msg, display_id, cell_index)


def run(notebook: Path, result: Path, timeout: float, max_output: int, cwd: Path) -> dict:
    nb = nbformat.read(notebook, as_version=4)
    deadline = time.monotonic() + timeout
    client = CappedClient(
        nb,
        timeout=max(1, int(timeout)),
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic()) + 1),
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
        shutdown_kernel="immediate",
    )
    client.max_output = max_output
    cells = [{"ran": False, "error": None} for _ in nb.cells]
    problem = None
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if time.monotonic() > deadline:
                problem = {"kind": "timeout", "cell": index}
                break
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                problem = {"kind": "timeout", "cell": index}
                cells[index]["error"] = {"ename": "TimeoutError", "evalue": f"still running after {timeout:g} s"}
                break
            except DeadKernelError:
                problem = {"kind": "dead", "cell": index}
                cells[index]["error"] = {"ename": "DeadKernelError", "evalue": "the kernel died (exit, crash or out of memory)"}
                break
            cells[index]["ran"] = True
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    cells[index]["error"] = {
                        "ename": out.get("ename", ""),
                        "evalue": ANSI.sub("", out.get("evalue", ""))[:2000],
                    }
            stdout = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
            cells[index]["stdout_head"] = stdout[:2000]
            if index in client.flooded:
                cells[index]["flooded"] = client.flooded[index]
    nbformat.write(nb, result.with_name("executed.ipynb"))
    return {"cells": cells, "problem": problem}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("notebook", type=Path)
    parser.add_argument("result", type=Path)
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--max-output", type=int, required=True)
    parser.add_argument("--cwd", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        outcome = run(args.notebook, args.result, args.timeout, args.max_output, args.cwd)
    except Exception as exc:  # reported to the parent, which never stops the batch
        outcome = {"cells": None, "problem": {"kind": "runner", "message": f"{type(exc).__name__}: {exc}"[:2000]}}
    args.result.write_text(json.dumps(outcome), encoding="utf-8")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    sys.exit(main())
