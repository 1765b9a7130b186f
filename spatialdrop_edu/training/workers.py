"""Where a study's runs execute: one wrapper that makes a run the same in any process, and a local pool.

:func:`~spatialdrop_edu.training.study.run_study` hands every run to :func:`call_run`, in the calling process or
in an executor's worker. A run's result depends on its configuration and seed, and also on the process: its CPU
kernels (the reproducible mode's variables, ``spatialdrop_edu.reproducible``), its PyTorch thread count and its
random state. :func:`call_run` sets the last two itself and makes the first hold where it can:

* **Seeds and threads** are set inside the run: :func:`~spatialdrop_edu.runtime.seed_everything` with the run's
  seed, and the caller's PyTorch thread count (in the calling thread, which is where OpenMP reads it), so that
  what ran before in the worker cannot leak into the run.
* **Kernels**: the worker gets the caller's values of the reproducible mode's variables. Workers that inherit the
  caller's environment (a ``ProcessPoolExecutor``, a Dask ``LocalCluster``, a Slurm job submitted from the same
  shell) already have them. Elsewhere :func:`call_run` sets them before the run: PyTorch's ATen chooses its
  kernels at the first operation that dispatches (not at ``import torch``), oneDNN at its first primitive and
  MKL at its first call, so in a fresh worker these pins still hold; NumPy reads ``NPY_DISABLE_CPU_FEATURES``
  when it is imported, so that one cannot. Each run's provenance records the ATen capability actually used and
  the variables that had to be set in the worker, and :func:`differences` tells the caller when a run ran under
  other conditions than its own.

:func:`study_executor` starts a pool of worker processes on this machine, one run per core.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from .._validation import check_positive_int, check_seed
from ..reproducible import pins_in_effect, provenance

__all__ = ["RunContext", "call_run", "reference", "differences", "study_executor", "usable_cores"]

#: Variables that only set thread counts: :func:`call_run` sets PyTorch's thread count itself, so a worker that
#: started with other values (Dask sets them to 1) runs the same.
THREAD_VARIABLES = frozenset({"OMP_NUM_THREADS", "MKL_NUM_THREADS"})

#: Variables read once, when their library is imported: set later in a worker, they do not hold there.
READ_AT_IMPORT = frozenset({"NPY_DISABLE_CPU_FEATURES"})

# The reproducible mode's variables this process did not inherit but set itself, for the runs it ran.
_SET_HERE: set[str] = set()


@dataclass(frozen=True)
class RunContext:
    """What every run of a study gets, wherever it runs: the caller's PyTorch thread count and pins.

    Args:
        threads: PyTorch's intra-op thread count for each run.
        pins: the reproducible mode's variables, ``{name: value}``, ``None`` for a variable that is unset.

    Examples::

        >>> context = RunContext.here(threads=1)
        >>> context.threads, "ATEN_CPU_CAPABILITY" in context.pins
        (1, True)
    """

    threads: int
    pins: dict = field(default_factory=dict)

    @classmethod
    def here(cls, threads: int | None = None) -> RunContext:
        """The context of this process: its pins, and ``threads`` (default: its PyTorch thread count)."""
        import torch

        if threads is None:
            threads = torch.get_num_threads()
        return cls(check_positive_int(threads, "threads", "PyTorch threads per run"), pins_in_effect())


def _apply_pins(pins: dict) -> None:
    """Give this process the caller's values of the pinned variables; remember the ones that had to be set."""
    for name, value in pins.items():
        if os.environ.get(name) == value:
            continue
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
        _SET_HERE.add(name)


def call_run(run, config: dict, seed: int, context: RunContext) -> tuple[dict, dict]:
    """Run ``run(config, seed)`` as the caller would have, in whichever process this is; return its provenance too.

    Sets the caller's pins (see the module's text), the caller's PyTorch thread count (restored afterwards) and
    every seed (:func:`~spatialdrop_edu.runtime.seed_everything`) before the run.

    Args:
        run: a function ``(config: dict, seed: int) -> dict``.
        config: the run's configuration (the run gets a copy).
        seed: the run's seed.
        context: from :meth:`~spatialdrop_edu.training.workers.RunContext.here`, made in the calling process.

    Returns:
        ``(result, provenance)``: what ``run`` returned, and
        ``spatialdrop_edu.reproducible.provenance()`` of this process (device: the ``"device"`` the result
        names, ``None`` when it names none) with ``platform``, ``finished`` (UTC time) and
        ``pins_set_in_worker`` (the variables this process did not inherit but had to set).

    Examples::

        >>> score = lambda c, s: {"score": c["a"] + s}
        >>> result, prov = call_run(score, {"a": 1}, 2, RunContext.here(threads=1))
        >>> result, prov["threads"], prov["device"]
        ({'score': 3}, 1, None)
    """
    import torch

    from ..runtime import seed_everything

    seed = check_seed(seed)
    _apply_pins(context.pins)
    previous = torch.get_num_threads()
    torch.set_num_threads(context.threads)
    try:
        seed_everything(seed)
        result = run(dict(config), seed)
        device = result.get("device") if isinstance(result, dict) else None
        record = provenance(device or "cpu")
    finally:
        torch.set_num_threads(previous)
    if device is None:  # the run did not say where it ran
        record["device"] = None
    record.update(
        platform=platform.platform(),
        finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        pins_set_in_worker=sorted(_SET_HERE & set(context.pins)),
    )
    return result, record


def reference(context: RunContext) -> dict:
    """What a run in this process would record: the values :func:`differences` compares with."""
    import torch

    return {
        "cpu_capability": torch.backends.cpu.get_cpu_capability().lower(),
        "torch": torch.__version__,
        "threads": context.threads,
    }


def differences(record: dict, expected: dict) -> list[str]:
    """Why a run may not give what it gives in the calling process: its provenance against ``expected``.

    Args:
        record: a run's provenance, from :func:`call_run`.
        expected: from :func:`reference`, made in the calling process.

    Returns:
        One sentence per difference that can change a result (ATen's kernels, the PyTorch version, the thread
        count, a variable read at import that was set too late); empty when the run is comparable.

    Examples::

        >>> expected = {"cpu_capability": "avx2", "torch": "2.13.0+cpu", "threads": 1}
        >>> found = {**expected, "pins_set_in_worker": []}
        >>> differences(found, expected)
        []
        >>> differences({**found, "cpu_capability": "avx512"}, expected)
        ["ATen's avx512 kernels (this process: avx2)"]
    """
    found = []
    if record.get("cpu_capability") != expected["cpu_capability"]:
        found.append(f"ATen's {record.get('cpu_capability')} kernels (this process: {expected['cpu_capability']})")
    if record.get("torch") != expected["torch"]:
        found.append(f"torch {record.get('torch')} (this process: {expected['torch']})")
    if record.get("threads") != expected["threads"]:
        found.append(f"{record.get('threads')} PyTorch threads (asked for: {expected['threads']})")
    for name in sorted(READ_AT_IMPORT & set(record.get("pins_set_in_worker", ()))):
        found.append(f"{name} set after its library was imported in the worker, so it did not hold there")
    return found


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the system tells it, else all cores).

    Examples::

        >>> usable_cores() >= 1
        True
    """
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def study_executor(workers: int):
    """A pool of ``workers`` processes on this machine for :func:`~spatialdrop_edu.training.study.run_study`.

    The workers are started fresh (``spawn``, not ``fork``): each chooses its CPU kernels under the pins in this
    process's environment, which it inherits, and a CUDA context or a thread of this process is never copied
    into a child. Give each worker one PyTorch thread (the chapters do), so that ``workers`` runs fill as many
    cores. ``run`` must then be importable by the workers: a function of a module, or ``functools.partial`` of
    one, not a lambda or a function defined in a notebook.

    Args:
        workers: runs side by side, a positive int; ``1`` returns ``None``: the runs go one after another, in
            this process.

    Returns:
        A ``concurrent.futures.ProcessPoolExecutor`` (use it in a ``with`` block, or let it end with the
        process), or ``None``.

    Examples::

        >>> study_executor(1) is None
        True
    """
    workers = check_positive_int(workers, "workers", "runs side by side, one process each")
    if workers == 1:
        return None
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
