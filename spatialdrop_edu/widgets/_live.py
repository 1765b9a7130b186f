"""What every live widget of the course shares: controls over a computation, its figure redrawn on each change."""

from __future__ import annotations


def live_widget(compute, plot, **controls):
    """An ``ipywidgets.interactive`` that calls ``compute(**values)`` and shows ``plot(state)`` on every change.

    Args:
        compute: a function of the controls' values returning a state dict; a ``ValueError`` or
            ``TypeError`` it raises (an invalid choice) is printed as one line instead of a figure.
        plot: draws a state dict on a new figure and returns it.
        **controls: the widgets, in the order they are shown (``rate=rate_slider()``, ...).

    Returns:
        The ``interactive``; after every change ``widget.result`` is the state with its figure under
        ``"figure"``, or ``{"error": message}``, so tests can drive the controls and check it.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    def show(**values) -> dict:
        try:
            state = compute(**values)
        except (ValueError, TypeError) as err:
            print(f"Cannot draw this choice: {err}")
            return {"error": str(err)}
        fig = plot(state)
        display(fig)
        plt.close(fig)
        state["figure"] = fig
        return state

    return widgets.interactive(show, **controls)


def rate_slider(value: float = 0.5, low: float = 0.0):
    """The drop-probability slider of every widget: ``low`` to 1 in steps of 0.05, updated on release."""
    import ipywidgets as widgets

    return widgets.FloatSlider(value=value, min=low, max=1.0, step=0.05, description="rate p", continuous_update=False)


def seed_slider():
    """The seed slider of every widget: 0 to 99."""
    import ipywidgets as widgets

    return widgets.IntSlider(value=0, min=0, max=99, description="seed", continuous_update=False)
