"""How strongly neighbouring pixels agree: autocorrelation, correlation length, power spectrum, channels.

The measurements of chapter 3:

* :func:`autocorrelation`: the Pearson correlation of pixels ``d`` apart, for ``d = 0, 1, ...``;
  :func:`correlation_length` reads off the distance where it falls below ``1/e``.
* :func:`radial_power_spectrum` and :func:`fit_spectral_exponent`: the radially averaged power
  spectrum of an image and the exponent ``alpha`` of a power law ``P(f) ~ f**-alpha`` fitted to it
  (natural images are reported to have ``alpha`` close to 2, Field 1987).
* :func:`cross_channel_stats`: how strongly the channels of a feature map agree at the same
  position, and how much of each channel the others predict there.

What that agreement does to dropout's noise is :mod:`~spatialdrop_edu.analysis.dropout_noise`. Chapter 3 calls it
through this module (``correlation.injected_variance``), so it offers its names too.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_choice, check_positive_int
from ._maps import as_image

# Chapter 3 calls these through this module (``correlation.injected_variance``); they live in dropout_noise.
from .dropout_noise import injected_variance as injected_variance
from .dropout_noise import sampled_injected_variance as sampled_injected_variance
from .dropout_noise import weight_gradient_stats as weight_gradient_stats

__all__ = [
    "autocorrelation",
    "correlation_length",
    "cross_channel_stats",
    "fit_spectral_exponent",
    "mean_autocorrelation",
    "radial_power_spectrum",
]


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denom = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else float("nan")


def autocorrelation(image, max_lag: int = 32) -> np.ndarray:
    """Correlation of pixels ``d`` apart, for ``d = 0 .. max_lag``.

    For each lag ``d`` the Pearson correlation of the pairs ``(x[i, j], x[i, j + d])``
    (horizontal) and of the pairs ``(x[i, j], x[i + d, j])`` (vertical) are averaged. No
    wrap-around: only pairs that lie inside the image count.

    Args:
        image: 2-D array (a photo, a feature map, a synthetic field).
        max_lag: the largest distance in pixels, a positive int smaller than both sides.
            Default: 32.

    Returns:
        Array of shape ``(max_lag + 1,)``; entry 0 is 1. NaN where a map is constant.

    Examples::

        >>> # a ramp: neighbours differ by a constant
        >>> ramp = np.add.outer(np.arange(8.0), np.arange(8.0))
        >>> np.round(autocorrelation(ramp, 2), 3).tolist()
        [1.0, 1.0, 1.0]
        >>> # stripes: at lag 1, -1 across columns and +1 down rows
        >>> stripes = np.tile([1.0, -1.0], (8, 4))
        >>> np.round(autocorrelation(stripes, 2), 3).tolist()
        [1.0, 0.0, 1.0]
    """
    x = as_image(image)
    max_lag = check_positive_int(max_lag, "max_lag", "the largest distance in pixels")
    if max_lag >= min(x.shape):
        raise ValueError(f"max_lag must be smaller than both sides of the image {x.shape}, got {max_lag}.")
    out = np.empty(max_lag + 1)
    out[0] = 1.0 if x.std() > 0 else float("nan")
    for d in range(1, max_lag + 1):
        out[d] = 0.5 * (_pearson(x[:, :-d], x[:, d:]) + _pearson(x[:-d, :], x[d:, :]))
    return out


def mean_autocorrelation(maps, max_lag: int = 32) -> tuple[np.ndarray, int]:
    """The :func:`autocorrelation` averaged over the channels of a feature map, constant channels left out.

    A ReLU can switch a channel off everywhere; such a channel has no correlation to measure.

    Args:
        maps: array ``(C, H, W)``.
        max_lag: the largest lag; clipped to ``min(H, W) - 1``.

    Returns:
        ``(curve, live)``: the mean curve (at each lag over the channels where it is defined; NaN
        if none) and the number of channels that vary.

    Examples::

        >>> ramp = np.add.outer(np.arange(8.0), np.arange(8.0))
        >>> maps = np.stack([ramp, np.zeros((8, 8))])
        >>> curve, live = mean_autocorrelation(maps, 2)
        >>> live, np.round(curve, 3).tolist()
        (1, [1.0, 1.0, 1.0])
    """
    maps = np.asarray(maps, dtype=float)
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (C, H, W), got {maps.shape}.")
    max_lag = min(check_positive_int(max_lag, "max_lag"), min(maps.shape[1:]) - 1)
    curves = [autocorrelation(ch, max_lag) for ch in maps if ch.std() > 1e-12 * (1 + np.abs(ch).max())]
    if not curves:
        return np.full(max_lag + 1, np.nan), 0
    curves = np.array(curves)
    defined = np.isfinite(curves)  # a sparse channel can be constant over a shifted block: NaN at that lag
    with np.errstate(invalid="ignore"):
        mean = np.where(defined, curves, 0.0).sum(axis=0) / defined.sum(axis=0)
    return mean, len(curves)


def correlation_length(image=None, *, curve=None, max_lag: int = 32, level: float = math.exp(-1)) -> float:
    """Distance in pixels at which the autocorrelation first falls below ``level`` (``1/e``).

    Linear interpolation between the two lags around the crossing. Give either an image (its
    :func:`autocorrelation` up to ``max_lag`` is computed) or a ready ``curve``.

    Args:
        image: 2-D array, or ``None`` when ``curve`` is given.
        curve: an autocorrelation curve starting at lag 0.
        max_lag: the largest lag measured on ``image``. Default: 32.
        level: the threshold, in ``(0, 1)``. Default: ``1/e``.

    Returns:
        The distance as a float; ``inf`` if the curve never falls below ``level``.

    Examples::

        >>> # a Gaussian curve, at 1/e at lag 4
        >>> correlation_length(curve=np.exp(-(np.arange(10) / 4.0) ** 2))
        4.0...
    """
    if (image is None) == (curve is None):
        raise ValueError("give exactly one of image and curve.")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}.")
    rho = autocorrelation(image, max_lag) if curve is None else np.asarray(curve, dtype=float)
    below = np.flatnonzero(rho < level)
    if below.size == 0:
        return float("inf")
    d = int(below[0])
    r0, r1 = rho[d - 1], rho[d]
    return float(d - 1 + (r0 - level) / (r0 - r1))


def radial_power_spectrum(image, *, window: str = "hann"):
    """Radially averaged power spectrum of an image, mean removed, optionally windowed.

    The image minus its mean is multiplied by a separable window (``"hann"``, to avoid the
    spurious power that the image's borders add along the axes, or ``"none"``), Fourier
    transformed, and ``|F|**2 / (H * W)`` is averaged over rings of integer radius in frequency
    space. Frequencies are in cycles per pixel, with 1 cycle per image as the smallest step of a
    square image.

    Args:
        image: 2-D array.
        window: ``"hann"`` or ``"none"``. Default: ``"hann"``.

    Returns:
        ``(f, power)``: two arrays, ``f`` from ``1 / N`` up to ``0.5`` cycles per pixel
        (``N`` the shorter side), DC left out.

    Examples::

        >>> noise = np.random.default_rng(0).standard_normal((64, 64))
        >>> f, pw = radial_power_spectrum(noise, window="none")
        >>> # white noise: flat, at its variance 1
        >>> float(f[0]), float(f[-1]), bool(0.7 < pw.mean() < 1.3)
        (0.015625, 0.5, True)
    """
    x = as_image(image)
    check_choice(window, ("hann", "none"), "window")
    h, w = x.shape
    x = x - x.mean()
    if window == "hann":
        win = np.outer(np.hanning(h), np.hanning(w))
        x = x * win / math.sqrt(float((win**2).mean()))  # keep the total power comparable
    power = np.abs(np.fft.fft2(x)) ** 2 / (h * w)
    n = min(h, w)
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    ring = np.rint(np.sqrt(fy**2 + fx**2) * n).astype(int)  # radius in steps of 1/n
    sums = np.bincount(ring.ravel(), weights=power.ravel())
    counts = np.bincount(ring.ravel())
    radii = np.arange(1, n // 2 + 1)
    return radii / n, sums[radii] / counts[radii]


def fit_spectral_exponent(image=None, *, spectrum=None, band=(0.02, 0.25), window: str = "hann") -> dict:
    """Fit ``P(f) = c * f**-alpha`` to a radially averaged power spectrum by least squares in log-log.

    Args:
        image: 2-D array, or ``None`` when ``spectrum`` is given.
        spectrum: ``(f, power)`` as returned by :func:`radial_power_spectrum`.
        band: ``(f_low, f_high)`` in cycles per pixel; only rings inside are fitted. Default
            ``(0.02, 0.25)``: above the lowest few rings (where the window blurs the spectrum)
            and below half the Nyquist frequency (where JPEG compression, demosaicing and
            sensor noise distort it).
        window: the window for :func:`radial_power_spectrum`. Default: ``"hann"``.

    Returns:
        A dict with ``"alpha"`` (the fitted exponent; 2 is the ``1/f**2`` law), ``"log10_c"``,
        ``"band"``, ``"points"`` (rings fitted) and ``"f"``, ``"power"`` (the whole spectrum).

    Examples::

        >>> f = np.arange(1, 129) / 256
        >>> round(fit_spectral_exponent(spectrum=(f, 3 * f ** -2.0))["alpha"], 6)
        2.0
    """
    if (image is None) == (spectrum is None):
        raise ValueError("give exactly one of image and spectrum.")
    f, power = radial_power_spectrum(image, window=window) if spectrum is None else map(np.asarray, spectrum)
    lo, hi = (float(b) for b in band)
    if not 0 < lo < hi:
        raise ValueError(f"band must be (f_low, f_high) with 0 < f_low < f_high, got {band!r}.")
    inside = (f >= lo) & (f <= hi) & (power > 0)
    if inside.sum() < 3:
        raise ValueError(f"band {band!r} holds only {int(inside.sum())} frequencies; widen it or use a larger image.")
    slope, intercept = np.polyfit(np.log10(f[inside]), np.log10(power[inside]), 1)
    return {
        "alpha": float(-slope),
        "log10_c": float(intercept),
        "band": (lo, hi),
        "points": int(inside.sum()),
        "f": f,
        "power": power,
    }


def cross_channel_stats(maps) -> dict:
    """How much the channels of a feature map agree at the same position.

    SpatialDropout removes a channel at every position, so nothing is left *in that channel* to
    fill it from; the other channels at the same position are still there. This measures how
    much they carry: the Pearson correlation of every pair of channels over all positions, and
    for each channel the share of its variance that a least-squares linear combination of the
    other channels at the same position explains (``R**2``; the rest, ``1 - R**2``, is what a
    linear read-out of the other channels cannot give back). Constant channels are left out.

    Args:
        maps: array ``(C, H, W)`` (one sample's feature maps) or ``(C, M)`` (values at ``M``
            positions, pooled over samples).

    Returns:
        A dict with ``"correlation"`` (``(L, L)`` matrix of the ``L`` live channels),
        ``"mean_abs_correlation"`` (mean ``|r|`` over pairs; NaN with fewer than two live
        channels), ``"r2"`` (``(L,)``: each channel from the others, with an intercept) and
        ``"live"`` (``L``).

    Examples::

        >>> r = np.random.default_rng(0)
        >>> a, b = r.standard_normal((2, 32, 32))
        >>> # the third channel is the sum of the others
        >>> s = cross_channel_stats(np.stack([a, b, a + b]))
        >>> np.round(s["r2"], 6).tolist()
        [1.0, 1.0, 1.0]
        >>> bool(cross_channel_stats(np.stack([a, b]))["mean_abs_correlation"] < 0.1)
        True
    """
    x = np.asarray(maps, dtype=float)
    if x.ndim == 3:
        x = x.reshape(x.shape[0], -1)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"maps must have shape (C, H, W) or (C, M) with M >= 2 positions, got {np.shape(maps)}.")
    if not np.isfinite(x).all():
        raise ValueError("maps contain NaN or infinite values.")
    scale = np.abs(x).max(axis=1, keepdims=True)
    live = x.std(axis=1) > 1e-12 * (1.0 + scale[:, 0])
    x = x[live]
    n = x.shape[0]
    if n == 0:
        return {"correlation": np.zeros((0, 0)), "mean_abs_correlation": float("nan"), "r2": np.zeros(0), "live": 0}
    corr = np.atleast_2d(np.corrcoef(x))
    off = ~np.eye(n, dtype=bool)
    mean_abs = float(np.abs(corr[off]).mean()) if n > 1 else float("nan")
    # least squares with an intercept, from the correlation matrix: R^2 = r_co R_oo^+ r_oc (the pseudo-inverse keeps
    # it exact when channels are linearly dependent)
    r2 = np.zeros(n)
    for c in range(n):
        others = np.delete(np.arange(n), c)
        if others.size == 0:
            continue
        beta, *_ = np.linalg.lstsq(corr[np.ix_(others, others)], corr[others, c], rcond=None)
        r2[c] = float(corr[c, others] @ beta)
    return {"correlation": corr, "mean_abs_correlation": mean_abs, "r2": np.clip(r2, 0.0, 1.0), "live": int(n)}
