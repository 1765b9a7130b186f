"""Run one prepared submission in a fresh kernel; used by :mod:`spatialdrop_edu.course.grading` as a child process.

    python spatialdrop_edu/course/grade_runner.py PLAN.json

It is run by file path, not with ``-m``, so that the grading process does not import the package
(and torch) once per submission. It is trusted code: it runs outside the sandbox, as the grader,
and only the kernel it starts runs the submission. ``PLAN.json``, written by the grader, says:

* ``notebook``, ``result``, ``executed``: the prepared notebook to run, and where to write the
  result (JSON) and the executed notebook, all in the grader's own folder;
* ``prefix``: the command the kernel's own command is appended to (the sandbox, its limits);
  ``ipc``, ``connection_file``, ``owner``: where the kernel's Unix sockets and connection file go,
  and the user who must be able to read that file (the sandbox's);
* ``timeout`` (seconds for the whole notebook) and ``max_output`` (bytes of text output kept per
  cell; 20 times that of figures and other rich output; the rest is dropped and the cell is
  reported as flooding);
* ``checks``: the check cells to arm (those that call a package checker) by index, with their ``grade_id``.

Every cell runs even after an error. Before each check cell the runner arms the verdict channel
(``spatialdrop_edu.checks._verdict``) with a fresh nonce in a silent request, and disarms it
after; verdict messages are taken out of the outputs and kept, per cell, as ``verdicts`` (the right
nonce and ``grade_id``) or ``forged`` (anything else). Each cell's execute reply status is kept
(``reply``): an error the kernel reported without showing a traceback is still an error.
"""

from __future__ import annotations

import json
import os
import re
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
ARM = '__import__("spatialdrop_edu.checks._verdict", fromlist=["arm"]).arm({grade_id!r}, {nonce!r})'
DISARM = '__import__("spatialdrop_edu.checks._verdict", fromlist=["disarm"]).disarm()'


class GradingClient(WakefulNotebookClient):
    """A notebook client that caps output per cell, keeps each execute reply, and takes verdicts out of the outputs."""

    max_output = 100_000
    #: Rich outputs (figures, HTML) may use this many times ``max_output``: a figure is not a flood.
    rich_factor = 20
    #: How many verdict messages are kept per cell; more are dropped (a cell may flood them too).
    max_notes = 10

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_bytes: dict[tuple[int, str], int] = {}
        self.flooded: dict[int, int] = {}
        self.replies: dict[int, dict] = {}
        self.armed: tuple[int, str, str] | None = None  # (cell index, grade_id, nonce)
        self.verdicts: dict[int, list[dict]] = {}
        self.forged: dict[int, list[str]] = {}

    def output(self, outs, msg, display_id, cell_index):
        data = msg.get("content", {}).get("data") or {}
        if VERDICT_MIME in data:
            self._take_verdict(data[VERDICT_MIME], cell_index)
            return None
        if msg["msg_type"] != "error":
            size = len(json.dumps(msg.get("content", {})))
            kind = "text" if msg["msg_type"] == "stream" else "rich"
            used = self.output_bytes.get((cell_index, kind), 0) + size
            self.output_bytes[(cell_index, kind)] = used
            if used > self.max_output * (1 if kind == "text" else self.rich_factor):
                self.flooded[cell_index] = max(used, self.flooded.get(cell_index, 0))
                return None
        return super().output(outs, msg, display_id, cell_index)

    def _take_verdict(self, record, cell_index: int) -> None:
        record = record if isinstance(record, dict) else {}
        if (
            self.armed
            and self.armed[0] == cell_index
            and record.get("nonce") == self.armed[2]
            and record.get("grade_id") == self.armed[1]
        ):
            kept = {k: str(record.get(k, ""))[:2000] for k in ("checker", "module", "message")}
            verdicts = self.verdicts.setdefault(cell_index, [])
            if len(verdicts) < self.max_notes:
                verdicts.append(kept)
        else:
            why = (
                "outside the check cell it was armed for"
                if not self.armed or self.armed[0] != cell_index
                else "with a nonce or grade_id the grader did not send"
            )
            notes = self.forged.setdefault(cell_index, [])
            if len(notes) < self.max_notes:  # a flood of forgeries is reported, not kept
                notes.append(f"a verdict message {why}")

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):
        if exec_reply is not None:
            self.replies[cell_index] = exec_reply.get("content", {})
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
                nonce = secrets.token_hex(16)
                armed = client.silent(ARM.format(grade_id=checks[index]["grade_id"], nonce=nonce))
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
    for index, records in client.verdicts.items():
        cells[index]["verdicts"] = records
    for index, notes in client.forged.items():
        cells[index]["forged"] = notes
    nbformat.write(nb, plan["executed"])
    return {"cells": cells, "problem": problem}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: grade_runner.py PLAN.json", file=sys.stderr)
        return 2
    plan = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    try:
        outcome = run(plan)
    except Exception as exc:  # reported to the parent, which never stops the batch
        outcome = {"cells": None, "problem": {"kind": "runner", "message": f"{type(exc).__name__}: {exc}"[:2000]}}
    Path(plan["result"]).write_text(json.dumps(outcome), encoding="utf-8")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    sys.exit(main())
