"""The tagger in PyTorch and in Keras, and where Keras' SpatialDropout1D is the package's feature mask."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from spatialdrop_edu.analysis.masks import layer_mask, measure_noise_shape  # noqa: E402
from spatialdrop_edu.tagging.corpus import IGNORE_INDEX, UNK_ID  # noqa: E402
from spatialdrop_edu.tagging.masks import VARIANTS, EmbeddingDropout, apply_mask, feature_mask  # noqa: E402
from spatialdrop_edu.tagging.models import ENCODERS, Tagger, keras_tagger, keras_word_type_dropout  # noqa: E402
from spatialdrop_edu.tagging.train import tagger_loss  # noqa: E402

VOCAB, TAGS = 60, 10
TOKENS = torch.tensor([[4, 7, 9, 4, 0, 0], [5, 3, 8, 11, 12, 2], [6, 0, 0, 0, 0, 0]])


def rate(variant: str):
    return None if variant == "none" else 0.3


def on_cpu(y) -> torch.Tensor:
    """A Keras output on the torch backend (a torch tensor) as a CPU tensor, without NumPy's copy warning."""
    return torch.as_tensor(y).detach().cpu()


def keras_coins(shape, p: float, seed: int, call: int = 0, device="cpu") -> torch.Tensor:
    """The keep-coins Keras' dropout layers draw on the torch backend for a noise shape: its ``call``-th draw.

    ``keras.src.backend.torch.random.dropout`` seeds a fresh ``torch.Generator`` with the sum of the layer's
    ``SeedGenerator`` state ``[seed, call]`` and draws ``torch.bernoulli(torch.full(shape, 1 - p))``.
    """
    generator = torch.Generator(device=device).manual_seed(seed + call)
    return torch.bernoulli(torch.full(shape, 1 - p, device=device), generator=generator)


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_tagger_gives_a_tag_per_token_whatever_the_padding(encoder, variant):
    torch.manual_seed(0)
    model = Tagger(VOCAB, TAGS, dim=8, hidden=8, encoder=encoder, dropout=variant, p=rate(variant))
    assert model(TOKENS).shape == (3, 6, TAGS)
    model.eval()
    padded = torch.cat([TOKENS, torch.zeros(3, 4, dtype=torch.long)], dim=1)
    torch.testing.assert_close(model(padded)[:, :6], model(TOKENS), rtol=0, atol=1e-6)
    torch.testing.assert_close(model(TOKENS[1:2]), model(TOKENS)[1:2], rtol=0, atol=1e-6)


def test_tagger_dropout_follows_the_mode_and_the_generator():
    torch.manual_seed(0)
    model = Tagger(VOCAB, TAGS, dim=8, hidden=8, dropout="feature", p=0.5)
    a, b, c = (model(TOKENS, generator=torch.Generator().manual_seed(s)) for s in (1, 1, 2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    model.eval()
    assert torch.equal(model(TOKENS), model(TOKENS))


def test_unknown_word_embeds_to_zeros_and_stays_there_in_training():
    torch.manual_seed(0)
    model = Tagger(VOCAB, TAGS, dim=8, hidden=8)
    assert not model.embedding.weight[UNK_ID].any() and not model.embedding.weight[0].any()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    tags = torch.where(TOKENS > 0, TOKENS % TAGS, IGNORE_INDEX)
    for _ in range(3):
        optimizer.zero_grad()
        tagger_loss(model, (TOKENS, tags)).backward()
        optimizer.step()
    assert not model.embedding.weight[UNK_ID].any()


def test_tagger_loss_reads_real_tokens_only():
    torch.manual_seed(0)
    model = Tagger(VOCAB, TAGS, dim=8, hidden=8, encoder="conv").eval()
    tags = torch.where(TOKENS > 0, TOKENS % TAGS, IGNORE_INDEX)
    logits = model(TOKENS)
    real = TOKENS > 0
    expected = torch.nn.functional.cross_entropy(logits[real], tags[real])
    torch.testing.assert_close(tagger_loss(model, (TOKENS, tags)), expected)


def test_tagger_refuses_wrong_arguments_with_their_name():
    with pytest.raises(ValueError, match="encoder must be one of 'gru', 'conv'"):
        Tagger(VOCAB, TAGS, encoder="lstm")
    with pytest.raises(ValueError, match="variant must be one of"):
        Tagger(VOCAB, TAGS, dropout="spatial")
    with pytest.raises(ValueError, match="dim must be a positive int"):
        Tagger(VOCAB, TAGS, dim=0)
    model = Tagger(VOCAB, TAGS)
    with pytest.raises(ValueError, match="at least one real"):
        model(torch.tensor([[3, 4], [0, 0]]))
    with pytest.raises(ValueError, match=r"tokens must hold ids in \[0, 59\]"):
        model(torch.tensor([[3, 60]]))


# -- Keras ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_keras_tagger_builds_each_variant_and_ignores_padding_in_inference(encoder, variant):
    model = keras_tagger(VOCAB, TAGS, dim=8, hidden=8, encoder=encoder, dropout=variant, p=rate(variant), seed=0)
    expected = {"element": "Dropout", "feature": "SpatialDropout1D", "token": "Dropout", "word_type": "WordTypeDropout"}
    names = [layer.name for layer in model.layers]
    if variant == "none":
        assert "embedding_dropout" not in names
    else:
        assert type(model.get_layer("embedding_dropout")).__name__ == expected[variant]
    out = on_cpu(model(TOKENS))
    padded = torch.cat([TOKENS, torch.zeros(3, 4, dtype=torch.long)], dim=1)
    torch.testing.assert_close(on_cpu(model(padded))[:, :6], out, rtol=0, atol=1e-5)
    assert not on_cpu(model.get_layer("embedding").embeddings.value)[UNK_ID].any()


def test_keras_token_dropout_has_noise_shape_n_t_1():
    layer = keras_tagger(VOCAB, TAGS, dropout="token", p=0.5).get_layer("embedding_dropout")
    masks = [layer_mask(layer, (8, 6, 5), seed=s) for s in range(4)]
    assert measure_noise_shape(masks) == (8, 6, 1)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_keras_spatialdropout1d_and_the_feature_mask_share_one_pattern_exactly(p):
    """Noise shape (N, 1, C): the same (sentence, feature) pairs zeroed at every token, kept ones times 1/(1-p)."""
    shape = (16, 9, 12)
    layer = keras_tagger(VOCAB, TAGS, dropout="feature", p=p, seed=3).get_layer("embedding_dropout")
    assert type(layer).__name__ == "SpatialDropout1D"
    keras_masks = [layer_mask(layer, shape, seed=s) for s in range(4)]
    ours = EmbeddingDropout("feature", p)
    our_masks = [layer_mask(ours, shape, seed=s) for s in range(4)]
    assert measure_noise_shape(keras_masks) == measure_noise_shape(our_masks) == (16, 1, 12)
    x = torch.ones(shape)
    y_keras = on_cpu(layer(x, training=True))
    y_ours = ours(x)
    scale = torch.tensor(1 / (1 - p))
    assert set(y_keras.unique().tolist()) == set(y_ours.unique().tolist()) == {0.0, scale.item()}


@pytest.mark.parametrize("p", [0.2, 0.5])
@pytest.mark.parametrize("seed", [0, 7])
def test_keras_spatialdropout1d_is_the_packages_mask_applied_to_keras_own_coins(p, seed):
    """Exact equality where it is achievable: given the coins Keras draws, apply_mask gives Keras' output."""
    shape = (8, 5, 6)
    x = torch.randn(shape) + 3.0
    layer = keras_tagger(VOCAB, TAGS, dropout="feature", p=p, seed=seed).get_layer("embedding_dropout")
    for call in range(2):  # the layer's seed state moves on at each call
        raw = layer(x, training=True)  # on Keras' device: the GPU where there is one
        y_keras, coins = on_cpu(raw), keras_coins((8, 1, 6), p, seed, call, device=raw.device).cpu()
        assert torch.equal(y_keras != 0, (coins != 0).expand(shape))
        torch.testing.assert_close(y_keras, apply_mask(x, coins / (1 - p)), rtol=1e-6, atol=0)
        # the package's own draw from a generator of the same seed has the same pattern, not these coins
        assert feature_mask(shape, p, torch.Generator().manual_seed(seed + call)).shape == coins.shape


def test_keras_word_type_dropout_drops_every_occurrence_together_and_only_in_training():
    layer = keras_word_type_dropout()(0.5, 20, seed=0)
    tokens = torch.tensor([[3, 4, 3, 5, 3]] * 200)
    x = torch.ones(200, 5, 4)
    y = on_cpu(layer(x, tokens, training=True))
    dropped = (y == 0).all(-1)
    assert torch.equal(dropped[:, 0], dropped[:, 2]) and torch.equal(dropped[:, 0], dropped[:, 4])
    assert 0 < dropped[:, 0].float().mean() < 1  # sentences flip their own coins
    assert set(y.unique().tolist()) <= {0.0, 2.0}
    assert torch.equal(on_cpu(layer(x, tokens, training=False)), x)


# Keras' fit converts its logs with np.array(tensor), which NumPy 2 warns about (Keras' code, not ours).
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_keras_tagger_fits_with_the_padding_tag_ignored():
    keras.utils.set_random_seed(0)
    model = keras_tagger(VOCAB, TAGS, dim=8, hidden=8, dropout="word_type", p=0.2, seed=0)
    x = np.random.default_rng(0).integers(1, VOCAB, size=(64, 8))
    x[:, 6:] = 0
    y = np.where(x > 0, x % TAGS, IGNORE_INDEX)
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_keras_tagger_refuses_wrong_arguments_with_their_name():
    with pytest.raises(ValueError, match="p must be 0 with dropout='none'"):
        keras_tagger(VOCAB, TAGS, dropout="none", p=0.2)
    with pytest.raises(ValueError, match="encoder must be one of"):
        keras_tagger(VOCAB, TAGS, encoder="lstm")
    with pytest.raises(ValueError, match="lr must be a positive number"):
        keras_tagger(VOCAB, TAGS, lr=0.0)
