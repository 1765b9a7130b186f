"""Studies on executors: worker processes and a real Dask cluster give the serial run's results and resume.

A run's result must not depend on where it ran or how many ran at once, and the calling process stays the only
writer of the study's file. The real runs here are the chapter-7 patch classifier, two epochs on five patches per
class (under a second each).
"""

import functools
import json
import logging
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
import torch

from spatialdrop_edu.training import patch_config, patch_trial, run_study, study, study_executor
from spatialdrop_edu.training.study import run_key

TRIAL = functools.partial(patch_trial, device="cpu")
PATCH_CONFIGS = [
    patch_config(epochs=2, train_per_class=5),
    patch_config(epochs=2, train_per_class=5, dropout="spatial", p=0.3),
]
TIMINGS = ("wall_time", "epoch_time")
CONFIGS = [{"a": a} for a in (1, 2, 3)]
SEEDS = [0, 1, 2, 3, 4]


def outcomes(records):
    """What each run computed: its configuration, seed and result, timings aside."""
    return [(r["config"], r["seed"], {k: v for k, v in r["result"].items() if k not in TIMINGS}) for r in records]


def flaky(config, seed, *, log, fail=None):
    """A run that notes every start in ``log`` and fails for the run ``fail`` (``(a, seed)``)."""
    with open(log, "a") as handle:
        handle.write(run_key(config, seed) + "\n")
    time.sleep(0.05)
    if (config["a"], seed) == fail:
        raise RuntimeError("planned failure")
    return {"score": 10 * config["a"] + seed}


def started(log):
    return log.read_text().splitlines() if log.exists() else []


def stored(path):
    return [run_key(r["config"], r["seed"]) for r in map(json.loads, path.read_text().splitlines())]


def tensor_run(config, seed):
    """A run whose last bits depend on ATen's kernels."""
    return {"value": float(torch.randn(256, dtype=torch.float64).exp().sum())}


@pytest.fixture(scope="module")
def serial():
    return run_study(TRIAL, PATCH_CONFIGS, [0, 1], threads=1, progress=False)  # one thread per run: the chapters'


def test_worker_processes_give_the_serial_results(serial, tmp_path):
    with ProcessPoolExecutor(2) as pool:  # the platform's default start method (fork on Linux)
        forked = run_study(TRIAL, PATCH_CONFIGS, [0, 1], tmp_path / "a.jsonl", executor=pool, threads=1, progress=False)
    with study_executor(2) as pool:  # the chapters' pool: fresh (spawned) workers
        spawned = run_study(
            TRIAL, PATCH_CONFIGS, [0, 1], tmp_path / "b.jsonl", executor=pool, threads=1, progress=False
        )
    assert outcomes(forked) == outcomes(serial) and outcomes(spawned) == outcomes(serial)
    assert sorted(stored(tmp_path / "b.jsonl")) == sorted(run_key(c, s) for c in PATCH_CONFIGS for s in (0, 1))
    assert {r["provenance"]["threads"] for r in spawned} == {1}


def test_forked_workers_on_several_threads_are_refused_before_they_hang():
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        with pytest.raises(ValueError, match="threads=1"):
            run_study(TRIAL, PATCH_CONFIGS, [0], executor=pool, threads=2, progress=False)


def interrupt_on_third_wait(monkeypatch):
    """Make the caller's waiting loop raise KeyboardInterrupt (Ctrl-C) at its third wait, runs still in flight."""
    calls, first_done = [], study._first_done

    def interrupted(futures):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return first_done(futures)

    monkeypatch.setattr(study, "_first_done", interrupted)


def check_interrupted_then_resumed(executor, tmp_path, monkeypatch):
    """A parallel study interrupted mid-way keeps what finished; resumed, it runs only the others, each once."""
    path, first_log, second_log = tmp_path / "s.jsonl", tmp_path / "first.log", tmp_path / "second.log"
    every = [run_key(c, s) for c in CONFIGS for s in SEEDS]
    with monkeypatch.context() as patch:
        interrupt_on_third_wait(patch)
        with pytest.raises(KeyboardInterrupt):
            run_study(
                functools.partial(flaky, log=str(first_log)),
                CONFIGS,
                SEEDS,
                path,
                executor=executor,
                threads=1,
                progress=False,
            )
    kept = stored(path)
    assert len(kept) == len(set(kept)) and 2 <= len(kept) < len(every) and set(kept) <= set(every)
    time.sleep(0.5)  # runs cancelled while in flight end on their own; the resumed study must not count them
    records = run_study(
        functools.partial(flaky, log=str(second_log)),
        CONFIGS,
        SEEDS,
        path,
        executor=executor,
        threads=1,
        progress=False,
    )
    assert sorted(started(second_log)) == sorted(set(every) - set(kept))  # only the missing runs, each once
    assert sorted(stored(path)) == sorted(every)  # nothing lost, nothing twice
    assert [r["result"]["score"] for r in records] == [10 * c["a"] + s for c in CONFIGS for s in SEEDS]


def test_an_interrupted_process_pool_study_resumes_without_losing_or_repeating_a_run(tmp_path, monkeypatch):
    with ProcessPoolExecutor(2) as pool:
        check_interrupted_then_resumed(pool, tmp_path, monkeypatch)


def test_a_failing_run_stops_no_other_and_is_the_only_one_to_run_again(tmp_path):
    path, first_log, second_log = tmp_path / "s.jsonl", tmp_path / "first.log", tmp_path / "second.log"
    with ProcessPoolExecutor(2) as pool:
        with pytest.raises(RuntimeError, match="planned failure"):
            run_study(
                functools.partial(flaky, log=str(first_log), fail=(2, 1)),
                CONFIGS,
                SEEDS,
                path,
                executor=pool,
                threads=1,
                progress=False,
            )
        assert sorted(stored(path)) == sorted(run_key(c, s) for c in CONFIGS for s in SEEDS if (c["a"], s) != (2, 1))
        run_study(
            functools.partial(flaky, log=str(second_log)),
            CONFIGS,
            SEEDS,
            path,
            executor=pool,
            threads=1,
            progress=False,
        )
    assert started(second_log) == [run_key({"a": 2}, 1)]


def test_an_interrupt_of_the_caller_keeps_the_finished_runs(tmp_path, monkeypatch):
    path, log = tmp_path / "s.jsonl", tmp_path / "log"
    with ThreadPoolExecutor(2) as pool, monkeypatch.context() as patch:
        interrupt_on_third_wait(patch)
        with pytest.raises(KeyboardInterrupt):
            run_study(functools.partial(flaky, log=str(log)), CONFIGS, SEEDS, path, executor=pool, progress=False)
    kept = stored(path)
    assert len(kept) == len(set(kept)) and set(kept) <= set(started(log))  # not started: cancelled, not stored
    assert len(set(started(log)) - set(kept)) <= 2  # lost: at most the runs in progress, one per worker
    ran = []
    run_study(
        lambda c, s: ran.append(run_key(c, s)) or {"score": 10 * c["a"] + s}, CONFIGS, SEEDS, path, progress=False
    )
    assert sorted(ran + kept) == sorted(run_key(c, s) for c in CONFIGS for s in SEEDS)


def test_a_run_that_cannot_be_sent_to_worker_processes_is_explained():
    with ProcessPoolExecutor(1) as pool:
        with pytest.raises(TypeError, match="functools.partial"):
            run_study(lambda c, s: {}, [{"a": 1}], [0], executor=pool, threads=1, progress=False)


def test_a_worker_started_without_the_pins_gets_them_before_it_chooses_kernels(monkeypatch):
    """Workers that do not inherit the caller's environment: the ATen pin still holds (kernels are chosen at the
    first operation), NumPy's cannot (read at import); the records say so, and so does a warning."""
    if torch.backends.cpu.get_cpu_capability().lower() == "default":
        pytest.skip("this process runs ATen's portable kernels already: a worker pinned to them would not differ")
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    monkeypatch.delenv("NPY_DISABLE_CPU_FEATURES", raising=False)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(os.getpid).result()  # the worker starts without the two variables
        monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")  # the caller's pins, from now on
        monkeypatch.setenv("NPY_DISABLE_CPU_FEATURES", "X86_V4")
        with pytest.warns(RuntimeWarning) as caught:
            record = run_study(tensor_run, [{"a": 1}], [0], executor=pool, threads=1, progress=False)[0]
    prov = record["provenance"]
    assert prov["cpu_capability"] == "default"  # held: set before the worker's first kernel
    assert {"ATEN_CPU_CAPABILITY", "NPY_DISABLE_CPU_FEATURES"} <= set(prov["pins_set_in_worker"])
    assert prov["pins"]["ATEN_CPU_CAPABILITY"] == "default"
    messages = " ".join(str(w.message) for w in caught)
    assert "ATen's default kernels" in messages and "NPY_DISABLE_CPU_FEATURES set after" in messages


@pytest.fixture(scope="module")
def dask_executor():
    """A real Dask cluster on this machine: a scheduler and two worker processes of one thread each."""
    distributed = pytest.importorskip("distributed")
    cloudpickle = pytest.importorskip("cloudpickle")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    )
    client = distributed.Client(cluster)
    try:
        yield client.get_executor()
    finally:
        client.close()
        cluster.close()
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_a_dask_cluster_gives_the_serial_results_and_resumes(serial, dask_executor, tmp_path, monkeypatch):
    records = run_study(
        TRIAL, PATCH_CONFIGS, [0, 1], tmp_path / "d.jsonl", executor=dask_executor, threads=1, progress=False
    )
    assert outcomes(records) == outcomes(serial)
    assert all(r["provenance"]["cpu_capability"] == serial[0]["provenance"]["cpu_capability"] for r in records)
    check_interrupted_then_resumed(dask_executor, tmp_path, monkeypatch)
