"""The library: dropout layers for real models, small enough to read in one sitting.

Read it in this order:

1. :mod:`~spatialdrop_edu.layers.noise_shapes`: which units share one coin flip.
2. :mod:`~spatialdrop_edu.layers.numpy_reference`: dropout in NumPy, both scaling conventions.
3. :mod:`~spatialdrop_edu.layers.dropout`: ``Dropout`` and ``SpatialDropout1d/2d/3d`` for
   PyTorch, all one call of ``apply_noise`` fed a per-layer noise shape.
4. :mod:`~spatialdrop_edu.layers.dropblock`: ``DropBlock1d/2d``, blocks between a unit and a whole map.
"""

from .dropblock import DropBlock1d, DropBlock2d, drop_block, linear_drop_schedule, set_drop_rate
from .dropout import Dropout, SpatialDropout1d, SpatialDropout2d, SpatialDropout3d, dropout, spatial_dropout
from .noise_shapes import coin_flips, noise_shape, resolve_noise_shape, spatial_noise_shape
from .numpy_reference import keep_mask, numpy_dropout

__all__ = [
    "DropBlock1d",
    "DropBlock2d",
    "Dropout",
    "SpatialDropout1d",
    "SpatialDropout2d",
    "SpatialDropout3d",
    "coin_flips",
    "drop_block",
    "dropout",
    "keep_mask",
    "linear_drop_schedule",
    "noise_shape",
    "numpy_dropout",
    "resolve_noise_shape",
    "set_drop_rate",
    "spatial_dropout",
    "spatial_noise_shape",
]
