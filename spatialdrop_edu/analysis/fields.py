"""Maps to measure dropout on, and how much of a dropped map its neighbours give back.

* :func:`gaussian_random_field`: a synthetic map whose correlation length is a parameter.
* :func:`power_law_field`: a synthetic map whose power spectrum falls as ``1/f**alpha`` (no
  length of its own: what the ``1/f**2`` law of natural images describes); :func:`gaussian_blur`
  and :func:`jpeg_roundtrip` do to it what a camera's optics and its file format do.
* :func:`conv_feature_maps` (with :func:`conv_stack` and :func:`train_patch_classifier`): the
  feature maps of a small convolution stack applied to a photo, layer by layer.
* :func:`neighbour_fill` and :func:`removed_fraction`: fill each dropped pixel with the mean of its
  kept neighbours, and measure how much of the dropped signal that fails to recover.
"""

from __future__ import annotations

import math

import numpy as np

from .._progress import progress_bar
from .._validation import (
    check_choice,
    check_int_between,
    check_non_negative_number,
    check_positive_int,
    check_probability,
    check_rng,
    check_seed,
)

__all__ = [
    "conv_feature_maps",
    "conv_stack",
    "gaussian_blur",
    "gaussian_random_field",
    "jpeg_roundtrip",
    "neighbour_fill",
    "photo_square",
    "power_law_field",
    "removed_fraction",
    "standardize",
    "train_patch_classifier",
]


def standardize(x) -> np.ndarray:
    """``(x - mean) / std``; a constant map becomes zeros.

    Examples::

        >>> standardize([1.0, 2.0, 3.0]).round(3).tolist()
        [-1.225, 0.0, 1.225]
    """
    x = np.asarray(x, dtype=float)
    s = float(x.std())
    return (x - x.mean()) / s if s > 0 else np.zeros_like(x)


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


def conv_stack(layers: int = 4, channels: int = 8, *, pool: bool = True, seed: int = 0):
    """A small convolution stack: ``layers`` times [3 x 3 conv, ReLU, optional 2 x 2 max pool].

    Args:
        layers: number of conv layers. Default: 4.
        channels: output channels of every conv. Default: 8.
        pool: 2 x 2 max pooling after every conv. Default: ``True``.
        seed: seed of PyTorch's default initialization (Kaiming uniform). Default: 0.

    Returns:
        A ``torch.nn.Sequential`` taking ``(N, 1, H, W)``; its attribute ``taps`` lists the indices
        of the modules whose outputs are the feature maps (after each ReLU, or each pool).

    Examples::

        >>> net = conv_stack(2, 4, pool=True)
        >>> net.taps
        [2, 5]
    """
    import torch

    layers = check_positive_int(layers, "layers")
    channels = check_positive_int(channels, "channels")
    seed = check_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mods, taps = [], []
        c_in = 1
        for _ in range(layers):
            mods += [torch.nn.Conv2d(c_in, channels, 3, padding=1), torch.nn.ReLU()]
            if pool:
                mods.append(torch.nn.MaxPool2d(2))
            taps.append(len(mods) - 1)
            c_in = channels
    net = torch.nn.Sequential(*mods)
    net.taps = taps
    return net


def conv_feature_maps(net, image) -> list:
    """The feature maps of a :func:`conv_stack` on one grayscale image, one array per layer.

    Args:
        net: a :func:`conv_stack` (or any ``Sequential`` with a ``taps`` attribute).
        image: 2-D array; standardized before it enters the network.

    Returns:
        A list with one ``(C, H_l, W_l)`` array per tap.
    """
    import torch

    x = torch.as_tensor(standardize(image), dtype=torch.float32)[None, None]
    maps = []
    with torch.no_grad():
        for i, module in enumerate(net):
            x = module(x)
            if i in net.taps:
                maps.append(x[0].numpy().astype(float))
    return maps


def train_patch_classifier(
    net,
    photos,
    *,
    steps: int = 300,
    patch: int = 32,
    batch: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
    progress: bool = True,
) -> list:
    """Train ``net``'s filters briefly: tell which photo a random patch was cut from.

    A head (global average pool + linear layer) is put on ``net``; Adam minimizes the
    cross-entropy on random ``patch x patch`` crops (each standardized) of the given photos.
    The filters of ``net`` are changed in place.

    Args:
        net: a :func:`conv_stack` whose last conv has ``C`` channels.
        photos: list of 2-D arrays, one class each.
        steps: optimizer steps. Default: 300.
        patch: side of a patch in pixels. Default: 32.
        batch: patches per step. Default: 32.
        lr: Adam learning rate. Default: 3e-3.
        seed: seed of the patch sampler and the head. Default: 0.
        progress: show a ``tqdm`` bar over the steps, with the latest loss (300 steps take about a
            minute on two CPU cores). Default: ``True``.

    Returns:
        The training loss after each step (a list of floats).
    """
    import torch

    from ..training.loop import train_steps

    steps = check_positive_int(steps, "steps")
    patch = check_positive_int(patch, "patch")
    batch = check_positive_int(batch, "batch")
    seed = check_seed(seed)
    if len(photos) < 2:
        raise ValueError("photos must hold at least two images (two classes).")
    rng = np.random.default_rng(seed)

    def batches():
        for _ in range(steps):
            labels = rng.integers(len(photos), size=batch)
            crops = []
            for c in labels:
                img = photos[c]
                i = rng.integers(img.shape[0] - patch + 1)
                j = rng.integers(img.shape[1] - patch + 1)
                crops.append(standardize(img[i : i + patch, j : j + patch]))
            yield torch.as_tensor(np.stack(crops)[:, None], dtype=torch.float32), torch.as_tensor(labels)

    losses = []

    def on_step(loss, _batch):
        losses.append(float(loss.detach()))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.2f}", refresh=False)

    bar = progress_bar(steps, "patch classifier", progress, unit="step")
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            channels = [m for m in net if isinstance(m, torch.nn.Conv2d)][-1].out_channels
            head = torch.nn.Sequential(
                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(channels, len(photos))
            )
            model = torch.nn.Sequential(net, head)
            train_steps(
                model,
                torch.optim.Adam(model.parameters(), lr=lr),
                batches(),
                lambda m, b: torch.nn.functional.cross_entropy(m(b[0]), b[1]),
                on_step=on_step,
            )
    finally:
        if bar is not None:
            bar.refresh()  # the last step is drawn even when it came sooner than tqdm's redraw interval
            bar.close()
    return losses
