"""Noise shapes: the per-layer shapes of the issue, user noise shapes, and their error messages."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spatialdrop_edu import coin_flips, noise_shape, resolve_noise_shape, spatial_noise_shape


@pytest.mark.parametrize(
    "shape, fmt, expected",
    [
        ((8, 16, 30), "channels_first", (8, 16, 1)),
        ((8, 30, 16), "channels_last", (8, 1, 16)),
        ((8, 16, 5, 6), "channels_first", (8, 16, 1, 1)),
        ((8, 5, 6, 16), "channels_last", (8, 1, 1, 16)),
        ((8, 16, 4, 5, 6), "channels_first", (8, 16, 1, 1, 1)),
        ((8, 4, 5, 6, 16), "channels_last", (8, 1, 1, 1, 16)),
    ],
)
def test_spatial_noise_shapes_of_the_issue(shape, fmt, expected):
    assert noise_shape(shape, "spatial", fmt) == expected
    assert spatial_noise_shape(shape, len(shape) - 2, fmt) == expected


@given(st.lists(st.integers(0, 6), min_size=1, max_size=6), st.sampled_from(["channels_first", "channels_last"]))
def test_element_noise_shape_is_the_input_shape(shape, fmt):
    assert noise_shape(shape, "element", fmt) == tuple(shape)


def test_unbatched_noise_shapes_drop_the_batch_axis():
    assert spatial_noise_shape((16, 30), 1) == (16, 1)
    assert spatial_noise_shape((30, 16), 1, "channels_last") == (1, 16)
    assert spatial_noise_shape((16, 4, 5, 6), 3) == (16, 1, 1, 1)
    assert spatial_noise_shape((4, 5, 6, 16), 3, "channels_last") == (1, 1, 1, 16)


def test_the_2x2x2_example_of_chapter_2():
    assert coin_flips((2, 2, 2)) == 8
    assert coin_flips((2, 2, 2), (1, 2, 2)) == 4


@given(st.lists(st.integers(1, 5), min_size=1, max_size=5), st.data())
def test_user_noise_shapes_broadcast_and_fill_none(shape, data):
    requested = [data.draw(st.sampled_from([d, 1, None])) for d in shape]
    resolved = resolve_noise_shape(shape, requested)
    assert len(resolved) == len(shape)
    for want, got, size in zip(requested, resolved, shape):
        assert got == (size if want is None else want)


def test_shorter_noise_shape_aligns_right_as_numpy_broadcasting():
    assert resolve_noise_shape((4, 10, 16), (1, 16)) == (1, 1, 16)
    assert resolve_noise_shape((4, 10, 16), (None,)) == (1, 1, 16)


@pytest.mark.parametrize(
    "noise, message",
    [
        (
            (2, 1),
            r"cannot broadcast to the input shape \(3, 4\): axis 0 has size 3, "
            r"so its noise size must be 3, 1 or None, got 2",
        ),
        ((3, 4, 1), r"has 3 entries but the input has only 2 axes"),
        ((3, 4.0), r"noise_shape entries must be ints or None, got 4.0"),
        ((3, True), r"noise_shape entries must be ints or None, got True"),
    ],
)
def test_bad_noise_shapes_are_refused_with_the_reason(noise, message):
    with pytest.raises((ValueError, TypeError), match=message):
        resolve_noise_shape((3, 4), noise)


def test_noise_shape_must_be_a_sequence():
    with pytest.raises(TypeError, match="noise_shape must be None or a sequence"):
        resolve_noise_shape((3, 4), 5)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: noise_shape((2, 3, 4), "channel"),
            ValueError,
            "kind must be one of 'element', 'spatial', got 'channel'",
        ),
        (lambda: noise_shape((2, 3, 4), "spatial", "NCHW"), ValueError, "data_format must be 'channels_first'"),
        (lambda: noise_shape((2, 3), "spatial"), ValueError, r"at least one spatial axis .* got \(2, 3\) with 2"),
        (lambda: noise_shape((2, -3, 4)), ValueError, "input_shape must be a sequence of non-negative ints"),
        (lambda: noise_shape(7), TypeError, "input_shape must be a sequence of non-negative ints, got 7"),
        (lambda: spatial_noise_shape((2, 3, 4), 4), ValueError, "spatial_dims must be 1, 2 or 3, got 4"),
    ],
)
def test_bad_arguments_name_themselves(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_3d_input_to_the_2d_layer_is_refused_as_ambiguous():
    with pytest.raises(ValueError, match=r"ambiguous.*unsqueeze\(0\).*SpatialDropout1d"):
        spatial_noise_shape((3, 32, 32), 2)


@pytest.mark.parametrize(
    "shape, dims, fmt, accepted",
    [
        ((4, 8, 8), 3, "channels_first", r"rank-5 \(N, C, D, H, W\) or unbatched rank-4 \(C, D, H, W\)"),
        ((2, 3, 4, 5, 6), 2, "channels_last", r"rank-4 \(N, H, W, C\) input"),
        ((5,), 1, "channels_last", r"rank-3 \(N, L, C\) or unbatched rank-2 \(L, C\)"),
    ],
)
def test_wrong_rank_errors_say_which_shapes_are_accepted(shape, dims, fmt, accepted):
    with pytest.raises(ValueError, match=accepted):
        spatial_noise_shape(shape, dims, fmt)
