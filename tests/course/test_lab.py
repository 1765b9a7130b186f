"""`make lab`: the command a learner runs starts a JupyterLab server that serves the chapters, trusted."""

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JUPYTER = ROOT / ".venv" / "bin" / "jupyter"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not (JUPYTER.parent / "jupyter-lab").exists(), reason="JupyterLab is not installed in .venv (make)")
def test_make_lab_serves_a_trusted_chapter(tmp_path):
    port, token = free_port(), "course-test-token"
    env = {**os.environ, "JUPYTER_DATA_DIR": str(tmp_path / "data"), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "HOME": str(tmp_path)}
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token} --ServerApp.port_retries=0"
    server = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/api/contents/01_dropout.ipynb?token={token}"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    model = json.load(response)
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode(errors="replace")[-2000:]
                assert time.monotonic() < deadline, "JupyterLab did not answer within 90 s"
                time.sleep(1)
        assert model["type"] == "notebook" and model["content"]["cells"]
        assert model["content"]["cells"][0]["source"].startswith("# Dropout")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab/tree/01_dropout.ipynb?token={token}", timeout=10) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
        # trusted: the server reports the signature it checked when it opened the notebook
        with urllib.request.urlopen(url + "&content=1", timeout=10) as r:
            code = [c for c in json.load(r)["content"]["cells"] if c["cell_type"] == "code"]
        assert code and all(c["metadata"].get("trusted") is True for c in code)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, 15)
        print(server.communicate(timeout=30)[0].decode(errors="replace")[-3000:])
