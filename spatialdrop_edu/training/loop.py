"""One training loop for every chapter: optimisation steps, epochs, early stopping, per-epoch metrics.

The loop is written once, in two layers with hooks, and every training of the course is a use of it:

* :func:`train_steps`, the inner loop: one optimisation step per minibatch (the model in training
  mode, ``loss(model, batch)``, backward, the optimizer's step), then ``on_step(loss, batch)``;
* :func:`fit`, the outer loop: epochs of :func:`train_steps`, the wall time of each epoch's steps,
  a measurement after each (``evaluate``), the best epoch by one metric (``monitor``), early
  stopping after ``patience`` epochs without a better one, the best weights put back, and a
  ``tqdm`` bar over epochs.

Its uses: :func:`train` fits a classifier (cross-entropy; loss and accuracy on the training and
validation sets after each epoch, both measured in evaluation mode, so their difference is the
generalisation gap, not a dropout artefact); :func:`train_epoch` is one epoch of its steps, what
:func:`~spatialdrop_edu.training.epochs.epoch_times` times;
:func:`~spatialdrop_edu.training.denoising.train_denoiser` fits chapter 8's denoiser (mean squared
error on fresh noise); :func:`spatialdrop_edu.analysis.fields.train_patch_classifier` runs
:func:`train_steps` alone. :func:`eval_mode` (every module's mode restored afterwards),
:func:`evaluate`, :func:`predict` and :func:`forward_batches` measure a model.

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

import contextlib
import copy
import math
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F

from .. import timing
from .._progress import progress_bar
from .._validation import check_choice, check_positive_int, check_seed
from ..runtime import get_device

__all__ = [
    "METRICS",
    "OPTIMIZERS",
    "STOP_ON",
    "eval_mode",
    "forward_batches",
    "predict",
    "evaluate",
    "train_steps",
    "fit",
    "replay_early_stopping",
    "classifier_batches",
    "classifier_loss",
    "train_epoch",
    "train",
]

#: The per-epoch lists in a history of :func:`train`, besides ``"epoch"``.
METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time")
#: The optimizers :func:`train` accepts: Adam with an L2 penalty, or AdamW with decoupled weight decay.
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
#: What :func:`train`'s early stopping waits for besides a lower validation loss, as ``{name: {metric: higher}}``.
STOP_ON = {"val_loss": {}, "val_loss_and_acc": {"val_acc": True}}


# -- measuring a model -----------------------------------------------------------------------------


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


# -- classifiers -----------------------------------------------------------------------------------


def classifier_batches(
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    generator: torch.Generator,
    augment=None,
    augment_generator: torch.Generator | None = None,
):
    """One epoch of minibatches ``(x, y)``: every example once, in an order drawn from ``generator``.

    Args:
        x, y: the training examples and their class labels, on one device.
        batch_size: minibatch size.
        generator: draws the order of the examples (a CPU ``torch.Generator``).
        augment: ``None``, or a function ``(minibatch, generator) -> minibatch`` applied to each ``x``.
        augment_generator: the generator handed to ``augment``.

    Examples::

        >>> x, y = torch.arange(5.)[:, None], torch.arange(5)
        >>> g = torch.Generator().manual_seed(0)
        >>> [b[1].tolist() for b in classifier_batches(x, y, 2, g)]
        [[4, 0], [1, 3], [2]]
    """
    for idx in torch.randperm(len(y), generator=generator).split(batch_size):
        idx = idx.to(x.device)
        yield (x[idx] if augment is None else augment(x[idx], augment_generator)), y[idx]


def classifier_loss(model: torch.nn.Module, batch: tuple) -> torch.Tensor:
    """The training loss of a classifier on one minibatch ``(x, y)``: cross-entropy of its logits.

    The ``loss`` that :func:`train_steps` and :func:`fit` take for every classifier of the course.

    Examples::

        >>> model = torch.nn.Linear(2, 3)
        >>> _ = [torch.nn.init.zeros_(w) for w in model.parameters()]
        >>> x, y = torch.ones(4, 2), torch.zeros(4, dtype=torch.long)
        >>> round(classifier_loss(model, (x, y)).item(), 4)  # log 3: all logits equal
        1.0986
    """
    x, y = batch
    return F.cross_entropy(model(x), y)


def train_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int,
    generator: torch.Generator,
    augment=None,
    augment_generator=None,
) -> None:
    """One epoch of a classifier's optimisation steps: every example once, in minibatches, with cross-entropy.

    :func:`train_steps` over :func:`classifier_batches` (same arguments); :func:`train` runs one
    per epoch, and :func:`~spatialdrop_edu.training.epochs.epoch_times` times them.

    Examples::

        >>> model = torch.nn.Linear(4, 2)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> x, y = torch.randn(10, 4), torch.randint(0, 2, (10,))
        >>> g = torch.Generator().manual_seed(0)
        >>> train_epoch(model, optimizer, x, y, batch_size=4, generator=g)
        >>> model.training
        True
    """
    train_steps(
        model, optimizer, classifier_batches(x, y, batch_size, generator, augment, augment_generator), classifier_loss
    )


def train(
    model: torch.nn.Module,
    data,
    *,
    epochs: int = 50,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    optimizer: str = "adam",
    patience: int | None = 10,
    stop_on: str = "val_loss",
    seed: int = 0,
    device=None,
    progress: bool = True,
    desc: str = "train",
    augment=None,
    restore_best: bool = True,
    test=None,
) -> dict:
    """Train a classifier on ``data.train`` with Adam and cross-entropy, watching ``data.val``; return the history.

    Args:
        model: a classifier returning logits; trained in place.
        data: a :class:`~spatialdrop_edu.training.data.Splits` (only ``train`` and ``val`` are used).
        epochs: the most epochs to run.
        batch_size: minibatch size.
        lr: Adam's learning rate.
        weight_decay: with ``optimizer="adam"``, an L2 penalty ``weight_decay * w`` added to the
            gradient (and so rescaled by Adam like the rest of it); with ``"adamw"``, decoupled weight
            decay: every step shrinks the weights by ``lr * weight_decay`` of themselves
            (Loshchilov and Hutter's AdamW).
        optimizer: ``"adam"`` (:class:`torch.optim.Adam`) or ``"adamw"`` (:class:`torch.optim.AdamW`);
            without weight decay the two take the same steps.
        patience: stop after this many epochs without a lower validation loss, and restore the
            best weights; ``None`` runs every epoch (and still restores the best weights).
        stop_on: what early stopping waits for (:data:`STOP_ON`): ``"val_loss"``, a lower validation
            loss; ``"val_loss_and_acc"``, a lower validation loss or a higher validation accuracy (the
            run stops when neither improved for ``patience`` epochs, so that a checkpoint chosen on
            accuracy is not cut short by a stop chosen on the loss). The weights restored are always
            those of the lowest validation loss.
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
        test: ``None``, or the test set ``(x, y)``, measured after every epoch into the per-epoch lists
            ``"test_loss"`` and ``"test_acc"``: it never chooses anything (the validation set does), but it
            lets a study re-score a run at another epoch, the one of best validation accuracy, say.

    Returns:
        The history of :func:`fit`: the per-epoch lists ``"epoch"`` (1, 2, ...) and :data:`METRICS`
        (and ``"test_loss"``, ``"test_acc"`` with ``test``), and ``"best_epoch"`` (the epoch of the
        lowest validation loss, 1-based), ``"best_val_loss"``, ``"best_val_acc"``, ``"epochs_run"``,
        ``"kept_epoch"`` and ``"device"``.

    Examples::

        >>> from spatialdrop_edu.training import load_mnist1d, mnist1d_cnn
        >>> data = load_mnist1d(train_size=200, val_size=100)
        >>> _ = torch.manual_seed(0)
        >>> h = train(mnist1d_cnn(), data, epochs=3, seed=0, device="cpu",
        ...           progress=False)
        >>> h["epoch"], h["epochs_run"], 1 <= h["best_epoch"] <= 3
        ([1, 2, 3], 3, True)
    """
    epochs = check_positive_int(epochs, "epochs", "the most epochs to run")
    batch_size = check_positive_int(batch_size, "batch_size", "examples per minibatch")
    if patience is not None:
        patience = check_positive_int(patience, "patience", "epochs without improvement before stopping")
    seed = check_seed(seed)
    device = get_device() if device is None else torch.device(device)

    model.to(device)
    (x, y), (x_val, y_val) = data.train, data.val
    x, y = x.to(device), y.to(device)
    check_choice(optimizer, OPTIMIZERS, "optimizer")
    check_choice(stop_on, tuple(STOP_ON), "stop_on")
    optimizer = OPTIMIZERS[optimizer](model.parameters(), lr=lr, weight_decay=weight_decay)
    order_gen = torch.Generator().manual_seed(seed)
    augment_gen = torch.Generator().manual_seed(seed + 1)
    torch.manual_seed(seed)  # dropout masks

    def measure() -> dict:
        train_loss, train_acc = evaluate(model, x, y)
        val_loss, val_acc = evaluate(model, x_val, y_val)
        metrics = {"train_loss": train_loss, "train_acc": train_acc, "val_loss": val_loss, "val_acc": val_acc}
        if test is not None:
            metrics["test_loss"], metrics["test_acc"] = evaluate(model, *test)
        return metrics

    history = fit(
        model,
        optimizer,
        lambda: classifier_batches(x, y, batch_size, order_gen, augment, augment_gen),
        classifier_loss,
        epochs=epochs,
        evaluate=measure,
        monitor="val_loss",
        patience=patience,
        also_improving=STOP_ON[stop_on],
        restore_best=restore_best,
        device=device,
        progress=progress,
        desc=desc,
        show={"val_loss": ".3f", "val_acc": ".3f"},
    )
    history["best_val_acc"] = history["val_acc"][history["best_epoch"] - 1]
    return history


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
