"""What every checker shares for grading: reference answers are not answers, and a pass reports itself.

* A reference answer the checkers keep (public or private) refuses to answer while the learner's
  code runs: passed to its own checker, or called from a learner's function, it fails with
  feedback; anywhere else it answers as written (the chapters plot with some of them).
* Every ``Correct:`` line comes from :func:`~spatialdrop_edu.checks._harness.passed`, called by the
  ``check_*`` function itself, so the grader's verdict message names the checker.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from spatialdrop_edu import checks
from spatialdrop_edu.checks import ExerciseFailure, _verdict, ch06_train_mnist1d, ch08_unet_copycat

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


def test_every_correct_line_is_reported_by_the_checker_itself():
    """Each ``passed(...)`` call sits directly in a ``check_*`` function (not in a helper or a nested function), and
    no checker prints its ``Correct:`` line any other way: the verdict message then names the checker."""
    calls = 0
    for path in sorted(CHECKS_DIR.glob("ch*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                text = ast.unparse(node)
                assert "Correct" not in text, f"{path.name}: {text}"
        for func in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
            inner = {
                id(n)
                for sub in ast.walk(func)
                if sub is not func and isinstance(sub, (ast.FunctionDef, ast.Lambda))
                for n in ast.walk(sub)
            }
            for node in ast.walk(func):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "passed":
                    assert func.name.startswith("check_") and id(node) not in inner, f"{path.name}: {func.name}"
                    calls += 1
    assert calls >= 26  # one per exercise checker at least


@pytest.fixture
def published(monkeypatch):
    """The verdict messages a checker publishes, caught where IPython would send them to the grader."""
    import IPython.display

    sent = []
    monkeypatch.setattr(IPython.display, "publish_display_data", lambda data, **kw: sent.append(data))
    yield sent
    _verdict.disarm()


def test_an_armed_pass_publishes_a_verdict_naming_the_checker(published, capsys):
    _verdict.arm("ex-01-2-check", "n0nce")
    checks.check_dropout_variance(lambda a, p: a * a * p / (1 - p))
    assert capsys.readouterr().out.startswith("Correct: Var = a² p / (1 - p)")
    (data,) = published
    record = data[_verdict.MIME]
    assert record == {
        "grade_id": "ex-01-2-check",
        "nonce": "n0nce",
        "checker": "check_dropout_variance",
        "module": "spatialdrop_edu.checks.ch01_dropout",
        "message": record["message"],
    }
    assert record["message"].startswith("Correct: Var")


def test_nothing_is_published_unarmed_or_on_a_wrong_answer(published, capsys):
    checks.check_dropout_variance(lambda a, p: a * a * p / (1 - p))  # not armed: a learner's own kernel
    _verdict.arm("ex-01-2-check", "n0nce")
    with pytest.raises(ExerciseFailure):
        checks.check_dropout_variance(lambda a, p: a * p)
    _verdict.disarm()
    checks.check_dropout_variance(lambda a, p: a * a * p / (1 - p))
    assert published == []
    assert capsys.readouterr().out.count("Correct:") == 2


def test_the_verdict_record_names_a_replacement_for_what_it_is(published):
    """A checker replaced by the learner's own function that calls ``passed`` is reported under its own name and
    module (``__main__`` in a notebook), which the grader does not accept for ``check_dropout_variance``."""
    from spatialdrop_edu.checks._harness import passed

    def check_dropout_variance(fn):
        passed("Correct: trust me")

    _verdict.arm("ex-01-2-check", "n0nce")
    check_dropout_variance(None)
    record = published[0][_verdict.MIME]
    assert record["checker"] == "check_dropout_variance" and record["module"] == __name__
