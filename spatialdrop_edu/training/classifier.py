"""Training a classifier with the one loop: cross-entropy over minibatches, loss and accuracy after each epoch.

:func:`train` fits a classifier with :func:`~spatialdrop_edu.training.loop.fit`: loss and accuracy on the
training and validation sets after each epoch, both measured in evaluation mode, so their difference is the
generalisation gap, not a dropout artefact. :func:`classifier_batches` draws its minibatches (with an
augmentation, if any), :func:`classifier_loss` scores one, and :func:`train_epoch` is one epoch of its steps,
what :func:`~spatialdrop_edu.training.epochs.epoch_times` times.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..runtime import get_device
from .augment import augmentation
from .loop import fit, train_steps
from .measure import evaluate
from .prepare import prepare_run
from .settings import STOP_ON, TrainSettings, training_settings

__all__ = ["METRICS", "CLASSIFIER_TRAINING", "classifier_batches", "classifier_loss", "train_epoch", "train"]

#: The per-epoch lists in a history of :func:`train`, besides ``"epoch"``.
METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time")


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

    The ``loss`` that :func:`~spatialdrop_edu.training.loop.train_steps` and
    :func:`~spatialdrop_edu.training.loop.fit` take for every classifier of the course.

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

    :func:`~spatialdrop_edu.training.loop.train_steps` over :func:`classifier_batches` (same arguments);
    :func:`train` runs one per epoch, and :func:`~spatialdrop_edu.training.epochs.epoch_times` times them.

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


#: The training settings of :func:`train` where none are given: its keywords change them.
CLASSIFIER_TRAINING = TrainSettings(epochs=50, batch_size=64, lr=3e-3, patience=10)


def train(
    model: torch.nn.Module,
    data,
    training: TrainSettings | None = None,
    *,
    seed: int = 0,
    device=None,
    progress: bool = True,
    desc: str = "train",
    restore_best: bool = True,
    test=None,
    **settings,
) -> dict:
    """Train a classifier on ``data.train`` with cross-entropy, watching ``data.val``; return the history.

    Args:
        model: a classifier returning logits; trained in place.
        data: a :class:`~spatialdrop_edu.training.data.Splits` (only ``train`` and ``val`` are used).
        training: the :class:`~spatialdrop_edu.training.settings.TrainSettings` of the run; or leave it
            out and give settings as keywords (``epochs=5, lr=1e-2``), which change
            :data:`CLASSIFIER_TRAINING` (50 epochs, minibatches of 64, Adam at 3e-3, patience 10). What
            they mean here: ``patience`` epochs without a lower validation loss stop the run (``None``
            runs every epoch); ``stop_on`` (:data:`~spatialdrop_edu.training.settings.STOP_ON`):
            ``"val_loss"`` waits for a lower validation loss, ``"val_loss_and_acc"`` also for a higher
            validation accuracy (so that a checkpoint chosen on accuracy is not cut short by a stop
            chosen on the loss; the weights restored are always those of the lowest validation loss);
            ``weight_decay`` is an L2 penalty ``weight_decay * w`` added to the gradient with
            ``optimizer="adam"`` (rescaled by Adam like the rest of it), decoupled weight decay with
            ``"adamw"`` (every step shrinks the weights by ``lr * weight_decay`` of themselves,
            Loshchilov and Hutter's AdamW); ``augment`` names the augmentation applied to every training
            minibatch (:func:`~spatialdrop_edu.training.augment.augmentation`).
        seed: seeds the minibatch order, the augmentations (``seed + 1``) and the dropout masks
            (:func:`~spatialdrop_edu.training.prepare.prepare_run`).
        device: where to train; ``None`` picks :func:`~spatialdrop_edu.runtime.get_device`.
        progress: show a ``tqdm`` bar over epochs; when early stopping ends the run, the bar stays,
            complete (green in Jupyter), labelled ``"<desc>: stopped early at epoch N (best: M)"``.
        desc: the bar's label.
        restore_best: end with the weights of the epoch of the lowest validation loss (the
            default); ``False`` keeps the last epoch's weights, so that a run with ``patience=None``
            has no early stopping at all (chapter 7 measures early stopping as a regulariser).
        test: ``None``, or the test set ``(x, y)``, measured after every epoch into the per-epoch lists
            ``"test_loss"`` and ``"test_acc"``: it never chooses anything (the validation set does), but it
            lets a study re-score a run at another epoch, the one of best validation accuracy, say.

    Returns:
        The history of :func:`~spatialdrop_edu.training.loop.fit`: the per-epoch lists ``"epoch"`` (1, 2, ...)
        and :data:`METRICS` (and ``"test_loss"``, ``"test_acc"`` with ``test``), and ``"best_epoch"`` (the epoch of the
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
    training = training_settings(training, settings, CLASSIFIER_TRAINING)
    device = get_device() if device is None else torch.device(device)
    model.to(device)
    (x, y), (x_val, y_val) = data.train, data.val
    x, y = x.to(device), y.to(device)
    optimizer, order_gen, augment_gen = prepare_run(model, training, seed)
    augment = augmentation(training.augment)

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
        lambda: classifier_batches(x, y, training.batch_size, order_gen, augment, augment_gen),
        classifier_loss,
        epochs=training.epochs,
        evaluate=measure,
        monitor="val_loss",
        patience=training.patience,
        also_improving=STOP_ON[training.stop_on],
        restore_best=restore_best,
        device=device,
        progress=progress,
        desc=desc,
        show={"val_loss": ".3f", "val_acc": ".3f"},
    )
    history["best_val_acc"] = history["val_acc"][history["best_epoch"] - 1]
    return history
