"""Submissions for the grading tests, made in one place (as nbgrader's tests keep ``create_grade_cell`` and its kin
in one module): a student notebook answered, or with an attack added, and chapter 1 trimmed to its exercises.

The grading tests of this folder import these by name (``from notebooks import answered``): pytest puts the folder
of a test file on the path before importing it. The exercise fixture itself, a small instructor notebook, is
``tests/exercise_fixtures.py``.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from spatialdrop_edu.course.edition.cells import nbgrader
from spatialdrop_edu.course.edition.release import student_notebook

BOOK = Path(__file__).resolve().parents[2] / "book"
CHAPTER_1 = BOOK / "01_dropout.ipynb"

#: The exercise fixture's answers, all right (``tests/exercise_fixtures.py``).
CORRECT = {
    "ex-01-1": "def inverted_dropout_scale(p):\n    return 1 / (1 - p)",
    "ex-01-2": "Because kept units are scaled up by 1/(1-p) during training.",
    "ex-01-3": 'expected_zeros_fixture = 21\nprint("expected zeros:", expected_zeros_fixture)',
}

#: In the honest chapter-1 answer to exercise 1.1: no other submission's feedback may show it.
MARKER = "honest_classmate_marker_5512"

#: Chapter 1's exercises answered as an honest student would: full marks.
HONEST = {
    "ex-01-1": f"def my_dropout(x, p, rng):  # {MARKER}\n    if p >= 1:\n        return np.zeros_like(x)\n"
    "    kept = rng.random(x.shape) >= p\n    return x * kept / (1 - p)",
    "ex-01-2": "def dropout_variance(a, p):\n    keep = 1 - p\n    return a * a * (1 / keep - 1)",
    "ex-01-3": "At test time the outputs come out bigger than in training: multiply them by the keep rate.",
    "ex-01-4": "def fixed_dropout(x, p, training=True):\n    if not training or p == 0:\n        return x\n"
    "    if p == 1:\n        return x * 0\n    keep = (torch.rand_like(x) >= p).to(x.dtype)\n"
    "    return x * keep / (1 - p)",
    "ex-01-5": "def average_variance(a, p, n, rho):\n    one = a * a * p / (1 - p)\n"
    "    return one * (1 + (n - 1) * rho) / n",
}


def fork_attack(children: int, *, caught: bool = False) -> str:
    """Code that forks ``children`` processes, each sleeping 2 s, then waits for them all. ``caught``: a refused
    fork ends the loop quietly instead of raising (the grader must still report the limit it ran into)."""
    fork = "_pid = os.fork()"
    if caught:
        fork = "try:\n        _pid = os.fork()\n    except OSError:\n        break"
    return f"""import os, time
_children = []
for _ in range({children}):
    {fork}
    if _pid == 0:
        time.sleep(2)
        os._exit(0)
    _children.append(_pid)
for _pid in _children:
    os.waitpid(_pid, 0)"""


def find(nb, gid) -> int:
    """The index of the cell whose nbgrader ``grade_id`` is ``gid``."""
    return next(i for i, c in enumerate(nb.cells) if nbgrader(c).get("grade_id") == gid)


def answered(student, answers: dict) -> nbformat.NotebookNode:
    """A copy of the student notebook with the stub of each grade_id replaced by ``answers[grade_id]``."""
    nb = copy.deepcopy(student)
    for cell in nb.cells:
        gid = nbgrader(cell).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


def with_attack(student, code: str, copies: int = 1) -> nbformat.NotebookNode:
    """A copy of the student notebook with ``code`` in new cells (``copies`` of them) right before the first check
    cell."""
    nb = copy.deepcopy(student)
    first = next(i for i, c in enumerate(nb.cells) if nbgrader(c).get("grade", False) and c.cell_type == "code")
    nb.cells[first:first] = [nbformat.v4.new_code_cell(code) for _ in range(copies)]
    return nb


def trimmed_chapter_1() -> nbformat.NotebookNode:
    """Chapter 1 without its body: the set-up cells, then the exercises with their real check cells."""
    nb = nbformat.read(CHAPTER_1, as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## Exercises"))
    setup = [c for c in nb.cells[:first] if c.cell_type == "code"][:2]
    nb.cells = [nb.cells[0], *setup, *nb.cells[first:]]
    return nb


def chapter_1_batch(base: Path) -> tuple[Path, Path, nbformat.NotebookNode]:
    """The folders of a batch of chapter-1 submissions under ``base``: ``source/``, holding the trimmed chapter as
    the instructor's ``01_dropout.ipynb``, and an empty ``submissions/``; with the student edition of that chapter.

    Returns:
        ``(source, submissions, student)``.
    """
    source, subs = base / "source", base / "submissions"
    source.mkdir()
    subs.mkdir()
    instructor = trimmed_chapter_1()
    nbformat.write(instructor, source / "01_dropout.ipynb")
    return source, subs, student_notebook(instructor)
