"""Check a class's submissions in one command: ``python -m spatialdrop_edu grade``.

    python -m spatialdrop_edu grade submissions/*/*.ipynb --out grades/ [--source book/] [--timeout 300]
        [--max-memory 4G] [--max-processes 256] [--jobs N] [--seed N]
        [--no-sandbox [--allow-root] [--allow-network]]

Who handed in what
    The student is read from the file name: ``<student>__<notebook>.ipynb`` (two underscores), or
    else the folder name, ``<student>/<notebook>.ipynb``. ``<notebook>`` must be the name of an
    instructor notebook in ``--source`` (``01_dropout`` for ``book/01_dropout.ipynb``). A name that
    cannot be a plain file name (:func:`~.records.name_problem`: a slash, ``..``, a line break, the
    name of the batch's own files) and a symbolic link are not graded, and reported; a student who
    handed in the same notebook twice has both graded, both flagged, and two feedback files.

What is graded
    Every autograded check cell of the instructor notebook (nbgrader ``grade: true``, ``solution:
    false``) is worth its ``points`` when its execute reply is ``ok`` and the grader's own judge
    passes what the checkers it calls reported: their probes call the student's code on inputs drawn
    from a seed the grader chose (``--seed``, fresh by default), and the judges run here, outside
    the student's interpreter (:mod:`.scoring`, ``spatialdrop_edu.checks._verdict``); 0
    otherwise. The feedback is the checker's message. Written answers (markdown cells with ``grade:
    true``) are listed with ``status=manual`` and no points: read them in ``summary.md`` or grade
    them in nbgrader. A submission with any problem never reads as a plain pass: its passed cells
    have the status ``flagged``, and ``grades.csv``'s ``problems`` column names the kinds of
    problem.

Check cells come from the instructor copy
    They are matched by their nbgrader ``grade_id`` (:mod:`.restore`): an edited or deleted check
    cell, a deleted solution cell or another deleted cell of the original is put back and reported
    as ``tampered``; a cell claiming a ``grade_id`` the instructor never wrote, or a second cell
    claiming one, counts as added; a notebook whose metadata an editor stripped is matched by
    position and content, graded, and flagged. The submission is also re-checked against the
    released notebook (:mod:`.scan`): added or changed code cells, and code that touches IPython's
    kernel, ``sys.modules``, the checkers, builtins, frames or processes, are flagged. Outputs
    stored in the submission are ignored.

Isolation
    Each submission runs in a fresh kernel in a throwaway sandbox of its own, within the batch's limits
    (``--max-memory``, ``--max-processes``, ``--timeout``, ``--max-output``); what the sandbox holds, and what
    ``--no-sandbox`` leaves unprotected: :mod:`.isolation.policy`.

Outputs (in ``--out``), written by the grader once every sandbox is gone
    ``grades.csv``: one row per student, notebook and graded cell, with the columns
    :data:`~.records.CSV_COLUMNS`; ``summary.md``: totals per student, every problem found, the
    written answers, and the digests (:mod:`.reports`); ``SHA256SUMS``;
    ``<student>/<notebook>.ipynb``: the executed submission, for feedback.
"""

from __future__ import annotations

import hashlib
import queue
import secrets
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from ..._validation import check_positive_int
from ..edition.cells import is_check_cell, is_graded, nbgrader, source
from ..edition.release import student_notebook
from .isolation import uids
from .isolation.launch import Policy, run_submission
from .isolation.policy import MAX_MEMORY, MAX_PROCESSES, kernel_environment, make_policy
from .records import Row, Submission, name_problem, parse_name
from .reports import write_reports
from .restore import restore_instructor_cells
from .scan import scan_submission
from .scoring import expected_checkers, report_run_problems, score_graded_cells


def graded_cells(nb) -> list:
    """The instructor notebook's graded cells (check cells and written answers), in order."""
    return [c for c in nb.cells if is_graded(c)]


def read_submission(sub: Submission, instructor_path: Path):
    """Read the instructor notebook and the submission; return ``(instructor, notebook to run, check cell index)``.

    A submission without most of its nbgrader metadata (:func:`.restore.metadata_stripped`) is first matched to the
    instructor's notebook by position and content (:func:`.restore.match_stripped_cells`). The submission is then
    compared with the instructor's notebook (:mod:`.restore`) and with the released one (:mod:`.scan`); what they
    find goes into ``sub.problems``, and the written answers of the notebook to run into ``sub.answers``. Returns
    ``None`` (with the reason in ``sub``) when either notebook cannot be read.
    """
    from .restore import match_stripped_cells, metadata_stripped

    if not instructor_path.is_file():
        sub.problems.append(f"unknown notebook: no {instructor_path}; is the file named <student>__<notebook>.ipynb?")
        sub.rows.append(Row(sub.student, sub.notebook, "", 0, 0, "unknown-notebook", sub.problems[-1]))
        return None
    instructor = nbformat.read(instructor_path, as_version=4)
    try:  # lenient: notebooks from other editors may break the schema in small ways, and still run
        submitted = nbformat.read(sub.path, as_version=4)
        matching = []
        if metadata_stripped(instructor, submitted):
            submitted, matching = match_stripped_cells(instructor, submitted)
        nb, check_index, tampering = restore_instructor_cells(instructor, submitted)
        flagged, _ = scan_submission(student_notebook(instructor), submitted)
    except Exception as exc:  # not JSON, not a notebook
        sub.problems.append(f"unreadable notebook: {type(exc).__name__}: {str(exc)[:300]}")
        for cell in graded_cells(instructor):
            m = nbgrader(cell)
            sub.rows.append(
                Row(
                    sub.student,
                    sub.notebook,
                    m["grade_id"],
                    0,
                    m.get("points", 0),
                    "unreadable",
                    sub.problems[-1],
                    auto=cell.cell_type == "code",
                )
            )
        return None
    for cell in nb.cells:  # written answers, for the summary (nb: one cell per grade_id, the instructor's metadata)
        m = nbgrader(cell)
        if m.get("grade") and m.get("solution") and cell.get("cell_type") == "markdown":
            sub.answers[m.get("grade_id", "?")] = source(cell)[:3000]
    sub.problems.extend(matching)
    if tampering:
        sub.problems.append("tampered: " + "; ".join(tampering))
    sub.problems.extend(flagged)
    return instructor, nb, check_index


def grade_submission(
    path,
    source_dir,
    private: Path,
    *,
    uid: int,
    timeout: float,
    max_output: int,
    policy: Policy,
    limits: dict,
    env: dict,
    seed: int = 0,
) -> Submission:
    """Grade one submitted notebook in three steps, read, run, score; never raises for anything the submission does.

    Args:
        path: the submitted notebook.
        source_dir: the folder of the instructor notebooks.
        private: an empty folder of the grader's for this submission.
        uid: the user id its sandbox runs as (leased: :func:`.uids.lease`).
        timeout: seconds for the whole notebook.
        max_output: bytes of output kept per cell.
        policy: how it is run (:class:`~.launch.Policy`).
        limits: the batch's limits as the summary describes them (:func:`~.reports.describe_limits`).
        env: the kernel's environment.
        seed: the batch's seed: each check cell's inputs are drawn from :func:`check_seed` of it.
    """
    path = Path(path)
    student, notebook = parse_name(path)
    sub = Submission(path=path, student=student, notebook=notebook, limits=limits)
    read = read_submission(sub, Path(source_dir) / f"{notebook}.ipynb")
    if read is None:
        return sub
    instructor, nb, check_index = read
    checkers = {nbgrader(c)["grade_id"]: expected_checkers(source(c)) for c in instructor.cells if is_check_cell(c)}
    # Only check cells that call a package checker are armed (arming imports the package, which they use anyway).
    armed = {
        i: {"grade_id": gid, "seed": check_seed(seed, student, notebook, gid)}
        for gid, i in check_index.items()
        if checkers.get(gid)
    }
    start = time.perf_counter()
    result = run_submission(
        nb,
        private,
        notebook_name=f"{notebook}.ipynb",
        uid=uid,
        timeout=timeout,
        max_output=max_output,
        policy=policy,
        env=env,
        checks=armed,
    )
    sub.seconds = time.perf_counter() - start
    sub.runner_memory = int(result.get("runner_max_rss") or 0)
    run_problem = report_run_problems(sub, result, check_index, timeout=timeout, max_output=max_output)
    score_graded_cells(sub, graded_cells(instructor), nb, check_index, result, run_problem, checkers)
    executed = private / "executed.ipynb"
    if executed.exists():
        sub.executed = executed
    return sub


def check_seed(batch_seed: int, student: str, notebook: str, grade_id: str) -> int:
    """The seed one check cell's inputs are drawn from: the batch's seed, the student, the notebook and the cell.

    A new batch seed (``grade``'s default) draws new inputs for every check; the same seed draws the
    same ones again, so a batch can be graded twice with the same results.

    Examples::

        >>> cell = ("alice", "01_dropout", "ex-01-1-check")
        >>> check_seed(7, *cell) == check_seed(7, *cell)
        True
        >>> check_seed(7, *cell) == check_seed(8, *cell)
        False
    """
    text = f"{batch_seed}\0{student}\0{notebook}\0{grade_id}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> 2


def _notes_for(paths, source_dir) -> list[str]:
    """Header lines for the summary: check cells decided by their reply alone (they call no package checker)."""
    inline = []
    for name in sorted({parse_name(p)[1] for p in paths}):
        path = Path(source_dir) / f"{name}.ipynb"
        if path.is_file():
            nb = nbformat.read(path, as_version=4)
            inline += [
                nbgrader(c)["grade_id"] for c in nb.cells if is_check_cell(c) and not expected_checkers(source(c))
            ]
    if not inline:
        return []
    return [
        f"Check cells {', '.join(inline)} call no checker of spatialdrop_edu.checks: each is decided by its "
        "kernel's execute reply alone (no verdict channel)."
    ]


def not_graded(path: Path, limits: dict | None) -> Submission | None:
    """The submission at ``path`` as reported without running it, where it must not run; else ``None``.

    Its names must be plain (:func:`~.records.name_problem`), and it must not be a symbolic link (a link
    could point the grader at any file it may read).
    """
    student, notebook = parse_name(path)
    why = name_problem(student, notebook)
    if why is not None:
        why = f"invalid name: {why}"
    elif path.is_symlink():
        why = "symbolic link: a submission must be a file of its own, not a link"
    if why is None:
        return None
    sub = Submission(path, student, notebook, problems=[why], limits=limits)
    sub.rows.append(Row(student, notebook, "", 0, 0, "not-graded", why))
    return sub


def flag_duplicates(submissions: list[Submission]) -> None:
    """A student's notebook handed in more than once: every copy is flagged, naming the others' files."""
    seen: dict[tuple[str, str], list[Submission]] = {}
    for sub in submissions:
        seen.setdefault((sub.student, sub.notebook), []).append(sub)
    for copies in seen.values():
        if len(copies) > 1:
            for sub in copies:
                others = ", ".join(str(c.path) for c in copies if c is not sub)
                sub.problems.append(
                    f"duplicate: {sub.student} handed in {sub.notebook} {len(copies)} times; also {others}"
                )


def write_feedback(sub: Submission, out_dir: Path, written: set[Path]) -> None:
    """Copy the executed notebook to ``<out>/<student>/<notebook>.ipynb`` (``.2.ipynb``, ... for a duplicate).

    Only under ``out_dir``, and never over a file this batch wrote for another submission (``written``, updated);
    a failure to write is the submission's problem, not the batch's.
    """
    if sub.executed is None:
        return
    folder = out_dir / sub.student
    try:
        if folder.resolve().parent != out_dir.resolve():
            raise OSError(f"{folder} is not a folder of its own under {out_dir}")
        folder.mkdir(parents=True, exist_ok=True)
        dst, k = folder / f"{sub.notebook}.ipynb", 1
        while dst in written:
            k += 1
            dst = folder / f"{sub.notebook}.{k}.ipynb"
        shutil.copyfile(sub.executed, dst)
        written.add(dst)
        sub.executed = dst
    except OSError as exc:
        sub.problems.append(f"feedback not written: {type(exc).__name__}: {exc}")
        sub.executed = None


def grade(
    paths,
    out_dir,
    *,
    source_dir="book",
    timeout: float = 300,
    max_output: int = 100_000,
    max_memory: int = MAX_MEMORY,
    max_processes: int = MAX_PROCESSES,
    jobs: int = 1,
    sandbox: bool = True,
    allow_network: bool = False,
    allow_root: bool = False,
    seed: int | None = None,
    log=print,
) -> list[Submission]:
    """Grade every submission in ``paths``, ``jobs`` at a time, each in its own sandbox; write the reports.

    Args:
        paths: the submitted notebooks.
        out_dir: the output folder (created; never visible to a submission).
        source_dir: the folder of the instructor notebooks.
        timeout: seconds each notebook may run.
        max_output: bytes of output kept per cell.
        max_memory: bytes of memory each submission may use (0: no limit).
        max_processes: processes and threads each submission may run (0: no limit).
        jobs: how many submissions are graded at once, each in its own sandbox.
        sandbox: False grades without a sandbox (``--no-sandbox``); see :mod:`.unsandboxed`.
        allow_network: without a sandbox, leave kernels the network.
        allow_root: without a sandbox, grade as root all the same.
        seed: the seed the checks' inputs are drawn from (:func:`check_seed`); ``None``: a fresh one, which the
            summary names, so that the same batch can be graded again with the same inputs.
        log: where progress lines and the digests go.

    Returns:
        The submissions, in the order of ``paths``; with the same ``seed``, ``grades.csv`` and ``summary.md``
        are the same whatever ``jobs``.

    Raises:
        ~spatialdrop_edu.course.grading.isolation.policy.GradingRefused: see
            :func:`~spatialdrop_edu.course.grading.isolation.policy.make_policy`.

    Examples::

        grade(["submissions/alice/01_dropout.ipynb"], "grades", jobs=2)
    """
    paths = [Path(p) for p in paths]
    jobs = check_positive_int(jobs, "jobs", "how many submissions are graded at once")
    for name, value in (("max_memory", max_memory), ("max_processes", max_processes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an int >= 0 (0: no limit), got {value!r}.")
    if not timeout > 0:
        raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}.")
    if seed is None:
        seed = secrets.randbelow(2**63)
    elif isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0 (or None: a fresh one), got {seed!r}.")
    out_dir = Path(out_dir)
    private_paths = [Path(source_dir), out_dir, *{p.parent for p in paths}]
    policy, limits = make_policy(
        timeout=timeout,
        max_memory=max_memory,
        max_processes=max_processes,
        use_sandbox=sandbox,
        allow_network=allow_network,
        allow_root=allow_root,
        private=private_paths,
        log=log,
    )
    limits["seed"] = seed
    env = kernel_environment(sandbox)
    out_dir.mkdir(parents=True, exist_ok=True)
    free: queue.Queue[int] = queue.Queue()  # the leased user ids of the sandboxes not running now
    done = [0]

    def one(n: int, path: Path, tmp: Path) -> Submission:
        refused = not_graded(path, limits)
        if refused is not None:
            done[0] += 1
            log(f"[{done[0]}/{len(paths)}] not graded: {refused.problems[0]}", flush=True)
            return refused
        uid = free.get()
        try:
            sub = grade_submission(
                path,
                source_dir,
                tmp / str(n),
                uid=uid,
                timeout=timeout,
                max_output=max_output,
                policy=policy,
                limits=limits,
                env=env,
                seed=seed,
            )
        except Exception as exc:  # a bug of ours must not stop the batch either
            student, notebook = parse_name(path)
            sub = Submission(
                path, student, notebook, problems=[f"grading error: {type(exc).__name__}: {exc}"], limits=limits
            )
            sub.rows.append(Row(student, notebook, "", 0, 0, "error", sub.problems[-1]))
        finally:
            free.put(uid)
        done[0] += 1
        got, of = sub.points()
        flags = f"  [{'; '.join(sub.kinds())}]" if sub.problems else ""
        log(
            f"[{done[0]}/{len(paths)}] {sub.student} {sub.notebook}: {got:g}/{of:g} ({sub.seconds:.1f} s){flags}",
            flush=True,
        )
        return sub

    with tempfile.TemporaryDirectory(prefix="spatialdrop-grade-") as tmp, uids.lease(jobs) as leased:
        for uid in leased:
            free.put(uid)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            submissions = list(pool.map(lambda item: one(item[0], item[1], Path(tmp)), enumerate(paths)))
        flag_duplicates(submissions)
        # Every sandbox is gone now: only the grader writes the results.
        written: set[Path] = set()
        for sub in submissions:
            write_feedback(sub, out_dir, written)
            sub.flag()
    digests = write_reports(submissions, out_dir, _notes_for(paths, source_dir))
    for name, digest in digests.items():
        log(f"sha256 {digest}  {out_dir / name}", flush=True)
    return submissions
