"""Grading without a sandbox (``grade --no-sandbox``): an ordinary process's limits, and what they leave open.

For a machine without bubblewrap. The kernel runs as the grader's user, with the rlimits of
:mod:`.sandbox_entry` (address space, CPU time, processes relative to the user's) and, where
unprivileged user namespaces are allowed, in a network namespace of its own (``unshare --net``).
:data:`UNPROTECTED` says what that leaves open; the grader prints it and writes it into the
summary, and refuses to run this way as root unless told (``--allow-root``).
"""

from __future__ import annotations

import shutil
import subprocess

NETNS_CMD = ("unshare", "--net", "--map-root-user", "--")

#: What a kernel graded without a sandbox can do, in the words of the warning.
UNPROTECTED = (
    "the submission runs as your user: it can read and write your files, the instructor notebooks and "
    "solutions included, and every other submission",
    "it can leave processes running after its grading and change grades.csv and summary.md after the batch",
    "its memory and process limits apply per process (and the process limit not at all to root), not to the "
    "submission as a whole",
    "it can plant files (an IPython startup file) that run in the kernels of the students graded after it",
    "it can reach Unix sockets of the grading machine, even without network",
)


def network_isolation() -> str:
    """``""`` where a kernel can run without network here (``unshare --net --map-root-user`` works), else why not."""
    if shutil.which(NETNS_CMD[0]) is None:
        return "no `unshare` command (util-linux)"
    try:
        done = subprocess.run([*NETNS_CMD, "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`unshare` failed: {exc}"
    if done.returncode:
        return "unprivileged network namespaces are not allowed here: " + (
            done.stderr.decode(errors="replace").strip()[:200] or f"`unshare` exited with {done.returncode}"
        )
    return ""


def warning(as_root: bool) -> str:
    """The loud text printed (and put into the summary) for a batch graded without a sandbox.

    Args:
        as_root: whether the grader runs as root (then even the per-process process limit does not apply).
    """
    head = "WARNING: grading WITHOUT A SANDBOX" + (" AS ROOT" if as_root else "") + " (--no-sandbox). Unprotected:"
    return "\n".join(
        [
            head,
            *(f"  - {line}" for line in UNPROTECTED),
            "  Install bubblewrap (apt-get install bubblewrap) and grade without --no-sandbox.",
        ]
    )
