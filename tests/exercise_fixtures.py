"""A small instructor notebook in the course's exercise format (COURSE.md), for release and grading tests.

It does not depend on the chapters: its check cells carry their checker inline, with the same
protocol as ``spatialdrop_edu.checks`` (raise an ``AssertionError`` subclass with feedback, print
a line starting ``Correct:`` on success).
"""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

CHECKER = '''class ExerciseFailure(AssertionError):
    """Same protocol as spatialdrop_edu.checks.ExerciseFailure."""
'''


def nbgrader(grade_id, *, solution=False, grade=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def solution_cell(source, grade_id, outputs=(), execution_count=None):
    cell = new_code_cell(source, metadata={**nbgrader(grade_id, solution=True), "tags": ["hide-input"]})
    cell.outputs = list(outputs)
    cell.execution_count = execution_count
    return cell


def check_cell(source, grade_id, points, outputs=(), execution_count=None):
    cell = new_code_cell(source, metadata=nbgrader(grade_id, grade=True, locked=True, points=points))
    cell.outputs = list(outputs)
    cell.execution_count = execution_count
    return cell


def stream(text):
    return new_output("stream", name="stdout", text=text)


#: Distinctive solution lines: tests assert that none of them leaks into the student edition.
SOLUTION_1 = """def inverted_dropout_scale(p):
    \"\"\"The factor that inverted dropout multiplies the kept units by.\"\"\"
    ### BEGIN SOLUTION
    keep_probability_fixture = 1.0 - p
    return 1.0 / keep_probability_fixture
    ### END SOLUTION"""
CHECK_1 = (
    CHECKER
    + """
for p in (0.0, 0.25, 0.5):
    got = inverted_dropout_scale(p)
    if abs(got - 1 / (1 - p)) > 1e-9:
        raise ExerciseFailure(f"scale for p={p} is {got:.3f}, expected {1 / (1 - p):.3f}: did you divide by 1 - p?")
print("Correct: kept units are scaled by 1/(1-p).")"""
)
MARK_SCHEME = """Why does inverted dropout need no change at test time?

=== BEGIN MARK SCHEME ===
Because the rescaling_fixture_marker by 1/(1-p) already happens during training, the expected activation matches.
Award 1 point for naming the expectation, 1 for the train-time scaling.
=== END MARK SCHEME ==="""
SOLUTION_3 = """### BEGIN SOLUTION
expected_zeros_fixture = round(0.3 * 70)
### END SOLUTION
print("expected zeros:", expected_zeros_fixture)"""
CHECK_3 = (
    CHECKER
    + """
if expected_zeros_fixture != 21:
    raise ExerciseFailure(f"you expect {expected_zeros_fixture} zeros, but p * n = 0.3 * 70 = 21")
print("Correct: p * n units are dropped on average.")"""
)


def instructor_notebook() -> nbformat.NotebookNode:
    """The instructor notebook: body, three exercises (code, written, code), a summary."""
    widget_body, widget_late, widget_layout = "aaaa1111", "bbbb2222", "cccc3333"
    view = lambda mid: {"model_id": mid, "version_major": 2, "version_minor": 0}  # noqa: E731
    cells = [
        new_markdown_cell("# Fixture chapter\n\nA body, then exercises.\n\n## Body and exercises"),
        new_code_cell("import math", metadata={"tags": ["remove-cell"]}),
        new_code_cell('print("body value", 6 * 7)', outputs=[stream("body value 42\n")], execution_count=2),
        new_code_cell(
            "slider = 'widget'",
            outputs=[
                new_output(
                    "display_data",
                    data={
                        "text/plain": "IntSlider(value=3)",
                        "application/vnd.jupyter.widget-view+json": view(widget_body),
                    },
                )
            ],
            execution_count=3,
        ),
        new_markdown_cell("### Exercise 1.1 — The scale factor (★)\n\nWrite `inverted_dropout_scale(p)`."),
        solution_cell(SOLUTION_1, "ex-01-1", execution_count=4),
        check_cell(
            CHECK_1,
            "ex-01-1-check",
            2,
            outputs=[stream("Correct: kept units are scaled by 1/(1-p).\n")],
            execution_count=5,
        ),
        new_markdown_cell("### Exercise 1.2 — Test time (★★)\n\nAnswer in the cell below."),
        new_markdown_cell(MARK_SCHEME, metadata=nbgrader("ex-01-2", solution=True, grade=True, points=2)),
        new_markdown_cell("### Exercise 1.3 — Counting zeros (★)\n\nHow many of 70 units does p = 0.3 drop?"),
        solution_cell(SOLUTION_3, "ex-01-3", outputs=[stream("expected zeros: 21\n")], execution_count=6),
        check_cell(
            CHECK_3,
            "ex-01-3-check",
            1,
            outputs=[stream("Correct: p * n units are dropped on average.\n")],
            execution_count=7,
        ),
        new_markdown_cell("## Summary\n\nInverted dropout rescales at training time."),
        new_code_cell(
            'print("summary uses", expected_zeros_fixture)',
            outputs=[
                stream("summary uses 21\n"),
                new_output(
                    "display_data",
                    data={"text/plain": "late widget", "application/vnd.jupyter.widget-view+json": view(widget_late)},
                ),
            ],
            execution_count=8,
        ),
    ]
    nb = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "widgets": {
                "application/vnd.jupyter.widget-state+json": {
                    "version_major": 2,
                    "version_minor": 0,
                    "state": {
                        widget_body: {
                            "model_name": "IntSliderModel",
                            "state": {"value": 3, "layout": f"IPY_MODEL_{widget_layout}"},
                        },
                        widget_layout: {"model_name": "LayoutModel", "state": {}},
                        widget_late: {"model_name": "LabelModel", "state": {"value": "late answer_fixture_widget 21"}},
                    },
                }
            },
        },
    )
    nbformat.validate(nb)
    return nb


def write_instructor(folder, name="01_fixture") -> str:
    """Write the instructor notebook as ``folder/<name>.ipynb`` and return its path."""
    path = f"{folder}/{name}.ipynb"
    nbformat.write(instructor_notebook(), path)
    return path
