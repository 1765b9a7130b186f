"""Maps of chapters 3 and 5: synthetic random fields, with a chosen correlation length or power spectrum."""

import numpy as np
import pytest

from spatialdrop_edu.analysis import fields as F


def test_gaussian_random_field_is_standardized_reproducible_and_validated():
    a = F.gaussian_random_field((40, 50), 3.0, np.random.default_rng(0))
    b = F.gaussian_random_field((40, 50), 3.0, np.random.default_rng(0))
    assert a.shape == (40, 50) and np.array_equal(a, b)
    assert abs(a.mean()) < 1e-12 and abs(a.std() - 1) < 1e-12
    for bad, error in ((-1.0, ValueError), (float("nan"), ValueError), (True, TypeError), ("3", TypeError)):
        with pytest.raises(error, match="length"):
            F.gaussian_random_field((8, 8), bad, np.random.default_rng(0))


@pytest.mark.parametrize("alpha", [0.0, 2.0, 3.0])
def test_power_law_field_has_the_exponent_it_promises(alpha):
    from spatialdrop_edu.analysis.correlation import fit_spectral_exponent

    x = F.power_law_field((512, 512), alpha, np.random.default_rng(int(alpha) + 20))
    assert x.shape == (512, 512) and abs(x.mean()) < 1e-12 and abs(x.std() - 1) < 1e-12
    assert abs(fit_spectral_exponent(x)["alpha"] - alpha) < 0.1  # ~0.03 spread over seeds at 512 x 512


def test_power_law_field_is_reproducible_and_validated():
    a = F.power_law_field((16, 24), 2.0, np.random.default_rng(0))
    assert np.array_equal(a, F.power_law_field((16, 24), 2.0, np.random.default_rng(0)))
    for bad, error in ((-1.0, ValueError), (float("inf"), ValueError), (True, TypeError), ("2", TypeError)):
        with pytest.raises(error, match="alpha"):
            F.power_law_field((8, 8), bad, np.random.default_rng(0))
