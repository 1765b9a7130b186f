"""The one progress bar of the package: ``tqdm.auto``, so a notebook shows a widget and a terminal a line of text.

Every function that can run longer than a few seconds on two CPU cores takes ``progress=`` and
draws its bar with :func:`progress_bar` (COURSE.md: long loops show progress). On the website a
bar is a static line of text, and cells that show one are tagged ``nbval-ignore-output``.
"""

from __future__ import annotations


def progress_bar(total: int, desc: str, show: bool = True, *, leave: bool = False, unit: str = "it", initial: int = 0):
    """A ``tqdm.auto`` bar over ``total`` steps labelled ``desc``, drawn only when ``show`` is true.

    Args:
        total: the number of steps.
        desc: the bar's label, which says what is counted ("patch classifier", "MC passes").
        show: ``False`` gives a bar made with tqdm's ``disable=True``: it draws and prints nothing, and
            its methods (``update``, ``set_postfix``, ``close``) do nothing, so callers use it as any bar.
        leave: keep the finished bar on screen (default: it disappears when closed).
        unit: what one step is, shown in the rate ("step/s").
        initial: the steps already done when the bar starts (a resumed study).

    Returns:
        The bar.

    Examples::

        >>> bar = progress_bar(10, "steps", show=False)
        >>> bar.disable
        True
        >>> bar.update(1); bar.set_postfix(loss="0.50"); bar.close()  # none drawn
    """
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=leave, unit=unit, initial=initial, disable=not show)
