"""What dropout costs: time and extra memory of each layer, measured against the references users know.

Every comparison here is *measured in one run*: the contenders for one operation run interleaved,
round after round, with the order reversed every other round, so that a drift in the machine's
speed hits all of them alike; the median over rounds is reported, and ratios are taken round by
round against the fastest reference. Memory is measured too, not estimated: :func:`peak_extra_bytes`
records every tensor PyTorch allocates during a call and when it is freed.

The contenders of each operation (:func:`contenders`):

* this package's layer (``ours``);
* PyTorch's own layer where there is one (``torch.nn.Dropout``, ``Dropout1d/2d/3d``);
* for DropBlock, a direct transcription of the paper's Algorithm 1 (:func:`dropblock_paper`), and
  ``torchvision.ops.drop_block2d`` and timm's ``DropBlock2d`` wherever they can be imported;
* a naive implementation that builds the mask at the input's full size (``naive``), as a textbook would.
"""

from __future__ import annotations

import statistics
import time
import weakref

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from .._validation import check_choice, check_positive_int, check_probability

#: Operations that can be compared, with the number of spatial axes of their input.
OPERATIONS = {"Dropout": 2, "SpatialDropout1d": 1, "SpatialDropout2d": 2, "SpatialDropout3d": 3, "DropBlock2d": 2}
#: What is timed, the forward pass alone or the forward and backward passes.
MODES = ("forward", "forward+backward")
#: Block size of the DropBlock comparisons.
BLOCK_SIZE = 7


def naive_dropout(x: torch.Tensor, p: float, spatial: bool = False) -> torch.Tensor:
    """Dropout as a textbook writes it: a mask of the input's full size, then ``x * mask / (1 - p)``.

    With ``spatial=True`` the coins are drawn per (sample, channel) but the mask is still expanded
    to the full size before the multiply: the cost the small noise shape avoids.
    """
    if spatial:
        coins = torch.rand(x.shape[:2] + (1,) * (x.dim() - 2), device=x.device) >= p
        mask = coins.to(x.dtype).expand(x.shape).contiguous()
    else:
        mask = (torch.rand_like(x) >= p).to(x.dtype)
    return x * mask / (1.0 - p)


def dropblock_paper(x: torch.Tensor, p: float, block_size: int = BLOCK_SIZE) -> torch.Tensor:
    """DropBlock transcribed line by line from Algorithm 1 of Ghiasi et al. (2018), for a square block on (N, C, H, W).

    gamma from the paper's formula (with H and W for feat_size squared); seeds sampled in the
    region where a whole block fits, padded to the map; blocks grown by a max-pool; the kept
    units rescaled by count / count_ones.
    """
    n, c, h, w = x.shape
    gamma = p / block_size**2 * (h * w) / ((h - block_size + 1) * (w - block_size + 1))
    seeds = torch.bernoulli(torch.full((n, c, h - block_size + 1, w - block_size + 1), gamma, device=x.device))
    seeds = F.pad(seeds, [block_size // 2, (block_size - 1) // 2] * 2)  # centre the valid region
    mask = 1.0 - F.max_pool2d(seeds, kernel_size=block_size, stride=1, padding=block_size // 2)[..., :h, :w]
    return x * mask.to(x.dtype) * (mask.numel() / mask.sum().clamp_min(1.0))


def optional_references(operation: str) -> tuple[dict, dict]:
    """DropBlock implementations from other packages: ``(contenders, {name: reason it was skipped})``.

    ``torchvision.ops.drop_block2d`` and timm's ``DropBlock2d`` are tried; where they cannot be
    imported (e.g. next to a CPU build of PyTorch for which the registry has no matching
    torchvision), the reason is returned instead.
    """
    found, skipped = {}, {}
    if operation != "DropBlock2d":
        return found, skipped
    try:
        from torchvision.ops import drop_block2d

        found["torchvision"] = lambda x, p: drop_block2d(x, p, BLOCK_SIZE, inplace=False, training=True)
    except Exception as error:  # ImportError, or a torchvision whose compiled operators do not match torch
        skipped["torchvision"] = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
    try:
        from timm.layers import DropBlock2d as TimmDropBlock2d

        found["timm"] = lambda x, p: TimmDropBlock2d(p, BLOCK_SIZE).train()(x)
    except Exception as error:
        skipped["timm"] = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
    return found, skipped


def contenders(operation: str, p: float) -> tuple[dict, list[str], dict]:
    """The implementations of one operation: ``(name -> fn(x), names of the references, skipped references)``.

    ``ours`` is always first; the references are what a user would otherwise call.

    Examples::

        >>> fns, refs, _ = contenders("SpatialDropout2d", 0.3)
        >>> list(fns), refs
        (['ours', 'torch.nn.Dropout2d', 'naive'], ['torch.nn.Dropout2d'])
    """
    import spatialdrop_edu as sde

    check_choice(operation, tuple(OPERATIONS), "operation")
    p = check_probability(p)
    skipped: dict = {}
    if operation == "Dropout":
        ours, native = sde.Dropout(p), torch.nn.Dropout(p)
        fns = {"ours": ours, "torch.nn.Dropout": native, "naive": lambda x: naive_dropout(x, p)}
        refs = ["torch.nn.Dropout"]
    elif operation.startswith("SpatialDropout"):
        dims = OPERATIONS[operation]
        native_name = f"torch.nn.Dropout{dims}d"
        ours = getattr(sde, operation)(p)
        native = getattr(torch.nn, f"Dropout{dims}d")(p)
        fns = {"ours": ours, native_name: native, "naive": lambda x: naive_dropout(x, p, spatial=True)}
        refs = [native_name]
    else:
        ours = sde.DropBlock2d(p, BLOCK_SIZE)
        fns = {"ours": ours, "paper (Algorithm 1)": lambda x: dropblock_paper(x, p, BLOCK_SIZE)}
        found, skipped = optional_references(operation)
        fns.update({name: (lambda f: lambda x: f(x, p))(f) for name, f in found.items()})
        fns["naive"] = lambda x: naive_dropout(x, p)
        refs = [name for name in fns if name not in ("ours", "naive")]
    for fn in fns.values():
        if isinstance(fn, torch.nn.Module):
            fn.train()
    return fns, refs, skipped


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_once(fn, x: torch.Tensor, mode: str, grad: torch.Tensor | None = None) -> float:
    """Seconds of one call of ``fn(x)`` (and its backward pass for ``"forward+backward"``)."""
    _synchronize(x.device)
    start = time.perf_counter()
    if mode == "forward":
        with torch.no_grad():
            fn(x)
    else:
        x.grad = None
        fn(x).backward(grad)
    _synchronize(x.device)
    return time.perf_counter() - start


def time_interleaved(fns: dict, x: torch.Tensor, mode: str, rounds: int, warmup: int = 2) -> dict[str, list[float]]:
    """Time every function on the same input, interleaved: one call each per round, the order reversed every other round.

    Returns:
        ``{name: [seconds of each round]}``.
    """
    check_choice(mode, MODES, "mode")
    rounds = check_positive_int(rounds, "rounds")
    x = x.detach().requires_grad_(mode == "forward+backward")
    grad = torch.randn_like(x) if mode == "forward+backward" else None
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            time_once(fns[name], x, mode, grad)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            times[name].append(time_once(fns[name], x, mode, grad))
    return times


class _AllocationTracker(TorchDispatchMode):
    """Follows every storage an operation allocates until it is freed: bytes alive now and at the peak."""

    def __init__(self):
        super().__init__()
        self.alive: dict[int, int] = {}
        self.now = self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                key = storage.data_ptr()
                if key and key not in self.alive:
                    self.alive[key] = storage.nbytes()
                    self.now += storage.nbytes()
                    self.peak = max(self.peak, self.now)
                    weakref.finalize(storage, self._free, key)
        return out

    def _free(self, key: int) -> None:
        self.now -= self.alive.pop(key, 0)


def peak_extra_bytes(fn, x: torch.Tensor, mode: str = "forward") -> int:
    """Measured peak of memory allocated during ``fn(x)`` (and backward), beyond the output itself.

    Every tensor storage created by an operation is counted from its allocation until it is
    freed; the output (which any layer must allocate) and, for ``"forward+backward"``, the input's
    gradient (same size, same for every layer) are subtracted. So a spatial mask of ``N*C``
    values shows up as ``4*N*C`` bytes in float32, a full-size mask as the input's size.

    Examples::

        >>> import spatialdrop_edu as sde
        >>> x = torch.ones(8, 16, 32, 32)
        >>> peak_extra_bytes(sde.SpatialDropout2d(0.5), x)   # one float per (sample, channel)
        512
    """
    check_choice(mode, MODES, "mode")
    x = x.detach().requires_grad_(mode == "forward+backward")
    grad = torch.ones_like(x) if mode == "forward+backward" else None
    tracker = _AllocationTracker()
    with tracker:
        out = fn(x)
        out_bytes = out.untyped_storage().nbytes()
        if grad is not None:
            out.backward(grad)
    extra = tracker.peak - out_bytes - (x.grad.untyped_storage().nbytes() if grad is not None else 0)
    return max(int(extra), 0)


def compare(operation: str, shape, p: float = 0.3, mode: str = "forward+backward", rounds: int = 20,
            device=None, memory: bool = True) -> dict:
    """Time (and measure the memory of) every contender of one operation at one input shape.

    Returns:
        A dict with ``"operation"``, ``"shape"``, ``"mode"``, ``"device"``, ``"ms"`` (median ms per
        contender), ``"ratio"`` (median over rounds of each contender's time over the fastest
        reference's time in the same round), ``"fastest_reference"``, ``"extra_bytes"`` (per
        contender, on the CPU) and ``"skipped"`` (references that could not be imported, and why).
    """
    device = torch.device("cpu" if device is None else device)
    fns, refs, skipped = contenders(operation, p)
    for fn in fns.values():
        if isinstance(fn, torch.nn.Module):
            fn.to(device)
    x = torch.randn(tuple(shape), device=device)
    times = time_interleaved(fns, x, mode, rounds)
    medians = {name: statistics.median(t) for name, t in times.items()}
    fastest = min(refs, key=lambda name: medians[name])
    ratio = {name: statistics.median(a / b for a, b in zip(times[name], times[fastest])) for name in fns}
    row = {
        "operation": operation, "shape": list(shape), "mode": mode, "device": str(device), "p": p,
        "rounds": rounds, "ms": {k: 1e3 * v for k, v in medians.items()}, "ratio": ratio,
        "fastest_reference": fastest, "skipped": skipped,
    }
    if memory and device.type == "cpu":
        row["extra_bytes"] = {name: peak_extra_bytes(fn, x, mode) for name, fn in fns.items()}
    return row


def describe_machine() -> dict:
    """What the timings were measured on: processor, threads, PyTorch version and build, GPU if any."""
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "cpu": cpu, "threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version(),
        "system": f"{platform.system()} {platform.machine()}",
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
