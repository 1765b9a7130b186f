"""The test suite's own groups: the markers are registered, and pytest-xdist runs the sandbox group in one worker.

The sandbox tests lease the machine's sandbox user ids and make cgroups: two of them at once in two workers would
see each other's leases (``--dist loadgroup`` with the ``xdist_group`` that ``tests/conftest.py`` adds). pytest 9.2
renamed the attribute pytest-xdist 3.8 rewrites to group tests, which silently ungroups them: this catches that.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FAST_SANDBOX = [
    "tests/course/test_grading_sandbox.py::test_the_environment_is_a_whitelist_with_the_reproducible_pins",
    "tests/course/test_grading_sandbox.py::test_the_command_binds_the_package_and_python_only",
    "tests/course/test_grading_sandbox.py::test_a_python_folder_that_holds_the_course_is_refused",
    "tests/course/test_grading.py::test_parse_name",
]


def test_every_marker_used_is_registered():
    command = [sys.executable, "-m", "pytest", "--markers", "-p", "no:cacheprovider"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    registered = set(re.findall(r"^@pytest\.mark\.(\w+)", done.stdout, re.M))
    assert {"slow", "sandbox", "site", "browser", "xdist_group"} <= registered, registered


@pytest.mark.slow
def test_the_sandbox_group_runs_in_one_worker():
    pytest.importorskip("xdist")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup", "-v"]
    done = subprocess.run([*command, *FAST_SANDBOX], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:]
    ran = re.findall(r"^\[(gw\d+)\] .*PASSED (\S+)", done.stdout, re.M)
    assert len(ran) == len(FAST_SANDBOX), done.stdout[-3000:]
    assert all(nodeid.endswith("@sandbox") for _, nodeid in ran), ran
    assert len({worker for worker, _ in ran}) == 1, ran
