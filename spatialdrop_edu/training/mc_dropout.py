"""Monte Carlo dropout (Gal and Ghahramani, 2016), for any model with dropout layers.

At prediction time the dropout layers are left on and everything else is in evaluation mode
(:func:`mc_mode`; BatchNorm in particular uses its running statistics), and the model runs
``T`` times on the same input (:func:`mc_predict`): the passes differ by their dropout masks
alone, their mean is the prediction and their per-unit standard deviation a measure of the
model's uncertainty.
"""

from __future__ import annotations

import contextlib

import torch

from .._validation import check_positive_int, check_seed
from .measure import eval_mode, forward_batches
from .models import dropout_layers

__all__ = ["mc_mode", "mc_predict"]


@contextlib.contextmanager
def mc_mode(model: torch.nn.Module):
    """Inside a ``with`` block: ``model`` in evaluation mode but its dropout layers in training mode.

    The dropout layers are those :func:`~spatialdrop_edu.training.models.dropout_layers` finds.
    Every module's mode comes back afterwards.

    Examples::

        >>> from torch import nn
        >>> layers = nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Dropout(0.5)
        >>> net = nn.Sequential(*layers).train()
        >>> with mc_mode(net):
        ...     [m.training for m in net]
        [False, False, True]
        >>> [m.training for m in net]
        [True, True, True]
    """
    with eval_mode(model):
        for layer in dropout_layers(model):
            layer.train()
        yield model


def mc_predict(
    model: torch.nn.Module, inputs: torch.Tensor, passes: int = 20, *, seed: int = 0, batch_size: int = 512
) -> tuple[torch.Tensor, torch.Tensor]:
    """Monte Carlo dropout: ``passes`` predictions with the dropout layers on, their mean and std.

    The passes run in :func:`mc_mode`, so they differ by their dropout masks alone; the masks are
    drawn from PyTorch's global generator seeded with ``seed`` inside a forked random state, so the
    caller's random stream is the same afterwards as before. The modes are restored afterwards.

    Args:
        model: the trained network.
        inputs: its inputs.
        passes: the number of stochastic passes ``T``.
        seed: seeds the dropout masks.
        batch_size: inputs per forward pass.

    Returns:
        ``(mean, std)``, each shaped like the output, on the CPU: the per-unit mean over the passes
        and the per-unit standard deviation (``ddof=0``).

    Examples::

        >>> from spatialdrop_edu.training import TinyUNet
        >>> net = TinyUNet("spatial", 0.5, channels=4).eval()
        >>> mean, std = mc_predict(net, torch.rand(2, 1, 8, 8), passes=5)
        >>> mean.shape, bool(std.max() > 0), net.up1.skip_dropout.training
        (torch.Size([2, 1, 8, 8]), True, False)
    """
    passes = check_positive_int(passes, "passes", "stochastic forward passes")
    seed = check_seed(seed)
    device = next(model.parameters()).device
    with mc_mode(model), torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        outs = torch.stack([forward_batches(model, inputs, batch_size) for _ in range(passes)])
    return outs.mean(0), outs.std(0, unbiased=False)
