"""What a camera's optics and its file format do to a map: a Gaussian blur, and a JPEG round trip.

A defocused lens, an anti-aliasing filter, demosaicing and resizing all blur a photo a little
(:func:`gaussian_blur`); its file then quantises the frequencies of each 8 x 8 block (:func:`jpeg_roundtrip`).
Chapter 3 does both to a :func:`~spatialdrop_edu.analysis.fields.power_law_field` and measures what they change.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_int_between, check_non_negative_number

__all__ = [
    "gaussian_blur",
    "jpeg_roundtrip",
]


def gaussian_blur(x, sigma: float) -> np.ndarray:
    """Blur a map with a Gaussian of standard deviation ``sigma`` pixels (in Fourier space, so periodically).

    A defocused lens, an anti-aliasing filter, demosaicing and resizing all blur a photo a
    little; a blur multiplies the power spectrum by ``exp(-4 pi**2 sigma**2 f**2)``, which removes
    the highest frequencies first.

    Args:
        x: 2-D map.
        sigma: standard deviation in pixels, ``>= 0`` (0 returns a copy).

    Returns:
        The blurred map, same shape.

    Examples::

        >>> x = np.zeros((8, 8)); x[0, 0] = 1.0
        >>> y = gaussian_blur(x, 1.0)
        >>> # the total is kept, the peak spread
        >>> round(float(y.sum()), 6), bool(y[0, 0] < 0.2)
        (1.0, True)
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D map, got shape {x.shape}.")
    sigma = check_non_negative_number(sigma, "sigma", "pixels")
    if sigma == 0:
        return x.copy()
    fy = np.fft.fftfreq(x.shape[0])[:, None]
    fx = np.fft.fftfreq(x.shape[1])[None, :]
    transfer = np.exp(-2.0 * (math.pi * sigma) ** 2 * (fy**2 + fx**2))
    return np.real(np.fft.ifft2(np.fft.fft2(x) * transfer))


def jpeg_roundtrip(x, quality: int = 75) -> np.ndarray:
    """Save a map as an 8-bit grayscale JPEG (Pillow) at ``quality`` and read it back.

    The map is scaled linearly to 0..255 (its minimum to 0, its maximum to 255) and rounded;
    the result is on that 0..255 scale. JPEG quantises the frequencies of each 8 x 8 block
    (``k / 16`` cycles per pixel, ``k = 1 .. 7``), coarser at high frequencies and low quality.

    Args:
        x: 2-D map.
        quality: JPEG quality, 1 to 95. Default: 75 (Pillow's default).

    Returns:
        The decoded image as a float array of the same shape, values in ``[0, 255]``.

    Examples::

        >>> x = np.add.outer(np.arange(16.0), np.arange(16.0))
        >>> y = jpeg_roundtrip(x, 95)
        >>> y.shape, bool(np.abs(y - x * 255 / 30).max() < 6)
        ((16, 16), True)
    """
    import io

    from PIL import Image

    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ValueError(f"x must be a finite 2-D map, got shape {x.shape}.")
    quality = check_int_between(quality, "quality", 1, 95, "JPEG quality")
    lo, hi = float(x.min()), float(x.max())
    scaled = np.zeros_like(x) if hi == lo else (x - lo) / (hi - lo) * 255.0
    buffer = io.BytesIO()
    Image.fromarray(np.rint(scaled).astype(np.uint8)).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return np.asarray(Image.open(buffer), dtype=float)
