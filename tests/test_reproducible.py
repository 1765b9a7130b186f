"""The reproducible mode: one file of pins, read alike by Make and Python, handed to kernels, recorded as provenance."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from spatialdrop_edu import reproducible
from spatialdrop_edu.course.edition.execute import NOTEBOOK_ENV, kernel_env

ROOT = Path(__file__).resolve().parents[1]
KERNEL_PINS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR", "OMP_NUM_THREADS")


def test_the_pins_name_the_kernel_libraries_and_the_thread_count():
    pins = reproducible.pinned_defaults()
    assert set(KERNEL_PINS) <= set(pins)
    assert pins["ATEN_CPU_CAPABILITY"] == "avx2" and pins["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    # MKL runs a named branch on Intel processors only; COMPATIBLE is the one branch every vendor runs
    assert pins["MKL_CBWR"] == "COMPATIBLE" and pins["OPENBLAS_CORETYPE"] == "Haswell"
    assert int(pins["OMP_NUM_THREADS"]) >= 1 and pins["OMP_NUM_THREADS"] == pins["MKL_NUM_THREADS"]


def test_a_value_set_in_the_environment_wins_and_an_empty_one_does_not():
    env = reproducible.reproducible_env({"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": ""})
    assert env["ATEN_CPU_CAPABILITY"] == "default"
    assert env["MKL_CBWR"] == reproducible.pinned_defaults()["MKL_CBWR"]
    assert set(env) == set(reproducible.pinned_defaults())


def test_a_malformed_line_is_reported_with_its_number(tmp_path, monkeypatch):
    bad = tmp_path / "reproducible.env"
    bad.write_text("# comment\nATEN_CPU_CAPABILITY = avx2\n")
    monkeypatch.setattr(reproducible, "ENV_FILE", bad)
    with pytest.raises(ValueError, match=r"line 2: expected 'NAME \?= value'"):
        reproducible.pinned_defaults()


def test_make_exports_the_same_pins_and_lets_the_environment_win():
    def make_env(**overrides):
        env = {k: v for k, v in os.environ.items() if k not in reproducible.pinned_defaults()}
        out = subprocess.run(
            ["make", "-s", "--no-print-directory", "repro-env", f"PY={sys.executable}"],
            cwd=ROOT,
            env={**env, **overrides},
            capture_output=True,
            text=True,
            check=True,
        )
        return dict(line.split("=", 1) for line in out.stdout.splitlines())

    assert make_env() == reproducible.pinned_defaults()
    assert make_env(ATEN_CPU_CAPABILITY="default")["ATEN_CPU_CAPABILITY"] == "default"


def test_kernels_get_the_course_environment_and_the_pins():
    env = kernel_env({"PATH": "/bin", "ONEDNN_MAX_CPU_ISA": "SSE41"})
    assert env["PATH"] == "/bin"
    assert all(env[k] == v for k, v in NOTEBOOK_ENV.items())
    assert env["ONEDNN_MAX_CPU_ISA"] == "SSE41"  # the user's choice is kept
    assert env["ATEN_CPU_CAPABILITY"] == reproducible.pinned_defaults()["ATEN_CPU_CAPABILITY"]


def test_the_pin_changes_the_kernels_pytorch_dispatches_to():
    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().lower() == "default"


def test_provenance_records_what_ran_a_result():
    record = reproducible.provenance("cpu")
    json.dumps(record)  # stored with every study run
    assert record["device"] == "cpu" and record["device_name"] is None
    assert record["torch"] == torch.__version__
    assert record["cpu_capability"] == torch.backends.cpu.get_cpu_capability().lower()
    assert record["threads"] == torch.get_num_threads()
    assert set(record["pins"]) == set(reproducible.pinned_defaults())
    assert record["cpu"] and record["spatialdrop_edu"]
    assert record["source"] == reproducible.source_digest() and len(record["source"]) == 16
    assert {"commit", "dirty"} <= set(record)


def test_the_code_state_says_whether_the_commit_names_the_code(monkeypatch):
    """A run's commit alone names its code only where the tree was clean: ``dirty`` says which."""

    def git(status):
        return lambda *args: {"rev-parse": "0123456789ab\n", "status": status}[args[0]]

    for status, dirty in ((" M spatialdrop_edu/training/loop.py\n", True), ("", False)):
        monkeypatch.setattr(reproducible, "_git", git(status))
        reproducible.code_state.cache_clear()
        assert reproducible.code_state() == {
            "commit": "0123456789ab",
            "dirty": dirty,
            "source": reproducible.source_digest(),
        }
    monkeypatch.setattr(reproducible, "_git", lambda *args: None)  # an installed package: no checkout
    reproducible.code_state.cache_clear()
    assert reproducible.code_state()["commit"] is None and reproducible.code_state()["dirty"] is None
    reproducible.code_state.cache_clear()


def test_the_shipped_results_are_not_part_of_the_code():
    """A study appends to spatialdrop_edu/results/ while it runs: that must not make its own tree dirty."""
    assert ":(exclude)spatialdrop_edu/results" in reproducible.CODE_PATHS
    assert {"spatialdrop_edu", "book"} <= set(reproducible.CODE_PATHS)
