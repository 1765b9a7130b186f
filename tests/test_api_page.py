"""The API page (``book/api.md``: autodoc and napoleon over the package's docstrings) as a reader sees it.

The docstrings follow PyTorch's: ``Args:``, ``Returns:``, ``Raises:``, then ``Shape:`` with ``- Input: ...`` and
``- Output: ...`` lines or a sentence. Each section must read as written: no role left as text, no list line
turned into a parameter name.
"""

from __future__ import annotations

import html
import re

import pytest

pytestmark = pytest.mark.site

ROLE_AS_TEXT = re.compile(r":(?:class|func|meth|mod|attr|data|exc|math):`")


def page_text(page: str) -> str:
    """What the page shows as prose: its main part without code blocks, inline code, scripts or tags."""
    main = page[page.index("<main") : page.index("</main>")]
    for block in (r"<pre.*?</pre>", r"<code.*?</code>", r"<script.*?</script>"):
        main = re.sub(block, "", main, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", main))


@pytest.fixture(scope="module")
def api_page(instructor_site) -> str:
    return (instructor_site.html / "book" / "api.html").read_text()


def test_shape_sections_read_as_headed_lists_and_sentences(api_page):
    shapes = re.findall(r'<p class="rubric">Shape</p>\s*(<ul\b.*?</ul>|<p>.*?</p>)', api_page, re.S)
    assert len(shapes) >= 20, len(shapes)
    lists = [s for s in shapes if s.startswith("<ul")]
    assert sum("<li><p>Input: " in s and "<li><p>Output: " in s for s in lists) >= 10
    assert not re.search(r"<strong>- ", api_page)  # a "- Input:" line read as a parameter's name
    # a Shape section in prose stays one sentence, its roles links
    assert "Spatial dropout needs at least one spatial axis: " in page_text(api_page)
    assert any(re.match(r'<p>See <a class="reference internal" href="#spatialdrop_edu\.layers\.', s) for s in shapes)


def test_no_role_is_shown_as_text(api_page):
    text = page_text(api_page)
    left = [text[max(0, m.start() - 60) : m.end() + 40] for m in ROLE_AS_TEXT.finditer(text)]
    assert not left, left
