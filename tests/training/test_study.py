"""Studies: t quantiles against published values, intervals by the formula, runs saved and resumed losslessly."""

import json
import math

import pytest

from spatialdrop_edu.training import mean_ci, paired_differences, run_study, select_best, summarize, t_quantile
from spatialdrop_edu.training.study import load_runs, run_key, t_cdf

# Two-sided 95% critical values t_{0.975, df}, from any printed table of Student's t
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 9: 2.262, 10: 2.228, 19: 2.093, 29: 2.045, 30: 2.042,
        60: 2.000, 120: 1.980}


@pytest.mark.parametrize("df, value", sorted(T975.items()))
def test_t_quantile_matches_tables(df, value):
    assert t_quantile(0.975, df) == pytest.approx(value, abs=1e-3)


def test_t_quantile_matches_scipy_and_inverts_cdf():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 3.5, 4, 7, 15, 50, 1000):
        for q in (0.005, 0.1, 0.5, 0.9, 0.975, 0.995):
            assert t_quantile(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-7, abs=1e-9)
            assert t_cdf(t_quantile(q, df), df) == pytest.approx(q, abs=1e-10)
    assert t_quantile(0.975, 10**6) == pytest.approx(1.959964, abs=1e-5)   # the normal limit


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
    assert resumed_calls == everything[7:]                     # only the missing runs ran
    assert not set(resumed_calls) & set(calls)
    assert records == full
    assert summarize(records, "score") == summarize(full, "score")
    assert run_study(counting, CONFIGS, SEEDS, path, progress=False) == full and len(resumed_calls) == 8


def test_half_written_last_line_is_ignored_and_rerun(tmp_path):
    path = tmp_path / "s.jsonl"
    run_study(fake_run, CONFIGS[:1], SEEDS[:2], path, progress=False)
    with open(path, "a") as handle:
        handle.write('{"config": {"a": 1, "name": "x"}, "seed": 2, "res')   # killed while writing
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
    assert diffs[0]["values"] == [10.0] * 5 and diffs[0]["half_width"] == 0.0   # the seed effect cancels
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
