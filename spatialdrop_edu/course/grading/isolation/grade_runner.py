"""Run one prepared submission in a fresh kernel; a child process of :mod:`~spatialdrop_edu.course.grading.batch`.

    python spatialdrop_edu/course/grading/isolation/grade_runner.py PLAN.json

It is run by file path, not with ``-m``, so that the grading process does not import the package
(and torch) once per submission. It is trusted code: it runs outside the sandbox, as the grader,
and only the kernel it starts runs the submission. ``PLAN.json``, written by the grader, says:

* ``notebook``, ``result``, ``executed``: the prepared notebook to run, and where to write the
  result (JSON) and the executed notebook, all in the grader's own folder;
* ``prefix``: the command the kernel's own command is appended to (the sandbox, its limits);
  ``ipc``, ``connection_file``, ``owner``: where the kernel's Unix sockets and connection file go,
  and the user who must be able to read that file (the sandbox's);
* ``timeout`` (seconds for the whole notebook) and ``max_output`` (bytes of text output kept per
  cell; 20 times that of figures and other rich output; 200 times that of all the outputs kept from
  the notebook together; every message the kernel sends is measured as it arrives (outputs, errors,
  display updates, widget messages), what goes past a cap is dropped, and the cell or the notebook
  is reported as flooding);
* ``checks``: the check cells to arm (those that call a package checker) by index, with their ``grade_id``
  and the ``seed`` their checkers draw inputs from (a fresh random one where none is given).

Every cell runs even after an error. Before each check cell the runner arms the verdict channel
(``spatialdrop_edu.checks._verdict``) with a fresh nonce and a fresh seed in a silent request, and
disarms it after; the checkers' reports (what their probes saw, as plain data) are taken out of the
outputs and kept, per cell, as ``reports`` (the right nonce and ``grade_id``; at most
``MAX_REPORT_BYTES`` in all) or ``forged`` (anything else), with the cell's ``seed``: the grader
judges them (``spatialdrop_edu.checks._judging.judge_report``). Each cell's execute reply
status is kept (``reply``): an error the kernel reported without showing a traceback is still an
error. Errors are kept trimmed (``ERROR_CHARS`` of message, ``TRACEBACK_CHARS`` of traceback).

What the runner holds is bounded: the outputs it keeps (``200 * max_output``), the reports
(``MAX_REPORT_BYTES``), trimmed errors and replies, and the one message being received; its address
space is limited to ``RUNNER_ADDRESS_SPACE`` (:func:`bound_memory`), so a single message too large
for it costs that submission its grading (a ``runner`` problem), never the batch. ``runner_max_rss``
in the result is its peak resident memory (about 70 MB for an honest chapter; about 300 MB while it
receives ten errors of 30 MB).
"""

from __future__ import annotations

import json
import os
import re
import resource
import secrets
import signal
import sys
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync

try:
    from .wakeful_client import WakefulNotebookClient
except ImportError:  # run by file path: its folder is the first on sys.path
    from wakeful_client import WakefulNotebookClient

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: The MIME type of a verdict message: :data:`spatialdrop_edu.checks._verdict.MIME` (a test keeps them equal).
VERDICT_MIME = "application/vnd.spatialdrop.verdict+json"
ARM = '__import__("spatialdrop_edu.checks._verdict", fromlist=["arm"]).arm({grade_id!r}, {nonce!r}, {seed!r})'
#: Bytes of checkers' reports kept for a notebook at most (JSON); more are dropped and reported.
MAX_REPORT_BYTES = 48 * 2**20
#: The address space a runner may use, in bytes (about 0.45 GiB is its libraries and threads, the rest is data).
RUNNER_ADDRESS_SPACE = 2**30
#: Characters of an error's message, and of its traceback, that are kept.
ERROR_CHARS, TRACEBACK_CHARS = 2000, 20_000
#: Messages of the kernel that carry no output: never counted, never dropped.
CONTROL = ("status", "execute_input", "clear_output")
DISARM = '__import__("spatialdrop_edu.checks._verdict", fromlist=["disarm"]).disarm()'


def _trimmed_error(content: dict) -> dict:
    """An error's content with its message and traceback cut to ``ERROR_CHARS`` and ``TRACEBACK_CHARS``."""
    trace, kept = [], 0
    for line in content.get("traceback") or []:
        line = str(line)[: TRACEBACK_CHARS - kept]
        kept += len(line)
        trace.append(line)
        if kept >= TRACEBACK_CHARS:
            break
    return {**content, "evalue": str(content.get("evalue", ""))[:ERROR_CHARS], "traceback": trace}


class GradingClient(WakefulNotebookClient):
    """A notebook client that bounds what it keeps, keeps each execute reply, and takes reports out of the outputs."""

    max_output = 100_000
    #: Rich outputs (figures, HTML) may use this many times ``max_output`` per cell: a figure is not a flood.
    rich_factor = 20
    #: Everything the notebook's kernel sends may use this many times ``max_output`` together.
    notebook_factor = 200
    #: How many reports are kept per cell; more are dropped (a cell may flood them too).
    max_notes = 10

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_bytes: dict[tuple[int, str], int] = {}
        self.notebook_bytes = 0  # kept
        self.sent_bytes = 0  # measured, kept or not
        self.flooded: dict[int, int] = {}
        self.notebook_flood: dict | None = None
        self.replies: dict[int, dict] = {}
        self.armed: tuple[int, str, str] | None = None  # (cell index, grade_id, nonce)
        self.reports: dict[int, list[dict]] = {}
        self.report_bytes = 0
        self.forged: dict[int, list[str]] = {}

    def process_message(self, msg, cell, cell_index):
        """Measure one message of the kernel and keep it, trimmed, or drop it past a cap; take reports out.

        Args:
            msg: the message (IOPub).
            cell: the cell that runs.
            cell_index: its index in the notebook.
        """
        msg_type = msg.get("msg_type", "")
        if msg_type in CONTROL:
            return super().process_message(msg, cell, cell_index)
        content = msg.get("content") or {}
        data = content.get("data") if isinstance(content.get("data"), dict) else {}
        if msg_type == "display_data" and VERDICT_MIME in data:
            self._take_report(data[VERDICT_MIME], cell_index)
            return None
        size = len(json.dumps(content))  # as sent: an error is measured whole, though only its trimmed form is kept
        self.sent_bytes += size
        if msg_type == "error":
            content = msg["content"] = _trimmed_error(content)
            kept = len(json.dumps(content))
        else:
            kept = size
        kind = "text" if msg_type in ("stream", "error") else "rich"  # figures, HTML, display updates, widgets
        used = self.output_bytes.get((cell_index, kind), 0) + size
        self.output_bytes[(cell_index, kind)] = used
        if used > self.max_output * (1 if kind == "text" else self.rich_factor):
            self.flooded[cell_index] = max(used, self.flooded.get(cell_index, 0))
            if msg_type != "error":  # an error is kept, trimmed: the cell's status needs it
                return None
        if self.notebook_bytes + kept > self.max_output * self.notebook_factor:
            self.notebook_flood = self.notebook_flood or {"cell": cell_index}
            if msg_type != "error":
                return None
            msg["content"] = content = {**content, "evalue": content["evalue"][:200], "traceback": []}
            kept = len(json.dumps(content))
        self.notebook_bytes += kept
        return super().process_message(msg, cell, cell_index)

    def _take_report(self, record, cell_index: int) -> None:
        record = record if isinstance(record, dict) else {}
        if not (
            self.armed
            and self.armed[0] == cell_index
            and record.get("nonce") == self.armed[2]
            and record.get("grade_id") == self.armed[1]
        ):
            why = (
                "outside the check cell it was armed for"
                if not self.armed or self.armed[0] != cell_index
                else "with a nonce or grade_id the grader did not send"
            )
            self._note(cell_index, f"a report {why}")
            return
        reports = self.reports.setdefault(cell_index, [])
        size = len(json.dumps(record.get("data")))
        if len(reports) >= self.max_notes or self.report_bytes + size > MAX_REPORT_BYTES:
            self._note(
                cell_index, f"a report over the limits ({self.max_notes} per cell, {MAX_REPORT_BYTES >> 20} MiB)"
            )
            return
        self.report_bytes += size
        reports.append({"checker": str(record.get("checker", ""))[:200], "data": record.get("data")})

    def _note(self, cell_index: int, note: str) -> None:
        notes = self.forged.setdefault(cell_index, [])
        if len(notes) < self.max_notes:  # a flood of forgeries is reported, not kept
            notes.append(note)

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):
        if exec_reply is not None:
            content = exec_reply.get("content", {})
            self.replies[cell_index] = {
                "status": content.get("status"),
                "ename": str(content.get("ename", ""))[:200],
                "evalue": str(content.get("evalue", ""))[:ERROR_CHARS],
            }
            if content.get("status") == "error":  # the reply is nbclient's too: keep it small
                exec_reply["content"] = _trimmed_error(content)
        return await super()._check_raise_for_error(cell, cell_index, exec_reply)

    async def async_silent(self, code: str) -> dict:
        """Run ``code`` without output or history (the grader's own requests); return the reply's content."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        try:
            reply = await self.async_wait_for_reply(msg_id)
        except DeadKernelError:
            return {"status": "dead"}
        except CellTimeoutError:
            return {"status": "timeout"}
        return reply["content"] if reply else {"status": "timeout"}

    silent = run_sync(async_silent)


def limited_kernel_manager(prefix: list[str], ipc_path: str | None, connection_file: str | None, owner: int | None):
    """A kernel manager class whose kernel command starts with ``prefix``.

    Args:
        prefix: the command the kernel's own is appended to (the sandbox and its limits).
        ipc_path: talk over Unix sockets at this path prefix (a kernel without network has no loopback).
        connection_file: where to write the connection file (a folder the sandbox can see).
        owner: the user id that must read the connection file (the sandbox's user), or None.
    """
    from jupyter_client.manager import AsyncKernelManager  # nbclient's own: its client polls without blocking

    class LimitedKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            if ipc_path:
                kwargs.update(transport="ipc", ip=ipc_path)
            if connection_file:
                kwargs["connection_file"] = connection_file
            super().__init__(**kwargs)

        def format_kernel_cmd(self, extra_arguments=None):
            return [*prefix, *super().format_kernel_cmd(extra_arguments)]

        def write_connection_file(self, **kwargs):
            super().write_connection_file(**kwargs)
            if owner is not None:
                os.chown(self.connection_file, owner, owner)

    return LimitedKernelManager


def _exit_signal(client) -> str:
    """The signal that ended the kernel process (``"SIGXCPU"``), or ``""``."""
    try:
        code = client.km.provisioner.process.poll()
    except AttributeError:
        return ""
    return signal.Signals(-code).name if code is not None and code < 0 else ""


def _error_of(cell, reply: dict | None) -> dict | None:
    """The error a cell raised: its traceback output, or else its execute reply (a hidden traceback)."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return {"ename": out.get("ename", ""), "evalue": ANSI.sub("", out.get("evalue", ""))[:2000]}
    if reply and reply.get("status") == "error":
        return {
            "ename": str(reply.get("ename", "")),
            "evalue": ANSI.sub("", str(reply.get("evalue", "")))[:2000],
            "hidden": True,
        }
    return None


def run(plan: dict) -> dict:
    """Run the plan's notebook; return ``{"cells": [...], "problem": ...}`` (see the module's docstring)."""
    nb = nbformat.read(plan["notebook"], as_version=4)
    timeout = float(plan["timeout"])
    deadline = time.monotonic() + timeout
    client = GradingClient(
        nb,
        timeout=max(1, int(timeout)),
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic()) + 1),
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": plan["cwd"]}},
        record_timing=False,
        shutdown_kernel="immediate",
    )
    client.kernel_manager_class = limited_kernel_manager(
        plan["prefix"], plan.get("ipc"), plan.get("connection_file"), plan.get("owner")
    )
    client.max_output = int(plan["max_output"])
    checks = {int(k): v for k, v in plan.get("checks", {}).items()}
    cells = [{"ran": False, "error": None} for _ in nb.cells]
    problem = None
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if time.monotonic() > deadline:
                problem = {"kind": "timeout", "cell": index}
                break
            if index in checks:
                nonce, seed = secrets.token_hex(16), checks[index].get("seed", secrets.randbelow(2**62))
                cells[index]["seed"] = seed
                armed = client.silent(ARM.format(grade_id=checks[index]["grade_id"], nonce=nonce, seed=seed))
                client.armed = (index, checks[index]["grade_id"], nonce)
                if armed.get("status") != "ok":
                    why = f"{armed.get('ename', armed.get('status'))}: {armed.get('evalue', '')}"
                    cells[index]["channel"] = why[:300]
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                problem = {"kind": "timeout", "cell": index}
                cells[index]["error"] = {"ename": "TimeoutError", "evalue": f"still running after {timeout:g} s"}
                break
            except DeadKernelError:
                problem = {"kind": "dead", "cell": index, "signal": _exit_signal(client)}
                cells[index]["error"] = {
                    "ename": "DeadKernelError",
                    "evalue": "the kernel died (exit, crash or out of memory)",
                }
                break
            finally:
                if client.armed:
                    client.armed = None
                    if problem is None and time.monotonic() < deadline:
                        client.silent(DISARM)
            reply = client.replies.get(index)
            cells[index].update(ran=True, reply=(reply or {}).get("status"), error=_error_of(cell, reply))
            stdout = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
            cells[index]["stdout_head"] = stdout[:2000]
            if index in client.flooded:
                cells[index]["flooded"] = client.flooded[index]
    for index, records in client.reports.items():
        cells[index]["reports"] = records
    for index, notes in client.forged.items():
        cells[index]["forged"] = notes
    nbformat.write(nb, plan["executed"])
    flood = client.notebook_flood and {**client.notebook_flood, "bytes": client.sent_bytes}
    return {"cells": cells, "problem": problem, "notebook_flood": flood}


def bound_memory() -> None:
    """Limit this process's address space to ``RUNNER_ADDRESS_SPACE``: whatever a kernel sends, a runner cannot hold
    more (an allocation beyond it fails, and costs this submission its grading, never the batch)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = RUNNER_ADDRESS_SPACE if hard == resource.RLIM_INFINITY else min(hard, RUNNER_ADDRESS_SPACE)
    if soft == resource.RLIM_INFINITY or soft > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def peak_memory() -> int:
    """This process's peak resident memory in bytes (``VmHWM``: its own, not its parent's before ``exec``), or 0."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: grade_runner.py PLAN.json", file=sys.stderr)
        return 2
    plan = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    bound_memory()
    try:
        outcome = run(plan)
    except MemoryError:
        why = f"the kernel sent more than the grader takes ({RUNNER_ADDRESS_SPACE >> 20} MiB of address space)"
        outcome = {"cells": None, "problem": {"kind": "runner", "message": why}}
    except Exception as exc:  # reported to the parent, which never stops the batch
        outcome = {"cells": None, "problem": {"kind": "runner", "message": f"{type(exc).__name__}: {exc}"[:2000]}}
    outcome["runner_max_rss"] = peak_memory()
    Path(plan["result"]).write_text(json.dumps(outcome), encoding="utf-8")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    sys.exit(main())
