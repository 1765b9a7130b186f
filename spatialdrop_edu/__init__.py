"""spatialdrop_edu: the small library the SpatialDropout course teaches from.

The package has four rooms:

* :mod:`~spatialdrop_edu.layers`, **the library**: noise shapes, a NumPy reference, and
  ``Dropout``, ``SpatialDropout1d/2d/3d`` and ``DropBlock1d/2d`` for PyTorch, all one masked
  multiply fed a per-layer noise shape. Its names are imported here: ``sde.SpatialDropout2d``.
* **teaching aids** the chapters call: :mod:`~spatialdrop_edu.analysis` (measuring layers),
  :mod:`~spatialdrop_edu.plotting`, :mod:`~spatialdrop_edu.widgets` and
  ``spatialdrop_edu.checks`` (exercise checkers; the student edition leaves its reference out).
* :mod:`~spatialdrop_edu.training`, **the training toolkit** of chapters 6 to 8: data, models,
  one training loop, run settings, studies with intervals.
* :mod:`~spatialdrop_edu.tagging`, **the sequence-tagging toolkit**: a generated part-of-speech language,
  the four ways to drop in an embedded sentence, a tagger in PyTorch and in Keras.
* :mod:`~spatialdrop_edu.course`, **the course tools** instructors run
  (``python -m spatialdrop_edu``), which need the ``instructor`` extra.

Beside them, modules every room uses: :mod:`~spatialdrop_edu.runtime` (seeds, device),
``spatialdrop_edu.reproducible`` (the pinned CPU kernels), :mod:`~spatialdrop_edu.timing` (the one
timing helper every measurement of time in the course goes through), :mod:`~spatialdrop_edu.photos`
(the bundled photographs) and ``_validation`` (every argument check).

``import spatialdrop_edu`` loads only the library, NumPy and PyTorch; every room besides is loaded
on first use (``sde.widgets``, ``sde.layer_mask``), so matplotlib, ipywidgets, Keras and the
notebook tooling are not imported until a teaching aid needs them.
"""

from __future__ import annotations

import importlib

from . import layers
from .layers import *  # noqa: F403  the library's names, listed in layers.__all__: sde.SpatialDropout2d
from .runtime import get_device, seed_everything

__version__ = "0.2.0"

#: Where the course lives; notebooks install the package from here when it is missing (Colab).
REPOSITORY_URL = "https://github.com/spatialdrop-edu/spatialdrop-edu"

#: Subpackages and modules loaded on first attribute access (``sde.widgets``), so that importing
#: the library does not import matplotlib, ipywidgets, nbformat or Keras.
_LAZY = (
    "analysis",
    "checks",
    "course",
    "photos",
    "plotting",
    "reproducible",
    "tagging",
    "timing",
    "training",
    "widgets",
)
#: Names of the rooms' modules offered here, loaded on first use: ``sde.layer_mask``.
_LAZY_NAMES = {"layer_mask": "analysis.masks"}

__all__ = [*layers.__all__, "get_device", "seed_everything", *_LAZY_NAMES]


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_LAZY_NAMES))
