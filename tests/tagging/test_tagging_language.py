"""The generated tagging language: its parameters do what they say, its tags follow its grammar, it is deterministic."""

import time

import numpy as np
import pytest

from spatialdrop_edu.tagging.corpus import (
    IGNORE_INDEX,
    PAD_ID,
    SPLITS,
    TAGS,
    UNK_ID,
    TaggedSentences,
    accuracy_by_group,
    most_frequent_tag_accuracy,
)
from spatialdrop_edu.tagging.language import CLOSED_CLASS, MIN_VOCAB_SIZE, make_tagging_language

from stats import binomial_fraction_bound

SMALL = dict(vocab_size=400, train_size=400, val_size=100, test_size=200)
NOUN, VERB = TAGS.index("NOUN"), TAGS.index("VERB")
NOUN_CONTEXT = {TAGS.index(t) for t in ("DET", "NUM", "ADJ")}
VERB_CONTEXT = {TAGS.index(t) for t in ("NOUN", "PRON", "ADV")}


def noun_and_verb_types(lang) -> np.ndarray:
    """Which word ids are nouns or verbs first (the types that may be made ambiguous)."""
    return np.array([bool(tags) and tags[0] in (NOUN, VERB) for tags in lang.word_tags])


def split_arrays(split: TaggedSentences) -> dict:
    return {name: getattr(split, name) for name in TaggedSentences.__dataclass_fields__}


def test_same_seed_gives_identical_arrays_and_another_seed_other_ones():
    a, b = make_tagging_language(**SMALL, seed=3), make_tagging_language(**SMALL, seed=3)
    for name in SPLITS:
        for field, array in split_arrays(a.split(name)).items():
            np.testing.assert_array_equal(array, getattr(b.split(name), field), err_msg=f"{name}.{field}")
    assert a.words == b.words and a.word_tags == b.word_tags
    np.testing.assert_array_equal(a.train_counts, b.train_counts)
    c = make_tagging_language(**SMALL, seed=4)
    assert not np.array_equal(a.train.tokens, c.train.tokens)


def test_thousands_of_sentences_take_well_under_a_second_of_cpu():
    make_tagging_language(train_size=50, val_size=10, test_size=10)  # warm caches
    start = time.process_time()  # CPU time: a busy machine's other processes do not count
    lang = make_tagging_language(train_size=3000, val_size=500, test_size=1000)
    assert len(lang.train) + len(lang.val) + len(lang.test) == 4500
    assert time.process_time() - start < 1.0


@pytest.mark.parametrize("share", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("seed", [0, 1])
def test_ambiguous_share_of_noun_and_verb_types_is_binomial_around_the_parameter(share, seed):
    sizes = dict(train_size=50, val_size=5, test_size=5)
    lang = make_tagging_language(vocab_size=2000, ambiguous_share=share, **sizes, seed=seed)
    candidates = noun_and_verb_types(lang)
    measured = lang.ambiguous_types[candidates].mean()
    assert abs(measured - share) <= binomial_fraction_bound(share, int(candidates.sum()))
    assert not lang.ambiguous_types[~candidates].any()  # only nouns and verbs are ever ambiguous


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_ambiguous_share_at_its_ends_is_exact(share):
    lang = make_tagging_language(ambiguous_share=share, **SMALL)
    assert lang.ambiguous_types[noun_and_verb_types(lang)].mean() == share


def test_tags_are_among_each_words_tags_and_padding_is_marked():
    lang = make_tagging_language(**SMALL, min_length=3, max_length=12)
    for name in SPLITS:
        s = lang.split(name)
        assert s.tokens.shape == s.tags.shape == (len(s), 12)
        np.testing.assert_array_equal(s.mask, np.arange(12) < s.lengths[:, None])
        assert ((s.lengths >= 3) & (s.lengths <= 12)).all()
        assert (s.tokens[~s.mask] == PAD_ID).all() and (s.tags[~s.mask] == IGNORE_INDEX).all()
        for word, tag in zip(s.word_types[s.mask], s.tags[s.mask]):
            assert tag in lang.word_tags[word], (lang.words[word], TAGS[tag])
        last = s.tags[np.arange(len(s)), s.lengths - 1]
        assert (last == TAGS.index("PUNCT")).all()


def test_the_left_neighbour_decides_an_ambiguous_words_tag():
    lang = make_tagging_language(**SMALL, ambiguous_share=0.6)
    s = lang.train
    rows, cols = np.nonzero(s.ambiguous)
    assert (cols > 0).all()  # a sentence starts with a determiner, a number or a pronoun
    for tag, before in zip(s.tags[rows, cols], s.tags[rows, cols - 1]):
        assert tag in (NOUN, VERB)
        assert before in (NOUN_CONTEXT if tag == NOUN else VERB_CONTEXT)
    # ambiguous words really serve in both roles in the corpus
    assert {NOUN, VERB} <= set(s.tags[s.ambiguous].tolist())
    types = s.word_types[s.ambiguous]
    tags = s.tags[s.ambiguous]
    both = set(types[tags == NOUN].tolist()) & set(types[tags == VERB].tolist())
    assert len(both) >= 5


def test_rare_and_unknown_words_follow_the_training_counts():
    lang = make_tagging_language(**SMALL, rare_max_count=2)
    counts = np.bincount(lang.train.word_types[lang.train.mask], minlength=lang.vocab_size)
    np.testing.assert_array_equal(counts, lang.train_counts)
    for name in SPLITS:
        s = lang.split(name)
        np.testing.assert_array_equal(s.rare, s.mask & (counts[s.word_types] <= 2))
        unknown = s.mask & (counts[s.word_types] == 0)
        np.testing.assert_array_equal(s.tokens == UNK_ID, unknown)
        np.testing.assert_array_equal(np.where(unknown, s.word_types, s.tokens), s.word_types)
    assert not (lang.train.tokens == UNK_ID).any()
    assert lang.train.rare.any() and lang.test.rare.any() and (lang.test.tokens == UNK_ID).any()


def test_a_steeper_zipf_law_makes_more_word_types_rare():
    shares = []
    for exponent in (0.0, 0.5, 1.0, 1.5):
        lang = make_tagging_language(**SMALL, zipf_exponent=exponent, rare_max_count=2)
        open_class = np.arange(lang.vocab_size) >= 2 + sum(len(words) for words in CLOSED_CLASS.values())
        shares.append((lang.train_counts[open_class] <= 2).mean())
    assert shares == sorted(shares) and shares[0] < 0.2 < 0.4 < shares[-1]


def test_no_sentence_appears_twice_so_the_splits_are_disjoint():
    lang = make_tagging_language(vocab_size=MIN_VOCAB_SIZE, train_size=600, val_size=100, test_size=100)
    sentences = [
        row[:n].tobytes() for name in SPLITS for row, n in zip(lang.split(name).word_types, lang.split(name).lengths)
    ]
    assert len(set(sentences)) == len(sentences) == 800


def test_closed_class_words_are_english_and_open_class_words_distinct():
    lang = make_tagging_language(**SMALL)
    assert lang.words[:2] == ("<pad>", "<unk>")
    closed = [w for words in CLOSED_CLASS.values() for w in words]
    assert list(lang.words[2 : 2 + len(closed)]) == closed
    assert len(set(lang.words)) == lang.vocab_size == 400
    assert "/" in lang.sentence("test", 0)


def test_most_frequent_tag_baseline_needs_context_for_ambiguous_words_only():
    lang = make_tagging_language(**SMALL, ambiguous_share=0.5)
    acc = most_frequent_tag_accuracy(lang, "train")
    assert acc["unambiguous_frequent"] == 1.0
    assert 0.3 < acc["ambiguous"] < 0.95 and acc["ambiguous"] < acc["overall"] < 1.0
    unambiguous = make_tagging_language(**SMALL, ambiguous_share=0.0)
    assert most_frequent_tag_accuracy(unambiguous, "train")["overall"] == 1.0
    assert np.isnan(most_frequent_tag_accuracy(unambiguous)["ambiguous"])  # a group with no token


def test_accuracy_by_group_counts_real_tokens_only():
    lang = make_tagging_language(**SMALL)
    s = lang.test
    perfect = np.where(s.mask, s.tags, 0)  # padding predicted as tag 0: ignored
    assert accuracy_by_group(perfect, s) == {"overall": 1.0, "ambiguous": 1.0, "rare": 1.0, "unambiguous_frequent": 1.0}
    wrong_on_ambiguous = np.where(s.ambiguous, (s.tags + 1) % len(TAGS), s.tags)
    acc = accuracy_by_group(wrong_on_ambiguous, s)
    assert acc["ambiguous"] == 0.0 and acc["unambiguous_frequent"] == 1.0
    assert acc["overall"] == pytest.approx(1 - s.ambiguous.sum() / s.mask.sum())


@pytest.mark.parametrize(
    "kwargs, error, fragment",
    [
        (dict(vocab_size=MIN_VOCAB_SIZE - 1), ValueError, "vocab_size must be an int from 52"),
        (dict(vocab_size=500.0), TypeError, "vocab_size"),
        (dict(ambiguous_share=1.5), ValueError, "ambiguous_share must be a probability in [0, 1]"),
        (dict(min_length=2), ValueError, "min_length must be an int from 3"),
        (dict(min_length=10, max_length=8), ValueError, "max_length must be an int from 10"),
        (dict(zipf_exponent=-1.0), ValueError, "zipf_exponent"),
        (dict(secondary_use=2.0), ValueError, "secondary_use"),
        (dict(rare_max_count=-1), ValueError, "rare_max_count"),
        (dict(train_size=0), ValueError, "train_size must be a positive int"),
        (dict(seed=-1), ValueError, "seed"),
    ],
)
def test_wrong_arguments_are_refused_with_their_name(kwargs, error, fragment):
    with pytest.raises(error, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        make_tagging_language(**{**SMALL, **kwargs})


def test_a_language_too_small_for_the_sentences_asked_for_says_so():
    with pytest.raises(ValueError, match="too few distinct sentences"):
        make_tagging_language(vocab_size=MIN_VOCAB_SIZE, min_length=3, max_length=3, train_size=5000)


def test_split_names_and_predictions_are_checked():
    lang = make_tagging_language(**SMALL)
    with pytest.raises(ValueError, match="split must be one of 'train', 'val', 'test'"):
        lang.split("dev")
    with pytest.raises(ValueError, match="predictions must have the split's shape"):
        accuracy_by_group(np.zeros((3, 3)), lang.test)
    with pytest.raises(TypeError, match="sentences must be a TaggedSentences"):
        accuracy_by_group(lang.test.tags, lang)
    with pytest.raises(TypeError, match="language must be a TaggingLanguage"):
        most_frequent_tag_accuracy(lang.test)
