"""The reproducible mode is in effect wherever course code runs: the notebooks' kernels, the study runner's workers
and (tests/course/test_grading_sandbox.py) the grading sandbox. Each computes what a fresh process started under the
mode computes: the same variables, the same ATen kernels, the same bits from MKL and OpenBLAS."""

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import nbformat
import pytest

from spatialdrop_edu.course.edition.execute import execute_notebook, kernel_env
from spatialdrop_edu.reproducible import reproducible_env
from spatialdrop_edu.training import run_study

from helpers import MODE_PROBE, mode_probe_run, mode_seen_by_a_fresh_process


@pytest.fixture(scope="module")
def under_the_mode():
    seen = mode_seen_by_a_fresh_process(kernel_env())
    assert seen["pins"] == reproducible_env()
    return seen


def test_a_notebook_kernel_runs_under_the_mode(tmp_path, under_the_mode):
    path = tmp_path / "probe.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(MODE_PROBE)]), path)
    nb = execute_notebook(path, timeout=120)
    (output,) = [o for o in nb.cells[0].outputs if o.get("name") == "stdout"]
    assert json.loads(output["text"]) == under_the_mode


def test_a_study_worker_runs_under_the_mode(monkeypatch, under_the_mode):
    for name, value in reproducible_env().items():
        monkeypatch.setenv(name, value)  # as make study and make unit export them
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        (record,) = run_study(mode_probe_run, [{"probe": 1}], [0], executor=pool, threads=1, progress=False)
    assert record["result"] == under_the_mode
    assert record["provenance"]["pins"] == under_the_mode["pins"]
