"""Command line of the course: ``python -m spatialdrop_edu COMMAND ...``.

Commands:
    execute NOTEBOOK...   re-execute notebooks in place (fresh kernel, widget state stored)
    release --out DIR     write the student edition of the notebooks (``--book``: of the whole book)
    grade SUBMISSION...   check submitted notebooks, each in a sandbox; write grades.csv and summary.md
    exercises             print the course plan (objectives, time, exercises, points) read from the notebooks
    lab [-- LAB_ARGS]     open the course in JupyterLab: the student edition in a working copy (``make lab``)
    study NOTEBOOK        run a training chapter's full study (SCALE) in a fresh kernel, runs side by side
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m spatialdrop_edu", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    execute = commands.add_parser("execute", help="re-execute notebooks in place, storing outputs and widget state")
    execute.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help=".ipynb files")
    execute.add_argument("--timeout", type=int, default=600, help="seconds one cell may run (default: 600)")

    release = commands.add_parser("release", help="write the student edition: solutions and mark schemes removed")
    release.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help=".ipynb files (default: book/*.ipynb)")
    release.add_argument("--out", required=True, help="folder to write into (never the book's own folder)")
    release.add_argument(
        "--book",
        action="store_true",
        help="write a buildable student copy of the whole book into OUT (emptied first): "
        "book/, _config.yml pointing at the student branch, _toc.yml, the package",
    )
    release.add_argument("--branch", default="student", help="branch the student website's Colab/Binder links open")

    grade = commands.add_parser(
        "grade", help="check submitted notebooks, each in a sandbox of its own; write grades.csv and summary.md"
    )
    grade.add_argument(
        "submissions",
        nargs="+",
        metavar="SUBMISSION",
        help="<student>__<notebook>.ipynb or <student>/<notebook>.ipynb files",
    )
    grade.add_argument("--out", required=True, help="folder for grades.csv, summary.md and the executed notebooks")
    grade.add_argument("--source", default="book", help="folder of the instructor notebooks (default: book)")
    grade.add_argument("--timeout", type=float, default=300, help="seconds one notebook may run (default: 300)")
    grade.add_argument(
        "--max-output", type=int, default=100_000, help="bytes of output kept per cell (default: 100000)"
    )
    grade.add_argument(
        "--max-memory",
        default="4G",
        help="memory each submission may use, such as 4G or 512M; 0: no limit (default: 4G)",
    )
    grade.add_argument(
        "--max-processes",
        type=int,
        default=256,
        help="processes and threads each submission may run; 0: no limit (default: 256)",
    )
    grade.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="submissions graded at once, each in its own sandbox with these limits (default: 1)",
    )
    grade.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the checks' inputs; the summary names the one used (default: a fresh one)",
    )
    grade.add_argument(
        "--no-sandbox",
        action="store_true",
        help="grade without bubblewrap (machines without it): kernels run as you, with per-process "
        "limits only; prints what is unprotected",
    )
    grade.add_argument("--allow-root", action="store_true", help="with --no-sandbox: grade as root all the same")
    grade.add_argument(
        "--allow-network",
        action="store_true",
        help="with --no-sandbox: leave kernels the network (a sandbox never has any)",
    )

    exercises = commands.add_parser("exercises", help="print the course plan read from the chapters in _toc.yml")
    exercises.add_argument("--update", metavar="PAGE", help="rewrite the generated block of PAGE (book/instructors.md)")

    lab = commands.add_parser(
        "lab",
        help="open the course in JupyterLab: the student edition in a working copy of "
        "your own (made once, never overwritten), or book/ itself (--edition instructor)",
    )
    lab.add_argument(
        "--edition",
        choices=("student", "instructor"),
        default="student",
        help="student: a working copy of the student edition (default); instructor: book/ itself",
    )
    lab.add_argument("--dir", default="lab/student", help="the student working copy (default: lab/student)")
    lab.add_argument(
        "--refresh",
        action="store_true",
        help="move the working copy aside to DIR.backup-<date>-<time> and make a fresh one",
    )
    lab.add_argument(
        "lab_args",
        nargs=argparse.REMAINDER,
        metavar="-- LAB_ARGS",
        help="options for JupyterLab after `--`, e.g. -- --no-browser --port 8899",
    )
    study = commands.add_parser(
        "study", help="run a training chapter's full study in a fresh kernel (outputs discarded)"
    )
    study.add_argument("notebook", metavar="NOTEBOOK", help="the chapter's .ipynb file")
    study.add_argument(
        "--workers", type=int, default=None, help="runs side by side, one process each (default: one per usable core)"
    )
    study.add_argument(
        "--results",
        default=None,
        help="folder holding <chapter>/study.jsonl and meta.json (default: results beside the notebook)",
    )
    study.add_argument(
        "--allow-dirty",
        action="store_true",
        help="start although the package or the chapters have uncommitted changes (the runs record dirty: true)",
    )
    fingerprint = commands.add_parser(
        "fingerprint",
        help="print one digest per operation the course computes with (run it under the reproducible mode)",
    )
    fingerprint.add_argument(
        "--check",
        nargs="?",
        const="",
        metavar="FILE",
        help="compare with a stored fingerprint (default: the one of the machine that executed the stored outputs) "
        "and print one line naming every operation that differs",
    )
    fingerprint.add_argument("--strict", action="store_true", help="with --check: exit 1 when an operation differs")
    return parser


#: Packages the notebook commands need beyond the library's own dependencies (the ``instructor`` extra).
NOTEBOOK_TOOLS = ("nbformat", "nbclient", "ipykernel")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except ModuleNotFoundError as error:
        if error.name not in NOTEBOOK_TOOLS:
            raise
        print(
            f"python -m spatialdrop_edu {args.command} needs the package {error.name!r}, which is not installed. "
            f"Install the notebook tools with: pip install 'spatialdrop-edu[instructor]'",
            file=sys.stderr,
        )
        return 2


def run(args) -> int:
    if args.command == "execute":
        from .course.edition.execute import execute_in_place

        execute_in_place(args.notebooks, timeout=args.timeout)
    elif args.command == "release":
        from pathlib import Path

        from .course.edition.release import release, stage_student_book

        if args.book:
            stage = stage_student_book(Path.cwd(), args.out, branch=args.branch)
            print(f"student edition of the book written to {stage}")
        else:
            written = release(args.notebooks or sorted(Path("book").glob("*.ipynb")), args.out)
            print(f"{len(written)} student notebook(s) written to {args.out}")
    elif args.command == "grade":
        from .course.grading.batch import grade
        from .course.grading.isolation.policy import GradingRefused
        from .course.grading.records import parse_size

        try:
            grade(
                args.submissions,
                args.out,
                source_dir=args.source,
                timeout=args.timeout,
                max_output=args.max_output,
                max_memory=parse_size(args.max_memory),
                max_processes=args.max_processes,
                jobs=args.jobs,
                sandbox=not args.no_sandbox,
                allow_network=args.allow_network,
                allow_root=args.allow_root,
                seed=args.seed,
            )
        except (GradingRefused, ValueError) as refused:  # a refusal, or an argument out of range (--jobs 0)
            print(f"python -m spatialdrop_edu grade: {refused}", file=sys.stderr)
            return 2
        print(f"wrote {args.out}/grades.csv and {args.out}/summary.md (digests above, and in {args.out}/SHA256SUMS)")
    elif args.command == "exercises":
        from pathlib import Path

        from .course.edition.plan import chapters_in_toc, course_plan, replace_generated

        plan = course_plan(chapters_in_toc("."))
        if args.update:
            page = Path(args.update)
            page.write_text(replace_generated(page.read_text(encoding="utf-8"), plan), encoding="utf-8")
            print(f"updated the course plan in {page}")
        else:
            print(plan, end="")
    elif args.command == "lab":
        from pathlib import Path

        from .course.lab.start import start_lab

        lab_args = args.lab_args[1:] if args.lab_args[:1] == ["--"] else args.lab_args
        start_lab(Path.cwd(), edition=args.edition, working_copy=args.dir, refresh=args.refresh, lab_args=lab_args)
    elif args.command == "fingerprint":
        from pathlib import Path

        from .kernel_fingerprint import (
            STORED,
            check_line,
            differences,
            fingerprint,
            format_fingerprint,
            parse_fingerprint,
        )

        here = fingerprint()
        if args.check is None:
            print(format_fingerprint(here), end="")
            return 0
        stored = Path(args.check or STORED).read_text()
        print(check_line(stored, here))
        return 1 if args.strict and differences(parse_fingerprint(stored), here) else 0
    elif args.command == "study":
        from .training.full_study import main as study
        from .training.workers import usable_cores

        workers = usable_cores() if args.workers is None else args.workers
        return study(args.notebook, workers=workers, results=args.results, allow_dirty=args.allow_dirty)
    return 0


if __name__ == "__main__":
    sys.exit(main())
