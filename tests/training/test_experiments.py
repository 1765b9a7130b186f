"""The runs of the studies: data and models from a configuration, trials deterministic, JSON-ready and resumable."""

import json

import pytest
import torch

from spatialdrop_edu import training as T
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


def test_patch_trial_scores_both_checkpoints_from_its_test_curve():
    """The test curve re-scores a run at the lowest validation loss and at the highest validation accuracy; with
    early stopping the kept weights are the lowest validation loss's, so both readings of it agree."""
    full = patch_trial(patch_config(**{**TINY, "epochs": 6}), 0, device="cpu")
    curves = full["curves"]
    assert len(curves["test_acc"]) == 6 and full["kept_epoch"] == 6
    assert full["test_acc"] == pytest.approx(curves["test_acc"][-1], abs=1e-4)
    assert curves["val_loss"][full["best_epoch"] - 1] == min(curves["val_loss"])
    assert full["acc_epoch"] == 1 + curves["val_acc"].index(max(curves["val_acc"]))
    assert full["test_acc_at_acc_epoch"] == pytest.approx(curves["test_acc"][full["acc_epoch"] - 1], abs=1e-4)
    stopped = patch_trial(patch_config(**{**TINY, "epochs": 6, "patience": 2}), 0, device="cpu")
    assert stopped["test_acc"] == stopped["test_acc_at_best_epoch"]
    # early stopping changes where a run ends, not the epochs before
    n = stopped["epochs_run"]
    assert stopped["curves"]["val_loss"] == curves["val_loss"][:n]


def test_adamw_decays_weights_apart_from_the_gradient_and_equals_adam_without_decay():
    """Without weight decay the two optimizers take the same steps; with it, AdamW's decoupled decay is not Adam's
    L2 penalty (which Adam rescales like the rest of the gradient)."""
    tiny = {**TINY, "epochs": 2}
    adam = patch_trial(patch_config(**tiny), 0, device="cpu")
    adamw = patch_trial(patch_config(**tiny, optimizer="adamw"), 0, device="cpu")
    assert adam["curves"] == adamw["curves"]
    l2 = patch_trial(patch_config(**tiny, weight_decay=0.5), 0, device="cpu")
    decoupled = patch_trial(patch_config(**tiny, weight_decay=0.5, optimizer="adamw"), 0, device="cpu")
    assert l2["curves"]["train_loss"] != decoupled["curves"]["train_loss"]
    with pytest.raises(ValueError, match="optimizer must be one of 'adam', 'adamw'"):
        patch_config(optimizer="sgd")


def test_denoising_trial_stops_early_on_validation_psnr():
    config = denoising_config(**{**SMALL_DENOISING, "epochs": 40, "patience": 1})
    r = denoising_trial(config, 0, device="cpu")
    val = r["curves"]["val_psnr"]
    assert r["epochs_run"] == len(val) < 40
    assert val[r["best_epoch"] - 1] == max(val) and r["epochs_run"] == r["best_epoch"] + 1
    with pytest.raises(ValueError, match="patience"):
        denoising_config(patience=0)


def test_replayed_early_stopping_records_match_runs_that_stopped():
    """Replayed from a run of every epoch, early stopping on validation loss keeps the epoch and the test accuracy
    of the same seed's run that really stopped; on validation accuracy it keeps that curve's first best epoch."""
    from spatialdrop_edu.training import early_stopping_records

    tiny = {**TINY, "epochs": 10}
    full = run_study(lambda c, s: patch_trial(c, s, device="cpu"), [patch_config(**tiny)], [0, 1], progress=False)
    for patience in (1, 3):
        real = [patch_trial(patch_config(**tiny, patience=patience), s, device="cpu") for s in (0, 1)]
        replayed = early_stopping_records(full, patience, monitor="val_loss")
        for r, again in zip(real, replayed):
            assert again["config"]["patience"] == patience and again["config"]["stop_on"] == "val_loss"
            assert (again["result"]["kept_epoch"], again["result"]["epochs_run"]) == (r["kept_epoch"], r["epochs_run"])
            assert again["result"]["test_acc"] == pytest.approx(r["test_acc"], abs=1e-4)
        on_acc = early_stopping_records(full, patience, monitor="val_acc")
        for run, again in zip(full, on_acc):
            val_acc = run["result"]["curves"]["val_acc"][: again["result"]["epochs_run"]]
            assert again["result"]["kept_epoch"] == 1 + val_acc.index(max(val_acc))
    with pytest.raises(ValueError, match="monitor"):
        early_stopping_records(full, 2, monitor="test_acc")


def test_a_tagger_run_is_a_kind_like_the_others():
    """Chapter 9's tagger: typed, stored as JSON, and one trial that is a function of its seed."""
    run = T.TaggerRun(vocab_size=200, train_size=64, val_size=32, test_size=32, encoder="conv").replace(
        epochs=2, dropout="word_type", p=0.2
    )
    assert T.TaggerRun.from_json(run.to_json()) == run and run.to_json()["dropout"] == "word_type"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a GRU on several threads of a busy machine is many times slower, not faster
    try:
        first, again = (T.tagger_trial(run.to_json(), 3, device="cpu") for _ in range(2))
        other_masks = T.tagger_trial(run.replace(dropout="feature"), 3, device="cpu")
    finally:
        torch.set_num_threads(threads)
    assert {k: v for k, v in first.items() if k not in ("wall_time", "epoch_time")} == {
        k: v for k, v in again.items() if k not in ("wall_time", "epoch_time")
    }
    assert first["epochs_run"] == 2 and set(first["curves"]) == {"train_loss", "val_acc", "test_acc"}
    assert other_masks["test_acc"] != first["test_acc"] or other_masks["curves"] != first["curves"]
    with pytest.raises(ValueError, match="dropout must be one of"):
        T.TaggerRun().replace(dropout="spatial")  # the tagger's variants are its own: "feature" is SpatialDropout1D
