"""Both widgets, driven control by control to their extremes, plus their computations and static twins."""

import math

import numpy as np
import pytest

from spatialdrop_edu import widgets
from spatialdrop_edu.analysis.zero_counts import enumerate_zero_counts, zero_count_pmf

from helpers import seed_extremes_reproduce, titled_axes

# ----------------------------------------------------------------------------- chapter 1


def test_dropout_widget_controls_and_initial_state():
    w = widgets.dropout_widget(draws=30)
    rate, seed = w.children[0], w.children[1]
    assert (rate.description, rate.min, rate.max) == ("rate p", 0.0, 1.0)
    assert (seed.description, seed.min, seed.max) == ("seed", 0, 99)
    assert w.result["p"] == 0.5 and len(titled_axes(w.result["figure"])) == 5


def test_dropout_widget_rate_zero_is_the_identity():
    w = widgets.dropout_widget(draws=30)
    w.children[0].value = 0.0
    s = w.result
    assert s["p"] == 0.0 and s["mask"].all()
    assert np.array_equal(s["output"], s["input"])
    assert np.allclose(s["running_mean"], s["input"], rtol=0, atol=1e-12)  # a mean of identical draws
    assert np.all(s["errors"] < 1e-12)


def test_dropout_widget_rate_one_drops_everything_without_nan():
    w = widgets.dropout_widget(draws=30)
    w.children[0].value = 1.0
    s = w.result
    assert not s["mask"].any() and np.all(s["output"] == 0) and np.all(s["running_mean"] == 0)
    assert np.isfinite(s["errors"]).all() and np.isinf(s["expected_errors"]).all()
    assert len(titled_axes(s["figure"])) == 5


@pytest.mark.parametrize("seed", [0, 99])
def test_dropout_widget_seed_extremes_are_reproducible(seed):
    w = widgets.dropout_widget(draws=30)
    w.children[1].value = seed
    direct = widgets.dropout_demo(0.5, seed, draws=30)
    assert w.result["seed"] == seed and np.array_equal(w.result["mask"], direct["mask"])


def test_dropout_demo_outputs_are_zero_or_scaled_input():
    s = widgets.dropout_demo(0.25, 3, draws=50)
    x = s["input"]
    assert np.allclose(s["output"], np.where(s["mask"], x / 0.75, 0.0))
    assert s["errors"].shape == (50,) and s["expected_errors"].shape == (50,)


def test_dropout_demo_running_mean_converges_within_bound():
    # RMS error after n draws has expectation ~ expected_errors[n-1]; 5x is far in the tail
    s = widgets.dropout_demo(0.5, 1, draws=400)
    assert s["errors"][-1] < 5 * s["expected_errors"][-1]
    assert s["errors"][-1] < s["errors"][0]


def test_dropout_demo_smallest_and_custom_input():
    s = widgets.dropout_demo(0.5, 0, x=np.array([[2.0]]), draws=1)
    assert s["output"].shape == (1, 1) and s["output"][0, 0] in (0.0, 4.0)
    assert widgets.activation_map(1).shape == (1, 1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"p": 1.5, "seed": 0}, "p must be a probability"),
        ({"p": 0.5, "seed": -1}, "seed must be an int"),
        ({"p": 0.5, "seed": 0, "draws": 0}, "draws must be a positive int"),
        ({"p": 0.5, "seed": 0, "x": np.ones(3)}, "x must be a 2-D activation map"),
    ],
)
def test_dropout_demo_validates(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        widgets.dropout_demo(**kwargs)


def input_image(fig):
    ax = next(ax for ax in fig.axes if ax.get_title().startswith("input x"))
    return ax.images[0]


@pytest.mark.parametrize("rate", [0.0, 0.5, 0.9, 1.0])
def test_dropout_widget_input_panel_has_its_own_colour_scale(rate):
    """At high rates the output's scale is 1/(1-p) times the input's: sharing it made the input look uniformly dark."""
    w = widgets.dropout_widget(draws=20)
    w.children[0].value = rate
    x = w.result["input"]
    vmin, vmax = input_image(w.result["figure"]).get_clim()
    assert (vmin, vmax) == (0.0, pytest.approx(float(x.max())))


def labelled_y_ticks(ax):
    ax.figure.canvas.draw()
    low, high = ax.get_ylim()
    ticks = list(zip(ax.get_yticks(), ax.get_yticklabels())) + list(
        zip(ax.get_yticks(minor=True), ax.get_yticklabels(minor=True))
    )
    return [label.get_text() for value, label in ticks if label.get_text() and low <= value <= high]


@pytest.mark.parametrize("rate", [0.05, 0.5, 0.9, 0.95])
def test_dropout_widget_error_axis_labels_do_not_crowd(rate):
    w = widgets.dropout_widget(draws=200)
    w.children[0].value = rate
    ax = next(ax for ax in w.result["figure"].axes if ax.get_title() == "running mean → input")
    labels = labelled_y_ticks(ax)
    assert 1 <= len(labels) <= 6, labels
    assert all(not label.get_text() for label in ax.get_yticklabels(minor=True))


def test_dropout_twin_error_axes_are_tidy():
    fig = widgets.dropout_twin(rates=(0.9,), draws=200)
    ax = next(ax for ax in fig.axes if ax.get_xlabel() == "number of draws averaged")
    assert ax.get_yscale() == "log" and 1 <= len(labelled_y_ticks(ax)) <= 6


@pytest.mark.parametrize("rho", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("n", [1, 9, 40])
def test_average_after_dropout_variance_matches_the_formula(n, rho):
    a, p, draws = 2.0, 0.3, 40_000
    y = widgets.average_after_dropout(a, p, n, rho, draws, np.random.default_rng(100 + n))
    formula = a * a * p / (1 - p) * (1 + (n - 1) * rho) / n
    assert abs(y.mean() - a) < 5 * math.sqrt(formula / draws)
    m4 = float(np.mean((y - y.mean()) ** 4))
    se = math.sqrt(max(m4 - y.var() ** 2, 0.0) / draws)  # standard error of the sample variance
    assert abs(y.var() - formula) < 5 * se + 1e-12


def test_average_after_dropout_shared_coin_and_validation():
    y = widgets.average_after_dropout(1.0, 0.5, 9, 1.0, 500, np.random.default_rng(0))
    assert set(np.unique(y).tolist()) == {0.0, 2.0}
    assert np.all(widgets.average_after_dropout(3.0, 0.0, 4, 0.5, 10, np.random.default_rng(0)) == 3.0)
    with pytest.raises(ValueError, match="p must be below 1"):
        widgets.average_after_dropout(1.0, 1.0, 9, 0.0, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rho must be a correlation"):
        widgets.average_after_dropout(1.0, 0.5, 9, 1.5, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n must be a positive int"):
        widgets.average_after_dropout(1.0, 0.5, 0, 0.5, 10, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be"):
        widgets.average_after_dropout(1.0, 0.5, 9, 0.5, 10, 0)


def test_dropout_twin_has_one_row_per_rate():
    fig = widgets.dropout_twin(rates=(0.0, 0.5, 1.0), draws=20)
    assert len(titled_axes(fig)) >= 3 * 3
    assert {ax.get_title() for ax in fig.axes} >= {"p = 0.00: mask (× = dropped)", "p = 1.00: mask (× = dropped)"}
    with pytest.raises(ValueError, match="rates"):
        widgets.dropout_twin(rates=())


# ----------------------------------------------------------------------------- chapter 2


def controls(w):
    return dict(zip(["input_shape", "layer", "custom", "data_format", "rate", "seed"], w.children[:6]))


def test_noise_shape_widget_controls():
    c = controls(widgets.noise_shape_widget(draws=20))
    assert tuple(c["layer"].options) == widgets.LAYER_CHOICES
    assert tuple(c["data_format"].options) == ("channels_first", "channels_last")
    assert (c["rate"].min, c["rate"].max, c["seed"].min, c["seed"].max) == (0.0, 1.0, 0, 99)


LAYER_CASES = [
    # input shape, layer, data format, expected noise shape
    ("2, 4, 5, 5", "Dropout", "channels_first", (2, 4, 5, 5)),
    ("2, 4, 5, 5", "Dropout", "channels_last", (2, 4, 5, 5)),
    ("2, 4, 6", "SpatialDropout1D", "channels_first", (2, 4, 1)),
    ("2, 6, 4", "SpatialDropout1D", "channels_last", (2, 1, 4)),
    ("2, 4, 5, 5", "SpatialDropout2D", "channels_first", (2, 4, 1, 1)),
    ("2, 5, 5, 4", "SpatialDropout2D", "channels_last", (2, 1, 1, 4)),
    ("2, 3, 2, 4, 4", "SpatialDropout3D", "channels_first", (2, 3, 1, 1, 1)),
    ("2, 2, 4, 4, 3", "SpatialDropout3D", "channels_last", (2, 1, 1, 1, 3)),
]


@pytest.mark.parametrize("shape, layer, fmt, expected", LAYER_CASES)
def test_noise_shape_widget_every_layer_and_format(shape, layer, fmt, expected):
    w = widgets.noise_shape_widget(shape, draws=20)
    c = controls(w)
    c["data_format"].value = fmt
    c["layer"].value = layer
    s = w.result
    assert "error" not in s, s
    assert s["noise_shape"] == expected and s["flips"] == math.prod(expected)
    channels = expected[1] if fmt == "channels_first" else expected[-1]
    if layer == "Dropout":
        channels = s["input_shape"][1] if fmt == "channels_first" else s["input_shape"][-1]
    assert s["maps"].shape[0] == channels
    # the mask is constant along every axis where the noise shape is 1
    for axis, size in enumerate(expected):
        if size == 1:
            assert np.all(s["mask"] == np.take(s["mask"], [0], axis=axis))
    # zero counts are multiples of units per flip, and the histogram's bars sum to 1
    per_flip = s["units"] // s["flips"]
    assert np.all(s["zero_counts"] % per_flip == 0)
    fig = s["figure"]
    hist = fig.axes[-1]
    assert hist.get_xlabel() == "number of zeroed units"
    assert sum(p.get_height() for p in hist.patches) == pytest.approx(1.0)
    assert len(fig.axes) == min(channels, 6) + 1


def test_noise_shape_widget_rate_extremes():
    w = widgets.noise_shape_widget("2, 4, 5, 5", draws=20)
    c = controls(w)
    c["rate"].value = 0.0
    s = w.result
    assert s["mask"].all() and np.all(s["zero_counts"] == 0)
    assert s["probabilities"][0] == 1.0
    c["rate"].value = 1.0
    s = w.result
    assert not s["mask"].any() and np.all(s["zero_counts"] == s["units"])
    assert s["probabilities"][-1] == 1.0


def test_noise_shape_widget_seed_extremes_change_the_mask_reproducibly():
    w = widgets.noise_shape_widget("4, 8, 3, 3", draws=20)
    seed_extremes_reproduce(w, controls(w)["seed"], "mask")


def test_noise_shape_widget_smallest_and_largest_shapes():
    w = widgets.noise_shape_widget(draws=20)
    c = controls(w)
    c["layer"].value = "Dropout"
    c["input_shape"].value = "1, 1"
    s = w.result
    assert s["units"] == 1 and s["maps"].shape == (1, 1, 1) and set(s["zero_counts"].tolist()) <= {0, 1}
    largest = f"1, 2, 10, 10, {widgets.MAX_UNITS // 200}"
    c["layer"].value = "SpatialDropout3D"
    c["input_shape"].value = largest
    s = w.result
    assert s["units"] == widgets.MAX_UNITS and s["noise_shape"] == (1, 2, 1, 1, 1) and s["depth"] == 10
    assert set(s["zero_counts"].tolist()) <= {0, widgets.MAX_UNITS // 2, widgets.MAX_UNITS}
    c["input_shape"].value = f"1, 2, 10, 10, {widgets.MAX_UNITS // 200 + 1}"
    assert "between 1 and" in w.result["error"]


def test_noise_shape_widget_custom_noise_shape():
    w = widgets.noise_shape_widget("2, 4, 5, 5", draws=20)
    c = controls(w)
    c["layer"].value = "custom"
    assert w.result["noise_shape"] == (2, 4, 1, 1)  # default "None, None, 1, 1"
    c["custom"].value = "2, 1, 5, 5"
    s = w.result
    assert s["noise_shape"] == (2, 1, 5, 5) and np.all(s["mask"] == s["mask"][:, :1])
    c["custom"].value = "2, 3, 5, 5"
    assert "cannot broadcast" in w.result["error"]
    c["custom"].value = "two, 1"
    assert "could not read 'two'" in w.result["error"]


@pytest.mark.parametrize(
    "shape, layer, fmt, fragment",
    [
        ("2, 4, 5", "SpatialDropout2D", "channels_first", "needs a batched input with 4 axes"),
        ("2, 4, 5, 5", "SpatialDropout1D", "channels_first", "needs a batched input with 3 axes"),
        ("4, 6", "SpatialDropout1D", "channels_last", "needs a batched input with 3 axes"),
        ("3", "Dropout", "channels_first", "2 to 5 axes"),
        ("1, 1, 1, 1, 1, 1", "Dropout", "channels_first", "2 to 5 axes"),
        ("2, 0, 3", "Dropout", "channels_first", "between 1 and"),
        ("2; 3", "Dropout", "channels_first", "could not read"),
    ],
)
def test_noise_shape_widget_invalid_choices_explain_themselves(shape, layer, fmt, fragment, capsys):
    w = widgets.noise_shape_widget(draws=20)
    c = controls(w)
    c["layer"].value = layer
    c["data_format"].value = fmt
    c["input_shape"].value = shape
    assert fragment in w.result["error"]


def test_noise_shape_widget_non_ascii_digit_gets_the_package_message():
    """'2²'.isdigit() is True but int('2²') fails: the widget must say what it accepts, not Python's int() wording."""
    w = widgets.noise_shape_widget(draws=20)
    c = controls(w)
    c["input_shape"].value = "2²"
    message = w.result["error"]
    assert "input_shape must be comma-separated non-negative ints" in message and "'2²'" in message
    assert "invalid literal" not in message
    c["input_shape"].value = "2, 3, 4, 5"
    c["layer"].value = "custom"
    c["custom"].value = "2, 1, ４, 5"  # a full-width digit in the custom noise shape
    message = w.result["error"]
    assert "custom must be comma-separated non-negative ints or None" in message and "invalid literal" not in message


def test_noise_shape_widget_default_sizes_are_all_different():
    """Every size differs, so the noise shape shows which axis is the channel."""
    w = widgets.noise_shape_widget(draws=20)
    s = w.result
    assert s["input_shape"] == (2, 3, 4, 5) and len(set(s["input_shape"])) == 4
    assert s["noise_shape"] == (2, 3, 1, 1)
    controls(w)["data_format"].value = "channels_last"
    assert w.result["noise_shape"] == (2, 1, 1, 5)


def test_noise_shape_twin_default_rows():
    fig = widgets.noise_shape_twin(draws=20)
    titles = [ax.get_title() for ax in fig.axes]
    assert "noise shape (2, 3, 4, 5): 120 flips" in titles
    assert "noise shape (2, 3, 1, 1): 6 flips" in titles
    assert "noise shape (2, 1, 4, 5): 40 flips" in titles
    assert len(fig.axes) == 3 * (3 + 1)


def test_noise_shape_demo_matches_the_worked_example():
    s = widgets.noise_shape_demo((2, 2, 2), "custom", custom=(1, 2, 2), p=0.5, draws=2000)
    assert s["counts"].tolist() == list(enumerate_zero_counts((2, 2, 2), (1, 2, 2)))
    counts, probs = zero_count_pmf((2, 2, 2), (1, 2, 2), 0.5)
    for c, q in zip(counts, probs):
        freq = float((s["zero_counts"] == c).mean())
        assert abs(freq - q) < 5 * math.sqrt(q * (1 - q) / 2000)


def test_choice_noise_shape_validates():
    with pytest.raises(ValueError, match="layer must be one of"):
        widgets.choice_noise_shape((2, 3, 4), "SpatialDropout4D")
    with pytest.raises(ValueError, match="custom must be a noise shape"):
        widgets.choice_noise_shape((2, 3, 4), "custom")
    assert widgets.choice_noise_shape((8, 50, 300), "custom", custom=(None, None, 1)) == (8, 50, 1)


def test_parse_shape():
    assert widgets.parse_shape("[2, 3]") == (2, 3)
    assert widgets.parse_shape((2, 3)) == (2, 3)
    assert widgets.parse_shape("None, 1", "noise_shape", allow_none=True) == (None, 1)
    with pytest.raises(ValueError, match="input_shape must be comma-separated non-negative ints"):
        widgets.parse_shape("None, 1")


def test_noise_shape_twin_rows():
    fig = widgets.noise_shape_twin((2, 4, 5, 5), draws=20)
    titles = [ax.get_title() for ax in fig.axes]
    assert "noise shape (2, 4, 5, 5): 200 flips" in titles
    assert "noise shape (2, 4, 1, 1): 8 flips" in titles
    assert "noise shape (2, 1, 5, 5): 50 flips" in titles
    assert len(fig.axes) == 3 * (4 + 1)
