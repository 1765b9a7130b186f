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

from ..training.augment import augment_batch, dihedral
from ..training.data import region_corners
from ._harness import SIGMAS, ExerciseFailure, attempt, fail, failed, outcome, run_check
from ._measures import build_student_model, check_whole_map_scale_and_rate, fraction_bound, record_layers

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
    run_check(probe_late_spatial_dropout, judge_late_spatial_dropout, build_model)


#: Exercise 7.1's batch size, calls in training mode, and the tolerances of "the maps passed unchanged".
BATCH, CALLS, RTOL, ATOL = 16, 30, 1e-4, 1e-6


def _placement_inputs(seed: int | None) -> tuple[float, int, int]:
    """Exercise 7.1's drop rate, the seed of its input batch and the seed of its first call: today's, or drawn."""
    if seed is None:
        return 0.3, 7, 700
    rng = np.random.default_rng(seed)  # p stays away from 0.5, where passing 1 - p would go unnoticed
    return round(float(rng.uniform(0.15, 0.4)), 2), int(rng.integers(2**31)), int(rng.integers(2**31 - CALLS))


def _misfit(got: torch.Tensor, ref: torch.Tensor):
    """For each (sample, channel) map, how far ``got`` strays from ``ref`` beyond ``RTOL`` of it: a map matches
    ``ref`` (as ``torch.isclose`` has it) where this is at most ``ATOL``."""
    return ((got - ref).abs() - RTOL * ref.abs()).flatten(2).amax(-1).to(torch.float32)


def _shapes(got: torch.Tensor, ref: torch.Tensor) -> list[list[int]]:
    return [list(got.shape), list(ref.shape)]


def _unchanged(got: torch.Tensor, ref: torch.Tensor) -> dict:
    """What a judge needs to tell whether ``got`` is ``ref`` unchanged: both shapes, and each map's misfit."""
    return {"shapes": _shapes(got, ref), "misfit": _misfit(got, ref) if got.shape == ref.shape else None}


def _whole_maps(got: torch.Tensor, ref: torch.Tensor) -> dict:
    """Per (sample, channel) map of the pooling's input ``got`` against ``ref = relu(conv2(...))``: positive pixels
    of ``ref``, non-zero pixels of ``got``, the ratio of their sums, and the misfit of ``got`` to that ratio times
    ``ref``."""
    if got.shape != ref.shape:
        return {"shapes": _shapes(got, ref)}
    ratio = got.flatten(2).sum(-1) / ref.flatten(2).sum(-1).clamp_min(1e-12)
    return {
        "shapes": _shapes(got, ref),
        "positive": (ref > 0).flatten(2).sum(-1).to(torch.int32),
        "nonzero": (got != 0).flatten(2).sum(-1).to(torch.int32),
        "ratio": ratio.to(torch.float32),
        "misfit": _misfit(got, ratio[..., None, None] * ref),
    }


def _training_call(model, x) -> dict:
    """One call in training mode: the second conv's input against the first block's pooled maps, the output's
    shape, and the maps the global pooling received against the last block's."""
    seen, out = _hooked(model, x)
    early = torch.nn.functional.max_pool2d(torch.relu(seen["out1"]), 2)
    return {
        "early": _unchanged(seen["in2"], early),
        "output_shape": list(out.shape) if isinstance(out, torch.Tensor) else None,
        "late": _whole_maps(seen["pool"], torch.relu(seen["out2"])),
    }


def _evaluation_call(model, x) -> dict:
    """One call in evaluation mode: the maps the global pooling received against the last block's."""
    seen, _ = _hooked(model, x)
    return _unchanged(seen["pool"], torch.relu(seen["out2"]))


def _recorded(observe, *args) -> dict:
    """``observe(*args)`` as an attempt's record: its data, or the feedback it failed with (the learner's model
    raised, or does not hold the layers the hooks need)."""
    try:
        return {"value": observe(*args)}
    except ExerciseFailure as failure:
        return {"failure": str(failure)}


def probe_late_spatial_dropout(build_model, *, seed=None) -> dict:
    """Exercise 7.1's probe: per map, what the hooked layers saw in each seeded training call, then in eval mode."""
    p, batch_seed, first_call = _placement_inputs(seed)
    model = build_student_model(build_model, p)
    x = torch.randn(BATCH, 1, 16, 16, generator=torch.Generator().manual_seed(batch_seed))
    calls = []
    for call in range(CALLS):
        torch.manual_seed(first_call + call)
        calls.append(_recorded(_training_call, model, x))
        if failed(calls[-1]):
            return {"calls": calls}
    model.eval()
    return {"calls": calls, "eval": _recorded(_evaluation_call, model, x)}


def _matches(record: dict) -> bool:
    """Whether an :func:`_unchanged` record shows the maps unchanged."""
    got, ref = map(tuple, record["shapes"])
    return got == ref and bool(np.all(np.asarray(record["misfit"]) <= ATOL))


def _map_counts(late: dict) -> tuple[int, int, int, list[float]]:
    """One call's :func:`_whole_maps` record counted: maps partly zeroed, dropped whole, seen; kept maps' scales."""
    shape = tuple(late["shapes"][0])[:2]
    if any(np.shape(late[key]) != shape for key in ("positive", "nonzero", "ratio", "misfit")):
        raise ValueError("per-map data of another shape than the maps")
    active, zero = np.asarray(late["positive"]) > 0, np.asarray(late["nonzero"]) == 0
    whole = np.asarray(late["misfit"]) <= ATOL
    kept = np.asarray(late["ratio"])[active & ~zero & whole]
    return int((active & ~zero & ~whole).sum()), int((zero & active).sum()), int(active.sum()), kept.tolist()


def judge_late_spatial_dropout(data: dict, seed: int | None) -> str:
    """Exercise 7.1's judge: nothing changed early, whole maps dropped late at rate p and kept ones scaled, eval mode
    the identity."""
    p = _placement_inputs(seed)[0]
    dropped, maps, partly, scales = 0, 0, 0, []
    for record in data["calls"]:
        seen = outcome(record)
        if not _matches(seen["early"]):
            fail(
                "the second convolution does not receive the first block's pooled feature maps as they are: "
                "something changes them (a dropout in the early block?). This exercise asks for dropout after the "
                "LAST conv block only: conv2 -> ReLU -> SpatialDropout2d -> global pooling."
            )
        shape = seen["output_shape"]
        if shape is None or tuple(shape) != (BATCH, 3):
            shown = "is not a tensor" if shape is None else f"has shape {tuple(shape)}"
            fail(f"the model's output {shown}, expected (16, 3): keep the given layers.")
        got, ref = map(tuple, seen["late"]["shapes"])
        if got != ref:
            fail(f"the global pooling receives shape {got}, expected the last block's feature maps {ref}.")
        counts = _map_counts(seen["late"])
        partly, dropped, maps, scales = partly + counts[0], dropped + counts[1], maps + counts[2], scales + counts[3]
    if len(data["calls"]) != CALLS:
        raise ValueError("the report has the wrong number of calls")
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
    if not _matches(outcome(data["eval"])):
        fail(
            "in evaluation mode (model.eval()) the feature maps must pass unchanged: use a dropout layer that "
            "follows the module's training flag, not a function called with training=True."
        )
    return "Correct: whole feature maps of the last block are dropped, at rate p, and nothing earlier."


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
    run_check(probe_region_split, judge_region_split, region_split)


def _split_cases(seed: int | None) -> list[tuple[int, int, int, int, float]]:
    """Exercise 7.2's geometries: :data:`SPLIT_CASES`, or six of the same kinds drawn from the grader's seed."""
    if seed is None:
        return SPLIT_CASES
    rng = np.random.default_rng(seed)

    def draw(low: int, high: int) -> int:
        return int(rng.integers(low, high + 1))

    side_by_side, half_overlap, small_stride = draw(8, 16), 2 * draw(4, 8), draw(8, 12)
    odd, small, large = 2 * draw(3, 4) + 1, draw(4, 6), 8 * draw(3, 4)
    kinds = [  # (patch, stride, width): the first two grids fill the width, so a range one short loses a window
        (side_by_side, side_by_side, side_by_side * (1 + draw(2, 5))),
        (half_overlap, half_overlap // 2, half_overlap + half_overlap // 2 * draw(2, 6)),
        (small_stride, draw(2, 4), draw(3 * small_stride, 6 * small_stride)),
        (odd, odd, draw(4 * odd, 8 * odd)),
        (small, 2, draw(3 * small, 5 * small)),
        (large, large // 2, draw(400, 560)),
    ]
    heights = [draw(3 * patch + 2, 8 * patch) for patch, _, _ in kinds[:-1]] + [draw(400, 560)]
    return [
        (height, width, patch, stride, _test_fraction(rng, height, patch))
        for (patch, stride, width), height in zip(kinds, heights, strict=True)
    ]


def _test_fraction(rng, height: int, patch: int) -> float:
    """A test fraction between 0.2 and 0.5, to two decimals, whose bottom rows hold at least one window."""
    low = max(0.2, math.ceil(100 * (patch + 1) / height) / 100)
    return round(float(rng.uniform(low, 0.5)), 2)


def _case_text(case: tuple) -> str:
    height, width, patch, stride, frac = case
    return f"height={height}, width={width}, patch={patch}, stride={stride}, test_fraction={frac}"


def _corner_array(value, what: str) -> np.ndarray:
    """The learner's list of ``(top, left)`` corners as an ``(n, 2)`` array of ints, or feedback saying why not."""
    if value is None:
        fail(f"{what} is None: did you forget the `return` statement?")
    try:
        return np.array([(int(r), int(c)) for r, c in value], dtype=np.int64).reshape(-1, 2)
    except (TypeError, ValueError, OverflowError):
        fail(f"{what} must be a list of (top, left) pairs of ints.")


def _split_lists(value, case: tuple) -> dict:
    """The learner's ``(train, test)`` as two arrays of corners, or feedback saying why it is not two lists."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        fail(
            f"region_split must return two lists (train, test); with {_case_text(case)} it returned "
            f"{type(value).__name__}."
        )
    return {
        "train": _corner_array(value[0], "the training corners"),
        "test": _corner_array(value[1], "the test corners"),
    }


def probe_region_split(region_split, *, seed=None) -> dict:
    """Exercise 7.2's probe: the training and test corners the learner returns for each geometry."""
    answers = []
    for case in _split_cases(seed):
        answers.append(
            attempt(
                region_split,
                *case,
                what="your region_split",
                forbid=(region_corners,),
                convert=lambda value, what, case=case: _split_lists(value, case),
            )
        )
        if failed(answers[-1]):
            break
    return {"answers": answers}


def _corner_list(array) -> list[tuple[int, int]]:
    return [(int(r), int(c)) for r, c in np.asarray(array)]


def judge_region_split(data: dict, seed: int | None) -> str:
    """Exercise 7.2's judge: for each geometry, patches inside the image, no shared pixel, the test region at the
    bottom, and every window of the stride grid in its region once."""
    cases = _split_cases(seed)
    for (height, width, patch, stride, frac), answer in zip(cases, data["answers"], strict=False):
        case = _case_text((height, width, patch, stride, frac))
        split = outcome(answer)
        train, test = _corner_list(split["train"]), _corner_list(split["test"])
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
    if len(data["answers"]) != len(cases):
        raise ValueError("the report has the wrong number of answers")
    return "Correct: training and test patches never share a pixel, and no patch that fits is lost."


# ----------------------------------------------------------------------------- 7.3


def check_augment(augment) -> None:
    """Exercise 7.3: ``augment(x, generator)`` applies one of the 8 symmetries of a square to each image.

    On a batch ``(2000, 2, 5, 5)`` of random images (no image is symmetric, so the transform is
    identifiable; the two channels hold the same picture): the answer must return a tensor of
    the input's shape and leave its input unchanged; each output channel equals
    ``dihedral(x[i], k)``'s for some ``k``, the same ``k`` for both channels of an image; each
    of the 8 transforms occurs with frequency ``1/8`` within ``SIGMAS`` standard deviations; the
    same generator seed gives the same batch and another seed another one. An answer that calls the
    package's ``augment_batch`` or ``dihedral`` earns nothing.

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
    run_check(probe_augment, judge_augment, augment)


#: Images in exercise 7.3's batch: the bound on each symmetry's frequency is a binomial over this many.
IMAGES = 2000
#: The package's augmentation, which exercise 7.3 asks the learner to write (``forbid`` of the probe's calls).
_PACKAGE_AUGMENT = (augment_batch, dihedral)


def _augment_seeds(seed: int | None) -> tuple[int, int, int]:
    """Exercise 7.3's seeds: of its batch of images, of the generator it passes twice, of the other generator."""
    if seed is None:
        return 73, 0, 1
    rng = np.random.default_rng(seed)
    images, first = (int(v) for v in rng.integers(2**31, size=2))
    return images, first, (first + int(rng.integers(1, 2**31))) % 2**31


def _augment_images(images_seed: int) -> torch.Tensor:
    """Exercise 7.3's batch ``(IMAGES, 2, 5, 5)``: random images, whose two channels hold the same picture."""
    x = torch.rand(IMAGES, 2, 5, 5, generator=torch.Generator().manual_seed(images_seed))
    x[:, 1] = x[:, 0] + 1.0  # two channels, the same picture: one transform for both
    return x


def _as_images(value, what: str) -> np.ndarray:
    """The learner's batch as a NumPy copy (float32 or float64), or feedback saying it is not a tensor."""
    if not isinstance(value, torch.Tensor):
        fail(f"augment must return a torch.Tensor, got {type(value).__name__}.")
    value = value.detach().cpu()
    return (value if value.dtype in (torch.float32, torch.float64) else value.to(torch.float64)).numpy().copy()


def probe_augment(augment, *, seed=None) -> dict:
    """Exercise 7.3's probe: the learner's batch for one generator seed, its input after that call, and the batches
    for the same seed again and for another one."""
    images, first, other = _augment_seeds(seed)
    x = _augment_images(images)

    def call(generator_seed: int) -> dict:
        generator = torch.Generator().manual_seed(generator_seed)
        return attempt(augment, x, generator, what="your augment", forbid=_PACKAGE_AUGMENT, convert=_as_images)

    data = {"first": call(first)}
    if failed(data["first"]):
        return data
    data["input_after"] = x.detach().numpy().copy()
    for name, generator_seed in (("again", first), ("other", other)):
        data[name] = call(generator_seed)
        if failed(data[name]):
            break
    return data


def judge_augment(data: dict, seed: int | None) -> str:
    """Exercise 7.3's judge: each output image is one symmetry of its input, the same for both channels, the eight
    drawn uniformly, reproducibly from the generator."""
    n = IMAGES
    x = _augment_images(_augment_seeds(seed)[0])
    first = np.array(outcome(data["first"]))
    out = torch.as_tensor(first)
    if not np.array_equal(data["input_after"], x.numpy()):
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
    again, other = outcome(data["again"]), outcome(data["other"])
    if not np.array_equal(again, first):
        fail(
            "the same generator seed gave a different batch: draw from the `generator` argument "
            "(torch.randint(..., generator=generator)), not from the global generator."
        )
    if np.array_equal(other, first):
        fail("another generator seed gave the same batch: draw the transforms from the `generator` argument.")
    return "Correct: each image gets one of the eight symmetries, uniformly and independently."
