"""The one progress bar of the package: ``tqdm.auto``, so a notebook shows a widget and a terminal a line of text.

Every function that can run longer than a few seconds on two CPU cores takes ``progress=`` and
draws its bar with :func:`progress_bar` (COURSE.md: long loops show progress). On the website a
bar is a static line of text, and cells that show one are tagged ``nbval-ignore-output``.
"""

from __future__ import annotations


def progress_bar(total: int, desc: str, show: bool = True, *, leave: bool = False, unit: str = "it"):
    """A ``tqdm.auto`` bar over ``total`` steps labelled ``desc``, or ``None`` when ``show`` is false.

    Args:
        total: the number of steps.
        desc: the bar's label, which says what is counted ("patch classifier", "MC passes").
        show: ``False`` gives ``None``, so callers write ``if bar is not None: bar.update()``.
        leave: keep the finished bar on screen (default: it disappears when closed).
        unit: what one step is, shown in the rate ("step/s").

    Returns:
        The bar, or ``None``.

    Examples::

        >>> progress_bar(10, "steps", show=False) is None
        True
    """
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=leave, unit=unit)
