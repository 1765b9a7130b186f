"""The training chapters' studies, described once: settings, configurations, seeds and files, run in one call.

A training chapter keeps its knobs in its ``parameters`` cell and hands them to :func:`chapter_study`, which gives
the chapter's study: a frozen settings object (:class:`Mnist1dStudy` for chapter 6,
:class:`~spatialdrop_edu.training.patch_study.PatchStudy` for chapter 7, :class:`DenoisingStudy` for chapter 8,
:class:`~spatialdrop_edu.training.tagger_study.TaggerStudy` for chapter 9)
that builds every configuration the chapter runs. With ``scale=True`` the full study's settings, those the shipped
results were made with (each class's ``FULL``), replace the parameters they name, and the full study's companions
join it: chapter 6's factors (placement and width) and its network trained the MNIST-1D README's way, chapter 8's
two learning-rate schedules.

* ``studies()`` (:meth:`~spatialdrop_edu.training.study_plan.ChapterStudy.studies`): the studies a chapter runs,
  each a :class:`~spatialdrop_edu.training.study_plan.Study` (a trial, its configurations, its seeds, the file that
  keeps its runs). Chapter 7 decides a third one on validation as it goes
  (:meth:`~spatialdrop_edu.training.patch_study.PatchStudy.combined`).
* :func:`run_chapter_study`: the one call. It runs every study of the chapter with
  :func:`~spatialdrop_edu.training.study.run_study` into the chapter's folder, resuming what is there: at full
  scale ``results/<chapter>/`` beside the notebook (:func:`~spatialdrop_edu.training.results.local_results`),
  ``workers`` runs side by side (:func:`~spatialdrop_edu.training.workers.study_executor`), and then the
  study's ``meta.json`` (:func:`~spatialdrop_edu.training.results.write_meta`, with
  :meth:`~spatialdrop_edu.training.study_plan.ChapterStudy.meta_notes`); otherwise the small run's cache
  (:func:`~spatialdrop_edu.training.results.study_cache`), one run after another.
* :func:`read_full_study`: a chapter's full study read back (a full run of your own beside the notebook, else the
  shipped one), every run file and ``meta.json``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from .._validation import check_chapter, check_choice, check_instance, check_positive_int
from .patch_study import PatchStudy
from .results import full_results, local_results, study_cache, write_meta
from .study import load_runs
from .study_plan import ChapterStudy, Study, training_toolkit
from .tagger_study import TaggerStudy
from .workers import study_executor

__all__ = [
    "Mnist1dStudy",
    "DenoisingStudy",
    "ChapterRun",
    "FullStudy",
    "CHAPTER_STUDIES",
    "chapter_study",
    "run_chapter_study",
    "read_full_study",
]


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
        seeds, scale: as in :class:`~spatialdrop_edu.training.study_plan.ChapterStudy`.

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
        T = training_toolkit()
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
        T = training_toolkit()
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
        readme = {"seeds": self.README_SEEDS, **training_toolkit().mnist1d_readme_config()}
        return {"settings": self.settings_note(), "factors": self.FACTORS, "readme_protocol": readme}


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
        seeds, scale: as in :class:`~spatialdrop_edu.training.study_plan.ChapterStudy`.

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
        return training_toolkit().denoising_config(
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
        T = training_toolkit()
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
CHAPTER_STUDIES = {study.CHAPTER: study for study in (Mnist1dStudy, PatchStudy, DenoisingStudy, TaggerStudy)}


def chapter_study(chapter: str, *, scale: bool = False, **parameters) -> ChapterStudy:
    """A training chapter's study, from the chapter's parameters; at ``scale``, the full study's settings.

    Args:
        chapter: ``"06_train_mnist1d"``, ``"07_train_images"``, ``"08_unet_copycat"`` or
            ``"09_sequence_tagging"``.
        scale: ``True``: the full study; its settings (the class's ``FULL``) replace the parameters they name.
        **parameters: the chapter's settings (its notebook's parameters, in lower case), as its class lists them.

    Returns:
        A :class:`Mnist1dStudy`, :class:`~spatialdrop_edu.training.patch_study.PatchStudy`,
        :class:`DenoisingStudy` or :class:`~spatialdrop_edu.training.tagger_study.TaggerStudy`.

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
    (:func:`~spatialdrop_edu.training.results.write_meta` with the study's
    :meth:`~spatialdrop_edu.training.study_plan.ChapterStudy.meta_notes`): provenance and meta are the runner's,
    not the notebook's.

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
    run_study = training_toolkit().run_study
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
