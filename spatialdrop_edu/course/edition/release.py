"""Student editions: the course notebooks and website with every solution taken out.

The instructor notebooks in ``book/`` carry their solutions in nbgrader's format (see
``COURSE.md``):

* a code cell's solution lines sit between ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
  the student edition replaces them by ``# YOUR CODE HERE`` and ``raise NotImplementedError()``
  at the same indentation, and keeps everything outside the region (imports, a function's
  signature and docstring);
* a written answer is a markdown cell holding ``=== BEGIN MARK SCHEME ===`` …
  ``=== END MARK SCHEME ===``; the student edition removes the mark scheme and leaves
  ``YOUR ANSWER HERE`` (a markdown solution cell with no markers at all is replaced wholesale,
  as nbgrader does);
* check cells (nbgrader ``grade: true, locked: true``) are kept as they are, so that students can
  run them, and every cell's ``nbgrader`` metadata is kept, so nbgrader accepts the notebooks;
* lines between ``% BEGIN INSTRUCTOR ONLY`` and ``% END INSTRUCTOR ONLY`` (MyST comments, invisible
  in both editions) in a markdown cell or a ``book/*.md`` page are dropped: ``book/api.md`` marks
  the reference of the exercise checkers so, as their docstrings name the expected answers.

Which outputs are cleared
-------------------------
A solution can leak through what it printed or drew, and through every later cell that used its
result (a check cell's ``Correct: ...`` line, a plot of the student's function, a number in a
summary cell). Finding exactly which later cells depend on a solution would need a data-flow
analysis of Python that can be fooled by global state (random seeds, mutated modules), so the
rule here is the simple safe one: **every code cell from the first solution cell on loses its
outputs and execution count**. Cells before it cannot depend on a solution (the course's notebooks
are executed top to bottom by ``make execute``), so they keep their outputs, and as the exercises
come last in each chapter (``COURSE.md``: body, then exercises, then summary) the student website
still shows every figure and number of the chapter's body.

Widget state stored in the notebook metadata is pruned to the widget models that the kept outputs
display (and the models those refer to), so a widget drawn after a solution leaves no state behind.
Execution counts of cleared cells are removed, as are attachments of mark-scheme cells and the
``hide-input`` tag of solution cells (the stub is meant to be seen).

Whole book
----------
:func:`stage_student_book` writes a copy of the book sources (``_config.yml``, ``_toc.yml``,
``book/`` with student notebooks, and what Binder needs to install the package) into a staging
folder with the repository branch in ``_config.yml`` switched to ``student``, so that the Colab,
Binder and repository links of the student website open the student notebooks published on that
branch. ``make book EDITION=student`` builds that folder into ``_build/student/html``.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import nbformat

from .cells import (
    ANSWER_STUB,
    CODE_STUB,
    INSTRUCTOR_BEGIN,
    INSTRUCTOR_END,
    MARK_SCHEME_BEGIN,
    MARK_SCHEME_END,
    SOLUTION_BEGIN,
    SOLUTION_END,
    WIDGET_STATE,
    WIDGET_VIEW,
    is_solution_cell,
    nbgrader,
    source,
)

#: Branch that holds the student edition (what the student website's Colab/Binder links open).
STUDENT_BRANCH = "student"
#: Files and folders, besides ``book/``, copied into the student staging folder: what the book
#: build and Binder need. Tests, benchmarks and CI files stay out (they may contain solutions).
STAGE_FILES = ("_config.yml", "_toc.yml", "requirements.txt", "pyproject.toml", "README.md", "LICENSE")
STAGE_DIRS = ("spatialdrop_edu",)
#: File that marks a folder written by :func:`stage_student_book` (only such a folder is emptied).
STAGE_MARKER = ".student-edition"


class ReleaseError(ValueError):
    """A notebook cannot be released safely (for example a ``BEGIN`` marker without its ``END``)."""


def _replace_regions(text: str, begin: str, end: str, replacement, where: str) -> tuple[str, int]:
    """Replace every ``begin`` … ``end`` line region (markers included) by ``replacement(indent)``.

    Returns the new source and the number of regions replaced. Raises :class:`ReleaseError` on
    unbalanced or nested markers, so a typo can never publish a solution.
    """
    out: list[str] = []
    inside = False
    count = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(begin):
            if inside:
                raise ReleaseError(f"{where}: nested {begin!r}")
            inside = True
            count += 1
            out.extend(replacement(line[: len(line) - len(line.lstrip())]))
        elif stripped.startswith(end):
            if not inside:
                raise ReleaseError(f"{where}: {end!r} without {begin!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ReleaseError(f"{where}: {begin!r} without {end!r}")
    return "\n".join(out), count


def student_source(cell, where: str = "cell") -> str:
    """The student version of one cell's source (unchanged for a cell without solutions)."""
    text = source(cell)
    if cell.get("cell_type") == "code":
        text, _ = _replace_regions(text, SOLUTION_BEGIN, SOLUTION_END, lambda ind: [ind + s for s in CODE_STUB], where)
        # A mark scheme in a code cell (unusual) goes entirely.
        text, _ = _replace_regions(text, MARK_SCHEME_BEGIN, MARK_SCHEME_END, lambda ind: [], where)
        return text
    # markdown / raw
    text, _ = _replace_regions(text, INSTRUCTOR_BEGIN, INSTRUCTOR_END, lambda ind: [], where)
    text, n_schemes = _replace_regions(text, MARK_SCHEME_BEGIN, MARK_SCHEME_END, lambda ind: [], where)
    text, n_solutions = _replace_regions(text, SOLUTION_BEGIN, SOLUTION_END, lambda ind: [ANSWER_STUB], where)
    has_stub = ANSWER_STUB.lower() in text.lower()  # e.g. the author's own "*Your answer here.*"
    if nbgrader(cell).get("solution") and not n_solutions and (not n_schemes or not text.strip()):
        # nbgrader's rule: a markdown solution cell without markers is the answer itself.
        text = ANSWER_STUB
    elif n_schemes and not has_stub:
        text = (text.rstrip() + "\n\n" + ANSWER_STUB).lstrip()
    return text.rstrip()


def _model_refs(value) -> set[str]:
    """Widget model ids that ``value`` refers to: ``"IPY_MODEL_<id>"`` references between models, and the
    ``model_id`` of a widget view that an Output widget's own outputs display."""
    text = json.dumps(value)
    return set(re.findall(r"IPY_MODEL_([0-9a-zA-Z_\-]+)", text)) | set(
        re.findall(r'"model_id": "([0-9a-zA-Z_\-]+)"', text)
    )


def displayed_widget_models(nb) -> set[str]:
    """Ids of the widget models that the outputs of ``nb`` (a notebook or its JSON ``dict``) display."""
    wanted: set[str] = set()
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            view = (out.get("data") or {}).get(WIDGET_VIEW) if isinstance(out, dict) else None
            if isinstance(view, dict) and "model_id" in view:
                wanted.add(view["model_id"])
    return wanted


def widget_models_needed(models: dict, wanted) -> set[str]:
    """The ids of ``wanted`` found in ``models`` (id -> saved state), and of every model they refer to.

    Examples::

        >>> models = {"a": {"state": {"layout": "IPY_MODEL_b"}}, "b": {}, "c": {}}
        >>> sorted(widget_models_needed(models, {"a", "gone"}))
        ['a', 'b']
    """
    keep: set[str] = set()
    todo = list(wanted)
    while todo:
        model_id = todo.pop()
        if model_id in keep or model_id not in models:
            continue
        keep.add(model_id)
        todo.extend(_model_refs(models[model_id]) - keep)
    return keep


def prune_widget_state(nb) -> None:
    """Keep only widget models that a remaining output displays, and the models they reference."""
    widgets = nb.metadata.get("widgets", {})
    state = widgets.get(WIDGET_STATE)
    if not state:
        return
    models = state.get("state", {})
    keep = widget_models_needed(models, displayed_widget_models(nb))
    state["state"] = {k: v for k, v in models.items() if k in keep}
    if not state["state"]:
        del widgets[WIDGET_STATE]
        if not widgets:
            del nb.metadata["widgets"]


def student_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Return the student edition of an instructor notebook (the argument is left unchanged).

    See the module docstring for what is removed and why.

    Raises:
        ReleaseError: unbalanced solution or mark-scheme markers.
    """
    nb = copy.deepcopy(nb)
    clearing = False
    for index, cell in enumerate(nb.cells):
        where = f"{name} cell {index}"
        solution = is_solution_cell(cell)
        if solution:
            cell.source = student_source(cell, where)
            cell.pop("attachments", None)
            tags = cell.get("metadata", {}).get("tags")
            if tags and "hide-input" in tags:
                tags.remove("hide-input")
                if not tags:
                    del cell.metadata["tags"]
            if cell.cell_type == "code":
                clearing = True
        if cell.cell_type == "code" and clearing:
            cell.outputs = []
            cell.execution_count = None
    prune_widget_state(nb)
    return nb


def release_notebook(src, dst) -> nbformat.NotebookNode:
    """Write the student edition of the notebook ``src`` to ``dst`` (validated by nbformat)."""
    src, dst = Path(src), Path(dst)
    nb = nbformat.read(src, as_version=4)
    student = student_notebook(nb, name=src.name)
    nbformat.validate(student)
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(student, dst)
    return student


def release(notebooks, out_dir) -> list[Path]:
    """Write the student edition of each notebook into ``out_dir`` (same file names); return the paths."""
    out_dir = Path(out_dir)
    written = []
    for path in notebooks:
        path = Path(path)
        dst = out_dir / path.name
        if dst.resolve() == path.resolve():
            raise ReleaseError(f"refusing to overwrite the instructor notebook {path}")
        release_notebook(path, dst)
        written.append(dst)
    return written


def _student_config(text: str, branch: str) -> str:
    """``_config.yml`` with the repository branch switched to ``branch`` (only that line changes)."""
    import yaml

    config = yaml.safe_load(text) or {}
    config.setdefault("repository", {})["branch"] = branch
    new, n = re.subn(r"(?m)^(repository:\n(?:[ \t]+.*\n)*?[ \t]+branch:[ \t]*)\S+", lambda m: m.group(1) + branch, text)
    if n == 1 and yaml.safe_load(new) == config:
        return new
    return yaml.safe_dump(config, sort_keys=False)


#: Never copied into the student edition, even when ``_config.yml`` names them: they may hold solutions
#: (tests, benchmarks) or are large and rebuilt anyway.
STAGE_NEVER = ("tests", "benchmarks", "node_modules", "_build", "book")


def _config_paths(root: Path) -> set[str]:
    """Top-level files and folders that ``_config.yml`` names (vendored assets, extensions) but :data:`STAGE_NEVER`."""
    text = (root / "_config.yml").read_text(encoding="utf-8")
    found = set()
    for entry in root.iterdir():
        name = entry.name
        if name.startswith(".") or name in STAGE_NEVER:
            continue
        if re.search(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])", text):
            found.add(name)
    return found


def stage_student_book(root, stage, *, branch: str = STUDENT_BRANCH) -> Path:
    """Write the student edition of the whole book into the folder ``stage`` (emptied first).

    ``stage`` gets ``book/`` (every ``.ipynb`` in its student edition, every page with its
    instructor-only lines dropped, every other file as it is), ``_config.yml`` with
    ``repository.branch: <branch>``, ``_toc.yml``, the files Binder needs (``requirements.txt``,
    ``pyproject.toml``, ``spatialdrop_edu/``), the top-level folders ``_config.yml`` names (such as
    vendored assets), never :data:`STAGE_NEVER`, and a ``.gitignore``. It is what the ``student``
    branch holds, and what ``make book EDITION=student`` builds.
    """
    root, stage = Path(root).resolve(), Path(stage).resolve()
    if stage == root or stage in root.parents or stage == root / "book":
        raise ReleaseError(f"refusing to empty {stage}: choose a folder of its own, e.g. _build/student/src")
    marker = stage / STAGE_MARKER
    if stage.exists() and any(stage.iterdir()) and not marker.exists():
        raise ReleaseError(f"refusing to empty {stage}: it is not empty and was not written by `release --book`")
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    marker.write_text(
        "Written by `python -m spatialdrop_edu release --book`; emptied by the next run.\n", encoding="utf-8"
    )
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "_build")
    for name in STAGE_FILES:
        if (root / name).is_file():
            shutil.copy2(root / name, stage / name)
    for name in sorted(set(STAGE_DIRS) | _config_paths(root)):
        if (root / name).is_dir():
            shutil.copytree(root / name, stage / name, ignore=ignore)
        elif (root / name).is_file():
            shutil.copy2(root / name, stage / name)
    gitignore = (root / ".gitignore").read_text(encoding="utf-8") if (root / ".gitignore").is_file() else ""
    (stage / ".gitignore").write_text(gitignore.rstrip("\n") + "\n_build/\n", encoding="utf-8")
    shutil.copytree(
        root / "book",
        stage / "book",
        ignore=shutil.ignore_patterns("*.ipynb", "__pycache__", ".ipynb_checkpoints", "_build"),
    )
    release(sorted((root / "book").glob("*.ipynb")), stage / "book")
    for page in sorted((stage / "book").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        new, n = _replace_regions(text, INSTRUCTOR_BEGIN, INSTRUCTOR_END, lambda ind: [], str(page.name))
        if n:
            page.write_text(new, encoding="utf-8")
    config = stage / "_config.yml"
    config.write_text(_student_config(config.read_text(encoding="utf-8"), branch), encoding="utf-8")
    return stage
