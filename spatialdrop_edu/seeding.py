"""One call to make a notebook's random numbers repeatable."""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch

from ._validation import check_seed


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed Python, NumPy, PyTorch (every device) and, if it is imported, Keras.

    Args:
        seed: an int in ``[0, 2**32 - 1]``.

    Returns:
        A fresh ``numpy.random.Generator`` seeded with ``seed``, for code that takes an explicit
        generator (such as :func:`~spatialdrop_edu.numpy_dropout.numpy_dropout`).

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
