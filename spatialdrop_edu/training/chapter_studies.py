"""The training chapters' studies, described once: settings, configurations, seeds and files, run in one call.

A training chapter keeps its knobs in its ``parameters`` cell and hands them to :func:`chapter_study`, which gives
the chapter's study: a frozen settings object (:class:`Mnist1dStudy` for chapter 6, :class:`PatchStudy` for
chapter 7, :class:`DenoisingStudy` for chapter 8) that builds every configuration the chapter runs. With
``scale=True`` the full study's settings, those the shipped results were made with (each class's ``FULL``),
replace the parameters they name, and the full study's companions join it: chapter 6's factors (placement and
width) and its network trained the MNIST-1D README's way, chapter 8's two learning-rate schedules.

* :meth:`ChapterStudy.studies`: the studies a chapter runs, each a :class:`Study` (a trial, its configurations,
  its seeds, the file that keeps its runs). Chapter 7 decides a third one on validation as it goes
  (:meth:`PatchStudy.combined`).
* :func:`run_chapter_study`: the one call. It runs every study of the chapter with
  :func:`~spatialdrop_edu.training.study.run_study` into the chapter's folder, resuming what is there: at full
  scale ``results/<chapter>/`` beside the notebook (:func:`~spatialdrop_edu.training.results.local_results`),
  ``workers`` runs side by side (:func:`~spatialdrop_edu.training.workers.study_executor`), and then the
  study's ``meta.json`` (:func:`~spatialdrop_edu.training.results.write_meta`, with
  :meth:`ChapterStudy.meta_notes`); otherwise the small run's cache
  (:func:`~spatialdrop_edu.training.results.study_cache`), one run after another.
* :func:`read_full_study`: a chapter's full study read back (a full run of your own beside the notebook, else the
  shipped one), every run file and ``meta.json``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from .._validation import check_bool, check_chapter, check_choice, check_instance, check_positive_int
from .results import full_results, local_results, study_cache, write_meta
from .study import load_runs
from .tables import early_stopping_records, summarize
from .workers import study_executor

__all__ = [
    "Study",
    "ChapterStudy",
    "Mnist1dStudy",
    "PatchStudy",
    "DenoisingStudy",
    "ChapterRun",
    "FullStudy",
    "CHAPTER_STUDIES",
    "chapter_study",
    "run_chapter_study",
    "read_full_study",
]


def _toolkit():
    """The training toolkit's public names (``spatialdrop_edu.training``), looked up when a study is built: the
    configuration builders and trials are the toolkit's, wherever its modules keep them."""
    from .. import training

    return training


@dataclass(frozen=True)
class Study:
    """One study of a chapter: ``trial(config, seed, device=...)`` for every configuration and seed, kept in a file.

    Args:
        name: what it studies, such as ``"grid"`` or ``"factors"``.
        trial: a function of the training toolkit (picklable, so that worker processes can run it), such as
            :func:`~spatialdrop_edu.training.experiments.mnist1d_trial`.
        configs: the configurations, in the order they run.
        seeds: every configuration runs once per seed.
        file: the JSON-lines file of the chapter's folder that keeps its runs.

    Examples::

        >>> study = chapter_study("06_train_mnist1d", seeds=5, rates=(0.1, 0.3),
        ...                       epochs=60, patience=10, train_size=500)
        >>> [(s.name, len(s.configs), s.seeds, s.file) for s in study.studies()]
        [('grid', 7, (0, 1, 2, 3, 4), 'study.jsonl')]
    """

    name: str
    trial: Callable
    configs: tuple
    seeds: tuple
    file: str = "study.jsonl"


@dataclass(frozen=True, kw_only=True)
class ChapterStudy:
    """What every chapter's study has: its seeds, its scale, its studies and the notes of its ``meta.json``.

    Build one with :func:`chapter_study`; run it with :func:`run_chapter_study`.

    Args:
        seeds: runs per configuration (seeds ``0`` to ``seeds - 1``).
        scale: the full study (``SCALE = True``): the full settings replace the parameters they name, the
            companions run too, and the runs go beside the notebook.
    """

    #: The chapter's notebook name, without ``.ipynb``.
    CHAPTER: ClassVar[str] = ""
    #: The full study's settings, which ``scale=True`` sets.
    FULL: ClassVar[dict] = {}
    #: The dropout variants the chapter compares, after no dropout.
    VARIANTS: ClassVar[tuple] = ("element", "spatial", "dropblock")

    seeds: int
    scale: bool = False

    def __post_init__(self):
        check_positive_int(self.seeds, "seeds", "runs per configuration")
        check_bool(self.scale, "scale", "True: the full study")

    def studies(self) -> list[Study]:
        """The studies this chapter runs, in the order they run."""
        raise NotImplementedError

    def settings_note(self) -> dict:
        """The settings a full run writes to ``meta.json`` (``"settings"``), in the order the chapter lists them."""
        raise NotImplementedError

    def meta_notes(self, chosen=None) -> dict:
        """The notes of a full run's ``meta.json`` beside what its records give: ``settings`` and the chapter's
        own (see each chapter's class); ``chosen``: chapter 7's choices on validation."""
        return {"settings": self.settings_note()}

    def _run_all(self, run) -> tuple[dict, dict]:
        """Every study through ``run(study) -> records``: ``({study name: records}, chosen)``."""
        return {study.name: run(study) for study in self.studies()}, {}


# -- chapter 6 ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Mnist1dStudy(ChapterStudy):
    """Chapter 6's study: the 1-D CNN on MNIST-1D, no dropout and each variant at each rate, after every block.

    The full study adds the :attr:`FACTORS` (dropout after the first block only, after the last only, and
    every block at 64 channels; element and spatial dropout, no dropout again only at 64 channels), into the
    same ``study.jsonl``, and the network trained the MNIST-1D README's way
    (:func:`~spatialdrop_edu.training.experiments.mnist1d_readme_trial`, :attr:`README_SEEDS` seeds) into
    ``readme_protocol.jsonl``. Its ``meta.json`` names both (``factors``, ``readme_protocol``).

    Args:
        rates: the drop rates every variant is tried at.
        epochs: the most epochs of one run.
        patience: early stopping's epochs without a better validation loss or accuracy.
        train_size: training sequences (a different subset per seed).
        seeds, scale: as in :class:`ChapterStudy`.

    Examples::

        >>> study = chapter_study("06_train_mnist1d", seeds=5, rates=(0.1, 0.3),
        ...                       epochs=60, patience=10, train_size=500)
        >>> [(c["dropout"], c["p"]) for c in study.configs()][:3]
        [('none', 0.0), ('element', 0.1), ('element', 0.3)]
    """

    CHAPTER: ClassVar[str] = "06_train_mnist1d"
    FULL: ClassVar[dict] = {"seeds": 10, "rates": (0.05, 0.1, 0.2, 0.3, 0.5), "epochs": 300, "patience": 30}
    #: What the full study varies beside the main grid, as ``{name: settings}``.
    FACTORS: ClassVar[dict] = {
        "after the first block only": {"placement": "early"},
        "after the last block only": {"placement": "late"},
        "64 channels": {"channels": 64},
    }
    #: Seeds of the network trained the README's way.
    README_SEEDS: ClassVar[int] = 5

    rates: tuple
    epochs: int
    patience: int
    train_size: int

    def configs(self, variants=None, **setting) -> list[dict]:
        """No dropout, then each of ``variants`` (default: all three) at each rate, with ``setting`` (a factor)."""
        T = _toolkit()
        base = dict(train_size=self.train_size, epochs=self.epochs, patience=self.patience, **setting)
        variants = self.VARIANTS if variants is None else variants
        return [T.mnist1d_config(**base)] + [
            T.mnist1d_config(dropout=v, p=p, **base) for v in variants for p in self.rates
        ]

    def factor_configs(self) -> list[dict]:
        """The full study's factors: element and spatial dropout in each setting of :attr:`FACTORS`; no dropout
        only where the network differs from the main grid's (64 channels)."""
        return [
            c
            for setting in self.FACTORS.values()
            for c in self.configs(("element", "spatial"), **setting)
            if c["dropout"] != "none" or "channels" in setting
        ]

    def studies(self) -> list[Study]:
        """The main grid; at full scale also the factors and the README's protocol.

        Examples::

            >>> full = chapter_study("06_train_mnist1d", scale=True, seeds=5,
            ...     rates=(0.1,), epochs=60, patience=10, train_size=500)
            >>> [(s.name, len(s.configs), len(s.seeds)) for s in full.studies()]
            [('grid', 16, 10), ('factors', 31, 10), ('readme_protocol', 1, 5)]
        """
        T = _toolkit()
        seeds = tuple(range(self.seeds))
        grid = Study("grid", T.mnist1d_trial, tuple(self.configs()), seeds)
        if not self.scale:
            return [grid]
        return [
            grid,
            Study("factors", T.mnist1d_trial, tuple(self.factor_configs()), seeds),
            Study(
                "readme_protocol",
                T.mnist1d_readme_trial,
                (T.mnist1d_readme_config(),),
                tuple(range(self.README_SEEDS)),
                "readme_protocol.jsonl",
            ),
        ]

    def settings_note(self) -> dict:
        return {
            "seeds": self.seeds,
            "rates": list(self.rates),
            "epochs": self.epochs,
            "patience": self.patience,
            "train_size": self.train_size,
        }

    def meta_notes(self, chosen=None) -> dict:
        """``settings``, ``factors`` and ``readme_protocol`` (its seeds and configuration)."""
        readme = {"seeds": self.README_SEEDS, **_toolkit().mnist1d_readme_config()}
        return {"settings": self.settings_note(), "factors": self.FACTORS, "readme_protocol": readme}


# -- chapter 7 ---------------------------------------------------------------------------------------

ES_LOSS = "early stopping on validation loss"
ES_ACC = "early stopping on validation accuracy"


@dataclass(frozen=True, kw_only=True)
class PatchStudy(ChapterStudy):
    """Chapter 7's study: dropout beside the other regularisers, on the texture patches (or Fashion-MNIST).

    Three studies, all in ``study.jsonl``, each method with as many values to choose from as ``rates`` holds
    (augmentation: ``augments``):

    1. ``"dropout"``: no regularisation, then each variant at each placement and share of units dropped
       (:meth:`dropout_configs`), without early stopping;
    2. ``"regularisers"``: AdamW's decoupled weight decay at each of ``weight_decays``, and each augmentation.
       Early stopping on the validation loss and on the validation accuracy, at each of ``patiences``, is
       replayed on the runs without regularisation
       (:func:`~spatialdrop_edu.training.tables.early_stopping_records`);
    3. ``"combined"``: ``SpatialDropout2d`` at the placement and share its validation accuracy chose, with each
       augmentation (:meth:`combined`); with early stopping on the loss, replayed on its runs.

    Every method's value is chosen on the mean validation accuracy (:meth:`choose`); a full run's ``meta.json``
    keeps the choices (``chosen``, by :meth:`label`).

    Args:
        dataset: ``"patches"`` or ``"fashion_mnist"``.
        data_root: Fashion-MNIST's folder (a run names it only for that dataset).
        rates: the shares of units each dropout variant drops.
        weight_decays: AdamW's decoupled weight decays.
        augments: the augmentations.
        patiences: early stopping's patiences.
        epochs: epochs of one run.
        train_per_class, val_per_class: training and validation patches per class.
        seeds, scale: as in :class:`ChapterStudy`.

    Examples::

        >>> study = chapter_study(
        ...     "07_train_images", dataset="patches", data_root="data",
        ...     seeds=5, rates=(0.1, 0.3), weight_decays=(0.1, 1.0),
        ...     augments=("hflip", "dihedral"), patiences=(3, 8), epochs=20,
        ...     train_per_class=15, val_per_class=30)
        >>> [study.label(c) for c in study.dropout_configs()[:3]]
        ['no regularisation', 'element early 10%', 'element early 30%']
    """

    CHAPTER: ClassVar[str] = "07_train_images"
    FULL: ClassVar[dict] = {
        "seeds": 10,
        "epochs": 60,
        "train_per_class": 25,
        "val_per_class": 100,
        "rates": (0.05, 0.1, 0.2, 0.3, 0.5),
        "weight_decays": (0.03, 0.1, 0.3, 1.0, 3.0),
        "augments": ("hflip", "flips", "rot90", "dihedral"),
        "patiences": (2, 4, 8, 16, 32),
    }
    #: Where the dropout layer goes, after the first conv block or after the last.
    PLACES: ClassVar[tuple] = ("early", "late")
    #: The side of the maps each placement's dropout sees.
    MAP_SIDE: ClassVar[dict] = {"early": 16, "late": 4}
    #: DropBlock's block side.
    BLOCK: ClassVar[int] = 3
    #: The optimizer of every run, AdamW (its weight decay is decoupled).
    OPTIMIZER: ClassVar[str] = "adamw"
    #: The layer each variant names.
    NAMES: ClassVar[dict] = {"element": "Dropout", "spatial": "SpatialDropout2d", "dropblock": "DropBlock2d"}
    #: The two early-stopping methods, by what they monitor.
    ES_LOSS: ClassVar[str] = ES_LOSS
    ES_ACC: ClassVar[str] = ES_ACC

    dataset: str
    data_root: str
    rates: tuple
    weight_decays: tuple
    augments: tuple
    patiences: tuple
    epochs: int
    train_per_class: int
    val_per_class: int

    def config(self, **settings) -> dict:
        """One run's complete configuration: the chapter's settings plus what varies."""
        return _toolkit().patch_config(
            optimizer=self.OPTIMIZER,
            dataset=self.dataset,
            data_root=self.data_root if self.dataset == "fashion_mnist" else None,
            epochs=self.epochs,
            train_per_class=self.train_per_class,
            val_per_class=self.val_per_class,
            **settings,
        )

    @classmethod
    def drop_rate(cls, variant: str, share: float, placement: str) -> float:
        """The ``p`` at which ``variant`` drops ``share`` of the units it acts on (DropBlock's blocks overlap).

        Examples::

            >>> PatchStudy.drop_rate("dropblock", 0.3, "early")
            0.3572
        """
        if variant != "dropblock":
            return share
        from ..layers.dropblock import rate_for_drop_fraction

        side = cls.MAP_SIDE[placement]
        return round(rate_for_drop_fraction(share, cls.BLOCK, (side, side)), 4)

    @classmethod
    def share(cls, row) -> float:
        """The expected share of units a run's dropout layer drops (a configuration or a table row)."""
        if row["dropout"] == "dropblock":
            from ..layers.dropblock import expected_drop_fraction

            side = cls.MAP_SIDE[row["placement"]]
            return expected_drop_fraction(row["p"], row["block_size"], (side, side))
        return row["p"]

    @classmethod
    def label(cls, row) -> str:
        """A configuration's name; dropout by the share of units it drops.

        Examples::

            >>> PatchStudy.label({"dropout": "none", "weight_decay": 1.0,
            ...                   "augment": "none", "patience": None})
            'weight decay 1'
        """
        parts = []
        if row["dropout"] != "none":
            parts.append(f"{row['dropout']} {row['placement']} {cls.share(row):.0%}")
        if row["weight_decay"]:
            parts.append(f"weight decay {row['weight_decay']:g}")
        if row["augment"] != "none":
            parts.append(f"augment {row['augment']}")
        if row["patience"] is not None:
            on = "accuracy" if row.get("stop_on") == "val_acc" else "loss"
            parts.append(f"early stopping on validation {on} (patience {row['patience']})")
        return " + ".join(parts) or "no regularisation"

    @classmethod
    def method_of(cls, config) -> str:
        """The method a configuration studies (dropout by variant and placement; ``SpatialDropout2d``'s
        combinations by what it is added to; ``"none"``: no regularisation)."""
        if config["patience"] is not None:
            on = ES_ACC if config.get("stop_on") == "val_acc" else ES_LOSS
            return f"SpatialDropout2d + {on}" if config["dropout"] != "none" else on
        if config["dropout"] != "none":
            if config["augment"] != "none":
                return "SpatialDropout2d + augmentation"
            return f"{cls.NAMES[config['dropout']]} {config['placement']}"
        if config["weight_decay"]:
            return "weight decay"
        return "augmentation" if config["augment"] != "none" else "none"

    def dropout_configs(self) -> list[dict]:
        """No regularisation, then each variant at each placement and share (DropBlock at the ``p`` that drops
        it, :meth:`drop_rate`)."""
        return [self.config()] + [
            self.config(dropout=v, p=self.drop_rate(v, r, w), placement=w, block_size=self.BLOCK)
            for w in self.PLACES
            for v in self.VARIANTS
            for r in self.rates
        ]

    def regulariser_configs(self) -> dict:
        """``{"weight decay": [...], "augmentation": [...]}``: the values each chooses among."""
        return {
            "weight decay": [self.config(weight_decay=w) for w in self.weight_decays],
            "augmentation": [self.config(augment=a) for a in self.augments],
        }

    def combined(self, spatial: dict) -> dict:
        """The combinations with ``SpatialDropout2d`` as chosen (``spatial``, its configuration), that are
        trained: ``{"SpatialDropout2d + augmentation": [...]}``."""
        return {
            "SpatialDropout2d + augmentation": [
                self.config(dropout="spatial", p=spatial["p"], placement=spatial["placement"], augment=a)
                for a in self.augments
            ]
        }

    def studies(self) -> list[Study]:
        """The studies known before any run: ``"dropout"`` and ``"regularisers"``; ``"combined"`` follows from
        their validation accuracy (:meth:`combined`)."""
        T = _toolkit()
        seeds = tuple(range(self.seeds))
        regularisers = [c for configs in self.regulariser_configs().values() for c in configs]
        return [
            Study("dropout", T.patch_trial, tuple(self.dropout_configs()), seeds),
            Study("regularisers", T.patch_trial, tuple(regularisers), seeds),
        ]

    def stopped(self, runs, monitor: str) -> list[dict]:
        """Early stopping on ``monitor`` at every patience, replayed on ``runs`` (runs that trained every
        epoch; their configurations marked with it)."""
        return [record for k in self.patiences for record in early_stopping_records(runs, k, monitor=monitor)]

    @classmethod
    def choose(cls, candidates, records) -> dict:
        """The candidate configuration with the highest mean validation accuracy over ``records`` (a tie: the
        first candidate): the choice a practitioner can make."""
        val = {cls.label(r): r for r in summarize(records, "val_acc")}
        return max(candidates, key=lambda c: val[cls.label(c)]["mean"])

    def _run_all(self, run) -> tuple[dict, dict]:
        dropout, regularisers = self.studies()
        records = {"dropout": run(dropout), "regularisers": run(regularisers)}
        baseline = dropout.configs[0]
        runs_of = functools.partial(_runs_of, records["dropout"])
        alone = {
            f"{self.NAMES[v]} {w}": [c for c in dropout.configs if c["dropout"] == v and c["placement"] == w]
            for v in self.VARIANTS
            for w in self.PLACES
        }
        alone.update(self.regulariser_configs())
        records["early stopping"] = []
        for method, monitor in ((ES_LOSS, "val_loss"), (ES_ACC, "val_acc")):
            records["early stopping"] += self.stopped(runs_of(baseline), monitor)
            alone[method] = [{**baseline, "patience": k, "stop_on": monitor} for k in self.patiences]
        so_far = [r for part in records.values() for r in part]
        chosen = {method: self.choose(cs, so_far) for method, cs in alone.items()}
        spatial = self.choose(alone["SpatialDropout2d early"] + alone["SpatialDropout2d late"], so_far)
        combined = self.combined(spatial)
        configs = tuple(c for cs in combined.values() for c in cs)
        records["combined"] = run(Study("combined", dropout.trial, configs, dropout.seeds))
        records["combined early stopping"] = self.stopped(runs_of(spatial), "val_loss")
        combined[f"SpatialDropout2d + {ES_LOSS}"] = [
            {**spatial, "patience": k, "stop_on": "val_loss"} for k in self.patiences
        ]
        every = [r for part in records.values() for r in part]
        chosen.update({method: self.choose(cs, every) for method, cs in combined.items()})
        return records, chosen

    @classmethod
    def choose_from(cls, runs) -> dict:
        """Each method's choice, recomputed from a study's runs (replays included): ``{method: label}``.

        The configuration (its :meth:`label`) with the highest mean validation accuracy (a tie: the first in
        the sorted order of the settings); the combinations with ``SpatialDropout2d`` at the share and
        placement chosen for it alone. What a full run chose (``meta.json``'s ``chosen``) is the same.
        """
        val_acc = {cls.label(r): r["mean"] for r in summarize(runs, "val_acc")}
        order = {}  # method: its labels, in the sorted order of their settings
        for r in sorted(runs, key=lambda r: json.dumps(r["config"], sort_keys=True)):
            order.setdefault(cls.method_of(r["config"]), {})[cls.label(r["config"])] = None

        def best(labels):
            return max(labels, key=lambda name: val_acc[name])

        picked = {m: best(names) for m, names in order.items() if "+" not in m}
        spatial_alone = best([picked["SpatialDropout2d early"], picked["SpatialDropout2d late"]])
        for m, names in order.items():  # (early stopping on accuracy: alone only)
            if "+" in m and m != f"SpatialDropout2d + {ES_ACC}":
                picked[m] = best(n for n in names if n.startswith(spatial_alone + " + "))
        picked.pop("none")
        return picked

    @classmethod
    def replayed(cls, records, patiences) -> list[dict]:
        """``records`` and early stopping on either criterion at each of ``patiences``, replayed on the runs of
        no regularisation and of ``SpatialDropout2d`` alone (its combination), as a full run replays them."""
        to_replay = [
            r
            for r in records
            if r["config"]["dropout"] in ("none", "spatial")
            and r["config"]["patience"] is None
            and not r["config"]["weight_decay"]
            and r["config"]["augment"] == "none"
        ]
        return list(records) + [
            record
            for k in patiences
            for monitor in ("val_loss", "val_acc")
            for record in early_stopping_records(to_replay, k, monitor=monitor)
        ]

    def settings_note(self) -> dict:
        return {
            "seeds": self.seeds,
            "rates": list(self.rates),
            "weight_decays": list(self.weight_decays),
            "optimizer": self.OPTIMIZER,
            "augments": list(self.augments),
            "patiences": list(self.patiences),
            "epochs": self.epochs,
            "train_per_class": self.train_per_class,
            "val_per_class": self.val_per_class,
        }

    def meta_notes(self, chosen=None) -> dict:
        """``settings`` and ``chosen``: each method's configuration chosen on validation, by :meth:`label`."""
        return {"chosen": {m: self.label(c) for m, c in (chosen or {}).items()}, "settings": self.settings_note()}


def _runs_of(records, config) -> list[dict]:
    return [r for r in records if r["config"] == config]


# -- chapter 8 ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DenoisingStudy(ChapterStudy):
    """Chapter 8's study: the tiny U-Net denoiser, no dropout and each variant on ``skip1`` at each share.

    The full study first trains no dropout and ``SpatialDropout2d`` at ``p`` under both learning-rate schedules
    (:attr:`SCHEDULE_SEEDS` seeds, ``schedules.jsonl``), which chose its schedule on validation.

    Args:
        epochs: the most epochs of one run.
        patience: early stopping's epochs without a higher validation PSNR; ``None`` runs them all.
        train_patches, val_patches, test_patches: patches per run.
        patch: a patch's side in pixels.
        sigma: the noise's standard deviation.
        p: the share the schedules were compared at.
        rates: the shares of ``skip1``'s units the variants drop.
        mc_passes: Monte Carlo dropout passes per run.
        lr_schedule: ``"constant"`` or ``"cosine"``.
        seeds, scale: as in :class:`ChapterStudy`.

    Examples::

        >>> study = chapter_study(
        ...     "08_unet_copycat", seeds=5, epochs=8, patience=None,
        ...     train_patches=400, patch=16, sigma=0.2, p=0.3, rates=(0.3,),
        ...     mc_passes=8, lr_schedule="constant")
        >>> [(c["dropout"], c["p"]) for c in study.studies()[0].configs]
        [('none', 0.0), ('element', 0.3), ('spatial', 0.3), ('dropblock', 0.3572)]
    """

    CHAPTER: ClassVar[str] = "08_unet_copycat"
    FULL: ClassVar[dict] = {
        "seeds": 8,
        "epochs": 60,
        "patience": 10,
        "rates": (0.1, 0.3, 0.5),
        "train_patches": 1500,
        "val_patches": 400,
        "test_patches": 1000,
        "mc_passes": 16,
        "lr_schedule": "cosine",
    }
    #: DropBlock's block side.
    BLOCK: ClassVar[int] = 3
    #: Seeds of each schedule the full study compares.
    SCHEDULE_SEEDS: ClassVar[int] = 4

    epochs: int
    patience: int | None
    train_patches: int
    patch: int
    sigma: float
    p: float
    rates: tuple
    mc_passes: int
    lr_schedule: str
    val_patches: int = 200
    test_patches: int = 400

    def config(self, dropout: str = "none", rate: float = 0.0, schedule: str | None = None) -> dict:
        """One run's configuration: ``dropout`` on ``skip1``, dropping a share ``rate`` of its units (DropBlock's
        blocks overlap, so its own p is larger), with the learning-rate ``schedule`` (default: the study's)."""
        p = rate
        if dropout == "dropblock":
            from ..layers.dropblock import rate_for_drop_fraction

            p = round(rate_for_drop_fraction(rate, self.BLOCK, (self.patch, self.patch)), 4)
        return _toolkit().denoising_config(
            dropout=dropout,
            p=p,
            block_size=self.BLOCK,
            placement="top",
            patch=self.patch,
            stride=self.patch,
            sigma=self.sigma,
            epochs=self.epochs,
            patience=self.patience,
            max_train=self.train_patches,
            max_val=self.val_patches,
            max_test=self.test_patches,
            mc_passes=self.mc_passes,
            lr_schedule=schedule or self.lr_schedule,
        )

    def studies(self) -> list[Study]:
        """No dropout and each variant at each share; at full scale the schedules' comparison first."""
        T = _toolkit()
        grid = [self.config()] + [self.config(v, rate) for rate in self.rates for v in self.VARIANTS]
        studies = [Study("grid", T.denoising_trial, tuple(grid), tuple(range(self.seeds)))]
        if self.scale:
            schedules = [
                self.config(dropout, rate, schedule)
                for dropout, rate in (("none", 0.0), ("spatial", self.p))
                for schedule in ("constant", "cosine")
            ]
            seeds = tuple(range(self.SCHEDULE_SEEDS))
            studies.insert(0, Study("schedules", T.denoising_trial, tuple(schedules), seeds, "schedules.jsonl"))
        return studies

    def settings_note(self) -> dict:
        return {
            "seeds": self.seeds,
            "epochs": self.epochs,
            "patience": self.patience,
            "rates": list(self.rates),
            "train_patches": self.train_patches,
            "patch": self.patch,
            "sigma": self.sigma,
            "mc_passes": self.mc_passes,
            "lr_schedule": self.lr_schedule,
        }


#: Each training chapter's study, by the chapter's notebook name.
CHAPTER_STUDIES = {study.CHAPTER: study for study in (Mnist1dStudy, PatchStudy, DenoisingStudy)}


def chapter_study(chapter: str, *, scale: bool = False, **parameters) -> ChapterStudy:
    """A training chapter's study, from the chapter's parameters; at ``scale``, the full study's settings.

    Args:
        chapter: ``"06_train_mnist1d"``, ``"07_train_images"`` or ``"08_unet_copycat"``.
        scale: ``True``: the full study; its settings (the class's ``FULL``) replace the parameters they name.
        **parameters: the chapter's settings (its notebook's parameters, in lower case), as its class lists them.

    Returns:
        A :class:`Mnist1dStudy`, :class:`PatchStudy` or :class:`DenoisingStudy`.

    Raises:
        ValueError: ``chapter`` is not a training chapter.
        TypeError: a parameter the chapter's study does not have, or one missing.

    Examples::

        >>> study = chapter_study("06_train_mnist1d", scale=True, seeds=5,
        ...     rates=(0.1,), epochs=60, patience=10, train_size=500)
        >>> study.seeds, study.rates, study.epochs, study.train_size
        (10, (0.05, 0.1, 0.2, 0.3, 0.5), 300, 500)
    """
    kind = CHAPTER_STUDIES[check_choice(check_chapter(chapter), tuple(CHAPTER_STUDIES), "chapter")]
    study = kind(**parameters)
    return dataclasses.replace(study, scale=True, **kind.FULL) if scale else study


@dataclass(frozen=True)
class ChapterRun:
    """What :func:`run_chapter_study` ran.

    Args:
        study: the chapter's study, as run.
        folder: where its runs are (``study.jsonl`` and the companions' files).
        records: ``{study name: records}`` in the order they were made (chapter 7: its replayed early stopping
            too, ``"early stopping"`` and ``"combined early stopping"``).
        chosen: chapter 7's choice for every method, ``{method: configuration}``; empty elsewhere.
    """

    study: ChapterStudy
    folder: Path
    records: dict
    chosen: dict = field(default_factory=dict)

    @property
    def all_records(self) -> list[dict]:
        """Every record, the studies' one after another."""
        return [r for part in self.records.values() for r in part]


def run_chapter_study(study: ChapterStudy, *, device=None, workers: int = 1, progress: bool = True) -> ChapterRun:
    """Run every study of a chapter, saving and resuming; at full scale side by side, then write ``meta.json``.

    The small study (``study.scale`` false) runs one run after another in this process, into the per-user cache
    (:func:`~spatialdrop_edu.training.results.study_cache`, keyed by this process's thread count: set it
    first). The full study runs ``workers`` runs side by side
    (:func:`~spatialdrop_edu.training.workers.study_executor`, shut down at the end) into
    :func:`~spatialdrop_edu.training.results.local_results`, then derives ``meta.json`` from the runs
    (:func:`~spatialdrop_edu.training.results.write_meta` with :meth:`ChapterStudy.meta_notes`): provenance and
    meta are the runner's, not the notebook's.

    Args:
        study: from :func:`chapter_study`.
        device: where the runs train (a ``torch.device`` or its name); default: the CPU.
        workers: runs side by side at full scale, a positive int.
        progress: a ``tqdm`` bar per study.

    Returns:
        A :class:`ChapterRun`.

    Examples::

        >>> study = chapter_study("06_train_mnist1d", seeds=5, rates=(0.1, 0.3),
        ...                       epochs=60, patience=10, train_size=500)
        >>> run = run_chapter_study(study, device="cpu")  # doctest: +SKIP
        >>> [(name, len(records)) for name, records in run.records.items()]
        ... # doctest: +SKIP
        [('grid', 35)]
    """
    check_instance(study, ChapterStudy, "study", "a chapter's study (from chapter_study)")
    workers = check_positive_int(workers, "workers", "runs side by side, one process each")
    run_study = _toolkit().run_study
    if study.scale:
        folder, executor = local_results(study.CHAPTER), study_executor(workers)
    else:
        folder, executor = study_cache(study.CHAPTER, device=device), None

    def run(one: Study) -> list[dict]:
        trial = functools.partial(one.trial, device=device)  # a module's function: workers can run it
        return run_study(trial, one.configs, one.seeds, folder / one.file, executor=executor, progress=progress)

    try:
        records, chosen = study._run_all(run)
    except BaseException:
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        raise
    if executor is not None:
        executor.shutdown()  # the worker processes end here
    if study.scale:  # what ran the full study, where and how long: derived from its runs' provenance
        write_meta(folder, **study.meta_notes(chosen))
    return ChapterRun(study, folder, records, chosen)


@dataclass(frozen=True)
class FullStudy:
    """A chapter's full study, read back by :func:`read_full_study`.

    Args:
        folder: where it is (a ``pathlib.Path``, or a resource of the installed package).
        meta: its ``meta.json``.
        records: ``{file name without .jsonl: records}`` for every run file ``meta.json`` lists (``"study"``,
            and chapter 6's ``"readme_protocol"``, chapter 8's ``"schedules"``).
    """

    folder: object
    meta: dict
    records: dict


def read_full_study(chapter: str) -> FullStudy | None:
    """A chapter's full study: a full run of your own beside the notebook, else the shipped one; ``None``: none.

    Found by :func:`~spatialdrop_edu.training.results.full_results`.

    Examples::

        >>> full = read_full_study("06_train_mnist1d")
        >>> sorted(full.records), full.meta["runs"] == len(full.records["study"])
        (['readme_protocol', 'study'], True)
    """
    folder = full_results(chapter)
    if folder is None:
        return None
    meta = json.loads(folder.joinpath("meta.json").read_text())
    names = meta.get("files") or {"study.jsonl": None}
    records = {name.removesuffix(".jsonl"): list(load_runs(folder.joinpath(name)).values()) for name in names}
    return FullStudy(folder, meta, records)
