"""A finished tqdm.auto bar is stored as the line it ended on; other widgets and outputs are left alone."""

import nbformat

from spatialdrop_edu.course.edition.cells import WIDGET_STATE, WIDGET_VIEW
from spatialdrop_edu.course.edition.progress_lines import CSS_CLASS, freeze_progress_bars, progress_line


def model(name, **state):
    return {"model_name": name, "model_module": "@jupyter-widgets/controls", "state": state}


def bar(prefix, left, value, total, right, style="success"):
    return {
        f"{prefix}box": model(
            "HBoxModel",
            children=[f"IPY_MODEL_{prefix}l", f"IPY_MODEL_{prefix}p", f"IPY_MODEL_{prefix}r"],
            layout=f"IPY_MODEL_{prefix}lay",
        ),
        f"{prefix}l": model("HTMLModel", value=left),
        f"{prefix}p": model("FloatProgressModel", value=value, max=total, bar_style=style),
        f"{prefix}r": model("HTMLModel", value=right),
        f"{prefix}lay": model("LayoutModel"),
    }


def view(model_id):
    return nbformat.v4.new_output(
        "display_data",
        data={WIDGET_VIEW: {"model_id": model_id, "version_major": 2}, "text/plain": "HBox(children=...)"},
    )


def notebook():
    models = {
        **bar("a", "runs:\u2007100%", 35, 35, "\u200735/35\u2007[03:18&lt;00:00,\u200711.25s/it]"),
        **bar("b", "training: stopped early at epoch 26 (best: 18):\u2007100%", 26, 26, "\u200726/26"),
        "slider": model("IntSliderModel", value=3),
    }
    nb = nbformat.v4.new_notebook()
    runs = nbformat.v4.new_code_cell("for run in tqdm(runs): ...", outputs=[view("abox"), view("bbox")])
    text = nbformat.v4.new_output("stream", name="stdout", text="35 runs\n")
    shown = nbformat.v4.new_code_cell("interact(...)", outputs=[text, view("slider")])
    nb.cells = [runs, shown]
    nb.metadata["widgets"] = {WIDGET_STATE: {"version_major": 2, "version_minor": 0, "state": models}}
    return nb


def test_bars_become_their_final_lines_and_their_models_go():
    nb = notebook()
    assert freeze_progress_bars(nb) == 2
    first, second = (out["data"] for out in nb.cells[0].outputs)
    assert first["text/plain"] == "runs: 100% 35/35 [03:18<00:00, 11.25s/it]"
    assert first["text/html"] == f'<pre class="{CSS_CLASS}">runs: 100% 35/35 [03:18&lt;00:00, 11.25s/it]</pre>'
    assert second["text/plain"] == "training: stopped early at epoch 26 (best: 18): 100% 26/26"
    assert all(WIDGET_VIEW not in out["data"] for out in nb.cells[0].outputs)
    # the slider, a real widget, keeps its view and its state; the bars' models (and their layouts) are gone
    assert nb.cells[1].outputs[1]["data"][WIDGET_VIEW]["model_id"] == "slider"
    assert nb.cells[1].outputs[0]["text"] == "35 runs\n"
    assert set(nb.metadata["widgets"][WIDGET_STATE]["state"]) == {"slider"}
    assert freeze_progress_bars(nb) == 0  # idempotent


def test_only_the_tqdm_shape_counts_as_a_bar():
    nb = notebook()
    models = nb.metadata["widgets"][WIDGET_STATE]["state"]
    models["abox"]["state"]["children"] = models["abox"]["state"]["children"][:2]  # an HBox of two: not tqdm's
    assert progress_line(models, "abox") is None and progress_line(models, "missing") is None
    assert progress_line(models, "slider") is None
    assert freeze_progress_bars(nb) == 1
    assert WIDGET_VIEW in nb.cells[0].outputs[0]["data"]


def test_a_notebook_without_widgets_is_left_alone():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    before = nbformat.writes(nb)
    assert freeze_progress_bars(nb) == 0 and nbformat.writes(nb) == before
