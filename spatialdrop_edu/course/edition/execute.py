"""Run notebooks the way the course commits them: fresh kernel, top to bottom, widget state kept.

``make execute`` (``python -m spatialdrop_edu execute``) is the only way outputs get into the
committed notebooks; CI re-runs them under nbval and compares. Kernels run in the reproducible mode
(:mod:`spatialdrop_edu.reproducible`), so the outputs do not depend on the processor that ran them.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

#: Environment every course notebook runs with (set before the kernel starts). MPLBACKEND is set to
#: the inline backend because an inherited ``MPLBACKEND=Agg`` would silently drop every figure.
#: ``OMP_WAIT_POLICY=PASSIVE``: an OpenMP thread that waits for its partner sleeps instead of spinning, so kernels
#: started side by side (``grade --jobs 2``, a test beside a grading batch) do not starve each other's threads: two
#: two-thread kernels of chapter 3 on two cores took over ten minutes each spinning, 28 s each sleeping, 13 s alone
#: either way (COURSE.md, "Two kernels side by side"). It changes how threads wait, not how work is split: no bit.
NOTEBOOK_ENV = {
    "KERAS_BACKEND": "torch",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "OMP_WAIT_POLICY": "PASSIVE",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "TQDM_MININTERVAL": "5",
}


def kernel_env(environ=None) -> dict[str, str]:
    """The environment a course notebook's kernel starts with: ``environ`` (default ``os.environ``), the course's
    :data:`NOTEBOOK_ENV`, and the reproducible mode's pins (:func:`~spatialdrop_edu.reproducible.reproducible_env`)."""
    from ...reproducible import reproducible_env

    environ = dict(os.environ if environ is None else environ)
    return {**environ, **NOTEBOOK_ENV, **reproducible_env(environ)}


def execute_notebook(path, *, timeout: int = 600, kernel_name: str = "python3", cwd=None) -> nbformat.NotebookNode:
    """Execute one notebook in a fresh kernel and return it with outputs and widget state.

    Finished progress bars are stored as their final line of text
    (:func:`~spatialdrop_edu.course.edition.progress_lines.freeze_progress_bars`).

    Args:
        path: the ``.ipynb`` file.
        timeout: seconds one cell may run before it is interrupted.
        kernel_name: the Jupyter kernel to start.
        cwd: the kernel's working directory; default: the notebook's folder.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell raised (and was not tagged
            ``raises-exception``).
    """
    from ..grading.isolation.wakeful_client import WakefulNotebookClient
    from .progress_lines import freeze_progress_bars

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = WakefulNotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(cwd or path.parent)}},
        store_widget_state=True,
    )
    # The kernel gets the course's environment and the reproducible mode (a pin set in the environment wins);
    # this process's own environment is left as it is.
    client.execute(env=kernel_env())
    freeze_progress_bars(nb)  # a finished bar is stored as its final line, not as a widget
    return nb


def execute_in_place(paths, *, timeout: int = 600) -> None:
    """Re-execute each notebook and write it back; print one line per notebook."""
    import time

    for path in paths:
        start = time.perf_counter()
        nb = execute_notebook(path, timeout=timeout)
        nbformat.write(nb, path)
        print(f"executed {path} in {time.perf_counter() - start:.1f} s", flush=True)
