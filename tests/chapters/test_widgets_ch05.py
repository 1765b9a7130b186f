"""Chapter 5's widget, driven control by control to its extremes, plus its computation and static twin."""

import numpy as np
import pytest

from spatialdrop_edu import widgets

from helpers import seed_extremes_reproduce


def controls(w):
    return dict(zip(["block_size", "rate", "seed"], w.children[:3]))


def test_controls_and_initial_state():
    w = widgets.dropblock_widget(size=16)
    c = controls(w)
    assert (c["block_size"].min, c["block_size"].max) == (1, 16)
    assert (c["rate"].min, c["rate"].max, c["seed"].min, c["seed"].max) == (0.0, 1.0, 0, 99)
    s = w.result
    assert s["regime"] == "DropBlock" and s["maps"].shape == (4, 16, 16) and len(s["figure"].axes) >= 5


def test_block_size_one_is_element_dropout():
    w = widgets.dropblock_widget(size=16)
    controls(w)["block_size"].value = 1
    s = w.result
    assert s["regime"] == "element dropout" and s["gamma"] == pytest.approx(s["p"])
    assert np.allclose(s["keep_probability"], 1 - s["p"])


def test_largest_block_is_spatial_dropout():
    w = widgets.dropblock_widget(size=16)
    c = controls(w)
    c["rate"].value = 0.5
    for seed in (0, 99):
        c["seed"].value = seed
        c["block_size"].value = 16
        s = w.result
        assert s["regime"] == "SpatialDropout"
        assert all(d.all() or not d.any() for d in s["dropped"])  # whole channels


def test_middle_block_sizes_drop_whole_blocks_and_the_middle_more_often():
    s = widgets.dropblock_demo(4, 0.3, 3, size=16)
    k = s["keep_probability"]
    assert k[0, 0] > k[8, 8] and s["expected_drop"] < 0.3
    d = s["dropped"]
    assert d.any()
    for ch in d:  # every dropped unit lies in an all-dropped 4x4 square inside the map
        for i, j in zip(*np.nonzero(ch)):
            assert any(
                ch[a : a + 4, b : b + 4].all()
                for a in range(max(0, i - 3), min(i, 12) + 1)
                for b in range(max(0, j - 3), min(j, 12) + 1)
            )


def test_rate_extremes():
    w = widgets.dropblock_widget(size=16)
    c = controls(w)
    c["rate"].value = 0.0
    s = w.result
    assert not s["dropped"].any() and s["realised_drop"] == 0 and s["expected_drop"] == 0
    c["rate"].value = 1.0
    s = w.result
    assert s["dropped"].all() and np.all(s["output"] == 0) and np.isfinite(s["output"]).all()


def test_seed_extremes_are_reproducible():
    w = widgets.dropblock_widget(size=16)
    seed_extremes_reproduce(w, controls(w)["seed"], "dropped")


def test_invalid_arguments_are_refused_with_their_names():
    with pytest.raises(ValueError, match="block_size must be a positive int"):
        widgets.dropblock_demo(0, 0.2)
    with pytest.raises(ValueError, match="p must be a probability"):
        widgets.dropblock_demo(3, 1.2)
    with pytest.raises(ValueError, match="photo must be one of"):
        widgets.dropblock_demo(3, 0.2, photo="moon")
    with pytest.raises(ValueError, match="size must be at least 4"):
        widgets.feature_maps("camera", 3)


def test_feature_maps_are_scaled_and_differ():
    maps = widgets.feature_maps("camera", 12)
    assert maps.shape == (4, 12, 12) and maps.min() >= 0 and maps.max() <= 1
    assert not np.allclose(maps[0], maps[2])


def test_twin_has_one_row_per_block_size():
    fig = widgets.dropblock_twin((1, 16), size=16)
    titles = [t.get_text() for sub in fig.subfigs for t in sub.texts] if fig.subfigs else []
    assert len(fig.subfigs) == 2 and any("element dropout" in t for t in titles)
    assert any("SpatialDropout" in t for t in titles)
    with pytest.raises(ValueError, match="block_sizes"):
        widgets.dropblock_twin(())
