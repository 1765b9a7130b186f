"""Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): the one dataset of the course read from downloaded files.

For online use (Colab): :func:`download_fashion_mnist` fetches the four IDX gzip files (the only function of the
package that touches the network), :func:`read_idx` reads one, :func:`load_fashion_mnist` makes
:class:`~spatialdrop_edu.training.data.Splits` of them.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from .._validation import check_seed
from .data import Splits, tensor_pair

__all__ = ["FASHION_MNIST_FILES", "FASHION_MNIST_URL", "read_idx", "load_fashion_mnist", "download_fashion_mnist"]

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
    with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as handle:
        raw = handle.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (magic bytes {raw[:4]!r}).")
    shape = struct.unpack(f">{ndim}i", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=_IDX_TYPES[dtype_code], offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} holds {data.size} values, its header says shape {shape}.")
    return data.reshape(shape).astype(np.dtype(_IDX_TYPES[dtype_code]).newbyteorder("="))


def load_fashion_mnist(root, train_size: int | None = None, val_size: int = 5000, *, seed: int = 0) -> Splits:
    """Fashion-MNIST from the four IDX gzip files in ``root`` (see :func:`download_fashion_mnist`).

    Pixels are scaled to ``[0, 1]``; validation images come from the training files.

    Returns:
        :class:`~spatialdrop_edu.training.data.Splits` with ``x`` of shape ``(N, 1, 28, 28)`` and labels 0 to 9.
    """
    root = Path(root)
    arrays = {key: read_idx(root / name) for key, name in FASHION_MNIST_FILES.items()}
    x, y = arrays["train_images"] / 255.0, arrays["train_labels"]
    order = np.random.default_rng(check_seed(seed)).permutation(len(y))
    val = order[:val_size]
    train = order[val_size:] if train_size is None else order[val_size : val_size + train_size]
    return Splits(
        tensor_pair(x[train, None], y[train]),
        tensor_pair(x[val, None], y[val]),
        tensor_pair(arrays["test_images"][:, None] / 255.0, arrays["test_labels"]),
    )


def download_fashion_mnist(root, url: str = FASHION_MNIST_URL) -> Path:  # pragma: no cover - needs the network
    """Download the four Fashion-MNIST files into ``root`` (skipping those already there); online only."""
    import urllib.request

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name in FASHION_MNIST_FILES.values():
        if not (root / name).exists():
            urllib.request.urlretrieve(url + name, root / name)
    return root
