"""The chapters' interactive widgets, one module per chapter, each split in testable parts.

For every widget there is a pure **computation** returning a dict of arrays, a **plot** of that
dict, the live **widget** (an ``ipywidgets.interactive`` whose ``result`` holds the latest state,
with its figure under ``"figure"``, so tests can drive the controls) and a **static twin** that
shows the same idea on the website, where no kernel runs the widget.
"""

from .._chapters import reexport_chapters

__all__ = reexport_chapters(__name__, __path__, globals())
