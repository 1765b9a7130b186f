"""What every checker shares for grading: reference answers are not answers, and a pass reports itself.

* A reference answer the checkers keep (public or private) refuses to answer while the learner's
  code runs: passed to its own checker, or called from a learner's function, it fails with
  feedback; anywhere else it answers as written (the chapters plot with some of them).
* Every checker is a probe and a judge: armed by the grader, it sends what its probe saw, and the
  grader's own judge of that report decides; tampering with the learner's interpreter changes
  nothing the grader judges, and a malformed report never passes.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
import torch

from spatialdrop_edu import checks
from spatialdrop_edu.checks import ExerciseFailure, _judging, _verdict, ch06_train_mnist1d, ch08_unet_copycat

CHECKS_DIR = Path(checks.__file__).parent

#: (checker, the package's reference as an answer): each reference answer that has a checker of its own.
REFERENCES = {
    "dropout_variance_reference": (checks.check_dropout_variance, checks.dropout_variance_reference),
    "average_variance_reference": (checks.check_average_variance, checks.average_variance_reference),
    "injected_variance_reference": (checks.check_injected_variance, checks.injected_variance_reference),
    "reference_block_mask": (
        checks.check_block_mask,
        lambda s, b: torch.as_tensor(checks.reference_block_mask(s.numpy() > 0, b)).float(),
    ),
    "variance_shift": (checks.check_variance_shift, checks.variance_shift),
    "_truth": (checks.check_is_noise, ch06_train_mnist1d._truth),
    "_formula": (checks.check_psnr, ch08_unet_copycat._formula),
}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_a_reference_answer_passed_to_its_checker_fails(name):
    check, answer = REFERENCES[name]
    with pytest.raises(ExerciseFailure, match=f"called the package's reference answer {name}: write your own"):
        check(answer)


def test_a_function_that_calls_a_reference_fails_too():
    with pytest.raises(ExerciseFailure, match="reference answer dropout_variance_reference"):
        checks.check_dropout_variance(lambda a, p: 1.0 * checks.dropout_variance_reference(a, p))


def test_references_answer_as_written_outside_a_checker():
    assert checks.dropout_variance_reference(2.0, 0.5) == 4.0
    assert checks.average_variance_reference(1.0, 0.5, 9, 0.0) == pytest.approx(1 / 9)
    assert not hasattr(checks.variance_shift, "__wrapped__")  # the unguarded function is not one attribute away
    assert inspect.unwrap(checks.variance_shift) is checks.variance_shift


@pytest.mark.parametrize(
    "reference",
    [
        checks.dropout_variance_reference,
        checks.average_variance_reference,
        checks.injected_variance_reference,
        checks.reference_block_mask,
        checks.variance_shift,
        ch06_train_mnist1d._truth,
        ch08_unet_copycat._formula,
    ],
    ids=lambda f: f.__name__,
)
def test_references_show_their_own_parameters(reference):
    parameters = list(inspect.signature(reference).parameters)
    assert parameters and not {"args", "kwargs"} & set(parameters), parameters


def test_every_checker_is_a_probe_and_a_judge_joined_by_run_check():
    """Each public ``check_x`` of a chapter module is one call ``run_check(probe_x, judge_x, ...)`` after its docstring;
    ``probe_x`` and ``judge_x`` are defined beside it; no chapter module prints a ``Correct:`` line or calls ``passed``
    itself, and every judge returns one: the grader can run the judge alone, outside the learner's interpreter."""
    checkers = 0
    for path in sorted(CHECKS_DIR.glob("ch*.py")):
        tree = ast.parse(path.read_text())
        defined = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "passed", f"{path.name}: {ast.unparse(node)}"
                if node.func.id == "print":
                    assert "Correct" not in ast.unparse(node), f"{path.name}: {ast.unparse(node)}"
        for name, func in defined.items():
            if not name.startswith("check_"):
                continue
            suffix = name.removeprefix("check_")
            body = func.body[1:] if ast.get_docstring(func) else func.body
            assert len(body) == 1, f"{path.name}: {name} does more than run_check"
            call = body[0].value
            assert ast.unparse(call.func) == "run_check", f"{path.name}: {name}"
            assert [ast.unparse(a) for a in call.args[:2]] == [f"probe_{suffix}", f"judge_{suffix}"], name
            judge = defined[f"judge_{suffix}"]
            assert f"probe_{suffix}" in defined, name
            returns = [r for r in ast.walk(judge) if isinstance(r, ast.Return) and r.value is not None]
            assert any("Correct" in ast.unparse(r.value) for r in returns), (
                f"{name}: its judge returns no Correct: line"
            )
            checkers += 1
    assert checkers >= 26  # one per exercise checker


def right_variance(a, p):
    return a * a * p / (1 - p)


def test_an_armed_check_sends_its_probes_data_and_the_graders_judge_agrees(published, capsys):
    _verdict.arm("ex-01-2-check", "n0nce", 11)
    checks.check_dropout_variance(right_variance)
    line = capsys.readouterr().out.strip()
    (data,) = published
    record = data[_verdict.MIME]
    assert {k: record[k] for k in ("grade_id", "nonce", "checker")} == {
        "grade_id": "ex-01-2-check",
        "nonce": "n0nce",
        "checker": "check_dropout_variance",
    }
    judged = _judging.judge_report(record["checker"], record["data"], 11)
    assert judged == _judging.Judgement(True, line) and line.startswith("Correct: Var = a² p / (1 - p)")


def test_a_wrong_answer_gets_the_same_feedback_from_the_graders_judge(published):
    _verdict.arm("ex-01-2-check", "n0nce", 11)
    with pytest.raises(ExerciseFailure) as failure:
        checks.check_dropout_variance(lambda a, p: a * p)
    record = published[0][_verdict.MIME]
    assert _judging.judge_report(record["checker"], record["data"], 11) == _judging.Judgement(False, str(failure.value))


def test_nothing_is_published_unarmed(published, capsys):
    checks.check_dropout_variance(right_variance)  # a learner's own kernel
    assert published == [] and capsys.readouterr().out.startswith("Correct:")


def test_the_graders_seed_draws_new_inputs_and_none_keeps_the_learners(published):
    """The points of exercise 1.2 come from the seed: an answer that stored the learner's points fails while graded."""
    learner = {(1.0, 0.5): 1.0, (2.0, 0.2): 1.0, (3.0, 0.9): 81.0, (-1.5, 0.1): 0.25, (0.0, 0.3): 0.0}
    stored = lambda a, p: learner[(a, p)]  # noqa: E731
    checks.check_dropout_variance(stored)  # right for the learner's own points
    for seed in (1, 2, 3):
        _verdict.arm("ex-01-2-check", "n0nce", seed)
        with pytest.raises(ExerciseFailure, match="raised KeyError"):
            checks.check_dropout_variance(stored)
        checks.check_dropout_variance(right_variance)
    assert len({str(p[_verdict.MIME]["data"]) for p in published[1::2]}) == 3  # three seeds, three sets of points


def test_tampering_in_the_learners_interpreter_does_not_change_the_graders_verdict(published, monkeypatch):
    """What a submission can change in its own interpreter (the checkers' ``fail``, ``math.isclose``) can make the
    kernel print a pass; the report it sends is judged by the grader's own, untouched modules."""
    import math

    from spatialdrop_edu.checks import ch01_dropout

    monkeypatch.setattr(ch01_dropout, "fail", lambda message: None)
    monkeypatch.setattr(math, "isclose", lambda *a, **k: True)
    _verdict.arm("ex-01-2-check", "n0nce", 5)
    checks.check_dropout_variance(lambda a, p: 0.0)  # the tampered kernel lets it through
    record = published[0][_verdict.MIME]
    monkeypatch.undo()  # the grader's process
    judged = _judging.judge_report(record["checker"], record["data"], 5)
    assert not judged.passed and "you returned 0" in judged.message


@pytest.mark.parametrize(
    "data, why",
    [
        ({"calls": "all right"}, "not what its probe writes"),
        ({"calls": [{"value": {"ndarray": "!!", "dtype": "float64", "shape": [1]}}]}, "could not be read"),
        ({"calls": [{"value": {"ndarray": "AAAA", "dtype": "object", "shape": [1]}}]}, "could not be read"),
        ({"calls": [{"value": {"ndarray": "AAAAAAAAAAA=", "dtype": "float64", "shape": [99]}}]}, "could not be read"),
        ({"calls": []}, "not what its probe writes"),
    ],
)
def test_a_malformed_report_never_passes(data, why):
    judged = _judging.judge_report("check_dropout_variance", data, 3)
    assert not judged.passed and judged.malformed and why in judged.message


def test_a_report_for_no_package_checker_is_malformed():
    judged = _judging.judge_report("check_made_up", {}, 1)
    assert judged.malformed and not judged.passed
    assert _judging.judge_of("print") is None and _judging.judge_of("check_dropout_variance") is not None


def test_a_replaced_checker_sends_nothing(published, capsys):
    """A checker replaced by the learner's own function can print a ``Correct:`` line; it sends no report."""
    from spatialdrop_edu.checks._harness import passed

    def check_dropout_variance(fn):
        passed("Correct: trust me")

    _verdict.arm("ex-01-2-check", "n0nce", 1)
    check_dropout_variance(None)
    assert published == [] and "trust me" in capsys.readouterr().out


def test_reports_carry_plain_data_only():
    with pytest.raises(TypeError, match="plain data only"):
        _verdict.encode({"fn": print})
    with pytest.raises(TypeError, match="keys must be strings"):
        _verdict.encode({1: 2})
    tree = {"a": [1, 2.5, float("inf"), None, True, "s"], "x": torch.arange(6).reshape(2, 3)}
    back = _verdict.decode(_verdict.encode(tree))
    assert back["a"] == [1, 2.5, float("inf"), None, True, "s"] and back["x"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert not back["x"].flags.writeable
    big = {"ndarray": "A" * (_verdict.MAX_ARRAY_BYTES * 4 // 3 + 8), "dtype": "uint8", "shape": [1]}
    with pytest.raises(_verdict.MalformedReport, match="MiB"):
        _verdict.decode(big)
    deep = []
    for _ in range(_verdict.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(_verdict.MalformedReport, match="deeper"):
        _verdict.decode(deep)
