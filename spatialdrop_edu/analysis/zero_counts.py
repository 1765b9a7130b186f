"""How many units does one dropout call zero? Exact distribution, enumeration and sampling.

With a noise shape of ``F`` entries (``F`` independent coin flips) broadcast to an input of
``U`` units, every coin decides ``U / F`` units at once. The number of zeros in the output is
therefore ``(U / F) * K`` with ``K ~ Binomial(F, p)``: plain dropout (``F = U``) can zero any
number of units, while a noise shape with fewer flips can only zero multiples of ``U / F``.

This module gives that distribution three ways, so a chapter can show they agree:
:func:`zero_count_pmf` (the binomial formula), :func:`enumerate_zero_counts` (every possible
mask, counted) and :func:`sample_zero_counts` (masks drawn with
:func:`~spatialdrop_edu.layers.numpy_reference.keep_mask`).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .._validation import check_positive_int, check_probability, check_rng, check_shape
from ..layers.noise_shapes import resolve_noise_shape
from ..layers.numpy_reference import keep_mask

#: Enumeration visits 2**flips masks; more than this many flips is refused.
MAX_ENUMERATED_FLIPS = 16


def _units_and_flips(input_shape, noise_shape) -> tuple[int, int, tuple[int, ...]]:
    shape = check_shape(input_shape)
    resolved = resolve_noise_shape(shape, noise_shape)
    units = math.prod(shape)
    flips = math.prod(resolved)
    return units, flips, resolved


def zero_count_pmf(input_shape, noise_shape, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact distribution of the number of zeroed units in one dropout call.

    Args:
        input_shape: shape of the input, e.g. ``(2, 2, 2)``.
        noise_shape: noise shape (entries equal to the input's size, 1 or ``None``), or ``None``
            for one coin per unit.
        p: probability of dropping, in ``[0, 1]``.

    Returns:
        ``(counts, probabilities)``: two arrays of length ``flips + 1``. ``counts[k]`` is the number
        of zeros when ``k`` coins come up "drop" (``k * units / flips``), ``probabilities[k]``
        the binomial probability ``C(flips, k) p**k (1 - p)**(flips - k)``.

    Examples::

        >>> counts, probs = zero_count_pmf((2, 2, 2), (1, 2, 2), 0.5)
        >>> counts.tolist(), probs.round(4).tolist()
        ([0, 2, 4, 6, 8], [0.0625, 0.25, 0.375, 0.25, 0.0625])
    """
    p = check_probability(p)
    units, flips, _ = _units_and_flips(input_shape, noise_shape)
    k = np.arange(flips + 1)
    per_flip = units // flips if flips else 0
    if p in (0.0, 1.0):
        probs = (k == (flips if p == 1.0 else 0)).astype(float)
    else:
        log_comb = np.array([math.lgamma(flips + 1) - math.lgamma(i + 1) - math.lgamma(flips - i + 1) for i in k])
        probs = np.exp(log_comb + k * math.log(p) + (flips - k) * math.log1p(-p))
    return k * per_flip, probs


def enumerate_zero_counts(input_shape, noise_shape) -> dict[int, int]:
    """Count, over every possible outcome of the coin flips, how many units end up zero.

    Each of the ``2**flips`` outcomes is turned into a full-size mask by broadcasting, exactly
    as dropout does, and its zeros are counted: a proof by exhaustion, no formula used.

    Args:
        input_shape: shape of the input.
        noise_shape: noise shape, or ``None`` for one coin per unit. At most
            ``MAX_ENUMERATED_FLIPS`` (16) flips.

    Returns:
        A dict ``{number of zeros: number of outcomes}``, sorted by the number of zeros. The
        values sum to ``2**flips``; with ``p = 0.5`` every outcome is equally likely.

    Examples::

        >>> enumerate_zero_counts((2, 2, 2), (1, 2, 2))
        {0: 1, 2: 4, 4: 6, 6: 4, 8: 1}
    """
    shape = check_shape(input_shape)
    _, flips, resolved = _units_and_flips(shape, noise_shape)
    if flips > MAX_ENUMERATED_FLIPS:
        raise ValueError(
            f"noise_shape {resolved} has {flips} flips, i.e. 2**{flips} masks to enumerate; "
            f"at most {MAX_ENUMERATED_FLIPS} flips are accepted (use zero_count_pmf for larger ones)."
        )
    tally: dict[int, int] = {}
    for outcome in itertools.product((False, True), repeat=flips):
        kept = np.broadcast_to(np.array(outcome, dtype=bool).reshape(resolved), shape)
        zeros = int(kept.size - kept.sum())
        tally[zeros] = tally.get(zeros, 0) + 1
    return dict(sorted(tally.items()))


def sample_zero_counts(input_shape, noise_shape, p: float, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``draws`` dropout masks (:func:`~spatialdrop_edu.layers.numpy_reference.keep_mask`) and count their zeros.

    Args:
        input_shape: shape of the input.
        noise_shape: noise shape, or ``None`` for one coin per unit.
        p: probability of dropping, in ``[0, 1]``.
        draws: number of masks, a positive int.
        rng: the ``numpy.random.Generator`` to draw from.

    Returns:
        An int array of shape ``(draws,)``: the number of zeroed units in each mask.

    Examples::

        >>> rng = np.random.default_rng(0)
        >>> counts = sample_zero_counts((2, 2, 2), (1, 2, 2), 0.5, 100, rng)
        >>> sorted(set(counts.tolist())) <= [0, 2, 4, 6, 8]
        True
    """
    shape = check_shape(input_shape)
    p = check_probability(p)
    draws = check_positive_int(draws, "draws", "the number of masks to sample")
    check_rng(rng)
    return np.array([int((~keep_mask(shape, p, rng, noise_shape)).sum()) for _ in range(int(draws))], dtype=np.int64)
