"""What every training chapter's study is: a :class:`ChapterStudy` (seeds, scale) listing its studies.

A :class:`Study` is one trial run for every configuration and seed, kept in one file of the chapter's folder; a
:class:`ChapterStudy` is a chapter's settings, frozen, which build every configuration the chapter runs. The
chapters' own studies are in :mod:`~spatialdrop_edu.training.chapter_studies` (chapters 6 and 8, the registry,
running and reading) and :mod:`~spatialdrop_edu.training.patch_study` (chapter 7).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from .._validation import check_bool, check_positive_int

__all__ = ["training_toolkit", "Study", "ChapterStudy"]


def training_toolkit():
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

        >>> from spatialdrop_edu.training import chapter_study
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

    Build one with :func:`~spatialdrop_edu.training.chapter_studies.chapter_study`; run it with
    :func:`~spatialdrop_edu.training.chapter_studies.run_chapter_study`.

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
