"""A chapter as Colab meets it: the package installed from its wheel (not this checkout), the notebook alone in an
empty folder, no network. It runs top to bottom, and its full-scale section shows the study shipped in the wheel.

Offline, a fresh virtual environment cannot download PyTorch and the rest: it sees this environment's installed
packages through a ``.pth`` file (the way ``--system-site-packages`` would show a system's), but not this
checkout, whose editable install is a ``.pth`` of its own that a path in a ``.pth`` file does not run. The
wheel's requirements, extras ``[keras,data]`` included, must be satisfied there. Chapter 7 is the cheapest
chapter to run (about a minute on two cores); this is the one slow test, marked ``slow``: CI runs it (``make
unit`` selects every test), ``-m "not slow"`` leaves it out while developing.
"""

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = "07_train_images"
OFFLINE = {name: "http://127.0.0.1:9" for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}

CHECK_REQUIREMENTS = """
from importlib.metadata import requires, version
from packaging.requirements import Requirement
missing = []
for req in map(Requirement, requires("spatialdrop-edu")):
    if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("keras", "data")):
        if not req.specifier.contains(version(req.name), prereleases=True):
            missing.append(str(req))
print(missing)
assert not missing, missing
"""

WHERE = """import spatialdrop_edu, sys
print("WHERE", spatialdrop_edu.__file__, sys.prefix)"""

EXECUTE = f"""
import nbformat
from spatialdrop_edu.course.execute import execute_notebook
nbformat.write(execute_notebook("{CHAPTER}.ipynb", timeout=900), "executed.ipynb")
"""


def run(cmd, **kwargs):
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.slow
def test_a_chapter_alone_with_the_installed_wheel_shows_the_shipped_study(tmp_path):
    # The wheel, built from a copy of the sources: nothing is written into the checkout.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "spatialdrop_edu", src / "spatialdrop_edu", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(src),
        ]
    )
    wheel = next((tmp_path / "dist").glob("spatialdrop_edu-*.whl"))
    with zipfile.ZipFile(wheel) as archive:  # the package data a learner's install needs
        names = set(archive.namelist())
    assert {
        "spatialdrop_edu/reproducible.env",
        "spatialdrop_edu/course/lab_settings/overrides.json5",
        f"spatialdrop_edu/results/{CHAPTER}/study.jsonl",
        "spatialdrop_edu/results/06_train_mnist1d/readme_protocol.jsonl",
    } <= names

    # A fresh environment that sees this one's packages, and installs the wheel into itself.
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = str(venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
    purelib = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    (purelib / "_this_environment.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SPATIALDROP_RESULTS")}
    env.update(
        OFFLINE,
        HOME=str(tmp_path / "home"),
        SPATIALDROP_CACHE=str(tmp_path / "cache"),
        MPLCONFIGDIR=str(tmp_path / "mpl"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter"),
    )
    run(
        [python, "-m", "pip", "install", "--no-index", "--no-deps", "--force-reinstall", "-q", f"{wheel}[keras,data]"],
        env=env,
    )
    run([python, "-c", CHECK_REQUIREMENTS], env=env)

    # The chapter alone in an empty folder, with one last cell that says which package it used.
    alone = tmp_path / "alone"
    alone.mkdir()
    nb = nbformat.read(ROOT / "book" / f"{CHAPTER}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(WHERE))
    nbformat.write(nb, alone / f"{CHAPTER}.ipynb")
    run([python, "-c", EXECUTE], cwd=alone, env=env)

    executed = nbformat.read(alone / "executed.ipynb", as_version=4)
    text = {
        i: "".join(o.get("text", "") for o in c.get("outputs", []))
        for i, c in enumerate(executed.cells)
        if c.cell_type == "code"
    }
    where = next(t for t in text.values() if t.startswith("WHERE")).split()
    assert Path(where[1]).is_relative_to(purelib) and Path(where[2]) == venv  # the wheel's package, not ours
    meta = json.loads((purelib / "spatialdrop_edu" / "results" / CHAPTER / "meta.json").read_text())
    full = [t for t in text.values() if t.startswith("full study:")]
    assert full and f"full study: {meta['runs']} runs" in full[0], text
    assert not any("No full-scale results" in t for t in text.values())
    assert not (alone / "results").exists()  # no full run of its own
    assert list((tmp_path / "cache" / "studies" / CHAPTER).glob("*/study.jsonl"))  # the small study, cached
