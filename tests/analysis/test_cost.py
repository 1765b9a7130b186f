"""Measuring what dropout costs: memory measured exactly, timings interleaved, references named."""

import pytest
import torch

import spatialdrop_edu as sde
from spatialdrop_edu.analysis import cost


def test_extra_memory_of_a_spatial_mask_is_one_float_per_sample_and_channel():
    x = torch.ones(8, 16, 32, 32)
    assert cost.peak_extra_bytes(sde.SpatialDropout2d(0.5), x) == 8 * 16 * 4
    assert cost.peak_extra_bytes(torch.nn.Dropout2d(0.5).train(), x) == 8 * 16 * 4
    # element dropout and the naive spatial mask hold a full-size mask
    assert cost.peak_extra_bytes(sde.Dropout(0.5), x) >= x.nbytes
    assert cost.peak_extra_bytes(lambda t: cost.naive_dropout(t, 0.5, spatial=True), x) >= x.nbytes
    assert cost.peak_extra_bytes(sde.Dropout(0.5).eval(), x) == 0


def test_extra_memory_in_backward_counts_the_saved_mask_only():
    x = torch.ones(4, 8, 16, 16)
    assert cost.peak_extra_bytes(sde.SpatialDropout2d(0.5), x, "forward+backward") < x.nbytes / 10


def test_paper_dropblock_zeroes_whole_blocks_and_keeps_the_mean():
    torch.manual_seed(0)
    x = torch.ones(8, 4, 20, 20)
    y = cost.dropblock_paper(x, 0.2, block_size=3)
    dropped = (y == 0).float()
    # every zero lies in a 3x3 block of zeros: eroding then dilating the zero mask gives it back
    eroded = -torch.nn.functional.max_pool2d(-dropped, 3, 1, 1)
    opened = torch.nn.functional.max_pool2d(eroded, 3, 1, 1)
    assert torch.equal(opened * dropped, dropped) and dropped.any()
    assert abs(float(y.mean()) - 1.0) < 1e-5  # rescaled by count / count_ones over the whole batch


def test_interleaved_timing_gives_one_time_per_round_and_the_reference_ratio_is_one():
    fns, refs, skipped = cost.contenders("SpatialDropout1d", 0.3)
    assert refs == ["torch.nn.Dropout1d"] and skipped == {}
    times = cost.time_interleaved(fns, torch.randn(4, 8, 32), "forward", rounds=3, warmup=0)
    assert {k: len(v) for k, v in times.items()} == {name: 3 for name in fns}
    row = cost.compare("SpatialDropout1d", (4, 8, 32), rounds=3)
    assert row["ratio"][row["fastest_reference"]] == 1.0 and row["fastest_reference"] in refs


def test_dropblock_references_are_compared_or_skipped_with_a_reason():
    fns, refs, skipped = cost.contenders("DropBlock2d", 0.1)
    assert "paper (Algorithm 1)" in refs
    for name in ("torchvision", "timm"):
        assert (name in refs) != (name in skipped)
        if name in skipped:
            assert skipped[name]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="operation must be one of"):
        cost.contenders("Dropout4d", 0.1)
    with pytest.raises(ValueError, match="mode must be one of"):
        cost.time_interleaved({}, torch.ones(1), "backward", 1)
    with pytest.raises(ValueError, match="rounds must be a positive int"):
        cost.time_interleaved({}, torch.ones(1), "forward", 0)
