"""Checkers of chapter 4, SpatialDropout in PyTorch and Keras (exercises 4.1-4.3).

Every checker calls the learner's code on inputs whose axes all have different sizes, so that a
mask sampled along the wrong axis shows up, records the warnings it raises (PyTorch warns when
``Dropout2d`` gets a rank-3 input) and reads the *structure* of the mask: the axes along which it
varies. Rates are checked against ``SIGMAS``-wide binomial bounds.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import torch

from ._harness import SIGMAS, attempt, fail, failed, outcome, reference_answer, run_check
from ._measures import as_array, fraction_bound

__all__ = ["PORT_SHAPES", "check_channels_last_dropout", "check_keras_port", "check_unbatched_image"]

#: The sizes of exercise 4.3, batch, timesteps, embedding features, conv filters and kernel size.
PORT_SHAPES = {"N": 6, "T": 11, "E": 5, "F": 7, "k": 3}


def _attempt_warned(fn, *args, what: str) -> tuple[dict, list[str]]:
    """A probe's :func:`attempt` of the learner's code (output as a float array), and the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call = attempt(fn, *args, what=what, convert=as_array)
    return call, [str(w.message) for w in caught]


def _usable(call: dict, shape=None) -> bool:
    """Whether an attempt answered, with an output of ``shape`` where one is given (a probe stops calling the
    learner's code otherwise)."""
    return not failed(call) and (shape is None or call["value"].shape == tuple(shape))


def _distinct(messages: list[str]) -> list[str]:
    """``messages`` without repeats, in the order they first came."""
    return list(dict.fromkeys(messages))


def _seeded_calls(student_fn, runs, *args, what: str, shape=None) -> tuple[list[dict], list[str]]:
    """The learner's ``student_fn(x, *args)`` for each ``(x, coin seed)`` of ``runs``, PyTorch's global generator
    seeded before each and tensors passed as copies, up to the first failed attempt or, where ``shape`` is given, the
    first output of another shape; and the warnings the calls raised."""
    calls, caught = [], []
    for x, coin in runs:
        torch.manual_seed(coin)
        copies = (a.clone() if isinstance(a, torch.Tensor) else a for a in args)
        call, messages = _attempt_warned(student_fn, x.clone(), *copies, what=what)
        calls.append(call)
        caught += messages
        if not _usable(call, shape):
            break
    return calls, _distinct(caught)


def _draw_seed(rng: np.random.Generator) -> int:
    """A seed for a torch generator (inputs) or for PyTorch's global generator (the learner's coins)."""
    return int(rng.integers(2**31))


def _varying_axes(masks: np.ndarray) -> set[int]:
    """Axes (of one sample's mask, i.e. after the leading stack axis) along which some mask varies."""
    axes = set()
    for axis in range(1, masks.ndim):
        if masks.shape[axis] > 1 and not np.all(masks == np.take(masks, [0], axis=axis)):
            axes.add(axis - 1)
    return axes


def _dropout2d_warning(messages) -> str | None:
    for m in messages:
        if "dropout2d" in m or "dropout3d" in m:
            return m
    return None


def _check_values_and_rate(ratio: np.ndarray, p: float, coins: int, what: str) -> None:
    scale = 1.0 / (1.0 - p)
    ok = np.isclose(ratio, 0.0, atol=1e-6) | np.isclose(ratio, scale, rtol=1e-4)
    if not ok.all():
        bad = np.unique(np.round(ratio[~ok], 3))[:3].tolist()
        hint = " Did you forget to scale kept units by 1/(1-p)?" if np.isclose(bad[0], 1.0) else ""
        fail(
            f"with p = {p}, every output must be 0 or the input times 1/(1-p) = {scale:.2f}, but {what} also "
            f"gave the input times {bad}.{hint}"
        )
    dropped = float(np.isclose(ratio, 0.0, atol=1e-6).mean())
    bound = fraction_bound(p, coins)
    if abs(dropped - p) > bound:
        hint = (
            " Is your mask keeping channels with probability p instead of 1-p?"
            if abs(dropped - (1 - p)) <= bound
            else ""
        )
        fail(
            f"with p = {p}, {dropped:.3f} of the units were dropped, expected {p:.3f} ± {bound:.3f} "
            f"({SIGMAS:g} standard deviations over {coins} channel coins).{hint}"
        )


def _ratios(calls: list, inputs: list, shape_failure, read=outcome) -> np.ndarray:
    """Output over input of each recorded call, stacked; a failed call's feedback (as ``read`` gives it), or
    ``shape_failure(y)``'s, is raised where the call comes."""
    ratios = []
    for call, x in zip(calls, inputs, strict=False):
        y = read(call)
        if y.shape != tuple(x.shape):
            shape_failure(y)
        ratios.append(y / x.numpy())
    if len(ratios) != len(inputs):
        raise ValueError("the report has the wrong number of outputs")
    return np.stack(ratios)


# ----------------------------------------------------------------------------- 4.1

#: Exercise 4.1's image shape, and how many images one check drops.
_IMAGE_SHAPE, _IMAGE_CALLS = (5, 7, 9), 80


def check_unbatched_image(student_fn) -> None:
    """Exercise 4.1: ``student_fn(img, p)`` drops whole channels of ONE image ``(C, H, W)`` in PyTorch.

    The answer is called 80 times on positive images of shape ``(5, 7, 9)`` with ``p = 0.3``,
    PyTorch's global generator seeded before each call. The output must have the image's shape;
    the mask, read as output over input, must vary between channels and be constant within each
    channel; every value is 0 or the input times ``1/(1-p)``; the fraction of dropped channels
    is within ``SIGMAS`` standard deviations of ``p``; PyTorch must not warn. With ``p = 0`` the
    image must come back unchanged. A mask of the wrong structure, or a warning, is traced to
    the mistake that usually causes it.

    Args:
        student_fn: the learner's function ``(img, p) -> tensor``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and the likely mistake.

    Examples::

        >>> check_unbatched_image(lambda img, p: img)
        ... # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: every channel of an image got
        the same coin: each channel needs its own.
    """
    run_check(probe_unbatched_image, judge_unbatched_image, student_fn)


def _image_inputs(seed: int | None) -> tuple[float, list[torch.Tensor], list[int]]:
    """Exercise 4.1's drop rate, images, and the seed of PyTorch's coins before each call: the learner's own, or
    drawn from the grader's seed."""
    if seed is None:
        p, pixels, coins = 0.3, torch.Generator().manual_seed(41), 1000
    else:
        rng = np.random.default_rng(seed)
        p = round(float(rng.uniform(0.15, 0.35)), 2)
        pixels, coins = torch.Generator().manual_seed(_draw_seed(rng)), _draw_seed(rng)
    images = [torch.rand(_IMAGE_SHAPE, generator=pixels) + 0.5 for _ in range(_IMAGE_CALLS)]
    return p, images, [coins + call for call in range(_IMAGE_CALLS)]


def probe_unbatched_image(student_fn, *, seed=None) -> dict:
    """Exercise 4.1's probe: the learner's output for each image, its warnings, then its output at ``p = 0``."""
    what = "your drop_image_channels"
    p, images, coins = _image_inputs(seed)
    calls, caught = _seeded_calls(student_fn, zip(images, coins, strict=True), p, what=what, shape=_IMAGE_SHAPE)
    if _usable(calls[-1], _IMAGE_SHAPE):
        calls.append(_attempt_warned(student_fn, torch.ones(_IMAGE_SHAPE), 0.0, what=what)[0])
    return {"calls": calls, "warnings": caught}


def judge_unbatched_image(data: dict, seed: int | None) -> str:
    """Exercise 4.1's judge: output shape, the mask's structure, warnings, values and drop rate, then ``p = 0``."""
    what, shape = "your drop_image_channels", _IMAGE_SHAPE
    p, images, _ = _image_inputs(seed)

    def wrong_shape(y):
        hint = " Remove the batch axis again: .squeeze(0)." if y.shape == (1, *shape) else ""
        fail(f"{what} returned shape {y.shape}, expected the image's shape {shape}.{hint}")

    calls = data["calls"]
    ratio = _ratios(calls[: len(images)], images, wrong_shape)
    varying = _varying_axes(np.isclose(ratio, 0.0, atol=1e-6))
    warned = _dropout2d_warning(data["warnings"])
    if varying == {0, 1} or varying == {1}:
        fail(
            "the mask is constant along each row (W) but differs between rows: whole rows are dropped, not "
            "channels. That is what torch.nn.Dropout2d (and Dropout1d) do with a rank-3 input: they read the image "
            "(C, H, W) as a batch of sequences (N, C, L)"
            + (f'; PyTorch even warned: "{warned[:90]}..."' if warned else "")
            + ". Add the batch axis first: img.unsqueeze(0), drop, then .squeeze(0)."
        )
    if warned:
        fail(
            f'PyTorch warned: "{warned[:100]}...". A rank-3 input reaches dropout2d or dropout3d only through a '
            "path PyTorch deprecates (a future release makes it an error or changes what it drops), even where the "
            "mask comes out right. Add the batch axis and use the layer for images: "
            "torch.nn.functional.dropout2d(img.unsqueeze(0), p, training=True).squeeze(0)."
        )
    if 1 in varying or 2 in varying:
        fail(
            "the mask varies between pixels of one channel: that is element-wise dropout. One coin per channel, "
            "shared by all its pixels: use torch.nn.functional.dropout2d on (1, C, H, W)."
        )
    if 0 not in varying:
        fail("every channel of an image got the same coin: each channel needs its own.")
    _check_values_and_rate(ratio, p, len(images) * shape[0], what)
    (unchanged,) = calls[len(images) :]
    y0 = outcome(unchanged)
    if y0.shape != shape or not np.allclose(y0, 1.0):
        fail("with p = 0 the image must come back unchanged.")
    return "Correct: one coin per channel of the image, shared by all its pixels."


# ----------------------------------------------------------------------------- 4.2

_LAST_SHAPES = ((4, 9, 6), (4, 7, 5, 6), (3, 4, 5, 7, 6))
#: How many batches of each rank exercise 4.2's check drops.
_LAST_CALLS = 12


def check_channels_last_dropout(student_fn) -> None:
    """Exercise 4.2: ``student_fn(x, p)``: spatial dropout of a channels-last batch ``(N, *spatial, C)``.

    The answer is called 12 times on positive batches with 1, 2 and 3 spatial axes (shapes
    ``(4, 9, 6)``, ``(4, 7, 5, 6)`` and ``(3, 4, 5, 7, 6)``) with ``p = 0.5``, PyTorch's global
    generator seeded before each call. At every rank: the output has the input's shape; PyTorch
    does not warn; the mask, read as output over input, varies between samples and between
    channels (the last axis) and not along the spatial axes; every value is 0 or the input times
    ``1/(1-p)``; the fraction of dropped (sample, channel) maps is within ``SIGMAS`` standard
    deviations of ``p``. A mask of the wrong structure, or a warning, is traced to the mistake
    that usually causes it.

    Args:
        student_fn: the learner's function ``(x, p) -> tensor``.

    Raises:
        ExerciseFailure: with feedback naming the rank, what was measured and the likely
            mistake.

    Examples::

        >>> check_channels_last_dropout(lambda x, p: x)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: on a rank-3 input (4, 9, 6)
        the mask ...
    """
    run_check(probe_channels_last_dropout, judge_channels_last_dropout, student_fn)


def _channels_last_inputs(seed: int | None) -> tuple[float, list[list[tuple[torch.Tensor, int]]]]:
    """Exercise 4.2's drop rate and, for each shape of ``_LAST_SHAPES``, its batches with the seed of PyTorch's coins
    before each call: the learner's own, or drawn from the grader's seed."""
    if seed is None:
        p, batches, coins = 0.5, torch.Generator().manual_seed(42), 2000
    else:
        rng = np.random.default_rng(seed)
        p = round(float(rng.uniform(0.35, 0.65)), 2)
        batches, coins = torch.Generator().manual_seed(_draw_seed(rng)), _draw_seed(rng)
    return p, [
        [(torch.rand(shape, generator=batches) + 0.5, coins + 100 * len(shape) + call) for call in range(_LAST_CALLS)]
        for shape in _LAST_SHAPES
    ]


def probe_channels_last_dropout(student_fn, *, seed=None) -> dict:
    """Exercise 4.2's probe: for each rank, the learner's output for each batch and the warnings it raised."""
    what = "your spatial_dropout_channels_last"
    p, inputs = _channels_last_inputs(seed)
    ranks = []
    for shape, batches in zip(_LAST_SHAPES, inputs, strict=True):
        calls, caught = _seeded_calls(student_fn, batches, p, what=what, shape=shape)
        ranks.append({"calls": calls, "warnings": caught})
        if not _usable(calls[-1], shape):
            break
    return {"ranks": ranks}


def judge_channels_last_dropout(data: dict, seed: int | None) -> str:
    """Exercise 4.2's judge, rank by rank: output shape, warnings, the mask's structure, values and drop rate."""
    what = "your spatial_dropout_channels_last"
    p, inputs = _channels_last_inputs(seed)
    for i, (shape, batches) in enumerate(zip(_LAST_SHAPES, inputs, strict=True)):
        rank = len(shape)
        recorded = data["ranks"][i]

        def wrong_shape(y, shape=shape, rank=rank):
            moved = (shape[0], shape[-1], *shape[1:-1])
            hint = (
                " That is channels first: move the channel axis back to the end (.movedim(1, -1))."
                if y.shape == moved
                else ""
            )
            fail(f"on a rank-{rank} input {shape}, {what} returned shape {y.shape}, expected {shape}.{hint}")

        ratio = _ratios(recorded["calls"], [x for x, _ in batches], wrong_shape)
        warned = _dropout2d_warning(recorded["warnings"])
        if warned:
            fail(
                f'on a rank-{rank} input PyTorch warned: "{warned[:110]}...". Pick the layer by the number of '
                f"spatial axes: dropout1d for rank 3, dropout2d for rank 4, dropout3d for rank 5."
            )
        varying = _varying_axes(np.isclose(ratio, 0.0, atol=1e-6))
        channel = rank - 1
        spatial = set(range(1, rank - 1))
        if varying == {0, 1} or (1 in varying and channel not in varying):
            fail(
                f"on a rank-{rank} input {shape} the mask varies along axis 1 (a spatial axis of channels-last "
                f"data) and is constant along the last axis (the channels): the PyTorch layer took axis 1 for the "
                f"channels. Move the channels to axis 1 first (x.movedim(-1, 1)), drop, and move them back."
            )
        if varying & spatial:
            fail(
                f"on a rank-{rank} input {shape} the mask varies along the spatial axes {sorted(varying & spatial)}: "
                f"spatial dropout shares one coin over every position of a channel."
            )
        if channel not in varying or 0 not in varying:
            fail(
                f"on a rank-{rank} input {shape} the mask should differ between samples and between channels; "
                f"it varies only along axes {sorted(varying)}."
            )
        _check_values_and_rate(ratio, p, len(batches) * shape[0] * shape[-1], what)
    if len(data["ranks"]) != len(_LAST_SHAPES):
        raise ValueError("the report has the wrong number of ranks")
    return "Correct: channels last in, channels last out, one coin per (sample, channel) at every rank."


# ----------------------------------------------------------------------------- 4.3


@reference_answer
def _keras_reference(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor) -> np.ndarray:
    """The Keras block in inference: Conv1D(F, k, padding='same') on channels-last x (dropout is off)."""
    import keras

    conv = keras.layers.Conv1D(kernel.shape[2], kernel.shape[0], padding="same")
    conv.build((None, x.shape[1], x.shape[2]))
    conv.set_weights([kernel.numpy(), bias.numpy()])
    return keras.ops.convert_to_numpy(conv(x, training=False))


def _keras_block(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor) -> np.ndarray:
    """The Keras block's output in the judge's process, which need not have chosen a Keras backend: PyTorch's, by
    default, and the input as a NumPy array, which every backend reads."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return _keras_reference(x.numpy(), kernel, bias)


def _torch_variant(x, kernel, bias, *, weight=None, use_bias=True, flip=False):
    w = kernel.permute(2, 1, 0) if weight is None else weight
    if flip:
        w = w.flip(-1)
    out = torch.nn.functional.conv1d(x.transpose(1, 2), w, bias if use_bias else None, padding=kernel.shape[0] // 2)
    return out.transpose(1, 2).numpy()


def check_keras_port(student_fn) -> None:
    """Exercise 4.3: ``student_fn(x, kernel, bias, p, training)`` ports a Keras text block to PyTorch.

    The Keras block is ``SpatialDropout1D(p)`` then ``Conv1D(F, k, padding="same")`` on embedded
    tokens ``x`` of shape ``(N, T, E)`` (channels last); ``kernel`` is Keras' ``(k, E, F)`` and
    ``bias`` ``(F,)``. The port must take and return channels-last tensors. Checks, with
    ``(N, T, E, F, k) = (6, 11, 5, 7, 3)``:

    * inference (``training=False``, ``p = 0.5``): the output has shape ``(N, T, F)``, two calls
      give the same output, and it equals the real Keras block's output (``atol 1e-4``); a
      wrong shape or value is traced to the mistake that usually causes it;
    * training with ``p = 0.4`` over 25 seeded calls, with an identity kernel so that the output
      *is* the dropped input: PyTorch does not warn; the mask, read as output over input, is
      constant along T and varies between sentences and between embedding features; every
      value is 0 or the input times ``1/(1-p)``; the fraction of dropped (sentence, feature)
      pairs is within ``SIGMAS`` standard deviations of ``p``;
    * training with the real kernel over 10 seeded calls: no output channel is zero for a whole
      sentence (which happens when dropout acts after the convolution).

    Args:
        student_fn: the learner's function ``(x, kernel, bias, p, training) -> tensor``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and the likely mistake.

    Examples::

        >>> check_keras_port(lambda x, kernel, bias, p, training: x)
        ... # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: your port returned shape
        (6, 11, 5), expected (6, 11, 7) (N, T, F).
    """
    run_check(probe_keras_port, judge_keras_port, student_fn)


#: How many training calls exercise 4.3's check makes with the identity kernel, and with the real one.
_IDENTITY_CALLS, _KERNEL_CALLS = 25, 10


def _port_inputs(seed: int | None) -> dict:
    """Exercise 4.3's tokens, kernel and bias, the rate of each stage and the seeds of PyTorch's coins in training:
    the learner's own, or drawn from the grader's seed."""
    n, t, e, f, k = (PORT_SHAPES[s] for s in "NTEFk")
    if seed is None:
        g, rates, coins = torch.Generator().manual_seed(43), (0.5, 0.4, 0.5), (3000, 4000)
    else:
        rng = np.random.default_rng(seed)
        g = torch.Generator().manual_seed(_draw_seed(rng))
        rates = tuple(round(float(rng.uniform(low, high)), 2) for low, high in ((0.3, 0.7), (0.2, 0.4), (0.3, 0.6)))
        coins = (_draw_seed(rng), _draw_seed(rng))
    x = torch.rand(n, t, e, generator=g) + 0.5
    kernel = torch.randn(k, e, f, generator=g) / math.sqrt(k * e)
    bias = torch.rand(f, generator=g) + 0.5
    eye = torch.zeros(k, e, e)
    eye[k // 2] = torch.eye(e)
    return {
        "x": x,
        "kernel": kernel,
        "bias": bias,
        "eye": eye,
        "p": dict(zip(("inference", "identity", "kernel"), rates, strict=True)),
        "identity_coins": [coins[0] + c for c in range(_IDENTITY_CALLS)],
        "kernel_coins": [coins[1] + c for c in range(_KERNEL_CALLS)],
    }


def probe_keras_port(student_fn, *, seed=None) -> dict:
    """Exercise 4.3's probe: outputs in inference, then in training (identity kernel and its warnings; real kernel)."""
    what = "your port"
    inputs = _port_inputs(seed)
    x, kernel, bias, eye, p = (inputs[key] for key in ("x", "kernel", "bias", "eye", "p"))
    report = {"inference": [], "identity": [], "warnings": [], "kernel": []}
    for _ in range(2):
        args = (x.clone(), kernel.clone(), bias.clone(), p["inference"], False)
        report["inference"].append(_attempt_warned(student_fn, *args, what=what)[0])
        if failed(report["inference"][-1]):
            return report
    if report["inference"][0]["value"].shape != (x.shape[0], x.shape[1], kernel.shape[2]):
        return report
    runs = [(x, coin) for coin in inputs["identity_coins"]]
    no_bias = torch.zeros(eye.shape[2])
    report["identity"], report["warnings"] = _seeded_calls(
        student_fn, runs, eye, no_bias, p["identity"], True, what=what, shape=x.shape
    )
    if _usable(report["identity"][-1], x.shape):
        runs = [(x, coin) for coin in inputs["kernel_coins"]]
        report["kernel"] = _seeded_calls(student_fn, runs, kernel, bias, p["kernel"], True, what=what)[0]
    return report


def _port_outcome(record: dict) -> np.ndarray:
    """The port's output an attempt recorded; a failure of PyTorch's convolution on channels-last data gets a hint."""
    if failed(record) and "channels" in str(record["failure"]) and "expected input" in str(record["failure"]):
        fail(
            f"{record['failure']}\nHint: torch's conv1d wants (N, C, L); the Keras tensor is (N, T, E). "
            f"Transpose with x.transpose(1, 2) before the convolution."
        )
    return outcome(record)


def _judge_inference(y1: np.ndarray, y2: np.ndarray, x, kernel, bias, what: str) -> None:
    """Exercise 4.3 in inference: the output's shape, two equal calls, and the Keras block's values."""
    n, t, e, f, k = (PORT_SHAPES[s] for s in "NTEFk")
    want = _keras_block(x, kernel, bias)
    if y1.shape != want.shape:
        if y1.shape == (n, f, t):
            fail(
                f"{what} returned shape {y1.shape}, channels first; Keras returns (N, T, F) = {want.shape}: "
                f"transpose the convolution's output back with .transpose(1, 2)."
            )
        if y1.shape == (n, t - k + 1, f):
            fail(
                f"{what} returned {t - k + 1} timesteps instead of {t}: Keras' padding='same' keeps the length; "
                f"use padding={k // 2} (or padding='same') in conv1d."
            )
        fail(f"{what} returned shape {y1.shape}, expected {want.shape} (N, T, F).")
    if not np.array_equal(y1, y2):
        fail(
            "with training=False two calls gave different outputs: dropout must be off in inference. (A "
            "torch.nn.Dropout1d(p) built inside the function is in training mode; use "
            "torch.nn.functional.dropout1d(h, p, training) or call .train(training).)"
        )
    if not np.allclose(y1, want, atol=1e-4):
        variants = [
            (
                _torch_variant(x, kernel, bias, weight=kernel.reshape(f, e, k)),
                "the kernel was reshaped: reshape keeps the memory order. Keras stores (k, E, F), PyTorch wants "
                "(F, E, k): use kernel.permute(2, 1, 0).",
            ),
            (
                _torch_variant(x, kernel, bias, flip=True),
                "the taps are flipped: both frameworks compute a cross-correlation, so only move the axes.",
            ),
            (_torch_variant(x, kernel, bias, use_bias=False), "the bias is missing."),
        ]
        for out, hint in variants:
            if out.shape == y1.shape and np.allclose(y1, out, atol=1e-4):
                fail(f"in inference your output differs from the Keras block's: {hint}")
        err = float(np.abs(y1 - want).max())
        fail(
            f"in inference your output differs from the Keras block's by up to {err:.3g}: check the kernel "
            f"layout (Keras (k, E, F) -> PyTorch (F, E, k) by permute(2, 1, 0)), the bias and padding={k // 2}."
        )


def _judge_identity_training(data: dict, x, eye, p: float, what: str) -> None:
    """Exercise 4.3 in training with an identity kernel: warnings, the mask's structure, values and drop rate."""

    def wrong_shape(y):
        fail(
            f"with an identity kernel of shape {tuple(eye.shape)} {what} returned {y.shape}, expected {tuple(x.shape)}."
        )

    ratio = _ratios(data["identity"], [x] * _IDENTITY_CALLS, wrong_shape, read=_port_outcome)
    warned = _dropout2d_warning(data["warnings"])
    if warned:
        fail(
            f'PyTorch warned: "{warned[:100]}...": torch.nn.Dropout2d on a rank-3 tensor only works through a '
            f"deprecated path. The data are sequences: use Dropout1d (functional.dropout1d)."
        )
    varying = _varying_axes(np.isclose(ratio, 0.0, atol=1e-6))
    if 1 in varying and 2 not in varying:
        fail(
            "whole tokens are dropped (the mask is constant along the embedding features and varies between "
            "timesteps): that is Dropout1d applied to (N, T, E), which takes T for the channels. Keras' "
            "SpatialDropout1D drops embedding features for the whole sentence: transpose to (N, E, T) first."
        )
    if 1 in varying:
        fail(
            "the mask varies between timesteps within one feature: that is element-wise dropout. "
            "SpatialDropout1D keeps or drops each feature for the whole sentence: Dropout1d on (N, E, T)."
        )
    if 2 not in varying or 0 not in varying:
        fail(
            f"the mask should differ between sentences and between features; it varies only along axes "
            f"{sorted(varying)}."
        )
    _check_values_and_rate(ratio, p, _IDENTITY_CALLS * x.shape[0] * x.shape[2], what)


def judge_keras_port(data: dict, seed: int | None) -> str:
    """Exercise 4.3's judge: the Keras block's values in inference; in training, channel dropout before the conv."""
    what = "your port"
    inputs = _port_inputs(seed)
    x, kernel, bias, eye, p = (inputs[key] for key in ("x", "kernel", "bias", "eye", "p"))
    y1 = _port_outcome(data["inference"][0])
    y2 = _port_outcome(data["inference"][1])
    _judge_inference(y1, y2, x, kernel, bias, what)
    _judge_identity_training(data, x, eye, p["identity"], what)
    for record in data["kernel"]:
        y = _port_outcome(record)
        if np.any(np.all(y == 0, axis=1)):
            fail(
                "some output channels of the convolution are zero for a whole sentence: dropout was applied after "
                "the convolution. In the Keras block SpatialDropout1D comes first, on the embedded tokens."
            )
    if len(data["inference"]) != 2 or len(data["kernel"]) != _KERNEL_CALLS:
        raise ValueError("the report has the wrong number of outputs")
    return "Correct: transposes, kernel layout and channel dropout all match the Keras block."
