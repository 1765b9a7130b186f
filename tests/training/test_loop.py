"""The training loop: deterministic on the CPU, early stopping restores the best epoch, metrics are consistent;
its hooks, and evaluation mode restored module by module."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from spatialdrop_edu.training import load_mnist1d, mnist1d_cnn, patch_cnn, patch_config, patch_data
from spatialdrop_edu.training.classifier import METRICS, train
from spatialdrop_edu.training.loop import fit, train_steps
from spatialdrop_edu.training.measure import eval_mode, evaluate, predict
from spatialdrop_edu.training.settings import STOP_ON


@pytest.fixture(scope="module")
def data():
    return load_mnist1d(train_size=200, val_size=100, seed=0)


def fit_cnn(data, seed, **kwargs):
    torch.manual_seed(seed)
    model = mnist1d_cnn("spatial", 0.3)
    history = train(model, data, seed=seed, device="cpu", **{"progress": False, **kwargs})
    return model, history


def strip_times(h):
    return {k: v for k, v in h.items() if k != "epoch_time"}


def test_same_seed_identical_history_and_weights(data):
    m1, h1 = fit_cnn(data, 3, epochs=6, patience=None)
    m2, h2 = fit_cnn(data, 3, epochs=6, patience=None)
    assert strip_times(h1) == strip_times(h2)
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    _, h3 = fit_cnn(data, 4, epochs=6, patience=None)
    assert h3["val_loss"] != h1["val_loss"]


def test_history_shape_and_values(data):
    _, h = fit_cnn(data, 0, epochs=5, patience=None)
    assert h["epoch"] == [1, 2, 3, 4, 5] and h["epochs_run"] == 5 and h["device"] == "cpu"
    for m in METRICS:
        assert len(h[m]) == 5
    assert all(0 <= a <= 1 for a in h["train_acc"] + h["val_acc"])
    assert all(t > 0 for t in h["epoch_time"])
    assert h["best_val_loss"] == min(h["val_loss"]) and h["val_loss"][h["best_epoch"] - 1] == h["best_val_loss"]
    assert h["train_loss"][-1] < h["train_loss"][0]  # it learns


def test_early_stopping_stops_and_restores_best(data):
    model, h = fit_cnn(data, 0, epochs=200, patience=3, lr=3e-2)
    assert h["epochs_run"] < 200
    assert h["epochs_run"] == h["best_epoch"] + 3  # stopped exactly `patience` epochs after the best
    assert all(v >= h["best_val_loss"] for v in h["val_loss"])
    loss, acc = evaluate(model, *data.val)
    assert loss == pytest.approx(h["best_val_loss"], rel=1e-5) and acc == pytest.approx(h["best_val_acc"])
    assert not model.training


def test_evaluate_restores_mode_and_batches_agree(data):
    model = mnist1d_cnn("element", 0.5)
    model.train()
    a = evaluate(model, *data.val, batch_size=7)
    b = evaluate(model, *data.val, batch_size=1000)
    assert model.training and a[1] == b[1] and a[0] == pytest.approx(b[0], rel=1e-5)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"patience": 0}, "patience"),
        ({"seed": -3}, "seed"),
    ],
)
def test_bad_arguments(data, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        train(mnist1d_cnn(), data, progress=False, device="cpu", **kwargs)


def test_progress_bar_runs(data, capsys):
    _, h = fit_cnn(data, 0, epochs=2, patience=None, progress=True)
    assert h["epochs_run"] == 2


def test_without_restore_best_the_last_weights_stay_and_with_patience_the_best_come_back():
    data = patch_data(patch_config(train_per_class=5, val_per_class=10), 0)
    torch.manual_seed(0)
    model = patch_cnn(num_classes=3)
    h = train(model, data, epochs=4, patience=None, restore_best=False, seed=0, device="cpu", progress=False)
    assert h["epochs_run"] == 4 and h["kept_epoch"] == 4
    assert evaluate(model, *data.val)[0] == pytest.approx(h["val_loss"][-1], rel=1e-5)
    torch.manual_seed(0)
    model = patch_cnn(num_classes=3)
    h = train(model, data, epochs=6, patience=1, lr=0.3, seed=0, device="cpu", progress=False)  # lr 0.3 diverges
    assert h["kept_epoch"] == h["best_epoch"] and h["epochs_run"] <= 6
    assert evaluate(model, *data.val)[0] == pytest.approx(min(h["val_loss"]), rel=1e-5)


def test_eval_mode_restores_every_modules_own_mode_even_on_error():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.BatchNorm1d(2)).train()
    model[2].eval()  # mixed modes, as MC dropout leaves them
    with pytest.raises(RuntimeError):
        with eval_mode(model):
            assert not any(m.training for m in model.modules())
            raise RuntimeError("inside")
    assert [m.training for m in model.modules()] == [True, True, True, False]
    x = torch.randn(3, 2)
    assert torch.equal(predict(model, x), predict(model, x)) and model[1].training


def test_train_steps_calls_its_hook_once_per_minibatch():
    model = nn.Linear(1, 1)
    seen = []
    batches = [(torch.full((2, 1), float(i)), torch.zeros(2, 1)) for i in range(3)]
    train_steps(
        model,
        torch.optim.SGD(model.parameters(), lr=0.0),
        batches,
        lambda m, b: F.mse_loss(m(b[0]), b[1]),
        on_step=lambda loss, batch: seen.append((loss.item() >= 0, batch[0][0, 0].item())),
    )
    assert seen == [(True, 0.0), (True, 1.0), (True, 2.0)] and model.training


def test_fit_monitors_either_direction_and_stops_after_patience():
    model = nn.Linear(1, 1)
    scores = iter([1.0, 3.0, 2.0, 2.5, 0.5, 9.0])
    h = fit(
        model,
        torch.optim.SGD(model.parameters(), lr=0.0),
        lambda: [],
        lambda m, b: None,
        epochs=6,
        evaluate=lambda: {"score": next(scores)},
        monitor="score",
        higher_is_better=True,
        patience=2,
        device="cpu",
        progress=False,
    )
    assert h["score"] == [1.0, 3.0, 2.0, 2.5] and h["best_epoch"] == 2 and h["best_score"] == 3.0
    assert h["epochs_run"] == 4 and h["kept_epoch"] == 2 and list(h)[:3] == ["epoch", "score", "epoch_time"]


@pytest.fixture
def notebook_bars(monkeypatch):
    """tqdm.auto's bar as in Jupyter (tqdm.notebook, drawn with ipywidgets); every bar made is collected."""
    import tqdm.auto
    import tqdm.notebook

    bars = []

    class Bar(tqdm.notebook.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    from spatialdrop_edu import _progress

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    monkeypatch.setattr(_progress, "_bar_class", lambda: Bar)  # as inside a Jupyter kernel
    return bars


def test_early_stopped_bar_ends_complete_green_and_says_so(data, notebook_bars):
    _, h = fit_cnn(data, 0, epochs=200, patience=3, lr=3e-2, progress=True, desc="run A")
    assert h["epochs_run"] < 200
    (bar,) = notebook_bars
    label, progress, _ = bar.container.children
    assert progress.bar_style == "success"  # not "danger": red is for errors
    assert progress.value == progress.max == bar.n == bar.total == h["epochs_run"]
    label_text = label.value.replace("\u2007", " ")  # tqdm pads the label with figure spaces
    assert f"run A: stopped early at epoch {h['epochs_run']} (best: {h['best_epoch']})" in label_text
    assert bar.container.layout.visibility != "hidden"  # kept on screen, so the learner sees why it ended


def test_bar_of_a_full_run_closes_as_before(data, notebook_bars):
    fit_cnn(data, 0, epochs=2, patience=5, progress=True)
    (bar,) = notebook_bars
    _, progress, _ = bar.container.children
    assert progress.bar_style != "danger" and progress.value == progress.max == 2
    assert bar.container.layout.visibility == "hidden"  # leave=False: a finished bar disappears


def test_early_stopped_bar_in_a_terminal_ends_at_100_percent(data, capsys):
    _, h = fit_cnn(data, 0, epochs=200, patience=3, lr=3e-2, progress=True, desc="run B")
    err = capsys.readouterr().err
    last = err.replace("\r", "\n").strip().splitlines()[-1]
    assert f"run B: stopped early at epoch {h['epochs_run']} (best: {h['best_epoch']})" in last
    assert "100%" in last and f"{h['epochs_run']}/{h['epochs_run']}" in last


@pytest.mark.parametrize("patience", [1, 2, 4])
def test_replayed_early_stopping_is_where_training_stopped(data, patience):
    """A run without early stopping, replayed, stops where the same seed's run with early stopping stopped."""
    from spatialdrop_edu.training import replay_early_stopping

    _, full = fit_cnn(data, 0, epochs=12, patience=None, lr=3e-2)
    _, stopped = fit_cnn(data, 0, epochs=12, patience=patience, lr=3e-2)
    assert stopped["val_loss"] == full["val_loss"][: stopped["epochs_run"]]
    assert replay_early_stopping(full["val_loss"], patience) == (stopped["best_epoch"], stopped["epochs_run"])
    assert replay_early_stopping(full["val_loss"], None) == (full["best_epoch"], 12)


def test_replayed_early_stopping_on_either_direction_and_bad_input():
    from spatialdrop_edu.training import replay_early_stopping

    acc = [0.5, 0.6, 0.6, 0.55, 0.7, 0.7]
    assert replay_early_stopping(acc, 2, higher_is_better=True) == (2, 4)
    assert replay_early_stopping(acc, 3, higher_is_better=True) == (5, 6)
    with pytest.raises(ValueError, match="patience"):
        replay_early_stopping(acc, 0)
    with pytest.raises(ValueError, match="values"):
        replay_early_stopping([], 3)


def test_train_refuses_an_unknown_optimizer(data):
    with pytest.raises(ValueError, match="optimizer must be one of"):
        fit_cnn(data, 0, epochs=1, optimizer="sgd")


def test_a_second_metric_keeps_the_run_going_until_neither_improves():
    """Chapter 6's rule: stop only when neither the validation loss nor the validation accuracy has improved for
    `patience` epochs; the best epoch (the weights kept) is still the loss's."""
    model = nn.Linear(1, 1)
    losses = iter([1.0, 0.8, 0.9, 0.95, 0.97, 0.99, 0.99, 0.99, 0.5])
    accs = iter([0.1, 0.2, 0.3, 0.4, 0.4, 0.35, 0.3, 0.2, 0.9])

    def run(also):
        nonlocal losses, accs
        losses = iter([1.0, 0.8, 0.9, 0.95, 0.97, 0.99, 0.99, 0.99, 0.5])
        accs = iter([0.1, 0.2, 0.3, 0.4, 0.4, 0.35, 0.3, 0.2, 0.9])
        return fit(
            model,
            torch.optim.SGD(model.parameters(), lr=0.0),
            lambda: [],
            lambda m, b: None,
            epochs=9,
            evaluate=lambda: {"val_loss": next(losses), "val_acc": next(accs)},
            monitor="val_loss",
            patience=2,
            also_improving=also,
            device="cpu",
            progress=False,
        )

    alone = run(None)  # the loss stalls after epoch 2: stop after epoch 4
    assert alone["epochs_run"] == 4 and alone["best_epoch"] == 2
    both = run({"val_acc": True})  # the accuracy rises until epoch 4 (a tie is no rise): stop after epoch 6
    assert both["epochs_run"] == 6 and both["best_epoch"] == 2 and both["val_acc"][-1] == 0.35


def test_train_stops_on_the_rule_it_is_given_and_refuses_others(data):
    _ = torch.manual_seed(0)
    with pytest.raises(ValueError, match="stop_on"):
        train(mnist1d_cnn(), data, epochs=2, stop_on="val_acc", device="cpu", progress=False)
    runs = {}
    for rule in STOP_ON:
        _ = torch.manual_seed(0)
        runs[rule] = train(
            mnist1d_cnn(), data, epochs=40, patience=2, stop_on=rule, seed=0, device="cpu", progress=False
        )
    loss_only, both = runs["val_loss"], runs["val_loss_and_acc"]
    assert both["epochs_run"] >= loss_only["epochs_run"]  # the accuracy can only keep a run going
    n = loss_only["epochs_run"]
    assert both["val_loss"][:n] == loss_only["val_loss"]  # the same run until the earlier stop


def test_a_bar_outside_a_kernel_is_a_terminal_line_even_with_ipykernel_imported(capsys):
    """``tqdm.auto`` would take the notebook's bar once ipykernel is imported (a kernel class, a test's import),
    and draw nothing in a terminal; the package's bar asks whether a kernel runs it."""
    import ipykernel.ipkernel  # noqa: F401
    from tqdm.std import tqdm as terminal_bar

    from spatialdrop_edu._progress import progress_bar

    bar = progress_bar(3, "steps")
    bar.update(3)
    bar.close()
    assert type(bar) is terminal_bar and "steps" in capsys.readouterr().err
