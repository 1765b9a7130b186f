"""A notebook client that looks at the kernel's sockets at least once a second while it waits.

nbclient waits for a cell's reply with one poll of the shell socket as long as the cell's timeout (600 s here), and
for its outputs with an IOPub poll that has none. ``zmq.asyncio`` wakes such a poll through ZeroMQ's edge-triggered
file descriptor, and an edge can be missed (pyzmq documents edge-triggered FDs as the hard part of its event-loop
integration; zeromq/pyzmq#1075, #2173): the reply then sits in the socket while the client sleeps, and is only found
when the poll's timeout fires and pyzmq checks the socket once more. Measured here: beside the grading tests,
chapter 1 (12 s of work) waited 600 s on the reply to a widget cell, its kernel idle, in three of the last six ``make
unit`` runs and in one of eight runs beside ``tests/course/test_grading_limits.py`` alone; the run then passed, as if
nothing had happened. A wait cut into slices of :data:`WAKE_EVERY_S` looks again after each slice, so a missed edge
costs at most that long (eight runs more with slices: none waited, and one reply was found by a slice's last look);
a wait's own timeout is kept.

``WakefulNotebookClient``, the :class:`nbclient.NotebookClient` that
:func:`~spatialdrop_edu.course.edition.execute.execute_notebook` and the grading runner use, wraps both channels of
every kernel client it starts with :func:`waking`. The module imports nothing from the package: the grading runner,
run by file path, imports it as a sibling.
"""

from __future__ import annotations

import time
from queue import Empty

from nbclient import NotebookClient
from nbclient.util import run_sync

#: The longest a message that has arrived can wait unseen in the client (seconds).
WAKE_EVERY_S = 1.0


def waking(get_msg, every: float = WAKE_EVERY_S):
    """``get_msg(timeout=None)`` of a kernel client's channel, cut into polls of at most ``every`` seconds.

    Args:
        get_msg: an async channel's ``get_msg``: returns the next message, raises ``queue.Empty`` after ``timeout``
            seconds without one (``None``: waits for ever).
        every: the longest single poll, seconds (> 0).

    Returns:
        An async function with the same contract (the same message, ``Empty`` at the same deadline).
    """
    if not every > 0:
        raise ValueError(f"every must be a number of seconds > 0, got {every!r}.")

    async def get_msg_waking(timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= every:
                return await get_msg(timeout=max(left, 0.0))
            try:
                return await get_msg(timeout=every)
            except Empty:
                continue

    get_msg_waking.__wrapped__ = get_msg
    return get_msg_waking


class WakefulNotebookClient(NotebookClient):
    """A :class:`nbclient.NotebookClient` whose waits on the shell and IOPub channels poll in slices
    (:func:`waking`)."""

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        for channel in (kc.shell_channel, kc.iopub_channel):
            if not hasattr(channel.get_msg, "__wrapped__"):
                channel.get_msg = waking(channel.get_msg)
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)
