"""Small CNNs whose dropout is an argument: which variant, which rate, and where.

Every builder takes the same three dropout arguments, so a study compares variants on one
architecture and changes nothing else:

* ``dropout``: ``"none"``, ``"element"`` (:class:`~spatialdrop_edu.layers.dropout.Dropout`, one
  coin per unit), ``"spatial"`` (``SpatialDropout1d/2d``, one coin per feature map) or
  ``"dropblock"`` (``DropBlock1d/2d``, one coin per block seed);
* ``p``: the drop probability of every dropout layer;
* ``placement``: after the first conv block (``"early"``), after the last (``"late"``) or after
  every one (``"all"``).

A dropout layer sits after a block's ReLU. With ``dropout="none"`` or ``p=0`` the model holds no
dropout layer at all, and with the same seed its weights are identical to the model with dropout:
dropout layers own no parameters, so they do not change the order in which weights are drawn.
"""

from __future__ import annotations

from torch import nn

from .._validation import check_choice, check_positive_int, check_probability

__all__ = ["VARIANTS", "PLACEMENTS", "make_dropout", "mnist1d_cnn", "patch_cnn", "dropout_layers"]

#: The dropout variants every builder accepts.
VARIANTS = ("none", "element", "spatial", "dropblock")
#: Where the dropout layers go, after the first conv block, after the last one, or after each.
PLACEMENTS = ("early", "late", "all")


def make_dropout(dropout: str, p: float, spatial_dims: int, block_size: int = 3) -> nn.Module | None:
    """One dropout layer of the given variant for channels-first data with ``spatial_dims`` axes.

    Args:
        dropout: one of :data:`VARIANTS`.
        p: drop probability in ``[0, 1]``.
        spatial_dims: 1 for sequences ``(N, C, L)``, 2 for images ``(N, C, H, W)``.
        block_size: block side of ``"dropblock"`` (clamped to the map by the layer).

    Returns:
        The layer, or ``None`` for ``"none"`` and for ``p = 0``.

    Examples::

        >>> make_dropout("spatial", 0.2, 1)
        SpatialDropout1d(p=0.2, data_format='channels_first')
        >>> make_dropout("element", 0.0, 2) is None
        True
    """
    import spatialdrop_edu as sde

    check_choice(dropout, VARIANTS, "dropout")
    p = check_probability(p)
    if isinstance(spatial_dims, bool) or spatial_dims not in (1, 2):
        raise ValueError(f"spatial_dims must be 1 (sequences) or 2 (images), got {spatial_dims!r}.")
    if dropout == "none" or p == 0.0:
        return None
    if dropout == "element":
        return sde.Dropout(p)
    if dropout == "spatial":
        return (sde.SpatialDropout1d if spatial_dims == 1 else sde.SpatialDropout2d)(p)
    block = getattr(sde, f"DropBlock{spatial_dims}d", None)
    if block is None:  # pragma: no cover - DropBlock ships with the package
        raise RuntimeError(f"this version of spatialdrop_edu has no DropBlock{spatial_dims}d.")
    return block(p, block_size, data_format="channels_first")


def _conv_stack(convs, dropout: str, p: float, placement: str, spatial_dims: int, block_size: int,
                pools=None) -> list:
    """conv → ReLU → [dropout] → [pool] for each conv; dropout where ``placement`` says."""
    check_choice(placement, PLACEMENTS, "placement")
    last = len(convs) - 1
    layers = []
    for i, conv in enumerate(convs):
        layers += [conv, nn.ReLU()]
        if placement == "all" or (placement == "early" and i == 0) or (placement == "late" and i == last):
            drop = make_dropout(dropout, p, spatial_dims, block_size)
            if drop is not None:
                layers.append(drop)
        if pools is not None and pools[i] is not None:
            layers.append(pools[i])
    return layers


def mnist1d_cnn(dropout: str = "none", p: float = 0.0, placement: str = "all", *, channels: int = 32,
                block_size: int = 3, num_classes: int = 10) -> nn.Sequential:
    """A small 1-D CNN for MNIST-1D: three strided conv blocks and a linear classifier.

    Lengths go 40 → 20 → 10 → 5 (kernels 5, 3, 3; stride 2), then ``channels × 5`` features feed
    one linear layer. With 32 channels it has 8,010 parameters.

    Args:
        dropout: one of :data:`VARIANTS`.
        p: drop probability of each dropout layer.
        placement: one of :data:`PLACEMENTS`.
        channels: feature maps per conv layer.
        block_size: run length of ``"dropblock"``.
        num_classes: outputs.

    Shape:
        - Input: :math:`(N, 1, 40)`.
        - Output: :math:`(N, \\text{num\\_classes})` logits.

    Examples::

        >>> import torch
        >>> model = mnist1d_cnn("spatial", 0.2, "early")
        >>> model(torch.randn(4, 1, 40)).shape, len(dropout_layers(model))
        (torch.Size([4, 10]), 1)
        >>> sum(w.numel() for w in model.parameters())
        8010
    """
    channels = check_positive_int(channels, "channels", "feature maps per conv layer")
    convs = [nn.Conv1d(1, channels, 5, stride=2, padding=2),
             nn.Conv1d(channels, channels, 3, stride=2, padding=1),
             nn.Conv1d(channels, channels, 3, stride=2, padding=1)]
    layers = _conv_stack(convs, dropout, p, placement, 1, block_size)
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * 5, num_classes))


def patch_cnn(dropout: str = "none", p: float = 0.0, placement: str = "all", *, channels: int = 16,
              block_size: int = 3, num_classes: int = 3) -> nn.Sequential:
    """A small 2-D CNN for image patches: three conv blocks with max-pooling, global average, linear.

    Args:
        dropout, p, placement, block_size: as in :func:`mnist1d_cnn` (2-D layers).
        channels: feature maps of the first conv layer (doubled in the next two).
        num_classes: outputs.

    Shape:
        - Input: :math:`(N, 1, H, W)` with ``H, W >= 4``.
        - Output: :math:`(N, \\text{num\\_classes})` logits.

    Examples::

        >>> import torch
        >>> model = patch_cnn("dropblock", 0.1, "all")
        >>> model(torch.randn(2, 1, 16, 16)).shape, len(dropout_layers(model))
        (torch.Size([2, 3]), 3)
    """
    channels = check_positive_int(channels, "channels", "feature maps of the first conv layer")
    widths = (1, channels, 2 * channels, 4 * channels)
    convs = [nn.Conv2d(widths[i], widths[i + 1], 3, padding=1) for i in range(3)]
    pools = [nn.MaxPool2d(2), nn.MaxPool2d(2), None]
    layers = _conv_stack(convs, dropout, p, placement, 2, block_size, pools)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(widths[-1], num_classes))


def dropout_layers(model: nn.Module) -> list[nn.Module]:
    """The dropout layers of ``model`` (this package's, PyTorch's and DropBlock), in order.

    Examples::

        >>> [type(m).__name__ for m in dropout_layers(mnist1d_cnn("element", 0.1, "all"))]
        ['Dropout', 'Dropout', 'Dropout']
    """
    from torch.nn.modules.dropout import _DropoutNd

    import spatialdrop_edu as sde

    kinds = (sde.Dropout, _DropoutNd, sde.DropBlock1d, sde.DropBlock2d)
    return [m for m in model.modules() if isinstance(m, kinds)]
