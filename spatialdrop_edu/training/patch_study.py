"""Chapter 7's study: dropout beside the other regularisers, each method chosen on validation, then combined.

:class:`PatchStudy` describes the chapter's three studies (dropout; the other regularisers; SpatialDropout2d
combined with each augmentation) and the procedure that reads them: each method's configurations, their labels,
the choice on validation, early stopping replayed. :func:`~spatialdrop_edu.training.chapter_studies.run_chapter_study`
runs it like the other chapters' studies.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import ClassVar

from .study_plan import ChapterStudy, Study, training_toolkit
from .tables import early_stopping_records, summarize

__all__ = ["ES_LOSS", "ES_ACC", "PatchStudy"]

#: The name of early stopping on the validation loss, as chapter 7's tables print it.
ES_LOSS = "early stopping on validation loss"
#: The name of early stopping on the validation accuracy, as chapter 7's tables print it.
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
        seeds, scale: as in :class:`~spatialdrop_edu.training.study_plan.ChapterStudy`.

    Examples::

        >>> from spatialdrop_edu.training import chapter_study
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
        return training_toolkit().patch_config(
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
        T = training_toolkit()
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
