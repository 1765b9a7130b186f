"""The harness every exercise checker runs on: the contract, feedback, the learner's code run under a time limit.

The contract every checker follows (the grading tools rely on it):

* it is called ``check_<name>(student_answer, ...)`` and is two halves, ``probe_<name>`` and
  ``judge_<name>``, joined by :func:`run_check`: the probe calls the learner's code on the
  check's inputs (drawn from the grader's seed while grading, see
  :mod:`~spatialdrop_edu.checks._verdict`) and returns plain data; the judge decides from that data
  and the seed alone, so the grader can run it outside the learner's interpreter
  (:func:`~spatialdrop_edu.checks._judging.judge_report`);
* on a wrong answer the judge raises :class:`ExerciseFailure` (an ``AssertionError``) whose message
  says what was measured, what was expected, and the likely cause;
* on a right answer the judge returns one line starting with ``Correct:``, which :func:`run_check`
  prints; the checker returns ``None``;
* a reference answer it keeps is marked with :func:`reference_answer`: the checker may call it, the
  learner's code may not (an answer that is, or calls, the package's reference fails);
* an exception raised by the student's code becomes the feedback of an :class:`ExerciseFailure`
  naming the original error (:func:`attempt` records it as data; the judge raises it where the
  check reaches that call), and a call that runs longer than ``TIME_LIMIT_S`` seconds is stopped
  (where ``SIGALRM`` is available, i.e. on Linux and macOS in the main thread);
* random behaviour is tested against bounds derived from its distribution
  (``SIGMAS`` standard deviations), with the checker's own seeded generator, so a correct
  answer fails about once in 1.7 million runs and a given answer always gets the same verdict
  for the same seed.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import signal
import sys
import textwrap
import threading

from . import _verdict

#: Width of every statistical bound, in standard deviations.
SIGMAS = 5.0
#: Seconds one call of the student's code may take.
TIME_LIMIT_S = 20
#: Columns of a checker's printed feedback: what fits a code block of the course's website at 1280 pixels.
PAGE_WIDTH = 80


#: The heading of a failed check in Jupyter (bold red in an ANSI-capable frontend such as JupyterLab).
FAILURE_HEADING = "\x1b[1;31m✗ Not yet: the check found a problem\x1b[0m"


class ExerciseFailure(AssertionError):
    """A wrong answer to an exercise; the message is the feedback for the learner.

    In IPython and Jupyter a failed check shows as its message under a short red heading, not as a
    traceback through the checker's own code: IPython asks an exception for
    ``_render_traceback_()`` before it formats a traceback. The cell still fails as any error does
    (the kernel replies ``status: error`` with ``ename`` ``ExerciseFailure`` and the message as
    ``evalue``), so ``python -m spatialdrop_edu grade`` and nbgrader count the exercise as failed,
    and ``str(failure)`` is the message alone.

    Examples::

        >>> msg = "mean is 0.50, expected 1.00: did you forget to scale by 1/(1-p)?"
        >>> failure = ExerciseFailure(msg)
        >>> failure._render_traceback_()[1]
        'mean is 0.50, expected 1.00: did you forget to scale by 1/(1-p)?'
    """

    def _render_traceback_(self) -> list[str]:
        """The lines Jupyter shows for this failure: the heading, the feedback, and, when the learner's code
        raised the error the feedback names, the line of their code that raised it."""
        lines = [FAILURE_HEADING, *_page_lines(str(self))]
        where = getattr(self, "where", None) or _learner_line(self.__cause__ or self.__context__)
        return lines + [where] if where else lines


def _page_lines(text: str) -> list[str]:
    """``text`` wrapped at :data:`PAGE_WIDTH` columns, line by line (its own line breaks are kept)."""
    wrap = functools.partial(textwrap.wrap, width=PAGE_WIDTH, break_long_words=False, break_on_hyphens=False)
    return [part for line in text.splitlines() for part in (wrap(line) or [""])]


def _learner_line(error) -> str | None:
    """``"raised in Cell In[5], line 3: <source>"`` for the last frame of ``error`` outside installed libraries
    and this package (a notebook cell, or a file of the learner's), or ``None``."""
    import sysconfig
    import traceback
    from pathlib import Path

    if error is None or isinstance(error, ExerciseFailure) or error.__traceback__ is None:
        return None
    libraries = {Path(__file__).resolve().parents[1]}
    libraries |= {
        Path(p).resolve()
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if (p := sysconfig.get_paths().get(key))
    }
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        path = Path(frame.filename).resolve()
        if frame.filename.startswith("<") or any(lib == path or lib in path.parents for lib in libraries):
            continue
        code = f": {frame.line.strip()}" if frame.line else ""
        verb = "stopped" if isinstance(error, _TimeUp) else "raised"
        return f"{verb} in {_cell_name(frame.filename) or 'your code'}, line {frame.lineno}{code}"
    return None


def _cell_name(filename: str) -> str | None:
    """IPython's name of the cell whose code is in ``filename`` ("Cell In[5]"), or ``None`` outside IPython."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        name = shell.compile.format_code_name(filename) if shell is not None else None
    except (ImportError, AttributeError):
        return None
    return " ".join(name) if name else None


class _TimeUp(BaseException):
    pass


def fail(message: str):
    """Raise :class:`ExerciseFailure` with ``message``, the learner's feedback."""
    raise ExerciseFailure(message)


def passed(message: str) -> None:
    """Print a judge's ``Correct:`` line, wrapped at 80 columns (``PAGE_WIDTH``) to fit the course's website.

    Args:
        message: one line starting with ``Correct:``.

    Examples::

        >>> passed("Correct: well done.")
        Correct: well done.
    """
    print("\n".join(_page_lines(message)))


def run_check(probe, judge, *answers) -> None:
    """Run one exercise's check: ``probe(*answers, seed=...)`` beside the learner's code, then ``judge(data, seed)``.

    Outside grading the seed is ``None`` (each check's own inputs) and both halves run here; while
    the grader has armed the channel, the probe draws its inputs from the grader's seed and the data
    is also sent to the grader, which runs the same judge itself (:mod:`~spatialdrop_edu.checks._verdict`).
    The judge always gets the data as the grader does, after a round trip through
    :func:`~spatialdrop_edu.checks._verdict.encode` and :func:`~spatialdrop_edu.checks._verdict.decode`.

    Args:
        probe: ``probe(*answers, seed=seed) -> data``, plain data only.
        judge: ``judge(data, seed) -> str``: the ``Correct:`` line, or it raises :class:`ExerciseFailure`.
        answers: the learner's answers (usually one function).

    Raises:
        ExerciseFailure: the judge's feedback on a wrong answer.
    """
    seed = _verdict.grading_seed()
    data = _verdict.encode(probe(*answers, seed=seed))
    _verdict.submit(sys._getframe(1).f_code.co_name, data)
    passed(judge(_verdict.decode(data), seed))


def attempt(fn, *args, what: str, forbid=(), convert=None, **kwargs) -> dict:
    """A probe's call of the learner's ``fn``, as data: ``{"value": ...}``, or ``{"failure": feedback}``.

    The call is :func:`run_student_code`'s (time limit, forbidden package functions, errors turned
    into feedback); ``convert`` turns the value into plain data (e.g.
    :func:`~spatialdrop_edu.checks._measures.as_array`), and its own feedback (a missing ``return``)
    is a failure too. A judge reads the record with :func:`outcome`.

    Examples::

        >>> attempt(lambda x: 2 * x, 3, what="your function")
        {'value': 6}
        >>> attempt(lambda x: 1 / x, 0, what="your function")
        {'failure': 'your function raised ZeroDivisionError: division by zero'}
    """
    try:
        value = run_student_code(fn, *args, what=what, forbid=forbid, **kwargs)
        return {"value": convert(value, what) if convert else value}
    except ExerciseFailure as failure:
        where = _learner_line(failure.__cause__ or failure.__context__)
        return {"failure": str(failure), **({"where": where} if where else {})}


def outcome(record: dict):
    """The value a probe's :func:`attempt` recorded; its feedback raised as :class:`ExerciseFailure` if it failed.

    The line of the learner's code that raised, which the probe noted (``where``), is shown under the feedback.
    """
    if "failure" in record:
        failure = ExerciseFailure(str(record["failure"]))
        failure.where = str(record.get("where") or "")[:300]
        raise failure
    return record["value"]


def failed(record: dict) -> bool:
    """Whether an :func:`attempt` failed (a probe stops calling the learner's code there)."""
    return "failure" in record


#: What of the learner's code is running now, innermost last (``run_student_code`` calls may nest): while it is not
#: empty, a reference answer refuses to answer.
_student_calls: list[str] = []


def reference_answer(fn):
    """Mark ``fn`` as a reference answer: checkers may call it, the learner's code may not.

    While :func:`run_student_code` runs the learner's code, a call of ``fn`` fails with feedback
    instead of answering, so passing the package's reference (or a function that calls it) to its
    checker earns nothing. Everywhere else (the chapters' figures, tests) it works as written.

    Args:
        fn: the reference function.

    Returns:
        The guarded function, with ``fn``'s name, docstring and signature.

    Examples::

        >>> @reference_answer
        ... def double(x):
        ...     return 2 * x
        >>> double(2)
        4
        >>> run_student_code(double, 2, what="your function")
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: your function called the
        package's reference answer double: ...
    """

    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        if _student_calls:
            fail(f"{_student_calls[-1]} called the package's reference answer {fn.__name__}: write your own.")
        return fn(*args, **kwargs)

    del guarded.__wrapped__  # the unguarded function stays out of reach of `inspect.unwrap`
    guarded.__signature__ = inspect.signature(fn)  # help() and the API page show fn's parameters, not (*args, **kwargs)
    return guarded


def run_student_code(fn, *args, what: str, forbid=(), **kwargs):
    """Call the student's ``fn``; turn any error or a run past TIME_LIMIT_S into ExerciseFailure.

    ``forbid`` names package functions that the exercise asks the learner to write: if ``fn`` calls
    one of them, under any name it was imported as, the call fails with feedback saying so (an
    exercise whose answer is the package's own function is not answered by importing it).

    Examples::

        >>> run_student_code(lambda x: sum(x) + 1, [1.0, 3.0], what="your function")
        5.0
        >>> def mean(values):
        ...     return sum(values) / len(values)
        >>> run_student_code(lambda x: mean(x), [1.0, 3.0], what="your function",
        ...                  forbid=(mean,))
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: your function calls the
        package's mean: ...
    """
    if forbid:
        with _watching(forbid) as called:
            result = run_student_code(fn, *args, what=what, **kwargs)
        if called:
            names = ", ".join(sorted(called))
            fail(
                f"{what} calls the package's {names}: this exercise asks you to write it yourself, "
                "so an answer that hands the work to the package earns nothing."
            )
        return result
    if not callable(fn):
        fail(f"{what} must be a function, got {type(fn).__name__}: define it with `def` and pass the function itself.")
    use_alarm = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    previous = None
    if use_alarm:

        def on_alarm(signum, frame):
            raise _TimeUp()

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(TIME_LIMIT_S)
    _student_calls.append(what)
    try:
        return fn(*args, **kwargs)
    except _TimeUp:
        fail(f"{what} ran for more than {TIME_LIMIT_S} s and was stopped: is there an endless loop?")
    except NotImplementedError:
        fail(f"{what} raised NotImplementedError: replace `raise NotImplementedError()` with your solution.")
    except ExerciseFailure:
        raise
    except Exception as err:  # the student's bug, reported rather than crashing the checker
        fail(f"{what} raised {type(err).__name__}: {err}")
    finally:
        _student_calls.pop()
        if use_alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _watching(functions):
    """Record the names of ``functions`` that run inside the block (found by their code object, so every alias
    counts). Uses the interpreter's profile hook for the block's duration and restores the previous one."""
    codes = {f.__code__: f.__name__ for f in functions}
    called: set[str] = set()
    previous = sys.getprofile()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            called.add(codes[frame.f_code])
        if previous is not None:
            previous(frame, event, arg)

    sys.setprofile(profile)
    try:
        yield called
    finally:
        sys.setprofile(previous)
