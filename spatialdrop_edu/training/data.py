"""Data for the training chapters: built on this machine, never downloaded (one optional exception).

* :func:`load_mnist1d`: MNIST-1D (Greydanus, 2020), generated here with the ``mnist1d`` package's
  own ``make_dataset``, optionally with a reduced training set so that a small CNN overfits.
* :func:`texture_patches` and :func:`face_patches`: small 2-D image datasets cut from photos that
  ship with scikit-image. Train and test patches come from disjoint *regions* of each photo, so a
  test patch never shares a pixel with a training patch.
* :func:`load_fashion_mnist`: a public dataset for online use (Colab), read from its IDX gzip files
  with :func:`read_idx`; only :func:`download_fashion_mnist` touches the network.

Every loader returns a :class:`Splits` of ``(x, y)`` tensor pairs: ``x`` is channels first,
``float32``, ``y`` holds ``int64`` class labels.
"""

from __future__ import annotations

import functools
import gzip
import random
import struct
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from .._validation import check_choice, check_positive_int, check_seed

__all__ = [
    "Splits",
    "load_mnist1d",
    "texture_patches",
    "face_patches",
    "read_idx",
    "load_fashion_mnist",
    "download_fashion_mnist",
    "FASHION_MNIST_FILES",
]


class Splits(NamedTuple):
    """Train, validation and test sets, each a pair ``(x, y)`` of tensors."""

    train: tuple
    val: tuple
    test: tuple


def _pair(x, y) -> tuple:
    return torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32), torch.as_tensor(np.asarray(y), dtype=torch.int64)


@functools.lru_cache(maxsize=4)
def _mnist1d_arrays(data_seed: int):
    """The full MNIST-1D (4000 train, 1000 test), built with the package's defaults and ``data_seed``."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()          # the published defaults: 5000 sequences of length 40, seed 42
    args.seed = data_seed
    py_state, np_state = random.getstate(), np.random.get_state()
    try:                               # make_dataset reseeds Python's and NumPy's global generators
        data = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return data["x"], data["y"], data["x_test"], data["y_test"]


def load_mnist1d(train_size: int | None = None, val_size: int = 500, *, seed: int = 0,
                 data_seed: int = 42) -> Splits:
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
    val, train = order[:val_size], order[val_size:val_size + train_size]
    return Splits(_pair(x[train, None], y[train]), _pair(x[val, None], y[val]), _pair(x_test[:, None], y_test))


def _region_patches(image: np.ndarray, rows: tuple[int, int], patch: int, stride: int) -> np.ndarray:
    """Every ``patch`` × ``patch`` window lying wholly inside rows ``[rows[0], rows[1])``."""
    top, bottom = rows
    tops = range(top, bottom - patch + 1, stride)
    lefts = range(0, image.shape[1] - patch + 1, stride)
    return np.stack([image[r:r + patch, c:c + patch] for r in tops for c in lefts])


def _split_rows(height: int, test_fraction: float) -> tuple[tuple[int, int], tuple[int, int]]:
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}.")
    split = int(round(height * (1.0 - test_fraction)))
    return (0, split), (split, height)


def texture_patches(names=("brick", "grass", "gravel"), patch: int = 16, stride: int = 16,
                    test_fraction: float = 0.25, val_fraction: float = 0.2, *, seed: int = 0) -> Splits:
    """A texture classification task: one class per photo, patches from disjoint regions.

    The top ``1 - test_fraction`` of every photo is the training region and the rest the test
    region; no patch crosses the line between them. Validation patches are a random
    ``val_fraction`` of the training region's patches (they may overlap training patches, which is
    why the test set has its own region).

    Args:
        names: photos from :data:`~spatialdrop_edu.analysis.photos.PHOTOS`, one class each.
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
    from ..analysis.photos import PHOTOS, load_photo

    patch = check_positive_int(patch, "patch", "the side of a patch in pixels")
    stride = check_positive_int(stride, "stride", "the step between patches in pixels")
    seed = check_seed(seed)
    train_x, train_y, test_x, test_y = [], [], [], []
    for label, name in enumerate(names):
        check_choice(name, tuple(PHOTOS), "names[]")
        image = load_photo(name)
        train_rows, test_rows = _split_rows(image.shape[0], test_fraction)
        for rows, xs, ys in ((train_rows, train_x, train_y), (test_rows, test_x, test_y)):
            cut = _region_patches(image, rows, patch, stride)
            xs.append(cut)
            ys.append(np.full(len(cut), label))
    x, y = np.concatenate(train_x), np.concatenate(train_y)
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = int(round(val_fraction * len(y)))
    val, train = order[:n_val], order[n_val:]
    return Splits(_pair(x[train, None], y[train]), _pair(x[val, None], y[val]),
                  _pair(np.concatenate(test_x)[:, None], np.concatenate(test_y)))


def face_patches(test_fraction: float = 0.25, val_fraction: float = 0.2, *, seed: int = 0) -> Splits:
    """Faces against non-faces: scikit-image's ``lfw_subset`` (100 faces, 100 other patches, 25 × 25).

    Images are disjoint between the sets (each image is in exactly one), drawn with ``seed``.
    Label 1 is a face.

    Examples::

        >>> data = face_patches()
        >>> data.train[0].shape[1:], len(data.train[1]) + len(data.val[1]) + len(data.test[1])
        (torch.Size([1, 25, 25]), 200)
    """
    import skimage.data

    images = np.asarray(skimage.data.lfw_subset(), dtype=np.float64)
    labels = np.r_[np.ones(100), np.zeros(100)]     # the first 100 images are faces (skimage docs)
    order = np.random.default_rng(check_seed(seed)).permutation(len(labels))
    n_test = int(round(test_fraction * len(labels)))
    n_val = int(round(val_fraction * (len(labels) - n_test)))
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return Splits(*(_pair(images[i, None], labels[i]) for i in (train, val, test)))


# -- Fashion-MNIST (online only) -------------------------------------------------------------------

#: The four files of Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017), in the IDX format of MNIST.
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the format of MNIST and Fashion-MNIST), gzip-compressed or not.

    The format: two zero bytes, a type byte (``0x08`` = unsigned byte, ...), the number of
    dimensions ``d``, ``d`` big-endian int32 sizes, then the data in C order.

    Returns:
        A NumPy array of the stored shape and type.

    Examples::

        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "tiny-idx1-ubyte")
        >>> _ = open(path, "wb").write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
        >>> read_idx(path)
        array([7, 8, 9], dtype=uint8)
    """
    path = Path(path)
    with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as handle:
        raw = handle.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (magic bytes {raw[:4]!r}).")
    shape = struct.unpack(f">{ndim}i", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=_IDX_TYPES[dtype_code], offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} holds {data.size} values, its header says shape {shape}.")
    return data.reshape(shape).astype(np.dtype(_IDX_TYPES[dtype_code]).newbyteorder("="))


def load_fashion_mnist(root, train_size: int | None = None, val_size: int = 5000, *, seed: int = 0) -> Splits:
    """Fashion-MNIST from the four IDX gzip files in ``root`` (see :func:`download_fashion_mnist`).

    Pixels are scaled to ``[0, 1]``; validation images come from the training files.

    Returns:
        :class:`Splits` with ``x`` of shape ``(N, 1, 28, 28)`` and labels 0 to 9.
    """
    root = Path(root)
    arrays = {key: read_idx(root / name) for key, name in FASHION_MNIST_FILES.items()}
    x, y = arrays["train_images"] / 255.0, arrays["train_labels"]
    order = np.random.default_rng(check_seed(seed)).permutation(len(y))
    val = order[:val_size]
    train = order[val_size:] if train_size is None else order[val_size:val_size + train_size]
    return Splits(_pair(x[train, None], y[train]), _pair(x[val, None], y[val]),
                  _pair(arrays["test_images"][:, None] / 255.0, arrays["test_labels"]))


def download_fashion_mnist(root, url: str = FASHION_MNIST_URL) -> Path:  # pragma: no cover - needs the network
    """Download the four Fashion-MNIST files into ``root`` (skipping those already there); online only."""
    import urllib.request

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name in FASHION_MNIST_FILES.values():
        if not (root / name).exists():
            urllib.request.urlretrieve(url + name, root / name)
    return root
