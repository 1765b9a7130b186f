"""Augmentation: the eight symmetries of a square, drawn uniformly per image; augmentations by name."""

import pytest
import torch

from spatialdrop_edu.training.augment import AUGMENTATIONS, augment_batch, augmentation, dihedral

import stats


def test_dihedral_gives_eight_distinct_symmetries_and_flips_invert():
    x = torch.rand(1, 5, 5, generator=torch.Generator().manual_seed(0))
    outs = [dihedral(x, k) for k in range(8)]
    assert len({tuple(o.flatten().tolist()) for o in outs}) == 8
    assert torch.equal(dihedral(dihedral(x, 1), 3), x) and torch.equal(dihedral(dihedral(x, 4), 4), x)
    assert all(sorted(o.flatten().tolist()) == sorted(x.flatten().tolist()) for o in outs)  # pixels only move
    with pytest.raises(ValueError, match="k must be an int from 0 to 7"):
        dihedral(x, 8)


@pytest.mark.parametrize(
    "augment, allowed",
    [("hflip", (0, 4)), ("flips", (0, 2, 4, 6)), ("rot90", (0, 1, 2, 3)), ("dihedral", tuple(range(8)))],
)
def test_augment_batch_draws_each_allowed_symmetry_uniformly_per_image(augment, allowed):
    n = 4000
    x = torch.rand(n, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    before = x.clone()
    y = augment_batch(x, augment, torch.Generator().manual_seed(2))
    assert torch.equal(x, before)
    match = torch.stack([(dihedral(x, k) == y).flatten(1).all(1) for k in range(8)])  # (8, N)
    assert match.any(0).all()
    k = match.float().argmax(0)
    counts = k.bincount(minlength=8)
    for j in range(8):
        expected = 1 / len(allowed) if j in allowed else 0.0
        assert abs(counts[j].item() / n - expected) <= stats.binomial_fraction_bound(max(expected, 1e-9), n)
    assert torch.equal(augment_batch(x, augment, torch.Generator().manual_seed(2)), y)


def test_augment_none_is_a_copy_and_unknown_names_are_rejected():
    x = torch.rand(3, 1, 4, 4)
    assert torch.equal(augment_batch(x, "none"), x)
    with pytest.raises(ValueError, match="augment"):
        augment_batch(x, "mixup")


def test_augmentation_by_name_is_augment_batch_or_nothing():
    assert augmentation("none") is None
    x = torch.rand(16, 1, 4, 4)
    for name in AUGMENTATIONS[1:]:
        augment = augmentation(name)
        assert torch.equal(
            augment(x, torch.Generator().manual_seed(3)), augment_batch(x, name, torch.Generator().manual_seed(3))
        )
    with pytest.raises(ValueError, match="augment"):
        augmentation("mixup")


def test_dihedral_takes_a_drawn_tensor_and_refuses_other_types():
    x = torch.rand(1, 3, 3)
    assert torch.equal(dihedral(x, torch.tensor(5)), dihedral(x, 5))
    with pytest.raises(TypeError, match="k must be an int from 0 to 7"):
        dihedral(x, 1.5)
