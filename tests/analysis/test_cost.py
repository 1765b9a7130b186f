"""Measuring what dropout costs: memory and coins counted exactly, timings through the one helper."""

import pytest
import torch

import spatialdrop_edu as sde
from spatialdrop_edu import timing
from spatialdrop_edu.analysis import cost
from spatialdrop_edu.analysis.contenders import contenders, naive_dropout


def test_extra_memory_of_a_spatial_mask_is_one_float_per_sample_and_channel():
    x = torch.ones(8, 16, 32, 32)
    assert cost.peak_extra_bytes(sde.SpatialDropout2d(0.5), x) == 8 * 16 * 4
    assert cost.peak_extra_bytes(torch.nn.Dropout2d(0.5).train(), x) == 8 * 16 * 4
    # element dropout and the naive spatial mask hold a full-size mask
    assert cost.peak_extra_bytes(sde.Dropout(0.5), x) >= x.nbytes
    assert cost.peak_extra_bytes(lambda t: naive_dropout(t, 0.5, spatial=True), x) >= x.nbytes
    assert cost.peak_extra_bytes(sde.Dropout(0.5).eval(), x) == 0


def test_extra_memory_in_backward_counts_the_saved_mask_only():
    x = torch.ones(4, 8, 16, 16)
    assert cost.peak_extra_bytes(sde.SpatialDropout2d(0.5), x, "forward+backward") < x.nbytes / 10


def test_coins_drawn_are_one_per_unit_for_element_dropout_and_one_per_map_for_spatial_dropout():
    x = torch.ones(4, 8, 6, 6)
    n, c = x.shape[:2]
    assert cost.coins_drawn(sde.Dropout(0.3), x) == cost.coins_drawn(torch.nn.Dropout(0.3).train(), x) == x.numel()
    spatial = cost.coins_drawn(sde.SpatialDropout2d(0.3), x)
    assert spatial == cost.coins_drawn(torch.nn.Dropout2d(0.3).train(), x) == n * c
    assert cost.coins_drawn(lambda t: naive_dropout(t, 0.3), x) == x.numel()
    assert cost.coins_drawn(sde.SpatialDropout2d(0.3).eval(), x) == 0
    parts = cost.dropout_parts(x, 0.3)
    assert {name: cost.coins_drawn(fn) for name, fn in parts.items()} == {
        "element coins (bernoulli_)": x.numel(),
        "element coins (rand_like)": x.numel(),
        "spatial coins (bernoulli_)": n * c,
        "full-size multiply": 0,
        "N·C multiply": 0,
    }


def test_drawing_full_size_coins_costs_more_than_drawing_one_per_map():
    parts = cost.dropout_parts(torch.randn(8, 16, 32, 32), 0.3)
    t = timing.measure(parts, rounds=6, repeats=2)
    assert t.compare("element coins (bernoulli_)", "spatial coins (bernoulli_)").verdict == "slower"


def test_layers_are_timed_through_the_helper_with_the_backward_pass():
    calls = []
    layer = lambda t: (calls.append(t.requires_grad), t * 2)[1]  # noqa: E731
    t = cost.time_layers(
        {"double": layer, "relu": torch.relu},
        torch.randn(4, 8),
        "forward+backward",
        rounds=3,
        repeats=2,
        warmup=1,
        order="alternate",
    )
    assert t.threads == 1 and t.orders == [("double", "relu"), ("relu", "double"), ("double", "relu")]
    assert len(calls) == 1 + 3 * 2 and all(calls)


def test_compare_reports_medians_ratios_intervals_and_verdicts():
    row = cost.compare("SpatialDropout1d", (4, 8, 32), rounds=3, repeats=1)
    fns, refs, skipped = contenders("SpatialDropout1d", 0.3)
    assert refs == ["torch.nn.Dropout1d"] and skipped == {} and row["fastest_reference"] in refs
    assert set(row["ms"]) == set(row["ratio"]) == set(row["interval"]) == set(row["verdict"]) == set(fns)
    fastest = row["fastest_reference"]
    assert row["ratio"][fastest] == 1.0 and row["verdict"][fastest] == "within the noise"
    assert all(low <= row["ratio"][n] <= high for n, (low, high) in row["interval"].items())
    assert row["timing"].startswith("1 thread, pinned")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="operation must be one of"):
        contenders("Dropout4d", 0.1)
    with pytest.raises(ValueError, match="mode must be one of"):
        cost.time_layers({"relu": torch.relu}, torch.ones(1), "backward")
    with pytest.raises(ValueError, match="rounds must be a positive int"):
        cost.time_layers({"relu": torch.relu}, torch.ones(1), "forward", rounds=0)
    with pytest.raises(ValueError, match="x must require grad"):
        cost.layer_call(torch.relu, torch.ones(1), "forward+backward")
