"""Sphinx extension: the course website works offline, without errors, and is honest about its widgets.

Loaded through ``sphinx: local_extensions`` in ``_config.yml``. Each part fixes one root cause found in the
installed stack (jupyter-book 1.0.4.post1, Sphinx 7.4.7, sphinx-thebe 0.3.1, myst-nb 1.4.0); tests in
``tests/browser/test_site.py`` check the result in a real browser.

1. Vendored browser assets. ``make vendor`` copies MathJax, require.js and the ipywidgets HTML manager from
   ``node_modules`` (exact versions in ``package-lock.json``) into ``_vendor/``; this extension copies that folder
   to ``<html>/_vendor/`` at the end of each build (it is deliberately *not* a ``_static`` folder: Jupyter Book adds
   every .js/.css found under ``_static`` to every page). ``mathjax_path`` and ``nb_ipywidgets_js`` in
   ``_config.yml`` point there. The build fails if ``_vendor/`` is missing, rather than publishing a site whose
   math and widgets silently do not work.

2. ``Identifier 'THEBE_JS_URL' has already been declared`` on every page. Sphinx 7.4 registers a body-only script
   added after the builder is initialised twice: ``app.add_js_file(None, body=...)`` stores it on the builder as
   ``_JavaScript(None, ...)``, and ``StandaloneHTMLBuilder.prepare_writing`` re-adds every registered script as
   ``_JavaScript('', ...)``; the duplicate check compares filenames, so ``None != ''`` lets both through.
   sphinx-thebe adds ``const THEBE_JS_URL = ...`` that way (on ``env-before-read-docs``), and a second ``const``
   is a SyntaxError. (sphinx-togglebutton's ``var togglebuttonSelector`` is doubled the same way, harmlessly.)
   Fix: drop duplicate scripts per page, treating ``None`` and ``''`` alike.

3. Thebe. Jupyter Book always loads sphinx-thebe, which would fetch thebe from unpkg.com; this course offers
   Colab and Binder launch buttons instead and does not enable thebe (``launch_buttons.thebe`` is unset), so the
   thebe scripts and stylesheet are dropped from every page.

4. The ipywidgets HTML manager's own assets. Every module ``embed-amd.js`` defines (``@jupyter-widgets/base``,
   ``controls``, their ``7`` twins, ``html-manager`` and ``html-manager/dist/libembed-amd``) sets webpack's public
   path from its own require.js URL, and the icon fonts its CSS declares are fetched from there; with no
   require.js path for a module, that is relative to the page (``book/@jupyter-widgets/...``: six 404s per widget
   page, from whichever module's ``@font-face`` the browser uses, which can change from one load to the next), and
   the ``__jupyter_widgets_assets_path__`` hook is applied only after the fonts' URLs are computed. So widget pages
   get a require.js configuration, set before require.js loads, that maps the whole ``@jupyter-widgets`` scope
   (and the longer ``html-manager/dist`` prefix) to the vendored copy, the folder that holds the fonts. And
   ipywidgets 8's controls typeset widget labels with MathJax 2's ``MathJax.Hub.Queue``, which MathJax 3 lacks:
   every widget with a description throws ``Cannot read properties of undefined (reading 'Queue')``.
   ``sde-site.js`` gives MathJax 3 that one call.

5. Live widgets on a static page. Widget views embedded from stored widget state render their initial look but
   cannot react without a kernel. Each one is wrapped in an ``inert`` frame (no focus, no clicks, not announced as
   operable; this also keeps ipywidgets' unnamed ``role="slider"`` handles, axe-core's aria-input-field-name,
   out of the accessibility tree) labelled as a snapshot, with a note before it that it runs live in Jupyter,
   Colab or Binder, linking this page's own launch buttons; the chapter's static twin carries the idea
   (``COURSE.md``). ``sde-site.js`` gives images drawn inside a snapshot an alt text.

6. axe-core violations on every page, each fixed at its source: two pydata-sphinx-theme components overridden in
   ``templates/`` (the search button and the colour-mode button: label-content-name-mismatch, serious; each file
   says what changed), myst-nb's ``<summary aria-label="Toggle hidden content">`` on folded cells (the same
   violation), docutils' ``role="doc-biblioentry"`` inside ``role="list"`` (aria-required-children, critical), and
   the contrast of viewcode's "[docs]" links (``sde-site.css``).

7. Reference lists. pybtex renders none of LaTeX's commands: ``\\texttt{torch/nn/functional.py}`` was listed as
   ``\\texttt torch/nn/functional.py``. The style ``bibtex_default_style`` names is registered here; it is
   :mod:`spatialdrop_edu.course.bibliography`, which JupyterLab's copy of the book formats with too.

Not here, because configuration does it (``_config.yml``): ``mathjax_path`` and ``nb_ipywidgets_js`` (see 1), and
``html_context.default_mode`` (pydata-sphinx-theme has no default for it, so every page logged
``Got invalid theme mode: . Resetting to auto.``).
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

from docutils import nodes
from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.writers.html5 import HTML5Translator

from spatialdrop_edu.course import bibliography
from spatialdrop_edu.course.edition.cells import WIDGET_VIEW

VENDOR = "_vendor"
LAUNCH_PLACEHOLDER = "<!--sde-launch-links-->"
NOTE = (
    '<div class="sde-widget-note admonition note" role="note">'
    '<p class="admonition-title">Interactive widget: a snapshot here</p>'
    "<p>This widget runs live in Jupyter, Colab or Binder &mdash; use the launch button (rocket icon) above"
    f"{LAUNCH_PLACEHOLDER}. On this page it shows its starting state only; the static figure beside it tells the "
    "same story.</p></div>"
)


# 1. Vendored assets --------------------------------------------------------------------------------------------
def _vendor_source(app: Sphinx) -> Path:
    # The book's own folder first; then its parents, for a copy of the book built elsewhere from this checkout
    # (the student edition is built from _build/student/src).
    confdir = Path(app.confdir).resolve()
    for folder in (confdir, *confdir.parents):
        if (folder / VENDOR).is_dir():
            return folder / VENDOR
    return confdir / VENDOR


def check_vendor(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    src = _vendor_source(app)
    needed = [src / "mathjax" / "tex-chtml.js", src / "require.js", src / "html-manager" / "embed-amd.js"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise ExtensionError(f"vendored browser assets are missing ({', '.join(missing)}): run `make vendor`")


def copy_vendor(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        shutil.copytree(
            _vendor_source(app), Path(app.outdir) / VENDOR, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".*")
        )


# 2 and 3. Page scripts -----------------------------------------------------------------------------------------
def _is_thebe(asset) -> bool:
    name = str(asset.filename or "")
    return "sphinx-thebe" in name or "THEBE_JS_URL" in asset.attributes.get("body", "")


def clean_page_assets(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    seen, scripts = set(), []
    for js in context.get("script_files", []):
        key = (str(js.filename or ""), js.priority, tuple(sorted(js.attributes.items())))
        if key in seen or _is_thebe(js):
            continue
        seen.add(key)
        scripts.append(js)
    context["script_files"] = scripts
    context["css_files"] = [c for c in context.get("css_files", []) if "sphinx-thebe" not in str(c.filename)]


# 5. Widgets ----------------------------------------------------------------------------------------------------
def freeze_widgets(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for raw in list(doctree.findall(nodes.raw)):
        if raw.get("format") != "html" or WIDGET_VIEW not in raw.astext():
            continue
        frozen = (
            '<div class="sde-widget-frozen" inert>'
            '<p class="sde-widget-label">Snapshot of the live widget (not interactive on this page)</p>'
            f"{raw.astext()}</div>"
        )
        new = nodes.raw("", frozen, format="html")
        raw.replace_self(new)
        output = new.parent
        # The note goes before the cell's output, once per output.
        if "sde-has-widget-note" not in output.get("classes", []):
            output["classes"].append("sde-has-widget-note")
            output.parent.insert(output.parent.index(output), nodes.raw("", NOTE, format="html"))


REQUIREJS_CONFIG = (
    # A global `require` object defined before require.js loads is its configuration. content_root is set on
    # <html> by the theme (the way from this page to the site's root). Each module embed-amd.js defines (base,
    # controls, html-manager and its dist/libembed-amd) takes its asset URL from its own require.js URL, so the
    # whole `@jupyter-widgets` scope maps to the vendored folder, and its longer `html-manager/dist` prefix too.
    "var require = {paths: (function (v) { return {'@jupyter-widgets': v, '@jupyter-widgets/html-manager/dist': v}; })"
    "(new URL((document.documentElement.dataset.content_root || './') + '" + VENDOR + "/html-manager', "
    "document.baseURI).href)};"
)


def configure_requirejs(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if WIDGET_VIEW in context.get("body", ""):
        # Before myst-nb's require.js and embed-amd.js (priority 500).
        app.add_js_file(None, body=REQUIREJS_CONFIG, priority=450)


def add_launch_links(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    body = context.get("body", "")
    if LAUNCH_PLACEHOLDER not in body:
        return
    links = []
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            for button in group.get("buttons", []):
                if button.get("type") == "link" and button.get("url"):
                    links.append(f'<a href="{html.escape(button["url"])}">{html.escape(button["text"])}</a>')
    text = f", or open this notebook directly: {' · '.join(links)}" if links else ""
    context["body"] = body.replace(LAUNCH_PLACEHOLDER, text)


def add_static(app: Sphinx) -> None:
    app.config.html_static_path.append(str(Path(__file__).with_name("sde_site_static")))


def add_templates(app: Sphinx, config) -> None:
    # Overrides of two pydata-sphinx-theme components; each file says what it changes and why.
    config.templates_path.insert(0, str(Path(__file__).with_name("templates")))


def visit_hide_cell_input(self, node) -> None:
    """myst-nb's folded-cell ``<details>``, without ``aria-label="Toggle hidden content"`` on ``<summary>``.

    That label replaces the visible text ("Show code cell source"): axe-core's serious violation
    label-content-name-mismatch on every page with a folded cell (every exercise solution). Without it the
    summary's name is its visible text.
    """
    self.body.append(f'<details class="admonition hide {" ".join(node["classes"])}">\n<summary>\n')
    self.body.append(f'<p class="collapsed admonition-title">{html.escape(node["prompt_show"])}</p>\n')
    self.body.append(f'<p class="expanded admonition-title">{html.escape(node["prompt_hide"])}</p>\n</summary>\n')


def visit_citation(self, node) -> None:
    """docutils 0.21's ``<div role="list">`` of citations, with ``role="listitem"`` entries.

    docutils gives each entry ``role="doc-biblioentry"``, which DPUB-ARIA 1.1 deprecated and which is no list
    item: axe-core's critical violation aria-required-children on every page that cites (the references of each
    chapter, the bibliography). ``listitem`` is what DPUB-ARIA 1.1 prescribes for bibliography entries.
    """
    if not isinstance(node.previous_sibling(), type(node)):
        self.body.append('<div role="list" class="citation-list">\n')
    self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))


def setup(app: Sphinx) -> dict:
    # The reference lists' style (``bibtex_default_style`` in _config.yml): alpha, with LaTeX's commands rendered.
    bibliography.register()
    # myst-nb first, so that its HTML visitor for folded cells is the one replaced here.
    app.setup_extension("myst_nb")
    app.add_node(HideCodeCellNode, override=True, html=(visit_hide_cell_input, depart_HideCellInput))
    app.add_node(nodes.citation, override=True, html=(visit_citation, HTML5Translator.depart_citation))
    app.connect("config-inited", add_templates)
    app.connect("builder-inited", check_vendor)
    app.connect("builder-inited", add_static)
    app.connect("build-finished", copy_vendor)
    app.connect("doctree-resolved", freeze_widgets)
    # After sphinx-book-theme has built its launch buttons (priority 501) and myst-nb its per-page scripts.
    app.connect("html-page-context", configure_requirejs)
    app.connect("html-page-context", add_launch_links, priority=900)
    app.connect("html-page-context", clean_page_assets, priority=950)
    app.add_css_file("sde-site.css")
    app.add_js_file("sde-site.js", loading_method="defer")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
