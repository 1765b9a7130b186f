"""Chapter 6's checkers: reference answers pass (also from other random streams), typical mistakes get their hint."""

import math
import statistics

import numpy as np
import pytest
import torch
from torch import nn

import spatialdrop_edu as sde
from spatialdrop_edu import checks
from spatialdrop_edu.training import mean_ci, t_quantile

from helpers import OwnCoins, fails_with, passes


def block(first_drop=None, late_drop=None, before=None):
    layers = [] if before is None else [before]
    layers += [nn.Conv1d(1, 16, 5, stride=2, padding=2), nn.ReLU()]
    layers += [] if first_drop is None else [first_drop]
    layers += [nn.Conv1d(16, 16, 3, stride=2, padding=1), nn.ReLU()]
    layers += [] if late_drop is None else [late_drop]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(160, 10))


def ref_placement(p):
    return block(sde.SpatialDropout1d(p))


def seed_study_with(seed):
    """A correct seed loop that seeds with ``seed``: ``sde.seed_everything``, or ``torch.manual_seed`` alone."""

    def study(run, seeds):
        values = []
        for s in seeds:
            seed(s)
            values.append(run())
        n = len(values)
        return values, statistics.mean(values), t_quantile(0.975, n - 1) * statistics.stdev(values) / math.sqrt(n)

    return study


ref_seed_study = seed_study_with(sde.seed_everything)
ref_seed_study_torch = seed_study_with(torch.manual_seed)  # (once the checker's example)


def ref_is_noise(a, b):
    mean, half = mean_ci([y - x for x, y in zip(a, b)])
    return bool(abs(mean) <= half)


@pytest.mark.parametrize(
    "check, answer",
    [
        (checks.check_dropout_placement, ref_placement),
        (checks.check_dropout_placement, lambda p: block(nn.Dropout1d(p))),
        (
            checks.check_dropout_placement,
            lambda p: nn.Sequential(
                nn.Conv1d(1, 16, 5, stride=2, padding=2),
                sde.SpatialDropout1d(p),
                nn.ReLU(),  # before the ReLU
                nn.Conv1d(16, 16, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(160, 10),
            ),
        ),
        (checks.check_seed_study, ref_seed_study),
        (checks.check_seed_study, ref_seed_study_torch),
        (checks.check_is_noise, ref_is_noise),
    ],
)
def test_reference_answers_pass_with_one_correct_line(check, answer, capsys):
    passes(check, answer, capsys=capsys)


@pytest.mark.parametrize("stream", range(20))
def test_correct_placement_with_other_random_streams_passes(stream, capsys):
    """A correct layer drawing its coins from an unrelated generator passes: the rate bound is ~5 sigma wide."""
    g = torch.Generator().manual_seed(5000 + stream)
    checks.check_dropout_placement(lambda p: block(OwnCoins(p, g)))
    assert "Correct:" in capsys.readouterr().out


def test_scipy_t_answers_pass(capsys):
    stats = pytest.importorskip("scipy.stats")

    def with_scipy(run, seeds):
        values = []
        for s in seeds:
            torch.manual_seed(s)
            values.append(run())
        v = np.array(values)
        return values, v.mean(), stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))

    checks.check_seed_study(with_scipy)

    def ttest(a, b):
        d = np.subtract(b, a)
        if np.all(d == 0):
            return True
        return bool(stats.ttest_rel(b, a).pvalue >= 0.05)

    checks.check_is_noise(ttest)
    assert capsys.readouterr().out.count("Correct:") == 2


# -- 6.1 mistakes -------------------------------------------------------------------------------


def test_placement_mistakes_get_their_hint():
    fails_with(checks.check_dropout_placement, lambda p: block(), "no dropout between the first and the second")
    fails_with(
        checks.check_dropout_placement,
        lambda p: block(late_drop=sde.SpatialDropout1d(p)),
        "no dropout between the first and the second",
    )
    fails_with(checks.check_dropout_placement, lambda p: block(nn.Dropout(p)), "element-wise dropout")
    fails_with(checks.check_dropout_placement, lambda p: block(sde.Dropout(p)), "element-wise dropout")
    fails_with(checks.check_dropout_placement, lambda p: block(before=sde.SpatialDropout1d(p)), "before it")
    fails_with(checks.check_dropout_placement, lambda p: block(sde.SpatialDropout1d(1 - p)), "pass the argument p")
    fails_with(checks.check_dropout_placement, lambda p: block(sde.SpatialDropout1d(0.1)), "pass the argument p")

    class AlwaysOn(nn.Module):
        def forward(self, x):
            return nn.functional.dropout1d(x, 0.4, training=True)

    fails_with(checks.check_dropout_placement, lambda p: block(AlwaysOn()), "evaluation mode")
    fails_with(checks.check_dropout_placement, lambda p: "model", "must return a torch.nn.Module")
    fails_with(checks.check_dropout_placement, lambda p: nn.Sequential(nn.Conv1d(1, 16, 5), nn.Flatten()), "1 Conv1d")

    def not_done(p):
        raise NotImplementedError()

    fails_with(checks.check_dropout_placement, not_done, "NotImplementedError")


# -- 6.2 mistakes -------------------------------------------------------------------------------


def seed_study_variant(
    *, seed_once=False, no_seed=False, z=None, ddof=1, div_n=False, df_n=False, full=False, one_sided=False
):
    def study(run, seeds):
        values = []
        if seed_once:
            torch.manual_seed(seeds[0])
        for seed in seeds:
            if not (seed_once or no_seed):
                torch.manual_seed(seed)
            values.append(run())
        v = np.array(values)
        n = len(v)
        q = 0.95 if one_sided else 0.975
        t = z if z is not None else t_quantile(q, n if df_n else n - 1)
        half = t * v.std(ddof=ddof) / (n if div_n else math.sqrt(n))
        return values, v.mean(), 2 * half if full else half

    return study


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"seed_once": True}, "seed before EVERY run"),
        ({"no_seed": True}, "torch.manual_seed(seed)"),
        ({"z": 1.96}, "1.96"),
        ({"ddof": 0}, "ddof=1"),
        ({"div_n": True}, "instead of sqrt(n)"),
        ({"df_n": True}, "n degrees of freedom"),
        ({"full": True}, "whole width"),
        ({"one_sided": True}, "0.975 quantile"),
    ],
)
def test_seed_study_mistakes_get_their_hint(kwargs, fragment):
    fails_with(checks.check_seed_study, seed_study_variant(**kwargs), fragment)


def test_seed_study_shape_mistakes():
    fails_with(checks.check_seed_study, lambda run, seeds: {"values": [run() for _ in seeds]}, "three things")
    fails_with(checks.check_seed_study, lambda run, seeds: ([run()], 0.0, 0.0), "exactly once per seed")

    def wrong_mean(run, seeds):
        values, mean, half = ref_seed_study(run, seeds)
        return values, statistics.median(values) + 1.0, half

    fails_with(checks.check_seed_study, wrong_mean, "the mean is")


# -- 6.3 mistakes -------------------------------------------------------------------------------


def unpaired(a, b):
    (ma, ha), (mb, hb) = mean_ci(a), mean_ci(b)
    return bool(ma - ha <= mb + hb and mb - hb <= ma + ha)  # "intervals overlap, so it is noise"


def z_paired(a, b):
    d = np.subtract(b, a)
    return bool(abs(d.mean()) <= 1.96 * d.std(ddof=1) / np.sqrt(len(d)))


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (unpaired, "paired"),
        (z_paired, "t = 2.776"),
        (lambda a, b: bool(np.mean(a) == np.mean(b)), "different means are not enough"),
        (lambda a, b: "yes", "True or False"),
        (lambda a, b: bool(abs(np.mean(np.subtract(b, a))) < mean_ci(np.subtract(b, a))[1]), "identical"),
    ],
)
def test_is_noise_mistakes_get_their_hint(answer, fragment):
    fails_with(checks.check_is_noise, answer, fragment)


def test_noise_cases_verdicts_are_what_their_names_say():
    verdicts = {name: ref_is_noise(a, b) for name, (a, b, _) in checks.NOISE_CASES.items()}
    assert verdicts == {
        "same seeds, small but consistent gain": False,
        "gain of two t-intervals, five seeds": True,
        "different means, large noise": True,
        "large clear gain": False,
        "identical": True,
    }
    assert unpaired(*checks.NOISE_CASES["same seeds, small but consistent gain"][:2]) is True
    assert z_paired(*checks.NOISE_CASES["gain of two t-intervals, five seeds"][:2]) is False
