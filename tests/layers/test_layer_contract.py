"""The contract every layer of the package keeps, written once and run over every layer (as Keras' run_layer_test).

A new layer joins by adding one line to LAYERS: a name, a builder taking the drop probability ``p``, and an input shape.
"""

import copy
import io
import math
import pickle

import pytest
import torch

import spatialdrop_edu as sde

from stats import SIGMAS

LAYERS = [
    ("Dropout", lambda p: sde.Dropout(p), (4, 6, 5, 5)),
    ("Dropout noise_shape", lambda p: sde.Dropout(p, noise_shape=(None, None, 1, 1)), (4, 6, 5, 5)),
    ("SpatialDropout1d", lambda p: sde.SpatialDropout1d(p), (4, 6, 9)),
    ("SpatialDropout1d channels_last", lambda p: sde.SpatialDropout1d(p, data_format="channels_last"), (4, 9, 6)),
    ("SpatialDropout2d", lambda p: sde.SpatialDropout2d(p), (4, 6, 5, 5)),
    ("SpatialDropout2d channels_last", lambda p: sde.SpatialDropout2d(p, data_format="channels_last"), (4, 5, 5, 6)),
    ("SpatialDropout3d", lambda p: sde.SpatialDropout3d(p), (2, 6, 3, 4, 4)),
    ("DropBlock1d", lambda p: sde.DropBlock1d(p, 3), (4, 6, 9)),
    ("DropBlock2d", lambda p: sde.DropBlock2d(p, 3), (4, 6, 7, 7)),
    ("DropBlock2d channels_last", lambda p: sde.DropBlock2d(p, 3, data_format="channels_last"), (4, 7, 7, 6)),
]
IDS = [name for name, _, _ in LAYERS]


def run(layer, x, seed=0):
    torch.manual_seed(seed)
    return layer(x)


@pytest.fixture(params=LAYERS, ids=IDS)
def case(request):
    return request.param


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_shape_and_dtype_are_kept(case, dtype):
    _, make, shape = case
    y = make(0.5).train()(torch.randn(shape).to(dtype))
    assert y.shape == shape and y.dtype == dtype


def test_eval_mode_is_the_identity(case):
    _, make, shape = case
    x = torch.randn(shape)
    assert torch.equal(make(0.9).eval()(x), x)


def test_p_zero_is_the_identity_in_training(case):
    _, make, shape = case
    x = torch.randn(shape)
    assert torch.equal(make(0.0).train()(x), x)


def test_p_one_gives_exact_zeros_even_for_infinite_input(case):
    _, make, shape = case
    x = torch.full(shape, math.inf, requires_grad=True)
    y = make(1.0).train()(x)
    assert torch.equal(y, torch.zeros(shape)) and not y.isnan().any()
    y.sum().backward()
    assert torch.equal(x.grad, torch.zeros(shape))


def test_mean_is_unbiased(case):
    """The grand mean of R calls on ones is 1 within SIGMAS standard errors (measured spread of the per-call means)."""
    _, make, shape = case
    layer, ones = make(0.4).train(), torch.ones(shape)
    torch.manual_seed(0)
    outputs = [layer(ones) for _ in range(400)]
    means = torch.stack([y.mean() for y in outputs]).double()
    # + float32 rounding: a layer that renormalises by its kept fraction (DropBlock) has per-call means of 1 +- 1e-7
    bound = SIGMAS * means.std() / math.sqrt(len(means)) + 1e-6
    assert abs(means.mean() - 1.0) <= bound, (float(means.mean()), float(bound))
    assert any(bool((y == 0).any()) for y in outputs)  # it does drop


def test_gradient_flows_only_through_kept_units(case):
    """On ones, d(sum y)/dx is the scaled mask: the output itself; dropped units get exactly 0."""
    _, make, shape = case
    x = torch.ones(shape, requires_grad=True)
    y = make(0.5).train()(x)
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())
    assert (y == 0).any() and (y != 0).any()


def test_non_contiguous_and_channels_last_inputs_give_the_same_values(case):
    _, make, shape = case
    layer = make(0.5).train()
    x = torch.randn(shape)
    want = run(layer, x)
    strided = torch.randn(tuple(reversed(shape))).permute(*reversed(range(len(shape))))  # a non-contiguous view
    strided.copy_(x)
    assert not strided.is_contiguous()
    assert torch.equal(run(layer, strided), want)
    if len(shape) in (4, 5):
        fmt = torch.channels_last if len(shape) == 4 else torch.channels_last_3d
        cl = x.contiguous(memory_format=fmt)
        y = run(layer, cl)
        assert torch.equal(y, want)
        assert y.is_contiguous(memory_format=fmt)
        assert make(1.0).train()(cl).is_contiguous(memory_format=fmt)


def test_state_dict_deepcopy_and_pickle_round_trip(case):
    _, make, shape = case
    layer = make(0.3).train()
    x = torch.randn(shape)
    for clone in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert repr(clone) == repr(layer)
        assert torch.equal(run(clone, x), run(layer, x))
    fresh = make(0.3)
    fresh.load_state_dict(layer.state_dict())
    buffer = io.BytesIO()
    torch.save(layer, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert repr(loaded) == repr(layer) and torch.equal(run(loaded, x), run(layer, x))


def test_compiles_in_a_small_model_without_graph_breaks(case):
    """torch.compile(fullgraph=True, dynamic=True): one graph, the same masks as eager under one seed."""
    _, make, shape = case
    torch.compiler.reset()  # each layer gets its own compile budget
    model = torch.nn.Sequential(torch.nn.Identity(), make(0.5), torch.nn.ReLU()).train()
    compiled = torch.compile(model, fullgraph=True, dynamic=True, backend="aot_eager")
    x = torch.randn(shape)
    assert torch.equal(run(compiled, x), run(model, x))
    bigger = torch.randn(shape[0] + 1, *shape[1:])
    assert run(compiled, bigger).shape == bigger.shape
    assert torch.equal(compiled.eval()(x), model.eval()(x).relu())
