"""Checkers of chapter 9, a part-of-speech tagger with dropout on the embedded sentence (exercises 9.1-9.3).

The embedded batch is ``(N, T, C)``, channels last (Keras' layout). 9.1 reads which tokens share a coin from
the ids it gave the learner's word-type mask; 9.2 reads the mask of the learner's SpatialDropout1D as output
over input and sorts it by the axes along which it varies; 9.3 compares the learner's accuracy with its
definition on batches of many shapes and paddings. Rates are checked against ``SIGMAS``-wide bounds.
"""

from __future__ import annotations

import numpy as np
import torch

from ..layers.dropout import apply_noise, dropout, spatial_dropout
from ..tagging.corpus import IGNORE_INDEX
from ..tagging.masks import feature_mask, word_type_mask
from ._harness import SIGMAS, attempt, fail, failed, outcome, reference_answer, run_check
from ._measures import as_array, fraction_bound

__all__ = ["check_word_type_mask", "check_spatial_dropout_1d", "check_token_accuracy"]


def _output(value, what: str) -> dict:
    """What the learner's function returned, as data: the values (float), their dtype, and whether it is a tensor."""
    array, dtype = as_array(value, what), getattr(value, "dtype", "float64")  # a list: as read
    return {"array": array, "dtype": str(dtype).removeprefix("torch."), "tensor": isinstance(value, torch.Tensor)}


def _check_values(values: np.ndarray, p: float, what: str, of: str) -> None:
    """Feedback unless every value is 0 or ``1/(1-p)``; a kept value of 1 or ``1/p`` is traced to its cause."""
    scale = 1.0 / (1.0 - p)
    ok = (values == 0) | np.isclose(values, scale, rtol=1e-4)
    if not ok.all():
        bad = np.unique(np.round(values[~ok], 4))[:3].tolist()
        hint = " Did you forget to scale what is kept by 1/(1-p)?" if np.isclose(bad[0], 1.0) else ""
        hint = hint or (" Did you scale by 1/p instead of 1/(1-p)?" if p and np.isclose(bad[0], 1 / p) else "")
        fail(f"with p = {p} every {of} must be 0 or 1/(1-p) = {scale:.3f}, but {what} also gave {bad}.{hint}")


def _outcome(record: dict, hint: str):
    """:func:`outcome` of an attempt, with ``hint`` under an error of sizes that do not match (axes mixed up)."""
    if failed(record) and "must match the size" in str(record["failure"]):
        record = record | {"failure": f"{record['failure']}\nHint: {hint}"}
    return outcome(record)


def _check_fraction(measured: int, total: int, expected: float, what: str, hint: str = "", units: str = "") -> None:
    """Feedback unless ``measured / total`` is ``expected`` within ``SIGMAS`` standard deviations (a binomial)."""
    rate, bound = measured / total, fraction_bound(expected, total)
    if units and abs(rate - (1 - expected)) <= bound:
        hint = f" Is your mask keeping {units} with probability p instead of 1-p?"
    if abs(rate - expected) > bound:
        fail(
            f"{rate:.3f} of the {what}, expected {expected:.3f} ± {bound:.3f} ({SIGMAS:g} standard deviations "
            f"over {total}).{hint}"
        )


# ----------------------------------------------------------------------------- 9.1

#: Sentences, tokens per sentence and vocabulary size (ids 1 to V - 1, no padding) of exercise 9.1; its calls.
_WT_SIZES, _WT_CALLS = (40, 24, 15), 12


def _word_type_inputs(seed: int | None) -> tuple[float, torch.Tensor, int]:
    """Exercise 9.1's drop rate, token ids and first coin seed: the checker's own, or drawn from the grader's seed."""
    n, t, v = _WT_SIZES
    if seed is None:
        p, data_seed, coins = 0.3, 91, 900
    else:
        rng = np.random.default_rng(seed)
        p = round(float(rng.uniform(0.2, 0.4)), 2)
        data_seed, coins = (int(s) for s in rng.integers(2**31, size=2))
    tokens = torch.randint(1, v, (n, t), generator=torch.Generator().manual_seed(data_seed))
    tokens[0, 0] = v - 1  # the highest id occurs
    return p, tokens, coins


def check_word_type_mask(word_type_mask) -> None:
    """Exercise 9.1: ``word_type_mask(tokens, vocab_size, p, generator=None)``: one coin per sentence and word type.

    The answer is called 12 times on token ids ``(40, 24)`` from a vocabulary of 15 with
    ``p = 0.3``, each time with a ``torch.Generator`` seeded differently. The mask must have shape
    ``(N, T, 1)``, a floating-point dtype and only the values 0 and ``1/(1-p)``; the occurrences
    of a word in a sentence share their value; two sentences that hold a word, and two words of
    a sentence, disagree on their fate as often as independent coins do (``2p(1-p)``); the
    fraction of dropped (sentence, word type) pairs is ``p``; all within ``SIGMAS`` standard
    deviations. A generator seeded as an earlier one must give that call's mask again; with no
    generator the mask must be as valid; with ``p = 0`` all ones. The package's
    ``word_type_mask`` is not an answer.

    Args:
        word_type_mask: the learner's function ``(tokens, vocab_size, p, generator=None) -> mask``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and the likely mistake.

    Examples::

        >>> def no_feature_axis(tokens, vocab_size, p, generator=None):
        ...     return torch.ones(tokens.shape)
        >>> check_word_type_mask(no_feature_axis)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: your word_type_mask returned
        shape (40, 24), expected (N, T, 1) = (40, 24, 1): ...
    """
    run_check(probe_word_type_mask, judge_word_type_mask, word_type_mask)


def probe_word_type_mask(fn, *, seed=None) -> dict:
    """Exercise 9.1's probe: the masks of 12 seeded generators, of the first seed again, of none, and at ``p = 0``."""
    p, tokens, coins = _word_type_inputs(seed)
    runs = [(p, coins + k, coins + 1000 + k) for k in range(_WT_CALLS)]
    runs += [(p, coins, coins + 999), (p, None, coins + 2000), (0.0, coins + 3000, coins + 3000)]
    calls, what = [], "your word_type_mask"
    with torch.random.fork_rng(devices=[]):
        for rate, generator_seed, global_seed in runs:
            torch.manual_seed(global_seed)  # an answer that ignores its generator draws from here
            generator = () if generator_seed is None else (torch.Generator().manual_seed(generator_seed),)
            args = (tokens.clone(), _WT_SIZES[2], rate, *generator)
            calls.append(attempt(fn, *args, what=what, forbid=(word_type_mask,), convert=_output))
            if failed(calls[-1]):
                break
    return {"calls": calls}


def _word_type_values(out: dict, p: float) -> np.ndarray:
    """One mask's shape, dtype and values checked; the mask as ``(N, T)``."""
    (n, t, v), what = _WT_SIZES, "your word_type_mask"
    got = tuple(out["array"].shape)
    if got != (n, t, 1):
        coins = " those are the coins, one per (sentence, word type): gather them by the token ids."
        hint = {(n, v): coins, (n, v, 1): coins, (v,): " one coin per word for the whole batch, and no gather."}
        hint[(n, t)] = " add the feature axis, mask.unsqueeze(-1), so that it broadcasts over the C features."
        fail(f"{what} returned shape {got}, expected (N, T, 1) = {(n, t, 1)}:{hint.get(got, ' one value per token.')}")
    if "float" not in out["dtype"]:
        fail(
            f"{what} returned a mask of dtype {out['dtype']}, expected floating point: 0 for a dropped word and "
            "1/(1-p) for a kept one, so that embedded * mask drops and rescales at once (.float() / (1 - p))."
        )
    _check_values(out["array"], p, what, "value of the mask")
    return out["array"][..., 0]


def _fates(masks: np.ndarray, tokens: np.ndarray, v: int) -> tuple[np.ndarray, np.ndarray]:
    """Which words each sentence holds ``(N, V)`` and which were dropped ``(calls, N, V)``: all occurrences or none."""
    onehot = tokens[..., None] == np.arange(v)  # (N, T, V)
    count = onehot.sum(1)
    dropped = np.einsum("cnt,ntv->cnv", (masks == 0).astype(int), onehot.astype(int))
    split = (dropped > 0) & (dropped < count)
    if split.any():
        c, s, w = (int(i[0]) for i in np.nonzero(split))
        fail(
            f"in sentence {s} the word with id {w} occurs {count[s, w]} times and {dropped[c, s, w]} of its "
            "occurrences were dropped, expected all or none: each occurrence of a word was drawn on its own (token "
            "dropout). Draw one coin per (sentence, vocabulary entry), shape (N, V), and gather it by the token ids."
        )
    return count > 0, dropped > 0


def _check_independent(fate: np.ndarray, present: np.ndarray, axis: int, q: float, what: str) -> None:
    """Feedback unless fates ``(calls, N, V)`` in disjoint pairs along ``axis`` differ as often as coins do, ``q``."""
    pairs = fate.shape[axis] // 2 * 2
    first, second = (fate.take(range(k, pairs, 2), axis) for k in (0, 1))
    both = present.take(range(0, pairs, 2), axis - 1) & present.take(range(1, pairs, 2), axis - 1)
    hint = " Their coins are not independent: one coin per (sentence, word type)."
    _check_fraction(int(((first != second) & both).sum()), int(both.sum()) * len(fate), q, what, hint)


def judge_word_type_mask(data: dict, seed: int | None) -> str:
    """Exercise 9.1's judge: the masks' values, which tokens share coins, the rate, the generator's use, p = 0."""
    p, tokens, _ = _word_type_inputs(seed)
    records = iter(data["calls"])
    masks = np.stack([_word_type_values(outcome(next(records)), p) for _ in range(_WT_CALLS)])
    again, unseeded, zero_rate = (outcome(next(records)) for _ in range(3))
    if all(np.array_equal(m, masks[0]) for m in masks):
        fail(
            f"all {_WT_CALLS} calls gave the same mask, expected different ones: each got a generator seeded "
            "differently. Draw the coins from the generator you are given (do not seed inside the function)."
        )
    present, fate = _fates(masks, tokens.numpy(), _WT_SIZES[2])
    for axis, together in [
        (2, "the words of each sentence were all dropped or all kept, expected a coin per word: whole sentences "
         "were dropped. Each vocabulary entry needs its own coin in each sentence, shape (N, V)."),
        (1, "each word was dropped in every sentence that holds it or in none, expected a coin per sentence: the "
         "same word vanished in every sentence (one coin per word for the whole batch, shape (V,)). Each sentence "
         "draws its own coins, shape (N, V)."),
    ]:  # fmt: skip
        if not ((fate & present).any(axis) & (~fate & present).any(axis)).any():
            fail(f"in all {len(fate)} calls {together}")
    q, within, across = 2 * p * (1 - p), "words of one sentence", "sentences that hold the same word"
    _check_independent(fate, present, 2, q, f"pairs of {within} had one dropped and the other kept")
    _check_independent(fate, present, 1, q, f"pairs of {across} had it dropped in one and kept in the other")
    dropped, pairs = int(fate[:, present].sum()), int(present.sum()) * len(masks)
    _check_fraction(dropped, pairs, p, f"(sentence, word type) pairs were dropped with p = {p}", units="words")
    if not np.array_equal(_word_type_values(again, p), masks[0]):
        fail(
            "a generator seeded as the first call's gave another mask, expected the same one: your word_type_mask "
            "does not draw its coins from the generator it is given. Pass it on: torch.rand(..., generator=generator)."
        )
    _word_type_values(unseeded, p)
    kept = _word_type_values(zero_rate, 0.0)
    if not np.array_equal(kept, np.ones(tokens.shape)):
        fail(f"with p = 0 your mask dropped {int((kept == 0).sum())} tokens, expected none: it must be all ones.")
    return "Correct: one coin per sentence and word type, gathered by the token ids: a dropped word vanishes whole."


# ----------------------------------------------------------------------------- 9.2

#: Sentences, tokens and embedding features of exercise 9.2's batch, and its training calls.
_SD_SHAPE, _SD_CALLS = (8, 13, 10), 30
#: The package's dropout, which exercise 9.2 asks the learner to write.
_PACKAGE_DROPOUT = (feature_mask, dropout, spatial_dropout, apply_noise)


def _spatial_inputs(seed: int | None) -> tuple[float, torch.Tensor, list[int]]:
    """Exercise 9.2's drop rate, batch (no value near 0) and global seed before each call: own, or the grader's."""
    if seed is None:
        p, data_seed, first = 0.3, 92, 920
    else:
        rng = np.random.default_rng(seed)
        p = round(float(rng.uniform(0.25, 0.45)), 2)
        data_seed, first = (int(s) for s in rng.integers(2**31, size=2))
    x = torch.randn(_SD_SHAPE, generator=torch.Generator().manual_seed(data_seed))
    return p, x + 0.1 * torch.sign(x), [first + k for k in range(_SD_CALLS + 1)]


def check_spatial_dropout_1d(spatial_dropout_1d) -> None:
    """Exercise 9.2: ``spatial_dropout_1d(x, p, training=True)``: SpatialDropout1D on an embedded batch ``(N, T, C)``.

    The answer is called 30 times in training on ``x`` of shape ``(8, 13, 10)`` (sentences,
    tokens, features; no value near zero) with ``p = 0.3``, PyTorch's global generator seeded
    before each call, then once with ``training=False``. It must return a tensor of ``x``'s
    shape and dtype and leave ``x`` as it was. The mask, output over input, must be constant
    along the tokens and differ between features and between sentences; every value is 0 or
    the input times ``1/(1-p)``; the fraction of dropped (sentence, feature) columns is ``p``
    within ``SIGMAS`` standard deviations. In evaluation the output must equal ``x``. The
    package's dropout is not an answer.

    Args:
        spatial_dropout_1d: the learner's function ``(x, p, training=True) -> tensor``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and the likely mistake.

    Examples::

        >>> check_spatial_dropout_1d(lambda x, p, training=True: x)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: in training your
        spatial_dropout_1d dropped nothing in 30 calls ...
    """
    run_check(probe_spatial_dropout_1d, judge_spatial_dropout_1d, spatial_dropout_1d)


def probe_spatial_dropout_1d(fn, *, seed=None) -> dict:
    """Exercise 9.2's probe: the learner's output in each training call, then in evaluation; whether x changed."""
    p, x, call_seeds = _spatial_inputs(seed)
    calls = []
    with torch.random.fork_rng(devices=[]):
        for k, call_seed in enumerate(call_seeds):
            torch.manual_seed(call_seed)
            given, what = x.clone(), "your spatial_dropout_1d"
            calls.append(attempt(fn, given, p, k < _SD_CALLS, what=what, forbid=_PACKAGE_DROPOUT, convert=_output))
            if failed(calls[-1]) or calls[-1]["value"]["array"].shape != x.shape:
                break
            calls[-1]["value"]["changed_input"] = not torch.equal(given, x)
    return {"calls": calls}


def _spatial_output(record: dict, x: torch.Tensor, training: bool) -> np.ndarray:
    """One call's output, checked for shape, type, dtype, and for leaving the input as it was."""
    (n, t, c), what = x.shape, "your spatial_dropout_1d"
    hint = f"x is (N, T, C) = {(n, t, c)}, channels last: the mask is (N, 1, C) = {(n, 1, c)}, broadcast over T."
    out = _outcome(record, hint)
    got = tuple(out["array"].shape)
    if got != (n, t, c):
        hint = " That is channels first: move the features back to the last axis." if got == (n, c, t) else ""
        fail(f"{what} returned shape {got}, expected x's shape (N, T, C) = {(n, t, c)}.{hint}")
    if not out["tensor"] or out["dtype"] != "float32":
        kind, fix = ("a tensor", "make the mask in x's dtype, .to(x.dtype)") if out["tensor"] else ("an array", "")
        fail(
            f"{what} returned {kind} of dtype {out['dtype']}, expected a torch tensor of x's dtype float32, which the "
            f"next layer reads: {fix or 'multiply x by a tensor mask, torch.from_numpy(mask).to(x.dtype)'}."
        )
    if out["changed_input"]:
        fail(
            f"{what} changed its input x in place ({'training' if training else 'evaluation'}), expected x as it "
            "was: return a new tensor, x * mask, not x.mul_(mask) or x *= mask."
        )
    return out["array"]


def judge_spatial_dropout_1d(data: dict, seed: int | None) -> str:
    """Exercise 9.2's judge: shape, dtype, x untouched; the mask's structure, values and rate; eval's identity."""
    p, x, _ = _spatial_inputs(seed)
    records, what, scale = data["calls"], "your spatial_dropout_1d", 1.0 / (1.0 - p)
    ratio = np.stack([_spatial_output(r, x, True) for r in records[:_SD_CALLS]]) / x.double().numpy()
    evaluation = _spatial_output(records[_SD_CALLS], x, False)
    if not np.isfinite(ratio).all():
        fail(f"{what} returned NaN or infinite values with p = {p}, expected x times 0 or 1/(1-p) = {scale:.3f}.")
    zero = ratio == 0  # (calls, N, T, C)
    tokens, features, sentences = ((zero != zero.take([0], axis)).any() for axis in (2, 3, 1))
    one_coin = "one coin per (sentence, feature), shared by every token: a mask of shape (N, 1, C)."
    for wrong, found in [
        (not zero.any(), f"in training {what} dropped nothing in {_SD_CALLS} calls (no output was 0)"),
        (tokens and not features, "the mask varies between tokens and is constant along the features: you dropped "
         "whole tokens. In Keras' layout (N, T, C) the features are the last axis, so SpatialDropout1D's noise "
         "shape is (N, 1, C)"),
        (tokens, "the mask varies between the tokens of one feature: single values were dropped (element dropout)"),
        (not features, "the mask is the same for every feature of a sentence: whole sentences were dropped"),
        (not sentences, f"in each of {_SD_CALLS} calls every sentence got the same mask: one mask (1, 1, C) for the "
         "whole batch"),
    ]:  # fmt: skip
        if wrong:
            fail(f"{found}; expected {one_coin}")
    _check_values(ratio, p, what, "output over input")
    dropped, columns = int(zero[:, :, 0].sum()), zero[:, :, 0].size
    _check_fraction(dropped, columns, p, f"(sentence, feature) columns were dropped with p = {p}", units="features")
    if not np.array_equal(evaluation, x.double().numpy()):
        fail("with training=False your spatial_dropout_1d changed x, expected x itself: no dropout in evaluation.")
    return "Correct: one coin per (sentence, feature), the same at every token, scaled by 1/(1-p); off in evaluation."


# ----------------------------------------------------------------------------- 9.3

#: How many batches exercise 9.3's check scores; the shapes (N, T, K) and lengths of the first (None: drawn).
_ACC_BATCHES = 36
_ACC_FIXED = [(5, 5, 5, None), (7, 7, 7, None), (6, 14, 9, [14, 1, 1, 2, 1, 1]), (5, 1, 4, None), (1, 9, 6, [9])]


def _accuracy_inputs(seed: int | None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Exercise 9.3's batches ``(logits, tags)``, padding tagged ``IGNORE_INDEX``: the checker's own, or drawn from
    the grader's seed (the first five shapes fixed: two square, then mostly padding, one-token, one sentence)."""
    rng, batches = np.random.default_rng(93 if seed is None else seed), []
    for k in range(_ACC_BATCHES):
        drawn = (*rng.integers([2, 2, 3], [9, 17, 13]).tolist(), None)  # N, T, K; lengths drawn below
        n, t, tags_count, lengths = _ACC_FIXED[k] if k < len(_ACC_FIXED) else drawn
        if lengths is None:
            lengths = rng.integers(1, 1 + (max(1, t // 3) if k % 3 == 0 else t), size=n)  # a third mostly padding
            lengths[rng.integers(n)] = t  # a batch is as long as its longest sentence
        real = np.arange(t) < np.asarray(lengths)[:, None]
        tags = np.where(real, rng.integers(0, tags_count, size=(n, t)), IGNORE_INDEX)
        logits = rng.standard_normal((n, t, tags_count))
        bonus = real & (rng.random((n, t)) < 0.6)  # most tokens tagged right
        logits += 3.0 * (bonus[..., None] & (np.arange(tags_count) == tags[..., None]))
        batches.append((torch.from_numpy(logits.astype(np.float32)), torch.from_numpy(tags.astype(np.int64))))
    return batches


@reference_answer
def _accuracy(logits: np.ndarray, tags: np.ndarray, predicted=None, real=None) -> float:
    """The share of real tokens (``real``: not padding) whose predicted tag (default: the argmax) is the tag."""
    predicted = logits.argmax(-1) if predicted is None else predicted
    real = tags != IGNORE_INDEX if real is None else real
    return float(((predicted == tags) & real).sum() / max(1, real.sum()))


def _accuracy_mistakes(value: float, logits: np.ndarray, tags: np.ndarray, expected: float) -> list[str]:
    """The typical mistakes a wrong accuracy matches (two can give the same value on one batch)."""
    real, right = tags != IGNORE_INDEX, logits.argmax(-1) == tags
    hits, pads, tag_zero = right[real].sum(), (~real).sum(), _accuracy(logits, tags, real=tags != 0)
    sentences = np.mean([right[s][real[s]].mean() for s in range(len(tags))])
    guesses = {
        "you counted the padding positions as wrong tokens: divide by the real tokens only": hits / tags.size,
        "you counted the padding positions as right: leave them out": (hits + pads) / tags.size,
        f"you took tag 0 for padding; padding is tagged IGNORE_INDEX = {IGNORE_INDEX}": tag_zero,
        "you averaged the sentences' accuracies; count every real token of the batch once": sentences,
        "you returned a percentage; return a share between 0 and 1": 100 * expected,
        "you returned the number of right tokens; divide it by the number of real tokens": hits,
        "you compared the scores with the tags; compare their argmax": _accuracy(logits, tags, logits.max(-1)),
    }
    for axis in (0, 1):
        if logits.argmax(axis).shape == tags.shape:
            guesses.setdefault(
                f"you took the argmax over axis {axis}; the tag scores are the last axis: logits.argmax(-1)",
                _accuracy(logits, tags, logits.argmax(axis)),
            )
    return [g for g, v in guesses.items() if abs(value - v) <= 1e-6]


def check_token_accuracy(token_accuracy) -> None:
    """Exercise 9.3: ``token_accuracy(logits, tags)``: the share of real tokens whose argmax tag is right.

    The answer is called on 36 batches, ``logits`` ``(N, T, K)`` (float32) and ``tags`` ``(N, T)``
    (int64, padding tagged ``IGNORE_INDEX``) of 1 to 8 sentences of 1 to 16 tokens and 3 to 12
    tags, some mostly padding. Each answer must be one number, within 1e-6 of the share of real
    (non-padding) tokens whose highest-scoring tag is their tag, every real token of the batch
    counted once. A wrong value is compared with typical mistakes, and the one it matches is named.

    Args:
        token_accuracy: the learner's function ``(logits, tags) -> float``.

    Raises:
        ExerciseFailure: with feedback naming the first batch answered wrongly and, where it
            recognises it, the mistake.

    Examples::

        >>> check_token_accuracy(lambda logits, tags: 0.5)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: on a batch of 5 sentences
        of 5 tokens ...
    """
    run_check(probe_token_accuracy, judge_token_accuracy, token_accuracy)


def probe_token_accuracy(fn, *, seed=None) -> dict:
    """Exercise 9.3's probe: the learner's accuracy of each batch."""
    calls = []
    for logits, tags in _accuracy_inputs(seed):
        calls.append(attempt(fn, logits.clone(), tags.clone(), what="your token_accuracy", convert=as_array))
        if failed(calls[-1]):
            break
    return {"calls": calls}


def judge_token_accuracy(data: dict, seed: int | None) -> str:
    """Exercise 9.3's judge: one number per batch, equal to the share of real tokens tagged right."""
    batches, first, hints = _accuracy_inputs(seed), "", []
    for (logits, tags), record in zip(batches, data["calls"]):
        if first and (failed(record) or len(hints) == 1):
            break  # the first wrong batch is named; later ones can tell apart two mistakes it matches
        hint = "logits is (N, T, K) and tags (N, T): the predicted tags are logits.argmax(-1), one per token."
        value, logits, tags = np.asarray(_outcome(record, hint), dtype=float), logits.numpy(), tags.numpy()
        if value.size != 1:
            fail(
                f"token_accuracy returned an array of shape {value.shape}, expected one number for the whole batch: "
                "count the right tokens over every real token of the batch, then divide."
            )
        value, expected, real = float(value.ravel()[0]), _accuracy(logits, tags), tags != IGNORE_INDEX
        if abs(value - expected) <= 1e-6:
            continue
        found = _accuracy_mistakes(value, logits, tags, expected)
        hints = found if not first or len(found) == 1 else hints
        first = first or (
            f"on a batch of {len(tags)} sentences of {tags.shape[1]} tokens (real lengths {real.sum(1).tolist()}) "
            f"with {logits.shape[-1]} tags, your token_accuracy returned {value:.6g}, expected "
            f"{int((logits.argmax(-1) == tags)[real].sum())} right of {int(real.sum())} real tokens = {expected:.6g}."
        )
    if first:
        fail(first + (f" It looks like {hints[0]}." if hints else ""))
    if len(data["calls"]) != len(batches):
        raise ValueError("the report has the wrong number of answers")
    return "Correct: the share of real tokens tagged right, padding left out, every token counted once."
