"""Chapter 9's study: a part-of-speech tagger with each dropout variant on its embeddings, two encoders, chosen rates.

:class:`TaggerStudy` describes it once: for each encoder (a bidirectional GRU and a convolutional tagger), no
dropout, and each variant of :data:`~spatialdrop_edu.tagging.masks.VARIANTS` (element, feature, token, word type)
at each rate, on the embedded sentence, every configuration over the same seeds. The rate of each variant is not
fixed in advance: the chapter picks it on validation (:meth:`TaggerStudy.chosen`), and the test set only scores
that pick. Run it with :func:`~spatialdrop_edu.training.chapter_studies.run_chapter_study`, as every chapter's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .._validation import check_positive_int
from ..tagging.models import ENCODERS
from .runs import tagger_config
from .study_plan import ChapterStudy, Study, training_toolkit
from .tables import chosen_on_validation, paired_differences

__all__ = ["TaggerStudy", "tagger_label"]


def tagger_label(config: dict) -> str:
    """A run's name in chapter 9's tables: its variant and rate, ``"no dropout"`` without one.

    Examples::

        >>> tagger_label({"dropout": "word_type", "p": 0.25})
        'word_type 25%'
        >>> tagger_label({"dropout": "none", "p": 0.0})
        'no dropout'
    """
    return "no dropout" if config["dropout"] == "none" else f"{config['dropout']} {config['p']:.0%}"


@dataclass(frozen=True, kw_only=True)
class TaggerStudy(ChapterStudy):
    """Chapter 9's study: each encoder with no dropout and each embedding-dropout variant at each rate.

    Args:
        encoders: the taggers compared, names of :data:`~spatialdrop_edu.tagging.models.ENCODERS`
            (``"gru"``, ``"conv"``).
        rates: the drop rates every variant is tried at; the chapter picks one per variant on validation.
        epochs: the most epochs of one run.
        patience: early stopping's epochs without a higher validation accuracy.
        train_size: training sentences (a different language per seed).
        seeds, scale: as in :class:`~spatialdrop_edu.training.study_plan.ChapterStudy`.

    Examples::

        >>> from spatialdrop_edu.training import chapter_study
        >>> study = chapter_study(
        ...     "09_sequence_tagging", seeds=3, encoders=("gru",), rates=(0.25,),
        ...     epochs=20, patience=5, train_size=1000)
        >>> [tagger_label(c) for c in study.configs()]
        ['no dropout', 'element 25%', 'feature 25%', 'token 25%', 'word_type 25%']
    """

    CHAPTER: ClassVar[str] = "09_sequence_tagging"
    FULL: ClassVar[dict] = {
        "seeds": 10,
        "encoders": ("gru", "conv"),
        "rates": (0.1, 0.25, 0.5),
        "epochs": 60,
        "patience": 10,
        "train_size": 1000,
    }
    VARIANTS: ClassVar[tuple] = ("element", "feature", "token", "word_type")

    encoders: tuple
    rates: tuple
    epochs: int
    patience: int
    train_size: int

    def __post_init__(self):
        super().__post_init__()
        if (
            not self.encoders
            or any(e not in ENCODERS for e in self.encoders)
            or len(set(self.encoders)) < len(self.encoders)
        ):
            raise ValueError(f"encoders must be distinct names of {ENCODERS}, got {self.encoders!r}.")
        if not self.rates or any(not isinstance(p, float) or not 0.0 < p < 1.0 for p in self.rates):
            raise ValueError(f"rates must be drop rates, floats in (0, 1), got {self.rates!r}.")
        for name in ("epochs", "patience", "train_size"):
            check_positive_int(getattr(self, name), name)

    def config(self, encoder: str = "gru", dropout: str = "none", p: float = 0.0) -> dict:
        """One run's stored configuration: ``encoder`` with ``dropout`` at ``p`` on its embeddings."""
        return tagger_config(
            encoder=encoder,
            dropout=dropout,
            p=p,
            train_size=self.train_size,
            epochs=self.epochs,
            patience=self.patience,
        )

    def configs(self, encoder: str | None = None) -> list[dict]:
        """No dropout, then each variant at each rate, for ``encoder`` (default: every encoder, one after another)."""
        encoders = self.encoders if encoder is None else (encoder,)
        return [
            c
            for e in encoders
            for c in [self.config(e)] + [self.config(e, v, p) for v in self.VARIANTS for p in self.rates]
        ]

    def studies(self) -> list[Study]:
        """One study, ``grid``: every configuration over the seeds, into ``study.jsonl``."""
        T = training_toolkit()
        return [Study("grid", T.tagger_trial, tuple(self.configs()), tuple(range(self.seeds)))]

    def chosen(self, records, score: str = "test_acc", encoder: str = "gru") -> dict:
        """Each variant of ``encoder`` at the rate of its best mean validation accuracy, scored by ``score``.

        Returns:
            ``{variant: row of summarize(...)}``, no dropout (``"none"``) included; see
            :func:`~spatialdrop_edu.training.tables.chosen_on_validation`.
        """
        mine = [r for r in records if r["config"]["encoder"] == encoder]
        return chosen_on_validation(mine, "val_acc", score)

    def difference(self, records, metric: str, encoder: str, variant: str, reference: str = "none") -> dict:
        """``variant`` minus ``reference`` for ``encoder``, each at its rate chosen on validation, paired by seed.

        Args:
            records: the study's runs.
            metric: the test metric compared, a key of each record's ``"result"`` (``"test_acc_rare"``).
            encoder: the tagger, ``"gru"`` or ``"conv"``.
            variant: the variant whose chosen configuration is compared.
            reference: the variant it is compared with; default: no dropout.

        Returns:
            The row of :func:`~spatialdrop_edu.training.tables.paired_differences` for ``variant``.
        """
        picked = self.chosen(records, metric, encoder)
        pair = (picked[variant]["config"], picked[reference]["config"])
        mine = [r for r in records if r["config"] in pair]
        return paired_differences(mine, metric, pair[1])[0]

    def settings_note(self) -> dict:
        return {
            "seeds": self.seeds,
            "encoders": list(self.encoders),
            "rates": list(self.rates),
            "epochs": self.epochs,
            "patience": self.patience,
            "train_size": self.train_size,
        }
