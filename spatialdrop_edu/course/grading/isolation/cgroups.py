"""Memory and process limits for everything one submission runs, together: a control group (cgroup) of its own.

An rlimit bounds one process; a submission that forks gets the limit once per process (three
children held 6 GiB under a 4 GiB per-process limit). A cgroup bounds the sum: every process the
sandbox starts is in it, so ``--max-memory`` is the memory of the whole submission (its files in
``/tmp`` and home included: they live in memory) and ``--max-processes`` its processes and threads.

The grader creates the submission's cgroups *beneath its own* (``/proc/self/cgroup``), so whatever
bounds the grader (a container, a systemd slice) bounds the sandboxes too, and removes them when the
submission is graded, after killing anything left in them. Both cgroup versions are handled: v1
(one hierarchy per controller, as on this course's CI machines) and v2 (one unified hierarchy, where
the grader's cgroup must delegate the ``memory`` and ``pids`` controllers to its children: true for
root in most containers, and for a systemd unit started with ``Delegate=yes``). Where neither works
(no permission, no controller), :func:`create` raises :class:`CgroupUnavailable` with the reason, and
grading falls back to the per-process rlimits of :mod:`.sandbox_entry`.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

#: The controllers a submission's cgroup needs.
CONTROLLERS = ("memory", "pids")
#: Processes bubblewrap itself keeps in a sandbox (its monitor outside, its init inside), beyond the submission's.
BWRAP_PROCESSES = 2


class CgroupUnavailable(RuntimeError):
    """No cgroup with the controllers a submission needs can be created here; the message says why."""


@dataclass(frozen=True)
class Controller:
    """One controller's cgroup folder of a submission (``version`` 1 or 2 decides the file names)."""

    name: str
    path: Path
    version: int


def _own_cgroups() -> dict[str, tuple[int, str]]:
    """``{controller: (version, path relative to its hierarchy's root)}`` of this process."""
    found = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        if number == "0" and not controllers:
            found.setdefault("unified", (2, path))
        for name in controllers.split(","):
            if name in CONTROLLERS:
                found[name] = (1, path)
    return found


def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """``(fstype, mount point, root of the mount, super options)`` of every cgroup file system mounted."""
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, right = line.split(" - ", 1)
        fields, rfields = left.split(), right.split()
        if rfields[0] in ("cgroup", "cgroup2"):
            mounts.append((rfields[0], fields[4], fields[3], set(rfields[2].split(","))))
    return mounts


def _folder(mount_point: str, mount_root: str, path: str) -> Path:
    """The folder of cgroup ``path`` under a mount whose root is ``mount_root`` (a container mounts its own subtree)."""
    if mount_root != "/" and (path == mount_root or path.startswith(mount_root + "/")):
        path = path[len(mount_root) :]
    return Path(mount_point) / path.lstrip("/")


def own_folders() -> dict[str, Controller]:
    """The grader's own cgroup folder for each controller of :data:`CONTROLLERS` that is available (v1 first)."""
    own, mounts = _own_cgroups(), _mounts()
    folders = {}
    for name in CONTROLLERS:
        if name in own:
            mount = next((m for m in mounts if m[0] == "cgroup" and name in m[3]), None)
            if mount:
                folders[name] = Controller(name, _folder(mount[1], mount[2], own[name][1]), 1)
                continue
        if "unified" in own:
            mount = next((m for m in mounts if m[0] == "cgroup2"), None)
            if mount:
                base = _folder(mount[1], mount[2], own["unified"][1])
                listed = base / "cgroup.controllers"
                available = listed.read_text().split() if listed.exists() else []
                if name in available:
                    folders[name] = Controller(name, base, 2)
    return folders


@dataclass
class SubmissionCgroups:
    """The cgroups of one submission: created with its limits, read after the run, then removed.

    Use :func:`create`; then start the sandbox with :meth:`procs_files` joined, read :meth:`report`
    after it, and call :meth:`remove` (which kills anything left first).
    """

    controllers: list[Controller]
    memory: int
    processes: int
    created: list[Path] = field(default_factory=list)

    def procs_files(self) -> list[Path]:
        """The ``cgroup.procs`` files a process writes its id into to join (one per distinct folder)."""
        return sorted({c.path / "cgroup.procs" for c in self.controllers})

    def pids(self) -> set[int]:
        """The processes in the cgroups now."""
        found = set()
        for procs in self.procs_files():
            try:
                found |= {int(x) for x in procs.read_text().split()}
            except OSError:
                pass
        return found

    def report(self) -> dict:
        """What the submission used and ran into: ``{"memory_peak", "memory_hits", "oom_kills", "process_hits"}``.

        ``memory_peak`` is in bytes (``None`` where the kernel does not tell); ``memory_hits`` counts
        allocations refused or reclaimed at the limit, ``oom_kills`` the processes the kernel killed
        for memory, ``process_hits`` the forks refused at the process limit.
        """
        out = {"memory_peak": None, "memory_hits": 0, "oom_kills": 0, "process_hits": 0}
        for c in self.controllers:
            if c.name == "memory" and c.version == 1:
                out["memory_peak"] = _number(c.path / "memory.max_usage_in_bytes")
                out["memory_hits"] = _number(c.path / "memory.failcnt") or 0
                out["oom_kills"] = _keyed(c.path / "memory.oom_control").get("oom_kill", 0)
            elif c.name == "memory":
                out["memory_peak"] = _number(c.path / "memory.peak")
                events = _keyed(c.path / "memory.events")
                out["memory_hits"], out["oom_kills"] = events.get("max", 0), events.get("oom_kill", 0)
            elif c.name == "pids":
                out["process_hits"] = _keyed(c.path / "pids.events").get("max", 0)
        return out

    def kill(self, grace: float = 5.0, timeout: float = 10.0) -> int:
        """Give the processes in the cgroups ``grace`` seconds to end (a sandbox's end them all, a moment after its
        kernel is stopped), then SIGKILL whatever is left and wait until it is gone; return how many were left."""
        return kill_and_wait(self.pids, grace, timeout)

    def remove(self) -> int:
        """Kill what is left, remove the cgroups; return how many processes had to be killed."""
        survivors = self.kill()
        for path in reversed(self.created):
            for _ in range(50):  # the kernel frees a cgroup a moment after its last process is reaped
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)
        self.created = [p for p in self.created if p.exists()]
        return survivors


def kill_and_wait(find, grace: float = 5.0, timeout: float = 10.0) -> int:
    """Give the processes ``find()`` lists ``grace`` seconds to end, then SIGKILL whatever it still lists until it
    lists nothing or ``timeout`` seconds pass; return how many were left after the grace.

    Args:
        find: a function returning the process ids to end now (a cgroup's members, a user's processes).
        grace: seconds to wait for them to end on their own.
        timeout: seconds to keep killing.
    """
    deadline = time.monotonic() + grace
    while find() and time.monotonic() < deadline:
        time.sleep(0.05)
    first = find()
    deadline = time.monotonic() + timeout
    while (left := find()) and time.monotonic() < deadline:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    return len(first)


def create(name: str, *, memory: int, processes: int) -> SubmissionCgroups:
    """Create the cgroups of one submission, beneath the grader's own, with its limits.

    Args:
        name: the folder name of the new cgroups (unique among the running sandboxes).
        memory: bytes of memory for all the submission's processes together (0: no limit).
        processes: processes and threads for the whole submission (0: no limit); bubblewrap's own
            :data:`BWRAP_PROCESSES` are added.

    Returns:
        The new :class:`SubmissionCgroups`.

    Raises:
        CgroupUnavailable: a controller is missing, or the cgroups cannot be created or limited here (the reason).
    """
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"name must be a plain folder name (no '/', not hidden), got {name!r}.")
    for arg, value in (("memory", memory), ("processes", processes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{arg} must be an int >= 0 (0: no limit), got {value!r}.")
    try:
        own = own_folders()
    except (OSError, ValueError, IndexError) as exc:
        raise CgroupUnavailable(f"cannot read this process's cgroups: {exc}") from exc
    missing = [c for c in CONTROLLERS if c not in own]
    if missing:
        raise CgroupUnavailable(f"no cgroup controller {', '.join(missing)} available to the grader")
    group = SubmissionCgroups([], memory, processes)
    try:
        for controller in own.values():
            if controller.version == 2:
                _delegate(controller.path, controller.name)
            path = controller.path / name
            if path not in group.created:
                path.mkdir()
                group.created.append(path)
            group.controllers.append(Controller(controller.name, path, controller.version))
        for c in group.controllers:
            _limit(c, memory=memory, processes=processes)
    except OSError as exc:
        group.remove()
        raise CgroupUnavailable(f"cannot create a cgroup beneath the grader's: {exc}") from exc
    return group


def _delegate(base: Path, controller: str) -> None:
    """Make a v2 cgroup pass ``controller`` to its children (refused where it holds processes itself)."""
    subtree = base / "cgroup.subtree_control"
    if controller not in subtree.read_text().split():
        subtree.write_text(f"+{controller}")


def _limit(c: Controller, *, memory: int, processes: int) -> None:
    if c.name == "memory" and memory:
        if c.version == 1:
            (c.path / "memory.limit_in_bytes").write_text(str(memory))
            if (c.path / "memory.memsw.limit_in_bytes").exists():  # swap counts too: no way around the limit
                (c.path / "memory.memsw.limit_in_bytes").write_text(str(memory))
        else:
            (c.path / "memory.max").write_text(str(memory))
            if (c.path / "memory.swap.max").exists():
                (c.path / "memory.swap.max").write_text("0")
    elif c.name == "pids" and processes:
        (c.path / "pids.max").write_text(str(processes + BWRAP_PROCESSES))


def _number(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _keyed(path: Path) -> dict[str, int]:
    """``{key: value}`` of a cgroup file of ``key value`` lines (``memory.events``, ``pids.events``)."""
    try:
        pairs = (line.split() for line in path.read_text().splitlines())
        return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].lstrip("-").isdigit()}
    except OSError:
        return {}
