"""One training loop for every chapter: minibatches, per-epoch metrics, early stopping.

:func:`~spatialdrop_edu.training.loop.train` fits a classifier with Adam and cross-entropy and records, after each epoch, the
loss and accuracy on the training and validation sets (both measured in evaluation mode, so their
difference is the generalisation gap, not a dropout artefact) and the wall time of the epoch's
optimisation steps. It stops when the validation loss has not improved for ``patience`` epochs
and puts the weights of the best epoch back into the model.

A run is a function of its seed: the seed drives the minibatch order (a private ``torch.Generator``)
and the dropout masks (PyTorch's global generator, seeded at the start). The same seed gives the same
history, bit for bit (timings aside), under these conditions only:

* the same device (a GPU's kernels differ from the CPU's, and on a GPU only with
  ``torch.use_deterministic_algorithms(True)``);
* the same CPU kernels: ATen's capability, oneDNN's instruction set, MKL's code path and NumPy's
  dispatch, which the reproducible mode pins (``spatialdrop_edu.reproducible``) so that any x86-64
  processor with AVX2 runs the same ones;
* the same PyTorch thread count (a reduction split over other threads sums in another order);
* the same versions of PyTorch, NumPy and this package.

Change any of them and the last bits of some operations change; training amplifies them, so the
trajectories drift apart after some epochs (one run's test accuracy by a few points).
"""

from __future__ import annotations

import copy
import time

import torch
import torch.nn.functional as F

from .._validation import check_positive_int, check_seed

__all__ = ["train", "train_epoch", "evaluate", "METRICS"]

#: The per-epoch lists in a history, besides ``"epoch"``.
METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time")


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``(x, y)``, in evaluation mode.

    The model's training/evaluation mode is restored afterwards. ``x`` and ``y`` are moved to the
    model's device.

    Examples::

        >>> model = torch.nn.Linear(2, 2)
        >>> loss, acc = evaluate(model, torch.zeros(4, 2), torch.zeros(4, dtype=torch.long))
        >>> 0.0 <= acc <= 1.0
        True
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    try:
        for start in range(0, len(y), batch_size):
            xb, yb = x[start:start + batch_size].to(device), y[start:start + batch_size].to(device)
            logits = model(xb)
            total_loss += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += (logits.argmax(1) == yb).sum().item()
    finally:
        model.train(was_training)
    return total_loss / len(y), correct / len(y)


def train(model: torch.nn.Module, data, *, epochs: int = 50, batch_size: int = 64, lr: float = 3e-3,
          weight_decay: float = 0.0, patience: int | None = 10, seed: int = 0, device=None,
          progress: bool = True, desc: str = "train", augment=None, restore_best: bool = True) -> dict:
    """Train ``model`` on ``data.train``, watching ``data.val``; return the history.

    Args:
        model: a classifier returning logits; trained in place.
        data: a :class:`~spatialdrop_edu.training.data.Splits` (only ``train`` and ``val`` are used).
        epochs: the most epochs to run.
        batch_size: minibatch size.
        lr: Adam's learning rate.
        weight_decay: Adam's L2 penalty.
        patience: stop after this many epochs without a lower validation loss, and restore the
            best weights; ``None`` runs every epoch (and still restores the best weights).
        seed: seeds the minibatch order and the dropout masks.
        device: where to train; ``None`` picks :func:`~spatialdrop_edu.runtime.get_device`.
        progress: show a ``tqdm`` bar over epochs; when early stopping ends the run, the bar stays,
            complete (green in Jupyter), labelled ``"<desc>: stopped early at epoch N (best: M)"``.
        desc: the bar's label.
        augment: ``None``, or a function ``(minibatch, generator) -> minibatch`` applied to every
            training minibatch, drawing from its own generator seeded with ``seed + 1``.
        restore_best: end with the weights of the epoch of the lowest validation loss (the
            default); ``False`` keeps the last epoch's weights, so that a run with ``patience=None``
            has no early stopping at all (chapter 7 measures early stopping as a regulariser).

    Returns:
        A dict with the per-epoch lists ``"epoch"`` (1, 2, ...) and :data:`METRICS`, and
        ``"best_epoch"`` (the epoch of the lowest validation loss, 1-based), ``"best_val_loss"``,
        ``"best_val_acc"``, ``"epochs_run"``, ``"kept_epoch"`` (the epoch whose weights the model
        holds) and ``"device"``.

    Examples::

        >>> from spatialdrop_edu.training import load_mnist1d, mnist1d_cnn
        >>> data = load_mnist1d(train_size=200, val_size=100)
        >>> _ = torch.manual_seed(0)
        >>> h = train(mnist1d_cnn(), data, epochs=3, seed=0, device="cpu", progress=False)
        >>> h["epoch"], h["epochs_run"], 1 <= h["best_epoch"] <= 3
        ([1, 2, 3], 3, True)
    """
    from ..runtime import get_device

    epochs = check_positive_int(epochs, "epochs", "the most epochs to run")
    batch_size = check_positive_int(batch_size, "batch_size", "examples per minibatch")
    if patience is not None:
        patience = check_positive_int(patience, "patience", "epochs without improvement before stopping")
    seed = check_seed(seed)
    device = get_device() if device is None else torch.device(device)

    model.to(device)
    (x, y), (x_val, y_val) = data.train, data.val
    x, y = x.to(device), y.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    order_gen = torch.Generator().manual_seed(seed)
    augment_gen = torch.Generator().manual_seed(seed + 1)
    torch.manual_seed(seed)   # dropout masks

    history = {"epoch": [], **{m: [] for m in METRICS}}
    best_loss, best_state, best_epoch, waited, stopped_early = float("inf"), None, 0, 0, False
    bar = _progress(epochs, desc, progress)
    for epoch in range(1, epochs + 1):
        start = _sync_time(device)
        train_epoch(model, optimizer, x, y, batch_size=batch_size, generator=order_gen, augment=augment,
                    augment_generator=augment_gen)
        epoch_time = _sync_time(device) - start

        train_loss, train_acc = evaluate(model, x, y)
        val_loss, val_acc = evaluate(model, x_val, y_val)
        for name, value in zip(("epoch", *METRICS), (epoch, train_loss, train_acc, val_loss, val_acc, epoch_time)):
            history[name].append(value)
        if val_loss < best_loss:
            best_loss, best_epoch, waited = val_loss, epoch, 0
            if restore_best:
                best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(val_loss=f"{val_loss:.3f}", val_acc=f"{val_acc:.3f}")
        if patience is not None and waited >= patience:
            stopped_early = epoch < epochs
            break
    _close_progress(bar, desc, epoch, best_epoch if stopped_early else None)
    if restore_best:
        model.load_state_dict(best_state)
    model.eval()
    history.update(best_epoch=best_epoch, best_val_loss=best_loss,
                   best_val_acc=history["val_acc"][best_epoch - 1], epochs_run=len(history["epoch"]),
                   kept_epoch=best_epoch if restore_best else len(history["epoch"]), device=device.type)
    return history


def train_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, *,
                batch_size: int, generator: torch.Generator, augment=None, augment_generator=None) -> None:
    """One epoch of optimisation steps: every example once, in minibatches, with cross-entropy.

    The model is put in training mode. :func:`train` runs one per epoch; so does
    :func:`~spatialdrop_edu.training.epochs.epoch_times`, which times them.

    Args:
        model: a classifier returning logits, on the device of ``x``.
        optimizer: steps the model's parameters.
        x, y: the training examples and their class labels, on one device.
        batch_size: minibatch size.
        generator: draws the order of the examples (a CPU ``torch.Generator``).
        augment: ``None``, or a function ``(minibatch, generator) -> minibatch``.
        augment_generator: the generator handed to ``augment``.

    Examples::

        >>> model = torch.nn.Linear(4, 2)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> x, y = torch.randn(10, 4), torch.randint(0, 2, (10,))
        >>> train_epoch(model, optimizer, x, y, batch_size=4, generator=torch.Generator().manual_seed(0))
        >>> model.training
        True
    """
    model.train()
    for idx in torch.randperm(len(y), generator=generator).split(batch_size):
        idx = idx.to(x.device)
        xb = x[idx] if augment is None else augment(x[idx], augment_generator)
        loss = F.cross_entropy(model(xb), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def _progress(total: int, desc: str, show: bool):
    """A ``tqdm.auto`` bar over ``total`` epochs labelled ``desc``, or ``None`` when ``show`` is false."""
    from .._progress import progress_bar

    return progress_bar(total, desc, show)


def _close_progress(bar, desc: str, epoch: int, best_epoch: int | None) -> None:
    """Close the epoch bar of a run whose last epoch was ``epoch``.

    A run that early stopping ended (``best_epoch`` given) keeps its bar, complete and labelled
    ``"<desc>: stopped early at epoch N (best: M)"``: ``tqdm.auto``'s notebook bar turns red, its
    sign of an error, when it is closed before its total, so the total becomes the epochs run. A
    run of every epoch closes its bar as before (``leave=False``: it disappears).
    """
    if bar is None:
        return
    if best_epoch is not None:
        bar.total = epoch
        widget = getattr(bar, "container", None)  # tqdm.notebook's row of widgets: (label, progress bar, text)
        if widget is not None:
            widget.children[1].max = epoch
        bar.leave = True
        bar.set_description(f"{desc}: stopped early at epoch {epoch} (best: {best_epoch})", refresh=False)
        bar.refresh()
    bar.close()


def _sync_time(device: torch.device) -> float:
    """``time.perf_counter()`` after the device has finished its queued work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
    return time.perf_counter()
