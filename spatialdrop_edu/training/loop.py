"""One training loop for every chapter: optimisation steps, epochs, early stopping, per-epoch metrics.

The loop is written once, in two layers with hooks, and every training of the course is a use of it:

* :func:`train_steps`, the inner loop: one optimisation step per minibatch (the model in training
  mode, ``loss(model, batch)``, backward, the optimizer's step), then ``on_step(loss, batch)``;
* :func:`fit`, the outer loop: epochs of :func:`train_steps`, the wall time of each epoch's steps,
  a measurement after each (``evaluate``), the best epoch by one metric (``monitor``), early
  stopping after ``patience`` epochs without a better one, the best weights put back, and a
  ``tqdm`` bar over epochs.

Its uses: :func:`~spatialdrop_edu.training.classifier.train` fits a classifier
(:mod:`~spatialdrop_edu.training.classifier`);
:func:`~spatialdrop_edu.training.denoising.train_denoiser` fits chapter 8's denoiser (mean squared
error on fresh noise); :func:`spatialdrop_edu.analysis.fields.train_patch_classifier` runs
:func:`train_steps` alone. :mod:`~spatialdrop_edu.training.measure` measures a model; a run's optimizer and
generators come from :func:`~spatialdrop_edu.training.prepare.prepare_run`.

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
import math
from collections.abc import Callable, Iterable

import torch

from .. import timing
from .._progress import progress_bar
from .._validation import check_positive_int

__all__ = ["train_steps", "fit", "replay_early_stopping"]


# -- the loop --------------------------------------------------------------------------------------


def train_steps(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Iterable,
    loss: Callable[[torch.nn.Module, object], torch.Tensor],
    *,
    on_step: Callable[[torch.Tensor, object], None] | None = None,
) -> None:
    """Optimisation steps, one per minibatch: the inner loop of every training in the course.

    The model is put in training mode; for each ``batch`` of ``batches``, ``loss(model, batch)`` is
    computed, its gradients are taken and ``optimizer`` steps; then ``on_step(loss, batch)`` is called
    (to record the loss, say).

    Examples::

        >>> model = torch.nn.Linear(1, 1, bias=False)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        >>> batches = [(torch.ones(4, 1), 3 * torch.ones(4, 1))] * 20
        >>> import torch.nn.functional as F
        >>> mse = lambda m, b: F.mse_loss(m(b[0]), b[1])
        >>> train_steps(model, optimizer, batches, mse)
        >>> round(model.weight.item(), 3)
        3.0
    """
    model.train()
    for batch in batches:
        value = loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        if on_step is not None:
            on_step(value, batch)


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    epoch_batches: Callable[[], Iterable],
    loss: Callable[[torch.nn.Module, object], torch.Tensor],
    *,
    epochs: int,
    evaluate: Callable[[], dict],
    monitor: str,
    device,
    higher_is_better: bool = False,
    patience: int | None = None,
    also_improving: dict | None = None,
    scheduler=None,
    restore_best: bool = True,
    on_step=None,
    progress: bool = True,
    desc: str = "train",
    show: dict | None = None,
) -> dict:
    """Epochs of :func:`train_steps`, each followed by a measurement; early stopping; the best weights put back.

    Args:
        model: the model, on ``device``; trained in place.
        optimizer: steps the model's parameters.
        epoch_batches: a function of no arguments that gives one epoch's minibatches (called once per epoch).
        loss: ``loss(model, batch)``, the training loss of one minibatch.
        epochs: the most epochs to run.
        evaluate: a function of no arguments, called after each epoch, that returns the epoch's
            metrics as a dict of floats (the model is in training mode when it is called).
        monitor: the metric of ``evaluate`` that selects the best epoch.
        device: where the model trains (the epoch's wall time is read after its queued work is done).
        higher_is_better: ``True`` where a higher ``monitor`` is better (a PSNR), ``False`` where a
            lower one is (a loss).
        patience: stop after this many epochs without a better ``monitor``; ``None`` runs every epoch.
        also_improving: other metrics of ``evaluate`` whose improvement also keeps the run going, as
            ``{name: higher_is_better}``: the run then stops after ``patience`` epochs in which neither
            ``monitor`` nor any of them improved. The best epoch is still ``monitor``'s.
        scheduler: ``None``, or a learning-rate scheduler of ``optimizer`` (``torch.optim.lr_scheduler``),
            stepped once after each epoch's optimisation steps, before the epoch is measured.
        restore_best: end with the weights of the best epoch; ``False`` keeps the last epoch's.
        on_step: passed to :func:`train_steps`.
        progress: show a ``tqdm`` bar over epochs (drawn by ``spatialdrop_edu._progress``, the package's one
            bar); when early stopping ends the run, the bar stays, complete (green in Jupyter), labelled
            ``"<desc>: stopped early at epoch N (best: M)"``.
        desc: the bar's label.
        show: the metrics the bar shows after each epoch, with their formats (``{"val_loss": ".3f"}``).

    Returns:
        A dict with the per-epoch lists ``"epoch"`` (1, 2, ...), every metric of ``evaluate`` and
        ``"epoch_time"`` (seconds of the epoch's optimisation steps), then ``"best_epoch"``,
        ``"best_<monitor>"``, ``"epochs_run"``, ``"kept_epoch"`` (the epoch whose weights the model
        holds) and ``"device"``. The model is left in evaluation mode.

    Examples::

        >>> model = torch.nn.Linear(1, 1, bias=False)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> x, y = torch.ones(4, 1), 3 * torch.ones(4, 1)
        >>> import torch.nn.functional as F
        >>> mse = lambda m, b: F.mse_loss(m(b[0]), b[1])
        >>> val = lambda: {"val_loss": mse(model, (x, y)).item()}
        >>> h = fit(model, optimizer, lambda: [(x, y)], mse, epochs=30, device="cpu",
        ...         progress=False, evaluate=val, monitor="val_loss", patience=3)
        >>> h["epochs_run"], h["best_epoch"], list(h)[:3]
        (30, 30, ['epoch', 'val_loss', 'epoch_time'])
    """
    clock = timing.device_clock(torch.device(device))
    history: dict = {"epoch": []}
    best, best_state, best_epoch, waited = (-math.inf if higher_is_better else math.inf), None, 0, 0
    others = {name: -math.inf if higher else math.inf for name, higher in (also_improving or {}).items()}
    stopped_early = False
    bar = progress_bar(epochs, desc, progress)
    for epoch in range(1, epochs + 1):
        start = clock()
        train_steps(model, optimizer, epoch_batches(), loss, on_step=on_step)
        if scheduler is not None:
            scheduler.step()
        epoch_time = clock() - start
        metrics = {**evaluate(), "epoch_time": epoch_time}
        history["epoch"].append(epoch)
        for name, value in metrics.items():
            history.setdefault(name, []).append(value)
        score = metrics[monitor]
        improved = [
            name for name, higher in (also_improving or {}).items() if _better(metrics[name], others[name], higher)
        ]
        for name in improved:
            others[name] = metrics[name]
        if _better(score, best, higher_is_better):
            best, best_epoch, waited = score, epoch, 0
            if restore_best:
                best_state = copy.deepcopy(model.state_dict())
        elif improved:
            waited = 0
        else:
            waited += 1
        bar.update(1)
        bar.set_postfix({name: f"{metrics[name]:{spec}}" for name, spec in (show or {}).items()})
        if patience is not None and waited >= patience:
            stopped_early = epoch < epochs
            break
    _close_progress(bar, desc, epoch, best_epoch if stopped_early else None)
    if restore_best:
        model.load_state_dict(best_state)
    model.eval()
    epochs_run = len(history["epoch"])
    history.update(
        {
            "best_epoch": best_epoch,
            f"best_{monitor}": best,
            "epochs_run": epochs_run,
            "kept_epoch": best_epoch if restore_best else epochs_run,
            "device": torch.device(device).type,
        }
    )
    return history


def _better(value: float, best: float, higher_is_better: bool) -> bool:
    return value > best if higher_is_better else value < best


def replay_early_stopping(values, patience: int | None, *, higher_is_better: bool = False) -> tuple[int, int]:
    """Where :func:`fit`'s early stopping would have ended, replayed on a run's per-epoch ``values``.

    Early stopping changes *when* a run ends, never the epochs before: with the same seed, a run
    that stops early is the first part of a run that does not. So a run trained for every epoch,
    whose curves are kept, answers for every patience and every monitored metric at once.

    Args:
        values: the monitored metric, epoch by epoch (a validation loss, accuracy or PSNR).
        patience: stop after this many epochs without a better value; ``None``: never.
        higher_is_better: ``True`` for an accuracy or a PSNR, ``False`` for a loss.

    Returns:
        ``(best_epoch, epochs_run)``, both 1-based: the epoch whose weights early stopping keeps
        (the first best value seen before stopping) and the epoch it stops after.

    Examples::

        >>> val_loss = [0.9, 0.7, 0.8, 0.75, 0.6, 0.65, 0.7, 0.72]
        >>> replay_early_stopping(val_loss, 2), replay_early_stopping(val_loss, 3)
        ((2, 4), (5, 8))
        >>> replay_early_stopping([0.5, 0.7, 0.7, 0.6], 1, higher_is_better=True)
        (2, 3)
    """
    if patience is not None:
        patience = check_positive_int(patience, "patience", "epochs without improvement before stopping")
    values = [float(v) for v in values]
    if not values:
        raise ValueError("values must hold at least one epoch's value.")
    best, best_epoch, waited = values[0], 1, 0
    for epoch, value in enumerate(values[1:], start=2):
        if _better(value, best, higher_is_better):
            best, best_epoch, waited = value, epoch, 0
        else:
            waited += 1
        if patience is not None and waited >= patience:
            return best_epoch, epoch
    return best_epoch, len(values)


def _close_progress(bar, desc: str, epoch: int, best_epoch: int | None) -> None:
    """Close the epoch bar of a run whose last epoch was ``epoch``.

    A run that early stopping ended (``best_epoch`` given) keeps its bar, complete and labelled
    ``"<desc>: stopped early at epoch N (best: M)"``: ``tqdm.auto``'s notebook bar turns red, its
    sign of an error, when it is closed before its total, so the total becomes the epochs run. A
    run of every epoch closes its bar as before (``leave=False``: it disappears).
    """
    if best_epoch is not None:
        bar.total = epoch
        widget = getattr(bar, "container", None)  # tqdm.notebook's row of widgets: (label, progress bar, text)
        if widget is not None:
            widget.children[1].max = epoch
        bar.leave = True
        bar.set_description(f"{desc}: stopped early at epoch {epoch} (best: {best_epoch})", refresh=False)
        bar.refresh()
    bar.close()
