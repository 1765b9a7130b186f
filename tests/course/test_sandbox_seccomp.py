"""The seccomp filter of the grading kernels: its BPF program, what it refuses in a process of its own and in the
sandbox, and a graded notebook that tries to create a user namespace.

The filter cannot be removed from a process: it is only ever installed in a subprocess (through the entry,
``sandbox_entry.py --seccomp``), never in pytest's own.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from notebooks import HONEST, answered, chapter_1_batch, with_attack
from test_grading_sandbox import _entry, needs_bwrap

from spatialdrop_edu.course.grading import batch
from spatialdrop_edu.course.grading.isolation import launch, sandbox, sandbox_entry, seccomp, uids

MACHINES = list(seccomp.SYSCALLS)
HERE = os.uname().machine
# The flags glibc gives clone for a thread (pthread_create), fork and vfork (posix_spawn, subprocess).
THREAD = 0x003D0F00  # VM | FS | FILES | SIGHAND | THREAD | SYSVSEM | SETTLS | PARENT_SETTID | CHILD_CLEARTID
FORK = 0x01200011  # CHILD_SETTID | CHILD_CLEARTID | SIGCHLD
VFORK = 0x00004111  # VM | VFORK | SIGCHLD
NAMESPACES = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
EPERM = seccomp.RET_ERRNO | 1
ENOSYS = seccomp.RET_ERRNO | 38


def verdict(program, nr: int, arch: int, flags: int = 0) -> int:
    """What ``program`` returns for one system call: an interpreter of the BPF instructions the filter uses."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, flags, 0, 0, 0, 0, 0)  # struct seccomp_data
    at, acc = 0, 0
    while True:
        code, jt, jf, k = program[at]
        if code == seccomp.RET:
            return k
        if code == seccomp.LD_ABS:
            acc, at = struct.unpack_from("<I", data, k)[0], at + 1
            continue
        taken = {seccomp.JEQ: acc == k, seccomp.JGE: acc >= k, seccomp.JSET: acc & k != 0}[code]
        at += 1 + (jt if taken else jf)


# ----------------------------------------------------------------------------- the program


@pytest.mark.parametrize("machine", MACHINES)
def test_the_architecture_is_checked_first(machine):
    program = seccomp.program(machine)
    assert program[0] == (seccomp.LD_ABS, 0, 0, seccomp.ARCH)
    code, jt, jf, k = program[1]
    assert (code, jt, k) == (seccomp.JEQ, 0, seccomp.AUDIT_ARCH[machine])
    assert program[2 + jf] == (seccomp.RET, 0, 0, seccomp.RET_KILL_PROCESS)  # another architecture: killed
    other = seccomp.AUDIT_ARCH["aarch64" if machine == "x86_64" else "x86_64"]
    assert verdict(program, 0, other) == seccomp.RET_KILL_PROCESS
    assert verdict(program, 0x40000000 | 272, seccomp.AUDIT_ARCH[machine]) == (
        seccomp.RET_KILL_PROCESS if machine == "x86_64" else seccomp.RET_ALLOW  # x32's unshare; aarch64 has no x32
    )


@pytest.mark.parametrize("machine", MACHINES)
def test_each_refused_call_is_in_the_program_and_refused(machine):
    program, numbers, arch = seccomp.program(machine), seccomp.SYSCALLS[machine], seccomp.AUDIT_ARCH[machine]
    compared = {k for code, _, _, k in program if code == seccomp.JEQ}
    for name in seccomp.REFUSED:
        assert numbers[name] in compared, name
        assert verdict(program, numbers[name], arch) == EPERM, name
    assert verdict(program, numbers["clone3"], arch) == ENOSYS
    refused = {numbers[n] for n in (*seccomp.REFUSED, "clone", "clone3")}
    assert len(refused) == len(seccomp.REFUSED) + 2  # no two names share a number
    for nr in set(range(450)) - refused:  # read, openat, mmap, futex, prctl, ...: allowed
        assert verdict(program, nr, arch) == seccomp.RET_ALLOW, nr


@pytest.mark.parametrize("machine", MACHINES)
def test_clone_is_refused_with_a_namespace_flag_only(machine):
    program, arch = seccomp.program(machine), seccomp.AUDIT_ARCH[machine]
    clone = seccomp.SYSCALLS[machine]["clone"]
    for flags in (THREAD, FORK, VFORK):
        assert verdict(program, clone, arch, flags) == seccomp.RET_ALLOW, hex(flags)
    for name, flag in NAMESPACES.items():
        assert verdict(program, clone, arch, FORK | flag) == EPERM, name
    assert sum(NAMESPACES.values()) == seccomp.CLONE_NEW_FLAGS


@pytest.mark.parametrize(
    "machine, header",
    [("x86_64", "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"), ("aarch64", "/usr/include/asm-generic/unistd.h")],
)
def test_the_numbers_are_the_kernels(machine, header):
    if not os.path.exists(header):
        pytest.skip(f"no {header} here (the kernel's headers, linux-libc-dev)")
    defined = dict(re.findall(r"^#define __NR_(\w+)\s+(\d+)", Path(header).read_text(), re.M))
    assert {n: int(defined[n]) for n in seccomp.SYSCALLS[machine]} == seccomp.SYSCALLS[machine]


def test_another_architecture_is_refused_by_name():
    with pytest.raises(seccomp.SeccompUnavailable, match=r"no seccomp filter for the architecture 'riscv64'"):
        seccomp.program("riscv64")
    fake = (
        "import os, runpy, sys\n"
        "u = os.uname()\n"
        "os.uname = lambda: os.uname_result((u.sysname, u.nodename, u.release, u.version, 'riscv64'))\n"
        "sys.argv = [sys.argv[1], '--seccomp', '--', 'true']\n"
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", fake, str(launch.ENTRY)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == sandbox_entry.FAILED, done.stderr
    assert "sandbox_entry: SeccompUnavailable: no seccomp filter for the architecture 'riscv64'" in done.stderr


# ----------------------------------------------------------------------------- the filter at work

PROBE = r"""
import ctypes, errno, json, os, shutil, subprocess, sys, threading, time
clone = int(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
long = ctypes.c_long

def outcome(result):
    return "ok" if result >= 0 else errno.errorcode[ctypes.get_errno()]

seen = {}
if shutil.which("unshare"):
    seen["unshare -Ur"] = subprocess.run(["unshare", "-Ur", "true"], capture_output=True, text=True).stderr.strip()
child = libc.syscall(long(clone), long(0x10000000 | 17), None, None, None, None)  # CLONE_NEWUSER | SIGCHLD
if child == 0:
    os._exit(0)
seen["clone CLONE_NEWUSER"] = outcome(child)
if child > 0:
    os.waitpid(child, 0)
seen["clone3"] = outcome(libc.syscall(long(435), None, long(0)))
seen["mount"] = outcome(libc.mount(b"none", b"/no-such-mount-point", b"tmpfs", long(0), None))
sleeper = os.fork()
if sleeper == 0:
    time.sleep(60)
    os._exit(0)
seen["ptrace"] = outcome(libc.ptrace(long(16), long(sleeper), None, None))  # PTRACE_ATTACH
os.kill(sleeper, 9)
os.waitpid(sleeper, 0)
try:  # last: where it works, this process is in a user namespace of its own from here on
    if hasattr(os, "unshare"):  # Python 3.12+
        os.unshare(os.CLONE_NEWUSER)
    elif libc.unshare(0x10000000) != 0:
        raise OSError(ctypes.get_errno(), "unshare")
    seen["unshare"] = "ok"
except OSError as e:
    seen["unshare"] = errno.errorcode[e.errno]

done = []
threads = [threading.Thread(target=done.append, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
seen["threads"] = sorted(done)
seen["subprocess"] = subprocess.run(["true"]).returncode
forked = os.fork()
if forked == 0:
    os._exit(7)
seen["fork"] = os.waitstatus_to_exitcode(os.waitpid(forked, 0)[1])
print(json.dumps(seen))
"""
REFUSED = {"unshare": "EPERM", "mount": "EPERM", "ptrace": "EPERM", "clone CLONE_NEWUSER": "EPERM", "clone3": "ENOSYS"}
WORKS = {"threads": [0, 1, 2, 3], "subprocess": 0, "fork": 7}


def assert_filtered(seen: dict) -> None:
    assert {k: seen[k] for k in REFUSED} == REFUSED, seen
    assert {k: seen[k] for k in WORKS} == WORKS, seen
    if "unshare -Ur" in seen:
        assert seen["unshare -Ur"].endswith("unshare failed: Operation not permitted"), seen


needs_filter = pytest.mark.skipif(HERE not in seccomp.SYSCALLS, reason=f"no seccomp filter for {HERE}")


@needs_filter
def test_the_filter_refuses_in_a_process_of_its_own_and_lets_ordinary_work_run():
    clone = str(seccomp.SYSCALLS[HERE]["clone"])
    entry = [sys.executable, "-I", "-S", str(launch.ENTRY), "--seccomp", "--"]
    done = subprocess.run(
        [*entry, sys.executable, "-I", "-c", PROBE, clone], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert_filtered(json.loads(done.stdout))


@pytest.fixture
def box(tmp_path):
    (tmp_path / "prepared.ipynb").write_text("{}")
    with uids.lease(1) as (uid,):
        b = sandbox.Sandbox(uid, tmp_path, tmp_path / "prepared.ipynb", "01.ipynb", tmp_path / "kernel", 2**28)
        b.prepare()
        yield b


@pytest.mark.sandbox
@needs_bwrap
@needs_filter
def test_in_the_sandbox_no_process_creates_a_namespace(box):
    """As root, bubblewrap creates no user namespace, and its --disable-userns does not apply: the filter does."""
    clone = str(seccomp.SYSCALLS[HERE]["clone"])
    command = [*box.command(sandbox.sandbox_env()), *_entry(box), "--seccomp", "--", sys.executable, "-c", PROBE, clone]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert_filtered(json.loads(done.stdout))


# ----------------------------------------------------------------------------- a graded notebook

NAMESPACE_ATTACK = """import ctypes, os, subprocess
_done = subprocess.run(["unshare", "-Ur", "true"], capture_output=True, text=True)
print("unshare -Ur:", "worked" if _done.returncode == 0 else f"refused ({_done.stderr.strip()})")
try:
    if hasattr(os, "unshare"):
        os.unshare(os.CLONE_NEWUSER)
    elif ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    print("os.unshare(CLONE_NEWUSER): worked")
except OSError as e:
    print(f"os.unshare(CLONE_NEWUSER): refused (errno {e.errno})")"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if sandbox.bwrap_problem():
        pytest.skip(f"no sandbox here: {sandbox.bwrap_problem()}")
    base = tmp_path_factory.mktemp("seccomp")
    source, subs, student = chapter_1_batch(base)
    out = base / "out"
    notebooks = {"honest": answered(student, HONEST), "namespacer": with_attack(student, NAMESPACE_ATTACK)}
    paths = []
    for name, nb in notebooks.items():
        paths.append(subs / f"{name}__01_dropout.ipynb")
        nbformat.write(nb, paths[-1])
    done = batch.grade(
        paths,
        out,
        source_dir=source,
        timeout=60,
        max_output=20_000,
        max_memory=2 * 2**30,
        max_processes=64,
        jobs=2,
        log=lambda *a, **k: None,
    )
    return {s.student: s for s in done}, out


@pytest.mark.sandbox
@pytest.mark.slow
def test_a_notebook_cannot_create_a_user_namespace(graded):
    subs, out = graded
    feedback = (out / "namespacer" / "01_dropout.ipynb").read_text()
    assert "unshare -Ur: refused (unshare: unshare failed: Operation not permitted)" in feedback
    assert "os.unshare(CLONE_NEWUSER): refused (errno 1)" in feedback
    assert subs["namespacer"].points() == (0, 9)


@pytest.mark.sandbox
@pytest.mark.slow
def test_an_honest_notebook_still_passes_under_the_filter(graded):
    """Chapter 1 runs torch (threads: clone without a namespace flag) in a kernel under the filter."""
    subs, _ = graded
    assert subs["honest"].points() == (9, 9) and subs["honest"].problems == [], subs["honest"].problems
