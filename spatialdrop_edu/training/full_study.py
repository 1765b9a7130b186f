"""A chapter's full study from the command line: ``python -m spatialdrop_edu study`` (``make study``).

The full study of a training chapter is defined by the chapter itself (its settings, its configurations, the
choices it makes on validation), so it is run the way a learner runs it: the notebook at full scale
(``SPATIALDROP_SCALE=1``) in a fresh kernel under the reproducible mode, with ``SPATIALDROP_WORKERS`` runs side by
side. The runs go to ``<results>/<chapter>/`` and resume from what is there; the executed notebook is thrown away
(committed outputs come from the small default run, ``make execute``). ``make study`` points ``results`` at the
package's shipped studies, ``spatialdrop_edu/results/``: it completes them, or regenerates a study whose
``study.jsonl`` was deleted, and rewrites ``meta.json`` only when runs were added.

Every run's provenance names the code that made it (:func:`~spatialdrop_edu.reproducible.code_state`: the commit, a
dirty flag and a digest of the package's sources). A commit names the code only where the tree is clean, so a study
refuses to start from uncommitted changes to the package or the chapters unless told otherwise (``allow_dirty``,
``--allow-dirty``, ``make study ALLOW_DIRTY=1``); the runs of such a study record ``dirty: true``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .._validation import check_positive_int

__all__ = ["UncommittedCode", "run_full_study"]


class UncommittedCode(RuntimeError):
    """A full study was asked to start from uncommitted changes to the code."""


def run_full_study(
    notebook, *, workers: int, results=None, timeout: int | None = None, allow_dirty: bool = False
) -> Path:
    """Execute ``notebook`` at full scale in a fresh kernel and return the folder its study went to.

    Args:
        notebook: a training chapter's ``.ipynb`` file; it is not modified.
        workers: runs side by side (``SPATIALDROP_WORKERS``), a positive int.
        results: the folder holding ``<chapter>/`` (``SPATIALDROP_RESULTS``); default: ``results`` beside the
            notebook, where the chapter writes on its own.
        timeout: seconds one cell may run; ``None``: no limit (a full study's cell takes up to an hour).
        allow_dirty: start even though the package or the chapters differ from the commit checked out.

    Returns:
        ``<results>/<chapter>``, holding ``study.jsonl`` and ``meta.json``.

    Raises:
        UncommittedCode: the code has uncommitted changes and ``allow_dirty`` is false.
    """
    from ..course.edition.execute import execute_notebook
    from ..reproducible import CODE_PATHS, code_state

    notebook = Path(notebook)
    if notebook.suffix != ".ipynb" or not notebook.is_file():
        raise ValueError(f"notebook must be an existing .ipynb file, got {str(notebook)!r}.")
    workers = check_positive_int(workers, "workers", "runs side by side, one process each")
    results = Path(results).resolve() if results is not None else notebook.resolve().parent / "results"
    state = code_state()
    if state["dirty"] and not allow_dirty:
        paths = ", ".join(p for p in CODE_PATHS if not p.startswith(":"))
        raise UncommittedCode(
            f"the code has uncommitted changes ({paths}; `git status` lists them), so the commit "
            f"{state['commit']} would not name the code that made the runs: commit them first, or pass "
            "allow_dirty=True (--allow-dirty, make study ALLOW_DIRTY=1) and the runs record dirty: true."
        )
    settings = {"SPATIALDROP_SCALE": "1", "SPATIALDROP_WORKERS": str(workers), "SPATIALDROP_RESULTS": str(results)}
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)  # the kernel's environment is this process's (spatialdrop_edu.course.edition.execute)
    try:
        execute_notebook(notebook, timeout=timeout)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return results / notebook.stem


def main(notebook, *, workers: int, results=None, allow_dirty: bool = False) -> int:
    """The ``study`` command: run the full study, then say where it is and how many runs it holds."""
    import sys

    from .study import load_runs

    start = time.perf_counter()
    try:
        folder = run_full_study(notebook, workers=workers, results=results, allow_dirty=allow_dirty)
    except UncommittedCode as refused:
        print(f"python -m spatialdrop_edu study: {refused}", file=sys.stderr)
        return 2
    runs = len(load_runs(folder / "study.jsonl"))
    print(
        f"{Path(notebook).stem}: {runs} runs in {folder} ({time.perf_counter() - start:.0f} s with {workers} worker(s))"
    )
    return 0
