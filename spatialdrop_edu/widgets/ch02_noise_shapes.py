"""Chapter 2's widget: any input shape, layer or custom noise shape; one mask and its zero counts.

Parts, as for every widget: :func:`noise_shape_demo` (computation), :func:`plot_noise_shape_demo`
(plot), :func:`noise_shape_widget` (live) and :func:`noise_shape_twin` (static, for the website).
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_choice, check_data_format, check_draws, check_probability, check_seed, check_shape
from ..analysis.zero_counts import sample_zero_counts, zero_count_pmf
from ..layers.noise_shapes import resolve_noise_shape, spatial_noise_shape
from ..layers.numpy_reference import keep_mask
from ..plotting import channel_maps, draw_channel_masks, plot_zero_count_histogram
from ._live import live_widget, rate_slider, seed_slider

__all__ = [
    "LAYER_CHOICES",
    "MAX_UNITS",
    "SPATIAL_DIMS",
    "choice_noise_shape",
    "noise_shape_demo",
    "noise_shape_twin",
    "noise_shape_widget",
    "parse_shape",
    "plot_noise_shape_demo",
]

#: Layer choices of the noise-shape widget, and the number of spatial axes of each spatial layer.
LAYER_CHOICES = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "custom")
SPATIAL_DIMS = {"SpatialDropout1D": 1, "SpatialDropout2D": 2, "SpatialDropout3D": 3}
#: Largest input (in units) the noise-shape widget accepts, so that it stays interactive.
MAX_UNITS = 20_000


def parse_shape(text, name: str = "input_shape", allow_none: bool = False) -> tuple:
    """Read a shape typed as text (``"2, 3, 4, 4"`` or ``"(2, 3, 4, 4)"``) or given as a sequence.

    Args:
        text: the shape, as text or a sequence of ints.
        name: the argument name used in error messages.
        allow_none: accept ``None`` entries (for noise shapes).

    Returns:
        A tuple of ints (and ``None`` where allowed).

    Examples::

        >>> parse_shape("(2, 3, 4)")
        (2, 3, 4)
        >>> parse_shape("None, 1, 8", "noise_shape", allow_none=True)
        (None, 1, 8)
    """
    if isinstance(text, str):
        parts = [t.strip() for t in text.strip().strip("()[]").split(",") if t.strip()]
        out = []
        for t in parts:
            if allow_none and t.lower() == "none":
                out.append(None)
            elif t.isascii() and t.isdigit():
                out.append(int(t))
            else:
                accepted = "comma-separated non-negative ints" + (" or None" if allow_none else "")
                raise ValueError(f"{name} must be {accepted}, like '2, 3, 4, 4'; could not read {t!r} in {text!r}.")
        return tuple(out)
    if allow_none:
        return tuple(None if d is None else check_shape((d,), name)[0] for d in text)
    return check_shape(text, name)


def choice_noise_shape(input_shape, layer: str, data_format: str = "channels_first", custom=None) -> tuple[int, ...]:
    """The noise shape a layer choice of :func:`noise_shape_widget` samples for an input shape.

    Args:
        input_shape: the input shape, batch axis first.
        layer: one of ``LAYER_CHOICES``.
        data_format: ``"channels_first"`` or ``"channels_last"``.
        custom: the noise shape to use when ``layer == "custom"`` (entries: size, 1 or ``None``).

    Returns:
        The resolved noise shape, a tuple of ints.

    Examples::

        >>> choice_noise_shape((8, 50, 300), "SpatialDropout1D", "channels_last")
        (8, 1, 300)
        >>> # token dropout
        >>> choice_noise_shape((8, 50, 300), "custom", custom=(None, None, 1))
        (8, 50, 1)
    """
    shape = check_shape(input_shape)
    check_data_format(data_format)
    check_choice(layer, LAYER_CHOICES, "layer")
    if layer == "Dropout":
        return shape
    if layer == "custom":
        if custom is None:
            raise ValueError("custom must be a noise shape (e.g. (2, 3, 1, 1)) when layer='custom', got None.")
        return resolve_noise_shape(shape, custom)
    dims = SPATIAL_DIMS[layer]
    if len(shape) != dims + 2:  # the widget draws sample 0 of a batch: unbatched inputs are not offered
        raise ValueError(
            f"{layer} needs a batched input with {dims + 2} axes (batch, channels and {dims} spatial), "
            f"got {shape} with {len(shape)}."
        )
    return spatial_noise_shape(shape, dims, data_format)


def noise_shape_demo(
    input_shape,
    layer: str = "SpatialDropout2D",
    data_format: str = "channels_first",
    p: float = 0.5,
    seed: int = 0,
    *,
    custom=None,
    draws: int = 300,
) -> dict:
    """One mask of a layer on an input shape, and the distribution of its zero counts.

    Args:
        input_shape: the input shape, batch axis first, 2 to 5 axes, at most ``MAX_UNITS``
            units (a string such as ``"2, 3, 5, 5"`` is accepted).
        layer: one of ``LAYER_CHOICES``.
        data_format: where the channel axis is: ``"channels_first"`` or ``"channels_last"``.
        p: probability of dropping, in ``[0, 1]``.
        seed: seed of the masks.
        custom: the noise shape used when ``layer == "custom"`` (text or sequence).
        draws: number of masks sampled for the histogram. Default: 300.

    Returns:
        A dict with ``"input_shape"``, ``"noise_shape"``, ``"units"``, ``"flips"``, ``"mask"``
        (bool, full shape), ``"maps"`` (sample 0 as ``(C, rows, cols)``, see
        :func:`~spatialdrop_edu.plotting.channel_maps`), ``"depth"``, ``"zero_counts"`` (one per
        sampled mask), ``"counts"`` and ``"probabilities"`` (the exact distribution), and the
        arguments.

    Examples::

        >>> s = noise_shape_demo((2, 2, 2), "custom", custom=(1, 2, 2))
        >>> s["flips"], s["counts"].tolist()
        (4, [0, 2, 4, 6, 8])
    """
    shape = parse_shape(input_shape)
    if not 2 <= len(shape) <= 5:
        raise ValueError(f"input_shape must have 2 to 5 axes (batch, channels and up to 3 spatial axes), got {shape}.")
    if 0 in shape or math.prod(shape) > MAX_UNITS:
        raise ValueError(f"input_shape must have between 1 and {MAX_UNITS} units, got {shape} ({math.prod(shape)}).")
    p = check_probability(p)
    seed = check_seed(seed)
    draws = check_draws(draws)
    if isinstance(custom, str):
        custom = parse_shape(custom, "custom", allow_none=True)
    noise = choice_noise_shape(shape, layer, data_format, custom)
    rng = np.random.default_rng(seed)
    mask = keep_mask(shape, p, rng, noise)
    zero_counts = sample_zero_counts(shape, noise, p, draws, rng)
    counts, probs = zero_count_pmf(shape, noise, p)
    spatial = len(shape) - 2
    return {
        "input_shape": shape,
        "noise_shape": noise,
        "units": math.prod(shape),
        "flips": math.prod(noise),
        "mask": mask,
        "maps": channel_maps(mask[0], data_format),
        "depth": shape[2 if data_format == "channels_first" else 1] if spatial == 3 else 1,
        "zero_counts": zero_counts,
        "counts": counts,
        "probabilities": probs,
        "layer": layer,
        "data_format": data_format,
        "p": p,
        "seed": seed,
    }


def plot_noise_shape_demo(state: dict, fig=None, max_channels: int = 6):
    """Top row: sample 0's mask per channel; bottom: histogram of zero counts against the binomial.

    Args:
        state: the dict returned by :func:`noise_shape_demo`.
        fig: a figure to draw on (cleared first); default: a new one.
        max_channels: channels drawn at most.

    Returns:
        The figure, with ``min(C, max_channels)`` mask axes and one histogram axes.
    """
    import matplotlib.pyplot as plt

    maps = state["maps"]
    shown = min(maps.shape[0], max_channels)
    if fig is None:
        fig = plt.figure(figsize=(max(2.0 * shown, 7), 6))
    fig.clear()
    grid = fig.add_gridspec(2, shown, height_ratios=(1, 1.2))
    mask_axes = [fig.add_subplot(grid[0, i]) for i in range(shown)]
    draw_channel_masks(mask_axes, maps[:shown], depth=state["depth"])
    hist_ax = fig.add_subplot(grid[1, :])
    plot_zero_count_histogram(state["zero_counts"], state["counts"], state["probabilities"], ax=hist_ax)
    more = f", channels 0-{shown - 1} of {maps.shape[0]}" if shown < maps.shape[0] else ""
    fig.suptitle(
        f"{state['layer']} ({state['data_format']}), input {state['input_shape']}, noise shape "
        f"{state['noise_shape']}: {state['flips']} coin flips; sample 0{more}",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def noise_shape_widget(input_shape: str = "2, 3, 4, 5", draws: int = 300):
    """The chapter 2 widget: input shape, layer or custom noise shape, data format, rate, seed.

    Args:
        input_shape: the initial input shape, as text. Default ``"2, 3, 4, 5"``: every size
            different, so the noise shape shows which axis is the channel.
        draws: masks sampled for the histogram.

    Returns:
        An ``ipywidgets.interactive`` with controls, in order: ``input_shape`` (text),
        ``layer`` (dropdown of ``LAYER_CHOICES``), ``custom`` (text, the custom noise shape),
        ``data_format`` (dropdown), ``rate`` (0 to 1), ``seed`` (0 to 99). After each change,
        ``widget.result`` is the :func:`noise_shape_demo` state with its figure under
        ``"figure"``, or ``{"error": message}`` when the choice is invalid (the message says why;
        it is also shown in place of the figure).

    Examples::

        >>> w = noise_shape_widget()   # doctest: +SKIP
        >>> w.children[1].value = "Dropout"   # doctest: +SKIP
        >>> w.result["flips"]   # doctest: +SKIP
        120
    """
    import ipywidgets as widgets

    draws = check_draws(draws)

    def compute(input_shape: str, layer: str, custom: str, data_format: str, rate: float, seed: int) -> dict:
        return noise_shape_demo(input_shape, layer, data_format, rate, seed, custom=custom, draws=draws)

    style = {"description_width": "initial"}
    return live_widget(
        compute,
        plot_noise_shape_demo,
        input_shape=widgets.Text(value=input_shape, description="input shape", continuous_update=False, style=style),
        layer=widgets.Dropdown(options=LAYER_CHOICES, value="SpatialDropout2D", description="layer"),
        custom=widgets.Text(
            value="None, None, 1, 1", description="custom noise shape", continuous_update=False, style=style
        ),
        data_format=widgets.Dropdown(
            options=("channels_first", "channels_last"), value="channels_first", description="data format", style=style
        ),
        rate=rate_slider(),
        seed=seed_slider(),
    )


def noise_shape_twin(input_shape=(2, 3, 4, 5), p: float = 0.5, seed: int = 0, *, draws: int = 300, cases=None):
    """Static twin of :func:`noise_shape_widget`: one row per noise shape, masks and histogram.

    Args:
        input_shape: the input shape, channels first.
        p: drop probability.
        seed: seed of the masks.
        draws: masks sampled per histogram.
        cases: list of ``(label, layer, custom)``; default: Dropout, SpatialDropout2D, and the
            custom noise shape ``(N, 1, H, W)`` (the same pixels dropped in every channel).

    Returns:
        The figure, with one row per case (``C`` mask panels, then a histogram).
    """
    import matplotlib.pyplot as plt

    shape = parse_shape(input_shape)
    if cases is None:
        n, _, h, w = shape if len(shape) == 4 else (None,) * 4
        cases = [
            ("Dropout", "Dropout", None),
            ("SpatialDropout2D", "SpatialDropout2D", None),
            ("custom (N, 1, H, W)", "custom", (n, 1, h, w)),
        ]
    states = [
        (label, noise_shape_demo(shape, layer, "channels_first", p, seed, custom=custom, draws=draws))
        for label, layer, custom in cases
    ]
    c = min(states[0][1]["maps"].shape[0], 6)
    fig = plt.figure(figsize=(2.0 * c + 5, 2.6 * len(states)))
    grid = fig.add_gridspec(len(states), c + 3)
    for r, (label, s) in enumerate(states):
        axes = [fig.add_subplot(grid[r, i]) for i in range(c)]
        draw_channel_masks(
            axes,
            s["maps"][:c],
            depth=s["depth"],
            labels=[f"{label}\nch. {i}" if i == 0 else f"ch. {i}" for i in range(c)],
        )
        hist = fig.add_subplot(grid[r, c:])
        plot_zero_count_histogram(
            s["zero_counts"],
            s["counts"],
            s["probabilities"],
            ax=hist,
            title=f"noise shape {s['noise_shape']}: {s['flips']} flips",
        )
        if s["counts"].size > 17:
            hist.set_xticks(np.linspace(0, s["units"], 6).round().astype(int))
    fig.tight_layout()
    return fig
