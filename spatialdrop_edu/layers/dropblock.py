r"""DropBlock for 1-D and 2-D data: drop contiguous blocks instead of single units or whole maps.

DropBlock (Ghiasi, Lin and Le, 2018) sits between the two layers of chapters 1 to 4. It samples
*seeds* with a small probability :math:`\gamma`, only where a whole block fits inside the feature
map (the paper's Algorithm 1), grows every seed into a ``block_size`` × ``block_size`` square of
zeros with a max-pooling, and rescales what is left by the kept fraction
``count(M) / count_ones(M)`` (the normalisation that ends Algorithm 1). The seed rate is chosen
so that, if blocks never overlapped, a fraction ``p`` of the units would be dropped:

.. math::

    \gamma = \frac{p}{\text{block\_size}^2}\,\frac{\text{feat\_size}^2}{(\text{feat\_size} - \text{block\_size} + 1)^2},

generalised here to an ``H`` × ``W`` map as a product over the spatial axes,
:math:`\gamma = p \prod_d \frac{s_d}{b_d (s_d - b_d + 1)}` with :math:`b_d = \min(\text{block\_size}, s_d)`
(1-D data has one factor). Two limits make it the bridge between the other layers:

* ``block_size=1``: :math:`\gamma = p`, every unit is a possible seed and a block is one unit:
  element dropout (scaled by the kept fraction instead of ``1/(1-p)``);
* a block as large as the map (a larger ``block_size`` is clamped to the map's size): one valid
  seed per map, :math:`\gamma = p`: SpatialDropout.

Blocks overlap, so the realised drop rate is a little *below* ``p``;
:func:`expected_drop_fraction` gives it exactly, and :func:`keep_probability` shows that units near
the border are dropped less often than units in the middle.

**Corners, not centres.** Google's reference implementation (``dropblock`` in
``models/official/resnet/resnet_model.py`` of ``tensorflow/tpu``) draws its seeds on the valid
*centres*: positions at least ``block_size // 2`` from the top and left border and
``(block_size - 1) // 2`` from the bottom and right, ``(s - b + 1)`` of them per axis; it grows
each into the block around it with a min-pooling of ``'SAME'`` padding. This module draws its
seeds on the valid *top-left corners* and grows each into the block below and to the right of it.
The two are equal in distribution: both draw independent Bernoulli(:math:`\gamma`) seeds, one for
each of the ``(H - b + 1)(W - b + 1)`` blocks that fit inside the map, and a seed drops exactly
its block (the block centred on ``c`` is the block whose top-left corner is ``c - b // 2``; with
an even ``b``, ``'SAME'`` padding puts ``b // 2`` units before the seed and ``b // 2 - 1`` after
it, and the correspondence still holds). The rest is the same too: one mask per sample and
channel, and the rescaling by the kept fraction of the whole tensor. What differs is bookkeeping:
Google's code takes square maps only and draws its seeds as ``uniform < gamma`` in float32; this
module takes any ``H`` × ``W`` and clamps the block per axis.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._validation import (
    check_batched_rank,
    check_block_size,
    check_data_format,
    check_generator,
    check_inplace,
    check_input,
    check_non_negative_int,
    check_positive_int,
    check_probability,
    check_shape,
    check_spatial_dims,
)
from .dropout import DropLayer, apply_noise, building_graph

__all__ = [
    "DropBlock1d",
    "DropBlock2d",
    "block_gamma",
    "drop_block",
    "expected_drop_fraction",
    "keep_probability",
    "linear_drop_schedule",
    "rate_for_drop_fraction",
    "set_drop_rate",
]

_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


def _gamma(p: float, block_size: int, size) -> float:
    """The seed rate on arguments already checked (also used while a graph is recorded)."""
    gamma = p
    for s in size:
        b = min(block_size, s)
        gamma = gamma * s / (b * (s - b + 1))
    return gamma


def block_gamma(p: float, block_size: int, size) -> float:
    r"""The seed probability :math:`\gamma` of DropBlock on a map of spatial size ``size``.

    :math:`\gamma = p \prod_d \frac{s_d}{b_d (s_d - b_d + 1)}` with :math:`b_d = \min(\text{block\_size}, s_d)`:
    the paper's formula for a square map, one factor per spatial axis. It never exceeds ``p``.

    Args:
        p: the target drop probability, ``1 - keep_prob``, in ``[0, 1]``.
        block_size: the side of a block, a positive int.
        size: the spatial sizes, e.g. ``(H, W)`` or ``(L,)``.

    Returns:
        :math:`\gamma` as a float.

    Examples::

        >>> round(block_gamma(0.1, 7, (14, 14)), 6)   # paper: 0.1 / 49 * 196 / 64
        0.00625
        >>> # blocks of one pixel: element dropout; of the whole map: SpatialDropout
        >>> block_gamma(0.3, 1, (8, 8)), block_gamma(0.3, 8, (8, 8))
        (0.3, 0.3)
    """
    size = check_shape(size, "size")
    if not size or 0 in size:
        raise ValueError(f"size must be a non-empty sequence of positive ints (the spatial sizes), got {size!r}.")
    return _gamma(check_probability(p), check_block_size(block_size), size)


def keep_probability(p: float, block_size: int, size) -> np.ndarray:
    r"""The exact probability that DropBlock keeps each position of a map (before rescaling).

    A unit is dropped when any of the valid seeds whose block covers it is drawn. With
    :math:`c_i` such seeds, each drawn independently with probability :math:`\gamma`, the unit is
    kept with probability :math:`(1 - \gamma)^{c_i}`. Units in the middle are covered by up to
    :math:`\text{block\_size}^2` seeds, units in a corner by one: the middle is dropped more often.

    Args:
        p: the drop probability ``p`` of the layer, in ``[0, 1]``.
        block_size: the side of a block.
        size: the spatial sizes, e.g. ``(H, W)``.

    Returns:
        An array of shape ``size`` with values in ``[0, 1]``; with ``p = 1``, all zeros (the
        layers return exact zeros then).

    Examples::

        >>> keep_probability(0.5, 1, (2, 2))
        array([[0.5, 0.5],
               [0.5, 0.5]])
        >>> k = keep_probability(0.1, 3, (5, 5))
        >>> bool(k[0, 0] > k[2, 2])  # the corner is covered by 1 seed, the centre by 9
        True
    """
    gamma = block_gamma(p, block_size, size)
    if p == 1.0:
        return np.zeros(size)
    covers = np.ones((), dtype=np.int64)
    for s in size:
        b = min(block_size, s)
        i = np.arange(s)
        per_axis = np.minimum(i, s - b) - np.maximum(0, i - b + 1) + 1  # valid starts j with j <= i < j + b
        covers = np.multiply.outer(covers, per_axis)
    return (1.0 - gamma) ** covers


def expected_drop_fraction(p: float, block_size: int, size) -> float:
    r"""The exact expected fraction of units DropBlock drops on a map of size ``size``.

    It is :math:`1 - \overline{(1-\gamma)^{c_i}}`, the mean of :func:`keep_probability` taken from
    1. The paper's :math:`\gamma` assumes blocks never overlap, which would make this ``p``
    exactly; overlaps make it smaller, never larger.

    Examples::

        >>> element = expected_drop_fraction(0.3, 1, (6, 6))
        >>> whole_map = expected_drop_fraction(0.3, 6, (6, 6))
        >>> round(element, 12), round(whole_map, 12)
        (0.3, 0.3)
        >>> # a little below p = 0.1
        >>> round(expected_drop_fraction(0.1, 7, (14, 14)), 4)
        0.0929
    """
    return float(1.0 - keep_probability(p, block_size, size).mean())


def rate_for_drop_fraction(fraction: float, block_size: int, size) -> float:
    r"""The ``p`` at which DropBlock drops, in expectation, exactly ``fraction`` of a map's units.

    DropBlock's ``p`` is not the fraction it drops: overlapping blocks make
    :func:`expected_drop_fraction` smaller than ``p`` (0.259 for ``p = 0.3`` with blocks of 3 on a
    16 × 16 map, 0.270 on a 1-D map of 16). To compare DropBlock with element or spatial dropout
    at the same share of units dropped, give it this ``p``. The fraction grows with ``p``, so a
    bisection finds it, to about ``1e-9``.

    Args:
        fraction: the expected fraction of units to drop, in ``[0, 1]``. Below ``p = 1``, which
            drops everything, DropBlock's fraction stops short of 1 (about 0.63 with blocks of 3 on
            16 × 16 maps: :math:`\gamma` never exceeds ``p``); a fraction beyond that raises
            ``ValueError``.
        block_size: the side of a block.
        size: the spatial sizes of the map, e.g. ``(H, W)``.

    Examples::

        >>> p = rate_for_drop_fraction(0.3, 3, (16, 16))
        >>> round(p, 4), round(expected_drop_fraction(p, 3, (16, 16)), 6)
        (0.3572, 0.3)
        >>> rate_for_drop_fraction(0.3, 1, (8, 8))   # blocks of one unit: p itself
        0.3
    """
    fraction = check_probability(fraction, "fraction")
    block_size = check_block_size(block_size)
    if fraction in (0.0, 1.0):
        return fraction
    most = expected_drop_fraction(math.nextafter(1.0, 0.0), block_size, size)
    if fraction > most:
        raise ValueError(
            f"fraction must be at most {most:.4f}, the most DropBlock drops with p < 1 on a map of size "
            f"{tuple(size)} with blocks of {block_size} (p = 1 drops everything), got {fraction!r}."
        )
    low, high = 0.0, 1.0
    while high - low > 1e-10:
        mid = (low + high) / 2
        if expected_drop_fraction(mid, block_size, size) < fraction:
            low = mid
        else:
            high = mid
    return round(high, 9)


def _block_keep_mask(
    input: torch.Tensor, p: float, block_size: int, spatial_dims: int, data_format: str, generator
) -> torch.Tensor:
    """The rescaled keep-mask of DropBlock for ``input``, channels first or last as the input."""
    shape = tuple(input.shape)
    if torch.jit.is_tracing():  # traced sizes are tensors (gamma would become one); a trace records one shape
        shape = tuple(int(s) for s in shape)
    if data_format == "channels_last":
        shape = (shape[0], shape[-1]) + shape[1:-1]
    size = shape[2:]
    blocks = [min(block_size, s) for s in size]
    gamma = _gamma(p, block_size, size)
    # 1. seeds, only where a whole block fits (Algorithm 1: the valid region), at the blocks' top-left corners
    seeds = input.new_empty(shape[:2] + tuple(s - b + 1 for s, b in zip(size, blocks)))
    seeds = seeds.bernoulli_(gamma) if generator is None else seeds.bernoulli_(gamma, generator=generator)
    # 2. every seed becomes a block: pad by b - 1 and take the max over each b-window
    padding = [b - 1 for b in reversed(blocks) for _ in range(2)]
    dropped = _MAX_POOL[spatial_dims](F.pad(seeds, padding), kernel_size=blocks, stride=1)
    keep = 1.0 - dropped
    # 3. rescale by the kept fraction, count(M) / count_ones(M) (Algorithm 1's normalisation)
    keep = keep * (keep.numel() / keep.sum().clamp_min(1.0))
    return keep.movedim(1, -1) if data_format == "channels_last" else keep


def _drop_block(
    input, p: float, block_size: int, training: bool, inplace: bool, spatial_dims: int, data_format: str, generator=None
) -> torch.Tensor:
    """DropBlock on arguments already checked: the one computation of the layers and :func:`drop_block`."""
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:  # every unit dropped: exact zeros, NaN-free and in the input's memory format, as every layer here
        return apply_noise(input, 1.0, True, inplace, input.shape)
    keep = _block_keep_mask(input, p, block_size, spatial_dims, data_format, generator)
    return input.mul_(keep) if inplace else input * keep


def drop_block(
    input: torch.Tensor,
    p: float = 0.1,
    block_size: int = 7,
    training: bool = True,
    inplace: bool = False,
    *,
    spatial_dims: int = 2,
    data_format: str = "channels_first",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """DropBlock: zero random ``block_size``-wide blocks of each feature map, rescale the rest.

    Args:
        input: a floating-point tensor of rank ``spatial_dims + 2``, see Shape.
        p: the drop probability (``1 - keep_prob`` in the paper), in ``[0, 1]``. ``p = 1``
            returns exact zeros. Default: 0.1.
        block_size: the side of a block, a positive int; clamped to each spatial size, so a
            block at least as large as the map drops whole maps (SpatialDropout). Default: 7.
        training: apply DropBlock if ``True``; otherwise return the input. Default: ``True``.
        inplace: multiply ``input`` in place. Default: ``False``.
        spatial_dims: 1 (sequences) or 2 (images). Default: 2.
        data_format: ``"channels_first"`` (PyTorch) or ``"channels_last"`` (Keras).
        generator: the ``torch.Generator`` to draw the seeds from; default: PyTorch's global one.

    Shape:
        - Input: :math:`(N, C, H, W)` (or :math:`(N, C, L)` with ``spatial_dims=1``); channels last:
          :math:`(N, H, W, C)` (or :math:`(N, L, C)`).
        - Output: the same shape as the input.

    Examples::

        >>> g = torch.Generator().manual_seed(0)
        >>> y = drop_block(torch.ones(8, 4, 12, 12), p=0.2, block_size=3, generator=g)
        >>> # rescaled by the kept fraction: the mean of ones stays 1
        >>> round(float(y.mean()), 4)
        1.0
        >>> y = drop_block(torch.ones(2, 3, 5, 5), 0.5, block_size=5)
        >>> zero = y.flatten(2) == 0
        >>> # a block as large as the map: whole maps
        >>> bool((zero.all(2) == zero.any(2)).all())
        True
    """
    check_input(input)
    spatial_dims = check_spatial_dims(spatial_dims, (1, 2))
    data_format = check_data_format(data_format)
    check_batched_rank(input, spatial_dims, data_format, "drop_block")
    return _drop_block(
        input,
        check_probability(p),
        check_block_size(block_size),
        training,
        check_inplace(inplace),
        spatial_dims,
        data_format,
        check_generator(generator),
    )


class _DropBlock(DropLayer):
    spatial_dims: int

    def __init__(
        self, p: float = 0.1, block_size: int = 7, inplace: bool = False, *, data_format: str = "channels_first"
    ):
        super().__init__(p, inplace)
        self.block_size = check_block_size(block_size)
        self.data_format = check_data_format(data_format)

    def forward(self, input: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        if not building_graph():
            check_input(input)
            check_batched_rank(input, self.spatial_dims, self.data_format, type(self).__name__)
            check_generator(generator)
        return _drop_block(
            input, self.p, self.block_size, self.training, self.inplace, self.spatial_dims, self.data_format, generator
        )

    def extra_repr(self) -> str:
        extra = ", inplace=True" if self.inplace else ""
        return f"p={self.p}, block_size={self.block_size}{extra}, data_format={self.data_format!r}"


class DropBlock1d(_DropBlock):
    r"""DropBlock for sequences: zero random runs of ``block_size`` consecutive positions per channel.

    The 1-D case of :class:`DropBlock2d`: seeds are drawn with
    :math:`\gamma = p \frac{L}{b (L - b + 1)}`, :math:`b = \min(\text{block\_size}, L)`, only where
    a whole run fits, and each seed zeroes ``b`` consecutive positions of its channel.

    Args:
        p: drop probability (``1 - keep_prob``), in ``[0, 1]``. Default: 0.1.
        block_size: length of a dropped run; clamped to ``L``. Default: 7.
        inplace: multiply the input in place. Default: ``False``.
        data_format: keyword-only; ``"channels_first"`` or ``"channels_last"``. Default: ``"channels_first"``.

    Shape:
        - Input: :math:`(N, C, L)`; channels last: :math:`(N, L, C)`.
        - Output: the same shape as the input.

    Examples::

        >>> m = DropBlock1d(p=0.2, block_size=5)
        >>> y = m(torch.randn(8, 16, 100))
        >>> text = DropBlock1d(p=0.2, block_size=3, data_format="channels_last")
        >>> y = text(torch.randn(8, 50, 32))    # (batch, timesteps, features)
    """

    spatial_dims = 1


class DropBlock2d(_DropBlock):
    r"""DropBlock (Ghiasi, Lin and Le, 2018): zero random ``block_size`` × ``block_size`` squares.

    In training, seeds are drawn independently for every sample and channel with the paper's
    :math:`\gamma` (see :func:`block_gamma`), only where a whole block fits inside the map; each
    seed zeroes the block whose top-left corner it is (a max-pooling), and the output is rescaled
    by ``count(M) / count_ones(M)`` over the whole tensor. In evaluation mode, or with ``p = 0``,
    the layer is the identity; ``p = 1`` gives exact zeros. ``block_size=1`` is element dropout;
    a ``block_size`` at least the map's size is clamped to it, which is SpatialDropout2d.

    Args:
        p: drop probability (``1 - keep_prob``), in ``[0, 1]``. Default: 0.1.
        block_size: side of a dropped block; clamped to ``H`` and ``W``. Default: 7.
        inplace: multiply the input in place. Default: ``False``.
        data_format: keyword-only; ``"channels_first"`` (PyTorch) or ``"channels_last"`` (Keras).
            Default: ``"channels_first"``.

    Shape:
        - Input: :math:`(N, C, H, W)`; channels last: :math:`(N, H, W, C)`.
        - Output: the same shape as the input.

    Examples::

        >>> m = DropBlock2d(p=0.1, block_size=3)
        >>> y = m(torch.randn(4, 8, 14, 14))
        >>> m.p = 0.2          # a schedule sets p between steps; it is checked here
        >>> m
        DropBlock2d(p=0.2, block_size=3, data_format='channels_first')
    """

    spatial_dims = 2


def linear_drop_schedule(step: int, total_steps: int, final_p: float) -> float:
    """The paper's schedule: ``keep_prob`` falls linearly from 1 to ``1 - final_p``, so ``p`` rises from 0.

    Args:
        step: the current training step (0 or more); steps past ``total_steps`` keep ``final_p``.
        total_steps: the number of steps the ramp takes, a positive int.
        final_p: the drop probability reached at the end of the ramp, in ``[0, 1]``.

    Returns:
        ``final_p * min(step / total_steps, 1)``.

    Examples::

        >>> [linear_drop_schedule(s, 4, 0.2) for s in range(6)]
        [0.0, 0.05, 0.1, 0.15000000000000002, 0.2, 0.2]
    """
    step = check_non_negative_int(step, "step", "the current training step")
    total_steps = check_positive_int(total_steps, "total_steps", "the length of the ramp, in steps")
    return check_probability(final_p, "final_p") * min(step / total_steps, 1.0)


def set_drop_rate(model: nn.Module, p: float) -> int:
    """Set ``p`` on every DropBlock layer of ``model`` (call it each step with :func:`linear_drop_schedule`).

    Args:
        model: any ``torch.nn.Module``.
        p: the new drop probability, in ``[0, 1]``.

    Returns:
        The number of DropBlock layers that were set.

    Examples::

        >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), DropBlock2d(0.0, 3), nn.ReLU(),
        ...                       DropBlock2d(0.0, 3))
        >>> for step in range(100):
        ...     n = set_drop_rate(model, linear_drop_schedule(step, 50, 0.1))
        >>> n, model[1].p
        (2, 0.1)
    """
    p = check_probability(p)
    layers = [m for m in model.modules() if isinstance(m, _DropBlock)]
    for layer in layers:
        layer.p = p
    return len(layers)
