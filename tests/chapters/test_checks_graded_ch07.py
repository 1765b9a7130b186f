"""Chapter 7's checkers while grading: the inputs come from the grader's seed, and the grader's judge agrees.

Armed with a seed (:func:`~spatialdrop_edu.checks._verdict.arm`), each checker draws its inputs from it (7.1 its
drop rate, input batch and per-call seeds; 7.2 its six geometries; 7.3 its images and generator seeds), publishes
what its probe saw, and the judge that the grader runs on that report
(:func:`~spatialdrop_edu.checks._judging.judge_report`) reaches the verdict and message the kernel printed. Without
a seed the inputs are the checkers' own, so a learner's kernel sees the same feedback as always.
"""

import json

import pytest
import torch
from test_checks_ch07 import flips_only, model, random_split, ref_augment, ref_split

import spatialdrop_edu as sde
from spatialdrop_edu import checks
from spatialdrop_edu.checks import ExerciseFailure, _judging, _verdict

SEEDS = (1, 2, 3)

#: (checker, a right answer, a typical wrong answer, a fragment of the wrong answer's feedback)
CASES = {
    "7.1": (
        checks.check_late_spatial_dropout,
        lambda p: model(late=sde.SpatialDropout2d(p)),
        lambda p: model(late=sde.SpatialDropout2d(1 - p)),
        "pass the argument p",
    ),
    "7.2": (checks.check_region_split, ref_split, random_split, "random split"),
    "7.3": (checks.check_augment, ref_augment, flips_only, "Missing"),
}


def graded(check, answer, seed, published, capsys) -> tuple[bool, str]:
    """Run ``check(answer)`` armed with ``seed``: the kernel's verdict and message, once the grader's judge of the
    published report is found to agree with them."""
    _verdict.arm("ex-07-check", "n0nce", seed)
    try:
        check(answer)
        verdict = True, " ".join(capsys.readouterr().out.splitlines())
    except ExerciseFailure as failure:
        verdict = False, str(failure)
    finally:
        _verdict.disarm()
    (sent,) = published
    record = sent[_verdict.MIME]
    assert (record["checker"], record["grade_id"], record["nonce"]) == (check.__name__, "ex-07-check", "n0nce")
    judgement = _judging.judge_report(check.__name__, json.loads(json.dumps(record["data"])), seed)
    assert (judgement.passed, judgement.message, judgement.malformed) == (*verdict, False)
    return verdict


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("exercise", list(CASES))
def test_a_right_answer_passes_for_the_graders_inputs(exercise, seed, published, capsys):
    check, right, _, _ = CASES[exercise]
    passed, message = graded(check, right, seed, published, capsys)
    assert passed and message.startswith("Correct:"), message


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("exercise", list(CASES))
def test_a_wrong_answer_fails_for_the_graders_inputs(exercise, seed, published, capsys):
    check, _, wrong, fragment = CASES[exercise]
    passed, message = graded(check, wrong, seed, published, capsys)
    assert not passed and fragment in message, message


def run_armed(check, answer, seed):
    """``check(answer)`` armed with ``seed``, as the grader runs it; without a seed, as a learner's kernel does."""
    if seed is not None:
        _verdict.arm("ex-07-check", "n0nce", seed)
    try:
        return check(answer)
    finally:
        _verdict.disarm()


def test_the_inputs_follow_the_seed_and_are_the_checkers_own_without_one(published):
    rates, geometries, batches = [], [], []

    def spy_model(p):
        rates.append(p)  # returns None: the check stops at once

    def spy_split(height, width, patch, stride, test_fraction):
        geometries[-1].append((height, width, patch, stride, test_fraction))
        return ref_split(height, width, patch, stride, test_fraction)

    def spy_augment(x, generator):
        batches.append((x.clone(), generator.initial_seed()))  # returns None: the check stops after one call

    for seed in (None, 1, 2):
        geometries.append([])
        for check, answer in ((checks.check_late_spatial_dropout, spy_model), (checks.check_augment, spy_augment)):
            with pytest.raises(ExerciseFailure):
                run_armed(check, answer, seed)
        run_armed(checks.check_region_split, spy_split, seed)

    assert rates[0] == 0.3 and len(set(rates)) == 3
    assert geometries[0] == checks.SPLIT_CASES and geometries[1] != geometries[2]
    assert not set(geometries[1] + geometries[2]) & set(checks.SPLIT_CASES)
    today = torch.rand(2000, 2, 5, 5, generator=torch.Generator().manual_seed(73))
    today[:, 1] = today[:, 0] + 1.0
    assert torch.equal(batches[0][0], today) and batches[0][1] == 0
    assert not torch.equal(batches[1][0], batches[2][0]) and batches[1][1] != batches[2][1]


@pytest.mark.parametrize("exercise", list(CASES))
def test_a_report_for_other_inputs_does_not_pass(exercise, published, capsys):
    """The right answer's report for seed 1, judged as if it answered seed 2: the stored answers of another grading
    earn nothing."""
    check, right, _, _ = CASES[exercise]
    assert graded(check, right, 1, published, capsys)[0]
    data = json.loads(json.dumps(published[0][_verdict.MIME]["data"]))
    judgement = _judging.judge_report(check.__name__, data, 2)
    assert not judgement.passed, judgement.message
