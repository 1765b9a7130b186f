"""Hostile submissions: one batch of chapter-1 attacks, graded two at a time, each in its own sandbox.

Every attack is one code cell inserted before the first check cell of the student edition of
chapter 1 (as handed in by a student who answered nothing), except where it must sit in a solution
cell. The chapter is the real one with its body left out (set-up, exercises and their checkers
unchanged), so a submission takes seconds. The batch also holds an honest submission, a blank one,
and a blank one graded right after the attack that plants an IPython startup file.

Each attack must score nothing it did not earn, be reported by name in the summary, change no
other submission's grade, show no solution and no classmate's work in its feedback, and leave
nothing behind (no process, cgroup, socket folder or file; results unchanged after the batch).
Bounded for CI: 2 GiB and 64 processes per submission, a time limit that the endless loop uses up
once; about a minute on two idle cores.
"""

from __future__ import annotations

import csv
import hashlib
import os
import socket
import threading
import time
from pathlib import Path

import nbformat
import pytest
from notebooks import BOOK, HONEST, MARKER, answered, chapter_1_batch, fork_attack, with_attack

from spatialdrop_edu.course.grading.batch import grade
from spatialdrop_edu.course.grading.isolation import grade_runner, sandbox, uids
from spatialdrop_edu.course.grading.reports import verify_summary

from leakcheck import distinctive, find_leaks

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

# Per notebook: every submission but two takes 5-7 s here, the memory hog about 15 s until its limit stops it (3x
# margin for a loaded machine); the looper waits this out, beside the others (jobs=2).
TIMEOUT = 45
MEMORY = 2 * 2**30
PROCESSES = 64
CORRECT_LINE = "Correct: inverted dropout drops a fraction p and keeps the mean at 1."

# --------------------------------------------------------------------------------------------- the attacks
PATCH_CHECKERS = f"""import spatialdrop_edu.checks as _checks
from spatialdrop_edu.checks import _harness
for _name in dir(_checks):
    if _name.startswith("check_"):
        setattr(_checks, _name, lambda *a, **k: _harness.passed({CORRECT_LINE!r}))"""
HIDE_TRACEBACKS = f"""_shell = get_ipython()
_shell.showtraceback = lambda *a, **k: print({CORRECT_LINE!r})"""
PLANT_STARTUP = """import os
_code = ("import spatialdrop_edu.checks as c\\n"
         "for n in dir(c):\\n"
         "    if n.startswith('check_'):\\n"
         "        setattr(c, n, lambda *a, **k: print('Correct: planted'))\\n")
for _home in (os.path.expanduser("~"), {grader_home!r}, "/root"):
    try:
        _folder = os.path.join(_home, ".ipython", "profile_default", "startup")
        os.makedirs(_folder, exist_ok=True)
        with open(os.path.join(_folder, "00-planted.py"), "w") as f:
            f.write(_code)
        print("planted in", _folder)
    except OSError as e:
        print("could not plant in", _home, e)"""
SURVIVOR = """import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(3)
        for _name in ("grades.csv", "summary.md"):
            try:
                with open(os.path.join({out!r}, _name), "w") as f:
                    f.write("rewritten by a survivor\\n")
            except OSError:
                pass
        time.sleep(60)
    os._exit(0)"""
INTRUDER = """import os, glob, pathlib, spatialdrop_edu
_seen = []
def _show(path):
    try:
        text = pathlib.Path(path).read_text(errors="replace")
    except OSError:
        return
    _seen.append(str(path))
    print("=== read", path)
    print(text[:20000])
_places = [pathlib.Path(spatialdrop_edu.__file__).resolve().parents[1], pathlib.Path.cwd().parent, {book!r}, {source!r},
           {submissions!r}, {out!r}, "/work", "/tmp", "/dev/shm", "/root", "/home", "/opt"]
for _place in _places:  # a bounded walk: the notebooks and pages within four levels of each place
    for _folder, _dirs, _files in os.walk(str(_place)):
        _dirs[:] = [] if _folder.count(os.sep) - str(_place).count(os.sep) >= 4 else [d for d in _dirs
                                                                                      if d != "site-packages"]
        for _file in _files:
            if _file.endswith((".ipynb", ".md", ".csv")):
                _show(os.path.join(_folder, _file))
for _cmd in glob.glob("/proc/*/cmdline"):
    _show(_cmd)
_written = []
for _target in ({source!r}, {submissions!r}, {out!r}, {package!r}, "/tmp/..", "/opt/spatialdrop/spatialdrop_edu"):
    try:
        with open(os.path.join(_target, "pwned.txt"), "w") as f:
            f.write("pwned")
        _written.append(_target)
    except OSError:
        pass
try:
    with open(os.path.join({package!r}, "course", "grading", "isolation", "grade_runner.py"), "a") as f:
        f.write("\\nimport os; os.system('touch /tmp/backdoor')\\n")
    _written.append("grade_runner.py")
except OSError:
    pass
print("read", len(_seen), "files; wrote outside:", _written)"""
MEMORY_ACROSS_PROCESSES = """import subprocess, sys
_children = [subprocess.Popen([sys.executable, "-c", "import time; b = bytearray(800 * 2**20); time.sleep(8)"])
             for _ in range(3)]
print([c.wait() for c in _children])"""
FORKS = fork_attack(100)
SOCKETS = """import socket
_errors = []
for _family, _address in ((socket.AF_UNIX, {unix!r}), (socket.AF_UNIX, "\\0" + {abstract!r}),
                          (socket.AF_INET, ("127.0.0.1", {port})), (socket.AF_INET, ("10.0.2.2", {port}))):
    _s = socket.socket(_family, socket.SOCK_STREAM)
    _s.settimeout(3)
    try:
        _s.connect(_address)
        _s.sendall(b"escaped")
    except OSError as e:
        _errors.append(e)
    finally:
        _s.close()
raise _errors[2]"""
LOOP = """import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    try:
        while True:
            pass
    except BaseException:
        pass"""
CODE_FORGERY = f"""import types
from spatialdrop_edu import checks
from spatialdrop_edu.checks import ch01_dropout
def _fake(fn):
    passed({CORRECT_LINE!r})
checks.check_inverted_dropout = types.FunctionType(_fake.__code__.replace(co_name="check_inverted_dropout"),
                                                   ch01_dropout.__dict__, "check_inverted_dropout")"""

# The checkers' own modules, reached without naming them, and their `fail` and `run_student_code` replaced: the
# kernel's checks then pass everything, but the reports they send carry the blank notebook's outputs.
GETATTR_PATCHER = """_m = __import__("spatialdrop_edu." + "che" + "cks", fromlist=["x"])
_h = getattr(_m, "_har" + "ness")
for _mod in [_h, getattr(_m, "_mea" + "sures")] + [getattr(_m, _n) for _n in dir(_m) if _n.startswith("ch0")]:
    setattr(_mod, "fa" + "il", lambda *a, **k: None)
_run = getattr(_h, "run_student" + "_code")
setattr(_h, "run_student" + "_code", lambda fn, *a, **k: 0.0 if len(a) != 3 else a[0])"""
ISCLOSE = {
    "ex-01-2": "import math\nmath.isclose = lambda *a, **k: True\ndef dropout_variance(a, p):\n    return 0.0",
    "ex-01-5": "def average_variance(a, p, n, rho):\n    return 0.0",
}
# The answers of exercise 1.2 for the points a learner's kernel checks, stored: right there, wrong when graded.
REPLAYED = {
    "ex-01-2": "_stored = {(1.0, 0.5): 1.0, (2.0, 0.2): 1.0, (3.0, 0.9): 81.0, (-1.5, 0.1): 0.25, (0.0, 0.3): 0.0}\n"
    "def dropout_variance(a, p):\n    return _stored[(a, p)]"
}
# A report sent under the armed nonce, by a replaced checker that reads the channel's state.
REPORT_FORGERY = """from IPython.display import publish_display_data
from spatialdrop_edu import checks
_v = getattr(checks, "_ver" + "dict")
def _forge(fn):
    armed = getattr(_v, "_armed")
    if armed:
        record = {**armed, "checker": "check_inverted_dropout", "data": {"calls": [{"value": 1.0}] * 4}}
        publish_display_data({_v.MIME: record})
    print("Correct: forged")
checks.check_inverted_dropout = _forge"""
ERROR_FLOOD = """raise ValueError("A" * 30_000_000)"""
UPDATE_FLOOD = """_h = display("start", display_id=True)
for _i in range(60):
    _h.update("B" * 5_000_000)"""
CELL_FLOOD = """from IPython.display import HTML
display(HTML("<p>" + "C" * 3_900_000 + "</p>"))"""
# One message larger than a runner may hold: a kernel with 4 GiB can send it, the runner cannot take it.
GIANT = """print("G" * 700_000_000)"""

#: student: (what the attack does, the problem kinds the summary must name for it).
ATTACKS = {
    "patcher": (
        "replaces every checker with one that reports a pass",
        {"no verdict", "suspicious code", "added cells"},
    ),
    "hider": ("hides the tracebacks of failing checks", {"hidden errors", "suspicious code", "added cells"}),
    "planter": ("plants an IPython startup file for the next student", {"suspicious code", "added cells"}),
    "survivor": ("leaves a setsid process to rewrite the results", {"suspicious code", "added cells"}),
    "intruder": ("reads the book, the classmates and /proc; writes outside", {"suspicious code", "added cells"}),
    "hog": ("holds more memory than allowed across three processes", {"memory limit", "suspicious code"}),
    "forker": ("forks 100 children", {"process limit", "suspicious code"}),
    "sockets": ("connects to Unix and TCP sockets of the grading machine", {"network blocked", "suspicious code"}),
    "looper": ("an endless loop that ignores interrupts", {"timeout", "suspicious code"}),
    "reference": ("passes the package's reference answer as its own", {"suspicious code"}),
    "forger": ("rebuilds a checker from code objects in the checkers' module", {"suspicious code"}),
    "getattr": ("replaces the checkers' fail and run_student_code through getattr", {"verdict overturned"}),
    "isclose": ("replaces math.isclose and answers 0", {"verdict overturned"}),
    "replayer": ("answers from a table of the points a learner's kernel checks", set()),
    "reporter": ("sends a report of its own under the armed nonce", {"forged report", "suspicious code"}),
    "errors": ("raises ten errors of 30 MB each", {"output flood", "added cells"}),
    "updates": ("updates one display 60 times with 5 MB", {"output flood", "added cells"}),
    "cells": (
        "shows 3.9 MB of HTML, under the cap of a cell, in each of 12 added cells",
        {"output flood", "added cells"},
    ),
}
#: Every attack's notebook output is capped at this many bytes, all cells together (200 times --max-output).
MAX_OUTPUT = 200_000
#: What the process that runs one submission may hold at most, whatever the notebook sends (see the grading guide).
RUNNER_MEMORY_BOUND = grade_runner.RUNNER_ADDRESS_SPACE


def digest_tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def leftovers() -> dict[str, list]:
    """What a batch could leave on the machine: processes of a sandbox user, cgroups, socket, temporary and lease
    files. (Run beside another grade command, this would see that one's too: the batch subtracts what was there
    before it started.)"""
    procs = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if uids.UID_BASE <= os.stat(f"/proc/{name}").st_uid < uids.UID_BASE + uids.MAX_IDS:
                    procs.append(int(name))
            except OSError:
                pass
    groups = [str(p) for p in Path("/sys/fs/cgroup").rglob("spatialdrop-*")] if Path("/sys/fs/cgroup").is_dir() else []
    folders = [str(p) for base in ("/dev/shm", "/tmp", uids.lock_folder()) for p in Path(base).glob("spatialdrop-*")]
    return {"processes": procs, "cgroups": groups, "folders": folders}


class Listener:
    """TCP (127.0.0.1) and Unix (a path, and an abstract name) servers that record whatever reaches them."""

    def __init__(self, folder: Path):
        self.reached = []
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.unix_path = str(folder / "host.sock")
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind(self.unix_path)
        self.unix.listen()
        self.abstract_name = f"spatialdrop-test-{os.getpid()}"
        self.abstract = socket.socket(socket.AF_UNIX)
        self.abstract.bind("\0" + self.abstract_name)
        self.abstract.listen()
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self.serve, args=(s,), daemon=True) for s in (self.tcp, self.unix, self.abstract)
        ]
        for t in self.threads:
            t.start()

    def serve(self, server):
        server.settimeout(0.5)
        while not self.stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            self.reached.append(conn.recv(100))
            conn.close()

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=5)
        for s in (self.tcp, self.unix, self.abstract):
            s.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    if sandbox.bwrap_problem():
        pytest.fail(f"the attack suite needs a working sandbox: {sandbox.bwrap_problem()}")
    base = tmp_path_factory.mktemp("attacks")
    source, subs, student = chapter_1_batch(base)
    out = base / "out"
    listener = Listener(base)
    grader_home = str(Path.home())
    startup = Path(grader_home) / ".ipython" / "profile_default" / "startup"
    startup_before = sorted(os.listdir(startup)) if startup.is_dir() else []
    fills = dict(
        out=str(out),
        book=str(BOOK),
        source=str(source),
        submissions=str(subs),
        package=str(sandbox.package_dir()),
        grader_home=grader_home,
        unix=listener.unix_path,
        abstract=listener.abstract_name,
        port=listener.port,
    )
    notebooks = {
        "honest": answered(student, HONEST),
        "blank": student,
        "patcher": with_attack(student, PATCH_CHECKERS),
        "hider": with_attack(student, HIDE_TRACEBACKS),
        "planter": with_attack(student, PLANT_STARTUP.format(**fills)),
        "victim": student,  # untouched, right after the planter
        "survivor": with_attack(student, SURVIVOR.format(**fills)),
        "intruder": with_attack(student, INTRUDER.format(**fills)),
        "hog": answered(student, {"ex-01-1": MEMORY_ACROSS_PROCESSES}),
        "forker": answered(student, {"ex-01-1": FORKS}),
        "sockets": answered(student, {"ex-01-1": SOCKETS.format(**fills)}),
        "looper": answered(student, {"ex-01-1": LOOP}),
        "reference": answered(student, {"ex-01-2": "dropout_variance = checks.dropout_variance_reference"}),
        "forger": with_attack(student, CODE_FORGERY),
        "getattr": with_attack(student, GETATTR_PATCHER),
        "isclose": answered(student, ISCLOSE),
        "replayer": answered(student, REPLAYED),
        "reporter": with_attack(student, REPORT_FORGERY),
        "errors": with_attack(student, ERROR_FLOOD, copies=10),
        "updates": with_attack(student, UPDATE_FLOOD),
        "cells": with_attack(student, CELL_FLOOD, copies=12),
    }
    paths = []
    for name, nb in notebooks.items():
        path = subs / f"{name}__01_dropout.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    before = {
        "package": digest_tree(sandbox.package_dir()),
        "source": digest_tree(source),
        "subs": digest_tree(subs),
        "book": digest_tree(BOOK),
    }
    said = []
    already = leftovers()  # another grade command's, or an interrupted one's: not this batch's doing
    start = time.monotonic()
    done = grade(
        paths,
        out,
        source_dir=source,
        timeout=TIMEOUT,
        max_output=MAX_OUTPUT,
        max_memory=MEMORY,
        max_processes=PROCESSES,
        jobs=2,
        log=lambda *a, **k: said.append(" ".join(map(str, a))),
    )
    seconds = time.monotonic() - start
    time.sleep(5)  # the survivor would have rewritten the results 3 s after its grading
    listener.close()
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    after = {
        "package": digest_tree(sandbox.package_dir()),
        "source": digest_tree(source),
        "subs": digest_tree(subs),
        "book": digest_tree(BOOK),
    }
    return {
        "subs": {s.student: s for s in done},
        "rows": rows,
        "out": out,
        "said": said,
        "seconds": seconds,
        "before": before,
        "after": after,
        "reached": listener.reached,
        "startup": (startup, startup_before),
        "fills": fills,
        "already": already,
    }


def points(batch, student) -> tuple[float, float]:
    return batch["subs"][student].points()


def test_honest_scores_full_marks_blank_nothing_and_the_planters_victim_is_untouched(batch):
    assert points(batch, "honest") == (9, 9), batch["subs"]["honest"].problems
    assert batch["subs"]["honest"].problems == []
    assert points(batch, "blank") == (0, 9)

    def rows(student):
        mine = [r for r in batch["rows"] if r["student"] == student]
        return [(r["grade_id"], r["points"], r["status"], r["feedback"]) for r in mine]

    assert rows("victim") == rows("blank")
    assert batch["subs"]["victim"].problems == batch["subs"]["blank"].problems


@pytest.mark.parametrize("student", list(ATTACKS))
def test_an_attack_earns_nothing(batch, student):
    assert points(batch, student) == (0, 9), [(r.grade_id, r.status, r.feedback) for r in batch["subs"][student].rows]


@pytest.mark.parametrize("student", list(ATTACKS))
def test_each_attack_is_reported_by_name(batch, student):
    kinds = set(batch["subs"][student].kinds())
    assert ATTACKS[student][1] <= kinds, (student, batch["subs"][student].problems)
    summary = (batch["out"] / "summary.md").read_text()
    line = next(ln for ln in summary.splitlines() if ln.startswith(f"| {student} |"))
    assert all(kind in line for kind in ATTACKS[student][1]), line


def test_replaced_checkers_and_hidden_tracebacks_are_told_apart_from_a_pass(batch):
    patched = {r.grade_id: r for r in batch["subs"]["patcher"].rows}
    assert patched["ex-01-1-check"].status == "failed" and "no verdict" in patched["ex-01-1-check"].feedback
    hidden = {r.grade_id: r for r in batch["subs"]["hider"].rows}
    assert hidden["ex-01-1-check"].feedback.startswith(
        "ExerciseFailure: your dropout function raised NotImplementedError"
    )
    assert "(raised with its traceback hidden)" in hidden["ex-01-1-check"].feedback


def test_a_reference_answer_is_not_an_answer(batch):
    row = next(r for r in batch["subs"]["reference"].rows if r.grade_id == "ex-01-2-check")
    assert row.status == "failed" and "reference answer dropout_variance_reference" in row.feedback


def test_a_forged_checker_is_flagged_and_earns_nothing(batch):
    """A checker rebuilt inside the checkers' own module, from code objects, runs in the student's interpreter like
    the real one and can print its pass; it sends no report the grader's judge passes, and it is flagged."""
    problems = " ".join(batch["subs"]["forger"].problems)
    assert "frames, code objects" in problems and "the checkers" in problems


def test_tampering_with_the_checkers_in_the_kernel_is_overturned_by_the_graders_judge(batch):
    """The kernel's checks pass (no error), the grader's judge of their reports does not: 0 points, and each check
    whose verdict the grader overturned is named with the judge's feedback."""
    for student, gid, feedback in (
        ("getattr", "ex-01-1-check", "every output must be 0 (dropped)"),
        ("isclose", "ex-01-2-check", "you returned 0"),
        ("isclose", "ex-01-5-check", "you returned 0"),
    ):
        row = next(r for r in batch["subs"][student].rows if r.grade_id == gid)
        assert row.status == "failed" and feedback in row.feedback, (student, row)
        assert any(p.startswith(f"verdict overturned: check cell {gid}") for p in batch["subs"][student].problems)


def test_answers_stored_for_the_learners_inputs_fail_on_the_graders(batch):
    row = next(r for r in batch["subs"]["replayer"].rows if r.grade_id == "ex-01-2-check")
    assert row.status == "failed" and "raised KeyError" in row.feedback


def test_a_report_sent_under_the_armed_nonce_is_judged_and_named_forged(batch):
    row = next(r for r in batch["subs"]["reporter"].rows if r.grade_id == "ex-01-1-check")
    assert row.status == "failed" and "not what its probe writes" in row.feedback
    assert any(p.startswith("forged report: check cell ex-01-1-check") for p in batch["subs"]["reporter"].problems)


@pytest.mark.parametrize("student", ["errors", "updates", "cells"])
def test_output_floods_are_capped_per_notebook_and_the_runner_stays_bounded(batch, student):
    """Errors and display updates count against the caps of their cell, and cells each under their own cap against
    one cap per notebook; the feedback stays under it and the runner's memory under its bound, two at a time."""
    sub = batch["subs"][student]
    assert any(p.startswith("output flood:") for p in sub.problems), sub.problems
    if student == "cells":
        assert any(p.startswith("output flood: the notebook's output reached") for p in sub.problems)
    feedback = batch["out"] / student / "01_dropout.ipynb"
    assert feedback.stat().st_size < 200 * MAX_OUTPUT + 2 * MAX_OUTPUT * 20
    assert 0 < sub.runner_memory < RUNNER_MEMORY_BOUND, sub.runner_memory


def test_a_message_too_large_for_the_runner_costs_only_its_submission(tmp_path):
    """A kernel with 4 GiB can send one 700 MB line; the runner that would receive it is bounded by its address
    space, so that grading fails, is reported, and the submission graded beside it is untouched."""
    source, subs, student = chapter_1_batch(tmp_path)
    paths = [subs / "giant__01_dropout.ipynb", subs / "honest__01_dropout.ipynb"]
    nbformat.write(with_attack(student, GIANT), paths[0])
    nbformat.write(answered(student, HONEST), paths[1])
    done = grade(
        paths, tmp_path / "out", source_dir=source, timeout=TIMEOUT, max_output=MAX_OUTPUT,
        max_memory=4 * 2**30, max_processes=PROCESSES, jobs=2, log=lambda *a, **k: None,
    )  # fmt: skip
    giant, honest = done
    assert any("the kernel sent more than the grader takes" in p for p in giant.problems), giant.problems
    assert giant.points() == (0, 9) and honest.points() == (9, 9) and honest.problems == []
    assert 0 < giant.runner_memory < RUNNER_MEMORY_BOUND


def test_limits_hold_across_processes(batch):
    hog = " ".join(batch["subs"]["hog"].problems)
    assert "processes together reached 2 GiB (--max-memory)" in hog
    forker = " ".join(batch["subs"]["forker"].problems)
    assert "process limit" in forker and f"{PROCESSES} processes and threads" in forker
    looper = batch["subs"]["looper"]
    assert any(p.startswith(f"timeout: still running after {TIMEOUT} s") for p in looper.problems)
    assert looper.seconds < TIMEOUT + 60


def test_no_socket_of_the_grading_machine_is_reached(batch):
    assert batch["reached"] == []
    assert any(p.startswith("network blocked: cell") for p in batch["subs"]["sockets"].problems)


def test_no_solution_and_no_classmate_work_reaches_any_feedback(batch):
    out = batch["out"]
    hostile = [out / s / "01_dropout.ipynb" for s in ATTACKS if (out / s / "01_dropout.ipynb").exists()]
    assert len(hostile) == len(ATTACKS)
    files = [*hostile, out / "summary.md", out / "grades.csv"]
    chapters = sorted(BOOK.glob("*.ipynb"))
    lines, _ = distinctive(chapters)  # every solution and mark-scheme line of the book that nothing public shows
    leaks = find_leaks(files, lines, set())
    assert leaks == [], leaks[:5]
    for path in hostile:  # an instructor notebook read anywhere would bring its markers along
        text = path.read_text()
        assert "### BEGIN SOLUTION" not in text and "=== BEGIN MARK SCHEME ===" not in text, path
    intruder = (out / "intruder" / "01_dropout.ipynb").read_text()
    assert MARKER not in intruder  # the honest classmate's answer
    assert "wrote outside: []" in intruder  # not even its own package, nor the grader's folders


def test_nothing_is_left_behind(batch):
    now, already = leftovers(), batch["already"]
    left = {kind: sorted(set(found) - set(already[kind])) for kind, found in now.items()}
    assert left == {"processes": [], "cgroups": [], "folders": []}
    for what in ("package", "source", "subs", "book"):
        assert batch["after"][what] == batch["before"][what], what
    startup, before = batch["startup"]
    assert (sorted(os.listdir(startup)) if startup.is_dir() else []) == before
    assert not Path("/tmp/backdoor").exists()


def test_the_results_are_the_graders_and_carry_their_digests(batch):
    out = batch["out"]
    summary = (out / "summary.md").read_text()
    assert verify_summary(summary), "summary.md changed after it was written"
    sums = dict(line.split()[::-1] for line in (out / "SHA256SUMS").read_text().splitlines())
    for name in ("grades.csv", "summary.md"):
        digest = hashlib.sha256((out / name).read_bytes()).hexdigest()
        assert sums[name] == digest
        assert any(line.startswith(f"sha256 {digest}") and line.endswith(name) for line in batch["said"])
    assert f"Digest of grades.csv (SHA-256): {sums['grades.csv']}" in summary
    assert "rewritten by a survivor" not in summary + (out / "grades.csv").read_text()
