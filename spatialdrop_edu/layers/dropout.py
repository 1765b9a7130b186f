"""Dropout and SpatialDropout1d/2d/3d for PyTorch, built on one function.

Everything here is one idea: sample a Bernoulli keep-mask of a (usually smaller) *noise shape*,
scale it by ``1 / (1 - p)``, and multiply (:func:`apply_noise`). Plain dropout uses the input's own
shape; spatial dropout uses ``(N, C, 1, ...)`` (channels first) or ``(N, 1, ..., C)`` (channels
last), so one coin decides a whole feature map. The mask is never materialized at the input's
full size: broadcasting in the multiply does that for free, which is why these layers cost no
more than ``torch.nn.functional.dropout2d``.

Drop-in for PyTorch users: the layers take ``(p, inplace=False)`` by position, as
``torch.nn.Dropout2d`` does; ``data_format`` (this package's addition, for Keras' channels-last
layout) and ``noise_shape`` are keyword-only, so ``SpatialDropout2d(0.5, True)`` means in place,
as in PyTorch, and ``SpatialDropout2d(0.5, "channels_last")`` is refused with a hint. Arguments
are checked once, when a layer is built (and whenever ``p`` is set), so ``forward`` holds nothing
but tensor operations: the layers work under ``torch.jit.trace``, ``torch.compile`` (also with
``fullgraph=True`` and dynamic shapes), ``torch.export`` and ONNX export.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import (
    check_data_format,
    check_generator,
    check_inplace,
    check_input,
    check_noise_shape,
    check_probability,
    check_spatial_dims,
)
from .noise_shapes import resolve_noise_shape, spatial_noise_shape_unchecked


def building_graph() -> bool:
    """True while ``torch.compile``, ``torch.export`` or ``torch.jit.trace`` records the call.

    Arguments are then not re-checked: they were checked when the layer was built, and sizes are
    symbolic. Eager calls are checked every time, so a wrong input gets a clear message.
    """
    return torch.compiler.is_compiling() or torch.jit.is_tracing()


def apply_noise(input, p: float, training: bool, inplace: bool, noise_shape, generator=None) -> torch.Tensor:
    """The one computation of every layer here, on arguments already checked.

    Sample ``noise_shape`` coins that keep with probability ``1 - p``, scale them by ``1/(1-p)``
    and multiply; broadcasting spreads each coin over the axes where the noise shape is 1. This
    is, operation for operation, what ``torch.nn.functional.dropout1d/2d/3d`` do, so under one
    seed the masks are the same bit for bit on the CPU.
    """
    if not training or p == 0.0:
        return input
    if p == 1.0:  # every unit dropped: exact zeros (0 * inf would be NaN), memory format kept
        if inplace:
            return input.zero_()
        return torch.where(torch.ones((), dtype=torch.bool, device=input.device), 0.0, input)
    noise = input.new_empty(noise_shape)
    noise = noise.bernoulli_(1.0 - p) if generator is None else noise.bernoulli_(1.0 - p, generator=generator)
    noise.div_(1.0 - p)
    return input.mul_(noise) if inplace else input * noise


def dropout(
    input: torch.Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    noise_shape=None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Inverted dropout with an optional noise shape.

    In training, each coin of the noise shape keeps its units with probability ``1 - p`` and
    scales them by ``1 / (1 - p)``; the mask is broadcast to the input. Otherwise the input is
    returned unchanged. The signature is that of :func:`torch.nn.functional.dropout`, plus the
    keyword-only ``noise_shape`` of ``keras.layers.Dropout`` and a ``generator``.

    Args:
        input: a floating-point tensor on any device.
        p: probability of dropping a unit, in ``[0, 1]`` (a float or a 0-d tensor). Default: 0.5.
        training: apply dropout if ``True``. Default: ``True``.
        inplace: multiply ``input`` in place. Default: ``False``.
        noise_shape: shape of the sampled mask; each entry is the input's size along that axis,
            1 (the mask is shared along it) or ``None`` (taken from the input). ``None`` (the
            default) means one coin per unit, like :func:`torch.nn.functional.dropout`.
        generator: the ``torch.Generator`` to draw the mask from; default: PyTorch's global one.

    Shape:
        - Input: any shape.
        - Output: the same shape as the input.

    Examples::

        >>> x = torch.ones(2, 3, 4)
        >>> # one coin per (sample, channel)
        >>> y = dropout(x, 0.5, noise_shape=(None, None, 1))
        >>> bool(((y == 0) | (y == 2)).all())
        True
        >>> a = dropout(x, 0.5, generator=torch.Generator().manual_seed(0))
        >>> b = dropout(x, 0.5, generator=torch.Generator().manual_seed(0))
        >>> bool((a == b).all())
        True
    """
    p = check_probability(p)
    check_inplace(inplace)
    check_generator(generator)
    check_input(input)
    shape = resolve_noise_shape(input.shape, check_noise_shape(noise_shape))
    return apply_noise(input, p, training, inplace, shape, generator)


def spatial_dropout(
    input: torch.Tensor,
    p: float = 0.5,
    training: bool = True,
    spatial_dims: int = 2,
    data_format: str = "channels_first",
    *,
    inplace: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Spatial dropout: zero whole feature maps (channels) of each sample.

    Args:
        input: a floating-point tensor, see Shape.
        p: probability of dropping a channel, in ``[0, 1]``. Default: 0.5.
        training: apply dropout if ``True``. Default: ``True``.
        spatial_dims: 1, 2 or 3: the number of spatial axes. Default: 2.
        data_format: ``"channels_first"`` (PyTorch) or ``"channels_last"`` (Keras).
        inplace: multiply ``input`` in place. Default: ``False``.
        generator: the ``torch.Generator`` to draw the mask from; default: PyTorch's global one.

    Shape:
        See :class:`SpatialDropout1d`, :class:`SpatialDropout2d` and :class:`SpatialDropout3d`.

    Examples::

        >>> y = spatial_dropout(torch.ones(4, 8, 5, 5), 0.5)
        >>> bool((y == y[:, :, :1, :1]).all())   # constant over each feature map
        True
    """
    check_input(input)
    spatial_dims = check_spatial_dims(spatial_dims)
    shape = spatial_noise_shape_unchecked(input.shape, spatial_dims, check_data_format(data_format))
    return apply_noise(input, check_probability(p), training, check_inplace(inplace), shape, check_generator(generator))


class DropLayer(nn.Module):
    """What every layer of the package shares: ``p``, checked whenever it is set (so ``forward`` never
    checks it again, and a schedule that sets it is checked too), and PyTorch's ``inplace`` flag.

    Every layer's ``forward(input, *, generator=None)`` draws its coins from ``generator`` when one
    is given (as the functional :func:`dropout` does), else from PyTorch's global generator.
    """

    def __init__(self, p: float, inplace: bool = False):
        super().__init__()
        self.p = p
        self.inplace = check_inplace(inplace)

    @property
    def p(self) -> float:
        """The drop probability, in ``[0, 1]``."""
        return self._p

    @p.setter
    def p(self, value) -> None:
        self._p = check_probability(value)


class Dropout(DropLayer):
    r"""Inverted dropout with an optional noise shape (as ``keras.layers.Dropout``).

    During training, units are zeroed with probability ``p`` and the kept ones are scaled by
    :math:`\frac{1}{1-p}`, so the expected output equals the input. In evaluation mode
    (``module.eval()``) the layer is the identity.

    Args:
        p: probability of dropping a unit, in ``[0, 1]``. Default: 0.5.
        inplace: multiply the input in place, as ``torch.nn.Dropout(p, inplace=True)``. Default: ``False``.
        noise_shape: shape of the sampled mask, broadcast to the input's shape. Entries are a
            size, 1 (the mask is shared along that axis) or ``None`` (the input's size). ``None``
            (the default) flips one coin per unit.

    Shape:
        - Input: :math:`(*)`, any shape the noise shape broadcasts to.
        - Output: :math:`(*)`, the same shape as the input.

    Examples::

        >>> m = Dropout(p=0.2)
        >>> y = m(torch.randn(20, 16))
        >>> # drop whole tokens of (N, T, E)
        >>> word = Dropout(p=0.1, noise_shape=(None, None, 1))
        >>> y = word(torch.randn(8, 12, 32))
        >>> # coins of a generator
        >>> a = m(torch.ones(4, 4), generator=torch.Generator().manual_seed(0))
        >>> b = m(torch.ones(4, 4), generator=torch.Generator().manual_seed(0))
        >>> torch.equal(a, b)
        True
    """

    def __init__(self, p: float = 0.5, inplace: bool = False, *, noise_shape=None):
        super().__init__(p, inplace)
        self.noise_shape = check_noise_shape(noise_shape)

    def noise_shape_for(self, input_shape) -> tuple:
        """The noise shape this layer samples for an input of shape ``input_shape``."""
        if self.noise_shape is None:
            return tuple(input_shape)
        if building_graph():  # sizes may be symbolic; the noise shape was checked at construction
            offset = len(input_shape) - len(self.noise_shape)
            return (1,) * offset + tuple(s if w is None else w for w, s in zip(self.noise_shape, input_shape[offset:]))
        return resolve_noise_shape(input_shape, self.noise_shape)

    def forward(self, input: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        if not building_graph():
            check_input(input)
            check_generator(generator)
        return apply_noise(input, self.p, self.training, self.inplace, self.noise_shape_for(input.shape), generator)

    def extra_repr(self) -> str:
        extra = ", inplace=True" if self.inplace else ""
        return f"p={self.p}{extra}" + ("" if self.noise_shape is None else f", noise_shape={self.noise_shape}")


class _SpatialDropout(Dropout):
    """One coin per sample and channel: a :class:`Dropout` whose noise shape follows the layout."""

    spatial_dims: int

    def __init__(self, p: float = 0.5, inplace: bool = False, *, data_format: str = "channels_first"):
        super().__init__(p, inplace)
        self.data_format = check_data_format(data_format)

    def noise_shape_for(self, input_shape) -> tuple:
        return spatial_noise_shape_unchecked(input_shape, self.spatial_dims, self.data_format)

    def extra_repr(self) -> str:
        extra = ", inplace=True" if self.inplace else ""
        return f"p={self.p}{extra}, data_format={self.data_format!r}"


class SpatialDropout1d(_SpatialDropout):
    r"""Zero whole channels of a sequence: SpatialDropout1D.

    Each channel of each sample is zeroed with probability ``p`` at every position of the sequence; kept channels
    are scaled by :math:`\frac{1}{1-p}`, so the expected output equals the input. In evaluation mode
    (``module.eval()``) the layer is the identity. In a text model with input ``(batch, timesteps, features)``
    (``data_format="channels_last"``, as Keras) this drops feature channels across all timesteps,
    **not** whole words.

    Args:
        p: probability of dropping a channel, in ``[0, 1]``. Default: 0.5.
        inplace: multiply the input in place (the second argument, as in PyTorch). Default: ``False``.
        data_format: keyword-only; ``"channels_first"`` (PyTorch, as ``torch.nn.Dropout1d``) or
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
    are scaled by :math:`\frac{1}{1-p}`, so the expected output equals the input. In evaluation mode
    (``module.eval()``) the layer is the identity. Unlike ``torch.nn.Dropout2d``, a rank-3 input is
    refused rather than silently read as :math:`(N, C, L)`.

    Args:
        p: probability of dropping a channel, in ``[0, 1]``. Default: 0.5.
        inplace: multiply the input in place (the second argument, as in PyTorch). Default: ``False``.
        data_format: keyword-only; ``"channels_first"`` (PyTorch, as ``torch.nn.Dropout2d``) or
            ``"channels_last"`` (Keras ``SpatialDropout2D``). Default: ``"channels_first"``.

    Shape:
        - Input: :math:`(N, C, H, W)`; channels last: :math:`(N, H, W, C)`.
        - Output: the same shape as the input.
        - Noise shape: :math:`(N, C, 1, 1)`; channels last: :math:`(N, 1, 1, C)`.

    Examples::

        >>> m = SpatialDropout2d(p=0.2)
        >>> y = m(torch.randn(20, 16, 32, 32))
        >>> image = torch.randn(3, 32, 32)  # one unbatched image
        >>> y = m(image.unsqueeze(0)).squeeze(0)
    """

    spatial_dims = 2


class SpatialDropout3d(_SpatialDropout):
    r"""Zero whole 3-D feature maps of a volume batch: SpatialDropout3D.

    Each channel of each sample is zeroed with probability ``p`` at every voxel; kept channels
    are scaled by :math:`\frac{1}{1-p}`, so the expected output equals the input. In evaluation mode
    (``module.eval()``) the layer is the identity.

    Args:
        p: probability of dropping a channel, in ``[0, 1]``. Default: 0.5.
        inplace: multiply the input in place (the second argument, as in PyTorch). Default: ``False``.
        data_format: keyword-only; ``"channels_first"`` (PyTorch, as ``torch.nn.Dropout3d``) or
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
