"""Maps to measure dropout on: synthetic fields whose correlation is a parameter, and the bundled photos.

* :func:`gaussian_random_field`: a synthetic map whose correlation length is a parameter.
* :func:`power_law_field`: a synthetic map whose power spectrum falls as ``1/f**alpha`` (no
  length of its own: what the ``1/f**2`` law of natural images describes).
* :func:`photo_square`: a bundled photo, as a square map.
* :func:`standardize`: ``(x - mean) / std``, the scale of every map here.

What is done to these maps lives beside them: what a camera's optics and its file format do to them
(:mod:`~spatialdrop_edu.analysis.corruptions`), how much of a dropped map its neighbours give back
(:mod:`~spatialdrop_edu.analysis.neighbour_fill`), and the feature maps of a small convolution stack
(:mod:`~spatialdrop_edu.analysis.conv_probe`). Chapter 3 calls them through this module (``fields.conv_stack``),
so it offers their names too.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_non_negative_number, check_positive_int, check_rng
from ._maps import standardize

# Chapter 3 calls these through this module (``fields.conv_stack``); they live in the modules named above.
from .conv_probe import conv_feature_maps as conv_feature_maps
from .conv_probe import conv_stack as conv_stack
from .conv_probe import train_patch_classifier as train_patch_classifier
from .corruptions import gaussian_blur as gaussian_blur
from .corruptions import jpeg_roundtrip as jpeg_roundtrip
from .neighbour_fill import neighbour_fill as neighbour_fill
from .neighbour_fill import removed_fraction as removed_fraction

__all__ = [
    "gaussian_random_field",
    "photo_square",
    "power_law_field",
    "standardize",
]


def photo_square(name: str, size: int | None = 256) -> np.ndarray:
    """A bundled photo (:func:`~spatialdrop_edu.analysis.photos.load_photo`), centre square, block-averaged.

    The largest centred square is cut out; with ``size`` it is then shrunk by averaging blocks of
    ``f x f`` pixels, ``f = side // size`` (no interpolation; a photo smaller than ``size`` is only
    cropped, to at most ``size`` pixels). ``size=None`` keeps the native resolution.

    Args:
        name: one of :data:`~spatialdrop_edu.analysis.photos.PHOTOS`.
        size: side of the result in pixels, or ``None``. Default: 256.

    Returns:
        A square 2-D float array with values in ``[0, 1]``.

    Examples::

        >>> photo_square("camera").shape, photo_square("camera", None).shape
        ((256, 256), (512, 512))
    """
    from .photos import load_photo

    img = load_photo(name)
    h, w = img.shape
    side = min(h, w)
    img = img[(h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side]
    if size is None:
        return img
    size = check_positive_int(size, "size")
    f = max(side // size, 1)
    n = min(size, side // f)
    return img[: n * f, : n * f].reshape(n, f, n, f).mean(axis=(1, 3))


def gaussian_random_field(shape, length: float, rng: np.random.Generator) -> np.ndarray:
    """White noise blurred by a Gaussian, standardized: a map with a chosen correlation length.

    The blur has standard deviation ``length / 2`` (applied in Fourier space, so the field is
    periodic); the correlation of two pixels ``d`` apart is then ``exp(-(d / length)**2)``: it
    falls to ``1/e`` at ``d = length``. ``length = 0`` gives white noise.

    Args:
        shape: ``(H, W)``.
        length: correlation length in pixels, ``>= 0``.
        rng: NumPy generator.

    Returns:
        Array of shape ``shape`` with mean 0 and standard deviation 1 (exactly, after standardizing).

    Examples::

        >>> f = gaussian_random_field((128, 128), 4.0, np.random.default_rng(0))
        >>> mean, std = round(float(f.mean()), 6), round(float(f.std()), 6)
        >>> mean, std, bool(0.2 < np.mean(f[:, 4:] * f[:, :-4]) < 0.55)
        (0.0, 1.0, True)
    """
    check_rng(rng)
    h, w = (check_positive_int(s, "shape") for s in shape)
    length = check_non_negative_number(length, "length", "pixels")
    noise = rng.standard_normal((h, w))
    if length > 0:
        sigma = length / 2.0
        fy = np.fft.fftfreq(h)[:, None]
        fx = np.fft.fftfreq(w)[None, :]
        transfer = np.exp(-2.0 * (math.pi * sigma) ** 2 * (fy**2 + fx**2))  # Fourier transform of the Gaussian
        noise = np.real(np.fft.ifft2(np.fft.fft2(noise) * transfer))
    return standardize(noise)


def power_law_field(shape, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """A random map whose power spectrum is ``c / f**alpha``: white noise shaped in Fourier space.

    The Fourier transform of white noise is multiplied by ``f**(-alpha / 2)`` (``f`` in cycles per
    pixel; the mean, ``f = 0``, is removed), transformed back and standardized. The field is
    periodic. With ``alpha = 2`` it follows the ``1/f**2`` law reported for natural images: it has
    no scale of its own, so its autocorrelation, and any "correlation length" read from it,
    depends on the size of the crop and on the resolution it is measured at (the Wiener-Khinchin
    theorem: the autocorrelation is the Fourier transform of the power spectrum).

    Args:
        shape: ``(H, W)``.
        alpha: the exponent, a finite number ``>= 0`` (0: white noise).
        rng: NumPy generator.

    Returns:
        Array of shape ``shape`` with mean 0 and standard deviation 1.

    Examples::

        >>> from spatialdrop_edu.analysis.correlation import fit_spectral_exponent
        >>> x = power_law_field((512, 512), 2.0, np.random.default_rng(0))
        >>> alpha = fit_spectral_exponent(x)["alpha"]
        >>> round(float(x.std()), 6), bool(abs(alpha - 2.0) < 0.1)
        (1.0, True)
    """
    check_rng(rng)
    h, w = (check_positive_int(s, "shape") for s in shape)
    alpha = check_non_negative_number(alpha, "alpha", "the spectral exponent")
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    radius = np.hypot(fy, fx)
    radius[0, 0] = 1.0
    amplitude = radius ** (-alpha / 2.0)
    amplitude[0, 0] = 0.0  # no mean
    x = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((h, w))) * amplitude))
    return standardize(x)
