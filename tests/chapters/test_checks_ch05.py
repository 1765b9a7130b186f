"""Chapter 5's checkers: the reference answers pass, each typical mistake fails with its own hint."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spatialdrop_edu import checks
from spatialdrop_edu.checks import ExerciseFailure
from spatialdrop_edu.layers.dropblock import block_gamma


def gamma_ref(p, block_size, height, width):
    bh, bw = min(block_size, height), min(block_size, width)
    return p * height * width / (bh * bw * (height - bh + 1) * (width - bw + 1))


def test_gamma_reference_passes(capsys):
    checks.check_gamma(gamma_ref)
    assert capsys.readouterr().out.startswith("Correct:")


def test_gamma_delegated_to_the_package_earns_nothing():
    with pytest.raises(ExerciseFailure, match="your gamma calls the package's block_gamma: this exercise asks you"):
        checks.check_gamma(lambda p, b, h, w: block_gamma(p, b, (h, w)))


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda p, b, h, w: gamma_ref(1 - p, b, h, w), "keep_prob where the formula needs"),
        (lambda p, b, h, w: p / (min(b, h) * min(b, w)), "valid region"),
        (lambda p, b, h, w: p * h * w / (b * b * (h - b + 1) * (w - b + 1)), "clamped"),
        (lambda p, b, h, w: gamma_ref(p, b, h, h), "non-square"),
        (lambda p, b, h, w: p * h * w / (min(b, h) * (h - min(b, h) + 1) * (w - min(b, w) + 1)), "area"),
        (lambda p, b, h, w: None, "must return a number"),
        (lambda p, b, h, w: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_gamma_mistakes_get_their_hint(wrong, hint):
    with pytest.raises(ExerciseFailure, match=hint):
        checks.check_gamma(wrong)


def mask_ref(seeds, block_size):
    b = block_size
    return 1 - F.max_pool2d(F.pad(seeds, [b - 1] * 4), kernel_size=b, stride=1)


def test_block_mask_reference_passes(capsys):
    checks.check_block_mask(mask_ref)
    assert "Correct:" in capsys.readouterr().out
    # the package's reference agrees with the learner's max-pool answer (outside a checker it answers as written)
    seeds = (torch.rand(2, 3, 9, 9) < 0.1).float()
    assert np.array_equal(checks.reference_block_mask(seeds.numpy() > 0, 3), mask_ref(seeds, 3).numpy())


def shifted(seeds, b):  # blocks one unit off: padded unevenly, same output size
    left = max(b - 2, 0)
    return 1 - F.max_pool2d(F.pad(seeds, [left, 2 * (b - 1) - left] * 2), kernel_size=b, stride=1)


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda s, b: F.max_pool2d(F.pad(s, [b - 1] * 4), kernel_size=b, stride=1), "1 on the dropped blocks"),
        (
            lambda s, b: (
                1 - F.max_pool2d(s, kernel_size=b, stride=1, padding=b // 2)[..., : s.shape[-2], : s.shape[-1]]
            ),
            "pad them by block_size - 1",
        ),
        (lambda s, b: 1 - F.pad(s, [0, b - 1, 0, b - 1]), "kernel block_size wide"),
        (shifted, "differs from the expected mask"),
        (lambda s, b: None, "returned None"),
    ],
)
def test_block_mask_mistakes_get_their_hint(wrong, hint):
    with pytest.raises(ExerciseFailure, match=hint):
        checks.check_block_mask(wrong)


def test_variance_shift_reference_passes(capsys):
    checks.check_variance_shift(lambda p, m, v: v / ((v + m * m) / (1 - p) - m * m))
    assert capsys.readouterr().out.startswith("Correct:")


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda p, m, v: ((v + m * m) / (1 - p) - m * m) / v, "train over eval"),
        (lambda p, m, v: v / (v / (1 - p)), "the mean matters"),
        (lambda p, m, v: v / ((v + m * m) / p - m * m) if p > 0 else 1.0, "keep probability is 1 - p"),
        (lambda p, m, v: v / ((v + m * m) / (1 - p) ** 2 - m * m), "E\\[y\\^2\\]"),
        (lambda p, m, v: "half", "must return a number"),
    ],
)
def test_variance_shift_mistakes_get_their_hint(wrong, hint):
    with pytest.raises(ExerciseFailure, match=hint):
        checks.check_variance_shift(wrong)


def test_checkers_are_deterministic_and_need_no_random_streams():
    """None of the three checkers samples: they compare formulas and masks exactly, so other random streams of the
    learner's environment cannot change a verdict. Shown by running each correct answer under 20 global seeds."""
    for seed in range(20):
        torch.manual_seed(seed)
        np.random.seed(seed)
        checks.check_gamma(gamma_ref)
        checks.check_block_mask(mask_ref)
        checks.check_variance_shift(lambda p, m, v: v / ((v + m * m) / (1 - p) - m * m))
