"""Chapter 8's denoiser: PSNR, the copying measures, MC dropout against the error, and its training."""

import math

import pytest
import torch

from spatialdrop_edu.training import (
    TinyUNet,
    denoising_config,
    denoising_data,
    denoising_model,
    denoising_trial,
    path_ablation,
)
from spatialdrop_edu.training.denoising import copy_report, path_contributions, psnr, train_denoiser, uncertainty_report
from spatialdrop_edu.training.measure import predict

from helpers import SMALL_DENOISING

# -- PSNR ---------------------------------------------------------------------------------------


def test_psnr_matches_the_formula_and_is_inf_when_exact():
    g = torch.Generator().manual_seed(0)
    for scale in (0.001, 0.03, 0.3):
        x = torch.rand(3, 1, 8, 8, generator=g)
        y = x + scale * torch.randn(x.shape, generator=g)
        mse = float(((y.double() - x.double()) ** 2).mean())
        assert math.isclose(float(psnr(y, x)), 10 * math.log10(1 / mse), abs_tol=1e-4)
        assert math.isclose(float(psnr(255 * y, 255 * x, 255.0)), float(psnr(y, x)), abs_tol=1e-3)
    assert math.isinf(float(psnr(x, x)))
    per = psnr(y, x, per_image=True)
    assert per.shape == (3,)
    with pytest.raises(ValueError, match="same shape"):
        psnr(x, x[0])


# -- copying measures ---------------------------------------------------------------------------


def test_copy_report_on_a_copy_and_on_a_perfect_denoiser():
    g = torch.Generator().manual_seed(1)
    clean = torch.rand(4, 1, 8, 8, generator=g)
    noisy = clean + 0.2 * torch.randn(clean.shape, generator=g)
    copy = copy_report(noisy, noisy, clean)
    assert copy["noise_transfer"] == pytest.approx(1.0) and math.isinf(copy["psnr_vs_noisy"])
    assert copy["gain"] == pytest.approx(0.0, abs=1e-6)
    perfect = copy_report(clean, noisy, clean)
    assert perfect["noise_transfer"] == pytest.approx(0.0, abs=1e-9)
    assert perfect["psnr_vs_noisy"] == pytest.approx(perfect["psnr_input"], abs=1e-4)
    half = copy_report(clean + 0.5 * (noisy - clean), noisy, clean)
    assert half["noise_transfer"] == pytest.approx(0.5, abs=1e-6)
    assert half["gain"] == pytest.approx(20 * math.log10(2), abs=1e-3)


def test_path_contributions_split_the_linear_conv_exactly():
    net = TinyUNet(channels=4, batch_norm=False).eval()
    x = torch.rand(3, 1, 16, 16)
    seen = {}
    net.up1.convs[0].register_forward_hook(lambda m, i, o: seen.__setitem__("out", o))
    shares = path_contributions(net, x)
    assert set(shares) == {"up1", "up2"} and 0 < shares["up1"]["skip_share"] < 1
    with net.ablated("skip1"):
        zero_skip = path_contributions(net, x)
    assert zero_skip["up1"]["skip"] == 0.0 and zero_skip["up1"]["skip_share"] == 0.0


def test_path_ablation_switches_each_path_off_once():
    net = TinyUNet(channels=4).eval()
    x, y = torch.rand(2, 1, 16, 16), torch.rand(2, 1, 16, 16)
    result = path_ablation(net, x, y)
    assert list(result) == ["full", *TinyUNet.PATHS] and net.ablate == set()
    with net.ablated("bottleneck"):
        assert result["bottleneck"] == float(psnr(net(x).detach(), y))


# -- MC dropout against the error ------------------------------------------------------------------


def test_uncertainty_report_correlations():
    g = torch.Generator().manual_seed(3)
    clean = torch.rand(5, 1, 8, 8, generator=g)
    err = torch.rand(5, 1, 8, 8, generator=g)
    r = uncertainty_report(clean + err, err, clean)
    assert r["pixel_corr"] == pytest.approx(1.0) and r["image_corr"] > 0.9
    r = uncertainty_report(clean + err, torch.rand(5, 1, 8, 8, generator=g), clean)
    assert abs(r["pixel_corr"]) < 5 / math.sqrt(320)  # independent: 5 sigma of a null correlation


# -- training ----------------------------------------------------------------------------------


def test_training_improves_on_the_input_and_is_reproducible():
    config = denoising_config(**{**SMALL_DENOISING, "epochs": 4, "max_train": 96})
    data = denoising_data(config, 0)
    runs = []
    for _ in range(2):
        net = denoising_model(config, 0)
        h = train_denoiser(net, data, epochs=4, batch_size=16, seed=0, device="cpu", progress=False)
        runs.append(h)
    assert runs[0]["val_psnr"] == runs[1]["val_psnr"]
    assert runs[0]["val_psnr"][-1] > runs[0]["val_psnr"][0] + 3  # it learns
    assert runs[0]["best_val_psnr"] == max(runs[0]["val_psnr"])


def test_a_cosine_schedule_and_the_test_score_recorded_every_epoch():
    config = denoising_config(**{**SMALL_DENOISING, "epochs": 3, "max_train": 32})
    data = denoising_data(config, 0)
    net = denoising_model(config, 0)
    h = train_denoiser(net, data, epochs=3, lr_schedule="cosine", device="cpu", progress=False, test=data.test)
    assert len(h["test_psnr"]) == len(h["val_psnr"]) == 3 and all(math.isfinite(v) for v in h["test_psnr"])
    # the weights kept are the best epoch's: the test score recorded then is the final model's
    kept = float(psnr(predict(net, data.test[0]), data.test[1]))
    assert math.isclose(h["test_psnr"][h["best_epoch"] - 1], kept, abs_tol=1e-5)
    constant = train_denoiser(denoising_model(config, 0), data, epochs=3, device="cpu", progress=False)
    assert constant["val_psnr"][0] == h["val_psnr"][0]  # the first epoch runs at the full rate either way
    assert constant["val_psnr"][1:] != h["val_psnr"][1:]
    with pytest.raises(ValueError, match="lr_schedule"):
        train_denoiser(net, data, epochs=1, lr_schedule="linear", device="cpu", progress=False)


def test_the_schedule_and_the_test_curve_reach_the_trial():
    config = denoising_config(**{**SMALL_DENOISING, "epochs": 2, "lr_schedule": "cosine"})
    result = denoising_trial(config, 0, device="cpu")
    assert len(result["curves"]["test_psnr"]) == result["epochs_run"] == 2
    with pytest.raises(ValueError, match="lr_schedule"):
        denoising_config(lr_schedule="step")
