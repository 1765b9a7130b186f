"""The kernel's half of the verdict channel: how a checker's pass reaches the grader, not through stdout.

While ``python -m spatialdrop_edu grade`` runs a check cell, the grader first *arms* the channel
with the cell's ``grade_id`` and a fresh random nonce that it sends in a silent request of its own
(the nonce is in no file, no environment variable and no cell of the notebook). A checker that
passes calls :func:`~spatialdrop_edu.checks._harness.passed`, which prints its ``Correct:`` line as
always and, while armed, also publishes a verdict message of the MIME type :data:`MIME` holding the
nonce, the ``grade_id`` and the name and module of the function that passed. The grader counts a
check only when the cell's execute reply is ``ok`` *and* such a message arrived for it, with the
nonce it sent, from the checker the instructor's check cell calls; it strips these messages from
the feedback notebook. Printing ``Correct:``, hiding a traceback or replacing a checker therefore
earns nothing.

Outside grading (a learner's own kernel, nbval, nbgrader) nothing is armed and nothing but the
``Correct:`` line is produced.

What this is not: the checker still runs in the student's interpreter, and code that takes that
interpreter over (IPython's execution hooks, ``sys.modules``, frames, builtins) can read a nonce
while it is armed. The grader flags every submission whose own code touches those
(:mod:`spatialdrop_edu.course.scan`), so such a forgery is never silent.
"""

from __future__ import annotations

#: The MIME type of a verdict message (a ``display_data`` output that the grader removes).
MIME = "application/vnd.spatialdrop.verdict+json"

_armed: dict | None = None


def arm(grade_id: str, nonce: str) -> None:
    """Called by the grader (a silent request) right before it runs the check cell ``grade_id``.

    Args:
        grade_id: the nbgrader ``grade_id`` of the check cell about to run.
        nonce: the grader's secret for this one cell.
    """
    global _armed
    _armed = {"grade_id": str(grade_id), "nonce": str(nonce)}


def disarm() -> None:
    """Called by the grader right after the check cell: a later pass reports nothing."""
    global _armed
    _armed = None


def report(message: str, caller) -> None:
    """Publish a verdict for the armed check cell, if any: ``caller`` is the frame of the function that passed.

    Args:
        message: the ``Correct:`` line the checker printed.
        caller: the frame of the checker (its code's name and its module are reported).
    """
    if _armed is None:
        return
    from IPython.display import publish_display_data

    record = {
        **_armed,
        "checker": caller.f_code.co_name,
        "module": str(caller.f_globals.get("__name__", "")),
        "message": str(message)[:2000],
    }
    publish_display_data({MIME: record, "text/plain": "verdict"})
