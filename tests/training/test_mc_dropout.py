"""Monte Carlo dropout: dropout on, BatchNorm in evaluation mode, modes and the caller's random stream restored."""

import torch
from torch import nn

from spatialdrop_edu.training import TinyUNet
from spatialdrop_edu.training.mc_dropout import mc_mode, mc_predict


def test_mc_predict_keeps_batchnorm_in_eval_and_restores_modes():
    net = TinyUNet("spatial", 0.5, channels=4).train()
    bn = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    stats = [m.running_mean.clone() for m in bn]
    modes = []
    bn[0].register_forward_pre_hook(lambda m, i: modes.append(m.training))
    mean, std = mc_predict(net, torch.rand(3, 1, 16, 16), passes=6, seed=2)
    assert modes == [False] * 6
    assert all(torch.equal(m.running_mean, s) for m, s in zip(bn, stats))
    assert all(m.training for m in net.modules())  # restored to training mode
    assert mean.shape == std.shape == (3, 1, 16, 16) and float(std.max()) > 0
    again, _ = mc_predict(net, torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0)), 6, seed=2)
    same, _ = mc_predict(net, torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0)), 6, seed=2)
    assert torch.equal(again, same)


def test_mc_predict_without_dropout_has_zero_std():
    _, std = mc_predict(TinyUNet(channels=4), torch.rand(2, 1, 8, 8), passes=4)
    assert float(std.max()) == 0.0


def test_mc_predict_leaves_the_callers_random_stream_alone():
    net = TinyUNet("spatial", 0.5, channels=4)
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    mc_predict(net, torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(1)), passes=3, seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_mc_mode_switches_only_the_dropout_layers_on():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout2d(0.5), nn.Conv2d(2, 1, 1)).eval()
    with mc_mode(net):
        assert [m.training for m in net] == [False, False, True, False]
    assert not any(m.training for m in net.modules())
