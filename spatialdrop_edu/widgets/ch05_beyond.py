"""Chapter 5's widget: DropBlock on a photo's feature maps, from element dropout to SpatialDropout.

Parts, as for every widget: :func:`dropblock_demo` (computation), :func:`plot_dropblock_demo` (plot),
:func:`dropblock_widget` (live: block size, rate and seed sliders) and :func:`dropblock_twin` (static,
for the website: one row per block size).
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import check_choice, check_positive_int, check_probability, check_seed
from ..layers.dropblock import block_gamma, drop_block, expected_drop_fraction, keep_probability
from ..photos import PHOTOS, load_photo
from ._live import live_widget, rate_slider, seed_slider

__all__ = [
    "FEATURES",
    "dropblock_demo",
    "dropblock_twin",
    "dropblock_widget",
    "feature_maps",
    "plot_dropblock_demo",
    "regime",
]

#: The four feature maps made from the photo, named after their simple filters.
FEATURES = ("intensity", "blurred", "horizontal edges", "vertical edges")


def feature_maps(photo: str = "grace_hopper", size: int = 24) -> np.ndarray:
    """Four ``size`` × ``size`` feature maps of a bundled photo: a stand-in for a conv layer's output.

    The photo's central square is averaged down to ``size`` × ``size``; the maps are its intensity,
    a 3 × 3 blur, and the absolute horizontal and vertical differences (edges), each scaled to
    ``[0, 1]``.

    Returns:
        A float array ``(4, size, size)``, channels in the order of ``FEATURES``.

    Examples::

        >>> feature_maps("camera", 16).shape
        (4, 16, 16)
    """
    size = check_positive_int(size, "size", "the side of the feature maps")
    if size < 4:
        raise ValueError(f"size must be at least 4 (pixels per side of the feature maps), got {size}.")
    img = load_photo(photo)
    side = min(img.shape)
    top, left = (img.shape[0] - side) // 2, (img.shape[1] - side) // 2
    crop = img[top : top + side, left : left + side]
    k = side // size
    small = crop[: k * size, : k * size].reshape(size, k, size, k).mean((1, 3))
    padded = np.pad(small, 1, mode="edge")
    blur = sum(padded[i : i + size, j : j + size] for i in range(3) for j in range(3)) / 9
    horizontal = np.abs(padded[2:, 1:-1] - padded[:-2, 1:-1])
    vertical = np.abs(padded[1:-1, 2:] - padded[1:-1, :-2])
    maps = np.stack([small, blur, horizontal, vertical])
    lo, hi = maps.min((1, 2), keepdims=True), maps.max((1, 2), keepdims=True)
    return (maps - lo) / np.where(hi > lo, hi - lo, 1.0)


def regime(block_size: int, size: int) -> str:
    """What DropBlock is at this block size on a ``size`` × ``size`` map.

    Examples::

        >>> regime(1, 24), regime(5, 24), regime(30, 24)
        ('element dropout', 'DropBlock', 'SpatialDropout')
    """
    if block_size == 1:
        return "element dropout"
    return "SpatialDropout" if block_size >= size else "DropBlock"


def dropblock_demo(
    block_size: int = 5, p: float = 0.2, seed: int = 0, *, photo: str = "grace_hopper", size: int = 24
) -> dict:
    """DropBlock2d applied once to four feature maps of a photo, with its seed rate and exact rates.

    Args:
        block_size: side of a block, 1 to ``size`` (larger is clamped to the map by the layer and allowed here).
        p: drop probability, in ``[0, 1]``.
        seed: seed of the block mask.
        photo: one of the bundled photos (:data:`~spatialdrop_edu.photos.PHOTOS`).
        size: side of the feature maps.

    Returns:
        A dict with ``"maps"`` (the input, ``(4, size, size)``), ``"output"`` (DropBlock2d of the maps plus 1, so
        that every zero is a drop),
        ``"dropped"`` (bool), ``"keep_probability"`` (exact, ``(size, size)``), ``"gamma"``,
        ``"expected_drop"`` (exact), ``"realised_drop"``, ``"regime"`` and the arguments.

    Examples::

        >>> s = dropblock_demo(24, 0.5, seed=1)
        >>> s["regime"], bool(all(d.all() or not d.any() for d in s["dropped"]))
        ('SpatialDropout', True)
    """
    block_size = check_positive_int(block_size, "block_size", "the side of a dropped block")
    p = check_probability(p)
    seed = check_seed(seed)
    check_choice(photo, tuple(PHOTOS), "photo")
    maps = feature_maps(photo, size)
    x = torch.from_numpy(maps).unsqueeze(0) + 1.0  # shifted to be positive, so a zero is always a drop
    y = drop_block(x, p, block_size, generator=torch.Generator().manual_seed(seed))[0]
    dropped = (y == 0).numpy()
    return {
        "maps": maps,
        "output": y.numpy(),
        "dropped": dropped,
        "keep_probability": keep_probability(p, block_size, (size, size)),
        "gamma": block_gamma(p, block_size, (size, size)),
        "expected_drop": expected_drop_fraction(p, block_size, (size, size)),
        "realised_drop": float(dropped.mean()),
        "regime": regime(block_size, size),
        "block_size": block_size,
        "p": p,
        "seed": seed,
        "photo": photo,
        "size": size,
    }


def plot_dropblock_demo(state: dict, fig=None):
    """Four feature maps with DropBlock's dropped units in white, and the exact keep-probability map.

    Args:
        state: the dict returned by :func:`dropblock_demo`.
        fig: a figure to draw on (cleared first); default: a new one.

    Returns:
        The figure, with five axes.
    """
    import matplotlib.pyplot as plt

    if fig is None:
        fig = plt.figure(figsize=(12, 3.0), layout="constrained")
    fig.clear()
    axes = fig.subplots(1, 5)
    for ax, name, m, d in zip(axes, FEATURES, state["maps"], state["dropped"]):
        ax.imshow(np.where(d, np.nan, m), cmap="viridis", vmin=0, vmax=1)
        ax.set_facecolor("white")  # dropped units are NaN: drawn white
        ax.set_title(f"{name}\n{d.mean():.0%} dropped", fontsize=9)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_xticks([])
        ax.set_yticks([])
    k = state["keep_probability"]
    image = axes[4].imshow(k, cmap="cividis", vmin=min(float(k.min()), 0.99), vmax=1.0)
    axes[4].set_title("P(kept), exact", fontsize=9)
    axes[4].set_xticks([])
    axes[4].set_yticks([])
    fig.colorbar(image, ax=axes[4], fraction=0.046)
    fig.suptitle(
        f"{state['regime']}: block_size {state['block_size']}, p = {state['p']:.2f}, gamma = {state['gamma']:.4f}; "
        f"expected drop {state['expected_drop']:.3f}, this draw {state['realised_drop']:.3f}",
        fontsize=10,
    )
    return fig


def dropblock_widget(photo: str = "grace_hopper", size: int = 24):
    """The chapter 5 widget: block size (1 to ``size``), rate and seed sliders.

    Returns:
        An ``ipywidgets.interactive`` with controls, in order: ``block_size`` (1 to ``size``), ``rate``
        (0 to 1), ``seed`` (0 to 99). After each change ``widget.result`` is the :func:`dropblock_demo`
        state with its figure under ``"figure"``, or ``{"error": message}``.

    Examples::

        >>> w = dropblock_widget()   # doctest: +SKIP
        >>> w.children[0].value = 1   # doctest: +SKIP
        >>> w.result["regime"]   # doctest: +SKIP
        'element dropout'
    """
    import ipywidgets as widgets

    check_choice(photo, tuple(PHOTOS), "photo")
    size = check_positive_int(size, "size", "the side of the feature maps")
    return live_widget(
        lambda block_size, rate, seed: dropblock_demo(block_size, rate, seed, photo=photo, size=size),
        plot_dropblock_demo,
        block_size=widgets.IntSlider(value=5, min=1, max=size, description="block size", continuous_update=False),
        rate=rate_slider(0.2),
        seed=seed_slider(),
    )


def dropblock_twin(
    block_sizes=(1, 3, 7, 24), p: float = 0.3, seed: int = 2, *, photo: str = "grace_hopper", size: int = 24
):
    """Static twin of :func:`dropblock_widget`: one row per block size, from element dropout to SpatialDropout.

    Returns:
        The figure, with one row of five axes per block size.
    """
    import matplotlib.pyplot as plt

    block_sizes = tuple(block_sizes)
    if not block_sizes:
        raise ValueError("block_sizes must name at least one block size, got an empty sequence.")
    fig = plt.figure(figsize=(12, 2.9 * len(block_sizes)), layout="constrained")
    subfigs = fig.subfigures(len(block_sizes), 1) if len(block_sizes) > 1 else [fig]
    for sub, b in zip(np.atleast_1d(subfigs), block_sizes):
        plot_dropblock_demo(dropblock_demo(b, p, seed, photo=photo, size=size), fig=sub)
    return fig
