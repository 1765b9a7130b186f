"""Chapter 7's toolkit: symmetries, region split, data, the loop with optional early stopping, trials."""

import json

import numpy as np
import pytest
import torch

from spatialdrop_edu.training import images as I
from spatialdrop_edu.training import run_study, summarize

import stats

TINY = {"train_per_class": 5, "val_per_class": 10, "epochs": 3}


def test_dihedral_gives_eight_distinct_symmetries_and_flips_invert():
    x = torch.rand(1, 5, 5, generator=torch.Generator().manual_seed(0))
    outs = [I.dihedral(x, k) for k in range(8)]
    assert len({tuple(o.flatten().tolist()) for o in outs}) == 8
    assert torch.equal(I.dihedral(I.dihedral(x, 1), 3), x) and torch.equal(I.dihedral(I.dihedral(x, 4), 4), x)
    assert all(sorted(o.flatten().tolist()) == sorted(x.flatten().tolist()) for o in outs)   # pixels only move
    with pytest.raises(ValueError, match="k must be an int from 0 to 7"):
        I.dihedral(x, 8)


@pytest.mark.parametrize("augment, allowed", [("flips", (0, 2, 4, 6)), ("rot90", (0, 1, 2, 3)),
                                              ("dihedral", tuple(range(8)))])
def test_augment_batch_draws_each_allowed_symmetry_uniformly_per_image(augment, allowed):
    n = 4000
    x = torch.rand(n, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    before = x.clone()
    y = I.augment_batch(x, augment, torch.Generator().manual_seed(2))
    assert torch.equal(x, before)
    match = torch.stack([(I.dihedral(x, k) == y).flatten(1).all(1) for k in range(8)])   # (8, N)
    assert match.any(0).all()
    k = match.float().argmax(0)
    counts = k.bincount(minlength=8)
    for j in range(8):
        expected = 1 / len(allowed) if j in allowed else 0.0
        assert abs(counts[j].item() / n - expected) <= stats.binomial_fraction_bound(max(expected, 1e-9), n)
    assert torch.equal(I.augment_batch(x, augment, torch.Generator().manual_seed(2)), y)


def test_augment_none_is_a_copy_and_unknown_names_are_rejected():
    x = torch.rand(3, 1, 4, 4)
    assert torch.equal(I.augment_batch(x, "none"), x)
    with pytest.raises(ValueError, match="augment"):
        I.augment_batch(x, "mixup")


@pytest.mark.parametrize("height, width, patch, stride, cut", [(64, 64, 16, 16, 48), (50, 31, 7, 3, 33),
                                                               (20, 20, 5, 1, 10)])
def test_region_corners_of_two_bands_never_share_a_pixel_and_miss_no_window(height, width, patch, stride, cut):
    top = I.region_corners(height, width, patch, stride, (0, cut))
    bottom = I.region_corners(height, width, patch, stride, (cut, height))
    used = np.zeros((height, width), bool)
    for r, c in top:
        assert r + patch <= cut and c + patch <= width
        used[r:r + patch, c:c + patch] = True
    assert not any(used[r:r + patch, c:c + patch].any() for r, c in bottom)
    rows = len(range(0, cut - patch + 1, stride))
    assert len(top) == rows * len(range(0, width - patch + 1, stride))
    with pytest.raises(ValueError, match="rows must satisfy"):
        I.region_corners(height, width, patch, stride, (cut, height + 1))


def test_per_class_subset_keeps_n_of_each_class():
    x, y = torch.arange(30.)[:, None], torch.tensor([0] * 10 + [1] * 12 + [2] * 8)
    xs, ys = I.per_class_subset((x, y), 4, seed=3)
    assert ys.bincount().tolist() == [4, 4, 4] and torch.equal(xs[:, 0].long(), torch.nonzero(
        torch.isin(torch.arange(30), xs[:, 0].long())).flatten())
    assert I.per_class_subset((x, y), None, seed=0)[0] is x


def test_load_images_standardises_with_training_statistics_and_keeps_test_fixed():
    a, b = I.load_images(I.patch_config(), 0), I.load_images(I.patch_config(), 1)
    assert a.train[1].bincount().tolist() == [15, 15, 15] and a.val[1].bincount().tolist() == [50, 50, 50]
    assert abs(a.train[0].mean().item()) < 1e-4 and abs(a.train[0].std().item() - 1) < 1e-3
    assert torch.equal(a.test[1], b.test[1]) and not torch.equal(a.train[0], b.train[0])
    assert tuple(a.test[0].shape[1:]) == (1, 16, 16)


def test_config_rejects_unknown_settings_and_values():
    with pytest.raises(ValueError, match="unknown settings"):
        I.patch_config(rate=0.1)
    with pytest.raises(ValueError, match="augment"):
        I.patch_config(augment="cutout")
    with pytest.raises(ValueError, match="data_root"):
        I.load_images(I.patch_config(dataset="fashion_mnist"), 0)


def test_fit_without_patience_keeps_last_weights_and_with_patience_restores_best():
    data = I.load_images(I.patch_config(**TINY), 0)
    torch.manual_seed(0)
    model = I.patch_cnn(num_classes=3)
    h = I.fit(model, data, epochs=4, seed=0, device="cpu", progress=False)
    assert h["epochs_run"] == 4 and h["kept_epoch"] == 4
    assert I.evaluate(model, *data.val)[0] == pytest.approx(h["val_loss"][-1], rel=1e-5)
    torch.manual_seed(0)
    model = I.patch_cnn(num_classes=3)
    h = I.fit(model, data, epochs=6, patience=1, lr=0.3, seed=0, device="cpu", progress=False)   # lr 0.3 diverges
    assert h["kept_epoch"] == h["best_epoch"] and h["epochs_run"] <= 6
    assert I.evaluate(model, *data.val)[0] == pytest.approx(min(h["val_loss"]), rel=1e-5)


def test_trial_is_deterministic_json_ready_and_honours_augment_and_decay():
    configs = [I.patch_config(**TINY), I.patch_config(dropout="spatial", p=0.3, augment="dihedral",
                                                      weight_decay=1e-3, **TINY)]
    records = run_study(lambda c, s: I.patch_trial(c, s, device="cpu"), configs, [0, 1], progress=False)
    again = I.patch_trial(records[3]["config"], 1, device="cpu")
    strip = lambda r: {k: v for k, v in r.items() if k not in ("epoch_time", "wall_time")}   # noqa: E731
    assert strip(again) == strip(records[3]["result"])
    assert json.loads(json.dumps(records)) == records
    assert records[0]["result"]["curves"] != records[2]["result"]["curves"]
    rows = summarize(records, "test_acc")
    assert len(rows) == 2 and all(0 <= v <= 1 for r in rows for v in r["values"])


def test_epoch_times_one_list_per_config():
    times = I.epoch_times([I.patch_config(**TINY), I.patch_config(augment="flips", **TINY)], rounds=2, epochs=1,
                          device="cpu")
    assert [len(t) for t in times] == [2, 2] and all(v > 0 for t in times for v in t)
