"""The variance shift between training and evaluation when dropout feeds BatchNorm, directly or through a conv.

Chapter 5 derives the shift for a unit that goes through inverted dropout and straight into
BatchNorm: ``Var_eval / Var_train = sigma**2 / ((sigma**2 + mu**2) / (1 - p) - mu**2)`` (Li et al.
2019). In most networks a convolution sits between the dropout and the BatchNorm
(``dropout -> conv -> BN``). Then the ratio BN sees is that of the conv's *outputs*, and it depends
on the kernel and on how the dropout's coins are shared: :func:`conv_variance_shift` computes it.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_probability

__all__ = ["conv_variance_shift"]


def conv_variance_shift(x, weight, p: float, kind: str = "element") -> dict:
    """``Var_eval / Var_train`` of ``conv2d(dropout(x), weight)``, per output channel, computed exactly.

    The training variance of an output channel is taken over samples, positions *and* dropout
    masks (what BatchNorm's running variance estimates); the evaluation variance over samples and
    positions without dropout. The dropout is inverted (kept units scaled by ``1/(1-p)``), with one
    coin per unit (``"element"``) or per sample and channel (``"spatial"``); the convolution has no
    bias and no padding. No masks are sampled: averaged over the masks an output is
    ``conv2d(x, weight)``, and by the law of total variance the training variance adds the mean
    variance the coins inject, ``p/(1-p) * conv2d(x**2, weight**2)`` for independent coins and
    ``p/(1-p) * sum_c conv2d(x_c, weight[:, c])**2`` for one coin per channel.

    Args:
        x: inputs ``(N, C, H, W)`` (tensor or array; computed in float64).
        weight: the conv's kernel ``(C_out, C, kh, kw)``.
        p: drop probability in ``[0, 1)``.
        kind: ``"element"`` or ``"spatial"``. Default: ``"element"``.

    Returns:
        A dict with ``"ratio"`` (``(C_out,)``), ``"var_eval"`` and ``"var_train"`` (``(C_out,)``),
        and ``"formula"``: the ratio the direct formula gives from the inputs' own mean and
        variance (all units of ``x`` pooled), which is what BatchNorm would see with no conv in between.

    Examples::

        >>> import torch
        >>> x = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0))
        >>> # a 1 x 1 kernel of one: no conv at all, so the formula holds
        >>> s = conv_variance_shift(x, torch.ones(1, 1, 1, 1), 0.5)
        >>> bool(abs(s["ratio"][0] - s["formula"]) < 1e-12)
        True
    """
    import torch

    p = check_probability(p)
    if p == 1.0:
        raise ValueError("p must be smaller than 1: inverted dropout divides by 1 - p.")
    check_choice(kind, ("element", "spatial"), "kind")
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).to(torch.float64)
    w = torch.as_tensor(np.asarray(weight) if not isinstance(weight, torch.Tensor) else weight).to(torch.float64)
    if x.dim() != 4 or w.dim() != 4 or w.shape[1] != x.shape[1]:
        raise ValueError(
            f"x must be (N, C, H, W) and weight (C_out, C, kh, kw) with the same C, got "
            f"{tuple(x.shape)} and {tuple(w.shape)}."
        )
    if w.shape[2] > x.shape[2] or w.shape[3] > x.shape[3]:
        raise ValueError(f"the kernel {tuple(w.shape[2:])} is larger than the maps {tuple(x.shape[2:])}.")
    conv = torch.nn.functional.conv2d
    mean_out = conv(x, w)  # the output averaged over the masks
    var_eval = mean_out.var(dim=(0, 2, 3), unbiased=False)
    factor = p / (1.0 - p)
    if kind == "element":
        injected = factor * conv(x * x, w * w)
    else:
        c_out, c_in = w.shape[:2]
        per_channel = conv(x, w.transpose(0, 1).reshape(c_in * c_out, 1, *w.shape[2:]), groups=c_in)
        per_channel = per_channel.reshape(x.shape[0], c_in, c_out, *per_channel.shape[2:])
        injected = factor * (per_channel**2).sum(dim=1)
    var_train = var_eval + injected.mean(dim=(0, 2, 3))
    mu, var = float(x.mean()), float(x.var(unbiased=False))
    return {
        "ratio": (var_eval / var_train).numpy(),
        "var_eval": var_eval.numpy(),
        "var_train": var_train.numpy(),
        "formula": var / ((var + mu**2) / (1.0 - p) - mu**2),
    }
