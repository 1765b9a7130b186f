"""Checkers of chapter 2, noise shapes (exercises 2.1-2.5)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..layers.noise_shapes import coin_flips, noise_shape
from ._harness import attempt, fail, failed, outcome, run_check
from ._measures import as_array, check_inverted_output

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
    run_check(probe_coin_flips, judge_coin_flips, answers)


def _count(value) -> int | dict:
    """One answer of exercise 2.1 as plain data: the int itself, or how anything else reads (``repr``)."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        return {"not_int": repr(value)}
    return int(value)


def probe_coin_flips(answers, *, seed=None) -> dict:
    """Exercise 2.1's probe: the learner's count for each question, or what they gave instead of a dict of ints.

    The four layers and shapes are the questions the chapter asks, so they do not vary with ``seed``.
    """
    if not isinstance(answers, dict):
        return {"type": type(answers).__name__}
    return {"answers": {key: _count(answers[key]) for key in COIN_FLIP_QUESTIONS if key in answers}}


def _miscount_hint(got: int, shape: tuple, kind: str, fmt: str) -> str:
    """The typical miscount that a wrong count of exercise 2.1 matches, as feedback."""
    units = math.prod(shape)
    n = shape[0]
    channels = shape[1] if fmt == "channels_first" else shape[-1]
    positions = units // (n * channels)
    if kind == "spatial" and got == units:
        return "that counts one coin per unit, as plain Dropout; spatial dropout shares one coin per feature map."
    if kind == "spatial" and got == channels:
        return "every sample of the batch gets its own coins: multiply by the batch size N."
    if kind == "spatial" and got == n * positions:
        return (
            "that is one coin per sample and position (whole timesteps or pixels): spatial dropout flips one "
            "per sample and channel."
        )
    if kind == "spatial" and got == n * (shape[1] if fmt == "channels_last" else shape[-1]):
        return f"the channel axis of {fmt} input is {'the last' if fmt == 'channels_last' else 'axis 1'}."
    if kind == "element" and got != units:
        return "plain Dropout flips one coin per unit: the product of all the sizes."
    return "the noise shape has the batch and channel sizes and 1 for every spatial axis."


def judge_coin_flips(data: dict, seed: int | None) -> str:
    """Exercise 2.1's judge: a dict with the four keys, each count right; the first wrong one and its miscount named."""
    if "type" in data:
        fail(f"answers must be a dict like {{'a': 0, 'b': 0, 'c': 0, 'd': 0}}, got {data['type']}.")
    answers = data["answers"]
    missing = sorted(set(COIN_FLIP_QUESTIONS) - set(answers))
    if missing:
        fail(f"answers is missing the key(s) {missing}: give one number for each of {sorted(COIN_FLIP_QUESTIONS)}.")
    for key, (text, shape, kind, fmt) in COIN_FLIP_QUESTIONS.items():
        got = answers[key]
        if isinstance(got, dict):
            fail(f"({key}) must be an int, got {got['not_int']}.")
        if type(got) is not int:
            raise TypeError("a count the probe does not write")
        want = coin_flips(shape, noise_shape(shape, kind, fmt))
        if got != want:
            fail(f"({key}) {text}: you answered {got}, expected {want}: {_miscount_hint(got, shape, kind, fmt)}")
    return "Correct: one coin per (sample, channel) for spatial dropout, one per unit for Dropout."


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
    run_check(probe_noise_shape_dropout, judge_noise_shape_dropout, student_fn)


def _dropout_output(value, what: str):
    """A dropout output as compact plain data: its distinct values and one ``uint8`` code per entry, losslessly.

    An output with more than 256 distinct values (no right answer has them) stays a float array.
    """
    y = as_array(value, what)
    values, codes = np.unique(y, return_inverse=True)
    if values.size > 256:
        return y
    return {"values": values, "codes": codes.reshape(y.shape).astype(np.uint8)}


def _expanded(output) -> np.ndarray:
    """The array that :func:`_dropout_output` recorded."""
    if isinstance(output, dict):
        return np.asarray(output["values"], dtype=float)[np.asarray(output["codes"], dtype=np.intp)]
    return np.asarray(output, dtype=float)


class _DropoutInputs(NamedTuple):
    """What exercises 2.2 and 2.4 hand the learner's function: ones of ``shape``, the rate ``p``, a seeded generator."""

    coins: int  # the seed of the generator
    shape: tuple[int, ...]
    p: float


#: Calls of the learner's function for each noise shape in exercise 2.2, and at the drop rate in exercise 2.4.
NOISE_SHAPE_CALLS, TOKEN_CALLS = 20, 10


def _noise_shape_inputs(seed: int | None) -> _DropoutInputs:
    """Exercise 2.2's input: the learner's own (``(16, 12, 5, 5)``, ``p = 0.4``), or drawn from the grader's seed."""
    if seed is None:
        return _DropoutInputs(7, (16, 12, 5, 5), 0.4)
    rng = np.random.default_rng(seed)
    side = int(rng.integers(4, 6))  # no larger than the learner's own input, nor its report
    shape = (int(rng.integers(12, 17)), int(rng.integers(8, 13)), side, side)
    return _DropoutInputs(int(rng.integers(2**31)), shape, round(float(rng.uniform(0.2, 0.4)), 2))


def _noise_shapes(shape: tuple[int, ...]) -> tuple:
    """The two noise shapes exercise 2.2 tries on an input of ``shape``, each with its name in the feedback."""
    n, c, h, w = shape
    return ((n, c, 1, 1), "SpatialDropout2D's noise shape"), ((n, 1, h, w), "noise shape (N, 1, H, W)")


def probe_noise_shape_dropout(student_fn, *, seed=None) -> dict:
    """Exercise 2.2's probe: the learner's outputs on ones with each noise shape, with the full shape, at 0 and 1."""
    coins, shape, p = _noise_shape_inputs(seed)
    rng = np.random.default_rng(coins)
    (spatial, _), (positions, _) = _noise_shapes(shape)
    runs = [(p, spatial)] * NOISE_SHAPE_CALLS + [(p, positions)] * NOISE_SHAPE_CALLS
    what, calls = "your noise-shaped dropout", []
    for rate, ns in [*runs, (p, shape), (0.0, spatial), (1.0, spatial)]:
        calls.append(attempt(student_fn, np.ones(shape), rate, ns, rng, what=what, convert=_dropout_output))
        if failed(calls[-1]):
            break
    return {"calls": calls}


def judge_noise_shape_dropout(data: dict, seed: int | None) -> str:
    """Exercise 2.2's judge: shape, a mask shared where the noise shape is 1, values and drop rate for each noise
    shape; a mask that is not shared with the full shape; the input back at ``p = 0``, zeros at ``p = 1``."""
    what = "your noise-shaped dropout"
    _, shape, p = _noise_shape_inputs(seed)
    calls = iter(data["calls"])
    for ns, label in _noise_shapes(shape):
        outputs = [_expanded(outcome(next(calls))) for _ in range(NOISE_SHAPE_CALLS)]
        if any(o.shape != shape for o in outputs):
            fail(f"{what} returned shape {outputs[0].shape}, expected the input's shape {shape}.")
        stacked = np.stack(outputs)
        for axis, size in enumerate(ns):
            if size == 1 and not np.all(stacked == np.take(stacked, [0], axis=axis + 1)):
                fail(
                    f"with {label} {ns}, the output varies along axis {axis}, where the noise shape is 1: "
                    f"sample the mask with the noise shape and let broadcasting copy it along that axis."
                )
        check_inverted_output(stacked, stacked.shape, p, math.prod(ns) * len(outputs), what)
    full = _expanded(outcome(next(calls)))
    if full.shape == shape and np.all(full == full[:, :, :1, :1]):
        fail(
            "with the full noise shape (one coin per unit), the output is still constant over each feature map: "
            "use the noise_shape argument instead of a fixed shape."
        )
    y0 = _expanded(outcome(next(calls)))
    if y0.shape != shape or not np.allclose(y0, 1.0):
        fail("with p = 0 the output must equal the input.")
    y1 = _expanded(outcome(next(calls)))
    if y1.shape != shape or not np.isfinite(y1).all() or np.any(y1 != 0):
        fail("with p = 1 the output must be all zeros, without NaN from dividing by 1 - p = 0.")
    return "Correct: one coin per entry of the noise shape, broadcast, and kept units scaled by 1/(1-p)."


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
    run_check(probe_word_dropout, judge_word_dropout, student_fn)


def _token_inputs(seed: int | None) -> _DropoutInputs:
    """Exercise 2.4's input: the learner's own (``(32, 20, 8)``, ``p = 0.25``), or drawn from the grader's seed."""
    if seed is None:
        return _DropoutInputs(11, (32, 20, 8), 0.25)
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(24, 33)), int(rng.integers(16, 21)), int(rng.integers(6, 9)))  # at most the learner's
    return _DropoutInputs(int(rng.integers(2**31)), shape, round(float(rng.uniform(0.15, 0.4)), 2))


def probe_word_dropout(student_fn, *, seed=None) -> dict:
    """Exercise 2.4's probe: the learner's outputs on ones, ten at the drop rate, then one at ``p = 1``."""
    coins, shape, p = _token_inputs(seed)
    rng = np.random.default_rng(coins)
    calls = []
    for rate in [p] * TOKEN_CALLS + [1.0]:
        calls.append(attempt(student_fn, np.ones(shape), rate, rng, what="your token dropout", convert=_dropout_output))
        if failed(calls[-1]):
            break
    return {"calls": calls}


def judge_word_dropout(data: dict, seed: int | None) -> str:
    """Exercise 2.4's judge: shape, whole tokens zeroed or kept, tokens with coins of their own, values and drop
    rate; zeros at ``p = 1``. A mask of feature channels is named."""
    what = "your token dropout"
    _, shape, p = _token_inputs(seed)
    calls = iter(data["calls"])
    outputs = [_expanded(outcome(next(calls))) for _ in range(TOKEN_CALLS)]
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
    y1 = _expanded(outcome(next(calls)))
    if y1.shape != shape or not np.isfinite(y1).all() or np.any(y1 != 0):
        fail("with p = 1 every token is dropped: the output must be all zeros, without NaN from dividing by 1 - p = 0.")
    return (
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
    run_check(probe_word_type_dropout, judge_word_type_dropout, student_fn)


#: Sentences, tokens per sentence, vocabulary size and embedding width of exercise 2.5's input.
WORD_TYPE_SIZES = (64, 30, 12, 4)
#: Calls of the learner's function at the drop rate in exercise 2.5.
WORD_TYPE_CALLS = 10


class _WordTypeInputs(NamedTuple):
    """What exercise 2.5 hands the learner's function."""

    ids: np.ndarray  # (N, T) token ids
    table: np.ndarray  # (V, E): each row constant, the rows distinct
    coins: int  # the seed of the generator
    p: float


def _word_type_inputs(seed: int | None) -> _WordTypeInputs:
    """Exercise 2.5's input: the learner's own (row i of the table holds i + 1, ``p = 0.25``), or drawn from the
    grader's seed (other sentences and coins, the rows' values shuffled, another rate)."""
    n, t, v, e = WORD_TYPE_SIZES
    values = np.arange(1.0, v + 1.0)
    if seed is None:
        sentences, coins, p = 13, 17, 0.25
    else:
        rng = np.random.default_rng(seed)
        sentences, coins = int(rng.integers(2**31)), int(rng.integers(2**31))
        values, p = rng.permutation(values), round(float(rng.uniform(0.25, 0.4)), 2)
    ids = np.random.default_rng(sentences).integers(0, v, size=(n, t))
    return _WordTypeInputs(ids, values[:, None] * np.ones((1, e)), coins, p)


def probe_word_type_dropout(student_fn, *, seed=None) -> dict:
    """Exercise 2.5's probe: the learner's outputs, ten at the drop rate, then one at ``p = 0`` and one at 1."""
    ids, table, coins, p = _word_type_inputs(seed)
    rng = np.random.default_rng(coins)
    what, calls = "your word-type dropout", []
    for rate in [p] * WORD_TYPE_CALLS + [0.0, 1.0]:
        calls.append(attempt(student_fn, ids.copy(), table.copy(), rate, rng, what=what, convert=_dropout_output))
        if failed(calls[-1]):
            break
    return {"calls": calls}


def _word_states(zero: np.ndarray, ids: np.ndarray, v: int) -> np.ndarray:
    """Per call, sentence and word: 0 absent, 1 kept, 2 dropped; feedback if a word is dropped only in part."""
    calls, n = zero.shape[:2]
    states = np.zeros((calls, n, v), dtype=int)
    for c in range(calls):
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
    return states


def _check_coins_per_sentence(states: np.ndarray) -> None:
    """Feedback if, in one call, a word is dropped (or kept) in every one of the many sentences that hold it."""
    for c in range(states.shape[0]):
        for word in range(states.shape[2]):
            present = states[c, :, word][states[c, :, word] > 0]
            if present.size > 20 and np.all(present == present[0]):
                fail(
                    f"in one call, word {word} is {'dropped' if present[0] == 2 else 'kept'} in all {present.size} "
                    f"sentences that contain it: you drew one coin per word for the whole batch. Each sentence "
                    f"needs its own coins: shape (N, V)."
                )


def judge_word_type_dropout(data: dict, seed: int | None) -> str:
    """Exercise 2.5's judge: shape, whole tokens, one coin per sentence and word type, the kept rows' scale and the
    drop rate; the plain lookup at ``p = 0``, zeros at ``p = 1``."""
    what = "your word-type dropout"
    ids, table, _, p = _word_type_inputs(seed)
    lookup = table[ids]
    calls = iter(data["calls"])
    outputs = [_expanded(outcome(next(calls))) for _ in range(WORD_TYPE_CALLS)]
    if any(o.shape != lookup.shape for o in outputs):
        fail(
            f"{what} returned shape {outputs[0].shape}, expected (N, T, E) = {lookup.shape}: look the ids up in the "
            f"table (table[ids])."
        )
    y = np.stack(outputs)  # (calls, N, T, E)
    if not np.all(y == y[..., :1]):
        fail("some tokens are only partly zeroed: a dropped word must lose its whole embedding row.")
    zero = y[..., 0] == 0  # (calls, N, T): token dropped
    states = _word_states(zero, ids, table.shape[0])
    _check_coins_per_sentence(states)
    scale = 1.0 / (1.0 - p)
    normalized = np.where(zero[..., None], 0.0, y / lookup)[..., 0]  # 0 or the scale 1/(1-p)
    if not np.allclose(normalized[~zero], scale):
        got = np.unique(np.round(normalized[~zero], 4))[:3].tolist()
        hint = " Did you forget to scale kept tokens by 1/(1-p)?" if np.isclose(got[0], 1.0) else ""
        fail(
            f"kept tokens must be their embedding times 1/(1-p) = {scale:.2f}, but {what} returned that times "
            f"{got}.{hint}"
        )
    coins = np.where(states == 2, 0.0, scale)[states > 0]
    check_inverted_output(coins, coins.shape, p, coins.size, what + " (counted per sentence and word type)")
    y0 = _expanded(outcome(next(calls)))
    if y0.shape != lookup.shape or not np.allclose(y0, lookup):
        fail("with p = 0 nothing is dropped: the output must be the plain lookup table[ids].")
    y1 = _expanded(outcome(next(calls)))
    if y1.shape != lookup.shape or not np.isfinite(y1).all() or np.any(y1 != 0):
        fail("with p = 1 every word is dropped: the output must be all zeros, without NaN from dividing by 1 - p = 0.")
    return "Correct: one coin per sentence and word type: every occurrence of a dropped word vanishes together."
