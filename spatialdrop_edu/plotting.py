"""Figures the chapters share: masks per channel, zero-count histograms, running means.

Every function draws with colour-blind-safe colour maps (``cividis`` for values, ``RdBu`` for
signed differences), labels its axes, and never lets colour alone carry meaning: dropped units
are also marked with a ``×``, and histogram bars are paired with hollow markers for the exact
probabilities. Each returns the ``matplotlib.figure.Figure`` it drew on, so a notebook can
show it and a test can inspect it.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_data_format, check_positive_int

VALUE_CMAP = "cividis"
SIGNED_CMAP = "RdBu"
DROP_MARK = "×"


def _plt():
    import matplotlib.pyplot as plt

    return plt


def channel_maps(mask, data_format: str = "channels_first") -> np.ndarray:
    """Rearrange one sample's mask (or values) into one 2-D map per channel, for plotting.

    Args:
        mask: array of one sample, channel axis first (``"channels_first"``: ``(C, *spatial)``)
            or last (``"channels_last"``: ``(*spatial, C)``), with 0 to 3 spatial axes.
        data_format: where the channel axis is.

    Returns:
        An array ``(C, rows, cols)``: no spatial axis gives ``1 × 1`` maps, a length-``L`` axis
        ``1 × L``, ``(H, W)`` stays, and ``(D, H, W)`` stacks its depth slices as ``(D*H, W)``.

    Examples::

        >>> channel_maps(np.ones((3, 4, 5))).shape
        (3, 4, 5)
        >>> sequence = np.ones((7, 2))  # (timesteps, channels)
        >>> channel_maps(sequence, "channels_last").shape
        (2, 1, 7)
    """
    check_data_format(data_format)
    arr = np.asarray(mask)
    if arr.ndim < 1 or arr.ndim > 4:
        raise ValueError(
            f"mask must be one sample with a channel axis and 0 to 3 spatial axes (1 to 4 dims), got shape {arr.shape}."
        )
    if data_format == "channels_last":
        arr = np.moveaxis(arr, -1, 0)
    c = arr.shape[0]
    if arr.ndim == 1:
        return arr.reshape(c, 1, 1)
    if arr.ndim == 2:
        return arr.reshape(c, 1, arr.shape[1])
    if arr.ndim == 3:
        return arr
    return arr.reshape(c, arr.shape[1] * arr.shape[2], arr.shape[3])


def plot_channel_masks(maps, *, values=None, labels=None, title=None, max_channels: int = 8, depth: int = 1, fig=None):
    """Draw one panel per channel: kept units in colour, dropped units grey with a ``×``.

    Args:
        maps: boolean keep-mask ``(C, rows, cols)`` (see :func:`channel_maps`); ``True`` = kept.
        values: optional array of the same shape with the output values to colour kept units by
            (``cividis``); without it kept units are drawn in one colour.
        labels: optional list of ``C`` panel titles; default ``"channel 0"``, ``"channel 1"``, ...
        title: optional figure title.
        max_channels: draw at most this many channels (a note says how many were left out).
        depth: for 3-D maps stacked as ``(D*H, W)``, the number of depth slices ``D``; thin lines
            separate them.
        fig: a figure to draw on (cleared first); default: a new one.

    Returns:
        The figure, with one axes per drawn channel.

    Examples::

        >>> fig = plot_channel_masks(np.array([[[True, False]], [[False, False]]]))
        >>> len(fig.axes)
        2
    """
    plt = _plt()
    keep = np.asarray(maps)
    if keep.ndim != 3 or keep.dtype != bool:
        raise ValueError(
            f"maps must be a boolean array (C, rows, cols), got dtype {keep.dtype} and shape {keep.shape}."
        )
    if values is not None:
        values = np.asarray(values, dtype=float)
        if values.shape != keep.shape:
            raise ValueError(f"values must have the shape of maps {keep.shape}, got {values.shape}.")
    check_positive_int(max_channels, "max_channels")
    c, rows, cols = keep.shape
    if labels is not None and len(labels) != c:
        raise ValueError(f"labels must have one entry per channel ({c}), got {len(labels)}.")
    shown = min(c, max_channels)
    if fig is None:
        fig = plt.figure(figsize=(min(2.0 * shown, 14), 2.4 + 0.1 * rows))
    fig.clear()
    axes = fig.subplots(1, shown, squeeze=False)[0]
    draw_channel_masks(
        axes,
        keep[:shown],
        values=None if values is None else values[:shown],
        labels=None if labels is None else list(labels)[:shown],
        depth=depth,
    )
    note = f" (first {shown} of {c} channels)" if shown < c else ""
    if title or note:
        fig.suptitle((title or "") + note, fontsize=10)
    fig.tight_layout()
    return fig


def draw_channel_masks(axes, keep, *, values=None, labels=None, depth: int = 1) -> None:
    """Draw boolean maps ``(C, rows, cols)`` on ``C`` given axes (the engine of :func:`plot_channel_masks`).

    Kept units are coloured (by ``values`` with ``cividis`` if given), dropped ones light grey
    with a ``×``; each panel says how many units it kept.
    """
    plt = _plt()
    keep = np.asarray(keep, dtype=bool)
    axes = list(np.ravel(axes))
    if len(axes) != keep.shape[0]:
        raise ValueError(f"axes must have one entry per channel ({keep.shape[0]}), got {len(axes)}.")
    rows, cols = keep.shape[1:]
    vmax = float(np.nanmax(values)) if values is not None and np.size(values) else 1.0
    for i, ax in enumerate(axes):
        shade = np.where(keep[i], values[i] if values is not None else 0.75 * vmax, np.nan)
        cmap = plt.get_cmap(VALUE_CMAP).with_extremes(bad="0.88")
        ax.imshow(shade, cmap=cmap, vmin=0.0, vmax=max(vmax, 1e-12), interpolation="nearest", aspect="equal")
        if rows * cols <= 400:
            for r, col in zip(*np.nonzero(~keep[i])):
                ax.text(col, r, DROP_MARK, ha="center", va="center", color="black", fontsize=8)
        for d in range(1, depth):
            ax.axhline(d * rows / depth - 0.5, color="white", linewidth=1.5)
        ax.set_title(labels[i] if labels is not None else f"channel {i}", fontsize=9)
        ax.set_xlabel(f"{int(keep[i].sum())}/{keep[i].size} kept", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])


def plot_zero_count_histogram(observed, counts, probabilities, *, ax=None, title=None):
    """Bars of how often each number of zeros was observed, beside the exact probabilities.

    Args:
        observed: int array of zero counts, one per sampled mask
            (:func:`~spatialdrop_edu.analysis.zero_counts.sample_zero_counts`).
        counts: possible zero counts (from :func:`~spatialdrop_edu.analysis.zero_counts.zero_count_pmf`).
        probabilities: their exact probabilities, same length as ``counts``.
        ax: axes to draw on; default: a new figure.
        title: optional axes title.

    Returns:
        The figure. The bars are observed frequencies (they sum to 1); hollow circles are the
        exact binomial probabilities, so the two are told apart by shape, not only by colour.

    Examples::

        >>> observed, counts = np.array([0, 2, 2]), np.array([0, 2, 4])
        >>> fig = plot_zero_count_histogram(observed, counts, np.array([.25, .5, .25]))
        >>> fig.axes[0].get_xlabel()
        'number of zeroed units'
    """
    plt = _plt()
    observed = np.asarray(observed)
    counts = np.asarray(counts)
    probabilities = np.asarray(probabilities, dtype=float)
    if observed.ndim != 1 or observed.size == 0:
        raise ValueError(f"observed must be a non-empty 1-D array of zero counts, got shape {observed.shape}.")
    if counts.shape != probabilities.shape or counts.ndim != 1:
        raise ValueError(
            f"counts and probabilities must be 1-D arrays of one length, got {counts.shape} and {probabilities.shape}."
        )
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.2))
    else:
        fig = ax.figure
    values, freq = np.unique(observed, return_counts=True)
    width = max(0.8 * (np.diff(counts).min() if counts.size > 1 else 1), 0.8)
    ax.bar(
        values, freq / observed.size, width=width, color="#4c72b0", alpha=0.75, label=f"sampled ({observed.size} masks)"
    )
    visible = probabilities >= 1e-4 * probabilities.max() if probabilities.size else probabilities > 0
    ax.plot(counts[visible], probabilities[visible], "o", mfc="none", mec="black", mew=1.5, label="exact (binomial)")
    ax.set_xlabel("number of zeroed units")
    ax.set_ylabel("probability")
    if counts.size <= 17:
        ax.set_xticks(counts)
    ax.legend(frameon=False, fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_running_mean_error(errors, *, ax=None, reference=None, title=None):
    """Log-log plot of how far the running mean of dropout outputs is from the input.

    Args:
        errors: 1-D array; ``errors[n-1]`` is the error of the mean of the first ``n`` draws.
        reference: optional 1-D array of the same length, e.g. the expected error
            ``sigma / sqrt(n)``, drawn dashed.
        ax: axes to draw on; default: a new figure.
        title: optional axes title.

    Returns:
        The figure.

    Examples::

        >>> fig = plot_running_mean_error(1 / np.sqrt(np.arange(1, 11)))
        >>> fig.axes[0].get_xscale()
        'log'
    """
    plt = _plt()
    errors = np.asarray(errors, dtype=float)
    if errors.ndim != 1 or errors.size == 0:
        raise ValueError(f"errors must be a non-empty 1-D array, got shape {errors.shape}.")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4, 3))
    else:
        fig = ax.figure
    n = np.arange(1, errors.size + 1)
    ax.loglog(n, np.maximum(errors, 1e-6), "-", color="black", label="measured")
    if reference is not None:
        reference = np.asarray(reference, dtype=float)
        if reference.shape != errors.shape:
            raise ValueError(f"reference must have the shape of errors {errors.shape}, got {reference.shape}.")
        ax.loglog(n, np.maximum(reference, 1e-6), "--", color="#4c72b0", label=r"expected $\propto 1/\sqrt{n}$")
        ax.legend(frameon=False, fontsize=8)
    ax.set_xlabel("number of draws averaged")
    ax.set_ylabel("RMS error of the mean")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_heatmap(ax, values, *, title, vmin=0.0, vmax=None, marks=None, signed=False, colorbar=True):
    """Draw one labelled heat map on ``ax`` (``cividis``, or ``RdBu`` centred on 0 if ``signed``).

    Args:
        ax: the axes.
        values: 2-D array.
        title: the axes title.
        vmin, vmax: colour limits (ignored when ``signed``: symmetric around 0).
        marks: optional boolean array of the same shape; ``True`` cells get a ``×``.
        signed: use the diverging map for signed values.
        colorbar: add a colour bar.

    Returns:
        The image artist.
    """
    plt = _plt()
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"values must be a 2-D array, got shape {values.shape}.")
    if signed:
        lim = float(np.abs(values).max()) or 1.0
        im = ax.imshow(values, cmap=SIGNED_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
    else:
        im = ax.imshow(values, cmap=VALUE_CMAP, vmin=vmin, vmax=vmax, interpolation="nearest")
    if marks is not None:
        for r, c in zip(*np.nonzero(np.asarray(marks))):
            ax.text(c, r, DROP_MARK, ha="center", va="center", color="white", fontsize=10, fontweight="bold")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_xticks(range(values.shape[1]))
    ax.set_yticks(range(values.shape[0]))
    if colorbar:
        plt.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return im
