"""Checkers of chapter 1, dropout from a coin flip to inverted dropout (exercises 1.1-1.4)."""

from __future__ import annotations

import math

import numpy as np

from ._harness import SIGMAS, ExerciseFailure, as_array, check_inverted_output, fail, fraction_bound, mean_bound, run_student_code

__all__ = ["check_dropout_variance", "check_fixed_dropout", "check_inverted_dropout", "dropout_variance_reference"]


def check_inverted_dropout(student_fn) -> None:
    """Exercise 1.1: ``student_fn(x, p, rng)`` must be inverted dropout on a NumPy array.

    Checks, on ``x = ones(20_000)``: the output shape; every value is 0 or ``1/(1-p)``; the
    fraction dropped is ``p`` and the mean is 1 within ``SIGMAS`` standard deviations (for
    ``p`` = 0.2 and 0.5); ``p = 0`` returns the input and ``p = 1`` returns zeros without NaN.

    Args:
        student_fn: the learner's function ``(x, p, rng) -> array``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and the likely mistake.

    Examples::

        >>> def ref(x, p, rng):
        ...     keep = rng.random(x.shape) >= p
        ...     return np.where(keep, x / (1 - p), 0.0) if p < 1 else np.zeros_like(x)
        >>> check_inverted_dropout(ref)
        Correct: inverted dropout drops a fraction p and keeps the mean at 1.
    """
    what = "your dropout function"
    rng = np.random.default_rng(2024)
    n = 20_000
    x = np.ones(n)
    for p in (0.2, 0.5):
        y = as_array(run_student_code(student_fn, x.copy(), p, rng, what=what), what)
        check_inverted_output(y, x.shape, p, n, what)
        mean, bound = float(y.mean()), mean_bound(p, n)
        if abs(mean - 1.0) > bound:
            fail(f"mean after dropout is {mean:.2f}, expected 1.00 ± {bound:.2f}: did you forget to scale by 1/(1-p)?")
    y = as_array(run_student_code(student_fn, x.copy(), 0.0, rng, what=what), what)
    if y.shape != x.shape or not np.allclose(y, x):
        fail("with p = 0 nothing may be dropped and nothing scaled: the output must equal the input.")
    y = as_array(run_student_code(student_fn, x.copy(), 1.0, rng, what=what), what)
    if y.shape != x.shape or not np.isfinite(y).all() or np.any(y != 0):
        fail("with p = 1 every unit is dropped: the output must be all zeros (and no NaN from dividing by 1 - p = 0).")
    print("Correct: inverted dropout drops a fraction p and keeps the mean at 1.")


def dropout_variance_reference(a: float, p: float) -> float:
    """Variance of inverted dropout's output for an input value ``a``: ``a**2 * p / (1 - p)``."""
    return a * a * p / (1.0 - p)


def check_dropout_variance(student_fn) -> None:
    """Exercise 1.2: ``student_fn(a, p)`` must return the variance inverted dropout adds to a unit of value ``a``.

    The output is ``a / (1 - p)`` with probability ``1 - p`` and 0 otherwise, so its variance is
    ``a**2 * p / (1 - p)``. The answer is compared at several ``(a, p)`` within a relative
    tolerance of 1e-6 (a formula, so no sampling bound is needed).

    Args:
        student_fn: the learner's function ``(a, p) -> float``.

    Examples::

        >>> check_dropout_variance(lambda a, p: a**2 * p / (1 - p))
        Correct: Var = a² p / (1 - p); it grows without bound as p → 1.
    """
    what = "your variance function"
    for a, p in ((1.0, 0.5), (2.0, 0.2), (3.0, 0.9), (-1.5, 0.1), (0.0, 0.3)):
        got = run_student_code(student_fn, a, p, what=what)
        if got is None:
            fail(f"{what} returned None: did you forget the `return` statement?")
        try:
            got = float(got)
        except (TypeError, ValueError):
            fail(f"{what} must return a number, got {type(got).__name__}.")
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
    print("Correct: Var = a² p / (1 - p); it grows without bound as p → 1.")


def check_fixed_dropout(student_fn) -> None:
    """Exercise 1.3: ``student_fn(x, p, training)`` must be a corrected PyTorch inverted dropout.

    Checks on ``x = torch.ones(20_000)``: in training, values are 0 or ``1/(1-p)``, the dropped
    fraction is ``p`` (``p`` = 0.2 and 0.7, ``SIGMAS`` bounds) and the mean is 1; with
    ``training=False`` the input is returned unchanged; ``p = 1`` gives zeros.

    Args:
        student_fn: the learner's function ``(x, p, training) -> torch.Tensor``.

    Examples::

        >>> import torch
        >>> def ref(x, p, training=True):
        ...     if not training or p == 0: return x
        ...     if p == 1: return torch.zeros_like(x)
        ...     return x * (torch.rand_like(x) >= p) / (1 - p)
        >>> check_fixed_dropout(ref)
        Correct: both bugs fixed: units are kept with probability 1 - p, and eval mode is the identity.
    """
    import torch

    what = "your fixed dropout"
    n = 20_000
    x = torch.ones(n)
    torch_state = torch.random.get_rng_state()
    torch.manual_seed(2024)
    try:
        for p in (0.2, 0.7):
            y = as_array(run_student_code(student_fn, x.clone(), p, True, what=what), what)
            check_inverted_output(y, (n,), p, n, what)
            mean, bound = float(y.mean()), mean_bound(p, n)
            if abs(mean - 1.0) > bound:
                fail(f"mean after dropout is {mean:.2f}, expected 1.00 ± {bound:.2f}: scale kept units by 1/(1-p).")
        y = as_array(run_student_code(student_fn, x.clone(), 0.5, False, what=what), what)
        if y.shape != (n,) or not np.allclose(y, 1.0):
            dropped = float((y == 0).mean()) if y.shape == (n,) else float("nan")
            fail(
                f"with training=False the input must come back unchanged, but {dropped:.2f} of the units were "
                f"zeroed: return x when not training."
            )
        y = as_array(run_student_code(student_fn, x.clone(), 1.0, True, what=what), what)
        if not np.isfinite(y).all() or np.any(y != 0):
            fail("with p = 1 every unit is dropped: return zeros, without dividing by 1 - p = 0.")
    finally:
        torch.random.set_rng_state(torch_state)
    print("Correct: both bugs fixed: units are kept with probability 1 - p, and eval mode is the identity.")
