"""What grading records: one row of ``grades.csv`` per graded cell, and what was found about one submission."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

#: The columns of grades.csv, in order.
CSV_COLUMNS = ("student", "notebook", "grade_id", "points", "max_points", "status", "feedback")


@dataclass
class Row:
    """One line of ``grades.csv``. ``points`` is ``None`` for a written answer graded by hand."""

    student: str
    notebook: str
    grade_id: str
    points: float | None
    max_points: float
    status: str  # passed, failed, error, timeout, not-run, manual, unreadable, unknown-notebook
    feedback: str
    auto: bool = True  # False for a written answer (not in the CSV; totals count autograded rows only)


@dataclass
class Submission:
    """What grading found about one submitted notebook.

    ``problems`` holds one line per problem, ``"<kind>: <detail>"``; the summary's table lists the
    kinds. ``limits`` is what the batch's kernels were limited by (see :func:`.reports.describe_limits`).
    """

    path: Path
    student: str
    notebook: str
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    executed: Path | None = None
    limits: dict | None = None

    def kinds(self) -> list[str]:
        """The kind of each problem (the words before its first colon), in order."""
        return [p.split(":")[0] for p in self.problems]

    def points(self) -> tuple[float, float]:
        """``(points earned, points possible)`` of the autograded cells."""
        auto = [r for r in self.rows if r.auto]
        return sum(r.points or 0 for r in auto), sum(r.max_points for r in auto)


def parse_name(path) -> tuple[str, str]:
    """``(student, notebook)`` from a submission's path: ``<student>__<nb>.ipynb`` or ``<student>/<nb>.ipynb``.

    Examples::

        >>> parse_name("subs/alice__01_dropout.ipynb")
        ('alice', '01_dropout')
        >>> parse_name("subs/bob/02_noise_shapes.ipynb")
        ('bob', '02_noise_shapes')
    """
    path = Path(path)
    if "__" in path.stem:
        student, notebook = path.stem.split("__", 1)
    else:
        student, notebook = path.parent.name, path.stem
    return student or "unknown", notebook


def parse_size(text) -> int:
    """Bytes from ``"4G"``, ``"512M"``, ``"100k"`` or a number of bytes; ``0`` means no limit.

    >>> parse_size("4G"), parse_size("512M"), parse_size("0")
    (4294967296, 536870912, 0)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)i?[bB]?\s*", str(text))
    if not match:
        raise ValueError(f"a size is a number of bytes or a number with K, M, G or T (such as 4G), not {text!r}")
    return int(float(match[1]) * 1024 ** " KMGT".index(match[2].upper() or " "))


def format_size(n: int) -> str:
    """``4 GiB``, ``512 MiB``.

    >>> format_size(4 * 2**30), format_size(512 * 2**20)
    ('4 GiB', '512 MiB')
    """
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} B"
