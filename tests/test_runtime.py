"""seed_everything, get_device, layer_mask: the helpers every chapter uses."""

import random

import numpy as np
import pytest
import torch

import spatialdrop_edu as sde
from spatialdrop_edu import REPOSITORY_URL, get_device, layer_mask, seed_everything


def test_seed_everything_repeats_python_numpy_and_torch():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    seed_everything(123)
    first = draw()
    rng = seed_everything(123)
    assert draw() == first
    assert isinstance(rng, np.random.Generator)
    assert rng.random() == np.random.default_rng(123).random()


def test_seed_everything_seeds_keras_when_imported():
    import keras

    seed_everything(5)
    a = keras.random.uniform((3,))
    seed_everything(5)
    assert torch.equal(torch.as_tensor(a), torch.as_tensor(keras.random.uniform((3,))))


@pytest.mark.parametrize(
    "seed, error",
    [(-1, ValueError), (2**32, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError), (None, TypeError)],
)
def test_seed_everything_refuses_bad_seeds(seed, error):
    with pytest.raises(error, match=r"seed must be an int in \[0, 2\*\*32 - 1\]"):
        seed_everything(seed)


def test_get_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")
    assert get_device("cpu") == torch.device("cpu")


def test_get_device_refuses_unknown_or_missing_devices(monkeypatch):
    with pytest.raises(ValueError, match=r"prefer must be one of 'cuda', 'mps', 'cpu' or None, got 'gpu'"):
        get_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match=r"no cuda device is available"):
        get_device("cuda")


def test_layer_mask_takes_a_tensor_or_a_shape_and_validates():
    x = torch.zeros(2, 3, 4, dtype=torch.int64)  # only the shape and device are used
    assert layer_mask(torch.nn.Dropout(0.0), x).all()
    assert not layer_mask(torch.nn.Dropout(1.0), (2, 3)).any()
    with pytest.raises(ValueError, match="input_or_shape must be a sequence of non-negative ints"):
        layer_mask(torch.nn.Dropout(0.5), (2, -1))
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*32 - 1\]"):
        layer_mask(torch.nn.Dropout(0.5), (2, 3), seed=-3)
    with pytest.raises(TypeError, match="layer must be a torch.nn.Module or a Keras layer, got int"):
        layer_mask(3, (2, 3))


def test_repository_url_matches_the_book_configuration():
    import pathlib

    config = (pathlib.Path(__file__).parents[1] / "_config.yml").read_text()
    assert f"url: {REPOSITORY_URL}\n" in config


def test_probabilities_just_outside_the_unit_interval_are_refused():
    import math

    from spatialdrop_edu._validation import check_probability

    assert check_probability(1.0) == 1.0 and check_probability(0.0) == 0.0
    assert check_probability(torch.tensor(0.5)) == 0.5
    for bad in (math.nextafter(1.0, 2.0), math.nextafter(0.0, -1.0), 1.01, -1e-300, float("inf")):
        with pytest.raises(ValueError, match="p must be a probability in"):
            check_probability(bad)


@pytest.mark.parametrize("was_training", [True, False])
def test_layer_mask_restores_the_layers_mode(was_training):
    """A learner's model must keep dropping after a look at one of its layers (and stay in eval mode if it was)."""
    for layer in (sde.SpatialDropout2d(0.5), torch.nn.Dropout2d(0.5)):
        layer.train(was_training)
        layer_mask(layer, (2, 3, 4, 4), seed=0)
        assert layer.training is was_training
        with pytest.raises(ValueError):
            layer_mask(layer, (2, 3, 4), seed=0) if isinstance(layer, sde.SpatialDropout2d) else layer_mask(
                sde.SpatialDropout2d(0.5).train(was_training), (2, 3, 4), seed=0
            )
        assert layer.training is was_training


def test_layer_mask_with_a_seed_leaves_the_global_generator_alone_and_matches_pytorch():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    ours = layer_mask(sde.SpatialDropout2d(0.5), (4, 6, 3, 3), seed=7)
    native = layer_mask(torch.nn.Dropout2d(0.5), (4, 6, 3, 3), seed=7)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.equal(ours, native)
