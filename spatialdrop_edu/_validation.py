"""Argument checks shared by the whole package: every one lives here.

Every public function validates its arguments with these, so that a wrong call fails at once with a
message that names the argument, what was given, and what is accepted (scikit-learn's convention).
One rule decides the error type, for every check:

* a value of the wrong **type** raises ``TypeError``: a string or a bool where a number goes, a
  float where an int goes, a list where a tensor goes;
* a value of the right type that is **out of range** (negative, NaN, above 1, the wrong rank)
  raises ``ValueError``. A choice from a fixed set of names (``"channels_first"``, a dropout
  variant) is a value: anything else given there raises ``ValueError``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

DATA_FORMATS = ("channels_first", "channels_last")


# -- numbers ---------------------------------------------------------------------------------------


def _real(value, name: str, expected: str) -> float:
    """``value`` as a float if it is a real number (not a bool), else a ``TypeError`` naming ``expected``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {expected}, got {value!r} of type {type(value).__name__}.")
    return float(value)


def _integer(value, name: str, expected: str) -> int:
    """``value`` as an int if it is an integer (not a bool), else a ``TypeError`` naming ``expected``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {expected}, got {value!r} of type {type(value).__name__}.")
    return int(value)


def _meaning(meaning: str) -> str:
    return f" ({meaning})" if meaning else ""


def check_probability(value, name: str = "p") -> float:
    """Return ``value`` as a float in ``[0, 1]`` (a drop probability; a 0-d tensor is read once), or raise."""
    if isinstance(value, torch.Tensor) and value.ndim == 0:  # torch.nn accepts p as a 0-d tensor: read it here
        value = value.item()
    value = _real(value, name, "a real number in [0, 1] (the probability of dropping a unit)")
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1] (the probability of dropping a unit), got {value!r}.")
    return value


def check_unit_interval(value, name: str, meaning: str) -> float:
    """Return ``value`` as a float in ``[0, 1]`` (a fraction or a correlation, not a drop probability), or raise.

    ``meaning`` says what the number is, for the message: "a correlation between two coins".
    """
    number = _real(value, name, f"{meaning} in [0, 1]")
    if math.isnan(number) or not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} must be {meaning} in [0, 1], got {value!r}.")
    return number


def check_open_unit_interval(value, name: str, meaning: str) -> float:
    """Return ``value`` as a float strictly between 0 and 1 (a share that leaves something on both sides), or raise."""
    number = _real(value, name, f"{meaning} in (0, 1)")
    if not 0.0 < number < 1.0:
        raise ValueError(f"{name} must be {meaning} in (0, 1), got {value!r}.")
    return number


def check_number_at_least(value, name: str, minimum: float, meaning: str = "") -> float:
    """Return ``value`` as a float >= ``minimum`` (not NaN), or raise naming ``name`` and what it means."""
    number = _real(value, name, f"a number >= {minimum:g}{_meaning(meaning)}")
    if math.isnan(number) or number < minimum:
        raise ValueError(f"{name} must be a number >= {minimum:g}{_meaning(meaning)}, got {value!r}.")
    return number


def check_positive_number(value, name: str, meaning: str = "") -> float:
    """Return ``value`` as a finite float > 0, or raise naming ``name`` and what it means."""
    number = _real(value, name, f"a positive number{_meaning(meaning)}")
    if not 0.0 < number < math.inf:
        raise ValueError(f"{name} must be a positive number{_meaning(meaning)}, got {value!r}.")
    return number


def check_non_negative_number(value, name: str, meaning: str = "") -> float:
    """Return ``value`` as a finite float >= 0, or raise naming ``name`` and what it means."""
    number = _real(value, name, f"a finite number >= 0{_meaning(meaning)}")
    if not 0.0 <= number < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0{_meaning(meaning)}, got {value!r}.")
    return number


def check_positive_int(value, name: str, meaning: str = "") -> int:
    """Return ``value`` as an int >= 1, or raise naming ``name`` (``meaning`` says what it counts)."""
    number = _integer(value, name, f"a positive int{_meaning(meaning)}")
    if number < 1:
        raise ValueError(f"{name} must be a positive int{_meaning(meaning)}, got {value!r}.")
    return number


def check_non_negative_int(value, name: str, meaning: str = "") -> int:
    """Return ``value`` as an int >= 0, or raise naming ``name`` (``meaning`` says what it counts)."""
    number = _integer(value, name, f"a non-negative int{_meaning(meaning)}")
    if number < 0:
        raise ValueError(f"{name} must be a non-negative int{_meaning(meaning)}, got {value!r}.")
    return number


def check_int_between(value, name: str, low: int, high: int, meaning: str = "") -> int:
    """Return ``value`` as an int from ``low`` to ``high`` (both included), or raise naming ``name``."""
    number = _integer(value, name, f"an int from {low} to {high}{_meaning(meaning)}")
    if not low <= number <= high:
        raise ValueError(f"{name} must be an int from {low} to {high}{_meaning(meaning)}, got {value!r}.")
    return number


def check_draws(value) -> int:
    """Return ``value`` as the positive number of random draws a demonstration averages, or raise."""
    return check_positive_int(value, "draws", "the number of dropout calls to average")


def check_block_size(value) -> int:
    """Return ``value`` as DropBlock's block side, a positive int, or raise."""
    return check_positive_int(value, "block_size", "the side of a dropped block, in units")


def check_seed(value, name: str = "seed") -> int:
    """Return ``value`` as an int seed in ``[0, 2**32 - 1]`` (what NumPy and PyTorch accept), or raise."""
    seed = _integer(value, name, "an int in [0, 2**32 - 1]")
    if not 0 <= seed < 2**32:
        raise ValueError(f"{name} must be an int in [0, 2**32 - 1], got {value!r}.")
    return seed


def check_optional_seed(value, name: str = "seed"):
    """Return ``None`` or a valid seed (see :func:`check_seed`)."""
    return None if value is None else check_seed(value, name)


# -- choices ---------------------------------------------------------------------------------------


def check_choice(value, choices, name: str, *, allow_none: bool = False):
    """Return ``value`` if it is one of ``choices`` (or ``None`` where allowed), else raise naming ``name``."""
    if (allow_none and value is None) or (isinstance(value, str) and value in choices):
        return value
    accepted = ", ".join(repr(c) for c in choices) + (" or None" if allow_none else "")
    raise ValueError(f"{name} must be one of {accepted}, got {value!r}.")


def check_data_format(value) -> str:
    """Return ``value`` if it is ``"channels_first"`` or ``"channels_last"``, else raise."""
    if not isinstance(value, str) or value not in DATA_FORMATS:
        raise ValueError(
            f"data_format must be 'channels_first' (PyTorch: N, C, ...) or 'channels_last' "
            f"(Keras: N, ..., C), got {value!r}."
        )
    return value


def check_spatial_dims(value, accepted=(1, 2, 3)) -> int:
    """Return ``value`` as a number of spatial axes among ``accepted`` (1: sequences, 2: images, 3: volumes)."""
    expected = ", ".join(str(d) for d in accepted[:-1]) + f" or {accepted[-1]}"
    dims = _integer(value, "spatial_dims", expected)
    if dims not in accepted:
        raise ValueError(f"spatial_dims must be {expected}, got {value!r}.")
    return dims


# -- objects ---------------------------------------------------------------------------------------


def check_rng(rng):
    """Return ``rng`` if it is a ``numpy.random.Generator``, else raise."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator, e.g. numpy.random.default_rng(0), got {type(rng).__name__}."
        )
    return rng


def check_generator(value, name: str = "generator"):
    """Return ``None`` or a ``torch.Generator``, else raise naming ``name``."""
    if value is None or isinstance(value, torch.Generator):
        return value
    raise TypeError(
        f"{name} must be None or a torch.Generator, e.g. torch.Generator().manual_seed(0), got {type(value).__name__}."
    )


def check_inplace(value) -> bool:
    """``inplace`` is a bool, as in ``torch.nn.Dropout``; a string here is a data format given by position."""
    if not isinstance(value, bool):
        hint = " (data_format is keyword-only: data_format='channels_last')" if isinstance(value, str) else ""
        raise TypeError(f"inplace must be True or False, got {value!r}{hint}.")
    return value


def check_bool(value, name: str, meaning: str = "") -> bool:
    """Return ``value`` if it is a bool, else raise naming ``name`` (``meaning`` says what it switches on)."""
    if not isinstance(value, bool):
        raise TypeError(
            f"{name} must be True or False{_meaning(meaning)}, got {value!r} of type {type(value).__name__}."
        )
    return value


def check_instance(value, kind: type, name: str, expected: str):
    """Return ``value`` if it is an instance of ``kind``, else raise naming ``name`` and what is ``expected``."""
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__}.")
    return value


def check_words(value, name: str = "sentence", most: int | None = None) -> tuple[str, ...]:
    """Return a sentence as a tuple of words: a str split at whitespace, or a sequence of non-empty strs.

    Each word is a token (no whitespace inside); ``most`` caps how many there may be.

    Examples::

        >>> check_words("the cat saw the dog .")
        ('the', 'cat', 'saw', 'the', 'dog', '.')
    """
    expected = "a str of words separated by spaces, or a sequence of words, like 'the cat saw the dog .'"
    if isinstance(value, str):
        words = tuple(value.split())
    elif isinstance(value, bytes) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be {expected}, got {value!r} of type {type(value).__name__}.")
    else:
        words = tuple(value)
        for word in words:
            if not isinstance(word, str):
                raise TypeError(f"every word of {name} must be a str, got {word!r} of type {type(word).__name__}.")
            if not word or word != "".join(word.split()):
                raise ValueError(f"every word of {name} must be a non-empty str without spaces, got {word!r}.")
    if not words:
        raise ValueError(f"{name} must hold at least one word ({expected}), got {value!r}.")
    if most is not None and len(words) > most:
        raise ValueError(f"{name} must hold at most {most} words, got {len(words)}.")
    return words


# -- shapes and tensors ----------------------------------------------------------------------------


def check_token_ids(tokens, vocab_size: int | None = None, name: str = "tokens") -> torch.Tensor:
    """Return ``tokens`` if it is a rank-2 integer tensor ``(N, T)`` of ids below ``vocab_size``, else raise.

    Examples::

        >>> check_token_ids(torch.tensor([[1, 2, 0]]), 3).shape
        torch.Size([1, 3])
        >>> check_token_ids(torch.tensor([[1, 5]]), 3)
        Traceback (most recent call last):
        ...
        ValueError: tokens must hold ids in [0, 2] (vocab_size 3), got ids from 1 to 5.
    """
    check_instance(tokens, torch.Tensor, name, "a tensor of token ids (N, T), e.g. torch.tensor([[4, 7, 0]])")
    if tokens.is_floating_point() or tokens.is_complex() or tokens.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor of token ids, got dtype {tokens.dtype}.")
    if tokens.dim() != 2:
        raise ValueError(f"{name} must have shape (N, T): sentences, tokens, got shape {tuple(tokens.shape)}.")
    if vocab_size is not None and tokens.numel():
        low, high = int(tokens.min()), int(tokens.max())
        if low < 0 or high >= vocab_size:
            raise ValueError(
                f"{name} must hold ids in [0, {vocab_size - 1}] (vocab_size {vocab_size}), "
                f"got ids from {low} to {high}."
            )
    return tokens


def check_shape(value, name: str = "input_shape") -> tuple[int, ...]:
    """Return ``value`` as a tuple of non-negative ints, or raise naming ``name``."""
    if type(value) is not str and isinstance(value, tuple) and all(type(d) is int and d >= 0 for d in value):
        return tuple(value)  # fast path: torch.Size and plain tuples of ints
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a sequence of non-negative ints, got {value!r}.")
    dims = tuple(value)
    for d in dims:
        _integer(d, f"every entry of {name}", f"a non-negative int (in {value!r})")
        if d < 0:
            raise ValueError(f"{name} must be a sequence of non-negative ints, got {value!r}.")
    return tuple(int(d) for d in dims)


def check_noise_shape(noise_shape, name: str = "noise_shape"):
    """Return ``noise_shape`` as a tuple of positive ints and ``None``s (or ``None``), or raise naming ``name``.

    What a layer checks once, when it is built; whether the noise shape broadcasts to an input is
    checked by :func:`~spatialdrop_edu.layers.noise_shapes.resolve_noise_shape` when the input is there.

    Examples::

        >>> check_noise_shape([None, 1, 8])
        (None, 1, 8)
    """
    if noise_shape is None:
        return None
    if isinstance(noise_shape, (str, bytes)) or not hasattr(noise_shape, "__iter__"):
        raise TypeError(
            f"{name} must be None or a sequence of positive ints or None, such as (None, 1, 8), got {noise_shape!r}."
        )
    entries = tuple(noise_shape)
    for d in entries:
        if d is not None and _integer(d, f"every entry of {name}", f"a positive int or None (in {noise_shape!r})") < 1:
            raise ValueError(f"{name} entries must be positive ints or None, got {noise_shape!r}.")
    return tuple(d if d is None else int(d) for d in entries)


def check_input(input) -> None:
    """Refuse what dropout cannot scale: anything but a floating-point tensor."""
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"input must be a torch.Tensor, got {type(input).__name__}.")
    if not input.is_floating_point():
        raise TypeError(
            f"input must be a floating-point tensor (kept units are scaled by 1/(1-p)), got dtype {input.dtype}."
        )


def check_batched_rank(input: torch.Tensor, spatial_dims: int, data_format: str, layer: str) -> None:
    """Refuse an input that is not a batch ``(N, C, *spatial)`` (or ``(N, *spatial, C)``) of ``spatial_dims`` axes."""
    if input.dim() != spatial_dims + 2:
        space = "L" if spatial_dims == 1 else "H, W"
        axes = f"N, C, {space}" if data_format == "channels_first" else f"N, {space}, C"
        raise ValueError(
            f"{layer} needs a batched rank-{spatial_dims + 2} input ({axes}) with {data_format}, got shape "
            f"{tuple(input.shape)}; add a batch axis with input.unsqueeze(0)."
        )


def check_min_rank(x, minimum: int, name: str) -> None:
    """Refuse a tensor or array with fewer than ``minimum`` axes (a batch, its channels and a spatial axis)."""
    if not isinstance(x, torch.Tensor):
        x = np.asarray(x)
    if x.ndim < minimum:
        raise ValueError(
            f"{name} must have at least {minimum} axes (batch, channels and a spatial axis), "
            f"got shape {tuple(x.shape)}."
        )


# -- names -----------------------------------------------------------------------------------------


def check_chapter(value) -> str:
    """Return ``value`` if it names a chapter as its notebook's file name without ``.ipynb``, else raise."""
    if not isinstance(value, str):
        raise TypeError(
            f"chapter must be a chapter's notebook name (a str) without '.ipynb', such as "
            f"'06_train_mnist1d', got {value!r} of type {type(value).__name__}."
        )
    if not value or not all(ch.isalnum() or ch in "_-" for ch in value):
        raise ValueError(
            f"chapter must be a chapter's notebook name without '.ipynb', such as '06_train_mnist1d', got {value!r}."
        )
    return value
