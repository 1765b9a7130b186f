"""Chapter 3's widget: drop pixels of a correlated field, fill them from their neighbours, see what is left.

A pure computation (:func:`reconstruction_demo`), its plot (:func:`plot_reconstruction_demo`),
the live widget (:func:`reconstruction_widget`) and its static twin (:func:`reconstruction_twin`).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_positive_int, check_probability, check_seed
from ..analysis.correlation import correlation_length
from ..analysis.fields import gaussian_random_field, neighbour_fill, removed_fraction
from ._live import live_widget, rate_slider, seed_slider

__all__ = ["plot_reconstruction_demo", "reconstruction_demo", "reconstruction_twin", "reconstruction_widget"]


def reconstruction_demo(length: float, p: float, seed: int, *, size: int = 64, neighbours: int = 8) -> dict:
    """Element dropout on a Gaussian random field, the dropped pixels filled from their kept neighbours.

    Args:
        length: the field's correlation length in pixels (``>= 0``; 0 is white noise).
        p: drop probability in ``(0, 1]``.
        seed: seed of the field and of the mask.
        size: side of the square field. Default: 64.
        neighbours: 4 or 8. Default: 8.

    Returns:
        A dict with ``"field"``, ``"keep"`` (bool), ``"dropped"`` (the field with dropped pixels
        zeroed), ``"filled"`` (the neighbour reconstruction), ``"error"`` (``filled - field``),
        ``"removed"`` (squared error over squared signal at the dropped pixels, element dropout),
        ``"removed_spatial"`` (the same for one coin for the whole map, measured: 1 when the
        map is dropped, as nothing is left to fill from), ``"measured_length"`` (the field's
        correlation length, measured), ``"length"``, ``"p"``, ``"seed"``.

    Examples::

        >>> s = reconstruction_demo(8.0, 0.3, 0)
        >>> bool(s["removed"] < 0.05), s["removed_spatial"]
        (True, 1.0)
    """
    p = check_probability(p)
    seed = check_seed(seed)
    size = check_positive_int(size, "size")
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}.")
    rng = np.random.default_rng(seed)
    field = gaussian_random_field((size, size), length, rng)
    element = removed_fraction(field, p, rng, "element", neighbours=neighbours)
    # spatial dropout keeps or drops the whole map; when it drops it, this is what the neighbours give back
    z = element["input"]
    spatial_fill = neighbour_fill(z, np.zeros(z.shape, dtype=bool), neighbours)
    return {
        "field": element["input"],
        "keep": element["keep"],
        "dropped": element["dropped"],
        "filled": element["filled"],
        "error": element["filled"] - element["input"],
        "removed": element["removed"],
        "removed_spatial": float(((spatial_fill - z) ** 2).sum() / (z**2).sum()),
        "measured_length": correlation_length(element["input"], max_lag=size // 2 - 1),
        "length": float(length),
        "p": p,
        "seed": seed,
    }


def _image(ax, values, title, signed=False):
    import matplotlib.pyplot as plt

    if signed:
        im = ax.imshow(values, cmap="RdBu", vmin=-3, vmax=3, interpolation="nearest")
    else:
        im = ax.imshow(values, cmap="cividis", vmin=-3, vmax=3, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    plt.colorbar(im, ax=ax, fraction=0.046, pad=0.04)


def plot_reconstruction_demo(state: dict, fig=None):
    """Four panels of a :func:`reconstruction_demo` state: field, dropped, reconstruction, error.

    Args:
        state: the dict returned by :func:`reconstruction_demo`.
        fig: a figure to draw on (cleared first); default: a new one.

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt

    if fig is None:
        fig = plt.figure(figsize=(14, 3.4))
    fig.clear()
    axes = fig.subplots(1, 4)
    _draw_row(axes, state)
    fig.suptitle(
        f"correlation length {state['length']:g} px (measured {state['measured_length']:.1f}), p = {state['p']:.2f}: "
        f"element dropout removes {state['removed']:.0%} of the dropped signal, "
        f"spatial dropout {state['removed_spatial']:.0%}",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def _draw_row(axes, s):
    _image(axes[0], s["field"], f"field, length {s['length']:g} px")
    _image(axes[1], s["dropped"], f"element dropout, p = {s['p']:.2f}")
    _image(axes[2], s["filled"], "filled from kept neighbours")
    _image(axes[3], s["error"], f"error: {s['removed']:.0%} of the signal lost", signed=True)


def reconstruction_widget(size: int = 64):
    """The chapter 3 widget: correlation length, rate and seed sliders over :func:`reconstruction_demo`.

    Args:
        size: side of the field. Default: 64.

    Returns:
        An ``ipywidgets.interactive`` with controls ``length`` (0 to 16 pixels), ``rate`` (0.05
        to 1) and ``seed`` (0 to 99). After each change ``widget.result`` is the new state with its
        figure under ``"figure"``, or ``{"error": message}`` for an invalid input.

    Examples::

        >>> w = reconstruction_widget()          # doctest: +SKIP
        >>> w.children[0].value = 16.0           # doctest: +SKIP
        >>> w.result["removed"] < 0.05           # doctest: +SKIP
        True
    """
    import ipywidgets as widgets

    size = check_positive_int(size, "size")
    length = widgets.FloatSlider(
        value=4.0, min=0.0, max=16.0, step=0.5, description="length (px)", continuous_update=False
    )
    return live_widget(
        lambda length, rate, seed: reconstruction_demo(length, rate, seed, size=size),
        plot_reconstruction_demo,
        length=length,
        rate=rate_slider(low=0.05),
        seed=seed_slider(),
    )


def reconstruction_twin(cases=((1.0, 0.3), (4.0, 0.3), (12.0, 0.3), (4.0, 0.7)), seed: int = 0, *, size: int = 64):
    """Static twin of :func:`reconstruction_widget`: one row per ``(length, p)``, the widget's panels as columns.

    Args:
        cases: ``(correlation length, p)`` pairs, one row each.
        seed: seed of fields and masks.
        size: side of the fields.

    Returns:
        The figure, ``len(cases)`` rows by 4 columns; its attribute ``states`` holds the
        :func:`reconstruction_demo` state of each row.
    """
    import matplotlib.pyplot as plt

    cases = [(float(length), check_probability(p, "cases")) for length, p in cases]
    if not cases:
        raise ValueError("cases must contain at least one (length, p) pair.")
    fig, axes = plt.subplots(len(cases), 4, figsize=(13, 3.0 * len(cases)), squeeze=False)
    states = []
    for row, (length, p) in zip(axes, cases):
        s = reconstruction_demo(length, p, seed, size=size)
        _draw_row(row, s)
        states.append(s)
    fig.tight_layout()
    fig.states = states
    return fig
