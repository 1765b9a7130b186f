"""The four masks of an embedded batch: shapes, drop rates, scaling, the package's own coins, word types."""

import pytest
import torch

from spatialdrop_edu import Dropout, SpatialDropout1d
from spatialdrop_edu.analysis.masks import measure_noise_shape
from spatialdrop_edu.tagging.masks import (
    TOKEN_NOISE_SHAPE,
    EmbeddingDropout,
    apply_mask,
    element_mask,
    embedding_mask,
    feature_mask,
    token_mask,
    word_type_mask,
)

from stats import binomial_fraction_bound, inverted_mean_bound

SHAPE = (64, 12, 16)  # (N, T, C)
VOCAB = 50
DRAW = {"element": element_mask, "feature": feature_mask, "token": token_mask}
NOISE = {"element": SHAPE, "feature": (SHAPE[0], 1, SHAPE[2]), "token": (SHAPE[0], SHAPE[1], 1)}
PACKAGE_LAYER = {
    "element": lambda p: Dropout(p),
    "feature": lambda p: SpatialDropout1d(p, data_format="channels_last"),
    "token": lambda p: Dropout(p, noise_shape=TOKEN_NOISE_SHAPE),
}


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def distinct_tokens(n: int, t: int, vocab: int, seed: int = 0) -> torch.Tensor:
    """``n`` sentences of ``t`` distinct word ids in ``[1, vocab)``, each a random choice."""
    g = gen(seed)
    return torch.stack([torch.randperm(vocab - 1, generator=g)[:t] + 1 for _ in range(n)])


@pytest.mark.parametrize("variant", list(DRAW))
@pytest.mark.parametrize("p", [0.1, 0.5])
def test_each_mask_has_its_noise_shape_its_two_values_and_drop_rate(variant, p):
    masks = [DRAW[variant](SHAPE, p, gen(s)) for s in range(4)]
    assert all(tuple(m.shape) == NOISE[variant] for m in masks)
    full = [(m.expand(SHAPE) != 0) for m in masks]
    assert measure_noise_shape(full) == NOISE[variant]
    values = torch.cat([m.flatten() for m in masks])
    assert set(values.unique().tolist()) <= {0.0, torch.tensor(1 / (1 - p)).item()}
    coins = values.numel()
    assert abs((values == 0).float().mean().item() - p) <= binomial_fraction_bound(p, coins)
    # inverted dropout: each coin's mean is 1
    assert abs(values.double().mean().item() - 1.0) <= inverted_mean_bound(p, coins)


@pytest.mark.parametrize("variant", list(DRAW))
@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_masks_draw_the_coins_of_the_package_layer_from_the_same_generator_state(variant, p):
    x = torch.randn(SHAPE)
    ours = apply_mask(x, DRAW[variant](SHAPE, p, gen(7)))
    theirs = PACKAGE_LAYER[variant](p)(x, generator=gen(7))
    assert torch.equal(ours, theirs)
    layer = EmbeddingDropout(variant, p)
    assert torch.equal(layer(x, generator=gen(7)), theirs)
    # from PyTorch's global generator too
    torch.manual_seed(11)
    global_ours = apply_mask(x, DRAW[variant](SHAPE, p))
    torch.manual_seed(11)
    assert torch.equal(global_ours, layer(x))


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_word_type_mask_is_one_coin_per_sentence_and_word_type(p):
    n, t = 400, 10
    tokens = distinct_tokens(n, t, VOCAB)
    tokens = torch.cat([tokens, tokens[:, :4]], dim=1)  # the first four words of each sentence occur twice
    mask = word_type_mask(tokens, VOCAB, p, gen(1))
    assert mask.shape == (n, t + 4, 1)
    assert torch.equal(mask[:, :4], mask[:, t:])  # every occurrence of a word in a sentence together
    coins = mask[:, :t, 0]  # distinct (sentence, word) pairs
    assert set(coins.unique().tolist()) <= {0.0, torch.tensor(1 / (1 - p)).item()}
    dropped = coins == 0
    assert abs(dropped.float().mean().item() - p) <= binomial_fraction_bound(p, n * t)
    assert abs(coins.double().mean().item() - 1.0) <= inverted_mean_bound(p, n * t)
    # different sentences, and different words of one sentence, flip their own coins
    both = dropped[0::2] & dropped[1::2]  # disjoint pairs of sentences: independent trials
    assert abs(both.float().mean().item() - p * p) <= binomial_fraction_bound(p * p, n // 2 * t)
    pairs = dropped[:, 0] & dropped[:, 1]
    assert abs(pairs.float().mean().item() - p * p) <= binomial_fraction_bound(p * p, n)


def test_word_type_mask_gives_one_word_the_same_coin_only_within_a_sentence():
    n, p = 2000, 0.3
    tokens = torch.full((n, 3), 7)  # word 7 three times in every sentence
    mask = word_type_mask(tokens, VOCAB, p, gen(2))[..., 0]
    assert torch.equal(mask, mask[:, :1].expand(n, 3))
    assert abs((mask[:, 0] == 0).float().mean().item() - p) <= binomial_fraction_bound(p, n)


def test_word_type_dropout_drops_whole_words_from_the_embedded_sentence():
    tokens = torch.tensor([[3, 8, 3, 9, 3, 0]])
    x = torch.randn(1, 6, 16)
    layer = EmbeddingDropout("word_type", 0.5, vocab_size=10)
    for seed in range(20):
        y = layer(x, tokens, generator=gen(seed))
        mask = word_type_mask(tokens, 10, 0.5, gen(seed))
        assert torch.equal(y, x * mask)
        zero = (y == 0).all(-1)[0]
        assert zero[0] == zero[2] == zero[4]  # "3" vanishes everywhere or nowhere


@pytest.mark.parametrize("variant", ["element", "feature", "token", "word_type"])
def test_eval_mode_and_p_zero_are_the_identity_and_p_one_drops_everything(variant):
    x, tokens = torch.randn(SHAPE), distinct_tokens(SHAPE[0], SHAPE[1], VOCAB)
    layer = EmbeddingDropout(variant, 0.5, vocab_size=VOCAB).eval()
    assert layer(x, tokens) is x
    assert EmbeddingDropout(variant, 0.0, vocab_size=VOCAB)(x, tokens) is x
    assert torch.equal(EmbeddingDropout(variant, 1.0, vocab_size=VOCAB)(x, tokens), torch.zeros(SHAPE))
    assert EmbeddingDropout("none")(x) is x


def test_p_is_checked_whenever_it_is_set_and_reaches_the_package_layer():
    layer = EmbeddingDropout("feature", 0.2)
    layer.p = 0.4
    assert layer.layer.p == 0.4 and "p=0.4" in repr(layer)
    with pytest.raises(ValueError, match="p must be a probability"):
        layer.p = 1.5
    with pytest.raises(ValueError, match="p must be 0 with variant='none'"):
        EmbeddingDropout("none", 0.3)
    assert EmbeddingDropout("none").p == 0.0 and EmbeddingDropout("token").p == 0.5


def test_embedding_mask_by_name_matches_each_function():
    tokens = distinct_tokens(SHAPE[0], SHAPE[1], VOCAB)
    for variant, draw in DRAW.items():
        assert torch.equal(embedding_mask(variant, SHAPE, 0.3, gen(5)), draw(SHAPE, 0.3, gen(5)))
    by_name = embedding_mask("word_type", SHAPE, 0.3, gen(5), tokens=tokens, vocab_size=VOCAB)
    assert torch.equal(by_name, word_type_mask(tokens, VOCAB, 0.3, gen(5)))
    assert torch.equal(embedding_mask("none", SHAPE, 0.0), torch.ones(1, 1, 1))


def test_wrong_arguments_are_refused_with_their_name():
    x = torch.randn(2, 3, 4)
    tokens = torch.tensor([[1, 2, 3], [4, 5, 0]])
    with pytest.raises(ValueError, match="variant must be one of 'none', 'element'"):
        EmbeddingDropout("spatial", 0.2)
    with pytest.raises(ValueError, match="needs vocab_size"):
        EmbeddingDropout("word_type", 0.2)
    layer = EmbeddingDropout("word_type", 0.2, vocab_size=6)
    with pytest.raises(ValueError, match="needs the token ids"):
        layer(x)
    with pytest.raises(ValueError, match=r"tokens must hold ids in \[0, 5\]"):
        layer(x, tokens + 1)
    with pytest.raises(ValueError, match="tokens must have the input's"):
        layer(x, tokens[:, :2])
    with pytest.raises(TypeError, match="tokens must be an integer tensor"):
        layer(x, tokens.float())
    with pytest.raises(ValueError, match=r"input_shape must be an embedded batch \(N, T, C\)"):
        EmbeddingDropout("feature", 0.2)(torch.randn(3, 4))
    with pytest.raises(TypeError, match="generator must be None or a torch.Generator"):
        EmbeddingDropout("feature", 0.2)(x, generator=0)
    with pytest.raises(ValueError, match="noise_shape"):
        apply_mask(x, torch.ones(2, 2, 4))
    with pytest.raises(ValueError, match="p must be a probability"):
        feature_mask((2, 3, 4), -0.1)
    with pytest.raises(ValueError, match="needs the tokens"):
        embedding_mask("word_type", (2, 3, 4), 0.2)
