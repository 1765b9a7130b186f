"""A small convolution stack to measure feature maps on, untrained or briefly trained on photos.

:func:`conv_stack` builds it, :func:`train_patch_classifier` trains its filters briefly (to tell which photo a
patch was cut from), and :func:`conv_feature_maps` gives its feature maps of one image, layer by layer.
"""

from __future__ import annotations

import numpy as np

from .._progress import progress_bar
from .._validation import check_positive_int, check_seed
from ._maps import standardize

__all__ = [
    "conv_feature_maps",
    "conv_stack",
    "train_patch_classifier",
]


def conv_stack(layers: int = 4, channels: int = 8, *, pool: bool = True, seed: int = 0):
    """A small convolution stack: ``layers`` times [3 x 3 conv, ReLU, optional 2 x 2 max pool].

    Args:
        layers: number of conv layers. Default: 4.
        channels: output channels of every conv. Default: 8.
        pool: 2 x 2 max pooling after every conv. Default: ``True``.
        seed: seed of PyTorch's default initialization (Kaiming uniform). Default: 0.

    Returns:
        A ``torch.nn.Sequential`` taking ``(N, 1, H, W)``; its attribute ``taps`` lists the indices
        of the modules whose outputs are the feature maps (after each ReLU, or each pool).

    Examples::

        >>> net = conv_stack(2, 4, pool=True)
        >>> net.taps
        [2, 5]
    """
    import torch

    layers = check_positive_int(layers, "layers")
    channels = check_positive_int(channels, "channels")
    seed = check_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mods, taps = [], []
        c_in = 1
        for _ in range(layers):
            mods += [torch.nn.Conv2d(c_in, channels, 3, padding=1), torch.nn.ReLU()]
            if pool:
                mods.append(torch.nn.MaxPool2d(2))
            taps.append(len(mods) - 1)
            c_in = channels
    net = torch.nn.Sequential(*mods)
    net.taps = taps
    return net


def conv_feature_maps(net, image) -> list:
    """The feature maps of a :func:`conv_stack` on one grayscale image, one array per layer.

    Args:
        net: a :func:`conv_stack` (or any ``Sequential`` with a ``taps`` attribute).
        image: 2-D array; standardized before it enters the network.

    Returns:
        A list with one ``(C, H_l, W_l)`` array per tap.
    """
    import torch

    x = torch.as_tensor(standardize(image), dtype=torch.float32)[None, None]
    maps = []
    with torch.no_grad():
        for i, module in enumerate(net):
            x = module(x)
            if i in net.taps:
                maps.append(x[0].numpy().astype(float))
    return maps


def train_patch_classifier(
    net,
    photos,
    *,
    steps: int = 300,
    patch: int = 32,
    batch: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
    progress: bool = True,
) -> list:
    """Train ``net``'s filters briefly: tell which photo a random patch was cut from.

    A head (global average pool + linear layer) is put on ``net``; Adam minimizes the
    cross-entropy on random ``patch x patch`` crops (each standardized) of the given photos.
    The filters of ``net`` are changed in place.

    Args:
        net: a :func:`conv_stack` whose last conv has ``C`` channels.
        photos: list of 2-D arrays, one class each.
        steps: optimizer steps. Default: 300.
        patch: side of a patch in pixels. Default: 32.
        batch: patches per step. Default: 32.
        lr: Adam learning rate. Default: 3e-3.
        seed: seed of the patch sampler and the head. Default: 0.
        progress: show a ``tqdm`` bar over the steps, with the latest loss (300 steps take about a
            minute on two CPU cores). Default: ``True``.

    Returns:
        The training loss after each step (a list of floats).
    """
    import torch

    from ..training.loop import train_steps

    steps = check_positive_int(steps, "steps")
    patch = check_positive_int(patch, "patch")
    batch = check_positive_int(batch, "batch")
    seed = check_seed(seed)
    if len(photos) < 2:
        raise ValueError("photos must hold at least two images (two classes).")
    rng = np.random.default_rng(seed)

    def batches():
        for _ in range(steps):
            labels = rng.integers(len(photos), size=batch)
            crops = []
            for c in labels:
                img = photos[c]
                i = rng.integers(img.shape[0] - patch + 1)
                j = rng.integers(img.shape[1] - patch + 1)
                crops.append(standardize(img[i : i + patch, j : j + patch]))
            yield torch.as_tensor(np.stack(crops)[:, None], dtype=torch.float32), torch.as_tensor(labels)

    losses = []

    def on_step(loss, _batch):
        losses.append(float(loss.detach()))
        bar.update(1)
        bar.set_postfix(loss=f"{losses[-1]:.2f}", refresh=False)

    bar = progress_bar(steps, "patch classifier", progress, unit="step")
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            channels = [m for m in net if isinstance(m, torch.nn.Conv2d)][-1].out_channels
            head = torch.nn.Sequential(
                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(channels, len(photos))
            )
            model = torch.nn.Sequential(net, head)
            train_steps(
                model,
                torch.optim.Adam(model.parameters(), lr=lr),
                batches(),
                lambda m, b: torch.nn.functional.cross_entropy(m(b[0]), b[1]),
                on_step=on_step,
            )
    finally:
        bar.refresh()  # the last step is drawn even when it came sooner than tqdm's redraw interval
        bar.close()
    return losses
