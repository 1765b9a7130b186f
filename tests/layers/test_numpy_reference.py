"""The NumPy reference: both conventions, noise shapes, statistics, and bad input."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spatialdrop_edu import keep_mask, numpy_dropout

from stats import binomial_fraction_bound, inverted_mean_bound

rates = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0])


@given(rates, st.integers(0, 2**32 - 1))
def test_inverted_training_scales_kept_units_and_zeros_dropped_ones(p, seed):
    x = np.random.default_rng(seed).normal(size=(3, 4, 5))
    y, mask = numpy_dropout(x, p, np.random.default_rng(seed), return_mask=True)
    assert mask.shape == x.shape and mask.dtype == bool
    if p == 1.0:
        assert not mask.any() and np.all(y == 0)
    else:
        np.testing.assert_allclose(y[mask], x[mask] / (1 - p))
        assert np.all(y[~mask] == 0)


@given(rates, st.integers(0, 2**32 - 1))
def test_original_convention_trains_unscaled_and_scales_at_inference(p, seed):
    x = np.random.default_rng(seed).normal(size=(6, 7))
    y, mask = numpy_dropout(x, p, np.random.default_rng(seed), convention="original", return_mask=True)
    np.testing.assert_array_equal(y, np.where(mask, x, 0.0))
    np.testing.assert_allclose(
        numpy_dropout(x, p, np.random.default_rng(0), training=False, convention="original"), x * (1 - p)
    )


def test_inverted_inference_is_the_identity():
    x = np.arange(6.0)
    out, mask = numpy_dropout(x, 0.7, np.random.default_rng(0), training=False, return_mask=True)
    np.testing.assert_array_equal(out, x)
    assert mask is None


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("convention", ["inverted", "original"])
def test_both_conventions_keep_the_expected_activation(p, convention):
    n = 200_000
    rng = np.random.default_rng(1)
    train = numpy_dropout(np.ones(n), p, rng, convention=convention)
    test = numpy_dropout(np.ones(n), p, rng, convention=convention, training=False)
    # The expected train output equals the inference output: 1 (inverted) or 1 - p (original).
    scale = 1.0 if convention == "inverted" else (1 - p)
    assert abs(train.mean() / scale - test.mean() / scale) <= inverted_mean_bound(p, n)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_drop_fraction_of_a_noise_shaped_mask_counts_coins_not_units(p):
    # 4000 x 50 units but only 4000 coins: the bound must use the number of coins.
    mask = keep_mask((4000, 50), p, np.random.default_rng(2), noise_shape=(4000, 1))
    assert np.all(mask == mask[:, :1])
    assert abs((~mask[:, 0]).mean() - p) <= binomial_fraction_bound(p, 4000)


def test_p1_gives_zeros_never_nan_even_for_infinite_input():
    y = numpy_dropout(np.array([1.0, np.inf, -np.inf]), 1.0, np.random.default_rng(0))
    assert np.all(y == 0) and not np.isnan(y).any()


def test_integer_input_is_promoted_to_float():
    y = numpy_dropout(np.ones(4, dtype=int), 0.0, np.random.default_rng(0))
    assert y.dtype == np.float64


def test_same_generator_state_same_mask():
    a = keep_mask((10, 10), 0.5, np.random.default_rng(42))
    b = keep_mask((10, 10), 0.5, np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(p=1.5), ValueError, r"p must be a probability in \[0, 1\].*got 1.5"),
        (dict(p=-0.1), ValueError, r"p must be a probability in \[0, 1\]"),
        (dict(p=math.nan), ValueError, r"p must be a probability in \[0, 1\].*nan"),
        (dict(p="0.5"), TypeError, r"p must be a real number in \[0, 1\].*got '0.5' of type str"),
        (dict(p=True), TypeError, r"p must be a real number"),
        (dict(rng=np.random.RandomState(0)), TypeError, r"rng must be a numpy.random.Generator"),
        (dict(rng=0), TypeError, r"rng must be a numpy.random.Generator"),
        (dict(convention="tompson"), ValueError, r"convention must be one of 'inverted', 'original', got 'tompson'"),
        (dict(noise_shape=(3, 3)), ValueError, r"noise_shape \(3, 3\) cannot broadcast"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, error, message):
    args = dict(x=np.ones((2, 3)), p=0.5, rng=np.random.default_rng(0)) | kwargs
    with pytest.raises(error, match=message):
        numpy_dropout(**args)


def test_p_one_never_divides_by_zero_even_with_warnings_as_errors():
    """The p == 1 branch exists so that 1/(1-p) is never computed; np.where would evaluate it (and warn) otherwise."""
    import warnings

    x = np.array([1.0, -2.0, np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for convention in ("inverted", "original"):
            out = numpy_dropout(x, 1.0, np.random.default_rng(0), convention=convention)
            assert np.array_equal(out, np.zeros(3))


def test_dtypes_float_kept_and_ints_made_float64():
    rng = np.random.default_rng(0)
    for convention in ("inverted", "original"):
        assert numpy_dropout(np.ones(8, dtype=np.float32), 0.5, rng, convention=convention).dtype == np.float32
        assert numpy_dropout(np.ones(8, dtype=np.int64), 0.5, rng, convention=convention).dtype == np.float64
        assert numpy_dropout(np.ones(8, dtype=np.float32), 1.0, rng, convention=convention).dtype == np.float32
