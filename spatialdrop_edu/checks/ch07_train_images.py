"""Checkers of chapter 7, a 2-D CNN on image patches (exercises 7.1-7.3).

None of them trains a network or reads an accuracy: 7.1 measures the *mask structure* of the
feature maps entering the global pooling (forward hooks), 7.2 checks the index sets of a region
split (no shared pixel, no lost patch), and 7.3 checks that an augmentation returns, image by
image, one of the eight symmetries of a square, drawn uniformly and independently.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..training.augment import dihedral
from ..training.data import region_corners
from ._harness import (
    SIGMAS,
    build_student_model,
    check_whole_map_scale_and_rate,
    fail,
    fraction_bound,
    passed,
    record_layers,
    run_student_code,
)

__all__ = ["check_late_spatial_dropout", "check_region_split", "check_augment", "SPLIT_CASES"]


# ----------------------------------------------------------------------------- 7.1


def _hooked(model, x):
    """Input of the second conv, output of the second conv, input of the global pooling, output."""
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    pools = [m for m in model.modules() if isinstance(m, (torch.nn.AdaptiveAvgPool2d, torch.nn.AdaptiveMaxPool2d))]
    if len(convs) != 2 or len(pools) != 1:
        fail(
            f"the model holds {len(convs)} Conv2d and {len(pools)} AdaptiveAvgPool2d layer(s), expected 2 and 1: keep "
            "the given layers and only add the dropout."
        )
    return record_layers(
        model, x, inputs={"in2": convs[1], "pool": pools[0]}, outputs={"out1": convs[0], "out2": convs[1]}
    )


def check_late_spatial_dropout(build_model) -> None:
    """Exercise 7.1: ``build_model(p)`` drops whole feature maps of the *last* conv block, and nothing else.

    ``build_model(0.3)`` must return a ``torch.nn.Module`` holding two ``Conv2d`` layers and one
    adaptive pooling layer. Hooks record, over 30 seeded calls in training mode on a batch
    ``(16, 1, 16, 16)``: the second conv must see ``maxpool(relu(conv1(x)))`` unchanged (no
    dropout early); the model's output must have shape ``(16, 3)``; the global pooling must
    receive ``relu(conv2(...))`` with every (sample, channel) map zeroed whole or kept whole and
    scaled by ``1/(1-p)``, at rate ``p`` within ``SIGMAS`` standard deviations. In evaluation
    mode the maps must pass unchanged.

    Args:
        build_model: the learner's function ``(p) -> torch.nn.Module``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and the likely mistake.

    Examples::

        >>> check_late_spatial_dropout(lambda p: None)
        ... # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: build_model(p) must return a
        torch.nn.Module (e.g. nn.Sequential), got NoneType.
    """
    p, calls = 0.3, 30
    model = build_student_model(build_model, p)
    x = torch.randn(16, 1, 16, 16, generator=torch.Generator().manual_seed(7))
    dropped, maps, partly, scales = 0, 0, 0, []
    for call in range(calls):
        torch.manual_seed(700 + call)
        seen, out = _hooked(model, x)
        early = torch.nn.functional.max_pool2d(torch.relu(seen["out1"]), 2)
        if seen["in2"].shape != early.shape or not torch.allclose(seen["in2"], early, rtol=1e-4, atol=1e-6):
            fail(
                "the second convolution does not receive the first block's pooled feature maps as they are: "
                "something changes them (a dropout in the early block?). This exercise asks for dropout after the "
                "LAST conv block only: conv2 -> ReLU -> SpatialDropout2d -> global pooling."
            )
        if tuple(out.shape) != (16, 3):
            fail(f"the model's output has shape {tuple(out.shape)}, expected (16, 3): keep the given layers.")
        ref, got = torch.relu(seen["out2"]), seen["pool"]
        if got.shape != ref.shape:
            fail(
                f"the global pooling receives shape {tuple(got.shape)}, expected the last block's feature maps "
                f"{tuple(ref.shape)}."
            )
        active = (ref > 0).flatten(2).any(-1)
        zero = (got == 0).flatten(2).all(-1)
        scale = got.flatten(2).sum(-1) / ref.flatten(2).sum(-1).clamp_min(1e-12)
        whole = torch.isclose(got, scale[..., None, None] * ref, rtol=1e-4, atol=1e-6).flatten(2).all(-1)
        partly += int((active & ~zero & ~whole).sum())
        dropped += int((zero & active).sum())
        maps += int(active.sum())
        scales += scale[active & ~zero & whole].tolist()
    if partly:
        fail(
            f"{partly} of {maps} feature maps were partly zeroed (some pixels kept, others dropped): that is "
            "element-wise dropout (nn.Dropout) or a block dropout. Spatial dropout keeps or drops a whole map: "
            "sde.SpatialDropout2d(p) or nn.Dropout2d(p)."
        )
    if dropped == 0 and all(math.isclose(c, 1.0, rel_tol=1e-4) for c in scales):
        fail(
            "in training mode the last block's feature maps reach the global pooling unchanged: there is no dropout "
            "between the last ReLU and the pooling. Put SpatialDropout2d(p) right after the second ReLU (dropout "
            "after the pooling acts on a vector, not on feature maps)."
        )
    check_whole_map_scale_and_rate(scales, dropped, maps, p, "feature maps")
    model.eval()
    seen, _ = _hooked(model, x)
    if not torch.allclose(seen["pool"], torch.relu(seen["out2"]), rtol=1e-4, atol=1e-6):
        fail(
            "in evaluation mode (model.eval()) the feature maps must pass unchanged: use a dropout layer that "
            "follows the module's training flag, not a function called with training=True."
        )
    passed("Correct: whole feature maps of the last block are dropped, at rate p, and nothing earlier.")


# ----------------------------------------------------------------------------- 7.2

#: The geometries of exercise 7.2, each (height, width, patch, stride, test_fraction).
SPLIT_CASES = [
    (64, 64, 16, 16, 0.25),
    (64, 48, 16, 8, 0.25),
    (100, 40, 10, 3, 0.3),
    (50, 50, 7, 7, 0.5),
    (33, 20, 5, 2, 0.2),
    (512, 512, 32, 16, 0.25),
]


def _corners(value, what):
    if value is None:
        fail(f"{what} is None: did you forget the `return` statement?")
    try:
        corners = [(int(r), int(c)) for r, c in value]
    except (TypeError, ValueError):
        fail(f"{what} must be a list of (top, left) pairs of ints.")
    return corners


def check_region_split(region_split) -> None:
    """Exercise 7.2: ``region_split(height, width, patch, stride, test_fraction)`` never lets patches overlap.

    The answer returns ``(train, test)``, two lists of ``(top, left)`` patch corners. For every
    geometry in :data:`SPLIT_CASES` (strides below the patch size included): every patch lies in
    the image; no pixel belongs to both a training and a test patch; the test region is the bottom
    ``test_fraction`` of the rows (its first row within one row of ``height * (1 - test_fraction)``);
    and no patch is lost: each region holds every window of the ``stride`` grid that fits in it
    (as many as :func:`~spatialdrop_edu.training.data.region_corners` finds), each once. An answer
    that calls the package's :func:`~spatialdrop_edu.training.data.region_corners` fails.

    Args:
        region_split: the learner's function
            ``(height, width, patch, stride, test_fraction) -> (train, test)``.

    Raises:
        ExerciseFailure: with feedback naming the geometry answered wrongly and the likely
            mistake.

    Examples::

        >>> check_region_split(lambda h, w, patch, stride, fraction: None)
        ... # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: region_split must return two
        lists (train, test); with height=64, width=64, patch=16, stride=16,
        test_fraction=0.25 it returned NoneType.

    The package's own :func:`~spatialdrop_edu.training.data.region_corners` is not an answer::

        >>> from spatialdrop_edu.training.data import region_corners
        >>> def delegated(height, width, patch, stride, test_fraction):
        ...     return region_corners(height, width, patch, stride, (0, height)), []
        >>> check_region_split(delegated)  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: your region_split calls the
        package's region_corners: ...
    """
    for height, width, patch, stride, frac in SPLIT_CASES:
        case = f"height={height}, width={width}, patch={patch}, stride={stride}, test_fraction={frac}"
        result = run_student_code(
            region_split, height, width, patch, stride, frac, what="your region_split", forbid=(region_corners,)
        )
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            fail(f"region_split must return two lists (train, test); with {case} it returned {type(result).__name__}.")
        train, test = _corners(result[0], "the training corners"), _corners(result[1], "the test corners")
        if not train or not test:
            fail(
                f"with {case} the {'training' if not train else 'test'} list is empty. A region of rows [top, bottom) "
                "holds windows starting at top, top + stride, ... up to bottom - patch INCLUDED: "
                "range(top, bottom - patch + 1, stride)."
            )
        outside = [(r, c) for r, c in train + test if r < 0 or c < 0 or r + patch > height or c + patch > width]
        if outside:
            fail(f"with {case} the patch at (top, left) = {outside[0]} reaches outside the {height} x {width} image.")
        used = np.zeros((height, width), bool)
        for r, c in train:
            used[r : r + patch, c : c + patch] = True
        shared = [(r, c) for r, c in test if used[r : r + patch, c : c + patch].any()]
        if shared:
            lowest = max(r + patch for r, _ in train)
            hint = (
                (
                    f"training patches reach row {lowest - 1}, into the test region: a window belongs to a region "
                    "only if ALL its rows do; stop the training windows at top <= cut - patch"
                )
                if lowest > min(r for r, _ in test)
                else (
                    "the two lists are interleaved, as after a random split of all patches: "
                    "with stride < patch neighbouring patches share pixels, so split the IMAGE "
                    "into regions first, then cut patches inside each"
                )
            )
            fail(
                f"with {case}, {len(shared)} of {len(test)} test patches share pixels with training patches "
                f"(e.g. the one at {shared[0]}): {hint}."
            )
        cut = min(r for r, _ in test)
        target = height * (1 - frac)
        if min(r for r, _ in test) <= max(r for r, _ in train) and min(r for r, _ in train) <= max(r for r, _ in test):
            fail(
                f"with {case} training and test patches are interleaved (test rows start at {cut}, training rows "
                f"reach {max(r for r, _ in train)}), as after a random split of all patches: here they happen not "
                "to share pixels, but neighbouring patches of one texture still look alike. Split the IMAGE into a "
                "top (training) and a bottom (test) region first, then cut patches inside each."
            )
        if abs(cut - target) > 1 + 1e-9 or max(r for r, _ in train) >= cut:
            fail(
                f"with {case} the test patches start at row {cut}, expected the bottom {frac:.0%} of the rows, "
                f"from row {round(target)}: training region on top, test region below."
            )
        want_train = len(region_corners(height, width, patch, stride, (0, cut)))
        want_test = len(region_corners(height, width, patch, stride, (cut, height)))
        if len(set(train)) != len(train) or len(set(test)) != len(test):
            fail(f"with {case} some patch appears twice in a list: each window once.")
        if len(train) != want_train or len(test) != want_test:
            fail(
                f"with {case} you return {len(train)} training and {len(test)} test patches; the stride grid holds "
                f"{want_train} and {want_test} windows wholly inside the two regions. Check the end of your "
                "range(...): the last window starts at bottom - patch, so use range(top, bottom - patch + 1, stride); "
                "start each region's grid at its own first row and each row at column 0."
            )
    passed("Correct: training and test patches never share a pixel, and no patch that fits is lost.")


# ----------------------------------------------------------------------------- 7.3


def check_augment(augment) -> None:
    """Exercise 7.3: ``augment(x, generator)`` applies one of the 8 symmetries of a square to each image.

    On a batch ``(2000, 2, 5, 5)`` of random images (no image is symmetric, so the transform is
    identifiable; the two channels hold the same picture): the answer must return a tensor of
    the input's shape and leave its input unchanged; each output channel equals
    ``dihedral(x[i], k)``'s for some ``k``, the same ``k`` for both channels of an image; each
    of the 8 transforms occurs with frequency ``1/8`` within ``SIGMAS`` standard deviations; the
    same generator seed gives the same batch and another seed another one.

    Args:
        augment: the learner's function ``(x, generator) -> tensor``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and the likely mistake.

    Examples::

        >>> check_augment(lambda x, generator: x.clone())
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: every image got the same
        transform (identity): ...
    """
    n = 2000
    x = torch.rand(n, 2, 5, 5, generator=torch.Generator().manual_seed(73))
    x[:, 1] = x[:, 0] + 1.0  # two channels, the same picture: one transform for both
    before = x.clone()
    out = run_student_code(augment, x, torch.Generator().manual_seed(0), what="your augment")
    if not isinstance(out, torch.Tensor):
        fail(f"augment must return a torch.Tensor, got {type(out).__name__}.")
    if not torch.equal(x, before):
        fail("augment changed its input in place: return a new tensor (x.clone(), torch.flip and torch.rot90 do).")
    if out.shape != x.shape:
        fail(f"augment returned shape {tuple(out.shape)}, expected the input's {tuple(x.shape)}.")
    candidates = torch.stack([dihedral(x, k) for k in range(8)])  # (8, N, C, H, W)
    per_channel = (candidates == out[None]).flatten(3).all(-1)  # (8, N, C)
    same_k = per_channel.all(-1)  # (8, N)
    if not per_channel.any(0).all():
        fail(
            "some output images are not a flip or rotation of their input (pixel values changed or moved "
            "elsewhere): use torch.flip and torch.rot90 on the last two axes (dims=(-2, -1)), nothing else."
        )
    if not same_k.any(0).all():
        fail(
            "the channels of one image got different transforms: draw one transform per IMAGE and apply it to all "
            "its channels (index the batch axis, not the channel axis)."
        )
    counts = same_k.float().argmax(0).bincount(minlength=8)
    freq, bound = counts / n, fraction_bound(1 / 8, n)
    names = ["identity", "rot90", "rot180", "rot270", "flip", "flip+rot90", "flip+rot180", "flip+rot270"]
    if counts.max() == n:
        fail(
            f"every image got the same transform ({names[int(counts.argmax())]}): draw a transform for each image, "
            "not once per batch (torch.randint(8, (len(x),), generator=generator))."
        )
    off = [(names[k], float(freq[k])) for k in range(8) if abs(float(freq[k]) - 1 / 8) > bound]
    if off:
        missing = [name for name, f in off if f == 0]
        hint = (
            (f" Missing: {', '.join(missing)} — combine the left-right flip with the four rotations to get all eight.")
            if missing
            else " Draw k uniformly from 0..7."
        )
        fail(
            f"the eight symmetries must each occur with frequency 1/8 = 0.125 ± {bound:.3f} ({SIGMAS:g} standard "
            f"deviations over {n} images); measured {', '.join(f'{k}: {f:.3f}' for k, f in off)}.{hint}"
        )
    again = run_student_code(augment, x, torch.Generator().manual_seed(0), what="your augment")
    other = run_student_code(augment, x, torch.Generator().manual_seed(1), what="your augment")
    if not torch.equal(again, out):
        fail(
            "the same generator seed gave a different batch: draw from the `generator` argument "
            "(torch.randint(..., generator=generator)), not from the global generator."
        )
    if torch.equal(other, out):
        fail("another generator seed gave the same batch: draw the transforms from the `generator` argument.")
    passed("Correct: each image gets one of the eight symmetries, uniformly and independently.")
