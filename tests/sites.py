"""The course website as the tests read it: each edition built once per ``make test`` and handed over.

``make unit`` and ``make test`` pass the editions ``make book`` built (``$SITE_HTML``: ``_build/html``;
``$STUDENT_HTML``: ``_build/student/html``, with the staged student book ``_build/student/src`` beside it). A test
run without them (``pytest`` alone) builds each edition it needs once, into a temporary folder. The fixtures
``instructor_site`` and ``student_site`` (``conftest.py``) return a :class:`Site`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = str(Path(sys.executable).with_name("jupyter-book"))


class Site(NamedTuple):
    """A built edition of the course website: its HTML folder and the book source it was built from."""

    html: Path
    source: Path


def build_book(source: Path, out: Path) -> Path:
    """Build the book at ``source`` into ``out`` as ``make book`` does (warnings are errors); its HTML folder."""
    done = subprocess.run(
        [JUPYTER_BOOK, "build", str(source), "--path-output", str(out), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "WARNING" not in done.stdout + done.stderr, (
        done.stdout[-3000:] + done.stderr[-3000:]
    )
    return out / "_build" / "html"


def given_site(variable: str) -> Path | None:
    """The built website that the environment variable ``variable`` names, or ``None`` where it is unset."""
    given = os.environ.get(variable)
    if not given:
        return None
    html = Path(given).resolve()
    assert (html / "index.html").is_file(), f"{variable}={given} holds no built website (index.html)"
    return html


def instructor_site(tmp: Path) -> Site:
    """The instructor edition: ``$SITE_HTML``, else built from the repository into ``tmp``."""
    return Site(given_site("SITE_HTML") or build_book(ROOT, tmp), ROOT)


def student_site(tmp: Path) -> Site:
    """The student edition: ``$STUDENT_HTML`` and its staged source beside it, else staged and built into ``tmp``."""
    html = given_site("STUDENT_HTML")
    if html is not None:
        source = html.parent / "src"
        assert (source / "_config.yml").is_file(), f"no staged student book beside STUDENT_HTML: {source}"
        return Site(html, source)
    from spatialdrop_edu.course.edition.release import stage_student_book

    source = stage_student_book(ROOT, tmp / "src")
    return Site(build_book(source, tmp / "out"), source)
