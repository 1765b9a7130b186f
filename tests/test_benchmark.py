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


def test_quick_run_reports_every_layer_against_its_references(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert run_bench("--quick", "--rounds", "2", "--threshold", "1000", "--out", str(out)) == 0
    report = json.loads(out.read_text())
    assert report["within_threshold"] is True and report["rounds"] == 2
    assert report["machine"]["torch"] and report["machine"]["cpu_capability"]
    rows = report["results"]
    assert {r["operation"] for r in rows} == {
        "Dropout",
        "SpatialDropout1d",
        "SpatialDropout2d",
        "SpatialDropout3d",
        "DropBlock2d",
    }
    assert {r["mode"] for r in rows} == {"forward", "forward+backward"}
    for r in rows:
        assert r["ratio"][r["fastest_reference"]] == 1.0 and "ours" in r["ratio"] and "naive" in r["ratio"]
        assert r["timing"].startswith("1 thread, pinned") and set(r["interval"]) == set(r["verdict"]) == set(r["ms"])
        assert r["warnings"] == []  # one thread, CPU time: waiting is neither counted nor a reason to doubt
        assert all(v > 0 for v in r["ratio"].values())
        assert set(r["extra_bytes"]) == set(r["ms"])
    dropblock = next(r for r in rows if r["operation"] == "DropBlock2d")
    assert "paper (Algorithm 1)" in dropblock["ratio"]
    for name in ("torchvision", "timm"):  # either compared or skipped with its reason, never silently absent
        assert name in dropblock["ratio"] or dropblock["skipped"][name]
    printed = capsys.readouterr().out
    assert "× fastest ref" in printed and "worst median ratio" in printed and "timing: 1 thread, pinned" in printed


def test_only_a_ratio_resolved_above_the_threshold_fails():
    """A threshold between the median ratio and the top of its interval is not a failure: the run cannot tell."""
    judge = runpy.run_path(str(SCRIPT), run_name="bench")["judge"]
    row = lambda ratio, low, high: {"ratio": {"ours": ratio}, "interval": {"ours": [low, high]}}  # noqa: E731
    assert judge([row(1.0, 0.9, 1.1), row(1.05, 1.0, 1.1)], 1.10) == ("within", [])
    assert judge([row(1.0, 0.9, 1.1), row(1.2, 1.05, 1.4)], 1.10) == ("unresolved", [])
    failing = row(1.2, 1.15, 1.3)
    assert judge([row(1.0, 0.9, 1.1), failing], 1.10) == ("above", [failing])


def test_a_ratio_above_the_threshold_fails_the_run(tmp_path):
    assert run_bench("--quick", "--rounds", "1", "--threshold", "0", "--out", str(tmp_path / "b.json")) == 1


def test_bad_rounds_and_threads_are_refused(tmp_path):
    assert run_bench("--rounds", "0", "--out", str(tmp_path / "b.json")) == 2
    assert run_bench("--threads", "0", "--out", str(tmp_path / "b.json")) == 2
