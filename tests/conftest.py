"""Test set-up shared by every test file: Keras on the PyTorch backend, no display, bounded hypothesis runs,
figures closed after every test.

Shared helpers (``helpers.py``, ``stats.py``, ``exercise_fixtures.py``, ``leakcheck.py``) live beside the test
rooms; pytest's ``pythonpath`` setting (pyproject.toml) puts this folder on the path.
"""

import os
import sys

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("MPLBACKEND", "Agg")  # before anything imports matplotlib: no test opens a window

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("course", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("course")


@pytest.fixture(autouse=True)
def close_figures():
    """Close every matplotlib figure a test leaves open (if it imported pyplot at all)."""
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")
