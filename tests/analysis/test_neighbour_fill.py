"""Neighbour reconstruction of chapter 3: what the kept neighbours give back of a dropped pixel."""

import numpy as np
import pytest

from spatialdrop_edu.analysis import fields as F
from spatialdrop_edu.analysis.neighbour_fill import neighbour_fill, removed_fraction

from stats import binomial_fraction_bound


def test_neighbour_fill_keeps_kept_pixels_and_averages_kept_neighbours():
    x = np.arange(25.0).reshape(5, 5)
    keep = np.ones((5, 5), bool)
    keep[2, 2] = keep[2, 3] = False
    four = neighbour_fill(x, keep, 4)
    eight = neighbour_fill(x, keep, 8)
    assert np.array_equal(four[keep], x[keep])
    assert four[2, 2] == pytest.approx((7 + 17 + 11) / 3)  # right neighbour (2, 3) dropped
    assert eight[2, 2] == pytest.approx((6 + 7 + 8 + 11 + 16 + 17 + 18) / 7)
    corner = np.ones((5, 5), bool)
    corner[0, 0] = False
    assert neighbour_fill(x, corner, 4)[0, 0] == pytest.approx((1 + 5) / 2)  # nothing outside the image


def test_neighbour_fill_falls_back_to_mean_of_kept_then_zero():
    x = np.arange(9.0).reshape(3, 3) + 1
    keep = np.zeros((3, 3), bool)
    keep[2, 2] = True
    out = neighbour_fill(x, keep, 4)
    assert out[0, 0] == pytest.approx(9.0)  # no kept 4-neighbour: the mean of the kept pixels
    assert np.all(neighbour_fill(x, np.zeros((3, 3), bool)) == 0)


def test_neighbour_fill_is_exact_on_a_linear_ramp_inside():
    x = np.add.outer(np.arange(6.0), 2 * np.arange(6.0))
    keep = np.ones((6, 6), bool)
    keep[1:5:2, 1:5:2] = False  # isolated dropped pixels with all neighbours kept
    assert np.allclose(neighbour_fill(x, keep, 4), x) and np.allclose(neighbour_fill(x, keep, 8), x)


def test_removed_fraction_falls_with_correlation_length_and_is_one_for_spatial():
    rng = np.random.default_rng(1)
    removed = [removed_fraction(F.gaussian_random_field((96, 96), L, rng), 0.5, rng)["removed"] for L in (0, 2, 8)]
    assert removed[0] > 1.0 > removed[1] > removed[2]  # white noise: the fill is worse than the mean
    assert removed[2] < 0.05
    s = removed_fraction(F.gaussian_random_field((32, 32), 8.0, rng), 0.5, rng, "spatial", draws=40)
    assert s["removed"] == 1.0
    assert s["keep"].all() or not s["keep"].any()


def test_removed_fraction_drops_a_fraction_p():
    rng = np.random.default_rng(2)
    r = removed_fraction(rng.standard_normal((100, 100)), 0.3, rng)
    dropped = 1 - r["keep"].mean()
    assert abs(dropped - 0.3) < binomial_fraction_bound(0.3, 10_000)
    assert np.array_equal(r["dropped"][~r["keep"]], np.zeros(int((~r["keep"]).sum())))
    with pytest.raises(ValueError, match="above 0"):
        removed_fraction(np.ones((4, 4)), 0.0, rng)
