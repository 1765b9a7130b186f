"""Chapter 7's runs: a 2-D CNN on image patches, with dropout beside the other regularisers.

:func:`~spatialdrop_edu.training.loop.train` always restores the weights of the best validation
epoch, so early stopping is built into it; chapter 7 measures early stopping *as a regulariser*,
against runs that keep their last weights. This module adds what that needs, without changing the
shared loop:

* :func:`dihedral` and :func:`augment_batch`: flips and rotations by 90° (the eight symmetries of a
  square), drawn independently per image: cheap data augmentation, exact on a pixel grid;
* :func:`region_corners`: the corners of the patches that lie wholly inside a band of rows, the
  region split behind :func:`~spatialdrop_edu.training.data.texture_patches`, for figures and
  exercises;
* :func:`fit`: the training loop with augmentation, weight decay and *optional* early stopping
  (``patience=None`` keeps the last epoch's weights);
* :func:`patch_config` and :func:`patch_trial`: one run as a function of ``(config, seed)``, for
  :func:`~spatialdrop_edu.training.study.run_study`.
"""

from __future__ import annotations

import functools
import statistics
import time

import numpy as np
import torch

from .._validation import check_choice, check_positive_int, check_seed
from ..runtime import seed_everything
from .data import Splits, face_patches, load_fashion_mnist, texture_patches
from .epochs import epoch_times  # noqa: F401  images.epoch_times: the one epoch timing, patch runs included
from .loop import METRICS, evaluate, train
from .models import patch_cnn

__all__ = ["AUGMENTATIONS", "DATASETS", "PATCH_DEFAULTS", "dihedral", "augment_batch", "region_corners",
           "per_class_subset", "load_images", "fit", "patch_config", "patch_trial"]

#: Augmentations :func:`augment_batch` accepts: the identity, flips, rotations by 90°, or all eight symmetries.
AUGMENTATIONS = ("none", "flips", "rot90", "dihedral")
#: The datasets of :func:`load_images`; only ``"fashion_mnist"`` needs files (downloaded by the learner).
DATASETS = ("patches", "faces", "fashion_mnist")

#: Settings of a patch run that :func:`patch_config` fills in when not given.
PATCH_DEFAULTS = {"dataset": "patches", "train_per_class": 15, "val_per_class": 50, "patch": 16, "dropout": "none",
                  "p": 0.0, "placement": "late", "weight_decay": 0.0, "augment": "none", "patience": None,
                  "epochs": 30, "batch_size": 15, "lr": 3e-3, "channels": 16, "block_size": 3, "data_root": None}


# -- augmentation ----------------------------------------------------------------------------------

def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """Transform images by the ``k``-th of the eight symmetries of a square.

    ``k = 0..3`` rotate by ``k`` quarter turns; ``k = 4..7`` flip left-right first, then rotate by
    ``k - 4`` quarter turns. Pixels are moved, never interpolated.

    Shape:
        - Input: :math:`(..., H, H)` (square images; ``k in (0, 4)`` and 2 also accept :math:`H \\ne W`).
        - Output: same shape.

    Examples::

        >>> x = torch.arange(4.).reshape(1, 2, 2)
        >>> dihedral(x, 1).tolist(), dihedral(x, 4).tolist()
        ([[[1.0, 3.0], [0.0, 2.0]]], [[[1.0, 0.0], [3.0, 2.0]]])
    """
    if isinstance(k, bool) or int(k) != k or not 0 <= k < 8:
        raise ValueError(f"k must be an int from 0 to 7 (one of the eight symmetries of a square), got {k!r}.")
    k = int(k)
    if k >= 4:
        x = x.flip(-1)
    return torch.rot90(x, k % 4, dims=(-2, -1))


def augment_batch(x: torch.Tensor, augment: str = "dihedral", generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply a random symmetry to each image of a batch, drawn independently per image.

    Args:
        x: images :math:`(N, C, H, H)`; left unchanged (a new tensor is returned).
        augment: ``"none"``; ``"flips"`` (identity, left-right, up-down or both, i.e. rotation by
            180°); ``"rot90"`` (0, 90, 180 or 270 degrees); ``"dihedral"`` (all eight).
        generator: the ``torch.Generator`` on the CPU to draw from (``None``: the global one).

    Examples::

        >>> x = torch.randn(64, 1, 4, 4)
        >>> y = augment_batch(x, "rot90", torch.Generator().manual_seed(0))
        >>> all(any(torch.equal(y[i], dihedral(x[i], k)) for k in range(4)) for i in range(64))
        True
    """
    check_choice(augment, AUGMENTATIONS, "augment")
    if augment == "none":
        return x.clone()
    choices = {"flips": (0, 2, 4, 6), "rot90": (0, 1, 2, 3), "dihedral": tuple(range(8))}[augment]
    draw = torch.randint(len(choices), (len(x),), generator=generator)
    out = x.clone()
    for index, k in enumerate(choices):
        rows = (draw == index).nonzero().flatten().to(x.device)
        if k and len(rows):
            out[rows] = dihedral(x[rows], k)
    return out


# -- data ------------------------------------------------------------------------------------------

def region_corners(height: int, width: int, patch: int, stride: int, rows: tuple[int, int]) -> list[tuple[int, int]]:
    """The ``(top, left)`` corners of every ``patch`` × ``patch`` window on a ``stride`` grid inside ``rows``.

    A window belongs to the band of rows ``[rows[0], rows[1])`` only if *all* its pixels do, so the
    windows of two disjoint bands never share a pixel, whatever the stride.

    Examples::

        >>> region_corners(8, 8, 4, 2, (0, 6))       # tops 0 and 2 fit in rows 0..5; top 4 would reach row 7
        [(0, 0), (0, 2), (0, 4), (2, 0), (2, 2), (2, 4)]
    """
    patch, stride = check_positive_int(patch, "patch"), check_positive_int(stride, "stride")
    top, bottom = rows
    if not 0 <= top <= bottom <= height:
        raise ValueError(f"rows must satisfy 0 <= rows[0] <= rows[1] <= height = {height}, got {rows!r}.")
    return [(r, c) for r in range(top, bottom - patch + 1, stride) for c in range(0, width - patch + 1, stride)]


def per_class_subset(pair: tuple, n_per_class: int | None, seed: int) -> tuple:
    """The first ``n_per_class`` examples of each class after a seeded shuffle (``None``: all).

    Examples::

        >>> x, y = torch.zeros(10, 1), torch.tensor([0] * 5 + [1] * 5)
        >>> per_class_subset((x, y), 2, seed=0)[1].tolist()
        [0, 0, 1, 1]
    """
    x, y = pair
    if n_per_class is None:
        return x, y
    n_per_class = check_positive_int(n_per_class, "n_per_class", "training examples per class")
    order = np.random.default_rng(check_seed(seed)).permutation(len(y))
    labels = y.numpy()[order]
    keep = np.sort(np.concatenate([order[labels == c][:n_per_class] for c in np.unique(labels)]))
    return x[keep], y[keep]


@functools.lru_cache(maxsize=32)
def _cached(loader, **kwargs) -> Splits:
    """A loader's result, kept: a study loads the same split for every configuration of a seed."""
    return loader(**kwargs)


def load_images(config: dict, seed: int) -> Splits:
    """The data of one run: the dataset of ``config``, its training set cut to ``train_per_class``.

    ``"patches"``: :func:`~spatialdrop_edu.training.data.texture_patches` (brick, grass, gravel;
    test rows disjoint from training rows); ``"faces"``: scikit-image's ``lfw_subset``;
    ``"fashion_mnist"``: :func:`~spatialdrop_edu.training.data.load_fashion_mnist` from
    ``config["data_root"]`` (files the learner downloaded). The seed picks the validation and
    training examples; the test set is the same for every seed.
    """
    check_choice(config["dataset"], DATASETS, "dataset")
    if config["dataset"] == "patches":
        data = _cached(texture_patches, patch=config["patch"], stride=config["patch"], seed=seed)
    elif config["dataset"] == "faces":
        data = _cached(face_patches, seed=seed)
    else:
        if config["data_root"] is None:
            raise ValueError("dataset='fashion_mnist' needs data_root, the folder of the four Fashion-MNIST files "
                             "(training.data.download_fashion_mnist fetches them).")
        data = load_fashion_mnist(config["data_root"], val_size=5000, seed=seed)
    train = per_class_subset(data.train, config["train_per_class"], seed)
    val = per_class_subset(data.val, config["val_per_class"], seed)
    mean, std = float(train[0].mean()), float(train[0].std())   # standardise with the training set's statistics
    return Splits(*(((x - mean) / std, y) for x, y in (train, val, data.test)))


# -- training --------------------------------------------------------------------------------------

def fit(model: torch.nn.Module, data, *, epochs: int = 40, batch_size: int = 32, lr: float = 3e-3,
        weight_decay: float = 0.0, augment: str = "none", patience: int | None = None, seed: int = 0,
        device=None, progress: bool = True, desc: str = "fit") -> dict:
    """Train ``model`` with Adam on ``data.train``; augmentation, weight decay, early stopping optional.

    :func:`~spatialdrop_edu.training.loop.train` with augmentation by name (:func:`augment_batch`)
    and with ``patience=None`` meaning *no* early stopping at all: every epoch runs and the model
    keeps its **last** weights. With an int ``patience`` it stops after that many epochs without a
    lower validation loss and restores the best weights.

    Args:
        epochs, batch_size, lr, seed, device, progress, desc: as in :func:`~spatialdrop_edu.training.loop.train`.
        weight_decay: Adam's L2 penalty (``torch.optim.Adam(weight_decay=...)``).
        augment: one of :data:`AUGMENTATIONS`; drawn from a generator seeded with ``seed + 1``.
        patience: ``None`` (no early stopping) or epochs without improvement before stopping.

    Returns:
        A history as :func:`~spatialdrop_edu.training.loop.train` returns, plus ``"kept_epoch"``:
        the epoch whose weights the model holds.
    """
    check_choice(augment, AUGMENTATIONS, "augment")
    transform = None if augment == "none" else (lambda batch, generator: augment_batch(batch, augment, generator))
    return train(model, data, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                 patience=patience, seed=seed, device=device, progress=progress, desc=desc, augment=transform,
                 restore_best=patience is not None)


def patch_config(**settings) -> dict:
    """A complete patch-run configuration: :data:`PATCH_DEFAULTS` updated with ``settings``.

    Examples::

        >>> c = patch_config(dropout="spatial", p=0.2, augment="flips")
        >>> c["train_per_class"], c["patience"], c["augment"]
        (15, None, 'flips')
    """
    unknown = set(settings) - set(PATCH_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; accepted: {sorted(PATCH_DEFAULTS)}.")
    config = {**PATCH_DEFAULTS, **settings}
    check_choice(config["augment"], AUGMENTATIONS, "augment")
    check_choice(config["dataset"], DATASETS, "dataset")
    return config


def patch_trial(config: dict, seed: int, *, device=None, progress: bool = False) -> dict:
    """Train one patch CNN and measure it: the run behind every chapter 7 study.

    The seed picks the validation and training examples, the initial weights, the minibatch order,
    the augmentations and the dropout masks; runs with the same seed share the first three.

    Returns:
        A JSON-serialisable dict with ``test_acc`` and ``test_loss`` (of the weights the run keeps),
        ``val_acc`` (of the same weights: what a practitioner selects on), ``kept_epoch``,
        ``best_epoch``, ``epochs_run``, ``epoch_time`` (median seconds per epoch), ``device``,
        ``wall_time``, ``train_size`` and ``curves`` (per-epoch lists rounded to 4 decimals).

    Examples::

        >>> r = patch_trial(patch_config(epochs=2, train_per_class=5), seed=0, device="cpu")
        >>> r["epochs_run"], r["kept_epoch"], len(r["curves"]["val_loss"]), r["train_size"]
        (2, 2, 2, 15)
    """
    start = time.perf_counter()
    config = patch_config(**config)
    data = load_images(config, seed)
    num_classes = int(max(int(data.train[1].max()), int(data.test[1].max()))) + 1
    seed_everything(seed)
    model = patch_cnn(config["dropout"], config["p"], config["placement"], channels=config["channels"],
                      block_size=config["block_size"], num_classes=num_classes)
    history = fit(model, data, epochs=config["epochs"], batch_size=config["batch_size"], lr=config["lr"],
                  weight_decay=config["weight_decay"], augment=config["augment"], patience=config["patience"],
                  seed=seed, device=device, progress=progress, desc=f"{config['dropout']} p={config['p']} seed={seed}")
    test_loss, test_acc = evaluate(model, *data.test)
    return {"test_acc": test_acc, "test_loss": test_loss, "val_acc": history["val_acc"][history["kept_epoch"] - 1],
            "kept_epoch": history["kept_epoch"], "best_epoch": history["best_epoch"],
            "epochs_run": history["epochs_run"], "epoch_time": statistics.median(history["epoch_time"]),
            "device": history["device"], "wall_time": time.perf_counter() - start, "train_size": len(data.train[1]),
            "curves": {m: [round(v, 4) for v in history[m]] for m in METRICS if m != "epoch_time"}}
