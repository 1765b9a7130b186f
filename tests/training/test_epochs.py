"""The one epoch timing: both kinds of run, warm-up discarded, interleaved, threads pinned, nothing left behind."""

import pytest
import torch

import spatialdrop_edu.training as T
from spatialdrop_edu.training import epochs

MNIST_TINY = {"train_size": 100, "val_size": 100, "channels": 8}
PATCH_TINY = {"train_per_class": 5, "val_per_class": 10}


@pytest.fixture
def epoch_log(monkeypatch):
    """Every epoch trained through epoch_times: (the model, PyTorch's thread count while it ran)."""
    log, train_epoch = [], epochs.train_epoch

    def logged(model, *args, **kwargs):
        log.append((id(model), torch.get_num_threads()))
        return train_epoch(model, *args, **kwargs)

    monkeypatch.setattr(epochs, "train_epoch", logged)
    return log


def test_one_helper_behind_the_name():
    assert T.epoch_times is epochs.epoch_times and not hasattr(T.experiments, "epoch_times")


def test_warm_up_epochs_are_discarded_and_timed_epochs_interleaved_with_one_thread(epoch_log):
    before = torch.get_num_threads()
    configs = [T.MNIST1DRun(**MNIST_TINY), T.MNIST1DRun(**MNIST_TINY).replace(dropout="element", p=0.2)]
    times = T.epoch_times(
        configs, rounds=4, epochs=2, warmup=1, names=["none", "element"], device="cpu", order="alternate"
    )
    assert [len(t) for t in times] == [4 * 2, 4 * 2] and all(v > 0 for t in times for v in t)
    assert len(epoch_log) == 2 * 1 + 2 * 4 * 2 and {threads for _, threads in epoch_log} == {1}
    models = [model for model, _ in epoch_log]
    first, second = models[0], models[1]
    assert first != second  # one warm-up epoch each, first
    timed = models[2:]
    assert timed == [first, first, second, second, second, second, first, first] * 2  # order reversed each round
    assert times.orders == [("none", "element"), ("element", "none")] * 2
    assert torch.get_num_threads() == before


def test_patch_configurations_are_timed_with_their_augmentation():
    configs = [T.PatchRun.from_json(PATCH_TINY), T.PatchRun.from_json({**PATCH_TINY, "augment": "flips"})]
    times = T.epoch_times(configs, rounds=2, epochs=1, device="cpu")
    assert times.names == ("0", "1") and [len(t) for t in times] == [2, 2]


def test_the_callers_random_stream_is_left_as_it_was():
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    run = T.MNIST1DRun(**MNIST_TINY).replace(dropout="spatial", p=0.5)
    T.epoch_times([run], rounds=1, epochs=1, device="cpu")
    assert torch.equal(torch.rand(3), expected)


def test_a_ranking_of_known_cost_survives():
    """Sixteen times the channels is several times the work: the verdict must say so, on a busy machine too.

    The interval of the median ratio over 12 rounds runs from the 3rd to the 10th smallest ratio, so two
    rounds slowed by a neighbour cannot undo the verdict; four times the channels (×1.25 unloaded) was too
    close to the 1.10 margin for a loaded 2-core machine.
    """
    configs = [T.MNIST1DRun(**MNIST_TINY), T.MNIST1DRun(**{**MNIST_TINY, "channels": 128})]
    times = T.epoch_times(configs, rounds=12, epochs=1, names=["narrow", "wide"], device="cpu")
    assert times.compare("wide", "narrow").verdict == "slower"


def test_only_typed_runs_are_timed():
    """A stored dict does not say its kind: epoch_times asks for the typed run, and says how to make one."""
    with pytest.raises(TypeError, match=r"MNIST1DRun.from_json\(config\)"):
        T.epoch_times([T.mnist1d_config()], device="cpu")
    with pytest.raises(TypeError, match="got DenoisingRun"):
        T.epoch_times([T.DenoisingRun()], device="cpu")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"configs": []}, "runs must hold at least one"),
        ({"names": ["a", "a"]}, "names must be 2 distinct strings"),
        ({"rounds": 0}, "rounds must be a positive int"),
        ({"epochs": 0}, "epochs must be a positive int"),
        ({"order": "sideways"}, "order must be one of"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    arguments = {"configs": [T.MNIST1DRun(**MNIST_TINY)] * 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        T.epoch_times(arguments.pop("configs"), device="cpu", **arguments)
