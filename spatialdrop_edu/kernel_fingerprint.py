"""One digest per operation the course computes with, so that two machines can be compared line by line.

A training run turns a last-bit difference of one kernel into different numbers a few epochs later, so
"this machine does not reproduce the stored outputs" says nothing about *which* kernel differs. The
fingerprint does: every operation the chapters train and measure with (convolutions forward and
backward, BatchNorm, Linear, Adam and AdamW steps, MKL's vector math, the random generators, and the
data pipelines' NumPy, SciPy, Pillow and MNIST-1D calls) runs on fixed inputs, and each result's bytes
are hashed. Two machines agree on a line exactly when that kernel computed the same bits.

Run it in a fresh process under the reproducible mode (the variables are read when the libraries
load): ``make fingerprint`` prints it, ``make fingerprint-check`` compares it with
:data:`STORED`, the fingerprint of the machine that executed the course's stored outputs, and names
every operation that differs.

Examples::

    >>> lines = parse_fingerprint("# header\\nconv1d x threads=1  0123456789abcdef")
    >>> lines
    {'conv1d x threads=1': '0123456789abcdef'}
    >>> differences(lines, {'conv1d x threads=1': 'fedcba9876543210'})
    ['conv1d x threads=1']
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np

#: The fingerprint of the machine that executed the stored outputs, under the reproducible mode.
STORED = Path(__file__).with_name("reproducible.fingerprint")
#: Thread counts the course runs with, one per study worker and two in the notebooks' kernels.
THREADS = (1, 2)

__all__ = [
    "STORED",
    "THREADS",
    "digest",
    "torch_operations",
    "data_operations",
    "fingerprint",
    "format_fingerprint",
    "parse_fingerprint",
    "differences",
    "check_line",
]


def digest(*arrays) -> str:
    """The first 16 hex digits of the SHA-256 of the arrays' bytes (tensors are moved to the CPU first)."""
    h = hashlib.sha256()
    for a in arrays:
        if hasattr(a, "detach"):
            a = a.detach().cpu().contiguous().numpy()
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _randn(*shape, seed):
    import torch

    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _with_grad(fn, *inputs):
    """Forward output, then the gradient of every input, for a fixed upstream gradient."""
    xs = [x.clone().requires_grad_(True) for x in inputs]
    out = fn(*xs)
    out.backward(_randn(*out.shape, seed=99))
    return digest(out, *[x.grad for x in xs])


def _optimizer_steps(name):
    import torch

    p = torch.nn.Parameter(_randn(1000, seed=23))
    opt = getattr(torch.optim, name)([p], lr=3e-3, weight_decay=1e-2)
    for i in range(5):
        opt.zero_grad()
        (p * _randn(1000, seed=30 + i)).sum().backward()
        opt.step()
    return digest(p)


def torch_operations():
    """``(name, function)`` pairs: PyTorch's operations at the shapes chapters 6 to 8 train with."""
    import torch
    import torch.nn.functional as F

    def conv(f, x, w, **kw):
        return lambda: _with_grad(lambda a, b: f(a, b, **kw), _randn(*x, seed=1), _randn(*w, seed=2))

    def bn(shape):
        c = shape[1]
        return lambda: _with_grad(
            lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
            _randn(*shape, seed=9),
            _randn(c, seed=10),
            _randn(c, seed=11),
        )

    positive = _randn(100_000, seed=25).abs() + 1e-3
    return [
        ("conv1d 100x32x40 k5 (ch6)", conv(F.conv1d, (100, 32, 40), (32, 32, 5), padding=2)),
        ("conv1d 100x1x40 k5 first layer (ch6)", conv(F.conv1d, (100, 1, 40), (32, 1, 5), padding=2)),
        ("conv2d 15x1x16x16 k3 first layer (ch7)", conv(F.conv2d, (15, 1, 16, 16), (16, 1, 3, 3), padding=1)),
        ("conv2d 15x16x8x8 k3 (ch7)", conv(F.conv2d, (15, 16, 8, 8), (32, 16, 3, 3), padding=1)),
        ("conv2d 32x8x16x16 k3 (ch8)", conv(F.conv2d, (32, 8, 16, 16), (8, 8, 3, 3), padding=1)),
        ("conv2d 16x32x32x32 k3", conv(F.conv2d, (16, 32, 32, 32), (32, 32, 3, 3), padding=1)),
        ("conv_transpose2d 32x32x4x4 k2 s2 (ch8)", conv(F.conv_transpose2d, (32, 32, 4, 4), (32, 16, 2, 2), stride=2)),
        ("conv_transpose2d 16x64x8x8 k2 s2", conv(F.conv_transpose2d, (16, 64, 8, 8), (64, 32, 2, 2), stride=2)),
        ("batch_norm2d train 32x8x16x16 (ch8)", bn((32, 8, 16, 16))),
        ("batch_norm1d train 100x32x40", bn((100, 32, 40))),
        ("linear 100x1280 -> 10 (ch6)", conv(F.linear, (100, 1280), (10, 1280))),
        ("linear 15x64 -> 3 (ch7)", conv(F.linear, (15, 64), (3, 64))),
        ("linear 15x512 -> 128", conv(F.linear, (15, 512), (128, 512))),
        ("max_pool2d 16x32x32x32", lambda: _with_grad(lambda x: F.max_pool2d(x, 2), _randn(16, 32, 32, 32, seed=14))),
        (
            "relu + cross_entropy 100x10",
            lambda: _with_grad(
                lambda x: F.cross_entropy(F.relu(x), torch.arange(100) % 10).reshape(1), _randn(100, 10, seed=15)
            ),
        ),
        ("matmul 256x256", lambda: digest(_randn(256, 256, seed=19) @ _randn(256, 256, seed=20))),
        ("sum / mean 1e6", lambda: digest(_randn(1_000_000, seed=18).sum(), _randn(1_000_000, seed=18).mean())),
        ("exp 1e5 (MKL vector math)", lambda: digest(torch.exp(_randn(100_000, seed=24)))),
        ("log 1e5 (MKL vector math)", lambda: digest(torch.log(positive))),
        ("tanh 1e5 (MKL vector math)", lambda: digest(torch.tanh(_randn(100_000, seed=26)))),
        ("sqrt 1e5 (MKL vector math)", lambda: digest(torch.sqrt(positive))),
        ("randn with generator", lambda: digest(_randn(1000, 100, seed=22))),
        (
            "bernoulli_ with generator",
            lambda: digest(torch.empty(1000, 100).bernoulli_(0.7, generator=torch.Generator().manual_seed(21))),
        ),
        ("Adam 5 steps", lambda: _optimizer_steps("Adam")),
        ("AdamW 5 steps", lambda: _optimizer_steps("AdamW")),
    ]


def data_operations():
    """``(name, function)`` pairs: the NumPy, SciPy, Pillow and MNIST-1D calls of the data pipelines."""
    import scipy.ndimage as ndi
    from PIL import Image

    from .photos import PHOTOS, load_photo

    a = np.random.default_rng(0).standard_normal((256, 256))

    def jpeg():
        buffer = io.BytesIO()
        Image.fromarray((np.clip(a, -3, 3) * 40 + 128).astype(np.uint8)).save(buffer, format="JPEG", quality=75)
        buffer.seek(0)
        return digest(np.asarray(Image.open(buffer)))

    def mnist1d():
        from .training.data import _mnist1d_arrays

        return digest(*_mnist1d_arrays(42))

    return [
        ("numpy rfft2 256x256", lambda: digest(np.fft.rfft2(a))),
        ("numpy matmul float64 256", lambda: digest(a @ a.T)),
        ("numpy matmul float32 256 (OpenBLAS)", lambda: digest(a.astype(np.float32) @ a.T.astype(np.float32))),
        ("numpy sum / exp / log float64", lambda: digest(np.array([a.sum()]), np.exp(a), np.log(np.abs(a) + 1))),
        ("scipy.ndimage.correlate 3x3", lambda: digest(ndi.correlate(a, np.ones((3, 3)) / 8.0, mode="constant"))),
        ("scipy.ndimage.gaussian_filter 1.0", lambda: digest(ndi.gaussian_filter(a, 1.0))),
        ("Pillow JPEG q75 round trip 256x256", jpeg),
        ("photos: every bundled photograph", lambda: digest(*(load_photo(name) for name in PHOTOS))),
        ("mnist1d make_dataset (ch6 data)", mnist1d),
    ]


def fingerprint(threads=THREADS) -> dict[str, str]:
    """``{operation: digest}`` for every PyTorch operation at each thread count, then the data pipelines'.

    Args:
        threads: the PyTorch thread counts to run the PyTorch operations under.

    Returns:
        An ordered ``dict``; PyTorch's keys end in ``threads=N``.
    """
    import torch

    before = torch.get_num_threads()
    lines = {}
    try:
        for n in threads:
            torch.set_num_threads(n)
            for name, compute in torch_operations():
                lines[f"{name} threads={n}"] = compute()
    finally:
        torch.set_num_threads(before)
    for name, compute in data_operations():
        lines[name] = compute()
    return lines


def _header() -> list[str]:
    import platform

    import torch

    from .reproducible import cpu_model, pins_in_effect

    pins = " ".join(f"{k}={v}" for k, v in pins_in_effect().items())
    return [
        f"# cpu: {cpu_model()}; {platform.machine()}; torch {torch.__version__}; numpy {np.__version__}",
        f"# ATen kernels: {torch.backends.cpu.get_cpu_capability().lower()}; oneDNN: "
        f"{'on' if torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled else 'off'}",
        f"# pins: {pins}",
    ]


def format_fingerprint(lines: dict[str, str]) -> str:
    """The fingerprint as text: a commented header (processor, versions, pins), then ``operation  digest`` lines."""
    width = max(map(len, lines), default=0)
    return "\n".join([*_header(), *(f"{name:<{width}}  {value}" for name, value in lines.items())]) + "\n"


def parse_fingerprint(text: str) -> dict[str, str]:
    """``{operation: digest}`` from the text :func:`format_fingerprint` wrote; ``#`` lines are skipped.

    Raises:
        ValueError: a line is not ``operation  digest`` (16 hex digits), naming the line.
    """
    lines = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        name, _, value = line.rstrip().rpartition(" ")
        if not name.strip() or len(value) != 16 or any(c not in "0123456789abcdef" for c in value):
            raise ValueError(f"fingerprint line {number}: expected 'operation  <16 hex digits>', got {line!r}.")
        lines[name.strip()] = value
    return lines


def differences(stored: dict[str, str], here: dict[str, str]) -> list[str]:
    """The operations whose digests differ, in the stored order; an operation only one side has counts too."""
    return [name for name in dict.fromkeys([*stored, *here]) if stored.get(name) != here.get(name)]


def check_line(stored_text: str, here: dict[str, str]) -> str:
    """One line: the machine agrees with the stored fingerprint, or which operations differ (and what follows)."""
    differing = differences(parse_fingerprint(stored_text), here)
    if not differing:
        return (
            f"kernel fingerprint: all {len(here)} operations compute the same bits as the machine that executed "
            "the stored outputs."
        )
    shown = "; ".join(differing[:6]) + (f"; and {len(differing) - 6} more" if len(differing) > 6 else "")
    return (
        f"kernel fingerprint: {len(differing)} of {len(here)} operations differ from the machine that executed the "
        f"stored outputs ({shown}): stored outputs that depend on them will not reproduce bit for bit here; "
        "every claim is still checked (make notebooks-lax)."
    )
