"""Checkers of chapter 3, why plain dropout is weak on conv feature maps (exercises 3.1-3.3)."""

from __future__ import annotations

import math

import numpy as np

from ..analysis.correlation import autocorrelation, mean_autocorrelation
from ..analysis.fields import gaussian_random_field, neighbour_fill
from ._harness import attempt, fail, failed, outcome, reference_answer, run_check
from ._measures import as_array

__all__ = [
    "check_autocorrelation",
    "check_injected_variance",
    "check_neighbour_fill",
    "injected_variance_reference",
]

#: Absolute tolerance on a correlation: wide enough for the mean of each shifted block versus
#: the mean of the whole map, far narrower than the mistakes the checker recognises.
CORRELATION_TOL = 0.02


def _number(value, what: str) -> float:
    """The learner's answer as a float, or feedback saying why it is not one number."""
    if value is None:
        fail(f"{what} returned None: did you forget the `return` statement?")
    try:
        return float(np.asarray(value, dtype=float).reshape(()))
    except (TypeError, ValueError):
        fail(f"{what} must return one number, got {type(value).__name__}.")


def _pearson(a, b) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def check_autocorrelation(student_fn) -> None:
    """Exercise 3.1: ``student_fn(x, d)`` must return the correlation of pixels ``d`` apart.

    The answer must return one number, equal within ``CORRELATION_TOL`` to the correlation the
    exercise defines, on fixed fields drawn by the checker (a smooth field, white noise, a smooth
    field offset by 5, a field smooth along rows and white from row to row) at lags from 1 to 12,
    and exactly 1 (within 1e-6) at ``d = 0``. A wrong value is compared with typical mistakes,
    and the one it matches is named. An answer that calls the package's
    :func:`~spatialdrop_edu.analysis.correlation.autocorrelation` (or ``mean_autocorrelation``) fails.

    Args:
        student_fn: the learner's function ``(x, d) -> float``.

    Raises:
        ExerciseFailure: with feedback naming the field and lag answered wrongly and, where it
            recognises it, the mistake.

    Examples::

        >>> check_autocorrelation(lambda x, d: 0.0)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: on a smooth field
        (correlation length 6) at lag d = 1 you returned 0.000, ...
    """
    run_check(probe_autocorrelation, judge_autocorrelation, student_fn)


def _autocorrelation_cases(seed: int | None) -> list[tuple[str, np.ndarray, tuple[int, ...]]]:
    """Exercise 3.1's fields, each with its name in feedback and its lags: the learner's own, or drawn from the
    grader's seed (other fields, offset and lags). The smooth field comes first; the check ends with it at lag 0."""
    if seed is None:
        return _correlation_fields(np.random.default_rng(303), 5, ((1, 3, 6, 12), (1, 2), (1, 4), (1, 4)))
    draw = np.random.default_rng(seed)

    def lag(low: int, high: int) -> int:
        return int(draw.integers(low, high + 1))

    offset = int(draw.integers(2, 10))
    lags = ((1, lag(2, 4), lag(5, 8), lag(9, 12)), (1, lag(2, 3)), (1, lag(3, 5)), (1, lag(3, 6)))
    for _ in range(100):  # about 2 in 5 draws tell the answers apart
        cases = _correlation_fields(np.random.default_rng(int(draw.integers(2**31))), offset, lags, window=True)
        if _tells_apart(cases):
            return cases
    raise RuntimeError("no fields drawn from this seed tell the answers apart")


def _correlation_fields(rng: np.random.Generator, offset: int, lags: tuple, window: bool = False) -> list:
    """Exercise 3.1's four fields drawn from ``rng``, with their names and lags; with ``window``, each field is the
    corner of one twice as wide (and as high), so that it does not wrap around as a whole field does."""

    def field(h: int, w: int, length: float) -> np.ndarray:
        if not window:
            return gaussian_random_field((h, w), length, rng)
        return gaussian_random_field((h if h == 1 else 2 * h, 2 * w), length, rng)[:h, :w]

    cases = [
        ("a smooth field (correlation length 6)", field(64, 64, 6.0), lags[0]),
        ("white noise", field(64, 64, 0.0), lags[1]),
        (f"a smooth field plus {offset} (not zero-mean)", field(48, 64, 3.0) + float(offset), lags[2]),
    ]
    # smooth along rows (horizontal neighbours agree), independent from row to row
    rows_only = np.stack([field(1, 64, 8.0)[0] for _ in range(64)])
    cases.append(("a field smooth along each row and white from row to row", rows_only, lags[3]))
    return cases


def _wrapped(x: np.ndarray, d: int) -> float:
    """The correlation of pixels ``d`` apart measured with ``np.roll``, which pairs each border with the opposite."""
    return 0.5 * (_pearson(x, np.roll(x, -d, 1)) + _pearson(x, np.roll(x, -d, 0)))


def _whole_map(x: np.ndarray, d: int) -> float:
    """The correlation of pixels ``d`` apart, both directions pooled, with the whole map's mean and deviation."""
    z = (x - x.mean()) / x.std()
    return float(np.concatenate([(z[:, :-d] * z[:, d:]).ravel(), (z[:-d] * z[d:]).ravel()]).mean())


def _tells_apart(cases: list) -> bool:
    """Whether the fields tell an answer that wraps around the border (off by twice ``CORRELATION_TOL`` at some lag)
    from a right one that uses the whole map's mean and deviation (within half of it at every lag)."""
    wrapped = whole = 0.0
    for _, x, lags in cases:
        for d in lags:
            want = float(autocorrelation(x, d)[d])
            wrapped, whole = max(wrapped, abs(_wrapped(x, d) - want)), max(whole, abs(_whole_map(x, d) - want))
    return wrapped >= 2 * CORRELATION_TOL and whole <= CORRELATION_TOL / 2


def probe_autocorrelation(student_fn, *, seed=None) -> dict:
    """Exercise 3.1's probe: the learner's correlation on each field at each of its lags, then at lag 0."""
    cases = _autocorrelation_cases(seed)
    runs = [(x, d) for _, x, lags in cases for d in lags] + [(cases[0][1], 0)]
    calls = []
    for x, d in runs:
        calls.append(
            attempt(
                student_fn,
                x.copy(),
                d,
                what="your autocorrelation function",
                forbid=(autocorrelation, mean_autocorrelation),  # the package's answer, written out
                convert=_number,
            )
        )
        if failed(calls[-1]):
            break
    return {"calls": calls}


def _autocorrelation_hint(x: np.ndarray, d: int, got: float) -> str:
    """The typical mistake a wrong correlation of ``x`` at lag ``d`` matches, as feedback; empty if none."""
    horiz, vert = _pearson(x[:, :-d], x[:, d:]), _pearson(x[:-d, :], x[d:, :])
    raw = float(np.mean(x[:, :-d] * x[:, d:]))
    if abs(got - _wrapped(x, d)) < 1e-6:
        return " np.roll wraps around the border; compare x[:, :-d] with x[:, d:] instead."
    if abs(got - horiz) < 1e-3 or abs(got - vert) < 1e-3:
        return (
            " That is the correlation along one direction only; average the horizontal and the vertical "
            f"pairs (here {horiz:.2f} and {vert:.2f})."
        )
    if abs(got - raw) < 1e-3 or got > 1.0 + 1e-9:
        return " Subtract the means and divide by the standard deviations: a correlation lies in [-1, 1]."
    if d and abs(got - float(autocorrelation(x, max(d - 1, 1))[max(d - 1, 1)])) < 1e-3:
        return " You seem to be one lag off: pixels d apart are x[i, j] and x[i, j + d]."
    return ""


def judge_autocorrelation(data: dict, seed: int | None) -> str:
    """Exercise 3.1's judge: each answer within ``CORRELATION_TOL`` of the correlation the exercise defines, exactly
    1 at lag 0; a typical mistake that a wrong answer matches is named."""
    cases = _autocorrelation_cases(seed)
    calls = iter(data["calls"])
    for name, x, lags in cases:
        for d in lags:
            got = float(outcome(next(calls)))
            want = float(autocorrelation(x, d)[d])
            if not abs(got - want) <= CORRELATION_TOL:
                hint = _autocorrelation_hint(x, d, got)
                fail(f"on {name} at lag d = {d} you returned {got:.3f}, expected {want:.3f} ± {CORRELATION_TOL}.{hint}")
    got0 = float(outcome(next(calls)))
    if not abs(got0 - 1.0) <= 1e-6:
        fail(
            f"at lag d = 0 every pixel is paired with itself, so the correlation must be 1; you returned {got0:.3f}. "
            "Note that x[:, :-0] is empty in Python: handle d = 0 on its own."
        )
    return "Correct: the correlation of pixels d apart, both directions, no wrap-around."


def check_neighbour_fill(student_fn) -> None:
    """Exercise 3.2: ``student_fn(x, keep)`` must fill dropped pixels with the mean of their kept 4-neighbours.

    The answer is called on a smooth field with keep-masks drawn at p = 0.3 and 0.8, and on a
    4 x 4 ramp whose corner has no kept neighbour. The output must have the input's shape, every
    kept pixel must come back unchanged, and every pixel must equal, within 1e-9, the fill the
    exercise defines (the package's 4-neighbour fill). At the first wrong pixel the output is
    compared with typical mistakes, and the one it matches is named. An answer that is, or
    calls, the package's :func:`~spatialdrop_edu.analysis.fields.neighbour_fill` fails.

    Args:
        student_fn: the learner's function ``(x, keep) -> array``.

    Raises:
        ExerciseFailure: with feedback naming the case and pixel answered wrongly and, where it
            recognises it, the mistake.

    Examples::

        >>> check_neighbour_fill(lambda x, keep: x)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: on a smooth field, p = 0.3,
        pixel ...

    The package's own :func:`~spatialdrop_edu.analysis.fields.neighbour_fill` is not an answer::

        >>> from spatialdrop_edu.analysis.fields import neighbour_fill
        >>> check_neighbour_fill(lambda x, keep: neighbour_fill(x, keep, 4))
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: your fill function calls
        the package's neighbour_fill: ...
    """
    run_check(probe_neighbour_fill, judge_neighbour_fill, student_fn)


def _fill_cases(seed: int | None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Exercise 3.2's maps, each with its name in feedback and its keep-mask: the learner's own, or drawn from the
    grader's seed (another field and masks, other drop rates, another ramp)."""
    if seed is None:
        fields, rates, (start, step) = 304, (0.3, 0.8), (1.0, 1.0)
    else:
        draw = np.random.default_rng(seed)
        fields = int(draw.integers(2**31))
        rates = (round(float(draw.uniform(0.2, 0.4)), 2), round(float(draw.uniform(0.7, 0.85)), 2))
        start, step = round(float(draw.uniform(-3.0, 3.0)), 1), round(float(draw.uniform(0.5, 2.0)), 1)
    rng = np.random.default_rng(fields)
    field = gaussian_random_field((32, 32), 3.0, rng) + 1.0
    cases = [(f"a smooth field, p = {p}", field, rng.random(field.shape) >= p) for p in rates]
    ramp = start + step * np.arange(16.0).reshape(4, 4)
    lonely = np.ones((4, 4), dtype=bool)
    lonely[0, 0] = lonely[0, 1] = lonely[1, 0] = False  # (0, 0) has no kept 4-neighbour
    cases.append(("a 4 x 4 ramp whose corner (0, 0) has no kept neighbour", ramp, lonely))
    return cases


def probe_neighbour_fill(student_fn, *, seed=None) -> dict:
    """Exercise 3.2's probe: the learner's filled map for each map and keep-mask."""
    what, calls = "your fill function", []
    for _, x, keep in _fill_cases(seed):
        calls.append(attempt(student_fn, x.copy(), keep.copy(), what=what, forbid=(neighbour_fill,), convert=as_array))
        if failed(calls[-1]):
            break
    return {"calls": calls}


def _fill_hint(x: np.ndarray, keep: np.ndarray, got: np.ndarray, r: int, c: int) -> str:
    """The typical mistake a wrong fill of ``x`` matches (at its first wrong pixel ``(r, c)``), as feedback."""
    if np.allclose(got, neighbour_fill(x, keep, 8), atol=1e-9):
        return " You used 8 neighbours (with the diagonals); this exercise asks for the 4 up, down, left, right."
    kx = np.where(keep, x, 0.0)
    pad = np.pad(kx, 1)
    by_four = (pad[:-2, 1:-1] + pad[2:, 1:-1] + pad[1:-1, :-2] + pad[1:-1, 2:]) / 4.0
    rolled = sum(np.roll(kx, s, a) for s in (1, -1) for a in (0, 1))
    rolled_n = sum(np.roll(keep.astype(float), s, a) for s in (1, -1) for a in (0, 1))
    if np.isclose(got[r, c], by_four[r, c], atol=1e-9):
        return (
            " You divided by 4 always: the dropped neighbours (zeros) pulled the mean down. Divide by the "
            "number of KEPT neighbours."
        )
    if rolled_n[r, c] > 0 and np.isclose(got[r, c], rolled[r, c] / rolled_n[r, c], atol=1e-9):
        return " np.roll wraps around: at the border, pixels from the opposite side were used as neighbours."
    if not np.isfinite(got[r, c]):
        return " A pixel without kept neighbours gives 0/0: use the mean of all kept pixels there."
    return ""


def judge_neighbour_fill(data: dict, seed: int | None) -> str:
    """Exercise 3.2's judge: the input's shape, kept pixels unchanged, every pixel the fill the exercise defines; a
    typical mistake that the first wrong pixel matches is named."""
    what = "your fill function"
    calls = iter(data["calls"])
    for name, x, keep in _fill_cases(seed):
        got = np.asarray(outcome(next(calls)), dtype=float)
        if got.shape != x.shape:
            fail(f"{what} returned shape {got.shape}, expected the input's shape {x.shape}.")
        want = neighbour_fill(x, keep, 4)
        if not np.allclose(got[keep], x[keep], rtol=0, atol=1e-9):
            fail(f"on {name} your function changed kept pixels: a kept pixel must come back unchanged.")
        bad = ~np.isclose(got, want, rtol=0, atol=1e-9)
        if bad.any():
            r, c = (int(v) for v in np.argwhere(bad)[0])
            fail(
                f"on {name}, pixel ({r}, {c}) is {got[r, c]:.4f}, expected {want[r, c]:.4f} "
                f"(dropped: {not keep[r, c]}).{_fill_hint(x, keep, got, r, c)}"
            )
    return "Correct: every dropped pixel is the mean of its kept 4-neighbours; kept pixels are untouched."


@reference_answer
def injected_variance_reference(k: int, p: float, rho: float, shared: bool) -> float:
    """Variance dropout adds to the mean of ``k x k`` unit-variance, zero-mean units, pairwise correlation ``rho``.

    ``p / ((1 - p) n)`` with independent coins, ``p / (1 - p) * (1/n + (1 - 1/n) rho)`` with one
    shared coin, ``n = k * k``.
    """
    n = k * k
    factor = p / (1.0 - p)
    return factor * (1.0 / n + (1.0 - 1.0 / n) * rho) if shared else factor / n


def check_injected_variance(student_fn) -> None:
    """Exercise 3.3: ``student_fn(k, p, rho, shared)`` must return the variance dropout injects into a k x k mean.

    The answer must return one number, equal to the exact variance within a relative tolerance
    of 1e-6, at 96 points: ``k`` in 1, 3, 5, 7; ``p`` in 0.1, 0.5, 0.8; ``rho`` in 0, 0.3, 0.9, 1;
    independent coins first, then one shared coin. A wrong value is compared with typical
    mistakes, and the one it matches is named.

    Args:
        student_fn: the learner's function ``(k, p, rho, shared) -> float``.

    Raises:
        ExerciseFailure: with feedback naming the first point answered wrongly and, where it
            recognises it, the mistake.

    Examples::

        >>> check_injected_variance(lambda k, p, rho, shared: 0.0)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: with independent coins,
        k = 1, p = 0.1, ρ = 0.0 you returned 0, ...
    """
    run_check(probe_injected_variance, judge_injected_variance, student_fn)


def _variance_points(seed: int | None) -> list[tuple[int, float, float]]:
    """Exercise 3.3's 48 points ``(k, p, rho)``, each asked with independent coins and with one shared coin: the
    learner's own grid, or one drawn from the grader's seed (``k = 1``, ``rho = 0`` and ``rho = 1`` included)."""
    if seed is None:
        ks, ps, rhos = (1, 3, 5, 7), (0.1, 0.5, 0.8), (0.0, 0.3, 0.9, 1.0)
    else:
        draw = np.random.default_rng(seed)
        ks = (1, *sorted(int(k) for k in draw.choice(np.arange(2, 10), 3, replace=False)))
        ps = tuple(round(float(draw.uniform(low, high)), 2) for low, high in ((0.05, 0.3), (0.35, 0.65), (0.7, 0.9)))
        rhos = (0.0, round(float(draw.uniform(0.1, 0.5)), 2), round(float(draw.uniform(0.6, 0.95)), 2), 1.0)
    return [(k, p, rho) for k in ks for p in ps for rho in rhos]


def probe_injected_variance(student_fn, *, seed=None) -> dict:
    """Exercise 3.3's probe: the learner's variance at each point, with independent coins and then a shared coin."""
    calls = []
    for k, p, rho in _variance_points(seed):
        for shared in (False, True):
            calls.append(attempt(student_fn, k, p, rho, shared, what="your variance function", convert=_number))
            if failed(calls[-1]):
                return {"calls": calls}
    return {"calls": calls}


def _variance_hint(k: int, p: float, rho: float, shared: bool, got: float, other_coin: float) -> str:
    """The typical mistake a wrong variance matches, as feedback; ``other_coin`` is the answer for the other coin."""
    want = injected_variance_reference(k, p, rho, shared)
    n, f = k * k, p / (1 - p)
    swapped = math.isclose(other_coin, want, rel_tol=1e-6)
    if math.isclose(got, injected_variance_reference(k, p, rho, not shared), rel_tol=1e-6) and swapped:
        return " That is the formula for the other kind of coin: check how you use `shared`."
    if math.isclose(got, f, rel_tol=1e-6):
        return " That is the variance of ONE unit; the mean of n = k² units averages its noise."
    if math.isclose(got, want * (1 - p) ** 2, rel_tol=1e-6):
        return " Inverted dropout scales kept units by 1/(1-p): the variance of one coin is p/(1-p)."
    if shared and math.isclose(got, f * rho, rel_tol=1e-6):
        return " The n diagonal terms of the covariance are 1, not ρ: Var(mean) = (1/n + (1 - 1/n)ρ)."
    if shared and math.isclose(got, f * (1.0 / n + rho), rel_tol=1e-6):
        return " There are n(n-1) off-diagonal pairs, weighted 1/n² each: (1 - 1/n)ρ, not ρ."
    if not shared and math.isclose(got, f * (1.0 / n + (1.0 - 1.0 / n) * rho), rel_tol=1e-6):
        return (
            " With independent coins the noise terms of different units are uncorrelated even when "
            "the units are correlated: ρ drops out."
        )
    if math.isclose(got, want * n, rel_tol=1e-6) or math.isclose(got, want * n * n, rel_tol=1e-6):
        return " That is the variance of the sum; the exercise asks for the mean (weights 1/n)."
    return ""


def judge_injected_variance(data: dict, seed: int | None) -> str:
    """Exercise 3.3's judge: every answer equals the exact variance, independent coins first; a typical mistake that
    the first wrong answer matches is named."""
    points = _variance_points(seed)
    calls = data["calls"]
    if not 0 < len(calls) <= 2 * len(points):
        raise ValueError("the report has the wrong number of answers")

    def answer(i: int, shared: bool) -> float:
        index = 2 * i + int(shared)
        if index >= len(calls):  # the probe stopped at the learner's error, the last call
            outcome(calls[-1])
            raise ValueError("the report stops early without an error")
        return float(outcome(calls[index]))

    for shared in (False, True):
        for i, (k, p, rho) in enumerate(points):
            got = answer(i, shared)
            want = injected_variance_reference(k, p, rho, shared)
            if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12):
                continue
            hint = _variance_hint(k, p, rho, shared, got, answer(i, not shared))
            coins = "one shared coin" if shared else "independent coins"
            fail(f"with {coins}, k = {k}, p = {p}, ρ = {rho} you returned {got:.4g}, expected {want:.4g}.{hint}")
    return (
        "Correct: independent coins give p/((1-p)n); a shared coin gives p/(1-p)·(1/n + (1-1/n)ρ), "
        "which stays near p/(1-p) when ρ → 1."
    )
