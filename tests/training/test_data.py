"""Training data: MNIST-1D built offline and deterministic, patch sets from disjoint photo regions, IDX parsing."""

import gzip
import math
import random
import struct

import numpy as np
import pytest
import torch

from spatialdrop_edu.photos import load_photo
from spatialdrop_edu.training import data as tdata
from spatialdrop_edu.training.data import (
    denoising_patches,
    face_patches,
    load_mnist1d,
    per_class_subset,
    region_corners,
    texture_patches,
)
from spatialdrop_edu.training.fashion_mnist import FASHION_MNIST_FILES, load_fashion_mnist, read_idx


def test_mnist1d_shapes_labels_and_sizes():
    d = load_mnist1d(train_size=300, val_size=200, seed=1)
    assert d.train[0].shape == (300, 1, 40) and d.val[0].shape == (200, 1, 40) and d.test[0].shape == (1000, 1, 40)
    assert d.train[0].dtype == torch.float32 and d.train[1].dtype == torch.int64
    assert set(d.test[1].tolist()) == set(range(10))
    full = load_mnist1d()
    assert len(full.train[1]) == 3500 and len(full.val[1]) == 500


def test_mnist1d_is_the_published_generator_and_deterministic():
    from mnist1d.data import get_dataset_args, make_dataset

    ref = make_dataset(get_dataset_args())
    d = load_mnist1d(seed=0)
    assert np.allclose(d.test[0][:, 0].numpy(), ref["x_test"], atol=1e-6)
    assert (d.test[1].numpy() == ref["y_test"]).all()
    a, b = load_mnist1d(100, seed=3), load_mnist1d(100, seed=3)
    assert torch.equal(a.train[0], b.train[0]) and torch.equal(a.val[1], b.val[1])
    c = load_mnist1d(100, seed=4)
    assert not torch.equal(a.train[0], c.train[0])


def test_mnist1d_train_val_disjoint_and_test_fixed():
    x, y, _, _ = tdata._mnist1d_arrays(42)
    for seed in range(3):
        d = load_mnist1d(train_size=1000, val_size=500, seed=seed)
        rows = {tuple(np.round(r, 6)) for r in x}
        train = {tuple(np.round(r, 6)) for r in d.train[0][:, 0].double().numpy()}
        val = {tuple(np.round(r, 6)) for r in d.val[0][:, 0].double().numpy()}
        assert not train & val and len(train) == 1000 and len(val) == 500
        assert len(train | val) <= len(rows)
        assert torch.equal(d.test[1], load_mnist1d(seed=0).test[1])


def test_mnist1d_leaves_global_random_state_alone():
    tdata._mnist1d_arrays.cache_clear()
    np.random.seed(123)
    random.seed(123)
    load_mnist1d(data_seed=7)  # make_dataset calls np.random.seed(args.seed) inside
    after = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    assert after == (np.random.rand(), random.random())


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"train_size": 0}, "train_size"),
        ({"train_size": 3501}, "train_size"),
        ({"val_size": 4000}, "val_size"),
        ({"seed": -1}, "seed"),
    ],
)
def test_mnist1d_rejects_bad_sizes(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        load_mnist1d(**kwargs)


def test_texture_regions_are_disjoint_no_patch_crosses_the_line():
    """Patches are located by exact matching in the photo; every train patch lies wholly above the split row."""
    patch, stride, test_fraction = 32, 16, 0.25
    d = texture_patches(("brick", "grass", "gravel"), patch=patch, stride=stride, test_fraction=test_fraction)
    for label, name in enumerate(("brick", "grass", "gravel")):
        image = load_photo(name).astype(np.float32)
        split = int(round(image.shape[0] * (1 - test_fraction)))
        where = {
            image[r : r + patch, c : c + patch].tobytes(): r  # every window of the grid -> its top row
            for r in range(0, image.shape[0] - patch + 1, stride)
            for c in range(0, image.shape[1] - patch + 1, stride)
        }
        tops = {
            part: np.array([where[p.tobytes()] for p in x[y == label][:, 0].numpy()])
            for part, (x, y) in (("train", d.train), ("val", d.val), ("test", d.test))
        }
        assert (tops["train"] + patch <= split).all() and (tops["val"] + patch <= split).all()
        assert (tops["test"] >= split).all()
        assert len(tops["test"]) > 0 and len(tops["train"]) > 0


def test_texture_patches_counts_and_labels():
    d = texture_patches(patch=16, stride=16, test_fraction=0.25, val_fraction=0.2)
    n_train_region = (384 // 16) * (512 // 16)  # rows 0..383 of each 512 x 512 photo
    assert len(d.train[1]) + len(d.val[1]) == 3 * n_train_region
    assert len(d.test[1]) == 3 * (128 // 16) * (512 // 16)
    assert sorted(set(d.train[1].tolist())) == [0, 1, 2]
    assert 0.0 <= float(d.train[0].min()) and float(d.train[0].max()) <= 1.0
    with pytest.raises(ValueError, match="test_fraction"):
        texture_patches(test_fraction=1.0)
    with pytest.raises(ValueError, match="names"):
        texture_patches(("brick", "nope"))


@pytest.mark.parametrize(
    "height, width, patch, stride, cut", [(64, 64, 16, 16, 48), (50, 31, 7, 3, 33), (20, 20, 5, 1, 10)]
)
def test_region_corners_of_two_bands_never_share_a_pixel_and_miss_no_window(height, width, patch, stride, cut):
    top = region_corners(height, width, patch, stride, (0, cut))
    bottom = region_corners(height, width, patch, stride, (cut, height))
    used = np.zeros((height, width), bool)
    for r, c in top:
        assert r + patch <= cut and c + patch <= width
        used[r : r + patch, c : c + patch] = True
    assert not any(used[r : r + patch, c : c + patch].any() for r, c in bottom)
    rows = len(range(0, cut - patch + 1, stride))
    assert len(top) == rows * len(range(0, width - patch + 1, stride))
    with pytest.raises(ValueError, match="rows must satisfy"):
        region_corners(height, width, patch, stride, (cut, height + 1))


def test_per_class_subset_keeps_n_of_each_class():
    x, y = torch.arange(30.0)[:, None], torch.tensor([0] * 10 + [1] * 12 + [2] * 8)
    xs, ys = per_class_subset((x, y), 4, seed=3)
    assert ys.bincount().tolist() == [4, 4, 4] and torch.equal(
        xs[:, 0].long(), torch.nonzero(torch.isin(torch.arange(30), xs[:, 0].long())).flatten()
    )
    assert per_class_subset((x, y), None, seed=0)[0] is x


def test_face_patches_disjoint_images_and_balanced_labels():
    d = face_patches(seed=0)
    allx = torch.cat([d.train[0], d.val[0], d.test[0]]).reshape(200, -1)
    assert len(torch.unique(allx, dim=0)) == 200  # every image exactly once
    assert int(torch.cat([d.train[1], d.val[1], d.test[1]]).sum()) == 100


def test_denoising_train_and_test_patches_come_from_disjoint_rows():
    """Every test patch appears in the photo's bottom quarter and no training patch does."""
    data = denoising_patches(("camera",), patch=16, stride=8, val_fraction=0.2)
    image = load_photo("camera")
    split = int(round(image.shape[0] * 0.75))

    def rows_of(p):
        windows = np.lib.stride_tricks.sliding_window_view(image, (16, 16))
        hit = np.argwhere(np.all(np.isclose(windows, p.numpy()[0], atol=1e-6), axis=(2, 3)))
        assert len(hit), "patch not found in the photo"
        return hit[:, 0]

    for p in data.train[:20]:
        assert rows_of(p).max() + 16 <= split
    for p in data.test[1][:20]:
        assert rows_of(p).min() >= split


def test_denoising_noise_has_the_given_sigma_and_is_fixed_by_the_seed():
    a = denoising_patches(("camera",), patch=16, sigma=0.1, seed=3)
    b = denoising_patches(("camera",), patch=16, sigma=0.1, seed=3)
    c = denoising_patches(("camera",), patch=16, sigma=0.1, seed=4)
    noise = a.test[0] - a.test[1]
    n = noise.numel()
    assert abs(float(noise.std()) - 0.1) < 5 * 0.1 / math.sqrt(2 * n)  # 5 sigma of the sample std
    assert abs(float(noise.mean())) < 5 * 0.1 / math.sqrt(n)
    assert torch.equal(a.test[0], b.test[0]) and not torch.equal(a.test[0], c.test[0])
    assert torch.equal(a.test[1], c.test[1])  # the clean test set does not depend on the seed


def test_denoising_subsets_and_bad_arguments():
    data = denoising_patches(("camera",), patch=16, max_train=10, max_val=5, max_test=7)
    assert (len(data.train), len(data.val[0]), len(data.test[0])) == (10, 5, 7)
    with pytest.raises(ValueError, match="multiple of 4"):
        denoising_patches(("camera",), patch=18)
    with pytest.raises(ValueError, match="sigma"):
        denoising_patches(("camera",), sigma=0)
    with pytest.raises(TypeError, match="sigma"):
        denoising_patches(("camera",), sigma="0.2")
    with pytest.raises(ValueError, match="photos"):
        denoising_patches(("nope",))


def _write_idx(path, array, code):
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    dtype = {0x08: np.uint8, 0x0C: ">i4", 0x0D: ">f4"}[code]
    payload = header + np.asarray(array, dtype=dtype).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(payload)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_roundtrip(tmp_path, suffix):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 4, 3)).astype(np.uint8)
    _write_idx(tmp_path / f"img{suffix}", images, 0x08)
    assert np.array_equal(read_idx(tmp_path / f"img{suffix}"), images)
    ints = np.array([[1, -2], [300000, 4]])
    _write_idx(tmp_path / f"i4{suffix}", ints, 0x0C)
    out = read_idx(tmp_path / f"i4{suffix}")
    assert np.array_equal(out, ints) and out.dtype.byteorder in "=|<"


def test_read_idx_rejects_other_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]))
    with pytest.raises(ValueError, match="header says"):
        read_idx(tmp_path / "short")


def test_load_fashion_mnist_parses_a_tiny_local_copy(tmp_path):
    rng = np.random.default_rng(0)
    train_x = rng.integers(0, 256, (12, 28, 28)).astype(np.uint8)
    train_y = rng.integers(0, 10, 12).astype(np.uint8)
    test_x = rng.integers(0, 256, (3, 28, 28)).astype(np.uint8)
    test_y = np.array([0, 5, 9], dtype=np.uint8)
    for key, arr in (
        ("train_images", train_x),
        ("train_labels", train_y),
        ("test_images", test_x),
        ("test_labels", test_y),
    ):
        _write_idx(tmp_path / FASHION_MNIST_FILES[key], arr, 0x08)
    d = load_fashion_mnist(tmp_path, val_size=4, seed=0)
    assert d.train[0].shape == (8, 1, 28, 28) and d.val[0].shape == (4, 1, 28, 28) and d.test[0].shape == (3, 1, 28, 28)
    assert d.test[1].tolist() == [0, 5, 9]
    assert torch.allclose(d.test[0][:, 0], torch.from_numpy(test_x / 255.0).float())
    # train + val are the training files, each image once, labels attached to their own image
    got = torch.cat([d.train[0], d.val[0]])[:, 0].mul(255).round().to(torch.uint8).numpy()
    labels = torch.cat([d.train[1], d.val[1]]).numpy()
    for img, lab in zip(got, labels):
        i = next(k for k in range(12) if np.array_equal(train_x[k], img))
        assert train_y[i] == lab
