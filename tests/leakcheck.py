r"""Find solution text in files: what the student-edition tests use to prove that nothing leaks.

"Distinctive" text is computed here independently of :mod:`spatialdrop_edu.release` (plain regular
expressions over the instructor notebooks), so a bug there cannot hide itself:

* lines: every line of a solution region or mark scheme with at least 12 characters that does not
  also occur outside the solution regions of the instructor notebooks (a line such as ``return x``
  that the prompt also shows is not a leak);
* words: identifiers and words of at least 8 letters that occur in a solution but nowhere else in
  the instructor notebooks, looked for as they are and as Sphinx's search index stems them;
* phrases: every run of 6 consecutive words (``\w+`` tokens) of a solution that occurs nowhere
  else, so that a mark scheme is found in HTML where its math was re-typeset (``$x$`` → ``\(x\)``)
  and its lines re-wrapped.

Files are compared after normalising them: HTML loses its tags (syntax highlighting splits code
into spans) and entities, JSON strings lose their escapes, whitespace collapses.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat

REGIONS = [("### BEGIN SOLUTION", "### END SOLUTION"), ("=== BEGIN MARK SCHEME ===", "=== END MARK SCHEME ===")]


def _src(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def split_notebook(nb) -> tuple[list[str], str]:
    """(solution texts, every other text) of an instructor notebook."""
    secret, public = [], []
    for cell in nb.cells:
        source = _src(cell)
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("solution") and not any(b in source for b, _ in REGIONS):
            secret.append(source)
            continue
        for begin, end in REGIONS:
            pattern = re.escape(begin) + r".*?" + re.escape(end)
            secret.extend(m.group(0)[len(begin) : -len(end)] for m in re.finditer(pattern, source, flags=re.S))
            source = re.sub(pattern, "\n", source, flags=re.S)
        public.append(source)
        for out in cell.get("outputs", []):
            if cell.cell_type == "code" and not meta.get("solution") and not meta.get("grade"):
                public.append(json.dumps(out.get("text", "")) + json.dumps(out.get("data", {}).get("text/plain", "")))
    return secret, "\n".join(public)


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


NGRAM = 6


def ngrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + NGRAM]) for i in range(len(words) - NGRAM + 1)}


def distinctive_phrases(notebooks, extra_public: str = "") -> set[tuple[str, ...]]:
    """Runs of :data:`NGRAM` words that only the solutions of these instructor notebooks contain."""
    secrets, publics = [], [extra_public]
    for path in notebooks:
        secret, public = split_notebook(nbformat.read(path, as_version=4))
        secrets += secret
        publics.append(public)
    public_grams = ngrams("\n".join(publics))
    return {g for text in secrets for g in ngrams(text)} - public_grams


def distinctive(notebooks, extra_public: str = "") -> tuple[set[str], set[str]]:
    """(lines, words) that only the solutions of these instructor notebooks contain.

    ``extra_public``: other text the website legitimately shows (pages, the package's docstrings).
    """
    secrets, publics = [], [extra_public]
    for path in notebooks:
        secret, public = split_notebook(nbformat.read(path, as_version=4))
        secrets += secret
        publics.append(public)
    from sphinx.search.en import SearchEnglish

    public = "\n".join(publics)
    # Leaks are searched as substrings, so a line is public when it occurs anywhere in the public text
    # (``return nn.Sequential(`` inside ``return nn.Sequential(*layers)`` of the library's source).
    public_flat = normalise(public)
    public_words = set(re.findall(r"\w+", public.lower()))
    # The search index holds stems: a word whose stem a public word shares cannot be told apart there.
    stem = SearchEnglish({}).stem
    public_stems = {stem(w) for w in public_words}
    lines, words = set(), set()
    for text in secrets:
        for line in text.splitlines():
            line = normalise(line)
            if len(line) >= 12 and line not in public_flat and not line.startswith("#"):
                lines.add(line)
        for word in re.findall(r"\w+", text.lower()):
            if len(word) >= 8 and word not in public_words and not word.isdigit() and stem(word) not in public_stems:
                words.add(word)
    return lines, words


def file_text(path: Path) -> str:
    """A file's text as a reader (or a search engine) would see it."""
    raw = path.read_bytes().decode("utf-8", errors="replace")
    text = raw
    if path.suffix in (".html", ".htm", ".xml"):
        text = html.unescape(re.sub(r"<[^>]+>", "", raw))
    elif path.suffix in (".ipynb", ".json", ".js"):
        text = raw.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
    return normalise(raw + "\n" + text)


WORD_FILES = (".html", ".ipynb", ".txt", ".md", ".py")


def find_leaks(files, lines, words, phrases=()) -> list[str]:
    """Every (file, text) where distinctive solution text appears.

    Lines are looked for in every file; words in pages, sources and notebooks (not in vendored
    JavaScript, whose vocabulary is large), and their stems in Sphinx's search index.
    """
    from sphinx.search.en import SearchEnglish

    searcher = SearchEnglish({})
    stems = {searcher.stem(w) for w in words if len(searcher.stem(w)) >= 7}
    leaks = []
    for path in files:
        path = Path(path)
        if path.suffix in (
            ".png",
            ".jpg",
            ".jpeg",
            ".gif",
            ".woff",
            ".woff2",
            ".ttf",
            ".eot",
            ".ico",
            ".pickle",
            ".doctree",
        ):
            continue
        text = file_text(path)
        lower = text.lower()
        leaks += [f"{path}: line {line!r}" for line in lines if line in text]
        if path.suffix in WORD_FILES and phrases:
            found = ngrams(text) & set(phrases)
            leaks += [f"{path}: phrase {' '.join(g)!r}" for g in sorted(found)[:3]]
        if path.suffix in WORD_FILES:
            leaks += [
                f"{path}: word {word!r}" for word in words if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", lower)
            ]
        if path.name == "searchindex.js":
            leaks += [f"{path}: stem {s!r}" for s in stems if f'"{s}"' in lower]
    return leaks
