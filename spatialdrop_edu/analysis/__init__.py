"""Measuring dropout layers: the masks they draw, the zeros they make, and the table of all of them.

* :mod:`~spatialdrop_edu.analysis.masks`: a layer's mask (:func:`~spatialdrop_edu.analysis.masks.layer_mask`), its
  measured noise shape (:func:`~spatialdrop_edu.analysis.masks.measure_noise_shape`), and the real PyTorch and Keras
  layers by name (:func:`~spatialdrop_edu.analysis.masks.make_layer`).
* :mod:`~spatialdrop_edu.analysis.zero_counts`: how many units one call zeroes, exactly and sampled.
* :mod:`~spatialdrop_edu.analysis.layer_table`: every Bernoulli dropout layer of both frameworks,
  checked against the real layers.
"""

from . import layer_table, masks, zero_counts
from .masks import layer_mask, make_layer, measure_noise_shape
from .zero_counts import enumerate_zero_counts, sample_zero_counts, zero_count_pmf

__all__ = [
    "enumerate_zero_counts",
    "layer_mask",
    "layer_table",
    "make_layer",
    "masks",
    "measure_noise_shape",
    "sample_zero_counts",
    "zero_count_pmf",
    "zero_counts",
]
