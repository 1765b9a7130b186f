"""Checkers of chapter 2, noise shapes (exercises 2.1-2.5)."""

from __future__ import annotations

import math

import numpy as np

from ..layers.noise_shapes import coin_flips, noise_shape
from ._harness import as_array, check_inverted_output, fail, passed, run_student_code

__all__ = [
    "COIN_FLIP_QUESTIONS",
    "check_coin_flips",
    "check_noise_shape_dropout",
    "check_word_dropout",
    "check_word_type_dropout",
]

#: The questions of exercise 2.1, each as (description, input shape, kind, data format).
COIN_FLIP_QUESTIONS = {
    "a": ("torch.nn.Dropout2d on a batch of shape (8, 16, 32, 32)", (8, 16, 32, 32), "spatial", "channels_first"),
    "b": (
        "keras.layers.SpatialDropout1D on embedded text of shape (4, 50, 300)",
        (4, 50, 300),
        "spatial",
        "channels_last",
    ),
    "c": (
        "keras.layers.SpatialDropout2D (channels last) on images of shape (2, 28, 28, 3)",
        (2, 28, 28, 3),
        "spatial",
        "channels_last",
    ),
    "d": ("torch.nn.Dropout on a tensor of shape (2, 3, 4, 4)", (2, 3, 4, 4), "element", "channels_first"),
}


def check_coin_flips(answers) -> None:
    """Exercise 2.1: the number of independent coin flips of each layer in ``COIN_FLIP_QUESTIONS``.

    ``answers`` must be a dict with the four keys, each an ``int`` equal to the number of coins
    the layer flips for its input shape. The first wrong count is reported, with the typical
    miscount it matches where it matches one.

    Args:
        answers: a dict ``{"a": int, "b": int, "c": int, "d": int}``.

    Raises:
        ExerciseFailure: with feedback naming the first wrong answer and the likely miscount.

    Examples::

        >>> check_coin_flips({"a": 0, "b": 0, "c": 0, "d": 0})
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: (a) torch.nn.Dropout2d on a
        batch of shape (8, 16, 32, 32): you answered 0, ...
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
            hint = (
                "that is one coin per sample and position (whole timesteps or pixels): spatial dropout flips one "
                "per sample and channel."
            )
        elif kind == "spatial" and got == n * (shape[1] if fmt == "channels_last" else shape[-1]):
            hint = f"the channel axis of {fmt} input is {'the last' if fmt == 'channels_last' else 'axis 1'}."
        elif kind == "element" and got != units:
            hint = "plain Dropout flips one coin per unit: the product of all the sizes."
        else:
            hint = "the noise shape has the batch and channel sizes and 1 for every spatial axis."
        fail(f"({key}) {text}: you answered {got}, expected {want}: {hint}")
    passed("Correct: one coin per (sample, channel) for spatial dropout, one per unit for Dropout.")


def check_noise_shape_dropout(student_fn) -> None:
    """Exercise 2.2: ``student_fn(x, p, noise_shape, rng)``: inverted dropout with a noise shape, in NumPy.

    The answer is called on ones of shape ``(16, 12, 5, 5)`` with ``p = 0.4`` and the checker's
    seeded ``rng``, 20 times for each of the noise shapes ``(16, 12, 1, 1)`` and ``(16, 1, 5, 5)``:
    the output has the input's shape and does not vary along any axis where the noise shape is
    1; every value is 0 or the kept-unit scale the exercise asks for; the fraction of zeros is
    within ``SIGMAS`` standard deviations of ``p`` (a binomial over the coins of the 20 calls).
    With the full shape as noise shape the output must not be constant over each feature map;
    with ``p = 0`` it must equal the input, and with ``p = 1`` be all zeros, without NaN.

    Args:
        student_fn: the learner's function ``(x, p, noise_shape, rng) -> array``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and the likely mistake.

    Examples::

        >>> check_noise_shape_dropout(lambda x, p, noise_shape, rng: x)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: on an input of ones with
        p = 0.4, every output must be 0 (dropped) or ...
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
        fail(
            "with the full noise shape (one coin per unit), the output is still constant over each feature map: "
            "use the noise_shape argument instead of a fixed shape."
        )
    y0 = as_array(run_student_code(student_fn, x.copy(), 0.0, (16, 12, 1, 1), rng, what=what), what)
    if y0.shape != shape or not np.allclose(y0, 1.0):
        fail("with p = 0 the output must equal the input.")
    y1 = as_array(run_student_code(student_fn, x.copy(), 1.0, (16, 12, 1, 1), rng, what=what), what)
    if y1.shape != shape or not np.isfinite(y1).all() or np.any(y1 != 0):
        fail("with p = 1 the output must be all zeros, without NaN from dividing by 1 - p = 0.")
    passed("Correct: one coin per entry of the noise shape, broadcast, and kept units scaled by 1/(1-p).")


def check_word_dropout(student_fn) -> None:
    """Exercise 2.4: ``student_fn(x, p, rng)`` must drop whole tokens of ``x`` of shape ``(N, T, E)``.

    The exercise asks for *token* dropout (word-type dropout is exercise 2.5); the name
    ``check_word_dropout`` is kept for compatibility. The answer is called 10 times on ones of
    shape ``(32, 20, 8)`` with ``p = 0.25`` and the checker's seeded ``rng``: the output has the
    input's shape; each token's embedding is zeroed or kept as a whole (the output is constant
    along E); the output varies between the tokens of a sentence (along T); every value is 0 or
    the kept-unit scale the exercise asks for, and the fraction of dropped tokens is within
    ``SIGMAS`` standard deviations of ``p``. With ``p = 1`` the output must be all zeros, without
    NaN. A mask that is constant along T and varies along E (``SpatialDropout1D``'s) is
    recognised and named.

    Args:
        student_fn: the learner's function ``(x, p, rng) -> array``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and the likely mistake.

    Examples::

        >>> check_word_dropout(lambda x, p, rng: x)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: the output does not vary
        between tokens: ...
    """
    what = "your token dropout"
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
        fail(
            "the output is the same at every timestep and varies across embedding features: that is "
            "SpatialDropout1D (noise shape (N, 1, E)), which drops feature channels, not tokens. "
            "To drop tokens, share the coin across E: noise shape (N, T, 1)."
        )
    if not constant_e:
        fail(
            "some tokens are only partly zeroed: a dropped token must lose its whole embedding, so use one coin "
            "per (sample, token), noise shape (N, T, 1), broadcast along E."
        )
    if constant_t:
        fail("the output does not vary between tokens: each token needs its own coin (noise shape (N, T, 1)).")
    check_inverted_output(y, y.shape, p, len(outputs) * shape[0] * shape[1], what)
    y1 = as_array(run_student_code(student_fn, x.copy(), 1.0, rng, what=what), what)
    if y1.shape != shape or not np.isfinite(y1).all() or np.any(y1 != 0):
        fail("with p = 1 every token is dropped: the output must be all zeros, without NaN from dividing by 1 - p = 0.")
    passed(
        "Correct: whole tokens are dropped (token dropout, noise shape (N, T, 1)), and kept ones are scaled by 1/(1-p)."
    )


def check_word_type_dropout(student_fn) -> None:
    """Exercise 2.5: ``student_fn(ids, table, p, rng)``: word-type dropout, one coin per sentence and vocabulary row.

    ``ids`` is an int array ``(N, T)`` of token ids and ``table`` the embedding matrix ``(V, E)``.
    The answer is called 10 times on 64 sentences of 30 tokens from a vocabulary of 12 words
    (embedding rows of constant, distinct values) with ``p = 0.25`` and the checker's seeded
    ``rng``: the output has shape ``(N, T, E)``; tokens are zeroed or kept as a whole; within a
    sentence, the occurrences of one word are all dropped or all kept; a word is not dropped (or
    kept) in every sentence that contains it, in any call; every kept token is its embedding row
    times the kept-unit scale the exercise asks for; the fraction of dropped (sentence, word
    type) pairs is within ``SIGMAS`` standard deviations of ``p``. With ``p = 0`` the output must
    equal the embedding lookup, and with ``p = 1`` be all zeros, without NaN.

    Args:
        student_fn: the learner's function ``(ids, table, p, rng) -> array``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and the likely mistake.

    Examples::

        >>> check_word_type_dropout(lambda ids, table, p, rng: np.zeros(ids.shape))
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: your word-type dropout
        returned shape (64, 30), expected (N, T, E) = (64, 30, 4): ...
    """
    what = "your word-type dropout"
    data = np.random.default_rng(13)
    n, t, v, e = 64, 30, 12, 4
    ids = data.integers(0, v, size=(n, t))
    table = np.arange(1.0, v + 1.0)[:, None] * np.ones((1, e))  # row i holds the value i + 1
    lookup = table[ids]
    rng = np.random.default_rng(17)
    p = 0.25
    outputs = [
        as_array(run_student_code(student_fn, ids.copy(), table.copy(), p, rng, what=what), what) for _ in range(10)
    ]
    if any(o.shape != lookup.shape for o in outputs):
        fail(
            f"{what} returned shape {outputs[0].shape}, expected (N, T, E) = {lookup.shape}: look the ids up in the "
            f"table (table[ids])."
        )
    y = np.stack(outputs)  # (calls, N, T, E)
    if not np.all(y == y[..., :1]):
        fail("some tokens are only partly zeroed: a dropped word must lose its whole embedding row.")
    zero = y[..., 0] == 0  # (calls, N, T): token dropped
    states = np.zeros((len(outputs), n, v), dtype=int)  # per sentence and word: 0 absent, 1 kept, 2 dropped
    for c in range(len(outputs)):
        for s_ in range(n):
            for word in np.unique(ids[s_]):
                dropped = zero[c, s_][ids[s_] == word]
                if dropped.any() and not dropped.all():
                    fail(
                        f"in sentence {s_}, the word with id {word} occurs {dropped.size} times but only "
                        f"{int(dropped.sum())} of its occurrences were dropped: that is token dropout, one coin per "
                        f"occurrence. Word-type dropout draws one coin per vocabulary row (per sentence) and uses it "
                        f"at every position that holds that word."
                    )
                states[c, s_, word] = 2 if dropped.all() else 1
    for c in range(len(outputs)):
        for word in range(v):
            present = states[c, :, word][states[c, :, word] > 0]
            if present.size > 20 and np.all(present == present[0]):
                fail(
                    f"in one call, word {word} is {'dropped' if present[0] == 2 else 'kept'} in all {present.size} "
                    f"sentences that contain it: you drew one coin per word for the whole batch. Each sentence "
                    f"needs its own coins: shape (N, V)."
                )
    normalized = np.where(zero[..., None], 0.0, y / lookup)[..., 0]  # 0 or the scale 1/(1-p)
    coins = np.where(states == 2, 0.0, 1.0 / (1.0 - p))[states > 0]
    scale = 1.0 / (1.0 - p)
    if not np.allclose(normalized[~zero], scale):
        got = np.unique(np.round(normalized[~zero], 4))[:3].tolist()
        hint = " Did you forget to scale kept tokens by 1/(1-p)?" if np.isclose(got[0], 1.0) else ""
        fail(
            f"kept tokens must be their embedding times 1/(1-p) = {scale:.2f}, but {what} returned that times "
            f"{got}.{hint}"
        )
    check_inverted_output(coins, coins.shape, p, coins.size, what + " (counted per sentence and word type)")
    y0 = as_array(run_student_code(student_fn, ids.copy(), table.copy(), 0.0, rng, what=what), what)
    if y0.shape != lookup.shape or not np.allclose(y0, lookup):
        fail("with p = 0 nothing is dropped: the output must be the plain lookup table[ids].")
    y1 = as_array(run_student_code(student_fn, ids.copy(), table.copy(), 1.0, rng, what=what), what)
    if y1.shape != lookup.shape or not np.isfinite(y1).all() or np.any(y1 != 0):
        fail("with p = 1 every word is dropped: the output must be all zeros, without NaN from dividing by 1 - p = 0.")
    passed("Correct: one coin per sentence and word type: every occurrence of a dropped word vanishes together.")
