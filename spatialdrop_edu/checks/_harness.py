"""The harness every exercise checker runs on: feedback, time limits, statistical bounds.

The contract every checker follows (the grading tools rely on it):

* it is called ``check_<name>(student_answer, ...)`` and is two halves, ``probe_<name>`` and
  ``judge_<name>``, joined by :func:`run_check`: the probe calls the learner's code on the
  check's inputs (drawn from the grader's seed while grading, see
  :mod:`~spatialdrop_edu.checks._verdict`) and returns plain data; the judge decides from that data
  and the seed alone, so the grader can run it outside the learner's interpreter;
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
import math
import signal
import sys
import textwrap
import threading
from dataclasses import dataclass

import numpy as np

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
    into feedback); ``convert`` turns the value into plain data (e.g. :func:`as_array`), and its own
    feedback (a missing ``return``) is a failure too. A judge reads the record with :func:`outcome`.

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


def as_array(value, what: str) -> np.ndarray:
    """The learner's ``value`` (a NumPy array, a torch tensor or a list) as a float array, or feedback saying why not.

    Args:
        value: what the learner's function returned.
        what: how the function is named in the feedback.
    """
    if value is None:
        fail(f"{what} returned None: did you forget the `return` statement?")
    try:
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        fail(f"{what} must return an array, got {type(value).__name__}.")


def mean_bound(p: float, n: int) -> float:
    """SIGMAS-wide half-width for the mean of n independent inverted-dropout coins (mean 1, var p/(1-p))."""
    return SIGMAS * math.sqrt(p / ((1.0 - p) * n))


def fraction_bound(p: float, n: int) -> float:
    """SIGMAS-wide half-width for the fraction of n Bernoulli(p) trials that succeed."""
    return SIGMAS * math.sqrt(p * (1.0 - p) / n)


def check_inverted_output(y: np.ndarray, x_shape, p: float, flips: int, what: str) -> None:
    """Shared checks of one inverted-dropout output on ones: shape, values, drop rate, mean."""
    if y.shape != tuple(x_shape):
        fail(f"{what} returned shape {y.shape}, expected the input's shape {tuple(x_shape)}.")
    if not np.isfinite(y).all():
        fail(f"{what} returned NaN or infinite values with p = {p}: avoid dividing by zero.")
    scale = 1.0 / (1.0 - p)
    kept_value_ok = np.isclose(y, scale) | (y == 0)
    if not kept_value_ok.all():
        bad = np.unique(np.round(y[~kept_value_ok], 4))[:3].tolist()
        hint = " Did you forget to scale kept units by 1/(1-p)?" if np.isclose(bad[0], 1.0) else ""
        hint = hint or (" Did you scale by 1/p instead of 1/(1-p)?" if np.isclose(bad[0], 1.0 / p) else "")
        fail(
            f"on an input of ones with p = {p}, every output must be 0 (dropped) or 1/(1-p) = {scale:.2f} (kept), "
            f"but {what} also returned {bad}.{hint}"
        )
    dropped = float((y == 0).mean())
    bound = fraction_bound(p, flips)
    if abs(dropped - p) > bound:
        flipped = abs(dropped - (1 - p)) <= bound
        hint = " Is your mask keeping units with probability p instead of 1-p?" if flipped else ""
        fail(
            f"with p = {p}, {dropped:.3f} of the units were dropped, expected {p:.3f} ± {bound:.3f} "
            f"({SIGMAS:g} standard deviations over {flips} coin flips).{hint}"
        )


def check_whole_map_scale_and_rate(scales, dropped: int, maps: int, p: float, what: str = "feature maps") -> None:
    """The verdict every placement checker shares, once it has seen which maps a layer dropped.

    Kept maps must be scaled by ``1/(1-p)``, and the fraction of maps dropped must be ``p`` within
    ``SIGMAS`` standard deviations of a binomial over ``maps`` coins.

    Args:
        scales: the factor each kept map was multiplied by.
        dropped: how many maps were dropped whole.
        maps: how many maps were seen.
        p: the drop probability the learner was asked to use.
        what: what the maps are called in the feedback ("feature maps", "skip maps").
    """
    wrong = [c for c in scales if not math.isclose(c, 1 / (1 - p), rel_tol=1e-3)]
    if wrong:
        fail(
            f"kept {what} were multiplied by {wrong[0]:.3f}, expected 1/(1-p) = {1 / (1 - p):.3f} with p = {p}: "
            "pass the argument p to the layer (not 1 - p, not a constant); the layer scales by 1/(1-p) itself."
        )
    rate, bound = dropped / maps, fraction_bound(p, maps)
    if abs(rate - p) > bound:
        fail(
            f"{rate:.3f} of the {what} were dropped, expected p = {p} ± {bound:.3f} ({SIGMAS:g} standard "
            "deviations): pass the argument p to the layer (not 1 - p, not a constant)."
        )


def record_layers(model, x, *, inputs=None, outputs=None, what: str = "your model"):
    """Run the learner's ``model`` on ``x`` without gradients and record what chosen layers saw.

    Args:
        model: the learner's module.
        x: its input.
        inputs: ``{name: module}``; the first positional input of each is recorded under ``name``.
        outputs: ``{name: module}``; the output of each is recorded under ``name``.
        what: how the model is named in feedback.

    Returns:
        ``(recorded, output)``: a dict of detached copies, and the model's own output.
    """
    import torch

    seen = {}

    def keep(name):
        return lambda value: seen.__setitem__(name, value.detach().clone())

    # k=keep(n) binds each hook to its own name when the hook is made (a late-binding closure would share the last)
    hooks = [
        m.register_forward_pre_hook(lambda mod, args, k=keep(n): k(args[0]))  # noqa: B008
        for n, m in (inputs or {}).items()
    ]
    hooks += [
        m.register_forward_hook(lambda mod, args, out, k=keep(n): k(out))  # noqa: B008
        for n, m in (outputs or {}).items()
    ]
    try:
        with torch.no_grad():
            out = run_student_code(model, x, what=what)
    finally:
        for hook in hooks:
            hook.remove()
    return seen, out


def build_student_model(build_model, p: float):
    """The learner's ``build_model(p)``, which must return a ``torch.nn.Module``, put in training mode."""
    import torch

    model = run_student_code(build_model, p, what="your build_model")
    if not isinstance(model, torch.nn.Module):
        fail(f"build_model(p) must return a torch.nn.Module (e.g. nn.Sequential), got {type(model).__name__}.")
    return model.train()


class ArrayPool:
    """The arrays a probe saw, each kept once: a call that sees the same array again records its index.

    Examples::

        >>> import torch
        >>> pool = ArrayPool()
        >>> zeros, ones = torch.zeros(2), torch.ones(2)
        >>> pool.index(zeros), pool.index(ones), pool.index(torch.zeros(2))
        (0, 1, 0)
    """

    def __init__(self):
        self.arrays: list = []

    def index(self, tensor) -> int:
        """The index of ``tensor`` in the pool (equal dtype, shape and values), added if it is new."""
        import torch

        for i, kept in enumerate(self.arrays):
            if kept.dtype == tensor.dtype and kept.shape == tensor.shape and torch.equal(kept, tensor):
                return i
        self.arrays.append(tensor)
        return len(self.arrays) - 1


def pooled(pool: list, index):
    """The pool's array at ``index``: a judge's read of an :class:`ArrayPool` index, refused if no probe wrote it."""
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(pool):
        raise ValueError("a pool index the probe does not write")
    return pool[index]


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
