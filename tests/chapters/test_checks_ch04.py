"""Chapter 4's checkers: reference answers pass (also from other random streams), typical mistakes get their hint."""

import pytest
import torch
import torch.nn.functional as F

import spatialdrop_edu as sde
from spatialdrop_edu import checks

from helpers import fails_with, passes

DROP = {3: F.dropout1d, 4: F.dropout2d, 5: F.dropout3d}


def ref_unbatched(img, p):
    return F.dropout2d(img.unsqueeze(0), p, training=True).squeeze(0)


def ref_last(x, p):
    return DROP[x.dim()](x.movedim(-1, 1), p, training=True).movedim(1, -1)


def ref_port(x, kernel, bias, p, training):
    h = F.dropout1d(x.transpose(1, 2), p, training)
    h = F.conv1d(h, kernel.permute(2, 1, 0), bias, padding=kernel.shape[0] // 2)
    return h.transpose(1, 2)


@pytest.mark.parametrize(
    "check, answer",
    [
        (checks.check_unbatched_image, ref_unbatched),
        (checks.check_channels_last_dropout, ref_last),
        (checks.check_keras_port, ref_port),
    ],
)
def test_reference_answers_pass_with_one_correct_line(check, answer, capsys):
    passes(check, answer, capsys=capsys)


def test_package_layers_pass_too(capsys):
    layers = {3: sde.SpatialDropout1d, 4: sde.SpatialDropout2d, 5: sde.SpatialDropout3d}
    checks.check_channels_last_dropout(lambda x, p: layers[x.dim()](p, data_format="channels_last")(x))
    checks.check_unbatched_image(lambda img, p: sde.SpatialDropout2d(p)(img.unsqueeze(0)).squeeze(0))
    assert capsys.readouterr().out.count("Correct:") == 2


@pytest.mark.parametrize("stream", range(20))
def test_correct_answers_from_other_random_streams_pass(stream, capsys):
    """Answers that draw their own coins from unrelated generators still pass: the bounds are ~5 sigma wide."""
    g = torch.Generator().manual_seed(10_000 + stream)

    def own_coins(x, p, noise_shape):
        keep = (torch.rand(noise_shape, generator=g) >= p).to(x.dtype)
        return x * keep / (1 - p) if p < 1 else x * 0

    checks.check_unbatched_image(lambda img, p: own_coins(img, p, (img.shape[0], 1, 1)))
    checks.check_channels_last_dropout(
        lambda x, p: own_coins(x, p, (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],))
    )

    def port(x, kernel, bias, p, training):
        h = own_coins(x, p, (x.shape[0], 1, x.shape[2])) if training else x
        return F.conv1d(h.transpose(1, 2), kernel.permute(2, 1, 0), bias, padding=1).transpose(1, 2)

    checks.check_keras_port(port)
    assert capsys.readouterr().out.count("Correct:") == 3


# ----------------------------------------------------------------------------- 4.1


@pytest.mark.parametrize(
    "answer, fragments",
    [
        (lambda img, p: torch.nn.Dropout2d(p)(img), ("whole rows", "(N, C, L)", "PyTorch even warned", "unsqueeze(0)")),
        (lambda img, p: F.dropout1d(img, p, True), ("whole rows", "unsqueeze(0)")),
        (lambda img, p: F.dropout3d(img, p, True), ("warned", "deprecates", "unsqueeze(0)")),
        (lambda img, p: torch.nn.Dropout3d(p)(img), ("warned", "deprecates")),
        (lambda img, p: F.dropout(img, p), ("element-wise",)),
        (lambda img, p: F.dropout2d(img.unsqueeze(0), p, True), ("(1, 5, 7, 9)", "squeeze(0)")),
        (lambda img, p: img * (torch.rand(img.shape[0], 1, 1) >= p), ("1/(1-p)",)),
        (lambda img, p: img * (torch.rand(img.shape[0], 1, 1) < p) / (1 - p), ("dropped",)),
        (lambda img, p: img * float(torch.rand(()) >= p) / (1 - p), ("same coin",)),
    ],
)
def test_unbatched_image_mistakes(answer, fragments):
    fails_with(checks.check_unbatched_image, answer, *fragments)


# ----------------------------------------------------------------------------- 4.2


@pytest.mark.parametrize(
    "answer, fragments",
    [
        (lambda x, p: DROP[x.dim()](x, p, True), ("axis 1", "movedim(-1, 1)")),
        (lambda x, p: F.dropout2d(x.movedim(-1, 1), p, True).movedim(1, -1), ("warned", "dropout1d for rank 3")),
        (lambda x, p: DROP[x.dim()](x.movedim(-1, 1), p, True), ("channels first", "movedim(1, -1)")),
        (lambda x, p: F.dropout(x, p), ("spatial axes",)),
        (lambda x, p: None, ("returned None",)),
    ],
)
def test_channels_last_mistakes(answer, fragments):
    fails_with(checks.check_channels_last_dropout, answer, *fragments)


# ----------------------------------------------------------------------------- 4.3


def conv(h, kernel, bias, **kw):
    return F.conv1d(h, kernel.permute(2, 1, 0), bias, padding=kernel.shape[0] // 2, **kw)


@pytest.mark.parametrize(
    "answer, fragments",
    [
        (lambda x, k, b, p, tr: conv(F.dropout1d(x, p, tr), k, b).transpose(1, 2), ("x.transpose(1, 2)", "channels")),
        (
            lambda x, k, b, p, tr: conv(F.dropout1d(x, p, tr).transpose(1, 2), k, b).transpose(1, 2),
            ("whole tokens", "(N, T, E)"),
        ),
        (
            lambda x, k, b, p, tr: conv(F.dropout2d(x.transpose(1, 2), p, tr), k, b).transpose(1, 2),
            ("warned", "Dropout1d"),
        ),
        (
            lambda x, k, b, p, tr: conv(torch.nn.Dropout1d(p)(x.transpose(1, 2)), k, b).transpose(1, 2),
            ("training=False", "training mode"),
        ),
        (
            lambda x, k, b, p, tr: F.conv1d(
                F.dropout1d(x.transpose(1, 2), p, tr), k.reshape(k.shape[2], k.shape[1], k.shape[0]), b, padding=1
            ).transpose(1, 2),
            ("permute(2, 1, 0)",),
        ),
        (
            lambda x, k, b, p, tr: F.conv1d(
                F.dropout1d(x.transpose(1, 2), p, tr), k.permute(2, 1, 0).flip(-1), b, padding=1
            ).transpose(1, 2),
            ("flipped",),
        ),
        (
            lambda x, k, b, p, tr: F.conv1d(
                F.dropout1d(x.transpose(1, 2), p, tr), k.permute(2, 1, 0), None, padding=1
            ).transpose(1, 2),
            ("bias",),
        ),
        (lambda x, k, b, p, tr: conv(F.dropout1d(x.transpose(1, 2), p, tr), k, b), ("channels first",)),
        (
            lambda x, k, b, p, tr: F.conv1d(F.dropout1d(x.transpose(1, 2), p, tr), k.permute(2, 1, 0), b).transpose(
                1, 2
            ),
            ("padding",),
        ),
        (lambda x, k, b, p, tr: F.dropout1d(conv(x.transpose(1, 2), k, b), p, tr).transpose(1, 2), ("after",)),
        (lambda x, k, b, p, tr: conv(F.dropout(x.transpose(1, 2), p, tr), k, b).transpose(1, 2), ("element-wise",)),
        (lambda x, k, b, p, tr: sde.SpatialDropout2d(p)(x), ("rank-3", "SpatialDropout1d")),
    ],
)
def test_keras_port_mistakes(answer, fragments):
    fails_with(checks.check_keras_port, answer, *fragments)
