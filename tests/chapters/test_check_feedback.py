"""A failed check in Jupyter: a short, styled message instead of a traceback, and still a failed cell.

Checked where learners and graders meet it: in a real IPython kernel (what JupyterLab shows is the
``traceback`` of the kernel's ``error`` message), and through ``python -m spatialdrop_edu grade``,
which must still score the exercise 0 with the checker's message as feedback. (nbgrader marks a
cell failed by the same ``error`` output that the kernel test asserts.)
"""

from __future__ import annotations

import csv
import re

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

from spatialdrop_edu.checks import ExerciseFailure
from spatialdrop_edu.checks._harness import FAILURE_HEADING, PAGE_WIDTH

import exercise_fixtures as fx

ANSI = re.compile(r"\x1b\[[0-9;]*m")
WRONG = "def my_dropout(x, p, rng):\n    return x * (rng.random(x.shape) >= p)"  # forgets to scale by 1/(1-p)
HINT = "Did you forget to scale kept units by 1/(1-p)?"


@pytest.fixture(scope="module")
def kernel():
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=120)
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def run(client, code: str) -> tuple[dict, list[dict]]:
    """Execute ``code``; return the execute reply's content and the cell's ``error`` outputs."""
    msg_id = client.execute(code)
    reply = client.get_shell_msg(timeout=120)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = client.get_shell_msg(timeout=120)
    errors = []
    while True:
        msg = client.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "error":
            errors.append(msg["content"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return reply["content"], errors


def test_failed_check_shows_its_message_in_a_few_lines_and_fails_the_cell(kernel):
    reply, errors = run(
        kernel, f"from spatialdrop_edu import checks\n{WRONG}\nchecks.check_inverted_dropout(my_dropout)"
    )
    assert reply["status"] == "error" and reply["ename"] == "ExerciseFailure" and HINT in reply["evalue"]
    (error,) = errors
    lines = error["traceback"]
    assert lines[0] == FAILURE_HEADING and "\x1b[1;31m" in lines[0]  # a bold red heading
    assert HINT in " ".join(lines[1:])  # then the message, and nothing else: wrapped to fit the website's page
    assert all(len(line) <= PAGE_WIDTH for line in lines[1:]) and len(lines) <= 4
    shown = ANSI.sub("", "\n".join(lines))
    assert "Traceback" not in shown and "_harness.py" not in shown and "File " not in shown


def test_an_error_in_the_learners_code_points_at_their_line(kernel):
    code = (
        "from spatialdrop_edu import checks\nimport numpy as np\n"
        "def broken(x, p, rng):\n    keep = np.ones(3)\n    return x * keep[10]\n"
        "checks.check_inverted_dropout(broken)"
    )
    reply, (error,) = run(kernel, code)
    assert reply["status"] == "error" and reply["ename"] == "ExerciseFailure"
    lines = [ANSI.sub("", line) for line in error["traceback"]]
    assert "raised IndexError" in lines[1] and all(len(line) <= PAGE_WIDTH for line in lines)
    assert re.fullmatch(r"raised in Cell In\[\d+\], line 5: return x \* keep\[10\]", lines[-1]), lines[-1]


def test_other_errors_keep_their_full_traceback(kernel):
    reply, (error,) = run(kernel, "def f():\n    return 1 / 0\nf()")
    assert reply["ename"] == "ZeroDivisionError" and len(error["traceback"]) > 3


def test_outside_jupyter_the_exception_is_the_plain_message():
    failure = ExerciseFailure("expected 1.00")
    assert str(failure) == "expected 1.00" and isinstance(failure, AssertionError)
    assert failure._render_traceback_() == [FAILURE_HEADING, "expected 1.00"]


@pytest.mark.sandbox
def test_grade_still_scores_a_failed_check_zero_with_its_message(tmp_path):
    from spatialdrop_edu.course.edition.release import student_notebook
    from spatialdrop_edu.course.grading import batch

    instructor = new_notebook(
        cells=[
            new_markdown_cell("# Feedback fixture"),
            new_markdown_cell("### Exercise 1.1 — Inverted dropout (★)"),
            fx.solution_cell(
                "def my_dropout(x, p, rng):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION", "ex-01-1"
            ),
            fx.check_cell(
                "from spatialdrop_edu import checks\nchecks.check_inverted_dropout(my_dropout)", "ex-01-1-check", 2
            ),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}},
    )
    (tmp_path / "source").mkdir()
    nbformat.write(instructor, tmp_path / "source" / "01_feedback.ipynb")
    submission = student_notebook(instructor)
    submission.cells[2].source = WRONG
    nbformat.write(submission, tmp_path / "ada__01_feedback.ipynb")

    batch.grade(
        [tmp_path / "ada__01_feedback.ipynb"],
        tmp_path / "out",
        source_dir=tmp_path / "source",
        timeout=120,
        max_output=20_000,
        log=lambda *a, **k: None,
    )
    with open(tmp_path / "out" / "grades.csv", newline="") as f:
        (row,) = [r for r in csv.DictReader(f) if r["grade_id"] == "ex-01-1-check"]
    assert (row["points"], row["max_points"], row["status"]) == ("0", "2", "failed")
    assert row["feedback"].startswith("ExerciseFailure: on an input of ones") and HINT in row["feedback"]
