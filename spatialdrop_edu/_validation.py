"""Argument checks shared by the whole package.

Every public function validates its arguments here, so that a wrong call fails at once with a
message that names the argument, what was given, and what is accepted.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

DATA_FORMATS = ("channels_first", "channels_last")


def check_probability(value, name: str = "p") -> float:
    """Return ``value`` as a float in ``[0, 1]``, or raise naming ``name``.

    Booleans, strings, NaN and values outside ``[0, 1]`` are refused.
    """
    if _is_scalar_tensor(value):  # torch.nn accepts p as a 0-d tensor: read its value once, here
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number in [0, 1] (the probability of dropping a unit), "
            f"got {value!r} of type {type(value).__name__}."
        )
    value = float(value)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(
            f"{name} must be a probability in [0, 1] (the probability of dropping a unit), got {value!r}."
        )
    return value


def check_unit_interval(value, name: str, meaning: str) -> float:
    """Return ``value`` as a float in ``[0, 1]`` (a fraction or a correlation, not a drop probability), or raise.

    ``meaning`` says what the number is, for the message: "a correlation between two coins".
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be {meaning} in [0, 1], got {value!r}.")
    return float(value)


def _is_scalar_tensor(value) -> bool:
    return type(value).__module__.startswith("torch") and getattr(value, "ndim", None) == 0 and hasattr(value, "item")


def check_choice(value, choices, name: str, *, allow_none: bool = False):
    """Return ``value`` if it is one of ``choices`` (or ``None`` where allowed), else raise naming ``name``."""
    if (allow_none and value is None) or (isinstance(value, str) and value in choices):
        return value
    accepted = ", ".join(repr(c) for c in choices) + (" or None" if allow_none else "")
    raise ValueError(f"{name} must be one of {accepted}, got {value!r}.")


def check_positive_int(value, name: str, meaning: str = "") -> int:
    """Return ``value`` as an int >= 1, or raise naming ``name`` (``meaning`` says what it counts)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        what = f" ({meaning})" if meaning else ""
        raise ValueError(f"{name} must be a positive int{what}, got {value!r}.")
    return int(value)


def check_non_negative_int(value, name: str, meaning: str = "") -> int:
    """Return ``value`` as an int >= 0, or raise naming ``name`` (``meaning`` says what it counts)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        what = f" ({meaning})" if meaning else ""
        raise ValueError(f"{name} must be a non-negative int{what}, got {value!r}.")
    return int(value)


def check_number_at_least(value, name: str, minimum: float, meaning: str = "") -> float:
    """Return ``value`` as a float >= ``minimum`` (not NaN), or raise naming ``name`` and what it means."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value) or value < minimum:
        what = f" ({meaning})" if meaning else ""
        raise ValueError(f"{name} must be a number >= {minimum:g}{what}, got {value!r}.")
    return float(value)


def check_draws(value) -> int:
    """Return ``value`` as the positive number of random draws a demonstration averages, or raise."""
    return check_positive_int(value, "draws", "the number of dropout calls to average")


def check_optional_seed(value, name: str = "seed"):
    """Return ``None`` or a valid seed (see :func:`check_seed`)."""
    return None if value is None else check_seed(value, name)


def check_seed(value, name: str = "seed") -> int:
    """Return ``value`` as an int seed in ``[0, 2**32 - 1]`` (what NumPy and PyTorch accept), or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < 2**32:
        raise ValueError(f"{name} must be an int in [0, 2**32 - 1], got {value!r}.")
    return int(value)


def check_rng(rng):
    """Return ``rng`` if it is a ``numpy.random.Generator``, else raise."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator, e.g. numpy.random.default_rng(0), got {type(rng).__name__}."
        )
    return rng


def check_generator(value, name: str = "generator"):
    """Return ``None`` or a ``torch.Generator``, else raise naming ``name``."""
    if value is None or type(value).__name__ == "Generator" and type(value).__module__.startswith("torch"):
        return value
    raise TypeError(f"{name} must be None or a torch.Generator, e.g. torch.Generator().manual_seed(0), "
                    f"got {type(value).__name__}.")


def check_data_format(value) -> str:
    """Return ``value`` if it is ``"channels_first"`` or ``"channels_last"``, else raise."""
    if not isinstance(value, str) or value not in DATA_FORMATS:
        raise ValueError(
            f"data_format must be 'channels_first' (PyTorch: N, C, ...) or 'channels_last' "
            f"(Keras: N, ..., C), got {value!r}."
        )
    return value


def check_shape(value, name: str = "input_shape") -> tuple[int, ...]:
    """Return ``value`` as a tuple of non-negative ints, or raise naming ``name``."""
    if type(value) is not str and isinstance(value, tuple) and all(type(d) is int and d >= 0 for d in value):
        return tuple(value)  # fast path: torch.Size and plain tuples of ints
    try:
        dims = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of non-negative ints, got {value!r}.") from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 0:
            raise ValueError(f"{name} must be a sequence of non-negative ints, got {value!r}.")
    return tuple(int(d) for d in dims)


def check_chapter(value) -> str:
    """Return ``value`` if it names a chapter as its notebook's file name without ``.ipynb``, else raise."""
    if not isinstance(value, str) or not value or not all(ch.isalnum() or ch in "_-" for ch in value):
        raise ValueError(f"chapter must be a chapter's notebook name without '.ipynb', such as '06_train_mnist1d', "
                         f"got {value!r}.")
    return value
