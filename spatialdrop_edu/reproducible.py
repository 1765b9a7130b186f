"""The reproducible mode, and the provenance of a result: which kernels, threads, versions and code made it.

PyTorch (ATen), oneDNN, MKL, OpenBLAS and NumPy choose CPU code by instruction set, and MKL and
OpenBLAS also by the processor's vendor and model, so the same seed gives last-bit differences on
another processor, and a training run turns those into different numbers. The course executes and
checks every stored output under pins that choose each library's code by themselves, written once
in ``reproducible.env`` beside this module: the Makefile includes that file, and
:func:`reproducible_env` reads it for the execute command, the study runner and the grading
sandbox. A value already set in the environment wins in all of them.

What the mode is for: kernels chosen by the mode, not by the vendor, so that an x86-64 processor
with AVX2, Intel or AMD, computes the same bits. MKL is the library that chose by vendor: it
honours a named branch such as ``AVX2`` on Intel processors only, so the mode runs its
``COMPATIBLE`` branch, the one every vendor runs (COURSE.md says which operations differed between
an Intel Xeon and an AMD EPYC under the earlier ``AVX2`` pin, and why).
:mod:`~spatialdrop_edu.kernel_fingerprint` checks a machine against the one that executed the
stored outputs, operation by operation. What the mode cannot: ARM processors (Apple silicon,
Graviton) and GPUs have kernels of their own, and a processor without AVX2 falls back to slower
ones; there the notebooks still run and every claim of the prose still holds (CI checks them under
a second instruction set), but printed digits may differ.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import subprocess
from pathlib import Path

#: The file both readers share, made of ``NAME ?= value`` lines (Make's conditional assignment).
ENV_FILE = Path(__file__).with_name("reproducible.env")

__all__ = [
    "ENV_FILE",
    "CODE_PATHS",
    "pinned_defaults",
    "reproducible_env",
    "pins_in_effect",
    "cpu_model",
    "source_digest",
    "code_state",
    "provenance",
]


def pinned_defaults() -> dict[str, str]:
    """The pins as written in :data:`ENV_FILE`, ``{name: value}``, in file order.

    Examples::

        >>> pinned_defaults()["ATEN_CPU_CAPABILITY"]
        'avx2'
    """
    pins = {}
    for number, line in enumerate(ENV_FILE.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("?=")
        if not sep or not name.strip().isidentifier():
            raise ValueError(f"{ENV_FILE.name}, line {number}: expected 'NAME ?= value', got {line!r}.")
        pins[name.strip()] = value.strip()
    return pins


def reproducible_env(environ=None) -> dict[str, str]:
    """The variables of the reproducible mode, each from ``environ`` where set there, else pinned.

    Args:
        environ: the environment to respect (default: ``os.environ``); a variable set there
            (to a non-empty value) wins over the pinned default.

    Returns:
        ``{name: value}`` for every pinned variable: merge it into a child process's environment
        before the child imports PyTorch (the variables are read once, when kernels are chosen).

    Examples::

        >>> reproducible_env({"ATEN_CPU_CAPABILITY": "default"})["ATEN_CPU_CAPABILITY"]
        'default'
        >>> reproducible_env({})["ONEDNN_MAX_CPU_ISA"]
        'AVX2'
    """
    environ = os.environ if environ is None else environ
    return {name: environ.get(name) or value for name, value in pinned_defaults().items()}


def pins_in_effect(environ=None) -> dict[str, str | None]:
    """What this process runs under: each pinned variable's value in ``environ`` (``None``: unset)."""
    environ = os.environ if environ is None else environ
    return {name: environ.get(name) for name in pinned_defaults()}


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _git(*args: str) -> str | None:
    """What ``git ARGS`` prints in the package's checkout, or ``None`` (no git, no checkout: an installed package)."""
    try:
        out = subprocess.run(
            ["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


#: What a study's runs depend on in the checkout, from its top, the package's code and the chapters that define the
#: studies; the shipped results are left out, since a study writes them while it runs.
CODE_PATHS = ("spatialdrop_edu", "book", ":(exclude)spatialdrop_edu/results")


def _from_top(pathspec: str) -> str:
    """A pathspec of :data:`CODE_PATHS` read from the checkout's top, whatever git's working folder."""
    if pathspec.startswith(":("):
        return ":(top," + pathspec[2:]
    return ":(top)" + pathspec


def source_digest() -> str:
    """The first 16 hex digits of a SHA-256 over the package's Python sources and ``reproducible.env``.

    It names the code itself, whether or not it was committed, and also for an installed package.
    """
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for source in sorted([*package.rglob("*.py"), ENV_FILE]):
        digest.update(source.relative_to(package).as_posix().encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def code_state() -> dict:
    """The code that runs here: ``commit`` (12 hex digits of ``HEAD``), ``dirty`` and ``source``.

    ``dirty`` is ``True`` when the package's code or the chapters (:data:`CODE_PATHS`) differ from ``HEAD`` (an
    untracked file there counts): the commit alone then does not name the code that ran. ``commit`` and ``dirty``
    are ``None`` outside a git checkout; ``source`` (:func:`source_digest`) is always there. Computed once per
    process.

    Examples::

        >>> state = code_state()
        >>> sorted(state), len(state["source"])
        (['commit', 'dirty', 'source'], 16)
    """
    head = _git("rev-parse", "--short=12", "HEAD")
    status = (
        _git("status", "--porcelain", "--untracked-files=normal", "--", *map(_from_top, CODE_PATHS)) if head else None
    )
    return {
        "commit": head.strip() if head else None,
        "dirty": bool(status.strip()) if status is not None else None,
        "source": source_digest(),
    }


def provenance(device=None) -> dict:
    """What produced a result: device, PyTorch build, processor and kernels in use, threads, versions.

    Args:
        device: the ``torch.device`` (or its name) the result was computed on; default: the CPU.

    Returns:
        ``dict``, JSON-serialisable, with ``device``, ``device_name`` (the GPU's name on CUDA),
        ``torch``, ``cuda`` (PyTorch's CUDA version, ``None`` for a CPU build), ``cpu``,
        ``cpu_capability`` (the ATen kernels in use), ``threads``, ``pins`` (the reproducible
        mode's variables as set in this process), ``python``, ``spatialdrop_edu``, and the code that ran
        (:func:`code_state`): ``commit``, ``dirty`` (uncommitted changes to the code) and ``source`` (a digest of
        the package's sources).

    Examples::

        >>> record = provenance("cpu")
        >>> kernels = {"default", "avx2", "avx512", "no avx"}
        >>> record["device"], record["cpu_capability"] in kernels
        ('cpu', True)
    """
    import torch

    from . import __version__

    device = torch.device(device if device is not None else "cpu")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {
        "device": device.type,
        "device_name": name,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cpu": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability().lower(),
        "threads": torch.get_num_threads(),
        "pins": pins_in_effect(),
        "python": platform.python_version(),
        "spatialdrop_edu": __version__,
        **code_state(),
    }
