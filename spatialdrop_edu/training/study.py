r"""Studies: a grid of configurations, each repeated over seeds, saved as it goes, summarised with intervals.

:func:`~spatialdrop_edu.training.study.run_study` calls ``run(config, seed)`` for every configuration and seed and appends each
finished run to a JSON-lines file, one line per run, keyed by the configuration and the seed.
Started again with the same file, it skips the runs already there: an interrupted study loses at
most the run in progress. :func:`summarize` turns the runs into a tidy table, one row per
configuration, with the per-seed values, their mean and a 95% confidence interval

.. math::

    \bar x \pm t_{0.975,\, n-1} \frac{s}{\sqrt n},

where :math:`s` is the sample standard deviation and :math:`t_{0.975,\,n-1}` the quantile of
Student's t distribution with :math:`n - 1` degrees of freedom (:func:`t_quantile`, computed here
without SciPy). Tables are lists of dicts, one per row.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from .._validation import check_seed

__all__ = ["run_key", "load_runs", "run_study", "summarize", "mean_ci", "t_quantile", "t_cdf",
           "paired_differences", "select_best", "markdown_table"]


# -- Student's t -----------------------------------------------------------------------------------

def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta function (modified Lentz's method)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function :math:`I_x(a, b)`."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """The cumulative distribution function of Student's t with ``df`` degrees of freedom.

    Examples::

        >>> t_cdf(0.0, 5)
        0.5
        >>> round(t_cdf(2.776445, 4), 6)
        0.975
    """
    if df <= 0:
        raise ValueError(f"df must be positive (degrees of freedom), got {df!r}.")
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (bisection on :func:`t_cdf`).

    Args:
        q: a probability in ``(0, 1)``.
        df: degrees of freedom, positive.

    Examples::

        >>> round(t_quantile(0.975, 4), 4), round(t_quantile(0.975, 9), 4), round(t_quantile(0.975, 1), 3)
        (2.7764, 2.2622, 12.706)
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be a probability in (0, 1), got {q!r}.")
    if q < 0.5:
        return -t_quantile(1.0 - q, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < q:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if t_cdf(mid, df) < q else (lo, mid)
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


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

    A last line cut short (the process was killed while writing it) is ignored.
    """
    path = Path(path)
    runs = {}
    if not path.exists():
        return runs
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        runs[run_key(record["config"], record["seed"])] = record
    return runs


def run_study(run, configs, seeds, path=None, *, progress: bool = True) -> list[dict]:
    """Run ``run(config, seed)`` for every configuration and seed, saving and resuming.

    Args:
        run: a function ``(config: dict, seed: int) -> dict`` of JSON-serialisable results
            (metrics, and curves as lists).
        configs: the configurations, dicts of JSON-serialisable values without a ``"seed"`` key.
        seeds: ints; every configuration runs once per seed.
        path: a JSON-lines file. Each finished run is appended to it at once; runs already in it
            are not run again. ``None`` keeps nothing (no resuming).
        progress: show a ``tqdm`` bar over runs.

    Returns:
        The records ``{"config": ..., "seed": ..., "result": ...}`` in grid order (configurations
        outer, seeds inner), loaded ones included.

    Examples::

        >>> records = run_study(lambda c, s: {"score": c["a"] + s}, [{"a": 1}, {"a": 2}], [0, 1], progress=False)
        >>> [r["result"]["score"] for r in records]
        [1, 2, 2, 3]
    """
    configs, seeds = [dict(c) for c in configs], [check_seed(s) for s in seeds]
    done = load_runs(path) if path is not None else {}
    todo = [(c, s) for c in configs for s in seeds if run_key(c, s) not in done]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(configs) * len(seeds), initial=len(configs) * len(seeds) - len(todo), desc="runs")
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        for config, seed in todo:
            result = run(dict(config), seed)
            record = {"config": config, "seed": seed, "result": result}
            line = json.dumps(record)   # fails before writing if the result is not JSON-serialisable
            if path is not None:
                with open(path, "a") as handle:
                    handle.write(line + "\n")
            done[run_key(config, seed)] = json.loads(line)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return [done[run_key(c, s)] for c in configs for s in seeds]


# -- tables ----------------------------------------------------------------------------------------

def summarize(records, metric: str, level: float = 0.95) -> list[dict]:
    """One row per configuration: its settings, the per-seed values of ``metric``, mean and interval.

    Args:
        records: from :func:`~spatialdrop_edu.training.study.run_study`.
        metric: a key of each record's ``"result"``.
        level: the confidence level of the interval.

    Returns:
        Rows (dicts) in the order configurations first appear, with the configuration's keys and
        ``"metric"``, ``"n"``, ``"values"`` (by seed order), ``"seeds"``, ``"mean"``,
        ``"half_width"``, ``"low"``, ``"high"``.

    Examples::

        >>> recs = [{"config": {"p": 0.1}, "seed": s, "result": {"acc": v}} for s, v in enumerate([0.5, 0.7])]
        >>> row = summarize(recs, "acc")[0]
        >>> row["p"], row["n"], round(row["mean"], 2), round(row["half_width"], 3)
        (0.1, 2, 0.6, 1.271)
    """
    groups: dict[str, list] = {}
    for record in records:
        groups.setdefault(json.dumps(record["config"], sort_keys=True), []).append(record)
    rows = []
    for group in groups.values():
        values = [r["result"][metric] for r in group]
        mean, half = mean_ci(values, level)
        rows.append({**group[0]["config"], "metric": metric, "n": len(values), "values": values,
                     "seeds": [r["seed"] for r in group], "mean": mean, "half_width": half,
                     "low": mean - half, "high": mean + half})
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
    diffs = [{"config": r["config"], "seed": r["seed"], "result": {metric: r["result"][metric] - base[r["seed"]]}}
             for r in records if r["config"] != baseline and r["seed"] in base]
    return summarize(diffs, metric, level)


def select_best(rows, group: str, *, higher_is_better: bool = True) -> dict:
    """The row with the best mean within each value of ``group`` (e.g. the best rate per variant).

    Examples::

        >>> rows = [{"dropout": "a", "p": 1, "mean": 0.5}, {"dropout": "a", "p": 2, "mean": 0.7}]
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


def markdown_table(rows, columns: dict) -> str:
    """A Markdown table: one line per row, one column per ``header: function(row) -> str``.

    Examples::

        >>> print(markdown_table([{"p": 0.1, "mean": 0.51}], {"p": lambda r: str(r["p"]),
        ...                                                    "accuracy": lambda r: f"{r['mean']:.2f}"}))
        | p | accuracy |
        |---|---|
        | 0.1 | 0.51 |
    """
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fn(row) for fn in columns.values()) + " |" for row in rows]
    return "\n".join(lines)
