"""The notebooks of the learner's working copy: the student edition as the website reads, in JupyterLab.

:func:`~spatialdrop_edu.course.lab.start.prepare_working_copy` writes every student notebook through
:func:`lab_notebook` and adds :func:`landing_notebook`. The book's own sources are never changed; what
differs from the student edition, and why:

* **References resolved.** Citations, code references, links between chapters and reference lists are
  written as plain Markdown, as the website shows them (:mod:`~spatialdrop_edu.course.lab.references`),
  since ``jupyterlab-myst`` cannot resolve them.
* **The website's hidden cells, collapsed.** A cell the website removes (``remove-cell``: the set-up's
  first cell, and the cells that check what the text states) or folds (``hide-input``) has its source
  collapsed (``metadata.jupyter.source_hidden``), which JupyterLab shows as a bar holding the source's
  first line; that line is a comment saying what the cell is (:data:`NOTES`). Their outputs stay visible:
  a check that fails must be seen.
* **Run All explained.** Run All stops at the first exercise that is not answered yet: its stub raises
  ``NotImplementedError``, or its check says "Not yet". Before the chapter's first exercise a note
  (:data:`RUN_ALL_NOTE`) says so, and how to go on.
* **Opened as JupyterLab writes it.** ``language_info`` is what the kernel that ``make lab`` starts reports
  (:func:`kernel_language_info`), so that connecting the kernel changes nothing in the notebook.
* **A landing notebook**, :data:`LANDING_NOTEBOOK`: the book's introduction with the chapters listed in the
  order of ``_toc.yml``; ``{doc}`intro``` links there.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from ..edition.cells import source
from .references import Book, cited_keys, resolve_references

__all__ = [
    "LANDING_DOC",
    "LANDING_NOTEBOOK",
    "NOTES",
    "RUN_ALL_NOTE",
    "lab_notebook",
    "landing_notebook",
    "kernel_language_info",
    "book_order",
]

#: The landing notebook of the working copy (listed first by JupyterLab's file browser).
LANDING_NOTEBOOK = "00_start_here.ipynb"
#: The book page whose place the landing notebook takes.
LANDING_DOC = "intro"
#: The first line of each kind of collapsed cell, which its collapsed bar shows (by what the website does with it).
NOTES = {
    "set-up": "# Set-up, hidden on the website: the environment, and the package where it is missing (Colab).",
    "check": "# Hidden on the website: checks that what the text states holds.",
    "imports": "# Set-up, folded on the website: the imports, rng and device.",
    "folded": "# Folded on the website: the code of the output below.",
}
#: Tags by which the website hides a cell's source (Jupyter Book's, as COURSE.md uses them).
HIDDEN_SOURCE = ("remove-cell", "remove-input", "hide-cell", "hide-input")
#: Said before the first exercise of a chapter, in the working copy only.
RUN_ALL_NOTE = """```{note}
**Run All stops at the first exercise you have not answered yet**: its cell raises `NotImplementedError`, or its
check says "Not yet". That is expected. Write your answer, run it and its check, then go on with
*Run → Run Selected Cell and All Below*.
```"""
EXERCISE_PROMPT = "### Exercise "


def kernel_language_info() -> dict:
    """The ``language_info`` that the Python kernel of this environment reports (and JupyterLab then stores).

    Examples::

        >>> kernel_language_info()["name"]
        'python'
    """
    from ipykernel.ipkernel import IPythonKernel

    return copy.deepcopy(IPythonKernel.language_info)


def _note(cell, index: int) -> str:
    """The line that says what hidden cell is the code cell ``index`` (COURSE.md: the set-up is code cells 0 and 1)."""
    tags = cell.metadata.get("tags", [])
    if "remove-cell" in tags or "hide-cell" in tags:
        return NOTES["set-up"] if index == 0 else NOTES["check"]
    return NOTES["imports"] if index == 1 else NOTES["folded"]


def _collapse(nb) -> None:
    """Collapse the source of each cell the website hides, its first line a note of what it is."""
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    for index, cell in enumerate(code):
        tags = cell.metadata.get("tags", [])
        if not any(tag in tags for tag in HIDDEN_SOURCE):
            continue
        cell.source = _note(cell, index) + "\n" + source(cell)
        cell.metadata.setdefault("jupyter", {})["source_hidden"] = True


def _explain_run_all(nb) -> None:
    """Put :data:`RUN_ALL_NOTE` before the first exercise's prompt (none in a chapter without exercises)."""
    for cell in nb.cells:
        lines = source(cell).split("\n")
        at = next((i for i, line in enumerate(lines) if line.startswith(EXERCISE_PROMPT)), None)
        if cell.cell_type == "markdown" and at is not None:
            cell.source = "\n".join(lines[:at] + [RUN_ALL_NOTE, ""] + lines[at:])
            return


def lab_notebook(nb: nbformat.NotebookNode, book: Book, doc: str) -> nbformat.NotebookNode:
    """The working copy's version of the student notebook ``nb`` (left unchanged); see the module docstring.

    Args:
        nb: a student notebook (:func:`~spatialdrop_edu.course.edition.release.student_notebook`).
        book: the book it belongs to (:func:`~spatialdrop_edu.course.lab.references.read_book`).
        doc: its name in ``book/`` without suffix (``"01_dropout"``).

    Returns:
        A new notebook.

    Raises:
        ~spatialdrop_edu.course.lab.references.UnresolvedReference: a reference the book cannot resolve.
    """
    nb = copy.deepcopy(nb)
    markdown = [cell for cell in nb.cells if cell.cell_type == "markdown"]
    cited = cited_keys(source(cell) for cell in markdown)
    for cell in markdown:
        cell.source = resolve_references(source(cell), book, doc, cited)
    _collapse(nb)
    _explain_run_all(nb)
    nb.metadata["language_info"] = kernel_language_info()
    return nb


def book_order(root) -> list[tuple[str | None, list[str]]]:
    """The pages of ``_toc.yml`` by part: ``[(caption, [page, ...]), ...]``, pages named as in ``book/``.

    Without ``_toc.yml``, one part without caption holding the notebooks of ``book/`` by name.
    """
    import yaml

    root = Path(root)
    toc_path = root / "_toc.yml"
    if not toc_path.is_file():
        return [(None, [p.stem for p in sorted((root / "book").glob("*.ipynb"))])]
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    stem = lambda entry: Path(entry["file"]).name  # noqa: E731
    parts = [(part.get("caption"), [stem(c) for c in part.get("chapters", [])]) for part in toc.get("parts", [])]
    if toc.get("chapters"):
        parts.insert(0, (None, [stem(c) for c in toc["chapters"]]))
    return parts


def landing_notebook(root, book: Book) -> nbformat.NotebookNode:
    """The working copy's first page: the book's introduction, with the chapters listed in order.

    Each page of ``_toc.yml`` is one line, its title linked to its notebook (pages that are not notebooks,
    such as the instructor guide, to the website). The introduction's text follows, its references
    resolved as in every notebook. ``book.files`` must map :data:`LANDING_DOC` to :data:`LANDING_NOTEBOOK`
    for links to the introduction to stay in the copy.

    Args:
        root: the repository.
        book: the book (:func:`~spatialdrop_edu.course.lab.references.read_book`).

    Returns:
        A notebook of markdown cells, with the course's kernelspec and this environment's ``language_info``.
    """
    from .start import KERNELSPEC

    root = Path(root)
    intro_path = root / "book" / f"{LANDING_DOC}.md"
    intro = intro_path.read_text(encoding="utf-8") if intro_path.is_file() else "# The course\n"
    intro = resolve_references(intro, book, LANDING_DOC, cited_keys([intro]))
    head, _, rest = intro.partition("\n## ")
    lines = [
        "## The chapters, in order",
        "",
        "Open a chapter from this list or from the file browser on the left. This folder is your own copy of the",
        "student edition: `make lab` never overwrites it, and `make lab LAB_REFRESH=1` moves it aside and makes a",
        "fresh one. Run All in a chapter stops at the first exercise you have not answered yet, as the chapter",
        "says there.",
    ]
    for caption, pages in book_order(root):
        lines += ["", f"**{caption}**", ""] if caption else [""]
        for page in pages:
            title = book.titles.get(page, page)
            if page in book.files:
                lines.append(f"- [{title}]({book.files[page]})")
            elif book.website:
                lines.append(f"- [{title}]({book.website}book/{page}.html) (on the website)")
    cells = [nbformat.v4.new_markdown_cell(head.rstrip()), nbformat.v4.new_markdown_cell("\n".join(lines))]
    if rest:
        cells.append(nbformat.v4.new_markdown_cell(("## " + rest).rstrip()))
    return nbformat.v4.new_notebook(
        cells=cells, metadata={"kernelspec": dict(KERNELSPEC), "language_info": kernel_language_info()}
    )
