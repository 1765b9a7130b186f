"""Chapter 9's checkers while grading: the inputs come from the grader's seed, and the grader's judge decides.

Armed with a seed (:func:`~spatialdrop_edu.checks._verdict.arm`), each checker draws its inputs from it (9.1 its drop
rate, token ids and generator seeds; 9.2 its drop rate, embedded batch and per-call seeds; 9.3 its batches), publishes
what its probe saw, and the judge that the grader runs on that report
(:func:`~spatialdrop_edu.checks._judging.judge_report`) reaches the verdict and message the kernel printed. A report
is only good for its own seed, and one cut short never passes. Without a seed the inputs are the checkers' own.
"""

import json

import numpy as np
import pytest
import torch
from test_checks_ch09 import ref_spatial_dropout_1d, ref_token_accuracy, ref_word_type_mask, sd_variant, wt_variant

from spatialdrop_edu import checks
from spatialdrop_edu.checks import ExerciseFailure, _judging, _verdict
from spatialdrop_edu.checks import ch09_sequence_tagging as ch09
from spatialdrop_edu.tagging.corpus import IGNORE_INDEX

SEEDS = (1, 2, 3)

#: (checker, a right answer, a typical wrong answer, a fragment of the wrong answer's feedback)
CASES = {
    "9.1": (checks.check_word_type_mask, ref_word_type_mask, wt_variant(coins_shape="token"), "drawn on its own"),
    "9.2": (checks.check_spatial_dropout_1d, ref_spatial_dropout_1d, sd_variant(shape="nt1"), "whole tokens"),
    "9.3": (
        checks.check_token_accuracy,
        ref_token_accuracy,
        lambda logits, tags: (logits.argmax(-1) == tags).float().mean(),
        "padding positions as wrong",
    ),
}


def graded(check, answer, seed, published, capsys) -> tuple[tuple[bool, str], dict]:
    """Run ``check(answer)`` armed with ``seed``: the kernel's verdict and message, once the grader's judge of the
    published report is found to agree with them; and the report's data, through JSON."""
    _verdict.arm("ex-09-check", "n0nce", seed)
    try:
        check(answer)
        verdict = True, " ".join(capsys.readouterr().out.splitlines())
    except ExerciseFailure as failure:
        verdict = False, " ".join(str(failure).splitlines())
    finally:
        _verdict.disarm()
    (sent,) = published
    published.clear()
    record = sent[_verdict.MIME]
    assert (record["checker"], record["grade_id"], record["nonce"]) == (check.__name__, "ex-09-check", "n0nce")
    data = json.loads(json.dumps(record["data"]))
    assert len(json.dumps(data)) < 2_000_000
    judgement = _judging.judge_report(check.__name__, data, seed)
    assert (judgement.passed, " ".join(judgement.message.splitlines()), judgement.malformed) == (*verdict, False)
    return verdict, data


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("exercise", list(CASES))
def test_a_right_answer_passes_for_the_graders_inputs(exercise, seed, published, capsys):
    check, right, _, _ = CASES[exercise]
    (passed, message), data = graded(check, right, seed, published, capsys)
    assert passed and message.startswith("Correct:"), message
    other = _judging.judge_report(check.__name__, data, seed % 3 + 1)  # the same report, judged for another seed
    assert not other.passed


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("exercise", list(CASES))
def test_a_wrong_answer_fails_in_the_kernel_and_for_the_grader(exercise, seed, published, capsys):
    check, _, wrong, fragment = CASES[exercise]
    (passed, message), _ = graded(check, wrong, seed, published, capsys)
    assert not passed and fragment in message, message


@pytest.mark.parametrize("exercise", list(CASES))
def test_a_report_cut_short_does_not_pass(exercise, published, capsys):
    check, right, _, _ = CASES[exercise]
    _, data = graded(check, right, 2, published, capsys)
    short = data | {"calls": data["calls"][:-1]}
    assert not _judging.judge_report(check.__name__, short, 2).passed


def test_a_right_answer_with_coins_of_its_own_passes_while_graded(published, capsys):
    """9.2's learner may draw from any stream: its verdict under a seed does not rest on PyTorch's global one."""
    g = torch.Generator().manual_seed(123)

    def own_coins(x, p, training=True):
        return x * (torch.rand(len(x), 1, x.shape[2], generator=g) >= p) / (1 - p) if training else x

    for seed in SEEDS:
        (passed, message), _ = graded(checks.check_spatial_dropout_1d, own_coins, seed, published, capsys)
        assert passed, message


def test_feedback_names_the_rate_drawn_for_each_seed(published, capsys):
    messages = [
        graded(checks.check_word_type_mask, wt_variant(scale="none"), s, published, capsys)[0][1] for s in SEEDS
    ]
    rates = [ch09._word_type_inputs(s)[0] for s in SEEDS]
    assert all(f"with p = {p} every value" in m for p, m in zip(rates, messages)) and len(set(messages)) > 1
    messages = [
        graded(checks.check_spatial_dropout_1d, sd_variant(keep="p"), s, published, capsys)[0][1] for s in SEEDS
    ]
    rates = [ch09._spatial_inputs(s)[0] for s in SEEDS]
    assert all(f"dropped with p = {p}, expected {p:.3f}" in m for p, m in zip(rates, messages))


# -- the inputs: the checks' own without a seed, drawn from it while grading ---------------------------------------


def test_word_type_inputs_are_the_checks_own_without_a_seed_and_differ_between_seeds():
    p, tokens, coins = ch09._word_type_inputs(None)
    expected = torch.randint(1, 15, (40, 24), generator=torch.Generator().manual_seed(91))
    expected[0, 0] = 14
    assert (p, coins) == (0.3, 900) and torch.equal(tokens, expected)
    drawn = [ch09._word_type_inputs(s) for s in SEEDS]
    assert len({d[0] for d in drawn}) == 3 and all(0.2 <= d[0] <= 0.4 for d in drawn)
    assert not torch.equal(drawn[0][1], drawn[1][1]) and drawn[0][2] != drawn[1][2]
    assert all(d[1].shape == (40, 24) and int(d[1].min()) >= 1 and int(d[1].max()) == 14 for d in drawn)


def test_spatial_inputs_are_the_checks_own_without_a_seed_and_differ_between_seeds():
    p, x, call_seeds = ch09._spatial_inputs(None)
    raw = torch.randn(8, 13, 10, generator=torch.Generator().manual_seed(92))
    assert (p, call_seeds) == (0.3, list(range(920, 951))) and torch.equal(x, raw + 0.1 * torch.sign(raw))
    assert float(x.abs().min()) >= 0.1
    drawn = [ch09._spatial_inputs(s) for s in SEEDS]
    assert len({d[0] for d in drawn}) == 3 and all(0.25 <= d[0] <= 0.45 for d in drawn)
    assert not torch.equal(drawn[0][1], drawn[1][1]) and drawn[0][2] != drawn[1][2]


def test_accuracy_inputs_are_the_checks_own_without_a_seed_and_differ_between_seeds():
    own, again = ch09._accuracy_inputs(None), ch09._accuracy_inputs(None)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(own, again))
    assert [tuple(lg.shape) for lg, _ in own[:5]] == [(5, 5, 5), (7, 7, 7), (6, 14, 9), (5, 1, 4), (1, 9, 6)]
    assert (own[2][1] != IGNORE_INDEX).sum(1).tolist() == [14, 1, 1, 2, 1, 1]
    one, two = ch09._accuracy_inputs(1), ch09._accuracy_inputs(2)
    assert [tuple(lg.shape) for lg, _ in one[:5]] == [tuple(lg.shape) for lg, _ in own[:5]]
    assert not torch.equal(one[0][0], two[0][0]) and not torch.equal(one[0][0], own[0][0])
    assert [tuple(lg.shape) for lg, _ in one[5:]] != [tuple(lg.shape) for lg, _ in two[5:]]


# -- the judge decides from the report alone ------------------------------------------------------------------------


def test_accuracies_echoed_from_another_seed_do_not_pass(published, capsys):
    """Values right for the learner's own batches (or another seed's), reported for a seed's, fail with feedback."""
    _, data = graded(checks.check_token_accuracy, ref_token_accuracy, 1, published, capsys)
    judged = _judging.judge_report("check_token_accuracy", data, 2)
    assert not judged.passed and not judged.malformed and "on a batch of" in judged.message


def test_a_forged_word_type_report_of_the_reference_on_other_tokens_is_refused(published, capsys):
    """Masks made for tokens the judge does not draw share coins across different words of the seed's sentences."""
    _, data = graded(checks.check_word_type_mask, ref_word_type_mask, 3, published, capsys)
    report = _verdict.decode(data)
    p, tokens, _ = ch09._word_type_inputs(3)
    other = torch.randint(1, 15, tokens.shape, generator=torch.Generator().manual_seed(0))
    for k, call in enumerate(report["calls"][: ch09._WT_CALLS]):
        mask = ref_word_type_mask(other, 15, p, torch.Generator().manual_seed(k))
        call["value"] = call["value"] | {"array": mask.double().numpy()}
    judged = _judging.judge_report("check_word_type_mask", _verdict.encode(report), 3)
    assert not judged.passed and not judged.malformed and "drawn on its own" in judged.message


def test_a_spatial_report_that_hides_an_inplace_change_still_needs_the_right_outputs(published, capsys):
    """The judge reads the outputs against the seed's own x: outputs that are x unchanged are refused whatever the
    report says about the input."""
    _, data = graded(checks.check_spatial_dropout_1d, ref_spatial_dropout_1d, 1, published, capsys)
    report = _verdict.decode(data)
    x = ch09._spatial_inputs(1)[1].double().numpy()
    for call in report["calls"]:
        call["value"] = call["value"] | {"array": np.array(x), "changed_input": False}
    judged = _judging.judge_report("check_spatial_dropout_1d", _verdict.encode(report), 1)
    assert not judged.passed and "dropped nothing" in judged.message
