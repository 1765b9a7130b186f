"""Checkers of chapter 4, SpatialDropout in PyTorch and Keras (exercises 4.1-4.3).

Every checker calls the learner's code on inputs whose axes all have different sizes, so that a
mask sampled along the wrong axis shows up, records the warnings it raises (PyTorch warns when
``Dropout2d`` gets a rank-3 input) and reads the *structure* of the mask: the axes along which it
varies. Rates are checked against ``SIGMAS``-wide binomial bounds.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from ._harness import (
    SIGMAS,
    ExerciseFailure,
    as_array,
    fail,
    fraction_bound,
    passed,
    reference_answer,
    run_student_code,
)

__all__ = ["PORT_SHAPES", "check_channels_last_dropout", "check_keras_port", "check_unbatched_image"]

#: The sizes of exercise 4.3, batch, timesteps, embedding features, conv filters and kernel size.
PORT_SHAPES = {"N": 6, "T": 11, "E": 5, "F": 7, "k": 3}


def _call(fn, *args, what: str):
    """Run the learner's code, returning its output as a float array and the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = run_student_code(fn, *args, what=what)
    return as_array(out, what), [str(w.message) for w in caught]


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


# ----------------------------------------------------------------------------- 4.1


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
    what = "your drop_image_channels"
    shape, p, calls = (5, 7, 9), 0.3, 80
    g = torch.Generator().manual_seed(41)
    ratios, messages = [], []
    for call in range(calls):
        x = torch.rand(shape, generator=g) + 0.5
        torch.manual_seed(1000 + call)
        y, caught = _call(student_fn, x.clone(), p, what=what)
        messages += caught
        if y.shape != shape:
            hint = " Remove the batch axis again: .squeeze(0)." if y.shape == (1, *shape) else ""
            fail(f"{what} returned shape {y.shape}, expected the image's shape {shape}.{hint}")
        ratios.append(y / x.numpy())
    ratio = np.stack(ratios)
    dropped = np.isclose(ratio, 0.0, atol=1e-6)
    varying = _varying_axes(dropped)
    warned = _dropout2d_warning(messages)
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
    _check_values_and_rate(ratio, p, calls * shape[0], what)
    y0, _ = _call(student_fn, torch.ones(shape), 0.0, what=what)
    if y0.shape != shape or not np.allclose(y0, 1.0):
        fail("with p = 0 the image must come back unchanged.")
    passed("Correct: one coin per channel of the image, shared by all its pixels.")


# ----------------------------------------------------------------------------- 4.2

_LAST_SHAPES = ((4, 9, 6), (4, 7, 5, 6), (3, 4, 5, 7, 6))


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
    what = "your spatial_dropout_channels_last"
    p, calls = 0.5, 12
    g = torch.Generator().manual_seed(42)
    for shape in _LAST_SHAPES:
        rank = len(shape)
        ratios, messages = [], []
        for call in range(calls):
            x = torch.rand(shape, generator=g) + 0.5
            torch.manual_seed(2000 + 100 * rank + call)
            y, caught = _call(student_fn, x.clone(), p, what=what)
            messages += caught
            if y.shape != shape:
                moved = (shape[0], shape[-1], *shape[1:-1])
                hint = (
                    " That is channels first: move the channel axis back to the end (.movedim(1, -1))."
                    if y.shape == moved
                    else ""
                )
                fail(f"on a rank-{rank} input {shape}, {what} returned shape {y.shape}, expected {shape}.{hint}")
            ratios.append(y / x.numpy())
        warned = _dropout2d_warning(messages)
        if warned:
            fail(
                f'on a rank-{rank} input PyTorch warned: "{warned[:110]}...". Pick the layer by the number of '
                f"spatial axes: dropout1d for rank 3, dropout2d for rank 4, dropout3d for rank 5."
            )
        dropped = np.isclose(np.stack(ratios), 0.0, atol=1e-6)
        varying = _varying_axes(dropped)
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
        _check_values_and_rate(np.stack(ratios), p, calls * shape[0] * shape[-1], what)
    passed("Correct: channels last in, channels last out, one coin per (sample, channel) at every rank.")


# ----------------------------------------------------------------------------- 4.3


@reference_answer
def _keras_reference(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor) -> np.ndarray:
    """The Keras block in inference: Conv1D(F, k, padding='same') on channels-last x (dropout is off)."""
    import keras

    conv = keras.layers.Conv1D(kernel.shape[2], kernel.shape[0], padding="same")
    conv.build((None, x.shape[1], x.shape[2]))
    conv.set_weights([kernel.numpy(), bias.numpy()])
    return keras.ops.convert_to_numpy(conv(x, training=False))


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
    what = "your port"
    n, t, e, f, k = (PORT_SHAPES[s] for s in "NTEFk")
    g = torch.Generator().manual_seed(43)
    x = torch.rand(n, t, e, generator=g) + 0.5
    kernel = torch.randn(k, e, f, generator=g) / math.sqrt(k * e)
    bias = torch.rand(f, generator=g) + 0.5

    def call(xx, kk, bb, p, training):
        try:
            return _call(student_fn, xx.clone(), kk.clone(), bb.clone(), p, training, what=what)
        except ExerciseFailure as err:
            if "channels" in str(err) and "expected input" in str(err):
                raise ExerciseFailure(
                    f"{err}\nHint: torch's conv1d wants (N, C, L); the Keras tensor is (N, T, E). "
                    f"Transpose with x.transpose(1, 2) before the convolution."
                ) from None
            raise

    # --- inference: the Keras computation, after transposes
    want = _keras_reference(x, kernel, bias)
    y1, _ = call(x, kernel, bias, 0.5, False)
    y2, _ = call(x, kernel, bias, 0.5, False)
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

    # --- training, identity kernel: the output is the dropped input, channels last
    eye = torch.zeros(k, e, e)
    eye[k // 2] = torch.eye(e)
    p, calls = 0.4, 25
    ratios, messages = [], []
    for c in range(calls):
        torch.manual_seed(3000 + c)
        y, caught = call(x, eye, torch.zeros(e), p, True)
        messages += caught
        if y.shape != x.shape:
            fail(
                f"with an identity kernel of shape {tuple(eye.shape)} {what} returned {y.shape}, "
                f"expected {tuple(x.shape)}."
            )
        ratios.append(y / x.numpy())
    warned = _dropout2d_warning(messages)
    if warned:
        fail(
            f'PyTorch warned: "{warned[:100]}...": torch.nn.Dropout2d on a rank-3 tensor only works through a '
            f"deprecated path. The data are sequences: use Dropout1d (functional.dropout1d)."
        )
    ratio = np.stack(ratios)
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
    _check_values_and_rate(ratio, p, calls * n * e, what)

    # --- training with the real kernel: dropout before the convolution
    for c in range(10):
        torch.manual_seed(4000 + c)
        y, _ = call(x, kernel, bias, 0.5, True)
        if np.any(np.all(y == 0, axis=1)):
            fail(
                "some output channels of the convolution are zero for a whole sentence: dropout was applied after "
                "the convolution. In the Keras block SpatialDropout1D comes first, on the embedded tokens."
            )
    passed("Correct: transposes, kernel layout and channel dropout all match the Keras block.")
