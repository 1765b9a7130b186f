"""What grading records: one row of ``grades.csv`` per graded cell, and what was found about one submission."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

#: The columns of grades.csv, in order. ``problems``: the kinds of the submission's problems (``; ``-separated),
#: empty for a clean one; a row of a flagged submission never has the status ``passed`` (see :meth:`Submission.flag`).
CSV_COLUMNS = ("student", "notebook", "grade_id", "points", "max_points", "status", "feedback", "problems")

#: The names the batch's own files take in ``--out``: no student may be called so (compared case-insensitively).
RESERVED_NAMES = ("grades.csv", "summary.md", "SHA256SUMS")
#: The longest student or notebook name accepted.
MAX_NAME = 100


@dataclass
class Row:
    """One line of ``grades.csv``. ``points`` is ``None`` for a written answer graded by hand."""

    student: str
    notebook: str
    grade_id: str
    points: float | None
    max_points: float
    # passed, flagged (passed, in a submission with problems), failed, error, timeout, not-run, manual, unreadable,
    # unknown-notebook, not-graded (an invalid name, a symbolic link)
    status: str
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
    #: Peak resident memory of the process that ran it, outside the sandbox (bytes; 0 if unknown).
    runner_memory: int = 0

    def kinds(self) -> list[str]:
        """The kind of each problem (the words before its first colon), in order."""
        return [p.split(":")[0] for p in self.problems]

    def points(self) -> tuple[float, float]:
        """``(points earned, points possible)`` of the autograded cells."""
        auto = [r for r in self.rows if r.auto]
        return sum(r.points or 0 for r in auto), sum(r.max_points for r in auto)

    def flag(self) -> None:
        """A submission with problems never reads as a plain pass: its ``passed`` rows become ``flagged``.

        The points stay (the instructor decides, reading the problems); the status and ``grades.csv``'s
        ``problems`` column say that they need a look.
        """
        if self.problems:
            for row in self.rows:
                if row.status == "passed":
                    row.status = "flagged"


def name_problem(student: str, notebook: str) -> str | None:
    """Why a submission's student or notebook name cannot be used, or ``None`` where both can.

    Both become a folder and a file name in ``--out`` and lines of ``summary.md``: no slash or backslash, not
    ``.`` or ``..``, no leading dot, no control character or line break, at most :data:`MAX_NAME` characters,
    and no student named like the batch's own files (:data:`RESERVED_NAMES`).

    Examples::

        >>> name_problem("alice", "01_dropout") is None
        True
        >>> name_problem("grades.csv", "01_dropout")
        "student name 'grades.csv' is the name of one of the batch's own files"
        >>> name_problem("..", "01_dropout")[:40]
        "student name '..' is not a plain name: n"
    """
    for what, name in (("student", student), ("notebook", notebook)):
        if not name or len(name) > MAX_NAME:
            return f"{what} name {name[:MAX_NAME]!r} must have 1 to {MAX_NAME} characters"
        if any(ch in name for ch in "/\\") or name in (".", "..") or name.startswith("."):
            return f"{what} name {name!r} is not a plain name: no slash or backslash, not '.' or '..', no leading dot"
        if any(not ch.isprintable() for ch in name):
            return f"{what} name {name!r} holds a control character or a line break"
    if student.casefold() in {n.casefold() for n in RESERVED_NAMES}:
        return f"student name {student!r} is the name of one of the batch's own files"
    return None


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
