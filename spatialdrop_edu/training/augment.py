"""Data augmentation for image patches: the eight symmetries of a square, drawn per image.

:func:`dihedral` applies one symmetry (a rotation by quarter turns, after a left-right flip or not)
and :func:`augment_batch` a random one to every image of a minibatch: cheap augmentation, exact on
a pixel grid (pixels are moved, never interpolated). The training loop applies it to every training
minibatch (``augment=`` of :func:`~spatialdrop_edu.training.classifier.train`, made from a name by
:func:`augmentation`).
"""

from __future__ import annotations

import torch

from .._validation import check_choice, check_int_between

__all__ = ["AUGMENTATIONS", "dihedral", "augment_batch", "augmentation"]

#: Augmentations :func:`augment_batch` accepts: the identity, left-right flips, flips, rotations by 90°, or all
#: eight symmetries.
AUGMENTATIONS = ("none", "hflip", "flips", "rot90", "dihedral")


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """Transform images by the ``k``-th of the eight symmetries of a square.

    ``k = 0..3`` rotate by ``k`` quarter turns; ``k = 4..7`` flip left-right first, then rotate by
    ``k - 4`` quarter turns. Pixels are moved, never interpolated.

    Shape:
        - Input: :math:`(..., H, H)` (square images; ``k in (0, 4)`` and 2 also accept :math:`H \\ne W`).
        - Output: same shape.

    Examples::

        >>> x = torch.arange(4.).reshape(1, 2, 2)
        >>> dihedral(x, 1).tolist(), dihedral(x, 4).tolist()
        ([[[1.0, 3.0], [0.0, 2.0]]], [[[1.0, 0.0], [3.0, 2.0]]])
    """
    if isinstance(k, torch.Tensor) and k.ndim == 0 and not k.is_floating_point():  # one of torch.randint's draws
        k = int(k)
    k = check_int_between(k, "k", 0, 7, "one of the eight symmetries of a square")
    if k >= 4:
        x = x.flip(-1)
    return torch.rot90(x, k % 4, dims=(-2, -1))


def augment_batch(x: torch.Tensor, augment: str = "dihedral", generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply a random symmetry to each image of a batch, drawn independently per image.

    Args:
        x: images :math:`(N, C, H, H)`; left unchanged (a new tensor is returned).
        augment: ``"none"``; ``"hflip"`` (identity or left-right flip: the mirror image, the
            one symmetry of most photographed scenes); ``"flips"`` (identity, left-right, up-down
            or both, i.e. rotation by 180°); ``"rot90"`` (0, 90, 180 or 270 degrees);
            ``"dihedral"`` (all eight).
        generator: the ``torch.Generator`` on the CPU to draw from (``None``: the global one).

    Examples::

        >>> x = torch.randn(64, 1, 4, 4)
        >>> y = augment_batch(x, "rot90", torch.Generator().manual_seed(0))
        >>> all(any(torch.equal(y[i], dihedral(x[i], k)) for k in range(4))
        ...     for i in range(64))
        True
    """
    check_choice(augment, AUGMENTATIONS, "augment")
    if augment == "none":
        return x.clone()
    choices = {"hflip": (0, 4), "flips": (0, 2, 4, 6), "rot90": (0, 1, 2, 3), "dihedral": tuple(range(8))}[augment]
    draw = torch.randint(len(choices), (len(x),), generator=generator)
    out = x.clone()
    for index, k in enumerate(choices):
        rows = (draw == index).nonzero().flatten().to(x.device)
        if k and len(rows):
            out[rows] = dihedral(x[rows], k)
    return out


def augmentation(augment: str):
    """The ``augment`` function of a classifier's training, for a name of :data:`AUGMENTATIONS`.

    Returns:
        ``None`` for ``"none"`` (no augmentation), else ``(minibatch, generator) ->``
        :func:`augment_batch` ``(minibatch, augment, generator)``.

    Examples::

        >>> flips = augmentation("flips")
        >>> augmentation("none") is None, flips(torch.zeros(2, 1, 3, 3), None).shape
        (True, torch.Size([2, 1, 3, 3]))
    """
    check_choice(augment, AUGMENTATIONS, "augment")
    if augment == "none":
        return None
    return lambda batch, generator: augment_batch(batch, augment, generator)
