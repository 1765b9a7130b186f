"""PyTorch layers: properties over shapes, layouts and rates; equality with torch.nn.functional; bad input."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import spatialdrop_edu as sde
from spatialdrop_edu import (
    Dropout,
    SpatialDropout1d,
    SpatialDropout2d,
    SpatialDropout3d,
    dropout,
    layer_mask,
    spatial_dropout,
)

from stats import binomial_fraction_bound, inverted_mean_bound

LAYERS = {1: SpatialDropout1d, 2: SpatialDropout2d, 3: SpatialDropout3d}
NATIVE = {1: F.dropout1d, 2: F.dropout2d, 3: F.dropout3d}
FORMATS = ["channels_first", "channels_last"]
rates = st.sampled_from([0.0, 0.05, 0.3, 0.5, 0.9, 1.0])


@st.composite
def spatial_inputs(draw):
    """(spatial_dims, data_format, shape, batched): every layout the spatial layers accept."""
    dims = draw(st.sampled_from([1, 2, 3]))
    fmt = draw(st.sampled_from(FORMATS))
    batched = dims == 2 or draw(st.booleans())
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    spatial = draw(st.lists(st.integers(1, 4), min_size=dims, max_size=dims))
    inner = [c, *spatial] if fmt == "channels_first" else [*spatial, c]
    return dims, fmt, tuple([n, *inner] if batched else inner), batched


def channel_view(t, dims, fmt, batched):
    """Reshape to (samples, channels, positions) so spatial constancy is easy to check."""
    if not batched:
        t = t.unsqueeze(0)
    if fmt == "channels_last":
        t = t.movedim(-1, 1)
    return t.reshape(t.shape[0], t.shape[1], -1)


@given(spatial_inputs(), rates, st.integers(0, 2**31))
def test_mask_is_constant_over_space_and_kept_units_are_scaled(case, p, seed):
    dims, fmt, shape, batched = case
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed)) + 3.0  # never exactly 0
    torch.manual_seed(seed)
    y = LAYERS[dims](p, data_format=fmt)(x)
    xs, ys = channel_view(x, dims, fmt, batched), channel_view(y, dims, fmt, batched)
    kept = ys != 0
    assert torch.equal(kept, kept[:, :, :1].expand_as(kept)), "a channel is partly dropped"
    if p == 1.0:
        assert not kept.any()
    else:
        torch.testing.assert_close(ys[kept], xs[kept] / (1 - p))


@given(spatial_inputs(), st.sampled_from([0.05, 0.3, 0.5, 0.9]), st.integers(0, 2**31))
def test_same_seed_same_result_as_torch_functional(case, p, seed):
    dims, fmt, shape, batched = case
    if fmt == "channels_last":
        return  # PyTorch has no channels-last spatial dropout; Keras is the reference (test_core_keras)
    x = torch.randn(shape)
    torch.manual_seed(seed)
    ours = spatial_dropout(x, p, True, dims)
    torch.manual_seed(seed)
    native = NATIVE[dims](x, p, True)
    assert torch.equal(ours, native)


def test_element_dropout_equals_torch_dropout_for_the_same_seed():
    x = torch.randn(7, 9, 11)
    torch.manual_seed(3)
    ours = Dropout(0.3)(x)
    torch.manual_seed(3)
    assert torch.equal(ours, F.dropout(x, 0.3, True))


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("p", [0.1, 0.5])
def test_drop_fraction_and_mean_within_5_sigma(dims, fmt, p):
    n, c = 64, 32
    shape = (n, c, *[3] * dims) if fmt == "channels_first" else (n, *[3] * dims, c)
    layer = LAYERS[dims](p, data_format=fmt)
    torch.manual_seed(0)
    trials = 20
    ys = torch.stack([channel_view(layer(torch.ones(shape)), dims, fmt, True)[:, :, 0] for _ in range(trials)])
    coins = n * c * trials
    assert abs((ys == 0).float().mean().item() - p) <= binomial_fraction_bound(p, coins)
    assert abs(ys.double().mean().item() - 1.0) <= inverted_mean_bound(p, coins)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_native_drop_fraction_obeys_the_same_bound(p):
    # Same measurement on torch.nn.functional.dropout2d: both lie in the same 5-sigma band.
    torch.manual_seed(1)
    ys = torch.stack([F.dropout2d(torch.ones(64, 32, 3, 3), p)[:, :, 0, 0] for _ in range(20)])
    assert abs((ys == 0).float().mean().item() - p) <= binomial_fraction_bound(p, ys.numel())


@given(spatial_inputs())
def test_p0_and_eval_mode_are_the_identity(case):
    dims, fmt, shape, _ = case
    x = torch.randn(shape)
    assert LAYERS[dims](0.0, data_format=fmt)(x) is x
    layer = LAYERS[dims](0.7, data_format=fmt).eval()
    assert layer(x) is x
    assert dropout(x, 0.7, training=False) is x


def test_p1_gives_zeros_never_nan_even_for_infinite_input():
    x = torch.tensor([[[1.0, math.inf, -math.inf, math.nan]]], requires_grad=True)
    y = SpatialDropout1d(1.0)(x)
    assert torch.equal(y, torch.zeros_like(y))
    y.sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


@given(spatial_inputs(), st.sampled_from([0.3, 0.6]), st.integers(0, 2**31))
def test_gradients_reach_kept_channels_only_with_the_same_scale(case, p, seed):
    dims, fmt, shape, _ = case
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(seed)
    y = LAYERS[dims](p, data_format=fmt)(x)
    upstream = torch.randn(shape, dtype=torch.float64)
    y.backward(upstream)
    scale = (y.detach() / x.detach()).nan_to_num()  # 0 for dropped, 1/(1-p) for kept
    torch.testing.assert_close(x.grad, upstream * scale)
    assert set(torch.unique(scale.round(decimals=9)).tolist()) <= {0.0, round(1 / (1 - p), 9)}


def test_gradcheck_with_a_fixed_mask():
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)

    def f(t):
        torch.manual_seed(0)
        return spatial_dropout(t, 0.4, True, 2)

    assert torch.autograd.gradcheck(f, (x,))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_any_floating_dtype_keeps_its_dtype(dtype):
    x = torch.ones(4, 8, 5, 5, dtype=dtype)
    y = SpatialDropout2d(0.5)(x)
    assert y.dtype == dtype
    assert set(torch.unique(y.float()).tolist()) <= {0.0, 2.0}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_layers_run_on_the_device_and_keep_structure():
    x = torch.ones(16, 8, 6, 6, device="cuda")
    y = SpatialDropout2d(0.5, data_format="channels_first")(x)
    assert y.device.type == "cuda"
    kept = y != 0
    assert torch.equal(kept, kept[:, :, :1, :1].expand_as(kept))


def test_unbatched_inputs_as_pytorch_accepts_them():
    x1, x3 = torch.randn(6, 20), torch.randn(6, 3, 4, 5)
    for layer, x, native in [(SpatialDropout1d(0.5), x1, F.dropout1d), (SpatialDropout3d(0.5), x3, F.dropout3d)]:
        torch.manual_seed(5)
        ours = layer(x)
        torch.manual_seed(5)
        assert torch.equal(ours, native(x, 0.5, True))


def test_word_dropout_noise_shape_drops_whole_tokens():
    torch.manual_seed(0)
    y = Dropout(0.5, noise_shape=(None, None, 1))(torch.ones(8, 12, 16))
    assert torch.equal(y, y[:, :, :1].expand_as(y))
    assert (y[:, :, 0] == 0).any() and (y[:, :, 0] != 0).any()


def test_layer_mask_restores_the_mode_and_leaves_the_global_rng_alone():
    layer = torch.nn.Dropout2d(0.5).eval()
    torch.manual_seed(9)
    before = torch.rand(1)
    torch.manual_seed(9)
    m1 = layer_mask(layer, (2, 3, 4, 4), seed=1)
    after = torch.rand(1)
    assert not layer.training and torch.equal(before, after)
    assert torch.equal(m1, layer_mask(SpatialDropout2d(0.5), (2, 3, 4, 4), seed=1))
    assert m1.dtype == torch.bool and m1.shape == (2, 3, 4, 4)


def test_empty_input_passes_through():
    x = torch.empty(0, 3, 4, 4)
    assert SpatialDropout2d(0.5)(x).shape == x.shape


def test_repr_says_the_configuration():
    assert (
        repr(SpatialDropout2d(0.25, data_format="channels_last"))
        == "SpatialDropout2d(p=0.25, data_format='channels_last')"
    )
    assert repr(Dropout(0.1, noise_shape=(None, 1))) == "Dropout(p=0.1, noise_shape=(None, 1))"


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: SpatialDropout2d(1.5), ValueError, r"p must be a probability in \[0, 1\].*got 1.5"),
        (lambda: SpatialDropout2d(float("nan")), ValueError, r"p must be a probability in \[0, 1\].*nan"),
        (lambda: Dropout("0.5"), TypeError, r"p must be a real number in \[0, 1\]"),
        (lambda: SpatialDropout3d(0.5, data_format="NDHWC"), ValueError, r"data_format must be 'channels_first'"),
        (lambda: Dropout(0.5, noise_shape=(2, 0)), ValueError, r"noise_shape entries must be positive ints or None"),
        (lambda: SpatialDropout2d(0.5)(torch.ones(3, 8, 8)), ValueError, r"rank-3 input .* ambiguous"),
        (lambda: SpatialDropout2d(0.5)(torch.ones(2, 3, 8)), ValueError, r"ambiguous"),
        (
            lambda: SpatialDropout1d(0.5)(torch.ones(2, 3, 4, 4)),
            ValueError,
            r"expects a rank-3 \(N, C, L\) or unbatched rank-2 \(C, L\) input, got a rank-4",
        ),
        (
            lambda: SpatialDropout2d(0.5)(torch.ones(2, 3, 4, 4, dtype=torch.int64)),
            TypeError,
            r"floating-point tensor .* torch.int64",
        ),
        (lambda: SpatialDropout2d(0.5)([[1.0]]), TypeError, r"input must be a torch.Tensor, got list"),
        (
            lambda: Dropout(0.5, noise_shape=(3, 1))(torch.ones(2, 4)),
            ValueError,
            r"cannot broadcast to the input shape \(2, 4\)",
        ),
        (lambda: dropout(torch.ones(2), p=-0.5), ValueError, r"p must be a probability"),
        (
            lambda: spatial_dropout(torch.ones(2, 3, 4), 0.5, spatial_dims=0),
            ValueError,
            r"spatial_dims must be 1, 2 or 3",
        ),
    ],
)
def test_bad_input_raises_its_documented_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_bad_noise_shape_is_refused_in_eval_mode_too():
    # An error must not wait for the first training step.
    with pytest.raises(ValueError, match="cannot broadcast"):
        Dropout(0.5, noise_shape=(3, 1)).eval()(torch.ones(2, 4))


def test_p_set_after_construction_is_still_checked():
    layer = SpatialDropout2d(0.5)
    with pytest.raises(ValueError, match=r"p must be a probability"):
        layer.p = 2.0
    assert layer.p == 0.5


@pytest.mark.parametrize("fmt", FORMATS)
def test_spatial_dropout_never_builds_a_full_size_mask(fmt):
    """Only N*C coins are drawn and the output is the only full-size tensor created."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class RecordOps(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if isinstance(out, torch.Tensor):
                self.ops.append((str(func.overloadpacket.__name__), out.numel()))
            return out

    shape = (4, 6, 10, 12) if fmt == "channels_first" else (4, 10, 12, 6)
    x = torch.randn(shape)
    with RecordOps() as rec:
        SpatialDropout2d(0.5, data_format=fmt)(x)
    full = [name for name, numel in rec.ops if numel == x.numel()]
    drawn = [numel for name, numel in rec.ops if name.startswith("bernoulli")]
    assert drawn == [4 * 6], rec.ops
    assert full == ["mul"], rec.ops


def test_functional_dropout_with_a_noise_shape_a_generator_and_inplace():
    x = torch.ones(6, 5, 4)
    g = lambda seed: torch.Generator().manual_seed(seed)  # noqa: E731
    y = dropout(x, 0.5, noise_shape=(None, None, 1), generator=g(3))
    assert torch.isin(y, torch.tensor([0.0, 2.0])).all() and torch.equal(y, y[..., :1].expand_as(y))
    assert (y == 0).any() and (y != 0).any()
    assert torch.equal(y, dropout(x, 0.5, noise_shape=(None, None, 1), generator=g(3)))  # the generator decides
    assert not torch.equal(y, dropout(x, 0.5, noise_shape=(None, None, 1), generator=g(4)))
    assert torch.equal(dropout(x, 0.5, True, False, generator=g(3)), sde.dropout(x, 0.5, generator=g(3)))
    z = x.clone()
    out = dropout(z, 0.5, True, True, noise_shape=(None, None, 1), generator=g(3))
    assert out is z and torch.equal(z, y)  # inplace: the input itself holds the result
    assert torch.equal(x, torch.ones(6, 5, 4))  # not inplace: the input is untouched
    assert dropout(x, 0.5, training=False) is x and dropout(x, 0.0) is x
    assert torch.equal(dropout(x, 1.0), torch.zeros_like(x))
    with pytest.raises(TypeError, match="generator must be None or a torch.Generator"):
        dropout(x, 0.5, generator=0)


def test_functional_spatial_dropout_with_a_generator_and_inplace():
    x = torch.ones(4, 6, 3, 3)
    g = lambda seed: torch.Generator().manual_seed(seed)  # noqa: E731
    y = spatial_dropout(x, 0.5, generator=g(1))
    assert torch.equal(y, y[:, :, :1, :1].expand_as(y)) and (y == 0).any() and (y == 2).any()
    assert torch.equal(y, spatial_dropout(x, 0.5, generator=g(1)))
    torch.manual_seed(1)
    assert torch.equal(y, F.dropout2d(x, 0.5))  # the same stream as PyTorch's global generator seeded alike
    z = x.clone()
    assert spatial_dropout(z, 0.5, inplace=True, generator=g(1)) is z and torch.equal(z, y)
    last = spatial_dropout(x.permute(0, 2, 3, 1), 0.5, data_format="channels_last", generator=g(1))
    assert torch.equal(last.permute(0, 3, 1, 2), y)
    assert spatial_dropout(x, 0.5, training=False) is x
    with pytest.raises(ValueError, match="spatial_dims must be 1, 2 or 3"):
        spatial_dropout(x, 0.5, spatial_dims=4)


def test_repr_names_inplace_and_the_data_format():
    assert repr(sde.Dropout(0.1, True)) == "Dropout(p=0.1, inplace=True)"
    assert repr(sde.Dropout(0.1, True, noise_shape=(None, 1))) == "Dropout(p=0.1, inplace=True, noise_shape=(None, 1))"
    assert repr(SpatialDropout2d(0.2, True)) == "SpatialDropout2d(p=0.2, inplace=True, data_format='channels_first')"
    assert repr(SpatialDropout1d(0.2)) == "SpatialDropout1d(p=0.2, data_format='channels_first')"
