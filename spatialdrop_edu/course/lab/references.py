"""The book's cross-references, resolved for JupyterLab: citations, code references and links as the website shows them.

``jupyterlab-myst`` renders MyST's syntax in JupyterLab, but nothing that needs the whole book: it reads
no bibliography (a ``{cite}`` shows its key with a "Citation Not Found" mark), has no API inventory
(``{func}`` shows ``~spatialdrop_edu.layers...`` as text), links ``{doc}`` to a path that JupyterLab cannot
open (``intro``), and shows nothing for ``{bibliography}``. :func:`resolve_references` rewrites a page's
markdown into plain Markdown that says what the website says:

* ``{cite}`a,b``` becomes ``[Hinton et al., 2012, Srivastava et al., 2014]`` (``{cite:t}``: ``Hinton et
  al. [2012]``), each name and year linked to the source itself (its URL, DOI or arXiv page);
* a ``{bibliography}`` block becomes the list of the sources the page cites, each formatted as the
  website formats it (:class:`~spatialdrop_edu.course.bibliography.CourseStyle`, with its label);
* ``{func}``, ``{class}``, ``{meth}`` and the other Python roles become the name in code font (``~`` keeps
  its last part, functions and methods get ``()``, as Sphinx writes them), linked to the name's entry on
  the website's API page;
* ``{doc}`` becomes a link to the other notebook (``02_noise_shapes.ipynb``), titled with that page's title;
  a page that the working copy does not hold as a file (``Book.files``) links to the website;
* ``{ref}`` becomes a link to the labelled section, titled with its heading (``jupyterlab-myst`` gives a
  heading that follows ``(label)=`` the id ``label``, as the website does).

A role it does not know is an error (:class:`UnresolvedReference`), never left raw; so is a key, page,
label or API name that the book does not have. The book's sources are only read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..edition.cells import source

__all__ = [
    "Book",
    "UnresolvedReference",
    "read_book",
    "resolve_references",
    "cited_keys",
    "citation_label",
    "website_url",
    "PYTHON_ROLES",
]

#: Sphinx's Python roles, and whether Sphinx writes ``()`` after the name.
PYTHON_ROLES = {"func": True, "meth": True, "class": False, "mod": False, "data": False, "attr": False, "exc": False}
#: A MyST role: ``{name}`content```, not inside a code span.
ROLE = re.compile(r"(?<!`)\{(?P<role>[a-z]+(?::[a-z]+)?)\}`(?P<body>[^`]+)`")
#: A label that ``{ref}`` points at: ``(label)=`` on a line of its own, before a heading.
TARGET = re.compile(r"^\((?P<label>[\w.:-]+)\)=\s*$")
HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})\s*(?P<info>.*)$")
EXPLICIT = re.compile(r"^(?P<title>.*\S)\s*<(?P<target>[^<>]+)>$", re.S)


class UnresolvedReference(ValueError):
    """A reference in the book's markdown that cannot be written as plain Markdown for JupyterLab."""


@dataclass
class Book:
    """What resolving a page's references needs to know of the whole book.

    Args:
        titles: each page's title, by its name in ``book/`` without suffix (``"01_dropout"``).
        files: the file of the working copy that holds each page it has (``{"01_dropout": "01_dropout.ipynb"}``):
            every notebook, and whatever the copy adds; ``{doc}`` links there, and to the website otherwise.
        labels: each ``(label)=`` target: ``(page, heading text)``.
        bibliography: the entries of ``book/references.bib`` (pybtex), by key.
        website: the website's address, ending in ``/`` (``None``: no link to it can be made).
    """

    titles: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    bibliography: dict = field(default_factory=dict)
    website: str | None = None


def website_url(config: dict, edition: str = "student") -> str | None:
    """The address of the published website of ``edition``, from the book's ``_config.yml``.

    Jupyter Book's ``html.baseurl`` where it is set; otherwise the GitHub Pages address of the repository
    (``https://<owner>.github.io/<repo>/``, where ``.github/workflows/pages.yml`` publishes it), with the
    student edition under ``student/``.

    Args:
        config: the parsed ``_config.yml``.
        edition: ``"student"`` or ``"instructor"``.

    Returns:
        The address, ending in ``/``; ``None`` when the configuration names neither.

    Examples::

        >>> config = {"repository": {"url": "https://github.com/owner/course"}}
        >>> website_url(config)
        'https://owner.github.io/course/student/'
        >>> website_url(config, "instructor")
        'https://owner.github.io/course/'
    """
    base = (config.get("html") or {}).get("baseurl")
    if not base:
        url = (config.get("repository") or {}).get("url", "")
        found = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", url)
        if not found:
            return None
        base = f"https://{found.group(1).lower()}.github.io/{found.group(2)}/"
    base = base.rstrip("/") + "/"
    return base + "student/" if edition == "student" else base


def read_book(root, *, edition: str = "student") -> Book:
    """Read what :func:`resolve_references` needs from the book at ``root``: titles, labels, bibliography.

    Args:
        root: the repository (the folder that holds ``book/``, ``_config.yml`` and ``book/references.bib``);
            a missing ``_config.yml`` or bibliography leaves the website or the citations unknown.
        edition: the website edition that links go to (:func:`website_url`).

    Returns:
        A :class:`Book`.
    """
    import yaml

    root = Path(root)
    book = Book()
    config_path = root / "_config.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    book.website = website_url(config or {}, edition)
    for path in sorted((root / "book").glob("*.ipynb")):
        book.files[path.stem] = path.name
        markdown = [source(c) for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]
        _read_page(book, path.stem, "\n\n".join(markdown))
    for path in sorted((root / "book").glob("*.md")):
        _read_page(book, path.stem, path.read_text(encoding="utf-8"))
    bib_files = [root / f for f in (config or {}).get("bibtex_bibfiles", [])] or [root / "book" / "references.bib"]
    for bib in bib_files:
        if bib.is_file():
            from pybtex.database import parse_file

            book.bibliography.update(parse_file(str(bib)).entries)
    return book


def _read_page(book: Book, doc: str, text: str) -> None:
    """Record the title of page ``doc`` (its first ``#`` heading) and the labels it defines."""
    label = None
    for line in _prose_lines(text):
        heading, target = HEADING.match(line), TARGET.match(line)
        if heading:
            if doc not in book.titles and len(heading.group("hashes")) == 1:
                book.titles[doc] = heading.group("text")
            if label:
                book.labels[label] = (doc, heading.group("text"))
                label = None
        elif target:
            label = target.group("label")
        elif line.strip() and label:
            raise UnresolvedReference(f"{doc}: the label ({label})= is not followed by a heading")


def _lines(text: str):
    """Each line of markdown ``text`` as ``(line, kind, info)``: ``kind`` is ``"prose"``, ``"code"`` (in a code
    block), ``"open"`` (a fence that opens a block; ``info``: what follows it, ``{note}`` for a MyST directive,
    whose content is prose) or ``"close"``."""
    inside: list[tuple[str, bool]] = []  # the open fences: (fence, is_code)
    for line in text.split("\n"):
        fence = FENCE.match(line)
        in_code = bool(inside) and inside[-1][1]
        if fence and inside and fence.group("fence") == inside[-1][0] and not fence.group("info").strip():
            inside.pop()
            yield line, "close", ""
        elif fence and not in_code:
            info = fence.group("info").strip()
            inside.append((fence.group("fence"), not info.startswith("{")))
            yield line, "open", info
        else:
            yield line, "code" if in_code else "prose", ""


def _prose_lines(text: str):
    """The lines of ``text`` outside code blocks and fences."""
    return (line for line, kind, _ in _lines(text) if kind == "prose")


# --------------------------------------------------------------------------- citations
def _plain(text: str) -> str:
    """LaTeX braces out of a bibliography field (``{Keras team}`` -> ``Keras team``)."""
    return text.replace("{", "").replace("}", "")


def citation_label(entry) -> str:
    """The author-year label the website shows for a bibliography entry (sphinxcontrib-bibtex's ``author_year``).

    One author: the last name; two: both, joined by "and"; more: the first and "et al."; no year: "n.d.".

    Examples::

        >>> from pybtex.database import Entry, Person
        >>> authors = [Person("Srivastava, Nitish"), Person("Hinton, Geoffrey"),
        ...            Person("Krizhevsky, Alex")]
        >>> citation_label(Entry("article", {"year": "2014"}, {"author": authors}))
        'Srivastava et al., 2014'
        >>> team = [Person("{TensorFlow authors}")]
        >>> citation_label(Entry("misc", {}, {"author": team}))
        'TensorFlow authors, n.d.'
    """
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_plain(" ".join(p.prelast_names + p.last_names)) for p in people]
    if not names:
        who = _plain(entry.fields.get("organization", entry.fields.get("title", "")))
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


def _source_link(entry) -> str | None:
    """Where the source itself can be read: its URL, else its DOI, its arXiv page, or a ``\\url{...}`` in a field."""
    fields = entry.fields
    if fields.get("url"):
        return fields["url"]
    if fields.get("doi"):
        return f"https://doi.org/{fields['doi']}"
    if fields.get("eprint"):
        return f"https://arxiv.org/abs/{fields['eprint']}"
    found = re.search(r"\\url\{([^}]+)\}", " ".join(fields.values()))
    return found.group(1) if found else None


def _entry(book: Book, key: str, doc: str):
    if key not in book.bibliography:
        raise UnresolvedReference(f"{doc}: {{cite}} names {key!r}, which the book's bibliography does not have")
    return book.bibliography[key]


def _cite(book: Book, role: str, body: str, doc: str) -> str:
    """``{cite}``/``{cite:p}``: ``[A, 2012, B, 2014]``; ``{cite:t}``: ``A [2012], B [2014]``; each part linked."""
    parts = []
    for key in (k.strip() for k in body.split(",")):
        entry = _entry(book, key, doc)
        label, link = citation_label(entry), _source_link(entry)
        if role == "cite:t":
            who, year = label.rsplit(", ", 1)
            label = f"{who} [{year}]"
        parts.append(f"[{label}]({link})" if link else label)
    return ", ".join(parts) if role == "cite:t" else "[" + ", ".join(parts) + "]"


def cited_keys(texts) -> list[str]:
    """The bibliography keys that ``{cite}`` roles in ``texts`` (markdown strings) name, each once, in order.

    Examples::

        >>> cited_keys(["Dropout {cite}`hinton2012,srivastava2014`.",
        ...             "Again {cite:t}`srivastava2014`."])
        ['hinton2012', 'srivastava2014']
    """
    keys: list[str] = []
    for text in texts:
        for line in _prose_lines(text):
            for found in ROLE.finditer(line):
                if found.group("role").startswith("cite"):
                    keys += [key.strip() for key in found.group("body").split(",")]
    return list(dict.fromkeys(keys))


def _bibliography(book: Book, options: list[str], cited, doc: str) -> list[str]:
    """The lines of a ``{bibliography}`` block's list: the cited sources (``:filter: docname in docnames``) or all."""
    from ..bibliography import CourseStyle, MarkdownBackend

    if ":all:" in options:
        keys = list(book.bibliography)
    elif ":filter: docname in docnames" in options:
        keys = list(cited)
    else:
        raise UnresolvedReference(
            f"{doc}: a {{bibliography}} needs ':filter: docname in docnames' or ':all:' to be listed in "
            f"JupyterLab, got {options}"
        )
    style = CourseStyle()
    entries = style.sort([_entry(book, key, doc) for key in keys])
    lines = []
    for formatted in style.format_entries(entries):
        text = formatted.text.render(MarkdownBackend()).replace("\n", " ")
        lines.append(f"- **[{formatted.label}]** {text}")
    return lines


# --------------------------------------------------------------------------- code references and links
def _split(body: str) -> tuple[str | None, str]:
    """``"title <target>"`` -> ``(title, target)``; ``"target"`` -> ``(None, target)``."""
    found = EXPLICIT.match(body.strip())
    return (found.group("title"), found.group("target").strip()) if found else (None, body.strip())


def _python(book: Book, role: str, body: str, doc: str) -> str:
    """A Python role: the name in code font, linked to its entry on the website's API page."""
    title, target = _split(body)
    link = not target.startswith("!")
    target = target.lstrip("!")
    short = target.startswith("~")
    target = target.lstrip("~.")
    if title is None:
        title = target.rsplit(".", 1)[-1] if short else target
        title += "()" if PYTHON_ROLES[role] else ""
    code = f"`{title}`"
    if not link:
        return code
    if book.website is None:
        raise UnresolvedReference(f"{doc}: {{{role}}}`{body}` needs the website's address (_config.yml)")
    return f"[{code}]({book.website}book/api.html#{target})"


def _doc(book: Book, body: str, doc: str) -> str:
    """``{doc}``: a link to the page's file in the working copy, or else to the website's page."""
    title, target = _split(body)
    name = target.removesuffix(".ipynb").removesuffix(".md")
    if "/" in name or name not in book.titles:
        raise UnresolvedReference(f"{doc}: {{doc}}`{body}` names no page of book/ (known: {sorted(book.titles)})")
    title = title or book.titles[name]
    if name in book.files:
        return f"[{title}]({book.files[name]})"
    if book.website is None:
        raise UnresolvedReference(f"{doc}: {{doc}}`{body}` needs the website's address (_config.yml)")
    return f"[{title}]({book.website}book/{name}.html)"


def _ref(book: Book, body: str, doc: str) -> str:
    """``{ref}``: a link to the labelled section, in this notebook or another one."""
    title, label = _split(body)
    if label not in book.labels:
        raise UnresolvedReference(f"{doc}: {{ref}}`{body}` names no label of the book (known: {sorted(book.labels)})")
    page, heading = book.labels[label]
    if page == doc:
        where = f"#{label}"
    elif page in book.files:
        where = f"{book.files[page]}#{label}"
    elif book.website is None:
        raise UnresolvedReference(f"{doc}: {{ref}}`{body}` needs the website's address (_config.yml)")
    else:
        where = f"{book.website}book/{page}.html#{label}"
    return f"[{title or heading}]({where})"


def _role(book: Book, found: re.Match, doc: str) -> str:
    role, body = found.group("role"), found.group("body")
    if role in ("cite", "cite:p", "cite:t"):
        return _cite(book, role, body, doc)
    if role.removeprefix("py:") in PYTHON_ROLES:
        return _python(book, role.removeprefix("py:"), body, doc)
    if role == "doc":
        return _doc(book, body, doc)
    if role == "ref":
        return _ref(book, body, doc)
    raise UnresolvedReference(
        f"{doc}: the role {{{role}}} is not resolved for JupyterLab (spatialdrop_edu/course/lab/references.py "
        f"resolves {{cite}}, {{doc}}, {{ref}} and {{{'}, {'.join(PYTHON_ROLES)}}})"
    )


def resolve_references(text: str, book: Book, doc: str, cited=()) -> str:
    """``text`` (a page's markdown) with every reference that only Sphinx resolves written as plain Markdown.

    Roles inside code blocks and code spans are left as they are; ``(label)=`` targets stay (JupyterLab
    does not show them).

    Args:
        text: MyST markdown of page ``doc``.
        book: the book (:func:`read_book`).
        doc: the page's name (``"01_dropout"``), for ``{ref}`` within the page and for error messages.
        cited: the keys the whole page cites (:func:`cited_keys`), which its ``{bibliography}`` lists.

    Returns:
        The markdown, with no role and no ``{bibliography}`` block left.

    Raises:
        UnresolvedReference: an unknown role, or a key, page, label or name the book does not have.

    Examples::

        >>> book = Book(titles={"02_shapes": "Noise shapes"},
        ...             files={"02_shapes": "02_shapes.ipynb"},
        ...             website="https://example.org/")
        >>> resolve_references("Next: {doc}`02_shapes`.", book, "01_dropout")
        'Next: [Noise shapes](02_shapes.ipynb).'
        >>> resolve_references("{func}`~pkg.mod.keep_mask`", book, "01_dropout")
        '[`keep_mask()`](https://example.org/book/api.html#pkg.mod.keep_mask)'
    """
    out: list[str] = []
    bibliography: list[str] | None = None  # the options of an open {bibliography} block
    for line, kind, info in _lines(text):
        if bibliography is not None:  # the block is replaced by its list
            if kind == "close":
                out += _bibliography(book, bibliography, cited, doc)
                bibliography = None
            elif line.strip():
                bibliography.append(line.strip())
        elif kind == "open" and info.startswith("{bibliography}"):
            bibliography = []
        else:
            out.append(ROLE.sub(lambda found: _role(book, found, doc), line) if kind == "prose" else line)
    if bibliography is not None:
        raise UnresolvedReference(f"{doc}: a {{bibliography}} block is not closed")
    return "\n".join(out)
