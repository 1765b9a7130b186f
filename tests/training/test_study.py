"""Studies: runs saved and resumed losslessly, here or on any executor, each record saying what ran it."""

import json

import pytest
import torch

from spatialdrop_edu.training import (
    mean_ci,
    paired_differences,
    run_study,
    select_best,
    summarize,
)
from spatialdrop_edu.training.study import load_runs, run_key


def fake_run(config, seed):
    return {"score": config["a"] * 10 + seed + 0.5 * (seed % 2), "curve": [seed, config["a"]]}


CONFIGS = [{"a": 1, "name": "x"}, {"a": 2, "name": "y"}, {"a": 3, "name": "z"}]


SEEDS = [0, 1, 2, 3, 4]


class Interrupt(Exception):
    pass


def outcomes(records):
    """What a run computed, without its provenance (which says when it finished)."""
    return [(r["config"], r["seed"], r["result"]) for r in records]


def test_interrupted_study_resumes_with_only_missing_runs(tmp_path):
    full = run_study(fake_run, CONFIGS, SEEDS, tmp_path / "full.jsonl", progress=False)

    path = tmp_path / "study.jsonl"
    calls = []

    def dies_after_k(config, seed, k=7):
        if len(calls) == k:
            raise Interrupt()
        calls.append(run_key(config, seed))
        return fake_run(config, seed)

    with pytest.raises(Interrupt):
        run_study(dies_after_k, CONFIGS, SEEDS, path, progress=False)
    assert len(path.read_text().splitlines()) == 7 and len(load_runs(path)) == 7

    resumed_calls = []

    def counting(config, seed):
        resumed_calls.append(run_key(config, seed))
        return fake_run(config, seed)

    records = run_study(counting, CONFIGS, SEEDS, path, progress=True)
    everything = [run_key(c, s) for c in CONFIGS for s in SEEDS]
    assert resumed_calls == everything[7:]  # only the missing runs ran
    assert not set(resumed_calls) & set(calls)
    assert outcomes(records) == outcomes(full)
    assert summarize(records, "score") == summarize(full, "score")
    assert run_study(counting, CONFIGS, SEEDS, path, progress=False) == records and len(resumed_calls) == 8


def test_half_written_last_line_is_ignored_and_rerun(tmp_path):
    path = tmp_path / "s.jsonl"
    run_study(fake_run, CONFIGS[:1], SEEDS[:2], path, progress=False)
    with open(path, "a") as handle:
        handle.write('{"config": {"a": 1, "name": "x"}, "seed": 2, "res')  # killed while writing
    ran = []
    run_study(lambda c, s: ran.append(s) or fake_run(c, s), CONFIGS[:1], SEEDS[:3], path, progress=False)
    assert ran == [2]


def test_new_settings_are_new_runs(tmp_path):
    path = tmp_path / "s.jsonl"
    run_study(fake_run, [{"a": 1}], [0], path, progress=False)
    ran = []
    run_study(lambda c, s: ran.append(c) or fake_run(c, s), [{"a": 1, "epochs": 5}], [0], path, progress=False)
    assert ran == [{"a": 1, "epochs": 5}]


def test_results_must_be_json_and_configs_seedless(tmp_path):
    with pytest.raises(TypeError):
        run_study(lambda c, s: {"x": object()}, [{"a": 1}], [0], tmp_path / "s.jsonl", progress=False)
    assert not (tmp_path / "s.jsonl").exists() or not (tmp_path / "s.jsonl").read_text()
    with pytest.raises(ValueError, match="seed"):
        run_study(fake_run, [{"a": 1, "seed": 0}], [0], None, progress=False)


def test_summarize_rows_and_paired_differences():
    records = run_study(fake_run, CONFIGS, SEEDS, None, progress=False)
    rows = summarize(records, "score")
    assert [r["name"] for r in rows] == ["x", "y", "z"]
    row = rows[1]
    assert row["values"] == [fake_run(CONFIGS[1], s)["score"] for s in SEEDS] and row["seeds"] == SEEDS
    m, h = mean_ci(row["values"])
    assert (row["mean"], row["half_width"], row["low"], row["high"], row["n"]) == (m, h, m - h, m + h, 5)
    diffs = paired_differences(records, "score", CONFIGS[0])
    assert [d["name"] for d in diffs] == ["y", "z"]
    assert diffs[0]["values"] == [10.0] * 5 and diffs[0]["half_width"] == 0.0  # the seed effect cancels
    assert select_best(rows, "name")["z"]["a"] == 3
    assert select_best(rows, "metric")["score"]["a"] == 3
    assert select_best(rows, "metric", higher_is_better=False)["score"]["a"] == 1
    with pytest.raises(ValueError, match="baseline"):
        paired_differences(records, "score", {"a": 9})


def test_file_is_json_lines_keyed_by_config_and_seed(tmp_path):
    path = tmp_path / "s.jsonl"
    run_study(fake_run, CONFIGS[:2], SEEDS[:2], path, progress=False)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["config"]["a"], r["seed"]) for r in lines] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert lines[0]["result"] == fake_run(CONFIGS[0], 0)


def test_a_torn_last_line_does_not_swallow_the_next_record(tmp_path):
    path = tmp_path / "s.jsonl"
    run_study(fake_run, CONFIGS[:1], SEEDS[:1], path, progress=False)
    with open(path, "a") as handle:
        handle.write('{"config": {"a": 1, "name": "x"}, "seed": 1, "res')  # killed while writing, no newline
    run_study(fake_run, CONFIGS[:1], SEEDS[:3], path, progress=False)
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[1].endswith('"res')  # the torn line stands alone
    assert sorted(r["seed"] for r in load_runs(path).values()) == [0, 1, 2]
    ran = []
    run_study(lambda c, s: ran.append(s) or fake_run(c, s), CONFIGS[:1], SEEDS[:3], path, progress=False)
    assert ran == []  # both new records were found again


def test_every_record_says_what_ran_it(tmp_path):
    path = tmp_path / "s.jsonl"
    record = run_study(fake_run, CONFIGS[:1], SEEDS[:1], path, threads=1, progress=False)[0]
    prov = json.loads(path.read_text())["provenance"]
    assert record["provenance"] == prov
    for key in (
        "device",
        "torch",
        "cpu",
        "cpu_capability",
        "threads",
        "pins",
        "python",
        "spatialdrop_edu",
        "commit",
        "platform",
        "finished",
        "pins_set_in_worker",
    ):
        assert key in prov, key
    assert prov["threads"] == 1 and prov["torch"] == torch.__version__ and prov["device"] is None
    assert prov["cpu_capability"] == torch.backends.cpu.get_cpu_capability().lower()
    assert prov["pins_set_in_worker"] == []  # this process's own pins: nothing to set
    device_run = run_study(lambda c, s: {"device": "cpu"}, [{"a": 1}], [0], progress=False)[0]
    assert device_run["provenance"]["device"] == "cpu"


def test_seeds_and_threads_are_set_inside_each_run():
    def draws(config, seed):
        return {"draw": torch.rand(1).item(), "threads": torch.get_num_threads()}

    before = torch.get_num_threads()
    torch.manual_seed(12345)  # what ran before must not leak into a run
    first = run_study(draws, [{"a": 1}], [0, 1], threads=1, progress=False)
    torch.rand(100)
    second = run_study(draws, [{"a": 1}], [1, 0], threads=1, progress=False)
    assert [r["result"] for r in first] == [r["result"] for r in reversed(second)]
    assert first[0]["result"]["draw"] != first[1]["result"]["draw"] and first[0]["result"]["threads"] == 1
    assert torch.get_num_threads() == before  # the caller's thread count is restored
    with pytest.raises(ValueError, match="threads"):
        run_study(draws, [{"a": 1}], [0], threads=0, progress=False)


class Job:
    """A future that is not a ``concurrent.futures.Future`` (as submitit's jobs): ``done()`` and ``result()``."""

    def __init__(self, queue, fn, args):
        self.queue, self.fn, self.args, self.value = queue, fn, args, None
        queue.append(self)

    def done(self):  # the jobs finish in reverse order of submission, one per look
        if self.value is None and self.queue and self.queue[-1] is self:
            self.value = self.fn(*self.args)
            self.queue.pop()
        return self.value is not None

    def result(self):
        while not self.done():
            pass
        return self.value


class LastFirstExecutor:
    def __init__(self):
        self.queue = []

    def submit(self, fn, *args):
        return Job(self.queue, fn, args)


def test_any_executor_with_submit_and_futures_in_any_order(tmp_path):
    serial = run_study(fake_run, CONFIGS, SEEDS, None, progress=False)
    path = tmp_path / "s.jsonl"
    records = run_study(fake_run, CONFIGS, SEEDS, path, executor=LastFirstExecutor(), progress=False)
    assert outcomes(records) == outcomes(serial)  # grid order, whatever the order of completion
    written = [(r["config"]["a"], r["seed"]) for r in map(json.loads, path.read_text().splitlines())]
    assert written == [(c["a"], s) for c in CONFIGS for s in SEEDS][::-1]  # appended as they finished
    ran = []
    run_study(lambda c, s: ran.append(s), CONFIGS, SEEDS, path, executor=LastFirstExecutor(), progress=False)
    assert ran == []


def test_runs_of_other_conditions_are_named_in_a_warning(monkeypatch):
    from spatialdrop_edu.training import workers

    call_run = workers.call_run

    def other_kernels(run, config, seed, context):
        result, prov = call_run(run, config, seed, context)
        return result, {**prov, "cpu_capability": "other", "pins_set_in_worker": ["NPY_DISABLE_CPU_FEATURES"]}

    monkeypatch.setattr(workers, "call_run", other_kernels)
    with pytest.warns(RuntimeWarning) as caught:
        run_study(fake_run, CONFIGS[:1], SEEDS[:3], progress=False)
    messages = sorted(str(w.message) for w in caught if issubclass(w.category, RuntimeWarning))
    assert len(messages) == 2  # once each, not once per run
    assert "ATen's other kernels" in messages[0] and "NPY_DISABLE_CPU_FEATURES set after" in messages[1]
