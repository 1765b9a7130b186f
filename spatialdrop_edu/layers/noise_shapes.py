"""Noise shapes: which units of a tensor share one coin flip.

Dropout multiplies its input by a random mask. The *noise shape* is the shape of the mask that
is actually sampled; it is then broadcast to the input's shape. Every axis of size 1 in the noise
shape is an axis along which the mask is constant:

============================  ====================  =======================
layer                         PyTorch layout         Keras layout
============================  ====================  =======================
Dropout (any rank)            same as input          same as input
SpatialDropout1D              ``(N, C, 1)``          ``(N, 1, C)``
SpatialDropout2D              ``(N, C, 1, 1)``       ``(N, 1, 1, C)``
SpatialDropout3D              ``(N, C, 1, 1, 1)``    ``(N, 1, 1, 1, C)``
============================  ====================  =======================

This is how Keras implements its whole spatial-dropout family: one dropout call, fed a
per-layer noise shape.
"""

from __future__ import annotations

import numbers

from .._validation import check_choice, check_data_format, check_shape, check_spatial_dims

#: The kinds of dropout :func:`noise_shape` knows: one coin per unit, or one per sample and channel.
KINDS = ("element", "spatial")


def noise_shape(input_shape, kind: str = "spatial", data_format: str = "channels_first") -> tuple[int, ...]:
    """Return the noise shape of element-wise or spatial dropout for a batched input.

    Args:
        input_shape: shape of the input, batch axis first: ``(N, C, *spatial)`` for
            ``"channels_first"`` or ``(N, *spatial, C)`` for ``"channels_last"``.
        kind: ``"element"`` (plain dropout: one coin flip per unit) or ``"spatial"`` (one coin flip
            per sample and channel, shared by all spatial positions).
        data_format: ``"channels_first"`` (PyTorch) or ``"channels_last"`` (Keras).

    Returns:
        The noise shape, a tuple of ints of the same length as ``input_shape``.

    Shape:
        Spatial dropout needs at least one spatial axis: ``input_shape`` has 3 (1-D), 4 (2-D) or
        5 (3-D) entries, or more.

    Examples::

        >>> noise_shape((8, 16, 32, 32), "spatial", "channels_first")
        (8, 16, 1, 1)
        >>> noise_shape((8, 32, 32, 16), "spatial", "channels_last")
        (8, 1, 1, 16)
        >>> # SpatialDropout1D on text
        >>> noise_shape((8, 100, 64), "spatial", "channels_last")
        (8, 1, 64)
        >>> noise_shape((2, 2, 2), "element")
        (2, 2, 2)
    """
    shape = check_shape(input_shape)
    check_choice(kind, KINDS, "kind")
    check_data_format(data_format)
    if kind == "element":
        return shape
    if len(shape) < 3:
        raise ValueError(
            f"spatial dropout needs input_shape with a batch, a channel and at least one spatial axis "
            f"(3 entries for 1-D, 4 for 2-D, 5 for 3-D), got {shape} with {len(shape)}."
        )
    ones = (1,) * (len(shape) - 2)
    if data_format == "channels_first":
        return (shape[0], shape[1], *ones)
    return (shape[0], *ones, shape[-1])


def resolve_noise_shape(input_shape, noise_shape) -> tuple[int, ...]:
    """Check a user-given noise shape against an input shape and fill in its ``None`` entries.

    The rules are those of ``tf.nn.dropout`` and ``keras.layers.Dropout``: the noise shape must
    broadcast to the input shape, so each entry equals the input's size along that axis, or is 1
    (the mask is shared along that axis), or is ``None`` (taken from the input). A shorter noise
    shape is aligned to the input's last axes, as in NumPy broadcasting.

    Args:
        input_shape: shape of the tensor to drop units from.
        noise_shape: the requested noise shape, or ``None`` for the input's own shape.

    Returns:
        A tuple of ints with as many entries as ``input_shape``.

    Examples::

        >>> resolve_noise_shape((4, 3, 8, 8), (None, None, 1, 1))
        (4, 3, 1, 1)
        >>> resolve_noise_shape((4, 10, 16), (1, 16))
        (1, 1, 16)
    """
    shape = check_shape(input_shape)
    if noise_shape is None:
        return shape
    if isinstance(noise_shape, (str, bytes)) or not hasattr(noise_shape, "__iter__"):
        raise TypeError(f"noise_shape must be None or a sequence of ints or None, got {noise_shape!r}.")
    requested = tuple(noise_shape)
    if len(requested) > len(shape):
        raise ValueError(
            f"noise_shape {requested} has {len(requested)} entries but the input has only "
            f"{len(shape)} axes {shape}; it must broadcast to the input's shape."
        )
    if len(requested) == len(shape) and all(type(w) is int and w in (1, h) for w, h in zip(requested, shape)):
        return requested  # fast path: already a valid, complete noise shape
    offset = len(shape) - len(requested)
    resolved = [1] * offset  # axes the noise shape leaves out share one mask
    for axis, (want, have) in enumerate(zip(requested, shape[offset:]), start=offset):
        if want is None:
            resolved.append(have)
            continue
        if isinstance(want, bool) or not isinstance(want, numbers.Integral):
            raise TypeError(f"noise_shape entries must be ints or None, got {want!r} at position {axis - offset}.")
        if want not in (1, have):
            raise ValueError(
                f"noise_shape {requested} cannot broadcast to the input shape {shape}: axis {axis} has "
                f"size {have}, so its noise size must be {have}, 1 or None, got {want}."
            )
        resolved.append(int(want))
    return tuple(resolved)


def coin_flips(input_shape, noise_shape=None) -> int:
    """Number of independent coin flips one dropout call makes: the product of the noise shape.

    Examples::

        >>> coin_flips((2, 2, 2), (1, 2, 2))
        4
    """
    count = 1
    for d in resolve_noise_shape(input_shape, noise_shape):
        count *= d
    return count


def _layouts(spatial_dims: int, data_format: str) -> tuple[str, str]:
    axes = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}[spatial_dims]
    inner = ("C", *axes) if data_format == "channels_first" else (*axes, "C")
    return "(N, " + ", ".join(inner) + ")", "(" + ", ".join(inner) + ")"


def spatial_noise_shape(input_shape, spatial_dims: int, data_format: str = "channels_first") -> tuple[int, ...]:
    """Noise shape of SpatialDropout1D/2D/3D for one input, batched or not, with the rank checked.

    This is what the spatial layers of this package call on every forward pass. Batched inputs
    have ``spatial_dims + 2`` axes. Unbatched inputs (``spatial_dims + 1`` axes, as PyTorch's
    ``Dropout1d`` and ``Dropout3d`` accept) get the noise shape of a batch of one, without its
    batch axis.

    A rank-3 input to the 2-D layer is refused: it could be a batch of sequences ``(N, C, L)``
    (what ``torch.nn.Dropout2d`` assumes, with only a warning; pytorch/pytorch#69801) or one
    unbatched image ``(C, H, W)``, and the two readings drop different units.

    Args:
        input_shape: shape of the input.
        spatial_dims: 1, 2 or 3.
        data_format: ``"channels_first"`` or ``"channels_last"``.

    Examples::

        >>> spatial_noise_shape((8, 3, 32, 32), 2)
        (8, 3, 1, 1)
        >>> # one unbatched sequence (L, C)
        >>> spatial_noise_shape((100, 64), 1, "channels_last")
        (1, 64)
    """
    spatial_dims = check_spatial_dims(spatial_dims)
    check_data_format(data_format)
    return spatial_noise_shape_unchecked(check_shape(input_shape), spatial_dims, data_format)


def spatial_noise_shape_unchecked(shape, spatial_dims: int, data_format: str) -> tuple:
    """:func:`spatial_noise_shape` for arguments already checked: only the input's rank is checked.

    The layers call this in ``forward``. It reads nothing but ``len(shape)`` and the batch and
    channel sizes, so it also works on the symbolic sizes of ``torch.jit.trace``,
    ``torch.compile(dynamic=True)`` and ``torch.export``.
    """
    rank, ones = len(shape), (1,) * spatial_dims
    if rank == spatial_dims + 2:
        return (shape[0], shape[1], *ones) if data_format == "channels_first" else (shape[0], *ones, shape[-1])
    if rank == spatial_dims + 1 and spatial_dims != 2:
        return (shape[0], *ones) if data_format == "channels_first" else (*ones, shape[-1])
    batched, unbatched = _layouts(spatial_dims, data_format)
    name = f"SpatialDropout{spatial_dims}d"
    if spatial_dims == 2 and len(shape) == 3:
        raise ValueError(
            f"{name} got a rank-3 input of shape {tuple(shape)}, which is ambiguous: it could be a batch of "
            f"sequences or one unbatched image, and the two drop different units. For one image "
            f"{unbatched}, add the batch axis: layer(x.unsqueeze(0)).squeeze(0). For a batch of "
            f"sequences, use SpatialDropout1d. (torch.nn.Dropout2d assumes sequences here, with only a warning.)"
        )
    accepted = f"rank-{spatial_dims + 2} {batched}"
    if spatial_dims != 2:
        accepted += f" or unbatched rank-{spatial_dims + 1} {unbatched}"
    raise ValueError(
        f"{name} with data_format={data_format!r} expects a {accepted} input, "
        f"got a rank-{rank} input of shape {tuple(shape)}."
    )
