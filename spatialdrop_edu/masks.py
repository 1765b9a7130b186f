"""See which units a dropout layer keeps: its full-size boolean mask, for plotting."""

from __future__ import annotations

import torch

from ._validation import check_shape


def layer_mask(layer, input_or_shape, seed: int | None = None) -> torch.Tensor:
    """Run a dropout layer once in training mode on ones and return which units it kept.

    Works with this package's layers, PyTorch's (``torch.nn.Dropout``, ``Dropout1d/2d/3d``) and
    Keras layers (``keras.layers.Dropout``, ``SpatialDropout1D/2D/3D``, called with
    ``training=True``). A PyTorch layer's training/eval mode is restored afterwards.

    Args:
        layer: the dropout layer.
        input_or_shape: a tensor (only its shape, dtype and device are used) or a shape.
        seed: if given, PyTorch's generator is seeded with it inside a forked RNG state, so the
            global random state is left untouched (for Keras layers, ``keras.utils.set_random_seed``
            is called, which also seeds Python and NumPy).

    Returns:
        A boolean tensor of the input's full shape; ``True`` marks a kept unit.

    Examples::

        >>> from spatialdrop_edu import SpatialDropout2d
        >>> m = layer_mask(SpatialDropout2d(0.5), (2, 3, 4, 4), seed=0)
        >>> m.shape, bool((m == m[:, :, :1, :1]).all())
        (torch.Size([2, 3, 4, 4]), True)
    """
    if isinstance(input_or_shape, torch.Tensor):
        x = input_or_shape
        ones = torch.ones(x.shape, dtype=x.dtype if x.is_floating_point() else torch.float32, device=x.device)
    else:
        ones = torch.ones(check_shape(input_or_shape, "input_or_shape"))
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be None or a non-negative int, got {seed!r}.")
    # Keras 3 layers on the torch backend are torch.nn.Modules too, but ignore .train(): they need training=True.
    is_keras = any(cls.__module__.split(".")[0] == "keras" for cls in type(layer).__mro__)
    if isinstance(layer, torch.nn.Module) and not is_keras:
        devices = [ones.device] if ones.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            if seed is not None:
                torch.manual_seed(seed)
            was_training = layer.training
            layer.train()
            try:
                out = layer(ones)
            finally:
                layer.train(was_training)
    elif callable(layer):
        if seed is not None:
            import keras

            keras.utils.set_random_seed(seed)
        out = layer(ones, training=True)
    else:
        raise TypeError(f"layer must be a torch.nn.Module or a Keras layer, got {type(layer).__name__}.")
    return torch.as_tensor(out) != 0
