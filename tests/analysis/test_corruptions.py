"""What a camera does to a map, in chapter 3: a blur steepens the spectrum, JPEG is close at high quality."""

import numpy as np
import pytest

from spatialdrop_edu.analysis import fields as F
from spatialdrop_edu.analysis.corruptions import gaussian_blur, jpeg_roundtrip


def test_gaussian_blur_keeps_the_mean_and_steepens_a_power_law():
    from spatialdrop_edu.analysis.correlation import fit_spectral_exponent

    x = F.power_law_field((256, 256), 2.0, np.random.default_rng(30))
    y = gaussian_blur(x, 1.0)
    assert abs(y.mean() - x.mean()) < 1e-12 and y.std() < x.std()
    assert fit_spectral_exponent(y)["alpha"] > fit_spectral_exponent(x)["alpha"] + 0.5
    assert np.array_equal(gaussian_blur(x, 0), x)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_blur(x, -1.0)


def test_jpeg_roundtrip_is_close_at_high_quality_and_validated():
    x = F.gaussian_random_field((64, 64), 4.0, np.random.default_rng(31))
    scaled = (x - x.min()) / (x.max() - x.min()) * 255
    assert np.abs(jpeg_roundtrip(x, 95) - scaled).mean() < 2.0
    assert np.abs(jpeg_roundtrip(x, 10) - scaled).mean() > np.abs(jpeg_roundtrip(x, 95) - scaled).mean()
    for bad, error in ((0, ValueError), (96, ValueError), (50.0, TypeError), (True, TypeError)):
        with pytest.raises(error, match="quality"):
            jpeg_roundtrip(x, bad)
