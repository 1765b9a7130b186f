"""The package root: what ``import spatialdrop_edu`` loads, and what it offers on first use."""

import os
import subprocess
import sys
from pathlib import Path

import spatialdrop_edu as sde

ROOT = Path(__file__).parents[1]


def test_import_loads_the_library_only():
    """The README and the package docstring promise it: no teaching aid, no matplotlib, no Keras at import."""
    code = (
        "import sys, spatialdrop_edu\n"
        "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('spatialdrop_edu.')}))\n"
        "print([m for m in ('matplotlib', 'ipywidgets', 'keras', 'nbformat') if m in sys.modules])"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.splitlines() == ["['_validation', 'layers', 'runtime']", "[]"]


def test_rooms_and_lazy_names_load_on_first_use():
    from spatialdrop_edu.analysis import photos as chapters_photos
    from spatialdrop_edu.analysis.masks import layer_mask

    assert sde.layer_mask is layer_mask and {"layer_mask", "training", "photos"} <= set(dir(sde))
    assert sde.training.train is sde.training.classifier.train and sde.photos.PHOTOS is chapters_photos.PHOTOS
