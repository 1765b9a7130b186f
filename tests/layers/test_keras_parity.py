"""Channels-last semantics equal Keras' SpatialDropout1D/2D/3D, run for real on the PyTorch backend."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from spatialdrop_edu import (  # noqa: E402
    Dropout,
    SpatialDropout1d,
    SpatialDropout2d,
    SpatialDropout3d,
    coin_flips,
    layer_mask,
    noise_shape,
    resolve_noise_shape,
)
from spatialdrop_edu.analysis.layer_table import measure_noise_shape  # noqa: E402

from stats import binomial_fraction_bound  # noqa: E402

CASES = [
    # (keras layer, our layer, data_format, input shape)
    (lambda p, s=None: keras.layers.SpatialDropout1D(p, seed=s), SpatialDropout1d, "channels_last", (16, 7, 12)),
    (
        lambda p, s=None: keras.layers.SpatialDropout2D(p, data_format="channels_last", seed=s),
        SpatialDropout2d,
        "channels_last",
        (16, 5, 6, 12),
    ),
    (
        lambda p, s=None: keras.layers.SpatialDropout2D(p, data_format="channels_first", seed=s),
        SpatialDropout2d,
        "channels_first",
        (16, 12, 5, 6),
    ),
    (
        lambda p, s=None: keras.layers.SpatialDropout3D(p, data_format="channels_last", seed=s),
        SpatialDropout3d,
        "channels_last",
        (8, 3, 4, 5, 12),
    ),
    (
        lambda p, s=None: keras.layers.SpatialDropout3D(p, data_format="channels_first", seed=s),
        SpatialDropout3d,
        "channels_first",
        (8, 12, 3, 4, 5),
    ),
]
IDS = ["1D-last", "2D-last", "2D-first", "3D-last", "3D-first"]


@pytest.mark.parametrize("make_keras, ours, fmt, shape", CASES, ids=IDS)
def test_keras_samples_the_noise_shape_we_compute(make_keras, ours, fmt, shape):
    x = torch.ones(shape)
    assert tuple(make_keras(0.5)._get_noise_shape(x)) == noise_shape(shape, "spatial", fmt)
    assert ours(0.5, data_format=fmt).noise_shape_for(shape) == noise_shape(shape, "spatial", fmt)


@pytest.mark.parametrize("make_keras, ours, fmt, shape", CASES, ids=IDS)
def test_measured_masks_share_the_same_axes_in_keras_and_here(make_keras, ours, fmt, shape):
    keras_mask = layer_mask(make_keras(0.5), shape, seed=0)
    our_mask = layer_mask(ours(0.5, data_format=fmt), shape, seed=0)
    expected = noise_shape(shape, "spatial", fmt)
    assert measure_noise_shape(keras_mask) == expected
    assert measure_noise_shape(our_mask) == expected


@pytest.mark.parametrize("make_keras, ours, fmt, shape", CASES, ids=IDS)
def test_keras_output_is_the_input_times_the_mask_over_keep_probability(make_keras, ours, fmt, shape):
    p = 0.3
    x = torch.randn(shape) + 3.0
    mask = make_keras(p, 7)(torch.ones(shape), training=True) != 0  # a fresh layer with the same seed
    y_keras = make_keras(p, 7)(x, training=True)
    torch.testing.assert_close(y_keras, torch.where(mask, x / (1 - p), torch.zeros_like(x)))
    # Ours, on the same mask structure: same scaling of kept units, zeros elsewhere.
    torch.manual_seed(0)
    y_ours = ours(p, data_format=fmt)(x)
    kept = y_ours != 0
    torch.testing.assert_close(y_ours[kept], x[kept] / (1 - p))


@pytest.mark.parametrize("make_keras, ours, fmt, shape", CASES, ids=IDS)
def test_inference_and_extreme_rates_behave_alike(make_keras, ours, fmt, shape):
    x = torch.randn(shape)
    torch.testing.assert_close(make_keras(0.5)(x, training=False), x)
    torch.testing.assert_close(ours(0.5, data_format=fmt).eval()(x), x)
    torch.testing.assert_close(make_keras(1.0)(x, training=True), torch.zeros_like(x))
    torch.testing.assert_close(ours(1.0, data_format=fmt)(x), torch.zeros_like(x))
    torch.testing.assert_close(make_keras(0.0)(x, training=True), x)
    torch.testing.assert_close(ours(0.0, data_format=fmt)(x), x)


@pytest.mark.parametrize("make_keras, ours, fmt, shape", CASES, ids=IDS)
def test_drop_fractions_agree_within_5_sigma(make_keras, ours, fmt, shape):
    p, trials = 0.4, 20
    big = (64, *shape[1:])
    bound = binomial_fraction_bound(p, coin_flips(big, noise_shape(big, "spatial", fmt)) * trials)
    keras.utils.set_random_seed(0)
    k_layer, o_layer = make_keras(p), ours(p, data_format=fmt)
    k = sum((k_layer(torch.ones(big), training=True) == 0).float().mean().item() for _ in range(trials)) / trials
    o = sum((o_layer(torch.ones(big)) == 0).float().mean().item() for _ in range(trials)) / trials
    assert abs(k - p) <= bound and abs(o - p) <= bound


@pytest.mark.parametrize("requested", [(None, 1, None), (1, None, 1), (None, None, None), (None, 1, 1)])
def test_keras_dropout_noise_shape_with_none_entries(requested):
    shape = (24, 20, 22)
    keras_mask = layer_mask(keras.layers.Dropout(0.5, noise_shape=requested), shape, seed=1)
    our_mask = layer_mask(Dropout(0.5, noise_shape=requested), shape, seed=1)
    expected = resolve_noise_shape(shape, requested)
    # A shared axis is constant; an unshared one has >= 20 coins, all equal with probability 2**-19.
    assert measure_noise_shape(keras_mask) == expected
    assert measure_noise_shape(our_mask) == expected
