"""The learner's JupyterLab: ``make lab`` (``python -m spatialdrop_edu lab``).

What a learner gets, and why:

* **The student edition, in a working copy of their own.** :func:`prepare_working_copy` writes the
  student notebooks (solutions replaced by stubs, mark schemes out: :mod:`~spatialdrop_edu.course.edition.release`)
  into a folder, by default ``lab/student/``, which git ignores (the full studies that chapters 6-8
  show ship with the package: :func:`spatialdrop_edu.training.results.full_results`). It is made
  once and never overwritten: the learner's answers survive every later ``make lab``.
  ``refresh=True`` (``make lab LAB_REFRESH=1``) first moves the old copy aside to
  ``<folder>.backup-<date>-<time>/`` and then makes a fresh one, so even a refresh loses nothing.
  The instructor edition (``make lab EDITION=instructor``) is ``book/`` itself: the course's own
  notebooks, solutions included, where an author's edits are edits of the course.
* **Widget state saved with the notebook.** JupyterLab saves widget state only when its setting
  ``saveState`` is on; it is off by default, so a notebook saved after a run reopens with "Error
  displaying widget: model not found". The course's JupyterLab runs with its app settings folder
  at :data:`SETTINGS_DIR`, whose ``overrides.json5`` turns it on (so no learner has to find the
  setting) and stops JupyterLab from fetching news from the internet.
* **Saving an untouched notebook changes nothing.** With ``saveState`` on, JupyterLab 4 saves the
  state of live widgets only: a notebook opened and saved without re-running its widget cells would
  lose the widget state it was stored with (ipywidgets issue 3888), and a notebook is marked
  modified as soon as a stored widget is shown. :func:`keep_displayed_widget_state`, a pre-save hook
  of the server, keeps for every widget the notebook still displays the state saved on disk when the
  browser has none, and drops the state of widgets no output shows any more (as the student edition
  does). The notebooks store the kernelspec JupyterLab writes (:data:`KERNELSPEC`), so that opening
  one does not rewrite it either.
* **The prose the website shows.** ``jupyterlab-myst`` (requirements-dev.txt) renders MyST in
  JupyterLab (admonitions, math, figures); it is enabled by being installed. What it cannot resolve
  (citations, code references, links between chapters, reference lists) is resolved when the copy is
  made, and the website's hidden cells are collapsed there, each with a line saying what it is; a
  landing notebook lists the chapters (:mod:`~spatialdrop_edu.course.lab.notebooks`).
* **Opening is not changing.** A notebook opened and closed untouched is not marked modified: the
  copy stores what JupyterLab would write on opening it (kernelspec, ``language_info``, trust), and the
  course's JupyterLab extension (``lab_data/labextensions/``) takes back the mark the widget manager
  sets whenever it restores a stored widget, as long as the notebook's content is what the file holds.
* **A kernel that restarts cleanly.** The kernelspec ``python3`` of ``lab_data/kernels/`` starts
  ipykernel with :class:`~spatialdrop_edu.course.lab.kernel.CourseKernel`, whose control lock exists
  before a restart's first control message arrives. The course's JupyterLab finds both through
  ``JUPYTER_PATH`` (:data:`DATA_DIR`, :func:`lab_env`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import nbformat

from ..._validation import check_choice
from ..edition.cells import WIDGET_STATE
from ..edition.release import ReleaseError, displayed_widget_models, release, widget_models_needed

__all__ = [
    "EDITIONS",
    "KERNELSPEC",
    "SETTINGS_DIR",
    "DATA_DIR",
    "WORKING_COPY_MARKER",
    "prepare_working_copy",
    "notebook_root",
    "lab_command",
    "lab_env",
    "start_lab",
    "keep_displayed_widget_state",
]

#: The editions ``make lab`` opens, ``EDITION=student`` (a working copy of the student edition) or
#: ``EDITION=instructor`` (``book/`` itself).
EDITIONS = ("student", "instructor")
#: The kernelspec JupyterLab writes into a notebook it opens with the default Python kernel (ipykernel's).
#: The course's notebooks store exactly this, so that opening one in JupyterLab does not modify it.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
#: The app settings folder of the course's JupyterLab. Its ``overrides.json5`` sets defaults that a learner may
#: still change (widget state saved with the notebook, nothing fetched from the internet).
SETTINGS_DIR = Path(__file__).with_name("settings")
#: The course's Jupyter data folder, first on the ``JUPYTER_PATH`` of its JupyterLab: the kernelspec ``python3``
#: (ipykernel with :class:`~spatialdrop_edu.course.lab.kernel.CourseKernel`) and the course's JupyterLab extension.
DATA_DIR = Path(__file__).with_name("data")
#: File that marks a folder written by :func:`prepare_working_copy` (the only kind it refreshes).
WORKING_COPY_MARKER = ".spatialdrop-lab"
#: The pre-save hook, as the server's configuration names it.
PRE_SAVE_HOOK = f"{__name__}.keep_displayed_widget_state"


def prepare_working_copy(root, dest, *, refresh: bool = False) -> Path:
    """Make the learner's working copy of the student edition in ``dest``, unless it exists.

    The copy holds the student edition of every ``book/*.ipynb`` of ``root`` as JupyterLab should show it
    (:func:`~spatialdrop_edu.course.lab.notebooks.lab_notebook`: references resolved, the website's hidden cells
    collapsed), trusted, so that their stored widgets render before anything runs; the landing notebook
    :data:`~spatialdrop_edu.course.lab.notebooks.LANDING_NOTEBOOK`; and a marker file.
    An existing copy is left exactly as it is.

    Args:
        root: the repository (the folder that holds ``book/``).
        dest: the working copy's folder; not ``root``, a folder above it, ``book/`` or a folder in it.
        refresh: move an existing copy aside to ``<dest>.backup-<YYYYmmdd-HHMMSS>`` first, then
            make a fresh one.

    Returns:
        ``dest``, resolved.

    Raises:
        ~spatialdrop_edu.course.edition.release.ReleaseError: ``dest`` is one of the folders above, or a non-empty
            folder that this function did not write (such a folder is never emptied or moved).
        FileNotFoundError: ``root`` has no ``book/*.ipynb``.
        ~spatialdrop_edu.course.lab.references.UnresolvedReference: a chapter's reference cannot be resolved.

    Examples::

        >>> copy = prepare_working_copy(".", "lab/student")          # doctest: +SKIP
        >>> sorted(p.name for p in copy.glob("0*.ipynb"))[:1]         # doctest: +SKIP
        ['01_dropout.ipynb']
    """
    root, dest = Path(root).resolve(), Path(dest).resolve()
    book = root / "book"
    if dest == book or book in dest.parents or dest == root or dest in root.parents:
        raise ReleaseError(
            f"dest must be a folder of its own, not the repository, a folder above it, {book} or a folder "
            f"in it (e.g. {root / 'lab' / 'student'}), got {dest}"
        )
    notebooks = sorted(book.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks in {book}: root must be the course repository, got {root}")
    if dest.exists() and any(dest.iterdir()):
        if not (dest / WORKING_COPY_MARKER).is_file():
            raise ReleaseError(
                f"{dest} is not empty and is not a working copy made by `make lab`: choose another "
                "folder (make lab LAB_DIR=...); nothing there was changed"
            )
        if not refresh:
            return dest
        backup = dest.with_name(f"{dest.name}.backup-{time.strftime('%Y%m%d-%H%M%S')}")
        dest.rename(backup)
        print(f"the previous working copy was moved to {backup}")
    # Written into a temporary sibling and renamed at the end: an interrupted run leaves no half copy behind.
    partial = dest.with_name(f".{dest.name}.partial")
    if partial.exists():
        shutil.rmtree(partial)
    release(notebooks, partial)
    _as_the_lab_shows_it(root, partial)
    _trust(sorted(partial.glob("*.ipynb")))
    (partial / WORKING_COPY_MARKER).write_text(
        "The student edition of the course, made by `make lab` from book/. Yours to change: `make lab` never\n"
        "overwrites it; `make lab LAB_REFRESH=1` moves it aside and makes a fresh copy.\n",
        encoding="utf-8",
    )
    if dest.exists():  # an empty folder
        dest.rmdir()
    partial.rename(dest)
    print(f"the student edition of the course was written to {dest}")
    return dest


def _as_the_lab_shows_it(root: Path, folder: Path) -> None:
    """Rewrite the student notebooks in ``folder`` as the working copy holds them, and add the landing notebook."""
    from .notebooks import LANDING_DOC, LANDING_NOTEBOOK, lab_notebook, landing_notebook
    from .references import read_book

    book = read_book(root)
    book.files[LANDING_DOC] = LANDING_NOTEBOOK
    for path in sorted(folder.glob("*.ipynb")):
        nb = lab_notebook(nbformat.read(path, as_version=4), book, path.stem)
        nbformat.validate(nb)
        nbformat.write(nb, path)
    nbformat.write(landing_notebook(root, book), folder / LANDING_NOTEBOOK)


def _trust(paths) -> None:
    """Sign notebooks as trusted (what ``jupyter trust`` does), so that their stored outputs and widgets render."""
    from nbformat.sign import NotebookNotary

    notary = NotebookNotary()
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        notary.sign(nb)


def notebook_root(root, edition: str = "student", working_copy="lab/student", *, refresh: bool = False) -> Path:
    """The folder JupyterLab serves for ``edition``, ready to open.

    Args:
        root: the repository.
        edition: ``"student"``: the working copy ``working_copy``, made by :func:`prepare_working_copy`
            if it does not exist (``refresh``: made afresh); ``"instructor"``: ``book/`` itself, trusted
            on every start (a notebook edited outside JupyterLab loses its signature).
        working_copy: the student working copy's folder (relative to the current directory).
        refresh: see :func:`prepare_working_copy`; only for the student edition.

    Returns:
        The folder, resolved.
    """
    edition = check_choice(edition, EDITIONS, "edition")
    if edition == "student":
        return prepare_working_copy(root, working_copy, refresh=refresh)
    if refresh:
        raise ValueError("refresh applies to the student working copy only; the instructor edition is book/ itself")
    book = Path(root).resolve() / "book"
    _trust(sorted(book.glob("*.ipynb")))
    return book


def lab_command(notebook_dir, lab_args=(), *, settings_dir=SETTINGS_DIR) -> list[str]:
    """The command line that starts the course's JupyterLab on ``notebook_dir``.

    Args:
        notebook_dir: the folder JupyterLab serves.
        settings_dir: JupyterLab's app settings folder (default: :data:`SETTINGS_DIR`).
        lab_args: further options for JupyterLab (they come last, so they win).

    Returns:
        ``[python, "-m", "jupyterlab", ...]``, with ``--allow-root`` where this process runs as root
        (containers, CI), which JupyterLab otherwise refuses.
    """
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={Path(notebook_dir).resolve()}",
        f"--LabApp.app_settings_dir={Path(settings_dir).resolve()}",
        f"--ContentsManager.pre_save_hook={PRE_SAVE_HOOK}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command + list(lab_args)


def lab_env(environ=None) -> dict[str, str]:
    """The environment of the course's JupyterLab and its kernels.

    That of ``make execute`` (:func:`~spatialdrop_edu.course.edition.execute.kernel_env`: the inline matplotlib
    backend, Keras on PyTorch, the reproducible mode), with :data:`DATA_DIR` first on ``JUPYTER_PATH``.

    Args:
        environ: the environment to start from (default: ``os.environ``).

    Examples::

        >>> path = lab_env({"JUPYTER_PATH": "/mine"})["JUPYTER_PATH"]
        >>> path == f"{DATA_DIR}{os.pathsep}/mine"
        True
    """
    from ..edition.execute import kernel_env

    env = kernel_env(environ)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(DATA_DIR), env.get("JUPYTER_PATH", "")) if p)
    return env


def start_lab(
    root, *, edition: str = "student", working_copy="lab/student", refresh: bool = False, lab_args=()
) -> None:
    """Prepare the notebooks of ``edition`` (:func:`notebook_root`) and replace this process by the course's JupyterLab.

    The server and its kernels get :func:`lab_env`: the environment of ``make execute``, so a learner
    sees the numbers the book shows, and the course's kernelspec and JupyterLab extension.
    """
    notebooks = notebook_root(root, edition, working_copy, refresh=refresh)
    command = lab_command(notebooks, lab_args)
    print(f"JupyterLab on {notebooks} ({edition} edition)", flush=True)
    os.execve(command[0], command, lab_env())


# --------------------------------------------------------------------------- the pre-save hook
def keep_displayed_widget_state(model, path, contents_manager, **kwargs) -> None:
    """Jupyter Server pre-save hook: save every displayed widget's state, and only theirs.

    The widget state a notebook is saved with becomes: the widget models that its outputs display,
    with every model those refer to, taken from what the browser sent where it has them (live
    widgets) and otherwise from the notebook as saved on disk; models that no output displays any
    more are dropped, and an empty state is removed. So saving a notebook whose stored widgets were
    only shown, not re-run, writes back exactly what was stored.

    Args:
        model: the contents model being saved; only ``type == "notebook"`` is changed, in place.
        path: its API path, relative to the server's root folder.
        contents_manager: the server's contents manager (its ``root_dir`` locates the file).
    """
    if not isinstance(model, dict) or model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    content = model["content"]
    metadata = content.setdefault("metadata", {})
    widgets = metadata.get("widgets") if isinstance(metadata.get("widgets"), dict) else {}
    sent = widgets.get(WIDGET_STATE) if isinstance(widgets.get(WIDGET_STATE), dict) else {}
    live = sent.get("state") if isinstance(sent.get("state"), dict) else {}
    wanted = displayed_widget_models(content)
    models, versions = live, {k: sent[k] for k in ("version_major", "version_minor") if k in sent}
    if wanted:  # what the browser lacks comes from the file on disk; what it sent wins
        saved, saved_versions = _saved_state(contents_manager, path)
        models, versions = {**saved, **live}, {**saved_versions, **versions}
    keep = widget_models_needed(models, wanted)
    if keep:
        metadata.setdefault("widgets", {})[WIDGET_STATE] = {
            "state": {k: models[k] for k in keep},
            "version_major": versions.get("version_major", 2),
            "version_minor": versions.get("version_minor", 0),
        }
    elif "widgets" in metadata and isinstance(metadata["widgets"], dict):
        metadata["widgets"].pop(WIDGET_STATE, None)
        if not metadata["widgets"]:
            del metadata["widgets"]


def _saved_state(contents_manager, path) -> tuple[dict, dict]:
    """(models, version fields) of the widget state of the notebook at ``path`` on disk; empty if it has none."""
    os_path = Path(contents_manager.root_dir, str(path).strip("/"))
    if not os_path.is_file():
        return {}, {}
    try:
        saved = json.loads(os_path.read_text(encoding="utf-8"))
        state = saved["metadata"]["widgets"][WIDGET_STATE]
    except (KeyError, TypeError):
        return {}, {}
    except (OSError, ValueError) as error:
        contents_manager.log.warning(
            "widget state of %s on disk could not be read (%s): saving what the browser sent", path, error
        )
        return {}, {}
    models = state.get("state") if isinstance(state, dict) else None
    if not isinstance(models, dict):
        return {}, {}
    return models, {k: state[k] for k in ("version_major", "version_minor") if k in state}
