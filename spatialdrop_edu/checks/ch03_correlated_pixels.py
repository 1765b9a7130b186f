"""Checkers of chapter 3, why plain dropout is weak on conv feature maps (exercises 3.1-3.3)."""

from __future__ import annotations

import math

import numpy as np

from ..analysis.correlation import autocorrelation
from ..analysis.fields import gaussian_random_field, neighbour_fill
from ._harness import as_array, fail, passed, reference_answer, run_student_code

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
    and the one it matches is named.

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
    what = "your autocorrelation function"
    rng = np.random.default_rng(303)
    smooth = gaussian_random_field((64, 64), 6.0, rng)
    cases = [
        ("a smooth field (correlation length 6)", smooth, (1, 3, 6, 12)),
        ("white noise", gaussian_random_field((64, 64), 0.0, rng), (1, 2)),
        ("a smooth field plus 5 (not zero-mean)", gaussian_random_field((48, 64), 3.0, rng) + 5.0, (1, 4)),
    ]
    # smooth along rows (horizontal neighbours agree), independent from row to row
    rows_only = np.stack([gaussian_random_field((1, 64), 8.0, rng)[0] for _ in range(64)])
    cases.append(("a field smooth along each row and white from row to row", rows_only, (1, 4)))
    for name, x, lags in cases:
        for d in lags:
            got = _number(run_student_code(student_fn, x.copy(), d, what=what), what)
            want = float(autocorrelation(x, d)[d])
            if abs(got - want) <= CORRELATION_TOL:
                continue
            horiz, vert = _pearson(x[:, :-d], x[:, d:]), _pearson(x[:-d, :], x[d:, :])
            raw = float(np.mean(x[:, :-d] * x[:, d:]))
            rolled = 0.5 * (_pearson(x, np.roll(x, -d, 1)) + _pearson(x, np.roll(x, -d, 0)))
            hint = ""
            if abs(got - rolled) < 1e-6:
                hint = " np.roll wraps around the border; compare x[:, :-d] with x[:, d:] instead."
            elif abs(got - horiz) < 1e-3 or abs(got - vert) < 1e-3:
                hint = (
                    " That is the correlation along one direction only; average the horizontal and the vertical "
                    f"pairs (here {horiz:.2f} and {vert:.2f})."
                )
            elif abs(got - raw) < 1e-3 or got > 1.0 + 1e-9:
                hint = " Subtract the means and divide by the standard deviations: a correlation lies in [-1, 1]."
            elif d and abs(got - float(autocorrelation(x, max(d - 1, 1))[max(d - 1, 1)])) < 1e-3:
                hint = " You seem to be one lag off: pixels d apart are x[i, j] and x[i, j + d]."
            fail(f"on {name} at lag d = {d} you returned {got:.3f}, expected {want:.3f} ± {CORRELATION_TOL}.{hint}")
    got0 = _number(run_student_code(student_fn, smooth.copy(), 0, what=what), what)
    if abs(got0 - 1.0) > 1e-6:
        fail(
            f"at lag d = 0 every pixel is paired with itself, so the correlation must be 1; you returned {got0:.3f}. "
            "Note that x[:, :-0] is empty in Python: handle d = 0 on its own."
        )
    passed("Correct: the correlation of pixels d apart, both directions, no wrap-around.")


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
    what = "your fill function"
    rng = np.random.default_rng(304)
    field = gaussian_random_field((32, 32), 3.0, rng) + 1.0
    cases = [
        ("a smooth field, p = 0.3", field, rng.random(field.shape) >= 0.3),
        ("a smooth field, p = 0.8", field, rng.random(field.shape) >= 0.8),
    ]
    small = np.arange(16.0).reshape(4, 4) + 1.0
    lonely = np.ones((4, 4), dtype=bool)
    lonely[0, 0] = lonely[0, 1] = lonely[1, 0] = False  # (0, 0) has no kept 4-neighbour
    cases.append(("a 4 x 4 ramp whose corner (0, 0) has no kept neighbour", small, lonely))
    for name, x, keep in cases:
        got = as_array(run_student_code(student_fn, x.copy(), keep.copy(), what=what, forbid=(neighbour_fill,)), what)
        if got.shape != x.shape:
            fail(f"{what} returned shape {got.shape}, expected the input's shape {x.shape}.")
        want = neighbour_fill(x, keep, 4)
        if not np.allclose(got[keep], x[keep], rtol=0, atol=1e-9):
            fail(f"on {name} your function changed kept pixels: a kept pixel must come back unchanged.")
        bad = ~np.isclose(got, want, rtol=0, atol=1e-9)
        if not bad.any():
            continue
        r, c = (int(v) for v in np.argwhere(bad)[0])
        hint = ""
        if np.allclose(got, neighbour_fill(x, keep, 8), atol=1e-9):
            hint = " You used 8 neighbours (with the diagonals); this exercise asks for the 4 up, down, left, right."
        else:
            kx = np.where(keep, x, 0.0)
            pad = np.pad(kx, 1)
            by_four = (pad[:-2, 1:-1] + pad[2:, 1:-1] + pad[1:-1, :-2] + pad[1:-1, 2:]) / 4.0
            rolled = sum(np.roll(kx, s, a) for s in (1, -1) for a in (0, 1))
            rolled_n = sum(np.roll(keep.astype(float), s, a) for s in (1, -1) for a in (0, 1))
            if np.isclose(got[r, c], by_four[r, c], atol=1e-9):
                hint = (
                    " You divided by 4 always: the dropped neighbours (zeros) pulled the mean down. Divide by the "
                    "number of KEPT neighbours."
                )
            elif rolled_n[r, c] > 0 and np.isclose(got[r, c], rolled[r, c] / rolled_n[r, c], atol=1e-9):
                hint = " np.roll wraps around: at the border, pixels from the opposite side were used as neighbours."
            elif not np.isfinite(got[r, c]):
                hint = " A pixel without kept neighbours gives 0/0: use the mean of all kept pixels there."
        fail(
            f"on {name}, pixel ({r}, {c}) is {got[r, c]:.4f}, expected {want[r, c]:.4f} "
            f"(dropped: {not keep[r, c]}).{hint}"
        )
    passed("Correct: every dropped pixel is the mean of its kept 4-neighbours; kept pixels are untouched.")


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
    what = "your variance function"
    for shared in (False, True):
        for k in (1, 3, 5, 7):
            for p in (0.1, 0.5, 0.8):
                for rho in (0.0, 0.3, 0.9, 1.0):
                    got = _number(run_student_code(student_fn, k, p, rho, shared, what=what), what)
                    want = injected_variance_reference(k, p, rho, shared)
                    if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12):
                        continue
                    n, f = k * k, p / (1 - p)
                    coins = "one shared coin" if shared else "independent coins"
                    hint = ""
                    other = injected_variance_reference(k, p, rho, not shared)
                    swapped = math.isclose(
                        _number(run_student_code(student_fn, k, p, rho, not shared, what=what), what),
                        want,
                        rel_tol=1e-6,
                    )
                    if math.isclose(got, other, rel_tol=1e-6) and swapped:
                        hint = " That is the formula for the other kind of coin: check how you use `shared`."
                    elif math.isclose(got, f, rel_tol=1e-6):
                        hint = " That is the variance of ONE unit; the mean of n = k² units averages its noise."
                    elif math.isclose(got, want * (1 - p) ** 2, rel_tol=1e-6):
                        hint = " Inverted dropout scales kept units by 1/(1-p): the variance of one coin is p/(1-p)."
                    elif shared and math.isclose(got, f * rho, rel_tol=1e-6):
                        hint = " The n diagonal terms of the covariance are 1, not ρ: Var(mean) = (1/n + (1 - 1/n)ρ)."
                    elif shared and math.isclose(got, f * (1.0 / n + rho), rel_tol=1e-6):
                        hint = " There are n(n-1) off-diagonal pairs, weighted 1/n² each: (1 - 1/n)ρ, not ρ."
                    elif not shared and math.isclose(got, f * (1.0 / n + (1.0 - 1.0 / n) * rho), rel_tol=1e-6):
                        hint = (
                            " With independent coins the noise terms of different units are uncorrelated even when "
                            "the units are correlated: ρ drops out."
                        )
                    elif math.isclose(got, want * n, rel_tol=1e-6) or math.isclose(got, want * n * n, rel_tol=1e-6):
                        hint = " That is the variance of the sum; the exercise asks for the mean (weights 1/n)."
                    fail(
                        f"with {coins}, k = {k}, p = {p}, ρ = {rho} you returned {got:.4g}, expected {want:.4g}.{hint}"
                    )
    passed(
        "Correct: independent coins give p/((1-p)n); a shared coin gives p/(1-p)·(1/n + (1-1/n)ρ), "
        "which stays near p/(1-p) when ρ → 1."
    )
