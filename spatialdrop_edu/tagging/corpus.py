"""A tagged corpus: its splits of padded sentences, the ids every tagger shares, and how tags are scored.

:class:`TaggingLanguage` holds a vocabulary and three splits, each a :class:`TaggedSentences` (token ids,
tags and per-token flags as padded arrays); :func:`accuracy_by_group` scores predicted tags overall and on
ambiguous, rare and other tokens, and :func:`most_frequent_tag_accuracy` is the baseline that reads no
context. :func:`~spatialdrop_edu.tagging.language.make_tagging_language` generates a corpus.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .._validation import check_choice, check_instance, check_int_between

__all__ = [
    "TAGS",
    "SPLITS",
    "GROUPS",
    "PAD_ID",
    "UNK_ID",
    "IGNORE_INDEX",
    "TaggedSentences",
    "TaggingLanguage",
    "accuracy_by_group",
    "most_frequent_tag_accuracy",
]

#: The tags, in the order of their ids.
TAGS = ("DET", "NUM", "ADJ", "NOUN", "PRON", "VERB", "ADV", "ADP", "CONJ", "PUNCT")
#: The splits of a :class:`TaggingLanguage`.
SPLITS = ("train", "val", "test")
#: The groups of tokens an accuracy is reported for (see :func:`accuracy_by_group`).
GROUPS = ("overall", "ambiguous", "rare", "unambiguous_frequent")
#: The token id of padding (``nn.Embedding(..., padding_idx=PAD_ID)``); no word has it.
PAD_ID = 0
#: The token id of every word the training split never holds, in the validation and test splits. Its
#: embedding row starts at zero in the taggers of :mod:`~spatialdrop_edu.tagging.models` and, never seen
#: in training, stays there: an unknown word looks like a dropped one.
UNK_ID = 1
#: The tag of padding, which ``torch.nn.functional.cross_entropy`` ignores by default.
IGNORE_INDEX = -100


@dataclasses.dataclass(frozen=True, eq=False)
class TaggedSentences:
    """One split of a :class:`TaggingLanguage`: sentences as padded arrays, one row per sentence.

    Every array has shape ``(S, T)`` (``S`` sentences padded to ``T`` tokens), except ``lengths``.

    Args:
        tokens: word ids, ``int64``, what a tagger reads; :data:`PAD_ID` after the sentence's end and
            :data:`UNK_ID` for every word the training split never holds.
        word_types: the word ids before the unknown words were replaced: ``tokens`` with every
            :data:`UNK_ID` replaced by the word it stands for.
        tags: tag ids (indices into :data:`TAGS`), ``int64``; :data:`IGNORE_INDEX` at padding.
        lengths: the number of tokens of each sentence, ``(S,)``.
        mask: ``True`` at real tokens, ``False`` at padding.
        ambiguous: ``True`` at tokens whose word type can take more than one tag.
        rare: ``True`` at tokens whose word type the training split holds at most
            ``rare_max_count`` times (never, in the validation and test splits, counts too).
    """

    tokens: np.ndarray
    word_types: np.ndarray
    tags: np.ndarray
    lengths: np.ndarray
    mask: np.ndarray
    ambiguous: np.ndarray
    rare: np.ndarray

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def num_tokens(self) -> int:
        """The number of real (not padding) tokens."""
        return int(self.lengths.sum())


@dataclasses.dataclass(frozen=True, eq=False)
class TaggingLanguage:
    """A tagging language: its vocabulary and three splits of sentences.

    :func:`~spatialdrop_edu.tagging.language.make_tagging_language` generates one.

    Args:
        train: the training sentences.
        val: the validation sentences.
        test: the test sentences.
        words: the vocabulary, ``words[i]`` the word of id ``i`` (``"<pad>"`` at :data:`PAD_ID`,
            ``"<unk>"`` at :data:`UNK_ID`).
        word_tags: the tags each word type can take, ``word_tags[i]`` a tuple of tag ids, the tag
            it takes most often first (``()`` for padding and the unknown word).
        train_counts: how often each word type occurs in the training split, ``(V,)``.
        settings: the arguments of :func:`~spatialdrop_edu.tagging.language.make_tagging_language` that made it.
    """

    train: TaggedSentences
    val: TaggedSentences
    test: TaggedSentences
    words: tuple
    word_tags: tuple
    train_counts: np.ndarray
    settings: dict

    @property
    def vocab_size(self) -> int:
        """The number of word ids (padding included), the rows of an embedding matrix."""
        return len(self.words)

    @property
    def num_tags(self) -> int:
        """The number of tags, :data:`TAGS`."""
        return len(TAGS)

    @property
    def ambiguous_types(self) -> np.ndarray:
        """``(V,)`` booleans: which word types can take more than one tag."""
        return np.array([len(tags) > 1 for tags in self.word_tags])

    def split(self, name: str) -> TaggedSentences:
        """The split called ``name``: ``"train"``, ``"val"`` or ``"test"``."""
        return getattr(self, check_choice(name, SPLITS, "split"))

    def sentence(self, split: str, index: int) -> str:
        """One sentence as ``word/TAG`` pairs, for reading (unknown words by their own spelling).

        Examples::

            >>> from spatialdrop_edu.tagging import make_tagging_language
            >>> lang = make_tagging_language(train_size=20, val_size=5,
            ...                              test_size=5, vocab_size=200)
            >>> lang.sentence("train", 0).split()[-1].split("/")[1]
            'PUNCT'
        """
        sentences = self.split(split)
        index = check_int_between(index, "index", 0, len(sentences) - 1, f"a sentence of the {split} split")
        n = int(sentences.lengths[index])
        return " ".join(
            f"{self.words[w]}/{TAGS[t]}" for w, t in zip(sentences.word_types[index, :n], sentences.tags[index, :n])
        )


def accuracy_by_group(predictions, sentences: TaggedSentences) -> dict[str, float]:
    """The share of real tokens tagged right, over all of them and in each group of :data:`GROUPS`.

    The groups: ``"overall"`` (every real token), ``"ambiguous"`` (word types that can take two tags,
    however frequent), ``"rare"`` (word types seen at most ``rare_max_count`` times in training,
    ambiguous or not) and ``"unambiguous_frequent"`` (neither). A group with no token gets ``nan``.

    Args:
        predictions: predicted tag ids, an array or tensor of the split's shape ``(S, T)`` (padding
            positions are ignored).
        sentences: the split the predictions are for.

    Examples::

        >>> from spatialdrop_edu.tagging import make_tagging_language
        >>> lang = make_tagging_language(vocab_size=200, train_size=50,
        ...                              val_size=10, test_size=10)
        >>> acc = accuracy_by_group(lang.test.tags, lang.test)
        >>> acc["overall"], acc["ambiguous"]
        (1.0, 1.0)
    """
    check_instance(sentences, TaggedSentences, "sentences", "a TaggedSentences (a split of a TaggingLanguage)")
    predictions = np.asarray(predictions.cpu() if hasattr(predictions, "cpu") else predictions)
    if predictions.shape != sentences.tags.shape:
        raise ValueError(
            f"predictions must have the split's shape {sentences.tags.shape} (sentences, tokens), "
            f"got {predictions.shape}."
        )
    correct = predictions == sentences.tags
    groups = {
        "overall": sentences.mask,
        "ambiguous": sentences.ambiguous,
        "rare": sentences.rare,
        "unambiguous_frequent": sentences.mask & ~sentences.ambiguous & ~sentences.rare,
    }
    return {name: float(correct[where].mean()) if where.any() else math.nan for name, where in groups.items()}


def most_frequent_tag_accuracy(language: TaggingLanguage, split: str = "test") -> dict[str, float]:
    """The accuracy of the unigram baseline: each word gets the tag it had most often in training.

    The baseline reads no context: it shows how much of the task a tagger solves by remembering words,
    and so how much context is worth. A word never seen in training gets the tag most frequent among
    the words seen once in training (the classic guess for unknown words), and ties go to the tag
    listed first in :data:`TAGS`. A word never seen in training is :data:`UNK_ID` for the baseline too.

    Args:
        language: the language.
        split: the split to score, ``"train"``, ``"val"`` or ``"test"``. Default: ``"test"``.

    Returns:
        The accuracies of :func:`accuracy_by_group`, by group.

    Examples::

        >>> from spatialdrop_edu.tagging import make_tagging_language
        >>> lang = make_tagging_language(vocab_size=300, ambiguous_share=0.5,
        ...                              train_size=300, val_size=50,
        ...                              test_size=200)
        >>> acc = most_frequent_tag_accuracy(lang)
        >>> acc["ambiguous"] < acc["unambiguous_frequent"] == 1.0
        True
    """
    check_instance(language, TaggingLanguage, "language", "a TaggingLanguage (make_tagging_language)")
    sentences = language.split(split)
    train = language.train
    real = train.mask
    counts = np.zeros((language.vocab_size, language.num_tags), dtype=np.int64)
    np.add.at(counts, (train.tokens[real], train.tags[real]), 1)
    table = counts.argmax(axis=1)
    hapax = language.train_counts == 1
    unknown_tag = counts[hapax].sum(axis=0).argmax() if hapax.any() else counts.sum(axis=0).argmax()
    table[language.train_counts == 0] = unknown_tag
    return accuracy_by_group(table[sentences.tokens], sentences)
