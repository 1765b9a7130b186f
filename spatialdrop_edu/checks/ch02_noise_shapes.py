"""Checkers of chapter 2, noise shapes (exercises 2.1-2.4)."""

from __future__ import annotations

import math

import numpy as np

from ..layers.noise_shapes import coin_flips, noise_shape
from ._harness import SIGMAS, ExerciseFailure, as_array, check_inverted_output, fail, fraction_bound, mean_bound, run_student_code

__all__ = ["COIN_FLIP_QUESTIONS", "check_coin_flips", "check_noise_shape_dropout", "check_word_dropout"]

#: The questions of exercise 2.1, each as (description, input shape, kind, data format).
COIN_FLIP_QUESTIONS = {
    "a": ("torch.nn.Dropout2d on a batch of shape (8, 16, 32, 32)", (8, 16, 32, 32), "spatial", "channels_first"),
    "b": ("keras.layers.SpatialDropout1D on embedded text of shape (4, 50, 300)", (4, 50, 300), "spatial", "channels_last"),
    "c": ("keras.layers.SpatialDropout2D (channels last) on images of shape (2, 28, 28, 3)", (2, 28, 28, 3), "spatial",
          "channels_last"),
    "d": ("torch.nn.Dropout on a tensor of shape (2, 3, 4, 4)", (2, 3, 4, 4), "element", "channels_first"),
}


def check_coin_flips(answers) -> None:
    """Exercise 2.1: the number of independent coin flips of each layer in ``COIN_FLIP_QUESTIONS``.

    Args:
        answers: a dict ``{"a": int, "b": int, "c": int, "d": int}``.

    Examples::

        >>> check_coin_flips({"a": 128, "b": 1200, "c": 6, "d": 96})
        Correct: one coin per (sample, channel) for spatial dropout, one per unit for Dropout.
    """
    if not isinstance(answers, dict):
        fail(f"answers must be a dict like {{'a': 0, 'b': 0, 'c': 0, 'd': 0}}, got {type(answers).__name__}.")
    missing = sorted(set(COIN_FLIP_QUESTIONS) - set(answers))
    if missing:
        fail(f"answers is missing the key(s) {missing}: give one number for each of {sorted(COIN_FLIP_QUESTIONS)}.")
    for key, (text, shape, kind, fmt) in COIN_FLIP_QUESTIONS.items():
        got = answers[key]
        if got is None or isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            fail(f"({key}) must be an int, got {got!r}.")
        want = coin_flips(shape, noise_shape(shape, kind, fmt))
        if got == want:
            continue
        units = math.prod(shape)
        n = shape[0]
        channels = shape[1] if fmt == "channels_first" else shape[-1]
        positions = units // (n * channels)
        if kind == "spatial" and got == units:
            hint = "that counts one coin per unit, as plain Dropout; spatial dropout shares one coin per feature map."
        elif kind == "spatial" and got == channels:
            hint = "every sample of the batch gets its own coins: multiply by the batch size N."
        elif kind == "spatial" and got == n * positions:
            hint = ("that is one coin per sample and position (whole timesteps or pixels): spatial dropout flips one "
                    "per sample and channel.")
        elif kind == "spatial" and got == n * (shape[1] if fmt == "channels_last" else shape[-1]):
            hint = f"the channel axis of {fmt} input is {'the last' if fmt == 'channels_last' else 'axis 1'}."
        elif kind == "element" and got != units:
            hint = "plain Dropout flips one coin per unit: the product of all the sizes."
        else:
            hint = "the noise shape has the batch and channel sizes and 1 for every spatial axis."
        fail(f"({key}) {text}: you answered {got}, expected {want}: {hint}")
    print("Correct: one coin per (sample, channel) for spatial dropout, one per unit for Dropout.")


def check_noise_shape_dropout(student_fn) -> None:
    """Exercise 2.2: ``student_fn(x, p, noise_shape, rng)``: inverted dropout with a noise shape, in NumPy.

    Checks, on ones of shape ``(16, 12, 5, 5)``: with noise shape ``(16, 12, 1, 1)`` the output is
    constant over each feature map, values are 0 or ``1/(1-p)``, the dropped fraction of the
    ``16 * 12`` coins is ``p`` within ``SIGMAS`` standard deviations (pooled over 20 calls);
    with noise shape ``(16, 1, 5, 5)`` it is constant across channels; the full shape gives
    independent units; ``p = 0`` and ``p = 1`` are exact.

    Args:
        student_fn: the learner's function ``(x, p, noise_shape, rng) -> array``.

    Examples::

        >>> def ref(x, p, noise_shape, rng):
        ...     keep = rng.random(noise_shape) >= p
        ...     return np.where(keep, x / (1 - p), 0.0) if p < 1 else np.zeros_like(x)
        >>> check_noise_shape_dropout(ref)
        Correct: one coin per entry of the noise shape, broadcast, and kept units scaled by 1/(1-p).
    """
    what = "your noise-shaped dropout"
    rng = np.random.default_rng(7)
    shape = (16, 12, 5, 5)
    x = np.ones(shape)
    p = 0.4
    for ns, label in (((16, 12, 1, 1), "SpatialDropout2D's noise shape"), ((16, 1, 5, 5), "noise shape (N, 1, H, W)")):
        outputs = [as_array(run_student_code(student_fn, x.copy(), p, ns, rng, what=what), what) for _ in range(20)]
        flips = math.prod(ns) * len(outputs)
        stacked = np.stack(outputs) if all(o.shape == shape for o in outputs) else None
        if stacked is None:
            fail(f"{what} returned shape {outputs[0].shape}, expected the input's shape {shape}.")
        for axis, size in enumerate(ns):
            if size == 1:
                first = np.take(stacked, [0], axis=axis + 1)
                if not np.all(stacked == first):
                    fail(
                        f"with {label} {ns}, the output varies along axis {axis}, where the noise shape is 1: "
                        f"sample the mask with the noise shape and let broadcasting copy it along that axis."
                    )
        check_inverted_output(stacked, stacked.shape, p, flips, what)
    full = as_array(run_student_code(student_fn, x.copy(), p, shape, rng, what=what), what)
    if full.shape == shape and np.all(full == full[:, :, :1, :1]):
        fail("with the full noise shape (one coin per unit), the output is still constant over each feature map: "
              "use the noise_shape argument instead of a fixed shape.")
    y0 = as_array(run_student_code(student_fn, x.copy(), 0.0, (16, 12, 1, 1), rng, what=what), what)
    if y0.shape != shape or not np.allclose(y0, 1.0):
        fail("with p = 0 the output must equal the input.")
    y1 = as_array(run_student_code(student_fn, x.copy(), 1.0, (16, 12, 1, 1), rng, what=what), what)
    if y1.shape != shape or not np.isfinite(y1).all() or np.any(y1 != 0):
        fail("with p = 1 the output must be all zeros, without NaN from dividing by 1 - p = 0.")
    print("Correct: one coin per entry of the noise shape, broadcast, and kept units scaled by 1/(1-p).")


def check_word_dropout(student_fn) -> None:
    """Exercise 2.3: ``student_fn(x, p, rng)`` must drop whole words (tokens) of ``x`` of shape ``(N, T, E)``.

    That is noise shape ``(N, T, 1)``: each token's embedding is zeroed entirely or kept and
    scaled by ``1/(1-p)``. Checks on ones of shape ``(32, 20, 8)`` pooled over 10 calls: constant
    along E, varying along T, the fraction of dropped tokens is ``p`` within ``SIGMAS``
    standard deviations; recognises SpatialDropout1D's noise shape ``(N, 1, E)`` and says so.

    Args:
        student_fn: the learner's function ``(x, p, rng) -> array``.

    Examples::

        >>> def ref(x, p, rng):
        ...     keep = rng.random((x.shape[0], x.shape[1], 1)) >= p
        ...     return np.where(keep, x / max(1 - p, 1e-300), 0.0)
        >>> check_word_dropout(ref)
        Correct: whole tokens are dropped (noise shape (N, T, 1)), and kept ones are scaled by 1/(1-p).
    """
    what = "your word dropout"
    rng = np.random.default_rng(11)
    shape = (32, 20, 8)
    x = np.ones(shape)
    p = 0.25
    outputs = [as_array(run_student_code(student_fn, x.copy(), p, rng, what=what), what) for _ in range(10)]
    if any(o.shape != shape for o in outputs):
        fail(f"{what} returned shape {outputs[0].shape}, expected the input's shape {shape}.")
    y = np.stack(outputs)
    constant_e = bool(np.all(y == y[..., :1]))
    constant_t = bool(np.all(y == y[:, :, :1, :]))
    if constant_t and not constant_e:
        fail("the output is the same at every timestep and varies across embedding features: that is "
              "SpatialDropout1D (noise shape (N, 1, E)), which drops feature channels, not words. "
              "To drop words, share the coin across E: noise shape (N, T, 1).")
    if not constant_e:
        fail("some tokens are only partly zeroed: a dropped word must lose its whole embedding, so use one coin "
              "per (sample, token), noise shape (N, T, 1), broadcast along E.")
    if constant_t:
        fail("the output does not vary between tokens: each token needs its own coin (noise shape (N, T, 1)).")
    check_inverted_output(y, y.shape, p, len(outputs) * shape[0] * shape[1], what)
    y1 = as_array(run_student_code(student_fn, x.copy(), 1.0, rng, what=what), what)
    if y1.shape != shape or not np.isfinite(y1).all() or np.any(y1 != 0):
        fail("with p = 1 every word is dropped: the output must be all zeros, without NaN from dividing by 1 - p = 0.")
    print("Correct: whole tokens are dropped (noise shape (N, T, 1)), and kept ones are scaled by 1/(1-p).")
