"""The models of the training chapters, whose dropout is an argument: which variant, which rate, and where.

Two small CNNs (:func:`mnist1d_cnn`, :func:`patch_cnn`) and a tiny U-Net denoiser
(:class:`TinyUNet`). Every builder takes the same three dropout arguments, so a study compares
variants on one architecture and changes nothing else:

* ``dropout``: ``"none"``, ``"element"`` (:class:`~spatialdrop_edu.layers.dropout.Dropout`, one
  coin per unit), ``"spatial"`` (``SpatialDropout1d/2d``, one coin per feature map) or
  ``"dropblock"`` (``DropBlock1d/2d``, one coin per block seed);
* ``p``: the drop probability of every dropout layer (the two together, with DropBlock's block size,
  may come as one :class:`~spatialdrop_edu.training.settings.DropoutSettings`, as a run holds them);
* ``placement``: in the CNNs, after the first conv block (``"early"``), after the last
  (``"late"``) or after every one (``"all"``); in the U-Net, on the full-resolution skip connection
  (``"top"``) or on both (``"all"``).

A dropout layer sits after a block's ReLU. With ``dropout="none"`` or ``p=0`` the model holds no
dropout layer at all, and with the same seed its weights are identical to the model with dropout:
dropout layers own no parameters, so they do not change the order in which weights are drawn.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_choice, check_positive_int, check_spatial_dims
from ..layers import DropBlock1d, DropBlock2d, Dropout, SpatialDropout1d, SpatialDropout2d
from ..layers.dropout import DropLayer
from .settings import PLACEMENTS, SKIP_PLACEMENTS, VARIANTS, DropoutSettings

__all__ = [
    "make_dropout",
    "dropout_layers",
    "mnist1d_cnn",
    "patch_cnn",
    "UpBlock",
    "TinyUNet",
]

#: PyTorch's own dropout layers (this package's share the base :class:`~spatialdrop_edu.layers.dropout.DropLayer`).
TORCH_DROPOUT = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)


def make_dropout(dropout: DropoutSettings, spatial_dims: int) -> nn.Module | None:
    """One dropout layer of the given settings for channels-first data with ``spatial_dims`` axes.

    Args:
        dropout: the layer's :class:`~spatialdrop_edu.training.settings.DropoutSettings` (variant, rate
            and, for ``"dropblock"``, the block side, clamped to the map by the layer).
        spatial_dims: 1 for sequences ``(N, C, L)``, 2 for images ``(N, C, H, W)``.

    Returns:
        The layer, or ``None`` for ``"none"`` and for ``p = 0``.

    Examples::

        >>> make_dropout(DropoutSettings("spatial", 0.2), 1)
        SpatialDropout1d(p=0.2, data_format='channels_first')
        >>> make_dropout(DropoutSettings("element", 0.0), 2) is None
        True
    """
    if not isinstance(dropout, DropoutSettings):
        raise TypeError(f"dropout must be a DropoutSettings, e.g. DropoutSettings('spatial', 0.2), got {dropout!r}.")
    spatial_dims = check_spatial_dims(spatial_dims, (1, 2))
    if not dropout.active:
        return None
    p = float(dropout.p)
    if dropout.variant == "element":
        return Dropout(p)
    if dropout.variant == "spatial":
        return (SpatialDropout1d if spatial_dims == 1 else SpatialDropout2d)(p)
    return (DropBlock1d if spatial_dims == 1 else DropBlock2d)(p, dropout.block_size)


def dropout_settings(dropout, p=None, block_size=None) -> DropoutSettings:
    """A builder's dropout arguments as one :class:`~spatialdrop_edu.training.settings.DropoutSettings`.

    ``dropout`` is a variant's name (then ``p`` defaults to 0 and ``block_size`` to 3) or
    already a ``DropoutSettings`` (then ``p`` and ``block_size`` stay out).

    Examples::

        >>> dropout_settings("spatial", 0.2)
        DropoutSettings(variant='spatial', p=0.2, block_size=3)
    """
    if isinstance(dropout, DropoutSettings):
        if p is not None or block_size is not None:
            raise TypeError("dropout is a DropoutSettings: give p and block_size inside it, not beside it.")
        return dropout
    check_choice(dropout, VARIANTS, "dropout")  # named as the builder's argument
    return DropoutSettings(dropout, 0.0 if p is None else p, 3 if block_size is None else block_size)


def dropout_layers(model: nn.Module) -> list[nn.Module]:
    """The dropout layers of ``model`` (this package's, DropBlock included, and PyTorch's), in order.

    Examples::

        >>> model = mnist1d_cnn("element", 0.1, "all")
        >>> [type(m).__name__ for m in dropout_layers(model)]
        ['Dropout', 'Dropout', 'Dropout']
    """
    return [m for m in model.modules() if isinstance(m, (DropLayer, *TORCH_DROPOUT))]


def _conv_stack(convs, dropout: DropoutSettings, placement: str, spatial_dims: int, pools=None) -> list:
    """conv → ReLU → [dropout] → [pool] for each conv; dropout where ``placement`` says."""
    check_choice(placement, PLACEMENTS, "placement")
    last = len(convs) - 1
    layers = []
    for i, conv in enumerate(convs):
        layers += [conv, nn.ReLU()]
        if placement == "all" or (placement == "early" and i == 0) or (placement == "late" and i == last):
            drop = make_dropout(dropout, spatial_dims)
            if drop is not None:
                layers.append(drop)
        if pools is not None and pools[i] is not None:
            layers.append(pools[i])
    return layers


def mnist1d_cnn(
    dropout: str | DropoutSettings = "none",
    p: float | None = None,
    placement: str = "all",
    *,
    channels: int = 32,
    block_size: int | None = None,
    num_classes: int = 10,
) -> nn.Sequential:
    """A small 1-D CNN for MNIST-1D: three strided conv blocks and a linear classifier.

    Lengths go 40 → 20 → 10 → 5 (kernels 5, 3, 3; stride 2), then ``channels × 5`` features feed
    one linear layer. With 32 channels it has 8,010 parameters.

    Args:
        dropout: one of :data:`~spatialdrop_edu.training.settings.VARIANTS`, or a
            :class:`~spatialdrop_edu.training.settings.DropoutSettings` (then without ``p`` and ``block_size``).
        p: drop probability of each dropout layer (default 0).
        placement: one of :data:`~spatialdrop_edu.training.settings.PLACEMENTS`.
        channels: feature maps per conv layer.
        block_size: run length of ``"dropblock"`` (default 3).
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
    convs = [
        nn.Conv1d(1, channels, 5, stride=2, padding=2),
        nn.Conv1d(channels, channels, 3, stride=2, padding=1),
        nn.Conv1d(channels, channels, 3, stride=2, padding=1),
    ]
    layers = _conv_stack(convs, dropout_settings(dropout, p, block_size), placement, 1)
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * 5, num_classes))


def patch_cnn(
    dropout: str | DropoutSettings = "none",
    p: float | None = None,
    placement: str = "all",
    *,
    channels: int = 16,
    block_size: int | None = None,
    num_classes: int = 3,
) -> nn.Sequential:
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
    layers = _conv_stack(convs, dropout_settings(dropout, p, block_size), placement, 2, pools)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(widths[-1], num_classes))


# -- the U-Net -------------------------------------------------------------------------------------


def _conv_block(c_in: int, c_out: int, batch_norm: bool) -> nn.Sequential:
    """Two 3 × 3 convolutions, each followed by [BatchNorm and] a ReLU."""
    layers = []
    for a, b in ((c_in, c_out), (c_out, c_out)):
        layers += [nn.Conv2d(a, b, 3, padding=1, bias=not batch_norm)]
        layers += [nn.BatchNorm2d(b)] if batch_norm else []
        layers += [nn.ReLU()]
    return nn.Sequential(*layers)


class UpBlock(nn.Module):
    """One decoder step of a U-Net: up-sample, concatenate the (dropped-out) skip, two convolutions.

    ``forward(x, skip)`` computes ``convs(cat([up(x), skip_dropout(skip)]))``: the dropout acts on
    the skip tensor only, never on the up-sampled path.

    Args:
        in_channels: channels of ``x`` (the coarser map).
        skip_channels: channels of ``skip`` (the encoder's map at the finer resolution).
        out_channels: channels out.
        skip_dropout: a module applied to the skip tensor (``None``: none).
        batch_norm: BatchNorm after each convolution.

    Shape:
        - x: :math:`(N, C_{in}, H, W)`; skip: :math:`(N, C_{skip}, 2H, 2W)`.
        - Output: :math:`(N, C_{out}, 2H, 2W)`.

    Examples::

        >>> up = UpBlock(16, 8, 8, skip_dropout=SpatialDropout2d(0.5))
        >>> up(torch.randn(2, 16, 4, 4), torch.randn(2, 8, 8, 8)).shape
        torch.Size([2, 8, 8, 8])
    """

    def __init__(
        self,
        in_channels: int,
        skip_channels: int,
        out_channels: int,
        skip_dropout: nn.Module | None = None,
        batch_norm: bool = True,
    ):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
        self.skip_dropout = skip_dropout if skip_dropout is not None else nn.Identity()
        self.convs = _conv_block(out_channels + skip_channels, out_channels, batch_norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.convs(torch.cat([self.up(x), self.skip_dropout(skip)], dim=1))


class TinyUNet(nn.Module):
    r"""A two-level U-Net denoiser whose skip connections carry a dropout layer of a chosen variant.

    Encoder: ``enc1`` (full resolution, ``channels``), max-pool, ``enc2`` (half, ``2 channels``),
    max-pool, ``bottleneck`` (quarter, ``4 channels``). Decoder: ``up2`` takes the bottleneck and the
    skip ``skip2 = enc2(...)``, ``up1`` takes that and ``skip1 = enc1(x)``; a 1 × 1 convolution
    gives the clean image. The network predicts the clean patch itself (no global residual), as in
    the story chapter 8 rebuilds (Ronneberger, Fischer and Brox, 2015, for the U-Net).

    Args:
        dropout: the skip dropout, one of :data:`~spatialdrop_edu.training.settings.VARIANTS`, or a
            :class:`~spatialdrop_edu.training.settings.DropoutSettings` (then without ``p`` and ``block_size``).
        p: its drop probability (default 0).
        placement: one of :data:`~spatialdrop_edu.training.settings.SKIP_PLACEMENTS`: ``"top"`` (only the
            full-resolution skip, ``skip1``) or ``"all"`` (both skips).
        channels: feature maps of the first level.
        block_size: block side of ``"dropblock"`` (default 3).
        batch_norm: BatchNorm after each convolution.

    Shape:
        - Input: :math:`(N, 1, H, W)`, ``H`` and ``W`` multiples of 4.
        - Output: :math:`(N, 1, H, W)`.

    Paths can be switched off at test time, replaced by zeros (:data:`PATHS`, :meth:`ablated`):
    ``"skip1"`` and ``"skip2"`` that skip tensor, ``"skips"`` both, ``"bottleneck"`` the
    bottleneck's output. The attribute ``ablate`` holds the paths switched off (none by default).

    Examples::

        >>> net = TinyUNet("spatial", 0.3, "all", channels=8)
        >>> net(torch.randn(2, 1, 16, 16)).shape
        torch.Size([2, 1, 16, 16])
        >>> [type(m).__name__ for m in dropout_layers(net)]
        ['SpatialDropout2d', 'SpatialDropout2d']
        >>> sum(w.numel() for w in net.parameters())
        29481
    """

    #: The paths :meth:`ablated` can switch off.
    PATHS = ("skips", "skip1", "skip2", "bottleneck")

    def __init__(
        self,
        dropout: str | DropoutSettings = "none",
        p: float | None = None,
        placement: str = "top",
        *,
        channels: int = 8,
        block_size: int | None = None,
        batch_norm: bool = True,
    ):
        super().__init__()
        dropout = dropout_settings(dropout, p, block_size)
        check_choice(placement, SKIP_PLACEMENTS, "placement")
        c = check_positive_int(channels, "channels", "feature maps of the first level")
        self.enc1 = _conv_block(1, c, batch_norm)
        self.enc2 = _conv_block(c, 2 * c, batch_norm)
        self.bottleneck = _conv_block(2 * c, 4 * c, batch_norm)
        drop2 = make_dropout(dropout, 2) if placement == "all" else None
        self.up2 = UpBlock(4 * c, 2 * c, 2 * c, drop2, batch_norm)
        self.up1 = UpBlock(2 * c, c, c, make_dropout(dropout, 2), batch_norm)
        self.head = nn.Conv2d(c, 1, 1)
        self.ablate: set = set()

    @contextlib.contextmanager
    def ablated(self, *paths: str):
        """Switch the named paths off (replace them by zeros) inside a ``with`` block; they come back after.

        Args:
            paths: names from :data:`PATHS`.

        Examples::

            >>> net = TinyUNet(channels=4).eval()
            >>> with net.ablated("skip1", "skip2"):
            ...     net.ablate == {"skip1", "skip2"}
            True
            >>> net.ablate
            set()
        """
        for path in paths:
            check_choice(path, self.PATHS, "paths[]")
        previous, self.ablate = self.ablate, set(paths)
        try:
            yield self
        finally:
            self.ablate = previous

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip1 = self.enc1(x)
        skip2 = self.enc2(F.max_pool2d(skip1, 2))
        deep = self.bottleneck(F.max_pool2d(skip2, 2))
        if "bottleneck" in self.ablate:
            deep = torch.zeros_like(deep)
        if self.ablate & {"skips", "skip2"}:
            skip2 = torch.zeros_like(skip2)
        if self.ablate & {"skips", "skip1"}:
            skip1 = torch.zeros_like(skip1)
        return self.head(self.up1(self.up2(deep, skip2), skip1))
