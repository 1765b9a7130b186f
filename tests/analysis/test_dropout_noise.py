"""Dropout's noise on correlated units, chapter 3: the injected variance by formula and sampled, weight gradients."""

import math

import numpy as np
import pytest

from spatialdrop_edu.analysis.dropout_noise import injected_variance, sampled_injected_variance, weight_gradient_stats
from spatialdrop_edu.analysis.fields import gaussian_random_field

from stats import SIGMAS


def equicorrelated(n, rho):
    return np.full((n, n), rho) + (1 - rho) * np.eye(n)


@pytest.mark.parametrize("rho", [0.0, 0.5, 1.0])
def test_injected_variance_for_equal_weights_matches_closed_form(rho):
    n, p = 9, 0.3
    w = np.full(n, 1 / n)
    f = p / (1 - p)
    assert injected_variance(w, equicorrelated(n, rho), p) == pytest.approx(f / n)
    assert injected_variance(w, equicorrelated(n, rho), p, "spatial") == pytest.approx(f * (1 / n + (1 - 1 / n) * rho))


def test_injected_variance_matches_monte_carlo_with_weights_and_mean():
    rng = np.random.default_rng(7)
    n, p, draws = 4, 0.4, 400_000
    w = np.array([0.5, -1.0, 2.0, 0.3])
    mu = np.array([0.2, 0.5, -0.1, 1.0])
    a = rng.standard_normal((n, n))
    cov = a @ a.T / n + 0.1 * np.eye(n)
    x = rng.multivariate_normal(mu, cov, size=draws)
    for kind, coins in [
        ("element", rng.random((draws, n)) >= p),
        ("spatial", np.repeat(rng.random((draws, 1)) >= p, n, 1)),
    ]:
        noise = (x * w * (coins / (1 - p) - 1)).sum(axis=1)  # z after dropout minus z
        sq = noise**2
        bound = SIGMAS * sq.std() / math.sqrt(draws)
        assert abs(sq.mean() - injected_variance(w, cov, p, kind, mean=mu)) < bound, kind


def test_injected_variance_validates():
    with pytest.raises(ValueError, match="smaller than 1"):
        injected_variance([1.0], [[1.0]], 1.0)
    with pytest.raises(ValueError, match="covariance"):
        injected_variance([1.0, 1.0], [[1.0]], 0.5)
    with pytest.raises(ValueError, match="kind"):
        injected_variance([1.0], [[1.0]], 0.5, "channel")


def grad_inputs(length, seed=0):
    rng = np.random.default_rng(seed)
    x = np.stack([gaussian_random_field((24, 24), length, rng) for _ in range(3)])
    d = np.stack([gaussian_random_field((22, 22), length, rng) for _ in range(2)])
    return x, d


def test_spatial_gradients_are_all_or_nothing_per_input_channel():
    x, d = grad_inputs(2.0)
    for convention, kept in [("inverted", 1 / (1 - 0.25)), ("original", 1.0)]:
        s = weight_gradient_stats(x, d, 0.25, "spatial", convention, draws=30, rng=np.random.default_rng(1))
        ratio = s["grads"] / s["g0"]  # (draws, C_out, C_in, k, k)
        per_channel = ratio[:, 0, :, 0, 0]
        assert np.allclose(ratio, per_channel[:, None, :, None, None])
        assert set(np.round(per_channel, 9).ravel().tolist()) <= {0.0, round(kept, 9)}


def test_original_convention_gradient_is_inverted_times_one_minus_p():
    x, d = grad_inputs(3.0)
    inv = weight_gradient_stats(x, d, 0.4, "element", "inverted", draws=20, rng=np.random.default_rng(4))
    ori = weight_gradient_stats(x, d, 0.4, "element", "original", draws=20, rng=np.random.default_rng(4))
    assert np.allclose(ori["grads"], 0.6 * inv["grads"])
    assert ori["relative_noise"] == pytest.approx(0.36 * inv["relative_noise"])


@pytest.mark.parametrize("convention,expected", [("inverted", 1.0), ("original", 0.5)])
def test_element_gradient_mean_ratio_within_its_noise(convention, expected):
    x, d = grad_inputs(4.0, seed=2)
    draws = 200
    s = weight_gradient_stats(x, d, 0.5, "element", convention, draws=draws, rng=np.random.default_rng(9))
    # the projection of the mean gradient on g0 has variance at most relative_noise / draws (in units of |g0|^2)
    assert abs(s["mean_ratio"] - expected) < SIGMAS * math.sqrt(s["relative_noise"] / draws) + 1e-12


def test_element_gradient_noise_shrinks_with_correlation_but_spatial_does_not():
    p = 0.5
    noise = {}
    for length in (0.0, 6.0):
        x, d = grad_inputs(length, seed=3)
        for kind in ("element", "spatial"):
            noise[kind, length] = weight_gradient_stats(
                x, d, p, kind, "inverted", draws=100, rng=np.random.default_rng(5)
            )["relative_noise"]
    assert noise["element", 6.0] < 0.2 * noise["element", 0.0]
    assert noise["spatial", 6.0] > 0.5  # p / (1 - p) = 1 in expectation, a few channels only


def test_weight_gradient_stats_validates_shapes():
    with pytest.raises(ValueError, match="delta"):
        weight_gradient_stats(
            np.zeros((1, 8, 8)), np.zeros((1, 8, 8)), 0.5, "element", "inverted", rng=np.random.default_rng(0)
        )


@pytest.mark.parametrize("kind", ["element", "spatial"])
@pytest.mark.parametrize("length", [0.0, 4.0])
def test_sampled_injected_variance_agrees_with_the_formula(kind, length):
    rng = np.random.default_rng(11)
    field = gaussian_random_field((96, 96), length, rng) + 0.5
    w = rng.standard_normal((3, 3))
    s = sampled_injected_variance(field, w, 0.3, kind, rng)
    # overlapping patches share pixels but not coins, so the coin noise is what varies; for the shared coin
    # the patches' noise is correlated through the field, so allow the overlap factor k*k on the variance
    assert abs(s["measured"] - s["predicted"]) < SIGMAS * 3 * s["stderr"]
    assert s["patches"] == 94 * 94 and s["signal"] > 0


def test_sampled_injected_variance_gap_grows_with_correlation():
    rng = np.random.default_rng(12)
    w = np.full((3, 3), 1 / 9)
    ratio = []
    for length in (0.0, 8.0):
        f = gaussian_random_field((96, 96), length, rng)
        e = sampled_injected_variance(f, w, 0.5, "element", rng)["predicted"]
        s = sampled_injected_variance(f, w, 0.5, "spatial", rng)["predicted"]
        ratio.append(s / e)
    assert ratio[0] < 1.5 and ratio[1] > 7.0  # 1 for white noise, up to n = 9


def test_per_draw_gradients_equal_autograd_of_the_conv_layer():
    import torch

    x, d = grad_inputs(2.0, seed=6)
    s = weight_gradient_stats(x, d, 0.3, "element", "inverted", draws=3, rng=np.random.default_rng(8))
    again = np.random.default_rng(8)
    from spatialdrop_edu.layers.numpy_reference import numpy_dropout

    for g in s["grads"]:
        xd = numpy_dropout(x, 0.3, again)
        w = torch.zeros(2, 3, 3, 3, dtype=torch.float64, requires_grad=True)
        (torch.nn.functional.conv2d(torch.as_tensor(xd)[None], w) * torch.as_tensor(d)[None]).sum().backward()
        assert np.allclose(g, w.grad.numpy())


def test_sampled_injected_variance_takes_rectangular_kernels_and_matches_the_formula():
    rng = np.random.default_rng(11)
    field = gaussian_random_field((96, 96), 3.0, rng)
    for weights in ([[-1.0, 1.0]], [[1.0], [-2.0], [1.0]], [[0, 1, 0], [1, -4, 1], [0, 1, 0]]):
        for kind in ("element", "spatial"):
            s = sampled_injected_variance(field, weights, 0.3, kind, rng)
            # overlapping patches: a generous bound, as in the chapter
            assert abs(s["measured"] - s["predicted"]) < SIGMAS * 3 * s["stderr"] + 1e-12, (weights, kind)
    with pytest.raises(ValueError, match="no larger than the field"):
        sampled_injected_variance(np.ones((4, 4)) + np.eye(4), np.ones((1, 5)), 0.5, "element", rng)


def test_spatial_noise_to_signal_is_p_over_1_minus_p_for_every_kernel_but_element_depends_on_it():
    """The chapter's point: a shared coin scales the whole sum (noise/signal = p/(1-p) whatever the kernel); independent
    coins are averaged away by a low-pass kernel and amplified, relative to the signal, by a high-pass one."""
    rng = np.random.default_rng(12)
    field = gaussian_random_field((128, 128), 8.0, rng)
    nsr = {}
    for name, w in [("mean", np.full((3, 3), 1 / 9)), ("difference", [[-1.0, 1.0]])]:
        for kind in ("element", "spatial"):
            s = sampled_injected_variance(field, w, 0.5, kind, rng)
            nsr[name, kind] = s["measured"] / s["signal"]
    assert nsr["mean", "spatial"] == pytest.approx(1.0, abs=1e-9)  # p = 0.5: every coin gives (m/(1-p) - 1)^2 = 1
    assert nsr["difference", "spatial"] == pytest.approx(1.0, abs=1e-9)
    assert nsr["mean", "element"] < 0.2 and nsr["difference", "element"] > 10
