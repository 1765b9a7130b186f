"""A chapter as Colab meets it: the package installed from its wheel (not this checkout), the notebook alone in an
empty folder, no network. It runs top to bottom, and every training chapter's full-scale section finds the study
shipped in the wheel.

Offline, a fresh virtual environment cannot download PyTorch and the rest: it sees this environment's installed
packages through a ``.pth`` file (the way ``--system-site-packages`` would show a system's), but not this
checkout, whose editable install is a ``.pth`` of its own that a path in a ``.pth`` file does not run. The
wheel's requirements, extras ``[keras,data]`` included, must be satisfied there. The chapter run is chapter 1, the
cheapest (seconds: a cell still running after two minutes has hung, and fails; the training chapters' own runs are
nbval's); each training chapter's full-scale section is then asked, in the same environment, what it would show: the
call its notebook makes (``full_results``), the shipped study's ``meta.json`` and its run count. Marked ``slow``:
CI runs it (``make unit`` selects every test), ``-m "not slow"`` leaves it out while developing.
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
CHAPTER = "01_dropout"
#: The chapters with a full study shipped in the package, and the call their full-scale section makes.
TRAINING = tuple(sorted(p.parent.name for p in (ROOT / "spatialdrop_edu" / "results").glob("*/study.jsonl")))
FULL_SECTION_CALL = "T.read_full_study(CHAPTER)"
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
from spatialdrop_edu.course.edition.execute import execute_notebook
nbformat.write(execute_notebook("{CHAPTER}.ipynb", timeout=120), "executed.ipynb")
"""

# What each training chapter's full-scale section finds, asked in the wheel's environment from an empty folder.
FULL_STUDIES = f"""
import json
from spatialdrop_edu import training as T
for CHAPTER in {TRAINING!r}:
    full = {FULL_SECTION_CALL}
    runs = len(full.records["study"])
    print(json.dumps({{"chapter": CHAPTER, "folder": str(full.folder), "meta_runs": full.meta["runs"], "runs": runs}}))
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
        "spatialdrop_edu/course/lab/settings/overrides.json5",
        "spatialdrop_edu/course/lab/data/kernels/python3/kernel.json",
        "spatialdrop_edu/course/lab/data/labextensions/spatialdrop-edu-lab/package.json",
        "spatialdrop_edu/course/lab/data/labextensions/spatialdrop-edu-lab/static/remoteEntry.js",
        "spatialdrop_edu/results/06_train_mnist1d/readme_protocol.jsonl",
        *(f"spatialdrop_edu/results/{chapter}/{name}" for chapter in TRAINING for name in ("study.jsonl", "meta.json")),
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
    assert not [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    where = next(t for t in text.values() if t.startswith("WHERE")).split()
    assert Path(where[1]).is_relative_to(purelib) and Path(where[2]) == venv  # the wheel's package, not ours

    # Each training chapter's full-scale section, in that environment: the shipped study, whole, from the wheel.
    for chapter in TRAINING:
        source = "".join(c.source for c in nbformat.read(ROOT / "book" / f"{chapter}.ipynb", as_version=4).cells)
        assert FULL_SECTION_CALL in source, f"{chapter}: its full-scale section no longer calls {FULL_SECTION_CALL}"
    found = [json.loads(line) for line in run([python, "-c", FULL_STUDIES], cwd=alone, env=env).splitlines()]
    assert len(TRAINING) == 4 and [f["chapter"] for f in found] == list(TRAINING)
    for f in found:
        assert Path(f["folder"]).is_relative_to(purelib / "spatialdrop_edu" / "results"), f
        shipped = ROOT / "spatialdrop_edu" / "results" / f["chapter"]
        assert f["runs"] == f["meta_runs"] == json.loads((shipped / "meta.json").read_text())["runs"], f
    assert not (alone / "results").exists()  # no full run of its own
