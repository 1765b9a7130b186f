"""The one progress bar of the package: ``tqdm.auto`` in a notebook (a widget), tqdm's own in a terminal (a line).

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
    return _bar_class()(total=total, desc=desc, leave=leave, unit=unit, initial=initial, disable=not show)


def _bar_class():
    """``tqdm.auto``'s bar inside a Jupyter kernel, and the terminal's everywhere else.

    ``tqdm.auto`` takes the notebook's bar as soon as ``ipykernel`` is imported, even in a process
    that no frontend shows (a test run that imported a kernel class, a script): there it would draw
    nothing. The kernel is asked instead: IPython's shell exists and was started by ``IPKernelApp``.
    """
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython comes with the notebook tools
        shell = None
    if shell is not None and "IPKernelApp" in getattr(shell, "config", {}):
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm
