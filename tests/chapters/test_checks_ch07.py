"""Chapter 7's checkers: reference answers pass (also from other random streams), typical mistakes get their hint."""

import numpy as np
import pytest
import torch
from torch import nn

import spatialdrop_edu as sde
from spatialdrop_edu import checks
from spatialdrop_edu.training.augment import augment_batch, dihedral

from helpers import OwnCoins, fails_with, passes


def model(early=None, late=None, after_pool=None):
    layers = [nn.Conv2d(1, 8, 3, padding=1), nn.ReLU()] + ([] if early is None else [early]) + [nn.MaxPool2d(2)]
    layers += [nn.Conv2d(8, 16, 3, padding=1), nn.ReLU()] + ([] if late is None else [late])
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()] + ([] if after_pool is None else [after_pool])
    return nn.Sequential(*layers, nn.Linear(16, 3))


def region_corners(height, width, patch, stride, rows):
    """The windows of a band of rows, written out: the package's own is off limits inside a checked answer."""
    return [(r, c) for r in range(rows[0], rows[1] - patch + 1, stride) for c in range(0, width - patch + 1, stride)]


def ref_split(height, width, patch, stride, test_fraction):
    cut = round(height * (1 - test_fraction))
    return region_corners(height, width, patch, stride, (0, cut)), region_corners(
        height, width, patch, stride, (cut, height)
    )


def symmetry(image, k):
    """The k-th of the 8 symmetries of a square, written out: the package's own is off limits inside a checked
    answer (a left-right flip for k >= 4, then k % 4 quarter turns)."""
    return torch.rot90(image.flip(-1) if k >= 4 else image, k % 4, dims=(-2, -1))


def drawn(x, ks):
    return torch.stack([symmetry(image, int(k)) for image, k in zip(x, ks)]) if len(x) else x.clone()


def ref_augment(x, generator, choices=tuple(range(8))):
    """One of ``choices`` for each image, drawn from ``generator`` (the whole group by default)."""
    picks = torch.randint(len(choices), (len(x),), generator=generator)
    return drawn(x, [choices[int(i)] for i in picks])


@pytest.mark.parametrize(
    "check, answer",
    [
        (checks.check_late_spatial_dropout, lambda p: model(late=sde.SpatialDropout2d(p))),
        (checks.check_late_spatial_dropout, lambda p: model(late=nn.Dropout2d(p))),
        (checks.check_region_split, ref_split),
        (checks.check_augment, ref_augment),
    ],
)
def test_reference_answers_pass_with_one_correct_line(check, answer, capsys):
    passes(check, answer, capsys=capsys)


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (lambda p: model(), "no dropout"),
        (lambda p: model(early=sde.SpatialDropout2d(p)), "LAST conv block"),
        (lambda p: model(early=sde.SpatialDropout2d(p), late=sde.SpatialDropout2d(p)), "LAST conv block"),
        (lambda p: model(late=nn.Dropout(p)), "partly zeroed"),
        (lambda p: model(after_pool=nn.Dropout(p)), "no dropout"),
        (lambda p: model(late=sde.SpatialDropout2d(1 - p)), "pass the argument p"),
        (lambda p: model(late=sde.DropBlock2d(p, 3)), "partly zeroed"),
        (lambda p: 3, "torch.nn.Module"),
    ],
)
def test_placement_mistakes_get_their_hint(answer, fragment):
    fails_with(checks.check_late_spatial_dropout, answer, fragment)


def test_functional_dropout_in_eval_mode_is_caught():
    class Always(nn.Module):
        def forward(self, x):
            return sde.spatial_dropout(x, 0.3, training=True)

    fails_with(checks.check_late_spatial_dropout, lambda p: model(late=Always()), "evaluation mode")


@pytest.mark.parametrize("stream", range(20))
def test_correct_answers_with_other_random_streams_pass(stream, capsys):
    g = torch.Generator().manual_seed(9000 + stream)
    checks.check_late_spatial_dropout(lambda p: model(late=OwnCoins(p, g)))
    h = torch.Generator().manual_seed(7000 + stream)

    def own_augment(x, generator):
        return drawn(x, torch.randint(8, (len(x),), generator=generator))

    checks.check_augment(own_augment)
    del h
    assert capsys.readouterr().out.count("Correct:") == 2


def random_split(height, width, patch, stride, test_fraction):
    corners = region_corners(height, width, patch, stride, (0, height))
    order = np.random.default_rng(0).permutation(len(corners))
    n_test = int(round(test_fraction * len(corners)))
    return [corners[i] for i in order[n_test:]], [corners[i] for i in order[:n_test]]


def crossing_split(height, width, patch, stride, test_fraction):
    cut = round(height * (1 - test_fraction))
    train = [(r, c) for r in range(0, cut, stride) for c in range(0, width - patch + 1, stride) if r + patch <= height]
    return train, region_corners(height, width, patch, stride, (cut, height))


def off_by_one(height, width, patch, stride, test_fraction):
    cut = round(height * (1 - test_fraction))
    grid = lambda a, b: [(r, c) for r in range(a, b - patch, stride) for c in range(0, width - patch, stride)]  # noqa
    return grid(0, cut), grid(cut, height)


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (random_split, "random split"),
        (crossing_split, "ALL its rows"),
        (off_by_one, "range(top, bottom - patch + 1, stride)"),
        (lambda h, w, p, s, f: ref_split(h, w, p, s, f)[::-1], "bottom"),
        (lambda h, w, p, s, f: (ref_split(h, w, p, s, f)[0], []), "empty"),
        (lambda h, w, p, s, f: None, "two lists"),
    ],
)
def test_split_mistakes_get_their_hint(answer, fragment):
    fails_with(checks.check_region_split, answer, fragment)


def test_split_delegated_to_the_package_earns_nothing():
    from spatialdrop_edu.training import data

    def delegated(height, width, patch, stride, test_fraction):
        cut = round(height * (1 - test_fraction))
        return data.region_corners(height, width, patch, stride, (0, cut)), data.region_corners(
            height, width, patch, stride, (cut, height)
        )

    fails_with(checks.check_region_split, delegated, "calls the package's region_corners")


def one_for_batch(x, generator):
    k = int(torch.randint(8, (), generator=generator))
    return symmetry(x, k)


def flips_only(x, generator):
    return ref_augment(x, generator, choices=(0, 2, 4, 6))


def per_channel(x, generator):
    out = x.clone()
    for c in range(x.shape[1]):
        out[:, c : c + 1] = ref_augment(x[:, c : c + 1], generator)
    return out


def in_place(x, generator):
    x.copy_(ref_augment(x, generator))
    return x


def global_rng(x, generator):
    return ref_augment(x, None)


def transposed(x, generator):
    return x.transpose(-1, -2).clone()


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (one_for_batch, "every image got the same transform"),
        (flips_only, "Missing"),
        (per_channel, "channels of one image"),
        (in_place, "in place"),
        (global_rng, "same generator seed"),
        (lambda x, g: ref_augment(x, g, choices=(0, 1, 2, 3)), "Missing: flip"),
        (lambda x, g: x[:, :, :4, :4], "expected the input's"),
        (lambda x, g: torch.roll(x, 1, -1), "not a flip or rotation"),
        (lambda x, g: None, "torch.Tensor"),
    ],
)
def test_augment_mistakes_get_their_hint(answer, fragment):
    fails_with(checks.check_augment, answer, fragment)


@pytest.mark.parametrize(
    "delegated, name",
    [
        (lambda x, g: augment_batch(x, "dihedral", g), "augment_batch"),
        (lambda x, g: torch.stack([dihedral(i, int(k)) for i, k in zip(x, torch.randint(8, (len(x),)))]), "dihedral"),
    ],
)
def test_augment_delegated_to_the_package_earns_nothing(delegated, name):
    fails_with(checks.check_augment, delegated, f"your augment calls the package's {name}")
