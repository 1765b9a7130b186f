"""What a run sets up before its first step: the optimizer, its generators and the dropout masks' seed.

Every training of the course starts the same way from its :class:`~spatialdrop_edu.training.settings.TrainSettings`
and its seed, written here once (:func:`prepare_run`):

* the optimizer of ``training.optimizer`` at ``training.lr`` with ``training.weight_decay``;
* a generator at ``seed`` for the minibatch order (and, in chapter 8, the training noise);
* a generator at ``seed + 1`` for the augmentations, so that augmenting or not leaves the order alone;
* PyTorch's global generator seeded with ``seed``, which the dropout layers draw their masks from.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .._validation import check_seed
from .settings import OPTIMIZERS, TrainSettings

__all__ = ["RunSetup", "prepare_run"]


class RunSetup(NamedTuple):
    """What :func:`prepare_run` makes: the optimizer, the order's generator and the augmentations'."""

    optimizer: torch.optim.Optimizer
    order: torch.Generator
    augment: torch.Generator


def prepare_run(model: torch.nn.Module, training: TrainSettings, seed: int) -> RunSetup:
    """The optimizer and generators of a run, and the dropout masks seeded; call it after moving the model.

    Args:
        model: the model to train (its parameters go to the optimizer).
        training: the run's training settings.
        seed: the run's seed.

    Examples::

        >>> net = torch.nn.Linear(2, 2)
        >>> setup = prepare_run(net, TrainSettings(optimizer="adamw"), seed=3)
        >>> type(setup.optimizer).__name__, setup.order.initial_seed()
        ('AdamW', 3)
        >>> setup.augment.initial_seed(), torch.initial_seed()
        (4, 3)
    """
    if not isinstance(training, TrainSettings):
        raise TypeError(f"training must be a TrainSettings, got {type(training).__name__}.")
    seed = check_seed(seed)
    make = OPTIMIZERS[training.optimizer]
    optimizer = make(model.parameters(), lr=training.lr, weight_decay=training.weight_decay)
    order = torch.Generator().manual_seed(seed)
    augment = torch.Generator().manual_seed(seed + 1)
    torch.manual_seed(seed)  # the dropout masks
    return RunSetup(optimizer, order, augment)
