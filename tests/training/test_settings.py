"""Run settings: defaults filled in, every setting checked by type and value, stored configurations unchanged."""

import json

import pytest

from spatialdrop_edu.training import load_runs, shipped_results
from spatialdrop_edu.training.settings import (
    DENOISING,
    MNIST1D,
    PATCH,
    RunSettings,
    denoising_config,
    make_config,
    mnist1d_config,
    patch_config,
)

STUDIES = {"06_train_mnist1d": MNIST1D, "07_train_images": PATCH, "08_unet_copycat": DENOISING}


@pytest.mark.parametrize("chapter, run", STUDIES.items())
def test_stored_configurations_load_and_are_made_again_unchanged(chapter, run):
    """Every configuration of the shipped studies is complete, passes its checks, and makes the same JSON line."""
    records = list(load_runs(shipped_results(chapter).joinpath("study.jsonl")).values())
    assert records
    for record in records:
        config = record["config"]
        made = make_config(run, **config)
        assert made == config and json.dumps(made) == json.dumps(config)  # same values, same order
        assert list(run.defaults) == list(config)


def test_defaults_come_in_order_and_settings_override_them():
    config = mnist1d_config(p=0.2, dropout="spatial")
    assert list(config) == list(MNIST1D.defaults) and config["p"] == 0.2 and config["train_size"] == 500
    assert patch_config()["patience"] is None and denoising_config(photos=("camera",))["photos"] == ["camera"]
    with pytest.raises(TypeError):
        MNIST1D.defaults["p"] = 0.5  # the defaults are read-only


@pytest.mark.parametrize(
    "make, settings, error, fragment",
    [
        (mnist1d_config, {"rate": 0.1}, ValueError, "unknown settings"),
        (patch_config, {"augment": "cutout"}, ValueError, "augment"),
        (patch_config, {"dataset": "cifar"}, ValueError, "dataset"),
        (denoising_config, {"colour": True}, ValueError, "unknown settings"),
        (mnist1d_config, {"p": 1.5}, ValueError, "p must be a probability"),
        (mnist1d_config, {"p": "0.1"}, TypeError, "p must be a real number"),
        (mnist1d_config, {"epochs": 0}, ValueError, "epochs must be a positive int"),
        (mnist1d_config, {"epochs": 2.5}, TypeError, "epochs must be a positive int"),
        (mnist1d_config, {"placement": "top"}, ValueError, "placement"),
        (denoising_config, {"placement": "late"}, ValueError, "placement"),
        (denoising_config, {"photos": ["camera", "moon"]}, ValueError, "photos"),
        (denoising_config, {"photos": "camera"}, TypeError, "photos"),
        (denoising_config, {"sigma": 0}, ValueError, "sigma"),
        (patch_config, {"weight_decay": -1e-3}, ValueError, "weight_decay"),
        (patch_config, {"patience": 0}, ValueError, "patience"),
        (patch_config, {"data_root": 3}, TypeError, "data_root"),
    ],
)
def test_every_setting_is_checked(make, settings, error, fragment):
    with pytest.raises(error, match=fragment):
        make(**settings)


def test_settings_need_a_default_and_a_check_each():
    with pytest.raises(ValueError, match="needs a default and a check"):
        RunSettings("toy", defaults={"a": 1, "b": 2}, checks={"a": lambda value, name: None})
