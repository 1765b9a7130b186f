"""Chapter 1's widget: inverted dropout on an activation map, one mask and the mean of many.

As every widget of the course it comes in parts that can be tested apart: a pure computation
(:func:`dropout_demo`, a dict of arrays), its plot (:func:`plot_dropout_demo`), the live widget
(:func:`dropout_widget`, whose ``result`` holds the latest state) and the static twin for the
website (:func:`dropout_twin`).
"""

from __future__ import annotations

import numpy as np

from .._validation import (
    check_draws,
    check_positive_int,
    check_probability,
    check_rng,
    check_seed,
    check_unit_interval,
)
from ..layers.numpy_reference import numpy_dropout
from ..plotting import plot_heatmap, plot_running_mean_error
from ._live import live_widget, rate_slider, seed_slider

__all__ = [
    "activation_map",
    "average_after_dropout",
    "dropout_demo",
    "dropout_twin",
    "dropout_widget",
    "plot_dropout_demo",
    "tidy_log_axis",
]


def activation_map(size: int = 6) -> np.ndarray:
    """A small, smooth, non-negative activation map (as after a ReLU), the same on every machine.

    Args:
        size: side length, a positive int. Default: 6.

    Returns:
        A ``(size, size)`` float array with values in ``[0, 2]``, some of them exactly 0.

    Examples::

        >>> a = activation_map(); a.shape, float(a.min()), bool(a.max() <= 2)
        ((6, 6), 0.0, True)
    """
    check_positive_int(size, "size")
    i, j = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    return np.round(np.maximum(0.0, np.sin(i / 1.5) + np.cos(j / 2.0)), 2)


def dropout_demo(p: float, seed: int, *, x=None, draws: int = 200) -> dict:
    """Inverted dropout on an activation map: one mask, its output, and the mean of many draws.

    Args:
        p: probability of dropping a unit, in ``[0, 1]``.
        seed: seed of the ``numpy.random.Generator`` that draws every mask.
        x: an activation map of a 2-D image (a rank-2 array); default :func:`activation_map`.
        draws: number of dropout calls averaged for the running mean. Default: 200.

    Returns:
        A dict with ``"input"``, ``"mask"`` (bool, first draw), ``"output"`` (first draw),
        ``"running_mean"`` (mean of all ``draws`` outputs), ``"errors"`` (RMS distance of the
        running mean of the first ``n`` draws to the input, for ``n = 1 .. draws``),
        ``"expected_errors"`` (its expected value ``sqrt(mean(x**2) * p / ((1 - p) * n))``,
        ``inf`` when ``p = 1``), ``"p"``, ``"seed"``, ``"draws"``.

    Examples::

        >>> s = dropout_demo(0.5, 0)
        >>> ratio = s["output"] / np.where(s["input"] == 0, 1, s["input"])
        >>> sorted(set(np.round(ratio, 6).ravel().tolist()))
        [0.0, 2.0]
    """
    p = check_probability(p)
    seed = check_seed(seed)
    draws = check_draws(draws)
    x = activation_map() if x is None else np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D activation map (a rank-2 array), got shape {x.shape}.")
    rng = np.random.default_rng(seed)
    outputs = np.empty((draws, *x.shape))
    masks = np.empty((draws, *x.shape), dtype=bool)
    for n in range(draws):
        outputs[n], masks[n] = numpy_dropout(x, p, rng, return_mask=True)
    running = np.cumsum(outputs, axis=0) / np.arange(1, draws + 1).reshape(-1, 1, 1)
    errors = np.sqrt(((running - x) ** 2).mean(axis=(1, 2)))
    n = np.arange(1, draws + 1)
    if p < 1.0:
        expected = np.sqrt(float((x**2).mean()) * p / ((1.0 - p) * n))
    else:
        expected = np.full(draws, np.inf)
    return {
        "input": x,
        "mask": masks[0],
        "output": outputs[0],
        "running_mean": running[-1],
        "errors": errors,
        "expected_errors": expected,
        "p": p,
        "seed": seed,
        "draws": draws,
    }


def tidy_log_axis(ax, max_labels: int = 6) -> None:
    """Label a logarithmic y axis with a few round numbers (1, 2, 5 per decade) and no crowded minor labels.

    Matplotlib labels the minor ticks of a log axis that spans less than a decade, so their labels
    overlap in a small panel. This keeps at most ``max_labels`` labelled ticks.

    Args:
        ax: axes whose y axis is logarithmic.
        max_labels: most labelled ticks. Default: 6.

    Examples::

        >>> import matplotlib; matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots()
        >>> _ = ax.semilogy([1, 2], [0.15, 6.0])
        >>> tidy_log_axis(ax)
        >>> fig.canvas.draw()
        >>> ticks = [*ax.get_yticklabels(minor=True), *ax.get_yticklabels()]
        >>> labels = [t.get_text() for t in ticks]
        >>> [t for t in labels if t and 0.15 <= float(t) <= 6.0]
        ['0.2', '0.5', '1', '2', '5']
        >>> plt.close(fig)
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    check_positive_int(max_labels, "max_labels")
    ax.yaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0), numticks=max_labels))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def average_after_dropout(a: float, p: float, n: int, rho: float, draws: int, rng) -> np.ndarray:
    """Average of ``n`` units of value ``a`` after inverted dropout whose coins have correlation ``rho``.

    Each draw flips a biased coin first: with probability ``rho`` all ``n`` units share one keep
    coin (noise shape ``(draws, 1)``, as spatial dropout on a constant map), otherwise each unit
    has its own (noise shape ``(draws, n)``, plain dropout). Two different coins are then
    correlated with exactly ``rho``, and the variance of the average is
    ``a**2 * p / (1 - p) * (1 + (n - 1) * rho) / n``.

    Args:
        a: the value of every unit.
        p: drop probability, in ``[0, 1)``.
        n: number of units averaged, a positive int.
        rho: correlation between two coins, in ``[0, 1]``.
        draws: number of independent averages, a positive int.
        rng: a ``numpy.random.Generator``.

    Returns:
        A ``(draws,)`` array: one average per draw.

    Examples::

        >>> rng = np.random.default_rng(0)
        >>> shared = average_after_dropout(2.0, 0.5, 9, 1.0, 1000, rng)
        >>> # one coin for all nine units: 0 or 2 / (1 - p)
        >>> sorted(set(shared.tolist()))
        [0.0, 4.0]
        >>> float(average_after_dropout(2.0, 0.0, 9, 0.3, 5, rng).std())
        0.0
    """
    from ..layers.numpy_reference import keep_mask

    p = check_probability(p)
    if p >= 1.0:
        raise ValueError(f"p must be below 1 for an average of kept units, got {p}.")
    n = check_positive_int(n, "n")
    rho = check_unit_interval(rho, "rho", "a correlation between two coins")
    draws = check_draws(draws)
    rng = check_rng(rng)
    x = np.full((draws, n), float(a))
    independent = np.where(keep_mask((draws, n), p, rng), x / (1.0 - p), 0.0)
    shared = np.where(keep_mask((draws, n), p, rng, (draws, 1)), x / (1.0 - p), 0.0)
    use_shared = (rng.random(draws) < rho)[:, None]
    return np.where(use_shared, shared, independent).mean(axis=1)


def plot_dropout_demo(state: dict, fig=None):
    """Five panels of a :func:`dropout_demo` state: input, mask, output, running mean, error curve.

    Args:
        state: the dict returned by :func:`dropout_demo`.
        fig: a figure to draw on (cleared first); default: a new one.

    Returns:
        The figure (five axes plus colour bars).
    """
    import matplotlib.pyplot as plt

    x, p = state["input"], state["p"]
    scale = 1.0 / (1.0 - p) if p < 1.0 else 1.0
    vmax = max(float(x.max()) * scale, 1e-12)
    if fig is None:
        fig = plt.figure(figsize=(15, 3.2))
    fig.clear()
    axes = fig.subplots(1, 5)
    plot_heatmap(axes[0], x, title="input x (its own scale)", vmax=max(float(x.max()), 1e-12))
    plot_heatmap(
        axes[1],
        state["mask"].astype(float),
        title=f"keep mask (p = {p:.2f}); × = dropped",
        vmax=1.0,
        marks=~state["mask"],
        colorbar=False,
    )
    plot_heatmap(
        axes[2],
        state["output"],
        title=f"output: kept × 1/(1-p) = {scale:.2f}" if p < 1 else "output (all dropped)",
        vmax=vmax,
        marks=~state["mask"],
    )
    plot_heatmap(
        axes[3],
        state["running_mean"],
        title=f"mean of {state['draws']} draws (input's scale)",
        vmax=max(float(x.max()), 1e-12),
    )
    expected = state["expected_errors"]
    plot_running_mean_error(
        state["errors"],
        ax=axes[4],
        reference=expected if np.isfinite(expected).all() else None,
        title="running mean → input",
    )
    tidy_log_axis(axes[4])
    fig.tight_layout()
    return fig


def dropout_widget(x=None, draws: int = 200):
    """The chapter 1 widget: rate and seed sliders over :func:`dropout_demo`.

    Args:
        x: activation map (a rank-2 array); default :func:`activation_map`.
        draws: number of draws averaged. Default: 200.

    Returns:
        An ``ipywidgets.interactive`` with controls ``rate`` (0 to 1) and ``seed`` (0 to 99).
        After each change, ``widget.result`` is the new :func:`dropout_demo` state with its
        figure under ``"figure"``.

    Examples::

        >>> w = dropout_widget()   # doctest: +SKIP
        >>> w.children[0].value = 1.0         # rate slider   # doctest: +SKIP
        >>> bool(w.result["output"].max() == 0)   # doctest: +SKIP
        True
    """
    draws = check_draws(draws)
    return live_widget(
        lambda rate, seed: dropout_demo(rate, seed, x=x, draws=draws),
        plot_dropout_demo,
        rate=rate_slider(),
        seed=seed_slider(),
    )


def dropout_twin(rates=(0.1, 0.5, 0.9), seed: int = 0, *, x=None, draws: int = 200):
    """Static twin of :func:`dropout_widget`: one row per rate, the widget's panels as columns.

    Args:
        rates: drop probabilities, one row each.
        seed: seed of the masks.
        x: activation map; default :func:`activation_map`.
        draws: draws averaged.

    Returns:
        The figure, ``len(rates)`` rows by 4 columns (mask, output, running mean, error curve).
    """
    import matplotlib.pyplot as plt

    rates = [check_probability(r, "rates") for r in rates]
    if not rates:
        raise ValueError("rates must contain at least one drop probability.")
    fig, axes = plt.subplots(len(rates), 4, figsize=(12, 2.9 * len(rates)), squeeze=False)
    for row, p in zip(axes, rates):
        s = dropout_demo(p, seed, x=x, draws=draws)
        vmax = float(s["input"].max()) / (1.0 - p) if p < 1 else float(s["input"].max())
        plot_heatmap(
            row[0],
            s["mask"].astype(float),
            title=f"p = {p:.2f}: mask (× = dropped)",
            vmax=1.0,
            marks=~s["mask"],
            colorbar=False,
        )
        plot_heatmap(
            row[1],
            s["output"],
            title=f"one output (kept × {1 / (1 - p):.2f})" if p < 1 else "one output",
            vmax=vmax,
            marks=~s["mask"],
        )
        plot_heatmap(
            row[2],
            s["running_mean"],
            title=f"mean of {draws} outputs (input's scale)",
            vmax=max(float(s["input"].max()), 1e-12),
        )
        exp = s["expected_errors"]
        plot_running_mean_error(s["errors"], ax=row[3], reference=exp if np.isfinite(exp).all() else None)
        tidy_log_axis(row[3])
    fig.tight_layout()
    return fig
