"""Test set-up shared by every test file: Keras on the PyTorch backend, no display, bounded hypothesis runs,
figures closed after every test; the groups of tests (markers) and the built websites some of them read.

Markers (registered in pyproject.toml; ``make unit`` runs every group, ``-m`` picks some):

* ``sandbox``: grades notebooks in bubblewrap sandboxes; these share the sandbox's user ids, cgroups and
  lock folder, so pytest-xdist runs them in one worker, one after another (``xdist_group``);
* ``site``: reads a built website (the ``instructor_site`` and ``student_site`` fixtures below);
* ``slow``: an end-to-end check of half a minute or more;
* ``browser``: drives Chromium (``tests/browser``, run by ``make browser-test`` after the build).

Shared helpers (``helpers.py``, ``stats.py``, ``exercise_fixtures.py``, ``leakcheck.py``) live beside the test
rooms; pytest's ``pythonpath`` setting (pyproject.toml) puts this folder on the path.
"""

import os
import sys

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("MPLBACKEND", "Agg")  # before anything imports matplotlib: no test opens a window

from hypothesis import HealthCheck, settings  # noqa: E402

import sites  # noqa: E402

settings.register_profile("course", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("course")


@pytest.fixture(autouse=True)
def close_figures():
    """Close every matplotlib figure a test leaves open (if it imported pyplot at all)."""
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


def pytest_itemcollected(item):
    """Sandbox tests share the sandbox's user ids and cgroups: one pytest-xdist worker runs them all, in turn
    (``--dist loadgroup``; marked as each test is collected, before pytest-xdist reads the groups)."""
    if item.get_closest_marker("sandbox"):
        item.add_marker(pytest.mark.xdist_group("sandbox"))


# --------------------------------------------------------------------------- the built websites
@pytest.fixture(scope="session")
def instructor_site(tmp_path_factory) -> sites.Site:
    """The instructor edition, built once per session or handed over by ``make`` (``tests/sites.py``)."""
    return sites.instructor_site(tmp_path_factory.mktemp("instructor-site"))


@pytest.fixture(scope="session")
def student_site(tmp_path_factory) -> sites.Site:
    """The student edition and its staged source, built once per session or handed over by ``make``."""
    return sites.student_site(tmp_path_factory.mktemp("student-site"))


@pytest.fixture
def published(monkeypatch):
    """The reports checkers publish, caught where IPython would send them to the grader; disarmed afterwards."""
    import IPython.display

    from spatialdrop_edu.checks import _verdict

    sent = []
    monkeypatch.setattr(IPython.display, "publish_display_data", lambda data, **kw: sent.append(data))
    yield sent
    _verdict.disarm()
