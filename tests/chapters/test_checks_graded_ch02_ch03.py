"""Chapters 2 and 3's checkers while grading: the inputs come from the grader's seed, and the grader's judge decides.

For each checker and the seeds 1, 2 and 3, a right answer passes and a typical wrong answer fails, and the report the
kernel publishes, judged as the grader judges it (:func:`~spatialdrop_edu.checks._judging.judge_report`, after a trip
through JSON), gives the same verdict and the same message. The inputs differ from seed to seed, and without a seed
they are the chapters' own, so a learner's kernel shows the messages the other tests assert; an answer recorded for
one seed's inputs earns nothing under another.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from spatialdrop_edu import checks
from spatialdrop_edu.analysis.fields import gaussian_random_field
from spatialdrop_edu.checks import ExerciseFailure, _harness, _judging, _verdict
from spatialdrop_edu.checks import ch02_noise_shapes as ch02
from spatialdrop_edu.checks import ch03_correlated_pixels as ch03

SEEDS = (1, 2, 3)

# ----------------------------------------------------------------------------- right answers and typical mistakes


def noise_dropout(x, p, noise_shape, rng):
    if p == 1:
        return np.zeros_like(x)
    return np.where(rng.random(noise_shape) >= p, x / (1 - p), 0.0)


def noise_dropout_ignoring_the_noise_shape(x, p, noise_shape, rng):
    return noise_dropout(x, p, x.shape, rng)


def token_dropout(x, p, rng):
    return noise_dropout(x, p, (x.shape[0], x.shape[1], 1), rng)


def channel_dropout(x, p, rng):  # SpatialDropout1D's noise shape (N, 1, E)
    return noise_dropout(x, p, (x.shape[0], 1, x.shape[2]), rng)


def word_type_dropout(ids, table, p, rng):
    if p == 1:
        return np.zeros(ids.shape + table.shape[1:])
    keep = rng.random((ids.shape[0], table.shape[0])) >= p  # one coin per sentence and vocabulary row
    return np.where(np.take_along_axis(keep, ids, axis=1)[..., None], table[ids] / (1 - p), 0.0)


def word_token_dropout(ids, table, p, rng):  # one coin per occurrence
    if p == 1:
        return np.zeros(ids.shape + table.shape[1:])
    keep = rng.random(ids.shape) >= p
    return np.where(keep[..., None], table[ids] / (1 - p), 0.0)


def pearson(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def autocorrelation(x, d):
    return 1.0 if d == 0 else 0.5 * (pearson(x[:, :-d], x[:, d:]) + pearson(x[:-d], x[d:]))


def autocorrelation_horizontal(x, d):
    return 1.0 if d == 0 else pearson(x[:, :-d], x[:, d:])


def autocorrelation_whole_map(x, d):  # a right variant: both directions pooled, the whole map's mean and deviation
    if d == 0:
        return 1.0
    z = (x - x.mean()) / x.std()
    return float(np.concatenate([(z[:, :-d] * z[:, d:]).ravel(), (z[:-d] * z[d:]).ravel()]).mean())


def fill(x, keep):
    def near(a):
        a = np.pad(a, 1)
        return a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:]

    total, count = near(np.where(keep, x, 0.0)), near(keep.astype(float))
    return np.where(keep, x, np.where(count > 0, total / np.maximum(count, 1), x[keep].mean()))


def fill_divided_by_four(x, keep):
    pad = np.pad(np.where(keep, x, 0.0), 1)
    return np.where(keep, x, (pad[:-2, 1:-1] + pad[2:, 1:-1] + pad[1:-1, :-2] + pad[1:-1, 2:]) / 4)


def variance(k, p, rho, shared):
    n = k * k
    return p / (1 - p) * ((1 / n + (1 - 1 / n) * rho) if shared else 1 / n)


def variance_from_covariance(k, p, rho, shared):  # a right variant: w^T S w with the covariance matrix written out
    n = k * k
    cov = np.full((n, n), rho) + (1 - rho) * np.eye(n)
    w = np.full(n, 1 / n)
    return p / (1 - p) * (w @ cov @ w if shared else (w**2 * np.diag(cov)).sum())


def variance_coins_swapped(k, p, rho, shared):
    return variance(k, p, rho, not shared)


#: (checker, a right answer, a typical wrong answer, a fragment of the wrong answer's feedback).
CASES = {
    "check_coin_flips": (
        checks.check_coin_flips,
        {"a": 128, "b": 1200, "c": 6, "d": 96},
        {"a": 16, "b": 1200, "c": 6, "d": 96},
        "multiply by the batch size",
    ),
    "check_noise_shape_dropout": (
        checks.check_noise_shape_dropout,
        noise_dropout,
        noise_dropout_ignoring_the_noise_shape,
        "varies along axis",
    ),
    "check_word_dropout": (checks.check_word_dropout, token_dropout, channel_dropout, "SpatialDropout1D"),
    "check_word_type_dropout": (
        checks.check_word_type_dropout,
        word_type_dropout,
        word_token_dropout,
        "one coin per vocabulary row",
    ),
    "check_autocorrelation": (
        checks.check_autocorrelation,
        autocorrelation,
        autocorrelation_horizontal,
        "one direction only",
    ),
    "check_neighbour_fill": (checks.check_neighbour_fill, fill, fill_divided_by_four, "divided by 4"),
    "check_injected_variance": (
        checks.check_injected_variance,
        variance,
        variance_coins_swapped,
        "other kind of coin",
    ),
}

# ----------------------------------------------------------------------------- grading


def graded(check, answer, seed, published, capsys):
    """``check(answer)`` in a kernel armed with ``seed``: the kernel's verdict (passed, what it printed or raised),
    and the grader's :class:`~spatialdrop_edu.checks._judging.Judgement` of the one report it published."""
    published.clear()
    _verdict.arm("ex-check", "n0nce", seed)
    try:
        check(answer)
        kernel = (True, capsys.readouterr().out)
    except ExerciseFailure as failure:
        kernel = (False, str(failure))
    finally:
        _verdict.disarm()
    (sent,) = published
    record = sent[_verdict.MIME]
    assert (record["grade_id"], record["nonce"], record["checker"]) == ("ex-check", "n0nce", check.__name__)
    data = json.loads(json.dumps(record["data"]))  # what reaches the grader
    return kernel, _judging.judge_report(record["checker"], data, seed)


def page(message: str, capsys) -> str:
    """``message`` as the kernel prints a ``Correct:`` line."""
    _harness.passed(message)
    return capsys.readouterr().out


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(CASES))
def test_a_right_answer_passes_in_the_kernel_and_for_the_grader(name, seed, published, capsys):
    check, right, _, _ = CASES[name]
    (passed, printed), judgement = graded(check, right, seed, published, capsys)
    assert passed and printed.startswith("Correct:"), printed
    assert judgement.passed and not judgement.malformed, judgement
    assert page(judgement.message, capsys) == printed


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(CASES))
def test_a_typical_mistake_fails_with_the_same_feedback_for_the_grader(name, seed, published, capsys):
    check, _, wrong, fragment = CASES[name]
    (passed, feedback), judgement = graded(check, wrong, seed, published, capsys)
    assert not passed and fragment in feedback, feedback
    assert (judgement.passed, judgement.message, judgement.malformed) == (False, feedback, False)


@pytest.mark.parametrize("name", ["check_autocorrelation", "check_injected_variance", "check_noise_shape_dropout"])
@pytest.mark.parametrize("seed", SEEDS)
def test_right_variants_pass_for_every_seed(name, seed, published, capsys):
    """Answers that differ from the reference within what the exercise allows: the whole map's mean and deviation in
    3.1, the covariance matrix written out in 3.3, a generator of the learner's own in 2.2."""
    own = np.random.default_rng(1000 + seed)
    variant = {
        "check_autocorrelation": autocorrelation_whole_map,
        "check_injected_variance": variance_from_covariance,
        "check_noise_shape_dropout": lambda x, p, noise_shape, rng: noise_dropout(x, p, noise_shape, own),
    }[name]
    (passed, printed), judgement = graded(CASES[name][0], variant, seed, published, capsys)
    assert passed and judgement.passed, printed


def _probe(name: str):
    """The probe of the checker ``name``."""
    module = ch02 if CASES[name][0].__module__ == ch02.__name__ else ch03
    return getattr(module, "probe_" + name.removeprefix("check_"))


@pytest.mark.parametrize("name", list(CASES))
def test_reports_are_small(name):
    for seed in (None, *SEEDS):
        assert len(json.dumps(_verdict.encode(_probe(name)(CASES[name][1], seed=seed)))) < 2_000_000


@pytest.mark.parametrize("name", [n for n in CASES if n != "check_coin_flips"])
def test_answers_recorded_for_other_inputs_earn_nothing(name):
    """The right answers to a learner's own inputs (no seed), reported under a grading seed, fail there."""
    data = _verdict.encode(_probe(name)(CASES[name][1], seed=None))
    assert _judging.judge_report(name, data, None).passed
    for seed in SEEDS:
        assert not _judging.judge_report(name, data, seed).passed


@pytest.mark.parametrize("name", list(CASES))
def test_a_report_cut_short_never_passes(name):
    data = _probe(name)(CASES[name][1], seed=1)
    if name == "check_coin_flips":
        del data["answers"]["d"]
    else:
        data["calls"] = data["calls"][:-1]
    judgement = _judging.judge_report(name, _verdict.encode(data), 1)
    assert not judgement.passed


# ----------------------------------------------------------------------------- what the seed draws


def test_chapter_2_inputs_are_the_chapters_own_without_a_seed_and_differ_between_seeds():
    assert ch02._noise_shape_inputs(None) == (7, (16, 12, 5, 5), 0.4)
    assert ch02._token_inputs(None) == (11, (32, 20, 8), 0.25)
    ids, table, coins, p = ch02._word_type_inputs(None)
    assert np.array_equal(ids, np.random.default_rng(13).integers(0, 12, size=(64, 30)))
    assert np.array_equal(table, np.arange(1.0, 13.0)[:, None] * np.ones((1, 4))) and (coins, p) == (17, 0.25)
    for draw in (ch02._noise_shape_inputs, ch02._token_inputs):
        drawn = [draw(seed) for seed in SEEDS]
        assert len({inputs.coins for inputs in drawn}) == len({inputs.shape for inputs in drawn}) == len(SEEDS)
        assert len({inputs.p for inputs in drawn} | {draw(None).p}) > 1 and draw(1) == drawn[0]
    a, b = ch02._word_type_inputs(1), ch02._word_type_inputs(2)
    assert not np.array_equal(a.ids, b.ids) and not np.array_equal(a.table, b.table) and a.p != b.p
    assert sorted(a.table[:, 0]) == list(range(1, 13))  # the rows stay constant and distinct


def test_chapter_2_feedback_names_the_drawn_rate(published, capsys):
    def unscaled(x, p, noise_shape, rng):
        return np.where(rng.random(noise_shape) >= p, x, 0.0)

    rates = [ch02._noise_shape_inputs(seed).p for seed in SEEDS]
    for seed, p in zip(SEEDS, rates):
        (_, feedback), _ = graded(checks.check_noise_shape_dropout, unscaled, seed, published, capsys)
        assert f"with p = {p}, every output" in feedback
    with pytest.raises(ExerciseFailure, match="with p = 0.4, every output"):
        checks.check_noise_shape_dropout(unscaled)


def test_the_coin_flip_questions_do_not_vary():
    answers = {"a": 128, "b": 1200, "c": 6, "d": np.int64(96)}
    reports = [ch02.probe_coin_flips(answers, seed=seed) for seed in (None, *SEEDS)]
    assert all(report == {"answers": {"a": 128, "b": 1200, "c": 6, "d": 96}} for report in reports)


def test_chapter_3_inputs_are_the_chapters_own_without_a_seed_and_differ_between_seeds():
    rng = np.random.default_rng(303)
    smooth, white = gaussian_random_field((64, 64), 6.0, rng), gaussian_random_field((64, 64), 0.0, rng)
    offset = gaussian_random_field((48, 64), 3.0, rng) + 5.0
    rows = np.stack([gaussian_random_field((1, 64), 8.0, rng)[0] for _ in range(64)])
    own = ch03._autocorrelation_cases(None)
    assert [(name, lags) for name, _, lags in own] == [
        ("a smooth field (correlation length 6)", (1, 3, 6, 12)),
        ("white noise", (1, 2)),
        ("a smooth field plus 5 (not zero-mean)", (1, 4)),
        ("a field smooth along each row and white from row to row", (1, 4)),
    ]
    assert all(np.array_equal(x, want) for (_, x, _), want in zip(own, (smooth, white, offset, rows)))
    first, second = ch03._autocorrelation_cases(1), ch03._autocorrelation_cases(2)
    assert not any(np.array_equal(a, b) for (_, a, _), (_, b, _) in zip(first, second))

    rng = np.random.default_rng(304)
    field = gaussian_random_field((32, 32), 3.0, rng) + 1.0
    masks = [rng.random(field.shape) >= 0.3, rng.random(field.shape) >= 0.8]
    own = ch03._fill_cases(None)
    assert [name for name, _, _ in own[:2]] == ["a smooth field, p = 0.3", "a smooth field, p = 0.8"]
    assert all(np.array_equal(x, field) and np.array_equal(keep, mask) for (_, x, keep), mask in zip(own, masks))
    assert np.array_equal(own[2][1], np.arange(16.0).reshape(4, 4) + 1.0)
    first, second = ch03._fill_cases(1), ch03._fill_cases(2)
    assert [name for name, _, _ in first] != [name for name, _, _ in second]
    assert not np.array_equal(first[0][1], second[0][1]) and not np.array_equal(first[2][1], second[2][1])

    grid = ch03._variance_points(None)
    assert grid == [(k, p, rho) for k in (1, 3, 5, 7) for p in (0.1, 0.5, 0.8) for rho in (0.0, 0.3, 0.9, 1.0)]
    drawn = [ch03._variance_points(seed) for seed in SEEDS]
    assert all(len(points) == 48 and points[0] == (1, points[0][1], 0.0) for points in drawn)
    assert drawn[0] != drawn[1] != drawn[2] and drawn[0] == ch03._variance_points(1)
