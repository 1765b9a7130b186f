"""Issue 31: a training chapter's study is one call of a shown cell, and its bookkeeping is the package's.

The studies, their settings at either scale, the worker processes and ``meta.json`` are
``spatialdrop_edu.training.chapter_studies``', run by one call of ``run_chapter_study`` (test_cell_length.py holds
every shown code cell, these chapters' included, to 30 lines).
"""

from pathlib import Path

import nbformat
import pytest

BOOK = Path(__file__).parents[2] / "book"
CHAPTERS = ("06_train_mnist1d", "07_train_images", "08_unet_copycat", "09_sequence_tagging")
#: Tags that fold or remove a cell's code on the website.
NOT_SHOWN = {"hide-input", "hide-cell", "remove-input", "remove-cell"}


def code_cells(chapter):
    nb = nbformat.read(BOOK / f"{chapter}.ipynb", as_version=4)
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def shown(cell):
    return not NOT_SHOWN & set(cell.metadata.get("tags", []))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_chapters_study_is_one_call_and_the_package_writes_its_meta(chapter):
    cells = code_cells(chapter)
    calls = [(i, c) for i, c in cells if "T.run_chapter_study(" in c.source]
    assert len(calls) == 1, [i for i, _ in calls]
    _, cell = calls[0]
    assert shown(cell) and "nbval-ignore-output" in cell.metadata.get("tags", [])  # it shows its progress bars
    assert len(cell.source.splitlines()) <= 5
    assert "T.chapter_study(\n    CHAPTER,\n    scale=SCALE," in "".join(c.source for _, c in cells)
    for name in ("write_meta", "study_executor", "executor.shutdown", "local_results(", "study_cache("):
        assert not [j for j, c in cells if name in c.source], name  # the runner's, not the notebook's
    # a study the notebook runs itself is at most a hidden check
    assert all(not shown(c) for _, c in cells if "T.run_study(" in c.source)
