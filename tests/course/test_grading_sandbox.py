"""The pieces of the grading sandbox, each alone: the bwrap command, what a process sees inside, the entry's
limits, cgroups, the scan against the released notebook, the reports' digests and the verdict channel's wiring.

Fast: nothing here starts a Jupyter kernel; the sandbox is entered with a bare ``python -c`` probe.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from spatialdrop_edu.checks import _verdict
from spatialdrop_edu.course.edition.execute import kernel_env
from spatialdrop_edu.course.edition.release import student_notebook
from spatialdrop_edu.course.grading.isolation import cgroups, grade_runner, launch, sandbox, sandbox_entry, uids
from spatialdrop_edu.course.grading.records import Row, Submission
from spatialdrop_edu.course.grading.reports import SUMMARY_DIGEST, verify_summary, write_reports
from spatialdrop_edu.course.grading.restore import restore_instructor_cells
from spatialdrop_edu.course.grading.scan import CATEGORIES, categories, scan_submission

import exercise_fixtures as fx
from helpers import MODE_PROBE, mode_seen_by_a_fresh_process

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
needs_bwrap = pytest.mark.skipif(bool(sandbox.bwrap_problem()), reason=f"no sandbox here: {sandbox.bwrap_problem()}")


# ----------------------------------------------------------------------------- the sandbox's command


def test_the_environment_is_a_whitelist_with_the_reproducible_pins():
    env = sandbox.sandbox_env({"ATEN_CPU_CAPABILITY": "default", "AWS_SECRET_ACCESS_KEY": "x", "HOME": "/root"})
    assert "AWS_SECRET_ACCESS_KEY" not in env and env["HOME"] == sandbox.HOME
    assert env["ATEN_CPU_CAPABILITY"] == "default" and env["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert env["PYTHONPATH"] == sandbox.PACKAGE_MOUNT and env["KERAS_BACKEND"] == "torch"


@pytest.fixture
def box(tmp_path):
    (tmp_path / "prepared.ipynb").write_text("{}")
    with uids.lease(1) as (uid,):
        b = sandbox.Sandbox(
            uid, tmp_path, tmp_path / "prepared.ipynb", "01_dropout.ipynb", tmp_path / "kernel", tmpfs_bytes=2**28
        )
        b.prepare()
        yield b


def bound(command: list[str]) -> list[tuple[str, str, str]]:
    """``(option, source, destination)`` of every bind of a bwrap command."""
    return [
        (command[i], command[i + 1], command[i + 2])
        for i, word in enumerate(command)
        if word in ("--bind", "--ro-bind")
    ]


def test_the_command_binds_the_package_and_python_only(box):
    command = box.command(sandbox.sandbox_env())
    for flag in ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in command
    assert command[-1] == "--"
    binds = bound(command)
    writable = [b for b in binds if b[0] == "--bind"]
    assert writable == [("--bind", str(box.kernel_dir), str(box.kernel_dir))]
    sources = {Path(src) for _, src, _ in binds}
    assert ROOT not in sources and ROOT / "book" not in sources
    for src in sources:  # nothing of the repository around the package, nor a folder that holds it
        assert not (ROOT / "book").is_relative_to(src) and (
            src == sandbox.package_dir() or ROOT not in src.parents or ".venv" in src.parts
        ), src
    assert ("--ro-bind", str(sandbox.package_dir()), f"{sandbox.PACKAGE_MOUNT}/spatialdrop_edu") in binds


def test_a_python_folder_that_holds_the_course_is_refused(tmp_path):
    assert sandbox.exposure_problem([tmp_path]) == ""
    root = sandbox.python_roots()[0]
    assert f"contains {root / 'book'}" in sandbox.exposure_problem([root / "book"])


LEASE_ONE = """import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("uids", sys.argv[1])  # the module alone: no torch to import
uids = importlib.util.module_from_spec(spec)
spec.loader.exec_module(uids)
with uids.lease(1) as ids:
    print(ids[0], flush=True)
    time.sleep(30)"""


def test_sandbox_users_are_leased_machine_wide_and_never_root(tmp_path):
    """Two grade commands at once never share a sandbox user (one would take the other's kernel for a survivor)."""
    with uids.lease(2) as ids:
        assert 0 not in ids
        if os.geteuid() != 0:
            assert ids == [uids.UNPRIVILEGED_UID] * 2
            return
        assert len(set(ids)) == 2 and all(i >= uids.UID_BASE for i in ids)
        other = subprocess.Popen(
            [sys.executable, "-I", "-c", LEASE_ONE, uids.__file__], stdout=subprocess.PIPE, text=True
        )
        try:
            theirs = int(other.stdout.readline())
        finally:
            other.send_signal(signal.SIGINT)  # its `with` block ends as it would on Ctrl-C
            other.wait(timeout=30)
        assert theirs not in ids
    assert not list(uids.lock_folder().glob("spatialdrop-sandbox-uid-*.lock"))  # released leases leave no file
    with pytest.raises(ValueError, match="count must be a positive int"):
        with uids.lease(0):
            pass


PROBE = r"""
import importlib.util, json, os, socket, sys
def can_write(path):
    try:
        with open(os.path.join(path, "probe.txt"), "w") as f:
            f.write("x")
        return True
    except OSError:
        return False
print(json.dumps({
    "uid": os.getuid(), "pid": os.getpid(), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "cwd": os.getcwd(), "work": sorted(os.listdir(".")), "home": sorted(os.listdir(os.environ["HOME"])),
    "env": sorted(os.environ), "hostname": socket.gethostname(),
    "package": importlib.util.find_spec("spatialdrop_edu").origin,
    "root": sorted(os.listdir("/")), "book": os.path.exists(sys.argv[2]),
    "repo": sorted(os.listdir(sys.argv[1])) if os.path.isdir(sys.argv[1]) else None,
    "writable": {p: can_write(p) for p in ("/tmp", os.environ["HOME"], ".", "/opt/spatialdrop/spatialdrop_edu",
                                           "/usr", "/")},
    "interfaces": [line.split(":")[0].strip() for line in open("/proc/net/dev").read().splitlines()[2:]],
    "run": os.path.exists("/run"),
}))
"""


def _entry(box):
    """The sandbox's entry with the batch's limits, as the grader starts it (as root: switching to the box's user)."""
    entry = f"{sandbox.PACKAGE_MOUNT}/spatialdrop_edu/course/grading/isolation/sandbox_entry.py"
    inner = [sys.executable, "-I", "-S", entry, "--processes", "50", "--memory", str(2**31)]
    return inner + (["--user", str(box.uid)] if os.geteuid() == 0 else [])


@needs_bwrap
def test_inside_the_sandbox(box):
    command = [
        *box.command(sandbox.sandbox_env()),
        *_entry(box),
        "--",
        sys.executable,
        "-c",
        PROBE,
        str(ROOT),
        str(ROOT / "book"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["uid"] != 0 and seen["uid"] == (box.uid if os.geteuid() == 0 else uids.UNPRIVILEGED_UID)
    assert seen["pid"] < 10 and max(seen["pids"]) < 10  # its own PID namespace: bwrap's init, the probe
    assert seen["cwd"] == sandbox.WORK and seen["work"] == ["01_dropout.ipynb"] and seen["home"] == ["work"]
    assert seen["package"] == f"{sandbox.PACKAGE_MOUNT}/spatialdrop_edu/__init__.py"
    # The course folder is absent, or (a virtual environment inside it, as in CI) holds only that environment
    inside = {r.relative_to(ROOT.resolve()).parts[0] for r in sandbox.python_roots() if ROOT.resolve() in r.parents}
    assert seen["repo"] == (sorted(inside) if inside else None)
    assert not seen["book"] and not seen["run"]
    assert seen["writable"] == {
        "/tmp": True,
        sandbox.HOME: True,
        ".": True,
        "/opt/spatialdrop/spatialdrop_edu": False,
        "/usr": False,
        "/": False,
    }
    assert seen["interfaces"] == ["lo"] and seen["hostname"] == "sandbox"
    assert set(seen["env"]) <= set(sandbox.sandbox_env()) | {"MALLOC_ARENA_MAX", "PWD"}


@needs_bwrap
def test_the_sandbox_runs_under_the_reproducible_mode(box):
    """Inside the sandbox, student code computes what a fresh process under the mode computes (MKL's and
    OpenBLAS's bits included): a checker's verdict does not depend on where it was graded."""
    command = [*box.command(sandbox.sandbox_env()), *_entry(box), "--", sys.executable, "-c", MODE_PROBE]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == mode_seen_by_a_fresh_process(kernel_env())


# ----------------------------------------------------------------------------- the entry


def test_the_entry_reads_its_options_and_refuses_wrong_ones():
    options, command = sandbox_entry.parse(["--join", "/a", "--memory", "5", "--processes-relative", "--", "x", "-y"])
    assert (
        options["join"] == ["/a"]
        and options["memory"] == 5
        and options["processes_relative"]
        and command == ["x", "-y"]
    )
    with pytest.raises(ValueError, match="--memory takes a whole number"):
        sandbox_entry.parse(["--memory", "4G", "--", "x"])
    with pytest.raises(ValueError, match="a command is needed after --"):
        sandbox_entry.parse(["--memory", "4"])


def test_the_entry_sets_the_limits_then_becomes_the_command():
    code = (
        "import resource as r; print(r.getrlimit(r.RLIMIT_AS)[0], r.getrlimit(r.RLIMIT_CPU), "
        "r.getrlimit(r.RLIMIT_CORE))"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            str(launch.ENTRY),
            "--memory",
            str(2**31),
            "--cpu",
            "7",
            "--",
            sys.executable,
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.split() == [str(2**31), "(7,", "12)", "(0,", "0)"]
    failed = subprocess.run(
        [sys.executable, "-I", "-S", str(launch.ENTRY), "--bogus", "--", "true"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode == sandbox_entry.FAILED and "unknown option '--bogus'" in failed.stderr


# ----------------------------------------------------------------------------- cgroups


def test_cgroups_bound_the_whole_submission_and_are_removed():
    try:
        group = cgroups.create(f"spatialdrop-test-{os.getpid()}", memory=2**28, processes=10)
    except cgroups.CgroupUnavailable as exc:
        pytest.skip(f"no cgroups here: {exc}")
    code = """import os, time
children = []
for i in range(30):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    children.append(pid)
hog = bytearray(400 * 2**20)"""
    try:
        joins = [a for p in group.procs_files() for a in ("--join", str(p))]
        subprocess.run(
            [sys.executable, "-I", "-S", str(launch.ENTRY), *joins, "--", sys.executable, "-I", "-c", code],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
        report = group.report()
        assert report["oom_kills"] >= 1 and report["process_hits"] >= 1
        assert group.pids(), "the sleeping children outlived their parent, in the cgroup"
    finally:
        survivors = group.remove()
    assert survivors >= 1 and all(not p.exists() for p in group.created)


def test_cgroup_v2_limits_are_written_where_the_controllers_are_delegated(tmp_path, monkeypatch):
    base = tmp_path / "grader.scope"
    base.mkdir()
    (base / "cgroup.controllers").write_text("cpu memory pids\n")
    (base / "cgroup.subtree_control").write_text("")
    monkeypatch.setattr(
        cgroups, "own_folders", lambda: {n: cgroups.Controller(n, base, 2) for n in cgroups.CONTROLLERS}
    )
    group = cgroups.create("spatialdrop-x", memory=2**30, processes=64)
    child = base / "spatialdrop-x"
    assert group.procs_files() == [child / "cgroup.procs"]
    assert (child / "memory.max").read_text() == str(2**30) and (child / "pids.max").read_text() == "66"
    (child / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (child / "pids.events").write_text("max 5\n")
    assert group.report() == {"memory_peak": None, "memory_hits": 3, "oom_kills": 1, "process_hits": 5}
    with pytest.raises(ValueError, match="name must be a plain folder name"):
        cgroups.create("../x", memory=0, processes=0)


# ----------------------------------------------------------------------------- the scan


@pytest.mark.parametrize(
    "category, code",
    [
        ("get_ipython", "get_ipython().events.register('pre_run_cell', print)"),
        ("sys.modules", "import sys\nsys.modules['numpy'] = None"),
        ("checkers", "from spatialdrop_edu.checks import _harness"),
        ("checkers", "from spatialdrop_edu.checks._measures import as_array"),
        ("checkers", "import spatialdrop_edu.checks as c\nc._judging.judge_of = print"),
        ("checkers", "import spatialdrop_edu.checks as c\nc.check_inverted_dropout = print"),
        ("checkers", "import spatialdrop_edu.checks as c\nc.ch01_dropout.passed('Correct: yes')"),
        ("builtins", "__builtins__.print = len"),
        ("frames", "import inspect\ninspect.currentframe().f_back.f_globals"),
        ("dynamic code", "exec('x = 1')"),
        ("processes", "import os\nos.fork()"),
        ("paths", "open('/work/book/01_dropout.ipynb').read()"),
        ("magics", "!cat /etc/passwd"),
    ],
)
def test_the_scan_names_each_category(category, code):
    assert category in CATEGORIES and category in categories(code)


def test_honest_code_is_not_flagged():
    honest = [
        "import numpy as np\ndef f(x, p, rng):\n    return np.where(rng.random(x.shape) >= p, x / (1 - p), 0.0)",
        "model.modules()\nplatform.system()\nlayer.kernel\n%matplotlib inline\n%time f(1)",
        "x = 'a/b' + '1/2'",
        "from spatialdrop_edu import checks\nchecks.check_inverted_dropout(my_dropout)\npassed = True",
    ]
    assert [categories(c) for c in honest] == [[], [], [], []]


def test_no_chapter_solution_is_flagged_and_an_added_cell_is():
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert scan_submission(student_notebook(nb), nb) == ([], []), path.name
    released = student_notebook(fx.instructor_notebook())
    submitted = copy.deepcopy(released)
    submitted.cells.insert(5, nbformat.v4.new_code_cell("get_ipython().showtraceback = print"))
    submitted.cells[2].source = "print('changed')"
    problems, findings = scan_submission(released, submitted)
    assert [p.split(":")[0] for p in problems] == ["added cells", "changed cells", "suspicious code"]
    assert "code cell 5 of the submission" in problems[0] and "cell 2 of the released notebook" in problems[1]
    assert [(f.index, f.label, f.categories) for f in findings] == [(5, "added", ["get_ipython"])]


def test_grading_against_the_student_edition_runs_the_same_notebook():
    """What the container recipe does: --source student/ (no solution on the grading machine) runs the same cells."""
    instructor = fx.instructor_notebook()
    submitted = student_notebook(instructor)
    del submitted.cells[6]  # a check cell
    a = restore_instructor_cells(instructor, submitted)
    b = restore_instructor_cells(student_notebook(instructor), submitted)
    assert [c.source for c in a[0].cells] == [c.source for c in b[0].cells] and a[1:] == b[1:]


# ----------------------------------------------------------------------------- reports and the verdict channel


def test_the_reports_carry_digests_that_show_any_change(tmp_path):
    sub = Submission(Path("a__01.ipynb"), "a", "01", rows=[Row("a", "01", "ex-01-1-check", 2, 2, "passed", "Correct")])
    digests = write_reports([sub], tmp_path)
    summary = (tmp_path / "summary.md").read_text()
    assert verify_summary(summary) and summary.splitlines()[-1].startswith(SUMMARY_DIGEST)
    assert f"Digest of grades.csv (SHA-256): {digests['grades.csv']}" in summary
    assert not verify_summary(summary.replace("| 2 |", "| 3 |"))
    assert (tmp_path / "SHA256SUMS").read_text() == "".join(f"{d}  {n}\n" for n, d in digests.items())
    assert write_reports([sub], tmp_path / ".." / tmp_path.name) == digests  # the same batch, the same digests


def test_the_runner_speaks_the_checkers_verdict_protocol():
    assert grade_runner.VERDICT_MIME == _verdict.MIME
    namespace = {}
    exec(grade_runner.ARM.format(grade_id="g", nonce="n", seed=7), namespace)
    assert _verdict._armed == {"grade_id": "g", "nonce": "n", "seed": 7}
    assert _verdict.grading_seed() == 7
    exec(grade_runner.DISARM, namespace)
    assert _verdict._armed is None
