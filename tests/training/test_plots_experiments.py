"""Figures return labelled figures; the MNIST-1D trial is deterministic, JSON-ready and honours its config."""

import json

import pytest

from spatialdrop_edu.training import (
    MNIST1DRun,
    epoch_times,
    mnist1d_config,
    mnist1d_readme_config,
    mnist1d_readme_trial,
    mnist1d_trial,
    plot_comparison,
    plot_learning_curves,
    run_study,
    summarize,
)

TINY = {"train_size": 100, "val_size": 100, "epochs": 3, "patience": None}


@pytest.fixture(scope="module")
def records():
    configs = [mnist1d_config(**TINY)] + [mnist1d_config(dropout=v, p=0.3, **TINY) for v in ("element", "spatial")]
    return run_study(lambda c, s: mnist1d_trial(c, s, device="cpu"), configs, [0, 1], progress=False)


def test_trial_is_deterministic_and_json_ready(records):
    again = mnist1d_trial(records[2]["config"], records[2]["seed"], device="cpu")
    strip = lambda r: {k: v for k, v in r.items() if k not in ("epoch_time", "wall_time")}  # noqa: E731
    assert strip(again) == strip(records[2]["result"])
    assert json.loads(json.dumps(records)) == records
    r = records[0]["result"]
    assert r["epochs_run"] == 3 and len(r["curves"]["val_loss"]) == 3 and 1 <= r["best_epoch"] <= 3
    assert 0 <= r["test_acc"] <= 1 and r["epoch_time"] > 0 and r["device"] == "cpu"


def test_trial_scores_both_checkpoints_from_its_per_epoch_test_accuracy(records):
    """The test accuracy of every epoch is stored, chooses nothing, and gives both checkpoints: the restored weights
    (lowest validation loss) score what the curve says at that epoch, and the other checkpoint is the first epoch of
    the highest validation accuracy."""
    for record in records:
        r = record["result"]
        curve, val_acc = r["curves"]["test_acc"], r["curves"]["val_acc"]
        assert len(curve) == r["epochs_run"] and r["test_acc"] == curve[r["best_epoch"] - 1]
        assert r["acc_epoch"] == val_acc.index(max(val_acc)) + 1
        assert r["test_acc_at_acc_epoch"] == curve[r["acc_epoch"] - 1]


def test_readme_protocol_trains_on_all_4000_sequences_for_its_step_budget():
    config = mnist1d_readme_config(steps=90, eval_every=40, batch_size=100)
    r = mnist1d_readme_trial(config, 0, device="cpu")
    # 4000 sequences in batches of 100: 40 steps an epoch, so 90 steps cross two epoch boundaries
    assert r["steps"] == 90 and r["curves"]["step"] == [40, 80]
    assert 0.1 < r["test_acc"] <= 1 and len(r["curves"]["test_acc"]) == 2
    assert mnist1d_readme_trial(config, 0, device="cpu")["test_acc"] == r["test_acc"]  # seeded
    with pytest.raises(ValueError, match="unknown settings"):
        mnist1d_readme_config(epochs=3)


def test_config_rejects_unknown_settings():
    with pytest.raises(ValueError, match="unknown settings"):
        mnist1d_config(rate=0.1)


def test_epoch_times_one_list_per_config():
    times = epoch_times(
        [MNIST1DRun.from_json(TINY), MNIST1DRun.from_json({**TINY, "dropout": "spatial", "p": 0.2})],
        rounds=2,
        epochs=2,
        device="cpu",
    )
    assert [len(t) for t in times] == [4, 4] and all(v > 0 for t in times for v in t)


def test_learning_curves_figure(records):
    curves = records[1]["result"]["curves"]
    fig = plot_learning_curves(curves, title="element", best_epoch=2)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "epoch" and "loss" in ax.get_ylabel() and ax.get_title() == "element"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["training", "validation", "gap", "best validation loss"]
    assert list(ax.lines[1].get_ydata()) == curves["val_loss"]
    fig = plot_learning_curves(curves, metric="acc")
    assert fig.axes[0].get_ylabel() == "accuracy"


def test_comparison_figure(records):
    rows = summarize(records, "test_acc")
    fig = plot_comparison(rows[1:], baseline=rows[0], ylabel="test accuracy")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "p" and ax.get_ylabel() == "test accuracy"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.3"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["none (95% CI)", "element", "spatial"]
    dots = [c for c in ax.collections if c.get_offsets().shape[0] == 2]  # the per-seed points, 2 seeds each
    assert len(dots) >= 2
    assert plot_comparison(rows).axes[0].get_ylabel() == "test_acc"
