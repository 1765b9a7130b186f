"""Chapter 3's widget, driven control by control to its extremes, plus its computation and static twin."""

import numpy as np
import pytest

from spatialdrop_edu import widgets

from helpers import titled_axes


def test_widget_controls_and_initial_state():
    w = widgets.reconstruction_widget(size=32)
    length, rate, seed = w.children[:3]
    assert (length.description, length.min, length.max) == ("length (px)", 0.0, 16.0)
    assert (rate.description, rate.min, rate.max) == ("rate p", 0.05, 1.0)
    assert (seed.description, seed.min, seed.max) == ("seed", 0, 99)
    s = w.result
    assert s["length"] == 4.0 and s["p"] == 0.5 and len(titled_axes(s["figure"])) == 4


def test_length_extremes_white_noise_cannot_be_filled_smooth_field_can():
    w = widgets.reconstruction_widget(size=48)
    w.children[0].value = 0.0
    white = w.result["removed"]
    w.children[0].value = 16.0
    smooth = w.result["removed"]
    assert white > 0.9 and smooth < 0.05
    assert w.result["measured_length"] > 8 and w.result["removed_spatial"] == 1.0


def test_rate_extremes():
    w = widgets.reconstruction_widget(size=32)
    w.children[1].value = 1.0
    s = w.result
    assert not s["keep"].any() and np.all(s["dropped"] == 0) and np.all(s["filled"] == 0)
    assert s["removed"] == pytest.approx(1.0)  # nothing left: the fill is the mean, 0
    w.children[1].value = 0.05
    s = w.result
    assert np.array_equal(s["filled"][s["keep"]], s["field"][s["keep"]])
    assert 0 < (~s["keep"]).sum() < s["keep"].size


@pytest.mark.parametrize("seed", [0, 99])
def test_seed_extremes_are_reproducible(seed):
    w = widgets.reconstruction_widget(size=32)
    w.children[2].value = seed
    direct = widgets.reconstruction_demo(4.0, 0.5, seed, size=32)
    assert np.array_equal(w.result["keep"], direct["keep"]) and np.array_equal(w.result["field"], direct["field"])


def test_demo_state_is_consistent():
    s = widgets.reconstruction_demo(3.0, 0.4, 7, size=40, neighbours=4)
    assert np.allclose(s["error"], s["filled"] - s["field"])
    assert np.array_equal(s["dropped"], np.where(s["keep"], s["field"], 0.0))
    err = (s["error"][~s["keep"]] ** 2).sum() / (s["field"][~s["keep"]] ** 2).sum()
    assert s["removed"] == pytest.approx(err)


def test_demo_rejects_bad_arguments_and_widget_reports_them():
    with pytest.raises(ValueError, match="size"):
        widgets.reconstruction_demo(2.0, 0.5, 0, size=4)
    with pytest.raises(ValueError, match="above 0"):
        widgets.reconstruction_demo(2.0, 0.0, 0)


def test_widget_prints_and_returns_error_for_invalid_input(capsys):
    w = widgets.reconstruction_widget(size=32)
    w.children[1].min = 0.0
    w.children[1].value = 0.0
    assert "error" in w.result and "above 0" in w.result["error"]


def test_twin_has_one_row_per_case():
    fig = widgets.reconstruction_twin(cases=((0.0, 0.3), (8.0, 0.3), (8.0, 0.9)), size=32)
    assert len(titled_axes(fig)) == 12 and len(fig.states) == 3
    removed = [s["removed"] for s in fig.states]
    assert removed[0] > removed[1]
    with pytest.raises(ValueError, match="at least one"):
        widgets.reconstruction_twin(cases=())
