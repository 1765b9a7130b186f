"""Zero-count distribution: the formula, exhaustive enumeration and sampling agree."""

import math

import numpy as np
import pytest

from spatialdrop_edu.analysis import zero_counts


@pytest.mark.parametrize(
    "shape, ns", [((2, 2, 2), None), ((2, 2, 2), (1, 2, 2)), ((3, 2, 2), (3, 1, 1)), ((4, 3), (1, 3))]
)
def test_enumeration_equals_binomial_at_one_half(shape, ns):
    tally = zero_counts.enumerate_zero_counts(shape, ns)
    counts, probs = zero_counts.zero_count_pmf(shape, ns, 0.5)
    total = sum(tally.values())
    assert list(tally) == counts.tolist()
    assert [tally[c] / total for c in counts] == pytest.approx(probs.tolist())


def test_pmf_sums_to_one_and_handles_extremes():
    for p in (0.0, 0.3, 1.0):
        counts, probs = zero_counts.zero_count_pmf((2, 8, 5, 5), (2, 8, 1, 1), p)
        assert probs.sum() == pytest.approx(1.0)
        assert counts.tolist() == [25 * k for k in range(17)]
    assert zero_counts.zero_count_pmf((4,), None, 0.0)[1].tolist() == [1, 0, 0, 0, 0]
    assert zero_counts.zero_count_pmf((4,), None, 1.0)[1].tolist() == [0, 0, 0, 0, 1]
    _, probs = zero_counts.zero_count_pmf((20_000,), None, 0.5)  # large: no overflow
    assert probs.sum() == pytest.approx(1.0) and np.isfinite(probs).all()


def test_sampling_matches_pmf_within_five_sigma():
    draws, p = 3000, 0.3
    s = zero_counts.sample_zero_counts((2, 2, 2), (1, 2, 2), p, draws, np.random.default_rng(0))
    counts, probs = zero_counts.zero_count_pmf((2, 2, 2), (1, 2, 2), p)
    assert set(s.tolist()) <= set(counts.tolist())
    for c, q in zip(counts, probs):
        assert abs((s == c).mean() - q) < 5 * math.sqrt(q * (1 - q) / draws) + 1e-12


def test_validation_messages():
    with pytest.raises(ValueError, match="at most 16 flips"):
        zero_counts.enumerate_zero_counts((2, 3, 4), None)
    with pytest.raises(ValueError, match="draws must be a positive int"):
        zero_counts.sample_zero_counts((2,), None, 0.5, 0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        zero_counts.sample_zero_counts((2,), None, 0.5, 3, 0)
    with pytest.raises(ValueError, match="p must be a probability"):
        zero_counts.zero_count_pmf((2,), None, 2.0)
    with pytest.raises(ValueError, match="cannot broadcast"):
        zero_counts.zero_count_pmf((2, 3), (2, 2), 0.5)
