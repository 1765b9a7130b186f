"""How much of a dropped map its neighbours give back.

:func:`neighbour_fill` fills each dropped pixel with the mean of its kept neighbours, and
:func:`removed_fraction` measures how much of the dropped signal that fails to recover.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_positive_int, check_probability, check_rng
from ._maps import standardize

__all__ = [
    "neighbour_fill",
    "removed_fraction",
]


def neighbour_fill(x, keep, neighbours: int = 8) -> np.ndarray:
    """Fill every dropped pixel with the mean of its kept neighbours (normalized convolution).

    Kept pixels are returned unchanged. A dropped pixel takes the mean of its kept 4 neighbours
    (up, down, left, right) or 8 neighbours (with the diagonals); neighbours outside the image do
    not count. A dropped pixel with no kept neighbour takes the mean of all kept pixels (0 if
    none is kept: for a standardized map, its mean).

    Args:
        x: 2-D map.
        keep: boolean mask of the same shape, ``True`` where the pixel was kept.
        neighbours: 4 or 8. Default: 8.

    Returns:
        The reconstructed map, same shape.

    Examples::

        >>> x = np.arange(9.0).reshape(3, 3)
        >>> keep = np.ones((3, 3), bool); keep[1, 1] = False
        >>> float(neighbour_fill(x, keep, 4)[1, 1])     # (1 + 3 + 5 + 7) / 4
        4.0
    """
    x = np.asarray(x, dtype=float)
    keep = np.asarray(keep, dtype=bool)
    if x.ndim != 2 or keep.shape != x.shape:
        raise ValueError(f"x must be 2-D and keep a boolean mask of its shape, got {x.shape} and {keep.shape}.")
    if neighbours not in (4, 8):
        raise ValueError(f"neighbours must be 4 or 8, got {neighbours!r}.")
    from scipy.ndimage import correlate

    # Normalized convolution: the kept values and the kept indicator, each summed over the neighbourhood
    # (zeros beyond the border), divide to the mean of the kept neighbours.
    kernel = np.ones((3, 3)) if neighbours == 8 else np.array([[0.0, 1, 0], [1, 0, 1], [0, 1, 0]])
    kernel[1, 1] = 0.0
    signal = correlate(np.where(keep, x, 0.0), kernel, mode="constant", cval=0.0)
    weight = correlate(keep.astype(float), kernel, mode="constant", cval=0.0)
    fallback = float(x[keep].mean()) if keep.any() else 0.0
    return np.where(keep, x, np.where(weight > 0, signal / np.where(weight > 0, weight, 1.0), fallback))


def removed_fraction(
    x, p: float, rng: np.random.Generator, kind: str = "element", *, neighbours: int = 8, draws: int = 1
) -> dict:
    """How much of the signal dropout removes once the dropped pixels are filled from their neighbours.

    The map is standardized, a keep-mask is drawn (one coin per pixel for ``"element"``, one
    coin for the whole map for ``"spatial"``), the dropped pixels are filled by
    :func:`neighbour_fill`, and the squared error at the dropped pixels is divided by the
    signal's squared value there: 0 means the neighbours gave everything back, 1 that nothing
    came back (the fill is no better than the mean), above 1 that the fill is worse than the mean.

    Args:
        x: 2-D map (photo, feature map, field).
        p: drop probability in ``(0, 1]``.
        rng: NumPy generator.
        kind: ``"element"`` or ``"spatial"``. Default: ``"element"``.
        neighbours: 4 or 8. Default: 8.
        draws: masks averaged (errors and signal summed over all of them). Default: 1.

    Returns:
        A dict with ``"removed"`` (the fraction), ``"keep"``, ``"dropped"`` (the input with dropped
        pixels zeroed, standardized scale, no rescaling), ``"filled"`` and ``"input"`` (the
        standardized map) of the first draw.

    Examples::

        >>> smooth = np.add.outer(np.arange(32.0), np.arange(32.0))
        >>> r = removed_fraction(smooth, 0.3, np.random.default_rng(0))
        >>> s = removed_fraction(smooth, 0.3, np.random.default_rng(0), "spatial",
        ...                      draws=20)
        >>> r["removed"] < 0.01, s["removed"]
        (True, 1.0)
    """
    p = check_probability(p)
    if p == 0.0:
        raise ValueError("p must be above 0: with p = 0 nothing is dropped and there is nothing to measure.")
    check_rng(rng)
    check_choice(kind, ("element", "spatial"), "kind")
    draws = check_positive_int(draws, "draws")
    z = standardize(x)
    err = sig = 0.0
    first = None
    for _ in range(draws):
        if kind == "element":
            keep = rng.random(z.shape) >= p
        else:
            keep = np.full(z.shape, bool(rng.random() >= p))
        filled = neighbour_fill(z, keep, neighbours)
        err += float(((filled - z)[~keep] ** 2).sum())
        sig += float((z[~keep] ** 2).sum())
        if first is None:
            first = {"keep": keep, "dropped": np.where(keep, z, 0.0), "filled": filled, "input": z}
    removed = err / sig if sig > 0 else float("nan")
    return {"removed": removed, **first}
