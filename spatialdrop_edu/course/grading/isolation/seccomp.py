"""The seccomp filter of a grading kernel: the system calls a notebook never needs are refused.

:mod:`.sandbox_entry` installs it (``--seccomp``) as its last step inside the sandbox, after the
limits and the change of user, right before it becomes the kernel. A filter cannot be removed, and
every process the kernel starts inherits it, across ``fork`` and ``exec``. It is classic BPF,
built here with ``struct`` and installed with ``prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)``
through ``ctypes`` (the kernel's documentation: `Seccomp BPF
<https://docs.kernel.org/userspace-api/seccomp_filter.html>`_), after ``PR_SET_NO_NEW_PRIVS``,
which the kernel requires of a process without ``CAP_SYS_ADMIN`` (and which keeps a set-user-ID
program from gaining anything). It needs the standard library alone: the entry runs under
``python -I -S``. Where the filter cannot be installed, the entry refuses to start the kernel.

The list follows `Docker's default seccomp profile
<https://docs.docker.com/engine/security/seccomp/>`_ (``profiles/seccomp/default.json`` of
moby): what a container without extra capabilities may not call, cut down to what matters to a
notebook that computes. Refused with ``EPERM``, as Docker does:

* **namespaces**: ``unshare``, ``setns``, and ``clone`` with any ``CLONE_NEW*`` flag (user,
  mount, PID, network, UTS, IPC, cgroup) in its flags (the low 32 bits of its first argument,
  all the kernel reads): Docker's mask. A new user namespace would give the submission every
  capability inside it, and with them the kernel's whole namespaced attack surface (mounts,
  netfilter, ...): no process in the sandbox may create one, whoever grades it (graded as root,
  bubblewrap creates no user namespace, so its ``--disable-userns`` does not apply). ``clone``
  itself stays: threads and ``fork`` use it;
* **clone3** fails with ``ENOSYS`` instead: its flags are in memory, which a filter cannot
  read, and on ``ENOSYS`` the C library falls back to ``clone``, whose flags are checked (Docker
  does the same);
* **mounts**: ``mount``, ``umount2``, ``pivot_root``, ``chroot`` and the newer mount calls
  (``open_tree``, ``move_mount``, ``fsopen``, ``fsconfig``, ``fsmount``, ``fspick``,
  ``mount_setattr``): the sandbox's file system is bubblewrap's, fixed before the kernel starts;
* **kernel keyrings**: ``keyctl``, ``add_key``, ``request_key``: not namespaced (Docker's
  reason), and no notebook has a use for them;
* **the kernel's own machinery**: ``bpf`` (programs run in the kernel), ``perf_event_open``
  (performance counters: a side channel), ``userfaultfd`` (a classic tool of kernel exploits),
  ``kexec_load``, ``kexec_file_load``, ``init_module``, ``finit_module``, ``delete_module``,
  ``reboot``, ``swapon``, ``swapoff``;
* **other processes' memory and files**: ``ptrace``, ``process_vm_readv``, ``process_vm_writev``, ``pidfd_getfd``;
* **opening by handle**: ``open_by_handle_at`` opens a file by its handle, past the bound
  folders (the "shocker" container escape).

Everything else is allowed. A system call of another ABI (32-bit ``int 0x80`` on x86_64, or
x32's numbers) ends the process: the filter knows only its own architecture's numbers (x86_64's
``syscall_64.tbl``, aarch64's ``asm-generic/unistd.h``), so the architecture is checked first, as
the kernel's documentation asks.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

#: Refused with ``EPERM`` (``clone`` with a namespace flag too, and ``clone3`` with ``ENOSYS``).
REFUSED = (
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "open_by_handle_at",
)
# The system calls added since Linux 5.0 have the same number on every architecture.
_SHARED = {
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "clone3": 435,
    "pidfd_getfd": 438,
    "mount_setattr": 442,
}
#: System call numbers, by machine (``os.uname().machine``).
SYSCALLS = {
    "x86_64": {
        **_SHARED,
        "clone": 56,
        "ptrace": 101,
        "pivot_root": 155,
        "chroot": 161,
        "mount": 165,
        "umount2": 166,
        "swapon": 167,
        "swapoff": 168,
        "reboot": 169,
        "init_module": 175,
        "delete_module": 176,
        "kexec_load": 246,
        "add_key": 248,
        "request_key": 249,
        "keyctl": 250,
        "unshare": 272,
        "perf_event_open": 298,
        "open_by_handle_at": 304,
        "setns": 308,
        "process_vm_readv": 310,
        "process_vm_writev": 311,
        "finit_module": 313,
        "kexec_file_load": 320,
        "bpf": 321,
        "userfaultfd": 323,
    },
    "aarch64": {
        **_SHARED,
        "umount2": 39,
        "mount": 40,
        "pivot_root": 41,
        "chroot": 51,
        "unshare": 97,
        "kexec_load": 104,
        "init_module": 105,
        "delete_module": 106,
        "ptrace": 117,
        "reboot": 142,
        "add_key": 217,
        "request_key": 218,
        "keyctl": 219,
        "clone": 220,
        "swapon": 224,
        "swapoff": 225,
        "perf_event_open": 241,
        "open_by_handle_at": 265,
        "setns": 268,
        "process_vm_readv": 270,
        "process_vm_writev": 271,
        "finit_module": 273,
        "bpf": 280,
        "userfaultfd": 282,
        "kexec_file_load": 294,
    },
}
#: ``AUDIT_ARCH_*`` (linux/audit.h): the ``arch`` field of a system call seen by the filter.
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
#: ``CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET`` (linux/sched.h): Docker's mask.
CLONE_NEW_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
#: x32's system calls are x86_64's with this bit set (and the same ``arch``).
X32_SYSCALL_BIT = 0x40000000

# Classic BPF (linux/filter.h, linux/bpf_common.h) and seccomp's return values (linux/seccomp.h).
LD_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS: load 32 bits of struct seccomp_data
JEQ, JGE, JSET = 0x15, 0x35, 0x45  # BPF_JMP | BPF_JEQ / BPF_JGE / BPF_JSET, with a constant
RET = 0x06  # BPF_RET | BPF_K
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000
# Offsets in struct seccomp_data {int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];}; both
# architectures are little-endian, so the low 32 bits of args[0] come first (clone's flags are those bits).
NR, ARCH, ARG0_LOW = 0, 4, 16

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


class SeccompUnavailable(OSError):
    """The filter cannot be installed here: an architecture it does not know, or a kernel that refuses it."""


def program(machine: str) -> list[tuple[int, int, int, int]]:
    """The filter for an architecture, as BPF instructions.

    Args:
        machine: ``"x86_64"`` or ``"aarch64"`` (``os.uname().machine``).

    Returns:
        ``(code, jt, jf, k)`` per instruction, the fields of ``struct sock_filter``: the architecture is
        checked first, then the system call's number (and ``clone``'s flags).

    Raises:
        SeccompUnavailable: for another architecture.
    """
    if machine not in SYSCALLS:
        raise SeccompUnavailable(f"no seccomp filter for the architecture {machine!r} (known: {', '.join(SYSCALLS)})")
    numbers = SYSCALLS[machine]
    lines = [(LD_ABS, ARCH, None, None), (JEQ, AUDIT_ARCH[machine], None, "kill"), (LD_ABS, NR, None, None)]
    if machine == "x86_64":
        lines.append((JGE, X32_SYSCALL_BIT, "kill", None))
    lines += [(JEQ, numbers["clone3"], "enosys", None), (JEQ, numbers["clone"], "clone", None)]
    lines += [(JEQ, numbers[name], "eperm", None) for name in REFUSED]
    lines += [
        (RET, RET_ALLOW, None, None),
        "clone",
        (LD_ABS, ARG0_LOW, None, None),
        (JSET, CLONE_NEW_FLAGS, "eperm", None),
        (RET, RET_ALLOW, None, None),
        "eperm",
        (RET, RET_ERRNO | errno.EPERM, None, None),
        "enosys",
        (RET, RET_ERRNO | errno.ENOSYS, None, None),
        "kill",
        (RET, RET_KILL_PROCESS, None, None),
    ]
    return _assemble(lines)


def _assemble(lines: list) -> list[tuple[int, int, int, int]]:
    """``(code, jt, jf, k)`` from ``(code, k, jump if true, jump if false)`` lines, whose jumps name a label (a
    string line) or are None (the next instruction)."""
    labels, count = {}, 0
    for line in lines:
        if isinstance(line, str):
            labels[line] = count
        else:
            count += 1
    instructions = []
    for line in lines:
        if isinstance(line, str):
            continue
        code, k, yes, no = line
        here = len(instructions)
        jt, jf = (labels[to] - here - 1 if to else 0 for to in (yes, no))
        if not (0 <= jt < 256 and 0 <= jf < 256):
            raise ValueError(f"a jump of instruction {here} is out of a BPF jump's reach (0 to 255): {jt}, {jf}")
        instructions.append((code, jt, jf, k))
    return instructions


class _SockFprog(ctypes.Structure):
    """``struct sock_fprog`` (linux/filter.h): the length of a BPF program and where it is."""

    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install() -> None:
    """Install the filter on this process, for good: it and every process it starts are filtered.

    Sets ``PR_SET_NO_NEW_PRIVS`` first. Call it last before ``exec``: the filter holds for the calling thread and
    what it starts afterwards (a Python without threads of its own, as the entry is, has no other thread).

    Raises:
        SeccompUnavailable: this architecture (or a 32-bit Python) has no filter, or the kernel refused a
            ``prctl``; the message names which.
    """
    machine = os.uname().machine
    if struct.calcsize("P") != 8:
        raise SeccompUnavailable(f"no seccomp filter for a 32-bit Python (on {machine})")
    instructions = program(machine)
    code = ctypes.create_string_buffer(b"".join(struct.pack("=HBBI", *i) for i in instructions))
    fprog = _SockFprog(len(instructions), ctypes.addressof(code))
    libc = ctypes.CDLL(None, use_errno=True)
    _prctl(libc, "PR_SET_NO_NEW_PRIVS", PR_SET_NO_NEW_PRIVS, 1)
    _prctl(libc, "PR_SET_SECCOMP", PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))


def _prctl(libc, name: str, *args: int) -> None:
    """``prctl(*args)``, or a :class:`SeccompUnavailable` naming ``name`` and the kernel's reason."""
    # prctl is variadic: each argument goes as a whole unsigned long, so the kernel reads no garbage above an int
    padded = [ctypes.c_ulong(a) for a in (*args, 0, 0, 0, 0)[:5]]
    if libc.prctl(*padded) != 0:
        number = ctypes.get_errno()
        raise SeccompUnavailable(f"prctl({name}) failed: {os.strerror(number)} (errno {number})")
