"""What dropout costs: time and extra memory of each layer, measured against the references users know.

Every time here is measured with the course's one timing helper, :func:`spatialdrop_edu.timing.measure`:
one thread, warm-up calls discarded, the contenders of one operation interleaved in a random order per
round, the thread's CPU time (a machine busy with other work deschedules this process for whole
scheduler slices, which the wall clock would count), medians over rounds, and each contender's ratio
to the fastest reference with a distribution-free 95% interval and a verdict ("slower by ×1.52
[1.44, 1.61]" or "within the noise"). Memory is measured too, not estimated: :func:`peak_extra_bytes`
records every tensor PyTorch allocates during a call and when it is freed; :func:`coins_drawn`
counts the random numbers a call draws, which on a CPU is where element dropout's time goes
(:func:`dropout_parts`).

The contenders of each operation, this package's layer, PyTorch's, the paper's DropBlock, other packages' and a
naive one, are :mod:`~spatialdrop_edu.analysis.contenders`'.
"""

from __future__ import annotations

import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from .. import timing
from .._validation import check_choice, check_probability
from .contenders import contenders

# The cost appendix calls it through this module (``cost.naive_dropout``).
from .contenders import naive_dropout as naive_dropout

#: What is timed, the forward pass alone or the forward and backward passes.
MODES = ("forward", "forward+backward")


def layer_call(fn, x: torch.Tensor, mode: str, grad: torch.Tensor | None = None):
    """One call of ``fn(x)`` as a function of no arguments, for :func:`spatialdrop_edu.timing.measure`.

    ``"forward"`` runs ``fn(x)`` without autograd; ``"forward+backward"`` also back-propagates
    ``grad`` (default: ones) into ``x`` (which must require grad), clearing ``x.grad`` first.

    Examples::

        >>> x = torch.ones(2, 3, requires_grad=True)
        >>> layer_call(torch.nn.Dropout(0.5).train(), x, "forward+backward")()
        >>> x.grad.shape
        torch.Size([2, 3])
    """
    check_choice(mode, MODES, "mode")
    if mode == "forward":

        def call():
            with torch.no_grad():
                fn(x)
    else:
        if not x.requires_grad:
            raise ValueError("x must require grad for mode='forward+backward': pass x.detach().requires_grad_().")
        grad = torch.ones_like(x) if grad is None else grad

        def call():
            x.grad = None
            fn(x).backward(grad)

    return call


def time_layers(fns: dict, x: torch.Tensor, mode: str = "forward+backward", **measure_options) -> timing.Timings:
    """Time layers (functions of a tensor) on the same input with :func:`spatialdrop_edu.timing.measure`.

    Args:
        fns: ``{name: fn}`` with ``fn(x)`` a layer call.
        x: the input; a detached copy is used (requiring grad for ``"forward+backward"``).
        mode: one of :data:`MODES`.
        **measure_options: ``rounds``, ``repeats``, ``warmup``, ``threads``, ``order``, ``clock``,
            ``seed`` of :func:`~spatialdrop_edu.timing.measure` (the device's synchronisation is added).

    Returns:
        :class:`~spatialdrop_edu.timing.Timings` of the layers.

    Examples::

        >>> fns = {"relu": torch.relu, "tanh": torch.tanh}
        >>> t = time_layers(fns, torch.randn(8, 16), rounds=3, repeats=2)
        >>> t.names, len(t["relu"])
        (('relu', 'tanh'), 6)
    """
    check_choice(mode, MODES, "mode")
    x = x.detach().requires_grad_(mode == "forward+backward")
    grad = torch.randn_like(x) if mode == "forward+backward" else None
    calls = {name: layer_call(fn, x, mode, grad) for name, fn in fns.items()}
    return timing.measure(calls, sync=timing.synchronizer(x.device), **measure_options)


def dropout_parts(x: torch.Tensor, p: float = 0.3) -> dict:
    """The parts of a dropout call on ``x``, each a function of no arguments: drawing coins, and the multiply.

    * ``"element coins (bernoulli_)"``: one coin per unit, as ``torch.nn.Dropout`` and
      :class:`~spatialdrop_edu.layers.dropout.Dropout` draw them (``bernoulli_`` into a full-size mask);
    * ``"element coins (rand_like)"``: one uniform number per unit, as the textbook line
      ``torch.rand_like(x) >= p`` draws them;
    * ``"spatial coins (bernoulli_)"``: one coin per sample and channel, as SpatialDropout draws them;
    * ``"full-size multiply"`` and ``"N·C multiply"``: the pass over the activations that every
      dropout layer makes, ``x * mask``, with a full-size mask or a broadcast one of shape ``(N, C, 1, ...)``.

    Examples::

        >>> parts = dropout_parts(torch.ones(4, 8, 16, 16))
        >>> for name, fn in parts.items():
        ...     print(f"{name}: {coins_drawn(fn)}")
        element coins (bernoulli_): 8192
        element coins (rand_like): 8192
        spatial coins (bernoulli_): 32
        full-size multiply: 0
        N·C multiply: 0
    """
    p = check_probability(p)
    n, c = x.shape[:2]
    full = torch.empty_like(x).bernoulli_(1.0 - p)
    small = x.new_empty((n, c) + (1,) * (x.dim() - 2)).bernoulli_(1.0 - p)
    return {
        "element coins (bernoulli_)": lambda: full.bernoulli_(1.0 - p),
        "element coins (rand_like)": lambda: torch.rand_like(x),
        "spatial coins (bernoulli_)": lambda: small.bernoulli_(1.0 - p),
        "full-size multiply": lambda: torch.mul(x, full),
        "N·C multiply": lambda: torch.mul(x, small),
    }


#: PyTorch operations that draw random numbers; every value one of them writes is one draw (a coin).
RANDOM_OPS = frozenset(
    {
        "bernoulli",
        "bernoulli_",
        "rand",
        "rand_like",
        "randn",
        "randn_like",
        "uniform_",
        "normal_",
        "native_dropout",
        "randint",
        "randint_like",
        "random_",
        "exponential_",
        "geometric_",
        "cauchy_",
        "log_normal_",
    }
)


class _CoinCounter(TorchDispatchMode):
    """Counts the values written by every random-number operation (:data:`RANDOM_OPS`)."""

    def __init__(self):
        super().__init__()
        self.coins = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.overloadpacket.__name__ in RANDOM_OPS:
            first = out[0] if isinstance(out, (tuple, list)) else out
            self.coins += first.numel()
        return out


def coins_drawn(fn, *args) -> int:
    """How many random numbers one call ``fn(*args)`` draws (exactly: every random operation is seen).

    Element dropout draws one per unit of its input; SpatialDropout one per sample and channel.

    Examples::

        >>> import spatialdrop_edu as sde
        >>> x = torch.ones(8, 16, 32, 32)
        >>> coins_drawn(sde.Dropout(0.3), x), coins_drawn(sde.SpatialDropout2d(0.3), x)
        (131072, 128)
    """
    counter = _CoinCounter()
    with torch.no_grad(), counter:
        fn(*args)
    return counter.coins


class _AllocationTracker(TorchDispatchMode):
    """Follows every storage an operation allocates until it is freed: bytes alive now and at the peak."""

    def __init__(self):
        super().__init__()
        self.alive: dict[int, int] = {}
        self.now = self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                key = storage.data_ptr()
                if key and key not in self.alive:
                    self.alive[key] = storage.nbytes()
                    self.now += storage.nbytes()
                    self.peak = max(self.peak, self.now)
                    weakref.finalize(storage, self._free, key)
        return out

    def _free(self, key: int) -> None:
        self.now -= self.alive.pop(key, 0)


def peak_extra_bytes(fn, x: torch.Tensor, mode: str = "forward") -> int:
    """Measured peak of memory allocated during ``fn(x)`` (and backward), beyond the output itself.

    Every tensor storage created by an operation is counted from its allocation until it is
    freed; the output (which any layer must allocate) and, for ``"forward+backward"``, the input's
    gradient (same size, same for every layer) are subtracted. So a spatial mask of ``N*C``
    values shows up as ``4*N*C`` bytes in float32, a full-size mask as the input's size.

    Examples::

        >>> import spatialdrop_edu as sde
        >>> x = torch.ones(8, 16, 32, 32)
        >>> # one float per (sample, channel)
        >>> peak_extra_bytes(sde.SpatialDropout2d(0.5), x)
        512
    """
    check_choice(mode, MODES, "mode")
    x = x.detach().requires_grad_(mode == "forward+backward")
    grad = torch.ones_like(x) if mode == "forward+backward" else None
    tracker = _AllocationTracker()
    with tracker:
        out = fn(x)
        out_bytes = out.untyped_storage().nbytes()
        if grad is not None:
            out.backward(grad)
    extra = tracker.peak - out_bytes - (x.grad.untyped_storage().nbytes() if grad is not None else 0)
    return max(int(extra), 0)


def timing_row(
    times,
    versus: dict,
    *,
    operation: str,
    shape,
    mode: str,
    device,
    p: float,
    rounds: int,
    repeats: int,
    reference: str,
    skipped: dict,
) -> dict:
    """One JSON row of a timing comparison: what was timed, how, and each function against ``reference``.

    Args:
        times: the timings (:func:`time_layers`).
        versus: ``{name: times.compare(name, reference)}``.
        operation, shape, mode, device, p, rounds, repeats: what was timed and how, recorded as given.
        reference: the name every ratio is taken against.
        skipped: ``{name: why}`` of the references that could not run.
    """
    return {
        "operation": operation,
        "shape": list(shape),
        "mode": mode,
        "device": str(device),
        "p": p,
        "rounds": rounds,
        "repeats": repeats,
        "timing": times.describe(),
        "warnings": times.warnings(),
        "ms": {name: 1e3 * times.median(name) for name in versus},
        "iqr_ms": {name: [1e3 * q for q in times.iqr(name)] for name in versus},
        "ratio": {name: c.ratio for name, c in versus.items()},
        "interval": {name: [c.low, c.high] for name, c in versus.items()},
        "verdict": {name: c.verdict for name, c in versus.items()},
        "sentence": {name: str(c) for name, c in versus.items()},
        "fastest_reference": reference,
        "skipped": skipped,
    }


def compare(
    operation: str,
    shape,
    p: float = 0.3,
    mode: str = "forward+backward",
    rounds: int = 20,
    repeats: int = 5,
    device=None,
    memory: bool = True,
    margin: float = 1.10,
    threads: int = 1,
) -> dict:
    """Time (and measure the memory of) every contender of one operation at one input shape.

    The contenders run interleaved through :func:`time_layers` (one thread, warm-up discarded, a
    random order per round); each one's time is compared with the fastest reference's, round by round.

    Args:
        operation: one of :data:`~spatialdrop_edu.analysis.contenders.OPERATIONS`.
        shape: the input's shape, channels first.
        p: the drop probability.
        mode: one of :data:`MODES`.
        rounds, repeats: of :func:`~spatialdrop_edu.timing.measure`.
        device: where to run (default: the CPU).
        memory: also measure the extra memory (CPU only).
        margin: the smallest ratio called a difference (:meth:`~spatialdrop_edu.timing.Timings.compare`).
        threads: PyTorch's threads while timing (restored afterwards).

    Returns:
        A JSON-ready dict with ``"operation"``, ``"shape"``, ``"mode"``, ``"device"``, ``"p"``,
        ``"rounds"``, ``"repeats"``, ``"timing"`` (how it was timed), ``"warnings"`` (what makes the
        timings less trustworthy, see :meth:`~spatialdrop_edu.timing.Timings.warnings`), ``"ms"`` (median ms
        per contender), ``"iqr_ms"`` (their interquartile ranges), ``"ratio"`` (median over rounds of
        each contender's time over the fastest reference's), ``"interval"`` (its 95% interval),
        ``"verdict"`` (``"slower"``, ``"faster"`` or ``"within the noise"``), ``"sentence"`` (the
        verdict in words), ``"fastest_reference"``, ``"skipped"`` (references that could not be
        imported, and why) and, on the CPU with ``memory``, ``"extra_bytes"`` per contender.

    Examples::

        >>> row = compare("SpatialDropout1d", (4, 8, 32), rounds=3, repeats=1)
        >>> (row["fastest_reference"], row["ratio"]["torch.nn.Dropout1d"],
        ...  row["extra_bytes"]["ours"])
        ('torch.nn.Dropout1d', 1.0, 128)
    """
    device = torch.device("cpu" if device is None else device)
    fns, refs, skipped = contenders(operation, p)
    for fn in fns.values():
        if isinstance(fn, torch.nn.Module):
            fn.to(device)
    x = torch.randn(tuple(shape), device=device)
    times = time_layers(fns, x, mode, rounds=rounds, repeats=repeats, threads=threads)
    fastest = min(refs, key=times.median)
    versus = {name: times.compare(name, fastest, margin=margin) for name in fns}
    row = timing_row(
        times,
        versus,
        operation=operation,
        shape=shape,
        mode=mode,
        device=device,
        p=p,
        rounds=rounds,
        repeats=repeats,
        reference=fastest,
        skipped=skipped,
    )
    if memory and device.type == "cpu":
        row["extra_bytes"] = {name: peak_extra_bytes(fn, x, mode) for name, fn in fns.items()}
    return row
