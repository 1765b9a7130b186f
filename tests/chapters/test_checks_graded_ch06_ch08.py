"""Chapters 6 and 8's checkers while grading: inputs drawn from the grader's seed, and the grader's own verdict.

For seeds 1, 2 and 3 each checker is run armed, as ``python -m spatialdrop_edu grade`` runs a check cell: a right answer
passes and a typical wrong one fails, in the kernel and, on the report the checker published (after a JSON round trip),
in the grader's judge, with the same message. A report is only good for its own seed, and one forged without running
the network is refused. With no seed the checks use their own inputs, the ones the other tests' messages come from.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_checks_ch06 import block, ref_is_noise, ref_placement, ref_seed_study, seed_study_variant
from test_checks_ch08 import make_block, ref_mc, ref_psnr, whole_train
from torch import nn

import spatialdrop_edu as sde
from spatialdrop_edu import checks
from spatialdrop_edu.checks import ExerciseFailure, _harness, _judging, _verdict, ch06_train_mnist1d, ch08_unet_copycat
from spatialdrop_edu.training import mean_ci, t_quantile

SEEDS = (1, 2, 3)


def run_graded(check, answer, seed, published, capsys) -> tuple[_judging.Judgement, dict]:
    """Run ``check(answer)`` armed with ``seed``; the kernel's verdict, and the report it published (through JSON)."""
    capsys.readouterr()
    _verdict.arm("g", "n", seed)
    try:
        check(answer)
        kernel = _judging.Judgement(True, capsys.readouterr().out)
    except ExerciseFailure as failure:
        kernel = _judging.Judgement(False, str(failure))
    finally:
        _verdict.disarm()
    (sent,) = published
    published.clear()
    record = json.loads(json.dumps(sent[_verdict.MIME]))
    assert (record["grade_id"], record["nonce"], record["checker"]) == ("g", "n", check.__name__)
    assert len(json.dumps(record["data"])) < 2_000_000
    return kernel, record


def graders_verdict(record, seed, capsys) -> _judging.Judgement:
    """The grader's judgement of ``record`` for ``seed``, with a pass's line printed as the kernel prints it."""
    judged = _judging.judge_report(record["checker"], record["data"], seed)
    assert not judged.malformed, judged.message
    if not judged.passed:
        return judged
    _harness.passed(judged.message)
    return _judging.Judgement(True, capsys.readouterr().out)


def z_for_long_lists(a, b):
    """Right for the named cases (at most 6 seeds), but with 1.96 in place of Student's t from 7 seeds on."""
    if len(a) < 7:
        return ref_is_noise(a, b)
    d = np.subtract(b, a)
    return bool(abs(d.mean()) <= 1.96 * d.std(ddof=1) / np.sqrt(len(d)))


#: (checker, a right answer, a typical wrong one, a fragment of the wrong one's feedback).
CASES = {
    "placement": (
        checks.check_dropout_placement,
        ref_placement,
        lambda p: block(sde.SpatialDropout1d(0.1)),
        "pass the argument p",
    ),
    "seed_study": (
        checks.check_seed_study,
        ref_seed_study,
        seed_study_variant(seed_once=True),
        "seed before EVERY run",
    ),
    "is_noise": (checks.check_is_noise, ref_is_noise, z_for_long_lists, "random case"),
    "psnr": (
        checks.check_psnr,
        ref_psnr,
        lambda e, t, r=1.0: 10 * torch.log(r**2 / torch.mean((e - t) ** 2)),
        "natural logarithm",
    ),
    "skip": (
        checks.check_skip_dropout,
        make_block(sde.SpatialDropout2d),
        make_block(lambda p: sde.SpatialDropout2d(0.1)),
        "pass the argument p to the layer",
    ),
    "mc": (checks.check_mc_predict, ref_mc, whole_train, "BatchNorm ran in training mode"),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(CASES))
def test_graded_right_answer_passes_in_the_kernel_and_for_the_grader(name, seed, published, capsys):
    check, right, _, _ = CASES[name]
    kernel, record = run_graded(check, right, seed, published, capsys)
    assert kernel.passed and kernel.message.startswith("Correct:"), kernel.message
    assert graders_verdict(record, seed, capsys) == kernel
    other = _judging.judge_report(record["checker"], record["data"], seed % 3 + 1)  # a report for another seed
    assert not other.passed


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(CASES))
def test_graded_wrong_answer_fails_in_the_kernel_and_for_the_grader(name, seed, published, capsys):
    check, _, wrong, fragment = CASES[name]
    kernel, record = run_graded(check, wrong, seed, published, capsys)
    assert not kernel.passed and fragment in kernel.message, kernel.message
    assert graders_verdict(record, seed, capsys) == kernel


# -- the inputs: drawn from the seed while grading, the checks' own without one -----------------------------------


def test_chapter6_inputs_differ_between_seeds_and_are_the_checks_own_without_one():
    p, x, call_seeds = ch06_train_mnist1d._placement_inputs(None)
    assert (p, call_seeds) == (0.4, list(range(600, 640)))
    assert torch.equal(x, torch.randn(16, 1, 40, generator=torch.Generator().manual_seed(6)))
    assert ch06_train_mnist1d._seed_lists(None) == [
        [3, 4, 5],
        [0, 1, 2, 3, 4],
        [11, 7, 5, 3, 2, 1],
        list(range(20, 32)),
        [0, 1],
    ]
    first_random = ch06_train_mnist1d._random_noise_cases(None)[0]
    rng = np.random.default_rng(66)
    n = int(rng.integers(3, 12))
    base = rng.normal(0.5, 0.05, n)
    assert first_random[0] == "random 0" and np.array_equal(first_random[1], np.round(base + rng.normal(0, 0.01, n), 4))

    one, two = (ch06_train_mnist1d._placement_inputs(s) for s in (1, 2))
    assert one[0] != two[0] and not torch.equal(one[1], two[1]) and one[2] != two[2]
    assert 0.25 <= one[0] <= 0.6 and round(one[0], 2) == one[0]
    lists = [ch06_train_mnist1d._seed_lists(s) for s in (1, 2)]
    assert lists[0] != lists[1] and [len(s) for s in lists[0]] == [3, 5, 6, 12, 2]
    cases = [ch06_train_mnist1d._random_noise_cases(s) for s in (1, 2)]
    assert not np.array_equal(cases[0][0][1], cases[1][0][1])


def test_chapter6_graded_feedback_names_the_seeds_rate(published, capsys):
    """The same wrong answer gets the rate drawn for each seed in its feedback."""
    messages = []
    for seed in (1, 2):
        kernel, _ = run_graded(checks.check_dropout_placement, lambda p: block(), seed, published, capsys)
        assert "no dropout between the first and the second" in kernel.message
        kernel, _ = run_graded(checks.check_dropout_placement, CASES["placement"][2], seed, published, capsys)
        messages.append(kernel.message)
    rates = [ch06_train_mnist1d._placement_inputs(s)[0] for s in (1, 2)]
    assert all(f"with p = {p}:" in m for p, m in zip(rates, messages)) and messages[0] != messages[1]


def test_chapter8_inputs_differ_between_seeds_and_are_the_checks_own_without_one():
    cases, exact_seed = ch08_unet_copycat._psnr_inputs(None)
    assert exact_seed == 8 and len(cases) == 40
    assert np.array_equal(cases[0][1], np.random.default_rng(81).uniform(0, 1.0, (4, 1, 8, 8)))
    p, x, skip, call_seeds = ch08_unet_copycat._skip_inputs(None)
    gen = torch.Generator().manual_seed(82)
    assert (p, call_seeds) == (0.4, list(range(800, 840)))
    assert torch.equal(x, torch.randn(8, 16, 4, 4, generator=gen))
    assert torch.equal(skip, torch.randn(8, 8, 8, 8, generator=gen) + 0.1)
    passes, model, x, draws = ch08_unet_copycat._mc_inputs(None)
    assert (passes, draws) == (12, 85)
    assert torch.equal(x, torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(84)))
    torch.manual_seed(83)
    assert torch.equal(model[0].weight, nn.Conv2d(1, 8, 3, padding=1).weight)
    assert float(model[1].running_mean[0]) == 0.5 and float(model[1].running_var[0]) == 4.0

    one, two = (ch08_unet_copycat._psnr_inputs(s)[0] for s in (1, 2))
    assert [c[0].shape for c in one] == [c[0].shape for c in cases] and not np.array_equal(one[0][0], two[0][0])
    one, two = (ch08_unet_copycat._skip_inputs(s) for s in (1, 2))
    assert one[0] != two[0] and not torch.equal(one[2], two[2]) and one[3] != two[3]
    one, two = (ch08_unet_copycat._mc_inputs(s) for s in (1, 3))
    assert one[0] != two[0] and not torch.equal(one[1][0].weight, two[1][0].weight) and not torch.equal(one[2], two[2])


# -- forged reports ----------------------------------------------------------------------------------------------


def test_mc_report_with_outputs_made_up_is_refused(published, capsys):
    """Outputs that are not the network's (here: noise, with the mean and std that go with them) do not pass, nor do
    the outputs of BatchNorm in training mode reported as evaluation mode."""
    seed = 2
    _, record = run_graded(checks.check_mc_predict, ref_mc, seed, published, capsys)
    data = _verdict.decode(record["data"])
    outputs = torch.rand(len(data["outputs"]), *data["outputs"][0].shape, generator=torch.Generator().manual_seed(0))
    forged = data | {"outputs": list(outputs), "answer": {"value": [outputs.mean(0), outputs.std(0)]}}
    judged = _judging.judge_report("check_mc_predict", _verdict.encode(forged), seed)
    assert not judged.passed and not judged.malformed and "not the given network's" in judged.message

    _, record = run_graded(checks.check_mc_predict, whole_train, seed, published, capsys)
    data = _verdict.decode(record["data"])
    outputs = torch.stack([torch.from_numpy(np.array(o)) for o in data["outputs"]])
    model = ch08_unet_copycat._mc_inputs(seed)[1]
    forged = data | {
        "bn_modes": [False] * len(data["bn_modes"]),
        "running": [model[1].running_mean, model[1].running_var],
        "answer": {"value": [outputs.mean(0), outputs.std(0)]},
    }
    judged = _judging.judge_report("check_mc_predict", _verdict.encode(forged), seed)
    assert not judged.passed and "not the given network's" in judged.message


def test_placement_report_of_a_layer_before_the_first_conv_replayed_for_the_seeds_batch_is_refused(published, capsys):
    """The judge compares what the first convolution saw with the batch it draws from the seed itself."""
    _, record = run_graded(checks.check_dropout_placement, ref_placement, 1, published, capsys)
    data = _verdict.decode(record["data"])
    x2 = ch06_train_mnist1d._placement_inputs(2)[1]
    assert not torch.equal(torch.from_numpy(np.array(data["pool"][0])), x2)
    judged = _judging.judge_report("check_dropout_placement", record["data"], 2)
    assert not judged.passed and "does not see the input sequences as they are" in judged.message


def test_seed_study_half_width_is_judged_on_the_seeds_lists(published, capsys):
    """A report's numbers are checked against run() seeded with the lists the judge draws, not echoed ones."""
    seed = 3
    _, record = run_graded(checks.check_seed_study, ref_seed_study, seed, published, capsys)
    data = _verdict.decode(record["data"])
    study = data["studies"][0]["value"]
    values = np.array(study["values"])
    n = len(values)
    assert study["half"] == pytest.approx(t_quantile(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n))
    assert study["mean"] == pytest.approx(mean_ci(values)[0])
    assert not _judging.judge_report("check_seed_study", record["data"], 1).passed
