"""The grader's half of the verdict channel: a probe's report judged outside the learner's interpreter.

The kernel's half, :mod:`~spatialdrop_edu.checks._verdict`, publishes what a checker's probe saw as plain data;
:func:`judge_report` finds the checker's judge (:func:`judge_of`) and decides from that data and the grader's seed
alone, as ``python -m spatialdrop_edu grade`` does (:mod:`spatialdrop_edu.course.grading.scoring`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from . import _verdict
from ._harness import ExerciseFailure


@dataclass(frozen=True)
class Judgement:
    """The grader's verdict on one report of a checker's probe.

    Attributes:
        passed: whether the judge passed the data.
        message: the judge's ``Correct:`` line or its feedback.
        malformed: the data were not what the probe writes (forged or damaged): never a pass.
    """

    passed: bool
    message: str
    malformed: bool = False


def judge_of(checker: str):
    """The judge of the package's checker named ``checker`` (``judge_x`` beside ``check_x``), or ``None``."""
    import importlib
    import pkgutil

    if not checker.startswith("check_") or not checker.isidentifier():
        return None
    package = sys.modules[__package__]
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("ch"):
            module = importlib.import_module(f"{__package__}.{info.name}")
            if checker in getattr(module, "__all__", ()):
                return getattr(module, "judge_" + checker.removeprefix("check_"), None)
    return None


def judge_report(checker: str, data, seed: int | None) -> Judgement:
    """Judge what a probe reported, as the grader does outside the learner's interpreter.

    Args:
        checker: the checker the report names; its judge decides.
        data: the report's data, as :func:`~spatialdrop_edu.checks._verdict.encode` wrote it (untrusted).
        seed: the seed the grader armed the check cell with.

    Returns:
        A :class:`Judgement`: passed with the ``Correct:`` line; failed with the feedback; or malformed.

    Examples::

        >>> one_answer = {"calls": [{"value": 0.5}]}
        >>> judged = judge_report("check_dropout_variance", one_answer, None)
        >>> judged.passed, judged.message
        (False, 'for a = 1.0, p = 0.5 you returned 0.5, expected 1.')
        >>> forged = {"calls": "all right"}
        >>> judge_report("check_dropout_variance", forged, None).malformed
        True
    """
    judge = judge_of(checker)
    if judge is None:
        return Judgement(False, f"no checker named {checker[:80]!r} in the package", malformed=True)
    try:
        plain = _verdict.decode(data)
    except (_verdict.MalformedReport, KeyError, TypeError, ValueError) as exc:
        return Judgement(False, f"the report of {checker} could not be read ({exc})", malformed=True)
    try:
        return Judgement(True, str(judge(plain, seed)))
    except ExerciseFailure as failure:
        return Judgement(False, str(failure))
    except Exception as exc:  # data a probe does not write: a forged or damaged report
        return Judgement(False, f"the report of {checker} is not what its probe writes ({type(exc).__name__})", True)
