"""The runs of the studies: data and models from a configuration, trials deterministic, JSON-ready and resumable."""

import json

import pytest
import torch

from spatialdrop_edu.training import (
    denoising_config,
    denoising_trial,
    patch_config,
    patch_data,
    patch_trial,
    run_study,
    summarize,
)

from helpers import SMALL_DENOISING

TINY = {"train_per_class": 5, "val_per_class": 10, "epochs": 3}


def test_patch_data_standardises_with_training_statistics_and_keeps_test_fixed():
    a, b = patch_data(patch_config(), 0), patch_data(patch_config(), 1)
    assert a.train[1].bincount().tolist() == [15, 15, 15] and a.val[1].bincount().tolist() == [50, 50, 50]
    assert abs(a.train[0].mean().item()) < 1e-4 and abs(a.train[0].std().item() - 1) < 1e-3
    assert torch.equal(a.test[1], b.test[1]) and not torch.equal(a.train[0], b.train[0])
    assert tuple(a.test[0].shape[1:]) == (1, 16, 16)


def test_patch_data_needs_the_fashion_mnist_files():
    with pytest.raises(ValueError, match="data_root"):
        patch_data(patch_config(dataset="fashion_mnist"), 0)


def test_patch_trial_is_deterministic_json_ready_and_honours_augment_and_decay():
    configs = [
        patch_config(**TINY),
        patch_config(dropout="spatial", p=0.3, augment="dihedral", weight_decay=1e-3, **TINY),
    ]
    records = run_study(lambda c, s: patch_trial(c, s, device="cpu"), configs, [0, 1], progress=False)
    again = patch_trial(records[3]["config"], 1, device="cpu")
    strip = lambda r: {k: v for k, v in r.items() if k not in ("epoch_time", "wall_time")}  # noqa: E731
    assert strip(again) == strip(records[3]["result"])
    assert json.loads(json.dumps(records)) == records
    assert records[0]["result"]["curves"] != records[2]["result"]["curves"]
    rows = summarize(records, "test_acc")
    assert len(rows) == 2 and all(0 <= v <= 1 for r in rows for v in r["values"])


def test_denoising_trial_is_json_and_resumable(tmp_path):
    configs = [
        denoising_config(**SMALL_DENOISING),
        denoising_config(**SMALL_DENOISING, dropout="spatial", p=0.3, mc_passes=3),
    ]
    path = tmp_path / "study.jsonl"
    records = run_study(lambda c, s: denoising_trial(c, s, device="cpu"), configs, [0], path, progress=False)
    json.dumps(records)
    base, spatial = records[0]["result"], records[1]["result"]
    assert "mc_pixel_corr" not in base and -1 <= spatial["mc_pixel_corr"] <= 1
    for key in ("test_psnr", "noise_transfer", "ablate_skip1", "ablate_bottleneck", "skip_share_up1", "epoch_time"):
        assert key in base
    assert len(base["curves"]["val_psnr"]) == SMALL_DENOISING["epochs"]
    calls = []
    run_study(lambda c, s: calls.append(1), configs, [0], path, progress=False)
    assert calls == []
