"""Figure helpers: the right panels, labels, markers and counts, and clear errors on bad input."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from spatialdrop_edu import plotting


@pytest.mark.parametrize(
    "shape, fmt, expected",
    [
        ((3,), "channels_first", (3, 1, 1)),
        ((3, 7), "channels_first", (3, 1, 7)),
        ((7, 3), "channels_last", (3, 1, 7)),
        ((3, 4, 5), "channels_first", (3, 4, 5)),
        ((4, 5, 3), "channels_last", (3, 4, 5)),
        ((3, 2, 4, 5), "channels_first", (3, 8, 5)),
        ((2, 4, 5, 3), "channels_last", (3, 8, 5)),
    ],
)
def test_channel_maps_shapes(shape, fmt, expected):
    arr = np.arange(np.prod(shape)).reshape(shape)
    maps = plotting.channel_maps(arr, fmt)
    assert maps.shape == expected
    # channel 0's values are exactly the input's channel 0
    first = arr[0] if fmt == "channels_first" else arr[..., 0]
    assert sorted(maps[0].ravel().tolist()) == sorted(np.ravel(first).tolist())


def test_channel_maps_rejects_bad_input():
    with pytest.raises(ValueError, match="mask must be one sample"):
        plotting.channel_maps(np.ones((1, 2, 3, 4, 5)))
    with pytest.raises(ValueError, match="data_format"):
        plotting.channel_maps(np.ones((2, 3)), "NCHW")


def test_plot_channel_masks_marks_each_dropped_unit():
    keep = np.array([[[True, False, True]], [[False, False, True]]])
    fig = plotting.plot_channel_masks(keep)
    assert len(fig.axes) == 2
    marks = [sum(t.get_text() == plotting.DROP_MARK for t in ax.texts) for ax in fig.axes]
    assert marks == [1, 2]
    assert [ax.get_xlabel() for ax in fig.axes] == ["2/3 kept", "1/3 kept"]
    assert [ax.get_title() for ax in fig.axes] == ["channel 0", "channel 1"]


def test_plot_channel_masks_caps_channels_and_says_so():
    fig = plotting.plot_channel_masks(np.ones((12, 2, 2), dtype=bool), max_channels=4)
    assert len(fig.axes) == 4
    assert "first 4 of 12 channels" in fig._suptitle.get_text()


def test_plot_channel_masks_validates():
    with pytest.raises(ValueError, match="boolean array"):
        plotting.plot_channel_masks(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="labels must have one entry per channel"):
        plotting.plot_channel_masks(np.ones((2, 2, 2), dtype=bool), labels=["a"])
    with pytest.raises(ValueError, match="max_channels"):
        plotting.plot_channel_masks(np.ones((2, 2, 2), dtype=bool), max_channels=0)
    with pytest.raises(ValueError, match="values must have the shape"):
        plotting.plot_channel_masks(np.ones((2, 2, 2), dtype=bool), values=np.ones((2, 2)))


def test_histogram_bars_are_frequencies_and_markers_are_exact():
    observed = np.array([0, 2, 2, 4, 2, 0, 2, 4])
    counts, probs = np.array([0, 2, 4]), np.array([0.25, 0.5, 0.25])
    fig = plotting.plot_zero_count_histogram(observed, counts, probs)
    ax = fig.axes[0]
    heights = sorted(p.get_height() for p in ax.patches)
    assert heights == pytest.approx([0.25, 0.25, 0.5]) and sum(heights) == pytest.approx(1.0)
    (line,) = ax.lines
    assert line.get_marker() == "o" and line.get_ydata().tolist() == probs.tolist()
    assert ax.get_xlabel() == "number of zeroed units" and ax.get_ylabel() == "probability"


def test_histogram_validates():
    with pytest.raises(ValueError, match="observed"):
        plotting.plot_zero_count_histogram(np.array([]), np.array([0]), np.array([1.0]))
    with pytest.raises(ValueError, match="counts and probabilities"):
        plotting.plot_zero_count_histogram(np.array([0]), np.array([0, 1]), np.array([1.0]))


def test_running_mean_error_plot_is_log_log_with_reference():
    errors = 1 / np.sqrt(np.arange(1, 51))
    fig = plotting.plot_running_mean_error(errors, reference=errors * 1.1)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log" and len(ax.lines) == 2
    with pytest.raises(ValueError, match="reference must have the shape"):
        plotting.plot_running_mean_error(errors, reference=errors[:3])


def test_heatmap_signed_uses_diverging_symmetric_map():
    fig, ax = plt.subplots()
    im = plotting.plot_heatmap(ax, np.array([[-1.0, 3.0]]), title="t", signed=True, colorbar=False)
    assert im.get_cmap().name == plotting.SIGNED_CMAP
    assert im.get_clim() == (-3.0, 3.0)
    im = plotting.plot_heatmap(ax, np.array([[0.0, 1.0]]), title="t", marks=np.array([[True, False]]), colorbar=False)
    assert im.get_cmap().name == plotting.VALUE_CMAP
    assert sum(t.get_text() == plotting.DROP_MARK for t in ax.texts) == 1
