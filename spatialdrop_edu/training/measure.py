"""Measuring a model: outputs in evaluation mode, batch by batch, and a classifier's loss and accuracy.

:func:`eval_mode` puts a model in evaluation mode and gives every module its own mode back afterwards;
:func:`forward_batches` runs a model over many inputs a minibatch at a time; :func:`predict` does so in
evaluation mode, and :func:`evaluate` gives a classifier's mean cross-entropy and accuracy.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

__all__ = ["eval_mode", "forward_batches", "predict", "evaluate"]


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module):
    """Put ``model`` in evaluation mode inside a ``with`` block; every module's own mode comes back after.

    Examples::

        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).train()
        >>> with eval_mode(model):
        ...     model.training, model[1].training
        (False, False)
        >>> model.training, model[1].training
        (True, True)
    """
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, mode in modes:
            module.training = mode


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def forward_batches(model: torch.nn.Module, inputs: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """The model's outputs on ``inputs``, ``batch_size`` at a time on its device, gathered on the CPU.

    The model runs in whatever mode it is in (see :func:`predict` for evaluation mode).

    Examples::

        >>> model = torch.nn.Linear(3, 2)
        >>> forward_batches(model, torch.zeros(5, 3), batch_size=2).shape
        torch.Size([5, 2])
    """
    device = _device_of(model)
    return torch.cat([model(inputs[i : i + batch_size].to(device)).cpu() for i in range(0, len(inputs), batch_size)])


def predict(model: torch.nn.Module, inputs: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """The model's outputs on ``inputs`` in evaluation mode (modes restored afterwards), on the CPU.

    Examples::

        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.9)).train()
        >>> x = torch.ones(4, 3)
        >>> torch.equal(predict(model, x), predict(model, x)), model.training
        (True, True)
    """
    with eval_mode(model):
        return forward_batches(model, inputs, batch_size)


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``(x, y)``, in evaluation mode.

    The model's modes are restored afterwards. ``x`` and ``y`` are moved to the model's device.

    Examples::

        >>> model = torch.nn.Linear(2, 2)
        >>> x, y = torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)
        >>> loss, acc = evaluate(model, x, y)
        >>> 0.0 <= acc <= 1.0
        True
    """
    device = _device_of(model)
    total_loss, correct = 0.0, 0
    with eval_mode(model):
        for start in range(0, len(y), batch_size):
            xb, yb = x[start : start + batch_size].to(device), y[start : start + batch_size].to(device)
            logits = model(xb)
            total_loss += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += (logits.argmax(1) == yb).sum().item()
    return total_loss / len(y), correct / len(y)
