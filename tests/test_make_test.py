"""`make test`'s stages (tools/make_test.py): the same checks as its targets, side by side where planned, each step
timed, a failure reported in the table and stopping the later stages."""

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("make_test", ROOT / "tools" / "make_test.py")
make_test = importlib.util.module_from_spec(spec)
sys.modules["make_test"] = make_test  # dataclasses look their module up by name
spec.loader.exec_module(make_test)


def steps(plan):
    return [step for stage in plan for lane in stage for step in lane.steps]


def test_the_plan_runs_every_check_once():
    targets = [" ".join(step.args) for step in steps(make_test.stages())]
    assert sorted(targets) == sorted(
        [
            "lint",
            "book",
            "book EDITION=student",
            "unit",
            "fingerprint-check",
            "notebooks",
            "notebooks-lax",
            "browser-test",
        ]
    )
    makefile = (ROOT / "Makefile").read_text()
    for target in {step.args[0] for step in steps(make_test.stages())}:
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), target
    assert re.search(r"^test: .*\n\t\$\(PY\) tools/make_test.py$", makefile, re.M)


def test_the_websites_are_built_before_the_tests_that_read_them_and_the_lax_run_yields():
    plan = make_test.stages()
    stage_of = {step.name: number for number, stage in enumerate(plan) for lane in stage for step in lane.steps}
    assert stage_of["book"] == stage_of["book-student"] < stage_of["unit"] < stage_of["notebooks"]
    assert [s.name for s in plan[stage_of["unit"]][0].steps] == ["unit"]  # nothing beside the sandboxes' kernels
    lanes = {lane.steps[0].name: [s.name for s in lane.steps] for lane in plan[stage_of["notebooks"]]}
    assert lanes == {
        "fingerprint-check": ["fingerprint-check", "notebooks"],  # the fingerprint says why before nbval fails
        "notebooks-lax": ["notebooks-lax", "browser"],  # the browser where the lax run leaves the cores
    }
    (lax,) = [step for step in steps(plan) if step.name == "notebooks-lax"]
    assert lax.nice == 19  # beside the strict run, at the lowest priority
    assert all(step.nice == 0 for step in steps(plan) if step is not lax)


@pytest.fixture
def fake_make(tmp_path, monkeypatch):
    """A `make` that prints its arguments and fails for the target named `broken`."""
    script = tmp_path / "make"
    script.write_text('#!/bin/sh\necho "made $*"\ncase "$*" in *broken*) exit 3;; esac\n')
    script.chmod(0o755)
    monkeypatch.setattr(make_test, "MAKE", str(script))


def test_every_step_is_timed_and_the_table_ends_the_log(fake_make, monkeypatch, capsys):
    plan = [
        [make_test.Lane([make_test.Step("a", ["a"])]), make_test.Lane([make_test.Step("b", ["b"], nice=19)])],
        [make_test.Lane([make_test.Step("c", ["c"])])],
    ]
    monkeypatch.setattr(make_test, "stages", lambda: plan)
    assert make_test.main([]) == 0
    out = capsys.readouterr().out
    assert "[a] made --no-print-directory a" in out and "[b] made --no-print-directory b" in out  # side by side
    assert "made --no-print-directory c" in out
    table = out.split("make test: where the time went\n")[1].splitlines()
    assert table[0].split() == ["stage", "step", "lane", "wall", "result"]
    rows = {line.split()[1]: line for line in table[2:-1]}
    assert set(rows) == {"a", "b", "c"} and all(row.rstrip().endswith("passed") for row in rows.values())
    assert "(nice 19)" in rows["b"] and re.search(r"\d+\.\d min", rows["c"])
    assert table[-1].split()[0] == "make" and table[-1].strip().endswith("min")


def test_a_failed_step_is_in_the_table_and_stops_what_comes_after(fake_make, monkeypatch, capsys):
    plan = [
        [
            make_test.Lane([make_test.Step("first", ["broken"]), make_test.Step("second", ["x"])]),
            make_test.Lane([make_test.Step("beside", ["y"])]),
        ],
        [make_test.Lane([make_test.Step("later", ["z"])])],
    ]
    monkeypatch.setattr(make_test, "stages", lambda: plan)
    assert make_test.main([]) == 1
    table = capsys.readouterr().out.split("where the time went\n")[1]
    assert re.search(r"first .* FAILED \(exit 3\)", table)
    assert re.search(r"second .* not run \(an earlier step of its lane failed\)", table)
    assert re.search(r"beside .* passed", table)  # the lane beside it finishes
    assert re.search(r"later .* not run \(an earlier stage failed\)", table)


def test_dry_run_prints_the_plan_and_runs_nothing(monkeypatch, capsys):
    monkeypatch.setattr(make_test, "MAKE", "/nonexistent/make")
    assert make_test.main(["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "notebooks-lax" in out and "not run" in out
