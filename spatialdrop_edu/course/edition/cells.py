"""The one home of what the course tools read from notebook cells: nbgrader metadata, sources, markers.

Release, grading and the course plan all ask the same questions of a cell (is it a solution, a
check, how many points, which ``grade_id``); they ask them here.
"""

from __future__ import annotations

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
MARK_SCHEME_BEGIN = "=== BEGIN MARK SCHEME ==="
MARK_SCHEME_END = "=== END MARK SCHEME ==="
#: Lines between these MyST comments (in a ``book/*.md`` page or a notebook's markdown cell) are
#: instructor-only: the student edition drops them (e.g. the API reference of the exercise checkers,
#: whose docstrings name the expected answers).
INSTRUCTOR_BEGIN = "% BEGIN INSTRUCTOR ONLY"
INSTRUCTOR_END = "% END INSTRUCTOR ONLY"
#: What a student sees in place of a solution: nbgrader's own stubs, so nbgrader scores an unanswered cell 0.
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ANSWER_STUB = "YOUR ANSWER HERE"

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

#: The nbgrader metadata keys that decide how a cell is graded. nbgrader itself adds others
#: (``checksum``, ``cell_type``) when it releases a notebook; they say nothing about the grading.
GRADING_KEYS = ("grade", "grade_id", "locked", "points", "solution")


def source(cell) -> str:
    """A cell's source as one string (nbformat stores it as a string or a list of lines)."""
    text = cell.get("source", "")
    return text if isinstance(text, str) else "".join(text)


def nbgrader(cell) -> dict:
    """A cell's nbgrader metadata (empty if it has none)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grading_fields(cell) -> dict:
    """The nbgrader metadata that decides how the cell is graded (``GRADING_KEYS``)."""
    meta = nbgrader(cell)
    return {key: meta.get(key) for key in GRADING_KEYS}


def grade_id(cell) -> str | None:
    return nbgrader(cell).get("grade_id")


def is_check_cell(cell) -> bool:
    """True for an autograded check cell: a code cell with nbgrader ``grade: true`` and ``solution: false``."""
    meta = nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_graded(cell) -> bool:
    """True for a cell that earns points: a check cell or a written answer (``grade: true`` with a ``grade_id``)."""
    meta = nbgrader(cell)
    return bool(meta.get("grade")) and bool(meta.get("grade_id"))


def is_solution_cell(cell) -> bool:
    """True for a cell that holds a solution: nbgrader ``solution: true`` or any solution/mark-scheme marker."""
    text = source(cell)
    markers = (SOLUTION_BEGIN, SOLUTION_END, MARK_SCHEME_BEGIN, MARK_SCHEME_END, INSTRUCTOR_BEGIN, INSTRUCTOR_END)
    return bool(nbgrader(cell).get("solution")) or any(m in text for m in markers)


def format_points(x) -> str:
    """Points as a person writes them: ``2``, ``1.5``; ``""`` for ``None`` (graded by hand)."""
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
