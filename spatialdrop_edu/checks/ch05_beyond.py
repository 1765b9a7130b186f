"""Checkers of chapter 5, DropBlock, placement and BatchNorm (exercises 5.1-5.3)."""

from __future__ import annotations

import math

import numpy as np

from ..layers.dropblock import block_gamma
from ._harness import as_array, fail, passed, reference_answer, run_student_code

__all__ = ["check_block_mask", "check_gamma", "check_variance_shift", "reference_block_mask", "variance_shift"]

#: (p, block_size, height, width) points where exercise 5.1's gamma is compared with the reference.
GAMMA_POINTS = [
    (p, b, h, w)
    for p in (0.05, 0.1, 0.3, 0.9)
    for b in (1, 2, 3, 5, 7)
    for h, w in ((14, 14), (7, 7), (9, 16), (5, 3), (28, 28))
]


def check_gamma(student_fn) -> None:
    """Exercise 5.1: ``student_fn(p, block_size, height, width)`` returns DropBlock's seed rate gamma.

    The answer must return a number equal, within a relative 1e-9, to the package's seed rate
    (:func:`~spatialdrop_edu.layers.dropblock.block_gamma`) at every point of ``GAMMA_POINTS``:
    ``p`` from 0.05 to 0.9, ``block_size`` from 1 to 7, square and non-square maps, blocks larger
    than the map included. A wrong value is compared with typical mistakes, and the one it
    matches is named.

    Args:
        student_fn: the learner's function ``(p, block_size, height, width) -> float``.

    Raises:
        ExerciseFailure: with feedback naming the first point answered wrongly and, where it
            recognises it, the mistake.

    Examples::

        >>> check_gamma(lambda p, block_size, height, width: p)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: for p=0.05, block_size=2,
        H=14, W=14 your gamma is 0.05, ...
    """
    what = "your gamma"
    for p, b, h, w in GAMMA_POINTS:
        got = run_student_code(student_fn, p, b, h, w, what=what)
        try:
            got = float(got)
        except (TypeError, ValueError):
            fail(f"{what} must return a number, got {type(got).__name__} for p={p}, block_size={b}, H={h}, W={w}.")
        want = block_gamma(p, b, (h, w))
        if math.isclose(got, want, rel_tol=1e-9):
            continue
        bh, bw = min(b, h), min(b, w)
        hint = "check the formula term by term."
        if math.isclose(got, (1 - p) * want / p, rel_tol=1e-9):
            hint = "you used keep_prob where the formula needs 1 - keep_prob = p."
        elif math.isclose(got, p / (bh * bw), rel_tol=1e-9):
            hint = "the factor H W / ((H - b + 1)(W - b + 1)) is missing: seeds only fall in the valid region."
        elif b > min(h, w):
            hint = (
                "a block larger than the map must be clamped to it: b_h = min(block_size, H), b_w = min(block_size, W)."
            )
        elif h != w and math.isclose(got, block_gamma(p, b, (h, h)), rel_tol=1e-9):
            hint = "on a non-square map use H for one factor and W for the other."
        elif math.isclose(got, p * h * w / (b * (h - b + 1) * (w - b + 1)), rel_tol=1e-9):
            hint = "divide by the block's area b^2 (b_h * b_w), not by b."
        fail(f"for p={p}, block_size={b}, H={h}, W={w} your gamma is {got:.6g}, expected {want:.6g}: {hint}")
    passed("Correct: gamma = p / b^2 * H W / ((H - b + 1)(W - b + 1)), with the block clamped to the map.")


@reference_answer
def reference_block_mask(seeds: np.ndarray, block_size: int) -> np.ndarray:
    """The keep-mask (1 kept, 0 dropped) of seeds on the valid region: each seed drops the block it is the corner of.

    Args:
        seeds: a bool array ``(..., H - b + 1, W - b + 1)``.
        block_size: the side ``b`` of a block.

    Returns:
        A float array ``(..., H, W)``.

    Examples::

        >>> seeds = np.zeros((2, 2), bool); seeds[0, 1] = True
        >>> reference_block_mask(seeds, 2).astype(int)
        array([[1, 0, 0],
               [1, 0, 0],
               [1, 1, 1]])
    """
    b = block_size
    *lead, hs, ws = seeds.shape
    dropped = np.zeros((*lead, hs + b - 1, ws + b - 1), bool)
    for i in range(b):
        for j in range(b):
            dropped[..., i : i + hs, j : j + ws] |= seeds
    return (~dropped).astype(float)


def check_block_mask(student_fn) -> None:
    """Exercise 5.2: ``student_fn(seeds, block_size)`` turns seeds on the valid region into a keep-mask.

    ``seeds`` is a float tensor ``(N, C, H - b + 1, W - b + 1)`` of 0s and 1s (1 = seed). The answer
    must return a mask of shape ``(N, C, H, W)`` exactly equal to the keep-mask the exercise
    defines (:func:`reference_block_mask`), on random seeds for block sizes 1 to 4, on a single
    seed in each corner of the valid region, and on no seeds at all. A wrong mask is compared
    with typical mistakes, and the one it matches is named.

    Args:
        student_fn: the learner's function ``(seeds, block_size) -> tensor``.

    Raises:
        ExerciseFailure: with feedback naming the case answered wrongly and, where it recognises
            it, the mistake.

    Examples::

        >>> import torch
        >>> check_block_mask(lambda seeds, block_size: torch.ones(1))
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: with seeds of shape
        (2, 3, 8, 7) and block_size=1, your block mask has shape (1,), ...
    """
    import torch

    what = "your block mask"
    rng = np.random.default_rng(5)
    cases = []
    for b in (1, 2, 3, 4):
        cases.append((rng.random((2, 3, 8, 7)) < 0.08, b))
    for corner in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
        seeds = np.zeros((1, 1, 5, 5), bool)
        seeds[(0, 0) + corner] = True
        cases.append((seeds, 3))
    cases.append((np.zeros((1, 2, 4, 4), bool), 3))
    for seeds, b in cases:
        want = reference_block_mask(seeds, b)
        got = as_array(run_student_code(student_fn, torch.from_numpy(seeds.astype(np.float32)), b, what=what), what)
        if got.shape != want.shape:
            hint = ""
            if got.shape[-2:] == seeds.shape[-2:]:
                hint = " The seeds cover only the valid region: pad them by block_size - 1 on every side first."
            fail(
                f"with seeds of shape {seeds.shape} and block_size={b}, {what} has shape {got.shape}, "
                f"expected {want.shape} (each spatial size + block_size - 1).{hint}"
            )
        if np.array_equal(got, want):
            continue
        if np.array_equal(got, 1 - want):
            fail("your mask is 1 on the dropped blocks and 0 elsewhere: return the keep-mask, 1 - (max-pooled seeds).")
        zeros_got, zeros_want = int((got == 0).sum()), int((want == 0).sum())
        hint = (
            "the blocks are in the wrong place: with padding block_size - 1 on both sides, a window ending at a "
            "position covers the seeds up to block_size - 1 before it."
        )
        if zeros_got != zeros_want:
            hint = f"it zeroes {zeros_got} units where the blocks cover {zeros_want}: is the kernel block_size wide?"
        fail(
            f"with block_size={b} and {int(seeds.sum())} seeds, {what} differs from the expected mask at "
            f"{int((got != want).sum())} positions: {hint}"
        )
    passed("Correct: every seed became the block_size x block_size block it is the corner of, fully inside the map.")


@reference_answer
def variance_shift(p: float, mean: float, var: float) -> float:
    r"""Eval-time variance over train-time variance of one unit after inverted dropout (Li et al. 2019).

    A unit :math:`x` with mean :math:`\mu` and variance :math:`\sigma^2`, multiplied by :math:`m/(1-p)`
    with :math:`m \sim \text{Bernoulli}(1-p)`, has :math:`E[y^2] = (\sigma^2 + \mu^2)/(1-p)`, so its
    training variance is :math:`(\sigma^2 + \mu^2)/(1-p) - \mu^2`; in evaluation it is :math:`\sigma^2`.

    Examples::

        >>> variance_shift(0.5, 0.0, 1.0), variance_shift(0.5, 1.0, 1.0)
        (0.5, 0.3333333333333333)
    """
    return var / ((var + mean**2) / (1.0 - p) - mean**2)


def check_variance_shift(student_fn) -> None:
    """Exercise 5.3: ``student_fn(p, mean, var)`` returns eval-time over train-time variance of a dropped unit.

    The answer must return a number equal, within a relative 1e-9, to the package's reference
    :func:`variance_shift` at 60 points: ``p`` in 0, 0.1, 0.3, 0.5, 0.9; means 0, -2, 0.5, 3;
    variances 0.1, 1, 4. A wrong value is compared with typical mistakes, and the one it matches
    is named. Passing :func:`variance_shift` itself, or a function that calls it, fails.

    Args:
        student_fn: the learner's function ``(p, mean, var) -> float``.

    Raises:
        ExerciseFailure: with feedback naming the first point answered wrongly and, where it
            recognises it, the mistake.

    Examples::

        >>> check_variance_shift(lambda p, mean, var: 1.0)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: for p=0.1, mean=0.0,
        var=0.1 you returned 1, ...

    The package's own :func:`variance_shift` is a reference answer, not an answer::

        >>> check_variance_shift(variance_shift)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: your variance shift called
        ... variance_shift: ...
    """
    what = "your variance shift"
    for p in (0.0, 0.1, 0.3, 0.5, 0.9):
        for mean in (0.0, -2.0, 0.5, 3.0):
            for var in (0.1, 1.0, 4.0):
                got = run_student_code(student_fn, p, mean, var, what=what)
                try:
                    got = float(got)
                except (TypeError, ValueError):
                    fail(f"{what} must return a number, got {type(got).__name__}.")
                want = variance_shift(p, mean, var)
                if math.isclose(got, want, rel_tol=1e-9):
                    continue
                hint = "write E[y^2] and E[y]^2 for y = x m / (1 - p) and subtract."
                if math.isclose(got, 1 / want, rel_tol=1e-9):
                    hint = "that is train over eval: the ratio asked for is Var_eval / Var_train (at most 1)."
                elif math.isclose(got, var / (var / (1 - p)), rel_tol=1e-9):
                    hint = (
                        "the mean matters: E[y^2] = (sigma^2 + mu^2) / (1 - p), and Var_train subtracts E[y]^2 = mu^2."
                    )
                elif p > 0 and math.isclose(got, var / ((var + mean**2) / p - mean**2), rel_tol=1e-9):
                    hint = "the keep probability is 1 - p, not p."
                fail(f"for p={p}, mean={mean}, var={var} you returned {got:.6g}, expected {want:.6g}: {hint}")
    passed("Correct: Var_eval / Var_train = sigma^2 / ((sigma^2 + mu^2) / (1 - p) - mu^2).")
