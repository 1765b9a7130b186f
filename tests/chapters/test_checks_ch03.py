"""Chapter 3's checkers: the reference passes, typical mistakes fail with their own hint, correct variants pass."""

import numpy as np
import pytest

from spatialdrop_edu import checks
from spatialdrop_edu.checks import ExerciseFailure


def pearson(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def autocorr_ref(x, d):
    if d == 0:
        return 1.0
    return 0.5 * (pearson(x[:, :-d], x[:, d:]) + pearson(x[:-d], x[d:]))


def autocorr_pooled(x, d):  # a correct variant: pool horizontal and vertical pairs, one global mean
    if d == 0:
        return 1.0
    z = (x - x.mean()) / x.std()
    return float(np.concatenate([(z[:, :-d] * z[:, d:]).ravel(), (z[:-d] * z[d:]).ravel()]).mean())


def test_autocorrelation_reference_and_pooled_variant_pass(capsys):
    checks.check_autocorrelation(autocorr_ref)
    checks.check_autocorrelation(autocorr_pooled)
    assert capsys.readouterr().out.count("Correct:") == 2


def fill_eight(x, keep):
    """The 8-neighbour fill, written out (the package's own would be caught as delegation first)."""
    pad, padk = np.pad(np.where(keep, x, 0.0), 1), np.pad(keep.astype(float), 1)
    shifts = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]
    h, w = x.shape
    s = sum(pad[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w] for dr, dc in shifts)
    n = sum(padk[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w] for dr, dc in shifts)
    return np.where(keep, x, np.where(n > 0, s / np.maximum(n, 1), x[keep].mean()))


def test_neighbour_fill_delegation_is_caught_under_any_name():
    from spatialdrop_edu.analysis import fields
    from spatialdrop_edu.analysis.fields import neighbour_fill as my_fill

    for delegate in (lambda x, keep: my_fill(x, keep, 4), lambda x, keep: fields.neighbour_fill(x, keep, 4)):
        with pytest.raises(ExerciseFailure, match="write it yourself"):
            checks.check_neighbour_fill(delegate)
    checks.check_neighbour_fill(fill_ref)  # the profile hook is gone: a right answer still passes
    import sys

    assert sys.getprofile() is None


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (lambda x, d: 1.0 if d == 0 else pearson(x[:, :-d], x[:, d:]), "one direction only"),
        (lambda x, d: 1.0 if d == 0 else float(np.mean(x[:, :-d] * x[:, d:])), "Subtract the means"),
        (
            lambda x, d: 1.0 if d == 0 else 0.5 * (pearson(x, np.roll(x, -d, 1)) + pearson(x, np.roll(x, -d, 0))),
            "np.roll",
        ),
        (lambda x, d: 1.0 if d == 0 else autocorr_ref(x, max(d - 1, 1)), "one lag off"),
        (lambda x, d: autocorr_ref(x, max(d, 1)), "lag d = 0"),
        (lambda x, d: None, "return"),
    ],
)
def test_autocorrelation_mistakes_get_their_hint(wrong, hint):
    with pytest.raises(ExerciseFailure, match=hint):
        checks.check_autocorrelation(wrong)


def fill_ref(x, keep):
    h, w = x.shape
    out = x.astype(float).copy()
    fallback = x[keep].mean() if keep.any() else 0.0
    for r in range(h):
        for c in range(w):
            if keep[r, c]:
                continue
            vals = [
                x[rr, cc]
                for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
                if 0 <= rr < h and 0 <= cc < w and keep[rr, cc]
            ]
            out[r, c] = np.mean(vals) if vals else fallback
    return out


def fill_padded(x, keep):
    """A vectorized right answer: the sums over the 4 neighbours of a zero-padded copy (once the checker's example)."""

    def near(a):
        a = np.pad(a, 1)
        return a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:]

    total, count = near(np.where(keep, x, 0.0)), near(keep.astype(float))
    mean = np.where(count > 0, total / np.maximum(count, 1), x[keep].mean())
    return np.where(keep, x, mean)


def test_neighbour_fill_reference_passes(capsys):
    checks.check_neighbour_fill(fill_ref)
    checks.check_neighbour_fill(fill_padded)
    assert capsys.readouterr().out.count("Correct:") == 2


def fill_divide_by_four(x, keep):
    pad = np.pad(np.where(keep, x, 0.0), 1)
    four = (pad[:-2, 1:-1] + pad[2:, 1:-1] + pad[1:-1, :-2] + pad[1:-1, 2:]) / 4
    return np.where(keep, x, four)


def fill_rolled(x, keep):
    kx, km = np.where(keep, x, 0.0), keep.astype(float)
    s = sum(np.roll(kx, k, a) for k in (1, -1) for a in (0, 1))
    n = sum(np.roll(km, k, a) for k in (1, -1) for a in (0, 1))
    return np.where(keep, x, np.where(n > 0, s / np.maximum(n, 1), x[keep].mean()))


def fill_nan(x, keep):
    pad, padk = np.pad(np.where(keep, x, 0.0), 1), np.pad(keep.astype(float), 1)
    s = pad[:-2, 1:-1] + pad[2:, 1:-1] + pad[1:-1, :-2] + pad[1:-1, 2:]
    n = padk[:-2, 1:-1] + padk[2:, 1:-1] + padk[1:-1, :-2] + padk[1:-1, 2:]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(keep, x, s / n)


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (fill_eight, "8 neighbours"),
        (
            lambda x, keep: __import__("spatialdrop_edu.analysis.fields", fromlist=["x"]).neighbour_fill(x, keep, 4),
            "calls the package's neighbour_fill",
        ),
        (fill_divide_by_four, "divided by 4"),
        (fill_rolled, "wraps around"),
        (fill_nan, "0/0"),
        (lambda x, keep: np.where(keep, x, 0.0) + 0.5, "changed kept pixels"),
        (lambda x, keep: x[:-1], "shape"),
    ],
)
def test_neighbour_fill_mistakes_get_their_hint(wrong, hint):
    with pytest.raises(ExerciseFailure, match=hint):
        checks.check_neighbour_fill(wrong)


def variance_ref(k, p, rho, shared):
    n = k * k
    return p / (1 - p) * ((1 / n + (1 - 1 / n) * rho) if shared else 1 / n)


def test_injected_variance_reference_and_numeric_variant_pass(capsys):
    checks.check_injected_variance(variance_ref)

    def numeric(k, p, rho, shared):  # w^T S w with an explicit covariance matrix
        n = k * k
        cov = np.full((n, n), rho) + (1 - rho) * np.eye(n)
        w = np.full(n, 1 / n)
        return p / (1 - p) * (w @ cov @ w if shared else (w**2 * np.diag(cov)).sum())

    checks.check_injected_variance(numeric)
    assert capsys.readouterr().out.count("Correct:") == 2


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (lambda k, p, rho, shared: variance_ref(k, p, rho, not shared), "other kind of coin"),
        (lambda k, p, rho, shared: p / (1 - p), "ONE unit"),
        (lambda k, p, rho, shared: variance_ref(k, p, rho, shared) * (1 - p) ** 2, "1/\\(1-p\\)"),
        (lambda k, p, rho, shared: p / (1 - p) * (rho if shared else 1 / (k * k)), "diagonal"),
        (lambda k, p, rho, shared: p / (1 - p) * ((1 / (k * k) + rho) if shared else 1 / (k * k)), "off-diagonal"),
        (lambda k, p, rho, shared: p / (1 - p) * (1 / (k * k) + (1 - 1 / (k * k)) * rho), "ρ drops out"),
        (lambda k, p, rho, shared: variance_ref(k, p, rho, shared) * k**4, "variance of the sum"),
        (lambda k, p, rho, shared: "0.1", None),
    ],
)
def test_injected_variance_mistakes_get_their_hint(wrong, hint):
    with pytest.raises(ExerciseFailure, match=hint or "expected"):
        checks.check_injected_variance(wrong)


def test_checkers_are_deterministic_across_numpy_global_state():
    # the checkers draw their fields from their own generators: the global state does not matter
    for seed in range(20):
        np.random.seed(seed)
        checks.check_autocorrelation(autocorr_ref)
        checks.check_neighbour_fill(fill_ref)


def test_the_package_autocorrelation_is_not_an_answer():
    from spatialdrop_edu.analysis.correlation import autocorrelation

    with pytest.raises(ExerciseFailure, match="calls the package's autocorrelation"):
        checks.check_autocorrelation(lambda x, d: float(autocorrelation(x, max_lag=max(d, 1))[d]))
