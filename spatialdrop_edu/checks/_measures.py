"""What the chapters' probes and judges share: answers read as arrays, statistical bounds, layers observed.

Each helper turns a learner's answer into something a judge can measure, or measures it the same way in every
chapter, and fails with feedback (:func:`~spatialdrop_edu.checks._harness.fail`) where the answer cannot be read:

* :func:`as_array`: a returned array, tensor or list as a float array;
* :func:`mean_bound`, :func:`fraction_bound`: ``SIGMAS``-wide bounds of an inverted-dropout mean and of a drop rate;
  :func:`check_inverted_output` and :func:`check_whole_map_scale_and_rate`: the verdicts several checkers share;
* :func:`record_layers`, :func:`build_student_model`: a learner's model run, and what chosen layers saw;
* :class:`ArrayPool`, :func:`pooled`: the arrays a probe saw, each reported once.
"""

from __future__ import annotations

import math

import numpy as np

from ._harness import SIGMAS, fail, run_student_code


def as_array(value, what: str) -> np.ndarray:
    """The learner's ``value`` (a NumPy array, a torch tensor or a list) as a float array, or feedback saying why not.

    Args:
        value: what the learner's function returned.
        what: how the function is named in the feedback.
    """
    if value is None:
        fail(f"{what} returned None: did you forget the `return` statement?")
    try:
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        fail(f"{what} must return an array, got {type(value).__name__}.")


def mean_bound(p: float, n: int) -> float:
    """SIGMAS-wide half-width for the mean of n independent inverted-dropout coins (mean 1, var p/(1-p))."""
    return SIGMAS * math.sqrt(p / ((1.0 - p) * n))


def fraction_bound(p: float, n: int) -> float:
    """SIGMAS-wide half-width for the fraction of n Bernoulli(p) trials that succeed."""
    return SIGMAS * math.sqrt(p * (1.0 - p) / n)


def check_inverted_output(y: np.ndarray, x_shape, p: float, flips: int, what: str) -> None:
    """Shared checks of one inverted-dropout output on ones: shape, values, drop rate, mean."""
    if y.shape != tuple(x_shape):
        fail(f"{what} returned shape {y.shape}, expected the input's shape {tuple(x_shape)}.")
    if not np.isfinite(y).all():
        fail(f"{what} returned NaN or infinite values with p = {p}: avoid dividing by zero.")
    scale = 1.0 / (1.0 - p)
    kept_value_ok = np.isclose(y, scale) | (y == 0)
    if not kept_value_ok.all():
        bad = np.unique(np.round(y[~kept_value_ok], 4))[:3].tolist()
        hint = " Did you forget to scale kept units by 1/(1-p)?" if np.isclose(bad[0], 1.0) else ""
        hint = hint or (" Did you scale by 1/p instead of 1/(1-p)?" if np.isclose(bad[0], 1.0 / p) else "")
        fail(
            f"on an input of ones with p = {p}, every output must be 0 (dropped) or 1/(1-p) = {scale:.2f} (kept), "
            f"but {what} also returned {bad}.{hint}"
        )
    dropped = float((y == 0).mean())
    bound = fraction_bound(p, flips)
    if abs(dropped - p) > bound:
        flipped = abs(dropped - (1 - p)) <= bound
        hint = " Is your mask keeping units with probability p instead of 1-p?" if flipped else ""
        fail(
            f"with p = {p}, {dropped:.3f} of the units were dropped, expected {p:.3f} ± {bound:.3f} "
            f"({SIGMAS:g} standard deviations over {flips} coin flips).{hint}"
        )


def check_whole_map_scale_and_rate(scales, dropped: int, maps: int, p: float, what: str = "feature maps") -> None:
    """The verdict every placement checker shares, once it has seen which maps a layer dropped.

    Kept maps must be scaled by ``1/(1-p)``, and the fraction of maps dropped must be ``p`` within
    ``SIGMAS`` standard deviations of a binomial over ``maps`` coins.

    Args:
        scales: the factor each kept map was multiplied by.
        dropped: how many maps were dropped whole.
        maps: how many maps were seen.
        p: the drop probability the learner was asked to use.
        what: what the maps are called in the feedback ("feature maps", "skip maps").
    """
    wrong = [c for c in scales if not math.isclose(c, 1 / (1 - p), rel_tol=1e-3)]
    if wrong:
        fail(
            f"kept {what} were multiplied by {wrong[0]:.3f}, expected 1/(1-p) = {1 / (1 - p):.3f} with p = {p}: "
            "pass the argument p to the layer (not 1 - p, not a constant); the layer scales by 1/(1-p) itself."
        )
    rate, bound = dropped / maps, fraction_bound(p, maps)
    if abs(rate - p) > bound:
        fail(
            f"{rate:.3f} of the {what} were dropped, expected p = {p} ± {bound:.3f} ({SIGMAS:g} standard "
            "deviations): pass the argument p to the layer (not 1 - p, not a constant)."
        )


def record_layers(model, x, *, inputs=None, outputs=None, what: str = "your model"):
    """Run the learner's ``model`` on ``x`` without gradients and record what chosen layers saw.

    Args:
        model: the learner's module.
        x: its input.
        inputs: ``{name: module}``; the first positional input of each is recorded under ``name``.
        outputs: ``{name: module}``; the output of each is recorded under ``name``.
        what: how the model is named in feedback.

    Returns:
        ``(recorded, output)``: a dict of detached copies, and the model's own output.
    """
    import torch

    seen = {}

    def keep(name):
        return lambda value: seen.__setitem__(name, value.detach().clone())

    # k=keep(n) binds each hook to its own name when the hook is made (a late-binding closure would share the last)
    hooks = [
        m.register_forward_pre_hook(lambda mod, args, k=keep(n): k(args[0]))  # noqa: B008
        for n, m in (inputs or {}).items()
    ]
    hooks += [
        m.register_forward_hook(lambda mod, args, out, k=keep(n): k(out))  # noqa: B008
        for n, m in (outputs or {}).items()
    ]
    try:
        with torch.no_grad():
            out = run_student_code(model, x, what=what)
    finally:
        for hook in hooks:
            hook.remove()
    return seen, out


def build_student_model(build_model, p: float):
    """The learner's ``build_model(p)``, which must return a ``torch.nn.Module``, put in training mode."""
    import torch

    model = run_student_code(build_model, p, what="your build_model")
    if not isinstance(model, torch.nn.Module):
        fail(f"build_model(p) must return a torch.nn.Module (e.g. nn.Sequential), got {type(model).__name__}.")
    return model.train()


class ArrayPool:
    """The arrays a probe saw, each kept once: a call that sees the same array again records its index.

    Examples::

        >>> import torch
        >>> pool = ArrayPool()
        >>> zeros, ones = torch.zeros(2), torch.ones(2)
        >>> pool.index(zeros), pool.index(ones), pool.index(torch.zeros(2))
        (0, 1, 0)
    """

    def __init__(self):
        self.arrays: list = []

    def index(self, tensor) -> int:
        """The index of ``tensor`` in the pool (equal dtype, shape and values), added if it is new."""
        import torch

        for i, kept in enumerate(self.arrays):
            if kept.dtype == tensor.dtype and kept.shape == tensor.shape and torch.equal(kept, tensor):
                return i
        self.arrays.append(tensor)
        return len(self.arrays) - 1


def pooled(pool: list, index):
    """The pool's array at ``index``: a judge's read of an :class:`ArrayPool` index, refused if no probe wrote it."""
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(pool):
        raise ValueError("a pool index the probe does not write")
    return pool[index]
