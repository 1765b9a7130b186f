"""The real nbgrader round trip on chapter 01 agrees with ``python -m spatialdrop_edu grade``.

An nbgrader course is set up in a temporary folder with ``book/01_dropout.ipynb`` as the source of
assignment ``ps1``; nbgrader releases it (``generate_assignment``), two students hand in, nbgrader
grades (``autograde``) and exports its grades (``export``, CSV), and ``grade`` grades the same
files. The students:

* alice hands in nbgrader's own student version with exercises 1.1 and 1.4 answered (the
  instructor's solution cells pasted in) and the rest left as stubs;
* bob hands in the student edition of ``python -m spatialdrop_edu release`` with exercise 1.2
  answered: nbgrader must accept it as if it had released it itself.

Both leave the written answer (``ex-01-3``) as ``YOUR ANSWER HERE``: nbgrader scores an unchanged
written answer 0 on its own (its checksum matches the released cell), so the stub of the student
edition must be byte for byte nbgrader's. About 1.5 min on two cores (two autogrades, two grades).
"""

from __future__ import annotations

import copy
import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from spatialdrop_edu.course.edition.cells import ANSWER_STUB, nbgrader, source
from spatialdrop_edu.course.edition.release import student_notebook
from spatialdrop_edu.course.grading import batch

pytestmark = pytest.mark.sandbox

pytest.importorskip("nbgrader", reason="nbgrader is not installed: pip install 'spatialdrop-edu[nbgrader]'")

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = ROOT / "book" / "01_dropout.ipynb"
ASSIGNMENT = "ps1"
ANSWERS = {"alice": ("ex-01-1", "ex-01-4"), "bob": ("ex-01-2",)}


def nbgrader_cli(course: Path, *args: str) -> subprocess.CompletedProcess:
    # nbgrader runs `alembic` (its database migrations) from PATH: the virtualenv's bin folder comes first.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "KERAS_BACKEND": "torch", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def with_solutions(nb, instructor, grade_ids) -> nbformat.NotebookNode:
    """``nb`` with the source of the instructor's solution cells ``grade_ids`` pasted into its stubs."""
    solutions = {nbgrader(c).get("grade_id"): source(c) for c in instructor.cells}
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        gid = nbgrader(cell).get("grade_id")
        if gid in grade_ids:
            cell.source = solutions[gid]
    return nb


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    if not CHAPTER.exists():
        pytest.skip("no book/01_dropout.ipynb")
    base = tmp_path_factory.mktemp("nbgrader")
    course = base / "course"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    (course / "source" / ASSIGNMENT / CHAPTER.name).write_bytes(CHAPTER.read_bytes())
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'spatialdrop-test'\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.Exchange.root = {str(base / 'exchange')!r}\n"
        "c.ExecutePreprocessor.timeout = 600\n"
    )
    nbgrader_cli(course, "generate_assignment", ASSIGNMENT, "--force")
    released = nbformat.read(course / "release" / ASSIGNMENT / CHAPTER.name, as_version=4)
    instructor = nbformat.read(CHAPTER, as_version=4)
    handed_in = {
        "alice": with_solutions(released, instructor, ANSWERS["alice"]),
        "bob": with_solutions(student_notebook(instructor), instructor, ANSWERS["bob"]),
    }
    ours = base / "submissions"
    for student, nb in handed_in.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / CHAPTER.name)
        (ours / student).mkdir(parents=True)
        nbformat.write(nb, ours / student / CHAPTER.name)
    nbgrader_cli(course, "autograde", ASSIGNMENT, "--create", "--force")
    nbgrader_cli(course, "export", "--to", str(base / "nbgrader.csv"))
    with open(base / "nbgrader.csv", newline="") as f:
        exported = {r["student_id"]: r for r in csv.DictReader(f)}

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        cells = {
            (student, g.name): (g.score, g.auto_score, g.needs_manual_grade)
            for student in ANSWERS
            for g in gb.find_submission_notebook(CHAPTER.stem, ASSIGNMENT, student).grades
        }

    subs = batch.grade(
        sorted(ours.glob("*/*.ipynb")), base / "grades", source_dir=ROOT / "book", timeout=300, log=lambda *a, **k: None
    )
    return exported, cells, {s.student: s for s in subs}, released


def test_nbgrader_points_equal_ours(round_trip):
    exported, _, ours, _ = round_trip
    for student, sub in ours.items():
        auto = [r for r in sub.rows if r.auto]
        assert float(exported[student]["score"]) == sum(r.points for r in auto), (student, exported[student], sub.rows)
        assert float(exported[student]["max_score"]) == sum(r.max_points for r in sub.rows), student
    assert sum(r.points for r in ours["alice"].rows if r.auto) == 5  # 1.1 (2 points) and 1.4 (3 points)
    assert sum(r.points for r in ours["bob"].rows if r.auto) == 2  # 1.2


def test_per_cell_points_agree(round_trip):
    _, cells, ours, _ = round_trip
    for student, sub in ours.items():
        for row in sub.rows:
            if row.auto:
                assert cells[(student, row.grade_id)][0] == row.points, (student, row.grade_id, row.feedback)


def test_unanswered_written_answer_scores_zero_in_nbgrader(round_trip):
    """Both nbgrader's student version and ours leave `YOUR ANSWER HERE`, which nbgrader scores 0 by itself."""
    _, cells, ours, released = round_trip
    stub = next(c for c in released.cells if nbgrader(c).get("grade_id") == "ex-01-3")
    assert source(stub).strip() == ANSWER_STUB
    for student in ANSWERS:
        score, auto_score, needs_manual = cells[(student, "ex-01-3")]
        assert (score, auto_score, needs_manual) == (0, 0, False), student
        assert next(r for r in ours[student].rows if r.grade_id == "ex-01-3").feedback == "written answer: not answered"


def test_nbgraders_release_is_not_flagged_as_tampered(round_trip):
    """nbgrader adds `checksum` and `cell_type` to the metadata of every graded cell; that is no tampering."""
    _, _, ours, released = round_trip
    assert any("checksum" in nbgrader(c) for c in released.cells)
    for student, sub in ours.items():
        assert not [p for p in sub.problems if p.startswith("tampered")], (student, sub.problems)
