"""The variance shift through a convolution (chapter 5): the direct formula holds without a conv; with one it depends
on the kernel for element dropout, not for spatial dropout on a single input channel."""

import numpy as np
import pytest
import torch

from spatialdrop_edu.analysis.batchnorm import conv_variance_shift
from spatialdrop_edu.analysis.fields import gaussian_random_field
from spatialdrop_edu.checks import variance_shift


def relu_maps(n=8, c=4, size=24, length=4.0, seed=0):
    rng = np.random.default_rng(seed)
    return np.maximum(np.stack([[gaussian_random_field((size, size), length, rng) for _ in range(c)]
                                for _ in range(n)]), 0)


@pytest.mark.parametrize("kind", ["element", "spatial"])
def test_without_a_conv_the_ratio_is_the_direct_formula(kind):
    x = relu_maps()
    identity = torch.eye(4, dtype=torch.float64)[:, :, None, None]
    s = conv_variance_shift(x, identity, 0.3, kind, draws=400, generator=torch.Generator().manual_seed(0))
    # per channel the formula with that channel's own moments
    for c in range(4):
        want = variance_shift(0.3, float(x[:, c].mean()), float(x[:, c].var()))
        tol = 0.03 if kind == "element" else 0.12      # spatial: 400 draws x 8 samples of one coin per map
        assert s["ratio"][c] == pytest.approx(want, abs=tol), (kind, c)
    assert s["formula"] == pytest.approx(variance_shift(0.3, float(x.mean()), float(x.var())))


def test_through_a_box_kernel_element_dropout_shifts_far_less_than_the_formula_says():
    x = relu_maps()
    box = torch.full((2, 4, 3, 3), 1 / 36, dtype=torch.float64)
    element = conv_variance_shift(x, box, 0.3, "element", draws=64, generator=torch.Generator().manual_seed(1))
    spatial = conv_variance_shift(x, box, 0.3, "spatial", draws=400, generator=torch.Generator().manual_seed(2))
    assert np.all(element["ratio"] > element["formula"] + 0.2)          # the box averages the independent coins away
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
