"""COURSE.md's contract, checked on every chapter notebook (so later chapters inherit the checks)."""

import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from spatialdrop_edu import REPOSITORY_URL

BOOK = Path(__file__).parents[2] / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
IDS = [p.name for p in NOTEBOOKS]


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_setup_is_two_cells_install_hidden_and_imports_folded(path):
    """COURSE.md: the install logic is removed from the website; the imports, rng and device are folded, so a reader
    can see what ``sde``, ``rng`` and ``device`` are."""
    nb = nbformat.read(path, as_version=4)
    install, imports = code_cells(nb)[:2]
    assert "remove-cell" in install.metadata.get("tags", []), "the first set-up cell must be tagged remove-cell"
    pip_lines = [line for line in install.source.splitlines() if "%pip install" in line]
    assert pip_lines, "the first set-up cell must %pip install the package when it cannot be imported (Colab)"
    for line in pip_lines:
        assert REPOSITORY_URL in line, line
        assert not re.search(r"\btorch\b", line), f"the set-up cell never (re)installs torch: {line}"
    assert "hide-input" in imports.metadata.get("tags", []), "the second set-up cell must be tagged hide-input"
    assert "%pip" not in imports.source
    assert "seed_everything(0)" in imports.source and "get_device()" in imports.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_figures_have_alt_text_and_a_caption(path):
    nb = nbformat.read(path, as_version=4)
    for cell in code_cells(nb):
        if any("image/png" in out.get("data", {}) for out in cell.get("outputs", [])):
            mystnb = cell.metadata.get("mystnb", {})
            assert mystnb.get("image", {}).get("alt"), f"figure without alt text:\n{cell.source[:200]}"
            assert mystnb.get("figure", {}).get("caption"), f"figure without a caption:\n{cell.source[:200]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercises_follow_the_nbgrader_format(path):
    nb = nbformat.read(path, as_version=4)
    chapter = path.stem.split("_")[0]
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        gid = meta["grade_id"]
        assert re.fullmatch(rf"ex-{chapter}-\d+(-check)?", gid), gid
        assert meta.get("schema_version") == 3, gid
        if meta.get("solution") and cell.cell_type == "code":
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, gid
            assert "hide-input" in cell.metadata.get("tags", []), f"{gid}: solutions are folded on the website"
            check = nb.cells[i + 1]
            assert check.metadata.get("nbgrader", {}).get("grade_id") == f"{gid}-check", (
                f"{gid}: check cell must follow"
            )
        if meta.get("grade") and not meta.get("solution"):
            assert meta.get("locked") and meta.get("points", 0) > 0, gid
            assert "checks." in cell.source, f"{gid}: a check cell calls a checker from spatialdrop_edu.checks"
        if cell.cell_type == "markdown" and meta.get("solution"):
            assert "=== BEGIN MARK SCHEME ===" in cell.source and "=== END MARK SCHEME ===" in cell.source, gid
    headings = [
        line
        for c in nb.cells
        if c.cell_type == "markdown"
        for line in c.source.splitlines()
        if line.startswith("### Exercise")
    ]
    if not chapter.isdigit():  # an appendix (cost.ipynb) has no exercises
        assert not headings, f"{path.name} is an appendix: its exercises would have no chapter number"
        return
    assert len(headings) >= 3, "at least three exercises per chapter"
    for line in headings:
        assert re.fullmatch(rf"### Exercise {int(chapter)}\.\d+ — .+ \((★|★★|★★★)\)", line), line


def test_grade_ids_are_unique_across_the_course():
    ids = Counter(
        c.metadata["nbgrader"]["grade_id"]
        for path in NOTEBOOKS
        for c in nbformat.read(path, as_version=4).cells
        if "nbgrader" in c.metadata
    )
    assert ids and not [gid for gid, n in ids.items() if n > 1]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_with_outputs_in_order(path):
    nb = nbformat.read(path, as_version=4)
    counts = [c.execution_count for c in code_cells(nb) if c.source.strip()]
    assert None not in counts, "every code cell has run (make execute)"
    assert counts == sorted(counts), "cells ran top to bottom"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_progress_bars_are_stored_as_lines_in_cells_nbval_does_not_compare(path):
    """make execute stores a finished bar as its final line (course.edition.progress_lines); its time varies from run
    to run."""
    from spatialdrop_edu.course.edition.cells import WIDGET_STATE, WIDGET_VIEW
    from spatialdrop_edu.course.edition.progress_lines import CSS_CLASS, progress_line

    nb = nbformat.read(path, as_version=4)
    models = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for i, cell in enumerate(code_cells(nb)):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            view = data.get(WIDGET_VIEW)
            assert not (view and progress_line(models, view["model_id"])), f"code cell {i}: a bar stored as a widget"
            if CSS_CLASS in data.get("text/html", "") or out.get("name") == "stderr":
                assert "nbval-ignore-output" in cell.metadata.get("tags", []), f"code cell {i}: progress compared"


#: Columns of a code block on the website at a window 1280 pixels wide (the code font of sde-site.css); the browser
#: test measures the blocks themselves, this checks the stored text, without a browser.
PAGE_WIDTH = 80
ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: Outputs the website shows as something else than preformatted text (tables wrap, figures scale).
RICHER = ("text/html", "text/markdown", "image/png", "image/svg+xml", "application/vnd.jupyter.widget-view+json")


def _shown_text(output) -> str:
    """The preformatted text the website shows for one stored output ("" when it shows something richer)."""
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return ANSI.sub("", "\n".join(output.traceback))
    data = output.get("data", {})
    return "" if any(kind in data for kind in RICHER) else data.get("text/plain", "")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_shown_code_and_printed_output_fit_the_page(path):
    """COURSE.md, "Code on the page": every line of a shown cell (``remove-cell`` cells are not shown) and of its
    printed output fits a code block of the website: at most 80 columns. ``make format`` shortens code; a long
    string, comment or printed line is split by hand (or becomes a Markdown table, which wraps)."""
    nb = nbformat.read(path, as_version=4)
    wide = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "remove-cell" in cell.metadata.get("tags", []):
            continue
        for line in cell.source.splitlines():
            if len(line) > PAGE_WIDTH:
                wide.append(f"cell {index}, code ({len(line)}): {line[:60]}")
        for output in cell.get("outputs", []):
            for line in _shown_text(output).splitlines():
                if len(line) > PAGE_WIDTH:
                    wide.append(f"cell {index}, output ({len(line)}): {line[:60]}")
    assert not wide, f"{len(wide)} line(s) wider than {PAGE_WIDTH} columns:\n" + "\n".join(wide)


FENCE = re.compile(r"(`{3,}|~{3,})(.*)$")


def _fenced_code(markdown: str):
    """The lines of the code blocks of a Markdown text: fences with a language or none, and ``{code-block}``; not
    directives such as ``{admonition}``, whose content is prose."""
    fence = None  # the open fence, and whether it holds code
    for line in markdown.splitlines():
        match = FENCE.match(line.strip())
        if fence is None:
            if match:
                info = match.group(2).strip()
                fence = (match.group(1), not info.startswith("{") or info.startswith(("{code-block}", "{code}")))
            continue
        marks, is_code = fence
        if match and match.group(1)[0] == marks[0] and len(match.group(1)) >= len(marks) and not match.group(2).strip():
            fence = None
        elif is_code:
            yield line


PAGES = sorted(BOOK.glob("*.md"))


@pytest.mark.parametrize("path", NOTEBOOKS + PAGES, ids=IDS + [p.name for p in PAGES])
def test_code_blocks_in_the_text_fit_the_page(path):
    """Code quoted in the text (fenced blocks of Markdown cells and pages) fits the page as well."""
    if path.suffix == ".ipynb":
        texts = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]
    else:
        texts = [path.read_text(encoding="utf-8")]
    wide = [line for text in texts for line in _fenced_code(text) if len(line) > PAGE_WIDTH]
    assert not wide, f"{len(wide)} line(s) of quoted code wider than {PAGE_WIDTH} columns:\n" + "\n".join(wide)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_a_chapter_that_cites_ends_with_its_own_bibliography(path):
    """A citation resolves on its own page: a chapter citing a source lists its references (filtered to the page)."""
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    if "{cite}" in text:
        assert "```{bibliography}\n:filter: docname in docnames\n```" in text, path.name
        assert text.rstrip().endswith("```"), f"{path.name}: the bibliography is not the last thing on the page"
