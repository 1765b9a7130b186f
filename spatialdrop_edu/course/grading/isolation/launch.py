"""Run one prepared submission in a throwaway sandbox, bring back what its runner saw, and leave nothing behind.

For each submission the grader (trusted, outside any sandbox):

1. writes the prepared notebook into a private folder of its own;
2. creates the submission's cgroups (:mod:`.cgroups`) and the sandbox's files (:mod:`.sandbox`);
3. starts the runner (``grade_runner.py``, also trusted), which starts the kernel through
   ``sandbox_entry.py --join`` (into the cgroups) → ``bwrap`` → ``sandbox_entry.py`` (rlimits, the
   sandbox's user, the seccomp filter) → the kernel, and talks to it over Unix sockets;
4. once the runner is done (or killed after ``timeout`` plus :data:`GRACE_S`), kills whatever is left
   in the cgroups or runs as the sandbox's user, counts it as a survivor, removes the cgroups and
   the kernel's folder, and returns the runner's result with what the cgroups saw.

Without a sandbox (``--no-sandbox``) step 2 is only the rlimits of :mod:`.sandbox_entry` and, where
allowed, a network namespace (:mod:`.unsandboxed`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import cgroups, sandbox
from .unsandboxed import NETNS_CMD

RUNNER = Path(__file__).with_name("grade_runner.py")
ENTRY = Path(__file__).with_name("sandbox_entry.py")
#: Extra seconds the grader waits, beyond ``timeout``, for a runner to start its kernel and stop it.
GRACE_S = 60


@dataclass
class Policy:
    """How every submission of a batch is run: the sandbox or not, and the limits (0: none).

    Args:
        sandbox: one bubblewrap sandbox per submission; False only for ``--no-sandbox``.
        memory: bytes of memory (a cgroup: for the whole submission; and of address space per process).
        cpu: CPU seconds per process.
        processes: processes and threads (the whole submission in a sandbox; beyond the user's without).
        network: without a sandbox, run the kernel in a network namespace of its own (a sandbox never has network).
        cgroups: use cgroups for memory and processes where they work.
        notes: what could not be applied here, for the summary.
    """

    sandbox: bool = True
    memory: int = 0
    cpu: int = 0
    processes: int = 0
    network: bool = True
    cgroups: bool = True
    notes: list[str] = field(default_factory=list)


def kernel_folder_base() -> Path:
    """Where the kernels' socket folders go: ``/dev/shm`` (memory, so what a sandbox writes there counts against its
    memory limit) where it is a writable folder, else the temporary folder."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else Path(tempfile.gettempdir())


def user_processes(uid: int) -> list[int]:
    """The live processes (zombies left out: they have ended) of user ``uid``."""
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
                if os.stat(f"/proc/{name}").st_uid == uid and state != "Z":
                    pids.append(int(name))
            except (OSError, IndexError):
                pass
    return pids


def kill_user_processes(uid: int, grace: float = 5.0, timeout: float = 10.0) -> int:
    """Give the processes of user ``uid`` (a sandbox's own, graded as root) ``grace`` seconds to end, then SIGKILL
    what is left and wait until it is gone; return how many were left."""
    return cgroups.kill_and_wait(lambda: user_processes(uid), grace, timeout)


def _sandbox_plan(plan: dict, private: Path, notebook_name: str, uid: int, policy: Policy, env: dict):
    """Fill ``plan`` with the sandbox's command; return the :class:`~.sandbox.Sandbox` and its cgroups (or None)."""
    kernel_dir = Path(tempfile.mkdtemp(prefix="spatialdrop-kernel-", dir=kernel_folder_base()))
    box = sandbox.Sandbox(
        uid,
        private,
        Path(plan["notebook"]),
        notebook_name,
        kernel_dir,
        tmpfs_bytes=min(policy.memory or sandbox.TMPFS_BYTES, sandbox.TMPFS_BYTES),
    )
    group, plan["cgroup_error"] = None, ""
    try:
        box.prepare()
        if policy.cgroups:
            try:
                group = cgroups.create(
                    f"spatialdrop-{os.getpid()}-{kernel_dir.name[-8:]}",
                    memory=policy.memory,
                    processes=policy.processes,
                )
            except cgroups.CgroupUnavailable as exc:  # the probe at the batch's start worked: say so for this one
                plan["cgroup_error"] = str(exc)
        outer = [
            sys.executable,
            "-I",
            "-S",
            str(ENTRY),
            *[a for p in (group.procs_files() if group else []) for a in ("--join", str(p))],
            "--",
        ]
        inner_entry = f"{sandbox.PACKAGE_MOUNT}/{sandbox.package_dir().name}/course/grading/isolation/{ENTRY.name}"
        inner = _entry_with_limits(inner_entry, policy, counted=group is not None)
        if os.geteuid() == 0:
            inner += ["--user", str(box.uid)]
        inner.append("--seccomp")  # no process of the sandbox may create namespaces, mount or trace (.seccomp)
        plan.update(
            prefix=[*outer, *box.command(env), *inner, "--"],
            ipc=str(kernel_dir / "kernel"),
            connection_file=str(kernel_dir / "connection.json"),
            owner=box.uid if os.geteuid() == 0 else None,
        )
    except BaseException:  # nothing of a sandbox that never started stays behind
        if group:
            group.remove()
        shutil.rmtree(kernel_dir, ignore_errors=True)
        raise
    return box, group


def _entry_with_limits(entry: str, policy: Policy, *, counted: bool = False) -> list[str]:
    """The command of ``sandbox_entry.py`` (at ``entry``) setting the batch's memory, CPU time and process limits.

    ``counted``: a pids cgroup holds the submission. Its user's ``RLIMIT_NPROC`` is then set above the cgroup's
    limit (by bubblewrap's own processes, which the cgroup counts and the user does not), so that the cgroup is
    what refuses a fork: it counts each refusal (``pids.events``), and a submission that catches the error is
    still reported as having hit the limit.
    """
    processes = policy.processes + cgroups.BWRAP_PROCESSES if counted and policy.processes else policy.processes
    return [
        sys.executable,
        "-I",
        "-S",
        entry,
        "--memory",
        str(policy.memory),
        "--cpu",
        str(policy.cpu),
        "--processes",
        str(processes),
    ]


def _plain_plan(plan: dict, private: Path, policy: Policy) -> None:
    """Fill ``plan`` with the command of a kernel without a sandbox: rlimits and, where allowed, no network."""
    prefix = [*_entry_with_limits(str(ENTRY), policy), "--processes-relative", "--"]
    if policy.network:
        prefix = [*NETNS_CMD, *prefix]
    plan.update(
        prefix=prefix, ipc=str(private / "kernel") if policy.network else None, connection_file=None, owner=None
    )


def run_submission(
    nb,
    private: Path,
    *,
    notebook_name: str,
    uid: int,
    timeout: float,
    max_output: int,
    policy: Policy,
    checks: dict,
    env: dict,
) -> dict:
    """Run a prepared notebook in a fresh kernel (in its own sandbox unless ``policy`` says otherwise).

    Args:
        nb: the notebook to run (the instructor's check cells already in place).
        private: an empty folder of the grader's for this submission (never bound into the sandbox whole).
        notebook_name: the notebook's file name inside the sandbox.
        uid: the user id its sandbox runs as (leased for the batch: :func:`.uids.lease`).
        timeout: seconds for the whole notebook.
        max_output: bytes of text output kept per cell.
        policy: the sandbox and limits of the batch.
        checks: ``{cell index: {"grade_id": ..., "seed": ...}}`` of the check cells, for the verdict channel.
        env: the kernel's environment (a sandbox gets exactly this; without one, the runner's and the kernel's).

    Returns:
        The runner's result (``cells``, ``problem``) with ``usage`` (what the cgroups saw, or ``None``),
        ``survivors`` (processes of the submission still running after it, now killed) and ``cgroup_error`` (why
        this submission had no cgroup though the batch's probe made one; ``""`` otherwise).
    """
    private.mkdir(parents=True, exist_ok=True)
    notebook = private / "prepared.ipynb"
    nbformat.write(nb, notebook)
    os.chmod(notebook, 0o644)
    result, log_path = private / "result.json", private / "runner.log"
    plan = {
        "notebook": str(notebook),
        "result": str(result),
        "executed": str(private / "executed.ipynb"),
        "timeout": timeout,
        "max_output": max_output,
        "cwd": str(private),
        "checks": {str(k): v for k, v in checks.items()},
    }
    box = group = None
    runner_env = dict(os.environ)
    if policy.sandbox:
        box, group = _sandbox_plan(plan, private, notebook_name, uid, policy, env)
    else:
        _plain_plan(plan, private, policy)
        runner_env = env
    (private / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    try:
        outcome = _run_runner(private / "plan.json", result, log_path, timeout, runner_env)
    finally:
        usage = group.report() if group else None
        survivors = group.remove() if group else 0
        if box is not None and os.geteuid() == 0:
            survivors += kill_user_processes(box.uid)
        if box is not None:
            shutil.rmtree(box.kernel_dir, ignore_errors=True)
    outcome.update(usage=usage, survivors=survivors, cgroup_error=plan.get("cgroup_error", ""))
    return outcome


def _run_runner(plan_path: Path, result: Path, log_path: Path, timeout: float, env: dict) -> dict:
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(RUNNER), str(plan_path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout + GRACE_S)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
            return {"cells": None, "problem": {"kind": "killed", "message": f"no result after {timeout + GRACE_S:g} s"}}
    if not result.exists():
        tail = log_path.read_text(errors="replace")[-1500:]
        message = f"runner exited with {proc.returncode}: {tail}"
        return {"cells": None, "problem": {"kind": "runner", "message": message}}
    return json.loads(result.read_text(encoding="utf-8"))
