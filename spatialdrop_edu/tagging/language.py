"""A generated part-of-speech tagging language, built offline the way MNIST-1D is built for digits.

A tagger reads a sentence and gives every token a tag (determiner, noun, verb, ...). Real corpora are
large, licensed and slow to train on; this module writes a small one instead, from a tiny grammar and a
seeded NumPy generator, in a fraction of a second. The properties that decide whether dropping a whole
embedding feature (SpatialDropout1D) or a whole word helps a tagger are parameters of
:func:`make_tagging_language`, not accidents of a corpus:

* **context**: a share of the noun and verb types are *ambiguous* (a word that is a noun after "the"
  and a verb after "she"), so a tagger that reads one word at a time cannot tag them all;
* **rare words**: word frequencies follow Zipf's law, so many word types are seen only a few times in
  training, or never;
* **size**: the vocabulary, the sentence lengths and the splits.

Words the training split never holds are *unknown* in the validation and test splits: their token is
:data:`~spatialdrop_edu.tagging.corpus.UNK_ID`, whose embedding stays zero in the taggers, as a dropped word's does.

The grammar. A sentence is one or more clauses joined by a conjunction and closed by a punctuation mark::

    sentence := clause (CONJ clause)* PUNCT
    clause   := subject [ADV] VERB [object] [ADP noun-phrase] [ADV]
    subject  := PRON | noun-phrase          object := noun-phrase
    noun-phrase := (DET | NUM) ADJ{0,1,2} NOUN

so a noun always follows a determiner, a number or an adjective, and a verb always follows a noun, a
pronoun or an adverb: the left neighbour decides the tag of an ambiguous word, and a tagger that reads
context can tag every token. The closed classes (determiners, numbers, pronouns, prepositions,
conjunctions, punctuation) are English words; the open classes (nouns, verbs, adjectives, adverbs)
are pronounceable made-up words ("blorsk", "tremi"), so that no one reads a meaning into them.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import (
    check_int_between,
    check_non_negative_int,
    check_non_negative_number,
    check_positive_int,
    check_seed,
    check_unit_interval,
)
from .corpus import IGNORE_INDEX, PAD_ID, SPLITS, TAGS, UNK_ID, TaggedSentences, TaggingLanguage

__all__ = ["MIN_VOCAB_SIZE", "CLOSED_CLASS", "OPEN_CLASS_SHARES", "make_tagging_language"]

#: The closed-class words by tag, the same in every language (English words, most frequent first).
CLOSED_CLASS = {
    "DET": ("the", "a", "this", "that", "every", "some", "no", "each"),
    "NUM": ("two", "three", "one", "four", "ten", "five", "six", "seven"),
    "PRON": ("she", "he", "they", "we", "i", "you", "it"),
    "ADP": ("in", "on", "with", "near", "under", "from", "over", "behind", "into", "at"),
    "CONJ": ("and", "but", "or", "so"),
    "PUNCT": (".", "!", "?"),
}
#: How the open-class word types are shared out between the open tags.
OPEN_CLASS_SHARES = {"NOUN": 0.45, "VERB": 0.30, "ADJ": 0.15, "ADV": 0.10}

_TAG = {name: i for i, name in enumerate(TAGS)}
_CLOSED_COUNT = sum(len(words) for words in CLOSED_CLASS.values())
#: The smallest vocabulary (padding, the unknown word, the closed class and ten open-class words).
MIN_VOCAB_SIZE = 2 + _CLOSED_COUNT + 10
_ONSETS = ("b", "bl", "br", "d", "dr", "f", "fl", "g", "gr", "k", "kr", "l", "m", "n", "p", "pl", "pr", "r", "s")
_ONSETS += ("sk", "sl", "sn", "st", "t", "tr", "v", "z")
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "i", "o", "u", "ai", "ou", "ee")
_CODAS = ("", "", "", "n", "r", "sk", "m", "t", "l", "nd")
#: How likely a noun phrase starts with a number instead of a determiner.
_NUM_SHARE = 0.15


def make_tagging_language(
    vocab_size: int = 1000,
    ambiguous_share: float = 0.5,
    *,
    min_length: int = 4,
    max_length: int = 20,
    zipf_exponent: float = 1.0,
    secondary_use: float = 0.5,
    rare_max_count: int = 2,
    train_size: int = 1000,
    val_size: int = 500,
    test_size: int = 1000,
    seed: int = 0,
) -> TaggingLanguage:
    """Generate a tagging language: a vocabulary, and train, validation and test sentences tagged.

    A seeded NumPy generator (``numpy.random.default_rng(seed)``) makes the vocabulary (which made-up
    words are nouns, verbs, adjectives and adverbs, which nouns and verbs are ambiguous, how frequent
    each word is), then the sentences from the grammar of :mod:`~spatialdrop_edu.tagging.language`:
    each sentence's length is drawn uniformly from ``[min_length, max_length]``, a sequence of tags of
    that length from the grammar, and a word for each tag in proportion to the words' frequencies.
    Every sentence is distinct, so the splits share no sentence. The same arguments give the same
    arrays, bit for bit, on any machine with the same NumPy version (NumPy keeps a generator's stream
    within a version; it may change one between versions).

    Args:
        vocab_size: word ids, padding and the unknown word included (at least ``MIN_VOCAB_SIZE``, 52):
            the 40 closed-class words of :data:`CLOSED_CLASS` and ``vocab_size - 42`` made-up open-class
            words, shared out as :data:`OPEN_CLASS_SHARES`. Default: 1000.
        ambiguous_share: the probability that a noun or verb type is ambiguous, in ``[0, 1]``: each noun
            type can then also be a verb and each verb type a noun, decided by its left neighbour. The
            share of ambiguous noun and verb types is binomial around it. Default: 0.5.
        min_length: the shortest sentence, in tokens, at least 3. Default: 4.
        max_length: the longest sentence, and the padded length ``T`` of every split. Default: 20.
        zipf_exponent: ``s >= 0`` in Zipf's law: the word of frequency rank ``r`` within the open class
            (and within each closed class) is drawn with weight ``r ** -s``. 0 gives uniform words;
            larger values make more word types rare (and, past about 1, the frequent few take more
            of the tokens, so fewer tokens are rare). Default: 1.0.
        secondary_use: how often an ambiguous word fills its second role, relative to its first, in
            ``[0, 1]``: its weight among the candidates of its second tag is ``secondary_use`` times its
            weight among those of its first. 0 leaves it ambiguous in the vocabulary only. Default: 0.5.
        rare_max_count: a word type is *rare* if the training split holds it at most this many times
            (words never seen in training are rare too). Default: 2.
        train_size: training sentences. Default: 1000.
        val_size: validation sentences. Default: 500.
        test_size: test sentences. Default: 1000.
        seed: the generator's seed. Default: 0.

    Returns:
        A :class:`~spatialdrop_edu.tagging.corpus.TaggingLanguage`.

    Raises:
        ValueError: an argument out of range, or a language too small to hold ``train_size +
            val_size + test_size`` distinct sentences.

    Shape:
        - every array of a split: :math:`(S, T)` with ``T = max_length``; ``lengths``: :math:`(S,)`.

    Examples::

        >>> lang = make_tagging_language(vocab_size=300, ambiguous_share=0.5,
        ...                              train_size=200, val_size=50,
        ...                              test_size=50, seed=1)
        >>> lang.train.tokens.shape, lang.vocab_size, lang.num_tags
        ((200, 20), 300, 10)
        >>> same = make_tagging_language(vocab_size=300, ambiguous_share=0.5,
        ...                              train_size=200, val_size=50,
        ...                              test_size=50, seed=1)
        >>> bool((same.test.tokens == lang.test.tokens).all())
        True
        >>> bool(lang.test.ambiguous.any() and lang.test.rare.any())
        True
    """
    vocab_size = check_int_between(vocab_size, "vocab_size", MIN_VOCAB_SIZE, 100_000, "word ids with <pad> and <unk>")
    ambiguous_share = check_unit_interval(ambiguous_share, "ambiguous_share", "a probability")
    min_length = check_int_between(min_length, "min_length", 3, 10_000, "tokens of the shortest sentence")
    max_length = check_int_between(max_length, "max_length", min_length, 10_000, "tokens, at least min_length")
    zipf_exponent = check_non_negative_number(zipf_exponent, "zipf_exponent", "Zipf's exponent s")
    secondary_use = check_unit_interval(secondary_use, "secondary_use", "a relative frequency")
    rare_max_count = check_non_negative_int(rare_max_count, "rare_max_count", "training occurrences of a rare word")
    sizes = {
        name: check_positive_int(size, f"{name}_size", f"{name} sentences")
        for name, size in zip(SPLITS, (train_size, val_size, test_size))
    }
    seed = check_seed(seed)
    settings = dict(
        vocab_size=vocab_size,
        ambiguous_share=ambiguous_share,
        min_length=min_length,
        max_length=max_length,
        zipf_exponent=zipf_exponent,
        secondary_use=secondary_use,
        rare_max_count=rare_max_count,
        train_size=train_size,
        val_size=val_size,
        test_size=test_size,
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    lexicon = _Lexicon(vocab_size, ambiguous_share, zipf_exponent, secondary_use, rng)
    sentences = _distinct_sentences(sum(sizes.values()), min_length, max_length, lexicon, rng)
    train_end = sizes["train"]
    val_end = train_end + sizes["val"]
    parts = {"train": sentences[:train_end], "val": sentences[train_end:val_end], "test": sentences[val_end:]}
    train_tokens = np.concatenate([words for words, _ in parts["train"]])
    counts = np.bincount(train_tokens, minlength=vocab_size)
    counts[[PAD_ID, UNK_ID]] = 0
    ambiguous_types = np.array([len(tags) > 1 for tags in lexicon.word_tags])
    rare_types = counts <= rare_max_count
    seen = counts > 0
    splits = {name: _pad(part, max_length, ambiguous_types, rare_types, seen) for name, part in parts.items()}
    return TaggingLanguage(
        **splits,
        words=tuple(lexicon.words),
        word_tags=tuple(lexicon.word_tags),
        train_counts=counts,
        settings=settings,
    )


# -- the vocabulary --------------------------------------------------------------------------------


class _Lexicon:
    """The words, the tags each can take, and for each tag the candidate words with their probabilities."""

    def __init__(self, vocab_size: int, ambiguous_share: float, zipf_exponent: float, secondary_use: float, rng):
        open_count = vocab_size - 2 - _CLOSED_COUNT
        words = ["<pad>", "<unk>"]
        word_tags: list[tuple[int, ...]] = [(), ()]
        self.candidates: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for tag, closed in CLOSED_CLASS.items():
            ids = np.arange(len(words), len(words) + len(closed))
            words += closed
            word_tags += [(_TAG[tag],)] * len(closed)
            self.candidates[_TAG[tag]] = (ids, _zipf(len(closed), zipf_exponent))
        first_open = len(words)
        words += _made_up_words(open_count, set(words), rng)
        # share the open class out, then rank it by frequency at random (Zipf over the whole open class)
        counts = {tag: max(1, math.floor(share * open_count)) for tag, share in OPEN_CLASS_SHARES.items()}
        counts["NOUN"] += open_count - sum(counts.values())
        order = first_open + rng.permutation(open_count)
        log_weight = np.full(vocab_size, -np.inf)  # Zipf's weights as logarithms: no class underflows to zeros
        log_weight[first_open + rng.permutation(open_count)] = -zipf_exponent * np.log(np.arange(1, open_count + 1))
        classes, start = {}, 0
        for tag, count in counts.items():
            classes[tag] = np.sort(order[start : start + count])
            start += count
        word_tags += [()] * open_count
        for tag in ("ADJ", "ADV"):
            for i in classes[tag]:
                word_tags[i] = (_TAG[tag],)
        noun, verb = _TAG["NOUN"], _TAG["VERB"]
        for first, second in ((noun, verb), (verb, noun)):
            ids = classes[TAGS[first]]
            ambiguous = rng.random(len(ids)) < ambiguous_share
            for i, amb in zip(ids, ambiguous):
                word_tags[i] = (first, second) if amb else (first,)
        for tag in ("NOUN", "VERB", "ADJ", "ADV"):
            t = _TAG[tag]
            ids = np.array([i for i in range(first_open, vocab_size) if t in word_tags[i]], dtype=np.int64)
            secondary = np.array([word_tags[i][0] != t for i in ids])
            with np.errstate(divide="ignore"):  # secondary_use = 0: log 0 = -inf, weight 0
                log_w = log_weight[ids] + np.where(secondary, np.log(secondary_use), 0.0)
            w = np.exp(log_w - log_w.max())  # every class holds a word of its own first tag: max is finite
            self.candidates[t] = (ids, w / w.sum())
        self.words, self.word_tags = words, word_tags


def _zipf(n: int, exponent: float) -> np.ndarray:
    """Zipf's law over ``n`` ranks: the probability of rank ``r`` (from 1) is proportional to ``r ** -exponent``."""
    w = np.arange(1, n + 1, dtype=np.float64) ** -exponent
    return w / w.sum()


def _made_up_words(n: int, taken: set, rng) -> list[str]:
    """``n`` distinct pronounceable words of two or three syllables, none of them in ``taken``."""
    found: dict[str, None] = {}
    while len(found) < n:
        need = 2 * (n - len(found)) + 16
        syllables = np.where(rng.random(need) < 0.7, 2, 3)
        onsets = rng.integers(len(_ONSETS), size=(need, 3))
        vowels = rng.integers(len(_VOWELS), size=(need, 3))
        codas = rng.integers(len(_CODAS), size=need)
        for k in range(need):
            word = "".join(_ONSETS[onsets[k, j]] + _VOWELS[vowels[k, j]] for j in range(syllables[k]))
            word += _CODAS[codas[k]]
            if word not in taken and word not in found:
                found[word] = None
                if len(found) == n:
                    break
    return list(found)


# -- the grammar -----------------------------------------------------------------------------------

_DET, _ADJ, _NOUN, _PRON, _VERB, _ADV, _ADP = (_TAG[t] for t in ("DET", "ADJ", "NOUN", "PRON", "VERB", "ADV", "ADP"))
_NOUN_PHRASES = {2: (_DET, _NOUN), 3: (_DET, _ADJ, _NOUN), 4: (_DET, _ADJ, _ADJ, _NOUN)}
_NP_WEIGHTS = {2: 0.5, 3: 0.35, 4: 0.15}


def _clause_table() -> dict[int, tuple[list, np.ndarray]]:
    """Every clause the grammar allows, as tag tuples grouped by length, with cumulative probabilities."""
    subjects = [((_PRON,), 0.3)] + [(np_, 0.7 * _NP_WEIGHTS[n]) for n, np_ in _NOUN_PHRASES.items()]
    objects = [((), 0.35)] + [(np_, 0.65 * _NP_WEIGHTS[n]) for n, np_ in _NOUN_PHRASES.items()]
    phrases = [((), 0.7)] + [((_ADP, *np_), 0.3 * _NP_WEIGHTS[n]) for n, np_ in _NOUN_PHRASES.items()]
    table: dict[int, tuple[list, list]] = {}
    for subject, w1 in subjects:
        for before, w2 in (((), 0.85), ((_ADV,), 0.15)):
            for obj, w3 in objects:
                for phrase, w4 in phrases:
                    for after, w5 in (((), 0.8), ((_ADV,), 0.2)):
                        clause = (*subject, *before, _VERB, *obj, *phrase, *after)
                        clauses, weights = table.setdefault(len(clause), ([], []))
                        clauses.append(clause)
                        weights.append(w1 * w2 * w3 * w4 * w5)
    return {n: (clauses, np.cumsum(weights) / sum(weights)) for n, (clauses, weights) in table.items()}


_CLAUSES = _clause_table()
_SHORTEST_CLAUSE, _LONGEST_CLAUSE = min(_CLAUSES), max(_CLAUSES)


def _sentence_tags(length: int, rng) -> list[int]:
    """The tags of one sentence of ``length`` tokens: clauses joined by CONJ, then PUNCT."""
    body = length - 1
    # c clauses and c - 1 conjunctions fill the body: c * shortest + c - 1 <= body <= c * longest + c - 1
    fewest = math.ceil((body + 1) / (_LONGEST_CLAUSE + 1))
    most = (body + 1) // (_SHORTEST_CLAUSE + 1)
    count = min(max(round((body + 1) / 9), fewest), most)
    budget = body - (count - 1)
    tags: list[int] = []
    for k in range(count):
        rest = count - 1 - k
        low = max(_SHORTEST_CLAUSE, budget - _LONGEST_CLAUSE * rest)
        high = min(_LONGEST_CLAUSE, budget - _SHORTEST_CLAUSE * rest)
        n = int(rng.integers(low, high + 1))
        clauses, cumulative = _CLAUSES[n]
        if k:
            tags.append(_TAG["CONJ"])
        tags.extend(clauses[min(int(np.searchsorted(cumulative, rng.random(), side="right")), len(clauses) - 1)])
        budget -= n
    tags.append(_TAG["PUNCT"])
    return tags


def _sentences(n: int, min_length: int, max_length: int, lexicon: _Lexicon, rng) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` sentences as ``(word ids, tags)`` pairs: tags from the grammar, then a word drawn per tag."""
    lengths = rng.integers(min_length, max_length + 1, size=n)
    tags = np.array([t for length in lengths for t in _sentence_tags(int(length), rng)], dtype=np.int64)
    dets = np.flatnonzero(tags == _DET)
    tags[dets[rng.random(len(dets)) < _NUM_SHARE]] = _TAG["NUM"]
    words = np.zeros(len(tags), dtype=np.int64)
    for tag, (ids, p) in lexicon.candidates.items():
        where = np.flatnonzero(tags == tag)
        words[where] = rng.choice(ids, size=len(where), p=p)
    bounds = np.cumsum(lengths)[:-1]
    return list(zip(np.split(words, bounds), np.split(tags, bounds)))


def _distinct_sentences(n: int, min_length: int, max_length: int, lexicon: _Lexicon, rng) -> list:
    """``n`` sentences, no two of the same words, in the order drawn."""
    kept, seen = [], set()
    for _ in range(100):
        before = len(kept)
        for words, tags in _sentences(n - len(kept) + 8, min_length, max_length, lexicon, rng):
            key = words.tobytes()
            if key not in seen:
                seen.add(key)
                kept.append((words, tags))
                if len(kept) == n:
                    return kept
        if len(kept) == before:  # a whole round of repeats: the language is exhausted
            break
    raise ValueError(
        f"this language holds too few distinct sentences for train_size + val_size + test_size = {n}: "
        f"found {len(kept)}; raise vocab_size or max_length, or ask for fewer sentences."
    )


def _pad(part: list, length: int, ambiguous_types, rare_types, seen) -> TaggedSentences:
    """Sentences ``(words, tags)`` as padded arrays with their per-token flags, unseen words made unknown."""
    types = np.full((len(part), length), PAD_ID, dtype=np.int64)
    tags = np.full((len(part), length), IGNORE_INDEX, dtype=np.int64)
    lengths = np.array([len(words) for words, _ in part], dtype=np.int64)
    for i, (words, tag) in enumerate(part):
        types[i, : len(words)] = words
        tags[i, : len(words)] = tag
    mask = np.arange(length) < lengths[:, None]
    return TaggedSentences(
        tokens=np.where(seen[types] | ~mask, types, UNK_ID),
        word_types=types,
        tags=tags,
        lengths=lengths,
        mask=mask,
        ambiguous=ambiguous_types[types] & mask,
        rare=rare_types[types] & mask,
    )
