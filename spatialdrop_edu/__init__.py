"""spatialdrop_edu: the small library the SpatialDropout course teaches from.

Read it in this order:

1. :mod:`~spatialdrop_edu.noise_shapes`: which units share one coin flip.
2. :mod:`~spatialdrop_edu.numpy_dropout`: dropout in NumPy, both scaling conventions.
3. :mod:`~spatialdrop_edu.torch_dropout`: ``Dropout`` and ``SpatialDropout1d/2d/3d`` for PyTorch,
   all one ``dropout`` call fed a per-layer noise shape.

Helpers the chapters share: :func:`seed_everything`, :func:`get_device`, :func:`layer_mask`.
"""

from .devices import get_device
from .masks import layer_mask
from .noise_shapes import coin_flips, noise_shape, resolve_noise_shape, spatial_noise_shape
from .numpy_dropout import keep_mask, numpy_dropout
from .seeding import seed_everything
from .torch_dropout import (
    Dropout,
    SpatialDropout1d,
    SpatialDropout2d,
    SpatialDropout3d,
    dropout,
    spatial_dropout,
)

__version__ = "0.1.0"

#: Where the course lives; notebooks install the package from here when it is missing (Colab).
REPOSITORY_URL = "https://github.com/spatialdrop-edu/spatialdrop-edu"

__all__ = [
    "Dropout",
    "SpatialDropout1d",
    "SpatialDropout2d",
    "SpatialDropout3d",
    "coin_flips",
    "dropout",
    "get_device",
    "keep_mask",
    "layer_mask",
    "noise_shape",
    "numpy_dropout",
    "resolve_noise_shape",
    "seed_everything",
    "spatial_dropout",
    "spatial_noise_shape",
]
