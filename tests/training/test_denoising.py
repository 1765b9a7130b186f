"""The denoising toolkit of chapter 8: data regions, the U-Net's paths, PSNR, copying measures, MC dropout."""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from spatialdrop_edu.training import denoising as D
from spatialdrop_edu.training import dropout_layers, run_study

SMALL = dict(photos=["camera", "coffee"], patch=16, stride=16, max_train=48, max_val=16, max_test=24, epochs=2,
             batch_size=16, channels=4)


# -- data ---------------------------------------------------------------------------------------

def test_train_and_test_patches_come_from_disjoint_rows():
    """Every test patch appears in the photo's bottom quarter and no training patch does."""
    from spatialdrop_edu.analysis.photos import load_photo

    data = D.denoising_patches(("camera",), patch=16, stride=8, val_fraction=0.2)
    image = load_photo("camera")
    split = int(round(image.shape[0] * 0.75))

    def rows_of(p):
        windows = np.lib.stride_tricks.sliding_window_view(image, (16, 16))
        hit = np.argwhere(np.all(np.isclose(windows, p.numpy()[0], atol=1e-6), axis=(2, 3)))
        assert len(hit), "patch not found in the photo"
        return hit[:, 0]

    for p in data.train[:20]:
        assert rows_of(p).max() + 16 <= split
    for p in data.test[1][:20]:
        assert rows_of(p).min() >= split


def test_noise_has_the_given_sigma_and_is_fixed_by_the_seed():
    a = D.denoising_patches(("camera",), patch=16, sigma=0.1, seed=3)
    b = D.denoising_patches(("camera",), patch=16, sigma=0.1, seed=3)
    c = D.denoising_patches(("camera",), patch=16, sigma=0.1, seed=4)
    noise = a.test[0] - a.test[1]
    n = noise.numel()
    assert abs(float(noise.std()) - 0.1) < 5 * 0.1 / math.sqrt(2 * n)     # 5 sigma of the sample std
    assert abs(float(noise.mean())) < 5 * 0.1 / math.sqrt(n)
    assert torch.equal(a.test[0], b.test[0]) and not torch.equal(a.test[0], c.test[0])
    assert torch.equal(a.test[1], c.test[1])           # the clean test set does not depend on the seed


def test_subsets_and_bad_arguments():
    data = D.denoising_patches(("camera",), patch=16, max_train=10, max_val=5, max_test=7)
    assert (len(data.train), len(data.val[0]), len(data.test[0])) == (10, 5, 7)
    with pytest.raises(ValueError, match="multiple of 4"):
        D.denoising_patches(("camera",), patch=18)
    with pytest.raises(ValueError, match="sigma"):
        D.denoising_patches(("camera",), sigma=0)
    with pytest.raises(ValueError, match="photos"):
        D.denoising_patches(("nope",))


# -- PSNR ---------------------------------------------------------------------------------------

def test_psnr_matches_the_formula_and_is_inf_when_exact():
    g = torch.Generator().manual_seed(0)
    for scale in (0.001, 0.03, 0.3):
        x = torch.rand(3, 1, 8, 8, generator=g)
        y = x + scale * torch.randn(x.shape, generator=g)
        mse = float(((y.double() - x.double()) ** 2).mean())
        assert math.isclose(float(D.psnr(y, x)), 10 * math.log10(1 / mse), abs_tol=1e-4)
        assert math.isclose(float(D.psnr(255 * y, 255 * x, 255.0)), float(D.psnr(y, x)), abs_tol=1e-3)
    assert math.isinf(float(D.psnr(x, x)))
    per = D.psnr(y, x, per_image=True)
    assert per.shape == (3,)
    with pytest.raises(ValueError, match="same shape"):
        D.psnr(x, x[0])


# -- the model ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dropout, kind", [("element", "Dropout"), ("spatial", "SpatialDropout2d"),
                                           ("dropblock", "DropBlock2d")])
@pytest.mark.parametrize("placement, count", [("top", 1), ("all", 2)])
def test_variant_and_placement_put_the_layers_on_the_skips(dropout, kind, placement, count):
    net = D.TinyUNet(dropout, 0.3, placement, channels=4)
    layers = dropout_layers(net)
    assert [type(m).__name__ for m in layers] == [kind] * count
    assert net.up1.skip_dropout is layers[-1]
    assert isinstance(D.TinyUNet("none", 0.3).up1.skip_dropout, nn.Identity)
    assert isinstance(D.TinyUNet("spatial", 0.0).up1.skip_dropout, nn.Identity)


def test_spatial_skip_dropout_drops_whole_skip_maps_only():
    """A hook on the last block's first conv: the up-sampled half untouched, skip maps zeroed whole."""
    torch.manual_seed(0)
    net = D.TinyUNet("spatial", 0.5, channels=4).train()
    seen = {}
    net.up1.convs[0].register_forward_pre_hook(lambda m, i: seen.__setitem__("x", i[0]))
    net.enc1.register_forward_hook(lambda m, i, o: seen.__setitem__("skip", o))
    net.up1.up.register_forward_hook(lambda m, i, o: seen.__setitem__("up", o))
    net(torch.rand(8, 1, 16, 16))
    x, skip, up = seen["x"], seen["skip"], seen["up"]
    assert torch.equal(x[:, :4], up)
    kept = x[:, 4:].flatten(2).abs().sum(-1) > 0
    active = skip.flatten(2).abs().sum(-1) > 0
    assert torch.allclose(x[:, 4:][kept], 2 * skip[kept])      # kept maps scaled by 1/(1-p)
    assert (~kept & active).any() and kept.any()


def test_ablation_zeroes_the_named_path():
    net = D.TinyUNet(channels=4).eval()
    seen = {}
    net.up1.convs[0].register_forward_pre_hook(lambda m, i: seen.__setitem__("x", i[0]))
    net.up2.register_forward_pre_hook(lambda m, i: seen.__setitem__("deep", i[0]))
    x = torch.rand(2, 1, 16, 16)
    with D._ablated(net, {"skip1"}):
        net(x)
    assert torch.all(seen["x"][:, 4:] == 0) and seen["x"][:, :4].abs().sum() > 0
    with D._ablated(net, {"bottleneck"}):
        net(x)
    assert torch.all(seen["deep"] == 0)
    assert net.ablate == set()                        # restored


def test_same_seed_same_weights_for_every_variant():
    a = D.config_model(D.denoising_config(), 5)
    b = D.config_model(D.denoising_config(dropout="dropblock", p=0.2), 5)
    c = D.config_model(D.denoising_config(), 6)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(x, y) for x, y in zip(a.parameters(), c.parameters()))


# -- copying measures ---------------------------------------------------------------------------

def test_copy_report_on_a_copy_and_on_a_perfect_denoiser():
    g = torch.Generator().manual_seed(1)
    clean = torch.rand(4, 1, 8, 8, generator=g)
    noisy = clean + 0.2 * torch.randn(clean.shape, generator=g)
    copy = D.copy_report(noisy, noisy, clean)
    assert copy["noise_transfer"] == pytest.approx(1.0) and math.isinf(copy["psnr_vs_noisy"])
    assert copy["gain"] == pytest.approx(0.0, abs=1e-6)
    perfect = D.copy_report(clean, noisy, clean)
    assert perfect["noise_transfer"] == pytest.approx(0.0, abs=1e-9)
    assert perfect["psnr_vs_noisy"] == pytest.approx(perfect["psnr_input"], abs=1e-4)
    half = D.copy_report(clean + 0.5 * (noisy - clean), noisy, clean)
    assert half["noise_transfer"] == pytest.approx(0.5, abs=1e-6)
    assert half["gain"] == pytest.approx(20 * math.log10(2), abs=1e-3)


def test_path_contributions_split_the_linear_conv_exactly():
    net = D.TinyUNet(channels=4, batch_norm=False).eval()
    x = torch.rand(3, 1, 16, 16)
    seen = {}
    net.up1.convs[0].register_forward_hook(lambda m, i, o: seen.__setitem__("out", o))
    shares = D.path_contributions(net, x)
    assert set(shares) == {"up1", "up2"} and 0 < shares["up1"]["skip_share"] < 1
    with D._ablated(net, {"skip1"}):
        zero_skip = D.path_contributions(net, x)
    assert zero_skip["up1"]["skip"] == 0.0 and zero_skip["up1"]["skip_share"] == 0.0


# -- MC dropout ---------------------------------------------------------------------------------

def test_mc_predict_keeps_batchnorm_in_eval_and_restores_modes():
    net = D.TinyUNet("spatial", 0.5, channels=4).train()
    bn = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    stats = [m.running_mean.clone() for m in bn]
    modes = []
    bn[0].register_forward_pre_hook(lambda m, i: modes.append(m.training))
    mean, std = D.mc_predict(net, torch.rand(3, 1, 16, 16), passes=6, seed=2)
    assert modes == [False] * 6
    assert all(torch.equal(m.running_mean, s) for m, s in zip(bn, stats))
    assert all(m.training for m in net.modules())                  # restored to training mode
    assert mean.shape == std.shape == (3, 1, 16, 16) and float(std.max()) > 0
    again, _ = D.mc_predict(net, torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0)), 6, seed=2)
    same, _ = D.mc_predict(net, torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0)), 6, seed=2)
    assert torch.equal(again, same)


def test_mc_predict_without_dropout_has_zero_std():
    _, std = D.mc_predict(D.TinyUNet(channels=4), torch.rand(2, 1, 8, 8), passes=4)
    assert float(std.max()) == 0.0


def test_uncertainty_report_correlations():
    g = torch.Generator().manual_seed(3)
    clean = torch.rand(5, 1, 8, 8, generator=g)
    err = torch.rand(5, 1, 8, 8, generator=g)
    r = D.uncertainty_report(clean + err, err, clean)
    assert r["pixel_corr"] == pytest.approx(1.0) and r["image_corr"] > 0.9
    r = D.uncertainty_report(clean + err, torch.rand(5, 1, 8, 8, generator=g), clean)
    assert abs(r["pixel_corr"]) < 5 / math.sqrt(320)                # independent: 5 sigma of a null correlation


# -- training and the study's run ---------------------------------------------------------------

def test_training_improves_on_the_input_and_is_reproducible():
    config = D.denoising_config(**{**SMALL, "epochs": 4, "max_train": 96})
    data = D.config_data(config, 0)
    runs = []
    for _ in range(2):
        net = D.config_model(config, 0)
        h = D.train_denoiser(net, data, epochs=4, batch_size=16, seed=0, device="cpu", progress=False)
        runs.append(h)
    assert runs[0]["val_psnr"] == runs[1]["val_psnr"]
    assert runs[0]["val_psnr"][-1] > runs[0]["val_psnr"][0] + 3           # it learns
    assert runs[0]["best_val_psnr"] == max(runs[0]["val_psnr"])


def test_trial_is_json_and_resumable(tmp_path):
    configs = [D.denoising_config(**SMALL), D.denoising_config(**SMALL, dropout="spatial", p=0.3, mc_passes=3)]
    path = tmp_path / "study.jsonl"
    records = run_study(lambda c, s: D.denoising_trial(c, s, device="cpu"), configs, [0], path, progress=False)
    json.dumps(records)
    base, spatial = records[0]["result"], records[1]["result"]
    assert "mc_pixel_corr" not in base and -1 <= spatial["mc_pixel_corr"] <= 1
    for key in ("test_psnr", "noise_transfer", "ablate_skip1", "ablate_bottleneck", "skip_share_up1", "epoch_time"):
        assert key in base
    assert len(base["curves"]["val_psnr"]) == SMALL["epochs"]
    calls = []
    run_study(lambda c, s: calls.append(1), configs, [0], path, progress=False)
    assert calls == []
    with pytest.raises(ValueError, match="unknown settings"):
        D.denoising_config(colour=True)
