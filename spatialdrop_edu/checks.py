"""Checkers for the chapters' exercises: specific feedback, statistical bounds, no hangs.

The contract every checker follows (the grading tools rely on it):

* it is called ``check_<name>(student_answer, ...)``;
* on a wrong answer it raises :class:`ExerciseFailure` (an ``AssertionError``) whose message says
  what was measured, what was expected, and the likely cause;
* on a right answer it prints one line starting with ``Correct:`` and returns ``None``;
* an exception raised by the student's code becomes an :class:`ExerciseFailure` naming the
  original error, and a call that runs longer than ``TIME_LIMIT_S`` seconds is stopped
  (where ``SIGALRM`` is available, i.e. on Linux and macOS in the main thread);
* random behaviour is tested against bounds derived from its distribution
  (``SIGMAS`` standard deviations), with the checker's own seeded generator, so a correct
  answer fails about once in 1.7 million runs and a given answer always gets the same verdict.
"""

from __future__ import annotations

import math
import signal
import threading

import numpy as np

from .noise_shapes import coin_flips, noise_shape

#: Width of every statistical bound, in standard deviations.
SIGMAS = 5.0
#: Seconds one call of the student's code may take.
TIME_LIMIT_S = 20


class ExerciseFailure(AssertionError):
    """A wrong answer to an exercise; the message is the feedback for the learner."""


class _TimeUp(BaseException):
    pass


def _fail(message: str):
    raise ExerciseFailure(message)


def _call(fn, *args, what: str, **kwargs):
    """Call the student's ``fn``; turn any error or a run past TIME_LIMIT_S into ExerciseFailure."""
    if not callable(fn):
        _fail(f"{what} must be a function, got {type(fn).__name__}: define it with `def` and pass the function itself.")
    use_alarm = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    previous = None
    if use_alarm:
        def on_alarm(signum, frame):
            raise _TimeUp()

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(TIME_LIMIT_S)
    try:
        return fn(*args, **kwargs)
    except _TimeUp:
        _fail(f"{what} ran for more than {TIME_LIMIT_S} s and was stopped: is there an endless loop?")
    except NotImplementedError:
        _fail(f"{what} raised NotImplementedError: replace `raise NotImplementedError()` with your solution.")
    except ExerciseFailure:
        raise
    except Exception as err:  # the student's bug, reported rather than crashing the checker
        _fail(f"{what} raised {type(err).__name__}: {err}")
    finally:
        if use_alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)


def _as_array(value, what: str) -> np.ndarray:
    if value is None:
        _fail(f"{what} returned None: did you forget the `return` statement?")
    try:
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        _fail(f"{what} must return an array, got {type(value).__name__}.")


def _mean_bound(p: float, n: int) -> float:
    """SIGMAS-wide half-width for the mean of n independent inverted-dropout coins (mean 1, var p/(1-p))."""
    return SIGMAS * math.sqrt(p / ((1.0 - p) * n))


def _fraction_bound(p: float, n: int) -> float:
    """SIGMAS-wide half-width for the fraction of n Bernoulli(p) trials that succeed."""
    return SIGMAS * math.sqrt(p * (1.0 - p) / n)


def _check_inverted_output(y: np.ndarray, x_shape, p: float, flips: int, what: str) -> None:
    """Shared checks of one inverted-dropout output on ones: shape, values, drop rate, mean."""
    if y.shape != tuple(x_shape):
        _fail(f"{what} returned shape {y.shape}, expected the input's shape {tuple(x_shape)}.")
    if not np.isfinite(y).all():
        _fail(f"{what} returned NaN or infinite values with p = {p}: avoid dividing by zero.")
    scale = 1.0 / (1.0 - p)
    kept_value_ok = np.isclose(y, scale) | (y == 0)
    if not kept_value_ok.all():
        bad = np.unique(np.round(y[~kept_value_ok], 4))[:3].tolist()
        hint = " Did you forget to scale kept units by 1/(1-p)?" if np.isclose(bad[0], 1.0) else ""
        hint = hint or (" Did you scale by 1/p instead of 1/(1-p)?" if np.isclose(bad[0], 1.0 / p) else "")
        _fail(
            f"on an input of ones with p = {p}, every output must be 0 (dropped) or 1/(1-p) = {scale:.2f} (kept), "
            f"but {what} also returned {bad}.{hint}"
        )
    dropped = float((y == 0).mean())
    bound = _fraction_bound(p, flips)
    if abs(dropped - p) > bound:
        hint = " Is your mask keeping units with probability p instead of 1-p?" if abs(dropped - (1 - p)) <= bound else ""
        _fail(
            f"with p = {p}, {dropped:.3f} of the units were dropped, expected {p:.3f} ± {bound:.3f} "
            f"({SIGMAS:g} standard deviations over {flips} coin flips).{hint}"
        )


# ----------------------------------------------------------------------------- chapter 1


def check_inverted_dropout(student_fn) -> None:
    """Exercise 1.1: ``student_fn(x, p, rng)`` must be inverted dropout on a NumPy array.

    Checks, on ``x = ones(20_000)``: the output shape; every value is 0 or ``1/(1-p)``; the
    fraction dropped is ``p`` and the mean is 1 within ``SIGMAS`` standard deviations (for
    ``p`` = 0.2 and 0.5); ``p = 0`` returns the input and ``p = 1`` returns zeros without NaN.

    Args:
        student_fn: the learner's function ``(x, p, rng) -> array``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and the likely mistake.

    Examples::

        >>> def ref(x, p, rng):
        ...     keep = rng.random(x.shape) >= p
        ...     return np.where(keep, x / (1 - p), 0.0) if p < 1 else np.zeros_like(x)
        >>> check_inverted_dropout(ref)
        Correct: inverted dropout drops a fraction p and keeps the mean at 1.
    """
    what = "your dropout function"
    rng = np.random.default_rng(2024)
    n = 20_000
    x = np.ones(n)
    for p in (0.2, 0.5):
        y = _as_array(_call(student_fn, x.copy(), p, rng, what=what), what)
        _check_inverted_output(y, x.shape, p, n, what)
        mean, bound = float(y.mean()), _mean_bound(p, n)
        if abs(mean - 1.0) > bound:
            _fail(f"mean after dropout is {mean:.2f}, expected 1.00 ± {bound:.2f}: did you forget to scale by 1/(1-p)?")
    y = _as_array(_call(student_fn, x.copy(), 0.0, rng, what=what), what)
    if y.shape != x.shape or not np.allclose(y, x):
        _fail("with p = 0 nothing may be dropped and nothing scaled: the output must equal the input.")
    y = _as_array(_call(student_fn, x.copy(), 1.0, rng, what=what), what)
    if y.shape != x.shape or not np.isfinite(y).all() or np.any(y != 0):
        _fail("with p = 1 every unit is dropped: the output must be all zeros (and no NaN from dividing by 1 - p = 0).")
    print("Correct: inverted dropout drops a fraction p and keeps the mean at 1.")


def dropout_variance_reference(a: float, p: float) -> float:
    """Variance of inverted dropout's output for an input value ``a``: ``a**2 * p / (1 - p)``."""
    return a * a * p / (1.0 - p)


def check_dropout_variance(student_fn) -> None:
    """Exercise 1.2: ``student_fn(a, p)`` must return the variance inverted dropout adds to a unit of value ``a``.

    The output is ``a / (1 - p)`` with probability ``1 - p`` and 0 otherwise, so its variance is
    ``a**2 * p / (1 - p)``. The answer is compared at several ``(a, p)`` within a relative
    tolerance of 1e-6 (a formula, so no sampling bound is needed).

    Args:
        student_fn: the learner's function ``(a, p) -> float``.

    Examples::

        >>> check_dropout_variance(lambda a, p: a**2 * p / (1 - p))
        Correct: Var = a² p / (1 - p); it grows without bound as p → 1.
    """
    what = "your variance function"
    for a, p in ((1.0, 0.5), (2.0, 0.2), (3.0, 0.9), (-1.5, 0.1), (0.0, 0.3)):
        got = _call(student_fn, a, p, what=what)
        if got is None:
            _fail(f"{what} returned None: did you forget the `return` statement?")
        try:
            got = float(got)
        except (TypeError, ValueError):
            _fail(f"{what} must return a number, got {type(got).__name__}.")
        want = dropout_variance_reference(a, p)
        if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12):
            continue
        hint = ""
        if math.isclose(got, a * a * p * (1 - p), rel_tol=1e-6):
            hint = " That is the variance of the unscaled mask a·Bernoulli(1-p); the kept value is a/(1-p)."
        elif math.isclose(got, a * a * (1 - p) / p, rel_tol=1e-6):
            hint = " You swapped p and 1-p: p is the probability to drop."
        elif math.isclose(got, abs(a) * p / (1 - p), rel_tol=1e-6):
            hint = " The variance scales with a², not a."
        elif math.isclose(got, a * a / (1 - p), rel_tol=1e-6):
            hint = " That is E[y²]; subtract the squared mean E[y]² = a²."
        _fail(f"for a = {a}, p = {p} you returned {got:.4g}, expected {want:.4g}.{hint}")
    print("Correct: Var = a² p / (1 - p); it grows without bound as p → 1.")


def check_fixed_dropout(student_fn) -> None:
    """Exercise 1.3: ``student_fn(x, p, training)`` must be a corrected PyTorch inverted dropout.

    Checks on ``x = torch.ones(20_000)``: in training, values are 0 or ``1/(1-p)``, the dropped
    fraction is ``p`` (``p`` = 0.2 and 0.7, ``SIGMAS`` bounds) and the mean is 1; with
    ``training=False`` the input is returned unchanged; ``p = 1`` gives zeros.

    Args:
        student_fn: the learner's function ``(x, p, training) -> torch.Tensor``.

    Examples::

        >>> import torch
        >>> def ref(x, p, training=True):
        ...     if not training or p == 0: return x
        ...     if p == 1: return torch.zeros_like(x)
        ...     return x * (torch.rand_like(x) >= p) / (1 - p)
        >>> check_fixed_dropout(ref)
        Correct: both bugs fixed: units are kept with probability 1 - p, and eval mode is the identity.
    """
    import torch

    what = "your fixed dropout"
    n = 20_000
    x = torch.ones(n)
    torch_state = torch.random.get_rng_state()
    torch.manual_seed(2024)
    try:
        for p in (0.2, 0.7):
            y = _as_array(_call(student_fn, x.clone(), p, True, what=what), what)
            _check_inverted_output(y, (n,), p, n, what)
            mean, bound = float(y.mean()), _mean_bound(p, n)
            if abs(mean - 1.0) > bound:
                _fail(f"mean after dropout is {mean:.2f}, expected 1.00 ± {bound:.2f}: scale kept units by 1/(1-p).")
        y = _as_array(_call(student_fn, x.clone(), 0.5, False, what=what), what)
        if y.shape != (n,) or not np.allclose(y, 1.0):
            dropped = float((y == 0).mean()) if y.shape == (n,) else float("nan")
            _fail(
                f"with training=False the input must come back unchanged, but {dropped:.2f} of the units were "
                f"zeroed: return x when not training."
            )
        y = _as_array(_call(student_fn, x.clone(), 1.0, True, what=what), what)
        if not np.isfinite(y).all() or np.any(y != 0):
            _fail("with p = 1 every unit is dropped: return zeros, without dividing by 1 - p = 0.")
    finally:
        torch.random.set_rng_state(torch_state)
    print("Correct: both bugs fixed: units are kept with probability 1 - p, and eval mode is the identity.")


# ----------------------------------------------------------------------------- chapter 2

#: Exercise 2.1: (description, input shape, kind, data format).
COIN_FLIP_QUESTIONS = {
    "a": ("torch.nn.Dropout2d on a batch of shape (8, 16, 32, 32)", (8, 16, 32, 32), "spatial", "channels_first"),
    "b": ("keras.layers.SpatialDropout1D on embedded text of shape (4, 50, 300)", (4, 50, 300), "spatial", "channels_last"),
    "c": ("keras.layers.SpatialDropout2D (channels last) on images of shape (2, 28, 28, 3)", (2, 28, 28, 3), "spatial",
          "channels_last"),
    "d": ("torch.nn.Dropout on a tensor of shape (2, 3, 4, 4)", (2, 3, 4, 4), "element", "channels_first"),
}


def check_coin_flips(answers) -> None:
    """Exercise 2.1: the number of independent coin flips of each layer in ``COIN_FLIP_QUESTIONS``.

    Args:
        answers: a dict ``{"a": int, "b": int, "c": int, "d": int}``.

    Examples::

        >>> check_coin_flips({"a": 128, "b": 1200, "c": 6, "d": 96})
        Correct: one coin per (sample, channel) for spatial dropout, one per unit for Dropout.
    """
    if not isinstance(answers, dict):
        _fail(f"answers must be a dict like {{'a': 0, 'b': 0, 'c': 0, 'd': 0}}, got {type(answers).__name__}.")
    missing = sorted(set(COIN_FLIP_QUESTIONS) - set(answers))
    if missing:
        _fail(f"answers is missing the key(s) {missing}: give one number for each of {sorted(COIN_FLIP_QUESTIONS)}.")
    for key, (text, shape, kind, fmt) in COIN_FLIP_QUESTIONS.items():
        got = answers[key]
        if got is None or isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            _fail(f"({key}) must be an int, got {got!r}.")
        want = coin_flips(shape, noise_shape(shape, kind, fmt))
        if got == want:
            continue
        units = math.prod(shape)
        n = shape[0]
        channels = shape[1] if fmt == "channels_first" else shape[-1]
        positions = units // (n * channels)
        if kind == "spatial" and got == units:
            hint = "that counts one coin per unit, as plain Dropout; spatial dropout shares one coin per feature map."
        elif kind == "spatial" and got == channels:
            hint = "every sample of the batch gets its own coins: multiply by the batch size N."
        elif kind == "spatial" and got == n * positions:
            hint = ("that is one coin per sample and position (whole timesteps or pixels): spatial dropout flips one "
                    "per sample and channel.")
        elif kind == "spatial" and got == n * (shape[1] if fmt == "channels_last" else shape[-1]):
            hint = f"the channel axis of {fmt} input is {'the last' if fmt == 'channels_last' else 'axis 1'}."
        elif kind == "element" and got != units:
            hint = "plain Dropout flips one coin per unit: the product of all the sizes."
        else:
            hint = "the noise shape has the batch and channel sizes and 1 for every spatial axis."
        _fail(f"({key}) {text}: you answered {got}, expected {want}: {hint}")
    print("Correct: one coin per (sample, channel) for spatial dropout, one per unit for Dropout.")


def check_noise_shape_dropout(student_fn) -> None:
    """Exercise 2.2: ``student_fn(x, p, noise_shape, rng)``: inverted dropout with a noise shape, in NumPy.

    Checks, on ones of shape ``(16, 12, 5, 5)``: with noise shape ``(16, 12, 1, 1)`` the output is
    constant over each feature map, values are 0 or ``1/(1-p)``, the dropped fraction of the
    ``16 * 12`` coins is ``p`` within ``SIGMAS`` standard deviations (pooled over 20 calls);
    with noise shape ``(16, 1, 5, 5)`` it is constant across channels; the full shape gives
    independent units; ``p = 0`` and ``p = 1`` are exact.

    Args:
        student_fn: the learner's function ``(x, p, noise_shape, rng) -> array``.

    Examples::

        >>> def ref(x, p, noise_shape, rng):
        ...     keep = rng.random(noise_shape) >= p
        ...     return np.where(keep, x / (1 - p), 0.0) if p < 1 else np.zeros_like(x)
        >>> check_noise_shape_dropout(ref)
        Correct: one coin per entry of the noise shape, broadcast, and kept units scaled by 1/(1-p).
    """
    what = "your noise-shaped dropout"
    rng = np.random.default_rng(7)
    shape = (16, 12, 5, 5)
    x = np.ones(shape)
    p = 0.4
    for ns, label in (((16, 12, 1, 1), "SpatialDropout2D's noise shape"), ((16, 1, 5, 5), "noise shape (N, 1, H, W)")):
        outputs = [_as_array(_call(student_fn, x.copy(), p, ns, rng, what=what), what) for _ in range(20)]
        flips = math.prod(ns) * len(outputs)
        stacked = np.stack(outputs) if all(o.shape == shape for o in outputs) else None
        if stacked is None:
            _fail(f"{what} returned shape {outputs[0].shape}, expected the input's shape {shape}.")
        for axis, size in enumerate(ns):
            if size == 1:
                first = np.take(stacked, [0], axis=axis + 1)
                if not np.all(stacked == first):
                    _fail(
                        f"with {label} {ns}, the output varies along axis {axis}, where the noise shape is 1: "
                        f"sample the mask with the noise shape and let broadcasting copy it along that axis."
                    )
        _check_inverted_output(stacked, stacked.shape, p, flips, what)
    full = _as_array(_call(student_fn, x.copy(), p, shape, rng, what=what), what)
    if full.shape == shape and np.all(full == full[:, :, :1, :1]):
        _fail("with the full noise shape (one coin per unit), the output is still constant over each feature map: "
              "use the noise_shape argument instead of a fixed shape.")
    y0 = _as_array(_call(student_fn, x.copy(), 0.0, (16, 12, 1, 1), rng, what=what), what)
    if y0.shape != shape or not np.allclose(y0, 1.0):
        _fail("with p = 0 the output must equal the input.")
    y1 = _as_array(_call(student_fn, x.copy(), 1.0, (16, 12, 1, 1), rng, what=what), what)
    if y1.shape != shape or not np.isfinite(y1).all() or np.any(y1 != 0):
        _fail("with p = 1 the output must be all zeros, without NaN from dividing by 1 - p = 0.")
    print("Correct: one coin per entry of the noise shape, broadcast, and kept units scaled by 1/(1-p).")


def check_word_dropout(student_fn) -> None:
    """Exercise 2.3: ``student_fn(x, p, rng)`` must drop whole words (tokens) of ``x`` of shape ``(N, T, E)``.

    That is noise shape ``(N, T, 1)``: each token's embedding is zeroed entirely or kept and
    scaled by ``1/(1-p)``. Checks on ones of shape ``(32, 20, 8)`` pooled over 10 calls: constant
    along E, varying along T, the fraction of dropped tokens is ``p`` within ``SIGMAS``
    standard deviations; recognises SpatialDropout1D's noise shape ``(N, 1, E)`` and says so.

    Args:
        student_fn: the learner's function ``(x, p, rng) -> array``.

    Examples::

        >>> def ref(x, p, rng):
        ...     keep = rng.random((x.shape[0], x.shape[1], 1)) >= p
        ...     return np.where(keep, x / max(1 - p, 1e-300), 0.0)
        >>> check_word_dropout(ref)
        Correct: whole tokens are dropped (noise shape (N, T, 1)), and kept ones are scaled by 1/(1-p).
    """
    what = "your word dropout"
    rng = np.random.default_rng(11)
    shape = (32, 20, 8)
    x = np.ones(shape)
    p = 0.25
    outputs = [_as_array(_call(student_fn, x.copy(), p, rng, what=what), what) for _ in range(10)]
    if any(o.shape != shape for o in outputs):
        _fail(f"{what} returned shape {outputs[0].shape}, expected the input's shape {shape}.")
    y = np.stack(outputs)
    constant_e = bool(np.all(y == y[..., :1]))
    constant_t = bool(np.all(y == y[:, :, :1, :]))
    if constant_t and not constant_e:
        _fail("the output is the same at every timestep and varies across embedding features: that is "
              "SpatialDropout1D (noise shape (N, 1, E)), which drops feature channels, not words. "
              "To drop words, share the coin across E: noise shape (N, T, 1).")
    if not constant_e:
        _fail("some tokens are only partly zeroed: a dropped word must lose its whole embedding, so use one coin "
              "per (sample, token), noise shape (N, T, 1), broadcast along E.")
    if constant_t:
        _fail("the output does not vary between tokens: each token needs its own coin (noise shape (N, T, 1)).")
    _check_inverted_output(y, y.shape, p, len(outputs) * shape[0] * shape[1], what)
    y1 = _as_array(_call(student_fn, x.copy(), 1.0, rng, what=what), what)
    if y1.shape != shape or not np.isfinite(y1).all() or np.any(y1 != 0):
        _fail("with p = 1 every word is dropped: the output must be all zeros, without NaN from dividing by 1 - p = 0.")
    print("Correct: whole tokens are dropped (noise shape (N, T, 1)), and kept ones are scaled by 1/(1-p).")
