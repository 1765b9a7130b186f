"""Test set-up shared by every test file: Keras on the PyTorch backend, no display, bounded hypothesis runs."""

import os
import sys
from pathlib import Path

# Shared test helpers (stats.py, exercise_fixtures.py, leakcheck.py) live here, beside the test rooms.
sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("MPLBACKEND", "Agg")

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "course", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("course")
