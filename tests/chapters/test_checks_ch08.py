"""Chapter 8's checkers: reference answers pass (also from other random streams), typical mistakes get their hint."""

import math

import numpy as np
import pytest
import torch
from torch import nn

import spatialdrop_edu as sde
from spatialdrop_edu import checks
from spatialdrop_edu.training import dropout_layers, mc_predict

from helpers import OwnCoins, fails_with, passes

# -- 8.1 PSNR -----------------------------------------------------------------------------------


def ref_psnr(estimate, target, data_range=1.0):
    return 10 * torch.log10(data_range**2 / torch.mean((estimate - target) ** 2))


def numpy_psnr(estimate, target, data_range=1.0):
    with np.errstate(divide="ignore"):
        return 20 * np.log10(data_range) - 10 * np.log10(np.mean((np.asarray(estimate) - np.asarray(target)) ** 2))


def test_psnr_references_pass(capsys):
    passes(
        checks.check_psnr,
        ref_psnr,
        numpy_psnr,
        lambda e, t, r=1.0: 20 * torch.log10(r / torch.sqrt(torch.mean((e - t) ** 2))),
        capsys=capsys,
    )


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (lambda e, t, r=1.0: 10 * torch.log10(r / torch.sqrt(torch.mean((e - t) ** 2))), "root mean squared error"),
        (lambda e, t, r=1.0: 10 * torch.log(r**2 / torch.mean((e - t) ** 2)), "natural logarithm"),
        (lambda e, t, r=1.0: 10 * torch.log10(r / torch.mean((e - t) ** 2)), "did not square the range"),
        (lambda e, t, r=1.0: 10 * torch.log10(1.0 / torch.mean((e - t) ** 2)), "ignored data_range"),
        (lambda e, t, r=1.0: 10 * torch.log10(r**2 / torch.mean((e - t).abs())), "mean absolute error"),
        (lambda e, t, r=1.0: -10 * torch.log10(r**2 / torch.mean((e - t) ** 2)), "sign is flipped"),
        (lambda e, t, r=1.0: 10 * torch.log10(r**2 / torch.sum((e - t) ** 2)), "sum of squared errors"),
        (lambda e, t, r=1.0: 10 * torch.log10(r**2 / ((e - t) ** 2).flatten(1).mean(1)), "one number"),
        (lambda e, t, r=1.0: 10 * torch.log10(r**2 / (torch.mean((e - t) ** 2) + 1e-8)), "small constant"),
        (lambda e, t, r=1.0: 10 * torch.log10(r**2 / (torch.mean((e - t) ** 2) + 1e-14)), "expected inf"),
        (lambda e, t, r=1.0: None, "return"),
    ],
)
def test_psnr_mistakes_get_their_hint(answer, fragment):
    fails_with(checks.check_psnr, answer, fragment)


# -- 8.2 skip dropout ---------------------------------------------------------------------------


def make_block(drop_skip=None, drop_up=None, drop_cat=None, order="up_first", functional=None):
    class Block(nn.Module):
        def __init__(self, channels, p):
            super().__init__()
            self.up = nn.ConvTranspose2d(2 * channels, channels, 2, stride=2)
            self.conv = nn.Conv2d(2 * channels, channels, 3, padding=1)
            self.ds = drop_skip(p) if drop_skip else nn.Identity()
            self.du = drop_up(p) if drop_up else nn.Identity()
            self.dc = drop_cat(p) if drop_cat else nn.Identity()
            self.p = p

        def forward(self, x, skip):
            s = self.ds(skip) if functional is None else functional(skip, self.p)
            parts = [self.du(self.up(x)), s] if order == "up_first" else [s, self.du(self.up(x))]
            return torch.relu(self.conv(self.dc(torch.cat(parts, dim=1))))

    return Block


def test_skip_dropout_references_pass(capsys):
    passes(checks.check_skip_dropout, make_block(sde.SpatialDropout2d), make_block(nn.Dropout2d), capsys=capsys)


@pytest.mark.parametrize("stream", range(20))
def test_skip_dropout_with_other_random_streams_passes(stream, capsys):
    g = torch.Generator().manual_seed(8000 + stream)
    checks.check_skip_dropout(make_block(lambda p: OwnCoins(p, g)))
    assert "Correct:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "block, fragment",
    [
        (make_block(), "no dropout acts on it"),
        (make_block(nn.Dropout), "element dropout"),
        (make_block(sde.Dropout), "element dropout"),
        (make_block(drop_up=sde.SpatialDropout2d), "skip tensor only"),
        (make_block(drop_cat=sde.SpatialDropout2d), "skip tensor only"),
        (make_block(lambda p: sde.SpatialDropout2d(1 - p)), "pass"),
        (make_block(lambda p: sde.SpatialDropout2d(0.1)), "pass the argument p to the layer"),
        (make_block(sde.SpatialDropout2d, order="skip_first"), "comes second"),
        (make_block(functional=lambda s, p: torch.nn.functional.dropout2d(s, p, training=True)), "evaluation mode"),
    ],
)
def test_skip_dropout_mistakes_get_their_hint(block, fragment):
    fails_with(checks.check_skip_dropout, block, fragment)


# -- 8.3 MC dropout -----------------------------------------------------------------------------


def ref_mc(model, x, passes):
    model.eval()
    for layer in dropout_layers(model):
        layer.train()
    with torch.no_grad():
        outs = torch.stack([model(x) for _ in range(passes)])
    return outs.mean(0), outs.std(0)


def own_mc(model, x, passes):
    """MC dropout that finds the dropout layers by type and name itself (once the checker's example)."""
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd) or "Dropout" in type(m).__name__:
            m.train()
    with torch.no_grad():
        outs = torch.stack([model(x) for _ in range(passes)])
    return outs.mean(0), outs.std(0)


def test_mc_references_pass(capsys):
    passes(checks.check_mc_predict, ref_mc, lambda m, x, n: mc_predict(m, x, n), own_mc, capsys=capsys)  # ddof 1, 0


def whole_train(model, x, passes):
    model.train()
    with torch.no_grad():
        outs = torch.stack([model(x) for _ in range(passes)])
    return outs.mean(0), outs.std(0)


def only_eval(model, x, passes):
    model.eval()
    with torch.no_grad():
        outs = torch.stack([model(x) for _ in range(passes)])
    return outs.mean(0), outs.std(0)


def wrong_axis(model, x, passes):
    mean, std = ref_mc(model, x, passes)
    return mean.mean(0), std.mean(0)


def variance(model, x, passes):
    mean, std = ref_mc(model, x, passes)
    return mean, std**2


def one_pass_too_many(model, x, passes):
    return ref_mc(model, x, passes + 1)


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (whole_train, "BatchNorm ran in training mode"),
        (only_eval, "evaluation mode in"),
        (wrong_axis, "output's shape"),
        (variance, "variance"),
        (one_pass_too_many, "passes × inputs"),
        (lambda m, x, n: ref_mc(m, x, n)[0], "two tensors"),
    ],
)
def test_mc_mistakes_get_their_hint(answer, fragment):
    fails_with(checks.check_mc_predict, answer, fragment)


def test_mc_checker_leaves_the_global_generator_usable():
    torch.manual_seed(0)
    checks.check_mc_predict(ref_mc)
    assert math.isfinite(float(torch.rand(())))
