"""Model builders: the dropout variant, rate and placement are exactly what was asked, nothing else changes;
the U-Net's skips carry the dropout and its paths can be switched off."""

import pytest
import torch
from torch import nn

import spatialdrop_edu as sde
from spatialdrop_edu.training import (
    PLACEMENTS,
    VARIANTS,
    DropoutSettings,
    TinyUNet,
    denoising_config,
    denoising_model,
    dropout_layers,
    make_dropout,
    mnist1d_cnn,
    patch_cnn,
)

BUILDERS = [(mnist1d_cnn, (6, 1, 40), 1), (patch_cnn, (6, 1, 16, 16), 2)]
KIND = {
    ("element", 1): sde.Dropout,
    ("spatial", 1): sde.SpatialDropout1d,
    ("dropblock", 1): sde.DropBlock1d,
    ("element", 2): sde.Dropout,
    ("spatial", 2): sde.SpatialDropout2d,
    ("dropblock", 2): sde.DropBlock2d,
}


def dropout_inputs(model, x):
    """The feature maps entering each dropout layer, and the layer's output, in training mode."""
    seen = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: seen.append((i[0].detach(), o.detach()))) for m in dropout_layers(model)
    ]
    model.train()
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return seen


@pytest.mark.parametrize("builder, shape, dims", BUILDERS)
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("placement", PLACEMENTS)
def test_variant_rate_and_placement(builder, shape, dims, variant, placement):
    model = builder(variant, 0.3, placement)
    layers = dropout_layers(model)
    expected = 0 if variant == "none" else {"early": 1, "late": 1, "all": 3}[placement]
    assert len(layers) == expected
    for layer in layers:
        assert type(layer) is KIND[(variant, dims)] and layer.p == 0.3
    convs = [i for i, m in enumerate(model) if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d))]
    drops = [i for i, m in enumerate(model) if m in layers]
    if placement == "early" and drops:
        assert convs[0] < drops[0] < convs[1]  # between the first and second conv
    if placement == "late" and drops:
        assert drops[0] > convs[-1]
    for d in drops:
        assert isinstance(model[d - 1], torch.nn.ReLU)  # after the block's ReLU
    assert model(torch.randn(shape)).shape == (shape[0], 10 if builder is mnist1d_cnn else 3)


@pytest.mark.parametrize("builder, shape, dims", BUILDERS)
def test_spatial_variant_drops_whole_feature_maps(builder, shape, dims):
    torch.manual_seed(0)
    model = builder("spatial", 0.5, "all")
    for inp, out in dropout_inputs(model, torch.randn(shape)):
        flat_in, flat_out = inp.flatten(2), out.flatten(2)
        dropped = (flat_out == 0).all(-1)
        kept = ~dropped
        assert dropped.any() and kept.any()
        assert torch.allclose(flat_out[kept], 2 * flat_in[kept])  # kept maps are scaled by 1/(1-p), whole


def test_element_variant_drops_units_inside_maps():
    torch.manual_seed(0)
    model = mnist1d_cnn("element", 0.5, "early")
    ((inp, out),) = dropout_inputs(model, torch.rand(8, 1, 40) + 0.1)
    positive = inp > 0
    zeroed = (out == 0) & positive
    partly = zeroed.any(-1) & (~zeroed & positive).any(-1)  # maps with some units dropped and some kept
    rich = positive.sum(-1) >= 8  # all 8+ coins equal: probability 2 * 0.5**8
    assert rich.sum() > 50 and partly[rich].float().mean() > 0.9


def test_same_seed_same_weights_whatever_the_dropout():
    weights = []
    for variant in VARIANTS:
        torch.manual_seed(5)
        weights.append([w.clone() for w in mnist1d_cnn(variant, 0.2).parameters()])
    for other in weights[1:]:
        assert all(torch.equal(a, b) for a, b in zip(weights[0], other))


def test_p_zero_and_none_hold_no_dropout_layer_and_eval_is_deterministic():
    assert dropout_layers(mnist1d_cnn("spatial", 0.0)) == [] and dropout_layers(mnist1d_cnn("none", 0.5)) == []
    model = mnist1d_cnn("element", 0.5).eval()
    x = torch.randn(4, 1, 40)
    assert torch.equal(model(x), model(x))


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"dropout": "gaussian", "p": 0.1}, "dropout"),
        ({"dropout": "spatial", "p": 1.5}, "p"),
        ({"dropout": "spatial", "p": 0.1, "placement": "middle"}, "placement"),
    ],
)
def test_bad_arguments_are_named(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        mnist1d_cnn(**kwargs)


def test_make_dropout_rejects_other_ranks():
    with pytest.raises(ValueError, match="spatial_dims"):
        make_dropout(DropoutSettings("spatial", 0.1), 3)
    block = make_dropout(DropoutSettings("dropblock", 0.1, block_size=5), 2)
    assert isinstance(block, sde.DropBlock2d) and block.block_size == 5
    with pytest.raises(TypeError, match="dropout must be a DropoutSettings"):
        make_dropout("spatial", 2)


def test_builders_take_typed_dropout_settings():
    """A run's DropoutSettings go into a builder as they are; a variant's name comes with p and block_size."""
    typed = mnist1d_cnn(DropoutSettings("dropblock", 0.2, block_size=5), placement="early")
    named = mnist1d_cnn("dropblock", 0.2, "early", block_size=5)
    assert repr(typed) == repr(named) and dropout_layers(typed)[0].block_size == 5
    with pytest.raises(TypeError, match="give p and block_size inside it"):
        patch_cnn(DropoutSettings("spatial", 0.2), 0.3)


# -- the U-Net ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dropout, kind", [("element", "Dropout"), ("spatial", "SpatialDropout2d"), ("dropblock", "DropBlock2d")]
)
@pytest.mark.parametrize("placement, count", [("top", 1), ("all", 2)])
def test_variant_and_placement_put_the_layers_on_the_skips(dropout, kind, placement, count):
    net = TinyUNet(dropout, 0.3, placement, channels=4)
    layers = dropout_layers(net)
    assert [type(m).__name__ for m in layers] == [kind] * count
    assert net.up1.skip_dropout is layers[-1]
    assert isinstance(TinyUNet("none", 0.3).up1.skip_dropout, nn.Identity)
    assert isinstance(TinyUNet("spatial", 0.0).up1.skip_dropout, nn.Identity)


def test_spatial_skip_dropout_drops_whole_skip_maps_only():
    """A hook on the last block's first conv: the up-sampled half untouched, skip maps zeroed whole."""
    torch.manual_seed(0)
    net = TinyUNet("spatial", 0.5, channels=4).train()
    seen = {}
    net.up1.convs[0].register_forward_pre_hook(lambda m, i: seen.__setitem__("x", i[0]))
    net.enc1.register_forward_hook(lambda m, i, o: seen.__setitem__("skip", o))
    net.up1.up.register_forward_hook(lambda m, i, o: seen.__setitem__("up", o))
    net(torch.rand(8, 1, 16, 16))
    x, skip, up = seen["x"], seen["skip"], seen["up"]
    assert torch.equal(x[:, :4], up)
    kept = x[:, 4:].flatten(2).abs().sum(-1) > 0
    active = skip.flatten(2).abs().sum(-1) > 0
    assert torch.allclose(x[:, 4:][kept], 2 * skip[kept])  # kept maps scaled by 1/(1-p)
    assert (~kept & active).any() and kept.any()


def test_ablation_zeroes_the_named_path():
    net = TinyUNet(channels=4).eval()
    seen = {}
    net.up1.convs[0].register_forward_pre_hook(lambda m, i: seen.__setitem__("x", i[0]))
    net.up2.register_forward_pre_hook(lambda m, i: seen.__setitem__("deep", i[0]))
    x = torch.rand(2, 1, 16, 16)
    with net.ablated("skip1"):
        net(x)
    assert torch.all(seen["x"][:, 4:] == 0) and seen["x"][:, :4].abs().sum() > 0
    with net.ablated("bottleneck"):
        net(x)
    assert torch.all(seen["deep"] == 0)
    assert net.ablate == set()  # restored
    with pytest.raises(ValueError, match="paths"):
        with net.ablated("decoder"):
            pass


def test_unet_same_seed_same_weights_for_every_variant():
    a = denoising_model(denoising_config(), 5)
    b = denoising_model(denoising_config(dropout="dropblock", p=0.2), 5)
    c = denoising_model(denoising_config(), 6)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(x, y) for x, y in zip(a.parameters(), c.parameters()))


def test_dropout_layers_finds_torch_layers_too():
    model = nn.Sequential(nn.Dropout(0.1), nn.Dropout2d(0.1), nn.AlphaDropout(0.1), sde.DropBlock2d(0.1, 3), nn.ReLU())
    assert [type(m).__name__ for m in dropout_layers(model)] == ["Dropout", "Dropout2d", "AlphaDropout", "DropBlock2d"]
