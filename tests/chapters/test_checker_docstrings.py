"""A checker's docstring says what is checked, never what the answer is.

A learner reads it in Jupyter (``checks.check_inverted_dropout?``), so it describes the inputs the checker uses, the
properties it measures and their bounds, and shows, if anything, a wrong answer being caught. The rule is mechanical,
for every public ``check_*`` function of every chapter module (``spatialdrop_edu/checks/ch*.py``):

1. The docstring never contains ``Correct:``, the line a checker prints on a right answer
   (:func:`~spatialdrop_edu.checks._harness.passed`): no example shows an answer passing.
2. Every doctest example (``>>>``) that calls a checker expects an ``ExerciseFailure``: its expected output is a
   traceback whose exception is the checker's feedback. Any ``def``, ``lambda`` or ``class`` handed to a checker in
   an example is therefore a wrong answer being caught.
3. Every other example is an import, or defines a name (``def``, ``class``, ``name = ...``) that a later checker call
   of the same docstring uses, so that it falls under rule 2. An example cannot show a helper computing the answer
   (``>>> variance(1.0, 0.5)`` followed by its value).
4. The docstring names its exercise first ("Exercise 1.1: ...") and keeps the PyTorch-style layout: ``Args:``,
   ``Raises:``, ``Examples::``.

That every example really fails as written is checked by running the doctests (``--doctest-modules spatialdrop_edu``,
as ``make unit`` does): a right answer there would print ``Correct:`` where the example expects a traceback.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
import re
from pathlib import Path

import pytest

from spatialdrop_edu import checks

CHECKS_DIR = Path(checks.__file__).parent
FAILURE = "spatialdrop_edu.checks._harness.ExerciseFailure:"


def chapter_checkers():
    """(module name, function name, function) of every public ``check_*`` function defined in a chapter module."""
    found = []
    for path in sorted(CHECKS_DIR.glob("ch*.py")):
        module = importlib.import_module(f"spatialdrop_edu.checks.{path.stem}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("check_") and fn.__module__ == module.__name__:
                found.append((path.stem, name, fn))
    return found


CHECKERS = chapter_checkers()
IDS = [f"{module}.{name}" for module, name, _ in CHECKERS]


def test_every_chapter_checker_is_covered():
    assert len(CHECKERS) >= 26  # one per exercise with a checker at least
    assert {module for module, _, _ in CHECKERS} == {p.stem for p in CHECKS_DIR.glob("ch*.py")}


def examples(doc: str) -> list[doctest.Example]:
    return doctest.DocTestParser().get_examples(doc)


def calls_a_checker(tree: ast.AST) -> bool:
    """Whether the code calls a function named ``check_...`` (directly or as an attribute, ``checks.check_x``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name.startswith("check_"):
                return True
    return False


def defined_names(tree: ast.Module) -> set[str] | None:
    """The names the statements define, or ``None`` if one of them is not an import or a definition."""
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            continue
        if isinstance(stmt, ast.FunctionDef | ast.ClassDef):
            names.add(stmt.name)
        elif isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
            names.update(t.id for t in stmt.targets)
        else:
            return None
    return names


def used_names(tree: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def leaks(doc: str) -> list[str]:
    """What in ``doc`` breaks rules 1 to 3 (the module docstring's), one line each; empty if nothing."""
    problems = []
    if "Correct:" in doc:
        problems.append("the docstring contains 'Correct:', the line of a passing answer")
    parsed = [(ex, ast.parse(ex.source)) for ex in examples(doc)]
    for i, (ex, tree) in enumerate(parsed):
        source = ex.source.strip().splitlines()[0]
        if calls_a_checker(tree):
            if ex.exc_msg is None or not ex.exc_msg.startswith(FAILURE):
                problems.append(f"{source!r} calls a checker but does not expect an ExerciseFailure")
            continue
        names = defined_names(tree)
        if names is None:
            problems.append(f"{source!r} is neither a checker call, an import nor a definition")
            continue
        later = [t for e, t in parsed[i + 1 :] if calls_a_checker(t) and e.exc_msg is not None]
        unused = {n for n in names if not any(n in used_names(t) for t in later)}
        if unused:
            problems.append(f"{source!r} defines {sorted(unused)}, which no failing checker call uses")
    return problems


@pytest.mark.parametrize("fn", [fn for _, _, fn in CHECKERS], ids=IDS)
def test_checker_docstrings_show_no_passing_answer(fn):
    assert not leaks(inspect.getdoc(fn) or ""), leaks(inspect.getdoc(fn) or "")


@pytest.mark.parametrize("fn", [fn for _, _, fn in CHECKERS], ids=IDS)
def test_checker_docstrings_name_their_exercise_and_keep_the_layout(fn):
    doc = inspect.getdoc(fn) or ""
    assert re.match(r"Exercise \d\.\d: ", doc), doc[:80]
    sections = [doc.find(s) for s in ("\nArgs:\n", "\nRaises:\n", "\nExamples::\n")]
    assert -1 not in sections and sections == sorted(sections), f"{fn.__name__}: Args, Raises, Examples in order"


@pytest.mark.parametrize(
    "doc",
    [
        # the answer shown passing
        ">>> check_x(lambda a: 2 * a)\nCorrect: well done.\n",
        # a checker call that is not expected to fail (output hidden by an assignment)
        ">>> _ = check_x(lambda a: 2 * a)\n",
        # a helper computing the answer, shown outside any checker call
        ">>> def answer(a):\n...     return 2 * a\n>>> answer(2)\n4\n",
        # a definition that no failing checker call uses
        ">>> def answer(a):\n...     return 2 * a\n>>> check_x(lambda a: a)\nTraceback (most recent call last):\n"
        f"...\n{FAILURE} wrong\n",
        # the passing line mentioned in prose
        "A right answer prints Correct: twice a.\n",
    ],
)
def test_the_rule_catches_a_docstring_that_gives_the_answer_away(doc):
    assert leaks(doc)


def test_the_rule_accepts_a_wrong_answer_being_caught():
    doc = (
        ">>> from math import tau\n>>> def wrong(a):\n...     return tau\n>>> check_x(wrong)\n"
        f"Traceback (most recent call last):\n...\n{FAILURE} for a = 1 you returned 6.28, ...\n"
    )
    assert leaks(doc) == []
