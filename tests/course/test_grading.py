"""Grading a class: one batch of fixture submissions, one per way a submission can go wrong.

All submissions are graded in one call (one session fixture), which also proves that no failure
stops the batch. Each runs in its own sandbox and kernel: about 3 s each, plus the hanging one.
"""

from __future__ import annotations

import copy
import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from notebooks import CORRECT, answered, find

from spatialdrop_edu.course.edition.release import student_notebook
from spatialdrop_edu.course.grading import batch
from spatialdrop_edu.course.grading.records import CSV_COLUMNS, parse_name
from spatialdrop_edu.course.grading.reports import verify_summary
from spatialdrop_edu.course.grading.restore import restore_instructor_cells
from spatialdrop_edu.course.grading.scan import scan_submission

import exercise_fixtures as fx

pytestmark = pytest.mark.sandbox

TIMEOUT = 20  # generous: a loaded 2-core CI machine starts kernels slowly; the hanging fixture costs this once
ROOT = Path(__file__).resolve().parents[2]


#: File names that must not be used as a student's folder: the batch's own file, the parent folder, a line break.
HOSTILE_NAMES = ("grades.csv__01_fixture.ipynb", "..__01_fixture.ipynb", "eve\n## Grades__01_fixture.ipynb")


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("grading")
    source = base / "instructor"
    source.mkdir()
    student = student_notebook(nbformat.read(fx.write_instructor(source), as_version=4))
    subs = base / "submissions"
    subs.mkdir()

    def save(name, nb):
        path = subs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        return path

    paths = []
    paths.append(save("alice__01_fixture.ipynb", answered(student, CORRECT)))
    paths.append(
        save(
            "bob__01_fixture.ipynb", answered(student, {"ex-01-1": "def inverted_dropout_scale(p):\n    return 1 / p"})
        )
    )
    paths.append(
        save("carol__01_fixture.ipynb", answered(student, {**CORRECT, "ex-01-1": "import math\nmath.sqrt(-1)"}))
    )
    paths.append(save("dave__01_fixture.ipynb", answered(student, {**CORRECT, "ex-01-3": "while True:\n    pass"})))
    paths.append(
        save(
            "erin__01_fixture.ipynb",
            answered(
                student, {**CORRECT, "ex-01-1": CORRECT["ex-01-1"] + "\nfor _ in range(200):\n    print('x' * 50_000)"}
            ),
        )
    )
    deleted = answered(student, CORRECT)
    del deleted.cells[find(deleted, "ex-01-3")]
    del deleted.cells[find(deleted, "ex-01-1-check")]
    del deleted.cells[1]  # the set-up cell
    paths.append(save("frank__01_fixture.ipynb", deleted))
    tampered = answered(student, {**CORRECT, "ex-01-3": "expected_zeros_fixture = 20"})
    tampered.cells[find(tampered, "ex-01-3-check")].source = 'print("Correct: trust me")'
    tampered.cells[find(tampered, "ex-01-1-check")].metadata["nbgrader"]["points"] = 100
    paths.append(save("grace__01_fixture.ipynb", tampered))
    (subs / "heidi__01_fixture.ipynb").write_text("{ not a notebook")
    paths.append(subs / "heidi__01_fixture.ipynb")
    paths.append(save("ivan/01_fixture.ipynb", answered(student, CORRECT)))  # folder convention
    paths.append(save("judy__99_unknown.ipynb", answered(student, CORRECT)))
    exiting = answered(student, {**CORRECT, "ex-01-1": "import os\nos._exit(3)"})
    paths.append(save("ken__01_fixture.ipynb", exiting))
    # Names that must not become paths or lines: not graded, each reported, the batch goes on.
    for hostile in HOSTILE_NAMES:
        paths.append(save(hostile, answered(student, CORRECT)))
    (subs / "mallory__01_fixture.ipynb").symlink_to(paths[0])  # a link to alice's file
    paths.append(subs / "mallory__01_fixture.ipynb")
    # The same student twice; a name a spreadsheet would run; an error message that writes Markdown.
    paths.append(save("oscar__01_fixture.ipynb", answered(student, CORRECT)))
    paths.append(save("oscar/01_fixture.ipynb", answered(student, CORRECT)))
    paths.append(save("=cmd__01_fixture.ipynb", answered(student, CORRECT)))
    forged_heading = (
        "def inverted_dropout_scale(p):\n    raise ValueError('x\\n\\n## peggy: 01_fixture\\n| peggy | 9 | 9 |')"
    )
    paths.append(save("peggy__01_fixture.ipynb", answered(student, {**CORRECT, "ex-01-1": forged_heading})))
    out = base / "out"
    subs_done = batch.grade(paths, out, source_dir=source, timeout=TIMEOUT, max_output=20_000, log=lambda *a, **k: None)
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    table = {(r["student"], r["grade_id"]): r for r in rows}
    return {s.student: s for s in subs_done}, table, rows, out


def test_csv_has_one_row_per_student_and_graded_cell(graded):
    _, table, rows, _ = graded
    assert list(rows[0]) == list(CSV_COLUMNS)
    students = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "ken", "'=cmd", "peggy"]
    for s in students:
        assert {gid for (st, gid) in table if st == s} == {"ex-01-1-check", "ex-01-2", "ex-01-3-check"}, s
    # + judy's unknown notebook, one row each for the 3 hostile names and the link, oscar's two copies
    assert len(rows) == 3 * len(students) + 1 + 4 + 6


def row(table, student, gid):
    r = table[(student, gid)]
    return r["points"], r["max_points"], r["status"], r["feedback"]


def test_correct_submission_gets_full_points(graded):
    subs, table, _, _ = graded
    assert row(table, "alice", "ex-01-1-check") == ("2", "2", "passed", "Correct: kept units are scaled by 1/(1-p).")
    assert row(table, "alice", "ex-01-3-check")[:3] == ("1", "1", "passed")
    assert row(table, "alice", "ex-01-2")[:3] == ("", "2", "manual")
    assert subs["alice"].problems == []
    assert subs["ivan"].problems == [] and row(table, "ivan", "ex-01-1-check")[0] == "2"


def test_wrong_and_unanswered_get_the_checkers_feedback(graded):
    subs, table, _, out = graded
    points, _, status, feedback = row(table, "bob", "ex-01-1-check")
    assert (points, status) == ("0", "failed")
    assert feedback.startswith("ZeroDivisionError") or "expected 1.000" in feedback
    points, _, status, feedback = row(table, "bob", "ex-01-3-check")
    assert (points, status) == ("0", "failed")
    assert "your solution cell ex-01-3 raised NotImplementedError" in feedback
    assert row(table, "bob", "ex-01-2")[3] == "written answer: not answered"
    assert "Because kept units are scaled up" in (out / "summary.md").read_text()


def test_submission_that_raises(graded):
    subs, table, _, _ = graded
    points, _, status, feedback = row(table, "carol", "ex-01-1-check")
    assert (points, status) == ("0", "failed")
    assert (
        feedback.startswith("NameError")
        and "your solution cell ex-01-1 raised ValueError: math domain error" in feedback
    )
    assert row(table, "carol", "ex-01-3-check")[0] == "1"  # later exercises still count


def test_submission_that_hangs_is_stopped_and_reported(graded):
    subs, table, _, _ = graded
    assert row(table, "dave", "ex-01-1-check")[:3] == ("2", "2", "flagged")  # a pass, in a flagged submission
    points, _, status, feedback = row(table, "dave", "ex-01-3-check")
    assert (points, status) == ("0", "not-run") and "timeout" in feedback
    assert any(p.startswith(f"timeout: still running after {TIMEOUT} s") for p in subs["dave"].problems)
    assert subs["dave"].seconds < TIMEOUT + 30


def test_submission_that_prints_megabytes_is_capped(graded):
    subs, table, _, out = graded
    assert row(table, "erin", "ex-01-1-check")[:3] == ("2", "2", "flagged")
    assert any(p.startswith("output flood: cell 5 printed 10.0 MB") for p in subs["erin"].problems)
    assert (out / "erin" / "01_fixture.ipynb").stat().st_size < 200_000


def test_deleted_cells_are_reported_and_put_back(graded):
    subs, table, _, _ = graded
    problems = " ".join(subs["frank"].problems)
    assert problems.startswith("tampered:")
    assert "check cell ex-01-1-check was deleted" in problems and "solution cell ex-01-3 was deleted" in problems
    assert "was deleted: it was put back" in problems  # the set-up cell
    assert row(table, "frank", "ex-01-1-check")[:3] == ("2", "2", "flagged")  # graded with the instructor's check
    points, _, status, feedback = row(table, "frank", "ex-01-3-check")
    assert (points, status) == ("0", "failed") and "NotImplementedError" in feedback


def test_tampered_check_cell_is_replaced_by_the_instructors(graded):
    subs, table, _, _ = graded
    problems = " ".join(subs["grace"].problems)
    assert "check cell ex-01-3-check was edited" in problems
    assert "metadata of check cell ex-01-1-check was changed" in problems
    assert row(table, "grace", "ex-01-1-check")[:2] == ("2", "2")  # points from the instructor copy
    points, _, status, feedback = row(table, "grace", "ex-01-3-check")
    assert (points, status) == ("0", "failed")
    assert feedback == "ExerciseFailure: you expect 20 zeros, but p * n = 0.3 * 70 = 21"


def test_unreadable_unknown_and_exiting_submissions_do_not_stop_the_batch(graded):
    subs, table, rows, _ = graded
    assert row(table, "heidi", "ex-01-1-check")[:3] == ("0", "2", "unreadable")
    assert table[("judy", "")]["status"] == "unknown-notebook"
    assert any(p.startswith("kernel died: in cell 5") for p in subs["ken"].problems)
    assert row(table, "ken", "ex-01-3-check")[:3] == ("0", "1", "not-run")


def test_summary_lists_totals_and_problems(graded):
    _, _, _, out = graded
    summary = (out / "summary.md").read_text()
    assert "| alice | 01\\_fixture | 3 | 3 | none |" in summary
    assert "| bob | 01\\_fixture | 0 | 3 | errors |" in summary
    assert "| dave | 01\\_fixture | 2 | 3 | timeout |" in summary
    assert "| heidi | 01\\_fixture | 0 | 3 | unreadable notebook |" in summary
    assert "| grace | 01\\_fixture | 2 | 3 | tampered |" in summary


def test_a_flagged_submission_never_reads_as_a_pass(graded):
    _, _, rows, _ = graded
    for r in rows:
        assert (r["status"] == "passed") == (r["status"] == "passed" and not r["problems"]), r
    assert {r["problems"] for r in rows if r["student"] == "grace"} == {"tampered"}
    assert {r["problems"] for r in rows if r["student"] == "alice"} == {""}


def test_hostile_names_are_reported_not_graded_and_nothing_is_written_outside_out(graded):
    subs, _, rows, out = graded
    refused = [r for r in rows if r["status"] == "not-graded"]
    assert sorted(r["student"] for r in refused) == sorted(["grades.csv", "..", "eve\n## Grades", "mallory"])
    by_student = {r["student"]: r["feedback"] for r in refused}
    assert by_student["grades.csv"].startswith("invalid name: student name 'grades.csv' is the name of one of")
    assert by_student[".."].startswith("invalid name: student name '..' is not a plain name")
    assert "control character or a line break" in by_student["eve\n## Grades"]
    assert by_student["mallory"].startswith("symbolic link")
    assert (out / "grades.csv").is_file() and not (out.parent / "01_fixture.ipynb").exists()
    written = {p.relative_to(out).parts[0] for p in out.rglob("*")}
    assert written <= {"grades.csv", "summary.md", "SHA256SUMS", *(s for s in subs if "\n" not in s)}


def test_the_same_student_twice_is_flagged_and_keeps_both_feedback_files(graded):
    _, _, rows, out = graded
    oscar = [r for r in rows if r["student"] == "oscar"]
    assert len(oscar) == 6 and all(r["problems"] == "duplicate" for r in oscar)
    assert {r["status"] for r in oscar if r["grade_id"] != "ex-01-2"} == {"flagged"}
    assert (out / "oscar" / "01_fixture.ipynb").is_file() and (out / "oscar" / "01_fixture.2.ipynb").is_file()


def test_student_text_is_inert_in_the_csv_and_the_summary(graded):
    _, table, _, out = graded
    assert table[("'=cmd", "ex-01-1-check")]["points"] == "2"  # graded; the name cannot start a formula
    with open(out / "grades.csv", newline="") as f:
        cells = [cell for line in csv.reader(f) for cell in line]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    summary = (out / "summary.md").read_text()
    headings = [line for line in summary.splitlines() if line.startswith("#")]
    assert "## peggy: 01\\_fixture" in headings and headings.count("## peggy: 01\\_fixture") == 1
    # eve's name stays inside her own heading line: it made no heading of its own
    assert [h for h in headings if "Grades" in h] == ["# Grades", "## eve \\#\\# Grades: 01\\_fixture"]
    rows = [line for line in summary.splitlines() if line.startswith("| peggy")]
    assert rows == ["| peggy | 01\\_fixture | 1 | 3 | none |"]  # the forged row is text inside a line:
    assert "x \\#\\# peggy: 01\\_fixture \\| peggy \\| 9 \\| 9 \\|" in summary  # her feedback, escaped
    assert verify_summary(summary)


def test_parse_name():
    assert parse_name("subs/alice__01_dropout.ipynb") == ("alice", "01_dropout")
    assert parse_name("subs/bob/02_noise_shapes.ipynb") == ("bob", "02_noise_shapes")


def test_cli_grade(tmp_path):
    fx.write_instructor(tmp_path)
    nbformat.write(answered(student_notebook(fx.instructor_notebook()), CORRECT), tmp_path / "zoe__01_fixture.ipynb")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "spatialdrop_edu",
            "grade",
            "zoe__01_fixture.ipynb",
            "--out",
            "out",
            "--source",
            ".",
            "--timeout",
            "30",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "zoe 01_fixture: 3/3" in done.stdout
    assert (tmp_path / "out" / "grades.csv").read_text().count("passed") == 2


REAL = sorted((ROOT / "book").glob("*.ipynb"))


@pytest.mark.parametrize("path", REAL, ids=[p.stem for p in REAL])
def test_real_chapter_copies_are_put_together_and_read_without_a_flag(path):
    """Every chapter, as the grader prepares it: its instructor copy handed in (every answer right) and its student
    edition handed in blank are each put back together with no tampering found and no suspicious code flagged, so
    grading them is running them (which nbval does for the instructor copies, every check cell passing)."""
    instructor = nbformat.read(path, as_version=4)
    released = student_notebook(instructor)
    for handed_in in (copy.deepcopy(instructor), copy.deepcopy(released)):
        _, _, tampering = restore_instructor_cells(instructor, handed_in)
        flagged, _ = scan_submission(released, handed_in)
        assert tampering == [] and flagged == [], (path.name, tampering, flagged)


@pytest.mark.slow
def test_real_chapter_1_instructor_copy_earns_every_point_and_student_copy_none(tmp_path):
    """End to end on a real chapter (the cheapest): the instructor's copy and the blank student edition, graded in
    their sandboxes one after the other (two kernels of two threads each would slow each other on two cores)."""
    path = ROOT / "book" / "01_dropout.ipynb"
    nbformat.write(student_notebook(nbformat.read(path, as_version=4)), tmp_path / f"empty__{path.name}")
    (tmp_path / f"teacher__{path.name}").write_bytes(path.read_bytes())
    teacher, empty = batch.grade(
        [tmp_path / f"teacher__{path.name}", tmp_path / f"empty__{path.name}"],
        tmp_path / "out",
        source_dir=ROOT / "book",
        timeout=300,
        log=lambda *a, **k: None,
    )
    assert teacher.problems == []
    auto = lambda s: [r for r in s.rows if r.status != "manual"]  # noqa: E731
    assert auto(teacher) and all(r.status == "passed" for r in auto(teacher)), [
        (r.grade_id, r.feedback) for r in auto(teacher)
    ]
    assert all(r.points == 0 for r in auto(empty))


def test_missing_notebook_tools_get_an_install_hint(monkeypatch, capsys, tmp_path):
    import builtins
    import sys

    from spatialdrop_edu.__main__ import main

    real_import = builtins.__import__

    def no_nbclient(name, *args, **kwargs):
        if name == "nbclient" or name.startswith("nbclient."):
            raise ModuleNotFoundError("No module named 'nbclient'", name="nbclient")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_nbclient)
    for module in ("spatialdrop_edu.course.edition.execute", "spatialdrop_edu.course.grading.isolation.wakeful_client"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    # A notebook that is not there: should the import get through, nothing is executed or written.
    assert main(["execute", str(tmp_path / "01_dropout.ipynb")]) == 2
    err = capsys.readouterr().err
    assert "needs the package 'nbclient'" in err and "spatialdrop-edu[instructor]" in err


def test_metadata_that_nbgrader_adds_on_release_is_not_tampering(tmp_path):
    """nbgrader's generate_assignment adds `checksum` and `cell_type` to every graded cell's metadata: not tampering.
    Only what decides the grading (source, cell type, grade_id, points, ...) is compared."""
    instructor = nbformat.read(fx.write_instructor(tmp_path), as_version=4)
    released = answered(student_notebook(instructor), CORRECT)
    for cell in released.cells:
        meta = cell.metadata.get("nbgrader")
        if meta:
            meta.update(checksum="0123456789abcdef", cell_type=cell.cell_type)
    _, _, problems = restore_instructor_cells(instructor, released)
    assert problems == []
    check = released.cells[find(released, "ex-01-1-check")]
    check.metadata["nbgrader"]["points"] = 100
    _, _, problems = restore_instructor_cells(instructor, released)
    assert problems == ["metadata of check cell ex-01-1-check was changed: the instructor's was used"]
