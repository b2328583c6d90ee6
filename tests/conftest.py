"""Shared fixtures. Precision for mpmath is always set locally (mpmath.workdps) in tests."""

import mpmath
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _mpmath_precision_is_restored():
    before = mpmath.mp.dps
    yield
    assert mpmath.mp.dps == before, "a test changed mpmath's global precision"


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
