"""`make lab`: the student edition in a working copy of the learner's own, served by the course's JupyterLab.

One real server (``make lab`` into a temporary working copy) answers what a learner would see: the
student notebooks, trusted, the course's settings, kernelspec and extension in effect,
and a save that keeps stored widgets. The working copy, the pre-save hook, the notebooks'
kernelspec and the course's kernel are also tested on their own, without a server. What the copy's
notebooks say is tested in ``test_lab_copy.py``; the browser-side checks (MyST rendered, references
resolved, Run All, widgets after a save, nothing modified by opening) in ``tests/browser/test_jupyterlab.py``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import json5
import nbformat
import nbformat.sign
import pytest

from spatialdrop_edu.course.edition.cells import SOLUTION_BEGIN, WIDGET_STATE, WIDGET_VIEW
from spatialdrop_edu.course.edition.release import ReleaseError, displayed_widget_models
from spatialdrop_edu.course.lab import notebooks as lab_notebooks
from spatialdrop_edu.course.lab import start
from spatialdrop_edu.course.lab.kernel import CourseKernel

import exercise_fixtures as fx
from lab_server import HAS_JUPYTERLAB, ROOT, VENV, make_lab

CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
needs_lab = pytest.mark.skipif(not HAS_JUPYTERLAB, reason=f"JupyterLab is not installed in {VENV} (run make)")


def digest(paths) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


# --------------------------------------------------------------------------- the real `make lab`
@needs_lab
def test_make_lab_serves_the_student_edition_in_a_working_copy(tmp_path):
    before = digest(CHAPTERS)
    work = tmp_path / "work" / "student"
    with make_lab(tmp_path, work) as server:
        listing = {item["name"]: item["type"] for item in server.api("api/contents")["content"]}
        # The full studies ship with the package (training.full_results): the working copy needs no results/.
        assert {p.name for p in CHAPTERS} <= set(listing)
        model = server.api("api/contents/01_dropout.ipynb")["content"]
        sources = "\n".join(c["source"] for c in model["cells"])
        assert SOLUTION_BEGIN not in sources and "=== BEGIN MARK SCHEME ===" not in sources
        assert "raise NotImplementedError()" in sources and "YOUR ANSWER HERE" in sources
        code = [c for c in model["cells"] if c["cell_type"] == "code"]
        assert code and all(c["metadata"].get("trusted") is True for c in code)  # stored widgets render at once
        assert listing[lab_notebooks.LANDING_NOTEBOOK] == "notebook"
        # the course's kernel (the control lock) and JupyterLab extension (nothing modified by opening)
        spec = server.api("api/kernelspecs")["kernelspecs"]["python3"]["spec"]
        assert spec["argv"][-1] == f"--IPKernelApp.kernel_class={CourseKernel.__module__}.CourseKernel"
        assert spec["display_name"] == start.KERNELSPEC["display_name"]
        assert '"name": "spatialdrop-edu-lab"' in server.page("lab")
        # the course's settings are JupyterLab's defaults there
        widgets = server.api("lab/api/settings/@jupyter-widgets/jupyterlab-manager:plugin")
        assert widgets["schema"]["properties"]["saveState"]["default"] is True
        news = server.api("lab/api/settings/@jupyterlab/apputils-extension:notification")
        assert news["schema"]["properties"]["fetchNews"]["default"] == "false"
        # a learner's save: JupyterLab sends no widget state for widgets that were only shown, not re-run
        saved = work / "02_noise_shapes.ipynb"
        original = saved.read_bytes()
        sent = json.loads(original)
        sent["metadata"]["widgets"][WIDGET_STATE]["state"] = {}
        server.api("api/contents/02_noise_shapes.ipynb", "PUT", {"type": "notebook", "format": "json", "content": sent})
        assert saved.read_bytes() == original
        # the learner's edits stay in the working copy
        sent["cells"][0]["source"] = "# My notes"
        server.api("api/contents/02_noise_shapes.ipynb", "PUT", {"type": "notebook", "format": "json", "content": sent})
    assert nbformat.read(saved, as_version=4).cells[0].source == "# My notes"
    assert digest(CHAPTERS) == before, "the repository's notebooks changed"
    assert "/lab/" in (ROOT / ".gitignore").read_text().splitlines()


def make_dry_run(*args) -> str:
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", f"{VENV}/.installed", "lab", f"VENV={VENV}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "EDITION"},
    )
    return done.stdout


def test_make_lab_opens_the_student_edition_unless_told_otherwise():
    assert '-m spatialdrop_edu lab --edition student --dir "lab/student"  --' in make_dry_run()
    assert "--edition instructor" in make_dry_run("EDITION=instructor")
    assert '--dir "elsewhere" --refresh -- --port 1' in make_dry_run(
        "LAB_DIR=elsewhere", "LAB_REFRESH=1", "LAB_ARGS=--port 1"
    )


# --------------------------------------------------------------------------- the working copy
@pytest.fixture
def course(tmp_path):
    """A small course repository: one instructor notebook with exercises."""
    root = tmp_path / "course"
    (root / "book").mkdir(parents=True)
    fx.write_instructor(root / "book")
    return root


def test_working_copy_is_the_trusted_student_edition(course, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    copy_dir = start.prepare_working_copy(course, tmp_path / "lab" / "student")
    nb = nbformat.read(copy_dir / "01_fixture.ipynb", as_version=4)
    text = json.dumps(nb)
    assert "keep_probability_fixture" not in text and "rescaling_fixture_marker" not in text  # fx's solution lines
    assert "raise NotImplementedError()" in text
    names = ["01_fixture.ipynb", lab_notebooks.LANDING_NOTEBOOK, start.WORKING_COPY_MARKER]
    assert sorted(p.name for p in copy_dir.iterdir()) == sorted(names)
    assert (copy_dir / start.WORKING_COPY_MARKER).is_file()
    assert nbformat.sign.NotebookNotary().check_signature(nb)
    assert nb.cells[1].metadata.jupyter.source_hidden  # the website's hidden cells are collapsed (test_lab_copy.py)
    landing = nbformat.read(copy_dir / lab_notebooks.LANDING_NOTEBOOK, as_version=4)
    assert "- [Fixture chapter](01_fixture.ipynb)" in landing.cells[1].source
    assert not list(copy_dir.parent.glob(".*partial"))


def test_working_copy_is_never_overwritten_and_a_refresh_keeps_the_old_one(course, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    work = start.prepare_working_copy(course, tmp_path / "lab" / "student")
    mine = work / "01_fixture.ipynb"
    mine.write_text(mine.read_text().replace("# Fixture chapter", "# My answers"))
    (work / "notes.txt").write_text("mine")
    assert start.prepare_working_copy(course, work) == work
    assert "# My answers" in mine.read_text() and (work / "notes.txt").read_text() == "mine"
    start.prepare_working_copy(course, work, refresh=True)
    assert "# My answers" not in mine.read_text() and not (work / "notes.txt").exists()
    (backup,) = work.parent.glob("student.backup-*")
    assert "# My answers" in (backup / "01_fixture.ipynb").read_text() and (backup / "notes.txt").read_text() == "mine"


def test_working_copy_refuses_folders_it_did_not_make(course, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("x")
    with pytest.raises(ReleaseError, match="not a working copy made by `make lab`"):
        start.prepare_working_copy(course, foreign, refresh=True)
    assert (foreign / "thesis.tex").read_text() == "x"
    for bad in (course / "book", course / "book" / "sub", course):
        with pytest.raises(ReleaseError, match="dest must be a folder of its own, not the repository"):
            start.prepare_working_copy(course, bad)
    with pytest.raises(FileNotFoundError, match="root must be the course repository"):
        start.prepare_working_copy(tmp_path / "empty", tmp_path / "w")


def test_instructor_edition_is_the_book_itself_and_cannot_be_refreshed(course, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    assert start.notebook_root(course, "instructor") == (course / "book").resolve()
    with pytest.raises(ValueError, match="refresh applies to the student working copy only"):
        start.notebook_root(course, "instructor", refresh=True)
    with pytest.raises(ValueError, match="edition must be one of 'student', 'instructor'"):
        start.notebook_root(course, "teacher")


def test_lab_command_points_jupyterlab_at_the_course_settings_and_hook(tmp_path):
    command = start.lab_command(tmp_path, ["--port", "1"])
    assert command[1:3] == ["-m", "jupyterlab"] and command[-2:] == ["--port", "1"]
    assert f"--ServerApp.root_dir={tmp_path.resolve()}" in command
    assert f"--LabApp.app_settings_dir={start.SETTINGS_DIR}" in command
    assert "--ContentsManager.pre_save_hook=spatialdrop_edu.course.lab.start.keep_displayed_widget_state" in command
    assert ("--allow-root" in command) == (os.geteuid() == 0)
    overrides = json5.loads((start.SETTINGS_DIR / "overrides.json5").read_text())
    assert overrides["@jupyter-widgets/jupyterlab-manager:plugin"] == {"saveState": True}


def test_the_course_kernel_and_extension_come_first_on_the_lab_s_jupyter_path(tmp_path):
    env = start.lab_env({"PATH": os.environ["PATH"], "HOME": str(tmp_path), "JUPYTER_PATH": str(tmp_path / "mine")})
    assert env["JUPYTER_PATH"].split(os.pathsep) == [str(start.DATA_DIR), str(tmp_path / "mine")]
    assert env["KERAS_BACKEND"] == "torch"  # and everything make execute gives a kernel
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from jupyter_client.kernelspec import KernelSpecManager as M; "
            "s = M().get_kernel_spec('python3'); print(json.dumps([s.argv, s.display_name, s.language]))",
        ],
        env={**os.environ, "JUPYTER_PATH": env["JUPYTER_PATH"], "JUPYTER_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        check=True,
    )
    argv, display_name, language = json.loads(found.stdout)
    assert argv[:3] == ["python", "-m", "ipykernel_launcher"]
    assert argv[-1] == "--IPKernelApp.kernel_class=spatialdrop_edu.course.lab.kernel.CourseKernel"
    assert {"display_name": display_name, "language": language, "name": "python3"} == start.KERNELSPEC
    from jupyterlab_server.config import get_federated_extensions

    extension = get_federated_extensions([str(start.DATA_DIR / "labextensions")])["spatialdrop-edu-lab"]
    entry = Path(extension["ext_path"]) / extension["jupyterlab"]["_build"]["load"]
    assert extension["jupyterlab"]["_build"]["extension"] == "./extension" and entry.is_file()
    assert "containers[NAME] = {" in entry.read_text() and 'addWidgetExtension("Notebook"' in entry.read_text()


def test_the_course_kernel_has_its_control_lock_before_it_starts():
    """ipykernel makes the lock only in start(), after listening on the control channel: a control message
    handled first raised TraitError (issue 33). The course's kernel has it when it is made, and keeps it."""
    code = """
import asyncio
from ipykernel.ipkernel import IPythonKernel
from traitlets import TraitError
from spatialdrop_edu.course.lab.kernel import CourseKernel

try:
    IPythonKernel()._control_lock
    print("ipykernel has its lock before start()")
except TraitError as error:
    print("ipykernel:", error)
IPythonKernel.clear_instance()
kernel = CourseKernel()
lock = kernel._control_lock
kernel._control_lock = asyncio.Lock()  # what start() does, once it listens
print("course kernel:", type(lock).__name__, kernel._control_lock is lock)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "ipykernel: The '_control_lock' trait of an IPythonKernel instance expected a Lock" in done.stdout
    assert "course kernel: Lock True" in done.stdout, done.stdout + done.stderr


# --------------------------------------------------------------------------- the notebooks as JupyterLab writes them
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_notebooks_store_the_kernelspec_jupyterlab_writes(path):
    assert nbformat.read(path, as_version=4).metadata.kernelspec == start.KERNELSPEC


# --------------------------------------------------------------------------- the pre-save hook
class Manager:
    """The parts of a Jupyter Server contents manager the hook uses."""

    def __init__(self, root):
        self.root_dir = str(root)
        self.log = logging.getLogger("test-contents")


def save(tmp_path, name, content):
    """What the server does: run the hook on the model, then write ``content`` (returned)."""
    model = {"type": "notebook", "format": "json", "content": content}
    start.keep_displayed_widget_state(model=model, path=f"/{name}", contents_manager=Manager(tmp_path))
    return model["content"]


def state_of(nb):
    return nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state")


@pytest.mark.parametrize(
    "path", [p for p in CHAPTERS if state_of(nbformat.read(p, as_version=4))], ids=lambda p: p.stem
)
def test_saving_an_untouched_chapter_writes_back_what_was_stored(tmp_path, path):
    stored = json.loads(path.read_text(encoding="utf-8"))
    (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    sent = copy.deepcopy(stored)
    sent["metadata"]["widgets"][WIDGET_STATE]["state"] = {}  # JupyterLab 4 sends only live widgets' state
    assert save(tmp_path, path.name, sent) == stored


def widget_notebook(state, displayed):
    """A notebook displaying the widgets ``displayed``, with ``state`` as its stored widget state."""
    cells = [
        {
            "cell_type": "code",
            "metadata": {},
            "source": "",
            "execution_count": 1,
            "outputs": [
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {WIDGET_VIEW: {"model_id": m, "version_major": 2, "version_minor": 0}},
                }
            ],
        }
        for m in displayed
    ]
    meta = (
        {"widgets": {WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}}
        if state is not None
        else {}
    )
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def test_hook_live_state_wins_disk_fills_in_and_undisplayed_models_go(tmp_path):
    disk = {
        "old": {"state": {"value": 1, "layout": "IPY_MODEL_lay"}},
        "lay": {"state": {}},
        "gone": {"state": {"value": 9}},
        "shown": {"state": {"value": 2}},
    }
    (tmp_path / "n.ipynb").write_text(json.dumps(widget_notebook(disk, ["old", "shown"])))
    live = {"shown": {"state": {"value": 5}}, "stale": {"state": {}}}
    got = state_of(save(tmp_path, "n.ipynb", widget_notebook(live, ["old", "shown"])))
    assert got == {"old": disk["old"], "lay": disk["lay"], "shown": live["shown"]}


def test_hook_follows_widgets_shown_inside_an_output_widget(tmp_path):
    inner = {"output_type": "display_data", "data": {WIDGET_VIEW: {"model_id": "inner"}}, "metadata": {}}
    live = {"out": {"state": {"outputs": [inner]}}, "inner": {"state": {"value": 3}}, "other": {"state": {}}}
    assert set(state_of(save(tmp_path, "new.ipynb", widget_notebook(live, ["out"])))) == {"out", "inner"}
    assert displayed_widget_models(widget_notebook(live, ["out"])) == {"out"}


def test_hook_removes_an_empty_state_and_leaves_other_files_alone(tmp_path):
    content = widget_notebook({}, [])
    content["metadata"]["widgets"]["other/mime"] = {"keep": True}
    assert save(tmp_path, "a.ipynb", content)["metadata"]["widgets"] == {"other/mime": {"keep": True}}
    assert "widgets" not in save(tmp_path, "b.ipynb", widget_notebook({}, []))["metadata"]
    model = {"type": "file", "format": "text", "content": "x"}
    start.keep_displayed_widget_state(model=model, path="a.txt", contents_manager=Manager(tmp_path))
    assert model == {"type": "file", "format": "text", "content": "x"}


def test_hook_saves_what_was_sent_when_the_file_on_disk_is_unreadable(tmp_path, caplog):
    (tmp_path / "broken.ipynb").write_text("{ not json")
    sent = widget_notebook({"shown": {"state": {}}}, ["shown", "lost"])
    with caplog.at_level(logging.WARNING):
        assert set(state_of(save(tmp_path, "broken.ipynb", sent))) == {"shown"}
    assert "could not be read" in caplog.text


def test_binder_gets_the_course_jupyterlab(tmp_path):
    """binder/postBuild makes the settings and the pre-save hook of `make lab` the Binder image's own."""
    venv = tmp_path / "venv"  # stands for Binder's environment: the settings land under its prefix
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "PATH": f"{venv / 'bin'}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "jupyter_server_config.json").write_text('{"ServerApp": {"ip": "0.0.0.0"}}')
    subprocess.run(["bash", str(ROOT / "binder" / "postBuild")], cwd=ROOT, env=env, check=True)
    installed = venv / "share" / "jupyter" / "lab" / "settings" / "overrides.json5"
    assert installed.read_text() == (start.SETTINGS_DIR / "overrides.json5").read_text()
    config = json.loads((tmp_path / "config" / "jupyter_server_config.json").read_text())
    assert config == {"ServerApp": {"ip": "0.0.0.0"}, "ContentsManager": {"pre_save_hook": start.PRE_SAVE_HOOK}}
