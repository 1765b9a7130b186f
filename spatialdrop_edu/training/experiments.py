"""The runs the training chapters study: one :func:`trial` over a table of the kinds of run.

For each kind of run (its typed settings: :mod:`~spatialdrop_edu.training.runs`) the table
:data:`KINDS` holds what :func:`trial` needs:

* the data and the untrained model, ``<kind>_data(run, seed)`` and ``<kind>_model(run, seed)``
  (:mod:`~spatialdrop_edu.training.builders`);
* the training, the loop of the kind (a classifier's or the denoiser's), set up by
  :func:`~spatialdrop_edu.training.prepare.prepare_run`;
* the measurement: a JSON-ready dict of results that :func:`~spatialdrop_edu.training.study.run_study` saves.

``<kind>_trial(config, seed)`` is :func:`trial` for a kind's stored dict (or its typed run), the
function a study runs. The kinds: MNIST-1D classification (chapter 6), image patches with other
regularisers beside dropout (chapter 7) and a U-Net denoiser (chapter 8).
"""

from __future__ import annotations

import functools
import itertools
import statistics
import time
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn

from ..runtime import get_device
from ..tagging.corpus import GROUPS
from .builders import (
    denoising_data,
    denoising_model,
    mnist1d_data,
    mnist1d_model,
    patch_data,
    patch_model,
    tagger_data,
    tagger_model,
)
from .classifier import METRICS, classifier_batches, classifier_loss, train
from .data import (
    Splits,
    load_mnist1d,
    num_classes,
)
from .denoising import copy_report, path_ablation, path_contributions, train_denoiser, uncertainty_report
from .loop import replay_early_stopping, train_steps
from .mc_dropout import mc_predict
from .measure import evaluate, predict
from .models import dropout_layers
from .prepare import prepare_run
from .runs import DenoisingRun, MNIST1DReadmeRun, MNIST1DRun, PatchRun, Run, TaggerRun, run_from_json

__all__ = [
    "Kind",
    "KINDS",
    "trial",
    "mnist1d_trial",
    "mnist1d_readme_trial",
    "patch_trial",
    "denoising_trial",
    "tagger_trial",
]


def _desc(run: Run, seed: int) -> str:
    return f"{run.dropout.variant} p={run.dropout.p} seed={seed}"


# -- chapter 6: MNIST-1D ---------------------------------------------------------------------------


def _train_classifier(model, data, run, seed, device, progress, *, keep_last_without_patience=False) -> dict:
    """A classifier's training: the best weights restored, or, with ``keep_last_without_patience`` and no
    early stopping, the last ones (chapter 7 measures early stopping as a regulariser)."""
    restore_best = not keep_last_without_patience or run.training.patience is not None
    return train(
        model,
        data,
        run.training,
        seed=seed,
        device=device,
        progress=progress,
        desc=_desc(run, seed),
        restore_best=restore_best,
        test=data.test,
    )


def _classifier_scores(model, data, history) -> tuple[float, float, int]:
    """The test loss and accuracy of the weights kept, and the first epoch of the highest validation accuracy."""
    test_loss, test_acc = evaluate(model, *data.test)
    acc_epoch, _ = replay_early_stopping(history["val_acc"], None, higher_is_better=True)  # the first maximum
    return test_loss, test_acc, acc_epoch


def _measure_mnist1d(model, data, run, seed, history, start) -> dict:
    test_loss, test_acc, acc_epoch = _classifier_scores(model, data, history)
    return {
        "test_acc": test_acc,
        "test_loss": test_loss,
        "best_epoch": history["best_epoch"],
        "best_val_loss": history["best_val_loss"],
        "best_val_acc": history["best_val_acc"],
        "acc_epoch": acc_epoch,
        "test_acc_at_acc_epoch": history["test_acc"][acc_epoch - 1],
        "epochs_run": history["epochs_run"],
        "epoch_time": statistics.median(history["epoch_time"]),
        "device": history["device"],
        "wall_time": time.perf_counter() - start,
        "curves": {m: [round(v, 5) for v in history[m]] for m in (*METRICS, "test_acc") if m != "epoch_time"},
    }


def mnist1d_trial(config, seed: int, *, device=None, progress: bool = False) -> dict:
    """Train one MNIST-1D CNN and measure it: the run behind every MNIST-1D study.

    The seed picks the training and validation sequences, the initial weights, the minibatch order
    and the dropout masks; runs with the same seed and different dropout share the first three.

    ``config`` is a :class:`~spatialdrop_edu.training.runs.MNIST1DRun` or its stored dict (see
    :func:`~spatialdrop_edu.training.runs.mnist1d_config`); the other arguments are :func:`trial`'s.

    Returns:
        A JSON-serialisable dict with ``test_acc``, ``test_loss`` (of the restored best epoch: the
        lowest validation loss), ``best_epoch``, ``best_val_loss``, ``best_val_acc``, the other
        checkpoint (``acc_epoch``, the first epoch of the highest validation accuracy, and
        ``test_acc_at_acc_epoch``, the test accuracy there), ``epochs_run``, ``epoch_time`` (median
        seconds per epoch), ``device``, ``wall_time`` (seconds of the whole run), and ``curves``
        (per-epoch lists, test accuracy included, rounded to 5 decimals to keep saved studies small).
    """
    return trial(run_from_json(MNIST1DRun, config), seed, device=device, progress=progress)


def _readme_data(run: MNIST1DReadmeRun, seed: int) -> Splits:
    return load_mnist1d(seed=seed)


def _readme_model(run: MNIST1DReadmeRun, seed: int) -> nn.Sequential:
    return mnist1d_model(MNIST1DRun(channels=run.channels), seed)


def _train_readme(model, data, run, seed, device, progress) -> dict:
    """Steps of Adam over all 4000 sequences, epoch by epoch; the test accuracy every ``eval_every`` steps."""
    device = get_device() if device is None else torch.device(device)
    x = torch.cat([data.train[0], data.val[0]]).to(device)
    y = torch.cat([data.train[1], data.val[1]]).to(device)
    model.to(device)
    optimizer, order, _ = prepare_run(model, run.training, seed)

    def epochs():  # every sequence once per epoch, in a new order each time, for as long as asked
        while True:
            yield from classifier_batches(x, y, run.training.batch_size, order)

    batches, every, steps = epochs(), run.eval_every, run.steps
    curves = {"step": [], "test_acc": []}
    for done in range(0, steps, every):  # the step budget, eval_every steps at a time
        train_steps(model, optimizer, itertools.islice(batches, min(every, steps - done)), classifier_loss)
        if done + every <= steps:
            curves["step"].append(done + every)
            curves["test_acc"].append(evaluate(model, *data.test)[1])
    return {"curves": curves, "device": device.type}


def _measure_readme(model, data, run, seed, history, start) -> dict:
    test_loss, test_acc = evaluate(model, *data.test)
    return {
        "test_acc": test_acc,
        "test_loss": test_loss,
        "steps": run.steps,
        "curves": history["curves"],
        "device": history["device"],
        "wall_time": time.perf_counter() - start,
    }


def mnist1d_readme_trial(config, seed: int, *, device=None) -> dict:
    """Chapter 6's CNN trained the mnist1d repository's way: its README's 94% is a number of this protocol.

    All 4000 training sequences (the chapter's 3500 and its 500 of validation), Adam and cross-entropy,
    ``steps`` minibatches drawn epoch by epoch in an order from ``seed``; no validation set, no early
    stopping: the last weights are scored. The test accuracy is also measured every ``eval_every``
    steps, only to show the curve (nothing is chosen on it).

    ``config`` is a :class:`~spatialdrop_edu.training.runs.MNIST1DReadmeRun` or its stored dict (see
    :func:`~spatialdrop_edu.training.runs.mnist1d_readme_config`); the other arguments are :func:`trial`'s.

    Returns:
        A JSON-serialisable dict with ``test_acc`` and ``test_loss`` (of the last weights), ``steps``,
        ``curves`` (``"step"`` and ``"test_acc"``), ``device`` and ``wall_time`` (seconds of the whole run).
    """
    return trial(run_from_json(MNIST1DReadmeRun, config), seed, device=device)


# -- chapter 7: image patches ----------------------------------------------------------------------


def _measure_patch(model, data, run, seed, history, start) -> dict:
    test_loss, test_acc, acc_epoch = _classifier_scores(model, data, history)
    return {
        "test_acc": test_acc,
        "test_loss": test_loss,
        "val_acc": history["val_acc"][history["kept_epoch"] - 1],
        "kept_epoch": history["kept_epoch"],
        "best_epoch": history["best_epoch"],
        "test_acc_at_best_epoch": history["test_acc"][history["best_epoch"] - 1],
        "acc_epoch": acc_epoch,
        "test_acc_at_acc_epoch": history["test_acc"][acc_epoch - 1],
        "epochs_run": history["epochs_run"],
        "epoch_time": statistics.median(history["epoch_time"]),
        "device": history["device"],
        "wall_time": time.perf_counter() - start,
        "train_size": len(data.train[1]),
        "curves": {m: [round(v, 4) for v in history[m]] for m in (*METRICS, "test_acc") if m != "epoch_time"},
    }


def patch_trial(config, seed: int, *, device=None, progress: bool = False) -> dict:
    """Train one patch CNN and measure it: the run behind every chapter 7 study.

    Adam with the run's weight decay, its augmentation
    (:func:`~spatialdrop_edu.training.augment.augmentation`) and *optional* early stopping:
    ``patience=None`` runs every epoch and keeps the **last** weights; an int stops after that many
    epochs without a lower validation loss and restores the best weights. The seed picks the
    validation and training examples, the initial weights, the minibatch order, the augmentations
    and the dropout masks; runs with the same seed share the first three.

    The optimizer is Adam with an L2 penalty or AdamW with decoupled weight decay
    (``optimizer``). The test set is measured after every epoch (it chooses nothing), so
    that a run can be re-scored at either checkpoint a practitioner might keep: the epoch of the
    lowest validation loss or the one of the highest validation accuracy.

    ``config`` is a :class:`~spatialdrop_edu.training.runs.PatchRun` or its stored dict (see
    :func:`~spatialdrop_edu.training.runs.patch_config`); the other arguments are :func:`trial`'s.

    Returns:
        A JSON-serialisable dict with ``test_acc`` and ``test_loss`` (of the weights the run keeps),
        ``val_acc`` (of the same weights: what a practitioner selects on), ``kept_epoch``,
        ``best_epoch`` (the lowest validation loss) and ``test_acc_at_best_epoch``, ``acc_epoch``
        (the first epoch of the highest validation accuracy) and ``test_acc_at_acc_epoch``,
        ``epochs_run``, ``epoch_time`` (median seconds per epoch), ``device``, ``wall_time``,
        ``train_size`` and ``curves`` (per-epoch lists rounded to 4 decimals, test accuracy
        included).

    Examples::

        >>> run = PatchRun(train_per_class=5).replace(epochs=2)
        >>> r = patch_trial(run, seed=0, device="cpu")
        >>> val_loss = r["curves"]["val_loss"]
        >>> r["epochs_run"], r["kept_epoch"], len(val_loss), r["train_size"]
        (2, 2, 2, 15)
    """
    return trial(run_from_json(PatchRun, config), seed, device=device, progress=progress)


# -- chapter 8: the U-Net denoiser -----------------------------------------------------------------


def _train_denoiser(model, data, run, seed, device, progress) -> dict:
    return train_denoiser(
        model, data, run.training, seed=seed, device=device, progress=progress, desc=_desc(run, seed), test=data.test
    )


def _measure_denoising(model, data, run, seed, history, start) -> dict:
    noisy, clean = data.test
    report = copy_report(predict(model, noisy), noisy, clean)
    result = {
        "test_psnr": report["psnr_output"],
        "input_psnr": report["psnr_input"],
        "gain": report["gain"],
        "psnr_vs_noisy": report["psnr_vs_noisy"],
        "noise_transfer": report["noise_transfer"],
    }
    result.update({f"ablate_{k}": v for k, v in path_ablation(model, noisy, clean).items() if k != "full"})
    shares = path_contributions(model, noisy)
    result.update(skip_share_up1=shares["up1"]["skip_share"], skip_share_up2=shares["up2"]["skip_share"])
    if run.mc_passes and dropout_layers(model):
        mean, std = mc_predict(model, noisy, run.mc_passes, seed=seed)
        mc = uncertainty_report(mean, std, clean)
        result.update(
            mc_pixel_corr=mc["pixel_corr"],
            mc_image_corr=mc["image_corr"],
            mc_mean_std=mc["mean_std"],
            mc_psnr=mc["psnr_mc"],
        )
    result.update(
        best_epoch=history["best_epoch"],
        epochs_run=history["epochs_run"],
        epoch_time=statistics.median(history["epoch_time"]),
        device=history["device"],
        wall_time=time.perf_counter() - start,
        curves={k: [round(v, 4) for v in history[k]] for k in ("train_loss", "val_psnr", "test_psnr")},
    )
    return result


def denoising_trial(config, seed: int, *, device=None, progress: bool = False) -> dict:
    """Train one U-Net denoiser and measure it: the run behind chapter 8's study.

    The seed picks the validation and training patches, the fixed test noise, the initial weights,
    the minibatch order, the training noise and the dropout masks; runs with the same seed and
    different dropout share all but the masks.

    ``config`` is a :class:`~spatialdrop_edu.training.runs.DenoisingRun` or its stored dict (see
    :func:`~spatialdrop_edu.training.runs.denoising_config`); the other arguments are :func:`trial`'s.

    Returns:
        A JSON-serialisable dict with ``test_psnr``, ``input_psnr``, ``gain``, ``psnr_vs_noisy``,
        ``noise_transfer``, the ablation PSNRs ``ablate_<path>`` (see
        :func:`~spatialdrop_edu.training.denoising.path_ablation`), ``skip_share_up1``,
        ``skip_share_up2``, ``best_epoch`` (the weights kept: the best validation PSNR),
        ``epochs_run`` (fewer than ``epochs`` where early stopping, ``patience``, ended the
        run), ``epoch_time`` (median seconds), ``wall_time``,
        ``device``, ``curves`` (per-epoch ``train_loss``, ``val_psnr`` and ``test_psnr``, 4 decimals), and with
        ``mc_passes > 0`` and dropout, ``mc_pixel_corr``, ``mc_image_corr``, ``mc_mean_std``,
        ``mc_psnr``.
    """
    return trial(run_from_json(DenoisingRun, config), seed, device=device, progress=progress)


#: The suffixes of a tagger run's test accuracies: overall, then each group of tokens.
_GROUP_SUFFIXES = ("", *(f"_{group}" for group in GROUPS[1:]))


# -- chapter 9: the sequence tagger ---------------------------------------------------------------


def _train_tagger(model, data, run, seed, device, progress) -> dict:
    from ..tagging.train import train_tagger  # the tagging toolkit trains with this package's loop: import it late

    desc = f"{run.encoder} {run.dropout} p={run.p} seed={seed}"
    return train_tagger(model, data, run.training, seed=seed, device=device, progress=progress, desc=desc)


def _measure_tagger(model, data, run, seed, history, start) -> dict:
    kept = history["kept_epoch"] - 1
    test = {f"test_acc{suffix}": history[f"test_acc{suffix}"][kept] for suffix in _GROUP_SUFFIXES}
    return {
        **test,
        "val_acc": history["val_acc"][kept],
        "best_epoch": history["best_epoch"],
        "epochs_run": history["epochs_run"],
        "epoch_time": statistics.median(history["epoch_time"]),
        "device": history["device"],
        "wall_time": time.perf_counter() - start,
        "curves": {k: [round(v, 4) for v in history[k]] for k in ("train_loss", "val_acc", "test_acc")},
    }


def tagger_trial(config, seed: int, *, device=None, progress: bool = False) -> dict:
    """Train one tagger and measure it: the run behind chapter 9's study.

    The seed draws the language (its vocabulary and sentences), the initial weights, the minibatch order
    and the dropout masks; runs with the same seed and different dropout share all but the masks. The
    weights kept are those of the best validation accuracy.

    ``config`` is a :class:`~spatialdrop_edu.training.runs.TaggerRun` or its stored dict; the other
    arguments are :func:`trial`'s.

    Returns:
        A JSON-serialisable dict with ``test_acc`` and the groups' ``test_acc_ambiguous``,
        ``test_acc_rare`` and ``test_acc_unambiguous_frequent`` (of the weights kept), ``val_acc``,
        ``best_epoch``, ``epochs_run``, ``epoch_time`` (median seconds), ``device``, ``wall_time`` and
        ``curves`` (per-epoch ``train_loss``, ``val_acc`` and ``test_acc``, 4 decimals).

    Examples::

        >>> from spatialdrop_edu.training import TaggerRun
        >>> run = TaggerRun(vocab_size=200, train_size=64, val_size=32, test_size=32)
        >>> r = tagger_trial(run.replace(epochs=2, dropout="feature", p=0.1), 0,
        ...                  device="cpu")
        >>> r["epochs_run"], 0 <= r["test_acc_rare"] <= 1
        (2, True)
    """
    return trial(run_from_json(TaggerRun, config), seed, device=device, progress=progress)


# -- one trial over the kinds ----------------------------------------------------------------------


class Kind(NamedTuple):
    """What :func:`trial` does for one kind of run: its data, its model, its training and its measurement.

    ``data(run, seed)``; ``model(run, seed, data)``; ``fit(model, data, run, seed, device, progress)``
    returns the training's history; ``measure(model, data, run, seed, history, start)`` the run's results
    (``start``: the run's start on ``time.perf_counter()``, for ``wall_time``).
    """

    data: Callable
    model: Callable
    fit: Callable
    measure: Callable


#: The kinds of run :func:`trial` knows, by their class.
KINDS = {
    MNIST1DRun: Kind(
        mnist1d_data, lambda run, seed, data: mnist1d_model(run, seed), _train_classifier, _measure_mnist1d
    ),
    MNIST1DReadmeRun: Kind(
        _readme_data, lambda run, seed, data: _readme_model(run, seed), _train_readme, _measure_readme
    ),
    PatchRun: Kind(
        patch_data,
        lambda run, seed, data: patch_model(run, num_classes(data), seed),
        functools.partial(_train_classifier, keep_last_without_patience=True),
        _measure_patch,
    ),
    DenoisingRun: Kind(
        denoising_data, lambda run, seed, data: denoising_model(run, seed), _train_denoiser, _measure_denoising
    ),
    TaggerRun: Kind(tagger_data, lambda run, seed, data: tagger_model(run, data, seed), _train_tagger, _measure_tagger),
}


def trial(run: Run, seed: int, *, device=None, progress: bool = False) -> dict:
    """Train one model of ``run`` with ``seed`` and measure it: data, model, training and measurement of its kind.

    Args:
        run: a typed run (:mod:`~spatialdrop_edu.training.runs`).
        seed: the run's seed.
        device: ``None`` for :func:`~spatialdrop_edu.runtime.get_device`.
        progress: show the epoch bar.

    Returns:
        The kind's results, a JSON-serialisable dict (see :func:`mnist1d_trial`, :func:`patch_trial`,
        :func:`denoising_trial` and :func:`mnist1d_readme_trial`).

    Examples::

        >>> from spatialdrop_edu.training import MNIST1DRun
        >>> run = MNIST1DRun(train_size=100, val_size=100).replace(epochs=2)
        >>> r = trial(run, seed=0, device="cpu")
        >>> r["epochs_run"], len(r["curves"]["val_acc"])
        (2, 2)
    """
    kind = KINDS.get(type(run))
    if kind is None:
        raise TypeError(f"run must be one of {[k.__name__ for k in KINDS]}, got {type(run).__name__}.")
    start = time.perf_counter()
    data = kind.data(run, seed)
    model = kind.model(run, seed, data)
    history = kind.fit(model, data, run, seed, device, progress)
    return kind.measure(model, data, run, seed, history, start)
