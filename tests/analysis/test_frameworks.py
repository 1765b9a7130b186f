"""PyTorch beside Keras: layout moves, kernel conversion, Keras' default data format, layer calls, feature maps."""

import json
import os

import numpy as np
import pytest
import torch

import spatialdrop_edu as sde
from spatialdrop_edu.analysis import frameworks as fw


@pytest.mark.parametrize("shape", [(2, 3, 7), (2, 3, 5, 7), (2, 3, 4, 5, 7)])
def test_layout_moves_are_inverse_and_put_channels_where_they_belong(shape):
    x = torch.randn(shape)
    last = fw.to_channels_last(x)
    assert last.shape == (shape[0], *shape[2:], shape[1])
    assert torch.equal(fw.to_channels_first(last), x)
    assert torch.equal(last[..., 1], x[:, 1])
    assert np.array_equal(fw.to_channels_last(x.numpy()), last.numpy())


def test_layout_moves_refuse_inputs_without_a_spatial_axis():
    with pytest.raises(ValueError, match="at least 3 axes"):
        fw.to_channels_last(torch.zeros(2, 3))


@pytest.mark.parametrize("k", [(3,), (3, 5), (3, 5, 2)])
def test_kernel_conversion_gives_the_same_convolution_as_keras(k):
    keras = pytest.importorskip("keras")
    dims = len(k)
    c_in, c_out = 2, 4
    kernel = torch.randn(*k, c_in, c_out)
    x = torch.randn(2, *(6,) * dims, c_in)
    layer = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D, 3: keras.layers.Conv3D}[dims](c_out, k, use_bias=False)
    layer.build(x.shape)
    layer.set_weights([kernel.numpy()])
    want = keras.ops.convert_to_numpy(layer(x))
    conv = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d, 3: torch.nn.functional.conv3d}[dims]
    got = fw.to_channels_last(conv(fw.to_channels_first(x), fw.keras_kernel_to_torch(kernel))).numpy()
    assert np.allclose(got, want, atol=1e-5)
    assert torch.equal(fw.torch_kernel_to_keras(fw.keras_kernel_to_torch(kernel)), kernel)


def test_keras_config_file_follows_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert fw.keras_config_file() == os.path.join(str(tmp_path), "keras.json")
    assert fw.keras_config_data_format() is None  # no file
    (tmp_path / "keras.json").write_text(json.dumps({"image_data_format": "channels_first"}))
    assert fw.keras_config_data_format() == "channels_first"
    (tmp_path / "keras.json").write_text("{not json")
    assert fw.keras_config_data_format() is None


def test_keras_image_data_format_is_temporary_even_on_error():
    keras = pytest.importorskip("keras")
    before = keras.config.image_data_format()
    other = "channels_first" if before == "channels_last" else "channels_last"
    with pytest.raises(RuntimeError):
        with fw.keras_image_data_format(other):
            assert keras.config.image_data_format() == other
            assert keras.layers.SpatialDropout3D(0.5).data_format == other
            raise RuntimeError("inside")
    assert keras.config.image_data_format() == before
    with pytest.raises(ValueError, match="data_format"):
        with fw.keras_image_data_format("NHWC"):
            pass


def test_describe_call_reports_noise_shape_warning_and_error():
    ok = fw.describe_call(sde.SpatialDropout3d(0.5), (4, 3, 5, 6))
    assert ok == {"ok": True, "noise_shape": (4, 1, 1, 1), "warnings": [], "error": None}
    trap = fw.describe_call(torch.nn.Dropout2d(0.5), (3, 8, 9))
    assert trap["ok"] and trap["noise_shape"] == (3, 8, 1)
    assert len(trap["warnings"]) == 1 and "(N, C, L)" in trap["warnings"][0]
    refused = fw.describe_call(sde.SpatialDropout2d(0.5), (3, 8, 9))
    assert not refused["ok"] and refused["noise_shape"] is None and refused["error"].startswith("ValueError")


def test_seeded_feature_maps_are_seeded_sized_and_non_negative():
    img = np.random.default_rng(0).random((30, 60))
    a = fw.seeded_feature_maps(img, channels=3, kernel_size=3, seed=1, size=20)
    assert a.shape == (1, 3, 10, 20) and a.dtype == torch.float32 and (a >= 0).all()
    assert torch.equal(a, fw.seeded_feature_maps(img, channels=3, kernel_size=3, seed=1, size=20))
    assert not torch.equal(a, fw.seeded_feature_maps(img, channels=3, kernel_size=3, seed=2, size=20))
    flat = fw.seeded_feature_maps(np.full((16, 16), 0.7), channels=2, size=16)
    assert torch.allclose(flat, torch.zeros_like(flat), atol=1e-5)  # zero-mean filters see no edge in a flat image


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image": np.zeros(5)}, "2-D"),
        ({"image": np.zeros((4, 4)), "kernel_size": 4}, "odd"),
        ({"image": np.zeros((4, 4)), "channels": 0}, "channels"),
        ({"image": np.zeros((4, 4)), "size": 0}, "size"),
    ],
)
def test_seeded_feature_maps_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fw.seeded_feature_maps(**kwargs)


def test_resize_image_keeps_the_mean_of_blocks():
    img = np.arange(16.0).reshape(4, 4)
    small = fw.resize_image(img, 2)
    assert small.shape == (2, 2) and np.allclose(small, [[2.5, 4.5], [10.5, 12.5]])
