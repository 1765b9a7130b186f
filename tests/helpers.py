"""Helpers the test files share: a checker's failure, a dropout layer with its own coins, a figure's titled panels.

(Bounds derived from distributions are in ``stats.py``; the instructor notebook of the course tools' tests in
``exercise_fixtures.py``.) pytest's ``pythonpath`` setting puts ``tests/`` on the path: ``from helpers import ...``.
"""

import numpy as np
import pytest
import torch
from torch import nn

from spatialdrop_edu.checks import ExerciseFailure
from spatialdrop_edu.checks._harness import PAGE_WIDTH

#: A denoising run small enough for a unit test: two photos, a few dozen 16 x 16 patches, two epochs, 4 channels.
SMALL_DENOISING = dict(
    photos=["camera", "coffee"],
    patch=16,
    stride=16,
    max_train=48,
    max_val=16,
    max_test=24,
    epochs=2,
    batch_size=16,
    channels=4,
)


def fails_with(check, answer, *fragments) -> str:
    """Run a checker on a wrong ``answer``: it must raise ``ExerciseFailure`` whose message holds every fragment."""
    with pytest.raises(ExerciseFailure) as info:
        check(answer)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


class OwnCoins(nn.Module):
    """A correct spatial dropout (one coin per sample and channel) drawing its coins from its own generator.

    A learner's layer need not share PyTorch's global random stream: the checkers must accept it.
    """

    def __init__(self, p: float, generator: torch.Generator):
        super().__init__()
        self.p, self.generator = p, generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        shape = x.shape[:2] + (1,) * (x.dim() - 2)
        keep = (torch.rand(shape, generator=self.generator) >= self.p).to(x.dtype)
        return x * keep / (1 - self.p)


def titled_axes(fig) -> list:
    """The panels of a figure that carry a title (colour bars and empty axes do not)."""
    return [ax for ax in fig.axes if ax.get_title()]


def passes(check, *answers, capsys) -> None:
    """Every answer passes the checker, which returns ``None`` and prints one message starting ``Correct:`` for
    each, wrapped to fit the website's page (:data:`~spatialdrop_edu.checks._harness.PAGE_WIDTH` columns)."""
    for answer in answers:
        assert check(answer) is None
    out = capsys.readouterr().out.strip()
    assert out.count("Correct:") == len(answers) and out.startswith("Correct:"), out
    assert all(len(line) <= PAGE_WIDTH for line in out.splitlines()), out


def seed_extremes_reproduce(widget, seed, key: str) -> None:
    """The ``seed`` slider at 99, at 0, at 99 again: ``widget.result[key]`` comes back, and differs between the two."""
    seed.value = 99
    first = widget.result[key].copy()
    seed.value = 0
    other = widget.result[key].copy()
    seed.value = 99
    assert np.array_equal(widget.result[key], first) and not np.array_equal(other, first)


#: What a process computes under the reproducible mode, printed as one JSON line: the mode's variables as it sees
#: them, ATen's kernels, and a digest of one result of MKL (a Linear layer) and one of OpenBLAS (NumPy's float32
#: matrix product), whose code the mode chooses. Self-contained, so that it also runs inside the grading sandbox.
MODE_PROBE = r"""
import json
import numpy as np
import torch
from spatialdrop_edu.kernel_fingerprint import digest
from spatialdrop_edu.reproducible import pins_in_effect
torch.set_num_threads(1)
g = torch.Generator().manual_seed(0)
x, w = torch.randn(100, 1280, generator=g), torch.randn(10, 1280, generator=g)
a = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
print(json.dumps({"pins": pins_in_effect(), "aten": torch.backends.cpu.get_cpu_capability().lower(),
                  "mkl": digest(torch.nn.functional.linear(x, w)), "openblas": digest(a @ a.T)}))
"""


def mode_seen_by_a_fresh_process(environ) -> dict:
    """:data:`MODE_PROBE` run by a new Python started with ``environ``."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", MODE_PROBE], env=environ, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def mode_probe_run(config, seed) -> dict:
    """:data:`MODE_PROBE` as a study's run (``run(config, seed)``), in the process that runs it."""
    import contextlib
    import io
    import json

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(MODE_PROBE, {})
    return json.loads(printed.getvalue())
