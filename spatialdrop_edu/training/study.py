"""Studies: a grid of configurations, each repeated over seeds, here or on an executor, saved as it goes, resumed.

:func:`run_study` calls ``run(config, seed)`` for every configuration and seed,
one after another or side by side on any ``concurrent.futures``-style executor (worker processes on this machine,
a Dask cluster, Slurm through submitit), and appends each finished run to a JSON-lines file, one line per run,
keyed by the configuration and the seed (:func:`run_key`), with the run's provenance (what ran it: device, kernels,
threads, versions). Started again with the same file, it skips the runs already there (:func:`load_runs`): an
interrupted study loses at most the runs in progress.

Its records are read as tables by :mod:`~spatialdrop_edu.training.tables`, with the intervals of
:mod:`~spatialdrop_edu.training.stats`. Chapter 7 links :func:`holm` and :func:`early_stopping_records` here, so
this module offers them too.
"""

from __future__ import annotations

import concurrent.futures
import json
import pickle
import time
import warnings
from pathlib import Path

from .._progress import progress_bar
from .._validation import check_seed

# Chapter 7 links these two here; they are the statistics' and the tables'.
from .stats import holm as holm
from .tables import early_stopping_records as early_stopping_records

__all__ = [
    "run_key",
    "load_runs",
    "run_study",
]


# -- running and resuming --------------------------------------------------------------------------


def run_key(config: dict, seed: int) -> str:
    """The key of one run: the configuration and the seed as canonical JSON.

    Examples::

        >>> run_key({"p": 0.1, "dropout": "spatial"}, 3)
        '{"dropout": "spatial", "p": 0.1, "seed": 3}'
    """
    if "seed" in config:
        raise ValueError("a configuration must not contain 'seed': seeds are given separately.")
    return json.dumps({**config, "seed": seed}, sort_keys=True)


def load_runs(path) -> dict:
    """The finished runs stored in a JSON-lines file, as ``{key: record}`` (empty if no file).

    Args:
        path: a file path, or a resource of an installed package (``importlib.resources``), such as the study
            that :func:`~spatialdrop_edu.training.results.full_results` finds.

    A line cut short (the process was killed while writing it) is ignored.

    Examples::

        >>> load_runs("no/such/study.jsonl")
        {}
    """
    if not hasattr(path, "read_text"):
        path = Path(path)
    runs = {}
    if not path.is_file():
        return runs
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        runs[run_key(record["config"], record["seed"])] = record
    return runs


def _append_line(path: Path, line: str) -> None:
    """Append one line; first end a last line that was cut short, so that it cannot swallow this one."""
    with open(path, "a+b") as handle:
        if handle.tell() > 0:
            handle.seek(-1, 2)
            if handle.read(1) != b"\n":
                handle.write(b"\n")
        handle.write(line.encode() + b"\n")


def run_study(
    run, configs, seeds, path=None, *, executor=None, threads: int | None = None, progress: bool = True
) -> list[dict]:
    """Run ``run(config, seed)`` for every configuration and seed, saving and resuming, here or on an executor.

    Each run goes through :func:`~spatialdrop_edu.training.workers.call_run`, here or in a worker: it sets the
    seeds, the thread count and the reproducible mode's pins of this process before the run, so that a result
    does not depend on where the run ran, on what ran there before, or on how many ran at once. This process is
    the only one that writes ``path``: it appends each run as it finishes, in any order, so resuming works the
    same however the runs were spread.

    Args:
        run: a function ``(config: dict, seed: int) -> dict`` of JSON-serialisable results (metrics, and curves as
            lists). With an executor of processes it must be picklable: a function of a module, or
            ``functools.partial`` of one (Dask also takes lambdas).
        configs: the configurations: dicts of JSON-serialisable values without a ``"seed"`` key, or typed
            runs (:mod:`~spatialdrop_edu.training.runs`), which are stored as their ``to_json()`` and passed
            to ``run`` as they are.
        seeds: ints; every configuration runs once per seed.
        path: a JSON-lines file. Each finished run is appended to it at once; runs already in it are not run
            again. ``None`` keeps nothing (no resuming).
        executor: ``None`` runs one run after another in this process. Otherwise anything with
            ``submit(fn, *args)`` returning a future (``result()`` and ``done()``): a
            ``concurrent.futures.ProcessPoolExecutor`` (:func:`~spatialdrop_edu.training.workers.study_executor`),
            Dask's ``Client(...).get_executor()``, Ray's or submitit's executor. A failing run stops no other:
            they run and are kept, then its error is raised. Interrupted, this process cancels the runs not
            finished and keeps those finished (Dask cannot tell a running job from a queued one, so the runs in
            progress are lost, as on one core). Workers that
            ``fork`` (``ProcessPoolExecutor``'s default on Linux) need ``threads=1``: a forked PyTorch process
            hangs in its first operation on several threads.
        threads: PyTorch's thread count for every run (default: this process's), positive.
        progress: show a ``tqdm`` bar over runs.

    Returns:
        The records ``{"config": ..., "seed": ..., "result": ..., "provenance": ...}`` in grid order
        (configurations outer, seeds inner), loaded ones included; ``"provenance"`` says what ran the run (see
        :func:`~spatialdrop_edu.training.workers.call_run`). A warning names every run made under other
        conditions than this process's (other kernels, threads or PyTorch), whose result may differ from a run
        here.

    Examples::

        >>> score = lambda c, s: {"score": c["a"] + s}
        >>> records = run_study(score, [{"a": 1}, {"a": 2}], [0, 1], progress=False)
        >>> scores = [r["result"]["score"] for r in records]
        >>> scores, records[0]["provenance"]["threads"] >= 1
        ([1, 2, 2, 3], True)
    """
    from .workers import RunContext, call_run, reference

    given, seeds = list(configs), [check_seed(s) for s in seeds]
    configs = [c.to_json() if hasattr(c, "to_json") else dict(c) for c in given]  # what is stored and keyed
    as_given = {json.dumps(c, sort_keys=True): g for c, g in zip(configs, given)}
    context = RunContext.here(threads)
    done = load_runs(path) if path is not None else {}
    todo = [(c, s) for c in configs for s in seeds if run_key(c, s) not in done]
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    expected, warned = reference(context), set()
    total = len(configs) * len(seeds)
    bar = progress_bar(total, "runs", progress, leave=True, initial=total - len(todo))

    def keep(config, seed, outcome):
        result, prov = outcome
        record = {"config": config, "seed": seed, "result": result, "provenance": prov}
        line = json.dumps(record)  # fails before writing if the result is not JSON-serialisable
        if path is not None:
            _append_line(Path(path), line)
        done[run_key(config, seed)] = json.loads(line)
        _warn_differences(config, seed, prov, expected, warned)
        bar.update(1)

    try:
        if executor is None:
            for config, seed in todo:
                keep(config, seed, call_run(run, _given(as_given, config), seed, context))
        else:
            _check_start_method(executor, context.threads)
            jobs = [(config, seed, (call_run, run, _given(as_given, config), seed, context)) for config, seed in todo]
            _run_on(executor, jobs, keep)
    finally:
        bar.close()
    return [done[run_key(c, s)] for c in configs for s in seeds]


def _given(as_given: dict, config: dict):
    """The configuration as the caller gave it (a typed run is passed to ``run`` as it is)."""
    return as_given[json.dumps(config, sort_keys=True)]


def _check_start_method(executor, threads: int) -> None:
    """Refuse what would hang: PyTorch's OpenMP threads do not survive ``fork``, so a forked worker hangs in its
    first operation on more than one thread."""
    context = getattr(executor, "_mp_context", None)  # a ProcessPoolExecutor's start method
    if context is not None and context.get_start_method() == "fork" and threads > 1:
        workers = getattr(executor, "_max_workers", 2)
        raise ValueError(
            f"executor forks its worker processes (ProcessPoolExecutor's default on Linux), and a forked "
            f"PyTorch process hangs in its first operation on several threads: pass threads=1, or an "
            f"executor of fresh processes, such as study_executor({workers}) or ProcessPoolExecutor("
            f"mp_context=multiprocessing.get_context('spawn')); got threads={threads}."
        )


def _warn_differences(config, seed, prov, expected, warned) -> None:
    from .workers import differences

    for why in differences(prov, expected):
        if why not in warned:
            warned.add(why)
            warnings.warn(
                f"a run ran under other conditions than this process ({why}), first "
                f"{run_key(config, seed)}: its result may differ from a run here. Start the workers with "
                "this process's environment (see spatialdrop_edu.reproducible).",
                RuntimeWarning,
                stacklevel=2,
            )


def _run_on(executor, jobs, keep) -> None:
    """Submit every job, ``(config, seed, (fn, *args))``, and keep each outcome as it finishes.

    A failed run stops nothing (an executor cannot always tell a running job from a queued one, so cancelling
    could throw finished work away): the others run and are kept, then the first error is raised. An interrupt
    (or a failure to keep an outcome) stops at once: jobs not finished are cancelled, those finished are kept.
    """
    pending, errors, failed = [], [], 0
    try:
        for config, seed, (fn, *args) in jobs:
            pending.append((executor.submit(fn, *args), config, seed))
        while pending:
            finished = _first_done([future for future, _, _ in pending])
            for item in [item for item in pending if item[0] in finished]:
                pending.remove(item)
                try:
                    outcome = _outcome(item[0])
                except Exception as error:  # noqa: BLE001  raised below, once every other run is kept
                    failed += 1
                    if not any(error is seen for seen in errors):  # a broken pool fails every run with one error
                        errors.append(error)
                    continue
                keep(item[1], item[2], outcome)
    except BaseException:
        for future, config, seed in pending:
            if not _cancel(future) and future.done():
                try:
                    keep(config, seed, _outcome(future))
                except Exception:  # noqa: BLE001  the first error is the one raised
                    pass
        raise
    if errors:
        if failed > 1 and hasattr(errors[0], "add_note"):
            errors[0].add_note(f"{failed} runs failed; every other run was kept.")
        raise errors[0]


def _first_done(futures) -> list:
    """The futures that are done, once at least one is (``concurrent.futures.wait``, else polling ``done()``)."""
    if all(isinstance(f, concurrent.futures.Future) for f in futures):
        done, _ = concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
        return list(done)
    delay = 0.01
    while True:
        done = [f for f in futures if f.done()]
        if done:
            return done
        time.sleep(delay)
        delay = min(2 * delay, 1.0)


def _cancel(future) -> bool:
    cancel = getattr(future, "cancel", None)
    return bool(cancel()) if cancel is not None and not future.done() else False


def _outcome(future):
    try:
        return future.result()
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        if "pickle" not in str(error):
            raise
        raise TypeError(
            f"run could not be sent to the executor's workers ({error}): pass a function of a module, "
            "or functools.partial of one, not a lambda or a function defined in a notebook."
        ) from error
