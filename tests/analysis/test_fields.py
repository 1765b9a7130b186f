"""Fields of chapter 3: synthetic random fields, neighbour reconstruction, conv feature maps."""

import numpy as np
import pytest
import torch

from spatialdrop_edu.analysis import fields as F

from stats import binomial_fraction_bound


def test_gaussian_random_field_is_standardized_reproducible_and_validated():
    a = F.gaussian_random_field((40, 50), 3.0, np.random.default_rng(0))
    b = F.gaussian_random_field((40, 50), 3.0, np.random.default_rng(0))
    assert a.shape == (40, 50) and np.array_equal(a, b)
    assert abs(a.mean()) < 1e-12 and abs(a.std() - 1) < 1e-12
    for bad, error in ((-1.0, ValueError), (float("nan"), ValueError), (True, TypeError), ("3", TypeError)):
        with pytest.raises(error, match="length"):
            F.gaussian_random_field((8, 8), bad, np.random.default_rng(0))


def test_neighbour_fill_keeps_kept_pixels_and_averages_kept_neighbours():
    x = np.arange(25.0).reshape(5, 5)
    keep = np.ones((5, 5), bool)
    keep[2, 2] = keep[2, 3] = False
    four = F.neighbour_fill(x, keep, 4)
    eight = F.neighbour_fill(x, keep, 8)
    assert np.array_equal(four[keep], x[keep])
    assert four[2, 2] == pytest.approx((7 + 17 + 11) / 3)  # right neighbour (2, 3) dropped
    assert eight[2, 2] == pytest.approx((6 + 7 + 8 + 11 + 16 + 17 + 18) / 7)
    corner = np.ones((5, 5), bool)
    corner[0, 0] = False
    assert F.neighbour_fill(x, corner, 4)[0, 0] == pytest.approx((1 + 5) / 2)  # nothing outside the image


def test_neighbour_fill_falls_back_to_mean_of_kept_then_zero():
    x = np.arange(9.0).reshape(3, 3) + 1
    keep = np.zeros((3, 3), bool)
    keep[2, 2] = True
    out = F.neighbour_fill(x, keep, 4)
    assert out[0, 0] == pytest.approx(9.0)  # no kept 4-neighbour: the mean of the kept pixels
    assert np.all(F.neighbour_fill(x, np.zeros((3, 3), bool)) == 0)


def test_neighbour_fill_is_exact_on_a_linear_ramp_inside():
    x = np.add.outer(np.arange(6.0), 2 * np.arange(6.0))
    keep = np.ones((6, 6), bool)
    keep[1:5:2, 1:5:2] = False  # isolated dropped pixels with all neighbours kept
    assert np.allclose(F.neighbour_fill(x, keep, 4), x) and np.allclose(F.neighbour_fill(x, keep, 8), x)


def test_removed_fraction_falls_with_correlation_length_and_is_one_for_spatial():
    rng = np.random.default_rng(1)
    removed = [F.removed_fraction(F.gaussian_random_field((96, 96), L, rng), 0.5, rng)["removed"] for L in (0, 2, 8)]
    assert removed[0] > 1.0 > removed[1] > removed[2]  # white noise: the fill is worse than the mean
    assert removed[2] < 0.05
    s = F.removed_fraction(F.gaussian_random_field((32, 32), 8.0, rng), 0.5, rng, "spatial", draws=40)
    assert s["removed"] == 1.0
    assert s["keep"].all() or not s["keep"].any()


def test_removed_fraction_drops_a_fraction_p():
    rng = np.random.default_rng(2)
    r = F.removed_fraction(rng.standard_normal((100, 100)), 0.3, rng)
    dropped = 1 - r["keep"].mean()
    assert abs(dropped - 0.3) < binomial_fraction_bound(0.3, 10_000)
    assert np.array_equal(r["dropped"][~r["keep"]], np.zeros(int((~r["keep"]).sum())))
    with pytest.raises(ValueError, match="above 0"):
        F.removed_fraction(np.ones((4, 4)), 0.0, rng)


def test_conv_stack_shapes_taps_and_seeded_init():
    img = np.random.default_rng(0).random((64, 64))
    pooled = F.conv_feature_maps(F.conv_stack(3, 4, pool=True, seed=1), img)
    flat = F.conv_feature_maps(F.conv_stack(3, 4, pool=False, seed=1), img)
    assert [m.shape for m in pooled] == [(4, 32, 32), (4, 16, 16), (4, 8, 8)]
    assert [m.shape for m in flat] == [(4, 64, 64)] * 3
    assert all((m >= 0).all() for m in flat)  # after a ReLU
    again = F.conv_feature_maps(F.conv_stack(3, 4, pool=True, seed=1), img)
    assert all(np.array_equal(a, b) for a, b in zip(pooled, again))


def test_train_patch_classifier_lowers_the_loss_and_restores_torch_rng():
    rng = np.random.default_rng(0)
    photos = [F.gaussian_random_field((64, 64), 0.0, rng), F.gaussian_random_field((64, 64), 6.0, rng)]
    net = F.conv_stack(2, 4, pool=True)
    before = [p.detach().clone() for p in net.parameters()]
    state = torch.random.get_rng_state()
    losses = F.train_patch_classifier(net, photos, steps=60, patch=16, batch=16)
    assert torch.equal(state, torch.random.get_rng_state())
    assert len(losses) == 60 and np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])  # smooth vs white: easy
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))


@pytest.mark.parametrize("alpha", [0.0, 2.0, 3.0])
def test_power_law_field_has_the_exponent_it_promises(alpha):
    from spatialdrop_edu.analysis.correlation import fit_spectral_exponent

    x = F.power_law_field((512, 512), alpha, np.random.default_rng(int(alpha) + 20))
    assert x.shape == (512, 512) and abs(x.mean()) < 1e-12 and abs(x.std() - 1) < 1e-12
    assert abs(fit_spectral_exponent(x)["alpha"] - alpha) < 0.1  # ~0.03 spread over seeds at 512 x 512


def test_power_law_field_is_reproducible_and_validated():
    a = F.power_law_field((16, 24), 2.0, np.random.default_rng(0))
    assert np.array_equal(a, F.power_law_field((16, 24), 2.0, np.random.default_rng(0)))
    for bad, error in ((-1.0, ValueError), (float("inf"), ValueError), (True, TypeError), ("2", TypeError)):
        with pytest.raises(error, match="alpha"):
            F.power_law_field((8, 8), bad, np.random.default_rng(0))


def test_gaussian_blur_keeps_the_mean_and_steepens_a_power_law():
    from spatialdrop_edu.analysis.correlation import fit_spectral_exponent

    x = F.power_law_field((256, 256), 2.0, np.random.default_rng(30))
    y = F.gaussian_blur(x, 1.0)
    assert abs(y.mean() - x.mean()) < 1e-12 and y.std() < x.std()
    assert fit_spectral_exponent(y)["alpha"] > fit_spectral_exponent(x)["alpha"] + 0.5
    assert np.array_equal(F.gaussian_blur(x, 0), x)
    with pytest.raises(ValueError, match="sigma"):
        F.gaussian_blur(x, -1.0)


def test_jpeg_roundtrip_is_close_at_high_quality_and_validated():
    x = F.gaussian_random_field((64, 64), 4.0, np.random.default_rng(31))
    scaled = (x - x.min()) / (x.max() - x.min()) * 255
    assert np.abs(F.jpeg_roundtrip(x, 95) - scaled).mean() < 2.0
    assert np.abs(F.jpeg_roundtrip(x, 10) - scaled).mean() > np.abs(F.jpeg_roundtrip(x, 95) - scaled).mean()
    for bad, error in ((0, ValueError), (96, ValueError), (50.0, TypeError), (True, TypeError)):
        with pytest.raises(error, match="quality"):
            F.jpeg_roundtrip(x, bad)


def test_train_patch_classifier_shows_its_progress_unless_told_not_to(capsys):
    rng = np.random.default_rng(0)
    photos = [F.gaussian_random_field((32, 32), 0.0, rng), F.gaussian_random_field((32, 32), 4.0, rng)]
    F.train_patch_classifier(F.conv_stack(1, 2), photos, steps=5, patch=8, batch=4)
    err = capsys.readouterr().err
    assert "patch classifier" in err and "5/5" in err and "loss=" in err
    F.train_patch_classifier(F.conv_stack(1, 2), photos, steps=5, patch=8, batch=4, progress=False)
    assert capsys.readouterr().err == ""
