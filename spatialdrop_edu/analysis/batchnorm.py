"""The variance shift between training and evaluation when dropout feeds BatchNorm, directly or through a conv.

Chapter 5 derives the shift for a unit that goes through inverted dropout and straight into
BatchNorm: ``Var_eval / Var_train = sigma**2 / ((sigma**2 + mu**2) / (1 - p) - mu**2)``
(Li et al. 2019). In most networks a convolution
sits between the dropout and the BatchNorm (``dropout -> conv -> BN``). Then the ratio BN sees is
that of the conv's *outputs*, and it depends on the kernel and on how the dropout's coins are
shared: :func:`conv_variance_shift` measures it.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_draws, check_probability

__all__ = ["conv_variance_shift"]


def conv_variance_shift(x, weight, p: float, kind: str = "element", *, draws: int = 64, generator=None) -> dict:
    """Measure ``Var_eval / Var_train`` of ``conv2d(dropout(x), weight)``, per output channel.

    The training variance of each output channel is taken over samples, positions and
    ``draws`` dropout masks (what BatchNorm's running variance estimates); the evaluation
    variance over samples and positions without dropout. The dropout is inverted (kept units
    scaled by ``1/(1-p)``), with one coin per unit (``"element"``) or per sample and channel
    (``"spatial"``); the convolution has no bias and no padding.

    Args:
        x: inputs ``(N, C, H, W)`` (tensor or array; computed in float64).
        weight: the conv's kernel ``(C_out, C, kh, kw)``.
        p: drop probability in ``[0, 1)``.
        kind: ``"element"`` or ``"spatial"``. Default: ``"element"``.
        draws: dropout masks sampled. Default: 64.
        generator: a ``torch.Generator`` for the masks; default: PyTorch's global one.

    Returns:
        A dict with ``"ratio"`` (``(C_out,)``), ``"var_eval"`` and ``"var_train"`` (``(C_out,)``),
        and ``"formula"``: the ratio the direct formula gives from the inputs' own mean and
        variance (all units of ``x`` pooled), which is what BatchNorm would see with no conv in between.

    Examples::

        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.rand(64, 1, 8, 8, generator=g)
        >>> identity = torch.ones(1, 1, 1, 1)                       # no conv at all: the formula holds
        >>> s = conv_variance_shift(x, identity, 0.5, "element", draws=200, generator=g)
        >>> bool(abs(s["ratio"][0] - s["formula"]) < 0.02)
        True
    """
    import torch

    p = check_probability(p)
    if p == 1.0:
        raise ValueError("p must be smaller than 1: inverted dropout divides by 1 - p.")
    check_choice(kind, ("element", "spatial"), "kind")
    draws = check_draws(draws)
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).to(torch.float64)
    w = torch.as_tensor(np.asarray(weight) if not isinstance(weight, torch.Tensor) else weight).to(torch.float64)
    if x.dim() != 4 or w.dim() != 4 or w.shape[1] != x.shape[1]:
        raise ValueError(f"x must be (N, C, H, W) and weight (C_out, C, kh, kw) with the same C, got "
                         f"{tuple(x.shape)} and {tuple(w.shape)}.")
    if w.shape[2] > x.shape[2] or w.shape[3] > x.shape[3]:
        raise ValueError(f"the kernel {tuple(w.shape[2:])} is larger than the maps {tuple(x.shape[2:])}.")
    eval_out = torch.nn.functional.conv2d(x, w)
    var_eval = eval_out.var(dim=(0, 2, 3), unbiased=False)
    noise_shape = x.shape if kind == "element" else x.shape[:2] + (1, 1)
    total = torch.zeros(w.shape[0], dtype=torch.float64)
    total_sq = torch.zeros(w.shape[0], dtype=torch.float64)
    count = 0
    for _ in range(draws):
        keep = torch.empty(noise_shape, dtype=torch.float64).bernoulli_(1.0 - p, generator=generator)
        out = torch.nn.functional.conv2d(x * keep / (1.0 - p), w)
        total += out.sum(dim=(0, 2, 3))
        total_sq += (out * out).sum(dim=(0, 2, 3))
        count += out.numel() // out.shape[1]
    mean_train = total / count
    var_train = total_sq / count - mean_train**2
    mu, var = float(x.mean()), float(x.var(unbiased=False))
    return {
        "ratio": (var_eval / var_train).numpy(),
        "var_eval": var_eval.numpy(),
        "var_train": var_train.numpy(),
        "formula": var / ((var + mu**2) / (1.0 - p) - mu**2),
    }
