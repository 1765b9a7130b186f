"""Statistics of per-seed values: t quantiles against published values, intervals by the formula, p-values, Holm."""

import math

import pytest
import torch

from spatialdrop_edu.training import mean_ci, t_quantile
from spatialdrop_edu.training.stats import t_cdf

# Two-sided 95% critical values t_{0.975, df}, from any printed table of Student's t
T975 = {
    1: 12.706,
    2: 4.303,
    3: 3.182,
    4: 2.776,
    5: 2.571,
    9: 2.262,
    10: 2.228,
    19: 2.093,
    29: 2.045,
    30: 2.042,
    60: 2.000,
    120: 1.980,
}


@pytest.mark.parametrize("df, value", sorted(T975.items()))
def test_t_quantile_matches_tables(df, value):
    assert t_quantile(0.975, df) == pytest.approx(value, abs=1e-3)


def test_t_quantile_matches_scipy_and_inverts_cdf():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 3.5, 4, 7, 15, 50, 1000):
        for q in (0.005, 0.1, 0.5, 0.9, 0.975, 0.995):
            assert t_quantile(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-7, abs=1e-9)
            assert t_cdf(t_quantile(q, df), df) == pytest.approx(q, abs=1e-10)
    assert t_quantile(0.975, 10**6) == pytest.approx(1.959964, abs=1e-5)  # the normal limit


def test_t_quantile_rejects_bad_input():
    with pytest.raises(ValueError, match="q"):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="df"):
        t_cdf(1.0, 0)


def test_mean_ci_is_the_formula():
    values = [0.61, 0.58, 0.66, 0.63, 0.60, 0.64]
    n, mean = len(values), sum(values) / len(values)
    s = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    m, half = mean_ci(values)
    assert m == pytest.approx(mean) and half == pytest.approx(2.5706 * s / math.sqrt(n), rel=1e-4)
    assert mean_ci(values, level=0.99)[1] == pytest.approx(4.0321 * s / math.sqrt(n), rel=1e-4)
    assert math.isnan(mean_ci([0.5])[1]) and mean_ci([0.5, 0.5]) == (0.5, 0.0)
    with pytest.raises(ValueError):
        mean_ci([])


def test_a_verdict_needs_the_whole_interval_on_one_side_of_zero():
    from spatialdrop_edu.training import verdict

    assert verdict({"low": 1e-9, "high": 1.0}) == "better" and verdict({"low": -1.0, "high": -1e-9}) == "worse"
    assert verdict({"low": 0.0, "high": 1.0}) == verdict({"low": -1.0, "high": 0.0}) == "within the noise"


def test_p_value_is_scipys_paired_t_test_and_agrees_with_the_interval():
    from scipy import stats

    from spatialdrop_edu.training import p_value, verdict

    rng = torch.Generator().manual_seed(0)
    for _ in range(20):
        values = (torch.randn(8, generator=rng) * 0.02 + 0.01).tolist()
        assert p_value({"values": values}) == pytest.approx(stats.ttest_1samp(values, 0.0).pvalue, rel=1e-9)
        mean, half = mean_ci(values)
        resolved = verdict({"low": mean - half, "high": mean + half}) != "within the noise"
        assert resolved == (p_value({"values": values}) < 0.05)
    with pytest.raises(ValueError, match="at least two"):
        p_value({"values": [0.1]})


def test_holm_resolves_a_subset_of_the_raw_verdicts_and_one_comparison_alone():
    """Holm never resolves what the uncorrected intervals leave open; with one comparison it is the interval's
    verdict; it resolves by the smallest p-values first and stops at the first that fails its threshold."""
    from spatialdrop_edu.training import holm, verdict

    rng = torch.Generator().manual_seed(1)
    family = []
    for shift in (0.03, 0.02, 0.01, 0.0, -0.01, -0.03):
        values = (torch.randn(10, generator=rng) * 0.02 + shift).tolist()
        mean, half = mean_ci(values)
        family.append({"values": values, "low": mean - half, "high": mean + half})
    corrected = holm(family)
    raw = [verdict(r) for r in family]
    assert all(c == "within the noise" or c == r for c, r in zip(corrected, raw))
    assert corrected.count("within the noise") >= raw.count("within the noise")
    assert all(holm([r]) == [verdict(r)] for r in family)
    with pytest.raises(ValueError, match="alpha"):
        holm(family, alpha=1.5)
