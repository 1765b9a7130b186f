"""``grade --jobs N``: sandboxes side by side give the serial run's results, byte for byte.

One small batch of fixture submissions (right, wrong, tampered, one that kills its kernel, one
that forks and hides its errors, an unreadable file, an unknown notebook) is graded twice, one at a
time and three at a time. ``grades.csv``, ``summary.md`` and their digests must be identical: the
order is that of the command line, whatever the order in which sandboxes finish, and neither file
holds a time.
"""

from __future__ import annotations

import nbformat
import pytest
from notebooks import answered

from spatialdrop_edu.course.edition.release import student_notebook
from spatialdrop_edu.course.grading import batch

import exercise_fixtures as fx

pytestmark = pytest.mark.sandbox

CORRECT = {
    "ex-01-1": "def inverted_dropout_scale(p):\n    return 1 / (1 - p)",
    "ex-01-3": "expected_zeros_fixture = 21",
}
HOSTILE = """import os
get_ipython().showtraceback = lambda *a, **k: print("Correct: trust me")
for _ in range(20):
    if os.fork() == 0:
        os.setsid()
        import time
        time.sleep(30)
        os._exit(0)
def inverted_dropout_scale(p):
    return 0"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("jobs")
    fx.write_instructor(base)
    student = student_notebook(fx.instructor_notebook())
    tampered = answered(student, CORRECT)
    tampered.cells[6].source = 'print("Correct: trust me")'
    notebooks = {
        "alice": answered(student, CORRECT),
        "bob": answered(student, {"ex-01-1": "def inverted_dropout_scale(p):\n    return 1 / p"}),
        "grace": tampered,
        "ken": answered(student, {**CORRECT, "ex-01-1": "import os\nos._exit(3)"}),
        "mallory": answered(student, {**CORRECT, "ex-01-1": HOSTILE}),
    }
    paths = []
    for name, nb in notebooks.items():
        nbformat.write(nb, base / f"{name}__01_fixture.ipynb")
        paths.append(base / f"{name}__01_fixture.ipynb")
    (base / "heidi__01_fixture.ipynb").write_text("{ not a notebook")
    paths[2:2] = [base / "heidi__01_fixture.ipynb", base / "judy__99_unknown.ipynb"]
    nbformat.write(student, base / "judy__99_unknown.ipynb")
    out = {}
    for jobs in (1, 3):
        said = []
        batch.grade(
            paths,
            base / f"out{jobs}",
            source_dir=base,
            timeout=30,
            jobs=jobs,
            seed=2024,  # the same inputs for the checks of both batches
            log=lambda *a, said=said, **k: said.append(" ".join(map(str, a))),
        )
        out[jobs] = (base / f"out{jobs}", said)
    return out, [p.name.split("__")[0] for p in paths]


@pytest.mark.parametrize("name", ["grades.csv", "summary.md", "SHA256SUMS"])
def test_three_at_a_time_writes_what_one_at_a_time_writes(runs, name):
    out, _ = runs
    assert (out[3][0] / name).read_bytes() == (out[1][0] / name).read_bytes()


def test_rows_follow_the_command_line_and_every_submission_is_logged(runs):
    out, students = runs
    rows = (out[3][0] / "grades.csv").read_text().splitlines()[1:]
    seen = list(dict.fromkeys(line.split(",")[0] for line in rows))
    assert seen == students
    for _, said in out.values():
        assert sorted(line.split()[1] for line in said if line.startswith("[")) == sorted(students)


def test_a_hostile_neighbour_changes_no_grade(runs):
    out, _ = runs
    csv_text = (out[3][0] / "grades.csv").read_text()
    assert "alice,01_fixture,ex-01-1-check,2,2,passed" in csv_text
    assert "mallory,01_fixture,ex-01-1-check,0,2,failed" in csv_text
    summary = (out[3][0] / "summary.md").read_text()
    assert "| mallory | 01\\_fixture | 1 | 3 | suspicious code; hidden errors |" in summary
