"""Run one prepared submission in a fresh kernel; used by :mod:`spatialdrop_edu.course.grading` as a child process.

    python spatialdrop_edu/course/grade_runner.py NOTEBOOK RESULT.json --timeout S --max-output BYTES --cwd DIR
        [--max-memory BYTES] [--max-cpu S] [--max-processes N] [--no-network]

It is run by file path, not with ``-m``, so that the grading process does not import the package
(and torch) once per submission. It writes the executed notebook next to ``RESULT.json``
(``executed.ipynb``) and, per cell, whether it ran and the error it raised. Every cell runs even
after an error; the whole notebook has ``--timeout`` seconds; each cell may print at most
``--max-output`` bytes of text, and 20 times that of figures and other rich output (the rest is
dropped and the cell is reported as flooding).

Limits of the kernel
    The kernel is started through this same file (``grade_runner.py --exec-limited ... -- KERNEL
    COMMAND``), which sets the resource limits of an ordinary process on itself and then becomes
    the kernel, so the kernel and every process it starts inherit them: address space
    (``RLIMIT_AS``, ``--max-memory``), CPU seconds (``RLIMIT_CPU``, ``--max-cpu``; the hard limit
    5 s later) and processes and threads (``RLIMIT_NPROC``: Linux counts them per user, so the
    limit is the number the user runs when the kernel starts plus ``--max-processes``; Linux does
    not apply it to root, and the result says so). With
    ``--no-network``, where ``unshare --net --map-root-user`` works (an unprivileged user and
    network namespace), the kernel runs in a network namespace of its own, which has no network
    at all, not even loopback; it talks to this process over Unix sockets (ZeroMQ ``ipc``). What
    was applied, and what could not be, is written into the result (``"limits"``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

#: Seconds between the soft CPU limit (SIGXCPU, which stops the kernel) and the hard one (SIGKILL).
CPU_HARD_EXTRA_S = 5
NETNS_CMD = ("unshare", "--net", "--map-root-user", "--")


def user_tasks(uid: int) -> int | None:
    """How many processes and threads the user ``uid`` runs now (what ``RLIMIT_NPROC`` counts); None without /proc."""
    if not os.path.isdir("/proc/self"):
        return None
    count = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", encoding="ascii", errors="replace") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:  # gone meanwhile
            continue
        if int(status.get("Uid", "-1").split()[0]) == uid:
            count += int(status.get("Threads", "1"))
    return count


def exec_limited(argv: list[str]) -> None:
    """``--exec-limited MEMORY CPU PROCESSES -- COMMAND...``: set the limits (0: none) on this process, become COMMAND."""
    import resource

    def lower(kind, soft, hard):  # never above a limit already in force (raising a hard limit is refused)
        _, current = resource.getrlimit(kind)
        if current != resource.RLIM_INFINITY:
            soft, hard = min(soft, current), min(hard, current)
        resource.setrlimit(kind, (soft, hard))

    split = argv.index("--")
    memory, cpu, processes = (int(x) for x in argv[:split])
    command = argv[split + 1:]
    if memory:
        lower(resource.RLIMIT_AS, memory, memory)
        # glibc reserves up to 8 malloc arenas of 64 MiB of address space per core (one per thread that allocates):
        # a few are enough, and keep a many-core machine's idle kernel within the limit.
        os.environ.setdefault("MALLOC_ARENA_MAX", "4")
    if cpu:
        lower(resource.RLIMIT_CPU, cpu, cpu + CPU_HARD_EXTRA_S)
    if processes and (running := user_tasks(os.getuid())) is not None:
        lower(resource.RLIMIT_NPROC, running + processes, running + processes)
    os.execvp(command[0], command)


if __name__ == "__main__" and sys.argv[1:2] == ["--exec-limited"]:
    exec_limited(sys.argv[2:])  # never returns: the process becomes the kernel, without the imports below

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellTimeoutError, DeadKernelError  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class CappedClient(NotebookClient):
    """A notebook client that keeps at most ``max_output`` bytes of output per cell (errors always kept)."""

    max_output = 100_000

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_bytes: dict[tuple[int, str], int] = {}
        self.flooded: dict[int, int] = {}

    #: Rich outputs (figures, HTML) may use this many times ``max_output``: a figure is not a flood.
    rich_factor = 20

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] != "error":
            size = len(json.dumps(msg.get("content", {})))
            kind = "text" if msg["msg_type"] == "stream" else "rich"
            used = self.output_bytes.get((cell_index, kind), 0) + size
            self.output_bytes[(cell_index, kind)] = used
            if used > self.max_output * (1 if kind == "text" else self.rich_factor):
                self.flooded[cell_index] = max(used, self.flooded.get(cell_index, 0))
                return None
        return super().output(outs, msg, display_id, cell_index)


def network_isolation() -> str:
    """``""`` where the kernel can run without network here (``unshare --net --map-root-user`` works), else why not."""
    if shutil.which(NETNS_CMD[0]) is None:
        return "no `unshare` command (util-linux)"
    try:
        done = subprocess.run([*NETNS_CMD, "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`unshare` failed: {exc}"
    if done.returncode:
        return "unprivileged network namespaces are not allowed here: " + (
            done.stderr.decode(errors="replace").strip()[:200] or f"`unshare` exited with {done.returncode}")
    return ""


def kernel_limits(*, max_memory: int, max_cpu: int, max_processes: int, no_network: bool) -> dict:
    """What the kernel will be limited by here: each limit's value (0: none), and a note for each that cannot be applied."""
    limits = {"memory": max_memory, "cpu": max_cpu, "processes": max_processes, "network": "not isolated", "notes": []}
    if max_processes and os.geteuid() == 0:
        limits["processes"] = 0
        limits["notes"].append("process limit not enforced: grading runs as root, and Linux does not apply "
                               "RLIMIT_NPROC to root")
    elif max_processes and user_tasks(os.getuid()) is None:
        limits["processes"] = 0
        limits["notes"].append("process limit not enforced: no /proc to count the user's processes")
    if no_network:
        why = network_isolation()
        if why:
            limits["notes"].append(f"network not isolated: {why}")
        else:
            limits["network"] = "blocked"
    return limits


def limited_kernel_manager(prefix: list[str], ipc_path: str | None):
    """A kernel manager class whose kernel command starts with ``prefix`` (and that talks over ``ipc`` if asked)."""
    from jupyter_client.manager import AsyncKernelManager  # nbclient's own: its client polls without blocking

    class LimitedKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            if ipc_path:  # a kernel in its own network namespace has no loopback: Unix sockets instead of TCP
                kwargs.update(transport="ipc", ip=ipc_path)
            super().__init__(**kwargs)

        def format_kernel_cmd(self, extra_arguments=None):
            return [*prefix, *super().format_kernel_cmd(extra_arguments)]

    return LimitedKernelManager


def _exit_signal(client) -> str:
    """The signal that ended the kernel process (``"SIGXCPU"``), or ``""``."""
    import signal

    try:
        code = client.km.provisioner.process.poll()
    except AttributeError:
        return ""
    return signal.Signals(-code).name if code is not None and code < 0 else ""


def run(notebook: Path, result: Path, timeout: float, max_output: int, cwd: Path, limits: dict | None = None) -> dict:
    nb = nbformat.read(notebook, as_version=4)
    limits = limits or {"memory": 0, "cpu": 0, "processes": 0, "network": "not isolated", "notes": []}
    deadline = time.monotonic() + timeout
    client = CappedClient(
        nb,
        timeout=max(1, int(timeout)),
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic()) + 1),
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
        shutdown_kernel="immediate",
    )
    prefix = [sys.executable, str(Path(__file__).resolve()), "--exec-limited",
              str(limits["memory"]), str(limits["cpu"]), str(limits["processes"]), "--"]
    blocked = limits["network"] == "blocked"
    if blocked:
        prefix = [*NETNS_CMD, *prefix]
    client.kernel_manager_class = limited_kernel_manager(prefix, str(cwd.resolve().parent / "kernel") if blocked else None)
    client.max_output = max_output
    cells = [{"ran": False, "error": None} for _ in nb.cells]
    problem = None
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if time.monotonic() > deadline:
                problem = {"kind": "timeout", "cell": index}
                break
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                problem = {"kind": "timeout", "cell": index}
                cells[index]["error"] = {"ename": "TimeoutError", "evalue": f"still running after {timeout:g} s"}
                break
            except DeadKernelError:
                problem = {"kind": "dead", "cell": index, "signal": _exit_signal(client)}
                cells[index]["error"] = {"ename": "DeadKernelError", "evalue": "the kernel died (exit, crash or out of memory)"}
                break
            cells[index]["ran"] = True
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    cells[index]["error"] = {
                        "ename": out.get("ename", ""),
                        "evalue": ANSI.sub("", out.get("evalue", ""))[:2000],
                    }
            stdout = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
            cells[index]["stdout_head"] = stdout[:2000]
            if index in client.flooded:
                cells[index]["flooded"] = client.flooded[index]
    nbformat.write(nb, result.with_name("executed.ipynb"))
    return {"cells": cells, "problem": problem, "limits": limits}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("notebook", type=Path)
    parser.add_argument("result", type=Path)
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--max-output", type=int, required=True)
    parser.add_argument("--cwd", type=Path, required=True)
    parser.add_argument("--max-memory", type=int, default=0, help="bytes of address space (0: no limit)")
    parser.add_argument("--max-cpu", type=int, default=0, help="CPU seconds per process (0: no limit)")
    parser.add_argument("--max-processes", type=int, default=0, help="processes and threads beyond those running (0: no limit)")
    parser.add_argument("--no-network", action="store_true", help="run the kernel in a network namespace of its own")
    args = parser.parse_args(argv)
    limits = None
    try:
        limits = kernel_limits(max_memory=args.max_memory, max_cpu=args.max_cpu, max_processes=args.max_processes,
                               no_network=args.no_network)
        outcome = run(args.notebook, args.result, args.timeout, args.max_output, args.cwd, limits)
    except Exception as exc:  # reported to the parent, which never stops the batch
        outcome = {"cells": None, "problem": {"kind": "runner", "message": f"{type(exc).__name__}: {exc}"[:2000]},
                   "limits": limits}
    args.result.write_text(json.dumps(outcome), encoding="utf-8")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    sys.exit(main())
