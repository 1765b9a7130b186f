"""The benchmark script: its report and its exit status (timings themselves are not asserted here)."""

import json
import runpy
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "bench_dropout.py"


def run_bench(*args):
    argv = sys.argv
    sys.argv = [str(SCRIPT), *args]
    try:
        with pytest.raises(SystemExit) as exit_info:
            runpy.run_path(str(SCRIPT), run_name="__main__")
    finally:
        sys.argv = argv
    return exit_info.value.code


def test_quick_run_reports_a_median_ratio_per_shape(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert run_bench("--quick", "--rounds", "2", "--threshold", "1000", "--out", str(out)) == 0
    report = json.loads(out.read_text())
    assert report["within_threshold"] is True and report["rounds"] == 2
    assert [r["spatial_dims"] for r in report["results"]] == [2, 1, 3]
    for r in report["results"]:
        assert set(r["median_ratio"]) == {"ours", "ours_channels_last", "naive"}
        assert all(v > 0 for v in r["median_ratio"].values())
    assert "ours/native" in capsys.readouterr().out


def test_a_ratio_above_the_threshold_fails_the_run(tmp_path):
    assert run_bench("--quick", "--rounds", "1", "--threshold", "0", "--out", str(tmp_path / "b.json")) == 1


def test_bad_rounds_are_refused(tmp_path):
    assert run_bench("--rounds", "0", "--out", str(tmp_path / "b.json")) == 2
