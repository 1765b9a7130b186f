"""Collect the per-chapter modules of a subpackage (``widgets``, ``checks``) into its namespace."""

from __future__ import annotations

import importlib
import pkgutil


def reexport_chapters(package: str, path, namespace: dict) -> list[str]:
    """Import every ``chNN_*`` module of ``package`` and copy its ``__all__`` names into ``namespace``.

    One module per chapter and no list to keep: a new chapter's module is found by its name.
    Returns the names copied, in chapter order.
    """
    names: list[str] = []
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if not info.name.startswith("ch"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        for public in module.__all__:
            namespace[public] = getattr(module, public)
        names += list(module.__all__)
    return names
