"""What an epoch costs: the training epochs of several run configurations, timed against each other.

:func:`epoch_times` builds one model per configuration (MNIST-1D runs of
:func:`~spatialdrop_edu.training.settings.mnist1d_config` and patch runs of
:func:`~spatialdrop_edu.training.settings.patch_config` alike, with the data and model of their
runs, :mod:`~spatialdrop_edu.training.experiments`) and times their epochs with the
course's timing helper, :func:`spatialdrop_edu.timing.measure`: one thread, warm-up epochs
discarded, the configurations interleaved in a random order per round, the thread's CPU time on a
CPU. Only the optimisation steps are timed (:func:`~spatialdrop_edu.training.loop.train_epoch`),
not the evaluation passes.
"""

from __future__ import annotations

import torch

from .. import timing
from .._validation import check_choice, check_positive_int, check_seed
from ..runtime import get_device
from .augment import augmentation
from .data import num_classes
from .experiments import mnist1d_data, mnist1d_model, patch_data, patch_model
from .loop import OPTIMIZERS, train_epoch
from .settings import MNIST1D, PATCH, make_config

__all__ = ["TIMED_RUNS", "epoch_times", "config_kind"]

#: The kinds of run whose epochs :func:`epoch_times` can time (their settings).
TIMED_RUNS = (MNIST1D, PATCH)


def config_kind(config: dict) -> str:
    """Which run a configuration describes, ``"mnist1d"`` or ``"patch"``, told by its settings.

    A configuration whose settings all belong to one kind's defaults is of that kind; one that fits
    both (e.g. only ``dropout`` and ``p``) or neither is refused.

    Examples::

        >>> from spatialdrop_edu.training import mnist1d_config, patch_config
        >>> config_kind(mnist1d_config()), config_kind(patch_config())
        ('mnist1d', 'patch')
    """
    if not isinstance(config, dict):
        raise TypeError(f"a configuration must be a dict of settings, got {type(config).__name__}.")
    fits = [run.kind for run in TIMED_RUNS if set(config) <= set(run.defaults)]
    if len(fits) == 1:
        return fits[0]
    if fits:
        raise ValueError(
            f"the configuration {config!r} fits both an MNIST-1D and a patch run: pass a complete one, "
            f"from training.mnist1d_config(...) or training.patch_config(...)."
        )
    raise ValueError(
        f"the configuration has settings of no run kind: {sorted(config)}; an MNIST-1D run accepts "
        f"{sorted(MNIST1D.defaults)}, a patch run {sorted(PATCH.defaults)}."
    )


def epoch_times(
    configs,
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
    """Seconds per training epoch of each configuration, timed interleaved with the course's timing helper.

    Each configuration gets one model, its data and its optimizer, built once (weights from ``seed``).
    Then every configuration trains ``warmup`` epochs (discarded), and ``rounds`` rounds follow: in
    each, every configuration trains ``epochs`` epochs in a row, the configurations in a random order.
    On a CPU with one thread, an epoch's time is the thread's CPU time, which a busy machine's
    scheduler does not inflate. PyTorch's global random state is the same afterwards as before.

    Args:
        configs: complete configurations (dicts) of MNIST-1D or patch runs, see
            :func:`~spatialdrop_edu.training.epochs.config_kind`.
        rounds: rounds of epochs; the statistics are over rounds.
        epochs: timed epochs of each configuration per round.
        warmup: epochs of each configuration before timing, discarded.
        seed: the data's and the weights' seed, and the order's.
        device: where to train; ``None`` picks :func:`~spatialdrop_edu.runtime.get_device`.
        names: a name per configuration (default ``"0"``, ``"1"``, ...), for
            :meth:`~spatialdrop_edu.timing.Timings.compare`.
        threads: PyTorch's threads while timing (restored afterwards).
        order: ``"random"`` or ``"alternate"`` (see :func:`~spatialdrop_edu.timing.measure`).

    Returns:
        :class:`~spatialdrop_edu.timing.Timings`: ``times[i]`` (or ``times[name]``) is the list of
        the ``rounds * epochs`` epoch times of configuration ``i``, in seconds;
        ``times.compare(a, b)`` the ratio of two configurations with its interval and verdict.

    Examples::

        >>> from spatialdrop_edu.training import mnist1d_config
        >>> tiny = {"train_size": 100, "val_size": 100, "channels": 8}
        >>> configs = [mnist1d_config(**tiny),
        ...            mnist1d_config(dropout="spatial", p=0.2, **tiny)]
        >>> times = epoch_times(configs, rounds=2, epochs=1, names=["none", "spatial"],
        ...                     device="cpu")
        >>> [len(t) for t in times], times.threads
        ([2, 2], 1)
    """
    configs = list(configs)
    if not configs:
        raise ValueError("configs must hold at least one configuration, got none.")
    names = [str(i) for i in range(len(configs))] if names is None else list(names)
    if len(names) != len(configs) or len(set(names)) != len(names) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"names must be {len(configs)} distinct strings, one per configuration, got {names!r}.")
    rounds = check_positive_int(rounds, "rounds", "rounds of epochs")
    epochs = check_positive_int(epochs, "epochs", "timed epochs of each configuration per round")
    seed = check_seed(seed)
    check_choice(order, timing.ORDERS, "order")
    device = get_device() if device is None else torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):  # the caller's stream stays
        steps = {name: _epoch_step(config, seed, device) for name, config in zip(names, configs)}
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


def _epoch_step(config: dict, seed: int, device: torch.device):
    """A function of no arguments that trains one epoch of the configuration's model (built here, as its run does)."""
    if config_kind(config) == "mnist1d":
        run = make_config(MNIST1D, **config)
        data = mnist1d_data(run, seed)
        torch.manual_seed(seed)
        model = mnist1d_model(run)
    else:
        run = make_config(PATCH, **config)
        data = patch_data(run, seed)
        torch.manual_seed(seed)
        model = patch_model(run, num_classes(data))
    augment = augmentation(run.get("augment", "none"))
    model.to(device)
    x, y = (t.to(device) for t in data.train)
    make_optimizer = OPTIMIZERS[run.get("optimizer", "adam")]
    optimizer = make_optimizer(model.parameters(), lr=run["lr"], weight_decay=run.get("weight_decay", 0.0))
    order_gen, augment_gen = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)
    return lambda: train_epoch(
        model,
        optimizer,
        x,
        y,
        batch_size=run["batch_size"],
        generator=order_gen,
        augment=augment,
        augment_generator=augment_gen,
    )
