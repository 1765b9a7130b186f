"""The limits each grading sandbox runs under: memory, CPU time, processes, network.

One batch (one fixture) of fixture submissions, each running into one limit, graded with small
limits that keep the test machine safe: a 1 GiB limit against a 3 GiB allocation (which fails at
once, before any memory is touched), 30 processes against 50 forked children that sleep for 2 s,
and a connection to a TCP server this test runs on 127.0.0.1. Every one is reported, and the batch
goes on. In a sandbox every limit applies, as root too (the kernel runs as a user of its own); the
path without a sandbox (``--no-sandbox``) is tested at the end of this file.
"""

from __future__ import annotations

import csv
import os
import socket
import threading

import nbformat
import pytest
from notebooks import fork_attack

from spatialdrop_edu.course.edition.release import student_notebook
from spatialdrop_edu.course.grading import batch
from spatialdrop_edu.course.grading.isolation import cgroups
from spatialdrop_edu.course.grading.isolation.policy import GradingRefused, cpu_seconds
from spatialdrop_edu.course.grading.isolation.unsandboxed import network_isolation
from spatialdrop_edu.course.grading.records import Submission, parse_size
from spatialdrop_edu.course.grading.scoring import report_run_problems

import exercise_fixtures as fx

pytestmark = pytest.mark.sandbox

TIMEOUT = 30
MEMORY = 2**30
PROCESSES = 30
ANSWER = "def inverted_dropout_scale(p):\n    return 1 / (1 - p)\n"
PROBE = """import resource
print("AS", resource.getrlimit(resource.RLIMIT_AS)[0])
print("CPU", resource.getrlimit(resource.RLIMIT_CPU)[0])
print("NPROC", resource.getrlimit(resource.RLIMIT_NPROC)[0])"""
MEMORY_HOG = "hog = bytearray(3 * 2**30)"
FORKS = fork_attack(50)
# The same, but catching the refusal: the batch must still report the limit (the cgroup counts what it refused).
FORKS_CAUGHT = fork_attack(50, caught=True)
CONNECT = """import socket
socket.create_connection(("127.0.0.1", {port}), timeout=5).sendall(b"escaped")"""


def submission(extra: str) -> nbformat.NotebookNode:
    """The fixture's student notebook with exercise 1.1 answered correctly, then ``extra`` run in the same cell."""
    nb = student_notebook(fx.instructor_notebook())
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex-01-1")
    cell.source = ANSWER + extra
    return nb


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    base = tmp_path_factory.mktemp("limits")
    fx.write_instructor(base)
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(1)
    port = server.getsockname()[1]
    reached = []

    def serve():
        for _ in range(60):  # at most one minute, then the thread ends
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            reached.append(conn.recv(100))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    subs = {
        "probe": PROBE,
        "memory": MEMORY_HOG,
        "forks": FORKS,
        "forks_caught": FORKS_CAUGHT,
        "network": CONNECT.format(port=port),
        "plain": "",
    }
    paths = []
    for student, extra in subs.items():
        path = base / f"{student}__01_fixture.ipynb"
        nbformat.write(submission(extra), path)
        paths.append(path)
    out = base / "out"
    done = batch.grade(
        paths,
        out,
        source_dir=base,
        timeout=TIMEOUT,
        max_output=20_000,
        max_memory=MEMORY,
        max_processes=PROCESSES,
        log=lambda *a, **k: None,
    )
    server.close()
    with open(out / "grades.csv", newline="") as f:
        table = {(r["student"], r["grade_id"]): r for r in csv.DictReader(f)}
    return {s.student: s for s in done}, table, out, reached


def test_every_submission_is_graded_and_the_batch_goes_on(limited):
    subs, table, _, _ = limited
    for student in subs:
        # the answer ran before the limit was hit; the later exercise is still checked
        # (a submission that ran into a limit is flagged: its pass never reads as a plain one)
        passed = "flagged" if subs[student].problems else "passed"
        assert table[(student, "ex-01-1-check")]["status"] == passed, (student, subs[student].problems)
        assert table[(student, "ex-01-3-check")]["status"] == "failed", student
    assert subs["plain"].problems == [] or all(p.startswith("errors") for p in subs["plain"].problems)


def test_the_kernel_runs_with_the_limits(limited):
    subs, _, out, _ = limited
    executed = nbformat.read(out / "probe" / "01_fixture.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    values = dict(line.split() for line in text.splitlines() if line.split()[:1] in (["AS"], ["CPU"], ["NPROC"]))
    assert int(values["AS"]) == MEMORY
    assert int(values["CPU"]) == cpu_seconds(TIMEOUT)
    # the sandbox's own user: its count starts at 0, as root too; where a pids cgroup holds the submission, the
    # rlimit sits above the cgroup's limit by bubblewrap's own processes, so that the cgroup refuses (and counts) first
    counted = f"{PROCESSES} processes and threads for the whole submission" in (out / "summary.md").read_text()
    assert int(values["NPROC"]) == PROCESSES + (cgroups.BWRAP_PROCESSES if counted else 0)
    assert subs["probe"].limits["memory"] == MEMORY


def test_memory_hog_is_reported_as_memory_limit(limited):
    subs, _, _, _ = limited
    problems = [p for p in subs["memory"].problems if p.startswith("memory limit")]
    assert problems, subs["memory"].problems
    assert "cell 5 ran out of memory (MemoryError" in problems[0] and "may use 1 GiB (--max-memory)" in problems[0]


def test_fork_bomb_is_reported_as_process_limit_as_root_too(limited):
    subs, _, out, _ = limited
    summary = (out / "summary.md").read_text()
    problems = [p for p in subs["forks"].problems if p.startswith("process limit")]
    assert problems, subs["forks"].problems
    assert "cell 5 could not start a process or thread" in problems[0]
    assert f"{PROCESSES} processes and threads for the whole submission" in summary


def test_a_fork_bomb_that_catches_its_error_is_reported_too(limited):
    subs, _, out, _ = limited
    if f"{PROCESSES} processes and threads for the whole submission" not in (out / "summary.md").read_text():
        pytest.skip("no pids cgroup here: only the per-user limit, which counts nothing")
    problems = [p for p in subs["forks_caught"].problems if p.startswith("process limit")]
    assert problems and "more were refused" in problems[0], subs["forks_caught"].problems


def test_network_is_absent_in_the_sandbox(limited):
    subs, _, out, reached = limited
    summary = (out / "summary.md").read_text()
    assert "no network" in summary
    assert reached == [], "a kernel reached a server on the grading machine's loopback"
    problems = [p for p in subs["network"].problems if p.startswith("network blocked")]
    assert problems and "cell 5 tried to use the network" in problems[0], subs["network"].problems


def test_parse_size():
    assert parse_size("4G") == 4 * 2**30
    assert parse_size("512MiB") == 512 * 2**20
    assert parse_size("1000") == 1000
    with pytest.raises(ValueError, match="such as 4G"):
        parse_size("lots")


def test_cpu_time_limit_stops_the_kernel_and_is_reported(tmp_path):
    """A CPU limit far below the time limit (the runner is called directly): SIGXCPU stops the kernel, reported so."""
    import json
    import subprocess
    import sys

    from spatialdrop_edu.course.grading.isolation import launch

    nb = student_notebook(fx.instructor_notebook())
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex-01-3")
    cell.source = "while True:\n    pass"
    nbformat.write(nb, tmp_path / "prepared.ipynb")
    plan = {
        "notebook": str(tmp_path / "prepared.ipynb"),
        "result": str(tmp_path / "result.json"),
        "executed": str(tmp_path / "executed.ipynb"),
        "timeout": 60,
        "max_output": 10000,
        "cwd": str(tmp_path),
        "prefix": [sys.executable, "-I", "-S", str(launch.ENTRY), "--cpu", "3", "--"],
        "checks": {},
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    subprocess.run(
        [sys.executable, str(launch.RUNNER), str(tmp_path / "plan.json")], check=True, timeout=120, capture_output=True
    )
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["problem"] == {"kind": "dead", "cell": 10, "signal": "SIGXCPU"}
    sub = Submission(tmp_path, "zoe", "01_fixture", limits={"cpu": 3})
    problem = report_run_problems(sub, result, {}, timeout=60, max_output=10000)
    assert problem.startswith("CPU time limit: the kernel used 3 CPU seconds and was stopped in cell 10")


# ----------------------------------------------------------------------------- without a sandbox (--no-sandbox)


def test_grade_stops_where_bubblewrap_does_not_work(tmp_path, monkeypatch):
    from spatialdrop_edu.course.grading.isolation import sandbox

    monkeypatch.setattr(sandbox, "bwrap_problem", lambda: "no `bwrap` command: install bubblewrap")
    with pytest.raises(GradingRefused, match=r"install bubblewrap.*--no-sandbox grades without one"):
        batch.grade(
            [tmp_path / "zoe__01_fixture.ipynb"], tmp_path / "out", source_dir=tmp_path, log=lambda *a, **k: None
        )
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="the refusal is for root")
def test_without_a_sandbox_root_is_refused_unless_told(tmp_path):
    with pytest.raises(GradingRefused, match="refusing to grade as root without a sandbox.*--allow-root"):
        batch.grade(
            [tmp_path / "zoe__01_fixture.ipynb"],
            tmp_path / "out",
            source_dir=tmp_path,
            sandbox=False,
            log=lambda *a, **k: None,
        )


def test_without_a_sandbox_the_warning_and_the_summary_say_what_is_unprotected(tmp_path):
    fx.write_instructor(tmp_path)
    nbformat.write(submission(PROBE), tmp_path / "probe__01_fixture.ipynb")
    said = []
    done = batch.grade(
        [tmp_path / "probe__01_fixture.ipynb"],
        tmp_path / "out",
        source_dir=tmp_path,
        timeout=TIMEOUT,
        max_memory=MEMORY,
        max_processes=PROCESSES,
        sandbox=False,
        allow_root=True,
        log=lambda *a, **k: said.append(" ".join(map(str, a))),
    )
    warning = said[0]
    assert warning.startswith("WARNING: grading WITHOUT A SANDBOX") and "read and write your files" in warning
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "NO SANDBOX (--no-sandbox): the submission runs as your user" in summary
    # the answer passed (flagged where the probe's own code is: it reads the process's limits)
    assert done[0].rows[0].points == 2 and done[0].rows[0].status == ("flagged" if done[0].problems else "passed")
    if os.geteuid() == 0:
        assert "Process limit not enforced: grading runs as root" in summary and "processes not limited" in summary
    else:
        assert f"{PROCESSES} more processes and threads than the user runs" in summary
    why = network_isolation()
    assert (f"Network not isolated: {why}" in summary) if why else ("network blocked" in summary)


def test_the_command_refuses_with_a_message_not_a_traceback(tmp_path):
    import subprocess
    import sys

    fx.write_instructor(tmp_path)
    nbformat.write(submission(""), tmp_path / "zoe__01_fixture.ipynb")
    base = [sys.executable, "-m", "spatialdrop_edu", "grade", "zoe__01_fixture.ipynb", "--out", "out", "--source", "."]
    done = subprocess.run([*base, "--jobs", "0"], cwd=tmp_path, capture_output=True, text=True)
    assert (
        done.returncode == 2 and "grade: jobs must be a positive int" in done.stderr and "Traceback" not in done.stderr
    )
    if os.geteuid() == 0:
        done = subprocess.run([*base, "--no-sandbox"], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 2 and "refusing to grade as root without a sandbox" in done.stderr
    assert not (tmp_path / "out").exists()
