"""What the analysis modules do to any map they are given before they measure it: standardize it, check it.

:func:`standardize` is offered as :func:`spatialdrop_edu.analysis.fields.standardize`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_image", "standardize"]


def standardize(x) -> np.ndarray:
    """``(x - mean) / std``; a constant map becomes zeros.

    Examples::

        >>> standardize([1.0, 2.0, 3.0]).round(3).tolist()
        [-1.225, 0.0, 1.225]
    """
    x = np.asarray(x, dtype=float)
    s = float(x.std())
    return (x - x.mean()) / s if s > 0 else np.zeros_like(x)


def as_image(x, name: str = "image") -> np.ndarray:
    """``x`` as a float array, checked to be a finite 2-D image of at least 2 x 2 pixels."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or min(x.shape) < 2:
        raise ValueError(f"{name} must be a 2-D array of at least 2 x 2 pixels, got shape {x.shape}.")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return x
