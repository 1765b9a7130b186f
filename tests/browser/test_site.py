"""The course website as readers see it: every page, in headless Chromium, with the network cut off.

For every HTML page of the built site this asserts:

* no request leaves 127.0.0.1 (each one is aborted and recorded; launch buttons are plain links, never fetched),
* no console error and no uncaught JavaScript error, and no local resource that fails to load,
* math is rendered by the vendored MathJax wherever the page has math,
* every image has loaded and has non-empty alt text,
* axe-core (from npm, injected from ``node_modules``) finds no serious or critical violation,
* the page works by keyboard: the first Tab lands on the skip link, and Tab reaches the navigation,
* exercise solutions (cells tagged ``hide-input``) are folded,
* live widgets are frozen and labelled, and notebook pages carry Colab and Binder launch links,
* finished progress bars are lines of text that fit the column, never widget snapshots,
* on the course's pages (``book/``), no code block or printed output is wider than its column at 1280 x 900, folded
  cells included: nothing scrolls sideways.

The editions are taken from ``$SITE_HTML`` and ``$STUDENT_HTML`` (``make browser-test`` passes the ``_build/html``
and ``_build/student/html`` that ``make book`` built, and one Chromium reads both); with neither, the instructor
edition is built into ``_build/browser-site`` first. Chromium is the system browser
(``$CHROMIUM``, default ``/usr/bin/chromium``, Debian's ``chromium`` package). Screenshots and a text report of
failing pages go to ``$BROWSER_FAILURES`` (default ``_build/browser-failures``).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import sites
from chromium import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
FAILURES = Path(os.environ.get("BROWSER_FAILURES", ROOT / "_build" / "browser-failures"))
# Folders of the built site that hold assets, not pages.
ASSET_DIRS = {"_static", "_vendor", "_sources", "_images", "_sphinx_design_static", "_panels_static"}
COLAB = "https://colab.research.google.com/github/"
BINDER = "https://mybinder.org/v2/gh/"


def _editions() -> dict[str, Path]:
    """The built editions to test, by name: those ``$SITE_HTML`` and ``$STUDENT_HTML`` name, else the instructor
    edition built here."""
    given = {"instructor": sites.given_site("SITE_HTML"), "student": sites.given_site("STUDENT_HTML")}
    given = {name: html for name, html in given.items() if html is not None}
    return given or {"instructor": sites.build_book(ROOT, ROOT / "_build" / "browser-site")}


def _pages(site: Path) -> list[str]:
    return sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*.html")
        if not (set(p.relative_to(site).parts[:-1]) & ASSET_DIRS)
    )


def _notebook_pages(site: Path) -> set[str]:
    """Notebook pages: the build keeps each notebook's source under _sources/."""
    sources = site / "_sources"
    return {p.relative_to(sources).with_suffix("").as_posix() + ".html" for p in sources.rglob("*.ipynb")}


EDITIONS = _editions()
PAGES = {name: _pages(site) for name, site in EDITIONS.items()}
NOTEBOOK_PAGES = {name: _notebook_pages(site) for name, site in EDITIONS.items()}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


@pytest.fixture(scope="session")
def base_urls():
    """One local web server per edition: ``{edition: its URL}``."""
    servers, urls = [], {}
    for name, site in EDITIONS.items():
        handler = functools.partial(_QuietHandler, directory=str(site))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        urls[name] = f"http://127.0.0.1:{server.server_address[1]}/"
    yield urls
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every edition's pages (and for nothing else: JupyterLab's test starts its own)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser-test` installs Debian's chromium (apt-get install chromium)")
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS} is missing: run `npm ci` (or `make vendor`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # launch() gives every run a fresh, temporary user-data-dir.
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1"


@pytest.mark.parametrize("edition", EDITIONS)
def test_site_has_pages(edition):
    notebooks = sorted(ROOT.glob("book/*.ipynb"))
    assert "index.html" in PAGES[edition] and len(PAGES[edition]) > 3, PAGES[edition]
    if notebooks:
        assert NOTEBOOK_PAGES[edition], "no notebook pages found (the build keeps each notebook under _sources/)"


@pytest.mark.parametrize(("edition", "page_path"), [(name, page) for name, pages in PAGES.items() for page in pages])
def test_page(browser, base_urls, edition, page_path):
    problems: list[str] = []
    context = browser.new_context(service_workers="block", viewport={"width": 1280, "height": 900})
    page = context.new_page()

    def route(r):
        if _is_local(r.request.url):
            r.continue_()
        else:
            problems.append(f"external request: {r.request.method} {r.request.url}")
            r.abort()

    context.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text} ({m.location})"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: _is_local(r.url) and problems.append(f"failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    try:
        page.goto(base_urls[edition] + page_path, wait_until="load")
        html = (EDITIONS[edition] / page_path).read_text(encoding="utf-8")
        if 'http-equiv="Refresh"' in html or 'http-equiv="refresh"' in html:
            # The root index.html only redirects to the first chapter, which is tested on its own.
            page.wait_for_url(re.compile(r".*/book/.*\.html"), timeout=10_000)
            return
        page.wait_for_load_state("networkidle")
        problems += _check_math(page, html)
        problems += _check_images(page)
        problems += _check_folded_solutions(page)
        problems += _check_widgets(page, html)
        problems += _check_progress_lines(page)
        if page_path in NOTEBOOK_PAGES[edition]:
            problems += _check_launch_links(page, page_path)
        problems += _check_axe(page)
        problems += _check_keyboard(page)
        if page_path.startswith("book/"):  # the course's pages; the package's source listings keep 120 columns
            problems += _check_code_fits(page)
    except Exception as exc:  # a timeout or a crash is a failure of this page, with a screenshot
        problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        if problems:
            FAILURES.mkdir(parents=True, exist_ok=True)
            stem = edition + "__" + page_path.replace("/", "__").removesuffix(".html")
            try:
                page.screenshot(path=str(FAILURES / f"{stem}.png"), full_page=True)
            except Exception:  # noqa: BLE001 - the report below still says what failed
                pass
            (FAILURES / f"{stem}.txt").write_text("\n".join(problems) + "\n", encoding="utf-8")
        context.close()
    assert not problems, f"{edition} {page_path}:\n  " + "\n  ".join(problems)


def _check_math(page, html: str) -> list[str]:
    if 'class="math' not in html:
        return []
    if not page.evaluate("() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)"):
        return ["the page has math but MathJax did not load"]
    page.evaluate("() => MathJax.startup.promise")
    counts = page.evaluate(
        """() => ({
            math: document.querySelectorAll('.math').length,
            rendered: document.querySelectorAll('mjx-container').length,
            errors: document.querySelectorAll('mjx-merror').length,
            raw: [...document.querySelectorAll('.math')].filter(m => !m.querySelector('mjx-container')).length,
        })"""
    )
    out = []
    if counts["rendered"] == 0 or counts["raw"]:
        out.append(f"math not rendered: {counts}")
    if counts["errors"]:
        out.append(f"MathJax reported {counts['errors']} TeX error(s)")
    return out


def _check_images(page) -> list[str]:
    bad = page.evaluate(
        """async () => {
            const imgs = [...document.images];
            await Promise.all(imgs.map(i => i.decode().catch(() => null)));
            return imgs.filter(i => !(i.complete && i.naturalWidth > 0) || !(i.getAttribute('alt') || '').trim())
                       .map(i => ({src: i.currentSrc.slice(0, 120), alt: i.getAttribute('alt'),
                                   loaded: i.complete && i.naturalWidth > 0}));
        }"""
    )
    return [f"image {'without alt text' if b['loaded'] else 'not loaded'}: {b}" for b in bad]


def _check_folded_solutions(page) -> list[str]:
    # Every cell tagged hide-input, and every cell holding an nbgrader solution, renders folded.
    cells = page.evaluate(
        """() => [...document.querySelectorAll('.cell')]
            .filter(c => c.classList.contains('tag_hide-input')
                         || (c.querySelector('.cell_input pre') || {textContent: ''}).textContent
                            .includes('BEGIN SOLUTION'))
            .map(c => {
                const d = c.querySelector('details');
                const pre = c.querySelector('.cell_input pre');
                return {tagged: c.classList.contains('tag_hide-input'), folded: !!d && !d.open,
                        inputVisible: !!pre && pre.checkVisibility(),
                        start: pre ? pre.textContent.trim().slice(0, 60) : null};
            })"""
    )
    return [
        f"solution cell #{k} is not folded: {c}"
        for k, c in enumerate(cells)
        if not (c["tagged"] and c["folded"]) or c["inputVisible"]
    ]


def _check_widgets(page, html: str) -> list[str]:
    if "application/vnd.jupyter.widget-view+json" not in html:
        return []
    info = page.evaluate(
        """() => [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')].map(s => {
            const frozen = s.closest('.sde-widget-frozen');
            const output = s.closest('.cell_output') || s.parentElement;
            const note = output && output.parentElement.querySelector('.sde-widget-note');
            return {frozen: !!frozen && frozen.inert, note: note ? note.textContent : null,
                    rendered: !!frozen && !!frozen.querySelector('.jupyter-widgets, .widget-subarea *')};
        })"""
    )
    out = []
    for k, w in enumerate(info):
        if not w["frozen"]:
            out.append(f"widget #{k} is live-looking: not inside an inert .sde-widget-frozen")
        if not w["rendered"]:
            out.append(f"widget #{k} did not render its snapshot (vendored widget manager not working?)")
        if not w["note"] or "Colab" not in w["note"]:
            out.append(f"widget #{k} has no note that it runs live in Jupyter/Colab/Binder")
    if not info:  # the media type quoted in a page's text (a source listing), no widget on it
        return out
    # Every module embed-amd.js defines fetches its icon fonts beside its own require.js URL: all of them must
    # resolve to the vendored widget manager, or a font request 404s whenever that module's @font-face is used.
    urls = page.evaluate(
        """() => Object.fromEntries(['base', 'base7', 'controls', 'controls7', 'html-manager',
            'html-manager/dist/libembed-amd'].map(m => [m, requirejs.toUrl('@jupyter-widgets/' + m)]))"""
    )
    out += [
        f"@jupyter-widgets/{m} resolves to {u}, not to _vendor/html-manager/"
        for m, u in urls.items()
        if "/_vendor/html-manager/" not in u
    ]
    return out


def _check_progress_lines(page) -> list[str]:
    """A finished progress bar is a line of text that fits the column, never a widget snapshot."""
    info = page.evaluate(
        """() => { const column = document.querySelector('.bd-article'); return {
            widgets: document.querySelectorAll('.sde-widget-frozen .widget-hprogress, .sde-widget-frozen progress')
                .length,
            lines: [...document.querySelectorAll('pre.sde-progress')].map(p => ({
                text: p.textContent, wide: p.scrollWidth > p.clientWidth + 1,
                outside: p.getBoundingClientRect().right > column.getBoundingClientRect().right + 1,
            })),
        }; }"""
    )
    out = [f"{info['widgets']} progress bar(s) shown as a widget snapshot"] if info["widgets"] else []
    out += [
        f"progress line wider than the column: {line['text'][:80]}"
        for line in info["lines"]
        if line["wide"] or line["outside"]
    ]
    return out


def _check_code_fits(page) -> list[str]:
    """At 1280 x 900 no code block or printed output is wider than its column: nothing scrolls sideways. Folded
    cells are opened first, so that what a reader unfolds fits too (COURSE.md, "Code on the page")."""
    wide = page.evaluate(
        """() => { document.querySelectorAll('.bd-article details').forEach(d => { d.open = true; });
            return [...document.querySelectorAll('.bd-article pre')]
                .filter(p => p.scrollWidth > p.clientWidth + 1)
                .map(p => {
                    const lines = p.textContent.split('\\n');
                    const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
                    return `${p.scrollWidth - p.clientWidth} px too wide (${longest.length} columns): `
                        + longest.slice(0, 70);
                }); }"""
    )
    return [f"code block wider than its column: {w}" for w in wide]


def _check_launch_links(page, page_path: str) -> list[str]:
    hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    src = page_path.removesuffix(".html") + ".ipynb"
    out = []
    if not any(h.startswith(COLAB) and h.endswith("/" + src) for h in hrefs):
        out.append(f"no Colab launch link to .../{src}: {[h for h in hrefs if 'colab' in h]}")
    if not any(h.startswith(BINDER) and src in h for h in hrefs):
        out.append(f"no Binder launch link for {src}: {[h for h in hrefs if 'binder' in h]}")
    return out


def _check_axe(page) -> list[str]:
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    out = []
    for v in result["violations"]:
        if v["impact"] in ("serious", "critical"):
            targets = [n["target"] for n in v["nodes"][:5]]
            out.append(f"axe {v['impact']}: {v['id']} ({v['help']}) on {len(v['nodes'])} node(s), e.g. {targets}")
    return out


def _check_keyboard(page) -> list[str]:
    out = []
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    page.keyboard.press("Tab")
    first = page.evaluate(
        """() => { const a = document.activeElement;
                   return {skip: !!a.closest('.skip-link'), href: a.getAttribute('href'),
                           text: a.textContent.trim()}; }"""
    )
    target = (first["href"] or "#")[1:]
    if not first["skip"] or not target or not page.evaluate("id => !!document.getElementById(id)", target):
        out.append(f"first Tab does not land on a working skip link: {first}")
    # Tab onward must reach the site navigation (the sidebar's table of contents) within a bounded number of steps.
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate(
            "() => !!document.activeElement.closest('nav.bd-docs-nav, nav.bd-links, .bd-sidebar-primary nav')"
        ):
            break
    else:
        out.append("the navigation is not reachable by Tab within 60 steps")
    return out
