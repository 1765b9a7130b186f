"""The kernel fingerprint: one digest per operation, stable within a machine, compared line by line between two."""

import os
import subprocess
import sys

import pytest
import torch

from spatialdrop_edu import kernel_fingerprint as kf
from spatialdrop_edu.course.edition.execute import kernel_env


def test_a_digest_names_the_bytes_and_nothing_else():
    a = torch.arange(6, dtype=torch.float32)
    assert kf.digest(a) == kf.digest(a.numpy()) == kf.digest(a.clone())
    b = a.clone()
    b[5] = torch.nextafter(b[5], torch.tensor(6.0))  # one value one ulp away
    assert kf.digest(a) != kf.digest(b)
    assert len(kf.digest(a)) == 16


def test_every_operation_is_named_once_and_repeats_its_digest():
    ops = kf.torch_operations() + kf.data_operations()
    names = [name for name, _ in ops]
    assert len(names) == len(set(names))
    for needed in ("conv1d", "conv2d", "conv_transpose2d", "batch_norm", "linear", "Adam ", "AdamW", "JPEG", "mnist1d"):
        assert any(needed in name for name in names), needed
    for _, compute in ops[:3] + ops[-4:-1]:
        assert compute() == compute()  # a fixed input gives the same bits twice in one process


def test_text_round_trips_and_a_malformed_line_is_named():
    lines = {"conv1d (ch6) threads=1": "0123456789abcdef", "Pillow JPEG q75": "fedcba9876543210"}
    text = kf.format_fingerprint(lines)
    assert text.startswith("# cpu: ") and "# pins: " in text
    assert kf.parse_fingerprint(text) == lines
    with pytest.raises(ValueError, match="fingerprint line 2: expected 'operation  <16 hex digits>'"):
        kf.parse_fingerprint("# header\nconv1d threads=1 xyz\n")


def test_the_check_names_every_differing_operation_in_one_line():
    stored = kf.format_fingerprint({"a threads=1": "0" * 16, "b threads=1": "1" * 16})
    assert "all 2 operations compute the same bits" in kf.check_line(
        stored, {"a threads=1": "0" * 16, "b threads=1": "1" * 16}
    )
    line = kf.check_line(stored, {"a threads=1": "0" * 16, "b threads=1": "2" * 16, "c": "3" * 16})
    assert "\n" not in line and "2 of 3 operations differ" in line and "(b threads=1; c)" in line


def test_the_stored_fingerprint_covers_what_the_tool_computes_today():
    """`make execute` stores the fingerprint of the machine that executed the notebooks: it names the operations
    of today's tool, so that a comparison is line by line and nothing is left uncompared."""
    stored = kf.parse_fingerprint(kf.STORED.read_text())
    expected = [f"{name} threads={n}" for n in kf.THREADS for name, _ in kf.torch_operations()]
    assert list(stored) == expected + [name for name, _ in kf.data_operations()]
    header = kf.STORED.read_text().splitlines()[:3]
    assert "MKL_CBWR=COMPATIBLE" in header[2] and "ATen kernels: avx2" in header[1]


def test_the_command_prints_a_fingerprint_and_checks_one(tmp_path):
    """The command runs in a fresh process under the reproducible mode, as `make fingerprint` runs it."""
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "spatialdrop_edu", "fingerprint", *args],
        env=kernel_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    printed = run()
    assert printed.returncode == 0, printed.stderr
    mine = tmp_path / "mine.txt"
    mine.write_text(printed.stdout)
    assert "compute the same bits" in run("--check", str(mine)).stdout
    lines = printed.stdout.splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.startswith("Adam 5 steps threads=1 ")]
    lines[at] = lines[at][:-16] + "0" * 16
    mine.write_text("\n".join(lines) + "\n")
    checked = run("--check", str(mine), "--strict")
    assert checked.returncode == 1 and "1 of" in checked.stdout and "(Adam 5 steps threads=1)" in checked.stdout


def test_mkl_runs_the_branch_the_mode_names():
    """MKL reads MKL_CBWR when it starts: its own verbose log names the branch every matrix product ran on."""
    code = "import torch; torch.ones(64, 64) @ torch.ones(64, 64)"
    env = {**kernel_env(), "MKL_VERBOSE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert f"CNR:{env['MKL_CBWR']}" in out.stdout, out.stdout[-500:]
    assert os.environ.get("MKL_CBWR", env["MKL_CBWR"]) == env["MKL_CBWR"]  # make unit runs under the mode
