"""Chapter 9's widget: one sentence's embedding matrix and the four ways to drop from it, side by side.

A sentence of ``T`` tokens embeds to a matrix of ``T`` rows and ``C`` embedding features, channels
last (one row per token, the same row wherever the same word occurs). The four masks of
:mod:`~spatialdrop_edu.tagging.masks` drop from it in four ways: element (``Dropout``: single
entries), feature (``SpatialDropout1D``: whole columns, the same feature at every token), token
(whole rows, each occurrence of a word on its own) and word type (every occurrence of a word
together).

Parts, as for every widget: :func:`embedding_masks_demo` (computation), :func:`plot_embedding_masks`
(plot), :func:`embedding_masks_widget` (live) and :func:`embedding_masks_twin` (static, for the website).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import check_int_between, check_probability, check_seed, check_words
from ..plotting import SIGNED_CMAP
from ..tagging.masks import VARIANTS, apply_mask, embedding_mask
from ._live import live_widget, rate_slider, seed_slider

__all__ = [
    "DEFAULT_SENTENCE",
    "MASK_VARIANTS",
    "MAX_DIM",
    "MAX_TOKENS",
    "NOISE_SHAPES",
    "SHOWCASE_SEED",
    "embedding_masks_demo",
    "embedding_masks_twin",
    "embedding_masks_widget",
    "plot_embedding_masks",
]

#: The sentence the widget starts with ("the" three times and "dog" twice), so that word-type dropout
#: has repeated words to drop together (and token dropout to drop one occurrence at a time).
DEFAULT_SENTENCE = ("the", "dog", "saw", "the", "cat", "and", "the", "dog", "ran", ".")
#: The masks the widget shows in the order of its panels, every variant of
#: :data:`~spatialdrop_edu.tagging.masks.VARIANTS` that drops something.
MASK_VARIANTS = tuple(v for v in VARIANTS if v != "none")
#: The coins of each variant on an embedded batch ``(N, T, C)`` of ``N`` sentences over ``V`` word types.
NOISE_SHAPES = {"element": "(N, T, C)", "feature": "(N, 1, C)", "token": "(N, T, 1)", "word_type": "(N, V)"}
#: The longest sentence (in tokens) and the largest embedding (in features) the widget draws.
MAX_TOKENS = 30
MAX_DIM = 32
#: The seed the widget and its twin start from. With :data:`DEFAULT_SENTENCE` and 8 features, at p =
#: 0.25, 0.3 and 0.5 alike, word-type dropout drops all three "the"s together while token dropout
#: drops the first "the" and keeps the other two, and feature dropout drops some columns but not all:
#: the contrasts the chapter is about, seen at once. Any other seed shows the same structure, less
#: often all in one picture.
SHOWCASE_SEED = 21

# each panel's title: the variant and its layer, then what one coin drops
_NAMES = {
    "element": ("element (Dropout)", "drops single entries"),
    "feature": ("feature (SpatialDropout1D)", "drops whole columns"),
    "token": ("token", "drops whole rows"),
    "word_type": ("word type", "drops every occurrence of a word"),
}
_DROPPED_GREY = "0.85"


def embedding_masks_demo(p: float = 0.3, seed: int = 0, dim: int = 8, sentence=None) -> dict:
    """One sentence embedded, and the four masks of chapter 9 drawn on it from one seeded generator.

    A ``torch.Generator`` seeded with ``seed`` draws, in this order, a random embedding table (one
    row of ``dim`` standard normal features per word type of the sentence), then the masks of
    :data:`MASK_VARIANTS` with :func:`~spatialdrop_edu.tagging.masks.embedding_mask`; the same
    arguments give the same state. The sentence is a batch of one (``N = 1``); its vocabulary is
    its own word types, in the order they first occur.

    Args:
        p: probability of dropping (an entry, a feature, a token or a word type), in ``[0, 1]``.
            Default: 0.3.
        seed: seed of the embedding and the masks. Default: 0.
        dim: embedding features per token ``C``, 1 to ``MAX_DIM``. Default: 8.
        sentence: the words, as a str split at spaces or a sequence of words, at most
            ``MAX_TOKENS``; ``None``: :data:`DEFAULT_SENTENCE`.

    Returns:
        A dict with ``"words"`` (the ``T`` tokens), ``"vocabulary"`` (the ``V`` word types),
        ``"token_ids"`` (``(T,)``, indices into the vocabulary), ``"embedding"`` (``(T, C)``),
        and per variant of :data:`MASK_VARIANTS`: ``"masks"`` (as drawn, zeros and
        ``1 / (1 - p)``: ``(1, T, C)``, ``(1, 1, C)``, ``(1, T, 1)``, ``(1, T, 1)``),
        ``"dropped"`` (bool ``(T, C)``, ``True`` = dropped), ``"outputs"`` (the masked matrix
        ``(T, C)``), ``"shares"`` (the share of entries dropped), ``"noise_shapes"`` (the coins'
        shape, ``(1, V)`` for word type) and ``"coins"`` (their number); also
        ``"dropped_features"``, ``"dropped_tokens"`` (positions) and ``"dropped_words"`` (word
        types), and the arguments.

    Examples::

        >>> s = embedding_masks_demo(0.5, seed=1)
        >>> " ".join(s["words"])
        'the dog saw the cat and the dog ran .'
        >>> f = s["dropped"]["feature"]
        >>> bool((f == f[:1]).all())   # the same features dropped at every token
        True
        >>> s["noise_shapes"]["feature"], s["coins"]["word_type"]
        ((1, 1, 8), 7)
    """
    p = check_probability(p)
    seed = check_seed(seed)
    dim = check_int_between(dim, "dim", 1, MAX_DIM, "embedding features per token")
    words = DEFAULT_SENTENCE if sentence is None else check_words(sentence, "sentence", MAX_TOKENS)
    vocabulary = tuple(dict.fromkeys(words))
    ids = torch.tensor([[vocabulary.index(w) for w in words]])  # (N, T) = (1, T)
    generator = torch.Generator().manual_seed(seed)
    table = torch.randn(len(vocabulary), dim, generator=generator)
    embedded = table[ids]  # (1, T, C)
    shape = tuple(embedded.shape)
    masks = {v: embedding_mask(v, shape, p, generator, tokens=ids, vocab_size=len(vocabulary)) for v in MASK_VARIANTS}
    dropped = {v: (m.expand(shape)[0] == 0).numpy() for v, m in masks.items()}
    noise_shapes = {v: tuple(m.shape) for v, m in masks.items()}
    noise_shapes["word_type"] = (1, len(vocabulary))  # drawn per word type, then gathered per token
    word_dropped = dropped["word_type"][:, 0]
    return {
        "words": words,
        "vocabulary": vocabulary,
        "token_ids": ids[0].numpy(),
        "embedding": embedded[0].numpy(),
        "masks": {v: m.numpy() for v, m in masks.items()},
        "dropped": dropped,
        "outputs": {v: apply_mask(embedded, m)[0].numpy() for v, m in masks.items()},
        "shares": {v: float(d.mean()) for v, d in dropped.items()},
        "noise_shapes": noise_shapes,
        "coins": {v: math.prod(s) for v, s in noise_shapes.items()},
        "dropped_features": [int(c) for c in np.flatnonzero(dropped["feature"][0])],
        "dropped_tokens": [int(t) for t in np.flatnonzero(dropped["token"][:, 0])],
        "dropped_words": [w for w in vocabulary if word_dropped[words.index(w)]],
        "p": p,
        "seed": seed,
        "dim": dim,
    }


def _draw_matrix(ax, values, dropped, words, limit: float, title: str):
    """One panel: the matrix ``(T, C)`` with kept entries coloured (``RdBu``), dropped ones grey with an ``x``."""
    import matplotlib.pyplot as plt

    t, c = values.shape
    cmap = plt.get_cmap(SIGNED_CMAP).with_extremes(bad=_DROPPED_GREY)
    image = ax.imshow(
        np.where(dropped, np.nan, values), cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest", aspect="auto"
    )
    rows, cols = np.nonzero(dropped)
    if rows.size:  # the marks carry what the grey does: dropped entries are seen without colour
        side = 0.6 * min(160.0 / c, 18.0)  # about 60% of a cell, in points
        ax.scatter(cols, rows, marker="x", color="black", s=side * side, linewidths=1.0)
    ax.set_xlim(-0.5, c - 0.5)
    ax.set_ylim(t - 0.5, -0.5)
    ax.set_yticks(range(t), labels=words, fontsize=8)
    ax.set_xticks(range(0, c, 1 if c <= 12 else 4))
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel("embedding feature", fontsize=8)
    ax.set_title(title, fontsize=9)
    return image


def _variant_title(state: dict, variant: str) -> str:
    name, drops = _NAMES[variant]
    coins = state["coins"][variant]
    shape = "one coin per word type" if variant == "word_type" else f"noise shape {NOISE_SHAPES[variant]}"
    return f"{name}\n{drops}\n{shape}: {coins} coins\n{state['shares'][variant]:.0%} of entries dropped"


def plot_embedding_masks(state: dict, fig=None):
    """The embedding matrix, then the masked matrix of each variant of :data:`MASK_VARIANTS`.

    Rows are the tokens (labelled with their words), columns the embedding features. Kept entries
    are coloured by their value before the ``1 / (1 - p)`` scaling (``RdBu``, one scale for every
    panel); dropped entries are light grey with an ``x``, so they are seen without colour.

    Args:
        state: the dict returned by :func:`embedding_masks_demo`.
        fig: a figure (or subfigure) to draw on (cleared first); default: a new one.

    Returns:
        The figure, with five titled axes (the embedding, then element, feature, token and word
        type) and a colour bar.
    """
    import matplotlib.pyplot as plt

    values, words = state["embedding"], state["words"]
    t, c = values.shape
    if fig is None:
        fig = plt.figure(figsize=(14.5, 1.9 + 0.26 * t), layout="constrained")
    fig.clear()
    axes = fig.subplots(1, 1 + len(MASK_VARIANTS))
    limit = float(np.abs(values).max()) or 1.0
    image = _draw_matrix(
        axes[0],
        values,
        np.zeros(values.shape, dtype=bool),
        words,
        limit,
        f"embedding (no mask)\n{t} tokens × {c} features\n{len(state['vocabulary'])} word types\n",
    )
    axes[0].set_ylabel("token")
    for ax, variant in zip(axes[1:], MASK_VARIANTS):
        _draw_matrix(ax, values, state["dropped"][variant], words, limit, _variant_title(state, variant))
    fig.colorbar(image, ax=list(axes), shrink=0.8, fraction=0.02, aspect=25, pad=0.01, label="value (before scaling)")
    fig.suptitle(
        f"one sentence (N = 1), T = {t} tokens × C = {c} features, channels last: p = {state['p']:.2f}, "
        f"seed {state['seed']}; grey × = dropped, kept entries are scaled by 1/(1-p)",
        fontsize=10,
    )
    return fig


def embedding_masks_widget(sentence=None, dim: int = 8, seed: int = SHOWCASE_SEED):
    """The chapter 9 widget: rate, seed and embedding-size sliders, and the sentence as text.

    Args:
        sentence: the initial sentence (a str or a sequence of words); ``None``:
            :data:`DEFAULT_SENTENCE`.
        dim: the initial number of embedding features, 1 to ``MAX_DIM``. Default: 8.
        seed: the initial seed, 0 to 99. Default: :data:`SHOWCASE_SEED`.

    Returns:
        An ``ipywidgets.interactive`` with controls, in order: ``p`` (the rate, 0 to 1,
        starting at 0.3), ``seed`` (0 to 99), ``dim`` (1 to ``MAX_DIM``), ``sentence`` (text, words
        separated by spaces). After each change ``widget.result`` is the
        :func:`embedding_masks_demo` state with its figure under ``"figure"``, or
        ``{"error": message}`` (also printed) when the choice cannot be drawn.

    Examples::

        >>> w = embedding_masks_widget()   # doctest: +SKIP
        >>> w.children[0].value = 1.0      # doctest: +SKIP
        >>> w.result["shares"]["feature"]  # doctest: +SKIP
        1.0
    """
    import ipywidgets as widgets

    words = DEFAULT_SENTENCE if sentence is None else check_words(sentence, "sentence", MAX_TOKENS)
    dim = check_int_between(dim, "dim", 1, MAX_DIM, "embedding features per token")
    seeds = seed_slider()
    seeds.value = check_int_between(seed, "seed", seeds.min, seeds.max, "the seed slider's range")
    style = {"description_width": "initial"}
    return live_widget(
        embedding_masks_demo,
        plot_embedding_masks,
        p=rate_slider(0.3),
        seed=seeds,
        dim=widgets.IntSlider(value=dim, min=1, max=MAX_DIM, description="features C", continuous_update=False),
        sentence=widgets.Text(
            value=" ".join(words),
            description="sentence",
            continuous_update=False,
            style=style,
            layout=widgets.Layout(width="60%"),
        ),
    )


def embedding_masks_twin(rates=(0.25, 0.5), seed: int = SHOWCASE_SEED, dim: int = 8, sentence=None):
    """Static twin of :func:`embedding_masks_widget`: one row per rate, the same embedding and seed.

    Every row draws from the same seed, so every row shows the same embedding.

    Args:
        rates: the drop probabilities shown, one row each. Default: ``(0.25, 0.5)``.
        seed: seed of the embedding and the masks. Default: :data:`SHOWCASE_SEED`.
        dim: embedding features per token. Default: 8.
        sentence: the sentence; ``None``: :data:`DEFAULT_SENTENCE`.

    Returns:
        The figure, with one subfigure per rate (when there are several), each drawn by
        :func:`plot_embedding_masks`.
    """
    import matplotlib.pyplot as plt

    if isinstance(rates, (str, bytes)) or not hasattr(rates, "__iter__"):
        raise TypeError(f"rates must be a sequence of drop probabilities, like (0.25, 0.5), got {rates!r}.")
    rates = tuple(check_probability(r, "every entry of rates") for r in rates)
    if not rates:
        raise ValueError("rates must contain at least one rate, got an empty sequence.")
    states = [embedding_masks_demo(r, seed, dim, sentence) for r in rates]
    t = len(states[0]["words"])
    fig = plt.figure(figsize=(14.5, len(rates) * (1.9 + 0.26 * t)), layout="constrained")
    subfigs = fig.subfigures(len(rates), 1) if len(rates) > 1 else [fig]
    for sub, state in zip(np.atleast_1d(subfigs), states):
        plot_embedding_masks(state, fig=sub)
    return fig
