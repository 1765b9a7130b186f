"""The user ids sandboxes run as, leased so that no two sandboxes on the machine share one, whoever started them.

Graded as root, every running sandbox has a user id of its own, from :data:`UID_BASE` upwards:
Linux's per-user process limit (``RLIMIT_NPROC``) then counts only that sandbox's processes, and
whatever still runs as that id after the sandbox is gone is a survivor of it, to be killed. Two
``grade`` commands can run at once on one machine (two courses, or a test beside a real batch), so
each leases its ids for the whole batch: an exclusive lock (``flock``) on one file per id, in
``/run/lock`` (else the temporary folder). A lock ends with the process that holds it, however that
ends; a released lease removes its file.

Graded as another user, every sandbox maps that user to :data:`UNPRIVILEGED_UID` in a user
namespace of its own, and there is nothing to lease.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: Graded as root, sandboxes run as ``UID_BASE + k``: ids no account and no container range on a usual machine uses.
UID_BASE = 0x7F000000
#: How many ids are tried from ``UID_BASE`` on.
MAX_IDS = 4096
#: The user id inside a sandbox started by a grader that is not root (its user namespace maps it to the grader).
UNPRIVILEGED_UID = 1000


def lock_folder() -> Path:
    """Where the lease files go: ``/run/lock`` where it is a writable folder, else the temporary folder."""
    run = Path("/run/lock")
    return run if run.is_dir() and os.access(run, os.W_OK | os.X_OK) else Path(tempfile.gettempdir())


def _try_lease(path: Path) -> int | None:
    """An open, locked descriptor of ``path``, or None where another process holds it."""
    import fcntl  # POSIX only, as is grading as root

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    try:  # the holder before us may have removed the file after we opened it: then ours is not the lock
        same = os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        same = False
    if not same:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def lease(count: int):
    """Lease ``count`` sandbox user ids for as long as the ``with`` block runs.

    Args:
        count: how many sandboxes will run at once.

    Yields:
        The ids: graded as root, ``count`` ids that no other sandbox on the machine uses meanwhile;
        otherwise ``count`` times :data:`UNPRIVILEGED_UID`.

    Raises:
        RuntimeError: fewer than ``count`` of the :data:`MAX_IDS` ids are free.

    Examples::

        >>> with lease(2) as ids:
        ...     len(set(ids)) == 2 or ids == [UNPRIVILEGED_UID] * 2
        True
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive int (how many sandboxes run at once), got {count!r}.")
    if os.geteuid() != 0:
        yield [UNPRIVILEGED_UID] * count
        return
    folder, held = lock_folder(), []
    try:
        for k in range(MAX_IDS):
            if len(held) == count:
                break
            path = folder / f"spatialdrop-sandbox-uid-{UID_BASE + k}.lock"
            fd = _try_lease(path)
            if fd is not None:
                held.append((UID_BASE + k, path, fd))
        if len(held) < count:
            raise RuntimeError(
                f"only {len(held)} of the {count} sandbox user ids asked for are free (lease files in {folder})"
            )
        yield [uid for uid, _, _ in held]
    finally:
        for _, path, fd in held:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            os.close(fd)
