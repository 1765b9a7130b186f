"""Fixtures of the chapters' checker tests."""

from __future__ import annotations

import pytest

from spatialdrop_edu.checks import _verdict


@pytest.fixture
def published(monkeypatch):
    """The reports checkers publish, caught where IPython would send them to the grader; disarmed afterwards."""
    import IPython.display

    sent = []
    monkeypatch.setattr(IPython.display, "publish_display_data", lambda data, **kw: sent.append(data))
    yield sent
    _verdict.disarm()
