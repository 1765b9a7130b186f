"""The notebooks of `make lab`'s working copy, on the real chapters: references resolved as the website shows them
(``course/lab/references.py``), the website's hidden cells collapsed with a note, Run All explained, the kernel's
``language_info`` stored, and a landing notebook (``course/lab/notebooks.py``). The browser-side checks (what JupyterLab
renders, a link opening its notebook) are in ``tests/browser/test_jupyterlab.py``.
"""

from __future__ import annotations

import copy
import importlib
import re

import nbformat
import pytest

from spatialdrop_edu.course.edition.cells import source
from spatialdrop_edu.course.edition.release import student_notebook
from spatialdrop_edu.course.lab import notebooks as lab_notebooks
from spatialdrop_edu.course.lab.references import (
    PYTHON_ROLES,
    ROLE,
    Book,
    UnresolvedReference,
    citation_label,
    cited_keys,
    read_book,
    resolve_references,
    website_url,
)

from lab_server import ROOT

CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
WEBSITE = "https://spatialdrop-edu.github.io/spatialdrop-edu/student/"
API = WEBSITE + "book/api.html#"


@pytest.fixture(scope="module")
def book() -> Book:
    book = read_book(ROOT)
    book.files[lab_notebooks.LANDING_DOC] = lab_notebooks.LANDING_NOTEBOOK
    return book


@pytest.fixture(scope="module")
def students() -> dict:
    return {p.stem: student_notebook(nbformat.read(p, as_version=4), p.name) for p in CHAPTERS}


@pytest.fixture(scope="module")
def copies(book, students) -> dict:
    return {doc: lab_notebooks.lab_notebook(nb, book, doc) for doc, nb in students.items()}


def markdown(nb) -> list[str]:
    return [source(c) for c in nb.cells if c.cell_type == "markdown"]


def roles(texts, *names) -> list[str]:
    return [m.group("body") for t in texts for m in ROLE.finditer(t) if m.group("role") in names]


# --------------------------------------------------------------------------- references
def test_every_reference_of_every_chapter_is_resolved(students, copies, book):
    for doc, nb in copies.items():
        text = "\n".join(markdown(nb))
        assert not ROLE.search(text), f"{doc}: a role is left raw: {ROLE.search(text).group(0)}"
        assert "{bibliography}" not in text and "~spatialdrop_edu" not in text, doc
        original = markdown(students[doc])
        n_code = len(roles(original, *PYTHON_ROLES))
        assert text.count(f"]({API}") == n_code, f"{doc}: {n_code} code references, each linked to the API page"
        for key in cited_keys(original):  # linked to the source where the entry says where it is
            assert citation_label(book.bibliography[key]) in text, f"{doc}: {key} not cited"
    assert nbformat.validate(copies["01_dropout"]) is None


def test_citations_read_as_on_the_website_linked_to_the_source(copies, book):
    # the labels the built website shows (sphinxcontrib-bibtex, author_year)
    labels = {
        "srivastava2014dropout": "Srivastava et al., 2014",
        "gal2016dropout": "Gal and Ghahramani, 2016a",
        "field1987relations": "Field, 1987",
        "keras_spatialdropout_source": "Keras team, 2025",
        "tf_nn_dropout": "TensorFlow authors, n.d.",
        "torch_nn_spatialdropout": "Tompson, 2015",
    }
    assert {key: citation_label(book.bibliography[key]) for key in labels} == labels
    intro = "\n".join(markdown(copies["01_dropout"]))
    assert (
        "Dropout [[Hinton et al., 2012](https://arxiv.org/abs/1207.0580), "
        "[Srivastava et al., 2014](https://jmlr.org/papers/v15/srivastava14a.html)] multiplies" in intro
    )
    doi_only = resolve_references("{cite:t}`field1987relations`", book, "x")
    assert doi_only == "[Field [1987]](https://doi.org/10.1364/JOSAA.4.002379)"


def test_each_chapter_lists_the_sources_it_cites_as_the_website_does(copies):
    (references,) = [t for t in markdown(copies["01_dropout"]) if "## References" in t]
    items = re.findall(r"^- \*\*\[(\S+)\]\*\* (.*)$", references, re.M)
    assert [label for label, _ in items] == ["GG6a", "HSK+12", "SHK+14", "WZZ+13"]  # the website's order and labels
    assert items[2][1].startswith("Nitish Srivastava, Geoffrey Hinton, Alex Krizhevsky, Ilya Sutskever, and Ruslan")
    assert (
        "[https://jmlr\\.org/papers/v15/srivastava14a\\.html](https://jmlr.org/papers/v15/srivastava14a.html)"
        in (items[2][1])
    )


def test_reference_lists_show_code_in_code_font_and_no_latex_command(copies):
    for doc, nb in copies.items():
        for text in (t for t in markdown(nb) if "## References" in t):
            assert not re.search(r"\\(texttt|url)\b", text), f"{doc}: {text}"
    (references,) = [t for t in markdown(copies["02_noise_shapes"]) if "## References" in t]
    assert "TensorFlow API documentation: `tf.nn.dropout`, argument `noise_shape`" in references


def test_code_references_are_code_linked_to_the_api_page(copies, students):
    text = "\n".join(markdown(copies["01_dropout"]))
    assert f"[`keep_mask()`]({API}spatialdrop_edu.layers.numpy_reference.keep_mask)" in text
    assert f"[`SpatialDropout2d`]({API}spatialdrop_edu.layers.dropout.SpatialDropout2d)" in "\n".join(
        markdown(copies["04_spatial_dropout"])
    )
    for target in {t.lstrip("~") for nb in students.values() for t in roles(markdown(nb), *PYTHON_ROLES)}:
        assert _resolves(target), f"{target} is not a name of the package"


def _resolves(target: str) -> bool:
    """Whether a dotted name is a module of the package or an attribute path in one (a method of a class too)."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False
    book = Book(website="https://example.org/")
    assert resolve_references("{class}`the layer <pkg.Layer>`, {meth}`!pkg.Layer.forward`", book, "x") == (
        "[`the layer`](https://example.org/book/api.html#pkg.Layer), `pkg.Layer.forward()`"
    )


def test_links_between_pages_open_the_copy_s_notebooks(copies, book):
    text = "\n".join(markdown(copies["01_dropout"]))
    assert "Next: [Noise shapes: one mask, many layers](02_noise_shapes.ipynb), where" in text
    assert "(see [SpatialDropout, from first principles](00_start_here.ipynb))" in text  # the introduction
    assert "[The next layer sums: independent coins, shared coins](#the-next-layer-sums)" in text  # {ref}
    files = {p.name for p in CHAPTERS} | {lab_notebooks.LANDING_NOTEBOOK}
    for doc, nb in copies.items():
        for target in re.findall(r"\]\(([^)#:]+\.ipynb)(?:#[\w-]+)?\)", "\n".join(markdown(nb))):
            assert target in files, f"{doc} links to {target}, which the working copy does not hold"
    assert resolve_references("{doc}`api`", book, "x") == f"[API reference: `spatialdrop_edu`]({WEBSITE}book/api.html)"


def test_references_the_book_cannot_resolve_are_errors_that_say_which(book):
    for text, message in [
        ("{numref}`fig-1`", r"x: the role \{numref\} is not resolved for JupyterLab"),
        ("{cite}`nobody2020`", r"x: \{cite\} names 'nobody2020', which the book's bibliography does not have"),
        ("{doc}`nowhere`", r"x: \{doc\}`nowhere` names no page of book/"),
        ("{ref}`no-label`", r"x: \{ref\}`no-label` names no label of the book"),
        ("```{bibliography}\n:style: plain\n```", r"x: a \{bibliography\} needs ':filter: docname in docnames'"),
        ("```{bibliography}\n:all:\n", r"x: a \{bibliography\} block is not closed"),
    ]:
        with pytest.raises(UnresolvedReference, match=message):
            resolve_references(text, book, "x")
    with pytest.raises(UnresolvedReference, match=r"x: \{func\}`pkg.f` needs the website's address"):
        resolve_references("{func}`pkg.f`", Book(), "x")


def test_roles_in_code_blocks_stay_and_directives_are_read():
    book = Book(titles={"a": "Page A"}, files={"a": "a.ipynb"})
    text = "```python\nx = '{doc}`a`'\n```\n\n```{note}\nSee {doc}`a`.\n```"
    assert (
        resolve_references(text, book, "b")
        == "```python\nx = '{doc}`a`'\n```\n\n```{note}\nSee [Page A](a.ipynb).\n```"
    )


def test_website_is_the_student_edition_on_github_pages():
    assert website_url({"repository": {"url": "https://github.com/spatialdrop-edu/spatialdrop-edu"}}) == WEBSITE
    assert website_url({"html": {"baseurl": "https://course.example/"}}, "instructor") == "https://course.example/"
    assert website_url({}) is None


# --------------------------------------------------------------------------- cells and metadata
def test_the_website_s_hidden_cells_are_collapsed_with_a_line_saying_what_they_are(copies, students):
    for doc, nb in copies.items():
        student = [c for c in students[doc].cells if c.cell_type == "code"]
        code = [c for c in nb.cells if c.cell_type == "code"]
        for index, (cell, before) in enumerate(zip(code, student)):
            hidden = any(tag in lab_notebooks.HIDDEN_SOURCE for tag in cell.metadata.get("tags", []))
            assert cell.metadata.get("jupyter", {}).get("source_hidden", False) == hidden, (doc, index)
            assert "outputs_hidden" not in cell.metadata.get("jupyter", {}), (doc, index)  # a failing check is seen
            if hidden:
                note, _, rest = source(cell).partition("\n")
                assert note in lab_notebooks.NOTES.values() and rest == source(before), (doc, index)
                if "remove-cell" in cell.metadata["tags"] and index > 0:
                    assert note == lab_notebooks.NOTES["check"] and "assert" in rest, (doc, index)
            else:
                assert source(cell) == source(before), (doc, index)
        assert source(code[0]).startswith(lab_notebooks.NOTES["set-up"]), doc
        assert source(code[1]).startswith(lab_notebooks.NOTES["imports"]), doc


def test_run_all_stopping_at_the_first_exercise_is_said_before_it(copies):
    for doc, nb in copies.items():
        texts = markdown(nb)
        first = next((i for i, t in enumerate(texts) if lab_notebooks.EXERCISE_PROMPT in t), None)
        assert sum(lab_notebooks.RUN_ALL_NOTE in t for t in texts) == (first is not None), doc
        if first is not None:
            text = texts[first]
            assert text.index(lab_notebooks.RUN_ALL_NOTE) < text.index(lab_notebooks.EXERCISE_PROMPT), doc
    with_note = {doc for doc, nb in copies.items() if any(lab_notebooks.RUN_ALL_NOTE in t for t in markdown(nb))}
    assert with_note == {p.stem for p in CHAPTERS} - {"cost"}  # the appendix has no exercises


def test_the_copy_stores_the_language_info_of_the_kernel_that_opens_it(copies, students):
    from ipykernel.ipkernel import IPythonKernel

    for nb in copies.values():
        assert nb.metadata.language_info == IPythonKernel.language_info
    before = copy.deepcopy(students["01_dropout"])
    lab_notebooks.lab_notebook(students["01_dropout"], read_book(ROOT), "01_dropout")
    assert students["01_dropout"] == before  # the argument is left unchanged


# --------------------------------------------------------------------------- the landing notebook
def test_landing_notebook_lists_the_chapters_in_the_order_of_the_toc(book):
    from spatialdrop_edu.course.lab.start import KERNELSPEC

    nb = lab_notebooks.landing_notebook(ROOT, book)
    nbformat.validate(nb)
    text = "\n".join(markdown(nb))
    assert text.startswith("# SpatialDropout, from first principles\n") and not ROLE.search(text)
    listed = re.findall(r"^- \[[^\]]+\]\(([^)]+)\)", text, re.M)
    toc = [page for _, pages in lab_notebooks.book_order(ROOT) for page in pages]
    assert [link.rsplit("/", 1)[-1].split(".")[0] for link in listed] == toc
    assert (
        listed[:2] == ["01_dropout.ipynb", "02_noise_shapes.ipynb"] and listed[-1] == WEBSITE + "book/bibliography.html"
    )
    assert [caption for caption, _ in lab_notebooks.book_order(ROOT)] == [
        "I Foundations",
        "II Space",
        "III Training (GPU optional)",
        "Appendix",
    ]
    assert nb.metadata.kernelspec == KERNELSPEC
