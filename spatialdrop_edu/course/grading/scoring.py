"""Turn what the runner saw into points and problems: a check counts only with an ``ok`` reply and the grader's judge.

A check cell earns its points when

1. its execute reply is ``ok`` (an error the kernel reports counts even when the traceback was
   hidden from the outputs), and
2. every checker of ``spatialdrop_edu.checks`` that the instructor's check cell calls (read from
   its code: :func:`expected_checkers`) sent a report of what its probe saw, with the nonce the
   runner sent for that cell, and the checker's judge, run here in the grader on that report and
   the seed the runner chose (``spatialdrop_edu.checks._judging.judge_report``), passes every
   such report. The kernel's own verdict decides nothing: a check the kernel passed and the
   grader's judge failed is reported as overturned.

A check cell that calls no package checker (its checker is written in the cell itself, as in the
course's test fixtures) is decided by its reply alone; the summary says which cells those are. The
runner's problems (timeout, dead kernel, floods, limits, forged reports, survivors) become
``problems`` of the submission, one line each, named by kind.
"""

from __future__ import annotations

import ast

from ...checks._judging import judge_report
from ..edition.cells import ANSWER_STUB, nbgrader
from ..edition.release import student_source
from .records import Row, Submission, format_size


def expected_checkers(code: str) -> list[str]:
    """The checkers of ``spatialdrop_edu.checks`` a check cell calls (``checks.check_x(...)`` or ``check_x(...)``).

    Args:
        code: the instructor's check cell.

    Returns:
        Their names, in order of appearance, each once; ``[]`` when the cell calls none.

    Examples::

        >>> expected_checkers("checks.check_inverted_dropout(my_dropout)  # comment")
        ['check_inverted_dropout']
        >>> expected_checkers("if x != 21:\\n    raise AssertionError('no')")
        []
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name.startswith("check_") and name not in names:
                names.append(name)
    return names


def _solution_errors(nb, cells_result, gid: str) -> str:
    """Errors raised by the solution cells of the exercise a check cell belongs to (``ex-01-1``: ``ex-01-1-check``)."""
    exercise = gid[: -len("-check")] if gid.endswith("-check") else gid
    notes = []
    for index, cell in enumerate(nb.cells):
        meta = nbgrader(cell)
        gid_ = meta.get("grade_id", "")
        mine = gid_ == exercise or gid_.startswith(exercise + "-")
        if meta.get("solution") and mine and cells_result[index].get("error"):
            err = cells_result[index]["error"]
            notes.append(f"your solution cell {meta['grade_id']} raised {err['ename']}: {err['evalue']}")
    return "; ".join(notes)


def report_run_problems(sub: Submission, result: dict, check_index: dict, *, timeout: float, max_output: int) -> str:
    """Add what went wrong while running to ``sub.problems``; return the run's own problem (``""`` if none).

    Covers the runner's problem (timeout, dead kernel, CPU limit), output floods, errors outside
    check cells (hidden tracebacks named), limits the errors show, what the cgroups saw (memory and
    process limits), forged verdict messages and processes that outlived the submission.
    """
    problem = result.get("problem")
    cells_result = result.get("cells")
    usage = result.get("usage") or {}
    limits = sub.limits or {}
    run_problem = ""
    if problem:
        kind = problem["kind"]
        if kind == "timeout":
            run_problem = (
                f"timeout: still running after {timeout:g} s in cell {problem['cell']}; later cells were not run"
            )
        elif kind == "dead" and problem.get("signal") == "SIGXCPU":
            run_problem = (
                f"CPU time limit: the kernel used {limits.get('cpu', '?')} CPU seconds and was "
                f"stopped in cell {problem['cell']}; later cells were not run"
            )
        elif kind == "dead" and usage.get("oom_kills"):
            run_problem = (
                f"memory limit: in cell {problem['cell']} the submission's processes together reached "
                f"{format_size(limits.get('memory', 0))} (--max-memory) and the kernel was killed; later "
                "cells were not run"
            )
        elif kind == "dead":
            how = f", {problem['signal']}" if problem.get("signal") else ""
            run_problem = (
                f"kernel died: in cell {problem['cell']} (exit, crash or out of memory{how}); later cells were not run"
            )
        else:
            run_problem = f"grading failed: ({kind}) {problem.get('message', '')}"
            if "Kernel died before replying" in run_problem and limits.get("memory"):
                run_problem += f" (is --max-memory {format_size(limits['memory'])} too small for a kernel?)"
        sub.problems.append(run_problem)
    if flood := result.get("notebook_flood"):
        sub.problems.append(
            f"output flood: the notebook's output reached {flood['bytes'] / 1e6:.1f} MB from cell {flood['cell']} "
            f"on; what came after {max_output * 200 / 1e6:g} MB was dropped"
        )
    if cells_result:
        floods = [(i, n) for i, c in enumerate(cells_result) if (n := c.get("flooded"))]
        if floods:
            cells = ", ".join(str(i) for i, _ in floods[:10]) + (
                f" and {len(floods) - 10} more" if len(floods) > 10 else ""
            )
            many = len(floods) > 1
            sub.problems.append(
                f"output flood: cell{'s' if many else ''} {cells} printed {'up to ' if many else ''}"
                f"{max(n for _, n in floods) / 1e6:.1f} MB; only the first {max_output / 1e3:g} kB of text "
                f"({max_output * 20 / 1e3:g} kB of figures) of a cell were kept"
            )
        stopped = problem.get("cell") if problem else None
        errors = [
            i for i, c in enumerate(cells_result) if c.get("error") and i not in check_index.values() and i != stopped
        ]
        if errors:
            sub.problems.append(f"errors: cells {', '.join(map(str, errors))} raised (check cells not counted)")
        hidden = [i for i, c in enumerate(cells_result) if (c.get("error") or {}).get("hidden")]
        if hidden:
            sub.problems.append(
                f"hidden errors: cells {', '.join(map(str, hidden))} raised, but no traceback was "
                "shown (the kernel's reply says error): something replaced IPython's error display"
            )
        forged = [(i, note) for i, c in enumerate(cells_result) for note in c.get("forged", [])]
        if forged:
            sub.problems.append("forged verdict: " + "; ".join(f"cell {i}: {note}" for i, note in forged))
        broken = [(i, c["channel"]) for i, c in enumerate(cells_result) if c.get("channel")]
        if broken:
            sub.problems.append("verdict channel broken: " + "; ".join(f"cell {i}: {why}" for i, why in broken))
        sub.problems.extend(limit_problems(cells_result, limits))
    sub.problems.extend(usage_problems(usage, limits, sub.problems))
    if result.get("cgroup_error"):
        sub.problems.append(
            f"limits weakened: no cgroup could be made for this submission ({result['cgroup_error']}): "
            "its memory was limited per process only"
        )
    if result.get("survivors"):
        sub.problems.append(
            f"survivors: {result['survivors']} process(es) of the submission were still running "
            "after it and were killed"
        )
    return run_problem


#: How an error raised in a cell shows which limit it ran into: (kind, exception names, words of the message).
LIMIT_ERRORS = (
    (
        "memory",
        ("MemoryError", "_ArrayMemoryError", "OutOfMemoryError"),
        ("Cannot allocate memory", "can't allocate memory", "Unable to allocate", "std::bad_alloc"),
    ),
    ("processes", ("BlockingIOError",), ("Resource temporarily unavailable", "can't start new thread")),
    # a sandbox has a loopback of its own, where nothing listens: "Connection refused"
    (
        "network",
        ("gaierror", "ConnectionRefusedError"),
        (
            "Network is unreachable",
            "Temporary failure in name resolution",
            "Name or service not known",
            "Errno 101",
            "Connection refused",
        ),
    ),
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
            tail = f"; a submission may use {format_size(limit)} (--max-memory)" if limit else ""
            problems.append(f"{head}: cell {cells} ran out of memory ({what}){tail}")
        elif kind == "processes":
            limit = limits.get("processes")
            head = "process limit" if limit else "out of processes"
            tail = f"; a submission may run {limit} processes and threads (--max-processes)" if limit else ""
            problems.append(f"{head}: cell {cells} could not start a process or thread ({what}){tail}")
        elif limits.get("network") in ("none", "blocked"):
            problems.append(f"network blocked: cell {cells} tried to use the network ({what}); kernels have none")
        else:
            problems.append(f"network error: cell {cells} ({what})")
    return problems


def usage_problems(usage: dict, limits: dict, already: list[str]) -> list[str]:
    """The memory and process limits the cgroups saw hit, unless a cell's error already reported them."""
    kinds = {p.split(":")[0] for p in already}
    problems = []
    if usage.get("oom_kills") and "memory limit" not in kinds:
        limit = format_size(limits.get("memory", 0))
        problems.append(
            f"memory limit: the submission's processes together reached {limit} (--max-memory) and "
            f"{usage['oom_kills']} of them were killed"
        )
    if usage.get("process_hits") and "process limit" not in kinds:
        problems.append(
            f"process limit: the submission reached {limits.get('processes')} processes and threads "
            f"(--max-processes); {usage['process_hits']} more were refused"
        )
    return problems


def score_graded_cells(
    sub: Submission, items, nb, check_index: dict, result: dict, run_problem: str, checkers: dict[str, list[str]]
) -> None:
    """One row per graded cell: a check cell's points with an ``ok`` reply and its checkers' verdicts; answers by hand.

    Args:
        sub: the submission; rows and problems are added to it.
        items: the instructor notebook's graded cells, in order.
        nb: the notebook that ran.
        check_index: the index in ``nb`` of each check cell, by ``grade_id``.
        result: the runner's result.
        run_problem: the run's own problem (from :func:`report_run_problems`).
        checkers: the package checkers each check cell calls, by ``grade_id`` (:func:`expected_checkers`).
    """
    problem = result.get("problem")
    cells_result = result.get("cells")
    missing, overturned = [], []
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
            status = (
                "timeout" if err["ename"] == "TimeoutError" and problem and problem["kind"] == "timeout" else "failed"
            )
            feedback = f"{err['ename']}: {err['evalue']}".strip()
            if err.get("hidden"):
                feedback += " (raised with its traceback hidden)"
            extra = _solution_errors(nb, cells_result, gid)
            if extra:
                feedback += f" ({extra})"
            row(gid, 0, max_points, status, feedback)
        elif outcome.get("reply") != "ok":
            row(gid, 0, max_points, "failed", f"no execute reply from the kernel ({outcome.get('reply')})")
        elif checkers.get(gid):
            reports = [r for r in outcome.get("reports", []) if r.get("checker") in checkers[gid]]
            judged = [(r["checker"], judge_report(r["checker"], r.get("data"), outcome.get("seed"))) for r in reports]
            absent = [c for c in checkers[gid] if c not in {name for name, _ in judged}]
            wrong = [(name, j) for name, j in judged if not j.passed]
            if absent:
                names = ", ".join(f"checks.{c}" for c in absent)
                missing.append(f"{gid} ({names})")
                row(
                    gid,
                    0,
                    max_points,
                    "failed",
                    f"no verdict: the cell ran without an error, but {names} sent no report "
                    "(was the checker replaced?)",
                )
            elif wrong:
                name, judgement = wrong[0]
                kind = "forged report" if judgement.malformed else "verdict overturned"
                overturned.append(f"{kind}: check cell {gid} ran without an error, but the grader's judge of "
                                  f"checks.{name} said: {judgement.message}")  # fmt: skip
                row(gid, 0, max_points, "failed", judgement.message)
            else:
                row(gid, max_points, max_points, "passed", judged[0][1].message.strip() or "passed")
        else:
            lines = [ln for ln in outcome.get("stdout_head", "").splitlines() if ln.startswith("Correct")]
            row(gid, max_points, max_points, "passed", lines[0] if lines else "passed")
    if missing:
        sub.problems.append(
            "no verdict: check cells " + "; ".join(missing) + " ran without an error but their checkers sent no report"
        )
    sub.problems.extend(overturned)
