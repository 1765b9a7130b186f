"""The two calls every notebook starts with: repeatable random numbers, and the fastest device."""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch

from ._validation import check_choice, check_seed

DEVICE_KINDS = ("cuda", "mps", "cpu")


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed Python, NumPy, PyTorch (every device) and, if it is imported, Keras.

    Args:
        seed: an int in ``[0, 2**32 - 1]``.

    Returns:
        A fresh ``numpy.random.Generator`` seeded with ``seed``, for code that takes an explicit
        generator (such as :func:`~spatialdrop_edu.layers.numpy_reference.numpy_dropout`).

    Examples::

        >>> rng = seed_everything(0)
        >>> a = torch.rand(3); _ = seed_everything(0)
        >>> bool((a == torch.rand(3)).all())
        True
    """
    seed = check_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # inherited by worker processes
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds CUDA and MPS generators too
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed)
    return np.random.default_rng(seed)


def get_device(prefer: str | None = None) -> torch.device:
    """Return the device the course's code should run on: CUDA, then Apple's MPS, then the CPU.

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
    check_choice(prefer, DEVICE_KINDS, "prefer", allow_none=True)
    if not available[prefer]:
        raise RuntimeError(f"prefer={prefer!r} was asked for, but no {prefer} device is available here.")
    return torch.device(prefer)
