"""Pick the fastest device that is there: CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch

DEVICE_KINDS = ("cuda", "mps", "cpu")


def get_device(prefer: str | None = None) -> torch.device:
    """Return the device the course's code should run on.

    Args:
        prefer: ``None`` to pick automatically (CUDA if available, else MPS, else CPU), or one of
            ``"cuda"``, ``"mps"``, ``"cpu"`` to ask for that device; asking for one that is not
            available raises ``RuntimeError``.

    Examples::

        >>> get_device("cpu")
        device(type='cpu')
    """
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available(),
        "cpu": True,
    }
    if prefer is None:
        return torch.device(next(kind for kind in DEVICE_KINDS if available[kind]))
    if prefer not in DEVICE_KINDS:
        raise ValueError(f"prefer must be None, 'cuda', 'mps' or 'cpu', got {prefer!r}.")
    if not available[prefer]:
        raise RuntimeError(f"prefer={prefer!r} was asked for, but no {prefer} device is available here.")
    return torch.device(prefer)
