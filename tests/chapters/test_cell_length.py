"""Issue 31: a shown code cell teaches one idea, so no shown code cell of a notebook is longer than 30 lines.

Bookkeeping (plotting apparatus, loops that gather numbers for a figure) lives in the package or in folded
(``hide-input``) cells (COURSE.md, "Code on the page"); cells the website folds or removes are not counted.
"""

from pathlib import Path

import nbformat
import pytest

BOOK = Path(__file__).parents[2] / "book"
#: Tags under which the website folds or removes a cell's code.
HIDDEN = {"hide-input", "remove-input", "remove-cell", "hide-cell"}
MAX_LINES = 30
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_shown_code_cell_is_longer_than_30_lines(path):
    nb = nbformat.read(path, as_version=4)
    long = [
        f"cell {index}: {len(lines)} lines, starting {lines[0][:50]!r}"
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and not HIDDEN & set(cell.metadata.get("tags", []))
        and len(lines := cell.source.splitlines()) > MAX_LINES
    ]
    heading = f"{len(long)} shown code cell(s) over {MAX_LINES} lines: split them at their ideas"
    assert not long, "\n".join([heading, *long])
