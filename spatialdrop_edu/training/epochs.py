"""What an epoch costs: the training epochs of several run configurations, timed against each other.

:func:`epoch_times` builds one model per run (:class:`~spatialdrop_edu.training.runs.MNIST1DRun` and
:class:`~spatialdrop_edu.training.runs.PatchRun` alike, with the data and model of their kind,
:data:`~spatialdrop_edu.training.experiments.KINDS`) and times their epochs with the
course's timing helper, :func:`spatialdrop_edu.timing.measure`: one thread, warm-up epochs
discarded, the configurations interleaved in a random order per round, the thread's CPU time on a
CPU. Only the optimisation steps are timed (:func:`~spatialdrop_edu.training.classifier.train_epoch`),
not the evaluation passes.
"""

from __future__ import annotations

import torch

from .. import timing
from .._validation import check_choice, check_positive_int, check_seed
from ..runtime import get_device
from .augment import augmentation
from .classifier import train_epoch
from .experiments import KINDS
from .prepare import prepare_run
from .runs import MNIST1DRun, PatchRun

__all__ = ["TIMED_RUNS", "epoch_times"]

#: The kinds of run whose epochs :func:`epoch_times` can time.
TIMED_RUNS = (MNIST1DRun, PatchRun)


def epoch_times(
    runs,
    *,
    rounds: int = 3,
    epochs: int = 2,
    warmup: int = 1,
    seed: int = 0,
    device=None,
    names=None,
    threads: int = 1,
    order: str = "random",
) -> timing.Timings:
    """Seconds per training epoch of each run, timed interleaved with the course's timing helper.

    Each run gets one model, its data and its optimizer, built once (weights from ``seed``).
    Then every run trains ``warmup`` epochs (discarded), and ``rounds`` rounds follow: in
    each, every run trains ``epochs`` epochs in a row, the runs in a random order.
    On a CPU with one thread, an epoch's time is the thread's CPU time, which a busy machine's
    scheduler does not inflate. PyTorch's global random state is the same afterwards as before.

    Args:
        runs: typed runs of the kinds in :data:`TIMED_RUNS`.
        rounds: rounds of epochs; the statistics are over rounds.
        epochs: timed epochs of each run per round.
        warmup: epochs of each run before timing, discarded.
        seed: the data's and the weights' seed, and the order's.
        device: where to train; ``None`` picks :func:`~spatialdrop_edu.runtime.get_device`.
        names: a name per run (default ``"0"``, ``"1"``, ...), for
            :meth:`~spatialdrop_edu.timing.Timings.compare`.
        threads: PyTorch's threads while timing (restored afterwards).
        order: ``"random"`` or ``"alternate"`` (see :func:`~spatialdrop_edu.timing.measure`).

    Returns:
        :class:`~spatialdrop_edu.timing.Timings`: ``times[i]`` (or ``times[name]``) is the list of
        the ``rounds * epochs`` epoch times of configuration ``i``, in seconds;
        ``times.compare(a, b)`` the ratio of two configurations with its interval and verdict.

    Examples::

        >>> from spatialdrop_edu.training import MNIST1DRun
        >>> tiny = MNIST1DRun(train_size=100, val_size=100, channels=8)
        >>> runs = [tiny, tiny.replace(dropout="spatial", p=0.2)]
        >>> times = epoch_times(runs, rounds=2, epochs=1, names=["none", "spatial"],
        ...                     device="cpu")
        >>> [len(t) for t in times], times.threads
        ([2, 2], 1)
    """
    runs = list(runs)
    if not runs:
        raise ValueError("runs must hold at least one run, got none.")
    for run in runs:
        if not isinstance(run, TIMED_RUNS):
            raise TypeError(
                f"runs must be MNIST1DRun or PatchRun values (e.g. MNIST1DRun.from_json(config) for a stored "
                f"configuration), got {type(run).__name__}."
            )
    names = [str(i) for i in range(len(runs))] if names is None else list(names)
    if len(names) != len(runs) or len(set(names)) != len(names) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"names must be {len(runs)} distinct strings, one per run, got {names!r}.")
    rounds = check_positive_int(rounds, "rounds", "rounds of epochs")
    epochs = check_positive_int(epochs, "epochs", "timed epochs of each configuration per round")
    seed = check_seed(seed)
    check_choice(order, timing.ORDERS, "order")
    device = get_device() if device is None else torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):  # the caller's stream stays
        steps = {name: _epoch_step(run, seed, device) for name, run in zip(names, runs)}
        return timing.measure(
            steps,
            rounds=rounds,
            repeats=epochs,
            warmup=warmup,
            threads=threads,
            order=order,
            seed=seed,
            sync=timing.synchronizer(device),
        )


def _epoch_step(run, seed: int, device: torch.device):
    """A function of no arguments that trains one epoch of the run's model (built here, as its trial does)."""
    kind = KINDS[type(run)]
    data = kind.data(run, seed)
    torch.manual_seed(seed)
    model = kind.model(run, None, data).to(device)
    x, y = (t.to(device) for t in data.train)
    optimizer, order, augment_gen = prepare_run(model, run.training, seed)
    augment = augmentation(run.training.augment)
    return lambda: train_epoch(
        model,
        optimizer,
        x,
        y,
        batch_size=run.training.batch_size,
        generator=order,
        augment=augment,
        augment_generator=augment_gen,
    )
