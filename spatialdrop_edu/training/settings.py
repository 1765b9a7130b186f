"""Typed settings shared by every kind of run: how a model is trained, and which dropout it carries.

A run's settings are frozen dataclasses, checked once, when they are made: a wrong type raises
``TypeError``, a wrong value ``ValueError``, each naming the setting and what it accepts. After
that, code reads them as attributes and never checks or completes them again.

* :class:`TrainSettings`: the optimisation of a run (epochs, minibatch size, learning rate,
  optimizer, weight decay, augmentation, early stopping, learning-rate schedule), what
  :func:`~spatialdrop_edu.training.prepare.prepare_run` turns into an optimizer and generators;
* :class:`DropoutSettings`: one dropout layer's variant, rate and block size, what
  :func:`~spatialdrop_edu.training.models.make_dropout` builds.

The kinds of run that hold them (chapters 6, 7 and 8) are in :mod:`~spatialdrop_edu.training.runs`.
Every setting is a dataclass field whose ``metadata["check"]`` is a function ``(value, name)``
that raises on a wrong value; :func:`check_fields` runs them. Values are kept as they are given
(``p=0`` stays an int), so that a run's stored JSON never changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch

from .._validation import (
    check_choice,
    check_number_at_least,
    check_positive_int,
    check_positive_number,
    check_probability,
)
from .augment import AUGMENTATIONS

__all__ = [
    "VARIANTS",
    "PLACEMENTS",
    "SKIP_PLACEMENTS",
    "OPTIMIZERS",
    "STOP_ON",
    "LR_SCHEDULES",
    "setting",
    "check_fields",
    "TrainSettings",
    "DropoutSettings",
    "NO_DROPOUT",
    "training_settings",
]

#: The dropout variants every builder accepts.
VARIANTS = ("none", "element", "spatial", "dropblock")
#: Where the CNNs' dropout layers go, after the first conv block, after the last one, or after each.
PLACEMENTS = ("early", "late", "all")
#: Which of the U-Net's skip connections carry a dropout layer, the full-resolution one only or both.
SKIP_PLACEMENTS = ("top", "all")
#: The optimizers a run accepts, Adam with an L2 penalty or AdamW with decoupled weight decay.
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
#: What early stopping waits for besides a lower validation loss, as ``{name: {metric: higher}}``.
STOP_ON = {"val_loss": {}, "val_loss_and_acc": {"val_acc": True}}
#: The learning-rate schedules of a denoising run (:func:`~spatialdrop_edu.training.denoising.train_denoiser`).
LR_SCHEDULES = ("constant", "cosine")


def setting(default, check: Callable[[object, str], object], *, stored_if_changed: bool = False):
    """A dataclass field of a run's settings: its ``default`` and its ``check`` ``(value, name)``.

    ``stored_if_changed=True`` is for a setting added after studies were stored: a run keeps it out
    of its stored JSON while it has its default, so the stored runs load, compare and resume as
    before (:meth:`~spatialdrop_edu.training.runs.Run.to_json`).

    Examples::

        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class Toy:
        ...     size: int = setting(3, check_positive_int)
        ...     def __post_init__(self):
        ...         check_fields(self)
        >>> Toy(0)
        Traceback (most recent call last):
        ...
        ValueError: size must be a positive int, got 0.
    """
    return dataclasses.field(default=default, metadata={"check": check, "stored_if_changed": stored_if_changed})


def check_fields(settings) -> None:
    """Run the check of every field of a settings dataclass (see :func:`setting`) on its value."""
    for field in dataclasses.fields(settings):
        check = field.metadata.get("check")
        if check is not None:
            check(getattr(settings, field.name), field.name)


def choice(choices) -> Callable[[object, str], None]:
    """The check of a setting that takes one of ``choices``."""
    choices = tuple(choices)
    return lambda value, name: check_choice(value, choices, name)


def optional(check) -> Callable[[object, str], None]:
    """The check of a setting that may also be ``None``."""
    return lambda value, name: None if value is None else check(value, name)


def _non_negative(value, name: str) -> None:
    check_number_at_least(value, name, 0.0)


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """How a model is trained: the settings every kind of run shares.

    Args:
        epochs: the most epochs to run.
        batch_size: examples per minibatch.
        lr: the learning rate.
        patience: stop after this many epochs without a better validation score, or ``None`` to
            run every epoch.
        stop_on: what early stopping waits for (:data:`STOP_ON`), for classifiers.
        optimizer: ``"adam"`` (an L2 penalty of ``weight_decay``) or ``"adamw"`` (decoupled).
        weight_decay: non-negative.
        augment: one of :data:`~spatialdrop_edu.training.augment.AUGMENTATIONS`, drawn per image
            from a generator of its own.
        lr_schedule: one of :data:`LR_SCHEDULES`.

    Examples::

        >>> TrainSettings(epochs=5).batch_size
        32
        >>> TrainSettings(optimizer="sgd")
        Traceback (most recent call last):
        ...
        ValueError: optimizer must be one of 'adam', 'adamw', got 'sgd'.
    """

    epochs: int = setting(10, check_positive_int)
    batch_size: int = setting(32, check_positive_int)
    lr: float = setting(3e-3, check_positive_number)
    patience: int | None = setting(None, optional(check_positive_int))
    stop_on: str = setting("val_loss", choice(STOP_ON))
    optimizer: str = setting("adam", choice(OPTIMIZERS))
    weight_decay: float = setting(0.0, _non_negative)
    augment: str = setting("none", choice(AUGMENTATIONS))
    lr_schedule: str = setting("constant", choice(LR_SCHEDULES))

    def __post_init__(self):
        check_fields(self)


@dataclasses.dataclass(frozen=True)
class DropoutSettings:
    """One dropout layer: its variant, its drop probability and, for DropBlock, its block size.

    Args:
        variant: one of :data:`VARIANTS`.
        p: the drop probability, in ``[0, 1]``.
        block_size: the block side (or run length) of ``"dropblock"``.

    Examples::

        >>> DropoutSettings("spatial", 0.2).active, NO_DROPOUT.active
        (True, False)
    """

    variant: str = setting("none", choice(VARIANTS))
    p: float = setting(0.0, check_probability)
    block_size: int = setting(3, check_positive_int)

    def __post_init__(self):
        check_fields(self)

    @property
    def active(self) -> bool:
        """True when the layer drops anything (a variant other than ``"none"`` and ``p > 0``)."""
        return self.variant != "none" and self.p != 0


#: No dropout layer at all.
NO_DROPOUT = DropoutSettings()


def training_settings(training: TrainSettings | None, settings: dict, defaults: TrainSettings) -> TrainSettings:
    """The settings of a training: ``training`` as it is, or ``defaults`` changed by keyword ``settings``.

    Examples::

        >>> training_settings(None, {"epochs": 3}, TrainSettings()).epochs
        3
        >>> training_settings(TrainSettings(), {"lr": 1.0}, TrainSettings())
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: give the training settings either as ... (got ['lr']).
    """
    if training is None:
        unknown = set(settings) - {f.name for f in dataclasses.fields(TrainSettings)}
        if unknown:
            accepted = [f.name for f in dataclasses.fields(TrainSettings)]
            raise TypeError(f"unknown training settings {sorted(unknown)}; accepted: {accepted}.")
        return dataclasses.replace(defaults, **settings)
    if settings:
        raise TypeError(
            "give the training settings either as training=TrainSettings(...) or as keywords, "
            f"not both (got {sorted(settings)})."
        )
    if not isinstance(training, TrainSettings):
        raise TypeError(f"training must be a TrainSettings, got {type(training).__name__}.")
    return training
