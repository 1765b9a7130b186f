"""Run settings: what one run of each study depends on, every setting's default and how it is checked.

A *configuration* holds everything a run depends on (variant, rate, placement, data size, epochs,
...), so that a study's file never mixes runs made with different settings. It is a plain dict of
JSON values, which :func:`~spatialdrop_edu.training.study.run_study` stores as it is (one JSON line
per run in ``study.jsonl``; the shipped studies are in ``spatialdrop_edu/results/<chapter>/``): a stored
configuration loads as a dict and compares equal to the one made here.

The three studies share one way of making a configuration: a :class:`RunSettings` (its kind, the
defaults, one check per setting) and :func:`make_config`, which fills in the defaults, refuses
unknown settings and checks every value (a wrong type raises ``TypeError``, a wrong value
``ValueError``). :func:`mnist1d_config`, :func:`patch_config` and :func:`denoising_config` are
:func:`make_config` with the settings of chapters 6, 7 and 8.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .._validation import (
    check_choice,
    check_non_negative_int,
    check_number_at_least,
    check_positive_int,
    check_positive_number,
    check_probability,
)
from ..photos import PHOTOS
from .augment import AUGMENTATIONS
from .data import DENOISING_PHOTOS
from .denoising import LR_SCHEDULES
from .loop import OPTIMIZERS, STOP_ON
from .models import PLACEMENTS, SKIP_PLACEMENTS, VARIANTS

__all__ = [
    "RunSettings",
    "make_config",
    "MNIST1D",
    "MNIST1D_README",
    "PATCH",
    "DENOISING",
    "MNIST1D_DEFAULTS",
    "PATCH_DEFAULTS",
    "DENOISING_DEFAULTS",
    "DATASETS",
    "mnist1d_config",
    "mnist1d_readme_config",
    "patch_config",
    "denoising_config",
]

#: The datasets of a patch run (:func:`~spatialdrop_edu.training.experiments.patch_data`); only
#: ``"fashion_mnist"`` needs files (downloaded by the learner).
DATASETS = ("patches", "faces", "fashion_mnist")


@dataclass(frozen=True)
class RunSettings:
    """The settings of one kind of run: its name, every setting's default, and a check per setting.

    A check is a function ``(value, name)`` that raises on a wrong value (its return value is not
    used: a configuration keeps the values it is given, so that its JSON never changes).
    """

    kind: str
    defaults: Mapping[str, object]
    checks: Mapping[str, Callable[[object, str], object]]

    def __post_init__(self):
        if set(self.defaults) != set(self.checks):
            raise ValueError(
                f"every setting of a {self.kind} run needs a default and a check, got defaults for "
                f"{sorted(self.defaults)} and checks for {sorted(self.checks)}."
            )
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        object.__setattr__(self, "checks", MappingProxyType(dict(self.checks)))


def make_config(run: RunSettings, **settings) -> dict:
    """A complete configuration of a ``run``: its defaults updated with ``settings``, every value checked.

    Args:
        run: the kind of run, :data:`MNIST1D`, :data:`PATCH` or :data:`DENOISING`.
        settings: the settings that differ from the defaults.

    Returns:
        A new dict, the settings in the order of the defaults; sequences of names (``photos``) are
        lists, as they come back from JSON.

    Examples::

        >>> make_config(MNIST1D, dropout="spatial", p=0.2)["train_size"]
        500
        >>> make_config(MNIST1D, rate=0.2)  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        ValueError: unknown settings ['rate'] of a mnist1d run; accepted:
        ['batch_size', 'block_size', ...].
    """
    unknown = set(settings) - set(run.defaults)
    if unknown:
        accepted = sorted(run.defaults)
        raise ValueError(f"unknown settings {sorted(unknown)} of a {run.kind} run; accepted: {accepted}.")
    config = {**run.defaults, **settings}
    for name, value in config.items():
        run.checks[name](value, name)
    if "photos" in config:
        config["photos"] = list(config["photos"])
    return config


# -- checks of single settings ---------------------------------------------------------------------


def _choice(choices: tuple):
    return lambda value, name: check_choice(value, choices, name)


def _optional(check):
    return lambda value, name: None if value is None else check(value, name)


def _photos(value, name: str) -> None:
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a list of photo names, got {value!r}.")
    for photo in value:
        check_choice(photo, tuple(PHOTOS), f"{name}[]")


def _path(value, name: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be None or a folder's path as a string, got {value!r}.")


def _non_negative(value, name: str) -> None:
    check_number_at_least(value, name, 0.0)


#: The checks of the settings every kind of run has.
_MODEL_AND_OPTIMIZER = {
    "dropout": _choice(VARIANTS),
    "p": check_probability,
    "channels": check_positive_int,
    "block_size": check_positive_int,
    "epochs": check_positive_int,
    "batch_size": check_positive_int,
    "lr": check_positive_number,
}

#: The runs of chapter 6, a 1-D CNN on MNIST-1D (:func:`~spatialdrop_edu.training.experiments.mnist1d_trial`).
MNIST1D = RunSettings(
    "mnist1d",
    defaults={
        "dropout": "none",
        "p": 0.0,
        "placement": "all",
        "train_size": 500,
        "val_size": 500,
        "epochs": 60,
        "patience": 15,
        "stop_on": "val_loss_and_acc",
        "batch_size": 100,
        "lr": 1e-2,
        "channels": 32,
        "block_size": 3,
    },
    checks={
        **_MODEL_AND_OPTIMIZER,
        "placement": _choice(PLACEMENTS),
        "train_size": _optional(check_positive_int),
        "val_size": check_positive_int,
        "patience": _optional(check_positive_int),
        "stop_on": _choice(tuple(STOP_ON)),
    },
)

#: Chapter 6's CNN trained the way the mnist1d repository trains its models (its ``get_model_args``): all 4000
#: training sequences, Adam at 1e-2, minibatches of 100, 6,000 steps, no validation set and no early stopping
#: (:func:`~spatialdrop_edu.training.experiments.mnist1d_readme_trial`).
MNIST1D_README = RunSettings(
    "mnist1d_readme",
    defaults={"channels": 32, "steps": 6000, "batch_size": 100, "lr": 1e-2, "eval_every": 500},
    checks={
        "channels": check_positive_int,
        "steps": check_positive_int,
        "batch_size": check_positive_int,
        "lr": check_positive_number,
        "eval_every": check_positive_int,
    },
)

#: The runs of chapter 7, a 2-D CNN on image patches beside other regularisers
#: (:func:`~spatialdrop_edu.training.experiments.patch_trial`).
PATCH = RunSettings(
    "patch",
    defaults={
        "dataset": "patches",
        "train_per_class": 15,
        "val_per_class": 50,
        "patch": 16,
        "dropout": "none",
        "p": 0.0,
        "placement": "late",
        "weight_decay": 0.0,
        "optimizer": "adam",
        "augment": "none",
        "patience": None,
        "epochs": 30,
        "batch_size": 15,
        "lr": 3e-3,
        "channels": 16,
        "block_size": 3,
        "data_root": None,
    },
    checks={
        **_MODEL_AND_OPTIMIZER,
        "dataset": _choice(DATASETS),
        "train_per_class": _optional(check_positive_int),
        "val_per_class": _optional(check_positive_int),
        "patch": check_positive_int,
        "placement": _choice(PLACEMENTS),
        "weight_decay": _non_negative,
        "optimizer": _choice(tuple(OPTIMIZERS)),
        "augment": _choice(AUGMENTATIONS),
        "patience": _optional(check_positive_int),
        "data_root": _optional(_path),
    },
)

#: The runs of chapter 8, a tiny U-Net denoiser with dropout on its skips
#: (:func:`~spatialdrop_edu.training.experiments.denoising_trial`).
DENOISING = RunSettings(
    "denoising",
    defaults={
        "dropout": "none",
        "p": 0.0,
        "placement": "top",
        "channels": 8,
        "block_size": 3,
        "photos": list(DENOISING_PHOTOS),
        "patch": 32,
        "stride": 32,
        "max_train": None,
        "max_val": None,
        "max_test": None,
        "sigma": 0.2,
        "epochs": 10,
        "patience": None,
        "batch_size": 32,
        "lr": 3e-3,
        "lr_schedule": "constant",
        "mc_passes": 0,
    },
    checks={
        **_MODEL_AND_OPTIMIZER,
        "placement": _choice(SKIP_PLACEMENTS),
        "photos": _photos,
        "patch": check_positive_int,
        "stride": check_positive_int,
        "max_train": _optional(check_positive_int),
        "max_val": _optional(check_positive_int),
        "max_test": _optional(check_positive_int),
        "sigma": check_positive_number,
        "patience": _optional(check_positive_int),
        "lr_schedule": _choice(LR_SCHEDULES),
        "mc_passes": check_non_negative_int,
    },
)

#: Settings of an MNIST-1D run that :func:`mnist1d_config` fills in when not given.
MNIST1D_DEFAULTS = MNIST1D.defaults
#: Settings of a patch run that :func:`patch_config` fills in when not given.
PATCH_DEFAULTS = PATCH.defaults
#: Settings of a denoising run that :func:`denoising_config` fills in when not given.
DENOISING_DEFAULTS = DENOISING.defaults


def mnist1d_config(**settings) -> dict:
    """A complete MNIST-1D configuration: :data:`MNIST1D_DEFAULTS` updated with ``settings``, each checked.

    Examples::

        >>> mnist1d_config(dropout="spatial", p=0.2)["train_size"]
        500
    """
    return make_config(MNIST1D, **settings)


def mnist1d_readme_config(**settings) -> dict:
    """A complete configuration of the mnist1d repository's protocol: :data:`MNIST1D_README` updated with ``settings``.

    Examples::

        >>> (mnist1d_readme_config()["steps"],
        ...  mnist1d_readme_config(channels=25)["channels"])
        (6000, 25)
    """
    return make_config(MNIST1D_README, **settings)


def patch_config(**settings) -> dict:
    """A complete patch-run configuration: :data:`PATCH_DEFAULTS` updated with ``settings``, each checked.

    Examples::

        >>> c = patch_config(dropout="spatial", p=0.2, augment="flips")
        >>> c["train_per_class"], c["patience"], c["augment"]
        (15, None, 'flips')
    """
    return make_config(PATCH, **settings)


def denoising_config(**settings) -> dict:
    """A complete denoising configuration: :data:`DENOISING_DEFAULTS` updated with ``settings``, each checked.

    Examples::

        >>> config = denoising_config(dropout="spatial", p=0.3, photos=("camera",))
        >>> # photos: a list, as after a JSON round trip
        >>> config["sigma"], config["photos"]
        (0.2, ['camera'])
    """
    return make_config(DENOISING, **settings)
