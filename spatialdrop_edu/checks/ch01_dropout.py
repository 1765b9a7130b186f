"""Checkers of chapter 1, dropout from a coin flip to inverted dropout (exercises 1.1-1.5)."""

from __future__ import annotations

import math

import numpy as np

from ..layers.numpy_reference import numpy_dropout
from ._harness import attempt, fail, failed, outcome, reference_answer, run_check
from ._measures import as_array, check_inverted_output, mean_bound

__all__ = [
    "average_variance_reference",
    "check_average_variance",
    "check_dropout_variance",
    "check_fixed_dropout",
    "check_inverted_dropout",
    "dropout_variance_reference",
]


def check_inverted_dropout(student_fn) -> None:
    """Exercise 1.1: ``student_fn(x, p, rng)`` must be inverted dropout on a NumPy array.

    The answer is called on ``x = ones(20_000)`` with the checker's seeded ``rng``. For ``p`` = 0.2
    and 0.5: the output has the input's shape and no NaN or infinite value; every value is 0 or
    the kept-unit scale the exercise asks for; the fraction of zeros is within ``SIGMAS`` standard
    deviations of ``p`` (a binomial over 20 000 units) and the mean within ``SIGMAS`` standard
    deviations of 1. With ``p = 0`` the output must equal the input, and with ``p = 1`` it must be
    all zeros, without NaN. An answer that is, or calls, the package's
    :func:`~spatialdrop_edu.layers.numpy_reference.numpy_dropout` fails.

    Args:
        student_fn: the learner's function ``(x, p, rng) -> array``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and the likely mistake.

    Examples::

        >>> check_inverted_dropout(lambda x, p, rng: x)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: on an input of ones with
        p = 0.2, every output must be 0 (dropped) or ...

    The package's own :func:`~spatialdrop_edu.layers.numpy_reference.numpy_dropout` is not an
    answer::

        >>> from spatialdrop_edu import numpy_dropout
        >>> check_inverted_dropout(numpy_dropout)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: your dropout function calls
        the package's numpy_dropout: ...
    """
    run_check(probe_inverted_dropout, judge_inverted_dropout, student_fn)


#: Units of the input of exercises 1.1 and 1.4: a binomial over this many coins sets the bounds.
UNITS = 20_000


def _dropout_rates(seed: int | None, learner: tuple[float, float]) -> tuple[int, tuple[float, float]]:
    """The coins' seed and the two drop rates a dropout check tries: the learner's own, or from the grader's seed."""
    if seed is None:
        return 2024, learner
    rng = np.random.default_rng(seed)
    return int(rng.integers(2**31)), (round(float(rng.uniform(0.1, 0.4)), 2), round(float(rng.uniform(0.45, 0.8)), 2))


def probe_inverted_dropout(student_fn, *, seed=None) -> dict:
    """Exercise 1.1's probe: the learner's outputs on ones at the two rates, then at ``p = 0`` and ``p = 1``."""
    coins, rates = _dropout_rates(seed, (0.2, 0.5))
    rng = np.random.default_rng(coins)
    calls = []
    for p in (*rates, 0.0, 1.0):  # the package's numpy_dropout is the answer written out: a call to it fails
        call = attempt(
            student_fn, np.ones(UNITS), p, rng, what="your dropout function", forbid=(numpy_dropout,), convert=as_array
        )
        calls.append(call)
        if failed(call):
            break
    return {"calls": calls}


def _judge_inverted(y, p: float, what: str, hint: str) -> None:
    """One call of inverted dropout on ones: its shape, values and drop rate, and its mean 1 within 5 sd."""
    check_inverted_output(y, (UNITS,), p, UNITS, what)
    mean, bound = float(y.mean()), mean_bound(p, UNITS)
    if abs(mean - 1.0) > bound:
        fail(f"mean after dropout is {mean:.2f}, expected 1.00 ± {bound:.2f}: {hint}")


def judge_inverted_dropout(data: dict, seed: int | None) -> str:
    """Exercise 1.1's judge: shape, values, drop rate and mean at each rate; identity at 0, zeros at 1."""
    what, n = "your dropout function", UNITS
    _, rates = _dropout_rates(seed, (0.2, 0.5))
    calls = iter(data["calls"])
    for p in rates:
        _judge_inverted(outcome(next(calls)), p, what, "did you forget to scale by 1/(1-p)?")
    y = outcome(next(calls))
    if y.shape != (n,) or not np.allclose(y, 1.0):
        fail("with p = 0 nothing may be dropped and nothing scaled: the output must equal the input.")
    y = outcome(next(calls))
    if y.shape != (n,) or not np.isfinite(y).all() or np.any(y != 0):
        fail("with p = 1 every unit is dropped: the output must be all zeros (and no NaN from dividing by 1 - p = 0).")
    return "Correct: inverted dropout drops a fraction p and keeps the mean at 1."


@reference_answer
def dropout_variance_reference(a: float, p: float) -> float:
    """Variance of inverted dropout's output for an input value ``a``: ``a**2 * p / (1 - p)``."""
    return a * a * p / (1.0 - p)


def check_dropout_variance(student_fn) -> None:
    """Exercise 1.2: ``student_fn(a, p)`` must return the variance inverted dropout adds to a unit of value ``a``.

    The answer is called at five points ``(a, p)`` (``a`` positive, negative and zero; ``p`` from
    0.1 to 0.9) and must return a number equal to the exact variance within a relative tolerance
    of 1e-6: a derived formula, so no sampling bound is needed. Several typical mistakes are
    recognised and named in the feedback.

    Args:
        student_fn: the learner's function ``(a, p) -> float``.

    Raises:
        ExerciseFailure: with feedback naming the first point answered wrongly and, where it
            recognises it, the mistake.

    Examples::

        >>> check_dropout_variance(lambda a, p: 0.0)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: for a = 1.0, p = 0.5 you
        returned 0, ...
    """
    run_check(probe_dropout_variance, judge_dropout_variance, student_fn)


def _number(value, what: str) -> float:
    """The learner's answer as a float, or feedback saying why it is not a number."""
    if value is None:
        fail(f"{what} returned None: did you forget the `return` statement?")
    try:
        return float(value)
    except (TypeError, ValueError):
        fail(f"{what} must return a number, got {type(value).__name__}.")


def _variance_points(seed: int | None) -> list[tuple[float, float]]:
    """Exercise 1.2's points (a, p), a positive, negative and zero: the learner's own, or from the grader's seed."""
    if seed is None:
        return [(1.0, 0.5), (2.0, 0.2), (3.0, 0.9), (-1.5, 0.1), (0.0, 0.3)]
    rng = np.random.default_rng(seed)
    a = [rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0), -rng.uniform(0.5, 3.0), 0.0]
    return [(round(float(x), 2), round(float(rng.uniform(0.1, 0.9)), 2)) for x in a]


def probe_dropout_variance(student_fn, *, seed=None) -> dict:
    """Exercise 1.2's probe: the learner's variance at each point."""
    calls = []
    for a, p in _variance_points(seed):
        calls.append(attempt(student_fn, a, p, what="your variance function", convert=_number))
        if failed(calls[-1]):
            break
    return {"calls": calls}


def judge_dropout_variance(data: dict, seed: int | None) -> str:
    """Exercise 1.2's judge: each answer equals ``a² p / (1 - p)``; typical mistakes are named."""
    for (a, p), call in zip(_variance_points(seed), data["calls"], strict=False):
        got = float(outcome(call))
        want = dropout_variance_reference(a, p)
        if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12):
            continue
        hint = ""
        if math.isclose(got, a * a * p * (1 - p), rel_tol=1e-6):
            hint = " That is the variance of the unscaled mask a·Bernoulli(1-p); the kept value is a/(1-p)."
        elif math.isclose(got, a * a * (1 - p) / p, rel_tol=1e-6):
            hint = " You swapped p and 1-p: p is the probability to drop."
        elif math.isclose(got, abs(a) * p / (1 - p), rel_tol=1e-6):
            hint = " The variance scales with a², not a."
        elif math.isclose(got, a * a / (1 - p), rel_tol=1e-6):
            hint = " That is E[y²]; subtract the squared mean E[y]² = a²."
        fail(f"for a = {a}, p = {p} you returned {got:.4g}, expected {want:.4g}.{hint}")
    if len(data["calls"]) != len(_variance_points(seed)):
        raise ValueError("the report has the wrong number of answers")
    return "Correct: Var = a² p / (1 - p); it grows without bound as p → 1."


def check_fixed_dropout(student_fn) -> None:
    """Exercise 1.4: ``student_fn(x, p, training)`` must be a corrected PyTorch inverted dropout.

    The answer is called on ``x = torch.ones(20_000)``, with PyTorch's global generator seeded
    inside the check (the caller's random stream is restored afterwards). In training, for ``p``
    = 0.2 and 0.7: the output has the input's shape and no NaN or infinite value; every value is 0
    or the kept-unit scale the exercise asks for; the fraction of zeros is within ``SIGMAS``
    standard deviations of ``p`` and the mean within ``SIGMAS`` standard deviations of 1. With
    ``training=False`` (``p = 0.5``) the output must equal the input, and in training with
    ``p = 1`` it must be all zeros, without inf or NaN.

    Args:
        student_fn: the learner's function ``(x, p, training) -> torch.Tensor``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and which of the three problems
            it points to.

    Examples::

        >>> check_fixed_dropout(lambda x, p, training=True: x)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: on an input of ones with
        p = 0.2, every output must be 0 (dropped) or ...
    """
    run_check(probe_fixed_dropout, judge_fixed_dropout, student_fn)


def probe_fixed_dropout(student_fn, *, seed=None) -> dict:
    """Exercise 1.4's probe: outputs on ones in training at two rates, in eval mode, and at ``p = 1``."""
    import torch

    coins, rates = _dropout_rates(seed, (0.2, 0.7))
    x = torch.ones(UNITS)
    calls = []
    with torch.random.fork_rng(devices=[]):  # the caller's random stream is left as it was
        torch.manual_seed(coins)
        for p, training in ((rates[0], True), (rates[1], True), (0.5, False), (1.0, True)):
            calls.append(attempt(student_fn, x.clone(), p, training, what="your fixed dropout", convert=as_array))
            if failed(calls[-1]):
                break
    return {"calls": calls}


def judge_fixed_dropout(data: dict, seed: int | None) -> str:
    """Exercise 1.4's judge: inverted dropout in training at both rates, the identity in eval mode, zeros at 1."""
    what, n = "your fixed dropout", UNITS
    _, rates = _dropout_rates(seed, (0.2, 0.7))
    calls = iter(data["calls"])
    for p in rates:
        _judge_inverted(outcome(next(calls)), p, what, "scale kept units by 1/(1-p).")
    y = outcome(next(calls))
    if y.shape != (n,) or not np.allclose(y, 1.0):
        dropped = float((y == 0).mean()) if y.shape == (n,) else float("nan")
        fail(
            f"with training=False the input must come back unchanged, but {dropped:.2f} of the units were "
            f"zeroed: return x when not training."
        )
    y = outcome(next(calls))
    if not np.isfinite(y).all() or np.any(y != 0):
        fail(
            "with p = 1 every unit is dropped, but your output has non-zero, inf or NaN values: this is the "
            "third problem of the buggy version (dividing by 1 - p = 0). Return zeros when p = 1."
        )
    return (
        "Correct: all three problems fixed: units are kept with probability 1 - p, eval mode is the identity, "
        "and p = 1 gives zeros."
    )


@reference_answer
def average_variance_reference(a: float, p: float, n: int, rho: float) -> float:
    """Variance of the average of ``n`` units of value ``a`` after inverted dropout, coins correlated ``rho``.

    ``a**2 * p / (1 - p) * (1 + (n - 1) * rho) / n``: ``a**2 p / ((1 - p) n)`` for independent
    coins (``rho = 0``), ``a**2 p / (1 - p)`` for one shared coin (``rho = 1``).

    Examples::

        >>> shared = average_variance_reference(1.0, 0.5, 9, 1.0)
        >>> independent = average_variance_reference(1.0, 0.5, 9, 0.0)
        >>> shared / independent
        9.0
    """
    return a * a * p / (1.0 - p) * (1.0 + (n - 1) * rho) / n


#: Points (a, p, n, rho) at which exercise 1.5's formula is compared: n = 1 and rho = 0 or 1 included.
AVERAGE_VARIANCE_POINTS = tuple(
    (a, p, n, rho)
    for a in (1.0, 2.0, -1.5)
    for p in (0.1, 0.3, 0.5, 0.8)
    for n in (1, 2, 9, 50)
    for rho in (0.0, 0.25, 1.0)
)


def check_average_variance(student_fn) -> None:
    """Exercise 1.5: ``student_fn(a, p, n, rho)``: variance of the average of ``n`` dropped-out units.

    The answer is called at the 144 points of ``AVERAGE_VARIANCE_POINTS`` (``a`` positive and
    negative, ``p`` from 0.1 to 0.8, ``n`` from 1 to 50, ``rho`` 0, 0.25 and 1: both ends the
    exercise names are included) and must return a number equal to the exact variance within a
    relative tolerance of 1e-6. A typical mistake that explains every answer, or else the first
    wrong one, is named in the feedback.

    Args:
        student_fn: the learner's function ``(a, p, n, rho) -> float``.

    Raises:
        ExerciseFailure: with feedback naming the first point answered wrongly and, where it
            recognises it, the mistake.

    Examples::

        >>> check_average_variance(lambda a, p, n, rho: 0.0)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: for a = 1.0, p = 0.1, n = 1,
        ρ = 0.0 you returned 0, ...
    """
    run_check(probe_average_variance, judge_average_variance, student_fn)


#: Typical wrong formulas for exercise 1.5, each with the feedback that names its mistake.
AVERAGE_VARIANCE_MISTAKES = (
    (
        lambda a, p, n, rho: a * a * p / (1 - p) * (1 + (n - 1) * rho),
        "You forgot to divide by n: the variance of a sum of n terms is n times larger than that of their average "
        "(Var[S/n] = Var[S]/n², and Var[S] = n·σ²·(1 + (n-1)ρ)).",
    ),
    (
        lambda a, p, n, rho: a * a * p * (1 - p) * (1 + (n - 1) * rho) / n,
        "You used p(1-p), the variance of the unscaled coin; the kept value is a/(1-p), so one unit's variance is "
        "a² p/(1-p).",
    ),
    (
        lambda a, p, n, rho: a * a * (1 - p) / p * (1 + (n - 1) * rho) / n,
        "You swapped p and 1-p: p is the probability to drop.",
    ),
    (
        lambda a, p, n, rho: a * a * p / (1 - p) / n,
        "Your answer ignores ρ: it is right for independent coins only. Add the n(n-1) covariance terms ρσ².",
    ),
    (
        lambda a, p, n, rho: a * a * p / (1 - p),
        "Your answer ignores n: that is the variance of one unit, or of the average when all coins are one.",
    ),
    (
        lambda a, p, n, rho: a * a * p / (1 - p) * (1 + n * rho) / n,
        "There are n(n-1) ordered pairs of different coins, not n²: the factor is 1 + (n-1)ρ, not 1 + nρ.",
    ),
    (
        lambda a, p, n, rho: a * a * p / (1 - p) * (1 + (n - 1) * rho) / n**2,
        "You divided by n² twice: Var[S/n] = Var[S]/n² and Var[S] = n·σ²·(1 + (n-1)ρ), so one factor n remains.",
    ),
    (lambda a, p, n, rho: abs(a) * p / (1 - p) * (1 + (n - 1) * rho) / n, "The variance scales with a², not a."),
    (
        lambda a, p, n, rho: a * a * p / (1 - p) * (1 + (n - 1) * rho * rho) / n,
        "ρ is already the correlation between two coins: the covariance of two units is ρσ², not ρ²σ².",
    ),
)


def _average_variance_points(seed: int | None) -> tuple:
    """Exercise 1.5's 144 points: :data:`AVERAGE_VARIANCE_POINTS`, or the same grid drawn from the grader's seed."""
    if seed is None:
        return AVERAGE_VARIANCE_POINTS
    rng = np.random.default_rng(seed)

    def draw(low, high, k):
        return [round(float(v), 2) for v in rng.uniform(low, high, k)]

    a_values = [*draw(0.5, 2.5, 2), -draw(0.5, 2.5, 1)[0]]
    n_values = (1, int(rng.integers(2, 6)), int(rng.integers(6, 21)), int(rng.integers(21, 61)))
    return tuple(
        (a, p, n, rho)
        for a in a_values
        for p in sorted(draw(0.05, 0.85, 4))
        for n in n_values
        for rho in (0.0, draw(0.1, 0.9, 1)[0], 1.0)
    )


def probe_average_variance(student_fn, *, seed=None) -> dict:
    """Exercise 1.5's probe: the learner's variance at each of the 144 points."""
    calls = []
    for point in _average_variance_points(seed):
        calls.append(attempt(student_fn, *point, what="your variance function", convert=_number))
        if failed(calls[-1]):
            break
    return {"calls": calls}


def judge_average_variance(data: dict, seed: int | None) -> str:
    """Exercise 1.5's judge: every answer equals the exact variance; a mistake that explains them is named."""
    points = _average_variance_points(seed)
    answers = [float(outcome(call)) for call in data["calls"]]
    if len(answers) != len(points):
        raise ValueError("the report has the wrong number of answers")

    def matches(formula) -> list[bool]:
        return [math.isclose(got, formula(*pt), rel_tol=1e-6, abs_tol=1e-12) for pt, got in zip(points, answers)]

    right = matches(average_variance_reference)
    if not all(right):
        first = right.index(False)
        (a, p, n, rho), got = points[first], answers[first]
        want = average_variance_reference(a, p, n, rho)
        # name the mistake that explains every answer; else one that explains this point
        hint = next((" " + text for wrong, text in AVERAGE_VARIANCE_MISTAKES if all(matches(wrong))), "")
        hint = hint or next((" " + text for wrong, text in AVERAGE_VARIANCE_MISTAKES if matches(wrong)[first]), "")
        fail(f"for a = {a}, p = {p}, n = {n}, ρ = {rho} you returned {got:.4g}, expected {want:.4g}.{hint}")
    return (
        "Correct: Var = a² p/(1-p) · (1 + (n-1)ρ)/n: 1/n of one unit's variance for independent coins, "
        "all of it for one shared coin."
    )
