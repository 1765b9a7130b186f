"""Checkers for the chapters' exercises, one module per chapter, all on one harness.

:mod:`~spatialdrop_edu.checks._harness` holds the contract every checker follows (feedback that
names what was measured and the likely mistake, a time limit, bounds of ``SIGMAS`` standard
deviations); :mod:`~spatialdrop_edu.checks._measures` what the checkers share to read and measure an
answer; :mod:`~spatialdrop_edu.checks._verdict` and :mod:`~spatialdrop_edu.checks._judging` the kernel's and the
grader's halves of a verdict. Each ``chNN_*`` module holds the checkers of one chapter, re-exported here, so a
notebook writes ``checks.check_inverted_dropout(my_dropout)``.
"""

from .._chapters import reexport_chapters
from ._harness import SIGMAS, TIME_LIMIT_S, ExerciseFailure, run_student_code

__all__ = ["SIGMAS", "TIME_LIMIT_S", "ExerciseFailure", "run_student_code"] + reexport_chapters(
    __name__, __path__, globals()
)
