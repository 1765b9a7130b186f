"""The convolution stack of chapter 3: its feature maps, its brief training and its progress bar."""

import numpy as np
import torch

from spatialdrop_edu.analysis import fields as F
from spatialdrop_edu.analysis.conv_probe import conv_feature_maps, conv_stack, train_patch_classifier


def test_conv_stack_shapes_taps_and_seeded_init():
    img = np.random.default_rng(0).random((64, 64))
    pooled = conv_feature_maps(conv_stack(3, 4, pool=True, seed=1), img)
    flat = conv_feature_maps(conv_stack(3, 4, pool=False, seed=1), img)
    assert [m.shape for m in pooled] == [(4, 32, 32), (4, 16, 16), (4, 8, 8)]
    assert [m.shape for m in flat] == [(4, 64, 64)] * 3
    assert all((m >= 0).all() for m in flat)  # after a ReLU
    again = conv_feature_maps(conv_stack(3, 4, pool=True, seed=1), img)
    assert all(np.array_equal(a, b) for a, b in zip(pooled, again))


def test_train_patch_classifier_lowers_the_loss_and_restores_torch_rng():
    rng = np.random.default_rng(0)
    photos = [F.gaussian_random_field((64, 64), 0.0, rng), F.gaussian_random_field((64, 64), 6.0, rng)]
    net = conv_stack(2, 4, pool=True)
    before = [p.detach().clone() for p in net.parameters()]
    state = torch.random.get_rng_state()
    losses = train_patch_classifier(net, photos, steps=60, patch=16, batch=16)
    assert torch.equal(state, torch.random.get_rng_state())
    assert len(losses) == 60 and np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])  # smooth vs white: easy
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_train_patch_classifier_shows_its_progress_unless_told_not_to(capsys):
    rng = np.random.default_rng(0)
    photos = [F.gaussian_random_field((32, 32), 0.0, rng), F.gaussian_random_field((32, 32), 4.0, rng)]
    train_patch_classifier(conv_stack(1, 2), photos, steps=5, patch=8, batch=4)
    err = capsys.readouterr().err
    assert "patch classifier" in err and "5/5" in err and "loss=" in err
    train_patch_classifier(conv_stack(1, 2), photos, steps=5, patch=8, batch=4, progress=False)
    assert capsys.readouterr().err == ""
