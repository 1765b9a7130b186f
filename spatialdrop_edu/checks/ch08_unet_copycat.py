"""Checkers of chapter 8, the U-Net that learned to copy (exercises 8.1-8.3).

None of them trains a network or reads a PSNR of a trained model: 8.1 compares the learner's PSNR
with the formula at many points, 8.2 measures the *mask structure* of what reaches the decoder's
convolution (forward hooks) and 8.3 records, with hooks, the mode every module ran in during the
learner's Monte Carlo dropout passes and compares the returned mean and standard deviation with
the outputs those passes produced.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ._harness import as_array, check_whole_map_scale_and_rate, fail, passed, reference_answer, run_student_code

__all__ = ["check_psnr", "check_skip_dropout", "check_mc_predict"]


# ----------------------------------------------------------------------------- 8.1


def _psnr_cases():
    rng = np.random.default_rng(81)
    cases = []
    for k in range(40):
        shape = [(4, 1, 8, 8), (2, 1, 16, 16), (3, 5), (64,)][k % 4]
        data_range = [1.0, 1.0, 255.0, 2.0][k % 4]
        target = rng.uniform(0, data_range, shape)
        scale = data_range * 10 ** rng.uniform(-3, -0.5)
        cases.append((target + rng.normal(0, scale, shape), target, data_range))
    return cases


@reference_answer
def _formula(estimate, target, data_range):
    return 10 * math.log10(data_range**2 / float(np.mean((np.asarray(estimate) - np.asarray(target)) ** 2)))


def check_psnr(psnr) -> None:
    """Exercise 8.1: ``psnr(estimate, target, data_range)`` returns the PSNR of a batch in dB.

    The answer is called on 40 pairs of tensors (shapes ``(4, 1, 8, 8)``, ``(2, 1, 16, 16)``,
    ``(3, 5)`` and ``(64,)``; ranges 1, 2 and 255; errors from 0.1% to 30% of the range) and must
    return one number each, within 1e-3 dB of the PSNR the exercise defines; on an exact estimate
    it must return ``+inf``. A wrong value is compared with typical mistakes, and the one it
    matches is named.

    Args:
        psnr: the learner's function ``(estimate, target, data_range) -> number``.

    Raises:
        ExerciseFailure: with feedback naming the first pair answered wrongly and, where it
            recognises it, the mistake.

    Examples::

        >>> check_psnr(lambda estimate, target, data_range=1.0: 0.0)
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: for an error with MSE ...
        and range R = 1, your psnr gave 0.000 dB, ...
    """
    for estimate, target, data_range in _psnr_cases():
        answer = run_student_code(psnr, torch.tensor(estimate), torch.tensor(target), data_range, what="your psnr")
        value = as_array(answer, "your psnr")
        if value.size != 1:
            fail(
                f"psnr must return one number for the whole batch, got an array of shape {value.shape}: average the "
                "squared error over every pixel of every image, then take the logarithm."
            )
        value, expected = float(value.ravel()[0]), _formula(estimate, target, data_range)
        if math.isclose(value, expected, abs_tol=1e-3):
            continue
        mse = float(np.mean((estimate - target) ** 2))
        guesses = {
            "you used the root mean squared error with a factor of 10; use the MSE (or 20 log10(R / RMSE))": 10
            * math.log10(data_range / math.sqrt(mse)),
            "you used the natural logarithm; PSNR uses log10": 10 * math.log(data_range**2 / mse),
            "you did not square the range R: the peak signal power is R^2": 10 * math.log10(data_range / mse),
            "you ignored data_range (the formula has R^2 in the numerator)": 10 * math.log10(1.0 / mse),
            "you used the mean absolute error instead of the mean squared error": 10
            * math.log10(data_range**2 / float(np.mean(np.abs(estimate - target)))),
            "the sign is flipped: PSNR is high when the error is small": -expected,
            "you used the sum of squared errors, not their mean": 10
            * math.log10(data_range**2 / (mse * estimate.size)),
        }
        for eps in (1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12):
            guesses.setdefault(
                f"you added a small constant ({eps:g}?) to the MSE; it caps the PSNR and shifts it when "
                "the error is small: divide by the MSE itself",
                10 * math.log10(data_range**2 / (mse + eps)),
            )
        hint = next((g for g, v in guesses.items() if math.isclose(value, v, abs_tol=1e-3)), "")
        fail(
            f"for an error with MSE {mse:.3g} and range R = {data_range:g}, your psnr gave {value:.3f} dB, expected "
            f"10 log10(R^2 / MSE) = {expected:.3f} dB." + (f" It looks like {hint}." if hint else "")
        )
    same = torch.rand(2, 1, 4, 4, generator=torch.Generator().manual_seed(8))
    answer = run_student_code(psnr, same.clone(), same, 1.0, what="your psnr")
    value = float(as_array(answer, "your psnr").ravel()[0])
    if not (math.isinf(value) and value > 0):
        fail(
            f"for an exact estimate (MSE = 0) your psnr gave {value}, expected inf: do not add a small constant to "
            "the MSE (it caps the PSNR)."
        )
    passed("Correct: PSNR = 10 log10(R^2 / MSE) at every point tested, and inf for an exact estimate.")


# ----------------------------------------------------------------------------- 8.2


def _decoder_input(block, x, skip):
    """The input of the block's ``conv``, the output of ``up``, and the block's output."""
    seen = {}
    hooks = [
        block.conv.register_forward_pre_hook(lambda m, i: seen.__setitem__("conv_in", i[0].detach().clone())),
        block.up.register_forward_hook(lambda m, i, o: seen.__setitem__("up", o.detach().clone())),
    ]
    try:
        with torch.no_grad():
            out = run_student_code(block, x, skip, what="your block's forward")
    finally:
        for h in hooks:
            h.remove()
    if "conv_in" not in seen or "up" not in seen:
        fail("the forward pass did not call self.up and self.conv: keep the given layers and use both.")
    return seen["conv_in"], seen["up"], out


def check_skip_dropout(block_class) -> None:
    """Exercise 8.2: ``block_class(channels, p)`` applies spatial dropout to the skip tensor only.

    ``block_class(8, 0.4)`` must build a ``torch.nn.Module`` with the given ``up`` and ``conv``
    layers. Hooks record the output of ``up`` and the input of ``conv`` over 40 seeded calls in
    training mode on ``x`` of shape ``(8, 16, 4, 4)`` and ``skip`` of shape ``(8, 8, 8, 8)``: the
    input of ``conv`` must have shape ``(8, 16, 8, 8)``; its first ``channels`` maps must be
    ``up(x)`` unchanged, its last ``channels`` maps the skip with each (sample, channel) map
    zeroed whole or kept whole and scaled by ``1/(1-p)``; the fraction of zeroed maps must be
    ``p`` within ``SIGMAS`` standard deviations. In evaluation mode the skip passes unchanged.

    Args:
        block_class: the learner's class (or function) ``(channels, p) -> torch.nn.Module``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and the likely mistake.

    Examples::

        >>> check_skip_dropout(lambda channels, p: None)
        ... # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: the block must be a
        torch.nn.Module that keeps the given self.up and self.conv layers.
    """
    channels, p, calls = 8, 0.4, 40
    block = run_student_code(block_class, channels, p, what="your block's constructor")
    if not isinstance(block, nn.Module) or not hasattr(block, "up") or not hasattr(block, "conv"):
        fail("the block must be a torch.nn.Module that keeps the given self.up and self.conv layers.")
    gen = torch.Generator().manual_seed(82)
    x, skip = torch.randn(8, 2 * channels, 4, 4, generator=gen), torch.randn(8, channels, 8, 8, generator=gen) + 0.1
    block.train()
    dropped, maps, scales = 0, 0, []
    for call in range(calls):
        torch.manual_seed(800 + call)
        conv_in, up, _ = _decoder_input(block, x, skip)
        if tuple(conv_in.shape) != (8, 2 * channels, 8, 8):
            fail(
                f"self.conv receives shape {tuple(conv_in.shape)}, expected (8, {2 * channels}, 8, 8): concatenate "
                "up(x) and the skip along the channel axis (dim=1)."
            )
        first, second = conv_in[:, :channels], conv_in[:, channels:]
        if not torch.allclose(first, up, rtol=1e-5, atol=1e-6):
            if torch.allclose(second, up, rtol=1e-5, atol=1e-6):
                fail(
                    "the up-sampled path comes second in the concatenation: use torch.cat([self.up(x), skip], dim=1) "
                    "(up first, as the given layers expect)."
                )
            fail(
                "the up-sampled maps reach self.conv changed: the dropout must act on the skip tensor only, not on "
                "up(x) or on the concatenation."
            )
        zero = (second == 0).flatten(2).all(-1)
        scale = (second * skip).flatten(2).sum(-1) / (skip * skip).flatten(2).sum(-1)
        whole = torch.isclose(second, scale[..., None, None] * skip, rtol=1e-4, atol=1e-6).flatten(2).all(-1)
        if (~zero & ~whole).any():
            if ((second == 0).float().mean() > 0) and not torch.allclose(second, skip):
                fail(
                    "some skip feature maps were partly zeroed (some pixels kept, others dropped): that is element "
                    "dropout (nn.Dropout), which the decoder works around through neighbouring pixels. Drop whole "
                    "maps: sde.SpatialDropout2d(p) or nn.Dropout2d(p)."
                )
            fail(
                "the skip reaches self.conv changed in a way that is not dropout (not zero or scaled maps): apply "
                "only the dropout layer to the skip."
            )
        dropped += int(zero.sum())
        maps += zero.numel()
        scales += scale[~zero].tolist()
    if dropped == 0:
        fail(
            "in training mode the skip reaches self.conv unchanged in 40 calls: no dropout acts on it. Apply "
            "self.drop (a SpatialDropout2d(p) made in __init__) to skip before the concatenation."
        )
    check_whole_map_scale_and_rate(scales, dropped, maps, p, "skip maps")
    block.eval()
    conv_in, _, _ = _decoder_input(block, x, skip)
    if not torch.allclose(conv_in[:, channels:], skip, rtol=1e-5, atol=1e-6):
        fail(
            "in evaluation mode (block.eval()) the skip must pass unchanged: use a dropout module made in __init__, "
            "which follows the block's training flag, not a function called with training=True."
        )
    passed(
        "Correct: whole skip feature maps are dropped at rate p; the up-sampled path and evaluation mode are untouched."
    )


# ----------------------------------------------------------------------------- 8.3


def _mc_model():
    """A small network with BatchNorm (running statistics far from a batch's) and spatial dropout."""
    import spatialdrop_edu as sde

    torch.manual_seed(83)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        sde.SpatialDropout2d(0.5),
        nn.Conv2d(8, 1, 3, padding=1),
    )
    with torch.no_grad():
        model[1].running_mean.fill_(0.5)
        model[1].running_var.fill_(4.0)
    return model


def check_mc_predict(mc_predict) -> None:
    """Exercise 8.3: ``mc_predict(model, x, passes)`` runs ``passes`` passes with dropout on and BatchNorm off.

    A network with BatchNorm and spatial dropout is given in training mode (the usual state after
    training), with ``passes = 12`` and a batch of 6 images. The answer must return two things,
    ``(mean, std)``. Hooks record every pass: each BatchNorm must run in evaluation mode (its
    running statistics unchanged), each dropout layer in training mode, the network exactly
    ``passes`` times on the whole input (or on slices of it covering every input); the returned
    mean and standard deviation must have the output's shape; the passes must differ; and the
    mean and standard deviation must be those of the recorded outputs over the passes (``ddof``
    0 or 1, within 1e-5).

    Args:
        mc_predict: the learner's function ``(model, x, passes) -> (mean, std)``.

    Raises:
        ExerciseFailure: with feedback naming what was measured and the likely mistake.

    Examples::

        >>> check_mc_predict(lambda model, x, passes: None)
        ... # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        spatialdrop_edu.checks._harness.ExerciseFailure: mc_predict must return two
        tensors, (mean, std); got NoneType.
    """
    passes = 12
    model = _mc_model()
    model.train()
    bn, drop = model[1], model[3]
    stats = (bn.running_mean.clone(), bn.running_var.clone())
    modes, outputs = {"bn": [], "drop": []}, []
    hooks = [
        bn.register_forward_pre_hook(lambda m, i: modes["bn"].append(m.training)),
        drop.register_forward_pre_hook(lambda m, i: modes["drop"].append(m.training)),
        model.register_forward_hook(lambda m, i, o: outputs.append(o.detach().clone())),
    ]
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(84))
    torch.manual_seed(85)
    try:
        answer = run_student_code(mc_predict, model, x, passes, what="your mc_predict")
    finally:
        for h in hooks:
            h.remove()
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        fail(f"mc_predict must return two tensors, (mean, std); got {type(answer).__name__}.")
    mean, std = (as_array(a, "your mc_predict") for a in answer)
    if any(modes["bn"]):
        fail(
            f"BatchNorm ran in training mode in {sum(modes['bn'])} of {len(modes['bn'])} passes: model.train() "
            "switches on BatchNorm's batch statistics too (and updates its running averages). Call model.eval(), "
            "then .train() on the dropout layers only."
        )
    if not torch.equal(bn.running_mean, stats[0]) or not torch.equal(bn.running_var, stats[1]):
        fail("BatchNorm's running statistics changed during mc_predict: keep BatchNorm in evaluation mode.")
    if not modes["drop"] or not all(modes["drop"]):
        fail(
            f"the dropout layer ran in evaluation mode in {modes['drop'].count(False)} of {len(modes['drop'])} "
            "passes, so every pass gives the same output: after model.eval(), switch the dropout layers back on "
            "with .train()."
        )
    whole = [o for o in outputs if o.shape[0] == x.shape[0]]
    covered = sum(o.shape[0] for o in outputs)
    if covered != passes * x.shape[0]:
        fail(
            f"the model was run on {covered} inputs in total, expected passes × inputs = {passes} × {x.shape[0]}: "
            "run it once per pass on the whole input."
        )
    stacked = (
        torch.stack(whole)
        if len(whole) == passes
        else torch.stack(
            [torch.cat(outputs[i :: len(outputs) // passes]) for i in range(len(outputs) // passes)][:passes]
        )
    )
    if mean.shape != tuple(stacked.shape[1:]) or std.shape != tuple(stacked.shape[1:]):
        fail(
            f"mean and std must have the output's shape {tuple(stacked.shape[1:])} (one value per pixel), got "
            f"{mean.shape} and {std.shape}: average over the passes (the new first axis), dim=0."
        )
    if float(stacked.std(0).max()) == 0:
        fail("all passes gave the same output: the dropout layers were not active.")
    ref_mean = stacked.mean(0).numpy()
    if not np.allclose(mean, ref_mean, atol=1e-5):
        fail("the returned mean is not the average of the passes' outputs over the passes (dim=0).")
    for ddof in (0, 1):
        if np.allclose(std, stacked.std(0, unbiased=bool(ddof)).numpy(), atol=1e-5):
            passed("Correct: dropout on, BatchNorm in evaluation mode, and the mean and std of the passes.")
            return
    if np.allclose(std, stacked.var(0).numpy(), atol=1e-5):
        fail("you returned the variance; return the standard deviation (its square root).")
    fail("the returned std is not the per-pixel standard deviation of the passes' outputs over the passes (dim=0).")
