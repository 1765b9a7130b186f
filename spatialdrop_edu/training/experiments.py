"""The runs the training chapters study, each a function of ``(config, seed)`` for :func:`~spatialdrop_edu.training.study.run_study`.

A configuration holds *everything* a run depends on (variant, rate, placement, data size,
epochs, ...), so that the study's file never mixes runs made with different settings.
"""

from __future__ import annotations

import statistics
import time

from ..runtime import seed_everything
from .data import load_mnist1d
from .epochs import epoch_times  # noqa: F401  still importable from here; documented and defined in epochs
from .loop import METRICS, evaluate, train
from .models import mnist1d_cnn

__all__ = ["MNIST1D_DEFAULTS", "mnist1d_config", "mnist1d_trial"]

#: Settings of an MNIST-1D run that :func:`mnist1d_config` fills in when not given.
MNIST1D_DEFAULTS = {"dropout": "none", "p": 0.0, "placement": "all", "train_size": 500, "val_size": 500,
                    "epochs": 60, "patience": 15, "batch_size": 100, "lr": 1e-2, "channels": 32, "block_size": 3}


def mnist1d_config(**settings) -> dict:
    """A complete MNIST-1D configuration: :data:`MNIST1D_DEFAULTS` updated with ``settings``.

    Examples::

        >>> mnist1d_config(dropout="spatial", p=0.2)["train_size"]
        500
    """
    unknown = set(settings) - set(MNIST1D_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; accepted: {sorted(MNIST1D_DEFAULTS)}.")
    return {**MNIST1D_DEFAULTS, **settings}


def mnist1d_trial(config: dict, seed: int, *, device=None, progress: bool = False) -> dict:
    """Train one MNIST-1D CNN and measure it: the run behind every MNIST-1D study.

    The seed picks the training and validation sequences, the initial weights, the minibatch order
    and the dropout masks; runs with the same seed and different dropout share the first three.

    Args:
        config: a complete configuration (see :func:`mnist1d_config`).
        seed: the run's seed.
        device: ``None`` for :func:`~spatialdrop_edu.runtime.get_device`.
        progress: show the epoch bar.

    Returns:
        A JSON-serialisable dict with ``test_acc``, ``test_loss`` (of the restored best epoch),
        ``best_epoch``, ``best_val_loss``, ``best_val_acc``, ``epochs_run``,
        ``epoch_time`` (median seconds per epoch), ``device``, ``wall_time`` (seconds of the whole run), and ``curves`` (per-epoch lists,
        rounded to 5 decimals to keep saved studies small).
    """
    start = time.perf_counter()
    config = mnist1d_config(**config)
    data = load_mnist1d(config["train_size"], config["val_size"], seed=seed)
    seed_everything(seed)
    model = mnist1d_cnn(config["dropout"], config["p"], config["placement"], channels=config["channels"],
                        block_size=config["block_size"])
    history = train(model, data, epochs=config["epochs"], batch_size=config["batch_size"], lr=config["lr"],
                    patience=config["patience"], seed=seed, device=device, progress=progress,
                    desc=f"{config['dropout']} p={config['p']} seed={seed}")
    test_loss, test_acc = evaluate(model, *data.test)
    return {"test_acc": test_acc, "test_loss": test_loss, "best_epoch": history["best_epoch"],
            "best_val_loss": history["best_val_loss"], "best_val_acc": history["best_val_acc"],
            "epochs_run": history["epochs_run"], "epoch_time": statistics.median(history["epoch_time"]),
            "device": history["device"], "wall_time": time.perf_counter() - start, "curves": {m: [round(v, 5) for v in history[m]] for m in METRICS if m != "epoch_time"}}
