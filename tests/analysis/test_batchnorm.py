"""The variance shift through a convolution (chapter 5): computed exactly, checked against sampled masks; the direct
formula without a conv; with one, a box kernel averages element dropout's coins away but not spatial dropout's."""

import numpy as np
import pytest
import torch

from spatialdrop_edu.analysis.batchnorm import conv_variance_shift
from spatialdrop_edu.analysis.fields import gaussian_random_field
from spatialdrop_edu.checks import variance_shift


def relu_maps(n=8, c=4, size=16, length=4.0, seed=0):
    rng = np.random.default_rng(seed)
    return np.maximum(
        np.stack([[gaussian_random_field((size, size), length, rng) for _ in range(c)] for _ in range(n)]), 0
    )


@pytest.mark.parametrize("kind", ["element", "spatial"])
def test_exact_training_variance_matches_sampled_masks(kind):
    x = torch.as_tensor(relu_maps(n=4, c=3, size=10))
    w = torch.randn(2, 3, 3, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    p, draws = 0.3, 4000
    g = torch.Generator().manual_seed(2)
    shape = (draws,) + (tuple(x.shape) if kind == "element" else tuple(x.shape[:2]) + (1, 1))
    keep = torch.empty(shape, dtype=torch.float64).bernoulli_(1 - p, generator=g)
    outs = torch.nn.functional.conv2d((x * keep / (1 - p)).flatten(0, 1), w)  # (draws * N, C_out, H', W')
    sampled = outs.transpose(0, 1).reshape(2, -1).var(dim=1, unbiased=False)
    exact = conv_variance_shift(x, w, p, kind)["var_train"]
    # the sample variance over draws x samples x positions: ~1/sqrt(draws * samples) relative error for spatial coins
    assert np.allclose(sampled.numpy(), exact, rtol=0.05), (sampled, exact)


@pytest.mark.parametrize("kind", ["element", "spatial"])
def test_without_a_conv_the_ratio_is_the_direct_formula(kind):
    x = relu_maps()
    identity = torch.eye(4, dtype=torch.float64)[:, :, None, None]
    s = conv_variance_shift(x, identity, 0.3, kind)
    for c in range(4):  # per channel the formula with that channel's own moments
        want = variance_shift(0.3, float(x[:, c].mean()), float(x[:, c].var()))
        assert s["ratio"][c] == pytest.approx(want, rel=1e-12), (kind, c)
    assert s["formula"] == pytest.approx(variance_shift(0.3, float(x.mean()), float(x.var())))


def test_through_a_box_kernel_element_dropout_shifts_far_less_than_spatial_dropout():
    x = relu_maps()
    box = torch.full((2, 4, 3, 3), 1 / 36, dtype=torch.float64)
    element = conv_variance_shift(x, box, 0.3, "element")
    spatial = conv_variance_shift(x, box, 0.3, "spatial")
    assert np.all(element["ratio"] > element["formula"] + 0.2)  # the box averages the independent coins away
    assert np.all(np.abs(spatial["ratio"] - spatial["formula"]) < 0.1)  # shared coins survive the average


def test_conv_variance_shift_validates():
    with pytest.raises(ValueError, match="smaller than 1"):
        conv_variance_shift(np.ones((1, 1, 4, 4)), np.ones((1, 1, 1, 1)), 1.0)
    with pytest.raises(ValueError, match="same C"):
        conv_variance_shift(np.ones((1, 2, 4, 4)), np.ones((1, 1, 1, 1)), 0.5)
    with pytest.raises(ValueError, match="larger than the maps"):
        conv_variance_shift(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), 0.5)
    with pytest.raises(ValueError, match="kind"):
        conv_variance_shift(np.ones((1, 1, 4, 4)), np.ones((1, 1, 1, 1)), 0.5, "channel")
