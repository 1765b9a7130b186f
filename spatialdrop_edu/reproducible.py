"""The reproducible mode, and the provenance of a result: which kernels, threads and versions made it.

PyTorch (ATen), oneDNN, MKL and NumPy choose CPU code by instruction set, so the same seed gives
last-bit differences on another processor, and a training run turns those into different
numbers. The course executes and checks every stored output under one pinned instruction set and
thread count, written once in ``reproducible.env`` beside this module: the Makefile includes that
file, and :func:`reproducible_env` reads it for the execute command and the study runner. A value
already set in the environment wins in both.

What the mode buys: any x86-64 processor with AVX2 (Intel or AMD, AVX-512 or not) runs the same
kernels and reproduces the stored outputs. What it cannot: ARM processors (Apple silicon, Graviton)
and GPUs have kernels of their own, and a processor without AVX2 falls back to slower ones; there
the notebooks still run and every claim of the prose still holds (CI checks them under a second
instruction set), but printed digits may differ.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from pathlib import Path

#: The file both readers share, made of ``NAME ?= value`` lines (Make's conditional assignment).
ENV_FILE = Path(__file__).with_name("reproducible.env")

__all__ = ["ENV_FILE", "pinned_defaults", "reproducible_env", "pins_in_effect", "cpu_model", "provenance"]


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


@functools.lru_cache(maxsize=1)
def _commit() -> str | None:
    """The git commit of the package's checkout, or ``None`` for an installed package."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def provenance(device=None) -> dict:
    """What produced a result: device, PyTorch build, processor and kernels in use, threads, versions.

    Args:
        device: the ``torch.device`` (or its name) the result was computed on; default: the CPU.

    Returns:
        ``dict``, JSON-serialisable, with ``device``, ``device_name`` (the GPU's name on CUDA),
        ``torch``, ``cuda`` (PyTorch's CUDA version, ``None`` for a CPU build), ``cpu``,
        ``cpu_capability`` (the ATen kernels in use), ``threads``, ``pins`` (the reproducible
        mode's variables as set in this process), ``python``, ``spatialdrop_edu`` and ``commit``.

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
        "commit": _commit(),
    }
