"""PyTorch beside Keras: layouts, Keras' default data format, and what a layer does with an input.

PyTorch lays a batch out channels first, ``(N, C, *spatial)``; Keras, by default, channels last,
``(N, *spatial, C)``. Porting a model between them is mostly moving that one axis, for the data
(:func:`to_channels_first`, :func:`to_channels_last`) and for convolution kernels
(:func:`keras_kernel_to_torch`, :func:`torch_kernel_to_keras`). Keras takes its default layout from
``image_data_format`` in ``keras.json`` (:func:`keras_config_file`, :func:`keras_config_data_format`);
:func:`keras_image_data_format` changes it for a ``with`` block only, and never writes the file.
:func:`describe_call` runs any dropout layer on an input shape and reports what happened: the
noise shape it measured, the warnings, or the error. :func:`seeded_feature_maps` turns a photo into
the feature-map stack of a small convolution with fixed, seeded filters.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings

import numpy as np
import torch

from .._validation import check_data_format, check_min_rank, check_positive_int, check_seed, check_shape
from .masks import layer_mask, measure_noise_shape

__all__ = [
    "describe_call",
    "keras_config_data_format",
    "keras_config_file",
    "keras_image_data_format",
    "keras_kernel_to_torch",
    "resize_image",
    "seeded_feature_maps",
    "to_channels_first",
    "to_channels_last",
    "torch_kernel_to_keras",
]


def _move(x, source: int, destination: int):
    if isinstance(x, torch.Tensor):
        return x.movedim(source, destination)
    return np.moveaxis(np.asarray(x), source, destination)


def to_channels_last(x):
    """Move the channel axis of a batch from position 1 (PyTorch) to the end (Keras).

    Args:
        x: a ``torch.Tensor`` or array ``(N, C, *spatial)``, with at least one spatial axis.

    Returns:
        The same data as ``(N, *spatial, C)``: a view for tensors (call ``.contiguous()`` if needed).

    Examples::

        >>> to_channels_last(torch.zeros(2, 3, 5, 7)).shape
        torch.Size([2, 5, 7, 3])
    """
    check_min_rank(x, 3, "x")
    return _move(x, 1, -1)


def to_channels_first(x):
    """Move the channel axis of a batch from the end (Keras) to position 1 (PyTorch).

    Args:
        x: a ``torch.Tensor`` or array ``(N, *spatial, C)``, with at least one spatial axis.

    Returns:
        The same data as ``(N, C, *spatial)``.

    Examples::

        >>> to_channels_first(np.zeros((2, 5, 7, 3))).shape
        (2, 3, 5, 7)
        >>> x = torch.randn(2, 4, 6, 8, 3)
        >>> torch.equal(to_channels_last(to_channels_first(x)), x)
        True
    """
    check_min_rank(x, 3, "x")
    return _move(x, -1, 1)


def keras_kernel_to_torch(kernel):
    """A Keras ``ConvND`` kernel ``(*k, C_in, C_out)`` as a PyTorch weight ``(C_out, C_in, *k)``.

    Both frameworks compute a cross-correlation, so the taps are not flipped: only axes move.

    Examples::

        >>> keras_kernel_to_torch(np.zeros((3, 5, 2, 8))).shape     # (kh, kw, in, out)
        (8, 2, 3, 5)
    """
    check_min_rank(kernel, 3, "kernel")
    k = kernel.ndim
    order = (k - 1, k - 2, *range(k - 2))
    return kernel.permute(order) if isinstance(kernel, torch.Tensor) else np.transpose(np.asarray(kernel), order)


def torch_kernel_to_keras(weight):
    """A PyTorch ``ConvNd`` weight ``(C_out, C_in, *k)`` as a Keras kernel ``(*k, C_in, C_out)``.

    Examples::

        >>> w = torch.randn(8, 2, 3, 5)
        >>> torch.equal(keras_kernel_to_torch(torch_kernel_to_keras(w)), w)
        True
    """
    check_min_rank(weight, 3, "weight")
    k = weight.ndim
    order = (*range(2, k), 1, 0)
    return weight.permute(order) if isinstance(weight, torch.Tensor) else np.transpose(np.asarray(weight), order)


def keras_config_file() -> str:
    """Where Keras 3 reads its ``keras.json``: ``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras`` if ``~`` is
    read-only).

    This mirrors ``keras/src/backend/config.py``; the file need not exist.
    """
    if "KERAS_HOME" in os.environ:
        home = os.environ["KERAS_HOME"]
    else:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    return os.path.expanduser(os.path.join(home, "keras.json"))


def keras_config_data_format(path: str | None = None) -> str | None:
    """The ``image_data_format`` entry of a ``keras.json`` (read only), or ``None`` if it has none.

    Args:
        path: the file; default: :func:`keras_config_file`.

    Returns:
        ``"channels_first"``, ``"channels_last"``, or ``None`` when the file or the entry is missing
        (Keras then uses ``"channels_last"``).
    """
    path = keras_config_file() if path is None else path
    try:
        with open(path) as handle:
            config = json.load(handle)
    except (OSError, ValueError):
        return None
    return config.get("image_data_format") if isinstance(config, dict) else None


@contextlib.contextmanager
def keras_image_data_format(data_format: str):
    """Set Keras' default ``image_data_format`` inside a ``with`` block; the old one comes back after.

    Layers built inside the block without a ``data_format`` take this one (they keep it after the
    block). Nothing is written to ``keras.json``.

    Examples::

        >>> import keras
        >>> before = keras.config.image_data_format()
        >>> with keras_image_data_format("channels_first"):
        ...     keras.layers.SpatialDropout2D(0.5).data_format
        'channels_first'
        >>> keras.config.image_data_format() == before
        True
    """
    import keras

    check_data_format(data_format)
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format(data_format)
    try:
        yield data_format
    finally:
        keras.config.set_image_data_format(previous)


def describe_call(layer, input_shape, seeds=(0, 1, 2)) -> dict:
    """Call a dropout layer in training mode on ones of ``input_shape`` and report what happened.

    Args:
        layer: a dropout layer of this package, PyTorch or Keras.
        input_shape: the input's shape.
        seeds: one call per seed (see :func:`~spatialdrop_edu.analysis.masks.layer_mask`).

    Returns:
        A dict with ``"ok"`` (bool), ``"noise_shape"`` (measured, or ``None`` on error),
        ``"warnings"`` (list of warning messages) and ``"error"`` (``"TypeName: message"`` or ``None``).

    Examples::

        >>> from spatialdrop_edu import SpatialDropout1d
        >>> # an unbatched input (C, L)
        >>> describe_call(SpatialDropout1d(0.5), (6, 10))["noise_shape"]
        (6, 1)
    """
    shape = check_shape(input_shape)
    masks, error = [], None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            masks = [layer_mask(layer, shape, seed=s) for s in seeds]
        except (ValueError, RuntimeError, TypeError) as err:
            error = f"{type(err).__name__}: {err}"
    messages = list(dict.fromkeys(str(w.message) for w in caught))
    return {
        "ok": error is None,
        "noise_shape": measure_noise_shape(masks) if masks else None,
        "warnings": messages,
        "error": error,
    }


def resize_image(image, size: int = 64) -> np.ndarray:
    """Resize a grayscale image (area averaging) so that its longer side is ``size`` pixels.

    Examples::

        >>> resize_image(np.ones((40, 80)), 32).shape
        (16, 32)
    """
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2 or min(img.shape) < 1:
        raise ValueError(f"image must be a non-empty 2-D grayscale array (H, W), got shape {img.shape}.")
    size = check_positive_int(size, "size", "the longer side in pixels")
    scale = size / max(img.shape)
    out_hw = (max(1, round(img.shape[0] * scale)), max(1, round(img.shape[1] * scale)))
    x = torch.nn.functional.interpolate(torch.from_numpy(img)[None, None], size=out_hw, mode="area")
    return x[0, 0].numpy()


def seeded_feature_maps(image, channels: int = 8, kernel_size: int = 5, seed: int = 0, size: int = 64) -> torch.Tensor:
    """The feature-map stack of a grayscale image through one conv layer with fixed, seeded filters.

    The image is resized (area averaging) so that its longer side is ``size``, convolved with
    ``channels`` random zero-mean filters of unit norm (edges replicated, so the output has the
    image's size) and passed through a ReLU. Neighbouring pixels of the result are strongly
    correlated, as in any early conv layer.

    Args:
        image: a 2-D array ``(H, W)`` (e.g. from :func:`~spatialdrop_edu.photos.load_photo`).
        channels: number of filters (feature maps).
        kernel_size: odd filter size.
        seed: seed of the filters.
        size: length of the longer side after resizing.

    Returns:
        A float32 tensor ``(1, channels, H', W')``, channels first.

    Examples::

        >>> photo = np.random.default_rng(0).random((40, 80))
        >>> maps = seeded_feature_maps(photo, channels=4, size=32)
        >>> maps.shape, bool((maps >= 0).all())
        (torch.Size([1, 4, 16, 32]), True)
    """
    channels = check_positive_int(channels, "channels", "the number of feature maps")
    kernel_size = check_positive_int(kernel_size, "kernel_size")
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (so that padding='same' is symmetric), got {kernel_size}.")
    x = torch.from_numpy(resize_image(image, size))[None, None]
    g = torch.Generator().manual_seed(check_seed(seed))
    w = torch.randn(channels, 1, kernel_size, kernel_size, generator=g)
    w = w - w.mean(dim=(2, 3), keepdim=True)
    w = w / w.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None, None]
    with torch.no_grad():
        padded = torch.nn.functional.pad(x, (kernel_size // 2,) * 4, mode="replicate")  # no dark frame at the border
        return torch.relu(torch.nn.functional.conv2d(padded, w))
