"""Data for the training chapters, built on this machine, never downloaded (Fashion-MNIST has a module of its own).

* :func:`load_mnist1d`: MNIST-1D (Greydanus, 2020), generated here with the ``mnist1d`` package's
  own ``make_dataset``, optionally with a reduced training set so that a small CNN overfits.
* :func:`texture_patches` and :func:`face_patches`: small 2-D image datasets cut from photos that
  ship with scikit-image (:mod:`spatialdrop_edu.photos`). Train and test patches come from
  disjoint *regions* of each photo (:func:`region_corners`), so a test patch never shares a pixel
  with a training patch; :func:`per_class_subset` keeps a few examples of each class.
* :func:`denoising_patches`: clean grayscale patches of the photos for denoising, split by region
  the same way, with Gaussian noise (:func:`add_noise`) of a given ``sigma``.
* Fashion-MNIST, the one dataset read from downloaded files, has a module of its own,
  :mod:`~spatialdrop_edu.training.fashion_mnist`.

The classification loaders return a :class:`Splits` of ``(x, y)`` tensor pairs: ``x`` is channels
first, ``float32``, ``y`` holds ``int64`` class labels; the denoising one a :class:`DenoisingData`.
"""

from __future__ import annotations

import functools
import itertools
import random
from typing import NamedTuple

import numpy as np
import torch

from .._validation import check_choice, check_open_unit_interval, check_positive_int, check_positive_number, check_seed
from ..photos import PHOTOS, load_photo

__all__ = [
    "Splits",
    "DenoisingData",
    "load_mnist1d",
    "region_corners",
    "texture_patches",
    "face_patches",
    "per_class_subset",
    "num_classes",
    "add_noise",
    "denoising_patches",
    "tensor_pair",
]


class Splits(NamedTuple):
    """Train, validation and test sets, each a pair ``(x, y)`` of tensors."""

    train: tuple
    val: tuple
    test: tuple


def tensor_pair(x, y) -> tuple:
    """Examples and labels as tensors: ``float32`` (contiguous) and ``int64``.

    Examples::

        >>> x, y = tensor_pair(np.zeros((2, 3)), [1, 0])
        >>> x.dtype, y.dtype
        (torch.float32, torch.int64)
    """
    return torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)


@functools.lru_cache(maxsize=4)
def _mnist1d_arrays(data_seed: int):
    """The full MNIST-1D (4000 train, 1000 test), built with the package's defaults and ``data_seed``."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()  # the published defaults: 5000 sequences of length 40, seed 42
    args.seed = data_seed
    py_state, np_state = random.getstate(), np.random.get_state()
    try:  # make_dataset reseeds Python's and NumPy's global generators
        data = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return data["x"], data["y"], data["x_test"], data["y_test"]


def load_mnist1d(train_size: int | None = None, val_size: int = 500, *, seed: int = 0, data_seed: int = 42) -> Splits:
    """MNIST-1D, generated offline with ``mnist1d.data.make_dataset`` (never its download path).

    The package's 4000 training sequences are shuffled with ``seed``; the first ``val_size`` become
    the validation set and the next ``train_size`` the training set. The package's 1000 test
    sequences are the test set, the same for every ``seed``.

    Args:
        train_size: training sequences to keep (at most ``4000 - val_size``); ``None`` keeps all.
        val_size: validation sequences, taken from the package's training part.
        seed: which sequences go to validation and training (an int).
        data_seed: the generator's seed; 42 (the default) builds the published dataset.

    Returns:
        :class:`Splits`; ``x`` has shape ``(N, 1, 40)`` (one channel, 40 positions), ``y`` holds
        labels 0 to 9.

    Examples::

        >>> data = load_mnist1d(train_size=300, val_size=200, seed=0)
        >>> data.train[0].shape, data.val[0].shape, data.test[0].shape
        (torch.Size([300, 1, 40]), torch.Size([200, 1, 40]), torch.Size([1000, 1, 40]))
    """
    seed, data_seed = check_seed(seed), check_seed(data_seed, "data_seed")
    val_size = check_positive_int(val_size, "val_size", "validation sequences")
    x, y, x_test, y_test = _mnist1d_arrays(data_seed)
    available = len(y) - val_size
    if available < 1:
        raise ValueError(f"val_size must be below {len(y)} (the training sequences), got {val_size}.")
    train_size = available if train_size is None else check_positive_int(train_size, "train_size", "training sequences")
    if train_size > available:
        raise ValueError(f"train_size must be at most {available} with val_size={val_size}, got {train_size}.")
    order = np.random.default_rng(seed).permutation(len(y))
    val, train = order[:val_size], order[val_size : val_size + train_size]
    return Splits(
        tensor_pair(x[train, None], y[train]), tensor_pair(x[val, None], y[val]), tensor_pair(x_test[:, None], y_test)
    )


def region_corners(height: int, width: int, patch: int, stride: int, rows: tuple[int, int]) -> list[tuple[int, int]]:
    """The ``(top, left)`` corners of every ``patch`` × ``patch`` window on a ``stride`` grid inside ``rows``.

    A window belongs to the band of rows ``[rows[0], rows[1])`` only if *all* its pixels do, so the
    windows of two disjoint bands never share a pixel, whatever the stride. This is the region split
    of :func:`texture_patches` and :func:`denoising_patches`.

    Examples::

        >>> # tops 0 and 2 fit in rows 0..5; top 4 would reach row 7
        >>> region_corners(8, 8, 4, 2, (0, 6))
        [(0, 0), (0, 2), (0, 4), (2, 0), (2, 2), (2, 4)]
    """
    patch, stride = check_positive_int(patch, "patch"), check_positive_int(stride, "stride")
    top, bottom = rows
    if not 0 <= top <= bottom <= height:
        raise ValueError(f"rows must satisfy 0 <= rows[0] <= rows[1] <= height = {height}, got {rows!r}.")
    tops, lefts = range(top, bottom - patch + 1, stride), range(0, width - patch + 1, stride)
    return list(itertools.product(tops, lefts))


@functools.lru_cache(maxsize=16)
def _photo(name: str) -> np.ndarray:
    """A bundled photo, loaded once per process (read-only)."""
    image = load_photo(name)
    image.flags.writeable = False
    return image


def _region_patches(image: np.ndarray, rows: tuple[int, int], patch: int, stride: int) -> np.ndarray:
    """Every ``patch`` × ``patch`` window lying wholly inside rows ``[rows[0], rows[1])``, stacked."""
    return np.stack([image[r : r + patch, c : c + patch] for r, c in region_corners(*image.shape, patch, stride, rows)])


def _split_rows(height: int, test_fraction: float) -> tuple[tuple[int, int], tuple[int, int]]:
    """The training rows (the top ``1 - test_fraction``) and the test rows (the rest) of an image."""
    test_fraction = check_open_unit_interval(test_fraction, "test_fraction", "the share of rows kept for testing")
    split = int(round(height * (1.0 - test_fraction)))
    return (0, split), (split, height)


def texture_patches(
    names=("brick", "grass", "gravel"),
    patch: int = 16,
    stride: int = 16,
    test_fraction: float = 0.25,
    val_fraction: float = 0.2,
    *,
    seed: int = 0,
) -> Splits:
    """A texture classification task: one class per photo, patches from disjoint regions.

    The top ``1 - test_fraction`` of every photo is the training region and the rest the test
    region; no patch crosses the line between them. Validation patches are a random
    ``val_fraction`` of the training region's patches (they may overlap training patches, which is
    why the test set has its own region).

    Args:
        names: photos from :data:`~spatialdrop_edu.photos.PHOTOS`, one class each.
        patch: side of a square patch, in pixels.
        stride: step between patches; ``stride < patch`` makes overlapping patches.
        test_fraction: share of each photo's rows kept for testing.
        val_fraction: share of the training patches held out for validation.
        seed: which training patches go to validation.

    Returns:
        :class:`Splits` with ``x`` of shape ``(N, 1, patch, patch)`` and labels ``0 .. len(names) - 1``.

    Examples::

        >>> data = texture_patches(patch=32, stride=32)
        >>> data.train[0].shape[1:], sorted(set(data.test[1].tolist()))
        (torch.Size([1, 32, 32]), [0, 1, 2])
    """
    patch = check_positive_int(patch, "patch", "the side of a patch in pixels")
    stride = check_positive_int(stride, "stride", "the step between patches in pixels")
    seed = check_seed(seed)
    train_x, train_y, test_x, test_y = [], [], [], []
    for label, name in enumerate(names):
        image = _photo(check_choice(name, tuple(PHOTOS), "names[]"))
        train_rows, test_rows = _split_rows(image.shape[0], test_fraction)
        for rows, xs, ys in ((train_rows, train_x, train_y), (test_rows, test_x, test_y)):
            cut = _region_patches(image, rows, patch, stride)
            xs.append(cut)
            ys.append(np.full(len(cut), label))
    x, y = np.concatenate(train_x), np.concatenate(train_y)
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = int(round(val_fraction * len(y)))
    val, train = order[:n_val], order[n_val:]
    return Splits(
        tensor_pair(x[train, None], y[train]),
        tensor_pair(x[val, None], y[val]),
        tensor_pair(np.concatenate(test_x)[:, None], np.concatenate(test_y)),
    )


def face_patches(test_fraction: float = 0.25, val_fraction: float = 0.2, *, seed: int = 0) -> Splits:
    """Faces against non-faces: scikit-image's ``lfw_subset`` (100 faces, 100 other patches, 25 × 25).

    Images are disjoint between the sets (each image is in exactly one), drawn with ``seed``.
    Label 1 is a face.

    Examples::

        >>> data = face_patches()
        >>> total = len(data.train[1]) + len(data.val[1]) + len(data.test[1])
        >>> data.train[0].shape[1:], total
        (torch.Size([1, 25, 25]), 200)
    """
    import skimage.data

    images = np.asarray(skimage.data.lfw_subset(), dtype=np.float64)
    labels = np.r_[np.ones(100), np.zeros(100)]  # the first 100 images are faces (skimage docs)
    order = np.random.default_rng(check_seed(seed)).permutation(len(labels))
    n_test = int(round(test_fraction * len(labels)))
    n_val = int(round(val_fraction * (len(labels) - n_test)))
    test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    return Splits(*(tensor_pair(images[i, None], labels[i]) for i in (train, val, test)))


def per_class_subset(pair: tuple, n_per_class: int | None, seed: int) -> tuple:
    """The first ``n_per_class`` examples of each class after a seeded shuffle (``None``: all).

    Examples::

        >>> x, y = torch.zeros(10, 1), torch.tensor([0] * 5 + [1] * 5)
        >>> per_class_subset((x, y), 2, seed=0)[1].tolist()
        [0, 0, 1, 1]
    """
    x, y = pair
    if n_per_class is None:
        return x, y
    n_per_class = check_positive_int(n_per_class, "n_per_class", "training examples per class")
    order = np.random.default_rng(check_seed(seed)).permutation(len(y))
    labels = y.numpy()[order]
    keep = np.sort(np.concatenate([order[labels == c][:n_per_class] for c in np.unique(labels)]))
    return x[keep], y[keep]


def num_classes(data: Splits) -> int:
    """The number of classes of a classification task: one more than the largest label of its training or test set.

    Examples::

        >>> num_classes(texture_patches(("brick", "grass"), patch=64, stride=64))
        2
    """
    return int(max(int(data.train[1].max()), int(data.test[1].max()))) + 1


# -- denoising -------------------------------------------------------------------------------------

#: Photos the denoising patches come from (scenes and objects, not the repetitive textures).
DENOISING_PHOTOS = ("camera", "astronaut", "coffee", "chelsea", "rocket", "grace_hopper")


class DenoisingData(NamedTuple):
    """Clean training patches, and fixed noisy/clean pairs for validation and test.

    ``train`` is a tensor ``(N, 1, P, P)`` of clean patches (noise is drawn afresh during
    training); ``val`` and ``test`` are pairs ``(noisy, clean)``; ``sigma`` is the noise's standard
    deviation.
    """

    train: torch.Tensor
    val: tuple
    test: tuple
    sigma: float


def add_noise(clean: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """``clean`` plus Gaussian noise of standard deviation ``sigma`` (not clipped, so the noise has mean 0).

    Examples::

        >>> x = torch.zeros(1000)
        >>> round(float(add_noise(x, 0.2, torch.Generator().manual_seed(0)).std()), 1)
        0.2
    """
    noise = torch.randn(clean.shape, generator=generator, dtype=clean.dtype)
    return clean + sigma * noise.to(clean.device)


def denoising_patches(
    photos=DENOISING_PHOTOS,
    patch: int = 32,
    stride: int = 32,
    *,
    sigma: float = 0.2,
    test_fraction: float = 0.25,
    val_fraction: float = 0.15,
    max_train: int | None = None,
    max_val: int | None = None,
    max_test: int | None = None,
    seed: int = 0,
) -> DenoisingData:
    """Patches of the bundled photos for denoising, training and test from disjoint rows of each photo.

    The top ``1 - test_fraction`` of every photo is its training region and the rest its test
    region; no patch crosses the line. Validation patches are a random ``val_fraction`` of the
    training region's patches. The noise of the validation and test pairs is drawn once, from
    ``seed``; training noise is drawn during training
    (:func:`~spatialdrop_edu.training.denoising.train_denoiser`).

    Args:
        photos: names from :data:`~spatialdrop_edu.photos.PHOTOS`.
        patch: side of a square patch in pixels, a multiple of 4 (the U-Net pools twice).
        stride: step between patches of the training region (test patches never overlap: their
            stride is ``patch``).
        sigma: standard deviation of the Gaussian noise, on pixel values in ``[0, 1]``.
        test_fraction: share of each photo's rows kept for testing.
        val_fraction: share of the training patches held out for validation.
        max_train: keep at most this many training patches (a random subset); ``None`` keeps all.
        max_val: keep at most this many validation patches (a random subset); ``None`` keeps all.
        max_test: keep at most this many test patches (a random subset); ``None`` keeps all.
        seed: the validation subset, the training subset and the fixed noise.

    Returns:
        :class:`DenoisingData`, tensors ``float32`` of shape ``(N, 1, patch, patch)``.

    Examples::

        >>> data = denoising_patches(("camera",), patch=32, stride=32)
        >>> data.train.shape[1:], data.test[0].shape == data.test[1].shape, data.sigma
        (torch.Size([1, 32, 32]), True, 0.2)
    """
    patch = check_positive_int(patch, "patch", "the side of a patch in pixels")
    if patch % 4:
        raise ValueError(f"patch must be a multiple of 4 (the U-Net halves it twice), got {patch}.")
    stride = check_positive_int(stride, "stride", "the step between training patches in pixels")
    seed = check_seed(seed)
    val_fraction = check_open_unit_interval(val_fraction, "val_fraction", "the share of patches for validation")
    sigma = check_positive_number(sigma, "sigma", "the noise's standard deviation")
    train, test = [], []
    for name in photos:
        image = _photo(check_choice(name, tuple(PHOTOS), "photos[]"))
        train_rows, test_rows = _split_rows(image.shape[0], test_fraction)
        train.append(_region_patches(image, train_rows, patch, stride))
        test.append(_region_patches(image, test_rows, patch, patch))
    train, test = np.concatenate(train), np.concatenate(test)
    order = np.random.default_rng(seed).permutation(len(train))
    n_val = int(round(val_fraction * len(train)))
    val, fit = order[:n_val], order[n_val:]
    if max_train is not None:
        fit = fit[: check_positive_int(max_train, "max_train", "training patches to keep")]
    if max_val is not None:
        val = val[: check_positive_int(max_val, "max_val", "validation patches to keep")]
    if max_test is not None:
        keep = np.random.default_rng(seed).permutation(len(test))
        test = test[np.sort(keep[: check_positive_int(max_test, "max_test", "test patches to keep")])]

    def tensor(a):
        return torch.as_tensor(a[:, None], dtype=torch.float32)

    gen = torch.Generator().manual_seed(10_000 + seed)
    val_clean, test_clean = tensor(train[val]), tensor(test)
    return DenoisingData(
        tensor(train[fit]),
        (add_noise(val_clean, sigma, gen), val_clean),
        (add_noise(test_clean, sigma, gen), test_clean),
        sigma,
    )
