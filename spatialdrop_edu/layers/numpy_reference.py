"""A NumPy reference implementation of dropout, small enough to read in one sitting.

Two conventions keep the *expected* activation unchanged, and both are here:

* ``"inverted"`` (PyTorch, Keras): in training, kept units are scaled by ``1 / (1 - p)``; at
  inference the layer is the identity.
* ``"original"`` (Srivastava et al. 2014; Tompson et al.'s 2015 Torch7 code): in training, kept
  units pass unscaled; at inference every unit is multiplied by the keep probability ``1 - p``.

Here, as in PyTorch and Keras, ``p`` is the probability to **drop** a unit. (Srivastava et al.
write ``p`` for the probability to *keep* one.)
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_probability, check_rng
from .noise_shapes import resolve_noise_shape

CONVENTIONS = ("inverted", "original")


def keep_mask(input_shape, p: float, rng: np.random.Generator, noise_shape=None) -> np.ndarray:
    """Sample a boolean keep-mask of the input's full shape.

    One Bernoulli(1 - p) coin is flipped per entry of the noise shape, then broadcast.

    Args:
        input_shape: shape of the tensor the mask is for.
        p: probability of dropping a unit, in ``[0, 1]``.
        rng: the random generator to draw from.
        noise_shape: shape of the sampled mask (see
            :func:`~spatialdrop_edu.layers.noise_shapes.resolve_noise_shape`); ``None`` means one coin per unit.

    Returns:
        A read-only boolean array of shape ``input_shape``; ``True`` marks a kept unit.

    Examples::

        >>> rng = np.random.default_rng(0)
        >>> m = keep_mask((2, 3, 4), 0.5, rng, noise_shape=(2, 3, 1))
        >>> bool((m == m[..., :1]).all())   # constant along the last axis
        True
    """
    p = check_probability(p)
    check_rng(rng)
    shape = resolve_noise_shape(input_shape, noise_shape)
    coins = rng.random(shape) >= p  # P(keep) = 1 - p; p = 0 keeps all, p = 1 none
    return np.broadcast_to(coins, tuple(input_shape))


def numpy_dropout(
    x,
    p: float,
    rng: np.random.Generator,
    *,
    noise_shape=None,
    training: bool = True,
    convention: str = "inverted",
    return_mask: bool = False,
):
    """Dropout on a NumPy array.

    Args:
        x: the input array (any shape, floating point).
        p: probability of dropping a unit, in ``[0, 1]``.
        rng: the ``numpy.random.Generator`` that draws the mask.
        noise_shape: shape of the sampled mask, broadcast to ``x.shape``; ``None`` for one coin
            per unit. ``None`` entries are filled from ``x.shape``.
        training: apply dropout (``True``) or inference behaviour (``False``).
        convention: ``"inverted"`` (scale kept units by ``1/(1-p)`` in training, identity at
            inference) or ``"original"`` (no scaling in training, multiply by ``1 - p`` at inference).
        return_mask: also return the boolean keep-mask (``None`` at inference).

    Returns:
        The output array, or ``(output, mask)`` with ``return_mask=True``.

    Examples::

        >>> rng = np.random.default_rng(0)
        >>> y = numpy_dropout(np.ones((1000,)), 0.2, rng)
        >>> sorted(set(y.tolist()))   # dropped, or scaled by 1/(1 - 0.2)
        [0.0, 1.25]
        >>> numpy_dropout(np.ones(3), 0.2, rng, training=False, convention="original")
        array([0.8, 0.8, 0.8])
    """
    p = check_probability(p)
    check_rng(rng)
    check_choice(convention, CONVENTIONS, "convention")
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if not training:
        out = x.copy() if convention == "inverted" else x * (1.0 - p)
        return (out, None) if return_mask else out
    mask = keep_mask(x.shape, p, rng, noise_shape)
    if p == 1.0:
        out = np.zeros_like(x)  # every unit dropped; never 0/0
    elif convention == "inverted":
        out = np.where(mask, x / (1.0 - p), 0.0).astype(x.dtype)
    else:
        out = np.where(mask, x, 0.0).astype(x.dtype)
    return (out, mask) if return_mask else out
