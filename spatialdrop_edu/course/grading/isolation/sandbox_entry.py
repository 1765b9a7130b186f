"""The first instructions of a grading kernel's process: its cgroups, limits, user and seccomp filter, then exec.

    python -I -S sandbox_entry.py [--join CGROUP_PROCS_FILE]... [--memory BYTES] [--cpu SECONDS]
        [--processes N] [--processes-relative] [--user UID] [--seccomp] -- COMMAND...

Run by file path with the standard library alone (``-I -S``: no site packages, no environment), so
that it costs milliseconds and imports nothing a submission could have touched. It changes its own
process and then becomes ``COMMAND`` (``exec``), so everything ``COMMAND`` starts inherits what it set:

* ``--join``: write this process's id into a cgroup's ``cgroup.procs`` (the grader does it outside the
  sandbox, before ``bwrap`` starts, so the whole sandbox is in the submission's cgroups);
* ``--memory``: the address space of each process (``RLIMIT_AS``); a single allocation beyond it
  fails at once with a ``MemoryError``;
* ``--cpu``: CPU seconds of each process (``RLIMIT_CPU``; the hard limit 5 s later);
* ``--processes``: processes and threads of the user (``RLIMIT_NPROC``): inside a sandbox the user
  is the sandbox's own, so this bounds the submission; with ``--processes-relative`` (no sandbox)
  it is added to what the user runs now, as Linux counts per user;
* ``--user``: started as root inside the sandbox (with no capability but those to change user),
  become that user: no group, no capability left;
* ``--seccomp``: last, right before ``exec``: install :mod:`.seccomp`'s filter, which refuses the
  system calls a notebook never needs (namespaces, mounts, tracing, kernel keyrings and modules, ...).
  Where it cannot be installed (another architecture, a kernel without seccomp), the entry fails
  with a message that says why: the kernel never starts without it.

Every process gets ``RLIMIT_CORE = 0``: a crashing submission writes no core file. A value of 0
means "no limit" for the other options.
"""

from __future__ import annotations

import os
import resource
import sys

#: Seconds between the soft CPU limit (SIGXCPU, which stops the kernel) and the hard one (SIGKILL).
CPU_HARD_EXTRA_S = 5
#: Exit status when the entry itself fails (the kernel then never starts, and the grader reports why).
FAILED = 111


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


def lower(kind: int, soft: int, hard: int) -> None:
    """Set a resource limit, never above one already in force (raising a hard limit is refused anyway)."""
    _, current = resource.getrlimit(kind)
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    resource.setrlimit(kind, (soft, hard))


def parse(argv: list[str]) -> tuple[dict, list[str]]:
    """``(options, command)`` from the command line; raises ``ValueError`` naming what is wrong."""
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        raise ValueError("usage: sandbox_entry.py [OPTIONS] -- COMMAND...: a command is needed after --")
    split = argv.index("--")
    options = {
        "join": [],
        "memory": 0,
        "cpu": 0,
        "processes": 0,
        "processes_relative": False,
        "user": None,
        "seccomp": False,
    }
    words = iter(argv[:split])
    for word in words:
        name = word[2:].replace("-", "_")
        if word in ("--processes-relative", "--seccomp"):
            options[name] = True
        elif word == "--join":
            options["join"].append(next(words))
        elif name in ("memory", "cpu", "processes", "user"):
            value = next(words, "")
            if not value.isdigit():
                raise ValueError(f"{word} takes a whole number >= 0, got {value!r}")
            options[name] = int(value)
        else:
            raise ValueError(f"unknown option {word!r}")
    return options, argv[split + 1 :]


def apply(options: dict) -> None:
    """Join the cgroups, set the limits, change the user and install the seccomp filter, as ``options`` (from
    :func:`parse`) say."""
    for procs in options["join"]:
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if options["memory"]:
        lower(resource.RLIMIT_AS, options["memory"], options["memory"])
        # glibc reserves up to 8 malloc arenas of 64 MiB of address space per core (one per thread that allocates):
        # a few are enough, and keep a many-core machine's idle kernel within the limit.
        os.environ.setdefault("MALLOC_ARENA_MAX", "4")
    if options["cpu"]:
        lower(resource.RLIMIT_CPU, options["cpu"], options["cpu"] + CPU_HARD_EXTRA_S)
    if options["processes"]:
        running = user_tasks(os.getuid()) if options["processes_relative"] else 0
        if running is not None:
            lower(resource.RLIMIT_NPROC, running + options["processes"], running + options["processes"])
    if options["user"] is not None:
        uid = options["user"]
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        if os.getuid() != uid or os.geteuid() != uid:
            raise PermissionError(f"could not become user {uid}")
    if options["seccomp"]:
        install_seccomp()


def install_seccomp() -> None:
    """Install the filter of :mod:`.seccomp` on this process (and so on the command it becomes)."""
    try:
        from . import seccomp
    except ImportError:  # run by file path: ``-I`` leaves this file's folder off sys.path, so add it (last)
        sys.path.append(os.path.dirname(os.path.abspath(__file__)))
        import seccomp
    seccomp.install()


def main(argv: list[str]) -> None:
    try:
        options, command = parse(argv)
        apply(options)
        os.execvp(command[0], command)
    except (OSError, ValueError, StopIteration) as exc:
        print(f"sandbox_entry: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        os._exit(FAILED)


if __name__ == "__main__":
    main(sys.argv[1:])
