"""Chapter 9's checkers: reference answers pass (also from other random streams), typical mistakes get their hint."""

import numpy as np
import pytest
import torch

import spatialdrop_edu as sde
from spatialdrop_edu import checks
from spatialdrop_edu.checks import ch09_sequence_tagging
from spatialdrop_edu.tagging import masks
from spatialdrop_edu.tagging.corpus import IGNORE_INDEX

from helpers import fails_with, passes

# -- 9.1 word-type mask -------------------------------------------------------------------------


def ref_word_type_mask(tokens, vocab_size, p, generator=None):
    keep = torch.rand(tokens.shape[0], vocab_size, generator=generator) >= p  # (N, V)
    coins = keep.float() / (1 - p)
    return coins.gather(1, tokens).unsqueeze(-1)


def bernoulli_word_type_mask(tokens, vocab_size, p, generator=None):
    coins = torch.bernoulli(torch.full((len(tokens), vocab_size), 1 - p), generator=generator) / (1 - p)
    return coins[torch.arange(len(tokens))[:, None], tokens][..., None]


def numpy_word_type_mask(tokens, vocab_size, p, generator=None):
    rng = np.random.default_rng(int(torch.randint(2**62, (), generator=generator)))
    keep = rng.random((tokens.shape[0], vocab_size)) >= p
    return np.take_along_axis(keep / (1 - p), tokens.numpy(), axis=1)[..., None]


def package_dropout_word_type_mask(tokens, vocab_size, p, generator=None):
    coins = sde.dropout(torch.ones(len(tokens), vocab_size), p, generator=generator)
    return coins.gather(1, tokens)[..., None]


def test_word_type_mask_references_pass(capsys):
    passes(
        checks.check_word_type_mask,
        ref_word_type_mask,
        bernoulli_word_type_mask,
        numpy_word_type_mask,
        package_dropout_word_type_mask,
        capsys=capsys,
    )


@pytest.mark.parametrize("stream", range(20))
def test_word_type_mask_with_other_random_streams_passes(stream, capsys):
    """Draws skipped from the generator put the coins on another stretch of its stream: the bounds hold there too."""

    def skipped(tokens, vocab_size, p, generator=None):
        torch.rand(37 * stream + 1, generator=generator)
        return ref_word_type_mask(tokens, vocab_size, p, generator)

    checks.check_word_type_mask(skipped)
    assert "Correct:" in capsys.readouterr().out


def wt_variant(coins_shape="nv", scale="1/(1-p)", keep="1-p", axis=True, dtype=torch.float64, source="generator"):
    """A word-type mask with one mistake: the coins' shape, the scale, what is kept, the axis, the dtype, the RNG."""

    def answer(tokens, vocab_size, p, generator=None):
        gen = {"generator": generator, "global": None, "fixed": torch.Generator().manual_seed(0)}[source]
        n, t = tokens.shape
        shape = {"nv": (n, vocab_size), "token": (n, t), "v": (vocab_size,), "sentence": (n, 1)}[coins_shape]
        u = torch.rand(shape, generator=gen)
        kept = (u >= p) if keep == "1-p" else (u < p)
        factor = {"1/(1-p)": 1 / (1 - p), "none": 1.0, "1/p": 1 / p if p else 1.0, "bool": None, "int": None}[scale]
        coins = kept.to(dtype) * factor if factor else kept.long() if scale == "int" else kept
        if coins_shape == "nv":
            mask = coins.gather(1, tokens)
        elif coins_shape == "v":
            mask = coins[tokens]
        else:
            mask = coins.expand(n, t)
        return mask.unsqueeze(-1) if axis else mask

    return answer


@pytest.mark.parametrize(
    "answer, fragments",
    [
        (wt_variant(coins_shape="token"), ["each occurrence of a word was drawn on its own", "expected all or none"]),
        (wt_variant(coins_shape="v"), ["same word vanished in every sentence", "shape (V,)"]),
        (wt_variant(coins_shape="sentence"), ["whole sentences were dropped"]),
        (wt_variant(scale="none"), ["forget to scale", "1/(1-p) = 1.429"]),
        (wt_variant(scale="1/p"), ["1/p instead of 1/(1-p)"]),
        (wt_variant(keep="p"), ["probability p instead of 1-p", "expected 0.300"]),
        (wt_variant(axis=False), ["returned shape (40, 24)", "unsqueeze(-1)"]),
        (wt_variant(scale="bool"), ["dtype bool", "expected floating point"]),
        (wt_variant(scale="int"), ["dtype int64"]),
        (wt_variant(source="global"), ["does not draw its coins from the generator it is given"]),
        (wt_variant(source="fixed"), ["all 12 calls gave the same mask"]),
        (lambda tokens, vocab_size, p, generator=None: torch.rand(len(tokens), vocab_size, 1), ["those are the coins"]),
        (lambda tokens, vocab_size, p, generator=None: None, ["returned None"]),
        (lambda tokens, vocab_size, p, generator=None: tokens[99], ["raised IndexError"]),
        (masks.word_type_mask, ["calls the package's word_type_mask"]),
        (lambda tokens, vocab_size, p, generator=None: masks.embedding_mask(
            "word_type", (*tokens.shape, 1), p, generator, tokens=tokens, vocab_size=vocab_size
        ), ["calls the package's word_type_mask"]),
    ],
)  # fmt: skip
def test_word_type_mask_mistakes_get_their_hint(answer, fragments):
    fails_with(checks.check_word_type_mask, answer, *fragments)


def test_word_type_mask_that_drops_at_p_zero_is_caught():
    def drops_at_zero(tokens, vocab_size, p, generator=None):
        mask = ref_word_type_mask(tokens, vocab_size, p, generator)
        return mask if p else mask * (tokens[..., None] != 3)

    fails_with(checks.check_word_type_mask, drops_at_zero, "with p = 0", "expected none")


def test_word_type_mask_that_fails_without_a_generator_is_caught():
    def needs_one(tokens, vocab_size, p, generator=None):
        return ref_word_type_mask(tokens, vocab_size, p, generator.manual_seed(generator.initial_seed()))

    fails_with(checks.check_word_type_mask, needs_one, "raised AttributeError")


def test_word_type_mask_checker_leaves_the_global_generator_as_it_was():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    checks.check_word_type_mask(ref_word_type_mask)
    assert torch.equal(torch.rand(3), expected)


# -- 9.2 SpatialDropout1D by hand ---------------------------------------------------------------


def ref_spatial_dropout_1d(x, p, training=True):
    if not training:
        return x
    keep = torch.rand(x.shape[0], 1, x.shape[2]) >= p  # (N, 1, C)
    return x * keep / (1 - p)


def bernoulli_spatial_dropout_1d(x, p, training=True):
    if not training:
        return x
    return x * torch.bernoulli(torch.full((len(x), 1, x.shape[-1]), 1 - p)) / (1 - p)


def transposed_spatial_dropout_1d(x, p, training=True):
    return torch.nn.functional.dropout1d(x.transpose(1, 2), p, training).transpose(1, 2)


def numpy_spatial_dropout_1d(x, p, training=True):
    if not training:
        return x
    keep = np.random.default_rng().random((x.shape[0], 1, x.shape[2])) >= p
    return x * torch.from_numpy(keep / (1 - p)).to(x.dtype)


def test_spatial_dropout_1d_references_pass(capsys):
    passes(
        checks.check_spatial_dropout_1d,
        ref_spatial_dropout_1d,
        bernoulli_spatial_dropout_1d,
        transposed_spatial_dropout_1d,
        numpy_spatial_dropout_1d,
        capsys=capsys,
    )


@pytest.mark.parametrize("stream", range(20))
def test_spatial_dropout_1d_with_other_random_streams_passes(stream, capsys):
    g = torch.Generator().manual_seed(9000 + stream)

    def own_coins(x, p, training=True):
        if not training:
            return x
        return x * (torch.rand(len(x), 1, x.shape[2], generator=g) >= p) / (1 - p)

    checks.check_spatial_dropout_1d(own_coins)
    assert "Correct:" in capsys.readouterr().out


def sd_variant(shape="n1c", scale="1/(1-p)", keep="1-p", in_eval=False, inplace=False, dtype=None):
    """A spatial_dropout_1d with one mistake: the mask's shape, its scale, what it keeps, eval, in place, dtype."""

    def answer(x, p, training=True):
        if not training and not in_eval:
            return x
        n, t, c = x.shape
        size = {"n1c": (n, 1, c), "nt1": (n, t, 1), "ntc": (n, t, c), "11c": (1, 1, c), "n11": (n, 1, 1)}[shape]
        u = torch.rand(size)
        kept = ((u >= p) if keep == "1-p" else (u < p)).to(dtype or x.dtype)
        mask = kept * {"1/(1-p)": 1 / (1 - p), "none": 1.0, "1/p": 1 / p}[scale]
        return x.mul_(mask) if inplace else x * mask

    return answer


@pytest.mark.parametrize(
    "answer, fragments",
    [
        (sd_variant(shape="nt1"), ["you dropped whole tokens", "Keras' layout (N, T, C)", "(N, 1, C)"]),
        (lambda x, p, training=True: torch.nn.functional.dropout1d(x, p, training), ["you dropped whole tokens"]),
        (sd_variant(shape="ntc"), ["single values were dropped"]),
        (lambda x, p, training=True: torch.nn.functional.dropout(x, p, training), ["single values were dropped"]),
        (sd_variant(shape="11c"), ["one mask (1, 1, C) for the whole batch"]),
        (sd_variant(shape="n11"), ["whole sentences were dropped"]),
        (sd_variant(scale="none"), ["forget to scale", "1/(1-p) = 1.429"]),
        (sd_variant(scale="1/p"), ["1/p instead of 1/(1-p)"]),
        (sd_variant(keep="p"), ["probability p instead of 1-p", "expected 0.300"]),
        (sd_variant(in_eval=True), ["with training=False", "expected x itself"]),
        (sd_variant(inplace=True), ["changed its input x in place (training)"]),
        (sd_variant(dtype=torch.float64), ["a tensor of dtype float64", "float32"]),
        (lambda x, p, training=True: ref_spatial_dropout_1d(x, p, training).numpy(),
         ["an array of dtype float32", "torch.from_numpy"]),
        (lambda x, p, training=True: torch.nn.functional.dropout1d(x.transpose(1, 2), p, training),
         ["returned shape (8, 10, 13)", "channels first"]),
        (lambda x, p, training=True: x * (torch.rand(len(x), 1, x.shape[1]) >= p) / (1 - p),
         ["must match the size", "channels last", "(N, 1, C) = (8, 1, 10)"]),
        (lambda x, p, training=True: x, ["dropped nothing in 30 calls"]),
        (lambda x, p, training=True: None, ["returned None"]),
        (lambda x, p, training=True: sde.SpatialDropout1d(p, data_format="channels_last")(x),
         ["calls the package's apply_noise"]),
        (lambda x, p, training=True: x * masks.feature_mask(x.shape, p), ["calls the package's", "feature_mask"]),
    ],
)  # fmt: skip
def test_spatial_dropout_1d_mistakes_get_their_hint(answer, fragments):
    fails_with(checks.check_spatial_dropout_1d, answer, *fragments)


# -- 9.3 token accuracy -------------------------------------------------------------------------


def ref_token_accuracy(logits, tags):
    real = tags != IGNORE_INDEX
    right = (logits.argmax(-1) == tags) & real
    return right.sum().item() / real.sum().item()


def numpy_token_accuracy(logits, tags):
    logits, tags = np.asarray(logits), np.asarray(tags)
    real = tags >= 0
    return float(np.mean(logits.argmax(axis=2)[real] == tags[real]))


def masked_token_accuracy(logits, tags):
    real = tags.ne(-100)
    return torch.masked_select(logits.argmax(-1).eq(tags), real).float().mean()


def test_token_accuracy_references_pass(capsys):
    passes(checks.check_token_accuracy, ref_token_accuracy, numpy_token_accuracy, masked_token_accuracy, capsys=capsys)


def per_sentence(logits, tags):
    real = tags != IGNORE_INDEX
    right = ((logits.argmax(-1) == tags) & real).sum(1) / real.sum(1)
    return right.mean().item()


@pytest.mark.parametrize(
    "answer, fragment",
    [
        (lambda lg, tg: (lg.argmax(-1) == tg).float().mean(), "padding positions as wrong"),
        (lambda lg, tg: ((lg.argmax(-1) == tg) | (tg == IGNORE_INDEX)).float().mean(), "padding positions as right"),
        (lambda lg, tg: (lg.argmax(-1) == tg)[tg != 0].float().mean(), "took tag 0 for padding"),
        (per_sentence, "averaged the sentences' accuracies"),
        (lambda lg, tg: (lg.argmax(1) == tg)[tg != IGNORE_INDEX].float().mean(), "argmax over axis 1"),
        (lambda lg, tg: (lg.argmax(0) == tg)[tg != IGNORE_INDEX].float().mean(), "argmax over axis 0"),
        (lambda lg, tg: 100 * ref_token_accuracy(lg, tg), "percentage"),
        (lambda lg, tg: ((lg.argmax(-1) == tg) & (tg != IGNORE_INDEX)).sum(), "number of right tokens"),
        (lambda lg, tg: (lg.max(-1).values == tg)[tg != IGNORE_INDEX].float().mean(), "compared the scores"),
        (lambda lg, tg: ((lg.argmax(-1) == tg) & (tg != IGNORE_INDEX)).float().mean(1), "expected one number"),
        (lambda lg, tg: 0.5, "expected 7 right of 9 real tokens"),
        (lambda lg, tg: None, "returned None"),
        (lambda lg, tg: ref_token_accuracy(lg, tg) if lg.shape[1] == lg.shape[2] else lg.argmax(1) == tg, "argmax(-1)"),
        (lambda lg, tg: ch09_sequence_tagging._accuracy(lg.numpy(), tg.numpy()), "reference answer _accuracy"),
    ],
)
def test_token_accuracy_mistakes_get_their_hint(answer, fragment):
    fails_with(checks.check_token_accuracy, answer, fragment)


def test_token_accuracy_batches_include_the_hard_cases():
    batches = ch09_sequence_tagging._accuracy_inputs(None)
    lengths = [(tags != IGNORE_INDEX).sum(1) for _, tags in batches]
    assert len(batches) >= 30
    assert any(t.shape[1] == 1 for _, t in batches) and any(len(t) == 1 for _, t in batches)
    assert any((n == 1).sum() >= len(n) - 1 > 2 for n in lengths)  # one long sentence among one-token ones
    assert all((n >= 1).all() and n.max() == t.shape[1] for n, (_, t) in zip(lengths, batches))
    assert all(lg.dtype == torch.float32 and t.dtype == torch.int64 for lg, t in batches)


def test_checks_run_fast():
    import time

    for check, answer in [
        (checks.check_word_type_mask, ref_word_type_mask),
        (checks.check_spatial_dropout_1d, ref_spatial_dropout_1d),
        (checks.check_token_accuracy, ref_token_accuracy),
    ]:
        start = time.perf_counter()
        check(answer)
        assert time.perf_counter() - start < 1.0, check.__name__
