"""A study's records as tables: one row per configuration, paired comparisons, choices on validation, Markdown.

:func:`summarize` turns the runs of :func:`~spatialdrop_edu.training.study.run_study` into a tidy table, one row
per configuration, with the per-seed values, their mean and a 95% confidence interval
(:func:`~spatialdrop_edu.training.stats.mean_ci`). Tables are lists of dicts, one per row.

Reading the table: :func:`paired_differences` compares every configuration with a baseline seed by seed,
:func:`chosen_on_validation` lets the validation set pick each method's value (:func:`select_best`),
:func:`early_stopping_records` replays early stopping on runs that trained every epoch, and
:func:`markdown_table` prints rows.
"""

from __future__ import annotations

import json

from .stats import mean_ci

__all__ = [
    "summarize",
    "paired_differences",
    "early_stopping_records",
    "select_best",
    "chosen_on_validation",
    "markdown_table",
]


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


def early_stopping_records(records, patience: int, *, monitor: str = "val_acc") -> list[dict]:
    """The records early stopping would have made, replayed from runs that trained every epoch.

    Early stopping changes where a run ends, never the epochs before
    (:func:`~spatialdrop_edu.training.loop.replay_early_stopping`), so a run whose per-epoch curves hold
    the monitored metric, the validation accuracy and the test accuracy answers for every patience
    and either criterion, without training again.

    Args:
        records: from :func:`~spatialdrop_edu.training.study.run_study`, runs without early stopping whose
            ``result["curves"]`` hold ``monitor``, ``"val_acc"`` and ``"test_acc"``.
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
        records: from :func:`~spatialdrop_edu.training.study.run_study`.
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
