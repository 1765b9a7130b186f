r"""Chapter 8's toolkit: a tiny U-Net denoiser, noisy photo patches, and ways to see it copy.

The story the chapter rebuilds: a denoising network given U-Net skip connections
(Ronneberger, Fischer and Brox, 2015) learns to pass its noisy input through the skips, so the
encoder-decoder path (the bottleneck) does little; dropout on the skips is said to fix it only
when it drops whole feature maps. This module provides each piece, small enough for a CPU:

* :func:`denoising_patches`: clean grayscale patches of the bundled photos, training and test
  patches from disjoint regions (rows) of every photo, plus Gaussian noise of a given ``sigma``;
* :class:`TinyUNet`: two poolings, a bottleneck, two up-sampling blocks (:class:`UpBlock`) whose
  skip tensor passes through a dropout layer of the chosen variant
  (``"none"``, ``"element"``, ``"spatial"`` or ``"dropblock"``) before it is concatenated;
* :func:`train_denoiser`: Adam on the mean squared error against the clean patch, with fresh
  noise for every minibatch (the toolkit's :func:`~spatialdrop_edu.training.loop.train` is
  written for classifiers: cross-entropy and accuracy, so it does not fit);
* :func:`psnr`, and the copying measurements: :func:`copy_report` (output against input, PSNR
  against the noisy input, the share of the input noise that reaches the output),
  :func:`path_ablation` (zero the skips or the bottleneck at test time) and
  :func:`path_contributions` (how strongly each path drives the decoder);
* :func:`mc_predict` and :func:`uncertainty_report`: Monte Carlo dropout (Gal and Ghahramani,
  2016), dropout layers left on at prediction and everything else in evaluation mode, its per-pixel
  standard deviation and how it correlates with the absolute error;
* :func:`denoising_config` and :func:`denoising_trial`: one run of the chapter's study, a function
  of ``(config, seed)`` for :func:`~spatialdrop_edu.training.study.run_study`.

The peak signal-to-noise ratio of an estimate :math:`\hat x` of an image :math:`x` with values in
a range of width :math:`R` (here :math:`R = 1`) is

.. math::

    \mathrm{PSNR} = 10 \log_{10} \frac{R^2}{\mathrm{MSE}(\hat x, x)} \ \text{dB}.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import statistics
import time
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_choice, check_positive_int, check_probability, check_seed
from .models import VARIANTS, dropout_layers, make_dropout

__all__ = [
    "DEFAULT_PHOTOS",
    "PLACEMENTS",
    "PATHS",
    "DENOISING_DEFAULTS",
    "DenoisingData",
    "denoising_patches",
    "add_noise",
    "psnr",
    "UpBlock",
    "TinyUNet",
    "train_denoiser",
    "predict",
    "copy_report",
    "path_ablation",
    "path_contributions",
    "mc_predict",
    "uncertainty_report",
    "denoising_config",
    "config_data",
    "config_model",
    "denoising_trial",
]

#: Photos the patches come from (scenes and objects, not the repetitive textures).
DEFAULT_PHOTOS = ("camera", "astronaut", "coffee", "chelsea", "rocket", "grace_hopper")
#: Which skip connections carry the dropout layer, the full-resolution one only or both.
PLACEMENTS = ("top", "all")
#: What ``TinyUNet.forward`` can switch off at test time (:func:`path_ablation`).
PATHS = ("skips", "skip1", "skip2", "bottleneck")


# -- data ------------------------------------------------------------------------------------------

class DenoisingData(NamedTuple):
    """Clean training patches, and fixed noisy/clean pairs for validation and test.

    ``train`` is a tensor ``(N, 1, P, P)`` of clean patches (noise is drawn afresh during
    training); ``val`` and ``test`` are pairs ``(noisy, clean)``; ``sigma`` is the noise's standard
    deviation.
    """

    train: torch.Tensor
    val: tuple
    test: tuple
    sigma: float


def add_noise(clean: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """``clean`` plus Gaussian noise of standard deviation ``sigma`` (not clipped, so the noise has mean 0).

    Examples::

        >>> x = torch.zeros(1000)
        >>> round(float(add_noise(x, 0.2, torch.Generator().manual_seed(0)).std()), 1)
        0.2
    """
    noise = torch.randn(clean.shape, generator=generator, dtype=clean.dtype)
    return clean + sigma * noise.to(clean.device)


@functools.lru_cache(maxsize=16)
def _photo(name: str) -> np.ndarray:
    """A bundled photo, loaded once per process (read-only)."""
    from ..analysis.photos import load_photo

    image = load_photo(name)
    image.flags.writeable = False
    return image


def _cut(image: np.ndarray, rows: tuple[int, int], patch: int, stride: int) -> np.ndarray:
    tops = range(rows[0], rows[1] - patch + 1, stride)
    lefts = range(0, image.shape[1] - patch + 1, stride)
    return np.stack([image[r:r + patch, c:c + patch] for r in tops for c in lefts])


def denoising_patches(photos=DEFAULT_PHOTOS, patch: int = 32, stride: int = 32, *, sigma: float = 0.2,
                      test_fraction: float = 0.25, val_fraction: float = 0.15, max_train: int | None = None,
                      max_val: int | None = None, max_test: int | None = None, seed: int = 0) -> DenoisingData:
    """Patches of the bundled photos for denoising, training and test from disjoint rows of each photo.

    The top ``1 - test_fraction`` of every photo is its training region and the rest its test
    region; no patch crosses the line. Validation patches are a random ``val_fraction`` of the
    training region's patches. The noise of the validation and test pairs is drawn once, from
    ``seed``; training noise is drawn during training (:func:`train_denoiser`).

    Args:
        photos: names from :data:`~spatialdrop_edu.analysis.photos.PHOTOS`.
        patch: side of a square patch in pixels, a multiple of 4 (the U-Net pools twice).
        stride: step between patches of the training region (test patches never overlap: their
            stride is ``patch``).
        sigma: standard deviation of the Gaussian noise, on pixel values in ``[0, 1]``.
        test_fraction: share of each photo's rows kept for testing.
        val_fraction: share of the training patches held out for validation.
        max_train: keep at most this many training patches (a random subset); ``None`` keeps all.
        max_val: keep at most this many validation patches (a random subset); ``None`` keeps all.
        max_test: keep at most this many test patches (a random subset); ``None`` keeps all.
        seed: the validation subset, the training subset and the fixed noise.

    Returns:
        :class:`DenoisingData`, tensors ``float32`` of shape ``(N, 1, patch, patch)``.

    Examples::

        >>> data = denoising_patches(("camera",), patch=32, stride=32)
        >>> data.train.shape[1:], data.test[0].shape == data.test[1].shape, data.sigma
        (torch.Size([1, 32, 32]), True, 0.2)
    """
    from ..analysis.photos import PHOTOS

    patch = check_positive_int(patch, "patch", "the side of a patch in pixels")
    if patch % 4:
        raise ValueError(f"patch must be a multiple of 4 (the U-Net halves it twice), got {patch}.")
    stride = check_positive_int(stride, "stride", "the step between training patches in pixels")
    seed = check_seed(seed)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}.")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}.")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0:
        raise ValueError(f"sigma must be a positive number (the noise's standard deviation), got {sigma!r}.")
    train, test = [], []
    for name in photos:
        check_choice(name, tuple(PHOTOS), "photos[]")
        image = _photo(name)
        split = int(round(image.shape[0] * (1.0 - test_fraction)))
        train.append(_cut(image, (0, split), patch, stride))
        test.append(_cut(image, (split, image.shape[0]), patch, patch))
    train, test = np.concatenate(train), np.concatenate(test)
    order = np.random.default_rng(seed).permutation(len(train))
    n_val = int(round(val_fraction * len(train)))
    val, fit = order[:n_val], order[n_val:]
    if max_train is not None:
        fit = fit[:check_positive_int(max_train, "max_train", "training patches to keep")]
    if max_val is not None:
        val = val[:check_positive_int(max_val, "max_val", "validation patches to keep")]
    if max_test is not None:
        keep = np.random.default_rng(seed).permutation(len(test))[:check_positive_int(max_test, "max_test",
                                                                                       "test patches to keep")]
        test = test[np.sort(keep)]

    def tensor(a):
        return torch.as_tensor(a[:, None], dtype=torch.float32)

    gen = torch.Generator().manual_seed(10_000 + seed)
    val_clean, test_clean = tensor(train[val]), tensor(test)
    return DenoisingData(tensor(train[fit]), (add_noise(val_clean, sigma, gen), val_clean),
                         (add_noise(test_clean, sigma, gen), test_clean), float(sigma))


# -- PSNR ------------------------------------------------------------------------------------------

def psnr(estimate: torch.Tensor, target: torch.Tensor, data_range: float = 1.0, *,
         per_image: bool = False) -> torch.Tensor:
    r"""Peak signal-to-noise ratio in dB: :math:`10 \log_{10}(R^2 / \mathrm{MSE})`.

    Args:
        estimate: the estimate, any shape.
        target: the reference, same shape.
        data_range: :math:`R`, the width of the range of pixel values (1 for ``[0, 1]``).
        per_image: return one value per image (first axis) instead of one for the whole batch.

    Returns:
        A 0-d tensor (or one value per image); ``inf`` where the estimate is exact.

    Examples::

        >>> x = torch.zeros(2, 1, 4, 4)
        >>> float(psnr(x + 0.1, x))              # MSE 0.01: 20 dB
        20.0
        >>> psnr(x + torch.tensor([0.1, 0.01]).view(2, 1, 1, 1), x, per_image=True)
        tensor([20., 40.])
    """
    if estimate.shape != target.shape:
        raise ValueError(f"estimate and target must have the same shape, got {tuple(estimate.shape)} "
                         f"and {tuple(target.shape)}.")
    err = (estimate.double() - target.double()) ** 2
    mse = err.flatten(1).mean(1) if per_image else err.mean()
    return (10.0 * torch.log10(data_range ** 2 / mse)).float()


# -- the model -------------------------------------------------------------------------------------

def _conv_block(c_in: int, c_out: int, batch_norm: bool) -> nn.Sequential:
    layers = []
    for a, b in ((c_in, c_out), (c_out, c_out)):
        layers += [nn.Conv2d(a, b, 3, padding=1, bias=not batch_norm)]
        layers += [nn.BatchNorm2d(b)] if batch_norm else []
        layers += [nn.ReLU()]
    return nn.Sequential(*layers)


class UpBlock(nn.Module):
    """One decoder step of a U-Net: up-sample, concatenate the (dropped-out) skip, two convolutions.

    ``forward(x, skip)`` computes ``convs(cat([up(x), skip_dropout(skip)]))``: the dropout acts on
    the skip tensor only, never on the up-sampled path.

    Args:
        in_channels: channels of ``x`` (the coarser map).
        skip_channels: channels of ``skip`` (the encoder's map at the finer resolution).
        out_channels: channels out.
        skip_dropout: a module applied to the skip tensor (``None``: none).
        batch_norm: BatchNorm after each convolution.

    Shape:
        - x: :math:`(N, C_{in}, H, W)`; skip: :math:`(N, C_{skip}, 2H, 2W)`.
        - Output: :math:`(N, C_{out}, 2H, 2W)`.

    Examples::

        >>> import spatialdrop_edu as sde
        >>> up = UpBlock(16, 8, 8, skip_dropout=sde.SpatialDropout2d(0.5))
        >>> up(torch.randn(2, 16, 4, 4), torch.randn(2, 8, 8, 8)).shape
        torch.Size([2, 8, 8, 8])
    """

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, skip_dropout: nn.Module | None = None,
                 batch_norm: bool = True):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
        self.skip_dropout = skip_dropout if skip_dropout is not None else nn.Identity()
        self.convs = _conv_block(out_channels + skip_channels, out_channels, batch_norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.convs(torch.cat([self.up(x), self.skip_dropout(skip)], dim=1))


class TinyUNet(nn.Module):
    r"""A two-level U-Net denoiser whose skip connections carry a dropout layer of a chosen variant.

    Encoder: ``enc1`` (full resolution, ``channels``), max-pool, ``enc2`` (half, ``2 channels``),
    max-pool, ``bottleneck`` (quarter, ``4 channels``). Decoder: ``up2`` takes the bottleneck and the
    skip ``skip2 = enc2(...)``, ``up1`` takes that and ``skip1 = enc1(x)``; a 1 × 1 convolution
    gives the clean image. The network predicts the clean patch itself (no global residual), as in
    the story this chapter rebuilds.

    Args:
        dropout: the skip dropout, one of ``"none"``, ``"element"``, ``"spatial"``, ``"dropblock"``.
        p: its drop probability.
        placement: ``"top"`` (only the full-resolution skip, ``skip1``) or ``"all"`` (both skips).
        channels: feature maps of the first level.
        block_size: block side of ``"dropblock"``.
        batch_norm: BatchNorm after each convolution.

    Shape:
        - Input: :math:`(N, 1, H, W)`, ``H`` and ``W`` multiples of 4.
        - Output: :math:`(N, 1, H, W)`.

    The attribute ``ablate`` (a set, empty by default) switches paths off at test time: ``"skip1"``
    and ``"skip2"`` replace that skip tensor by zeros, ``"skips"`` both, ``"bottleneck"`` the
    bottleneck's output (see :func:`path_ablation`).

    Examples::

        >>> net = TinyUNet("spatial", 0.3, "all", channels=8)
        >>> net(torch.randn(2, 1, 16, 16)).shape, [type(m).__name__ for m in dropout_layers(net)]
        (torch.Size([2, 1, 16, 16]), ['SpatialDropout2d', 'SpatialDropout2d'])
        >>> sum(w.numel() for w in net.parameters())
        29481
    """

    def __init__(self, dropout: str = "none", p: float = 0.0, placement: str = "top", *, channels: int = 8,
                 block_size: int = 3, batch_norm: bool = True):
        super().__init__()
        check_choice(dropout, VARIANTS, "dropout")
        check_choice(placement, PLACEMENTS, "placement")
        p = check_probability(p)
        c = check_positive_int(channels, "channels", "feature maps of the first level")
        self.enc1 = _conv_block(1, c, batch_norm)
        self.enc2 = _conv_block(c, 2 * c, batch_norm)
        self.bottleneck = _conv_block(2 * c, 4 * c, batch_norm)
        drop2 = make_dropout(dropout, p, 2, block_size) if placement == "all" else None
        self.up2 = UpBlock(4 * c, 2 * c, 2 * c, drop2, batch_norm)
        self.up1 = UpBlock(2 * c, c, c, make_dropout(dropout, p, 2, block_size), batch_norm)
        self.head = nn.Conv2d(c, 1, 1)
        self.ablate: set = set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip1 = self.enc1(x)
        skip2 = self.enc2(F.max_pool2d(skip1, 2))
        deep = self.bottleneck(F.max_pool2d(skip2, 2))
        if "bottleneck" in self.ablate:
            deep = torch.zeros_like(deep)
        if self.ablate & {"skips", "skip2"}:
            skip2 = torch.zeros_like(skip2)
        if self.ablate & {"skips", "skip1"}:
            skip1 = torch.zeros_like(skip1)
        return self.head(self.up1(self.up2(deep, skip2), skip1))


# -- training --------------------------------------------------------------------------------------

@torch.no_grad()
def predict(model: nn.Module, noisy: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """The model's output on ``noisy`` in evaluation mode (mode restored), on the CPU.

    Examples::

        >>> predict(TinyUNet(), torch.zeros(3, 1, 8, 8)).shape
        torch.Size([3, 1, 8, 8])
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(noisy[i:i + batch_size].to(device)).cpu() for i in range(0, len(noisy), batch_size)])
    finally:
        model.train(was_training)


def train_denoiser(model: nn.Module, data: DenoisingData, *, epochs: int = 10, batch_size: int = 32,
                   lr: float = 3e-3, seed: int = 0, device=None, progress: bool = True,
                   desc: str = "train") -> dict:
    """Fit ``model`` to map noisy patches to clean ones (mean squared error, Adam); return the history.

    Every minibatch gets fresh Gaussian noise of ``data.sigma``, so the network never sees the same
    noisy patch twice and cannot memorise noise. After each epoch the validation PSNR is measured in
    evaluation mode; at the end the weights of the best epoch are put back.

    Args:
        model: a denoiser ``(N, 1, H, W) -> (N, 1, H, W)``, trained in place.
        data: from :func:`denoising_patches`.
        epochs: epochs to run (no early stopping: the best epoch's weights are restored).
        batch_size: minibatch size.
        lr: Adam's learning rate.
        seed: seeds the minibatch order, the training noise and the dropout masks.
        device: ``None`` picks :func:`~spatialdrop_edu.runtime.get_device`.
        progress: show a ``tqdm`` bar over epochs.
        desc: the bar's label.

    Returns:
        A dict with per-epoch lists ``"epoch"``, ``"train_loss"`` (mean training MSE under
        dropout), ``"val_psnr"`` (dB) and ``"epoch_time"`` (seconds of the optimisation steps), and
        ``"best_epoch"``, ``"best_val_psnr"``, ``"device"``.

    Examples::

        >>> data = denoising_patches(("camera",), patch=16, stride=32, max_train=64)
        >>> h = train_denoiser(TinyUNet(channels=4), data, epochs=2, device="cpu", progress=False)
        >>> h["epoch"], 1 <= h["best_epoch"] <= 2
        ([1, 2], True)
    """
    from ..runtime import get_device
    from .loop import _progress, _sync_time

    epochs = check_positive_int(epochs, "epochs", "epochs to run")
    batch_size = check_positive_int(batch_size, "batch_size", "patches per minibatch")
    seed = check_seed(seed)
    device = get_device() if device is None else torch.device(device)
    model.to(device)
    clean = data.train.to(device)
    val_noisy, val_clean = data.val
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)          # minibatch order and training noise
    torch.manual_seed(seed)                             # dropout masks
    history = {"epoch": [], "train_loss": [], "val_psnr": [], "epoch_time": []}
    best, best_state, best_epoch = -math.inf, None, 0
    bar = _progress(epochs, desc, progress)
    for epoch in range(1, epochs + 1):
        model.train()
        total, start = 0.0, _sync_time(device)
        for idx in torch.randperm(len(clean), generator=gen).split(batch_size):
            target = clean[idx.to(device)]
            loss = F.mse_loss(model(add_noise(target, data.sigma, gen)), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        history["epoch_time"].append(_sync_time(device) - start)
        val = float(psnr(predict(model, val_noisy), val_clean))
        history["epoch"].append(epoch)
        history["train_loss"].append(total / len(clean))
        history["val_psnr"].append(val)
        if val > best:
            best, best_epoch, best_state = val, epoch, copy.deepcopy(model.state_dict())
        if bar is not None:
            bar.update(1)
            bar.set_postfix(val_psnr=f"{val:.2f}")
    if bar is not None:
        bar.close()
    model.load_state_dict(best_state)
    model.eval()
    history.update(best_epoch=best_epoch, best_val_psnr=best, device=device.type)
    return history


# -- measuring the copying -------------------------------------------------------------------------

def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double().flatten(), b.double().flatten()
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-300))


def copy_report(output: torch.Tensor, noisy: torch.Tensor, clean: torch.Tensor) -> dict:
    r"""How much a denoiser's output is a copy of its input.

    Args:
        output: the denoiser's output on ``noisy``.
        noisy: its input.
        clean: the clean images.

    Returns:
        A dict of floats, with these keys.

        * ``"psnr_input"``: PSNR of the noisy input against the clean image (what copying scores);
        * ``"psnr_output"``: PSNR of the output against the clean image;
        * ``"gain"``: ``psnr_output - psnr_input`` in dB;
        * ``"psnr_vs_noisy"``: PSNR of the output against the *noisy input*; a copy scores ``inf``,
          a perfect denoiser scores ``psnr_input``;
        * ``"noise_transfer"``: the least-squares slope of the output's error on the input's noise,
          :math:`\langle \hat x - x, n\rangle / \langle n, n\rangle` with :math:`n` = noisy − clean:
          1 for a copy, 0 when none of the input's noise reaches the output;
        * ``"corr_output_noise"``: the correlation between the output's error and the input's noise.

    Examples::

        >>> clean = torch.rand(4, 1, 8, 8); noisy = clean + 0.1 * torch.randn(4, 1, 8, 8)
        >>> r = copy_report(noisy, noisy, clean)                 # the identity: a perfect copy
        >>> round(r["noise_transfer"], 6), r["psnr_vs_noisy"], round(r["gain"], 6)
        (1.0, inf, 0.0)
    """
    noise, error = (noisy - clean).double(), (output - clean).double()
    out = {"psnr_input": float(psnr(noisy, clean)), "psnr_output": float(psnr(output, clean))}
    out["gain"] = out["psnr_output"] - out["psnr_input"]
    out["psnr_vs_noisy"] = float(psnr(output, noisy))
    out["noise_transfer"] = float((error * noise).sum() / (noise * noise).sum())
    out["corr_output_noise"] = _corr(error, noise)
    return out


@contextlib.contextmanager
def _ablated(model: TinyUNet, paths):
    previous = model.ablate
    model.ablate = set(paths)
    try:
        yield model
    finally:
        model.ablate = previous


def path_ablation(model: TinyUNet, noisy: torch.Tensor, clean: torch.Tensor) -> dict:
    """Test PSNR with each path of the U-Net switched off (replaced by zeros) at test time.

    A path the network relies on costs many dB when it is switched off; a path it ignores costs
    little. Nothing is retrained: this measures the trained network's dependence on each path.

    Returns:
        ``{"full": dB, "skips": dB, "skip1": dB, "skip2": dB, "bottleneck": dB}``: the PSNR with
        nothing, both skips, the full-resolution skip, the half-resolution skip, or the bottleneck
        switched off.

    Examples::

        >>> net = TinyUNet(channels=4)
        >>> sorted(path_ablation(net, torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8)))
        ['bottleneck', 'full', 'skip1', 'skip2', 'skips']
    """
    result = {"full": float(psnr(predict(model, noisy), clean))}
    for path in PATHS:
        with _ablated(model, {path}):
            result[path] = float(psnr(predict(model, noisy), clean))
    return result


@torch.no_grad()
def path_contributions(model: TinyUNet, noisy: torch.Tensor) -> dict:
    r"""How strongly the skip and the up-sampled path drive each decoder block.

    The first convolution of an :class:`UpBlock` sees ``cat([up, skip])``; being linear, it is the
    sum of a convolution of ``up`` and a convolution of ``skip`` (plus a bias). For each block this
    returns the root mean square of each of the two parts, and the skip's share
    :math:`\|W_s * s\| / (\|W_s * s\| + \|W_u * u\|)` of the total (evaluation mode).

    Returns:
        ``{"up1": {"skip": rms, "deep": rms, "skip_share": share}, "up2": {...}}``; ``up1`` is the
        full-resolution block (its deep path carries everything that went through the bottleneck).

    Examples::

        >>> c = path_contributions(TinyUNet(channels=4), torch.rand(2, 1, 8, 8))
        >>> 0.0 <= c["up1"]["skip_share"] <= 1.0
        True
    """
    device = next(model.parameters()).device
    seen = {}
    hooks = [block.convs[0].register_forward_pre_hook(lambda m, i, name=name: seen.__setitem__(name, i[0]))
             for name, block in (("up1", model.up1), ("up2", model.up2))]
    was_training = model.training
    model.eval()
    try:
        model(noisy.to(device))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    result = {}
    for name, block in (("up1", model.up1), ("up2", model.up2)):
        conv, x = block.convs[0], seen[name]
        n_up = block.up.out_channels
        deep = F.conv2d(x[:, :n_up], conv.weight[:, :n_up], padding=conv.padding)
        skip = F.conv2d(x[:, n_up:], conv.weight[:, n_up:], padding=conv.padding)
        rms_s, rms_d = float(skip.pow(2).mean().sqrt()), float(deep.pow(2).mean().sqrt())
        result[name] = {"skip": rms_s, "deep": rms_d, "skip_share": rms_s / max(rms_s + rms_d, 1e-300)}
    return result


# -- MC dropout ------------------------------------------------------------------------------------

@torch.no_grad()
def mc_predict(model: nn.Module, noisy: torch.Tensor, passes: int = 20, *, seed: int = 0,
               batch_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Monte Carlo dropout: ``passes`` predictions with the dropout layers on, their mean and std.

    Only the dropout layers (:func:`~spatialdrop_edu.training.models.dropout_layers`) are put in
    training mode; everything else, BatchNorm in particular, stays in evaluation mode, so the
    passes differ by their dropout masks alone. The modes are restored afterwards.

    Args:
        model: the trained network.
        noisy: inputs.
        passes: the number of stochastic passes ``T``.
        seed: seeds the dropout masks.
        batch_size: inputs per forward pass.

    Returns:
        ``(mean, std)``, each shaped like the output: the per-pixel mean over the passes and the
        per-pixel standard deviation (``ddof=0``).

    Examples::

        >>> net = TinyUNet("spatial", 0.5, channels=4).eval()
        >>> mean, std = mc_predict(net, torch.rand(2, 1, 8, 8), passes=5)
        >>> mean.shape, bool(std.max() > 0), net.up1.skip_dropout.training
        (torch.Size([2, 1, 8, 8]), True, False)
    """
    passes = check_positive_int(passes, "passes", "stochastic forward passes")
    device = next(model.parameters()).device
    modes = {m: m.training for m in model.modules()}
    model.eval()
    for layer in dropout_layers(model):
        layer.train()
    torch.manual_seed(check_seed(seed))
    try:
        outs = torch.stack([
            torch.cat([model(noisy[i:i + batch_size].to(device)).cpu() for i in range(0, len(noisy), batch_size)])
            for _ in range(passes)])
    finally:
        for m, mode in modes.items():
            m.training = mode
    return outs.mean(0), outs.std(0, unbiased=False)


def uncertainty_report(mean: torch.Tensor, std: torch.Tensor, clean: torch.Tensor) -> dict:
    """Does the MC-dropout standard deviation track the error? Correlations per pixel and per image.

    Returns:
        ``"pixel_corr"``: Pearson correlation between the per-pixel std and the absolute error
        ``|mean - clean|`` over all pixels; ``"image_corr"``: between each image's mean std and its
        root mean squared error; ``"mean_std"``: the average std; ``"psnr_mc"``: PSNR of the MC mean.

    Examples::

        >>> clean = torch.zeros(3, 1, 4, 4); err = torch.rand(3, 1, 4, 4)
        >>> round(uncertainty_report(clean + err, err, clean)["pixel_corr"], 6)
        1.0
    """
    error = (mean - clean).abs()
    return {"pixel_corr": _corr(std, error),
            "image_corr": _corr(std.flatten(1).mean(1), error.pow(2).flatten(1).mean(1).sqrt()),
            "mean_std": float(std.mean()), "psnr_mc": float(psnr(mean, clean))}


# -- the study's run -------------------------------------------------------------------------------

#: Settings of a denoising run that :func:`denoising_config` fills in when not given.
DENOISING_DEFAULTS = {"dropout": "none", "p": 0.0, "placement": "top", "channels": 8, "block_size": 3,
                      "photos": list(DEFAULT_PHOTOS), "patch": 32, "stride": 32, "max_train": None,
                      "max_val": None, "max_test": None, "sigma": 0.2, "epochs": 10, "batch_size": 32, "lr": 3e-3,
                      "mc_passes": 0}


def denoising_config(**settings) -> dict:
    """A complete denoising configuration: :data:`DENOISING_DEFAULTS` updated with ``settings``.

    Examples::

        >>> denoising_config(dropout="spatial", p=0.3)["sigma"]
        0.2
    """
    unknown = set(settings) - set(DENOISING_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; accepted: {sorted(DENOISING_DEFAULTS)}.")
    config = {**DENOISING_DEFAULTS, **settings}
    config["photos"] = list(config["photos"])
    return config


def config_data(config: dict, seed: int) -> DenoisingData:
    """The patches of a run: :func:`denoising_patches` with the configuration's settings and ``seed``.

    Examples::

        >>> config_data(denoising_config(photos=["camera"], patch=16, max_train=10), 0).train.shape
        torch.Size([10, 1, 16, 16])
    """
    config = denoising_config(**config)
    return denoising_patches(tuple(config["photos"]), config["patch"], config["stride"], sigma=config["sigma"],
                             max_train=config["max_train"], max_val=config["max_val"], max_test=config["max_test"],
                             seed=seed)


def config_model(config: dict, seed: int) -> TinyUNet:
    """The untrained :class:`TinyUNet` of a run, its weights drawn after seeding everything with ``seed``.

    Dropout layers own no weights, so every variant starts from the same weights for one seed.

    Examples::

        >>> a = config_model(denoising_config(), 3); b = config_model(denoising_config(dropout="spatial", p=0.5), 3)
        >>> all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
        True
    """
    from ..runtime import seed_everything

    config = denoising_config(**config)
    seed_everything(seed)
    return TinyUNet(config["dropout"], config["p"], config["placement"], channels=config["channels"],
                    block_size=config["block_size"])


def denoising_trial(config: dict, seed: int, *, device=None, progress: bool = False) -> dict:
    """Train one U-Net denoiser and measure it: the run behind the chapter's study.

    The seed picks the validation and training patches, the fixed test noise, the initial weights,
    the minibatch order, the training noise and the dropout masks; runs with the same seed and
    different dropout share all but the masks.

    Returns:
        A JSON-serialisable dict with ``test_psnr``, ``input_psnr``, ``gain``, ``psnr_vs_noisy``,
        ``noise_transfer``, the ablation PSNRs ``ablate_<path>`` (see :func:`path_ablation`),
        ``skip_share_up1``, ``skip_share_up2``, ``best_epoch``, ``epoch_time`` (median seconds),
        ``wall_time``, ``device``, ``curves`` (per-epoch ``train_loss`` and ``val_psnr``, 4 decimals),
        and with ``mc_passes > 0`` and dropout, ``mc_pixel_corr``, ``mc_image_corr``, ``mc_mean_std``,
        ``mc_psnr``.
    """
    start = time.perf_counter()
    config = denoising_config(**config)
    data = config_data(config, seed)
    model = config_model(config, seed)
    history = train_denoiser(model, data, epochs=config["epochs"], batch_size=config["batch_size"], lr=config["lr"],
                             seed=seed, device=device, progress=progress,
                             desc=f"{config['dropout']} p={config['p']} seed={seed}")
    noisy, clean = data.test
    report = copy_report(predict(model, noisy), noisy, clean)
    result = {"test_psnr": report["psnr_output"], "input_psnr": report["psnr_input"], "gain": report["gain"],
              "psnr_vs_noisy": report["psnr_vs_noisy"], "noise_transfer": report["noise_transfer"]}
    result.update({f"ablate_{k}": v for k, v in path_ablation(model, noisy, clean).items() if k != "full"})
    shares = path_contributions(model, noisy)
    result.update(skip_share_up1=shares["up1"]["skip_share"], skip_share_up2=shares["up2"]["skip_share"])
    if config["mc_passes"] and dropout_layers(model):
        mean, std = mc_predict(model, noisy, config["mc_passes"], seed=seed)
        mc = uncertainty_report(mean, std, clean)
        result.update(mc_pixel_corr=mc["pixel_corr"], mc_image_corr=mc["image_corr"], mc_mean_std=mc["mean_std"],
                      mc_psnr=mc["psnr_mc"])
    result.update(best_epoch=history["best_epoch"], epoch_time=statistics.median(history["epoch_time"]),
                  device=history["device"], wall_time=time.perf_counter() - start,
                  curves={k: [round(v, 4) for v in history[k]] for k in ("train_loss", "val_psnr")})
    return result
