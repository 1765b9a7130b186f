"""Check a class's submissions in one command: ``python -m spatialdrop_edu grade``.

    python -m spatialdrop_edu grade submissions/*/*.ipynb --out grades/ [--source book/] [--timeout 300]
        [--max-memory 4G] [--max-processes 256] [--allow-network]

Who handed in what
    The student is read from the file name: ``<student>__<notebook>.ipynb`` (two underscores),
    or else the folder name, ``<student>/<notebook>.ipynb``. ``<notebook>`` must be the name of an
    instructor notebook in ``--source`` (``01_dropout`` for ``book/01_dropout.ipynb``).

What is graded
    Every autograded check cell of the instructor notebook (nbgrader ``grade: true``,
    ``solution: false``) is worth its ``points`` when it runs without an error and 0 when it
    raises; the feedback is the checker's message (``ExerciseFailure: ...``). Written answers
    (markdown cells with ``grade: true``) are listed with ``status=manual`` and no points: read
    them in ``summary.md`` or grade them in nbgrader.

Check cells come from the instructor copy
    They are matched by their nbgrader ``grade_id``. A submission whose check cell was edited or
    deleted, whose solution cells were deleted, or whose other cells of the original notebook
    were deleted, is reported as ``tampered`` and graded with the instructor's check cells (and
    the deleted cells) put back in their places; a deleted solution cell comes back as the
    student stub, which earns nothing. Outputs stored in the submission are ignored.

Isolation, honestly
    Each submission runs in its own process, with a fresh kernel, in a fresh working folder,
    with a time limit for the whole notebook (``--timeout``) and a cap on the output kept per
    cell (``--max-output``). The kernel, and every process it starts, gets the limits an ordinary
    process can have (set by ``grade_runner.py``, which starts the kernel): address space
    (``--max-memory``, default 4 GiB), CPU seconds (``--timeout`` times the number of cores: as
    much as the machine can give in ``--timeout``; it stops what a submission leaves running in
    the background), processes and threads (``--max-processes`` more than the user runs when the
    kernel starts; Linux does not apply this limit to root) and, where unprivileged user
    namespaces are allowed, no network at all (``unshare --net``; ``--allow-network`` turns this
    off). A notebook that raises, hangs, floods its output, exits its kernel, runs out of memory,
    processes or CPU time, tries to reach the network, or tampers with its cells is reported as
    such and never stops the batch; ``summary.md`` says which limits were in force. **This is not
    a sandbox**: a submission runs as you, can read and write your files, and code in a solution
    cell can redefine the checkers it is checked with. For a class you do not trust, run the
    command in a container without network (see the instructor guide).

Outputs (in ``--out``)
    ``grades.csv``: one row per student, notebook and graded cell, with the columns
    :data:`CSV_COLUMNS`; ``summary.md``: totals per student, every problem found, the written
    answers; ``<student>/<notebook>.ipynb``: the executed submission, for feedback.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from .cells import ANSWER_STUB, format_points, grading_fields, is_check_cell, is_graded, nbgrader, source
from .release import student_source

#: The columns of grades.csv, in order.
CSV_COLUMNS = ("student", "notebook", "grade_id", "points", "max_points", "status", "feedback")
#: Extra seconds the grading process waits, beyond ``--timeout``, for a child to start its kernel and stop it.
GRACE_S = 60
RUNNER = Path(__file__).with_name("grade_runner.py")
#: Default limits of each kernel: bytes of address space, and processes and threads beyond those already running.
MAX_MEMORY = 4 * 2**30
MAX_PROCESSES = 256


def parse_size(text) -> int:
    """Bytes from ``"4G"``, ``"512M"``, ``"100k"`` or a number of bytes; ``0`` means no limit.

    >>> parse_size("4G"), parse_size("512M"), parse_size("0")
    (4294967296, 536870912, 0)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)i?[bB]?\s*", str(text))
    if not match:
        raise ValueError(f"a size is a number of bytes or a number with K, M, G or T (such as 4G), not {text!r}")
    return int(float(match[1]) * 1024 ** " KMGT".index(match[2].upper() or " "))


def format_size(n: int) -> str:
    """``4 GiB``, ``512 MiB``.

    >>> format_size(4 * 2**30), format_size(512 * 2**20)
    ('4 GiB', '512 MiB')
    """
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} B"


def cpu_seconds(timeout: float) -> int:
    """The CPU time limit per process: what all cores can give in ``timeout`` seconds of wall-clock time."""
    return math.ceil(timeout) * (os.cpu_count() or 1)


@dataclass
class Row:
    """One line of ``grades.csv``. ``points`` is ``None`` for a written answer graded by hand."""

    student: str
    notebook: str
    grade_id: str
    points: float | None
    max_points: float
    status: str  # passed, failed, error, timeout, not-run, manual, unreadable, unknown-notebook
    feedback: str
    auto: bool = True  # False for a written answer (not in the CSV; totals count autograded rows only)


@dataclass
class Submission:
    """What grading found about one submitted notebook."""

    path: Path
    student: str
    notebook: str
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # each "<kind>: <detail>"
    answers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    executed: Path | None = None
    limits: dict | None = None  # what the kernel was limited by (grade_runner.kernel_limits)


def parse_name(path) -> tuple[str, str]:
    """``(student, notebook)`` from a submission's path: ``<student>__<nb>.ipynb`` or ``<student>/<nb>.ipynb``."""
    path = Path(path)
    if "__" in path.stem:
        student, notebook = path.stem.split("__", 1)
    else:
        student, notebook = path.parent.name, path.stem
    return student or "unknown", notebook


def graded_cells(nb) -> list:
    """The instructor notebook's graded cells (check cells and written answers), in order."""
    return [c for c in nb.cells if is_graded(c)]


class _Restorer:
    """Puts the instructor's cells back into a copy of a submission, one kind of cell at a time.

    ``cursor`` is the index of the last cell matched so far, so a put-back cell lands right after
    the cell that precedes it in the instructor notebook.
    """

    def __init__(self, instructor, submission):
        self.instructor = instructor
        self.cells = [copy.deepcopy(c) for c in submission.cells]
        self.problems: list[str] = []
        self.placed: dict[str, object] = {}
        self.cursor = -1
        self.by_grade_id: dict[str, list] = {}
        for cell in self.cells:
            if grade_id := nbgrader(cell).get("grade_id"):
                self.by_grade_id.setdefault(grade_id, []).append(cell)
        instructor_ids = {c.get("id") for c in instructor.cells if c.get("id")}
        self.by_id = {c.get("id"): c for c in self.cells if c.get("id")}
        # Cell ids are compared only when the submission kept most of them (a notebook saved by another editor may not).
        self.match_ids = bool(instructor_ids) and len(instructor_ids & set(self.by_id)) >= len(instructor_ids) / 2

    def position(self, cell) -> int:
        return next(i for i, c in enumerate(self.cells) if c is cell)

    def insert(self, cell) -> None:
        self.cells.insert(self.cursor + 1, cell)
        self.cursor += 1

    def restore_check_cell(self, icell) -> None:
        """The instructor's check cell replaces the student's copy, or comes back if it was deleted."""
        gid = nbgrader(icell)["grade_id"]
        fresh = copy.deepcopy(icell)
        found = self.by_grade_id.get(gid, [])
        for extra in found[1:]:
            self.problems.append(f"another cell claims the grade_id of check cell {gid}: its nbgrader metadata was removed")
            extra.metadata.pop("nbgrader", None)
        if found:
            old = found[0]
            if source(old).strip() != source(icell).strip() or old.get("cell_type") != icell.cell_type:
                self.problems.append(f"check cell {gid} was edited: the instructor's version was run")
            elif grading_fields(old) != grading_fields(icell):
                self.problems.append(f"metadata of check cell {gid} was changed: the instructor's was used")
            self.cells[self.position(old)] = fresh
            self.cursor = self.position(fresh)
        else:
            self.problems.append(f"check cell {gid} was deleted: the instructor's version was put back")
            self.insert(fresh)
        self.placed[gid] = fresh

    def restore_solution_cell(self, icell) -> None:
        """A deleted solution cell comes back as the student stub, which earns nothing."""
        gid = nbgrader(icell)["grade_id"]
        found = self.by_grade_id.get(gid, [])
        if found:
            self.cursor = self.position(found[0])
            return
        stub = copy.deepcopy(icell)
        stub.source = student_source(icell) if icell.cell_type == "code" else ANSWER_STUB
        self.problems.append(f"solution cell {gid} was deleted: the student stub was put back")
        self.insert(stub)

    def restore_deleted_cell(self, icell) -> None:
        """Any other code cell of the original notebook that was deleted comes back (matched by cell id)."""
        if icell.id in self.by_id:
            self.cursor = max(self.cursor, self.position(self.by_id[icell.id]))
        elif icell.cell_type == "code":
            self.problems.append(f"cell {icell.id} of the original notebook was deleted: it was put back")
            self.insert(copy.deepcopy(icell))


def restore_instructor_cells(instructor, submission) -> tuple[nbformat.NotebookNode, dict[str, int], list[str]]:
    """The notebook to run: the submission with the instructor's check cells (and deleted cells) in place.

    Three steps, as nbgrader's preprocessors: restore the check cells, restore deleted cells,
    clear outputs. Returns the notebook, the index of each check cell by ``grade_id``, and the
    tampering found (empty for an untouched submission). Only what decides the grading is compared
    (source, cell type, ``grade_id``, points, ...), not metadata that nbgrader adds on release.
    """
    restorer = _Restorer(instructor, submission)
    for icell in instructor.cells:
        meta = nbgrader(icell)
        if is_check_cell(icell):
            restorer.restore_check_cell(icell)
        elif meta.get("grade_id") and meta.get("solution"):
            restorer.restore_solution_cell(icell)
        elif restorer.match_ids and icell.get("id"):
            restorer.restore_deleted_cell(icell)
    nb = copy.deepcopy(submission)
    nb.cells = restorer.cells
    clear_outputs(nb)
    return nb, {gid: restorer.position(cell) for gid, cell in restorer.placed.items()}, restorer.problems


def clear_outputs(nb) -> None:
    """Drop every stored output, execution count and widget state: only what runs now counts."""
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_submission(nb, workdir: Path, *, timeout: float, max_output: int, max_memory: int = MAX_MEMORY,
                   max_processes: int = MAX_PROCESSES, allow_network: bool = False) -> dict:
    """Run a prepared notebook in a child process (fresh kernel) and return the runner's result."""
    from .execute import NOTEBOOK_ENV

    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "cwd").mkdir(exist_ok=True)
    notebook = workdir / "prepared.ipynb"
    result = workdir / "result.json"
    nbformat.write(nb, notebook)
    env = {**os.environ, **NOTEBOOK_ENV, "MPLBACKEND": "Agg"}
    cmd = [sys.executable, str(RUNNER), str(notebook), str(result), "--timeout", str(timeout),
           "--max-output", str(max_output), "--cwd", str(workdir / "cwd"), "--max-memory", str(max_memory),
           "--max-cpu", str(cpu_seconds(timeout)), "--max-processes", str(max_processes)]
    if not allow_network:
        cmd.append("--no-network")
    with open(workdir / "runner.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        try:
            proc.wait(timeout=timeout + GRACE_S)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.wait()
            return {"cells": None, "problem": {"kind": "killed", "message": f"no result after {timeout + GRACE_S:g} s"}}
    if not result.exists():
        tail = (workdir / "runner.log").read_text(errors="replace")[-1500:]
        return {"cells": None, "problem": {"kind": "runner", "message": f"runner exited with {proc.returncode}: {tail}"}}
    return json.loads(result.read_text(encoding="utf-8"))


def _solution_errors(nb, cells_result, gid: str) -> str:
    """Errors raised by the solution cells of the exercise a check cell belongs to (``ex-01-1`` for ``ex-01-1-check``)."""
    exercise = gid[: -len("-check")] if gid.endswith("-check") else gid
    notes = []
    for index, cell in enumerate(nb.cells):
        meta = nbgrader(cell)
        gid_ = meta.get("grade_id", "")
        if meta.get("solution") and (gid_ == exercise or gid_.startswith(exercise + "-")) and cells_result[index].get("error"):
            err = cells_result[index]["error"]
            notes.append(f"your solution cell {meta['grade_id']} raised {err['ename']}: {err['evalue']}")
    return "; ".join(notes)


def grade_submission(path, source_dir, workdir: Path, *, timeout: float, max_output: int, **limits) -> Submission:
    """Grade one submitted notebook in three steps, read, run, score; never raises for anything the submission does."""
    path = Path(path)
    student, notebook = parse_name(path)
    sub = Submission(path=path, student=student, notebook=notebook)
    read = read_submission(sub, Path(source_dir) / f"{notebook}.ipynb")
    if read is None:
        return sub
    instructor, nb, check_index = read
    start = time.perf_counter()
    result = run_submission(nb, workdir, timeout=timeout, max_output=max_output, **limits)
    sub.seconds = time.perf_counter() - start
    sub.limits = result.get("limits")
    run_problem = report_run_problems(sub, result, check_index, timeout=timeout, max_output=max_output)
    score_graded_cells(sub, graded_cells(instructor), nb, check_index, result, run_problem)
    executed = workdir / "executed.ipynb"
    if executed.exists():
        sub.executed = executed
    return sub


def read_submission(sub: Submission, instructor_path: Path):
    """Read the instructor notebook and the submission; return ``(instructor, notebook to run, check cell index)``.

    Returns ``None`` (with the reason in ``sub``) when either cannot be read.
    """
    if not instructor_path.is_file():
        sub.problems.append(f"unknown notebook: no {instructor_path}; is the file named <student>__<notebook>.ipynb?")
        sub.rows.append(Row(sub.student, sub.notebook, "", 0, 0, "unknown-notebook", sub.problems[-1]))
        return None
    instructor = nbformat.read(instructor_path, as_version=4)
    try:  # lenient: notebooks from other editors may break the schema in small ways, and still run
        submitted = nbformat.read(sub.path, as_version=4)
        nb, check_index, tampering = restore_instructor_cells(instructor, submitted)
    except Exception as exc:  # not JSON, not a notebook
        sub.problems.append(f"unreadable notebook: {type(exc).__name__}: {str(exc)[:300]}")
        for cell in graded_cells(instructor):
            m = nbgrader(cell)
            sub.rows.append(Row(sub.student, sub.notebook, m["grade_id"], 0, m.get("points", 0), "unreadable",
                                sub.problems[-1], auto=cell.cell_type == "code"))
        return None
    for cell in submitted.cells:  # written answers, for the summary
        m = nbgrader(cell)
        if m.get("grade") and m.get("solution") and cell.get("cell_type") == "markdown":
            sub.answers[m.get("grade_id", "?")] = source(cell)[:3000]
    if tampering:
        sub.problems.append("tampered: " + "; ".join(tampering))
    return instructor, nb, check_index


def report_run_problems(sub: Submission, result: dict, check_index: dict, *, timeout: float, max_output: int) -> str:
    """Add what went wrong while running (timeout, dead kernel, floods, errors) to ``sub``; return the run's own problem."""
    problem = result.get("problem")
    cells_result = result.get("cells")
    run_problem = ""
    if problem:
        kind = problem["kind"]
        if kind == "timeout":
            run_problem = f"timeout: still running after {timeout:g} s in cell {problem['cell']}; later cells were not run"
        elif kind == "dead" and problem.get("signal") == "SIGXCPU":
            run_problem = (f"CPU time limit: the kernel used {(sub.limits or {}).get('cpu', '?')} CPU seconds and was "
                           f"stopped in cell {problem['cell']}; later cells were not run")
        elif kind == "dead":
            how = f", {problem['signal']}" if problem.get("signal") else ""
            run_problem = f"kernel died: in cell {problem['cell']} (exit, crash or out of memory{how}); later cells were not run"
        else:
            run_problem = f"grading failed: ({kind}) {problem.get('message', '')}"
            if "Kernel died before replying" in run_problem and (sub.limits or {}).get("memory"):
                run_problem += f" (is --max-memory {format_size(sub.limits['memory'])} too small for a kernel?)"
        sub.problems.append(run_problem)
    if cells_result:
        for index, size in [(i, n) for i, c in enumerate(cells_result) if (n := c.get("flooded"))]:
            sub.problems.append(f"output flood: cell {index} printed {size / 1e6:.1f} MB; only the first {max_output / 1e3:g} kB were kept")
        stopped = problem.get("cell") if problem else None
        errors = [i for i, c in enumerate(cells_result)
                  if c.get("error") and i not in check_index.values() and i != stopped]
        if errors:
            sub.problems.append(f"errors: cells {', '.join(map(str, errors))} raised (check cells not counted)")
        sub.problems.extend(limit_problems(cells_result, sub.limits or {}))
    return run_problem


#: How an error raised in a cell shows which limit it ran into: (kind, exception names, words of the message).
LIMIT_ERRORS = (
    ("memory", ("MemoryError", "_ArrayMemoryError", "OutOfMemoryError"),
     ("Cannot allocate memory", "can't allocate memory", "Unable to allocate", "std::bad_alloc")),
    ("processes", ("BlockingIOError",), ("Resource temporarily unavailable", "can't start new thread")),
    ("network", ("gaierror",), ("Network is unreachable", "Temporary failure in name resolution",
                                "Name or service not known", "Errno 101")),
)


def limit_problems(cells_result, limits: dict) -> list[str]:
    """One problem per limit that a cell's error shows the submission ran into ("memory limit: cell 5 ...")."""
    found: dict[str, list[tuple[int, dict]]] = {}
    for index, cell in enumerate(cells_result):
        err = cell.get("error")
        if not err:
            continue
        for kind, names, words in LIMIT_ERRORS:
            if err["ename"] in names or any(w in err["evalue"] for w in words):
                found.setdefault(kind, []).append((index, err))
                break
    problems = []
    for kind, hits in found.items():
        cells = ", ".join(str(i) for i, _ in hits)
        first = hits[0][1]
        what = f"{first['ename']}: {first['evalue'][:160]}"
        if kind == "memory":
            limit = limits.get("memory")
            head = "memory limit" if limit else "out of memory"
            tail = f"; a kernel may use {format_size(limit)} of address space (--max-memory)" if limit else ""
            problems.append(f"{head}: cell {cells} ran out of memory ({what}){tail}")
        elif kind == "processes":
            limit = limits.get("processes")
            head = "process limit" if limit else "out of processes"
            tail = f"; a kernel may start {limit} processes and threads (--max-processes)" if limit else ""
            problems.append(f"{head}: cell {cells} could not start a process or thread ({what}){tail}")
        elif limits.get("network") == "blocked":
            problems.append(f"network blocked: cell {cells} tried to use the network ({what}); kernels have none")
        else:
            problems.append(f"network error: cell {cells} ({what})")
    return problems


def describe_limits(limits: dict | None) -> str:
    """One line for the summary: what each kernel was limited by, and what could not be limited here."""
    if not limits:
        return "Limits of each kernel: unknown (no submission ran)."
    parts = [f"memory {format_size(limits['memory'])}" if limits["memory"] else "memory not limited"]
    parts.append(f"CPU time {limits['cpu']} s per process" if limits["cpu"] else "CPU time not limited")
    parts.append(f"{limits['processes']} more processes and threads" if limits["processes"] else "processes not limited")
    parts.append("network blocked" if limits["network"] == "blocked" else "network not isolated")
    line = "Limits of each kernel: " + ", ".join(parts) + "."
    if limits.get("notes"):
        line += " " + "; ".join(n[0].upper() + n[1:] for n in limits["notes"]) + "."
    return line


def score_graded_cells(sub: Submission, items, nb, check_index: dict, result: dict, run_problem: str) -> None:
    """One row per graded cell: a check cell's points if it ran without an error; written answers by hand."""
    problem = result.get("problem")
    cells_result = result.get("cells")
    row = lambda *args, **kw: sub.rows.append(Row(sub.student, sub.notebook, *args, **kw))  # noqa: E731
    for cell in items:
        m = nbgrader(cell)
        gid, max_points = m["grade_id"], m.get("points", 0)
        if cell.cell_type == "markdown":
            answer = sub.answers.get(gid)
            feedback = "written answer: grade it by hand (summary.md lists it)"
            if answer is None or answer.strip() in ("", ANSWER_STUB, student_source(cell).strip()):
                feedback = "written answer: not answered"
            row(gid, None, max_points, "manual", feedback, auto=False)
            continue
        if not cells_result:
            row(gid, 0, max_points, "error", run_problem or "not run")
            continue
        outcome = cells_result[check_index[gid]]
        if not outcome["ran"] and not outcome.get("error"):
            row(gid, 0, max_points, "not-run", f"not run: {run_problem}")
        elif outcome.get("error"):
            err = outcome["error"]
            status = "timeout" if err["ename"] == "TimeoutError" and problem and problem["kind"] == "timeout" else "failed"
            feedback = f"{err['ename']}: {err['evalue']}".strip()
            extra = _solution_errors(nb, cells_result, gid)
            if extra:
                feedback += f" ({extra})"
            row(gid, 0, max_points, status, feedback)
        else:
            lines = [ln for ln in outcome.get("stdout_head", "").splitlines() if ln.startswith("Correct")]
            row(gid, max_points, max_points, "passed", lines[0] if lines else "passed")


def write_reports(submissions: list[Submission], out_dir: Path) -> None:
    """Write ``grades.csv`` and ``summary.md`` into ``out_dir``."""
    with open(out_dir / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for sub in submissions:
            for row in sub.rows:
                d = asdict(row)
                d["points"], d["max_points"] = format_points(row.points), format_points(row.max_points)
                writer.writerow([d[c] for c in CSV_COLUMNS])
    limits = next((s.limits for s in submissions if s.limits), None)
    lines = ["# Grades", "", f"{len(submissions)} submission(s). Autograded points only; written answers are graded by hand.", "",
             describe_limits(limits), "",
             "| student | notebook | points | of | problems |", "|---|---|---|---|---|"]
    for sub in submissions:
        auto = [r for r in sub.rows if r.auto]
        got = sum(r.points or 0 for r in auto)
        of = sum(r.max_points for r in auto)
        flag = "; ".join(p.split(":")[0] for p in sub.problems) or "none"
        lines.append(f"| {sub.student} | {sub.notebook} | {format_points(got)} | {format_points(of)} | {flag} |")
    for sub in submissions:
        lines += ["", f"## {sub.student}: {sub.notebook}", "", f"File: `{sub.path}` ({sub.seconds:.1f} s)", ""]
        for problem in sub.problems:
            lines.append(f"- **{problem}**")
        if sub.problems:
            lines.append("")
        for row in sub.rows:
            pts = "by hand" if row.points is None else f"{format_points(row.points)}/{format_points(row.max_points)}"
            lines.append(f"- `{row.grade_id}` {pts} ({row.status}): {row.feedback}")
        for gid, answer in sub.answers.items():
            quoted = "\n".join("> " + ln for ln in answer.splitlines()) or "> (empty)"
            lines += ["", f"Written answer `{gid}`:", "", quoted]
    (out_dir / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def grade(paths, out_dir, *, source_dir="book", timeout: float = 300, max_output: int = 100_000,
          max_memory: int = MAX_MEMORY, max_processes: int = MAX_PROCESSES, allow_network: bool = False,
          log=print) -> list[Submission]:
    """Grade every submission in ``paths`` one after the other; write the reports into ``out_dir``.

    ``max_memory`` (bytes) and ``max_processes`` limit each kernel (0: no limit); ``allow_network``
    leaves it the network (by default it has none where the system allows that).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    submissions = []
    with tempfile.TemporaryDirectory(prefix="spatialdrop-grade-") as tmp:
        for n, path in enumerate(paths):
            try:
                sub = grade_submission(path, source_dir, Path(tmp) / str(n), timeout=timeout, max_output=max_output,
                                       max_memory=max_memory, max_processes=max_processes, allow_network=allow_network)
            except Exception as exc:  # a bug of ours must not stop the batch either
                student, notebook = parse_name(path)
                sub = Submission(Path(path), student, notebook, problems=[f"grading error: {type(exc).__name__}: {exc}"])
                sub.rows.append(Row(student, notebook, "", 0, 0, "error", sub.problems[-1]))
            executed = sub.executed
            if executed is not None:
                dst = out_dir / sub.student / f"{sub.notebook}.ipynb"
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(executed, dst)
            auto = [r for r in sub.rows if r.auto]
            log(f"{sub.student} {sub.notebook}: {format_points(sum(r.points or 0 for r in auto))}/{format_points(sum(r.max_points for r in auto))}"
                + (f"  [{'; '.join(p.split(':')[0] for p in sub.problems)}]" if sub.problems else ""), flush=True)
            submissions.append(sub)
    write_reports(submissions, out_dir)
    return submissions
