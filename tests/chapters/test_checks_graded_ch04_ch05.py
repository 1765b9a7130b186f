"""Chapters 4 and 5's checkers while grading: the inputs come from the grader's seed, and the grader's judge agrees.

While ``python -m spatialdrop_edu grade`` runs a check cell, the verdict channel is armed with a fresh seed: each
checker's probe draws the exercise's inputs (drop rates, images, points, seeds of the coins) from it and publishes
what the learner's code returned, and the grader judges that report itself
(:func:`~spatialdrop_edu.checks._judging.judge_report`). For seeds 1, 2 and 3 a right answer passes and a typical
wrong one fails, in the kernel and in the grader's judge alike, with the same message; a report made for other
inputs, or cut short, passes nowhere; with no seed the inputs are the learner's own, those the chapters' other tests
read the messages of.
"""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_checks_ch04 import ref_last, ref_port, ref_unbatched
from test_checks_ch05 import gamma_ref, mask_ref

from spatialdrop_edu import checks
from spatialdrop_edu.checks import ExerciseFailure, _judging, _verdict
from spatialdrop_edu.checks import ch04_spatial_dropout as ch04
from spatialdrop_edu.checks import ch05_beyond as ch05

SEEDS = (1, 2, 3)


def shift_ref(p, mean, var):
    return var / ((var + mean * mean) / (1 - p) - mean * mean)


#: (checker, a right answer, a typical wrong answer, a fragment of its feedback).
CASES = {
    "unbatched_image": (
        checks.check_unbatched_image,
        ref_unbatched,
        lambda img, p: img * (torch.rand(img.shape[0], 1, 1) >= p),
        "1/(1-p)",
    ),
    "channels_last": (
        checks.check_channels_last_dropout,
        ref_last,
        lambda x, p: ref_last(x, p) * (1 - p),
        "Did you forget to scale kept units by 1/(1-p)?",
    ),
    "keras_port": (
        checks.check_keras_port,
        ref_port,
        lambda x, k, b, p, tr: ref_port(x, k, b * 0, p, tr),
        "the bias is missing",
    ),
    "gamma": (checks.check_gamma, gamma_ref, lambda p, b, h, w: gamma_ref(1 - p, b, h, w), "keep_prob"),
    "block_mask": (checks.check_block_mask, mask_ref, lambda s, b: 1 - mask_ref(s, b), "1 on the dropped blocks"),
    "variance_shift": (checks.check_variance_shift, shift_ref, lambda p, m, v: 1 / shift_ref(p, m, v), "train over"),
}


def graded(check, answer, seed, published, capsys):
    """Run ``check(answer)`` armed with ``seed``: the kernel's (passed, message), and the grader's judgement and data
    of the one report it published."""
    _verdict.arm("ex-check", "n0nce", seed)
    try:
        check(answer)
        passed, message = True, " ".join(capsys.readouterr().out.split())
    except ExerciseFailure as failure:
        passed, message = False, str(failure)
    finally:
        _verdict.disarm()
    (sent,) = published[-1:]
    record = sent[_verdict.MIME]
    assert record["checker"] == check.__name__ and record["grade_id"] == "ex-check" and record["nonce"] == "n0nce"
    judgement = _judging.judge_report(record["checker"], record["data"], seed)
    return passed, message, judgement, record["data"]


def judged_message(judgement) -> str:
    return " ".join(judgement.message.split()) if judgement.passed else judgement.message


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(CASES))
def test_a_right_answer_passes_in_the_kernel_and_in_the_grader(name, seed, published, capsys):
    check, right, _, _ = CASES[name]
    passed, message, judgement, data = graded(check, right, seed, published, capsys)
    assert passed and message.startswith("Correct:"), message
    assert judgement.passed and not judgement.malformed and judged_message(judgement) == message
    assert len(json.dumps(data)) < 2 * 2**20  # a small report


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(CASES))
def test_a_wrong_answer_fails_in_the_kernel_and_in_the_grader_alike(name, seed, published, capsys):
    check, _, wrong, fragment = CASES[name]
    passed, message, judgement, _ = graded(check, wrong, seed, published, capsys)
    assert not passed and fragment in message, message
    assert not judgement.passed and not judgement.malformed and judgement.message == message


@pytest.mark.parametrize("name", list(CASES))
def test_a_report_made_for_other_inputs_does_not_pass(name, published, capsys):
    """A right answer's report for seed 1, judged for seed 2: what stored answers for known inputs would send."""
    check, right, _, _ = CASES[name]
    *_, data = graded(check, right, 1, published, capsys)
    assert not _judging.judge_report(check.__name__, data, 2).passed


#: Where each checker's report lists the learner's outputs, the last of which a report cut short leaves out.
OUTPUTS = {
    "unbatched_image": lambda data: data["calls"],
    "channels_last": lambda data: data["ranks"][-1]["calls"],
    "keras_port": lambda data: data["kernel"],
    "gamma": lambda data: data["calls"],
    "block_mask": lambda data: data["calls"],
    "variance_shift": lambda data: data["calls"],
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_report_cut_short_does_not_pass(name, published, capsys):
    check, right, _, _ = CASES[name]
    *_, data = graded(check, right, 3, published, capsys)
    OUTPUTS[name](data).pop()
    judgement = _judging.judge_report(check.__name__, data, 3)
    assert not judgement.passed and judgement.malformed, judgement


def test_a_right_answer_of_its_own_coins_passes_while_grading(published, capsys):
    """Answers that draw their coins from their own generator pass for the grader's inputs too."""
    g = torch.Generator().manual_seed(7)

    def own_coins(x, p, noise_shape):
        return x * (torch.rand(noise_shape, generator=g) >= p).to(x.dtype) / (1 - p)

    answers = {
        "unbatched_image": lambda img, p: own_coins(img, p, (img.shape[0], 1, 1)),
        "channels_last": lambda x, p: own_coins(x, p, (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)),
        "keras_port": lambda x, k, b, p, tr: F.conv1d(
            (own_coins(x, p, (x.shape[0], 1, x.shape[2])) if tr else x).transpose(1, 2),
            k.permute(2, 1, 0),
            b,
            padding=1,
        ).transpose(1, 2),
    }
    for seed in SEEDS:
        for name, answer in answers.items():
            passed, message, judgement, _ = graded(CASES[name][0], answer, seed, published, capsys)
            assert passed and judgement.passed, (seed, name, message, judgement)


# ----------------------------------------------------------------------------- the inputs


def test_chapter_4_inputs_are_the_learners_own_without_a_seed_and_differ_between_seeds():
    p, images, coins = ch04._image_inputs(None)
    first = torch.rand((5, 7, 9), generator=torch.Generator().manual_seed(41)) + 0.5
    assert p == 0.3 and torch.equal(images[0], first) and coins == list(range(1000, 1080))
    p, batches = ch04._channels_last_inputs(None)
    first = torch.rand((4, 9, 6), generator=torch.Generator().manual_seed(42)) + 0.5
    assert p == 0.5 and torch.equal(batches[0][0][0], first) and [c for _, c in batches[2]] == list(range(2500, 2512))
    port = ch04._port_inputs(None)
    first = torch.rand((6, 11, 5), generator=torch.Generator().manual_seed(43)) + 0.5
    assert torch.equal(port["x"], first) and port["p"] == {"inference": 0.5, "identity": 0.4, "kernel": 0.5}
    assert port["identity_coins"][0] == 3000 and port["kernel_coins"][0] == 4000

    one, two = ch04._image_inputs(1), ch04._image_inputs(2)
    assert one[0] != two[0] and not torch.equal(one[1][0], two[1][0]) and one[2] != two[2]
    one, two = ch04._channels_last_inputs(1), ch04._channels_last_inputs(2)
    assert one[0] != two[0] and not torch.equal(one[1][0][0][0], two[1][0][0][0])
    one, two = ch04._port_inputs(1), ch04._port_inputs(2)
    assert one["p"] != two["p"] and not torch.equal(one["x"], two["x"]) and not torch.equal(one["bias"], two["bias"])


def test_chapter_4_feedback_names_the_seeds_rate():
    """The same wrong answer is told the rate it was checked with: today's without a seed, the seed's while grading."""
    _, _, wrong, _ = CASES["unbatched_image"]
    messages = {}
    for seed in (None, 1, 2):
        _verdict.arm("ex-check", "n0nce", seed) if seed else None
        try:
            with pytest.raises(ExerciseFailure) as info:
                checks.check_unbatched_image(wrong)
        finally:
            _verdict.disarm()
        messages[seed] = str(info.value)
    assert messages[None].startswith("with p = 0.3, ")
    assert messages[1].startswith(f"with p = {ch04._image_inputs(1)[0]}, ")
    assert messages[2].startswith(f"with p = {ch04._image_inputs(2)[0]}, ") and messages[1] != messages[2]


def test_chapter_5_inputs_are_the_learners_own_without_a_seed_and_differ_between_seeds():
    assert ch05._gamma_points(None) == ch05.GAMMA_POINTS
    cases = ch05._block_mask_cases(None)
    assert np.array_equal(cases[0][0], np.random.default_rng(5).random((2, 3, 8, 7)) < 0.08)
    assert [b for _, b in cases] == [1, 2, 3, 4, 3, 3, 3, 3, 3]
    grid = [(p, m, v) for p in (0.0, 0.1, 0.3, 0.5, 0.9) for m in (0.0, -2.0, 0.5, 3.0) for v in (0.1, 1.0, 4.0)]
    assert ch05._shift_points(None) == grid

    assert ch05._gamma_points(1) != ch05._gamma_points(2)
    assert len(ch05._gamma_points(1)) == len(ch05.GAMMA_POINTS)
    assert not np.array_equal(ch05._block_mask_cases(1)[0][0], ch05._block_mask_cases(2)[0][0])
    assert ch05._shift_points(1) != ch05._shift_points(2) and len(ch05._shift_points(1)) == len(grid)
