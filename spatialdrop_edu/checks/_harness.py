"""The harness every exercise checker runs on: feedback, time limits, statistical bounds.

The contract every checker follows (the grading tools rely on it):

* it is called ``check_<name>(student_answer, ...)``;
* on a wrong answer it raises :class:`ExerciseFailure` (an ``AssertionError``) whose message says
  what was measured, what was expected, and the likely cause;
* on a right answer it prints one line starting with ``Correct:`` and returns ``None``;
* an exception raised by the student's code becomes an :class:`ExerciseFailure` naming the
  original error, and a call that runs longer than ``TIME_LIMIT_S`` seconds is stopped
  (where ``SIGALRM`` is available, i.e. on Linux and macOS in the main thread);
* random behaviour is tested against bounds derived from its distribution
  (``SIGMAS`` standard deviations), with the checker's own seeded generator, so a correct
  answer fails about once in 1.7 million runs and a given answer always gets the same verdict.
"""


from __future__ import annotations

import math
import signal
import threading

import numpy as np

#: Width of every statistical bound, in standard deviations.
SIGMAS = 5.0
#: Seconds one call of the student's code may take.
TIME_LIMIT_S = 20


class ExerciseFailure(AssertionError):
    """A wrong answer to an exercise; the message is the feedback for the learner."""


class _TimeUp(BaseException):
    pass


def fail(message: str):
    """Raise :class:`ExerciseFailure` with ``message``, the learner's feedback."""
    raise ExerciseFailure(message)


def run_student_code(fn, *args, what: str, **kwargs):
    """Call the student's ``fn``; turn any error or a run past TIME_LIMIT_S into ExerciseFailure."""
    if not callable(fn):
        fail(f"{what} must be a function, got {type(fn).__name__}: define it with `def` and pass the function itself.")
    use_alarm = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    previous = None
    if use_alarm:
        def on_alarm(signum, frame):
            raise _TimeUp()

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(TIME_LIMIT_S)
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
        if use_alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)


def as_array(value, what: str) -> np.ndarray:
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
        hint = " Is your mask keeping units with probability p instead of 1-p?" if abs(dropped - (1 - p)) <= bound else ""
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
        fail(f"kept {what} were multiplied by {wrong[0]:.3f}, expected 1/(1-p) = {1 / (1 - p):.3f} with p = {p}: "
             "pass the argument p to the layer (not 1 - p, not a constant); the layer scales by 1/(1-p) itself.")
    rate, bound = dropped / maps, fraction_bound(p, maps)
    if abs(rate - p) > bound:
        fail(f"{rate:.3f} of the {what} were dropped, expected p = {p} ± {bound:.3f} ({SIGMAS:g} standard "
             "deviations): pass the argument p to the layer (not 1 - p, not a constant).")


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

    hooks = [m.register_forward_pre_hook(lambda mod, args, k=keep(n): k(args[0])) for n, m in (inputs or {}).items()]
    hooks += [m.register_forward_hook(lambda mod, args, out, k=keep(n): k(out)) for n, m in (outputs or {}).items()]
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
