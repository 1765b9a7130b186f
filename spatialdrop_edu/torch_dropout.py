"""Dropout and SpatialDropout1d/2d/3d for PyTorch, built on one function.

Everything here is one idea: sample a Bernoulli keep-mask of a (usually smaller) *noise shape*,
scale it by ``1 / (1 - p)``, and multiply. Plain dropout uses the input's own shape; spatial
dropout uses ``(N, C, 1, ...)`` (channels first) or ``(N, 1, ..., C)`` (channels last), so one
coin decides a whole feature map. The mask is never materialized at the input's full size:
broadcasting in the multiply does that for free, which is why these layers cost no more than
``torch.nn.functional.dropout2d``.
"""

from __future__ import annotations

import numbers

import torch
from torch import nn

from ._validation import check_data_format, check_probability
from .noise_shapes import resolve_noise_shape, spatial_noise_shape


def _check_input(input) -> None:
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"input must be a torch.Tensor, got {type(input).__name__}.")
    if not input.is_floating_point():
        raise TypeError(
            f"input must be a floating-point tensor (kept units are scaled by 1/(1-p)), got dtype {input.dtype}."
        )


def dropout(input: torch.Tensor, p: float = 0.5, training: bool = True, noise_shape=None) -> torch.Tensor:
    """Inverted dropout with an optional noise shape.

    In training, each coin of the noise shape keeps its units with probability ``1 - p`` and
    scales them by ``1 / (1 - p)``; the mask is broadcast to the input. Otherwise the input is
    returned unchanged.

    Args:
        input: a floating-point tensor on any device.
        p: probability of dropping a unit, in ``[0, 1]``. Default: 0.5.
        training: apply dropout if ``True``. Default: ``True``.
        noise_shape: shape of the sampled mask; each entry is the input's size along that axis,
            1 (the mask is shared along it) or ``None`` (taken from the input). ``None`` (the
            default) means one coin per unit, like :func:`torch.nn.functional.dropout`.

    Shape:
        - Input: any shape.
        - Output: the same shape as the input.

    Examples::

        >>> x = torch.ones(2, 3, 4)
        >>> y = dropout(x, 0.5, noise_shape=(None, None, 1))   # one coin per (sample, channel)
        >>> bool(((y == 0) | (y == 2)).all())
        True
    """
    p = check_probability(p)
    _check_input(input)
    shape = resolve_noise_shape(input.shape, noise_shape)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:  # every unit dropped: exact zeros (not 0 * x, which is NaN for infinite x)
        return input.masked_fill(torch.ones((), dtype=torch.bool, device=input.device), 0.0)
    noise = input.new_empty(shape).bernoulli_(1.0 - p).div_(1.0 - p)
    return input * noise


def spatial_dropout(
    input: torch.Tensor,
    p: float = 0.5,
    training: bool = True,
    spatial_dims: int = 2,
    data_format: str = "channels_first",
) -> torch.Tensor:
    """Spatial dropout: zero whole feature maps (channels) of each sample.

    Args:
        input: a floating-point tensor, see Shape.
        p: probability of dropping a channel, in ``[0, 1]``. Default: 0.5.
        training: apply dropout if ``True``. Default: ``True``.
        spatial_dims: 1, 2 or 3: the number of spatial axes. Default: 2.
        data_format: ``"channels_first"`` (PyTorch) or ``"channels_last"`` (Keras).

    Shape:
        See :class:`SpatialDropout1d`, :class:`SpatialDropout2d` and :class:`SpatialDropout3d`.

    Examples::

        >>> y = spatial_dropout(torch.ones(4, 8, 5, 5), 0.5)
        >>> bool((y == y[:, :, :1, :1]).all())   # constant over each feature map
        True
    """
    _check_input(input)
    return dropout(input, p, training, spatial_noise_shape(input.shape, spatial_dims, data_format))


class Dropout(nn.Module):
    r"""Inverted dropout with an optional noise shape (as ``keras.layers.Dropout``).

    During training, units are zeroed with probability ``p`` and the kept ones are scaled by
    :math:`\frac{1}{1-p}`, so the expected output equals the input. In evaluation mode
    (``module.eval()``) the layer is the identity.

    Args:
        p: probability of dropping a unit, in ``[0, 1]``. Default: 0.5.
        noise_shape: shape of the sampled mask, broadcast to the input's shape. Entries are a
            size, 1 (the mask is shared along that axis) or ``None`` (the input's size). ``None``
            (the default) flips one coin per unit.

    Shape:
        - Input: :math:`(*)`, any shape the noise shape broadcasts to.
        - Output: :math:`(*)`, the same shape as the input.

    Examples::

        >>> m = Dropout(p=0.2)
        >>> y = m(torch.randn(20, 16))
        >>> word = Dropout(p=0.1, noise_shape=(None, None, 1))   # drop whole tokens of (N, T, E)
        >>> y = word(torch.randn(8, 12, 32))
    """

    def __init__(self, p: float = 0.5, noise_shape=None):
        super().__init__()
        self.p = check_probability(p)
        if noise_shape is not None:
            noise_shape = tuple(noise_shape)
            for d in noise_shape:
                if d is not None and (isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1):
                    raise ValueError(f"noise_shape entries must be positive ints or None, got {noise_shape!r}.")
        self.noise_shape = noise_shape

    def noise_shape_for(self, input_shape) -> tuple[int, ...]:
        """The noise shape this layer samples for an input of shape ``input_shape``."""
        return resolve_noise_shape(input_shape, self.noise_shape)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        _check_input(input)
        return dropout(input, self.p, self.training, self.noise_shape_for(input.shape))

    def extra_repr(self) -> str:
        return f"p={self.p}" + ("" if self.noise_shape is None else f", noise_shape={self.noise_shape}")


class _SpatialDropout(Dropout):
    spatial_dims: int

    def __init__(self, p: float = 0.5, data_format: str = "channels_first"):
        super().__init__(p)
        self.data_format = check_data_format(data_format)

    def noise_shape_for(self, input_shape) -> tuple[int, ...]:
        return spatial_noise_shape(input_shape, self.spatial_dims, self.data_format)

    def extra_repr(self) -> str:
        return f"p={self.p}, data_format={self.data_format!r}"


class SpatialDropout1d(_SpatialDropout):
    r"""Zero whole channels of a sequence: SpatialDropout1D.

    Each channel of each sample is zeroed with probability ``p`` at *every* position of the
    sequence; kept channels are scaled by :math:`\frac{1}{1-p}`. In a text model with input
    ``(batch, timesteps, features)`` (``data_format="channels_last"``, as Keras) this drops
    feature channels across all timesteps, **not** whole words.

    Args:
        p: probability of dropping a channel, in ``[0, 1]``. Default: 0.5.
        data_format: ``"channels_first"`` (PyTorch, as ``torch.nn.Dropout1d``) or
            ``"channels_last"`` (Keras ``SpatialDropout1D``). Default: ``"channels_first"``.

    Shape:
        - Input: :math:`(N, C, L)` or :math:`(C, L)`; channels last: :math:`(N, L, C)` or :math:`(L, C)`.
        - Output: the same shape as the input.
        - Noise shape: :math:`(N, C, 1)`; channels last: :math:`(N, 1, C)`.

    Examples::

        >>> m = SpatialDropout1d(p=0.2)
        >>> y = m(torch.randn(20, 16, 32))
        >>> text = SpatialDropout1d(p=0.2, data_format="channels_last")
        >>> y = text(torch.randn(8, 50, 300))    # (batch, timesteps, features)
    """

    spatial_dims = 1


class SpatialDropout2d(_SpatialDropout):
    r"""Zero whole feature maps of an image batch: SpatialDropout2D (Tompson et al. 2015).

    Each channel of each sample is zeroed with probability ``p`` at every pixel; kept channels
    are scaled by :math:`\frac{1}{1-p}`. Unlike ``torch.nn.Dropout2d``, a 3-D input is refused
    rather than silently read as :math:`(N, C, L)`.

    Args:
        p: probability of dropping a channel, in ``[0, 1]``. Default: 0.5.
        data_format: ``"channels_first"`` (PyTorch, as ``torch.nn.Dropout2d``) or
            ``"channels_last"`` (Keras ``SpatialDropout2D``). Default: ``"channels_first"``.

    Shape:
        - Input: :math:`(N, C, H, W)`; channels last: :math:`(N, H, W, C)`.
        - Output: the same shape as the input.
        - Noise shape: :math:`(N, C, 1, 1)`; channels last: :math:`(N, 1, 1, C)`.

    Examples::

        >>> m = SpatialDropout2d(p=0.2)
        >>> y = m(torch.randn(20, 16, 32, 32))
        >>> y = m(torch.randn(3, 32, 32).unsqueeze(0)).squeeze(0)   # one unbatched image
    """

    spatial_dims = 2


class SpatialDropout3d(_SpatialDropout):
    r"""Zero whole 3-D feature maps of a volume batch: SpatialDropout3D.

    Each channel of each sample is zeroed with probability ``p`` at every voxel; kept channels
    are scaled by :math:`\frac{1}{1-p}`.

    Args:
        p: probability of dropping a channel, in ``[0, 1]``. Default: 0.5.
        data_format: ``"channels_first"`` (PyTorch, as ``torch.nn.Dropout3d``) or
            ``"channels_last"`` (Keras ``SpatialDropout3D``). Default: ``"channels_first"``.

    Shape:
        - Input: :math:`(N, C, D, H, W)` or :math:`(C, D, H, W)`; channels last:
          :math:`(N, D, H, W, C)` or :math:`(D, H, W, C)`.
        - Output: the same shape as the input.
        - Noise shape: :math:`(N, C, 1, 1, 1)`; channels last: :math:`(N, 1, 1, 1, C)`.

    Examples::

        >>> m = SpatialDropout3d(p=0.2)
        >>> y = m(torch.randn(4, 8, 6, 16, 16))
    """

    spatial_dims = 3
