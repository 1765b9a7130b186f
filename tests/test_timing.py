"""The timing helper: what it runs when, what it keeps, what it concludes, and what it leaves behind.

Workloads here spin on the thread's CPU clock, so their cost is known exactly whatever else the
machine runs: a verdict about them must not depend on the load.
"""

import gc
import random
import time

import pytest
import torch
from scipy import stats

from spatialdrop_edu import timing


def spin(seconds):
    """A workload of known cost: busy until the thread has run ``seconds`` of CPU time."""

    def call():
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    return call


def recorder(log, name):
    return lambda: log.append(name)


def made_up(cpu_a, cpu_b, wall_a=None, wall_b=None):
    """Timings of two variants from given per-round CPU (and wall) seconds, one call per round."""
    wall_a, wall_b = wall_a or cpu_a, wall_b or cpu_b
    return timing.Timings(
        ("a", "b"),
        {"a": [[w] for w in wall_a], "b": [[w] for w in wall_b]},
        {"a": [[c] for c in cpu_a], "b": [[c] for c in cpu_b]},
        [("a", "b")] * len(cpu_a),
        "cpu",
        1,
        1,
        0,
        1,
        "alternate",
    )


# -- what runs when ------------------------------------------------------------------------------------


def test_alternate_order_reverses_every_other_round_and_repeats_run_in_a_row():
    log = []
    t = timing.measure({n: recorder(log, n) for n in "abc"}, rounds=4, repeats=2, warmup=0, order="alternate")
    assert t.orders == [("a", "b", "c"), ("c", "b", "a")] * 2
    assert "".join(log) == "aabbccccbbaaaabbccccbbaa"


def test_random_order_is_a_fresh_permutation_per_round_and_follows_the_seed():
    fns = {n: (lambda: None) for n in "abcd"}
    t = timing.measure(fns, rounds=40, repeats=1, warmup=0, seed=3)
    assert all(sorted(o) == list("abcd") for o in t.orders)
    assert len(set(t.orders)) > 10  # not one order over and over
    assert {o[0] for o in t.orders} == set("abcd")  # every variant goes first sometimes
    assert timing.measure(fns, rounds=40, repeats=1, warmup=0, seed=3).orders == t.orders
    assert timing.measure(fns, rounds=40, repeats=1, warmup=0, seed=4).orders != t.orders


def test_warm_up_calls_run_first_and_are_discarded():
    log, first_calls = [], 3

    def slow_at_first():
        log.append("a")
        spin(0.02 if len(log) <= first_calls else 0.0005)()

    t = timing.measure({"a": slow_at_first, "b": spin(0.0005)}, rounds=5, repeats=2, warmup=first_calls)
    assert len(log) == first_calls + 5 * 2 and len(t["a"]) == 5 * 2
    assert max(t["a"]) < 0.01  # none of the slow first calls was kept


# -- what it concludes ---------------------------------------------------------------------------------


def test_a_workload_of_known_relative_cost_is_ranked_and_sized():
    t = timing.measure({"light": spin(0.0005), "heavy": spin(0.0015)}, rounds=10, repeats=3)
    heavy = t.compare("heavy", "light")
    assert heavy.verdict == "slower" and 2.5 < heavy.low <= heavy.ratio <= heavy.high < 3.5
    assert t.compare("light", "heavy").verdict == "faster"
    assert str(heavy).startswith("heavy slower than light by ×")


def test_a_noisy_pair_is_within_the_noise():
    noise = random.Random(0)
    cost = lambda: spin(noise.choice([0.0003, 0.0009]))()  # noqa: E731  the same distribution for both
    t = timing.measure({"a": cost, "b": lambda: cost()}, rounds=12, repeats=1, warmup=0)
    c = t.compare("a", "b")
    assert c.verdict == "within the noise" and c.low < 1 < c.high
    assert "within the noise" in str(c) and f"{c.ratio:.2f}" not in str(c).split("[")[0]


def test_a_difference_smaller_than_the_margin_is_not_called():
    t = made_up([1.05] * 8, [1.0] * 8)
    assert t.compare("a", "b").verdict == "within the noise"  # default margin 1.10
    assert t.compare("a", "b", margin=1.0).verdict == "slower"
    assert made_up([1.0] * 8, [2.0] * 8).compare("a", "b").verdict == "faster"
    assert str(made_up([1.0] * 8, [2.0] * 8).compare("a", "b")) == "a faster than b by ×2.00 [2.00, 2.00]"


def test_statistics_are_medians_over_rounds_of_medians_over_repeats():
    t = timing.Timings(
        ("a",),
        {"a": [[3.0, 1.0, 2.0], [9.0, 4.0, 5.0]]},
        {"a": [[3.0, 1.0, 2.0], [9.0, 4.0, 5.0]]},
        [("a",)] * 2,
        "cpu",
        1,
        1,
        0,
        3,
        "alternate",
    )
    assert t.per_round("a") == [2.0, 5.0] and t.median("a") == 3.5 and t.iqr("a") == (2.75, 4.25)
    assert t["a"] == [3.0, 1.0, 2.0, 9.0, 4.0, 5.0] and t[0] == t["a"] and list(t) == [t["a"]] and len(t) == 1


def test_median_interval_is_the_sign_test_interval():
    for n in range(6, 41):
        low, high, coverage = timing.median_interval(range(n))
        k = low + 1
        assert high == n - k and coverage == pytest.approx(1 - 2 * stats.binom.cdf(k - 1, n, 0.5))
        assert coverage >= 0.95 > 1 - 2 * stats.binom.cdf(k, n, 0.5)  # the narrowest that reaches 95%
    assert timing.median_interval([2.0, 1.0]) == (1.0, 2.0, 0.5)


# -- busy machines -------------------------------------------------------------------------------------


def test_a_descheduled_call_is_told_by_cpu_against_wall_time_and_left_out_of_wall_timings():
    t = made_up([0.001] * 4, [0.001] * 4, wall_a=[0.001, 0.017, 0.001, 0.001])
    assert t.descheduled("a") == [[False], [True], [False], [False]] and t.descheduled_share("a") == 0.25
    assert t.per_round("a") == [0.001] * 4  # the CPU clock does not count the wait
    t.clock = "wall"
    assert t["a"] == [0.001] * 3 and t.ratios("a", "b") == [1.0] * 3  # the wall clock leaves the call out


def test_waiting_costs_no_cpu_time():
    t = timing.measure({"sleeps": lambda: time.sleep(0.005), "spins": spin(0.001)}, rounds=6, repeats=1, warmup=0)
    assert t.clock == "cpu" and t.descheduled_share("sleeps") == 1.0
    assert t.compare("spins", "sleeps").verdict == "slower"


def test_scheduler_slices_are_recognised():
    assert timing.slice_share([0.016, 0.04001, 0.04799, 0.00012]) == 0.75
    assert timing.slice_share([0.00012, 0.0033, 0.0061]) == 0.0
    wall = {"a": [[0.016], [0.032], [0.016], [0.048]]}
    t = timing.Timings(("a",), wall, None, [("a",)] * 4, "wall", 2, 2, 0, 1, "random")
    assert any("multiples of 4 ms" in w for w in t.warnings())


def test_the_description_fits_the_page_in_the_worst_case():
    """Three lines of at most 80 columns (the website's code blocks), even with every call descheduled, ten warm-up
    calls, a thread count restored and the longest wording of every part."""
    wall = {"a": [[1.0] * 10] * 100}
    cpu = {"a": [[0.001] * 10] * 100}  # every call waited: 100% descheduled
    t = timing.Timings(("a",), wall, cpu, [("a",)] * 100, "cpu", 16, 64, 10, 10, "alternate")
    assert t.descheduled_share("a") == 1.0
    lines = t.describe().splitlines()
    assert len(lines) == 3 and all(len(line) <= 80 for line in lines), lines


# -- what it leaves behind -----------------------------------------------------------------------------


def test_threads_are_pinned_while_timing_and_restored_after_even_on_error():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = []
        t = timing.measure({"a": lambda: seen.append(torch.get_num_threads())}, rounds=2, repeats=1)
        assert set(seen) == {1} and torch.get_num_threads() == 2 and t.threads == 1 and t.threads_before == 2
        assert t.describe().startswith("1 thread, pinned (2 before and after); timed by the thread's CPU time;")

        def fails():
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            timing.measure({"a": fails}, rounds=1, threads=1)
        assert torch.get_num_threads() == 2 and gc.isenabled()
    finally:
        torch.set_num_threads(before)


def test_the_garbage_collector_waits_while_timing():
    seen = []
    timing.measure({"a": lambda: seen.append(gc.isenabled())}, rounds=2, repeats=1)
    assert seen and not any(seen) and gc.isenabled()


def test_the_clock_follows_what_the_cpu_time_can_see():
    fns = {"a": lambda: None}
    assert timing.measure(fns, rounds=1).clock == "cpu"
    assert timing.measure(fns, rounds=1, threads=2).clock == "wall"
    wall = timing.measure(fns, rounds=1, sync=lambda: None)
    assert wall.clock == "wall" and wall.cpu is None and wall.descheduled_share("a") is None
    assert timing.synchronizer("cpu") is None


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rounds": 0}, "rounds must be a positive int"),
        ({"repeats": 1.5}, "repeats must be a positive int"),
        ({"warmup": -1}, "warmup must be a non-negative int"),
        ({"threads": 0}, "threads must be a positive int"),
        ({"order": "sideways"}, "order must be one of 'random', 'alternate'"),
        ({"clock": "cpu", "threads": 2}, "clock='cpu' needs threads=1, no sync"),
        ({"sync": "cuda"}, "sync must be None or a function"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        timing.measure({"a": lambda: None}, **kwargs)


def test_bad_variants_and_margins_are_named():
    with pytest.raises(TypeError, match="fns must be a non-empty dict"):
        timing.measure({})
    with pytest.raises(TypeError, match="fns must map names"):
        timing.measure({"a": 1})
    t = made_up([1.0] * 3, [1.0] * 3)
    with pytest.raises(KeyError, match="no variant 'c' was measured"):
        t.compare("a", "c")
    with pytest.raises(ValueError, match="margin must be a number >= 1"):
        t.compare("a", "b", margin=0.9)
