"""Re-check a submission against the released notebook: cells added or changed, and code that reaches for the grader.

A checker's probe runs in the student's own kernel; the grader judges what it reports
(``spatialdrop_edu.checks._verdict``), so taking that interpreter over changes no verdict by
itself, but it could hand the probe the package's own answers. This module makes such code
visible. It reads the code the submission will run, without running it, and reports for the summary:

* **claims that are not the instructor's**: every cell is accounted for by :func:`.restore.settle_grade_ids`
  before anything else. A cell that claims nbgrader metadata with a ``grade_id`` that the instructor never wrote
  (or none, or one of another cell type) is reported (``unknown grade_id``), and so is a ``grade_id`` claimed by
  several cells (``duplicate grade_id``: the copy that fits the instructor's order stands for it). Whatever such
  a cell claims, it is an added cell;
* **added cells**: code cells that are not in the released (student) notebook, and code cells whose nbgrader
  claim was ignored (even when their code is that of a released cell);
* **changed cells**: cells of the released notebook, other than solution and check cells, whose code
  was changed (check cells are compared, and replaced, by :mod:`.restore`);
* **suspicious code**: in every cell of the student's own code (solution, added and changed cells),
  each of :data:`CATEGORIES` that it touches, such as IPython's kernel (``get_ipython``),
  ``sys.modules``, the checkers, builtins, frames and code objects, code built from strings,
  processes and signals, or paths of the machine. IPython's magics and shell escapes are read the way IPython runs them.

Only a check cell that stands for one of the instructor's check cells is left out of the scan (:mod:`.restore` runs
the instructor's in its place); a solution cell is scanned as the answer to the instructor's ``grade_id``.

It is a tripwire, not a proof: names can be hidden from any reader of code, but hiding them needs
the tools this scan flags (``getattr`` with a computed string, ``exec``, ``__import__``), so a
submission that forges a verdict is flagged. Honest answers to the course's exercises touch none of these.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass

from ..edition.cells import is_check_cell, nbgrader, source
from .restore import settle_grade_ids

#: What each category of suspicious code means, in the words of the summary.
CATEGORIES = {
    "get_ipython": "IPython's shell or kernel (get_ipython, IPython, ipykernel, zmq)",
    "sys.modules": "the module table (sys.modules, importlib, __import__)",
    "checkers": "the checkers (spatialdrop_edu.checks)",
    "builtins": "builtins",
    "frames": "frames, code objects or the garbage collector",
    "dynamic code": "code built at run time (exec, eval, compile, setattr)",
    "processes": "processes, signals or sockets",
    "paths": "paths of the machine (absolute paths, '..', a module's __file__)",
    "magics": "IPython magics or shell commands",
}

_MODULES = {
    "IPython": "get_ipython",
    "ipykernel": "get_ipython",
    "zmq": "get_ipython",
    "jupyter_client": "get_ipython",
    "traitlets": "get_ipython",
    "importlib": "sys.modules",
    "builtins": "builtins",
    "__builtin__": "builtins",
    "ctypes": "frames",
    "cffi": "frames",
    "gc": "frames",
    "inspect": "frames",
    "types": "frames",
    "marshal": "frames",
    "dis": "frames",
    "code": "dynamic code",
    "codeop": "dynamic code",
    "runpy": "dynamic code",
    "subprocess": "processes",
    "multiprocessing": "processes",
    "signal": "processes",
    "socket": "processes",
    "pty": "processes",
    "resource": "processes",
    "asyncio.subprocess": "processes",
    "concurrent": "processes",
}
_NAMES = {
    "get_ipython": "get_ipython",
    "__IPYTHON__": "get_ipython",
    "__import__": "sys.modules",
    "reload": "sys.modules",
    "__builtins__": "builtins",
    "__builtin__": "builtins",
    "exec": "dynamic code",
    "eval": "dynamic code",
    "compile": "dynamic code",
    "setattr": "dynamic code",
    "delattr": "dynamic code",
    "vars": "dynamic code",
    "globals": "dynamic code",
    "_harness": "checkers",
    "_judging": "checkers",
    "_measures": "checkers",
    "_verdict": "checkers",
}
_ATTRIBUTES = {
    "meta_path": "sys.modules",
    "path_hooks": "sys.modules",
    "_harness": "checkers",
    "_judging": "checkers",
    "_measures": "checkers",
    "_verdict": "checkers",
    "_getframe": "frames",
    "settrace": "frames",
    "setprofile": "frames",
    "addaudithook": "frames",
    "f_globals": "frames",
    "f_locals": "frames",
    "f_back": "frames",
    "f_builtins": "frames",
    "f_code": "frames",
    "tb_frame": "frames",
    "gi_frame": "frames",
    "cr_frame": "frames",
    "__globals__": "frames",
    "__code__": "frames",
    "__closure__": "frames",
    "__subclasses__": "frames",
    "__builtins__": "builtins",
    "__mro__": "frames",
    "__bases__": "frames",
    "__dict__": "frames",
    "showtraceback": "get_ipython",
    "input_transformers_post": "get_ipython",
    "input_transformers_cleanup": "get_ipython",
    "__file__": "paths",
}
#: Attributes flagged only on these modules (``model.modules()`` and ``platform.system()`` are innocent).
_MODULE_ATTRIBUTES = {
    "sys": {"modules": "sys.modules"},
    "os": {
        name: "processes"
        for name in (
            "fork",
            "forkpty",
            "setsid",
            "setpgrp",
            "kill",
            "killpg",
            "system",
            "popen",
            "execv",
            "execve",
            "execvp",
            "execl",
            "spawnv",
            "posix_spawn",
        )
    },
}
#: Words that, inside a string, betray a name built at run time to hide it from this scan.
_WORDS = {
    "get_ipython": "get_ipython",
    "builtins": "builtins",
    "sys.modules": "sys.modules",
    "check_": "checkers",
    "_verdict": "checkers",
    "_harness": "checkers",
    "_judging": "checkers",
    "_measures": "checkers",
    "_getframe": "frames",
    "spatialdrop_edu.checks": "checkers",
}
#: The name of a chapter's module of checkers (``ch01_dropout``).
_CHAPTER_MODULE = re.compile(r"^ch\d\d_")
#: A string that names a place of the machine outside the notebook's own folder.
_PATH = re.compile(r"^/(proc|sys|work|root|home|tmp|dev|etc|opt|usr|var|run|mnt|srv|media)(/|$)|(^|/)\.\.(/|$)")
#: Magics that only time, or set up plotting: not flagged.
HARMLESS_MAGICS = {"matplotlib", "time", "timeit"}
_MAGIC_CALLS = {"run_line_magic", "run_cell_magic", "system", "getoutput"}


@functools.lru_cache(maxsize=1)
def _transformer():
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


def python_source(text: str) -> str:
    """A cell's code as IPython runs it: magics and shell escapes become calls (``get_ipython().system(...)``)."""
    try:
        return _transformer().transform_cell(text)
    except Exception:  # IPython could not read it either: the cell will fail when run
        return text


def categories(code: str) -> list[str]:
    """The categories of :data:`CATEGORIES` that a cell's code touches, in the order of :data:`CATEGORIES`.

    Args:
        code: the source of one code cell, IPython syntax allowed.

    Returns:
        The names of the categories found; ``[]`` for code that touches none (or cannot be parsed: it will fail).

    Examples::

        >>> categories("def f(p):\\n    return 1 / (1 - p)")
        []
        >>> categories("get_ipython().showtraceback = lambda *a, **k: None")
        ['get_ipython']
        >>> categories("import builtins\\nfrom spatialdrop_edu import checks\\n"
        ...            "setattr(checks, 'check_x', print)")
        ['checkers', 'builtins', 'dynamic code']
        >>> categories("from spatialdrop_edu import checks\\n"
        ...            "checks.check_inverted_dropout(my_dropout)")
        []
        >>> categories("!ls /\\n%matplotlib inline")
        ['magics']
    """
    try:
        tree = ast.parse(python_source(code))
    except SyntaxError:
        return []
    found: set[str] = set()
    magic_roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MAGIC_CALLS:
            root = node.func.value
            if isinstance(root, ast.Call) and isinstance(root.func, ast.Name) and root.func.id == "get_ipython":
                magic_roots.add(id(root.func))
                name = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
                if node.func.attr in ("system", "getoutput") or name not in HARMLESS_MAGICS:
                    found.add("magics")
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in magic_roots and node.id in _NAMES:
            found.add(_NAMES[node.id])
        elif (
            isinstance(node, ast.Name) and node.id == "checks" and not _calls_a_checker(parents.get(id(node)), parents)
        ):
            found.add("checkers")  # anything done with the checkers' module but calling one of them
        elif isinstance(node, ast.Attribute) and node.attr.startswith("check_"):
            found.add("" if _calls_a_checker(node, parents) else "checkers")
        elif isinstance(node, ast.Attribute) and node.attr in _ATTRIBUTES:
            found.add(_ATTRIBUTES[node.attr])
        elif isinstance(node, ast.Attribute) and (_CHAPTER_MODULE.match(node.attr) or node.attr.endswith("_reference")):
            found.add("checkers")  # a checkers' chapter module, or a reference answer
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            found.add(_MODULE_ATTRIBUTES.get(node.value.id, {}).get(node.attr, ""))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found |= _import_categories(node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found |= {cat for word, cat in _WORDS.items() if word in node.value}
            if _PATH.search(node.value):
                found.add("paths")
    return [c for c in CATEGORIES if c in found]  # "" (an innocent attribute of a watched module) is left out


def _calls_a_checker(node, parents: dict) -> bool:
    """Whether ``node`` is ``<something>.check_<name>`` read to be called at once, as a check cell does."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr.startswith("check_")
        and isinstance(node.ctx, ast.Load)
        and isinstance(parents.get(id(node)), ast.Call)
        and parents[id(node)].func is node
    )


def _import_categories(node) -> set[str]:
    """The categories an import statement touches; importing the checkers (``spatialdrop_edu.checks`` or a
    ``check_*`` function from it) is how a notebook uses them, importing their internals is not."""
    found = set()
    if isinstance(node, ast.Import):
        modules, names = [a.name for a in node.names], []
    else:
        modules, names = [node.module or ""], [a.name for a in node.names]
    for module in modules:
        top = module.split(".")[0]
        if module in _MODULES or top in _MODULES:
            found.add(_MODULES.get(module, _MODULES.get(top)))
        if module.startswith("spatialdrop_edu.checks.") or (
            module == "spatialdrop_edu.checks" and any(not n.startswith("check_") for n in names)
        ):
            found.add("checkers")
    return found


@dataclass
class Finding:
    """What the scan found in one code cell of a submission (``index`` in the submitted notebook)."""

    index: int
    label: str  # "ex-01-1", "added", "changed"
    categories: list[str]


def _released_code(released) -> tuple[dict, set[str]]:
    by_id = {c.get("id"): source(c) for c in released.cells if c.get("cell_type") == "code" and c.get("id")}
    return by_id, {source(c).strip() for c in released.cells if c.get("cell_type") == "code"}


def scan_submission(released, submission) -> tuple[list[str], list[Finding]]:
    """Compare a submission with the released notebook and read its student-written code.

    Args:
        released: the student edition of the instructor notebook (what the student was given).
        submission: the submitted notebook, as handed in (its metadata re-attached if it was stripped:
            :func:`.restore.match_stripped_cells`).

    Returns:
        ``(problems, findings)``: one problem line per claim that is not the instructor's
        (:func:`.restore.settle_grade_ids`: ``"unknown grade_id: ..."``, ``"duplicate grade_id: ..."``), then
        one per kind found (``"added cells: ..."``, ``"changed cells: ..."``, ``"suspicious code: ..."``), and the
        finding of each cell that touches a category. Cell numbers are those of the submission.
    """
    settled = settle_grade_ids(released, submission)
    by_id, released_sources = _released_code(released)
    added, changed, findings = [], [], []
    for index, cell in enumerate(settled.notebook.cells):
        if cell.get("cell_type") != "code" or is_check_cell(cell):
            continue  # settled: a check cell left is one of the instructor's, and restore runs the instructor's
        meta, text = nbgrader(cell), source(cell)
        if meta.get("solution") and meta.get("grade_id"):
            label = meta["grade_id"]
        elif index in settled.ignored:
            label = "added"  # whatever it claimed, the instructor did not write it
            added.append(index)
        elif by_id.get(cell.get("id"), "\0").strip() == text.strip() or text.strip() in released_sources:
            continue
        elif cell.get("id") in by_id:
            label = "changed"
            changed.append(index)
        else:
            label = "added"
            added.append(index)
        touched = categories(text)
        if touched:
            findings.append(Finding(index, label, touched))
    problems = list(settled.problems)
    if added:
        problems.append(
            f"added cells: code cell{'s' * (len(added) > 1)} {_list(added)} of the submission "
            "are not in the released notebook (their code ran)"
        )
    if changed:
        problems.append(
            f"changed cells: cell{'s' * (len(changed) > 1)} {_list(changed)} of the released notebook "
            "were changed (the changed code ran)"
        )
    if findings:
        parts = [
            f"cell {f.index} ({f.label}) touches {', '.join(CATEGORIES[c] for c in f.categories)}" for f in findings
        ]
        problems.append("suspicious code: " + "; ".join(parts) + ": read it before you publish the grade")
    return problems, findings


def _list(numbers) -> str:
    return ", ".join(str(n) for n in numbers)
