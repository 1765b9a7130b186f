"""The runs the training chapters study, each a function of ``(config, seed)`` for ``run_study``.

For each kind of run (its settings: :mod:`~spatialdrop_edu.training.settings`) this module builds
what the run needs from its configuration, and the run itself:

* the data, ``<kind>_data(config, seed)``: the seed picks the training and validation examples;
* the untrained model, ``<kind>_model(config, seed)``: its weights drawn after seeding everything
  with ``seed``; dropout layers own no weights, so every variant starts from the same weights for
  one seed;
* the trial, ``<kind>_trial(config, seed)``: train one model and measure it, a JSON-ready dict of
  results that :func:`~spatialdrop_edu.training.study.run_study` saves.

The kinds: MNIST-1D classification (chapter 6), image patches with other regularisers beside
dropout (chapter 7) and a U-Net denoiser (chapter 8).
"""

from __future__ import annotations

import functools
import itertools
import statistics
import time

from torch import nn

from ..runtime import seed_everything
from .augment import augmentation
from .data import (
    Splits,
    denoising_patches,
    face_patches,
    load_fashion_mnist,
    load_mnist1d,
    num_classes,
    per_class_subset,
    texture_patches,
)
from .denoising import copy_report, path_ablation, path_contributions, train_denoiser, uncertainty_report
from .loop import (
    METRICS,
    classifier_batches,
    classifier_loss,
    evaluate,
    predict,
    replay_early_stopping,
    train,
    train_steps,
)
from .mc_dropout import mc_predict
from .models import TinyUNet, dropout_layers, mnist1d_cnn, patch_cnn
from .settings import denoising_config, mnist1d_config, mnist1d_readme_config, patch_config

__all__ = [
    "mnist1d_data",
    "mnist1d_model",
    "mnist1d_trial",
    "mnist1d_readme_trial",
    "patch_data",
    "patch_model",
    "patch_trial",
    "denoising_data",
    "denoising_model",
    "denoising_trial",
]


def _seeded(seed: int | None) -> None:
    if seed is not None:
        seed_everything(seed)


# -- chapter 6: MNIST-1D ---------------------------------------------------------------------------


def mnist1d_data(config: dict, seed: int) -> Splits:
    """The sequences of an MNIST-1D run: :func:`~spatialdrop_edu.training.data.load_mnist1d` with its sizes."""
    config = mnist1d_config(**config)
    return load_mnist1d(config["train_size"], config["val_size"], seed=seed)


def mnist1d_model(config: dict, seed: int | None = None) -> nn.Sequential:
    """The untrained CNN of an MNIST-1D run (:func:`~spatialdrop_edu.training.models.mnist1d_cnn`).

    With a ``seed``, everything is seeded with it first (:func:`~spatialdrop_edu.runtime.seed_everything`).
    """
    config = mnist1d_config(**config)
    _seeded(seed)
    return mnist1d_cnn(
        config["dropout"],
        config["p"],
        config["placement"],
        channels=config["channels"],
        block_size=config["block_size"],
    )


def mnist1d_trial(config: dict, seed: int, *, device=None, progress: bool = False) -> dict:
    """Train one MNIST-1D CNN and measure it: the run behind every MNIST-1D study.

    The seed picks the training and validation sequences, the initial weights, the minibatch order
    and the dropout masks; runs with the same seed and different dropout share the first three.

    Args:
        config: a configuration (see :func:`~spatialdrop_edu.training.settings.mnist1d_config`).
        seed: the run's seed.
        device: ``None`` for :func:`~spatialdrop_edu.runtime.get_device`.
        progress: show the epoch bar.

    Returns:
        A JSON-serialisable dict with ``test_acc``, ``test_loss`` (of the restored best epoch: the
        lowest validation loss), ``best_epoch``, ``best_val_loss``, ``best_val_acc``, the other
        checkpoint (``acc_epoch``, the first epoch of the highest validation accuracy, and
        ``test_acc_at_acc_epoch``, the test accuracy there), ``epochs_run``, ``epoch_time`` (median
        seconds per epoch), ``device``, ``wall_time`` (seconds of the whole run), and ``curves``
        (per-epoch lists, test accuracy included, rounded to 5 decimals to keep saved studies small).
    """
    start = time.perf_counter()
    config = mnist1d_config(**config)
    data = mnist1d_data(config, seed)
    model = mnist1d_model(config, seed)
    history = train(
        model,
        data,
        epochs=config["epochs"],
        batch_size=config["batch_size"],
        lr=config["lr"],
        patience=config["patience"],
        stop_on=config["stop_on"],
        seed=seed,
        device=device,
        progress=progress,
        desc=f"{config['dropout']} p={config['p']} seed={seed}",
        test=data.test,
    )
    test_loss, test_acc = evaluate(model, *data.test)
    acc_epoch, _ = replay_early_stopping(history["val_acc"], None, higher_is_better=True)  # the first maximum
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


def mnist1d_readme_trial(config: dict, seed: int, *, device=None) -> dict:
    """Chapter 6's CNN trained the mnist1d repository's way: its README's 94% is a number of this protocol.

    All 4000 training sequences (the chapter's 3500 and its 500 of validation), Adam and cross-entropy,
    ``config["steps"]`` minibatches drawn epoch by epoch in an order from ``seed``; no validation set, no early
    stopping: the last weights are scored. The test accuracy is also measured every ``config["eval_every"]``
    steps, only to show the curve (nothing is chosen on it).

    Args:
        config: a configuration (see :func:`~spatialdrop_edu.training.settings.mnist1d_readme_config`).
        seed: the run's seed: the initial weights and the minibatch order.
        device: ``None`` for :func:`~spatialdrop_edu.runtime.get_device`.

    Returns:
        A JSON-serialisable dict with ``test_acc`` and ``test_loss`` (of the last weights), ``steps``,
        ``curves`` (``"step"`` and ``"test_acc"``), ``device`` and ``wall_time`` (seconds of the whole run).
    """
    import torch

    from ..runtime import get_device

    start = time.perf_counter()
    config = mnist1d_readme_config(**config)
    device = get_device() if device is None else torch.device(device)
    data = load_mnist1d(seed=seed)
    x = torch.cat([data.train[0], data.val[0]]).to(device)
    y = torch.cat([data.train[1], data.val[1]]).to(device)
    model = mnist1d_model(mnist1d_config(channels=config["channels"]), seed).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])
    order = torch.Generator().manual_seed(seed)

    def epochs():  # every sequence once per epoch, in a new order each time, for as long as asked
        while True:
            yield from classifier_batches(x, y, config["batch_size"], order)

    batches, every, steps = epochs(), config["eval_every"], config["steps"]
    curves = {"step": [], "test_acc": []}
    for done in range(0, steps, every):  # the step budget, eval_every steps at a time
        train_steps(model, optimizer, itertools.islice(batches, min(every, steps - done)), classifier_loss)
        if done + every <= steps:
            curves["step"].append(done + every)
            curves["test_acc"].append(evaluate(model, *data.test)[1])
    test_loss, test_acc = evaluate(model, *data.test)
    return {
        "test_acc": test_acc,
        "test_loss": test_loss,
        "steps": steps,
        "curves": curves,
        "device": device.type,
        "wall_time": time.perf_counter() - start,
    }


# -- chapter 7: image patches ----------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _cached(loader, **kwargs) -> Splits:
    """A loader's result, kept: a study loads the same split for every configuration of a seed."""
    return loader(**kwargs)


def patch_data(config: dict, seed: int) -> Splits:
    """The data of a patch run: the dataset of ``config``, its training set cut to ``train_per_class``.

    ``"patches"``: :func:`~spatialdrop_edu.training.data.texture_patches` (brick, grass, gravel;
    test rows disjoint from training rows); ``"faces"``: scikit-image's ``lfw_subset``;
    ``"fashion_mnist"``: :func:`~spatialdrop_edu.training.data.load_fashion_mnist` from
    ``config["data_root"]`` (files the learner downloaded). The seed picks the validation and
    training examples; the test set is the same for every seed. Every set is standardised with the
    training set's mean and standard deviation.
    """
    config = patch_config(**config)
    if config["dataset"] == "patches":
        data = _cached(texture_patches, patch=config["patch"], stride=config["patch"], seed=seed)
    elif config["dataset"] == "faces":
        data = _cached(face_patches, seed=seed)
    else:
        if config["data_root"] is None:
            raise ValueError(
                "dataset='fashion_mnist' needs data_root, the folder of the four Fashion-MNIST files "
                "(training.data.download_fashion_mnist fetches them)."
            )
        data = load_fashion_mnist(config["data_root"], val_size=5000, seed=seed)
    train_set = per_class_subset(data.train, config["train_per_class"], seed)
    val_set = per_class_subset(data.val, config["val_per_class"], seed)
    mean, std = float(train_set[0].mean()), float(train_set[0].std())  # the training set's statistics
    return Splits(*(((x - mean) / std, y) for x, y in (train_set, val_set, data.test)))


def patch_model(config: dict, classes: int = 3, seed: int | None = None) -> nn.Sequential:
    """The untrained CNN of a patch run (:func:`~spatialdrop_edu.training.models.patch_cnn`) for ``classes`` classes.

    With a ``seed``, everything is seeded with it first (:func:`~spatialdrop_edu.runtime.seed_everything`).
    """
    config = patch_config(**config)
    _seeded(seed)
    return patch_cnn(
        config["dropout"],
        config["p"],
        config["placement"],
        channels=config["channels"],
        block_size=config["block_size"],
        num_classes=classes,
    )


def patch_trial(config: dict, seed: int, *, device=None, progress: bool = False) -> dict:
    """Train one patch CNN and measure it: the run behind every chapter 7 study.

    Adam with the configuration's weight decay, its augmentation
    (:func:`~spatialdrop_edu.training.augment.augmentation`) and *optional* early stopping:
    ``patience=None`` runs every epoch and keeps the **last** weights; an int stops after that many
    epochs without a lower validation loss and restores the best weights. The seed picks the
    validation and training examples, the initial weights, the minibatch order, the augmentations
    and the dropout masks; runs with the same seed share the first three.

    The optimizer is Adam with an L2 penalty or AdamW with decoupled weight decay
    (``config["optimizer"]``). The test set is measured after every epoch (it chooses nothing), so
    that a run can be re-scored at either checkpoint a practitioner might keep: the epoch of the
    lowest validation loss or the one of the highest validation accuracy.

    Returns:
        A JSON-serialisable dict with ``test_acc`` and ``test_loss`` (of the weights the run keeps),
        ``val_acc`` (of the same weights: what a practitioner selects on), ``kept_epoch``,
        ``best_epoch`` (the lowest validation loss) and ``test_acc_at_best_epoch``, ``acc_epoch``
        (the first epoch of the highest validation accuracy) and ``test_acc_at_acc_epoch``,
        ``epochs_run``, ``epoch_time`` (median seconds per epoch), ``device``, ``wall_time``,
        ``train_size`` and ``curves`` (per-epoch lists rounded to 4 decimals, test accuracy
        included).

    Examples::

        >>> config = patch_config(epochs=2, train_per_class=5)
        >>> r = patch_trial(config, seed=0, device="cpu")
        >>> val_loss = r["curves"]["val_loss"]
        >>> r["epochs_run"], r["kept_epoch"], len(val_loss), r["train_size"]
        (2, 2, 2, 15)
    """
    start = time.perf_counter()
    config = patch_config(**config)
    data = patch_data(config, seed)
    model = patch_model(config, num_classes(data), seed)
    history = train(
        model,
        data,
        epochs=config["epochs"],
        batch_size=config["batch_size"],
        lr=config["lr"],
        weight_decay=config["weight_decay"],
        optimizer=config["optimizer"],
        augment=augmentation(config["augment"]),
        patience=config["patience"],
        restore_best=config["patience"] is not None,
        seed=seed,
        device=device,
        progress=progress,
        desc=f"{config['dropout']} p={config['p']} seed={seed}",
        test=data.test,
    )
    test_loss, test_acc = evaluate(model, *data.test)
    acc_epoch, _ = replay_early_stopping(history["val_acc"], None, higher_is_better=True)  # the first maximum
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


# -- chapter 8: the U-Net denoiser -----------------------------------------------------------------


def denoising_data(config: dict, seed: int):
    """The patches of a denoising run: :func:`~spatialdrop_edu.training.data.denoising_patches` with its settings.

    Examples::

        >>> config = denoising_config(photos=["camera"], patch=16, max_train=10)
        >>> denoising_data(config, 0).train.shape
        torch.Size([10, 1, 16, 16])
    """
    config = denoising_config(**config)
    return denoising_patches(
        tuple(config["photos"]),
        config["patch"],
        config["stride"],
        sigma=config["sigma"],
        max_train=config["max_train"],
        max_val=config["max_val"],
        max_test=config["max_test"],
        seed=seed,
    )


def denoising_model(config: dict, seed: int | None = None) -> TinyUNet:
    """The untrained :class:`~spatialdrop_edu.training.models.TinyUNet` of a denoising run.

    With a ``seed``, everything is seeded with it first (:func:`~spatialdrop_edu.runtime.seed_everything`).

    Examples::

        >>> import torch
        >>> a = denoising_model(denoising_config(), 3)
        >>> b = denoising_model(denoising_config(dropout="spatial", p=0.5), 3)
        >>> all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
        True
    """
    config = denoising_config(**config)
    _seeded(seed)
    return TinyUNet(
        config["dropout"],
        config["p"],
        config["placement"],
        channels=config["channels"],
        block_size=config["block_size"],
    )


def denoising_trial(config: dict, seed: int, *, device=None, progress: bool = False) -> dict:
    """Train one U-Net denoiser and measure it: the run behind chapter 8's study.

    The seed picks the validation and training patches, the fixed test noise, the initial weights,
    the minibatch order, the training noise and the dropout masks; runs with the same seed and
    different dropout share all but the masks.

    Returns:
        A JSON-serialisable dict with ``test_psnr``, ``input_psnr``, ``gain``, ``psnr_vs_noisy``,
        ``noise_transfer``, the ablation PSNRs ``ablate_<path>`` (see
        :func:`~spatialdrop_edu.training.denoising.path_ablation`), ``skip_share_up1``,
        ``skip_share_up2``, ``best_epoch`` (the weights kept: the best validation PSNR),
        ``epochs_run`` (fewer than ``epochs`` where early stopping, ``config["patience"]``, ended the
        run), ``epoch_time`` (median seconds), ``wall_time``,
        ``device``, ``curves`` (per-epoch ``train_loss``, ``val_psnr`` and ``test_psnr``, 4 decimals), and with
        ``mc_passes > 0`` and dropout, ``mc_pixel_corr``, ``mc_image_corr``, ``mc_mean_std``,
        ``mc_psnr``.
    """
    start = time.perf_counter()
    config = denoising_config(**config)
    data = denoising_data(config, seed)
    model = denoising_model(config, seed)
    history = train_denoiser(
        model,
        data,
        epochs=config["epochs"],
        patience=config["patience"],
        batch_size=config["batch_size"],
        lr=config["lr"],
        lr_schedule=config["lr_schedule"],
        seed=seed,
        device=device,
        progress=progress,
        desc=f"{config['dropout']} p={config['p']} seed={seed}",
        test=data.test,
    )
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
    if config["mc_passes"] and dropout_layers(model):
        mean, std = mc_predict(model, noisy, config["mc_passes"], seed=seed)
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
