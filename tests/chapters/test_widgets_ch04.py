"""Chapter 4's widget, driven control by control to its extremes, plus its computation and static twin."""

import numpy as np
import pytest
import torch

from spatialdrop_edu import widgets
from spatialdrop_edu.widgets.ch04_spatial_dropout import WIDGET_PHOTOS


@pytest.fixture(scope="module")
def widget():
    return widgets.feature_map_dropout_widget(channels=4, size=24)


def test_controls_and_initial_state(widget):
    rate, seed, photo = widget.children[:3]
    assert (rate.description, rate.min, rate.max, rate.value) == ("rate p", 0.0, 1.0, 0.5)
    assert (seed.description, seed.min, seed.max) == ("seed", 0, 99)
    assert photo.options == WIDGET_PHOTOS and photo.value == "camera"
    s = widget.result
    assert s["features"].shape[0] == 4 and len(s["figure"].axes) == 3 * (4 + 1)


def test_rate_zero_keeps_everything(widget):
    widget.children[0].value = 0.0
    s = widget.result
    assert s["element_mask"].all() and s["spatial_mask"].all()
    assert np.array_equal(s["spatial_output"], s["features"]) and s["spatial_dropped_channels"] == []


def test_rate_one_drops_everything_without_nan(widget):
    widget.children[0].value = 1.0
    s = widget.result
    assert not s["element_mask"].any() and not s["spatial_mask"].any()
    assert np.all(s["element_output"] == 0) and np.isfinite(s["spatial_output"]).all()
    assert s["spatial_dropped"] == 1.0 and s["spatial_dropped_channels"] == [0, 1, 2, 3]
    widget.children[0].value = 0.5


@pytest.mark.parametrize("seed", [0, 99])
def test_seed_extremes_are_reproducible_and_match_torch(widget, seed):
    # the rate this test's masks are drawn at: xdist may hand the rate tests to the same worker first
    widget.children[0].value = 0.5
    widget.children[1].value = seed
    s = widget.result
    direct = widgets.feature_map_dropout_demo(0.5, seed, "camera", channels=4, size=24)
    assert np.array_equal(s["spatial_mask"], direct["spatial_mask"])
    # the spatial mask is the one torch.nn.Dropout2d draws under this seed (CPU)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        y = torch.nn.Dropout2d(0.5)(torch.ones(1, *s["features"].shape))
    assert np.array_equal(y[0].numpy() != 0, s["spatial_mask"])


@pytest.mark.parametrize("photo", WIDGET_PHOTOS)
def test_every_photo(widget, photo):
    widget.children[2].value = photo
    s = widget.result
    assert s["photo"] == photo and max(s["image"].shape) == 24 and s["image"].shape == s["features"].shape[1:]


def test_masks_have_the_right_structure_and_rate():
    s = widgets.feature_map_dropout_demo(0.3, 5, channels=8, size=64)
    sm, em = s["spatial_mask"], s["element_mask"]
    assert (sm == sm[:, :1, :1]).all()
    assert not (em == em[:, :1, :1]).all()
    n = em.size
    assert abs(s["element_dropped"] - 0.3) < 5 * np.sqrt(0.3 * 0.7 / n)
    kept = em & (s["features"] > 0)
    assert np.allclose(s["element_output"][kept], s["features"][kept] / 0.7)


def test_demo_validates():
    with pytest.raises(ValueError, match="p must be"):
        widgets.feature_map_dropout_demo(1.5)
    with pytest.raises(ValueError, match="photo must be one of"):
        widgets.feature_map_dropout_demo(0.5, 0, "moon")
    with pytest.raises(ValueError, match="seed"):
        widgets.feature_map_dropout_demo(0.5, -1)


def test_widget_reports_invalid_state_instead_of_crashing(capsys, monkeypatch):
    w = widgets.feature_map_dropout_widget(channels=2, size=16)
    import spatialdrop_edu.widgets.ch04_spatial_dropout as mod

    def broken(*args, **kwargs):
        raise ValueError("no photo")

    monkeypatch.setattr(mod, "feature_map_dropout_demo", broken)
    w.children[1].value = 3
    assert w.result == {"error": "no photo"} and "Cannot draw this choice: no photo" in capsys.readouterr().out


def test_twin_has_features_then_two_rows_per_rate():
    fig = widgets.feature_map_dropout_twin((0.2, 0.5, 0.8), seed=1, channels=3, size=16)
    assert len(fig.axes) == (1 + 2 * 3) * (3 + 1)
    with pytest.raises(ValueError, match="rates"):
        widgets.feature_map_dropout_twin(())
