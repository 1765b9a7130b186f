"""The implementations of each dropout operation that the cost appendix times against each other.

The contenders of each operation (:func:`contenders`):

* this package's layer (``ours``);
* PyTorch's own layer where there is one (``torch.nn.Dropout``, ``Dropout1d/2d/3d``);
* for DropBlock, a direct transcription of the paper's Algorithm 1 (:func:`dropblock_paper`), and
  ``torchvision.ops.drop_block2d`` and timm's ``DropBlock2d`` wherever they can be imported
  (:func:`optional_references`);
* a naive implementation that builds the mask at the input's full size (``naive``, :func:`naive_dropout`),
  as a textbook would.

:mod:`~spatialdrop_edu.analysis.cost` measures them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validation import check_choice, check_probability

#: Operations that can be compared, with the number of spatial axes of their input.
OPERATIONS = {"Dropout": 2, "SpatialDropout1d": 1, "SpatialDropout2d": 2, "SpatialDropout3d": 3, "DropBlock2d": 2}
#: Block size of the DropBlock comparisons.
BLOCK_SIZE = 7


def naive_dropout(x: torch.Tensor, p: float, spatial: bool = False) -> torch.Tensor:
    """Dropout as a textbook writes it: a mask of the input's full size, then ``x * mask / (1 - p)``.

    With ``spatial=True`` the coins are drawn per (sample, channel) but the mask is still expanded
    to the full size before the multiply: the cost the small noise shape avoids.
    """
    if spatial:
        coins = torch.rand(x.shape[:2] + (1,) * (x.dim() - 2), device=x.device) >= p
        mask = coins.to(x.dtype).expand(x.shape).contiguous()
    else:
        mask = (torch.rand_like(x) >= p).to(x.dtype)
    return x * mask / (1.0 - p)


def dropblock_paper(x: torch.Tensor, p: float, block_size: int = BLOCK_SIZE) -> torch.Tensor:
    """DropBlock transcribed line by line from Algorithm 1 of Ghiasi et al. (2018), for a square block on (N, C, H, W).

    gamma from the paper's formula (with H and W for feat_size squared); seeds sampled in the
    region where a whole block fits, padded to the map; blocks grown by a max-pool; the kept
    units rescaled by count / count_ones.
    """
    n, c, h, w = x.shape
    gamma = p / block_size**2 * (h * w) / ((h - block_size + 1) * (w - block_size + 1))
    seeds = torch.bernoulli(torch.full((n, c, h - block_size + 1, w - block_size + 1), gamma, device=x.device))
    seeds = F.pad(seeds, [block_size // 2, (block_size - 1) // 2] * 2)  # centre the valid region
    mask = 1.0 - F.max_pool2d(seeds, kernel_size=block_size, stride=1, padding=block_size // 2)[..., :h, :w]
    return x * mask.to(x.dtype) * (mask.numel() / mask.sum().clamp_min(1.0))


def optional_references(operation: str) -> tuple[dict, dict]:
    """DropBlock implementations from other packages: ``(contenders, {name: reason it was skipped})``.

    ``torchvision.ops.drop_block2d`` and timm's ``DropBlock2d`` are tried; where they cannot be
    imported (e.g. next to a CPU build of PyTorch for which the registry has no matching
    torchvision), the reason is returned instead.
    """
    found, skipped = {}, {}
    if operation != "DropBlock2d":
        return found, skipped
    try:
        from torchvision.ops import drop_block2d

        found["torchvision"] = lambda x, p: drop_block2d(x, p, BLOCK_SIZE, inplace=False, training=True)
    except Exception as error:  # ImportError, or a torchvision whose compiled operators do not match torch
        skipped["torchvision"] = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
    try:
        from timm.layers import DropBlock2d as TimmDropBlock2d

        found["timm"] = lambda x, p: TimmDropBlock2d(p, BLOCK_SIZE).train()(x)
    except Exception as error:
        skipped["timm"] = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
    return found, skipped


def contenders(operation: str, p: float) -> tuple[dict, list[str], dict]:
    """The implementations of one operation: ``(name -> fn(x), names of the references, skipped references)``.

    ``ours`` is always first; the references are what a user would otherwise call.

    Examples::

        >>> fns, refs, _ = contenders("SpatialDropout2d", 0.3)
        >>> list(fns), refs
        (['ours', 'torch.nn.Dropout2d', 'naive'], ['torch.nn.Dropout2d'])
    """
    import spatialdrop_edu as sde

    check_choice(operation, tuple(OPERATIONS), "operation")
    p = check_probability(p)
    skipped: dict = {}
    if operation == "Dropout":
        ours, native = sde.Dropout(p), torch.nn.Dropout(p)
        fns = {"ours": ours, "torch.nn.Dropout": native, "naive": lambda x: naive_dropout(x, p)}
        refs = ["torch.nn.Dropout"]
    elif operation.startswith("SpatialDropout"):
        dims = OPERATIONS[operation]
        native_name = f"torch.nn.Dropout{dims}d"
        ours = getattr(sde, operation)(p)
        native = getattr(torch.nn, f"Dropout{dims}d")(p)
        fns = {"ours": ours, native_name: native, "naive": lambda x: naive_dropout(x, p, spatial=True)}
        refs = [native_name]
    else:
        ours = sde.DropBlock2d(p, BLOCK_SIZE)
        fns = {"ours": ours, "paper (Algorithm 1)": lambda x: dropblock_paper(x, p, BLOCK_SIZE)}
        found, skipped = optional_references(operation)
        fns.update({name: (lambda x, f=f: f(x, p)) for name, f in found.items()})
        fns["naive"] = lambda x: naive_dropout(x, p)
        refs = [name for name in fns if name not in ("ours", "naive")]
    for fn in fns.values():
        if isinstance(fn, torch.nn.Module):
            fn.train()
    return fns, refs, skipped
