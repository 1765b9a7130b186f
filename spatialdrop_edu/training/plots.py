"""Figures of the training chapters: learning curves with their gap, comparisons with intervals.

Every function returns the matplotlib ``Figure`` (or draws on a given ``ax``), with labelled axes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_learning_curves", "plot_comparison"]


def plot_learning_curves(
    curves: dict, *, title: str = "", best_epoch: int | None = None, ax=None, metric: str = "loss", color=None
):
    """Training and validation curves of one run, the generalisation gap between them shaded.

    Args:
        curves: per-epoch lists ``"train_loss"``, ``"val_loss"`` (and ``"train_acc"``,
            ``"val_acc"`` for ``metric="acc"``), e.g. a history from
            :func:`~spatialdrop_edu.training.classifier.train` or a trial's ``"curves"``.
        title: the axes' title.
        best_epoch: if given, a dotted vertical line marks it (1-based).
        ax: draw here; ``None`` makes a new figure.
        metric: ``"loss"`` or ``"acc"``.
        color: the curves' colour (default: the first of viridis).

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.5))
    fig = ax.figure
    color = color or plt.get_cmap("viridis")(0.15)
    train, val = np.asarray(curves[f"train_{metric}"]), np.asarray(curves[f"val_{metric}"])
    epochs = np.arange(1, len(train) + 1)
    ax.plot(epochs, train, color=color, linestyle="--", label="training")
    ax.plot(epochs, val, color=color, label="validation")
    ax.fill_between(epochs, train, val, color=color, alpha=0.15, linewidth=0, label="gap")
    if best_epoch is not None:
        ax.axvline(best_epoch, color="0.4", linestyle=":", linewidth=1, label="best validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy loss" if metric == "loss" else "accuracy")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return fig


def plot_comparison(
    rows,
    *,
    x: str = "p",
    group: str = "dropout",
    ax=None,
    ylabel: str | None = None,
    jitter: float = 0.15,
    baseline: dict | None = None,
):
    """Per-seed values as dots and each configuration's mean ± its confidence interval as a bar.

    Args:
        rows: from :func:`~spatialdrop_edu.training.tables.summarize`.
        x: the row key on the horizontal axis (categories, e.g. the rate ``p``).
        group: the row key that picks the colour (e.g. the variant); each group is offset slightly.
        ax: draw here; ``None`` makes a new figure.
        ylabel: default: the rows' metric.
        jitter: horizontal offset between groups, in category widths.
        baseline: a row drawn as a horizontal band (mean ± interval) across the plot, e.g. no dropout.

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    fig = ax.figure
    xs = sorted({row[x] for row in rows})
    groups = list(dict.fromkeys(row[group] for row in rows))
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.8, max(len(groups), 1)))
    if baseline is not None:
        ax.axhspan(baseline["low"], baseline["high"], color="0.85", label=f"{baseline[group]} (95% CI)")
        ax.axhline(baseline["mean"], color="0.5", linewidth=1)
    for g, (name, color) in enumerate(zip(groups, colors)):
        offset = (g - (len(groups) - 1) / 2) * jitter
        for row in (r for r in rows if r[group] == name):
            pos = xs.index(row[x]) + offset
            ax.scatter(np.full(len(row["values"]), pos), row["values"], s=12, color=color, alpha=0.5, linewidth=0)
            ax.errorbar(
                pos,
                row["mean"],
                yerr=row["half_width"],
                fmt="o",
                color=color,
                capsize=3,
                markersize=5,
                label=name if row is next(r for r in rows if r[group] == name) else None,
            )
    ax.set_xticks(range(len(xs)), [str(v) for v in xs])
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel or rows[0]["metric"])
    ax.legend(fontsize="small", title=group)
    return fig
