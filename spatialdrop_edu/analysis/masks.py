"""Look inside a dropout layer: which units it keeps, and which noise shape it really samples.

These work on any dropout layer, this package's, PyTorch's or Keras', so the chapters can
*measure* a layer's behaviour instead of quoting its documentation.
"""

from __future__ import annotations

import torch

from .._validation import check_optional_seed, check_probability, check_shape


def _is_keras(layer) -> bool:
    # Keras 3 layers on the torch backend are torch.nn.Modules too, but ignore .train(): they need training=True.
    return any(cls.__module__.split(".")[0] == "keras" for cls in type(layer).__mro__)


def layer_mask(layer, input_or_shape, seed: int | None = None) -> torch.Tensor:
    """Run a dropout layer once in training mode on ones and return which units it kept.

    Works with this package's layers, PyTorch's (``torch.nn.Dropout``, ``Dropout1d/2d/3d``) and
    Keras layers (``keras.layers.Dropout``, ``SpatialDropout1D/2D/3D``, called with
    ``training=True``). A PyTorch layer's training/eval mode is restored afterwards, even when it
    raises.

    Args:
        layer: the dropout layer.
        input_or_shape: a tensor (only its shape, dtype and device are used) or a shape.
        seed: if given, the mask is drawn from a generator seeded with it, and the global random
            state is left untouched: this package's layers get their own ``torch.Generator``;
            other PyTorch layers run inside a forked RNG state; for Keras layers
            ``keras.utils.set_random_seed`` is called, which also seeds Python and NumPy. On the
            CPU a seed gives the same mask for this package's layers as for PyTorch's.

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
    seed = check_optional_seed(seed)
    if isinstance(layer, torch.nn.Module) and not _is_keras(layer):
        with torch.no_grad():
            out = _run_torch_layer(layer, ones, seed)
    elif callable(layer):
        if seed is not None:
            import keras

            keras.utils.set_random_seed(seed)
        out = layer(ones, training=True)
    else:
        raise TypeError(f"layer must be a torch.nn.Module or a Keras layer, got {type(layer).__name__}.")
    return torch.as_tensor(out) != 0


def _run_torch_layer(layer, ones, seed):
    """One training-mode call; the layer's mode is restored afterwards."""
    from ..layers.dropout import DropLayer

    was_training = layer.training
    layer.train()
    try:
        if seed is not None and isinstance(layer, DropLayer):  # this package's layers take a generator
            return layer(ones, generator=torch.Generator(device=ones.device).manual_seed(seed))
        devices = [ones.device] if ones.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices, enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            return layer(ones)
    finally:
        layer.train(was_training)


def make_layer(name: str, data_format: str, rate: float = 0.5):
    """Instantiate a real layer of the table by its name (Keras imported only when needed).

    Args:
        name: ``"torch.nn.Dropout"`` ... ``"keras.layers.SpatialDropout3D"`` (the table's ``layer``).
        data_format: the row's ``data_format`` (passed to Keras' 2-D and 3-D spatial layers).
        rate: drop probability.

    Returns:
        The layer object.
    """
    check_probability(rate, "rate")
    if name.startswith("torch.nn."):
        cls = getattr(torch.nn, name.rsplit(".", 1)[1], None)
        if cls is None:
            raise ValueError(f"name must be a layer of torch.nn, got {name!r}.")
        return cls(rate)
    if name.startswith("keras.layers."):
        import keras

        cls = getattr(keras.layers, name.rsplit(".", 1)[1], None)
        if cls is None:
            raise ValueError(f"name must be a layer of keras.layers, got {name!r}.")
        if name.endswith(("2D", "3D")):
            return cls(rate, data_format=data_format)
        return cls(rate)
    raise ValueError(f"name must start with 'torch.nn.' or 'keras.layers.', got {name!r}.")


def measure_noise_shape(masks) -> tuple[int, ...]:
    """Infer a noise shape from sampled full-size masks: an axis counts if any mask varies along it.

    Args:
        masks: one boolean tensor or a list of them, all of one shape.

    Returns:
        For each axis, its size if some mask is not constant along it, else 1.

    Examples::

        >>> m = torch.tensor([[True, True], [False, False]])
        >>> measure_noise_shape(m)
        (2, 1)
    """
    if isinstance(masks, torch.Tensor):
        masks = [masks]
    masks = [torch.as_tensor(m) for m in masks]
    if not masks or any(m.shape != masks[0].shape for m in masks):
        raise ValueError("masks must be a non-empty list of boolean tensors of one shape.")
    shape = tuple(masks[0].shape)
    measured = []
    for axis, size in enumerate(shape):
        varies = any(bool((m != m.narrow(axis, 0, 1)).any()) for m in masks) if size > 1 else False
        measured.append(size if varies else 1)
    return tuple(measured)
