"""Checkers of chapter 5, DropBlock, placement and BatchNorm (exercises 5.1-5.3)."""

from __future__ import annotations

import math

import numpy as np

from ..layers.dropblock import block_gamma
from ._harness import attempt, fail, failed, outcome, reference_answer, run_check
from ._measures import as_array

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
    matches is named. An answer that calls ``block_gamma`` itself earns nothing.

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
    run_check(probe_gamma, judge_gamma, student_fn)


#: Maps smaller than the largest blocks, one of which exercise 5.1's check draws while grading; no side is
#: ``block_size - 1`` for a block size it tries, so that a formula that forgets to clamp the block does not divide by 0.
_TINY_MAPS = ((5, 3), (7, 3), (7, 5), (3, 5), (5, 7))


def _gamma_points(seed: int | None) -> list[tuple[float, int, int, int]]:
    """Exercise 5.1's points: :data:`GAMMA_POINTS`, or the same grid with rates and map sizes drawn from the grader's
    seed (a square map, a smaller one, a non-square one, one smaller than the largest blocks, a large one)."""
    if seed is None:
        return GAMMA_POINTS
    rng = np.random.default_rng(seed)
    ranges = ((0.03, 0.15), (0.15, 0.3), (0.3, 0.6), (0.6, 0.95))
    rates = [round(float(rng.uniform(low, high)), 2) for low, high in ranges]
    square, small = int(rng.integers(10, 21)), int(rng.integers(7, 10))
    wide = (int(rng.integers(8, 13)), int(rng.integers(14, 21)))
    maps = [
        (square, square),
        (small, small),
        wide,
        _TINY_MAPS[rng.integers(len(_TINY_MAPS))],
        (int(rng.integers(24, 33)),) * 2,
    ]
    return [(p, b, h, w) for p in rates for b in (1, 2, 3, 5, 7) for h, w in maps]


def _gamma_number(point):
    """A probe's ``convert`` for exercise 5.1: the answer as a float, or feedback naming the point."""
    p, b, h, w = point

    def convert(value, what: str) -> float:
        try:
            return float(value)
        except (TypeError, ValueError):
            fail(f"{what} must return a number, got {type(value).__name__} for p={p}, block_size={b}, H={h}, W={w}.")

    return convert


def probe_gamma(student_fn, *, seed=None) -> dict:
    """Exercise 5.1's probe: the learner's gamma at each point."""
    calls = []
    for point in _gamma_points(seed):
        calls.append(
            attempt(student_fn, *point, what="your gamma", forbid=(block_gamma,), convert=_gamma_number(point))
        )
        if failed(calls[-1]):
            break
    return {"calls": calls}


def _gamma_hint(got: float, want: float, p: float, b: int, h: int, w: int) -> str:
    """The typical mistake a wrong gamma matches, or a general hint."""
    bh, bw = min(b, h), min(b, w)
    if math.isclose(got, (1 - p) * want / p, rel_tol=1e-9):
        return "you used keep_prob where the formula needs 1 - keep_prob = p."
    if math.isclose(got, p / (bh * bw), rel_tol=1e-9):
        return "the factor H W / ((H - b + 1)(W - b + 1)) is missing: seeds only fall in the valid region."
    if b > min(h, w):
        return "a block larger than the map must be clamped to it: b_h = min(block_size, H), b_w = min(block_size, W)."
    if h != w and math.isclose(got, block_gamma(p, b, (h, h)), rel_tol=1e-9):
        return "on a non-square map use H for one factor and W for the other."
    if math.isclose(got, p * h * w / (b * (h - b + 1) * (w - b + 1)), rel_tol=1e-9):
        return "divide by the block's area b^2 (b_h * b_w), not by b."
    return "check the formula term by term."


def judge_gamma(data: dict, seed: int | None) -> str:
    """Exercise 5.1's judge: each answer equals the package's seed rate; a typical mistake it matches is named."""
    points = _gamma_points(seed)
    for (p, b, h, w), call in zip(points, data["calls"], strict=False):
        got = float(outcome(call))
        want = block_gamma(p, b, (h, w))
        if not math.isclose(got, want, rel_tol=1e-9):
            hint = _gamma_hint(got, want, p, b, h, w)
            fail(f"for p={p}, block_size={b}, H={h}, W={w} your gamma is {got:.6g}, expected {want:.6g}: {hint}")
    if len(data["calls"]) != len(points):
        raise ValueError("the report has the wrong number of answers")
    return "Correct: gamma = p / b^2 * H W / ((H - b + 1)(W - b + 1)), with the block clamped to the map."


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
    run_check(probe_block_mask, judge_block_mask, student_fn)


def _block_mask_cases(seed: int | None) -> list[tuple[np.ndarray, int]]:
    """Exercise 5.2's (seeds, block_size) cases: random seeds for block sizes 1 to 4 (the learner's own, or drawn
    from the grader's seed), one seed in each corner of the valid region, and no seeds."""
    rng = np.random.default_rng(5 if seed is None else (seed, 5))  # a grader's seed 5 draws other seeds than 5
    cases = [(rng.random((2, 3, 8, 7)) < 0.08, b) for b in (1, 2, 3, 4)]
    for corner in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
        seeds = np.zeros((1, 1, 5, 5), bool)
        seeds[(0, 0) + corner] = True
        cases.append((seeds, 3))
    cases.append((np.zeros((1, 2, 4, 4), bool), 3))
    return cases


def probe_block_mask(student_fn, *, seed=None) -> dict:
    """Exercise 5.2's probe: the learner's mask for each case."""
    import torch

    calls = []
    for seeds, b in _block_mask_cases(seed):
        as_floats = torch.from_numpy(seeds.astype(np.float32))
        calls.append(attempt(student_fn, as_floats, b, what="your block mask", convert=as_array))
        if failed(calls[-1]):
            break
    return {"calls": calls}


def judge_block_mask(data: dict, seed: int | None) -> str:
    """Exercise 5.2's judge: each mask has the expected shape and equals the keep-mask; typical mistakes are named."""
    what = "your block mask"
    cases = _block_mask_cases(seed)
    for (seeds, b), call in zip(cases, data["calls"], strict=False):
        want = reference_block_mask(seeds, b)
        got = outcome(call)
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
    if len(data["calls"]) != len(cases):
        raise ValueError("the report has the wrong number of masks")
    return "Correct: every seed became the block_size x block_size block it is the corner of, fully inside the map."


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
    run_check(probe_variance_shift, judge_variance_shift, student_fn)


def _shift_points(seed: int | None) -> list[tuple[float, float, float]]:
    """Exercise 5.3's points (p, mean, var): the learner's own, or the same grid drawn from the grader's seed (p = 0
    and mean = 0 included, a negative mean, small and large variances)."""
    if seed is None:
        rates, means, variances = (0.0, 0.1, 0.3, 0.5, 0.9), (0.0, -2.0, 0.5, 3.0), (0.1, 1.0, 4.0)
    else:
        rng = np.random.default_rng(seed)

        def draw(*ranges):
            return tuple(round(float(rng.uniform(low, high)), 2) for low, high in ranges)

        rates = (0.0, *draw((0.05, 0.2), (0.2, 0.4), (0.4, 0.6), (0.7, 0.95)))
        means = (0.0, *draw((-3.0, -1.0), (0.2, 1.0), (2.0, 4.0)))
        variances = draw((0.05, 0.5), (0.5, 2.0), (2.0, 6.0))
    return [(p, mean, var) for p in rates for mean in means for var in variances]


def _shift_number(value, what: str) -> float:
    """The learner's variance shift as a float, or feedback saying it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        fail(f"{what} must return a number, got {type(value).__name__}.")


def probe_variance_shift(student_fn, *, seed=None) -> dict:
    """Exercise 5.3's probe: the learner's variance shift at each point."""
    calls = []
    for point in _shift_points(seed):
        calls.append(attempt(student_fn, *point, what="your variance shift", convert=_shift_number))
        if failed(calls[-1]):
            break
    return {"calls": calls}


def _shift_hint(got: float, want: float, p: float, mean: float, var: float) -> str:
    """The typical mistake a wrong variance shift matches, or a general hint."""
    if math.isclose(got, 1 / want, rel_tol=1e-9):
        return "that is train over eval: the ratio asked for is Var_eval / Var_train (at most 1)."
    if math.isclose(got, var / (var / (1 - p)), rel_tol=1e-9):
        return "the mean matters: E[y^2] = (sigma^2 + mu^2) / (1 - p), and Var_train subtracts E[y]^2 = mu^2."
    if p > 0 and math.isclose(got, var / ((var + mean**2) / p - mean**2), rel_tol=1e-9):
        return "the keep probability is 1 - p, not p."
    return "write E[y^2] and E[y]^2 for y = x m / (1 - p) and subtract."


def judge_variance_shift(data: dict, seed: int | None) -> str:
    """Exercise 5.3's judge: each answer equals the reference ratio; a typical mistake it matches is named."""
    points = _shift_points(seed)
    for (p, mean, var), call in zip(points, data["calls"], strict=False):
        got = float(outcome(call))
        want = variance_shift(p, mean, var)
        if not math.isclose(got, want, rel_tol=1e-9):
            hint = _shift_hint(got, want, p, mean, var)
            fail(f"for p={p}, mean={mean}, var={var} you returned {got:.6g}, expected {want:.6g}: {hint}")
    if len(data["calls"]) != len(points):
        raise ValueError("the report has the wrong number of answers")
    return "Correct: Var_eval / Var_train = sigma^2 / ((sigma^2 + mu^2) / (1 - p) - mu^2)."
