"""A message that arrived while the client slept is seen within a slice, not at the wait's timeout."""

import asyncio
import time
from queue import Empty

import pytest

from spatialdrop_edu.course.grading.isolation import grade_runner
from spatialdrop_edu.course.grading.isolation.wakeful_client import WAKE_EVERY_S, WakefulNotebookClient, waking

SLICE = 0.05


class MissedEdge:
    """A channel whose poll never wakes for a message: only a poll that times out looks at the socket (a lost edge)."""

    def __init__(self, arrives_after: float | None):
        self.arrives_at = None if arrives_after is None else time.monotonic() + arrives_after
        self.polls = []

    async def get_msg(self, timeout=None):
        self.polls.append(timeout)
        await asyncio.sleep(3600 if timeout is None else timeout)
        if self.arrives_at is not None and time.monotonic() >= self.arrives_at:
            return {"msg_type": "execute_reply"}
        raise Empty


def timed(coro):
    start = time.monotonic()
    result = asyncio.run(coro)
    return result, time.monotonic() - start


def test_a_missed_wakeup_costs_one_slice_not_the_timeout():
    channel = MissedEdge(arrives_after=0.1)
    msg, took = timed(waking(channel.get_msg, every=SLICE)(timeout=600))
    assert msg == {"msg_type": "execute_reply"}
    assert 0.1 <= took < 0.1 + 4 * SLICE
    assert max(channel.polls) <= SLICE


def test_without_a_timeout_it_waits_in_slices_until_the_message():
    channel = MissedEdge(arrives_after=0.2)
    msg, took = timed(waking(channel.get_msg, every=SLICE)(timeout=None))
    assert msg["msg_type"] == "execute_reply" and took < 0.2 + 4 * SLICE
    assert None not in channel.polls


def test_the_timeout_is_kept_to_the_slice():
    channel = MissedEdge(arrives_after=None)
    start = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(waking(channel.get_msg, every=SLICE)(timeout=0.3))
    took = time.monotonic() - start
    assert 0.3 - 0.01 <= took < 0.3 + SLICE  # Empty at the timeout, not a slice later
    assert max(channel.polls) <= SLICE and sum(channel.polls) <= 0.3
    with pytest.raises(Empty):  # a zero timeout is one look, as before
        asyncio.run(waking(MissedEdge(None).get_msg, every=SLICE)(timeout=0))


def test_bad_slice_is_refused_by_name():
    with pytest.raises(ValueError, match=r"every must be a number of seconds > 0, got 0"):
        waking(MissedEdge(None).get_msg, every=0)


def test_the_course_and_the_grader_run_kernels_with_the_wakeful_client():
    assert issubclass(grade_runner.GradingClient, WakefulNotebookClient)
    assert 0 < WAKE_EVERY_S <= 1


def test_a_real_kernel_clients_channels_wake(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    client = WakefulNotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": tmp_path}})
    with client.setup_kernel():
        for channel in (client.kc.shell_channel, client.kc.iopub_channel):
            assert hasattr(channel.get_msg, "__wrapped__")
        client.execute_cell(nb.cells[0], 0)
    assert nb.cells[0].outputs[0]["data"]["text/plain"] == "2"
