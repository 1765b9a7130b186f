"""Typed runs: checked once when made, the stored JSON made again unchanged, nested settings kept honest."""

import dataclasses
import json

import pytest
import torch

from spatialdrop_edu._validation import check_non_negative_number
from spatialdrop_edu.training import load_runs, shipped_results
from spatialdrop_edu.training.runs import (
    RUN_KINDS,
    DenoisingRun,
    MNIST1DReadmeRun,
    MNIST1DRun,
    PatchRun,
    TaggerRun,
    denoising_config,
    mnist1d_config,
    patch_config,
    run_from_json,
)
from spatialdrop_edu.training.settings import DropoutSettings, TrainSettings, setting

#: Every shipped study file and the kind of its runs.
STUDIES = {
    ("06_train_mnist1d", "study.jsonl"): MNIST1DRun,
    ("06_train_mnist1d", "readme_protocol.jsonl"): MNIST1DReadmeRun,
    ("07_train_images", "study.jsonl"): PatchRun,
    ("08_unet_copycat", "study.jsonl"): DenoisingRun,
    ("08_unet_copycat", "schedules.jsonl"): DenoisingRun,
    ("09_sequence_tagging", "study.jsonl"): TaggerRun,
}


@pytest.mark.parametrize("study, kind", STUDIES.items(), ids=lambda v: "/".join(v) if isinstance(v, tuple) else None)
def test_stored_configurations_load_and_are_made_again_unchanged(study, kind):
    """Every configuration of the shipped studies loads as its kind and gives back the same JSON, order included."""
    chapter, name = study
    records = list(load_runs(shipped_results(chapter).joinpath(name)).values())
    assert records
    for record in records:
        config = record["config"]
        run = kind.from_json(config)
        assert json.dumps(run.to_json()) == json.dumps(config)  # same values, same types, same order
        assert list(config) == [key for key in kind.JSON if key in config]  # the stored order


def test_defaults_come_in_order_and_settings_override_them():
    config = mnist1d_config(p=0.2, dropout="spatial")
    assert list(config) == list(MNIST1DRun().to_json()) and config["p"] == 0.2 and config["train_size"] == 500
    assert patch_config()["patience"] is None and denoising_config(photos=("camera",))["photos"] == ["camera"]
    run = MNIST1DRun()
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.channels = 64  # a run is frozen: a changed run is a new one
    wider = run.replace(channels=64, lr=0.1)
    assert (wider.channels, wider.training.lr, run.channels, run.training.lr) == (64, 0.1, 32, 1e-2)


def test_a_run_reads_as_typed_attributes():
    run = PatchRun.from_json({"dropout": "spatial", "p": 0.3, "augment": "flips", "epochs": 4})
    assert run.dropout == DropoutSettings("spatial", 0.3) and run.dropout.active
    assert run.training == TrainSettings(epochs=4, batch_size=15, lr=3e-3, augment="flips")
    assert DenoisingRun.from_json({"photos": ["camera"]}).photos == ("camera",)  # kept as a tuple, stored as a list
    assert hash(DenoisingRun()) == hash(DenoisingRun.from_json(denoising_config()))  # usable as a key
    assert run_from_json("patch", run) is run and run_from_json(PatchRun, patch_config()) == PatchRun()
    assert set(RUN_KINDS) == {"mnist1d", "mnist1d_readme", "patch", "denoising", "tagger"}


@pytest.mark.parametrize(
    "make, settings, error, fragment",
    [
        (mnist1d_config, {"rate": 0.1}, ValueError, "unknown settings"),
        (patch_config, {"augment": "cutout"}, ValueError, "augment"),
        (patch_config, {"dataset": "cifar"}, ValueError, "dataset"),
        (denoising_config, {"colour": True}, ValueError, "unknown settings"),
        (mnist1d_config, {"dropout": "spatail"}, ValueError, "dropout must be one of"),
        (mnist1d_config, {"p": 1.5}, ValueError, "p must be a probability"),
        (mnist1d_config, {"p": "0.1"}, TypeError, "p must be a real number"),
        (mnist1d_config, {"epochs": 0}, ValueError, "epochs must be a positive int"),
        (mnist1d_config, {"epochs": 2.5}, TypeError, "epochs must be a positive int"),
        (mnist1d_config, {"placement": "top"}, ValueError, "placement"),
        (mnist1d_config, {"stop_on": "val_acc"}, ValueError, "stop_on"),
        (denoising_config, {"placement": "late"}, ValueError, "placement"),
        (denoising_config, {"photos": ["camera", "moon"]}, ValueError, "photos"),
        (denoising_config, {"photos": "camera"}, TypeError, "photos"),
        (denoising_config, {"sigma": 0}, ValueError, "sigma"),
        (denoising_config, {"lr_schedule": "step"}, ValueError, "lr_schedule"),
        (patch_config, {"weight_decay": -1e-3}, ValueError, "weight_decay"),
        (patch_config, {"optimizer": "sgd"}, ValueError, "optimizer"),
        (patch_config, {"patience": 0}, ValueError, "patience"),
        (patch_config, {"data_root": 3}, TypeError, "data_root"),
    ],
)
def test_every_setting_is_checked_under_its_stored_name(make, settings, error, fragment):
    with pytest.raises(error, match=fragment):
        make(**settings)


def test_typed_values_are_checked_when_made():
    with pytest.raises(ValueError, match="lr must be a positive number"):
        TrainSettings(lr=0)
    with pytest.raises(ValueError, match="variant must be one of"):
        DropoutSettings("gaussian", 0.1)
    with pytest.raises(ValueError, match="channels must be a positive int"):
        PatchRun(channels=0)
    with pytest.raises(TypeError, match="training of a mnist1d run must be a TrainSettings"):
        MNIST1DRun(training={"epochs": 3})
    with pytest.raises(TypeError, match="must be a dict"):
        MNIST1DRun.from_json(["dropout"])


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda: MNIST1DRun(training=TrainSettings(epochs=5, weight_decay=0.1)), "training.weight_decay"),
        (lambda: PatchRun(training=TrainSettings(stop_on="val_loss_and_acc")), "training.stop_on"),
        (lambda: DenoisingRun(training=TrainSettings(optimizer="adamw")), "training.optimizer"),
        (lambda: MNIST1DReadmeRun(training=TrainSettings(batch_size=100, lr=1e-2, epochs=3)), "training.epochs"),
    ],
)
def test_a_setting_a_kind_does_not_store_cannot_be_changed(make, fragment):
    """A run whose stored JSON would not say everything it depends on is refused."""
    with pytest.raises(ValueError, match=f"does not vary {fragment}"):
        make()


def test_every_stored_key_names_a_setting():
    """A key resolves to a field of the kind, of its dropout or of its training; anything else is a mistake."""
    assert MNIST1DRun.json_paths()["stop_on"] == "training.stop_on"
    assert PatchRun.json_paths()["block_size"] == "dropout.block_size" and PatchRun.json_paths()["patch"] == "patch"

    @dataclasses.dataclass(frozen=True)
    class Broken(MNIST1DRun):
        JSON = ("dropout", "colour")

    with pytest.raises(TypeError, match="stores 'colour', which is none of its settings"):
        Broken()


def test_a_setting_added_later_is_stored_only_when_changed():
    """Stored studies outlive new settings: at its default a new setting stays out of the JSON, so keys stay."""

    @dataclasses.dataclass(frozen=True)
    class Later(MNIST1DRun):
        JSON = (*MNIST1DRun.JSON, "noise")
        noise: float = setting(0.0, check_non_negative_number, stored_if_changed=True)

    assert Later().to_json() == MNIST1DRun().to_json() and Later.from_json(mnist1d_config()) == Later()
    changed = Later().replace(noise=0.1)
    assert changed.noise == 0.1 and list(changed.to_json())[-1] == "noise"
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        Later().replace(noise=-1)


def test_mnist1d_data_seed_draws_another_dataset_and_is_stored_only_when_changed():
    from spatialdrop_edu.training.builders import mnist1d_data

    run = MNIST1DRun(train_size=50, val_size=50)
    assert "data_seed" not in run.to_json() and run.data_seed == 42  # the shipped studies keep their keys
    other = run.replace(data_seed=7)
    assert other.to_json()["data_seed"] == 7 and MNIST1DRun.from_json(other.to_json()) == other
    a, b = mnist1d_data(run, 0), mnist1d_data(other, 0)
    assert a.train[0].shape == b.train[0].shape and not torch.equal(a.test[0], b.test[0])
    with pytest.raises(ValueError, match="data_seed must be an int"):
        run.replace(data_seed=-1)
