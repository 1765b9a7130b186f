"""Checkers of chapter 6, training a 1-D CNN on MNIST-1D (exercises 6.1-6.3).

None of them trains a network or reads an accuracy: 6.1 measures the *mask structure* of the
feature maps entering the second convolution (forward hooks), 6.2 compares the learner's seed
loop and interval with the formula on given numbers, and 6.3 asks for a verdict on given per-seed
numbers whose right answer follows from the formula.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..training.stats import mean_ci, t_quantile
from ._harness import ExerciseFailure, attempt, fail, failed, outcome, reference_answer, run_check
from ._measures import ArrayPool, as_array, build_student_model, check_whole_map_scale_and_rate, pooled, record_layers

__all__ = ["NOISE_CASES", "check_dropout_placement", "check_seed_study", "check_is_noise"]


# ----------------------------------------------------------------------------- 6.1

#: Training calls of exercise 6.1's check: the rate bound is a binomial over the maps they see.
_PLACEMENT_CALLS = 40


def _placement_inputs(seed: int | None) -> tuple[float, torch.Tensor, list[int]]:
    """Exercise 6.1's drop rate, batch and the torch seed of each training call: the learner's own, or from the
    grader's seed."""
    if seed is None:
        p, batch_seed, first_call = 0.4, 6, 600
    else:
        rng = np.random.default_rng(seed)
        p = round(float(rng.uniform(0.25, 0.6)), 2)
        batch_seed, first_call = (int(s) for s in rng.integers(2**31, size=2))
    x = torch.randn(16, 1, 40, generator=torch.Generator().manual_seed(batch_seed))
    return p, x, [first_call + call for call in range(_PLACEMENT_CALLS)]


def _tensor(array) -> torch.Tensor:
    """A reported array as a tensor of its own (reported arrays are read-only)."""
    return torch.from_numpy(np.array(array))


def _first_two_convs(model) -> list:
    """The model's first two ``Conv1d`` layers; feedback if it holds fewer."""
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    if len(convs) < 2:
        fail(f"the model holds {len(convs)} Conv1d layer(s); keep both convolutions of the given model.")
    return convs[:2]


def _maps_seen(model, x, convs, pool: ArrayPool) -> dict:
    """One run of the learner's model as a record: both convolutions' inputs, the first's output, the output's shape."""
    try:
        seen, out = record_layers(model, x, inputs={"in1": convs[0], "in2": convs[1]}, outputs={"out1": convs[0]})
    except ExerciseFailure as failure:
        return {"failure": str(failure)}
    return {
        "value": {
            "in1": pool.index(seen["in1"]),
            "out1": pool.index(seen["out1"]),
            "in2": seen["in2"],
            "out_shape": list(getattr(out, "shape", ())),
        }
    }


def check_dropout_placement(build_model) -> None:
    """Exercise 6.1: ``build_model(p)`` puts spatial dropout after the first conv block, and only there.

    ``build_model(0.4)`` must return a ``torch.nn.Module`` holding (at least) two ``Conv1d``
    layers. Hooks on the first two record, in training mode over 40 seeded calls on a batch of
    shape ``(16, 1, 40)``: the input of the first conv (must be the raw batch), the model's
    output (must have shape ``(16, 10)``), and the input of the second conv, which must be the
    first block's feature maps ``relu(conv1(x))`` with each (sample, channel) map either zeroed
    whole or kept whole and scaled by ``1/(1-p)``; the fraction of zeroed maps must be ``p``
    within ``SIGMAS`` standard deviations. In evaluation mode the maps must pass unchanged.

    Args:
        build_model: the learner's function ``(p) -> torch.nn.Module``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and the likely mistake.

    Examples::

        >>> check_dropout_placement(lambda p: None)
        ... # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: build_model(p) must return a
        torch.nn.Module (e.g. nn.Sequential), got NoneType.
    """
    run_check(probe_dropout_placement, judge_dropout_placement, build_model)


def probe_dropout_placement(build_model, *, seed=None) -> dict:
    """Exercise 6.1's probe: what the first two convolutions saw in each training call, then in evaluation mode."""
    p, x, call_seeds = _placement_inputs(seed)
    model = build_student_model(build_model, p)
    convs = _first_two_convs(model)
    pool, calls, evaluation = ArrayPool(), [], None
    for call_seed in call_seeds:
        torch.manual_seed(call_seed)
        calls.append(_maps_seen(model, x, convs, pool))
        if failed(calls[-1]):
            break
    else:
        model.eval()
        evaluation = _maps_seen(model, x, convs, pool)
    return {"calls": calls, "eval": evaluation, "pool": pool.arrays}


def _map_counts(in2: torch.Tensor, ref: torch.Tensor) -> tuple[dict[str, int], list[float]]:
    """How the second conv's input ``in2`` relates, map by map, to the first block's maps ``ref``: how many maps
    with signal passed unchanged, were partly zeroed, zeroed whole, and in all; and the scale of each kept map."""
    active = (ref > 0).flatten(2).any(-1)  # maps with some signal
    zero = (in2 == 0).flatten(2).all(-1)
    scale = in2.flatten(2).sum(-1) / ref.flatten(2).sum(-1).clamp_min(1e-12)  # per map: in2 = scale * ref?
    whole = torch.isclose(in2, scale[..., None] * ref, rtol=1e-4, atol=1e-6).flatten(2).all(-1)
    same = torch.isclose(in2, ref, rtol=1e-4, atol=1e-6).flatten(2).all(-1)
    counts = {
        "plain": int((same & active).sum()),
        "partly": int((active & ~zero & ~whole).sum()),
        "dropped": int((zero & active).sum()),
        "maps": int(active.sum()),
    }
    return counts, scale[active & ~zero & whole].tolist()


def judge_dropout_placement(data: dict, seed: int | None) -> str:
    """Exercise 6.1's judge: which maps reach the second convolution dropped, kept or changed, and in eval mode."""
    p, x, call_seeds = _placement_inputs(seed)
    pool = [_tensor(a) for a in data["pool"]]
    totals, scales = {"plain": 0, "partly": 0, "dropped": 0, "maps": 0}, []
    for record in data["calls"]:
        seen = outcome(record)
        in1, out1, in2 = pooled(pool, seen["in1"]), pooled(pool, seen["out1"]), _tensor(seen["in2"])
        if in1.shape != x.shape or not torch.allclose(in1, x):
            fail(
                "the first convolution does not see the input sequences as they are: something (a dropout?) sits "
                "before it. Dropout on the one input channel drops whole sequences; put SpatialDropout1d after the "
                "first block's ReLU, on its feature maps."
            )
        if tuple(seen["out_shape"]) != (16, 10):
            fail(f"the model's output has shape {tuple(seen['out_shape'])}, expected (16, 10): keep the given layers.")
        ref = torch.relu(out1)
        if in2.shape != ref.shape:
            fail(
                f"the second convolution receives shape {tuple(in2.shape)}, expected the first block's feature maps "
                f"{tuple(ref.shape)}: insert the dropout without reshaping anything."
            )
        counts, kept_scales = _map_counts(in2, ref)
        totals = {key: totals[key] + n for key, n in counts.items()}
        scales += kept_scales
    if len(data["calls"]) != len(call_seeds):
        raise ValueError("the report has the wrong number of training calls")
    plain, partly, dropped, maps = totals["plain"], totals["partly"], totals["dropped"], totals["maps"]
    if plain == maps:
        fail(
            "in training mode the first block's feature maps reach the second convolution unchanged: there is no "
            "dropout between the first and the second convolution. Put SpatialDropout1d(p) right after the first "
            "ReLU (a dropout later in the model does not act on these maps)."
        )
    if partly:
        fail(
            f"{partly} of {maps} feature maps were partly zeroed (some positions kept, others dropped): that is "
            "element-wise dropout (nn.Dropout). Spatial dropout keeps or drops a whole map: "
            "sde.SpatialDropout1d(p) or nn.Dropout1d(p)."
        )
    check_whole_map_scale_and_rate(scales, dropped, maps, p, "feature maps")
    seen = outcome(data["eval"])
    out1, in2 = pooled(pool, seen["out1"]), _tensor(seen["in2"])
    if not torch.allclose(in2, torch.relu(out1), rtol=1e-4, atol=1e-6):
        fail(
            "in evaluation mode (model.eval()) the feature maps must pass unchanged: use a dropout layer that "
            "follows the module's training flag, not a function called with training=True."
        )
    return "Correct: whole feature maps of the first block are dropped, at rate p, and nothing else."


# ----------------------------------------------------------------------------- 6.2

#: Exercise 6.2's seed lists (2 to 12 seeds, one in no order).
SEED_LISTS = ([3, 4, 5], [0, 1, 2, 3, 4], [11, 7, 5, 3, 2, 1], list(range(20, 32)), [0, 1])


def _seed_lists(seed: int | None) -> list[list[int]]:
    """Exercise 6.2's seed lists: the learner's own, or lists of the same lengths drawn from the grader's seed."""
    if seed is None:
        return [list(seeds) for seeds in SEED_LISTS]
    rng = np.random.default_rng(seed)
    return [[int(s) for s in rng.choice(1000, size=len(seeds), replace=False)] for seeds in SEED_LISTS]


def _seeded_run():
    """The checker's 'training run': a number drawn from PyTorch's global generator."""
    return round(0.6 + 0.1 * float(torch.rand(())), 6)


def _expected_values(seeds):
    values = []
    with torch.random.fork_rng(devices=[]):  # the caller's random stream is left as it was
        for seed in seeds:
            torch.manual_seed(seed)
            values.append(_seeded_run())
    return values


def _number_or_none(value) -> float | None:
    """``value`` as a float, or ``None`` when it is not a number (the judge then stops where the checker did)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _study_result(result, what: str) -> dict:
    """What ``seed_study`` returned, as data: its values, mean and half-width; feedback if it is not three things."""
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        fail(
            f"seed_study must return three things, (values, mean, half_width); got {type(result).__name__}"
            + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
            + "."
        )
    values, mean, half = result
    values = as_array(values, "your seed_study's values").ravel()
    return {"values": values, "mean": _number_or_none(mean), "half": _number_or_none(half)}


def check_seed_study(seed_study) -> None:
    """Exercise 6.2: ``seed_study(run, seeds)`` seeds before every run and returns values, mean, 95% half-width.

    The checker's ``run()`` (no arguments) draws from PyTorch's global generator, so its value
    is reproducible only when PyTorch was seeded just before the call. For five seed lists (2 to
    12 seeds) the answer must return three things, ``(values, mean, half_width)``: ``run()``
    called exactly once per seed; the values equal (within 1e-9) to those of ``run()`` seeded
    with each seed in turn; the mean within 1e-6 of their average; the half-width within a
    relative 1e-5 of the 95% half-width the exercise defines. A wrong half-width is compared
    with typical mistakes, and the one it matches is named.

    Args:
        seed_study: the learner's function ``(run, seeds) -> (values, mean, half_width)``.

    Raises:
        ExerciseFailure: with feedback naming the seed list answered wrongly and the likely
            mistake.

    Examples::

        >>> check_seed_study(lambda run, seeds: ([run() for s in seeds], 0.0, 0.0))
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: the values ... are not the
        seeded runs' values ...
    """
    run_check(probe_seed_study, judge_seed_study, seed_study)


def probe_seed_study(seed_study, *, seed=None) -> dict:
    """Exercise 6.2's probe: for each seed list, what the learner's seed_study returned and how often run() ran."""
    studies = []
    for seeds in _seed_lists(seed):
        calls = []

        def run(calls=calls):  # this iteration's list, bound now
            calls.append(1)
            return _seeded_run()

        study = attempt(seed_study, run, list(seeds), what="your seed_study", convert=_study_result)
        studies.append({**study, "runs": len(calls)})
        if failed(study):
            break
    return {"studies": studies}


def _half_width_mistake(half: float, expected: np.ndarray, h: float) -> str:
    """The typical mistake a wrong half-width matches, or ``""``."""
    n = len(expected)
    s1 = float(np.std(expected, ddof=1))
    s0 = float(np.std(expected, ddof=0))
    t = t_quantile(0.975, n - 1)
    guesses = {
        "you used 1.96, the normal quantile; with few seeds use Student's t with n - 1 degrees of freedom "
        f"(here t = {t:.3f})": 1.96 * s1 / math.sqrt(n),
        "your standard deviation divides by n; the sample standard deviation divides by n - 1 (ddof=1)": t
        * s0
        / math.sqrt(n),
        "you divided by n instead of sqrt(n)": t * s1 / n,
        "you used n degrees of freedom; Student's t here has n - 1": t_quantile(0.975, n) * s1 / math.sqrt(n),
        "you used the 0.95 quantile, a one-sided bound; a two-sided 95% interval needs the 0.975 quantile": (
            t_quantile(0.95, n - 1) * s1 / math.sqrt(n)
        ),
        "you returned the whole width; the half-width is t * s / sqrt(n)": 2 * h,
    }
    return next((g for g, v in guesses.items() if math.isclose(half, v, rel_tol=1e-4)), "")


def judge_seed_study(data: dict, seed: int | None) -> str:
    """Exercise 6.2's judge: one run per seed, the seeded runs' values, their mean and their 95% half-width."""
    seed_lists = _seed_lists(seed)
    for seeds, study in zip(seed_lists, data["studies"]):
        result = outcome(study)
        values = np.asarray(result["values"], dtype=float).ravel()
        expected = np.array(_expected_values(seeds))
        n, runs = len(seeds), int(study["runs"])
        if runs != n or len(values) != n:
            fail(
                f"with {n} seeds, run() was called {runs} times and {len(values)} values came back: call it "
                "exactly once per seed and keep every value."
            )
        if not np.allclose(values, expected, atol=1e-9):
            first_ok = np.isclose(values[0], expected[0])
            hint = (
                (
                    "the first value is right but the others are not: seed before EVERY run "
                    "(torch.manual_seed(seed) or sde.seed_everything(seed) inside the loop)"
                )
                if first_ok
                else ("seed PyTorch with the run's seed right before calling run(): torch.manual_seed(seed)")
            )
            fail(
                f"the values {np.round(values, 4).tolist()} are not the seeded runs' values "
                f"{np.round(expected, 4).tolist()}: {hint}."
            )
        m, h = mean_ci(expected)
        mean = float(result["mean"])
        if not math.isclose(mean, m, abs_tol=1e-6):
            fail(f"the mean is {mean:.6f}, expected {m:.6f} (the plain average of the values).")
        half = float(result["half"])
        if not math.isclose(half, h, rel_tol=1e-5, abs_tol=1e-9):
            hint = _half_width_mistake(half, expected, h)
            fail(
                f"with {n} seeds the half-width is {half:.6f}, expected t_0.975,{n - 1} * s / sqrt(n) = {h:.6f}."
                + (f" It looks like {hint}." if hint else "")
            )
    if len(data["studies"]) != len(seed_lists):
        raise ValueError("the report has the wrong number of seed lists")
    return "Correct: one seeded run per seed, and the mean with its Student's t 95% interval."


# ----------------------------------------------------------------------------- 6.3

#: The named cases of exercise 6.3, each (a, b, what a wrong verdict usually means).
NOISE_CASES = {
    "same seeds, small but consistent gain": (
        [0.47, 0.40, 0.45, 0.38, 0.42],
        [0.49, 0.43, 0.46, 0.40, 0.45],
        "the seeds move both methods together; compare the differences seed by seed (paired), not the two "
        "intervals: overlapping intervals do not mean noise",
    ),
    "gain of two t-intervals, five seeds": (
        [0.50, 0.50, 0.50, 0.50, 0.50],
        [0.51, 0.53, 0.49, 0.54, 0.52],
        "with 5 seeds the 95% interval uses t = 2.776 (4 degrees of freedom), not 1.96",
    ),
    "different means, large noise": (
        [0.45, 0.38, 0.52, 0.41, 0.47, 0.36],
        [0.40, 0.46, 0.43, 0.50, 0.37, 0.44],
        "different means are not enough: the interval of the differences must exclude 0",
    ),
    "large clear gain": ([0.42, 0.40, 0.45, 0.39, 0.41], [0.57, 0.55, 0.56, 0.59, 0.56], ""),
    "identical": ([0.5, 0.6, 0.55], [0.5, 0.6, 0.55], "identical results are noise: the difference is exactly 0"),
}


@reference_answer
def _truth(a, b) -> bool:
    d = np.asarray(b, float) - np.asarray(a, float)
    mean, half = mean_ci(d)
    return bool(abs(mean) <= half) if not math.isnan(half) else True


def _random_noise_cases(seed: int | None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Exercise 6.3's 200 random cases, less those on the boundary: (name, a, b), drawn from the checker's seed or
    the grader's."""
    rng = np.random.default_rng(66 if seed is None else seed)
    cases = []
    for case in range(200):
        n = int(rng.integers(3, 12))
        base = rng.normal(0.5, 0.05, n)
        a = np.round(base + rng.normal(0, 0.01, n), 4)
        b = np.round(base + rng.normal(0, 0.01, n) + rng.choice([0.0, 0.005, 0.01, 0.02]), 4)
        mean, half = mean_ci(b - a)
        if abs(abs(mean) - half) >= 1e-6:  # on the boundary rounding decides: such a case is skipped
            cases.append((f"random {case}", a, b))
    return cases


def _verdict_for(name: str):
    """A probe's ``convert``: the learner's answer for the case ``name`` as a bool; feedback if it is not one."""

    def convert(answer, what):
        if not isinstance(answer, (bool, np.bool_)):
            fail(f"is_noise must return True or False, got {answer!r} ({type(answer).__name__}) for the case '{name}'.")
        return bool(answer)

    return convert


def check_is_noise(is_noise) -> None:
    """Exercise 6.3: ``is_noise(a, b)`` says whether per-seed results ``b`` differ from ``a`` only by noise.

    ``a[i]`` and ``b[i]`` come from the same seed. The answer must return ``True`` or ``False``,
    and the verdict must agree with the package's, which follows the exercise's definition, on
    the named :data:`NOISE_CASES` (each built so that one usual mistake gives the wrong verdict)
    and on 200 random cases (3 to 11 seeds; cases on the boundary, where rounding decides, are
    skipped).

    Args:
        is_noise: the learner's function ``(a, b) -> bool``.

    Raises:
        ExerciseFailure: with feedback listing every named case answered wrongly, or the first
            random one.

    Examples::

        >>> check_is_noise(lambda a, b: True)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: 2 of 5 cases got the wrong
        verdict. ...
    """
    run_check(probe_is_noise, judge_is_noise, is_noise)


def probe_is_noise(is_noise, *, seed=None) -> dict:
    """Exercise 6.3's probe: the learner's verdict on each named case (the same in every run), then each random one."""
    named = [(name, a, b) for name, (a, b, _) in NOISE_CASES.items()]
    drawn = [(name, a.tolist(), b.tolist()) for name, a, b in _random_noise_cases(seed)]
    verdicts = []
    for name, a, b in named + drawn:
        verdicts.append(attempt(is_noise, list(a), list(b), what="your is_noise", convert=_verdict_for(name)))
        if failed(verdicts[-1]):
            break
    return {"verdicts": verdicts}


def _named_case_feedback(name: str, a, b, hint: str) -> str:
    """The feedback on a named case answered wrongly."""
    expected = _truth(a, b)
    mean, half = mean_ci(np.subtract(b, a))
    return (
        f"case '{name}': a = {a}, b = {b}. The differences b - a have mean {mean:+.4f} and 95% "
        f"half-width {half:.4f}, so the answer is "
        f"{'noise (True)' if expected else 'a real difference (False)'}, you said {not expected}."
        + (f" Likely: {hint}." if hint else "")
    )


def judge_is_noise(data: dict, seed: int | None) -> str:
    """Exercise 6.3's judge: every verdict, on the named cases and on the random ones, agrees with the package's."""
    verdicts = iter(data["verdicts"])
    wrong = [
        _named_case_feedback(name, a, b, hint)
        for name, (a, b, hint) in NOISE_CASES.items()
        if outcome(next(verdicts)) is not _truth(a, b)
    ]
    if wrong:
        fail(f"{len(wrong)} of {len(NOISE_CASES)} cases got the wrong verdict.\n" + "\n".join(wrong))
    cases = _random_noise_cases(seed)
    for _, a, b in cases:
        if outcome(next(verdicts)) is not _truth(a, b):
            mean, half = mean_ci(b - a)
            fail(
                f"random case: a = {a.tolist()}, b = {b.tolist()}; the paired differences have mean {mean:+.4f} and "
                f"95% half-width {half:.4f}, so the answer is {abs(mean) <= half}. Use the interval of b - a with "
                f"Student's t at n - 1 = {len(a) - 1} degrees of freedom."
            )
    if len(data["verdicts"]) != len(NOISE_CASES) + len(cases):
        raise ValueError("the report has the wrong number of verdicts")
    return "Correct: the verdict follows the paired 95% interval in every case."
