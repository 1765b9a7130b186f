r"""The course's sources as the website and JupyterLab list them: pybtex's ``alpha`` style, LaTeX commands rendered.

pybtex reads a BibTeX field's braces but none of LaTeX's commands: ``\texttt{torch/nn/functional.py}`` is listed as
``\texttt torch/nn/functional.py`` and ``\url{https://...}`` as ``\url https://...``. :class:`CourseStyle` is
``alpha`` with the two commands ``book/references.bib`` uses rendered (:func:`render_commands`): ``\texttt{...}``
in code font (a ``tt`` tag: code on the website, backticks in Markdown) and ``\url{...}`` as a link. Any other
command left in a formatted entry is an error naming the entry and the command (:class:`BibliographyError`), never
shown raw.

The website uses it by name (:data:`STYLE`, registered with pybtex by :func:`register`, which
``book/_ext/sde_site.py`` calls; ``bibtex_default_style`` in ``_config.yml``); JupyterLab's copy of the book
(:mod:`~spatialdrop_edu.course.lab.references`) formats with it and renders with :class:`MarkdownBackend`.

Examples::

    >>> from pybtex.database import Entry, Person
    >>> entry = Entry("misc", {"title": r"{Source: \texttt{torch/nn/functional.py}}",
    ...                        "howpublished": r"\url{https://github.com/pytorch}",
    ...                        "year": "2025"},
    ...               {"author": [Person("{PyTorch contributors}")]})
    >>> entry.key = "pytorch_functional"
    >>> text = CourseStyle().format_entry("PC25", entry).text
    >>> print(text.render(MarkdownBackend()))
    PyTorch contributors\.
    Source: `torch/nn/functional.py`\.
    [https://github\.com/pytorch](https://github.com/pytorch), 2025\.
"""

from __future__ import annotations

import html
import re

from pybtex.backends.markdown import Backend as _Markdown
from pybtex.plugin import register_plugin
from pybtex.richtext import BaseMultipartText, BaseText, HRef, Protected, String, Tag
from pybtex.style import FormattedEntry
from pybtex.style.formatting.alpha import Style as _Alpha

__all__ = ["STYLE", "BibliographyError", "CourseStyle", "MarkdownBackend", "register", "render_commands"]

#: The name the website's ``bibtex_default_style`` gives :class:`CourseStyle` (:func:`register`).
STYLE = "spatialdrop"

#: A command that takes the braces after it, and what it makes of their content.
_COMMANDS = {
    "texttt": lambda parts: Tag("tt", *parts),
    "url": lambda parts: HRef(str(Protected(*parts)), *parts),
}
_BEFORE_BRACES = re.compile(r"\\(" + "|".join(_COMMANDS) + r")\s*$")
_ANY_COMMAND = re.compile(r"\\[A-Za-z]+")


class BibliographyError(ValueError):
    """An entry of the bibliography holds a LaTeX command the course's style does not render."""


def render_commands(text: BaseText) -> BaseText:
    r"""``text`` (pybtex rich text) with each ``\texttt{...}`` in code font and each ``\url{...}`` a link.

    pybtex leaves such a command as text followed by its braces (``String('... \\texttt ')``,
    ``Protected('...')``); each pair becomes one part. Everything else is kept as it is.

    Examples::

        >>> from pybtex.richtext import Text
        >>> render_commands(Text.from_latex(r"the file \texttt{spatial\_dropout.py}"))
        Text('the file ', Tag('tt', 'spatial_dropout.py'))
    """
    if not isinstance(text, BaseMultipartText):
        return text
    parts: list[BaseText] = []
    for part in (render_commands(p) for p in text.parts):
        command = _BEFORE_BRACES.search(parts[-1].value) if parts and isinstance(parts[-1], String) else None
        if command and isinstance(part, Protected):
            before = parts.pop().value[: command.start()]
            parts += [String(before)] if before else []
            parts.append(_COMMANDS[command.group(1)](part.parts))
        else:
            parts.append(part)
    return text._create_similar(parts)


def _commands_left(text: BaseText) -> list[str]:
    if isinstance(text, String):
        return _ANY_COMMAND.findall(text.value)
    if isinstance(text, BaseMultipartText):
        return [c for part in text.parts for c in _commands_left(part)]
    return []


class CourseStyle(_Alpha):
    r"""pybtex's ``alpha`` style, with ``\texttt{...}`` and ``\url{...}`` rendered (:func:`render_commands`).

    Raises:
        BibliographyError: an entry holds another LaTeX command; the message names the entry and the command.
    """

    def format_entry(self, label, entry, bib_data=None) -> FormattedEntry:
        formatted = super().format_entry(label, entry, bib_data=bib_data)
        text = render_commands(formatted.text)
        left = _commands_left(text)
        if left:
            raise BibliographyError(
                f"bibliography entry {entry.key!r}: the LaTeX command {left[0]} would be shown as it is; the "
                f"course's style renders {', '.join(chr(92) + c + '{...}' for c in _COMMANDS)} (and pybtex "
                "decodes accents and escaped characters such as \\_): write the text without it"
            )
        return FormattedEntry(formatted.key, text, formatted.label)


class MarkdownBackend(_Markdown):
    """pybtex's Markdown backend, with code that reads as written (no Markdown escapes inside backticks)."""

    def format_tag(self, tag_name, text):
        if tag_name == "tt" and text:
            return "`" + html.unescape(re.sub(r"\\(.)", r"\1", text)) + "`"
        return super().format_tag(tag_name, text)


def register() -> None:
    """Make :class:`CourseStyle` pybtex's formatting style :data:`STYLE` (what ``bibtex_default_style`` names)."""
    register_plugin("pybtex.style.formatting", STYLE, CourseStyle, force=True)
