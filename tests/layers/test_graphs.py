"""The layers in deployed models: torch.jit.trace, torch.compile (fullgraph, dynamic shapes, inductor),
torch.export, ONNX."""

import io

import pytest
import torch

import spatialdrop_edu as sde


def model(layer):
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), layer, torch.nn.ReLU())


@pytest.mark.parametrize("train", [True, False])
def test_jit_trace_in_train_and_eval_mode(train):
    torch.manual_seed(0)
    m = model(sde.SpatialDropout2d(0.5)).train(train)
    x = torch.randn(4, 3, 5, 5)
    traced = torch.jit.trace(m, x, check_trace=False)
    torch.manual_seed(1)
    want = m(x)
    torch.manual_seed(1)
    got = traced(x)
    assert torch.equal(got, want)
    other = torch.randn(2, 3, 6, 6)  # the traced graph reads sizes from its input
    assert traced(other).shape == (2, 4, 6, 6)


def test_compile_fullgraph_dynamic_with_inductor_matches_eager_masks_structure():
    torch.compiler.reset()
    m = model(sde.SpatialDropout2d(0.5)).train()
    compiled = torch.compile(m, fullgraph=True, dynamic=True)
    for n in (4, 7):
        y = compiled(torch.randn(n, 3, 5, 5)).detach()
        # whole feature maps are zero or not (ReLU may zero single pixels of a kept map, never a whole one)
        dropped = (y == 0).flatten(2).all(-1)
        assert dropped.any() and not dropped.all()


def test_p_as_a_tensor_and_compile_with_a_changing_rate():
    layer = sde.Dropout(torch.tensor(0.25))
    assert isinstance(layer.p, float) and layer.p == 0.25
    torch.compiler.reset()
    compiled = torch.compile(layer, fullgraph=True, dynamic=True, backend="aot_eager")
    for p in (0.25, 0.75):
        layer.p = p
        y = compiled(torch.ones(200, 50))
        kept = float((y != 0).float().mean())
        assert torch.isin(y, torch.tensor([0.0, 1 / (1 - p)])).all()
        assert abs(kept - (1 - p)) <= 5 * (p * (1 - p) / y.numel()) ** 0.5  # 5 sigma over 10,000 coins


@pytest.mark.parametrize("train", [True, False])
def test_torch_export(train):
    m = model(sde.SpatialDropout2d(0.5, data_format="channels_first")).train(train)
    x = torch.randn(4, 3, 5, 5)
    batch = torch.export.Dim("batch", min=2, max=64)
    exported = torch.export.export(m, (x,), dynamic_shapes={"input": {0: batch}})
    y = exported.module()(torch.randn(6, 3, 5, 5))
    assert y.shape == (6, 4, 5, 5)
    if not train:
        assert torch.equal(exported.module()(x), m(x))


def test_onnx_export_of_a_model_in_eval_mode():
    onnx = pytest.importorskip("onnx", reason="the onnx package is not installed (pip install onnx)")
    m = model(sde.SpatialDropout2d(0.5)).eval()
    buffer = io.BytesIO()
    torch.onnx.export(
        m, (torch.randn(1, 3, 5, 5),), buffer, dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "batch"}}
    )
    graph = onnx.load_from_string(buffer.getvalue()).graph
    assert [n.op_type for n in graph.node] == ["Conv", "Relu"]  # eval-mode dropout is the identity: no node


def test_inplace_is_the_second_argument_as_in_pytorch():
    x = torch.ones(2, 3, 4, 4)
    layer = sde.SpatialDropout2d(0.5, True)
    y = layer(x)
    assert y is x and set(x.unique().tolist()) <= {0.0, 2.0}
    with pytest.raises(
        TypeError, match=r"inplace must be True or False, got 'channels_last' \(data_format is keyword-only"
    ):
        sde.SpatialDropout2d(0.5, "channels_last")
    assert "inplace=True" in repr(layer)
