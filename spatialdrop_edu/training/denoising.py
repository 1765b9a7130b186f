r"""Chapter 8's denoiser: training it with the one loop, its score (PSNR), and how much of its input it copies.

The story the chapter rebuilds: a denoising network given U-Net skip connections
(Ronneberger, Fischer and Brox, 2015; :class:`~spatialdrop_edu.training.models.TinyUNet`) learns
to pass its noisy input through the skips, so the encoder-decoder path (the bottleneck) does
little; dropout on the skips is said to fix it only when it drops whole feature maps. This module
trains and measures such a denoiser, small enough for a CPU:

* :func:`train_denoiser`: Adam on the mean squared error against the clean patch, with fresh noise
  for every minibatch: a use of the toolkit's one loop (:func:`~spatialdrop_edu.training.loop.fit`);
* :func:`psnr`, the score, and the copying measurements: :func:`copy_report` (output against input,
  PSNR against the noisy input, the share of the input noise that reaches the output),
  :func:`path_ablation` (zero the skips or the bottleneck at test time) and
  :func:`path_contributions` (how strongly each path drives the decoder);
* :func:`uncertainty_report`: whether the per-pixel spread of Monte Carlo dropout
  (:func:`~spatialdrop_edu.training.mc_dropout.mc_predict`) tracks the denoiser's error.

The data are :func:`~spatialdrop_edu.training.data.denoising_patches`; one run of the chapter's study
is :func:`~spatialdrop_edu.training.experiments.denoising_trial`.

The peak signal-to-noise ratio of an estimate :math:`\hat x` of an image :math:`x` with values in
a range of width :math:`R` (here :math:`R = 1`) is

.. math::

    \mathrm{PSNR} = 10 \log_{10} \frac{R^2}{\mathrm{MSE}(\hat x, x)} \ \text{dB}.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..runtime import get_device
from .data import DenoisingData, add_noise
from .loop import fit
from .measure import eval_mode, predict
from .models import TinyUNet
from .prepare import prepare_run
from .settings import TrainSettings, training_settings

__all__ = [
    "train_denoiser",
    "psnr",
    "copy_report",
    "path_ablation",
    "path_contributions",
    "uncertainty_report",
]


def train_denoiser(
    model: nn.Module,
    data: DenoisingData,
    training: TrainSettings | None = None,
    *,
    seed: int = 0,
    device=None,
    progress: bool = True,
    desc: str = "train",
    test=None,
    **settings,
) -> dict:
    """Fit ``model`` to map noisy patches to clean ones (mean squared error, Adam); return the history.

    Every minibatch gets fresh Gaussian noise of ``data.sigma``, so the network never sees the same
    noisy patch twice and cannot memorise noise. After each epoch the validation PSNR is measured in
    evaluation mode; at the end the weights of the best epoch are put back. The loop is
    :func:`~spatialdrop_edu.training.loop.fit`.

    Args:
        model: a denoiser ``(N, 1, H, W) -> (N, 1, H, W)``, trained in place.
        data: from :func:`~spatialdrop_edu.training.data.denoising_patches`.
        training: the :class:`~spatialdrop_edu.training.settings.TrainSettings` of the run; or leave it
            out and give settings as keywords (``epochs=4, lr_schedule="cosine"``), which change
            ``TrainSettings()`` (10 epochs, minibatches of 32, Adam at 3e-3, no early stopping). What
            they mean here: ``patience`` epochs without a higher validation PSNR stop the run (the best
            epoch's weights are restored either way); ``lr_schedule``, one of
            :data:`~spatialdrop_edu.training.settings.LR_SCHEDULES`: ``"constant"``, or ``"cosine"``: the
            rate falls from ``lr`` to 0 along half a cosine over ``epochs`` epochs (Loshchilov and
            Hutter's SGDR without restarts), so that late epochs take small steps and the validation
            PSNR settles.
        seed: seeds the minibatch order, the training noise and the dropout masks.
        device: ``None`` picks :func:`~spatialdrop_edu.runtime.get_device`.
        progress: show a ``tqdm`` bar over epochs.
        desc: the bar's label.
        test: ``None``, or the test pairs ``(noisy, clean)``, measured after every epoch into
            ``"test_psnr"``: it chooses nothing (the validation set does), but shows what a run's test
            score did over its epochs.

    Returns:
        The history of :func:`~spatialdrop_edu.training.loop.fit`: per-epoch lists ``"epoch"``,
        ``"train_loss"`` (mean training MSE under dropout), ``"val_psnr"`` (dB), with ``test`` also
        ``"test_psnr"``, and ``"epoch_time"``
        (seconds of the optimisation steps), and ``"best_epoch"``, ``"best_val_psnr"``,
        ``"epochs_run"``, ``"kept_epoch"``, ``"device"``.

    Examples::

        >>> from spatialdrop_edu.training import denoising_patches
        >>> data = denoising_patches(("camera",), patch=16, stride=32, max_train=64)
        >>> net = TinyUNet(channels=4)
        >>> h = train_denoiser(net, data, epochs=2, device="cpu", progress=False)
        >>> h["epoch"], 1 <= h["best_epoch"] <= 2
        ([1, 2], True)
    """
    training = training_settings(training, settings, TrainSettings())
    device = get_device() if device is None else torch.device(device)
    model.to(device)
    clean = data.train.to(device)
    val_noisy, val_clean = data.val
    optimizer, gen, _ = prepare_run(model, training, seed)  # gen: the minibatch order and the training noise
    epochs, batch_size = training.epochs, training.batch_size
    cosine = training.lr_schedule == "cosine"
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs) if cosine else None
    losses = []  # the epoch's minibatch losses, times their sizes

    def noisy_batches():
        losses.clear()
        for idx in torch.randperm(len(clean), generator=gen).split(batch_size):
            target = clean[idx.to(device)]
            yield add_noise(target, data.sigma, gen), target

    def measure() -> dict:
        metrics = {
            "train_loss": sum(losses) / len(clean),
            "val_psnr": float(psnr(predict(model, val_noisy), val_clean)),
        }
        if test is not None:
            metrics["test_psnr"] = float(psnr(predict(model, test[0]), test[1]))
        return metrics

    def record(loss, batch) -> None:
        losses.append(loss.item() * len(batch[1]))

    return fit(
        model,
        optimizer,
        noisy_batches,
        lambda net, batch: F.mse_loss(net(batch[0]), batch[1]),
        epochs=epochs,
        evaluate=measure,
        monitor="val_psnr",
        higher_is_better=True,
        patience=training.patience,
        scheduler=scheduler,
        device=device,
        on_step=record,
        progress=progress,
        desc=desc,
        show={"val_psnr": ".2f"},
    )


# -- the score -------------------------------------------------------------------------------------


def psnr(
    estimate: torch.Tensor, target: torch.Tensor, data_range: float = 1.0, *, per_image: bool = False
) -> torch.Tensor:
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
        raise ValueError(
            f"estimate and target must have the same shape, got {tuple(estimate.shape)} and {tuple(target.shape)}."
        )
    err = (estimate.double() - target.double()) ** 2
    mse = err.flatten(1).mean(1) if per_image else err.mean()
    return (10.0 * torch.log10(data_range**2 / mse)).float()


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

        >>> clean = torch.rand(4, 1, 8, 8)
        >>> noisy = clean + 0.1 * torch.randn(4, 1, 8, 8)
        >>> r = copy_report(noisy, noisy, clean)  # the identity: a perfect copy
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
    for path in model.PATHS:
        with model.ablated(path):
            result[path] = float(psnr(predict(model, noisy), clean))
    return result


@torch.no_grad()
def path_contributions(model: TinyUNet, noisy: torch.Tensor) -> dict:
    r"""How strongly the skip and the up-sampled path drive each decoder block.

    The first convolution of an :class:`~spatialdrop_edu.training.models.UpBlock` sees ``cat([up, skip])``; being
    linear, it is the sum of a convolution of ``up`` and a convolution of ``skip`` (plus a bias). For each block this
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
    seen = {}
    hooks = [
        block.convs[0].register_forward_pre_hook(lambda m, i, name=name: seen.__setitem__(name, i[0]))
        for name, block in (("up1", model.up1), ("up2", model.up2))
    ]
    try:
        with eval_mode(model):
            model(noisy.to(next(model.parameters()).device))
    finally:
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


# -- Monte Carlo dropout against the error ---------------------------------------------------------


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
    return {
        "pixel_corr": _corr(std, error),
        "image_corr": _corr(std.flatten(1).mean(1), error.pow(2).flatten(1).mean(1).sqrt()),
        "mean_std": float(std.mean()),
        "psnr_mc": float(psnr(mean, clean)),
    }
