r"""The course's reference lists (``spatialdrop_edu/course/bibliography.py``): no LaTeX command shown as it is.

pybtex renders no LaTeX command; ``book/references.bib`` writes code as ``\texttt{...}`` and one link as ``\url{...}``.
The course's style sets the first in code font and makes the second a link, on the website (docutils), in JupyterLab's
copy (Markdown) and in the website's tooltips (plain text), and refuses any other command.
"""

from __future__ import annotations

import re

import pytest
from pybtex.database import Entry, Person, parse_file
from pybtex.plugin import find_plugin
from pybtex_docutils import Backend as DocutilsBackend

from spatialdrop_edu.course.bibliography import (
    STYLE,
    BibliographyError,
    CourseStyle,
    MarkdownBackend,
    register,
    render_commands,
)

from lab_server import ROOT

BIB = ROOT / "book" / "references.bib"
LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")


def misc(key: str, **fields) -> Entry:
    entry = Entry("misc", {"year": "2025", **fields}, {"author": [Person("{PyTorch contributors}")]})
    entry.key = key
    return entry


def rendered(entry: Entry) -> dict[str, str]:
    """The entry as the website's page, its tooltips and JupyterLab's copy show it."""
    text = CourseStyle().format_entry("L", entry).text
    docutils = "".join(node.pformat() for node in text.render(DocutilsBackend()))
    plain = text.render(find_plugin("pybtex.backends", "plaintext")())
    return {"docutils": docutils, "plain": plain, "markdown": text.render(MarkdownBackend())}


def test_texttt_is_code_and_url_a_link_wherever_the_entry_is_shown():
    shown = rendered(
        misc(
            "functional",
            title=r"{Source: \texttt{torch/nn/functional.py}, \texttt{dropout\_2d}}",
            howpublished=r"\url{https://github.com/pytorch/pytorch}",
        )
    )
    assert "<literal>" in shown["docutils"] and "torch/nn/functional.py" in shown["docutils"]
    assert '<reference refuri="https://github.com/pytorch/pytorch">' in shown["docutils"]
    assert "Source: `torch/nn/functional.py`, `dropout_2d`" in shown["markdown"]  # no Markdown escape in code
    assert "[https://github\\.com/pytorch/pytorch](https://github.com/pytorch/pytorch)" in shown["markdown"]
    assert "Source: torch/nn/functional.py, dropout_2d." in shown["plain"]
    for where, text in shown.items():
        assert not LATEX_COMMAND.search(text), f"{where}: {text}"


def test_code_keeps_its_case_in_a_sentence_cased_title():
    shown = rendered(misc("case", title=r"{PyTorch} Source: \texttt{Dropout2d} In Detail"))["plain"]
    assert "PyTorch source: Dropout2d in detail." in shown


def test_any_other_latex_command_is_an_error_naming_the_entry_and_the_command():
    with pytest.raises(BibliographyError, match=r"entry 'emphasised': the LaTeX command \\emph would be shown"):
        CourseStyle().format_entry("L", misc("emphasised", title=r"{An \emph{important} source}"))


def test_render_commands_leaves_braces_that_follow_no_command_alone():
    from pybtex.richtext import Protected, String, Text

    text = Text(String("see "), Protected("GPU"), String(r" and \texttt"), Protected("x_y"))
    assert repr(render_commands(text)) == "Text('see ', Protected('GPU'), ' and ', Tag('tt', 'x_y'))"


def test_every_source_of_the_book_is_listed_without_a_latex_command():
    bib = parse_file(str(BIB))
    n_code = BIB.read_text().count(r"\texttt{")
    assert n_code > 0
    formatted = list(CourseStyle().format_entries(bib.entries.values()))
    assert len(formatted) == len(bib.entries)
    code = 0
    for entry in formatted:
        markdown = entry.text.render(MarkdownBackend())
        assert not LATEX_COMMAND.search(markdown), f"{entry.key}: {markdown}"
        code += markdown.count("`") // 2
    assert code == n_code  # each \texttt{...} is one stretch of code


def test_the_website_finds_the_style_by_its_name():
    register()
    assert find_plugin("pybtex.style.formatting", STYLE) is CourseStyle
    config = (ROOT / "_config.yml").read_text()
    assert re.search(rf"^\s+bibtex_default_style: {STYLE}$", config, re.M)


@pytest.mark.site
def test_no_page_of_the_website_shows_a_latex_command_of_the_bibliography(instructor_site):
    listed, shown = {}, {}
    for page in sorted((instructor_site.html / "book").glob("*.html")):
        text = page.read_text()
        entries = re.findall(r'<div class="citation" [^>]*role="listitem">(.*?)</div>', text, re.S)
        tooltips = re.findall(r'<a class="reference internal" href="#[^"]*" title="([^"]*)"', text)
        listed[page.name] = entries
        shown[page.name] = [LATEX_COMMAND.findall(t) for t in entries + tooltips if LATEX_COMMAND.search(t)]
    assert len(listed["bibliography.html"]) == len(parse_file(str(BIB)).entries)
    assert not any(shown.values()), {name: left for name, left in shown.items() if left}
    code = re.compile(r'<code class="[^"]*literal[^"]*"><span class="pre">torch/nn/functional.py</span></code>')
    assert any(code.search(entry) for entry in listed["bibliography.html"])
    assert any(
        "a 1-D analogue of the MNIST dataset (README of the mnist1d package" in e
        for e in listed["06_train_mnist1d.html"]
    )
