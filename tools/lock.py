"""Write requirements-lock.txt: the exact version of every package `make` installs (`make lock`).

The stored outputs of the notebooks were produced with these versions; `make` installs them as pip
constraints (``-c requirements-lock.txt``), so a new release of any dependency cannot change a fresh
clone's outputs or break its tests. requirements.txt keeps its ranges for Colab and Binder.

pip resolves requirements.txt and requirements-dev.txt together with the pinned PyTorch (a dry run
that installs nothing and ignores what is installed), and this script writes one ``name==version``
line per package. PyTorch itself and its CUDA companions are left out: ``TORCH_PIN`` chooses the CPU
wheel, and a learner's own CUDA build must be kept. The course's own package is left out too.

    python tools/lock.py [--torch torch==2.13.0]     # from the repository root
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements-lock.txt"
#: Packages the lock never pins: PyTorch's build is the installer's choice (CPU wheel, or a CUDA build).
UNLOCKED = re.compile(r"^(torch|triton|nvidia-.*|cuda-.*|spatialdrop-edu)$")


def canonical(name: str) -> str:
    """A distribution name as PEP 503 normalises it (``Jinja2`` → ``jinja2``, ``ml_dtypes`` → ``ml-dtypes``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve(torch_pin: str) -> dict[str, str]:
    """``{canonical name: version}`` of everything pip would install for the course, from scratch."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--ignore-installed",
                "--quiet",
                "--report",
                str(report),
                torch_pin,
                "-r",
                "requirements.txt",
                "-r",
                "requirements-dev.txt",
            ],
            cwd=ROOT,
            check=True,
        )
        items = json.loads(report.read_text())["install"]
    return {canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in items}


def render(versions: dict[str, str], torch_pin: str) -> str:
    lines = [
        "# Exact versions `make` installs (as pip constraints), so that a fresh clone reproduces the stored outputs.",
        f"# Written by `make lock` (tools/lock.py), resolved with {torch_pin}; PyTorch itself is chosen by TORCH_PIN.",
        "# requirements.txt keeps its ranges for Colab and Binder. Edit neither by hand: change the requirement, then",
        "# run `make lock` and re-execute the notebooks (`make execute`).",
    ]
    lines += [f"{name}=={version}" for name, version in sorted(versions.items()) if not UNLOCKED.match(name)]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch", default="torch==2.13.0", help="the PyTorch requirement to resolve with")
    args = parser.parse_args(argv)
    LOCK.write_text(render(resolve(args.torch), args.torch))
    print(f"wrote {LOCK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
