"""DropBlock1d/2d and drop_block: the two limits, block structure, the realised rate, the mean, graphs, arguments.

Bounds. Masks of different (sample, channel) maps are independent, units of one map are not; so statistics are
taken per map (iid across maps) and bounded by SIGMAS standard errors of that per-map statistic, measured from the
sample (``n`` is in the thousands, so the sample standard deviation is a sharp estimate of the true one). Where the
distribution is known exactly (block_size 1 or the whole map), the binomial bound of ``stats`` is used instead.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import spatialdrop_edu as sde
from spatialdrop_edu.layers.dropblock import block_gamma, expected_drop_fraction, keep_probability

from stats import SIGMAS, binomial_fraction_bound


def seeded(fn, *args, seed=0, **kwargs):
    torch.manual_seed(seed)
    return fn(*args, **kwargs)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def is_union_of_blocks(zero: torch.Tensor, block: int) -> bool:
    """True when every zero lies in a whole block x block square of zeros inside the map (morphological opening).

    Erosion (min over each b-window that fits) marks the top-left corners of all-zero blocks; dilating those
    corners back by the same window gives the union of all all-zero blocks. The zero mask is a union of blocks
    exactly when this opening gives it back.
    """
    z = zero.double()
    dims = z.dim() - 2
    pool = F.max_pool1d if dims == 1 else F.max_pool2d
    corners = -pool(-z, kernel_size=block, stride=1)
    opened = pool(F.pad(corners, [block - 1] * (2 * dims)), kernel_size=block, stride=1)
    return torch.equal(opened, z)


def per_map_drop_fraction(y: torch.Tensor) -> torch.Tensor:
    return (y == 0).double().flatten(2).mean(2).flatten()


# ----------------------------------------------------------------------------- gamma and the exact rate


@pytest.mark.parametrize("feat, block, p", [(14, 7, 0.1), (7, 3, 0.2), (28, 5, 0.05), (9, 9, 0.3), (10, 1, 0.4)])
def test_gamma_is_the_papers_formula_on_square_maps(feat, block, p):
    paper = p / block**2 * feat**2 / (feat - block + 1) ** 2
    assert block_gamma(p, block, (feat, feat)) == pytest.approx(paper, rel=1e-12)


def test_gamma_generalises_per_axis_and_clamps_the_block():
    assert block_gamma(0.2, 3, (6, 10)) == pytest.approx(0.2 * 6 / (3 * 4) * 10 / (3 * 8))
    assert block_gamma(0.2, 3, (10,)) == pytest.approx(0.2 * 10 / (3 * 8))
    assert block_gamma(0.2, 50, (6, 10)) == pytest.approx(0.2)  # clamped to the map: one seed per map
    for b in range(1, 12):
        assert 0 < block_gamma(0.3, b, (11, 7)) <= 0.3


@pytest.mark.parametrize("p, block, size", [(0.1, 7, (14, 14)), (0.3, 3, (8, 8)), (0.2, 5, (9, 13)), (0.1, 4, (20,))])
def test_paper_rate_overshoots_the_exact_rate_by_at_most_the_overlap_term(p, block, size):
    """The paper's gamma makes the expected number of dropped units per map p * map size if blocks never overlapped:
    gamma * sum_i c_i = p * units. The exact rate is 1 - mean (1 - gamma)^c_i; since
    1 - gamma c <= (1 - gamma)^c <= 1 - gamma c + C(c, 2) gamma^2, the paper's p overshoots it by a bias in
    [0, gamma^2 mean C(c_i, 2)]."""
    gamma = block_gamma(p, block, size)
    keep = keep_probability(p, block, size)
    covers = np.round(np.log(keep) / np.log1p(-gamma)).astype(int)
    assert gamma * covers.mean() == pytest.approx(p)  # no overlap: exactly p
    bias = p - expected_drop_fraction(p, block, size)
    assert 0 <= bias <= gamma**2 * (covers * (covers - 1) / 2).mean() + 1e-15
    assert bias < 0.2 * p  # measured: 4% to 15% of p at these sizes (more for large p and small maps)


def test_border_units_are_dropped_less_often_than_the_middle():
    k = keep_probability(0.2, 5, (12, 12))
    assert k[0, 0] == k.max() and k[6, 6] == k.min() and k[0, 0] > k[6, 6]
    assert np.allclose(k, k.T) and np.allclose(k, k[::-1, ::-1])


# ----------------------------------------------------------------------------- the two limits


def test_block_size_one_is_element_dropout():
    p, shape = 0.3, (64, 16, 12, 12)
    y = sde.drop_block(torch.ones(shape), p, block_size=1, generator=gen(1))
    zero = y == 0
    units = zero.numel()
    assert abs(zero.double().mean().item() - p) <= binomial_fraction_bound(p, units)
    kept = y[~zero]
    assert torch.allclose(kept, kept[0].expand_as(kept))  # one scale for every kept unit
    # no spatial structure: a unit and its right neighbour are both dropped with probability p^2
    both = (zero[..., :, 1:] & zero[..., :, :-1]).double()
    # pairs (i, i+1) and (i+1, i+2) share a unit, so the pair indicators are not independent: use every other pair
    both = both[..., :, ::2]
    assert abs(both.mean().item() - p**2) <= binomial_fraction_bound(p**2, both.numel())


@pytest.mark.parametrize("block", [12, 13, 100])
def test_a_block_covering_the_map_is_spatial_dropout(block):
    p, shape = 0.4, (256, 16, 12, 12)
    y = sde.drop_block(torch.ones(shape), p, block_size=block, generator=gen(2))
    zero = (y == 0).flatten(2)
    assert torch.equal(zero.all(2), zero.any(2))  # each channel all kept or all zero
    maps = zero.all(2).double()
    assert abs(maps.mean().item() - p) <= binomial_fraction_bound(p, maps.numel())
    clamped = sde.drop_block(torch.ones(shape), p, block_size=12, generator=gen(2))
    assert torch.equal(y, clamped)  # a larger block is clamped to the map


def test_1d_limits():
    p = 0.25
    y = sde.drop_block(torch.ones(128, 8, 30), p, block_size=1, spatial_dims=1, generator=gen(3))
    assert abs((y == 0).double().mean().item() - p) <= binomial_fraction_bound(p, y.numel())
    y = sde.DropBlock1d(p, block_size=30)(torch.ones(128, 8, 30))
    zero = y == 0
    assert torch.equal(zero.all(2), zero.any(2))


# ----------------------------------------------------------------------------- structure and rate


@pytest.mark.parametrize("block, size", [(3, (12, 12)), (4, (11, 9)), (7, (14, 14)), (2, (5, 8))])
def test_every_zero_lies_in_a_whole_block_inside_the_map(block, size):
    y = sde.drop_block(torch.ones(32, 8, *size), 0.3, block_size=block, generator=gen(4))
    zero = y == 0
    assert zero.any() and is_union_of_blocks(zero, block)
    assert not is_union_of_blocks(zero, block + 1) or block + 1 > min(size)  # and not of larger blocks, in general


@pytest.mark.parametrize("block", [2, 3, 5])
def test_1d_zeros_come_in_whole_runs(block):
    y = sde.DropBlock1d(0.3, block)(torch.ones(64, 8, 25))
    zero = y == 0
    assert zero.any() and is_union_of_blocks(zero, block)


def test_the_opening_check_catches_a_lone_zero():
    z = torch.zeros(1, 1, 6, 6, dtype=torch.bool)
    z[..., 1:4, 1:4] = True
    assert is_union_of_blocks(z, 3)
    z[..., 5, 5] = True
    assert not is_union_of_blocks(z, 3)


@pytest.mark.parametrize("p, block, size", [(0.1, 7, (14, 14)), (0.3, 3, (8, 8)), (0.2, 4, (9, 13)), (0.15, 5, (40,))])
def test_realised_drop_fraction_matches_the_exact_rate_not_p(p, block, size):
    """Per-map drop fractions are iid across maps: their mean is the exact rate within SIGMAS standard errors."""
    dims = len(size)
    y = sde.drop_block(torch.ones(512, 16, *size), p, block_size=block, spatial_dims=dims, generator=gen(5))
    fractions = per_map_drop_fraction(y)
    bound = SIGMAS * fractions.std().item() / math.sqrt(fractions.numel())
    exact = expected_drop_fraction(p, block, size)
    assert abs(fractions.mean().item() - exact) <= bound
    assert exact <= p


def test_keep_probability_map_matches_the_measured_one():
    p, block, size = 0.2, 3, (8, 8)
    y = sde.drop_block(torch.ones(2048, 8, *size), p, block_size=block, generator=gen(6))
    measured = (y != 0).double().mean((0, 1)).numpy()
    k = keep_probability(p, block, size)
    n = 2048 * 8
    assert np.all(np.abs(measured - k) <= SIGMAS * np.sqrt(k * (1 - k) / n))


# ----------------------------------------------------------------------------- the mean


def test_mean_of_ones_is_exactly_one_per_call():
    """count(M) / count_ones(M) rescales by the realised kept fraction: the whole tensor's mean is kept exactly."""
    for seed in range(5):
        y = sde.drop_block(torch.ones(8, 4, 10, 10, dtype=torch.float64), 0.3, 3, generator=gen(seed))
        assert (y == 0).any() and y.mean().item() == pytest.approx(1.0, abs=1e-12)


def test_expected_output_is_input_for_block_size_one():
    x = torch.rand(1, 4, 6, 6) + 0.5
    draws = torch.stack([sde.drop_block(x.expand(64, -1, -1, -1), 0.3, 1, generator=gen(s)) for s in range(100)])
    mean = draws.double().mean((0, 1))
    n = 100 * 64
    assert torch.all((mean - x[0].double()).abs() <= SIGMAS * x[0].double() * math.sqrt(0.3 / 0.7 / n) * 1.05)


def test_expected_output_is_input_times_keep_probability_over_its_mean():
    """E[y_i] = x_i k_i / mean(k): the mean is preserved over the map, not at every position (the border is
    dropped less and so scaled up on average). Tested per position within SIGMAS standard errors."""
    p, block, size = 0.2, 3, (7, 7)
    x = torch.rand(1, 1, *size, dtype=torch.float64) + 0.5
    batch = x.expand(4096, 8, -1, -1)
    y = sde.drop_block(batch, p, block, generator=gen(7))
    k = torch.from_numpy(keep_probability(p, block, size))
    expected = x[0, 0] * k / k.mean()
    samples = y.flatten(0, 1)
    err = SIGMAS * samples.std(0) / math.sqrt(samples.shape[0])
    assert torch.all((samples.mean(0) - expected).abs() <= err + 1e-12)
    assert not torch.allclose(expected, x[0, 0], rtol=0.02)  # and that is not the input


# ----------------------------------------------------------------------------- layouts, graphs, schedules


def test_channels_last_is_channels_first_transposed_under_one_seed():
    x = torch.randn(4, 6, 9, 7)
    first = sde.drop_block(x, 0.3, 3, generator=gen(8))
    last = sde.drop_block(x.permute(0, 2, 3, 1), 0.3, 3, data_format="channels_last", generator=gen(8))
    assert torch.equal(last, first.permute(0, 2, 3, 1))
    m_first, m_last = sde.DropBlock2d(0.3, 3).train(), sde.DropBlock2d(0.3, 3, data_format="channels_last").train()
    assert torch.equal(seeded(m_last, x.permute(0, 2, 3, 1)), seeded(m_first, x).permute(0, 2, 3, 1))
    x1 = torch.randn(4, 6, 20)
    y1 = seeded(sde.DropBlock1d(0.3, 4, data_format="channels_last"), x1.transpose(1, 2))
    assert torch.equal(y1, seeded(sde.DropBlock1d(0.3, 4), x1).transpose(1, 2))


def test_layer_matches_functional_and_generator_reproduces():
    x = torch.randn(3, 5, 8, 8)
    assert torch.equal(seeded(sde.DropBlock2d(0.2, 3), x), seeded(sde.drop_block, x, 0.2, 3))
    assert torch.equal(sde.drop_block(x, 0.2, 3, generator=gen(9)), sde.drop_block(x, 0.2, 3, generator=gen(9)))
    assert not torch.equal(sde.drop_block(x, 0.2, 3, generator=gen(9)), sde.drop_block(x, 0.2, 3, generator=gen(10)))


def test_identity_in_eval_and_with_p_zero_and_zeros_with_p_one():
    x = torch.randn(2, 3, 6, 6)
    assert sde.DropBlock2d(0.5, 3).eval()(x) is x
    assert sde.drop_block(x, 0.0, 3) is x and sde.drop_block(x, 0.5, 3, training=False) is x
    assert torch.equal(sde.drop_block(x, 1.0, 3), torch.zeros_like(x))
    z = x.clone()
    assert sde.drop_block(z, 0.5, 3, inplace=True, generator=gen(1)) is z
    assert torch.equal(z, sde.drop_block(x, 0.5, 3, generator=gen(1)))


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: sde.DropBlock2d(0.3, 3), (2, 4, 9, 9)),
        (lambda: sde.DropBlock2d(0.3, 4, data_format="channels_last"), (2, 9, 8, 4)),
        (lambda: sde.DropBlock1d(0.3, 3), (2, 4, 16)),
    ],
)
def test_torch_compile_fullgraph_and_jit_trace(make, shape):
    torch.compiler.reset()
    model = torch.nn.Sequential(make(), torch.nn.ReLU()).train()
    x = torch.randn(shape)
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    assert torch.equal(seeded(compiled, x), seeded(model, x))
    with torch.no_grad():
        traced = seeded(torch.jit.trace, model, x, check_trace=False)
    y, want = seeded(traced, x), seeded(model, x)
    # the same blocks; the scale count/count_ones may differ in the last bit (the trace divides tensor by tensor)
    assert torch.equal(y == 0, want == 0) and (y == 0).any() and torch.allclose(y, want, rtol=1e-6, atol=0)


def test_linear_schedule_and_setting_p_on_a_model():
    assert [sde.linear_drop_schedule(s, 10, 0.2) for s in (0, 5, 10, 20)] == pytest.approx([0, 0.1, 0.2, 0.2])
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3),
        sde.DropBlock2d(0.0, 3),
        torch.nn.Sequential(sde.DropBlock1d(0.0, 3)),
        sde.Dropout(0.5),
    )
    assert sde.set_drop_rate(model, 0.15) == 2
    assert model[1].p == 0.15 and model[2][0].p == 0.15 and model[3].p == 0.5
    with pytest.raises(ValueError, match="p must be a probability"):
        sde.set_drop_rate(model, 1.5)
    with pytest.raises(ValueError, match="step must be a non-negative int"):
        sde.linear_drop_schedule(-1, 10, 0.1)
    with pytest.raises(ValueError, match="total_steps must be a positive int"):
        sde.linear_drop_schedule(1, 0, 0.1)
    with pytest.raises(ValueError, match="final_p must be a probability"):
        sde.linear_drop_schedule(1, 10, 2.0)


# ----------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: sde.DropBlock2d(1.5), ValueError, "p must be a probability"),
        (lambda: sde.DropBlock2d("0.1"), TypeError, "p must be a real number"),
        (lambda: sde.DropBlock2d(float("nan")), ValueError, "p must be a probability"),
        (lambda: sde.DropBlock2d(0.1, 0), ValueError, "block_size must be a positive int"),
        (lambda: sde.DropBlock2d(0.1, 2.5), TypeError, "block_size must be a positive int"),
        (lambda: sde.DropBlock2d(0.1, True), TypeError, "block_size must be a positive int"),
        (lambda: sde.DropBlock1d(0.1, 3, "channels_last"), TypeError, "inplace must be True or False"),
        (lambda: sde.DropBlock2d(0.1, 3, data_format="NHWC"), ValueError, "data_format must be"),
        (lambda: sde.drop_block(torch.ones(2, 3, 5, 5), 0.1, -3), ValueError, "block_size must be a positive int"),
        (lambda: sde.drop_block(torch.ones(2, 3, 5, 5), -0.1, 3), ValueError, "p must be a probability"),
        (
            lambda: sde.drop_block(torch.ones(2, 3, 5, 5), 0.1, 3, spatial_dims=3),
            ValueError,
            "spatial_dims must be 1 or 2",
        ),
        (lambda: sde.drop_block(torch.ones(2, 3, 5, 5), 0.1, 3, generator=0), TypeError, "generator must be None"),
        (lambda: sde.drop_block(torch.ones(3, 5, 5), 0.1, 3), ValueError, "batched rank-4 input"),
        (lambda: sde.drop_block(torch.ones(2, 3, 5, 5, dtype=torch.long), 0.1, 3), TypeError, "floating-point"),
        (lambda: sde.drop_block([[1.0]], 0.1, 3), TypeError, "input must be a torch.Tensor"),
        (lambda: sde.DropBlock1d(0.1, 3)(torch.ones(2, 3, 4, 4)), ValueError, r"DropBlock1d needs a batched rank-3"),
        (
            lambda: sde.DropBlock2d(0.1, 3, data_format="channels_last")(torch.ones(3, 4, 4)),
            ValueError,
            r"\(N, H, W, C\)",
        ),
        (lambda: block_gamma(0.1, 3, (0, 4)), ValueError, "size must be"),
    ],
)
def test_bad_arguments_are_refused_with_a_message_naming_them(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_setting_a_bad_p_later_is_refused():
    m = sde.DropBlock2d(0.1, 3)
    with pytest.raises(ValueError, match="p must be a probability"):
        m.p = 2.0
    assert m.p == 0.1


def _centred_blocks(width: int, b: int) -> set:
    """The blocks Google's reference code drops (tensorflow/tpu, resnet_model.py, ``dropblock``), one seed at a time:
    seeds on the valid centres (``b // 2 <= i < width - (b - 1) // 2``), grown by a min-pooling with TensorFlow's
    'SAME' padding ((k - 1) // 2 before, k // 2 after), or over the whole map when the block is as large as it."""
    b = min(b, width)
    i = np.arange(width)
    valid = np.flatnonzero((i >= b // 2) & (i < width - (b - 1) // 2))
    blocks = set()
    for cy in valid:
        for cx in valid:
            pattern = np.ones((width, width))
            pattern[cy, cx] = 0.0
            if b == width:
                out = np.full((width, width), pattern.min())
            else:
                pad = np.pad(pattern, ((b - 1) // 2, b // 2), constant_values=np.inf)
                out = np.array([[pad[y : y + b, x : x + b].min() for x in range(width)] for y in range(width)])
            blocks.add(tuple(np.flatnonzero(out == 0)))
    return blocks


def _corner_blocks(width: int, b: int) -> set:
    """The blocks this package drops, one seed at a time, each seed on a valid top-left corner."""
    b = min(b, width)
    n = width - b + 1
    blocks = set()
    for y in range(n):
        for x in range(n):
            seeds = torch.zeros(1, 1, n, n)
            seeds[0, 0, y, x] = 1.0
            dropped = F.max_pool2d(F.pad(seeds, [b - 1] * 4), kernel_size=b, stride=1)[0, 0]
            blocks.add(tuple(np.flatnonzero(dropped.numpy().ravel() == 1)))
    return blocks


@pytest.mark.parametrize("width", [7, 8, 12])
def test_corners_and_googles_centres_give_the_same_blocks(width):
    """The module docstring's claim: seeds on valid top-left corners (this package) and on valid centres (Google's
    reference code) are in one-to-one correspondence, each seed dropping one of the (s - b + 1)^2 blocks that fit, so
    the two draw the same distribution of masks; for odd and even block sizes alike."""
    for b in range(1, width + 3):
        corners, centres = _corner_blocks(width, b), _centred_blocks(width, b)
        assert corners == centres, (width, b)
        assert len(corners) == (width - min(b, width) + 1) ** 2


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.3, 0.5, 0.6])
@pytest.mark.parametrize("block, size", [(3, (16, 16)), (3, (4, 4)), (3, (32, 32)), (5, (40,)), (1, (8, 8))])
def test_rate_for_drop_fraction_inverts_the_exact_rate(fraction, block, size):
    from spatialdrop_edu.layers.dropblock import rate_for_drop_fraction

    p = rate_for_drop_fraction(fraction, block, size)
    assert expected_drop_fraction(p, block, size) == pytest.approx(fraction, abs=1e-8)
    assert p >= fraction  # overlaps: DropBlock needs a larger p for the same share
    assert rate_for_drop_fraction(0.0, block, size) == 0.0


def test_rate_for_drop_fraction_refuses_bad_input():
    from spatialdrop_edu.layers.dropblock import rate_for_drop_fraction

    with pytest.raises(ValueError, match="fraction"):
        rate_for_drop_fraction(1.5, 3, (8, 8))
    # below p = 1, blocks of 3 on 16 x 16 maps never drop 80% in expectation
    with pytest.raises(ValueError, match="fraction must be at most 0.62"):
        rate_for_drop_fraction(0.8, 3, (16, 16))
    assert rate_for_drop_fraction(1.0, 3, (16, 16)) == 1.0
    with pytest.raises(ValueError, match="size"):
        rate_for_drop_fraction(0.3, 3, ())
