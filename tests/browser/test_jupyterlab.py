"""The course in a real JupyterLab, in headless Chromium, offline: what ``make lab`` gives a learner.

One server, started as a learner starts it (``make lab``, its student working copy in a temporary
folder; ``tests/lab_server.py``), and one headless Chromium that may reach nothing but the server.
A learner's session on chapter 1:

* the markdown is rendered as MyST: no raw ``{doc}``, ``{cite}``, ``{func}``, ``:class:`` or
  fence left in any markdown cell, and the misconception admonitions are boxes with their titles;
* it reads as the website does: citations are author-year links to their sources (no bibliography key
  shown), code references are code linked to the website's API page, the website's hidden cells are
  collapsed bars each saying what the cell is, and a note before the first exercise says that Run All
  stops there;
* Run All runs the chapter's body without an error and stops at the first exercise, whose check
  (run on the stub) shows its feedback in a few styled lines, not a traceback; moving a widget's
  slider redraws its figure;
* the notebook saved then (the course's JupyterLab saves widget state) reopens, kernel shut down,
  with its widget drawn at the moved value, before anything runs;
* an untouched chapter, opened and shown (its stored widget restored), reloaded, its kernel restarted,
  is never marked modified (the course's JupyterLab extension), the restart logs no traceback (the
  course's kernel), a save writes it back byte for byte, and closing it asks nothing;
* the landing notebook lists the chapters in order, and links between notebooks (``{doc}`` in the
  book) open the other notebook in JupyterLab, with no request the server cannot answer.

Every cell is attached to the page (the learner setting ``windowingMode: none``), so every markdown
cell can be read. About two minutes on two busy CPU cores; it runs once per ``make test`` (with the
instructor website's browser tests: the student website's run skips it).
"""

from __future__ import annotations

import json
import os
import re
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest

from spatialdrop_edu.course.lab import notebooks as lab_notebooks
from spatialdrop_edu.course.lab.references import read_book

from chromium import CHROMIUM, CHROMIUM_ARGS
from lab_server import HAS_JUPYTERLAB, ROOT, VENV, make_lab

CHAPTER, UNTOUCHED = "01_dropout.ipynb", "02_noise_shapes.ipynb"
#: A citation as the working copy writes it: `[Srivastava et al., 2014](url)`, `[TensorFlow authors, n.d.](url)`.
CITATION = re.compile(r"\[([^\[\]]+, (?:\d{4}[a-z]?|n\.d\.))\]\((https?://[^)]+)\)")
API_LINK = re.compile(r"\]\((https?://[^)]+/book/api\.html#spatialdrop_edu\.[^)]+)\)")
RAW_MYST = re.compile(r"\{(?:doc|cite|func|class|ref|admonition|bibliography)\}|:class:|:filter:|```|^%", re.M)
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
FAILURES = Path(os.environ.get("BROWSER_FAILURES", Path(__file__).resolve().parents[2] / "_build" / "browser-failures"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("jupyterlab"),  # one JupyterLab server for both tests, in one pytest-xdist worker
    pytest.mark.skipif(not HAS_JUPYTERLAB, reason=f"JupyterLab is not installed in {VENV} (run make)"),
    pytest.mark.skipif(
        bool(os.environ.get("STUDENT_HTML")) and not os.environ.get("SITE_HTML"),
        reason="JupyterLab is tested once, in the browser run that covers the instructor website",
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab")
    settings = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}
    with make_lab(tmp, tmp / "work", user_settings=settings) as lab:
        lab.work = tmp / "work"
        yield lab


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser-test` installs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_notebook(server, browser, request):
    """``open_notebook(name)``: a fresh browser context on JupyterLab showing ``name``; no request leaves the server."""
    contexts, external = [], []

    def route(r):
        if urlsplit(r.request.url).hostname == "127.0.0.1" or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    def open_(name):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        context.route("**/*", route)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(90_000)
        page.goto(f"{server.url}lab/tree/{name}?token={server.token}&reset", wait_until="load")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
        return page

    yield open_
    failed = getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed  # conftest.py
    for i, context in enumerate(contexts):
        if failed:
            FAILURES.mkdir(parents=True, exist_ok=True)
            for j, page in enumerate(context.pages):
                page.screenshot(path=str(FAILURES / f"jupyterlab-{request.node.name}-{i}-{j}.png"))
        context.close()
    assert not external, f"requests left the server: {external[:5]}"


def kernel_idle(server) -> bool:
    sessions = server.api("api/sessions")
    return bool(sessions) and all(s["kernel"]["execution_state"] == "idle" for s in sessions)


def page_says_idle(page) -> bool:
    """The page's status bar reads "<kernel> | Idle": the kernel is started and the page is connected to it.

    (Waiting through the page, not only the server's API, also keeps headless Chromium drawing the page.)"""
    return page.evaluate("""() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
        .some(e => /\\| Idle$/.test(e.textContent.trim()))""")


def wait_for(condition, what: str, timeout: float = 120, every: float = 1.0, page=None, shows=None):
    """Poll ``condition`` until it holds; with ``page``, ask the page for an animation frame between polls.

    (JupyterLab does work in animation frames, and headless Chromium on a busy machine may draw none
    while nothing asks: a save or a kernel connection then waits until the next interaction.)
    ``shows()``, if given, says what was there instead; its answer is part of the timeout's message.
    """
    start = time.monotonic()
    while not condition():
        if time.monotonic() >= start + timeout:
            instead = f"; instead: {shows()}" if shows is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{instead}")
        if page is not None:
            page.evaluate("() => new Promise(done => requestAnimationFrame(() => done()))")
        time.sleep(every)
    print(f"{time.monotonic() - start:6.1f} s  {what}")  # pytest -s shows where the time goes


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def markdown_texts(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('.jp-NotebookPanel .jp-MarkdownCell')]
        .map(c => { const r = c.querySelector('.jp-MarkdownOutput, .myst'); return r ? r.innerText : null; })""")


def dirty_tabs(page) -> list[str]:
    """The labels of the tabs that JupyterLab marks modified (the dot that asks to save)."""
    return page.evaluate("""() => [...document.querySelectorAll('.lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-dirty')]
        .map(e => e.textContent.trim())""")


def current_tab(page) -> str:
    return page.evaluate("""() => document.querySelector('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current')
        ?.textContent.trim()""")


def widget_view(page):
    """The chapter's live widget: its seed slider's handle, its readout and the image its output shows."""
    area = page.locator(".jp-OutputArea-output .widget-interact").first
    return area.locator(".widget-slider").nth(1), area


def saved_widget_values(path: Path) -> dict:
    state = json.loads(path.read_text())["metadata"]["widgets"][WIDGET_STATE]["state"]
    return {
        s["state"].get("description"): s["state"].get("value")
        for s in state.values()
        if s.get("model_name") in ("IntSliderModel", "FloatSliderModel")
    }


def test_chapter_renders_runs_saves_its_widget_and_reopens_with_it(server, open_notebook):
    nb_path = server.work / CHAPTER
    cells = nbformat.read(nb_path, as_version=4).cells
    page = open_notebook(CHAPTER)

    # MyST, rendered: every markdown cell, none with a raw marker left
    n_markdown = sum(c["cell_type"] == "markdown" for c in cells)
    wait_for(lambda: sum(t is not None for t in markdown_texts(page)) == n_markdown, "every markdown cell rendered")
    raw = [(i, m.group(0)) for i, text in enumerate(markdown_texts(page)) for m in RAW_MYST.finditer(text)]
    assert not raw, f"raw MyST in rendered markdown cells: {raw[:10]}"
    titles = page.locator(".jp-MarkdownCell aside, .jp-MarkdownCell .admonition").all_inner_texts()
    assert sum("Misconception" in t for t in titles) >= 3, titles

    # as the website reads: citations, code references, hidden cells, and the note that Run All stops at exercise 1
    sources = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    rendered = "\n".join(t for t in markdown_texts(page) if t)
    keys = list(read_book(ROOT).bibliography)
    assert not [k for k in keys if k in rendered], "a bibliography key is shown instead of its citation"
    for label, url in CITATION.findall(sources):
        cite = page.locator(".jp-MarkdownCell a", has_text=re.compile(f"^{re.escape(label)}$"))
        assert url in cite.evaluate_all("links => links.map(a => a.href)"), (label, url)
    n_cites = len(CITATION.findall(sources))
    assert n_cites >= 8, n_cites  # the chapter's eight citations
    code_links = page.locator(".jp-MarkdownCell a[href*='/book/api.html#spatialdrop_edu.'] code")
    assert code_links.count() == len(API_LINK.findall(sources)) >= 5, code_links.count()
    assert "~spatialdrop_edu" not in rendered
    hidden = [c for c in cells if c.cell_type == "code" and c.metadata.get("jupyter", {}).get("source_hidden")]
    bars = page.locator(".jp-InputPlaceholder .jp-PlaceholderText").all_inner_texts()
    assert len(bars) == len(hidden) >= 10 and set(bars) <= set(lab_notebooks.NOTES.values()), bars
    assert any("Run All stops at the first exercise" in t for t in titles), titles

    # Run All: the chapter's body runs, then the first exercise's stub (a function that raises) is defined and
    # its check fails, which stops Run All; the check's feedback is a few styled lines, not a traceback
    wait_for(lambda: page_says_idle(page), "the kernel to start and connect", 300)
    menu(page, "Run", "Run All Cells")
    code = [c for c in cells if c.cell_type == "code"]
    check = 1 + next(i for i, c in enumerate(code) if "raise NotImplementedError()" in c.source)
    # each code cell's prompt; a collapsed cell shows none (its input area is not drawn): None. That they ran
    # is read from the saved notebook below.
    prompts = page.locator(".jp-CodeCell")
    prompt = "cell => cell.querySelector('.jp-InputArea .jp-InputPrompt')?.textContent.trim() ?? null"

    def stopped_at_the_first_check():
        shown = prompts.evaluate_all(f"cells => cells.map({prompt})")
        return (
            len(shown) == len(code)
            and all(p is None or re.fullmatch(r"\[\d+\]:", p) for p in shown[: check + 1])
            and shown[check + 1] == "[ ]:"
            and page_says_idle(page)
        )

    wait_for(stopped_at_the_first_check, "Run All to run the body and stop at the first check", timeout=300, every=2)
    feedback = page.locator(".jp-CodeCell").nth(check).locator(".jp-OutputArea-output").all_inner_texts()
    shown = "\n".join(feedback).strip().splitlines()
    assert shown[0].startswith("✗ Not yet") and len(shown) <= 4 and "NotImplementedError" in shown[1], shown
    assert not any(w in "\n".join(shown) for w in ("Traceback", "File ", "_harness")), shown

    # move the seed slider with the keyboard: the figure is redrawn
    slider, area = widget_view(page)
    slider.scroll_into_view_if_needed()
    image = lambda: area.locator("img").first.get_attribute("src")  # noqa: E731
    wait_for(lambda: area.locator("img").count() > 0, "the widget's figure")
    before = image()
    slider.locator(".noUi-handle").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    wait_for(lambda: slider.locator(".widget-readout").inner_text().strip() == "3", "the seed slider to read 3", 30)
    wait_for(lambda: image() != before, "the figure to be redrawn", 60)

    # save: the widget state goes into the file
    mtime = nb_path.stat().st_mtime_ns
    menu(page, "File", "Save Notebook")
    wait_for(
        lambda: nb_path.stat().st_mtime_ns != mtime and saved_widget_values(nb_path).get("seed") == 3,
        "the notebook to be saved with the moved slider",
        60,
        page=page,
    )
    saved = json.loads(nb_path.read_text())
    errors = [
        (i, o["ename"])
        for i, c in enumerate(c for c in saved["cells"] if c["cell_type"] == "code")
        for o in c.get("outputs", [])
        if o["output_type"] == "error"
    ]
    assert errors == [(check, "ExerciseFailure")], errors
    ran = [c["execution_count"] for c in saved["cells"] if c["cell_type"] == "code"]
    assert all(ran[: check + 1]) and not any(ran[check + 1 :]), ran  # collapsed cells too
    assert saved["metadata"]["kernelspec"]["display_name"] == "Python 3 (ipykernel)"

    # reopen with the kernel shut down: the widget is drawn from the saved state, at the moved value
    page.context.close()
    for session in server.api("api/sessions"):
        server.api(f"api/sessions/{session['id']}", "DELETE")
    page = open_notebook(CHAPTER)
    slider, area = widget_view(page)
    slider.scroll_into_view_if_needed()
    wait_for(
        lambda: slider.locator(".widget-readout").inner_text().strip() == "3" and area.locator("img").count() > 0,
        "the saved widget to be drawn at seed 3",
        60,
        page=page,
    )
    assert "Error displaying widget" not in page.locator(".jp-NotebookPanel").inner_text()


def shown_and_idle(page, what: str) -> None:
    """Wait until the chapter's stored widget is drawn and its kernel is idle: all that opening does is done."""
    view = page.locator(".jp-OutputArea-output .widget-interact").first
    view.scroll_into_view_if_needed()
    wait_for(lambda: view.locator(".widget-slider").count() > 0, f"the stored widget to be drawn ({what})", 60)
    assert "Error displaying widget" not in page.locator(".jp-NotebookPanel").inner_text()
    wait_for(lambda: page_says_idle(page), f"the kernel to start and connect ({what})", 300)
    time.sleep(2)  # the widget manager marks the notebook modified once its models are registered
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => done()))")


def dialogs(page) -> list[str]:
    """The text of every JupyterLab dialog on the page (one dialog waits behind another one's answer)."""
    return [" / ".join(t.split()) for t in page.locator(".jp-Dialog").all_inner_texts()]


def restart_kernel(page, server, tries: int = 2) -> int:
    """Restart the page's kernel as a learner does: Kernel menu, Restart Kernel…, then the dialog's Restart.

    Clicks only the restart dialog's own button, waits for the dialog to close, then for the server to log
    the restart. A restart the server never hears of within a minute is asked for again, as a learner would
    (``tries`` in all), with a warning that says what the page and the server showed; the last try fails with
    that. Returns where the server's log stood before the first try.
    """
    logged = len(server.log.read_text(errors="replace"))
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    dialog = page.locator(".jp-Dialog", has_text="Restart Kernel?")
    for attempt in range(1, tries + 1):
        menu(page, "Kernel", "Restart Kernel…")
        wait_for(lambda: dialog.count() == 1, "the restart dialog", 60, page=page, shows=lambda: dialogs(page))
        dialog.locator(".jp-mod-accept").click()
        wait_for(lambda: dialog.count() == 0, "the restart dialog to close", 30, page=page)
        start = time.monotonic()
        while time.monotonic() < start + 60:
            if "Kernel restarted" in server.log.read_text(errors="replace")[logged:]:
                print(f"{time.monotonic() - start:6.1f} s  the restart (try {attempt})")
                return logged
            page.evaluate("() => new Promise(done => requestAnimationFrame(() => done()))")
            time.sleep(1)
        status = page.locator(".jp-StatusBar-TextItem").all_inner_texts()
        shown = (
            f"the server did not log a restart within 60 s of try {attempt}: status bar {status}, "
            f"dialogs {dialogs(page)}, console {console[-10:]}, server log since: "
            f"{server.log.read_text(errors='replace')[logged:][-2000:]}"
        )
        assert attempt < tries, shown
        warnings.warn(shown, stacklevel=2)
    return logged


def test_untouched_chapter_is_never_modified_and_saves_back_unchanged(server, open_notebook):
    path = server.work / UNTOUCHED
    original, mtime = path.read_bytes(), path.stat().st_mtime_ns
    page = open_notebook(UNTOUCHED)
    shown_and_idle(page, "opened")
    assert not dirty_tabs(page), "an untouched chapter is marked modified on opening"
    page.reload(wait_until="load")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    shown_and_idle(page, "reloaded")
    assert not dirty_tabs(page), "an untouched chapter is marked modified after a reload"

    # a kernel restart: no traceback in the server's log (ipykernel's control lock), nothing modified
    logged = restart_kernel(page, server)
    shown_and_idle(page, "restarted")
    assert not dirty_tabs(page), "an untouched chapter is marked modified after a kernel restart"
    after_restart = server.log.read_text(errors="replace")[logged:]
    assert "Traceback" not in after_restart and "TraitError" not in after_restart, after_restart[-3000:]
    assert path.stat().st_mtime_ns == mtime, "the chapter was written without being saved (autosave)"

    menu(page, "File", "Save Notebook")  # what "Save" in JupyterLab's "Save changes?" dialog does
    wait_for(lambda: path.stat().st_mtime_ns != mtime, "the save", 60, page=page)
    assert path.read_bytes() == original
    menu(page, "File", "Close Tab")
    wait_for(lambda: current_tab(page) != UNTOUCHED, "the tab to close", 30, page=page)
    assert page.locator(".jp-Dialog").count() == 0, "closing an untouched chapter asks something"


def test_landing_notebook_lists_the_chapters_and_links_open_the_other_notebook(server, open_notebook):
    page = open_notebook(lab_notebooks.LANDING_NOTEBOOK)
    listed = page.locator(".jp-MarkdownCell").nth(1).locator("li a")  # the introduction's title, then the list
    wait_for(lambda: listed.count() >= 9, "the chapter list to be rendered", 60)
    chapters = [c for c in sorted(server.work.glob("*.ipynb")) if c.name != lab_notebooks.LANDING_NOTEBOOK]
    titles = [nbformat.read(c, as_version=4).cells[0].source.split("\n")[0].removeprefix("# ") for c in chapters]
    shown = listed.all_inner_texts()
    assert [t for t in shown if t in titles] == titles, shown  # every chapter, in the order of the book
    logged = len(server.log.read_text(errors="replace"))

    # the landing notebook's link to chapter 2, then chapter 2's {doc} link to chapter 1 (its prerequisite)
    listed.filter(has_text=titles[1]).click()
    wait_for(lambda: current_tab(page) == UNTOUCHED, f"{UNTOUCHED} to open", 60, page=page)
    chapter_2 = page.locator(".jp-NotebookPanel:visible")
    prerequisite = chapter_2.locator(".jp-MarkdownCell a", has_text=titles[0]).first
    wait_for(lambda: prerequisite.count() > 0, "chapter 2's link to chapter 1", 60, page=page)
    prerequisite.click()
    wait_for(lambda: current_tab(page) == CHAPTER, f"{CHAPTER} to open", 60, page=page)
    unanswered = [line for line in server.log.read_text(errors="replace")[logged:].splitlines() if " 404 " in line]
    assert not unanswered, unanswered
