"""The course's one timing helper: compare variants of a computation fairly, on a busy machine too.

A shared machine lends this process a core for scheduler slices of a few milliseconds; a call that
is descheduled waits a whole slice, so wall-clock timings of short calls come out quantised (16.00,
40.01, 47.99 ms) and measure the other users, not the work. :func:`measure` therefore

* **pins the threads** (one by default, restored afterwards) and says so in :meth:`Timings.describe`;
* runs **warm-up** calls of every variant first and discards them;
* **interleaves** the variants: every round calls each once (``repeats`` times in a row), in an
  order drawn at random per round (or reversed every other round), so a slow spell hits all alike;
* times each call with the wall clock *and* the thread's CPU time: with one thread on a CPU the
  CPU time is the work (a descheduled call does not run, so it does not count), and a call whose
  wall time exceeds its CPU time by a slice is flagged as **descheduled**;
* reports **medians** with their spread: per round the median over repeats, then over rounds the
  median and interquartile range, and for two variants the median of the per-round ratios with a
  distribution-free 95% interval (:func:`median_interval`);
* gives a **verdict** only where the spread allows (:meth:`Timings.compare`): "A slower than B by
  ×1.52 [1.44, 1.61]", else "within the noise".

Examples::

    >>> import torch
    >>> x = torch.randn(64, 256)
    >>> fns = {"relu": lambda: x.relu(), "mm": lambda: x @ x.T}
    >>> t = measure(fns, rounds=6, repeats=3)
    >>> t.names, t.threads, len(t["mm"])
    (('relu', 'mm'), 1, 18)
    >>> t.compare("mm", "relu").verdict in ("slower", "faster", "within the noise")
    True
"""

from __future__ import annotations

import gc
import math
import random
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from ._validation import (
    check_choice,
    check_non_negative_int,
    check_number_at_least,
    check_positive_int,
    check_seed,
    check_unit_interval,
)

__all__ = [
    "ORDERS",
    "CLOCKS",
    "SLICE",
    "DESCHEDULED_SECONDS",
    "DESCHEDULED_FRACTION",
    "measure",
    "Timings",
    "Comparison",
    "median_interval",
    "slice_share",
    "synchronizer",
    "device_clock",
]

#: How the variants are ordered within a round, a fresh random permutation per round (``"random"``)
#: or the given order and its reverse in turn (``"alternate"``).
ORDERS = ("random", "alternate")
#: What a call's time is read from, the thread's CPU time (``"cpu"``), the wall clock (``"wall"``), or
#: ``"auto"`` (the CPU time where it is the whole work, with one thread and nothing to synchronise).
CLOCKS = ("auto", "cpu", "wall")
#: A common scheduler slice in seconds; wall times that sit on its multiples are waiting, not work.
SLICE = 0.004
#: A call is descheduled when its wall time exceeds its CPU time by more than this (seconds) ...
DESCHEDULED_SECONDS = 1e-4
#: ... and by more than this fraction of the wall time.
DESCHEDULED_FRACTION = 0.1


@dataclass(frozen=True)
class Comparison:
    """The ratio of two variants' times, its interval, and what can be said about it.

    Attributes:
        a: the variant whose time is the numerator.
        b: the variant whose time is the denominator.
        ratio: the median over rounds of the per-round ratio of ``a``'s time to ``b``'s.
        low: the lower end of its distribution-free interval (:func:`median_interval`).
        high: the upper end of that interval.
        coverage: that interval's exact coverage (at least ``level`` from 6 rounds on).
        margin: the smallest ratio called a difference (``1.10``: 10% either way).
        verdict: ``"slower"`` where ``low > margin``, ``"faster"`` where ``high < 1 / margin``,
            else ``"within the noise"``.
    """

    a: str
    b: str
    ratio: float
    low: float
    high: float
    coverage: float
    margin: float
    verdict: str

    def __str__(self) -> str:
        if self.verdict == "slower":
            return f"{self.a} slower than {self.b} by ×{self.ratio:.2f} [{self.low:.2f}, {self.high:.2f}]"
        if self.verdict == "faster":
            return f"{self.a} faster than {self.b} by ×{1 / self.ratio:.2f} [{1 / self.high:.2f}, {1 / self.low:.2f}]"
        return (
            f"{self.a} and {self.b} within the noise (the ratio's interval [{self.low:.2f}, {self.high:.2f}] "
            f"does not clear ×{self.margin:.2f} either way)"
        )


@dataclass(repr=False, eq=False)
class Timings:
    """What :func:`measure` measured: every timed call of every variant, and the statistics over rounds.

    Indexing by a variant's name (or position) gives that variant's call times in seconds, round by
    round, without the calls the clock could not use (see :meth:`samples`); iterating gives them in
    the order of :attr:`names`.

    Attributes:
        names: the variants, in the order given.
        wall: ``{name: [[seconds of each repeat] for each round]}`` by the wall clock.
        cpu: the same by the thread's CPU time, or ``None`` where that is not the whole work (more than
            one thread, work on a device that ``sync`` waits for).
        orders: the order the variants ran in, round by round.
        clock: ``"cpu"`` or ``"wall"``: which of the two the statistics use.
        threads: the thread count the calls ran with.
        threads_before: the thread count before, restored after.
        warmup: warm-up calls of each variant, discarded (as passed to :func:`measure`).
        repeats: calls of each variant in a row within a round.
        order: ``"random"`` or ``"alternate"``.
    """

    names: tuple
    wall: dict
    cpu: dict | None
    orders: list
    clock: str
    threads: int
    threads_before: int
    warmup: int
    repeats: int
    order: str

    # -- the calls ---------------------------------------------------------------------------------

    def descheduled(self, name: str) -> list[list[bool]]:
        """Per round and repeat, whether the call waited for the scheduler (``False`` everywhere when unknown).

        A call counts as descheduled when its wall time exceeds its CPU time by more than
        :data:`DESCHEDULED_SECONDS` and by more than :data:`DESCHEDULED_FRACTION` of the wall time.
        """
        name = self._check_name(name)
        if self.cpu is None:
            return [[False] * len(r) for r in self.wall[name]]
        return [
            [w - c > max(DESCHEDULED_SECONDS, DESCHEDULED_FRACTION * w) for w, c in zip(wr, cr)]
            for wr, cr in zip(self.wall[name], self.cpu[name])
        ]

    def descheduled_share(self, name: str) -> float | None:
        """The fraction of ``name``'s calls that were descheduled; ``None`` with more than one thread (unknown)."""
        if self.cpu is None:
            return None
        flags = [f for r in self.descheduled(name) for f in r]
        return sum(flags) / len(flags)

    def samples(self, name: str) -> list[list[float]]:
        """Per round, the seconds of ``name``'s usable calls by :attr:`clock`.

        With the CPU clock every call is usable (a wait does not count in CPU time). With the wall
        clock, descheduled calls are left out where they can be told (one thread).
        """
        name = self._check_name(name)
        if self.clock == "cpu":
            return [list(r) for r in self.cpu[name]]
        return [[w for w, d in zip(wr, dr) if not d] for wr, dr in zip(self.wall[name], self.descheduled(name))]

    def per_round(self, name: str) -> list[float]:
        """The median of each round's usable calls of ``name`` (``nan`` for a round with none)."""
        return [statistics.median(r) if r else math.nan for r in self.samples(name)]

    # -- statistics over rounds --------------------------------------------------------------------

    def median(self, name: str) -> float:
        """Median over rounds of :meth:`per_round` (seconds)."""
        return statistics.median(self._usable(name))

    def iqr(self, name: str) -> tuple[float, float]:
        """The interquartile range over rounds of :meth:`per_round`: ``(first quartile, third quartile)`` in seconds."""
        values = self._usable(name)
        if len(values) < 2:
            return values[0], values[0]
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return q1, q3

    def ratios(self, a: str, b: str) -> list[float]:
        """``a``'s time over ``b``'s, round by round (rounds where either has no usable call, or ``b`` took
        no measurable time, are left out)."""
        return [x / y for x, y in zip(self.per_round(a), self.per_round(b)) if not (math.isnan(x) or not y > 0)]

    def compare(self, a: str, b: str, *, margin: float = 1.10, level: float = 0.95) -> Comparison:
        """Is ``a`` slower than ``b``, faster, or within the noise?

        Args:
            a: the variant whose time is the numerator.
            b: the variant whose time is the denominator.
            margin: the smallest ratio worth a verdict, ``> 1``: a difference is called only where the
                interval of the ratio lies wholly above ``margin`` or below ``1 / margin``. A loaded
                machine shifts ratios by a few percent (shared caches and memory bandwidth), so a
                smaller difference is not a property of the variants.
            level: the interval's confidence level, in ``(0, 1)``.

        Returns:
            A :class:`Comparison`; ``str()`` of it is a sentence: "a slower than b by ×1.52 [1.44,
            1.61]", "a faster than b by ×2.10 [1.90, 2.31]" or "a and b within the noise (...)".

        Raises:
            RuntimeError: fewer than one round in which both variants have a usable call.
        """
        margin = check_number_at_least(margin, "margin", 1.0, "the smallest ratio called a difference")
        ratios = self.ratios(a, b)
        if not ratios:
            raise RuntimeError(
                f"no round has a usable call of both {a!r} and {b!r}: every call was descheduled. "
                f"Measure with clock='cpu' (one thread), or with more repeats of shorter calls."
            )
        ratio = statistics.median(ratios)
        low, high, coverage = median_interval(ratios, level)
        verdict = "slower" if low > margin else "faster" if high < 1 / margin else "within the noise"
        return Comparison(a, b, ratio, low, high, coverage, float(margin), verdict)

    # -- reporting ---------------------------------------------------------------------------------

    def describe(self) -> str:
        """How the timings were taken, in three lines of at most 80 characters.

        Threads (pinned, and what was restored), the clock, rounds and calls, the order, the warm-up,
        and the largest share of calls that waited for the scheduler (where it can be told).

        Examples::

            >>> fns = {"a": lambda: None, "b": lambda: None}
            >>> t = measure(fns, rounds=2, repeats=2, warmup=1, order="alternate")
            >>> print(t.describe().split(",")[0])
            1 thread
            >>> print(t.describe().splitlines()[1])
            2 rounds × 2 calls of each variant, the order reversed every other round;
        """
        plural = lambda n, word: f"{n} {word}{'s' if n != 1 else ''}"  # noqa: E731
        pinned = "pinned" if self.threads == self.threads_before else f"pinned ({self.threads_before} before and after)"
        clock = "the thread's CPU time" if self.clock == "cpu" else "the wall clock"
        order = "in a random order per round" if self.order == "random" else "the order reversed every other round"
        lines = [
            f"{plural(self.threads, 'thread')}, {pinned}; timed by {clock};",
            f"{plural(len(self.orders), 'round')} × {plural(self.repeats, 'call')} of each variant, {order};",
            f"{plural(self.warmup, 'warm-up call')} of each discarded",
        ]
        shares = [s for s in map(self.descheduled_share, self.names) if s is not None]
        if shares:
            fate = "not counted" if self.clock == "cpu" else "left out"
            lines[-1] += f"; descheduled calls: up to {max(shares):.0%} ({fate})"
        return "\n".join(lines)

    def warnings(self) -> list[str]:
        """What makes these timings less trustworthy, one sentence each (empty when nothing does)."""
        found = []
        for name in self.names:
            share = self.descheduled_share(name)
            if self.clock == "wall" and share is not None and share > 0.5:
                found.append(f"{name}: {share:.0%} of calls were descheduled and left out; the machine is busy.")
            walls = [w for r in self.wall[name] for w in r]
            if self.cpu is None and len(walls) >= 4 and slice_share(walls) >= 0.5:
                found.append(
                    f"{name}: wall times sit on multiples of {1e3 * SLICE:.0f} ms (scheduler slices), "
                    f"not on the work; time with one thread (clock='cpu')."
                )
            if len(self._usable(name)) < len(self.orders):
                found.append(f"{name}: {len(self.orders) - len(self._usable(name))} rounds had no usable call.")
        return found

    def to_dict(self) -> dict:
        """A JSON-ready summary: setup, and per variant the median, quartiles and descheduled share (seconds)."""
        return {
            "threads": self.threads,
            "clock": self.clock,
            "rounds": len(self.orders),
            "repeats": self.repeats,
            "warmup": self.warmup,
            "order": self.order,
            "describe": self.describe(),
            "warnings": self.warnings(),
            "variants": {
                n: {"median": self.median(n), "iqr": list(self.iqr(n)), "descheduled": self.descheduled_share(n)}
                for n in self.names
            },
        }

    # -- a sequence of the variants' call times -----------------------------------------------------

    def __getitem__(self, key) -> list[float]:
        name = self.names[key] if isinstance(key, int) else key
        return [s for r in self.samples(name) for s in r]

    def __iter__(self):
        return (self[name] for name in self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"Timings({list(self.names)}: {self.describe()})"

    def _check_name(self, name) -> str:
        if name not in self.names:
            raise KeyError(f"no variant {name!r} was measured; the variants are {list(self.names)}.")
        return name

    def _usable(self, name: str) -> list[float]:
        values = [v for v in self.per_round(name) if not math.isnan(v)]
        if not values:
            raise RuntimeError(f"every call of {name!r} was descheduled: measure with clock='cpu' (one thread).")
        return values


def measure(
    fns: Mapping[str, Callable[[], object]],
    *,
    rounds: int = 20,
    repeats: int = 5,
    warmup: int = 2,
    threads: int = 1,
    order: str = "random",
    clock: str = "auto",
    seed: int = 0,
    sync: Callable[[], None] | None = None,
) -> Timings:
    """Time several variants of a computation against each other, interleaved, with threads pinned.

    Args:
        fns: ``{name: fn}``, each ``fn()`` one call of a variant (a closure over its inputs); at least one.
        rounds: rounds of calls: the statistics are over rounds.
        repeats: calls of each variant in a row within a round; the round keeps their median. Many
            short calls make a descheduled one an outlier rather than the measurement.
        warmup: calls of each variant before timing starts (interleaved as well), discarded:
            allocator, caches and lazy initialisation settle in them.
        threads: PyTorch's intra-op threads during the measurement (``torch.set_num_threads``),
            restored afterwards.
        order: ``"random"`` (a fresh permutation per round, drawn from ``seed``) or ``"alternate"``
            (the given order, then its reverse, in turn).
        clock: ``"cpu"`` (the calling thread's CPU time: one thread, no ``sync``, and a thread clock
            of microsecond resolution or finer only), ``"wall"``, or ``"auto"`` (``"cpu"`` where
            allowed, else ``"wall"``).
        seed: seeds the random order.
        sync: called before reading a clock, e.g. ``torch.cuda.synchronize`` for work on a GPU
            (:func:`synchronizer` gives it for a device).

    Returns:
        :class:`Timings`.

    Raises:
        ValueError: an argument out of range, or ``clock="cpu"`` where the thread's CPU time is not
            the whole work (more than one thread, or a ``sync``).

    Examples::

        >>> calls = []
        >>> fns = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
        >>> t = measure(fns, rounds=4, repeats=1, warmup=1, order="alternate")
        >>> t.orders
        [('a', 'b'), ('b', 'a'), ('a', 'b'), ('b', 'a')]
        >>> "".join(calls)   # the warm-up round, then the four timed rounds
        'ababbaabba'
    """
    names = _check_fns(fns)
    rounds = check_positive_int(rounds, "rounds", "rounds of calls, the statistics are over rounds")
    repeats = check_positive_int(repeats, "repeats", "calls of each variant in a row within a round")
    warmup = check_non_negative_int(warmup, "warmup", "calls of each variant before timing, discarded")
    threads = check_positive_int(threads, "threads", "PyTorch's intra-op threads while timing")
    check_choice(order, ORDERS, "order")
    check_choice(clock, CLOCKS, "clock")
    seed = check_seed(seed)
    if sync is not None and not callable(sync):
        raise TypeError(f"sync must be None or a function of no arguments (e.g. torch.cuda.synchronize), got {sync!r}.")
    cpu_known = threads == 1 and sync is None and time.get_clock_info("thread_time").resolution <= 1e-6
    if clock == "cpu" and not cpu_known:
        raise ValueError(
            "clock='cpu' needs threads=1, no sync and a fine thread clock: the thread's CPU time is then "
            f"the whole work; got threads={threads}, sync={sync!r}. Use clock='wall' or 'auto'."
        )
    clock = ("cpu" if cpu_known else "wall") if clock == "auto" else clock

    rng = random.Random(seed)
    orders = [_round_order(names, r, order, rng) for r in range(rounds)]
    wall = {name: [] for name in names}
    cpu = {name: [] for name in names} if cpu_known else None
    threads_before = torch.get_num_threads()
    gc_was_enabled = gc.isenabled()
    torch.set_num_threads(threads)
    gc.disable()  # a collection would land on whichever call happens to be running
    try:
        for _ in range(warmup):
            for name in names:
                fns[name]()
        for round_order in orders:
            for name in round_order:
                w, c = zip(*(_time_call(fns[name], sync) for _ in range(repeats)))
                wall[name].append(list(w))
                if cpu is not None:
                    cpu[name].append(list(c))
    finally:
        torch.set_num_threads(threads_before)
        if gc_was_enabled:
            gc.enable()
    return Timings(names, wall, cpu, orders, clock, threads, threads_before, warmup, repeats, order)


def median_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """A distribution-free interval for the median of ``values``: two order statistics.

    The ``k``-th smallest and ``k``-th largest value cover the median with probability
    ``1 - 2 P(Binomial(n, 1/2) < k)``, whatever the distribution (the sign test's interval);
    ``k`` is the largest for which that is at least ``level``. Below 6 values no ``k`` reaches 95%:
    the interval is then the range, with its smaller coverage ``1 - 2^(1-n)``.

    Returns:
        ``(low, high, coverage)``.

    Examples::

        >>> median_interval(range(1, 21))      # k = 6 of 20
        (6, 15, 0.9586105346679688)
        >>> median_interval([3.0, 1.0, 2.0])   # too few values for 95%: the range
        (1.0, 3.0, 0.75)
    """
    level = check_unit_interval(level, "level", "a confidence level")
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("values must hold at least one number, got none.")
    below = [math.comb(n, i) / 2**n for i in range(n + 1)]  # P(Binomial(n, 1/2) = i)

    def coverage_of(k: int) -> float:  # of the k-th smallest to the k-th largest value
        return 1 - 2 * sum(below[:k])

    k = 1
    while k + 1 <= (n + 1) // 2 and coverage_of(k + 1) >= level:
        k += 1
    coverage = coverage_of(k)
    return ordered[k - 1], ordered[n - k], coverage


def slice_share(seconds, slice_s: float = SLICE, tolerance: float = 5e-5) -> float:
    """The fraction of ``seconds`` that sit on a whole multiple (≥ 1) of a scheduler slice.

    A short computation timed by the wall clock on a busy machine reads as one or more whole
    slices: the values say how long the process waited, not how long the work took.

    Examples::

        >>> # a busy machine's 16.00, 40.01, 47.99 ms
        >>> slice_share([0.01600, 0.04001, 0.04799])
        1.0
        >>> slice_share([0.00012, 0.0033, 0.0061])
        0.0
    """
    values = list(seconds)
    if not values:
        raise ValueError("seconds must hold at least one time, got none.")
    on = [v >= slice_s - tolerance and abs(v - round(v / slice_s) * slice_s) <= tolerance for v in values]
    return sum(on) / len(on)


def synchronizer(device) -> Callable[[], None] | None:
    """What :func:`measure` must call before reading a clock for work on ``device``: ``None`` on the CPU."""
    device = torch.device(device)
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    if device.type == "mps":
        return torch.mps.synchronize
    return None


def device_clock(device) -> Callable[[], float]:
    """A wall clock for work on ``device``: ``time.perf_counter()``, read once the device has finished its queued work.

    What the training loop reads around an epoch's optimisation steps (its history's ``epoch_time``):
    the wall time of one run, not a comparison; comparisons go through :func:`measure`.

    Examples::

        >>> clock = device_clock("cpu")
        >>> start = clock(); elapsed = clock() - start
        >>> elapsed >= 0
        True
    """
    sync = synchronizer(device)
    if sync is None:
        return time.perf_counter

    def read() -> float:
        sync()
        return time.perf_counter()

    return read


def _time_call(fn, sync) -> tuple[float, float]:
    if sync is not None:
        sync()
    wall, cpu = time.perf_counter(), time.thread_time()
    fn()
    if sync is not None:
        sync()
    return time.perf_counter() - wall, time.thread_time() - cpu


def _round_order(names: tuple, r: int, order: str, rng: random.Random) -> tuple:
    if order == "alternate":
        return names if r % 2 == 0 else names[::-1]
    shuffled = list(names)
    rng.shuffle(shuffled)
    return tuple(shuffled)


def _check_fns(fns) -> tuple:
    if not isinstance(fns, Mapping) or not fns:
        raise TypeError(f"fns must be a non-empty dict {{name: function of no arguments}}, got {fns!r}.")
    for name, fn in fns.items():
        if not isinstance(name, str) or not callable(fn):
            raise TypeError(f"fns must map names (str) to functions of no arguments; {name!r} maps to {fn!r}.")
    return tuple(fns)
