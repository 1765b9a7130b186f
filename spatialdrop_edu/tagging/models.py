"""The sequence tagger of chapter 9, in PyTorch and in Keras: embed, drop, read the context, tag each token.

The tagger a learner builds in Keras, ``Embedding -> SpatialDropout1D -> Bidirectional(GRU) ->
TimeDistributed(Dense)``, with the dropout after the embedding as an argument (the variants of
:mod:`~spatialdrop_edu.tagging.masks`) and a choice of context reader:

* ``encoder="gru"``: a bidirectional GRU over the packed sentences (padding never reaches it), which
  can carry context from any distance;
* ``encoder="conv"``: two convolutions of kernel 3 with ReLU, padding zeroed after each, so every tag
  reads a window of five tokens.

:class:`Tagger` is the PyTorch model the chapter trains; :func:`keras_tagger` builds the same model
with Keras layers, for readers who work in Keras.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from .._validation import (
    check_choice,
    check_generator,
    check_optional_seed,
    check_positive_int,
    check_positive_number,
    check_probability,
    check_token_ids,
)
from .corpus import IGNORE_INDEX, PAD_ID, UNK_ID
from .masks import VARIANTS, EmbeddingDropout

__all__ = ["ENCODERS", "KERAS_VARIANTS", "Tagger", "keras_tagger", "keras_word_type_dropout"]

#: The context readers of a tagger, a bidirectional GRU or a stack of two convolutions.
ENCODERS = ("gru", "conv")
#: What each dropout variant is in Keras (``keras_tagger``); ``"word_type"`` is a layer of this module.
KERAS_VARIANTS = {
    "none": "no layer",
    "element": "keras.layers.Dropout(p)",
    "feature": "keras.layers.SpatialDropout1D(p)",
    "token": "keras.layers.Dropout(p, noise_shape=(None, None, 1))",
    "word_type": "WordTypeDropout(p, vocab_size), a small custom layer (Keras has none)",
}


class Tagger(nn.Module):
    r"""A part-of-speech tagger: embedding, dropout on the embedded sentence, a context reader, a tag per token.

    ``Embedding(vocab_size, dim, padding_idx=0)`` (the row of
    :data:`~spatialdrop_edu.tagging.corpus.UNK_ID` starts at zero: words never seen in training embed
    as dropped words) -> :class:`~spatialdrop_edu.tagging.masks.EmbeddingDropout`
    -> a bidirectional GRU (``2 * hidden`` features per token) or two ``Conv1d(kernel_size=3,
    padding=1)`` + ReLU layers (``hidden`` features, padding zeroed after each, so a sentence's tags do
    not depend on how much padding its batch has) -> ``Linear`` to ``num_tags`` logits per token.

    Args:
        vocab_size: the number of word ids, padding (id 0) included.
        num_tags: the number of tags.
        dim: embedding features ``C``. Default: 32.
        hidden: the GRU's features per direction, or the convolutions' channels. Default: 32.
        encoder: ``"gru"`` or ``"conv"``. Default: ``"gru"``.
        dropout: the variant of :data:`~spatialdrop_edu.tagging.masks.VARIANTS` applied to the embedded
            sentence: ``"none"``, ``"element"``, ``"feature"`` (SpatialDropout1D), ``"token"`` or
            ``"word_type"``. Default: ``"none"``.
        p: its drop probability, in ``[0, 1]`` (0 for ``"none"``). Default: 0.5, and 0 for ``"none"``.

    Shape:
        - Input: token ids :math:`(N, T)`, 0 at padding; every sentence at least one token long.
        - Output: logits :math:`(N, T, \text{num\_tags})`; those at padding are meaningless.

    Examples::

        >>> model = Tagger(100, 10, encoder="conv", dropout="feature", p=0.2)
        >>> tokens = torch.tensor([[4, 7, 9, 0], [5, 3, 0, 0]])
        >>> model(tokens).shape
        torch.Size([2, 4, 10])
        >>> gru = Tagger(100, 10, dropout="word_type", p=0.1).eval()
        >>> a, b = gru(tokens), gru(tokens[:, :3])   # padding changes nothing
        >>> torch.allclose(a[:, :3], b, atol=1e-6)
        True
    """

    def __init__(
        self,
        vocab_size: int,
        num_tags: int,
        dim: int = 32,
        hidden: int = 32,
        encoder: str = "gru",
        dropout: str = "none",
        p: float | None = None,
    ):
        super().__init__()
        self.vocab_size = check_positive_int(vocab_size, "vocab_size", "word ids, padding included")
        self.num_tags = check_positive_int(num_tags, "num_tags", "tags to choose from")
        dim = check_positive_int(dim, "dim", "embedding features")
        hidden = check_positive_int(hidden, "hidden", "the encoder's features")
        self.encoder = check_choice(encoder, ENCODERS, "encoder")
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
        if vocab_size > UNK_ID:  # the unknown word embeds to zeros, as a dropped word does
            with torch.no_grad():
                self.embedding.weight[UNK_ID].zero_()
        self.dropout = EmbeddingDropout(dropout, p, vocab_size=vocab_size)
        if encoder == "gru":
            self.gru = nn.GRU(dim, hidden, batch_first=True, bidirectional=True)
            self.convs = None
            out = 2 * hidden
        else:
            self.gru = None
            self.convs = nn.ModuleList([nn.Conv1d(dim, hidden, 3, padding=1), nn.Conv1d(hidden, hidden, 3, padding=1)])
            out = hidden
        self.out = nn.Linear(out, num_tags)

    def forward(self, tokens: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits ``(N, T, num_tags)``; ``generator`` draws the dropout mask (default: the global one)."""
        check_token_ids(tokens, self.vocab_size)
        check_generator(generator)
        real = tokens != PAD_ID
        lengths = real.sum(1)
        if bool((lengths == 0).any()):
            raise ValueError("tokens must hold at least one real (non-padding) token in every sentence.")
        x = self.dropout(self.embedding(tokens), tokens, generator=generator)
        if self.gru is not None:
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            h, _ = self.gru(packed)
            h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=tokens.shape[1])
        else:
            keep = real.unsqueeze(1).to(x.dtype)  # (N, 1, T)
            h = x.transpose(1, 2) * keep
            for conv in self.convs:
                h = torch.relu(conv(h)) * keep
            h = h.transpose(1, 2)
        return self.out(h)


def keras_tagger(
    vocab_size: int,
    num_tags: int,
    dim: int = 32,
    hidden: int = 32,
    encoder: str = "gru",
    dropout: str = "none",
    p: float | None = None,
    *,
    lr: float = 3e-3,
    seed: int | None = None,
):
    r"""The tagger of :class:`Tagger` built with Keras layers, compiled, ready for ``model.fit``.

    ``keras.layers.Embedding(vocab_size, dim, mask_zero=True)`` (the unknown word's row zeroed) -> the
    dropout of ``dropout`` (:data:`KERAS_VARIANTS`: ``"feature"`` is ``keras.layers.SpatialDropout1D``) ->
    ``keras.layers.Bidirectional(keras.layers.GRU(hidden, return_sequences=True))`` or two
    ``keras.layers.Conv1D(hidden, 3, padding="same", activation="relu")`` (padding zeroed after the
    embedding and after each, as in :class:`Tagger`) -> ``keras.layers.TimeDistributed(Dense(num_tags))``.
    Compiled with Adam at ``lr`` and sparse cross-entropy from logits that ignores the padding tag
    :data:`~spatialdrop_edu.tagging.corpus.IGNORE_INDEX`. Keras is imported here, not before.

    **What matches the package, and how far.** Keras' ``SpatialDropout1D`` samples the noise shape
    ``(N, 1, C)``, as :func:`~spatialdrop_edu.tagging.masks.feature_mask` does: one coin per sentence and
    feature, the same at every token, kept values scaled by :math:`\frac{1}{1-p}`. That *pattern* is the
    same exactly. The *coins* are the same only when fed: on the torch backend, Keras draws
    ``torch.bernoulli(torch.full((N, 1, C), 1 - p), generator=g)`` from a fresh generator ``g`` seeded
    from the layer's seed state, while the package's layers draw ``torch.empty(N, 1, C).bernoulli_(1 - p,
    generator=g)``. On the CPU the two are different kernels of ATen (a probability per element, or one
    scalar probability for the whole tensor) that read the generator differently, so one seed gives two
    different masks. Given Keras' own draw, :func:`~spatialdrop_edu.tagging.masks.apply_mask` reproduces
    the layer's output (``tests/tagging`` checks both).

    Args:
        vocab_size: the number of word ids, padding (id 0) included.
        num_tags: the number of tags.
        dim: embedding features. Default: 32.
        hidden: the GRU's units per direction, or the convolutions' filters. Default: 32.
        encoder: ``"gru"`` or ``"conv"``. Default: ``"gru"``.
        dropout: the variant: ``"none"``, ``"element"``, ``"feature"``, ``"token"`` or ``"word_type"``.
            Default: ``"none"``.
        p: its drop probability, in ``[0, 1]`` (0 for ``"none"``). Default: 0.5, and 0 for ``"none"``.
        lr: Adam's learning rate. Default: 3e-3.
        seed: the dropout layer's seed (Keras' ``seed=``), or ``None`` for Keras' global one.

    Returns:
        A compiled ``keras.Model``; its layers are named ``"embedding"``, ``"embedding_dropout"``
        (absent for ``"none"``), ``"encoder"`` (``"encoder_1"``, ``"encoder_2"`` for the convolutions) and
        ``"tags"``.

    Shape:
        - Input: token ids :math:`(N, T)`, 0 at padding.
        - Output: logits :math:`(N, T, \text{num\_tags})`.

    Examples::

        >>> model = keras_tagger(100, 10, dropout="feature", p=0.2)
        >>> type(model.get_layer("embedding_dropout")).__name__
        'SpatialDropout1D'
        >>> tuple(model(torch.tensor([[4, 7, 0]])).shape)
        (1, 3, 10)
    """
    vocab_size = check_positive_int(vocab_size, "vocab_size", "word ids, padding included")
    num_tags = check_positive_int(num_tags, "num_tags", "tags to choose from")
    dim = check_positive_int(dim, "dim", "embedding features")
    hidden = check_positive_int(hidden, "hidden", "the encoder's features")
    check_choice(encoder, ENCODERS, "encoder")
    check_choice(dropout, VARIANTS, "variant")
    p = (0.0 if dropout == "none" else 0.5) if p is None else check_probability(p)
    if dropout == "none" and p != 0.0:
        raise ValueError(f"p must be 0 with dropout='none', which drops nothing, got {p!r}; choose a variant.")
    seed = check_optional_seed(seed)
    lr = check_positive_number(lr, "lr", "Adam's learning rate")
    import keras

    tokens = keras.Input((None,), dtype="int32", name="tokens")
    real = keras.ops.expand_dims(keras.ops.cast(keras.ops.not_equal(tokens, PAD_ID), "float32"), -1)
    x = keras.layers.Embedding(vocab_size, dim, mask_zero=True, name="embedding")(tokens)
    if dropout == "element":
        x = keras.layers.Dropout(p, seed=seed, name="embedding_dropout")(x)
    elif dropout == "feature":
        x = keras.layers.SpatialDropout1D(p, seed=seed, name="embedding_dropout")(x)
    elif dropout == "token":
        x = keras.layers.Dropout(p, noise_shape=(None, None, 1), seed=seed, name="embedding_dropout")(x)
    elif dropout == "word_type":
        x = keras_word_type_dropout()(p, vocab_size, seed=seed, name="embedding_dropout")(x, tokens)
    if encoder == "gru":
        x = keras.layers.Bidirectional(keras.layers.GRU(hidden, return_sequences=True), name="encoder")(x)
    else:
        x = x * real
        for k in (1, 2):
            x = keras.layers.Conv1D(hidden, 3, padding="same", activation="relu", name=f"encoder_{k}")(x) * real
    logits = keras.layers.TimeDistributed(keras.layers.Dense(num_tags), name="tags")(x)
    model = keras.Model(tokens, logits, name=f"tagger_{encoder}_{dropout}")
    if vocab_size > UNK_ID:  # the unknown word embeds to zeros, as in Tagger
        table = model.get_layer("embedding").embeddings
        table.assign(keras.ops.where(keras.ops.arange(vocab_size)[:, None] == UNK_ID, 0.0, table.value))
    model.compile(
        optimizer=keras.optimizers.Adam(lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_INDEX),
    )
    return model


@functools.cache
def keras_word_type_dropout():
    """The Keras layer of word-type dropout, ``WordTypeDropout(rate, vocab_size, seed=None)`` (Keras imported here).

    Called as ``layer(embedded, tokens, training=...)``: one coin per sentence and vocabulary entry
    (``keras.random.dropout`` on ones ``(N, vocab_size)``), gathered by the token ids, so every
    occurrence of a word in a sentence is dropped together; the identity unless ``training``.

    Examples::

        >>> WordTypeDropout = keras_word_type_dropout()
        >>> layer = WordTypeDropout(0.5, 10, seed=0)
        >>> tokens = torch.tensor([[3, 4, 3]])
        >>> y = layer(torch.ones(1, 3, 2), tokens, training=True)
        >>> bool((y[0, 0] == y[0, 2]).all())
        True
    """
    import keras

    class WordTypeDropout(keras.layers.Layer):
        """Word-type dropout in Keras: every occurrence of a word in a sentence shares one coin."""

        def __init__(self, rate, vocab_size, seed=None, **kwargs):
            super().__init__(**kwargs)
            self.rate = check_probability(rate, "rate")
            self.vocab_size = check_positive_int(vocab_size, "vocab_size", "word ids")
            self.seed = check_optional_seed(seed)
            self.seed_generator = keras.random.SeedGenerator(seed)
            self.supports_masking = True

        def call(self, inputs, tokens, training=False):
            if not training or self.rate == 0.0:
                return inputs
            ones = keras.ops.ones((keras.ops.shape(tokens)[0], self.vocab_size), dtype=inputs.dtype)
            coins = keras.random.dropout(ones, self.rate, seed=self.seed_generator)
            mask = keras.ops.take_along_axis(coins, keras.ops.cast(tokens, "int32"), axis=1)
            return inputs * keras.ops.expand_dims(mask, -1)

        def compute_mask(self, inputs, mask=None):
            return mask

        def get_config(self):
            return {**super().get_config(), "rate": self.rate, "vocab_size": self.vocab_size, "seed": self.seed}

    return WordTypeDropout
