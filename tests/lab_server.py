"""Start the course's JupyterLab exactly as a learner does, ``make lab``, for the tests that talk to it.

The server runs with the virtual environment of the Python running the tests, a private Jupyter
configuration, data and runtime folder and ``HOME`` (so nothing of the user's own JupyterLab set-up
leaks in or is changed), and its working copy in the test's temporary folder. ``make`` is told not
to remake the install stamp: a test never installs packages.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)
HAS_JUPYTERLAB = (VENV / "bin" / "jupyter-lab").exists()


@dataclass
class LabServer:
    url: str  # http://127.0.0.1:<port>/
    token: str
    home: Path  # HOME, JUPYTER_CONFIG_DIR and JUPYTER_DATA_DIR live under it
    log: Path  # everything `make lab` printed

    def api(self, path: str, method: str = "GET", body=None):
        """JSON from the server's REST API (``path`` without the leading slash)."""
        sep = "&" if "?" in path else "?"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}{sep}token={self.token}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None

    def page(self, path: str) -> str:
        """The text of a page of the server (``path`` without the leading slash), e.g. JupyterLab's ``lab``."""
        with urllib.request.urlopen(f"{self.url}{path}?token={self.token}", timeout=30) as response:
            return response.read().decode()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def private_jupyter_env(home: Path) -> dict[str, str]:
    """The environment of a JupyterLab whose configuration, data, runtime files and HOME are under ``home``."""
    return {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }


@contextmanager
def make_lab(tmp_path: Path, lab_dir: Path, *, user_settings: dict | None = None, timeout: float = 120, **make_vars):
    """Run ``make lab`` with ``LAB_DIR=lab_dir`` (and ``make_vars``) until the context ends; yield a :class:`LabServer`.

    ``user_settings`` ({plugin id: settings}) are written as the learner's own JupyterLab settings first.
    """
    home = tmp_path / "home"
    for plugin, values in (user_settings or {}).items():
        package, name = plugin.rsplit(":", 1)
        path = home / "config" / "lab" / "user-settings" / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    home.mkdir(exist_ok=True)
    port, token = _free_port(), "course-test-token"
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token} --ServerApp.port_retries=0"
    command = [
        "make",
        "--no-print-directory",
        "-o",
        f"{VENV}/.installed",
        "lab",
        f"VENV={VENV}",
        f"LAB_DIR={lab_dir}",
        f"LAB_ARGS={args}",
        *(f"{k}={v}" for k, v in make_vars.items()),
    ]
    log = tmp_path / "make-lab.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=private_jupyter_env(home),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    lab = LabServer(f"http://127.0.0.1:{port}/", token, home, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                lab.api("api/status")
                break
            except OSError:
                assert server.poll() is None, f"make lab exited with {server.returncode}:\n{lab.tail()}"
                assert time.monotonic() < deadline, f"JupyterLab did not answer within {timeout:g} s:\n{lab.tail()}"
                time.sleep(1)
        yield lab
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)
