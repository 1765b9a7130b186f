"""Chapter 4's widget: a photo's feature-map stack, element-wise against spatial dropout.

Parts, as for every widget: :func:`feature_map_dropout_demo` (computation),
:func:`plot_feature_map_dropout` (plot), :func:`feature_map_dropout_widget` (live) and
:func:`feature_map_dropout_twin` (static, for the website).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_positive_int, check_probability, check_seed
from ..analysis.frameworks import resize_image, seeded_feature_maps
from ..analysis.masks import layer_mask
from ..layers.dropout import Dropout, SpatialDropout2d
from ..photos import PHOTOS, load_photo
from ..plotting import draw_channel_masks
from ._live import live_widget, rate_slider, seed_slider

__all__ = [
    "feature_map_dropout_demo",
    "feature_map_dropout_twin",
    "feature_map_dropout_widget",
    "plot_feature_map_dropout",
]

#: Photos the widget offers (all ship with matplotlib or scikit-image).
WIDGET_PHOTOS = ("camera", "grace_hopper", "astronaut", "coffee", "chelsea")


def feature_map_dropout_demo(
    p: float = 0.5, seed: int = 0, photo: str = "camera", *, channels: int = 8, size: int = 64, filter_seed: int = 0
) -> dict:
    """One photo through a fixed conv layer, then Dropout and SpatialDropout2d with one rate and seed.

    Args:
        p: drop probability, in ``[0, 1]``.
        seed: seed of both masks (drawn with :func:`~spatialdrop_edu.analysis.masks.layer_mask`,
            so the spatial mask is the one ``torch.nn.Dropout2d`` draws under this seed on the CPU).
        photo: a name from :data:`~spatialdrop_edu.photos.PHOTOS`.
        channels: number of feature maps.
        size: longer side of the resized photo, in pixels.
        filter_seed: seed of the conv filters (fixed: the widget varies only the masks).

    Returns:
        A dict with ``"image"`` (resized photo ``(H, W)``), ``"features"`` ``(C, H, W)``,
        ``"element_mask"`` and ``"spatial_mask"`` (bool ``(C, H, W)``, ``True`` = kept),
        ``"element_output"`` and ``"spatial_output"`` (the features times the scaled masks),
        ``"element_dropped"`` and ``"spatial_dropped"`` (fractions of units zeroed by the mask),
        ``"spatial_dropped_channels"`` (list of channel indices), and the arguments.

    Examples::

        >>> s = feature_map_dropout_demo(0.5, seed=1, channels=4, size=32)
        >>> mask = s["spatial_mask"]
        >>> s["features"].shape, bool((mask == mask[:, :1, :1]).all())
        ((4, 32, 32), True)
    """
    p = check_probability(p)
    seed = check_seed(seed)
    check_choice(photo, tuple(PHOTOS), "photo")
    channels = check_positive_int(channels, "channels", "the number of feature maps")
    size = check_positive_int(size, "size", "the longer side in pixels")
    image = load_photo(photo)
    features = seeded_feature_maps(image, channels=channels, size=size, seed=check_seed(filter_seed, "filter_seed"))
    element = layer_mask(Dropout(p), features, seed=seed)[0]
    spatial = layer_mask(SpatialDropout2d(p), features, seed=seed)[0]
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    f = features[0]
    return {
        "image": resize_image(image, size),
        "features": f.numpy(),
        "element_mask": element.numpy(),
        "spatial_mask": spatial.numpy(),
        "element_output": (f * element * scale).numpy(),
        "spatial_output": (f * spatial * scale).numpy(),
        "element_dropped": float((~element).float().mean()),
        "spatial_dropped": float((~spatial).float().mean()),
        "spatial_dropped_channels": [int(c) for c in range(channels) if not bool(spatial[c, 0, 0])],
        "p": p,
        "seed": seed,
        "photo": photo,
    }


def _draw_rows(fig, rows, state, image_label: str):
    """Draw ``rows`` = [(label, mask, values)] of one state, the photo in the first column."""
    import matplotlib.pyplot as plt

    c = state["features"].shape[0]
    grid = fig.add_gridspec(len(rows), c + 1)
    # each map scaled to its own 99th percentile, so that faint maps stay visible
    top = np.maximum(np.percentile(state["features"].reshape(c, -1), 99, axis=1), 1e-12)[:, None, None]
    for r, (label, keep, values) in enumerate(rows):
        first = fig.add_subplot(grid[r, 0])
        if r == 0:
            first.imshow(state["image"], cmap="gray", vmin=0, vmax=1)
            first.set_title(image_label, fontsize=9)
        else:
            first.axis("off")
            first.text(0.5, 0.5, label, ha="center", va="center", fontsize=9, wrap=True, transform=first.transAxes)
        first.set_xticks([])
        first.set_yticks([])
        axes = [fig.add_subplot(grid[r, i + 1]) for i in range(c)]
        draw_channel_masks(
            axes,
            keep,
            values=np.clip(values / top, 0.0, 1.0),
            labels=[f"ch. {i}" for i in range(c)] if r == 0 else [""] * c,
        )
        if r == 0:
            for ax in axes:
                ax.set_xlabel("")
    plt.setp(fig.axes, xticks=[], yticks=[])
    return fig


def plot_feature_map_dropout(state: dict, fig=None):
    """Three rows of feature maps: as computed, after Dropout, after SpatialDropout2d.

    Dropped units are light grey; kept ones are coloured by their value before scaling (``cividis``).

    Args:
        state: the dict returned by :func:`feature_map_dropout_demo`.
        fig: a figure to draw on (cleared first); default: a new one.

    Returns:
        The figure, with ``3 * (C + 1)`` axes, the photo and two row labels in the first column.
    """
    import matplotlib.pyplot as plt

    c = state["features"].shape[0]
    if fig is None:
        fig = plt.figure(figsize=(1.45 * (c + 1), 4.9))
    fig.clear()
    keep_all = state["features"] == state["features"]
    rows = [
        ("features", keep_all, state["features"]),
        (f"Dropout\n{100 * state['element_dropped']:.0f}% of units\nzeroed", state["element_mask"], state["features"]),
        (
            f"SpatialDropout2d\n{len(state['spatial_dropped_channels'])} of {c} maps\nzeroed",
            state["spatial_mask"],
            state["features"],
        ),
    ]
    _draw_rows(fig, rows, state, f"photo '{state['photo']}'")
    fig.suptitle(
        f"one conv layer, {c} feature maps; p = {state['p']:.2f}, seed {state['seed']} (grey = dropped)", fontsize=10
    )
    fig.tight_layout()
    return fig


def feature_map_dropout_widget(photo: str = "camera", *, channels: int = 8, size: int = 64):
    """The chapter 4 widget: rate and seed sliders (and a photo), element against spatial dropout.

    Args:
        photo: the initial photo (one of ``WIDGET_PHOTOS``).
        channels: number of feature maps.
        size: longer side of the resized photo.

    Returns:
        An ``ipywidgets.interactive`` with controls, in order: ``rate`` (0 to 1), ``seed`` (0 to 99),
        ``photo`` (dropdown). After each change ``widget.result`` is the
        :func:`feature_map_dropout_demo` state with its figure under ``"figure"``, or
        ``{"error": message}`` (also printed) when the choice cannot be drawn.

    Examples::

        >>> w = feature_map_dropout_widget()   # doctest: +SKIP
        >>> w.children[0].value = 1.0          # doctest: +SKIP
        >>> w.result["spatial_dropped"]        # doctest: +SKIP
        1.0
    """
    import ipywidgets as widgets

    check_choice(photo, WIDGET_PHOTOS, "photo")
    channels = check_positive_int(channels, "channels", "the number of feature maps")
    size = check_positive_int(size, "size", "the longer side in pixels")

    def compute(rate: float, seed: int, photo: str) -> dict:
        return feature_map_dropout_demo(rate, seed, photo, channels=channels, size=size)

    return live_widget(
        compute,
        plot_feature_map_dropout,
        rate=rate_slider(),
        seed=seed_slider(),
        photo=widgets.Dropdown(options=WIDGET_PHOTOS, value=photo, description="photo"),
    )


def feature_map_dropout_twin(
    rates=(0.25, 0.5), seed: int = 0, photo: str = "camera", *, channels: int = 8, size: int = 64
):
    """Static twin of :func:`feature_map_dropout_widget`: the features, then Dropout and SpatialDropout2d per rate.

    Args:
        rates: the rates shown, one pair of rows each.
        seed: seed of the masks.
        photo: the photo.
        channels: number of feature maps.
        size: longer side of the resized photo.

    Returns:
        The figure, with ``1 + 2 * len(rates)`` rows of ``C + 1`` axes.
    """
    import matplotlib.pyplot as plt

    if len(rates) == 0:
        raise ValueError("rates must contain at least one rate.")
    states = [feature_map_dropout_demo(r, seed, photo, channels=channels, size=size) for r in rates]
    first = states[0]
    c = first["features"].shape[0]
    rows = [("features", first["features"] == first["features"], first["features"])]
    for s in states:
        rows.append((f"Dropout\np = {s['p']:.2f}", s["element_mask"], s["features"]))
        rows.append((f"SpatialDropout2d\np = {s['p']:.2f}", s["spatial_mask"], s["features"]))
    fig = plt.figure(figsize=(1.45 * (c + 1), 1.45 * len(rows) + 0.5))
    _draw_rows(fig, rows, first, f"photo '{photo}'")
    fig.suptitle(f"{c} feature maps of one conv layer, seed {seed} (grey = dropped)", fontsize=10)
    fig.tight_layout()
    return fig
