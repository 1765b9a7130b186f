"""Studies: t quantiles against published values, intervals by the formula, runs saved and resumed losslessly."""

import json
import math

import pytest
import torch

from spatialdrop_edu.training import (
    chosen_on_validation,
    mean_ci,
    paired_difference,
    paired_differences,
    run_study,
    select_best,
    summarize,
    t_quantile,
)
from spatialdrop_edu.training.study import load_runs, run_key, t_cdf

# Two-sided 95% critical values t_{0.975, df}, from any printed table of Student's t
T975 = {
    1: 12.706,
    2: 4.303,
    3: 3.182,
    4: 2.776,
    5: 2.571,
    9: 2.262,
    10: 2.228,
    19: 2.093,
    29: 2.045,
    30: 2.042,
    60: 2.000,
    120: 1.980,
}


@pytest.mark.parametrize("df, value", sorted(T975.items()))
def test_t_quantile_matches_tables(df, value):
    assert t_quantile(0.975, df) == pytest.approx(value, abs=1e-3)


def test_t_quantile_matches_scipy_and_inverts_cdf():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 3.5, 4, 7, 15, 50, 1000):
        for q in (0.005, 0.1, 0.5, 0.9, 0.975, 0.995):
            assert t_quantile(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-7, abs=1e-9)
            assert t_cdf(t_quantile(q, df), df) == pytest.approx(q, abs=1e-10)
    assert t_quantile(0.975, 10**6) == pytest.approx(1.959964, abs=1e-5)  # the normal limit


def test_t_quantile_rejects_bad_input():
    with pytest.raises(ValueError, match="q"):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="df"):
        t_cdf(1.0, 0)


def test_mean_ci_is_the_formula():
    values = [0.61, 0.58, 0.66, 0.63, 0.60, 0.64]
    n, mean = len(values), sum(values) / len(values)
    s = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    m, half = mean_ci(values)
    assert m == pytest.approx(mean) and half == pytest.approx(2.5706 * s / math.sqrt(n), rel=1e-4)
    assert mean_ci(values, level=0.99)[1] == pytest.approx(4.0321 * s / math.sqrt(n), rel=1e-4)
    assert math.isnan(mean_ci([0.5])[1]) and mean_ci([0.5, 0.5]) == (0.5, 0.0)
    with pytest.raises(ValueError):
        mean_ci([])


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


def test_rows_keep_their_configuration_and_pair_by_seed():
    recs = [
        {"config": {"p": p}, "seed": s, "result": {"acc": 0.5 + p + 0.01 * s * (1 + p)}}
        for p in (0.0, 0.5)
        for s in (0, 1, 2, 3)
    ]
    rows = summarize(recs, "acc")
    assert [r["config"] for r in rows] == [{"p": 0.0}, {"p": 0.5}]
    m, h = paired_difference(rows[0], rows[1])
    diffs = [0.5 + 0.005 * s for s in range(4)]
    assert m == pytest.approx(sum(diffs) / 4) and h == pytest.approx(mean_ci(diffs)[1])
    # only shared seeds count, in any order
    shuffled = {**rows[1], "seeds": [3, 2, 1, 0, 9], "values": rows[1]["values"][::-1] + [5.0]}
    assert paired_difference(rows[0], shuffled) == pytest.approx((m, h))
    with pytest.raises(ValueError, match="share at least two seeds"):
        paired_difference(rows[0], {"seeds": [0, 7], "values": [0.1, 0.2]})


def test_a_verdict_needs_the_whole_interval_on_one_side_of_zero():
    from spatialdrop_edu.training import verdict

    assert verdict({"low": 1e-9, "high": 1.0}) == "better" and verdict({"low": -1.0, "high": -1e-9}) == "worse"
    assert verdict({"low": 0.0, "high": 1.0}) == verdict({"low": -1.0, "high": 0.0}) == "within the noise"


def test_chosen_on_validation_lets_only_the_validation_metric_choose():
    """The test set scores the choice and never makes it: a rate that is best on test but not on validation is not
    chosen; the baseline is kept as it is; every variant chooses on its own."""
    table = [  # variant, rate, validation, test
        ("none", 0.0, 0.40, 0.40),
        ("a", 0.1, 0.70, 0.90),
        ("a", 0.3, 0.80, 0.60),
        ("b", 0.1, 0.50, 0.50),
        ("b", 0.3, 0.45, 0.70),
    ]
    records = [
        {"config": {"dropout": d, "p": p}, "seed": s, "result": {"val": v + s / 100, "test": t + s / 100}}
        for d, p, v, t in table
        for s in range(3)
    ]
    best = chosen_on_validation(records, "val", "test")
    assert {v: r["p"] for v, r in best.items()} == {"none": 0.0, "a": 0.3, "b": 0.1}
    assert best["a"]["metric"] == "test" and best["a"]["values"] == pytest.approx([0.60, 0.61, 0.62])
    on_test = chosen_on_validation(records, "test", "test")
    assert on_test["a"]["p"] == 0.1 and on_test["b"]["p"] == 0.3


def test_p_value_is_scipys_paired_t_test_and_agrees_with_the_interval():
    from scipy import stats

    from spatialdrop_edu.training import p_value, verdict

    rng = torch.Generator().manual_seed(0)
    for _ in range(20):
        values = (torch.randn(8, generator=rng) * 0.02 + 0.01).tolist()
        assert p_value({"values": values}) == pytest.approx(stats.ttest_1samp(values, 0.0).pvalue, rel=1e-9)
        mean, half = mean_ci(values)
        resolved = verdict({"low": mean - half, "high": mean + half}) != "within the noise"
        assert resolved == (p_value({"values": values}) < 0.05)
    with pytest.raises(ValueError, match="at least two"):
        p_value({"values": [0.1]})


def test_holm_resolves_a_subset_of_the_raw_verdicts_and_one_comparison_alone():
    """Holm never resolves what the uncorrected intervals leave open; with one comparison it is the interval's
    verdict; it resolves by the smallest p-values first and stops at the first that fails its threshold."""
    from spatialdrop_edu.training import holm, verdict

    rng = torch.Generator().manual_seed(1)
    family = []
    for shift in (0.03, 0.02, 0.01, 0.0, -0.01, -0.03):
        values = (torch.randn(10, generator=rng) * 0.02 + shift).tolist()
        mean, half = mean_ci(values)
        family.append({"values": values, "low": mean - half, "high": mean + half})
    corrected = holm(family)
    raw = [verdict(r) for r in family]
    assert all(c == "within the noise" or c == r for c, r in zip(corrected, raw))
    assert corrected.count("within the noise") >= raw.count("within the noise")
    assert all(holm([r]) == [verdict(r)] for r in family)
    with pytest.raises(ValueError, match="alpha"):
        holm(family, alpha=1.5)
