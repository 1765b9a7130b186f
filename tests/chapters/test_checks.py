"""The exercise checkers accept the reference solutions and reject typical mistakes with specific feedback."""

import time

import numpy as np
import pytest
import torch

from spatialdrop_edu import checks
from spatialdrop_edu.checks import ExerciseFailure

from helpers import fails_with, passes

# ----------------------------------------------------------------------------- reference solutions


def ref_inverted(x, p, rng):
    if p == 1:
        return np.zeros_like(x)
    return np.where(rng.random(x.shape) >= p, x / (1 - p), 0.0)


def ref_fixed(x, p, training=True):
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    return x * (torch.rand_like(x) >= p) / (1 - p)


def ref_noise(x, p, noise_shape, rng):
    if p == 1:
        return np.zeros_like(x)
    return np.where(rng.random(noise_shape) >= p, x / (1 - p), 0.0)


def ref_words(x, p, rng):
    if p == 1:
        return np.zeros_like(x)
    return np.where(rng.random((x.shape[0], x.shape[1], 1)) >= p, x / (1 - p), 0.0)


def ref_word_types(ids, table, p, rng):
    if p == 1:
        return np.zeros(ids.shape + table.shape[1:])
    keep = rng.random((ids.shape[0], table.shape[0])) >= p  # one coin per sentence and vocabulary row
    kept = np.take_along_axis(keep, ids, axis=1)
    return np.where(kept[..., None], table[ids] / (1 - p), 0.0)


def test_exercise_failure_is_an_assertion_error():
    assert issubclass(ExerciseFailure, AssertionError)


@pytest.mark.parametrize(
    "check, answer",
    [
        (checks.check_inverted_dropout, ref_inverted),
        (checks.check_dropout_variance, lambda a, p: a * a * p / (1 - p)),
        (checks.check_fixed_dropout, ref_fixed),
        (checks.check_coin_flips, {"a": 128, "b": 1200, "c": 6, "d": 96}),
        (checks.check_noise_shape_dropout, ref_noise),
        (checks.check_word_dropout, ref_words),
        (checks.check_average_variance, lambda a, p, n, rho: a * a * p / (1 - p) * (1 + (n - 1) * rho) / n),
        (checks.check_word_type_dropout, ref_word_types),
    ],
)
def test_reference_solutions_pass_and_print_one_correct_line(check, answer, capsys):
    passes(check, answer, capsys=capsys)


# ----------------------------------------------------------------------------- 1.1


def test_inverted_dropout_unscaled_is_told_to_scale():
    def unscaled(x, p, rng):
        return np.where(rng.random(x.shape) >= p, x, 0.0)

    fails_with(checks.check_inverted_dropout, unscaled, "1/(1-p)", "forget to scale")


def test_inverted_dropout_swapped_probability_is_named():
    def swapped(x, p, rng):
        return np.where(rng.random(x.shape) < p, x / (1 - p), 0.0)

    fails_with(checks.check_inverted_dropout, swapped, "dropped", "probability p instead of 1-p")


def test_inverted_dropout_nan_at_p_one_is_rejected():
    def nan_at_one(x, p, rng):
        with np.errstate(all="ignore"):
            return (rng.random(x.shape) >= p) * x / (1 - p)

    fails_with(checks.check_inverted_dropout, nan_at_one, "p = 1")


def test_missing_return_and_stub_and_errors_become_feedback():
    fails_with(checks.check_inverted_dropout, lambda x, p, rng: None, "returned None", "return")

    def stub(x, p, rng):
        raise NotImplementedError()

    fails_with(checks.check_inverted_dropout, stub, "NotImplementedError")

    def broken(x, p, rng):
        return x[5, 5]

    fails_with(checks.check_inverted_dropout, broken, "raised IndexError")
    fails_with(checks.check_inverted_dropout, 42, "must be a function")


def test_endless_loop_is_stopped(monkeypatch):
    monkeypatch.setattr(checks._harness, "TIME_LIMIT_S", 1)

    def endless(x, p, rng):
        while True:
            pass

    start = time.perf_counter()
    fails_with(checks.check_inverted_dropout, endless, "more than 1 s")
    assert time.perf_counter() - start < 10


# ----------------------------------------------------------------------------- 1.2


@pytest.mark.parametrize(
    "answer, hint",
    [
        (lambda a, p: a * a * p * (1 - p), "unscaled mask"),
        (lambda a, p: a * a * (1 - p) / p, "swapped p and 1-p"),
        (lambda a, p: abs(a) * p / (1 - p), "a²"),
        (lambda a, p: a * a / (1 - p), "E[y²]"),
        (lambda a, p: 0.0, "expected"),
    ],
)
def test_variance_mistakes_get_their_hint(answer, hint):
    fails_with(checks.check_dropout_variance, answer, hint)


def test_variance_non_number_is_rejected():
    fails_with(checks.check_dropout_variance, lambda a, p: "a^2 p/(1-p)", "must return a number")


# ----------------------------------------------------------------------------- 1.3


def buggy(x, p, training=True):
    mask = (torch.rand_like(x) < p).float()
    return x * mask / (1 - p)


def test_fixed_dropout_still_buggy_is_rejected():
    fails_with(checks.check_fixed_dropout, buggy, "probability p instead of 1-p")


def test_fixed_dropout_only_first_bug_fixed_is_told_about_eval():
    def half_fixed(x, p, training=True):
        if p == 1:
            return torch.zeros_like(x)
        return x * (torch.rand_like(x) >= p).float() / (1 - p)

    fails_with(checks.check_fixed_dropout, half_fixed, "training=False", "return x when not training")


def test_fixed_dropout_p_one_is_named_as_the_third_problem():
    def two_fixed(x, p, training=True):
        if not training:
            return x
        return x * (torch.rand_like(x) >= p).float() / (1 - p)

    fails_with(checks.check_fixed_dropout, two_fixed, "p = 1", "third problem", "inf or NaN")


def test_fixed_dropout_success_names_three_problems(capsys):
    checks.check_fixed_dropout(ref_fixed)
    assert "all three problems fixed" in capsys.readouterr().out


def test_checker_docstrings_name_the_exercise_they_serve():
    assert checks.check_fixed_dropout.__doc__.startswith("Exercise 1.4")
    assert checks.check_average_variance.__doc__.startswith("Exercise 1.5")
    assert checks.check_word_dropout.__doc__.startswith("Exercise 2.4")
    assert checks.check_word_type_dropout.__doc__.startswith("Exercise 2.5")


def test_fixed_dropout_leaves_torch_rng_untouched():
    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    checks.check_fixed_dropout(ref_fixed)
    assert torch.equal(torch.rand(2), expected)


# ----------------------------------------------------------------------------- 1.5


def ref_average(a, p, n, rho):
    return a * a * p / (1 - p) * (1 + (n - 1) * rho) / n


@pytest.mark.parametrize(
    "answer, hint",
    [
        (lambda a, p, n, rho: a * a * p / (1 - p) * (1 + (n - 1) * rho), "forgot to divide by n"),
        (lambda a, p, n, rho: a * a * p * (1 - p) * (1 + (n - 1) * rho) / n, "p(1-p)"),
        (lambda a, p, n, rho: a * a * (1 - p) / p * (1 + (n - 1) * rho) / n, "swapped p and 1-p"),
        (lambda a, p, n, rho: a * a * p / (1 - p) / n, "ignores ρ"),
        (lambda a, p, n, rho: a * a * p / (1 - p), "ignores n"),
        (lambda a, p, n, rho: a * a * p / (1 - p) * (1 + n * rho) / n, "1 + (n-1)ρ"),
        (lambda a, p, n, rho: a * a * p / (1 - p) * (1 + (n - 1) * rho) / n**2, "divided by n² twice"),
        (lambda a, p, n, rho: abs(a) * p / (1 - p) * (1 + (n - 1) * rho) / n, "a², not a"),
        (lambda a, p, n, rho: a * a * p / (1 - p) * (1 + (n - 1) * rho**2) / n, "not ρ²σ²"),
        (lambda a, p, n, rho: 0.0, "expected"),
    ],
)
def test_average_variance_mistakes_get_their_hint(answer, hint):
    fails_with(checks.check_average_variance, answer, hint)


def test_average_variance_is_tested_at_many_points_including_the_ends():
    points = checks.ch01_dropout.AVERAGE_VARIANCE_POINTS
    assert len(points) >= 100
    assert {n for _, _, n, _ in points} >= {1, 9} and {r for *_, r in points} >= {0.0, 1.0}

    def right_only_for_independent_coins(a, p, n, rho):
        return ref_average(a, p, n, rho) if rho == 0 else ref_average(a, p, n, 0.0) * 1.01

    fails_with(checks.check_average_variance, right_only_for_independent_coins, "ρ = 0.25")
    fails_with(checks.check_average_variance, lambda a, p, n, rho: None, "returned None")
    fails_with(checks.check_average_variance, lambda a, p, n, rho: "formula", "must return a number")


def test_average_variance_reference_spatial_over_element_is_n():
    ref = checks.average_variance_reference
    assert ref(1.0, 0.3, 9, 1.0) / ref(1.0, 0.3, 9, 0.0) == pytest.approx(9.0)


# ----------------------------------------------------------------------------- 2.1


@pytest.mark.parametrize(
    "answers, fragment",
    [
        ({"a": 8 * 16 * 32 * 32, "b": 1200, "c": 6, "d": 96}, "one coin per unit"),
        ({"a": 16, "b": 1200, "c": 6, "d": 96}, "multiply by the batch size"),
        ({"a": 128, "b": 4 * 50, "c": 6, "d": 96}, "whole timesteps"),
        ({"a": 128, "b": 1200, "c": 2 * 28, "d": 96}, "channel axis"),
        ({"a": 128, "b": 1200, "c": 6, "d": 6}, "one coin per unit"),
        ({"a": 128, "b": 1200, "c": 6}, "missing"),
        ({"a": 128, "b": 1200, "c": 6, "d": "96"}, "must be an int"),
    ],
)
def test_coin_flip_mistakes(answers, fragment):
    fails_with(checks.check_coin_flips, answers, fragment)


def test_coin_flips_needs_a_dict():
    fails_with(checks.check_coin_flips, [128, 1200, 6, 96], "must be a dict")


# ----------------------------------------------------------------------------- 2.2


def test_noise_dropout_ignoring_noise_shape_is_told_to_broadcast():
    fails_with(
        checks.check_noise_shape_dropout,
        lambda x, p, ns, rng: ref_inverted(x, p, rng),
        "varies along axis",
        "broadcast",
    )


def test_noise_dropout_unscaled_is_told_to_scale():
    def unscaled(x, p, ns, rng):
        return np.where(rng.random(ns) >= p, x, 0.0)

    fails_with(checks.check_noise_shape_dropout, unscaled, "1/(1-p)")


def test_noise_dropout_fixed_shape_is_caught():
    def always_spatial(x, p, ns, rng):
        if p == 1:
            return np.zeros_like(x)
        return np.where(rng.random((x.shape[0], x.shape[1], 1, 1)) >= p, x / (1 - p), 0.0)

    fails_with(checks.check_noise_shape_dropout, always_spatial, "varies along axis 1")


# ----------------------------------------------------------------------------- 2.4 (token dropout)


def test_word_dropout_with_spatialdropout1d_is_named():
    def channels(x, p, rng):
        return np.where(rng.random((x.shape[0], 1, x.shape[2])) >= p, x / (1 - p), 0.0)

    message = fails_with(checks.check_word_dropout, channels, "SpatialDropout1D", "(N, T, 1)", "tokens")
    assert "word" not in message


def test_word_dropout_messages_say_token(capsys):
    checks.check_word_dropout(ref_words)
    assert "token dropout" in capsys.readouterr().out


def test_word_dropout_elementwise_is_rejected():
    fails_with(checks.check_word_dropout, ref_inverted, "partly zeroed")


def test_word_dropout_wrong_rate_is_rejected():
    def keeps_p(x, p, rng):
        return np.where(rng.random((x.shape[0], x.shape[1], 1)) < p, x / (1 - p), 0.0)

    fails_with(checks.check_word_dropout, keeps_p, "dropped")


# ----------------------------------------------------------------------------- 2.5 (word types)


def test_word_types_token_dropout_is_named():
    def tokens(ids, table, p, rng):
        keep = rng.random(ids.shape) >= p
        return np.where(keep[..., None], table[ids] / (1 - p), 0.0)

    fails_with(checks.check_word_type_dropout, tokens, "token dropout", "one coin per vocabulary row")


def test_word_types_one_coin_for_the_whole_batch_is_named():
    def batch_wide(ids, table, p, rng):
        if p == 1:
            return np.zeros(ids.shape + table.shape[1:])
        keep = rng.random(table.shape[0]) >= p
        return np.where(keep[ids][..., None], table[ids] / (1 - p), 0.0)

    fails_with(checks.check_word_type_dropout, batch_wide, "whole batch", "(N, V)")


def test_word_types_unscaled_feature_and_rate_mistakes():
    def unscaled(ids, table, p, rng):
        keep = rng.random((ids.shape[0], table.shape[0])) >= p
        return np.where(np.take_along_axis(keep, ids, axis=1)[..., None], table[ids], 0.0)

    def features(ids, table, p, rng):
        keep = rng.random((ids.shape[0], 1, table.shape[1])) >= p
        return np.where(keep, table[ids] / (1 - p), 0.0)

    def keeps_p(ids, table, p, rng):
        keep = rng.random((ids.shape[0], table.shape[0])) < p
        return np.where(np.take_along_axis(keep, ids, axis=1)[..., None], table[ids] / (1 - p), 0.0)

    def nan_at_one(ids, table, p, rng):
        keep = rng.random((ids.shape[0], table.shape[0])) >= p
        with np.errstate(all="ignore"):
            return np.take_along_axis(keep, ids, axis=1)[..., None] * table[ids] / (1 - p)

    fails_with(checks.check_word_type_dropout, unscaled, "1/(1-p)", "forget to scale")
    fails_with(checks.check_word_type_dropout, features, "partly zeroed")
    fails_with(checks.check_word_type_dropout, keeps_p, "dropped", "probability p instead of 1-p")
    fails_with(checks.check_word_type_dropout, nan_at_one, "p = 1")
    fails_with(checks.check_word_type_dropout, lambda ids, table, p, rng: ids, "expected (N, T, E)")


@pytest.mark.parametrize("stream", range(20))
def test_correct_answers_from_other_random_streams_all_pass(stream, capsys):
    """Each checker's bounds are SIGMAS wide: a correct answer drawing from any stream passes, not only the seed the
    checker hands it. (A bound of 1 standard deviation would reject several of these 20 streams.)"""
    own = np.random.default_rng(1000 + stream)

    def inverted(x, p, rng):
        return ref_inverted(x, p, own)

    def noise(x, p, noise_shape, rng):
        return ref_noise(x, p, noise_shape, own)

    def words(x, p, rng):
        return ref_words(x, p, own)

    def word_types(ids, table, p, rng):
        return ref_word_types(ids, table, p, own)

    def fixed(x, p, training=True):
        g = torch.Generator().manual_seed(1000 + stream)
        if not training or p == 0:
            return x
        if p == 1:
            return torch.zeros_like(x)
        return x * (torch.rand(x.shape, generator=g) >= p) / (1 - p)

    checks.check_inverted_dropout(inverted)
    checks.check_noise_shape_dropout(noise)
    checks.check_word_dropout(words)
    checks.check_fixed_dropout(fixed)
    checks.check_word_type_dropout(word_types)
    assert capsys.readouterr().out.count("Correct:") == 5
