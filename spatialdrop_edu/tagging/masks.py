"""Four ways to drop from an embedded sentence batch ``(N, T, C)``: values, features, tokens, word types.

A text model embeds each token: a batch of ``N`` sentences of ``T`` tokens becomes a tensor
``(N, T, C)`` of ``C`` embedding features, channels last (Keras' layout). Dropout multiplies it by a
mask of zeros (dropped) and ``1 / (1 - p)`` (kept, so that the expected output equals the input);
what differs is which entries share one coin:

================  ==============  ==============================================================
variant           mask shape      one coin per
================  ==============  ==============================================================
``"element"``     ``(N, T, C)``   value: ``Dropout``
``"feature"``     ``(N, 1, C)``   sentence and embedding feature, at every token:
                                  ``SpatialDropout1D``, Gal and Ghahramani's variational dropout
                                  on the input
``"token"``       ``(N, T, 1)``   token: a whole word vector, each occurrence on its own
``"word_type"``   ``(N, T, 1)``   sentence and vocabulary entry: every occurrence of a word in a
                                  sentence vanishes together (Gal and Ghahramani's embedding
                                  dropout), drawn as ``(N, V)`` coins and gathered per token
================  ==============  ==============================================================

The first three are noise shapes of the package's own layers, and their masks are drawn by them
(:func:`~spatialdrop_edu.layers.dropout.dropout` with the noise shape): from the same generator state,
:func:`element_mask` draws the coins of :class:`~spatialdrop_edu.layers.dropout.Dropout`,
:func:`feature_mask` those of :class:`~spatialdrop_edu.layers.dropout.SpatialDropout1d` with
``data_format="channels_last"``, and :func:`token_mask` those of ``Dropout(p, noise_shape=(None, None,
1))``. The fourth is not a noise shape of ``(N, T, C)`` at all: the same coin must reach every position
that holds the same word, so it is drawn per vocabulary entry and gathered by the token ids.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import (
    check_choice,
    check_generator,
    check_input,
    check_instance,
    check_positive_int,
    check_probability,
    check_shape,
    check_token_ids,
)
from ..layers.dropout import Dropout, SpatialDropout1d, dropout
from ..layers.noise_shapes import resolve_noise_shape

__all__ = [
    "VARIANTS",
    "TOKEN_NOISE_SHAPE",
    "element_mask",
    "feature_mask",
    "token_mask",
    "word_type_mask",
    "embedding_mask",
    "apply_mask",
    "EmbeddingDropout",
]

#: The dropout variants of an embedded batch; ``"none"`` drops nothing.
VARIANTS = ("none", "element", "feature", "token", "word_type")
#: The noise shape of token dropout on ``(N, T, C)``: one coin per token, shared by its features.
TOKEN_NOISE_SHAPE = (None, None, 1)


def _embedded_shape(input_shape) -> tuple[int, int, int]:
    shape = check_shape(input_shape)
    if len(shape) != 3:
        raise ValueError(
            f"input_shape must be an embedded batch (N, T, C): sentences, tokens, features, got {shape} "
            f"with {len(shape)} axes."
        )
    return shape


def _coins(noise_shape, p: float, generator, dtype, device) -> torch.Tensor:
    """A mask of ``noise_shape``: 0 with probability ``p``, else ``1 / (1 - p)``, drawn by the package's dropout."""
    return dropout(torch.ones(noise_shape, dtype=dtype, device=device), p, generator=generator)


def element_mask(
    input_shape, p: float, generator: torch.Generator | None = None, *, dtype=torch.float32, device=None
) -> torch.Tensor:
    r"""The mask of element dropout: one coin per value of ``(N, T, C)``.

    Args:
        input_shape: the embedded batch's shape ``(N, T, C)``.
        p: probability of dropping a value, in ``[0, 1]``.
        generator: the ``torch.Generator`` to draw from; ``None``: PyTorch's global one.
        dtype: the mask's floating-point dtype. Default: ``torch.float32``.
        device: the mask's device (the generator's). Default: the CPU.

    Shape:
        - Output: :math:`(N, T, C)`, zeros and :math:`\frac{1}{1-p}`.

    Examples::

        >>> m = element_mask((2, 3, 4), 0.5, torch.Generator().manual_seed(0))
        >>> m.shape, sorted(m.unique().tolist()) == [0.0, 2.0]
        (torch.Size([2, 3, 4]), True)
    """
    shape = _embedded_shape(input_shape)
    return _coins(shape, check_probability(p), check_generator(generator), dtype, device)


def feature_mask(
    input_shape, p: float, generator: torch.Generator | None = None, *, dtype=torch.float32, device=None
) -> torch.Tensor:
    r"""The mask of feature dropout (SpatialDropout1D): one coin per sentence and feature, at every token.

    The coins of :class:`~spatialdrop_edu.layers.dropout.SpatialDropout1d` with
    ``data_format="channels_last"``, drawn from the same generator state in the same way.

    Args:
        input_shape: the embedded batch's shape ``(N, T, C)``.
        p: probability of dropping a feature of a sentence, in ``[0, 1]``.
        generator: the ``torch.Generator`` to draw from; ``None``: PyTorch's global one.
        dtype: the mask's floating-point dtype. Default: ``torch.float32``.
        device: the mask's device (the generator's). Default: the CPU.

    Shape:
        - Output: :math:`(N, 1, C)`, zeros and :math:`\frac{1}{1-p}`; it broadcasts over the tokens.

    Examples::

        >>> m = feature_mask((2, 5, 4), 0.5, torch.Generator().manual_seed(0))
        >>> m.shape
        torch.Size([2, 1, 4])
    """
    n, _, c = _embedded_shape(input_shape)
    return _coins((n, 1, c), check_probability(p), check_generator(generator), dtype, device)


def token_mask(
    input_shape, p: float, generator: torch.Generator | None = None, *, dtype=torch.float32, device=None
) -> torch.Tensor:
    r"""The mask of token dropout: one coin per token, shared by all its features.

    Each occurrence of a word is dropped on its own: "the" can vanish at one position and stay at
    another. The coins of ``Dropout(p, noise_shape=(None, None, 1))``.

    Args:
        input_shape: the embedded batch's shape ``(N, T, C)``.
        p: probability of dropping a token, in ``[0, 1]``.
        generator: the ``torch.Generator`` to draw from; ``None``: PyTorch's global one.
        dtype: the mask's floating-point dtype. Default: ``torch.float32``.
        device: the mask's device (the generator's). Default: the CPU.

    Shape:
        - Output: :math:`(N, T, 1)`, zeros and :math:`\frac{1}{1-p}`; it broadcasts over the features.

    Examples::

        >>> token_mask((2, 5, 4), 0.5).shape
        torch.Size([2, 5, 1])
    """
    n, t, _ = _embedded_shape(input_shape)
    return _coins((n, t, 1), check_probability(p), check_generator(generator), dtype, device)


def word_type_mask(
    tokens: torch.Tensor, vocab_size: int, p: float, generator: torch.Generator | None = None, *, dtype=torch.float32
) -> torch.Tensor:
    r"""The mask of word-type dropout: one coin per sentence and vocabulary entry, gathered per token.

    Every occurrence of a word in a sentence shares one coin, so a dropped word vanishes from the whole
    sentence; different sentences flip their own coins. This is the embedding dropout of Gal and
    Ghahramani (2016): the noise shape ``(V, 1)`` on the embedding matrix, one matrix per sentence.
    ``N * vocab_size`` coins are drawn, whatever the sentences hold; the padding id's coin, if any, is
    drawn too (padding embeds to zeros in a tagger with ``padding_idx``, so it changes nothing).

    Args:
        tokens: the token ids ``(N, T)``, integers in ``[0, vocab_size)``; the mask is made on their device.
        vocab_size: the number of word ids (the rows of the embedding matrix).
        p: probability of dropping a word type from a sentence, in ``[0, 1]``.
        generator: the ``torch.Generator`` to draw from; ``None``: PyTorch's global one.
        dtype: the mask's floating-point dtype. Default: ``torch.float32``.

    Shape:
        - Input: ``tokens`` :math:`(N, T)`.
        - Output: :math:`(N, T, 1)`, zeros and :math:`\frac{1}{1-p}`; it broadcasts over the features.

    Examples::

        >>> tokens = torch.tensor([[5, 2, 7, 5, 9]])   # word 5 twice
        >>> m = word_type_mask(tokens, 10, 0.5, torch.Generator().manual_seed(1))
        >>> m.shape, bool(m[0, 0] == m[0, 3])
        (torch.Size([1, 5, 1]), True)
    """
    vocab_size = check_positive_int(vocab_size, "vocab_size", "word ids, the rows of the embedding matrix")
    tokens = check_token_ids(tokens, vocab_size)
    p = check_probability(p)
    coins = _coins((tokens.shape[0], vocab_size), p, check_generator(generator), dtype, tokens.device)
    return coins.gather(1, tokens.long()).unsqueeze(-1)


def embedding_mask(
    variant: str,
    input_shape,
    p: float,
    generator: torch.Generator | None = None,
    *,
    tokens: torch.Tensor | None = None,
    vocab_size: int | None = None,
    dtype=torch.float32,
    device=None,
) -> torch.Tensor:
    r"""The mask of one variant of :data:`VARIANTS`, by name (``"none"``: ones of shape ``(1, 1, 1)``).

    Args:
        variant: ``"none"``, ``"element"``, ``"feature"``, ``"token"`` or ``"word_type"``.
        input_shape: the embedded batch's shape ``(N, T, C)``.
        p: the drop probability, in ``[0, 1]``.
        generator: the ``torch.Generator`` to draw from; ``None``: PyTorch's global one.
        tokens: the token ids ``(N, T)``; needed by ``"word_type"`` only.
        vocab_size: the number of word ids; needed by ``"word_type"`` only.
        dtype: the mask's floating-point dtype. Default: ``torch.float32``.
        device: the mask's device. Default: the CPU (``tokens``' device for ``"word_type"``).

    Examples::

        >>> [tuple(embedding_mask(v, (2, 5, 4), 0.5).shape)
        ...  for v in ("element", "feature", "token")]
        [(2, 5, 4), (2, 1, 4), (2, 5, 1)]
    """
    check_choice(variant, VARIANTS, "variant")
    shape = _embedded_shape(input_shape)
    if variant == "word_type":
        if tokens is None or vocab_size is None:
            raise ValueError("variant='word_type' needs the tokens (N, T) and vocab_size: one coin per word type.")
        tokens = check_token_ids(tokens)
        if tuple(tokens.shape) != shape[:2]:
            raise ValueError(f"tokens must have shape (N, T) = {shape[:2]} of input_shape, got {tuple(tokens.shape)}.")
        return word_type_mask(tokens, vocab_size, p, generator, dtype=dtype)
    if variant == "none":
        check_probability(p)
        return torch.ones((1, 1, 1), dtype=dtype, device=device)
    draw = {"element": element_mask, "feature": feature_mask, "token": token_mask}[variant]
    return draw(shape, p, generator, dtype=dtype, device=device)


def apply_mask(input: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Multiply an embedded batch by a mask that broadcasts to it: inverted dropout, the mask already scaled.

    Args:
        input: the embedded batch ``(N, T, C)``, floating point.
        mask: a mask of :func:`element_mask`, :func:`feature_mask`, :func:`token_mask` or
            :func:`word_type_mask` (zeros and ``1 / (1 - p)``), or any tensor that broadcasts to ``input``.

    Shape:
        - Input: :math:`(N, T, C)`; mask :math:`(N, T, C)`, :math:`(N, 1, C)` or :math:`(N, T, 1)`.
        - Output: :math:`(N, T, C)`.

    Examples::

        >>> x = torch.ones(2, 3, 4)
        >>> y = apply_mask(x, feature_mask(x.shape, 0.5))
        >>> bool((y == y[:, :1]).all())   # the same features dropped at every token
        True
    """
    check_input(input)
    _embedded_shape(input.shape)
    check_instance(mask, torch.Tensor, "mask", "a tensor that broadcasts to the input (N, T, C)")
    resolve_noise_shape(input.shape, tuple(mask.shape))
    return input * mask


class EmbeddingDropout(nn.Module):
    r"""Dropout of an embedded batch ``(N, T, C)`` by one of :data:`VARIANTS`: values, features, tokens or word types.

    In training mode the embedded batch is multiplied by the variant's mask (zeros, and :math:`\frac{1}{1-p}`
    on what is kept, so the expected output equals the input); in evaluation mode (``module.eval()``),
    with ``p = 0`` or with ``variant="none"`` it is the identity. ``"element"``, ``"feature"`` and
    ``"token"`` are the package's own layers (:class:`~spatialdrop_edu.layers.dropout.Dropout`,
    :class:`~spatialdrop_edu.layers.dropout.SpatialDropout1d` with ``data_format="channels_last"`` and
    ``Dropout(p, noise_shape=(None, None, 1))``); ``"word_type"`` gathers :func:`word_type_mask`.

    Args:
        variant: ``"none"``, ``"element"``, ``"feature"`` (SpatialDropout1D), ``"token"`` or
            ``"word_type"``.
        p: probability of dropping a value, a feature, a token or a word type, in ``[0, 1]``; must be 0
            for ``"none"``. Default: 0.5, and 0 for ``"none"``.
        vocab_size: keyword-only; the number of word ids, needed by ``"word_type"``.

    Shape:
        - Input: :math:`(N, T, C)`, channels last; ``tokens`` :math:`(N, T)`, needed by ``"word_type"``.
        - Output: :math:`(N, T, C)`, the same shape as the input.

    Examples::

        >>> m = EmbeddingDropout("feature", p=0.2)
        >>> y = m(torch.randn(8, 12, 32))
        >>> tokens = torch.randint(1, 100, (8, 12))
        >>> words = EmbeddingDropout("word_type", p=0.1, vocab_size=100)
        >>> y = words(torch.randn(8, 12, 32), tokens)
        >>> # coins of a generator
        >>> g = torch.Generator().manual_seed(0)
        >>> a = m(torch.ones(2, 3, 4), generator=g.manual_seed(0))
        >>> b = m(torch.ones(2, 3, 4), generator=g.manual_seed(0))
        >>> torch.equal(a, b)
        True
    """

    def __init__(self, variant: str = "feature", p: float | None = None, *, vocab_size: int | None = None):
        super().__init__()
        self.variant = check_choice(variant, VARIANTS, "variant")
        if vocab_size is not None:
            vocab_size = check_positive_int(vocab_size, "vocab_size", "word ids, the rows of the embedding matrix")
        elif variant == "word_type":
            raise ValueError("variant='word_type' needs vocab_size, the number of word ids: one coin per word type.")
        self.vocab_size = vocab_size
        layers = {
            "element": lambda: Dropout(0.5),
            "feature": lambda: SpatialDropout1d(0.5, data_format="channels_last"),
            "token": lambda: Dropout(0.5, noise_shape=TOKEN_NOISE_SHAPE),
        }
        self.layer = layers[variant]() if variant in layers else None
        self.p = (0.0 if variant == "none" else 0.5) if p is None else p

    @property
    def p(self) -> float:
        """The drop probability, in ``[0, 1]`` (0 for ``"none"``), checked whenever it is set."""
        return self._p

    @p.setter
    def p(self, value) -> None:
        value = check_probability(value)
        if self.variant == "none" and value != 0.0:
            raise ValueError(f"p must be 0 with variant='none', which drops nothing, got {value!r}; choose a variant.")
        if self.layer is not None:
            self.layer.p = value
        self._p = value

    def forward(
        self, input: torch.Tensor, tokens: torch.Tensor | None = None, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        check_input(input)
        _embedded_shape(input.shape)
        check_generator(generator)
        if self.variant == "word_type":
            if tokens is None:
                raise ValueError(
                    "variant='word_type' needs the token ids: call it as dropout(embedded, tokens), "
                    "tokens of shape (N, T)."
                )
            check_token_ids(tokens, self.vocab_size)
            if tuple(tokens.shape) != tuple(input.shape[:2]):
                raise ValueError(
                    f"tokens must have the input's (N, T) = {tuple(input.shape[:2])}, got {tuple(tokens.shape)}."
                )
        if not self.training or self.p == 0.0 or self.variant == "none":
            return input
        if self.layer is not None:
            return self.layer(input, generator=generator)
        return input * word_type_mask(tokens, self.vocab_size, self.p, generator, dtype=input.dtype)

    def extra_repr(self) -> str:
        extra = "" if self.vocab_size is None else f", vocab_size={self.vocab_size}"
        return f"variant={self.variant!r}, p={self.p}{extra}"
