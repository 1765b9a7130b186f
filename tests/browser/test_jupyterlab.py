"""The course in a real JupyterLab, in headless Chromium, offline: what ``make lab`` gives a learner.

One server, started as a learner starts it (``make lab``, its student working copy in a temporary
folder; ``tests/lab_server.py``), and one headless Chromium that may reach nothing but the server.
A learner's session on chapter 1:

* the markdown is rendered as MyST: no raw ``{doc}``, ``{cite}``, ``{func}``, ``:class:`` or
  fence left in any markdown cell, and the misconception admonitions are boxes with their titles;
* Run All runs the chapter's body without an error and stops at the first exercise, whose check
  (run on the stub) shows its feedback in a few styled lines, not a traceback; moving a widget's
  slider redraws its figure;
* the notebook saved then (the course's JupyterLab saves widget state) reopens, kernel shut down,
  with its widget drawn at the moved value, before anything runs;
* an untouched chapter, opened and shown (its stored widget restored, which makes JupyterLab call
  it modified) and saved, is written back byte for byte.

Every cell is attached to the page (the learner setting ``windowingMode: none``), so every markdown
cell can be read. About two minutes on two busy CPU cores; it runs once per ``make test`` (with the
instructor website's browser tests: the student website's run skips it).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest

from chromium import CHROMIUM, CHROMIUM_ARGS
from lab_server import HAS_JUPYTERLAB, VENV, make_lab

CHAPTER, UNTOUCHED = "01_dropout.ipynb", "02_noise_shapes.ipynb"
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


def wait_for(condition, what: str, timeout: float = 120, every: float = 1.0, page=None):
    """Poll ``condition`` until it holds; with ``page``, ask the page for an animation frame between polls.

    (JupyterLab does work in animation frames, and headless Chromium on a busy machine may draw none
    while nothing asks: a save or a kernel connection then waits until the next interaction.)
    """
    start = time.monotonic()
    while not condition():
        assert time.monotonic() < start + timeout, f"timed out after {timeout:g} s waiting for {what}"
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

    # Run All: the chapter's body runs, then the first exercise's stub (a function that raises) is defined and
    # its check fails, which stops Run All; the check's feedback is a few styled lines, not a traceback
    wait_for(lambda: page_says_idle(page), "the kernel to start and connect", 300)
    menu(page, "Run", "Run All Cells")
    code = [c for c in cells if c.cell_type == "code"]
    check = 1 + next(i for i, c in enumerate(code) if "raise NotImplementedError()" in c.source)
    prompts = page.locator(".jp-CodeCell .jp-InputPrompt")

    def stopped_at_the_first_check():
        shown = [p.strip() for p in prompts.all_inner_texts()]
        return (
            len(shown) == len(code)
            and all(re.fullmatch(r"\[\d+\]:", p) for p in shown[: check + 1])
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


def test_untouched_chapter_opened_and_saved_is_written_back_unchanged(server, open_notebook):
    path = server.work / UNTOUCHED
    original = path.read_bytes()
    page = open_notebook(UNTOUCHED)
    view = page.locator(".jp-OutputArea-output .widget-interact").first
    view.scroll_into_view_if_needed()
    wait_for(lambda: view.locator(".widget-slider").count() > 0, "the stored widget to be drawn", 60)
    assert "Error displaying widget" not in page.locator(".jp-NotebookPanel").inner_text()
    wait_for(lambda: page_says_idle(page), "the kernel to start and connect", 300)
    mtime = path.stat().st_mtime_ns
    menu(page, "File", "Save Notebook")  # what "Save" in JupyterLab's "Save changes?" dialog does
    wait_for(lambda: path.stat().st_mtime_ns != mtime, "the save", 60, page=page)
    assert path.read_bytes() == original
