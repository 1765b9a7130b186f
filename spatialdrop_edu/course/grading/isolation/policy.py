"""How a batch is isolated: the sandbox (or why not), the limits, the kernels' environment.

:func:`make_policy` decides once per ``grade`` command (:func:`~spatialdrop_edu.course.grading.batch.grade`) how
every submission of the batch is run; :func:`~.launch.run_submission` runs each one so.

Isolation
    Each submission runs in a fresh kernel in a throwaway sandbox of its own (:mod:`.sandbox`,
    bubblewrap): its own PID namespace (nothing survives it), no network at all, a non-root user, a
    seccomp filter (no namespaces, mounts or ptrace; :mod:`.seccomp`), a fresh home, the system
    read-only, of the course only the installed package (no ``book/``, no other submission, no
    output folder). Memory (``--max-memory``) and processes and threads (``--max-processes``) are
    limited for the whole submission where cgroups can be created (:mod:`.cgroups`), and per process
    by rlimits everywhere; CPU time per process is ``--timeout`` times the number of cores; the
    whole notebook has ``--timeout`` seconds and each cell at most ``--max-output`` bytes of text
    output (the whole notebook 200 times that, errors and display updates counted), and the process
    that talks to the kernel at most 1 GiB of address space. ``--jobs N`` runs N sandboxes side by
    side, each with these limits. A notebook that raises, hangs, floods its output, exits its
    kernel, runs into a limit, forges a report or leaves processes behind is reported as such and
    never stops the batch.

    Without bubblewrap, ``grade`` stops and says so; ``--no-sandbox`` grades the old way (an
    ordinary process with rlimits, :mod:`.unsandboxed`), prints what is then unprotected, and
    refuses to do so as root unless ``--allow-root`` is given.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from . import cgroups, sandbox, unsandboxed
from .launch import Policy

#: The default memory limit of each submission, in bytes.
MAX_MEMORY = 4 * 2**30
#: The default limit of processes and threads of each submission.
MAX_PROCESSES = 256


class GradingRefused(RuntimeError):
    """The batch cannot be graded as asked: no sandbox here, root without one, or Python inside the course folder."""


def cpu_seconds(timeout: float) -> int:
    """The CPU time limit per process: what all cores can give in ``timeout`` seconds of wall-clock time."""
    return math.ceil(timeout) * (os.cpu_count() or 1)


def make_policy(
    *,
    timeout: float,
    max_memory: int,
    max_processes: int,
    use_sandbox: bool,
    allow_network: bool,
    allow_root: bool,
    private: list[Path],
    log=print,
) -> tuple[Policy, dict]:
    """Decide how the batch runs: the sandbox (or why not), cgroups (or why not), and the summary's description.

    Raises:
        GradingRefused: no working bubblewrap and no ``--no-sandbox``; ``--no-sandbox`` as root without
            ``--allow-root``; a Python environment folder that would show the sandbox a private path.
    """
    policy = Policy(sandbox=use_sandbox, memory=max_memory, cpu=cpu_seconds(timeout), processes=max_processes)
    limits = {
        "sandbox": use_sandbox,
        "memory": max_memory,
        "cpu": policy.cpu,
        "processes": max_processes,
        "scope": "process",
        "notes": policy.notes,
    }
    if use_sandbox:
        if allow_network:
            raise GradingRefused("--allow-network needs --no-sandbox: a sandbox never has network")
        why = sandbox.bwrap_problem() or sandbox.exposure_problem(private)
        if why:
            raise GradingRefused(
                f"cannot grade in a sandbox: {why}. On a machine without bubblewrap, "
                "--no-sandbox grades without one (and says what that leaves unprotected)."
            )
        limits["network"] = "none"
        try:
            cgroups.create(f"spatialdrop-probe-{os.getpid()}", memory=max_memory, processes=max_processes).remove()
            limits["scope"] = "submission"
        except cgroups.CgroupUnavailable as exc:
            policy.cgroups = False
            policy.notes.append(f"memory limited per process only (no cgroup: {exc})")
        return policy, limits
    as_root = os.geteuid() == 0
    if as_root and not allow_root:
        raise GradingRefused(
            "refusing to grade as root without a sandbox: a submission would run as root with your "
            "files. Install bubblewrap, or pass --allow-root as well as --no-sandbox."
        )
    log(unsandboxed.warning(as_root), flush=True)
    limits["unprotected"] = list(unsandboxed.UNPROTECTED)
    policy.cgroups = False
    if max_processes and as_root:
        policy.processes = limits["processes"] = 0
        policy.notes.append(
            "process limit not enforced: grading runs as root, and Linux does not apply RLIMIT_NPROC to root"
        )
    why = "" if allow_network else unsandboxed.network_isolation()
    policy.network = not allow_network and not why
    limits["network"] = "blocked" if policy.network else "not isolated"
    if why:
        policy.notes.append(f"network not isolated: {why}")
    return policy, limits


def kernel_environment(use_sandbox: bool) -> dict[str, str]:
    """The kernels' environment: a sandbox's whitelist, or (without one) the grader's with the course's variables.

    Figures are drawn with Agg and not kept: feedback needs the checkers' words, and rendering costs time.
    """
    from ...edition.execute import kernel_env

    env = sandbox.sandbox_env() if use_sandbox else kernel_env()
    return {**env, "MPLBACKEND": "Agg"}
