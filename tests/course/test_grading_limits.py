"""The limits each grading kernel runs under: memory, CPU time, processes, network.

One batch (one fixture) of fixture submissions, each running into one limit, graded with small
limits that keep the test machine safe: a 1 GiB address space against a 3 GiB allocation (which
fails at once, before any memory is touched), 30 processes against 50 forked children that sleep
for 2 s, and a connection to a TCP server this test runs on 127.0.0.1. Every one is reported, and
the batch goes on. Where the system does not allow a limit (root is never refused a process;
unprivileged network namespaces may be disabled), the summary must say so instead.
"""

from __future__ import annotations

import csv
import os
import socket
import threading

import nbformat
import pytest

import exercise_fixtures as fx
from spatialdrop_edu.course import grading
from spatialdrop_edu.course.grade_runner import network_isolation
from spatialdrop_edu.course.release import student_notebook

TIMEOUT = 30
MEMORY = 2**30
PROCESSES = 30
ANSWER = "def inverted_dropout_scale(p):\n    return 1 / (1 - p)\n"
PROBE = """import resource
print("AS", resource.getrlimit(resource.RLIMIT_AS)[0])
print("CPU", resource.getrlimit(resource.RLIMIT_CPU)[0])
print("NPROC", resource.getrlimit(resource.RLIMIT_NPROC)[0])"""
MEMORY_HOG = "hog = bytearray(3 * 2**30)"
FORKS = """import os, time
children = []
for _ in range(50):
    pid = os.fork()
    if pid == 0:
        time.sleep(2)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)"""
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
    subs = {"probe": PROBE, "memory": MEMORY_HOG, "forks": FORKS, "network": CONNECT.format(port=port), "plain": ""}
    paths = []
    for student, extra in subs.items():
        path = base / f"{student}__01_fixture.ipynb"
        nbformat.write(submission(extra), path)
        paths.append(path)
    out = base / "out"
    done = grading.grade(paths, out, source_dir=base, timeout=TIMEOUT, max_output=20_000, max_memory=MEMORY,
                         max_processes=PROCESSES, log=lambda *a, **k: None)
    server.close()
    with open(out / "grades.csv", newline="") as f:
        table = {(r["student"], r["grade_id"]): r for r in csv.DictReader(f)}
    return {s.student: s for s in done}, table, out, reached


def test_every_submission_is_graded_and_the_batch_goes_on(limited):
    subs, table, _, _ = limited
    for student in subs:
        # the answer ran before the limit was hit; the later exercise is still checked
        assert table[(student, "ex-01-1-check")]["status"] == "passed", (student, subs[student].problems)
        assert table[(student, "ex-01-3-check")]["status"] == "failed", student
    assert subs["plain"].problems == [] or all(p.startswith("errors") for p in subs["plain"].problems)


def test_the_kernel_runs_with_the_limits(limited):
    subs, _, out, _ = limited
    executed = nbformat.read(out / "probe" / "01_fixture.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    values = dict(line.split() for line in text.splitlines() if line.split()[:1] in (["AS"], ["CPU"], ["NPROC"]))
    assert int(values["AS"]) == MEMORY
    assert int(values["CPU"]) == grading.cpu_seconds(TIMEOUT)
    if os.geteuid() != 0:
        assert int(values["NPROC"]) < 100_000  # the user's running processes plus PROCESSES
    assert subs["probe"].limits["memory"] == MEMORY


def test_memory_hog_is_reported_as_memory_limit(limited):
    subs, _, _, _ = limited
    problems = [p for p in subs["memory"].problems if p.startswith("memory limit")]
    assert problems, subs["memory"].problems
    assert "cell 5 ran out of memory (MemoryError" in problems[0] and "1 GiB of address space" in problems[0]


def test_fork_bomb_is_reported_as_process_limit_or_the_summary_says_it_is_not_enforced(limited):
    subs, _, out, _ = limited
    summary = (out / "summary.md").read_text()
    if os.geteuid() == 0:
        assert "Process limit not enforced: grading runs as root" in summary
        assert "processes not limited" in summary
    else:
        problems = [p for p in subs["forks"].problems if p.startswith("process limit")]
        assert problems, subs["forks"].problems
        assert "cell 5 could not start a process or thread" in problems[0]
        assert f"{PROCESSES} more processes and threads" in summary


def test_network_is_blocked_or_the_summary_says_it_is_not(limited):
    subs, _, out, reached = limited
    summary = (out / "summary.md").read_text()
    why = network_isolation()
    if why:
        assert "network not isolated" in summary and f"Network not isolated: {why}" in summary
        pytest.skip(f"network not isolated here: {why}")
    assert "network blocked" in summary
    assert reached == [], "a kernel reached a server on the grading machine's loopback"
    problems = [p for p in subs["network"].problems if p.startswith("network blocked")]
    assert problems and "cell 5 tried to use the network" in problems[0], subs["network"].problems


def test_parse_size():
    assert grading.parse_size("4G") == 4 * 2**30
    assert grading.parse_size("512MiB") == 512 * 2**20
    assert grading.parse_size("1000") == 1000
    with pytest.raises(ValueError, match="such as 4G"):
        grading.parse_size("lots")


def test_cpu_time_limit_stops_the_kernel_and_is_reported(tmp_path):
    """A CPU limit far below the time limit (the runner is called directly): SIGXCPU stops the kernel, reported so."""
    import json
    import subprocess
    import sys

    nb = student_notebook(fx.instructor_notebook())
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex-01-3")
    cell.source = "while True:\n    pass"
    nbformat.write(nb, tmp_path / "prepared.ipynb")
    (tmp_path / "cwd").mkdir()
    subprocess.run([sys.executable, str(grading.RUNNER), str(tmp_path / "prepared.ipynb"), str(tmp_path / "result.json"),
                    "--timeout", "60", "--max-output", "10000", "--cwd", str(tmp_path / "cwd"), "--max-cpu", "3"],
                   check=True, timeout=120, capture_output=True)
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["problem"] == {"kind": "dead", "cell": 10, "signal": "SIGXCPU"}
    sub = grading.Submission(tmp_path, "zoe", "01_fixture", limits=result["limits"])
    problem = grading.report_run_problems(sub, result, {}, timeout=60, max_output=10000)
    assert problem.startswith("CPU time limit: the kernel used 3 CPU seconds and was stopped in cell 10")
