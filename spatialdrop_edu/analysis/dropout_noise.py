"""What dropout's noise becomes when the units it drops are correlated: in a weighted sum, and in a gradient.

One formula and two measurements, used by chapter 3:

* :func:`injected_variance`: the variance dropout injects into a weighted sum of correlated units,
  with one coin per unit (element dropout) or one shared coin (spatial dropout);
  :func:`sampled_injected_variance` measures it on every patch of a map.
* :func:`weight_gradient_stats`: the mean and spread of a convolution's weight gradient when its
  input passes through dropout, for both scaling conventions.

How strongly a map's units agree is measured by :mod:`~spatialdrop_edu.analysis.correlation`.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_choice, check_draws, check_positive_int, check_probability, check_rng
from ..layers.noise_shapes import KINDS
from ._maps import as_image

__all__ = [
    "injected_variance",
    "sampled_injected_variance",
    "weight_gradient_stats",
]


def injected_variance(weights, covariance, p: float, kind: str = "element", *, mean=0.0) -> float:
    """Variance that inverted dropout injects into ``z = sum_i w_i x_i`` of correlated units.

    Dropout multiplies each unit by ``m_i / (1 - p)`` with ``m_i`` a Bernoulli(1 - p) coin. For a
    fixed input the noise in ``z`` has variance

    * element dropout (independent coins): ``p / (1 - p) * sum_i w_i**2 x_i**2``;
    * spatial dropout (one coin shared by all the units summed): ``p / (1 - p) * (sum_i w_i x_i)**2``.

    Averaged over inputs with mean ``mu`` and covariance ``C``, the second moment is
    ``S = C + mu mu^T`` and the injected variance is ``p / (1 - p) * sum_i w_i**2 S_ii``
    (element) or ``p / (1 - p) * w^T S w`` (spatial). Their ratio, spatial over element,
    ``w^T S w / sum_i w_i**2 S_ii``, is a Rayleigh quotient: it depends on the kernel. For
    ``n`` equal weights ``1/n`` (a mean), unit variance, zero mean and correlation ``rho``
    between any two units it is ``p / ((1 - p) n)`` against
    ``p / (1 - p) * (1/n + (1 - 1/n) rho)``: the gap grows with the correlation, up to a
    factor ``n``. For a kernel whose weights sum to zero (a difference, an edge detector) on
    strongly correlated units, ``w^T S w`` is small and the ratio falls far *below* 1: element
    dropout then injects more noise than spatial dropout. The signal ``E[z**2]`` is ``w^T S w``
    too, so spatial dropout's noise-to-signal ratio is ``p / (1 - p)`` for every kernel.

    Args:
        weights: the ``n`` weights of the sum (a ``k x k`` kernel is flattened).
        covariance: ``(n, n)`` covariance of the units.
        p: drop probability in ``[0, 1)``.
        kind: ``"element"`` or ``"spatial"``.
        mean: the units' mean, a scalar or ``n`` values. Default: 0.

    Returns:
        The injected variance, a float.

    Examples::

        >>> n, rho = 9, 0.8
        >>> C = np.full((n, n), rho) + (1 - rho) * np.eye(n)
        >>> w = np.full(n, 1 / n)
        >>> element = injected_variance(w, C, 0.5)
        >>> spatial = injected_variance(w, C, 0.5, "spatial")
        >>> round(element, 4), round(spatial, 4)
        (0.1111, 0.8222)
    """
    p = check_probability(p)
    if p == 1.0:
        raise ValueError("p must be smaller than 1: inverted dropout divides by 1 - p.")
    check_choice(kind, KINDS, "kind")
    w = np.asarray(weights, dtype=float).ravel()
    c = np.asarray(covariance, dtype=float)
    if c.shape != (w.size, w.size):
        raise ValueError(f"covariance must have shape ({w.size}, {w.size}) for {w.size} weights, got {c.shape}.")
    mu = np.broadcast_to(np.asarray(mean, dtype=float), w.shape)
    second = c + np.outer(mu, mu)
    factor = p / (1.0 - p)
    if kind == "element":
        return float(factor * (w**2 * np.diag(second)).sum())
    return float(factor * w @ second @ w)


def sampled_injected_variance(field, weights, p: float, kind: str, rng: np.random.Generator) -> dict:
    """Measure the variance dropout injects into ``z = sum(w * patch)`` over every ``kh x kw`` patch of a map.

    Every patch of ``field`` is one input to a unit of the next layer with kernel ``weights``
    (any 2-D kernel: a ``k x k`` mean, a ``1 x 2`` difference ``[[-1, 1]]``, a Laplacian).
    Each patch gets its own mask (one coin per pixel for ``"element"``, one coin for the patch
    for ``"spatial"``, as if the channel were dropped); the squared difference between ``z``
    after inverted dropout and ``z`` without is averaged over patches. The same quantity is
    predicted by :func:`injected_variance` from the patches' measured mean and covariance.

    Args:
        field: 2-D map.
        weights: ``(kh, kw)`` kernel, no larger than the field.
        p: drop probability in ``[0, 1)``.
        kind: ``"element"`` or ``"spatial"``.
        rng: NumPy generator.

    Returns:
        A dict with ``"measured"``, ``"predicted"`` (from the patch statistics), ``"stderr"`` (the
        standard error of ``"measured"``, treating patches as independent, which they are not:
        neighbouring patches overlap, so compare with a generous bound), ``"signal"``
        (``mean(z**2)`` without dropout) and ``"patches"``.

    Examples::

        >>> r = np.random.default_rng(0)
        >>> x, mean3 = r.standard_normal((64, 64)), np.full((3, 3), 1 / 9)
        >>> s = sampled_injected_variance(x, mean3, 0.5, "element", r)
        >>> bool(abs(s["measured"] - s["predicted"]) < 5 * s["stderr"])
        True
        >>> x = r.standard_normal((64, 64))
        >>> d = sampled_injected_variance(x, [[-1.0, 1.0]], 0.5, "spatial", r)
        >>> # a shared coin, p = 0.5: noise-to-signal p/(1-p) = 1
        >>> round(d["measured"] / d["signal"], 6)
        1.0
    """
    p = check_probability(p)
    if p == 1.0:
        raise ValueError("p must be smaller than 1.")
    check_choice(kind, KINDS, "kind")
    check_rng(rng)
    x = as_image(field, "field")
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or w.shape[0] > x.shape[0] or w.shape[1] > x.shape[1] or 0 in w.shape:
        raise ValueError(f"weights must be a 2-D (kh, kw) kernel no larger than the field {x.shape}, got {w.shape}.")
    patches = np.lib.stride_tricks.sliding_window_view(x, w.shape).reshape(-1, w.size)
    wf = w.ravel()
    if kind == "element":
        coins = rng.random(patches.shape) >= p
    else:
        coins = np.broadcast_to(rng.random((patches.shape[0], 1)) >= p, patches.shape)
    noise = (patches * wf * (coins / (1.0 - p) - 1.0)).sum(axis=1)
    sq = noise**2
    mean = patches.mean(axis=0)
    cov = np.cov(patches, rowvar=False, bias=True).reshape(w.size, w.size)
    return {
        "measured": float(sq.mean()),
        "predicted": injected_variance(wf, cov, p, kind, mean=mean),
        "stderr": float(sq.std() / math.sqrt(sq.size)),
        "signal": float(((patches @ wf) ** 2).mean()),
        "patches": int(patches.shape[0]),
    }


def weight_gradient_stats(
    x, delta, p: float, kind: str, convention: str, *, draws: int = 200, rng: np.random.Generator, kernel_size: int = 3
) -> dict:
    """Mean and spread of a conv layer's weight gradient when its input passes through dropout.

    The layer is ``y = conv2d(dropout(x), W)`` (PyTorch, no padding) and the gradient arriving
    from above, ``dL/dy = delta``, is held fixed, as in one step of backpropagation; so the
    loss is ``L = sum(delta * y)`` and ``dL/dW`` is the correlation of ``delta`` with the dropped
    input, linear in the mask. The no-dropout gradient ``g0`` is compared with ``draws`` gradients
    ``g`` under dropout.

    Args:
        x: input of shape ``(C, H, W)`` (one sample).
        delta: upstream gradient of shape ``(C_out, H - k + 1, W - k + 1)``.
        p: drop probability in ``[0, 1)``.
        kind: ``"element"`` (one coin per unit) or ``"spatial"`` (one coin per channel).
        convention: ``"inverted"`` (kept units scaled by ``1/(1-p)``) or ``"original"`` (no
            scaling in training).
        draws: masks sampled. Default: 200.
        rng: NumPy generator for the masks.
        kernel_size: ``k``. Default: 3.

    Returns:
        A dict with ``"mean_ratio"`` (``<mean g, g0> / |g0|**2``: 1 means the expected gradient
        is unchanged, ``1 - p`` an effective learning rate times ``1 - p``), ``"relative_noise"``
        (``mean |g - mean g|**2 / |g0|**2``), ``"g0"`` and ``"grads"`` (``(draws, C_out, C, k, k)``).

    Examples::

        >>> r = np.random.default_rng(0)
        >>> x, d = r.standard_normal((2, 8, 8)), r.standard_normal((1, 6, 6))
        >>> s = weight_gradient_stats(x, d, 0.5, "spatial", "original",
        ...                           draws=50, rng=r)
        >>> # per draw and input channel: a channel is all or nothing
        >>> ratios = s["grads"][:, 0, :, 0, 0] / s["g0"][0, :, 0, 0]
        >>> sorted({round(float(v), 6) for v in ratios.ravel()})
        [0.0, 1.0]
    """
    import torch

    from ..layers.numpy_reference import numpy_dropout

    p = check_probability(p)
    if p == 1.0:
        raise ValueError("p must be smaller than 1.")
    check_choice(kind, KINDS, "kind")
    draws = check_draws(draws)
    check_rng(rng)
    k = check_positive_int(kernel_size, "kernel_size")
    x = np.asarray(x, dtype=float)
    delta = np.asarray(delta, dtype=float)
    if x.ndim != 3 or delta.ndim != 3 or delta.shape[1:] != (x.shape[1] - k + 1, x.shape[2] - k + 1):
        raise ValueError(
            f"x must be (C, H, W) and delta (C_out, H - {k} + 1, W - {k} + 1), got {x.shape} and {delta.shape}."
        )
    c_in, c_out = x.shape[0], delta.shape[0]
    noise = (c_in, 1, 1) if kind == "spatial" else None
    weight = torch.zeros(c_out, c_in, k, k, dtype=torch.float64, requires_grad=True)
    d = torch.as_tensor(delta)[None]

    def grad_of(inp: np.ndarray) -> np.ndarray:
        weight.grad = None
        y = torch.nn.functional.conv2d(torch.as_tensor(inp)[None], weight)
        (y * d).sum().backward()
        return weight.grad.numpy().copy()

    g0 = grad_of(x)  # autograd, once
    dropped = np.stack([numpy_dropout(x, p, rng, noise_shape=noise, convention=convention) for _ in range(draws)])
    # the same gradient for every draw in one call: dL/dW[o, c] is the correlation of delta[o] with input channel c
    per_draw = torch.nn.functional.conv2d(
        torch.as_tensor(dropped).reshape(draws * c_in, 1, *x.shape[1:]), torch.as_tensor(delta)[:, None]
    )
    grads = per_draw.reshape(draws, c_in, c_out, k, k).transpose(1, 2).numpy()
    norm = float((g0**2).sum())
    mean = grads.mean(axis=0)
    return {
        "mean_ratio": float((mean * g0).sum() / norm),
        "relative_noise": float(((grads - mean) ** 2).sum(axis=(1, 2, 3, 4)).mean() / norm),
        "g0": g0,
        "grads": grads,
    }
