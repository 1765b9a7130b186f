"""One throwaway sandbox per submission: the bubblewrap (``bwrap``) command a grading kernel starts in.

`bubblewrap <https://github.com/containers/bubblewrap>`_ builds the sandbox from Linux namespaces,
without a container daemon. A submission's kernel, and every process it starts, sees:

* **its own PID namespace** (``--unshare-pid``): it sees only its own processes, and all of them
  die with the sandbox (``--die-with-parent``): nothing it forks, ``setsid`` or not, survives;
* **no network of any kind**: a network namespace of its own (``--unshare-net``) with nothing but
  its own loopback, no host ``/run`` and a private ``/tmp``, so no socket of the grading machine;
* **a non-root user**: graded as root, the kernel runs as a user id of its own, leased for it
  (:mod:`.uids`: no other sandbox on the machine shares it), without capabilities; graded as
  another user, bubblewrap maps that user to uid 1000 in a user namespace of its own, which may
  not create further ones (``--disable-userns``);
* **a seccomp filter** (:mod:`.seccomp`, installed by :mod:`.sandbox_entry` right before the
  kernel starts): no process in the sandbox may create namespaces (a user namespace included,
  whether graded as root or not), mount, trace another process or reach the kernel's keyrings,
  modules and BPF;
* **a fresh, empty home**, ``/tmp`` and ``/dev/shm`` (memory file systems of bounded size) and a whitelisted
  environment (:func:`sandbox_env`: what the kernel needs, the course's notebook variables and the
  reproducible mode's pins), nothing inherited from the grader;
* **the system and Python read-only**: ``/usr``, a few files of ``/etc``, the interpreter and the
  virtual environment the grader runs in, each at its own path;
* **the package as installed code only**: the directory of ``spatialdrop_edu`` alone, read-only, at
  ``/opt/spatialdrop/spatialdrop_edu`` (first on ``PYTHONPATH``), never the repository around it:
  no ``book/``, no instructor notebook, no other submission, no grades folder;
* **one private writable folder**, ``/home/student/work``, holding only this submission's prepared
  notebook (read-only), and the folder of the kernel's sockets, which the grader connects to.

What the sandbox does not do by itself: limit memory and processes (:mod:`.cgroups` and the
rlimits of :mod:`.sandbox_entry` do) and decide what counts as a pass (:mod:`.scoring`).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .uids import UNPRIVILEGED_UID

#: The bubblewrap command.
BWRAP = "bwrap"
HOME = "/home/student"
WORK = f"{HOME}/work"
#: Where the package directory is bound; it is the first entry of the kernel's ``PYTHONPATH``.
PACKAGE_MOUNT = "/opt/spatialdrop"
#: Top-level links or folders of the system: bound (read-only) or re-created as the same link.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: The files of /etc a Python kernel needs (the dynamic linker's cache, the alternatives links of /usr/bin).
ETC_PATHS = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime")
#: Bytes of each memory file system (home, /tmp, /dev/shm) at most (and at most the memory limit).
TMPFS_BYTES = 2**30


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str:
    """Why a sandbox cannot be started here, or ``""`` when bubblewrap works (tried once per process).

    Returns:
        ``""``, or a sentence naming the problem: bubblewrap missing, or not allowed to create namespaces here.

    Examples::

        >>> problem = bwrap_problem()
        >>> problem == "" or problem.startswith(("no `bwrap`", "bubblewrap"))
        True
    """
    if shutil.which(BWRAP) is None:
        return "no `bwrap` command: install bubblewrap (Debian and Ubuntu: apt-get install bubblewrap)"
    probe = [
        BWRAP,
        "--unshare-pid",
        "--unshare-net",
        "--die-with-parent",
        *_identity_args(),
        *_system_args(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--",
        "/bin/sh",
        "-c",
        "true",
    ]
    try:
        done = subprocess.run(probe, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not be started: {exc}"
    if done.returncode:
        why = done.stderr.decode(errors="replace").strip()[:300] or f"exit status {done.returncode}"
        return f"bubblewrap cannot create namespaces here: {why}"
    return ""


def package_dir() -> Path:
    """The directory of the ``spatialdrop_edu`` package the grader runs: the only part of the course bound inside."""
    return Path(__file__).resolve().parents[3]


def python_roots() -> list[Path]:
    """The folders (and files) of the interpreter and its packages to bind read-only, each at its own path.

    The virtual environment, its base installation, and the target of every link at the top of
    either (a virtual environment made of links into another, as the course's tests make one).
    What lies under ``/usr`` is left out (``/usr`` is bound whole), and so is what another root holds.
    """
    roots = {
        Path(sys.prefix).resolve(),
        Path(sys.base_prefix).resolve(),
        Path(os.path.realpath(sys.executable)).parents[1],
    }
    for root in list(roots):
        for child in root.iterdir() if root.is_dir() else ():
            if child.is_symlink() and child.resolve().exists():
                roots.add(child.resolve())
    kept = [r for r in roots if not _under(r, Path("/usr"))]
    return sorted(r for r in kept if not any(o != r and _under(r, o) for o in kept))


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def exposure_problem(private: list[Path]) -> str:
    """``""``, or why binding the Python folders would show the sandbox one of the ``private`` paths.

    A virtual environment created *as* the course folder (``python -m venv .``) would bind the
    instructor notebooks into every sandbox: grading refuses to run from one.

    Args:
        private: what no sandbox may see: the instructor notebooks' folder, the output folder, the submissions.
    """
    for root in [*python_roots(), package_dir()]:
        for path in private:
            path = Path(path).resolve()
            if _under(path, root):
                return (
                    f"the Python environment folder {root} contains {path}, which the sandbox must not see: "
                    "run the grader from a virtual environment outside the course and submission folders"
                )
    return ""


def sandbox_env(environ=None) -> dict[str, str]:
    """The whole environment of a sandboxed kernel: a whitelist, the course's notebook variables and the pins.

    Args:
        environ: the grader's environment, read only for the reproducible mode's pins (a pin set there wins).

    Returns:
        ``{name: value}``: ``HOME``, ``PATH``, ``PYTHONPATH`` (the package first) and the like, the variables of
        ``spatialdrop_edu.course.edition.execute.NOTEBOOK_ENV`` and those of
        ``spatialdrop_edu.reproducible.reproducible_env``; nothing else of the grader's environment.

    Examples::

        >>> env = sandbox_env({"ATEN_CPU_CAPABILITY": "default", "SECRET": "x"})
        >>> env["ATEN_CPU_CAPABILITY"], "SECRET" in env, env["HOME"]
        ('default', False, '/home/student')
    """
    from ....reproducible import reproducible_env
    from ...edition.execute import NOTEBOOK_ENV

    env = {
        "HOME": HOME,
        "USER": "student",
        "LOGNAME": "student",
        "SHELL": "/bin/sh",
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": PACKAGE_MOUNT,
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    return {**env, **NOTEBOOK_ENV, **reproducible_env(os.environ if environ is None else environ)}


@dataclass(frozen=True)
class Sandbox:
    """Where one submission's sandbox lives on the grading machine.

    Args:
        uid: the user id the kernel runs as (leased with :func:`.uids.lease`).
        private: a folder of the grader's own for this submission (the sandbox's ``/etc/passwd`` is written there);
            never bound whole.
        notebook: the prepared notebook, bound read-only into the work folder under ``notebook_name``.
        notebook_name: its file name inside the sandbox.
        kernel_dir: the folder of the kernel's connection file and sockets, bound read-write at the same path.
        tmpfs_bytes: the size of each memory file system (home, ``/tmp``, ``/dev/shm``).
    """

    uid: int
    private: Path
    notebook: Path
    notebook_name: str
    kernel_dir: Path
    tmpfs_bytes: int = TMPFS_BYTES

    def prepare(self) -> None:
        """Create the kernel folder (owned by the sandbox's user) and the sandbox's own ``/etc/passwd`` and group."""
        self.kernel_dir.mkdir(parents=True, exist_ok=True)
        uid = self.uid
        if isinstance(uid, bool) or not isinstance(uid, int) or uid <= 0:
            raise ValueError(f"uid must be a user id > 0 (the sandbox's user, never root), got {uid!r}.")
        if os.geteuid() == 0:
            os.chown(self.kernel_dir, uid, uid)
        os.chmod(self.kernel_dir, 0o700)
        (self.private / "passwd").write_text(
            f"root:x:0:0::/:/usr/sbin/nologin\nstudent:x:{uid}:{uid}::{HOME}:/bin/sh\n"
        )
        (self.private / "group").write_text(f"root:x:0:\nstudent:x:{uid}:\n")

    def command(self, env: dict[str, str]) -> list[str]:
        """The ``bwrap`` command line, up to and including ``--``: the kernel's own command follows it.

        Args:
            env: the kernel's whole environment (:func:`sandbox_env`); nothing else is passed in.
        """
        args = [
            BWRAP,
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "sandbox",
            *_identity_args(),
            *_system_args(),
        ]
        for path in ETC_PATHS:
            if os.path.lexists(path):
                args += ["--ro-bind", path, path]
        args += [
            "--ro-bind",
            str(self.private / "passwd"),
            "/etc/passwd",
            "--ro-bind",
            str(self.private / "group"),
            "/etc/group",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--perms",
            "1777",
            "--size",
            str(self.tmpfs_bytes),
            "--tmpfs",
            "/dev/shm",
            "--perms",
            "1777",
            "--size",
            str(self.tmpfs_bytes),
            "--tmpfs",
            "/tmp",
            *_dirs(Path(HOME).parent),
            "--perms",
            "0777",
            "--size",
            str(self.tmpfs_bytes),
            "--tmpfs",
            HOME,
            "--perms",
            "0777",
            "--dir",
            WORK,
            "--ro-bind",
            str(self.notebook),
            f"{WORK}/{self.notebook_name}",
        ]
        for root in python_roots():
            args += [*_dirs(root.parent), "--ro-bind", str(root), str(root)]
        mount = Path(PACKAGE_MOUNT) / package_dir().name
        args += [*_dirs(mount.parent), "--ro-bind", str(package_dir()), str(mount)]
        args += [*_dirs(self.kernel_dir.parent), "--bind", str(self.kernel_dir), str(self.kernel_dir)]
        args += ["--chdir", WORK, "--clearenv"]
        for name, value in sorted(env.items()):
            args += ["--setenv", name, value]
        return [*args, "--"]


def _identity_args() -> list[str]:
    """Root: keep only the capabilities to become the sandbox's user; otherwise a user namespace of its own."""
    if os.geteuid() == 0:
        return ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return ["--unshare-user", "--uid", str(UNPRIVILEGED_UID), "--gid", str(UNPRIVILEGED_UID), "--disable-userns"]


def _system_args() -> list[str]:
    """``/usr`` and the top-level system links read-only (a merged ``/usr`` has ``/bin -> usr/bin``)."""
    args = []
    for path in SYSTEM_PATHS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def _dirs(folder: Path) -> list[str]:
    """``--dir`` arguments creating ``folder`` and its parents traversable (bubblewrap makes them private otherwise)."""
    args = []
    for part in [*reversed(folder.parents), folder]:
        if part != Path("/"):
            args += ["--perms", "0755", "--dir", str(part)]
    return args
