"""seed_everything, get_device, layer_mask: the helpers every chapter uses."""

import random

import numpy as np
import pytest
import torch

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


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0", True, None])
def test_seed_everything_refuses_bad_seeds(seed):
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*32 - 1\]"):
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
