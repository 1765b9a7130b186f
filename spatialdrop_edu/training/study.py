r"""Studies: a grid of configurations, each repeated over seeds, saved as it goes, summarised with intervals.

:func:`~spatialdrop_edu.training.study.run_study` calls ``run(config, seed)`` for every configuration and seed,
one after another or side by side on any ``concurrent.futures``-style executor (worker processes on this machine,
a Dask cluster, Slurm through submitit), and appends each finished run to a JSON-lines file, one line per run,
keyed by the configuration and the seed, with the run's provenance (what ran it: device, kernels, threads,
versions). Started again with the same file, it skips the runs already there: an interrupted study loses at
most the runs in progress. :func:`summarize` turns the runs into a tidy table, one row per
configuration, with the per-seed values, their mean and a 95% confidence interval

.. math::

    \bar x \pm t_{0.975,\, n-1} \frac{s}{\sqrt n},

where :math:`s` is the sample standard deviation and :math:`t_{0.975,\,n-1}` the quantile of
Student's t distribution with :math:`n - 1` degrees of freedom (:func:`t_quantile`, from
``scipy.stats``). Tables are lists of dicts, one per row.

Reading the table: :func:`paired_differences` compares every configuration with a baseline seed by seed,
:func:`verdict` says where one interval lies, and :func:`holm` corrects a family of comparisons read together
(Holm's step-down method over their :func:`p_value`). :func:`chosen_on_validation` lets the validation set pick
each method's value, and :func:`early_stopping_records` replays early stopping on runs that trained every epoch.
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import pickle
import time
import warnings
from pathlib import Path

from .._validation import check_seed

__all__ = [
    "run_key",
    "load_runs",
    "run_study",
    "summarize",
    "mean_ci",
    "t_quantile",
    "t_cdf",
    "paired_differences",
    "paired_difference",
    "verdict",
    "p_value",
    "holm",
    "early_stopping_records",
    "select_best",
    "chosen_on_validation",
    "markdown_table",
]


# -- Student's t -----------------------------------------------------------------------------------


def t_cdf(t: float, df: float) -> float:
    """The cumulative distribution function of Student's t with ``df`` degrees of freedom (``scipy.stats.t``).

    Examples::

        >>> t_cdf(0.0, 5)
        0.5
        >>> round(t_cdf(2.776445, 4), 6)
        0.975
    """
    if not df > 0:
        raise ValueError(f"df must be positive (degrees of freedom), got {df!r}.")
    from scipy import stats

    return float(stats.t.cdf(t, df))


def t_quantile(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (``scipy.stats.t``).

    Args:
        q: a probability in ``(0, 1)``.
        df: degrees of freedom, positive.

    Examples::

        >>> round(t_quantile(0.975, 4), 4), round(t_quantile(0.975, 9), 4)
        (2.7764, 2.2622)
        >>> round(t_quantile(0.975, 1), 3)
        12.706
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be a probability in (0, 1), got {q!r}.")
    if not df > 0:
        raise ValueError(f"df must be positive (degrees of freedom), got {df!r}.")
    from scipy import stats

    return float(stats.t.ppf(q, df))


def mean_ci(values, level: float = 0.95) -> tuple[float, float]:
    r"""Mean and half-width of the Student's t confidence interval of the mean.

    The half-width is :math:`t_{(1+\text{level})/2,\,n-1}\, s / \sqrt{n}` with :math:`s` the sample
    standard deviation (``n - 1`` in its denominator); it is NaN for a single value.

    Examples::

        >>> mean, half = mean_ci([0.70, 0.72, 0.74, 0.71, 0.73])
        >>> round(mean, 3), round(half, 4)   # s = 0.0158, t = 2.776, n = 5
        (0.72, 0.0196)
    """
    values = [float(v) for v in values]
    n = len(values)
    if n == 0:
        raise ValueError("values must hold at least one number.")
    mean = sum(values) / n
    if n == 1:
        return mean, float("nan")
    s = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, t_quantile(0.5 + level / 2.0, n - 1) * s / math.sqrt(n)


# -- running and resuming --------------------------------------------------------------------------


def run_key(config: dict, seed: int) -> str:
    """The key of one run: the configuration and the seed as canonical JSON.

    Examples::

        >>> run_key({"p": 0.1, "dropout": "spatial"}, 3)
        '{"dropout": "spatial", "p": 0.1, "seed": 3}'
    """
    if "seed" in config:
        raise ValueError("a configuration must not contain 'seed': seeds are given separately.")
    return json.dumps({**config, "seed": seed}, sort_keys=True)


def load_runs(path) -> dict:
    """The finished runs stored in a JSON-lines file, as ``{key: record}`` (empty if no file).

    Args:
        path: a file path, or a resource of an installed package (``importlib.resources``), such as the study
            that :func:`~spatialdrop_edu.training.results.full_results` finds.

    A line cut short (the process was killed while writing it) is ignored.

    Examples::

        >>> load_runs("no/such/study.jsonl")
        {}
    """
    if not hasattr(path, "read_text"):
        path = Path(path)
    runs = {}
    if not path.is_file():
        return runs
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        runs[run_key(record["config"], record["seed"])] = record
    return runs


def _append_line(path: Path, line: str) -> None:
    """Append one line; first end a last line that was cut short, so that it cannot swallow this one."""
    with open(path, "a+b") as handle:
        if handle.tell() > 0:
            handle.seek(-1, 2)
            if handle.read(1) != b"\n":
                handle.write(b"\n")
        handle.write(line.encode() + b"\n")


def run_study(
    run, configs, seeds, path=None, *, executor=None, threads: int | None = None, progress: bool = True
) -> list[dict]:
    """Run ``run(config, seed)`` for every configuration and seed, saving and resuming, here or on an executor.

    Each run goes through :func:`~spatialdrop_edu.training.workers.call_run`, here or in a worker: it sets the
    seeds, the thread count and the reproducible mode's pins of this process before the run, so that a result
    does not depend on where the run ran, on what ran there before, or on how many ran at once. This process is
    the only one that writes ``path``: it appends each run as it finishes, in any order, so resuming works the
    same however the runs were spread.

    Args:
        run: a function ``(config: dict, seed: int) -> dict`` of JSON-serialisable results (metrics, and curves as
            lists). With an executor of processes it must be picklable: a function of a module, or
            ``functools.partial`` of one (Dask also takes lambdas).
        configs: the configurations, dicts of JSON-serialisable values without a ``"seed"`` key.
        seeds: ints; every configuration runs once per seed.
        path: a JSON-lines file. Each finished run is appended to it at once; runs already in it are not run
            again. ``None`` keeps nothing (no resuming).
        executor: ``None`` runs one run after another in this process. Otherwise anything with
            ``submit(fn, *args)`` returning a future (``result()`` and ``done()``): a
            ``concurrent.futures.ProcessPoolExecutor`` (:func:`~spatialdrop_edu.training.workers.study_executor`),
            Dask's ``Client(...).get_executor()``, Ray's or submitit's executor. A failing run stops no other:
            they run and are kept, then its error is raised. Interrupted, this process cancels the runs not
            finished and keeps those finished (Dask cannot tell a running job from a queued one, so the runs in
            progress are lost, as on one core). Workers that
            ``fork`` (``ProcessPoolExecutor``'s default on Linux) need ``threads=1``: a forked PyTorch process
            hangs in its first operation on several threads.
        threads: PyTorch's thread count for every run (default: this process's), positive.
        progress: show a ``tqdm`` bar over runs.

    Returns:
        The records ``{"config": ..., "seed": ..., "result": ..., "provenance": ...}`` in grid order
        (configurations outer, seeds inner), loaded ones included; ``"provenance"`` says what ran the run (see
        :func:`~spatialdrop_edu.training.workers.call_run`). A warning names every run made under other
        conditions than this process's (other kernels, threads or PyTorch), whose result may differ from a run
        here.

    Examples::

        >>> score = lambda c, s: {"score": c["a"] + s}
        >>> records = run_study(score, [{"a": 1}, {"a": 2}], [0, 1], progress=False)
        >>> scores = [r["result"]["score"] for r in records]
        >>> scores, records[0]["provenance"]["threads"] >= 1
        ([1, 2, 2, 3], True)
    """
    from .workers import RunContext, call_run, reference

    configs, seeds = [dict(c) for c in configs], [check_seed(s) for s in seeds]
    context = RunContext.here(threads)
    done = load_runs(path) if path is not None else {}
    todo = [(c, s) for c in configs for s in seeds if run_key(c, s) not in done]
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    expected, warned = reference(context), set()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(configs) * len(seeds), initial=len(configs) * len(seeds) - len(todo), desc="runs")

    def keep(config, seed, outcome):
        result, prov = outcome
        record = {"config": config, "seed": seed, "result": result, "provenance": prov}
        line = json.dumps(record)  # fails before writing if the result is not JSON-serialisable
        if path is not None:
            _append_line(Path(path), line)
        done[run_key(config, seed)] = json.loads(line)
        _warn_differences(config, seed, prov, expected, warned)
        if bar is not None:
            bar.update(1)

    try:
        if executor is None:
            for config, seed in todo:
                keep(config, seed, call_run(run, config, seed, context))
        else:
            _check_start_method(executor, context.threads)
            _run_on(executor, [(config, seed, (call_run, run, config, seed, context)) for config, seed in todo], keep)
    finally:
        if bar is not None:
            bar.close()
    return [done[run_key(c, s)] for c in configs for s in seeds]


def _check_start_method(executor, threads: int) -> None:
    """Refuse what would hang: PyTorch's OpenMP threads do not survive ``fork``, so a forked worker hangs in its
    first operation on more than one thread."""
    context = getattr(executor, "_mp_context", None)  # a ProcessPoolExecutor's start method
    if context is not None and context.get_start_method() == "fork" and threads > 1:
        workers = getattr(executor, "_max_workers", 2)
        raise ValueError(
            f"executor forks its worker processes (ProcessPoolExecutor's default on Linux), and a forked "
            f"PyTorch process hangs in its first operation on several threads: pass threads=1, or an "
            f"executor of fresh processes, such as study_executor({workers}) or ProcessPoolExecutor("
            f"mp_context=multiprocessing.get_context('spawn')); got threads={threads}."
        )


def _warn_differences(config, seed, prov, expected, warned) -> None:
    from .workers import differences

    for why in differences(prov, expected):
        if why not in warned:
            warned.add(why)
            warnings.warn(
                f"a run ran under other conditions than this process ({why}), first "
                f"{run_key(config, seed)}: its result may differ from a run here. Start the workers with "
                "this process's environment (see spatialdrop_edu.reproducible).",
                RuntimeWarning,
                stacklevel=2,
            )


def _run_on(executor, jobs, keep) -> None:
    """Submit every job, ``(config, seed, (fn, *args))``, and keep each outcome as it finishes.

    A failed run stops nothing (an executor cannot always tell a running job from a queued one, so cancelling
    could throw finished work away): the others run and are kept, then the first error is raised. An interrupt
    (or a failure to keep an outcome) stops at once: jobs not finished are cancelled, those finished are kept.
    """
    pending, errors, failed = [], [], 0
    try:
        for config, seed, (fn, *args) in jobs:
            pending.append((executor.submit(fn, *args), config, seed))
        while pending:
            finished = _first_done([future for future, _, _ in pending])
            for item in [item for item in pending if item[0] in finished]:
                pending.remove(item)
                try:
                    outcome = _outcome(item[0])
                except Exception as error:  # noqa: BLE001  raised below, once every other run is kept
                    failed += 1
                    if not any(error is seen for seen in errors):  # a broken pool fails every run with one error
                        errors.append(error)
                    continue
                keep(item[1], item[2], outcome)
    except BaseException:
        for future, config, seed in pending:
            if not _cancel(future) and future.done():
                try:
                    keep(config, seed, _outcome(future))
                except Exception:  # noqa: BLE001  the first error is the one raised
                    pass
        raise
    if errors:
        if failed > 1 and hasattr(errors[0], "add_note"):
            errors[0].add_note(f"{failed} runs failed; every other run was kept.")
        raise errors[0]


def _first_done(futures) -> list:
    """The futures that are done, once at least one is (``concurrent.futures.wait``, else polling ``done()``)."""
    if all(isinstance(f, concurrent.futures.Future) for f in futures):
        done, _ = concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
        return list(done)
    delay = 0.01
    while True:
        done = [f for f in futures if f.done()]
        if done:
            return done
        time.sleep(delay)
        delay = min(2 * delay, 1.0)


def _cancel(future) -> bool:
    cancel = getattr(future, "cancel", None)
    return bool(cancel()) if cancel is not None and not future.done() else False


def _outcome(future):
    try:
        return future.result()
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        if "pickle" not in str(error):
            raise
        raise TypeError(
            f"run could not be sent to the executor's workers ({error}): pass a function of a module, "
            "or functools.partial of one, not a lambda or a function defined in a notebook."
        ) from error


# -- tables ----------------------------------------------------------------------------------------


def summarize(records, metric: str, level: float = 0.95) -> list[dict]:
    """One row per configuration: its settings, the per-seed values of ``metric``, mean and interval.

    Args:
        records: from :func:`~spatialdrop_edu.training.study.run_study`.
        metric: a key of each record's ``"result"``.
        level: the confidence level of the interval.

    Returns:
        Rows (dicts) in the order configurations first appear, with the configuration's keys, the
        configuration itself as ``"config"`` (to look a row's runs up, or to run it again), and
        ``"metric"``, ``"n"``, ``"values"`` (by seed order), ``"seeds"``, ``"mean"``,
        ``"half_width"``, ``"low"``, ``"high"``.

    Examples::

        >>> recs = [{"config": {"p": 0.1}, "seed": s, "result": {"acc": v}}
        ...         for s, v in enumerate([0.5, 0.7])]
        >>> row = summarize(recs, "acc")[0]
        >>> (row["p"], row["config"], row["n"], round(row["mean"], 2),
        ...  round(row["half_width"], 3))
        (0.1, {'p': 0.1}, 2, 0.6, 1.271)
    """
    groups: dict[str, list] = {}
    for record in records:
        groups.setdefault(json.dumps(record["config"], sort_keys=True), []).append(record)
    rows = []
    for group in groups.values():
        values = [r["result"][metric] for r in group]
        mean, half = mean_ci(values, level)
        rows.append(
            {
                **group[0]["config"],
                "config": group[0]["config"],
                "metric": metric,
                "n": len(values),
                "values": values,
                "seeds": [r["seed"] for r in group],
                "mean": mean,
                "half_width": half,
                "low": mean - half,
                "high": mean + half,
            }
        )
    return rows


def paired_differences(records, metric: str, baseline: dict, level: float = 0.95) -> list[dict]:
    """Per configuration, the seed-by-seed difference ``metric - metric(baseline)`` and its interval.

    Runs with the same seed share the data split and the initial weights, so the difference of a
    pair removes what the seed does to both; its interval is usually much narrower than the
    intervals of the two means. Seeds missing from either side are left out.

    Returns:
        Rows as in :func:`summarize` (the baseline itself excluded), where ``"values"`` are the
        differences.
    """
    base = {r["seed"]: r["result"][metric] for r in records if r["config"] == baseline}
    if not base:
        raise ValueError(f"no run has the baseline configuration {baseline!r}.")
    diffs = [
        {"config": r["config"], "seed": r["seed"], "result": {metric: r["result"][metric] - base[r["seed"]]}}
        for r in records
        if r["config"] != baseline and r["seed"] in base
    ]
    return summarize(diffs, metric, level)


def paired_difference(a: dict, b: dict, level: float = 0.95) -> tuple[float, float]:
    """The mean of ``b - a`` seed by seed, and the half-width of its interval: two rows of :func:`summarize`.

    Only the seeds both rows ran count. Runs with the same seed share the data split, the initial
    weights and the batch order, so the pairs remove what the seed does to both (see
    :func:`paired_differences`, which compares every configuration with one baseline).

    Args:
        a: a row of :func:`summarize` (its ``"seeds"`` and ``"values"``).
        b: another row of the same metric.
        level: the confidence level of the interval.

    Raises:
        ValueError: fewer than two seeds in common.

    Examples::

        >>> a = {"seeds": [0, 1, 2], "values": [0.50, 0.60, 0.70]}
        >>> b = {"seeds": [2, 1, 0], "values": [0.75, 0.62, 0.56]}
        >>> mean, half = paired_difference(a, b)
        >>> round(mean, 3), round(half, 3)
        (0.043, 0.052)
    """
    theirs = dict(zip(a["seeds"], a["values"]))
    diffs = [v - theirs[s] for s, v in zip(b["seeds"], b["values"]) if s in theirs]
    if len(diffs) < 2:
        raise ValueError(f"a and b must share at least two seeds to be paired, got {len(diffs)} in common.")
    return mean_ci(diffs, level)


def verdict(row: dict) -> str:
    """What a row's interval says of its difference: ``"better"``, ``"worse"`` or ``"within the noise"``.

    ``row`` is a row of :func:`paired_differences` (or any row with ``"low"`` and ``"high"``): the
    difference is resolved only when its whole interval lies on one side of 0.

    Examples::

        >>> verdict({"low": 0.01, "high": 0.05}), verdict({"low": -0.02, "high": 0.03})
        ('better', 'within the noise')
    """
    if row["low"] > 0:
        return "better"
    if row["high"] < 0:
        return "worse"
    return "within the noise"


def p_value(row: dict) -> float:
    """The two-sided p-value of Student's one-sample t-test that a row's mean difference is 0.

    ``row`` is a row of :func:`paired_differences` (its ``"values"`` are the per-seed differences):
    the p-value is below ``1 - level`` exactly when the row's interval excludes 0, i.e. when
    :func:`verdict` resolves it. Identical values give 0 (when they are not all 0) or 1.

    Examples::

        >>> round(p_value({"values": [0.02, 0.03, 0.01, 0.04, 0.02]}), 4)
        0.0093
        >>> p_value({"values": [0.0, 0.0]}), p_value({"values": [0.1, 0.1]})
        (1.0, 0.0)
    """
    values = [float(v) for v in row["values"]]
    n = len(values)
    if n < 2:
        raise ValueError(f"row['values'] must hold at least two differences for a t-test, got {n}.")
    mean = sum(values) / n
    s = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    if s == 0.0:
        return 1.0 if mean == 0.0 else 0.0
    t = abs(mean) / (s / math.sqrt(n))
    return 2.0 * (1.0 - t_cdf(t, n - 1))


def holm(rows, alpha: float = 0.05) -> list[str]:
    """Verdicts for a family of comparisons read together, corrected for multiplicity by Holm's method.

    Reading many intervals at once, some exclude 0 by chance: at level 95%, one comparison in
    twenty does when nothing differs. Holm's step-down method (Holm, 1979) keeps the chance of
    *any* false "better" or "worse" in the family below ``alpha``: sort the p-values
    (:func:`p_value`), compare the smallest with ``alpha / m``, the next with ``alpha / (m - 1)``,
    and so on, and stop at the first that fails; the comparisons before it are resolved.

    Args:
        rows: rows of :func:`paired_differences`, the family (every comparison that was read).
        alpha: the family-wise error rate.

    Returns:
        The verdicts in the rows' order, ``"better"`` or ``"worse"`` (by the sign of the mean)
        where resolved and ``"within the noise"`` elsewhere.

    Examples::

        >>> rows = [{"values": [0.02, 0.03, 0.01, 0.04, 0.02]},   # p = 0.009
        ...         {"values": [0.02, 0.0, 0.03, 0.01, 0.02]},    # p = 0.035
        ...         {"values": [0.01, -0.005, 0.02, 0.015, 0.0]}] # p = 0.16
        >>> holm(rows)   # alone, the second one's interval excludes 0
        ['better', 'within the noise', 'within the noise']
    """
    rows = list(rows)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be a probability in (0, 1), got {alpha!r}.")
    p = [p_value(r) for r in rows]
    verdicts = ["within the noise"] * len(rows)
    for rank, i in enumerate(sorted(range(len(rows)), key=p.__getitem__)):
        if p[i] > alpha / (len(rows) - rank):
            break
        mean = sum(rows[i]["values"]) / len(rows[i]["values"])
        verdicts[i] = "better" if mean > 0 else "worse"
    return verdicts


def early_stopping_records(records, patience: int, *, monitor: str = "val_acc") -> list[dict]:
    """The records early stopping would have made, replayed from runs that trained every epoch.

    Early stopping changes where a run ends, never the epochs before
    (:func:`~spatialdrop_edu.training.loop.replay_early_stopping`), so a run whose per-epoch curves hold
    the monitored metric, the validation accuracy and the test accuracy answers for every patience
    and either criterion, without training again.

    Args:
        records: from :func:`run_study`, runs without early stopping whose ``result["curves"]`` hold
            ``monitor``, ``"val_acc"`` and ``"test_acc"``.
        patience: epochs without a better ``monitor`` before stopping.
        monitor: the curve that decides: ``"val_loss"`` (lower is better) or ``"val_acc"`` (higher).

    Returns:
        One record per run, its configuration marked ``"patience": patience`` and
        ``"stop_on": monitor``, and its result ``{"test_acc", "val_acc", "kept_epoch", "epochs_run"}``
        of the weights early stopping keeps.

    Examples::

        >>> curves = {"val_loss": [0.9, 0.6, 0.7, 0.8, 0.5],
        ...           "val_acc": [0.5, 0.7, 0.8, 0.7, 0.9],
        ...           "test_acc": [0.4, 0.6, 0.7, 0.65, 0.8]}
        >>> run = {"config": {"p": 0.0}, "seed": 0, "result": {"curves": curves}}
        >>> [early_stopping_records([run], 2, monitor=m)[0]["result"]["test_acc"]
        ...  for m in ("val_loss", "val_acc")]
        [0.6, 0.8]
    """
    if monitor not in ("val_loss", "val_acc"):
        raise ValueError(f"monitor must be 'val_loss' or 'val_acc', got {monitor!r}.")
    from .loop import replay_early_stopping  # the loop imports torch; this module's statistics do not

    replayed = []
    for record in records:
        curves = record["result"]["curves"]
        kept, ran = replay_early_stopping(curves[monitor], patience, higher_is_better=monitor == "val_acc")
        replayed.append(
            {
                "config": {**record["config"], "patience": patience, "stop_on": monitor},
                "seed": record["seed"],
                "result": {
                    "test_acc": curves["test_acc"][kept - 1],
                    "val_acc": curves["val_acc"][kept - 1],
                    "kept_epoch": kept,
                    "epochs_run": ran,
                },
            }
        )
    return replayed


def select_best(rows, group: str, *, higher_is_better: bool = True) -> dict:
    """The row with the best mean within each value of ``group`` (e.g. the best rate per variant).

    Examples::

        >>> rows = [{"dropout": "a", "p": 1, "mean": 0.5},
        ...         {"dropout": "a", "p": 2, "mean": 0.7}]
        >>> select_best(rows, "dropout")["a"]["p"]
        2
    """
    best: dict = {}
    for row in rows:
        key = row[group]
        if key not in best:
            best[key] = row
        elif (row["mean"] > best[key]["mean"]) if higher_is_better else (row["mean"] < best[key]["mean"]):
            best[key] = row
    return best


def chosen_on_validation(records, select: str, score: str, *, group: str = "dropout", baseline: str = "none") -> dict:
    """Each group's configuration chosen on validation and scored on test: a fair comparison's rule.

    Within each value of ``group`` (a variant), the configuration with the best mean of ``select`` (a validation
    metric; a rate, say, is what it chooses) is kept; the test set only scores that choice, by ``score``. The
    ``baseline`` group has nothing to choose and is scored as it is.

    Args:
        records: from :func:`run_study`.
        select: the metric that chooses (higher is better), a key of each record's ``"result"``.
        score: the metric reported for the choice.
        group: the configuration key whose values are compared (``"dropout"``: one choice per variant).
        baseline: the value of ``group`` that is not chosen among (its one configuration is kept).

    Returns:
        ``{value of group: row of summarize(records, score)}``, the baseline included.

    Examples::

        >>> runs = [{"config": {"dropout": d, "p": p}, "seed": s,
        ...          "result": {"val": v, "test": t}}
        ...         for d, p, v, t in [("none", 0, 0.5, 0.50), ("a", 1, 0.6, 0.70),
        ...                            ("a", 2, 0.8, 0.65)] for s in (0, 1)]
        >>> best = chosen_on_validation(runs, "val", "test")
        >>> best["a"]["p"], round(best["a"]["mean"], 2), best["none"]["mean"]
        (2, 0.65, 0.5)
    """
    val = [r for r in summarize(records, select) if r[group] != baseline]
    picked = [r["config"] for r in select_best(val, group).values()]
    rows = summarize(records, score)
    return {r[group]: r for r in rows if r[group] == baseline or r["config"] in picked}


def markdown_table(rows, columns: dict) -> str:
    """A Markdown table: one line per row, one column per ``header: function(row) -> str``.

    Examples::

        >>> columns = {"p": lambda r: str(r["p"]),
        ...            "accuracy": lambda r: f"{r['mean']:.2f}"}
        >>> print(markdown_table([{"p": 0.1, "mean": 0.51}], columns))
        | p | accuracy |
        |---|---|
        | 0.1 | 0.51 |
    """
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fn(row) for fn in columns.values()) + " |" for row in rows]
    return "\n".join(lines)
