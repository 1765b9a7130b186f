"""Every Bernoulli dropout layer of PyTorch and Keras, with its noise shape, and a check against the real layers.

:func:`dropout_layer_table` builds the table from this package's
:func:`~spatialdrop_edu.layers.noise_shapes.noise_shape`, so the table is code, not prose.
:func:`verify_layer_table` then runs each real layer (``torch.nn.Dropout``, ``Dropout1d/2d/3d``,
``keras.layers.Dropout``, ``SpatialDropout1D/2D/3D``) in training mode with
:func:`~spatialdrop_edu.analysis.masks.layer_mask` and *measures* its noise shape: an axis belongs to the
noise shape (size > 1) exactly when the mask varies along it.

Layers that do not zero units with a Bernoulli mask (``AlphaDropout``, ``FeatureAlphaDropout``,
``GaussianDropout``, ``GaussianNoise``) are left out.
"""

from __future__ import annotations

from .._validation import check_probability
from ..layers.noise_shapes import coin_flips, noise_shape
from .masks import layer_mask, make_layer, measure_noise_shape

#: (framework, layer, data_format, symbolic input, symbolic noise shape, kind, example input shape)
LAYERS = (
    ("PyTorch", "torch.nn.Dropout", "any", "(N, *)", "(N, *)", "element", (4, 6, 5, 5)),
    ("PyTorch", "torch.nn.Dropout1d", "channels_first", "(N, C, L)", "(N, C, 1)", "spatial", (4, 6, 10)),
    ("PyTorch", "torch.nn.Dropout2d", "channels_first", "(N, C, H, W)", "(N, C, 1, 1)", "spatial", (4, 6, 5, 5)),
    (
        "PyTorch",
        "torch.nn.Dropout3d",
        "channels_first",
        "(N, C, D, H, W)",
        "(N, C, 1, 1, 1)",
        "spatial",
        (4, 6, 3, 4, 4),
    ),
    ("Keras", "keras.layers.Dropout", "any", "(N, *)", "(N, *)", "element", (4, 5, 5, 6)),
    ("Keras", "keras.layers.SpatialDropout1D", "channels_last", "(N, L, C)", "(N, 1, C)", "spatial", (4, 10, 6)),
    (
        "Keras",
        "keras.layers.SpatialDropout2D",
        "channels_last",
        "(N, H, W, C)",
        "(N, 1, 1, C)",
        "spatial",
        (4, 5, 5, 6),
    ),
    (
        "Keras",
        "keras.layers.SpatialDropout2D",
        "channels_first",
        "(N, C, H, W)",
        "(N, C, 1, 1)",
        "spatial",
        (4, 6, 5, 5),
    ),
    (
        "Keras",
        "keras.layers.SpatialDropout3D",
        "channels_last",
        "(N, D, H, W, C)",
        "(N, 1, 1, 1, C)",
        "spatial",
        (4, 3, 4, 4, 6),
    ),
    (
        "Keras",
        "keras.layers.SpatialDropout3D",
        "channels_first",
        "(N, C, D, H, W)",
        "(N, C, 1, 1, 1)",
        "spatial",
        (4, 6, 3, 4, 4),
    ),
)

COLUMNS = (
    "framework",
    "layer",
    "data_format",
    "input",
    "noise shape",
    "example input",
    "example noise shape",
    "coin flips",
)


def dropout_layer_table() -> list[dict]:
    """The table of dropout layers, one dict per row, example noise shapes computed by the package.

    Returns:
        A list of dicts with the keys of ``COLUMNS``. ``"example noise shape"`` is
        ``noise_shape(example input, kind, data_format)`` and ``"coin flips"`` its product.

    Examples::

        >>> rows = dropout_layer_table()
        >>> keras1d = "keras.layers.SpatialDropout1D"
        >>> [r["example noise shape"] for r in rows if r["layer"] == keras1d]
        [(4, 1, 6)]
    """
    rows = []
    for framework, layer, data_format, symbolic_in, symbolic_noise, kind, example in LAYERS:
        fmt = "channels_first" if data_format == "any" else data_format
        ns = noise_shape(example, kind, fmt)
        rows.append(
            {
                "framework": framework,
                "layer": layer,
                "data_format": data_format,
                "input": symbolic_in,
                "noise shape": symbolic_noise,
                "example input": example,
                "example noise shape": ns,
                "coin flips": coin_flips(example, ns),
            }
        )
    return rows


def layer_table_markdown(rows=None) -> str:
    """Render the table as Markdown (for ``IPython.display.Markdown``).

    Args:
        rows: rows from :func:`dropout_layer_table` (default: build them).

    Returns:
        A Markdown table with a header row, one line per layer.
    """
    rows = dropout_layer_table() if rows is None else rows

    def cell(value) -> str:
        text = str(value)
        return f"`{text}`" if value and (text.startswith("(") or "." in text or "_" in text) else text

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(cell(row[c]) for c in COLUMNS) + " |")
    return "\n".join(lines)


def verify_layer_table(rows=None, *, seeds=(0, 1, 2), rate: float = 0.5) -> list[dict]:
    """Run every real layer of the table and compare its measured noise shape with the table's.

    Each layer is called in training mode on ones of the row's example shape, once per seed, by
    :func:`~spatialdrop_edu.analysis.masks.layer_mask`. With ``rate = 0.5`` and three seeds, an axis of the
    noise shape looks constant by chance with probability below ``2**-30`` for these shapes.

    Args:
        rows: rows from :func:`dropout_layer_table` (default: build them). Keras rows need Keras
            (with ``KERAS_BACKEND=torch``).
        seeds: seeds of the draws.
        rate: drop probability, in ``(0, 1)``.

    Returns:
        The rows, each with ``"measured noise shape"`` and ``"agrees"`` (bool) added.
    """
    if check_probability(rate, "rate") in (0.0, 1.0):
        raise ValueError(f"rate must be strictly between 0 and 1 so that masks vary, got {rate!r}.")
    if not seeds:
        raise ValueError("seeds must contain at least one seed.")
    rows = dropout_layer_table() if rows is None else rows
    checked = []
    for row in rows:
        fmt = "channels_first" if row["data_format"] == "any" else row["data_format"]
        layer = make_layer(row["layer"], fmt, rate)
        masks = [layer_mask(layer, row["example input"], seed=s) for s in seeds]
        measured = measure_noise_shape(masks)
        checked.append(
            {**row, "measured noise shape": measured, "agrees": measured == tuple(row["example noise shape"])}
        )
    return checked
