"""The kinds of run the training chapters study, as typed settings: one frozen dataclass per kind.

A run holds everything it depends on: its data and model settings as fields, its dropout as a
:class:`~spatialdrop_edu.training.settings.DropoutSettings` and its optimisation as a
:class:`~spatialdrop_edu.training.settings.TrainSettings`. It is checked once, when it is made;
code reads it as attributes (``run.training.lr``, ``run.dropout.p``) and never completes or checks
it again.

Studies store a run as a flat dict of JSON values, one line per run in ``study.jsonl`` (the shipped
studies are in ``spatialdrop_edu/results/<chapter>/``): :meth:`Run.to_json` gives that dict, its
keys in a fixed order, and :meth:`Run.from_json` reads it back, filling in the kind's defaults for
keys left out. ``JSON`` of each kind lists its stored keys, each naming the attribute it reads
(``"lr"`` → ``training.lr``, :meth:`Run.json_paths`); a setting of a nested dataclass that a kind does not store (a
MNIST-1D run has no weight decay) must keep that kind's default, so a stored run always says all
it depends on.

The kinds: :class:`MNIST1DRun` (chapter 6), :class:`MNIST1DReadmeRun` (chapter 6's CNN trained the
way the mnist1d repository trains it), :class:`PatchRun` (chapter 7) and :class:`DenoisingRun`
(chapter 8). :func:`mnist1d_config`, :func:`mnist1d_readme_config`, :func:`patch_config` and
:func:`denoising_config` give a kind's stored dict from its settings, as the chapters write them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import ClassVar

from .._validation import (
    check_choice,
    check_non_negative_int,
    check_positive_int,
    check_positive_number,
    check_probability,
    check_seed,
)
from ..photos import PHOTOS
from ..tagging.masks import VARIANTS as EMBEDDING_VARIANTS
from ..tagging.models import ENCODERS
from .data import DENOISING_PHOTOS
from .settings import (
    PLACEMENTS,
    SKIP_PLACEMENTS,
    DropoutSettings,
    TrainSettings,
    check_fields,
    choice,
    optional,
    setting,
)

__all__ = [
    "DATASETS",
    "DROPOUT_KEYS",
    "stored_keys",
    "Run",
    "MNIST1DRun",
    "MNIST1DReadmeRun",
    "PatchRun",
    "DenoisingRun",
    "TaggerRun",
    "RUN_KINDS",
    "run_from_json",
    "mnist1d_config",
    "mnist1d_readme_config",
    "patch_config",
    "denoising_config",
    "tagger_config",
]

#: The datasets of a patch run (:func:`~spatialdrop_edu.training.builders.patch_data`); only
#: ``"fashion_mnist"`` needs files (downloaded by the learner).
DATASETS = ("patches", "faces", "fashion_mnist")


#: The stored keys of a run's dropout and the fields of :class:`~spatialdrop_edu.training.settings.DropoutSettings`
#: they name.
DROPOUT_KEYS = {"dropout": "variant", "p": "p", "block_size": "block_size"}


def stored_keys(keys: str) -> tuple[str, ...]:
    """A kind's stored keys in their order, written as one string of names separated by spaces."""
    return tuple(keys.split())


class Run:
    """What every kind of run shares: its checks, its stored dict and the way back.

    A kind is a frozen dataclass deriving from this class, with a ``kind`` name and ``JSON``, its stored
    keys in order. A key names a field of the kind, else a field of its ``dropout``
    (:data:`DROPOUT_KEYS`: ``"dropout"`` is the variant), else a field of its ``training``.
    """

    kind: ClassVar[str]
    JSON: ClassVar[tuple[str, ...]]

    @classmethod
    def json_paths(cls) -> dict[str, str]:
        """Every stored key and the attribute it reads, e.g. ``{"lr": "training.lr", ...}``, in order.

        Examples::

            >>> MNIST1DReadmeRun.json_paths()["lr"], MNIST1DRun.json_paths()["dropout"]
            ('training.lr', 'dropout.variant')
        """
        paths = cls.__dict__.get("_paths")
        if paths is None:
            own = {f.name for f in dataclasses.fields(cls) if not dataclasses.is_dataclass(f.default)}
            trained = {f.name for f in dataclasses.fields(TrainSettings)}
            paths = {}
            for key in cls.JSON:
                if key in own:
                    paths[key] = key
                elif key in DROPOUT_KEYS:
                    paths[key] = f"dropout.{DROPOUT_KEYS[key]}"
                elif key in trained:
                    paths[key] = f"training.{key}"
                else:
                    raise TypeError(f"{cls.__name__} stores {key!r}, which is none of its settings.")
            cls._paths = paths
        return paths

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if dataclasses.is_dataclass(field.default) and not isinstance(value, type(field.default)):
                raise TypeError(
                    f"{field.name} of a {self.kind} run must be a {type(field.default).__name__}, "
                    f"got {type(value).__name__}."
                )
            if isinstance(value, list):  # a stored list (photos) is kept as a tuple
                object.__setattr__(self, field.name, tuple(value))
        check_fields(self)
        stored = set(self.json_paths().values())
        for field in dataclasses.fields(self):
            if not dataclasses.is_dataclass(field.default):
                continue
            nested, default = getattr(self, field.name), field.default
            for inner in dataclasses.fields(nested):
                path = f"{field.name}.{inner.name}"
                if path not in stored and getattr(nested, inner.name) != getattr(default, inner.name):
                    raise ValueError(
                        f"a {self.kind} run does not vary {path} (it keeps "
                        f"{getattr(default, inner.name)!r}); its settings are {list(self.JSON)}."
                    )

    def to_json(self) -> dict:
        """The stored form: a flat dict of JSON values, keys in the kind's order, sequences as lists.

        A setting declared ``stored_if_changed`` (see :func:`~spatialdrop_edu.training.settings.setting`)
        is left out while it has its default.
        """
        config, defaults = {}, {f.name: f.default for f in dataclasses.fields(self)}
        for key, path in self.json_paths().items():
            outer, _, inner = path.partition(".")
            holder, default_holder = (getattr(self, outer), defaults[outer]) if inner else (self, None)
            field = {f.name: f for f in dataclasses.fields(holder)}[inner or outer]
            value = getattr(holder, field.name)
            default = getattr(default_holder, inner) if inner else field.default
            if field.metadata.get("stored_if_changed") and value == default:
                continue
            config[key] = list(value) if isinstance(value, tuple) else value
        return config

    @classmethod
    def from_json(cls, config: Mapping):
        """A run of this kind from its stored dict; keys left out take the kind's defaults.

        Every value is checked under its stored name; an unknown key raises ``ValueError`` naming
        the accepted ones.
        """
        if not isinstance(config, Mapping):
            raise TypeError(f"a {cls.kind} run's settings must be a dict, got {type(config).__name__}.")
        unknown = set(config) - set(cls.JSON)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)} of a {cls.kind} run; accepted: {sorted(cls.JSON)}.")
        own, nested = {}, {}
        defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        paths = cls.json_paths()
        for key, value in config.items():
            outer, _, inner = paths[key].partition(".")
            holder = type(defaults[outer]) if inner else cls
            check = {f.name: f for f in dataclasses.fields(holder)}[inner or outer].metadata["check"]
            check(value, key)
            if inner:
                nested.setdefault(outer, {})[inner] = value
            else:
                own[outer] = value
        for outer, values in nested.items():
            own[outer] = dataclasses.replace(defaults[outer], **values)
        return cls(**own)

    def replace(self, **settings):
        """This run with some stored settings changed, e.g. ``run.replace(dropout="spatial", p=0.2)``."""
        return type(self).from_json({**self.to_json(), **settings})


def _photos(value, name: str) -> None:
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a list of photo names, got {value!r}.")
    for photo in value:
        check_choice(photo, tuple(PHOTOS), f"{name}[]")


def _path(value, name: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be None or a folder's path as a string, got {value!r}.")


@dataclasses.dataclass(frozen=True)
class MNIST1DRun(Run):
    """A run of chapter 6: a 1-D CNN on MNIST-1D (:func:`~spatialdrop_edu.training.experiments.trial`).

    Examples::

        >>> run = MNIST1DRun.from_json({"dropout": "spatial", "p": 0.2})
        >>> run.dropout.variant, run.training.patience, run.train_size
        ('spatial', 15, 500)
        >>> run.to_json()["stop_on"]
        'val_loss_and_acc'
    """

    kind: ClassVar[str] = "mnist1d"
    JSON: ClassVar[tuple[str, ...]] = stored_keys(
        "dropout p placement train_size val_size epochs patience stop_on batch_size lr channels block_size data_seed"
    )

    dropout: DropoutSettings = DropoutSettings()
    placement: str = setting("all", choice(PLACEMENTS))
    train_size: int | None = setting(500, optional(check_positive_int))
    val_size: int = setting(500, check_positive_int)
    channels: int = setting(32, check_positive_int)
    data_seed: int = setting(42, check_seed, stored_if_changed=True)
    training: TrainSettings = TrainSettings(epochs=60, patience=15, stop_on="val_loss_and_acc", batch_size=100, lr=1e-2)


@dataclasses.dataclass(frozen=True)
class MNIST1DReadmeRun(Run):
    """Chapter 6's CNN trained the way the mnist1d repository trains its models (its ``get_model_args``).

    All 4000 training sequences, Adam at 1e-2, minibatches of 100, 6,000 steps, no validation set and
    no early stopping (:func:`~spatialdrop_edu.training.experiments.mnist1d_readme_trial`).

    Examples::

        >>> run = MNIST1DReadmeRun()
        >>> run.to_json()["steps"], run.training.lr, run.training.batch_size
        (6000, 0.01, 100)
    """

    kind: ClassVar[str] = "mnist1d_readme"
    JSON: ClassVar[tuple[str, ...]] = stored_keys("channels steps batch_size lr eval_every")

    channels: int = setting(32, check_positive_int)
    steps: int = setting(6000, check_positive_int)
    eval_every: int = setting(500, check_positive_int)
    training: TrainSettings = TrainSettings(batch_size=100, lr=1e-2)


@dataclasses.dataclass(frozen=True)
class PatchRun(Run):
    """A run of chapter 7: a 2-D CNN on image patches beside other regularisers.

    Examples::

        >>> run = PatchRun.from_json({"augment": "flips", "weight_decay": 1e-3})
        >>> run.train_per_class, run.training.patience, run.training.augment
        (15, None, 'flips')
    """

    kind: ClassVar[str] = "patch"
    JSON: ClassVar[tuple[str, ...]] = stored_keys(
        "dataset train_per_class val_per_class patch dropout p placement weight_decay optimizer augment patience "
        "epochs batch_size lr channels block_size data_root"
    )

    dataset: str = setting("patches", choice(DATASETS))
    train_per_class: int | None = setting(15, optional(check_positive_int))
    val_per_class: int | None = setting(50, optional(check_positive_int))
    patch: int = setting(16, check_positive_int)
    dropout: DropoutSettings = DropoutSettings()
    placement: str = setting("late", choice(PLACEMENTS))
    channels: int = setting(16, check_positive_int)
    data_root: str | None = setting(None, optional(_path))
    training: TrainSettings = TrainSettings(epochs=30, batch_size=15, lr=3e-3)


@dataclasses.dataclass(frozen=True)
class DenoisingRun(Run):
    """A run of chapter 8: a tiny U-Net denoiser with dropout on its skips.

    Examples::

        >>> run = DenoisingRun.from_json({"photos": ["camera"], "p": 0.3})
        >>> run.photos, run.sigma, run.to_json()["photos"]
        (('camera',), 0.2, ['camera'])
    """

    kind: ClassVar[str] = "denoising"
    JSON: ClassVar[tuple[str, ...]] = stored_keys(
        "dropout p placement channels block_size photos patch stride max_train max_val max_test sigma "
        "epochs patience batch_size lr lr_schedule mc_passes"
    )

    dropout: DropoutSettings = DropoutSettings()
    placement: str = setting("top", choice(SKIP_PLACEMENTS))
    channels: int = setting(8, check_positive_int)
    photos: tuple = setting(DENOISING_PHOTOS, _photos)
    patch: int = setting(32, check_positive_int)
    stride: int = setting(32, check_positive_int)
    max_train: int | None = setting(None, optional(check_positive_int))
    max_val: int | None = setting(None, optional(check_positive_int))
    max_test: int | None = setting(None, optional(check_positive_int))
    sigma: float = setting(0.2, check_positive_number)
    mc_passes: int = setting(0, check_non_negative_int)
    training: TrainSettings = TrainSettings(epochs=10, batch_size=32, lr=3e-3)


@dataclasses.dataclass(frozen=True)
class TaggerRun(Run):
    """A run of chapter 9: a part-of-speech tagger on a generated language, with dropout on its embeddings.

    The language (:func:`~spatialdrop_edu.tagging.language.make_tagging_language`: its vocabulary, share of
    ambiguous words, sentence lengths, word frequencies and split sizes), the tagger
    (:class:`~spatialdrop_edu.tagging.models.Tagger`: its encoder, embedding and hidden sizes, and the dropout
    on the embedded sentence, one of :data:`~spatialdrop_edu.tagging.masks.VARIANTS`) and its training.
    Its own ``dropout`` is a variant name of its own kind (``"feature"`` is SpatialDropout1D), not a
    :class:`~spatialdrop_edu.training.settings.DropoutSettings`.

    Examples::

        >>> run = TaggerRun().replace(encoder="conv", dropout="feature", p=0.1)
        >>> run.encoder, run.dropout, run.p, run.training.patience
        ('conv', 'feature', 0.1, 5)
    """

    kind: ClassVar[str] = "tagger"
    JSON: ClassVar[tuple[str, ...]] = stored_keys(
        "encoder dropout p vocab_size ambiguous_share zipf_exponent min_length max_length train_size val_size "
        "test_size dim hidden epochs patience batch_size lr"
    )

    encoder: str = setting("gru", choice(ENCODERS))
    dropout: str = setting("none", choice(EMBEDDING_VARIANTS))
    p: float = setting(0.0, check_probability)
    vocab_size: int = setting(1000, check_positive_int)
    ambiguous_share: float = setting(0.5, check_probability)
    zipf_exponent: float = setting(1.0, check_positive_number)
    min_length: int = setting(4, check_positive_int)
    max_length: int = setting(20, check_positive_int)
    train_size: int = setting(1000, check_positive_int)
    val_size: int = setting(500, check_positive_int)
    test_size: int = setting(1000, check_positive_int)
    dim: int = setting(32, check_positive_int)
    hidden: int = setting(32, check_positive_int)
    training: TrainSettings = TrainSettings(epochs=20, patience=5, batch_size=32, lr=1e-2)


#: The kinds of run, by name.
RUN_KINDS = {kind.kind: kind for kind in (MNIST1DRun, MNIST1DReadmeRun, PatchRun, DenoisingRun, TaggerRun)}


def run_from_json(kind, config) -> Run:
    """``config`` as a run of ``kind`` (a kind's class or its name); a run of that kind is returned as it is."""
    kind = RUN_KINDS[check_choice(kind, tuple(RUN_KINDS), "kind")] if isinstance(kind, str) else kind
    return config if isinstance(config, kind) else kind.from_json(config)


def mnist1d_config(**settings) -> dict:
    """A complete MNIST-1D configuration, as stored: :class:`MNIST1DRun` with ``settings``, each checked.

    Examples::

        >>> mnist1d_config(dropout="spatial", p=0.2)["train_size"]
        500
        >>> mnist1d_config(rate=0.2)  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        ValueError: unknown settings ['rate'] of a mnist1d run; accepted:
        ['batch_size', 'block_size', ...].
    """
    return MNIST1DRun.from_json(settings).to_json()


def mnist1d_readme_config(**settings) -> dict:
    """A complete configuration of the mnist1d repository's protocol, as stored (:class:`MNIST1DReadmeRun`).

    Examples::

        >>> (mnist1d_readme_config()["steps"],
        ...  mnist1d_readme_config(channels=25)["channels"])
        (6000, 25)
    """
    return MNIST1DReadmeRun.from_json(settings).to_json()


def patch_config(**settings) -> dict:
    """A complete patch-run configuration, as stored: :class:`PatchRun` with ``settings``, each checked.

    Examples::

        >>> c = patch_config(dropout="spatial", p=0.2, augment="flips")
        >>> c["train_per_class"], c["patience"], c["augment"]
        (15, None, 'flips')
    """
    return PatchRun.from_json(settings).to_json()


def denoising_config(**settings) -> dict:
    """A complete denoising configuration, as stored: :class:`DenoisingRun` with ``settings``, each checked.

    Examples::

        >>> config = denoising_config(dropout="spatial", p=0.3, photos=("camera",))
        >>> # photos: a list, as after a JSON round trip
        >>> config["sigma"], config["photos"]
        (0.2, ['camera'])
    """
    return DenoisingRun.from_json(settings).to_json()


def tagger_config(**settings) -> dict:
    """A complete tagger configuration, as stored: :class:`TaggerRun` with ``settings``, each checked.

    Examples::

        >>> c = tagger_config(encoder="conv", dropout="word_type", p=0.25)
        >>> c["encoder"], c["vocab_size"], c["epochs"]
        ('conv', 1000, 20)
    """
    return TaggerRun.from_json(settings).to_json()
