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

from ._harness import ExerciseFailure, attempt, fail, failed, outcome, reference_answer, run_check, run_student_code
from ._measures import ArrayPool, as_array, check_whole_map_scale_and_rate, pooled

__all__ = ["check_psnr", "check_skip_dropout", "check_mc_predict"]


def _tensor(array) -> torch.Tensor:
    """A reported array as a tensor of its own (reported arrays are read-only)."""
    return torch.from_numpy(np.array(array))


# ----------------------------------------------------------------------------- 8.1


def _psnr_inputs(seed: int | None) -> tuple[list, int]:
    """Exercise 8.1's 40 pairs (estimate, target, range) and the seed of the exact pair: the checker's own, or drawn
    from the grader's seed (same shapes, ranges and error sizes)."""
    rng = np.random.default_rng(81 if seed is None else seed)
    cases = []
    for k in range(40):
        shape = [(4, 1, 8, 8), (2, 1, 16, 16), (3, 5), (64,)][k % 4]
        data_range = [1.0, 1.0, 255.0, 2.0][k % 4]
        target = rng.uniform(0, data_range, shape)
        scale = data_range * 10 ** rng.uniform(-3, -0.5)
        cases.append((target + rng.normal(0, scale, shape), target, data_range))
    return cases, 8 if seed is None else int(rng.integers(2**31))


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
    run_check(probe_psnr, judge_psnr, psnr)


def probe_psnr(psnr, *, seed=None) -> dict:
    """Exercise 8.1's probe: the learner's PSNR of each pair, then of an exact estimate."""
    cases, exact_seed = _psnr_inputs(seed)
    calls, exact = [], None
    for estimate, target, data_range in cases:
        calls.append(
            attempt(psnr, torch.tensor(estimate), torch.tensor(target), data_range, what="your psnr", convert=as_array)
        )
        if failed(calls[-1]):
            break
    else:
        same = torch.rand(2, 1, 4, 4, generator=torch.Generator().manual_seed(exact_seed))
        exact = attempt(psnr, same.clone(), same, 1.0, what="your psnr", convert=as_array)
    return {"calls": calls, "exact": exact}


def _psnr_mistake(value: float, estimate, target, data_range: float, expected: float) -> str:
    """The typical mistake a wrong PSNR matches, or ``""``."""
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
        "you used the sum of squared errors, not their mean": 10 * math.log10(data_range**2 / (mse * estimate.size)),
    }
    for eps in (1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12):
        guesses.setdefault(
            f"you added a small constant ({eps:g}?) to the MSE; it caps the PSNR and shifts it when "
            "the error is small: divide by the MSE itself",
            10 * math.log10(data_range**2 / (mse + eps)),
        )
    return next((g for g, v in guesses.items() if math.isclose(value, v, abs_tol=1e-3)), "")


def judge_psnr(data: dict, seed: int | None) -> str:
    """Exercise 8.1's judge: one number per pair, equal to the PSNR; ``+inf`` for an exact estimate."""
    cases, _ = _psnr_inputs(seed)
    for (estimate, target, data_range), call in zip(cases, data["calls"]):
        value = np.asarray(outcome(call), dtype=float)
        if value.size != 1:
            fail(
                f"psnr must return one number for the whole batch, got an array of shape {value.shape}: average the "
                "squared error over every pixel of every image, then take the logarithm."
            )
        value, expected = float(value.ravel()[0]), _formula(estimate, target, data_range)
        if math.isclose(value, expected, abs_tol=1e-3):
            continue
        hint = _psnr_mistake(value, estimate, target, data_range, expected)
        mse = float(np.mean((estimate - target) ** 2))
        fail(
            f"for an error with MSE {mse:.3g} and range R = {data_range:g}, your psnr gave {value:.3f} dB, expected "
            f"10 log10(R^2 / MSE) = {expected:.3f} dB." + (f" It looks like {hint}." if hint else "")
        )
    if len(data["calls"]) != len(cases):
        raise ValueError("the report has the wrong number of answers")
    value = float(np.asarray(outcome(data["exact"]), dtype=float).ravel()[0])
    if not (math.isinf(value) and value > 0):
        fail(
            f"for an exact estimate (MSE = 0) your psnr gave {value}, expected inf: do not add a small constant to "
            "the MSE (it caps the PSNR)."
        )
    return "Correct: PSNR = 10 log10(R^2 / MSE) at every point tested, and inf for an exact estimate."


# ----------------------------------------------------------------------------- 8.2

#: Channels of exercise 8.2's block, and its training calls (the rate bound is a binomial over their maps).
_SKIP_CHANNELS, _SKIP_CALLS = 8, 40


def _skip_inputs(seed: int | None) -> tuple[float, torch.Tensor, torch.Tensor, list[int]]:
    """Exercise 8.2's drop rate, ``x``, ``skip`` and the torch seed of each training call: the checker's own, or
    drawn from the grader's seed."""
    if seed is None:
        p, data_seed, first_call = 0.4, 82, 800
    else:
        rng = np.random.default_rng(seed)
        p = round(float(rng.uniform(0.25, 0.6)), 2)
        data_seed, first_call = (int(s) for s in rng.integers(2**31, size=2))
    gen, channels = torch.Generator().manual_seed(data_seed), _SKIP_CHANNELS
    x, skip = torch.randn(8, 2 * channels, 4, 4, generator=gen), torch.randn(8, channels, 8, 8, generator=gen) + 0.1
    return p, x, skip, [first_call + call for call in range(_SKIP_CALLS)]


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


def _skip_seen(block, x, skip, pool: ArrayPool) -> dict:
    """One run of the learner's block as a record: the shape of ``conv``'s input and, if it is the expected one, its
    two halves (the first pooled) and the output of ``up`` (pooled)."""
    try:
        conv_in, up, _ = _decoder_input(block, x, skip)
    except ExerciseFailure as failure:
        return {"failure": str(failure)}
    seen = {"shape": list(conv_in.shape)}
    if tuple(conv_in.shape) == (len(x), 2 * _SKIP_CHANNELS, *skip.shape[2:]):
        first, second = conv_in[:, :_SKIP_CHANNELS].contiguous(), conv_in[:, _SKIP_CHANNELS:].contiguous()
        seen |= {"up": pool.index(up), "first": pool.index(first), "second": second}
    return {"value": seen}


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
    run_check(probe_skip_dropout, judge_skip_dropout, block_class)


def probe_skip_dropout(block_class, *, seed=None) -> dict:
    """Exercise 8.2's probe: what reached the block's ``conv`` in each training call, then in evaluation mode."""
    p, x, skip, call_seeds = _skip_inputs(seed)
    block = run_student_code(block_class, _SKIP_CHANNELS, p, what="your block's constructor")
    if not isinstance(block, nn.Module) or not hasattr(block, "up") or not hasattr(block, "conv"):
        fail("the block must be a torch.nn.Module that keeps the given self.up and self.conv layers.")
    block.train()
    pool, calls, evaluation = ArrayPool(), [], None
    for call_seed in call_seeds:
        torch.manual_seed(call_seed)
        calls.append(_skip_seen(block, x, skip, pool))
        if failed(calls[-1]):
            break
    else:
        block.eval()
        evaluation = _skip_seen(block, x, skip, pool)
    return {"calls": calls, "eval": evaluation, "pool": pool.arrays}


def _check_skip_call(seen: dict, pool: list, skip: torch.Tensor) -> tuple[torch.Tensor, list[float]]:
    """One training call's verdict: ``up(x)`` first and unchanged, the skip second with whole maps zeroed or
    scaled; which skip maps were zeroed, and the scale of each kept one."""
    channels = _SKIP_CHANNELS
    if tuple(seen["shape"]) != (8, 2 * channels, 8, 8):
        fail(
            f"self.conv receives shape {tuple(seen['shape'])}, expected (8, {2 * channels}, 8, 8): concatenate "
            "up(x) and the skip along the channel axis (dim=1)."
        )
    up, first, second = pooled(pool, seen["up"]), pooled(pool, seen["first"]), _tensor(seen["second"])
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
    return zero, scale[~zero].tolist()


def judge_skip_dropout(data: dict, seed: int | None) -> str:
    """Exercise 8.2's judge: what reaches the conv from up(x) and from the skip, in training and in eval mode."""
    p, _, skip, call_seeds = _skip_inputs(seed)
    pool = [_tensor(a) for a in data["pool"]]
    dropped, maps, scales = 0, 0, []
    for record in data["calls"]:
        zero, kept_scales = _check_skip_call(outcome(record), pool, skip)
        dropped += int(zero.sum())
        maps += zero.numel()
        scales += kept_scales
    if len(data["calls"]) != len(call_seeds):
        raise ValueError("the report has the wrong number of training calls")
    if dropped == 0:
        fail(
            "in training mode the skip reaches self.conv unchanged in 40 calls: no dropout acts on it. Apply "
            "self.drop (a SpatialDropout2d(p) made in __init__) to skip before the concatenation."
        )
    check_whole_map_scale_and_rate(scales, dropped, maps, p, "skip maps")
    seen = outcome(data["eval"])
    if not torch.allclose(_tensor(seen["second"]), skip, rtol=1e-5, atol=1e-6):
        fail(
            "in evaluation mode (block.eval()) the skip must pass unchanged: use a dropout module made in __init__, "
            "which follows the block's training flag, not a function called with training=True."
        )
    return (
        "Correct: whole skip feature maps are dropped at rate p; the up-sampled path and evaluation mode are untouched."
    )


# ----------------------------------------------------------------------------- 8.3


def _mc_model(init_seed: int = 83, bn_mean: float = 0.5, bn_var: float = 4.0):
    """A small network with BatchNorm (running statistics far from a batch's) and spatial dropout."""
    import spatialdrop_edu as sde

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        model = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            sde.SpatialDropout2d(0.5),
            nn.Conv2d(8, 1, 3, padding=1),
        )
    with torch.no_grad():
        model[1].running_mean.fill_(bn_mean)
        model[1].running_var.fill_(bn_var)
    return model


def _mc_inputs(seed: int | None) -> tuple[int, nn.Module, torch.Tensor, int]:
    """Exercise 8.3's number of passes, network (in training mode), batch and the seed of PyTorch's global generator
    before the passes: the checker's own, or drawn from the grader's seed."""
    if seed is None:
        passes, init_seed, data_seed, draws, bn_mean, bn_var = 12, 83, 84, 85, 0.5, 4.0
    else:
        rng = np.random.default_rng(seed)
        passes = int(rng.integers(8, 17))
        init_seed, data_seed, draws = (int(s) for s in rng.integers(2**31, size=3))
        bn_mean, bn_var = round(float(rng.uniform(0.3, 0.8)), 2), round(float(rng.uniform(2.0, 6.0)), 1)
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(data_seed))
    return passes, _mc_model(init_seed, bn_mean, bn_var).train(), x, draws


def _mean_and_std(answer, what: str) -> list[np.ndarray]:
    """What ``mc_predict`` returned, as two arrays; feedback if it is not two things."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        fail(f"mc_predict must return two tensors, (mean, std); got {type(answer).__name__}.")
    return [as_array(a, what) for a in answer]


def check_mc_predict(mc_predict) -> None:
    """Exercise 8.3: ``mc_predict(model, x, passes)`` runs ``passes`` passes with dropout on and BatchNorm off.

    A network with BatchNorm and spatial dropout is given in training mode (the usual state after
    training), with ``passes = 12`` and a batch of 6 images. The answer must return two things,
    ``(mean, std)``. Hooks record every pass: each BatchNorm must run in evaluation mode (its
    running statistics unchanged), each dropout layer in training mode, the network exactly
    ``passes`` times on the whole input (or on slices of it covering every input); the returned
    mean and standard deviation must have the output's shape; the passes must differ; and the
    mean and standard deviation must be those of the recorded outputs over the passes (``ddof``
    0 or 1, within 1e-5); and each recorded output must be one the given network gives with
    BatchNorm in evaluation mode and whole feature maps dropped (within 1e-4).

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
    run_check(probe_mc_predict, judge_mc_predict, mc_predict)


def probe_mc_predict(mc_predict, *, seed=None) -> dict:
    """Exercise 8.3's probe: mc_predict's answer, the modes and outputs of each run, BatchNorm's statistics after."""
    passes, model, x, draws = _mc_inputs(seed)
    bn, drop = model[1], model[3]
    modes, outputs = {"bn": [], "drop": []}, []
    hooks = [
        bn.register_forward_pre_hook(lambda m, i: modes["bn"].append(m.training)),
        drop.register_forward_pre_hook(lambda m, i: modes["drop"].append(m.training)),
        model.register_forward_hook(lambda m, i, o: outputs.append(o.detach().clone())),
    ]
    torch.manual_seed(draws)
    try:
        answer = attempt(mc_predict, model, x, passes, what="your mc_predict", convert=_mean_and_std)
    finally:
        for h in hooks:
            h.remove()
    rows = [int(o.shape[0]) for o in outputs]
    return {
        "answer": answer,
        "bn_modes": modes["bn"],
        "drop_modes": modes["drop"],
        "running": [bn.running_mean, bn.running_var],
        "rows": rows,
        "outputs": outputs if sum(rows) == passes * len(x) else None,  # else the judge needs their rows only
    }


def _passes_stacked(outputs: list, passes: int, inputs: int) -> torch.Tensor:
    """The recorded outputs as one tensor, passes first: whole-batch outputs stacked, or slices joined."""
    outputs = [_tensor(o) for o in outputs]
    whole = [o for o in outputs if o.shape[0] == inputs]
    if len(whole) == passes:
        return torch.stack(whole)
    k = len(outputs) // passes
    return torch.stack([torch.cat(outputs[i::k]) for i in range(k)][:passes])


def _mask_outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The network's output on each input for every mask of whole feature maps its dropout can draw, BatchNorm in
    evaluation mode (float64): shape (inputs, masks, *output)."""
    conv1, bn, _, drop, conv2 = model
    with torch.no_grad():
        maps = torch.relu(
            nn.functional.batch_norm(
                nn.functional.conv2d(x.double(), conv1.weight.double(), conv1.bias.double(), padding=1),
                bn.running_mean.double(),
                bn.running_var.double(),
                bn.weight.double(),
                bn.bias.double(),
                eps=bn.eps,
            )
        )
        weight = conv2.weight.double()
        parts = torch.stack(
            [nn.functional.conv2d(maps[:, c : c + 1], weight[:, c : c + 1], padding=1) for c in range(maps.shape[1])],
            dim=1,
        )  # each map's share of the output: (inputs, maps, *output)
        channels = maps.shape[1]
        masks = torch.tensor([[(m >> c) & 1 for c in range(channels)] for m in range(2**channels)], dtype=torch.float64)
        return torch.einsum("mc,nc...->nm...", masks / (1 - drop.p), parts) + conv2.bias.double().view(1, 1, -1, 1, 1)


def _outputs_are_the_networks(stacked: torch.Tensor, model: nn.Module, x: torch.Tensor) -> bool:
    """Whether every pass's output on every input is the network's with BatchNorm in evaluation mode and one of the
    masks its dropout can draw."""
    candidates = _mask_outputs(model, x)  # (inputs, masks, *output)
    if stacked.shape[1:] != (len(x), *candidates.shape[2:]):
        return False
    got = stacked.double().unsqueeze(2)  # (passes, inputs, 1, *output)
    close = (got - candidates).abs() <= 1e-4 + 1e-4 * candidates.abs()
    return bool(close.flatten(3).all(-1).any(-1).all())


def judge_mc_predict(data: dict, seed: int | None) -> str:
    """Exercise 8.3's judge: the modes the network ran in, its runs, and the returned mean and std of their outputs."""
    passes, model, x, _ = _mc_inputs(seed)
    mean, std = (np.asarray(a, dtype=float) for a in outcome(data["answer"]))
    bn_modes, drop_modes = [bool(m) for m in data["bn_modes"]], [bool(m) for m in data["drop_modes"]]
    if any(bn_modes):
        fail(
            f"BatchNorm ran in training mode in {sum(bn_modes)} of {len(bn_modes)} passes: model.train() "
            "switches on BatchNorm's batch statistics too (and updates its running averages). Call model.eval(), "
            "then .train() on the dropout layers only."
        )
    running_mean, running_var = (_tensor(a) for a in data["running"])
    if not torch.equal(running_mean, model[1].running_mean) or not torch.equal(running_var, model[1].running_var):
        fail("BatchNorm's running statistics changed during mc_predict: keep BatchNorm in evaluation mode.")
    if not drop_modes or not all(drop_modes):
        fail(
            f"the dropout layer ran in evaluation mode in {drop_modes.count(False)} of {len(drop_modes)} "
            "passes, so every pass gives the same output: after model.eval(), switch the dropout layers back on "
            "with .train()."
        )
    rows = [int(r) for r in data["rows"]]
    if sum(rows) != passes * len(x):
        fail(
            f"the model was run on {sum(rows)} inputs in total, expected passes × inputs = {passes} × {len(x)}: "
            "run it once per pass on the whole input."
        )
    if [len(o) for o in data["outputs"]] != rows:
        raise ValueError("the report's outputs do not have the rows it names")
    stacked = _passes_stacked(data["outputs"], passes, len(x))
    if mean.shape != tuple(stacked.shape[1:]) or std.shape != tuple(stacked.shape[1:]):
        fail(
            f"mean and std must have the output's shape {tuple(stacked.shape[1:])} (one value per pixel), got "
            f"{mean.shape} and {std.shape}: average over the passes (the new first axis), dim=0."
        )
    if float(stacked.std(0).max()) == 0:
        fail("all passes gave the same output: the dropout layers were not active.")
    if not np.allclose(mean, stacked.mean(0).numpy(), atol=1e-5):
        fail("the returned mean is not the average of the passes' outputs over the passes (dim=0).")
    if not any(np.allclose(std, stacked.std(0, unbiased=bool(ddof)).numpy(), atol=1e-5) for ddof in (0, 1)):
        if np.allclose(std, stacked.var(0).numpy(), atol=1e-5):
            fail("you returned the variance; return the standard deviation (its square root).")
        fail("the returned std is not the per-pixel standard deviation of the passes' outputs over the passes (dim=0).")
    if not _outputs_are_the_networks(stacked, model, x):
        fail(
            "the passes' outputs are not the given network's on x, with BatchNorm in evaluation mode and whole "
            "feature maps dropped: run the model itself, as it was given, once per pass."
        )
    return "Correct: dropout on, BatchNorm in evaluation mode, and the mean and std of the passes."
