"""Correlation measurements of chapter 3: autocorrelation, correlation length, power spectrum, channels."""

import math

import numpy as np
import pytest

from spatialdrop_edu.analysis import correlation as C
from spatialdrop_edu.analysis.fields import gaussian_random_field

from stats import SIGMAS


def test_autocorrelation_is_one_at_lag_zero_and_matches_numpy_corrcoef():
    x = np.random.default_rng(0).standard_normal((20, 30)).cumsum(axis=1)
    rho = C.autocorrelation(x, 5)
    assert rho.shape == (6,) and rho[0] == 1.0
    for d in range(1, 6):
        h = np.corrcoef(x[:, :-d].ravel(), x[:, d:].ravel())[0, 1]
        v = np.corrcoef(x[:-d].ravel(), x[d:].ravel())[0, 1]
        assert rho[d] == pytest.approx(0.5 * (h + v), abs=1e-12)


def test_autocorrelation_ignores_offset_and_scale():
    x = np.random.default_rng(1).standard_normal((16, 16))
    assert np.allclose(C.autocorrelation(x, 4), C.autocorrelation(3 * x + 7, 4))


@pytest.mark.parametrize("length", [2.0, 4.0, 8.0])
def test_gaussian_field_has_the_gaussian_autocorrelation_it_promises(length):
    n = 256
    x = gaussian_random_field((n, n), length, np.random.default_rng(int(length)))
    rho = C.autocorrelation(x, 16)
    # Bartlett: Var(sample correlation) <= (1 + rho^2) * sum_h rho(h)^2 / N, sum_h rho(h)^2 = pi L^2 / 2
    bound = SIGMAS * math.sqrt(math.pi * length**2 / n**2)
    d = np.arange(17)
    assert np.all(np.abs(rho - np.exp(-((d / length) ** 2))) < bound)
    assert abs(C.correlation_length(curve=rho) - length) < 0.25 * length


def test_white_noise_is_uncorrelated_and_its_length_below_one_pixel():
    x = gaussian_random_field((128, 128), 0.0, np.random.default_rng(5))
    rho = C.autocorrelation(x, 3)
    assert np.all(np.abs(rho[1:]) < SIGMAS / 128)
    assert C.correlation_length(curve=rho) < 1.0


def test_correlation_length_interpolates_and_reports_inf():
    assert C.correlation_length(curve=[1.0, 0.5, 0.2]) == pytest.approx(1 + (0.5 - math.exp(-1)) / 0.3)
    assert C.correlation_length(curve=[1.0, 0.9, 0.8]) == math.inf
    with pytest.raises(ValueError, match="exactly one"):
        C.correlation_length()


def test_mean_autocorrelation_skips_dead_channels():
    rng = np.random.default_rng(2)
    maps = np.stack([gaussian_random_field((32, 32), 3.0, rng), np.zeros((32, 32)), np.full((32, 32), 4.0)])
    curve, live = C.mean_autocorrelation(maps, 50)  # max_lag clipped to 31
    assert live == 1 and curve.shape == (32,)
    assert np.allclose(curve, C.autocorrelation(maps[0], 31))
    curve, live = C.mean_autocorrelation(np.zeros((2, 8, 8)), 3)
    assert live == 0 and np.isnan(curve).all()


def test_power_spectrum_of_white_noise_is_flat_and_sums_to_the_variance():
    x = np.random.default_rng(3).standard_normal((128, 128))
    f, power = C.radial_power_spectrum(x, window="none")
    assert f[0] == 1 / 128 and f[-1] == 0.5 and len(f) == 64
    fit = C.fit_spectral_exponent(spectrum=(f, power), band=(0.05, 0.45))
    assert abs(fit["alpha"]) < 0.15  # slope of log power over ~50 rings of ~100-800 noisy samples
    assert abs(power[5:].mean() - 1.0) < 0.1


@pytest.mark.parametrize("alpha", [1.0, 2.0, 3.0])
def test_spectral_exponent_recovered_from_synthetic_power_law_images(alpha):
    n = 256
    rng = np.random.default_rng(int(alpha))
    fy, fx = np.fft.fftfreq(n)[:, None], np.fft.fftfreq(n)[None, :]
    radius = np.hypot(fy, fx)
    radius[0, 0] = 1.0
    amp = radius ** (-alpha / 2)
    x = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((n, n))) * amp))
    fit = C.fit_spectral_exponent(x)
    assert abs(fit["alpha"] - alpha) < 0.2 and fit["points"] > 40


def test_fit_spectral_exponent_rejects_empty_band():
    with pytest.raises(ValueError, match="band"):
        C.fit_spectral_exponent(np.ones((16, 16)) + np.eye(16), band=(0.3, 0.31))


def test_mean_autocorrelation_averages_each_lag_over_channels_where_defined():
    sparse = np.zeros((16, 16))
    sparse[2, 2] = 1.0  # at lag >= 3 one shifted block is constant zero: NaN there
    rng = np.random.default_rng(13)
    smooth = gaussian_random_field((16, 16), 2.0, rng)
    curve, live = C.mean_autocorrelation(np.stack([sparse, smooth]), 5)
    a, b = C.autocorrelation(sparse, 5), C.autocorrelation(smooth, 5)
    assert live == 2 and np.isfinite(curve).all()
    for d in range(6):
        want = np.nanmean([a[d], b[d]])
        assert curve[d] == pytest.approx(want)


def test_cross_channel_stats_recovers_linear_dependence_and_independence():
    rng = np.random.default_rng(13)
    a, b, c = rng.standard_normal((3, 40, 40))
    s = C.cross_channel_stats(np.stack([a, b, 2 * a - b + 3, np.zeros((40, 40))]))  # a constant channel is left out
    assert s["live"] == 3 and s["correlation"].shape == (3, 3)
    assert np.allclose(s["r2"], 1.0)
    s = C.cross_channel_stats(np.stack([a, b, c]))
    assert s["mean_abs_correlation"] < SIGMAS / 40 and np.all(s["r2"] < 2 * SIGMAS**2 / 1600)
    mixed = C.cross_channel_stats(np.stack([a, a + c]))  # correlation 1/sqrt(2): R^2 = 1/2
    assert mixed["r2"] == pytest.approx([0.5, 0.5], abs=0.06)
    assert C.cross_channel_stats(np.zeros((2, 4, 4)))["live"] == 0
    with pytest.raises(ValueError, match="shape"):
        C.cross_channel_stats(np.zeros(5))
