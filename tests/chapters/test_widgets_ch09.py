"""Chapter 9's widget, driven control by control to its extremes, plus its computation and static twin."""

import numpy as np
import pytest

from spatialdrop_edu import widgets
from spatialdrop_edu._validation import check_words
from spatialdrop_edu.widgets.ch09_tagging import DEFAULT_SENTENCE, MASK_VARIANTS, MAX_DIM, MAX_TOKENS

from helpers import titled_axes

#: What each panel's title starts with, in panel order.
TITLES = (
    "embedding (no mask)",
    "element (Dropout)\ndrops single entries",
    "feature (SpatialDropout1D)\ndrops whole columns",
    "token\ndrops whole rows",
    "word type\ndrops every occurrence of a word",
)


def controls(w):
    return dict(zip(["p", "seed", "dim", "sentence"], w.children[:4]))


def masks_of(state) -> dict:
    return {v: m.copy() for v, m in state["masks"].items()}


def positions(words, word):
    return [i for i, w in enumerate(words) if w == word]


# ----------------------------------------------------------------------------- the computation


def test_default_sentence_repeats_words():
    s = widgets.embedding_masks_demo()
    assert s["words"] == DEFAULT_SENTENCE and MASK_VARIANTS == ("element", "feature", "token", "word_type")
    assert s["vocabulary"] == ("the", "dog", "saw", "cat", "and", "ran", ".")
    assert len(positions(s["words"], "the")) == 3 and len(positions(s["words"], "dog")) == 2
    assert [s["vocabulary"][i] for i in s["token_ids"]] == list(s["words"])
    # one embedding row per word type: a repeated word has the same row wherever it occurs
    e = s["embedding"]
    assert e.shape == (10, 8) and np.array_equal(e[0], e[3]) and np.array_equal(e[0], e[6])
    assert not np.array_equal(e[0], e[1])


def test_same_seed_same_embedding_and_masks():
    a, b = widgets.embedding_masks_demo(0.4, 7), widgets.embedding_masks_demo(0.4, 7)
    other = widgets.embedding_masks_demo(0.4, 8)
    assert np.array_equal(a["embedding"], b["embedding"])
    for v in MASK_VARIANTS:
        assert np.array_equal(a["masks"][v], b["masks"][v]) and np.array_equal(a["outputs"][v], b["outputs"][v])
    assert not np.array_equal(a["embedding"], other["embedding"])
    assert not np.array_equal(a["masks"]["element"], other["masks"]["element"])


def test_masks_have_their_noise_shapes():
    s = widgets.embedding_masks_demo(0.5, 3, dim=6)
    assert {v: m.shape for v, m in s["masks"].items()} == {
        "element": (1, 10, 6),
        "feature": (1, 1, 6),
        "token": (1, 10, 1),
        "word_type": (1, 10, 1),
    }
    assert s["noise_shapes"] == {"element": (1, 10, 6), "feature": (1, 1, 6), "token": (1, 10, 1), "word_type": (1, 7)}
    assert s["coins"] == {"element": 60, "feature": 6, "token": 10, "word_type": 7}
    for m in s["masks"].values():  # zeros and 1 / (1 - p)
        assert set(np.unique(m).tolist()) <= {0.0, 2.0}


@pytest.mark.parametrize("seed", range(6))
def test_feature_mask_is_constant_along_the_tokens(seed):
    s = widgets.embedding_masks_demo(0.5, seed)
    d = s["dropped"]["feature"]
    assert (d == d[:1]).all()
    assert s["dropped_features"] == np.flatnonzero(d[0]).tolist()


@pytest.mark.parametrize("seed", range(6))
def test_token_mask_is_constant_along_the_features(seed):
    s = widgets.embedding_masks_demo(0.5, seed)
    d = s["dropped"]["token"]
    assert (d == d[:, :1]).all()
    assert s["dropped_tokens"] == np.flatnonzero(d[:, 0]).tolist()


@pytest.mark.parametrize("seed", range(6))
def test_word_type_mask_is_equal_at_every_occurrence_of_a_word(seed):
    s = widgets.embedding_masks_demo(0.5, seed)
    d = s["dropped"]["word_type"]
    assert (d == d[:, :1]).all()
    for word in s["vocabulary"]:
        at = positions(s["words"], word)
        assert len(set(d[at, 0].tolist())) == 1, (word, at)
    assert s["dropped_words"] == [w for w in s["vocabulary"] if d[s["words"].index(w), 0]]


def test_token_dropout_drops_occurrences_one_by_one_where_word_type_does_not():
    """The difference between the two row masks: some seed drops one "the" and keeps another; word type never."""
    split = []
    for seed in range(40):
        s = widgets.embedding_masks_demo(0.5, seed)
        the = positions(s["words"], "the")
        token = s["dropped"]["token"][the, 0]
        if token.any() and not token.all():
            split.append(seed)
    # the chance that 40 seeds never split the three "the"s is (1/4) ** 40
    assert split


def test_element_mask_has_no_such_structure():
    s = widgets.embedding_masks_demo(0.5, 0, dim=16)
    d = s["dropped"]["element"]
    assert not (d == d[:1]).all() and not (d == d[:, :1]).all()


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropped_shares_and_outputs_match_the_masks(p):
    s = widgets.embedding_masks_demo(p, 11, dim=5)
    e = s["embedding"]
    for v in MASK_VARIANTS:
        d = s["dropped"][v]
        assert d.shape == e.shape and d.dtype == bool
        assert s["shares"][v] == float(d.mean())
        assert np.array_equal(s["outputs"][v] == 0, d | (e == 0))
        assert np.allclose(s["outputs"][v], np.where(d, 0.0, e / (1 - p)), rtol=1e-6, atol=0)
    # the word-type share is the share of tokens whose word was dropped
    counts = {w: s["words"].count(w) for w in s["dropped_words"]}
    assert s["shares"]["word_type"] == pytest.approx(sum(counts.values()) / len(s["words"]))


def test_rate_zero_drops_nothing():
    s = widgets.embedding_masks_demo(0.0, 5)
    for v in MASK_VARIANTS:
        assert not s["dropped"][v].any() and s["shares"][v] == 0.0
        assert np.array_equal(s["outputs"][v], s["embedding"])
    assert s["dropped_features"] == s["dropped_tokens"] == s["dropped_words"] == []


def test_rate_one_drops_everything_without_nan():
    s = widgets.embedding_masks_demo(1.0, 5)
    for v in MASK_VARIANTS:
        assert s["dropped"][v].all() and s["shares"][v] == 1.0
        assert np.isfinite(s["outputs"][v]).all() and np.all(s["outputs"][v] == 0)
    assert s["dropped_words"] == list(s["vocabulary"]) and s["dropped_tokens"] == list(range(10))


def test_custom_sentence_as_text_or_words():
    a = widgets.embedding_masks_demo(0.5, 2, dim=4, sentence="a rose is a rose is a rose")
    b = widgets.embedding_masks_demo(0.5, 2, dim=4, sentence=["a", "rose", "is", "a", "rose", "is", "a", "rose"])
    assert a["words"] == b["words"] and a["vocabulary"] == ("a", "rose", "is")
    assert np.array_equal(a["masks"]["word_type"], b["masks"]["word_type"])
    assert a["coins"]["word_type"] == 3 and a["embedding"].shape == (8, 4)
    one = widgets.embedding_masks_demo(0.5, 2, dim=1, sentence="hello")
    assert one["embedding"].shape == (1, 1) and one["coins"] == {"element": 1, "feature": 1, "token": 1, "word_type": 1}


def test_showcase_seed_shows_the_contrasts_it_was_chosen_for():
    for p in (0.25, 0.3, 0.5):
        s = widgets.embedding_masks_demo(p, widgets.SHOWCASE_SEED)
        the = positions(s["words"], "the")
        assert "the" in s["dropped_words"]
        assert s["dropped"]["token"][the, 0].tolist() == [True, False, False]
        assert 0 < len(s["dropped_features"]) < 8


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"p": 1.5}, ValueError, "p must be a probability in \\[0, 1\\]"),
        ({"p": "0.5"}, TypeError, "p must be a real number"),
        ({"seed": -1}, ValueError, "seed must be an int in \\[0, 2\\*\\*32 - 1\\]"),
        ({"dim": 0}, ValueError, f"dim must be an int from 1 to {MAX_DIM}"),
        ({"dim": MAX_DIM + 1}, ValueError, f"dim must be an int from 1 to {MAX_DIM}"),
        ({"dim": 2.5}, TypeError, "dim must be an int from 1"),
        ({"sentence": ""}, ValueError, "sentence must hold at least one word"),
        ({"sentence": "   "}, ValueError, "sentence must hold at least one word"),
        ({"sentence": []}, ValueError, "sentence must hold at least one word"),
        ({"sentence": 5}, TypeError, "sentence must be a str of words separated by spaces, or a sequence"),
        ({"sentence": ["the", 3]}, TypeError, "every word of sentence must be a str, got 3"),
        ({"sentence": ["the", "big dog"]}, ValueError, "every word of sentence must be a non-empty str without"),
        ({"sentence": ["the", ""]}, ValueError, "every word of sentence must be a non-empty str without"),
        ({"sentence": "w " * (MAX_TOKENS + 1)}, ValueError, f"sentence must hold at most {MAX_TOKENS} words, got"),
    ],
)
def test_bad_arguments_are_refused_with_their_names(kwargs, error, match):
    with pytest.raises(error, match=match):
        widgets.embedding_masks_demo(**kwargs)


def test_check_words():
    assert check_words(" a  b\tc ") == ("a", "b", "c")
    assert check_words(("x",), "words") == ("x",)
    with pytest.raises(TypeError, match="words must be a str"):
        check_words(b"a b", "words")


# ----------------------------------------------------------------------------- the figure


def test_figure_has_the_embedding_and_four_masks_with_their_titles():
    s = widgets.embedding_masks_demo(0.3, 4)
    fig = widgets.plot_embedding_masks(s)
    panels = titled_axes(fig)
    assert len(panels) == 5
    for ax, start in zip(panels, TITLES):
        assert ax.get_title().startswith(start), ax.get_title()
    titles = [ax.get_title() for ax in panels]
    assert "noise shape (N, T, C): 80 coins" in titles[1] and "noise shape (N, 1, C): 8 coins" in titles[2]
    assert "noise shape (N, T, 1): 10 coins" in titles[3] and "one coin per word type: 7 coins" in titles[4]
    for title, v in zip(titles[1:], MASK_VARIANTS):
        assert f"{s['shares'][v]:.0%} of entries dropped" in title
    # tokens labelled with their words; axes labelled; one colour bar beside the panels
    for ax in panels:
        assert [t.get_text() for t in ax.get_yticklabels()] == list(s["words"])
        assert ax.get_xlabel() == "embedding feature"
    assert panels[0].get_ylabel() == "token" and len(fig.axes) == 6
    assert "p = 0.30" in fig.get_suptitle() and "seed 4" in fig.get_suptitle()


def test_figure_marks_every_dropped_entry_without_colour():
    s = widgets.embedding_masks_demo(0.5, 9)
    panels = titled_axes(widgets.plot_embedding_masks(s))
    assert not panels[0].collections  # the embedding: nothing dropped, nothing marked
    for ax, v in zip(panels[1:], MASK_VARIANTS):
        marked = {(int(c), int(r)) for c, r in np.concatenate([m.get_offsets() for m in ax.collections])}
        rows, cols = np.nonzero(s["dropped"][v])
        assert marked == set(zip(cols.tolist(), rows.tolist()))
        # dropped entries are drawn as missing (the grey of the colour map's "bad"), kept ones by value
        shown = ax.images[0].get_array()
        assert np.array_equal(np.ma.getmaskarray(shown), s["dropped"][v])
        assert ax.images[0].get_cmap().name.startswith("RdBu")


def test_figure_at_the_extremes():
    nothing = titled_axes(widgets.plot_embedding_masks(widgets.embedding_masks_demo(0.0, 0)))
    assert all(not ax.collections for ax in nothing)
    assert all(ax.get_title().endswith("\n0% of entries dropped") for ax in nothing[1:])
    everything = titled_axes(widgets.plot_embedding_masks(widgets.embedding_masks_demo(1.0, 0)))
    assert all("100% of entries dropped" in ax.get_title() for ax in everything[1:])


# ----------------------------------------------------------------------------- the live widget


def test_widget_controls_and_initial_state():
    w = widgets.embedding_masks_widget()
    c = controls(w)
    assert (c["p"].description, c["p"].min, c["p"].max) == ("rate p", 0.0, 1.0)
    assert c["p"].value == pytest.approx(0.3)
    assert (c["seed"].description, c["seed"].min, c["seed"].max, c["seed"].value) == ("seed", 0, 99, 21)
    assert (c["dim"].min, c["dim"].max, c["dim"].value) == (1, MAX_DIM, 8)
    assert c["sentence"].value == " ".join(DEFAULT_SENTENCE)
    s = w.result
    assert s["seed"] == widgets.SHOWCASE_SEED and len(titled_axes(s["figure"])) == 5


def test_widget_reacts_to_the_rate_slider():
    w = widgets.embedding_masks_widget()
    c = controls(w)
    c["p"].value = 0.0
    assert w.result["p"] == 0.0 and all(share == 0.0 for share in w.result["shares"].values())
    c["p"].value = 1.0
    s = w.result
    assert s["p"] == 1.0 and all(share == 1.0 for share in s["shares"].values())
    assert all("100% of entries dropped" in ax.get_title() for ax in titled_axes(s["figure"])[1:])


@pytest.mark.parametrize("seed", [0, 99])
def test_widget_seed_extremes_are_reproducible(seed):
    w = widgets.embedding_masks_widget()
    c = controls(w)
    c["seed"].value = seed
    first = masks_of(w.result)
    c["seed"].value = 50
    assert any(not np.array_equal(first[v], w.result["masks"][v]) for v in MASK_VARIANTS)
    c["seed"].value = seed
    direct = widgets.embedding_masks_demo(w.result["p"], seed)
    for v in MASK_VARIANTS:
        assert np.array_equal(w.result["masks"][v], first[v]) and np.array_equal(direct["masks"][v], first[v])


def test_widget_dim_extremes_and_sentence():
    w = widgets.embedding_masks_widget()
    c = controls(w)
    c["dim"].value = 1
    s = w.result
    assert s["embedding"].shape == (10, 1) and s["coins"]["feature"] == 1
    c["dim"].value = MAX_DIM
    assert w.result["embedding"].shape == (10, MAX_DIM)
    c["sentence"].value = "she saw she"
    s = w.result
    assert s["words"] == ("she", "saw", "she") and s["vocabulary"] == ("she", "saw")
    assert [t.get_text() for t in titled_axes(s["figure"])[0].get_yticklabels()] == ["she", "saw", "she"]


def test_widget_reports_an_invalid_sentence_instead_of_crashing(capsys):
    w = widgets.embedding_masks_widget(dim=4)
    controls(w)["sentence"].value = "   "
    assert "sentence must hold at least one word" in w.result["error"]
    assert "Cannot draw this choice: sentence must hold" in capsys.readouterr().out
    controls(w)["sentence"].value = "a b a"
    assert w.result["words"] == ("a", "b", "a")


def test_widget_validates_its_arguments():
    with pytest.raises(ValueError, match="seed must be an int from 0 to 99"):
        widgets.embedding_masks_widget(seed=100)
    with pytest.raises(ValueError, match="dim must be an int from 1 to"):
        widgets.embedding_masks_widget(dim=0)
    with pytest.raises(TypeError, match="sentence must be a str of words"):
        widgets.embedding_masks_widget(sentence=3)


# ----------------------------------------------------------------------------- the static twin


def test_twin_has_one_row_per_rate_with_the_same_embedding():
    fig = widgets.embedding_masks_twin((0.0, 0.25, 1.0), seed=3, dim=4)
    assert len(fig.subfigs) == 3
    for sub, p in zip(fig.subfigs, ("0.00", "0.25", "1.00")):
        panels = [ax for ax in sub.axes if ax.get_title()]
        assert len(panels) == 5 and len(sub.axes) == 6  # five panels and a colour bar
        for ax, start in zip(panels, TITLES):
            assert ax.get_title().startswith(start)
        assert f"p = {p}" in sub.get_suptitle() and "seed 3" in sub.get_suptitle()
    first = [ax.images[0].get_array().filled(np.nan) for ax in fig.subfigs[0].axes[:1]]
    last = [ax.images[0].get_array().filled(np.nan) for ax in fig.subfigs[2].axes[:1]]
    assert np.array_equal(first[0], last[0])  # the same embedding in every row
    assert fig.subfigs[0].axes[1].get_title().endswith("\n0% of entries dropped")
    assert "100% of entries dropped" in fig.subfigs[2].axes[4].get_title()


def test_twin_defaults_and_single_rate():
    fig = widgets.embedding_masks_twin()
    assert [f"seed {widgets.SHOWCASE_SEED}" in sub.get_suptitle() for sub in fig.subfigs] == [True, True]
    one = widgets.embedding_masks_twin((0.5,), dim=4)
    assert not one.subfigs and len(titled_axes(one)) == 5 and "p = 0.50" in one.get_suptitle()


def test_twin_validates():
    with pytest.raises(ValueError, match="rates must contain at least one rate"):
        widgets.embedding_masks_twin(())
    with pytest.raises(TypeError, match="rates must be a sequence of drop probabilities"):
        widgets.embedding_masks_twin(0.5)
    with pytest.raises(ValueError, match="every entry of rates must be a probability"):
        widgets.embedding_masks_twin((0.5, 2.0))
    with pytest.raises(ValueError, match="dim must be an int from 1 to"):
        widgets.embedding_masks_twin(dim=MAX_DIM + 1)
