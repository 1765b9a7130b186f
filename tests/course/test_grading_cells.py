"""Every cell of a submission accounted for: claims of grade_ids the instructor never wrote, duplicated grade_ids,
and notebooks whose editor stripped the nbgrader metadata (spatialdrop_edu.course.grading.restore and .scan).

The unit tests build their submissions from the fixture chapter (tests/exercise_fixtures.py) and from the real
chapter 1, and read them as the grader does, without running a kernel. Two end-to-end gradings of chapter 1 close
the file: a full-marks notebook stripped of its metadata, and a blank one with a cell that claims a grade_id of its
own and forges a pass.
"""

from __future__ import annotations

import copy
import csv
import uuid
from pathlib import Path

import nbformat
import pytest
from notebooks import CHAPTER_1, CORRECT, answered, find

from spatialdrop_edu.course.edition.cells import SOLUTION_BEGIN, SOLUTION_END, nbgrader, source
from spatialdrop_edu.course.edition.release import student_notebook
from spatialdrop_edu.course.grading import batch
from spatialdrop_edu.course.grading.records import Submission
from spatialdrop_edu.course.grading.restore import (
    match_stripped_cells,
    metadata_stripped,
    restore_instructor_cells,
    settle_grade_ids,
)
from spatialdrop_edu.course.grading.scan import scan_submission

import exercise_fixtures as fx

ROOT = Path(__file__).resolve().parents[2]
WRITTEN_ANSWER = "At test time the outputs come out bigger than in training: multiply them by the keep rate."


def claims(nb) -> dict[int, str]:
    """The grade_id each cell claims, by index."""
    return {i: nbgrader(c)["grade_id"] for i, c in enumerate(nb.cells) if nbgrader(c).get("grade_id")}


def stripped(nb, *, ids: str = "kept") -> nbformat.NotebookNode:
    """``nb`` as an editor that drops nbgrader metadata saves it; cell ids ``kept``, ``new`` or ``none`` (4.4)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
        if ids == "new":
            cell.id = uuid.uuid4().hex[:8]
        elif ids == "none":
            cell.pop("id", None)
    if ids == "none":
        nb.nbformat_minor = 4
    return nb


def without_markers(nb) -> nbformat.NotebookNode:
    """The instructor's solutions as a student would write them: without the ``### BEGIN/END SOLUTION`` lines."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            lines = source(cell).split("\n")
            cell.source = "\n".join(ln for ln in lines if ln.strip() not in (SOLUTION_BEGIN, SOLUTION_END))
    return nb


def read(instructor, submitted, tmp_path, name="01_fixture"):
    """What the grader reads from a submission, without running it: ``(submission, notebook to run, check index)``."""
    (tmp_path / f"{name}.ipynb").unlink(missing_ok=True)
    nbformat.write(instructor, tmp_path / f"{name}.ipynb")
    path = tmp_path / f"student__{name}.ipynb"
    path.write_text(nbformat.writes(submitted, version=4))
    sub = Submission(path, "student", name)
    _, nb, check_index = batch.read_submission(sub, tmp_path / f"{name}.ipynb")
    return sub, nb, check_index


@pytest.fixture
def instructor():
    return fx.instructor_notebook()


@pytest.fixture
def released(instructor):
    return student_notebook(instructor)


# ----------------------------------------------------------------------------- claims the instructor never wrote


def code_cell(code: str, **nbgrader_metadata) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(code)
    if nbgrader_metadata:
        cell.metadata["nbgrader"] = {"schema_version": 3, **nbgrader_metadata}
    return cell


FORGER = "get_ipython().showtraceback = lambda *a, **k: print('Correct: yes')"


@pytest.mark.parametrize(
    "claim, named",
    [
        ({"grade": True, "solution": False, "locked": True, "points": 5, "grade_id": "bonus"}, "grade_id 'bonus'"),
        ({"grade": False, "solution": True, "grade_id": "ex-01-9"}, "grade_id 'ex-01-9'"),
        ({"grade": True, "solution": False, "points": 5}, "nbgrader metadata with no grade_id"),
    ],
    ids=["check", "solution", "no-grade-id"],
)
def test_a_cell_claiming_a_grade_id_the_instructor_never_wrote_is_an_added_cell(instructor, released, claim, named):
    submitted = answered(released, CORRECT)
    submitted.cells.insert(6, code_cell(FORGER, **claim))  # right before the check cell of exercise 1.1
    problems, findings = scan_submission(released, submitted)
    assert problems[0].startswith(f"unknown grade_id: cell 6 claims {named}")
    assert problems[0].endswith("its nbgrader metadata was ignored, and it was scanned as an added cell")
    assert problems[1].startswith("added cells: code cell 6 of the submission")
    assert [(f.index, f.label, f.categories) for f in findings] == [(6, "added", ["get_ipython"])]
    nb, check_index, tampering = restore_instructor_cells(instructor, submitted)
    assert tampering == [] and nbgrader(nb.cells[6]) == {}  # it runs as an ordinary cell, never as a graded one
    assert check_index == {"ex-01-1-check": 7, "ex-01-3-check": 12}


def test_the_code_of_a_released_cell_under_an_unknown_grade_id_is_still_listed_as_added(instructor, released):
    """A copy of a check cell under a grade_id of its own: its code is the released code, its claim is not."""
    submitted = copy.deepcopy(released)
    copied = copy.deepcopy(submitted.cells[6])
    copied.metadata["nbgrader"]["grade_id"] = "ex-01-1-check-again"
    del copied["id"]
    submitted.cells.insert(7, copied)
    problems, _ = scan_submission(released, submitted)
    # (the fixture's check cells name spatialdrop_edu.checks in a docstring: a copy outside its place is suspicious)
    assert [p.split(":")[0] for p in problems] == ["unknown grade_id", "added cells", "suspicious code"]
    assert "code cell 7 of the submission" in problems[1]
    assert batch.graded_cells(restore_instructor_cells(instructor, submitted)[0]) == batch.graded_cells(
        restore_instructor_cells(instructor, released)[0]
    )


def test_a_code_cell_claiming_a_written_answer_is_no_answer(instructor, released, tmp_path):
    submitted = copy.deepcopy(released)
    answer = find(submitted, "ex-01-2")
    submitted.cells[answer] = code_cell("import builtins", **nbgrader(submitted.cells[answer]))
    sub, nb, _ = read(instructor, submitted, tmp_path)
    problems = " | ".join(sub.problems)
    assert (
        f"unknown grade_id: cell {answer} is a code cell, but claims grade_id ex-01-2 of the instructor's "
        "markdown solution cell" in problems
    )
    assert "solution cell ex-01-2 was deleted: the student stub was put back" in problems
    assert f"cell {answer} (added) touches builtins" in problems
    assert sub.answers == {"ex-01-2": "YOUR ANSWER HERE"}


def test_an_honest_submission_claims_nothing_of_its_own(instructor, released):
    for submitted in (released, answered(released, CORRECT), instructor):
        settled = settle_grade_ids(instructor, submitted)
        assert settled.problems == [] and settled.ignored == set()
        assert claims(settled.notebook) == claims(submitted)


# ----------------------------------------------------------------------------- duplicated grade_ids


def test_a_check_cell_pasted_above_its_solution_runs_after_it(instructor, released):
    """Restore used to take the first copy for the instructor's position: the check then ran before the answer."""
    submitted = answered(released, CORRECT)
    submitted.cells.insert(5, copy.deepcopy(submitted.cells[6]))  # cells 5 and 7 claim ex-01-1-check; 6 is ex-01-1
    nb, check_index, tampering = restore_instructor_cells(instructor, submitted)
    assert check_index["ex-01-1-check"] == 7 > find(nb, "ex-01-1") == 6 and tampering == []
    assert nbgrader(nb.cells[5]) == {}
    problems, _ = scan_submission(released, submitted)
    assert problems[:2] == [
        "duplicate grade_id: cells 5, 7 claim check cell ex-01-1-check: the instructor's check cell ran at cell 7 "
        "(its place fits the instructor's order); cell 5 lost its nbgrader metadata and was scanned as an added cell",
        "added cells: code cell 5 of the submission are not in the released notebook (their code ran)",
    ]


@pytest.mark.parametrize(
    "where, runs_at",
    [(7, 7), (11, 6)],  # just below the original: the last copy in place; after the next exercise: out of place
    ids=["below", "after-the-next-exercise"],
)
def test_the_copy_of_a_check_cell_that_runs_is_the_last_in_the_instructors_place(instructor, released, where, runs_at):
    submitted = answered(released, CORRECT)
    submitted.cells.insert(where, copy.deepcopy(submitted.cells[6]))
    _, check_index, _ = restore_instructor_cells(instructor, submitted)
    assert check_index["ex-01-1-check"] == runs_at
    problems, _ = scan_submission(released, submitted)
    assert problems[0].startswith("duplicate grade_id: cells ") and f"ran at cell {runs_at} " in problems[0]


def test_a_solution_written_twice_is_taken_from_its_later_copy(instructor, released):
    submitted = answered(released, CORRECT)
    draft = copy.deepcopy(submitted.cells[5])
    draft.source = "import inspect\ndef inverted_dropout_scale(p):\n    return inspect.stack()"
    del draft["id"]
    submitted.cells.insert(5, draft)  # cells 5 (the draft) and 6 claim ex-01-1
    problems, findings = scan_submission(released, submitted)
    assert problems[0] == (
        "duplicate grade_id: cells 5, 6 claim solution cell ex-01-1: cell 6 was taken as the solution cell (its place "
        "fits the instructor's order); cell 5 lost its nbgrader metadata and was scanned as an added cell"
    )
    assert [(f.index, f.label) for f in findings] == [(5, "added")]
    nb, check_index, _ = restore_instructor_cells(instructor, submitted)
    assert find(nb, "ex-01-1") == 6 and check_index["ex-01-1-check"] == 7


def test_a_written_answer_given_twice_is_read_from_its_later_copy(instructor, released, tmp_path):
    submitted = answered(released, {"ex-01-2": "first thoughts"})
    second = copy.deepcopy(submitted.cells[8])
    second.source, second.id = WRITTEN_ANSWER, "second-answer"
    submitted.cells.insert(9, second)
    sub, _, _ = read(instructor, submitted, tmp_path)
    assert sub.answers == {"ex-01-2": WRITTEN_ANSWER}
    assert sub.kinds() == ["duplicate grade_id"]
    assert "cell 9 was taken as the solution cell" in sub.problems[0]
    assert "cell 8 lost its nbgrader metadata and counts as an added markdown cell" in sub.problems[0]


# ----------------------------------------------------------------------------- stripped metadata


def test_only_a_notebook_without_most_of_its_graded_cells_is_matched_by_content(instructor, released):
    assert not metadata_stripped(instructor, released)
    fewer = copy.deepcopy(released)
    del fewer.cells[find(fewer, "ex-01-1-check")]  # 2 of 3 graded cells left: put back by restore, as always
    assert not metadata_stripped(instructor, fewer)
    assert metadata_stripped(instructor, stripped(released))
    one_left = stripped(released)
    one_left.cells[6].metadata["nbgrader"] = copy.deepcopy(released.cells[6].metadata["nbgrader"])
    assert metadata_stripped(instructor, one_left)  # 1 of 3: fewer than half
    no_graded = copy.deepcopy(instructor)
    no_graded.cells = [c for c in no_graded.cells if not nbgrader(c).get("grade")]
    assert not metadata_stripped(no_graded, stripped(released))


@pytest.mark.parametrize("ids", ["kept", "new", "none"])
def test_the_fixture_chapter_stripped_gets_its_metadata_back(instructor, released, ids, tmp_path):
    honest = answered(released, CORRECT)
    sub, nb, check_index = read(instructor, stripped(honest, ids=ids), tmp_path)
    assert sub.kinds() == ["metadata stripped"], sub.problems
    assert sub.problems[0] == (
        "metadata stripped: 0 of the instructor's 3 graded cells carry their nbgrader metadata; cells were matched "
        "to the instructor's by position and content, which found 3 of them"
    )
    assert claims(nb) == claims(honest) and check_index == {"ex-01-1-check": 6, "ex-01-3-check": 11}
    assert sub.answers == {"ex-01-2": CORRECT["ex-01-2"]}


def test_an_answer_is_told_from_a_helper_cell_beside_it(instructor, released):
    honest = answered(released, CORRECT)
    honest.cells.insert(5, nbformat.v4.new_code_cell("import math"))  # a helper right before the answer (now 6)
    matched, _ = match_stripped_cells(instructor, stripped(honest))
    assert claims(matched) == claims(honest)
    assert nbgrader(matched.cells[5]) == {}


@pytest.fixture(scope="module")
def chapter_1():
    instructor = nbformat.read(CHAPTER_1, as_version=4)
    return instructor, student_notebook(instructor)


def full_marks_stripped(instructor) -> nbformat.NotebookNode:
    """Chapter 1's instructor notebook as a student who got everything right would hand it in from an editor that
    drops nbgrader metadata and cell ids: no solution markers, a written answer of their own."""
    nb = without_markers(instructor)
    nb.cells[find(nb, "ex-01-3")].source = WRITTEN_ANSWER
    return stripped(nb, ids="none")


def test_chapter_1_stripped_is_read_as_the_instructor_wrote_it(chapter_1, tmp_path):
    instructor, released = chapter_1
    for submitted in (stripped(instructor), full_marks_stripped(instructor), stripped(released, ids="new")):
        matched, notes = match_stripped_cells(instructor, submitted)
        assert claims(matched) == claims(instructor)
        assert [nbgrader(c) for c in matched.cells] == [nbgrader(c) for c in instructor.cells]
        assert notes[0].endswith("which found 5 of them")
    sub, nb, check_index = read(instructor, full_marks_stripped(instructor), tmp_path, name="01_dropout")
    assert sub.kinds() == ["metadata stripped"], sub.problems
    assert check_index == {gid: find(instructor, gid) for gid in check_index} and len(check_index) == 4
    assert sub.answers == {"ex-01-3": WRITTEN_ANSWER}
    sub, _, _ = read(instructor, stripped(released, ids="none"), tmp_path, name="01_dropout")
    assert sub.kinds() == ["metadata stripped"] and sub.answers == {"ex-01-3": "YOUR ANSWER HERE"}


# ----------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def graded_chapter_1(tmp_path_factory, chapter_1):
    """Two chapter-1 submissions graded one after the other: full marks with the metadata stripped, and a blank
    notebook with a cell that claims a grade_id of its own and forges a pass."""
    instructor, released = chapter_1
    folder = tmp_path_factory.mktemp("cells")
    forger = copy.deepcopy(released)
    first_check = find(forger, "ex-01-1-check")
    forger.cells.insert(
        first_check,
        code_cell(
            "from IPython.display import display\n"
            "display({'text/plain': 'Correct: inverted dropout drops a fraction p and keeps the mean at 1.'},"
            " raw=True)",
            grade=True,
            solution=False,
            locked=True,
            points=9,
            grade_id="ex-01-1-check-bonus",
        ),
    )
    paths = [folder / "stripped__01_dropout.ipynb", folder / "forger__01_dropout.ipynb"]
    paths[0].write_text(nbformat.writes(full_marks_stripped(instructor), version=4))
    nbformat.write(forger, paths[1])
    subs = batch.grade(paths, folder / "out", source_dir=ROOT / "book", timeout=300, log=lambda *a, **k: None)
    with open(folder / "out" / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {s.student: s for s in subs}, rows, first_check


@pytest.mark.sandbox
@pytest.mark.slow
def test_a_full_marks_notebook_stripped_of_its_metadata_keeps_its_points_and_is_flagged(graded_chapter_1):
    subs, rows, _ = graded_chapter_1
    sub = subs["stripped"]
    assert sub.kinds() == ["metadata stripped"], sub.problems
    assert sub.points() == (9, 9), [(r.grade_id, r.status, r.feedback) for r in sub.rows]
    csv_rows = {r["grade_id"]: r for r in rows if r["student"] == "stripped"}
    assert {gid: r["status"] for gid, r in csv_rows.items()} == {
        "ex-01-1-check": "flagged",
        "ex-01-2-check": "flagged",
        "ex-01-3": "manual",
        "ex-01-4-check": "flagged",
        "ex-01-5-check": "flagged",
    }
    assert {r["problems"] for r in csv_rows.values()} == {"metadata stripped"}
    assert csv_rows["ex-01-3"]["feedback"] == "written answer: grade it by hand (summary.md lists it)"
    assert sub.answers == {"ex-01-3": WRITTEN_ANSWER}


@pytest.mark.sandbox
@pytest.mark.slow
def test_a_cell_claiming_a_grade_id_of_its_own_is_scanned_and_earns_nothing(graded_chapter_1):
    subs, rows, cell = graded_chapter_1
    sub = subs["forger"]
    # then "errors": the blank solution cells raise NotImplementedError
    assert sub.kinds()[:3] == ["unknown grade_id", "added cells", "suspicious code"], sub.problems
    assert sub.problems[0].startswith(f"unknown grade_id: cell {cell} claims grade_id 'ex-01-1-check-bonus', which")
    assert sub.problems[1].startswith(f"added cells: code cell {cell} of the submission")
    assert sub.problems[2].startswith(f"suspicious code: cell {cell} (added) touches IPython's shell or kernel")
    assert sub.points() == (0, 9)
    assert {r["grade_id"] for r in rows if r["student"] == "forger"} == {
        "ex-01-1-check",
        "ex-01-2-check",
        "ex-01-3",
        "ex-01-4-check",
        "ex-01-5-check",
    }
