"""Exercise 1.1 refuses the package's own NumPy dropout, as exercises 3.2 and 7.2 refuse theirs.

The package's :func:`~spatialdrop_edu.layers.numpy_reference.numpy_dropout` answers exercise 1.1 as written, so the
checker watches for it (``run_student_code(forbid=...)``): passed itself, or called by the learner's function under
any name, it fails with feedback naming it. (Chapter 1's other checker tests, with chapter 2's, are in
``test_checks.py``.)
"""

import sys

import numpy as np
import pytest

import spatialdrop_edu as sde
from spatialdrop_edu import checks
from spatialdrop_edu.layers import numpy_reference
from spatialdrop_edu.layers.numpy_reference import numpy_dropout as renamed

from helpers import fails_with, passes

REFUSED = "your dropout function calls the package's numpy_dropout: this exercise asks you to write it yourself"


def own_dropout(x, p, rng):
    """A right answer of the learner's own (multiplying by the mask rather than choosing with np.where)."""
    if p == 1:
        return np.zeros_like(x)
    keep = rng.random(x.shape) >= p
    return x * keep / (1 - p)


def test_the_package_numpy_dropout_is_not_an_answer():
    fails_with(checks.check_inverted_dropout, sde.numpy_dropout, REFUSED)


@pytest.mark.parametrize(
    "wrapper",
    [
        lambda x, p, rng: sde.numpy_dropout(x, p, rng),
        lambda x, p, rng: renamed(x, p, rng),
        lambda x, p, rng: numpy_reference.numpy_dropout(x, p, rng, convention="inverted"),
        lambda x, p, rng: np.asarray(sde.numpy_dropout(x, p, rng, return_mask=True)[0]),
    ],
    ids=["top-level", "imported-under-another-name", "module-attribute", "return-mask"],
)
def test_a_function_that_calls_numpy_dropout_fails(wrapper):
    fails_with(checks.check_inverted_dropout, wrapper, REFUSED)


def test_calling_numpy_dropout_only_at_the_ends_fails_too():
    """Every call of the learner's function is watched, not only the first: here the wrapper delegates at p = 0 and
    p = 1 alone, which the checker tries last."""

    def partly(x, p, rng):
        return sde.numpy_dropout(x, p, rng) if p in (0.0, 1.0) else own_dropout(x, p, rng)

    fails_with(checks.check_inverted_dropout, partly, REFUSED)


def test_an_own_implementation_passes_and_the_watch_is_lifted(capsys):
    before = sys.getprofile()
    passes(checks.check_inverted_dropout, own_dropout, capsys=capsys)
    assert sys.getprofile() is before
    with pytest.raises(checks.ExerciseFailure, match="numpy_dropout"):
        checks.check_inverted_dropout(sde.numpy_dropout)
    assert sys.getprofile() is before  # restored after a refusal too


def test_numpy_dropout_answers_as_written_outside_a_checker():
    y = sde.numpy_dropout(np.ones(1000), 0.2, np.random.default_rng(0))
    assert set(np.unique(y).tolist()) == {0.0, 1.25}
