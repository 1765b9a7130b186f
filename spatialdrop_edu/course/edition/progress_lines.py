"""Finished progress bars stored as the line of text they ended on, not as widgets.

A course notebook's long loops show a ``tqdm.auto`` bar: in Jupyter a live widget, an ``HBox`` of
an ``HTML`` label, a ``FloatProgress`` and an ``HTML`` counter. Stored as a widget, a finished bar
would reach the website as an interactive snapshot (with the note that it "runs live in Jupyter")
and reach a learner's JupyterLab as a widget with no kernel behind it. :func:`freeze_progress_bars`,
which ``make execute`` applies to every notebook it writes, replaces each such output by its final
text, as a terminal shows it::

    runs: 100% 35/35 [03:18<00:00, 11.25s/it]
    training: stopped early at epoch 26 (best: 18): 100% 26/26 [00:41<00:00]

and drops the bar's widget models from the notebook's widget state. Running the cell again shows a
live bar; the cells that show one are tagged ``nbval-ignore-output`` (COURSE.md).
"""

from __future__ import annotations

import html

from .cells import WIDGET_STATE, WIDGET_VIEW
from .release import prune_widget_state

#: The CSS class of a frozen bar's HTML, which the website styles as one quiet line.
CSS_CLASS = "sde-progress"


def _model(models: dict, ref) -> dict:
    if not isinstance(ref, str):
        return {}
    return models.get(ref.removeprefix("IPY_MODEL_"), {})


def progress_line(models: dict, model_id: str) -> str | None:
    """The text a ``tqdm.auto`` notebook bar ended on, or ``None`` when ``model_id`` is not such a bar.

    Args:
        models: the notebook's widget models (model id -> ``{"model_name", "state", ...}``).
        model_id: the id an output's widget view displays.

    Examples::

        >>> box = {"children": ["IPY_MODEL_a", "IPY_MODEL_b", "IPY_MODEL_c"]}
        >>> models = {
        ...     "bar": {"model_name": "HBoxModel", "state": box},
        ...     "a": {"model_name": "HTMLModel",
        ...           "state": {"value": "runs:\\u2007100%"}},
        ...     "b": {"model_name": "FloatProgressModel",
        ...           "state": {"value": 35.0, "max": 35.0}},
        ...     "c": {"model_name": "HTMLModel",
        ...           "state": {"value": "\\u200735/35\\u2007[03:18&lt;00:00]"}}}
        >>> progress_line(models, "bar")
        'runs: 100% 35/35 [03:18<00:00]'
        >>> progress_line(models, "a") is None
        True
    """
    box = models.get(model_id, {})
    if box.get("model_name") != "HBoxModel":
        return None
    children = [_model(models, ref) for ref in box.get("state", {}).get("children", [])]
    names = [child.get("model_name") for child in children]
    if names != ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return None
    left, right = (html.unescape(str(children[i].get("state", {}).get("value", ""))) for i in (0, 2))
    text = f"{left} {right}".replace("\u2007", " ").replace("\xa0", " ")
    return " ".join(text.split())


def freeze_progress_bars(nb) -> int:
    """Replace every stored ``tqdm.auto`` bar of ``nb`` by its final line of text, in place; return how many.

    The output keeps its place and becomes ``text/plain`` (the line) and ``text/html`` (the line in a
    ``<pre class="sde-progress">``); widget models that no output displays any more are dropped.
    """
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {})
    models = state.get("state", {}) if isinstance(state, dict) else {}
    if not models:
        return 0
    frozen = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            view = (out.get("data") or {}).get(WIDGET_VIEW)
            if not isinstance(view, dict):
                continue
            line = progress_line(models, view.get("model_id"))
            if line is None:
                continue
            out["data"] = {"text/plain": line, "text/html": f'<pre class="{CSS_CLASS}">{html.escape(line)}</pre>'}
            frozen += 1
    if frozen:
        prune_widget_state(nb)
    return frozen
